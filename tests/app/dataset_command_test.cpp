#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace {

int cli(const std::string& args, std::string* out) {
    return by::test::runCommand(by::test::cliPath() + " " + args, out);
}

TEST(DatasetCommand, InfoOnRealMnist) {
    const std::string mnist = by::test::asset("data/mnist");
    std::string out;
    ASSERT_EQ(cli("dataset info mnist:" + mnist, &out), 0) << out;
    EXPECT_NE(out.find("samples      10000"), std::string::npos) << out;
    EXPECT_NE(out.find("u8 [1,28,28]"), std::string::npos) << out;

    ASSERT_EQ(cli("dataset info mnist:" + mnist + " --split train --json", &out), 0) << out;
    auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["size"], 60000);
    ASSERT_EQ(j["classes"].size(), 10u);
    int64_t total = 0;
    for (const auto& c : j["classes"]) total += c["count"].get<int64_t>();
    EXPECT_EQ(total, 60000);
    EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::array({1, 28, 28}));
}

TEST(DatasetCommand, ErrorsAreOneSentenceAndUsageIsTwo) {
    std::string out;
    EXPECT_EQ(cli("dataset info mnist:/does/not/exist", &out), 1) << out;
    EXPECT_NE(out.find("t10k-images-idx3-ubyte"), std::string::npos) << out;
    EXPECT_EQ(cli("dataset info images:/tmp --size 28", &out), 2) << out;
    EXPECT_EQ(cli("dataset frobnicate x", &out), 2) << out;
}

}  // namespace
