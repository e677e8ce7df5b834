// Static int8 from the command line and the recipe file: the "activations" object and the
// int8:static shorthand, a real compression of the MNIST CNN calibrated on its training images,
// and bad calibration settings refused with one sentence and nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "app/cli/recipe_json.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

TEST(StaticQuantRecipe, ActivationsParseAndRoundTrip) {
    auto r = cli::parseRecipeJson(R"({"version": 1, "steps": [{"method": "quantize", "bits": 8, "activations":
        {"calibration": "percentile", "percentile": 99.9, "samples": 128, "data": "mnist:/d", "split": "train",
         "normalize": "scale=1/255"}}]})");
    ASSERT_TRUE(r.ok()) << r.error().what();
    const ActivationCalibration& a = r->steps[0].activations;
    EXPECT_TRUE(a.enabled);
    EXPECT_EQ(a.method, CalibrationMethod::Percentile);
    EXPECT_EQ(a.percentile, 99.9);
    EXPECT_EQ(a.samples, 128);
    EXPECT_EQ(a.data, "mnist:/d");
    EXPECT_EQ(a.split, "train");
    ASSERT_TRUE(a.normalize.has_value());
    EXPECT_FLOAT_EQ(a.normalize->scale, 1.f / 255.f);
    auto again = cli::parseRecipeJson(cli::recipeToJson(*r));
    ASSERT_TRUE(again.ok()) << again.error().what();
    EXPECT_EQ(cli::recipeToJson(*again), cli::recipeToJson(*r));
    EXPECT_EQ(cli::stepLabel(r->steps[0]), "int8:static:percentile");

    auto s = cli::parseShorthand("quantize", "int8:static:mse");
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s->activations.enabled);
    EXPECT_EQ(s->activations.method, CalibrationMethod::Mse);
    EXPECT_EQ(cli::parseShorthand("quantize", "int8:static")->activations.method, CalibrationMethod::MinMax);
    EXPECT_FALSE(cli::parseShorthand("quantize", "int4:g32:static").ok());

    for (const auto& [text, expect] : std::vector<std::pair<std::string, std::string>>{
             {R"({"version": 1, "steps": [{"method": "quantize", "bits": 4, "group": 32, "activations": {}}]})", "applies to 8-bit weights"},
             {R"({"version": 1, "steps": [{"method": "quantize", "activations": {"calibration": "kl"}}]})", "calibration 'kl' is not"},
             {R"({"version": 1, "steps": [{"method": "quantize", "activations": {"sample": 3}}]})", "unknown key 'activations.sample'"},
         }) {
        auto bad = cli::parseRecipeJson(text);
        ASSERT_FALSE(bad.ok()) << text;
        EXPECT_NE(bad.error().what().find(expect), std::string::npos) << bad.error().what();
    }
}

TEST(StaticQuantCommand, CalibratesOnTrainingImagesAndKeepsAccuracy) {
    const std::string model = test::cacheDir() + "/models/mnist_cnn.onnx", data = test::cacheDir() + "/data/mnist";
    if (!fs::exists(model) || !fs::exists(data)) GTEST_SKIP() << model << " or " << data << " is missing: run scripts/setup.sh";
    const std::string out = test::tempDir() + "/mnist_static.onnx";
    std::string text;
    const int rc = test::runCommand(test::cliPath() + " compress " + model + " --quantize int8:static:mse --calib-data mnist:" + data +
                                        " --calib-samples 128 -o " + out + " --eval mnist:" + data + " --limit 2000",
                                    &text);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("int8 static mse per-channel +Relu"), std::string::npos) << text;
    EXPECT_NE(text.find("128 calibration samples"), std::string::npos) << text;
    EXPECT_NE(text.find("\"calibration\":\"mse\""), std::string::npos) << text;
    const auto at = text.find("top-1: original ");
    ASSERT_NE(at, std::string::npos) << text;
    double before = 0, after = 0;
    ASSERT_EQ(std::sscanf(text.c_str() + at, "top-1: original %lf%%, compressed %lf%%", &before, &after), 2) << text;
    EXPECT_GE(after, before - 0.3) << text;
    // The written model reads back with its integer layers.
    std::string runText;
    EXPECT_EQ(test::runCommand(test::cliPath() + " inspect " + out + " --nodes", &runText), 0) << runText;
    EXPECT_NE(runText.find("QLinearConv"), std::string::npos) << runText;
}

TEST(StaticQuantCommand, BadCalibrationIsRefusedAndNothingIsWritten) {
    const std::string model = test::cacheDir() + "/models/mnist_cnn.onnx", data = test::cacheDir() + "/data/mnist";
    if (!fs::exists(model) || !fs::exists(data)) GTEST_SKIP() << model << " or " << data << " is missing: run scripts/setup.sh";
    const std::string dir = test::tempDir();
    for (const auto& [opts, expect] : std::vector<std::pair<std::string, std::string>>{
             {"--quantize int8:static", "needs calibration data"},
             {"--quantize int8:static --calib-data mnist:" + data + " --calib-samples 0", "at least one sample, not 0"},
             {"--quantize int8:static --calib-data mnist:/no/such/dir", "calibration data:"},
         }) {
        const std::string out = dir + "/never.onnx";
        std::string text;
        const int rc = test::runCommand(test::cliPath() + " compress " + model + " " + opts + " -o " + out, &text);
        EXPECT_EQ(rc, 1) << opts << ": " << text;
        EXPECT_NE(text.find(expect), std::string::npos) << text;
        EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
        EXPECT_FALSE(fs::exists(out)) << opts;
    }
}

}  // namespace
}  // namespace by

namespace by {
namespace {

// A CTC recogniser calibrates on text lines prepared as evaluation prepares them (height 48, padded
// to 320), so lines of any width can be calibration samples.
TEST(StaticQuantCommand, RecognizerCalibratesOnTextLinesOfAnyWidth) {
    const std::string model = test::cacheDir() + "/models/ch_PP-OCRv4_rec_infer.onnx", data = test::cacheDir() + "/data/textlines";
    if (!fs::exists(model) || !fs::exists(data)) GTEST_SKIP() << model << " or " << data << " is missing: run scripts/setup.sh";
    const std::string out = test::tempDir() + "/rec_static.onnx";
    std::string text;
    const int rc = test::runCommand(test::cliPath() + " compress " + model + " --quantize int8:static:minmax --calib-data images:" + data +
                                        " --calib-samples 16 -o " + out + " --eval images:" + data + " --limit 32 --batch 8",
                                    &text);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("16 calibration samples"), std::string::npos) << text;
    const auto at = text.find("line accuracy: original ");
    ASSERT_NE(at, std::string::npos) << text;
    double before = 0, after = 0;
    ASSERT_EQ(std::sscanf(text.c_str() + at, "line accuracy: original %lf%%, compressed %lf%%", &before, &after), 2) << text;
    EXPECT_GE(after, before - 10.0) << text;  // whole lines: one wrong character fails a line
}

}  // namespace
}  // namespace by
