#include "app/cli/run_command.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "importers/npy.h"
#include "tests/test_support.h"

namespace by {
namespace {

const std::string kAddCase = "/usr/share/libonnx-testdata/data/node/test_add";

TEST(RunCommand, RunsOnTensorProtoInputsAndWritesNpy) {
    ASSERT_TRUE(std::filesystem::exists(kAddCase)) << "apt-get install libonnx-testdata";
    const std::string out = test::tempDir() + "/sum.npy";
    const std::string data = kAddCase + "/test_data_set_0/";
    EXPECT_EQ(cli::runCommand({kAddCase + "/model.onnx", "--input", "x=" + data + "input_0.pb", "--input",
                               "y=" + data + "input_1.pb", "-o", out}),
              0);
    auto t = readNpy(out);
    ASSERT_TRUE(t.ok()) << t.error().what();
    EXPECT_EQ(t->shape(), (Shape{3, 4, 5}));
}

TEST(RunCommand, NpyInputAndOutputDirectory) {
    const std::string dir = test::tempDir();
    std::vector<float> x(3 * 48 * 192, 0.25f);
    ASSERT_TRUE(writeNpy(dir + "/x.npy", Tensor::fromFloats({1, 3, 48, 192}, x)).ok());
    const std::string model = test::asset("models/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    // A single-input model takes --input FILE without a name.
    EXPECT_EQ(cli::runCommand({model, "--input", dir + "/x.npy", "-o", dir + "/out", "--threads", "1"}), 0);
    bool found = false;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/out")) {
        auto t = readNpy(e.path().string());
        ASSERT_TRUE(t.ok());
        EXPECT_EQ(t->shape(), (Shape{1, 2}));
        found = true;
    }
    EXPECT_TRUE(found);
}

TEST(RunCommand, ReportsBadUse) {
    const std::string data = kAddCase + "/test_data_set_0/";
    EXPECT_EQ(cli::runCommand({}), 2);
    EXPECT_EQ(cli::runCommand({kAddCase + "/model.onnx", "--input", "nope=" + data + "input_0.pb"}), 2);
    EXPECT_EQ(cli::runCommand({kAddCase + "/model.onnx", "--input", "x=" + data + "input_0.pb"}), 1);  // y missing
    EXPECT_EQ(cli::runCommand({kAddCase + "/model.onnx", "--input", "x=/nonexistent.npy", "--input", "y=/nonexistent.npy"}), 1);
    EXPECT_EQ(cli::runCommand({"/nonexistent/model.onnx"}), 1);
    EXPECT_EQ(cli::runCommand({"--help"}), 0);
}

}  // namespace
}  // namespace by
