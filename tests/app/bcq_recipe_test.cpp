// The quantize_bcq recipe step: JSON keys and defaults, the --quantize bcqN shorthand and its label,
// and `brickyard-cli compress` writing a binary-coded MNIST model that `run` then executes.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/cli/recipe_json.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

TEST(BcqRecipe, JsonKeysDefaultsAndRoundTrip) {
    auto r = cli::parseRecipeJson(R"({"version": 1, "steps": [
        {"method": "quantize_bcq"},
        {"method": "quantize_bcq", "bits": 3, "group": 128, "iterations": 0, "layers": {"names": ["linear_7"]}}]})");
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->steps.size(), 2u);
    EXPECT_EQ(r->steps[0].method, CompressMethod::QuantizeBcq);
    EXPECT_EQ(r->steps[0].bits, 2);
    EXPECT_EQ(r->steps[0].group, 64);
    EXPECT_EQ(r->steps[0].iterations, 3);
    EXPECT_EQ(r->steps[1].bits, 3);
    EXPECT_EQ(r->steps[1].group, 128);
    EXPECT_EQ(r->steps[1].iterations, 0);
    const std::string text = cli::recipeToJson(*r);
    EXPECT_NE(text.find("\"quantize_bcq\""), std::string::npos) << text;
    auto again = cli::parseRecipeJson(text);
    ASSERT_TRUE(again.ok()) << again.error().what();
    EXPECT_EQ(cli::recipeToJson(*again), text);
    auto bad = cli::parseRecipeJson(R"({"version": 1, "steps": [{"method": "quantize_bcq", "symmetric": true}]})");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what().find("unknown key 'symmetric'"), std::string::npos) << bad.error().what();
}

TEST(BcqRecipe, Shorthand) {
    auto s = cli::parseShorthand("quantize", "bcq3:g64");
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ(s->method, CompressMethod::QuantizeBcq);
    EXPECT_EQ(s->bits, 3);
    EXPECT_EQ(s->group, 64);
    EXPECT_EQ(s->iterations, 3);
    EXPECT_EQ(cli::stepLabel(*s), "bcq3:g64");
    auto t = cli::parseShorthand("quantize", "bcq2:g128:it0");
    ASSERT_TRUE(t.ok()) << t.error().what();
    EXPECT_EQ(t->iterations, 0);
    EXPECT_EQ(cli::stepLabel(*t), "bcq2:g128:it0");
    EXPECT_EQ(cli::parseShorthand("quantize", "bcq2")->group, 64);
    EXPECT_FALSE(cli::parseShorthand("quantize", "bcq").ok());
    EXPECT_FALSE(cli::parseShorthand("quantize", "bcq2:sym").ok());
}

TEST(BcqRecipe, CompressCommandWritesARunnableModel) {
    const std::string model = test::asset("models/mnist_cnn.onnx");
    const std::string data = "mnist:" + test::asset("data/mnist");
    const std::string dir = test::tempDir();
    const std::string out = dir + "/mnist_bcq3.onnx";
    std::string text;
    int rc = test::runCommand(test::cliPath() + " compress " + model + " --quantize bcq3:g64 -o " + out + " --eval " + data + " --limit 1000",
                              &text);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("linear_7"), std::string::npos) << text;
    EXPECT_NE(text.find("bcq"), std::string::npos) << text;
    auto back = loadModel(out);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->graph.opHistogram().at("com.brickyard.BinaryCodedMatMul"), 2);
    // Zero planes: refused before anything is written, the sentence names the step.
    const std::string bad = dir + "/bad.onnx";
    rc = test::runCommand(test::cliPath() + " compress " + model + " --quantize bcq0 -o " + bad, &text);
    EXPECT_NE(rc, 0);
    EXPECT_NE(text.find("quantize_bcq"), std::string::npos) << text;
    EXPECT_NE(text.find("1 to 4 bit planes"), std::string::npos) << text;
    EXPECT_FALSE(fs::exists(bad));
}

}  // namespace
}  // namespace by
