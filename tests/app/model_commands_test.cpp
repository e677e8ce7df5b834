// `brickyard-cli inspect` and `convert`, run as the real binary on real models.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace {

struct CliRun {
    int status = -1;
    std::string output;  // stdout and stderr together
};

CliRun cli(const std::string& args) {
    CliRun r;
    r.status = by::test::runCommand(by::test::cliPath() + " " + args, &r.output);
    return r;
}

const char* kClsModel = "models/ch_ppocr_mobile_v2.0_cls_infer.onnx";

}  // namespace

TEST(InspectCommand, JsonSummaryOfARealModel) {
    const std::string model = by::test::asset(kClsModel);
    const CliRun r = cli("inspect --json '" + model + "' 2>/dev/null");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.output;
    EXPECT_EQ(j["format"], "onnx");
    // Same figure as the importer test (python onnx: initializers + Constant tensors).
    EXPECT_EQ(j["parameters"], 133665);
    ASSERT_EQ(j["outputs"].size(), 1u);
    EXPECT_EQ(j["shape_inference"]["with_shape"], j["shape_inference"]["node_outputs"]);
}

TEST(InspectCommand, BadInputIsOneSentenceAndStatusOne) {
    const std::string dir = by::test::tempDir();
    CliRun r = cli("inspect '" + dir + "/missing.onnx'");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("missing.onnx: no such file"), std::string::npos) << r.output;
    r = cli("inspect --bogus x");
    EXPECT_EQ(r.status, 2) << r.output;
}

TEST(ConvertCommand, WeightsOnlyFormatsSayTheGraphIsNotWritten) {
    const std::string model = by::test::asset(kClsModel);
    const std::string out = by::test::tempDir() + "/cls.safetensors";
    const CliRun r = cli("convert '" + model + "' '" + out + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("weights and metadata only"), std::string::npos) << r.output;
    auto original = by::loadModel(model);
    auto written = by::loadModel(out);
    ASSERT_TRUE(original.ok() && written.ok()) << (written.ok() ? "" : written.error().what());
    EXPECT_EQ(by::summarize(*written).parameters, by::summarize(*original).parameters);
    EXPECT_TRUE(written->graph.nodes.empty());
}

TEST(ConvertCommand, OnnxKeepsTheGraphAndRefusesUnknownTargets) {
    const std::string model = by::test::asset(kClsModel);
    const std::string dir = by::test::tempDir();
    CliRun r = cli("convert '" + model + "' '" + dir + "/copy.onnx'");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("weights and metadata only"), std::string::npos) << r.output;
    auto copy = by::loadModel(dir + "/copy.onnx");
    ASSERT_TRUE(copy.ok());
    EXPECT_EQ(by::summarize(*copy).nodes, by::summarize(*by::loadModel(model)).nodes);

    r = cli("convert '" + model + "' '" + dir + "/out.xyz'");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("cannot write .xyz files"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/out.xyz"));
}
