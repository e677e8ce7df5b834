#include <gtest/gtest.h>

#include <filesystem>

#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;

TEST(BuildModelCommand, WritesOnnxAndSafetensorsFromTrainedWeights) {
    const std::string weights = by::test::cacheDir() + "/models/trained/mnist_cnn";
    if (!fs::exists(weights + "/config.json"))
        GTEST_SKIP() << "the trained model " << weights << " is missing: run scripts/setup.sh, which trains it";
    const std::string dir = by::test::tempDir();
    std::string out;
    ASSERT_EQ(by::test::runCommand(by::test::cliPath() + " build-model " + weights + " -o " + dir + "/m.onnx -o " + dir +
                                       "/m.safetensors",
                                   &out),
              0)
        << out;
    EXPECT_NE(out.find("206922 parameters"), std::string::npos) << out;  // 2x conv + 2x linear of mnist_cnn.py
    auto m = by::loadModel(dir + "/m.onnx");
    ASSERT_TRUE(m.ok()) << m.error().what();
    EXPECT_EQ(m->graph.nodes.size(), 10u);
    ASSERT_NE(m->meta("brickyard.training_test_accuracy"), nullptr);
    auto st = by::loadModel(dir + "/m.safetensors");
    ASSERT_TRUE(st.ok()) << st.error().what();
    EXPECT_EQ(st->graph.parameterCount(), m->graph.parameterCount());
}

TEST(BuildModelCommand, MissingWeightsAreAnInputError) {
    std::string out;
    EXPECT_EQ(by::test::runCommand(by::test::cliPath() + " build-model " + by::test::tempDir() + " -o /tmp/x.onnx", &out), 1)
        << out;
    EXPECT_NE(out.find("config.json"), std::string::npos) << out;
    EXPECT_EQ(by::test::runCommand(by::test::cliPath() + " build-model", &out), 2) << out;
}

}  // namespace
