// The gvideo verbs end to end through the built brickyard-cli: animate the real duck into a PLY
// sequence, encode it (size and per-frame PSNR printed), render frames of both forms, and broken
// inputs answered with one clear sentence and exit status 1.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

TEST(GvideoCommand, AnimateEncodeRender) {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    if (!fs::exists(duck)) FAIL() << "missing " << duck << " (scripts/setup.sh installs assimp-testmodels)";
    const std::string dir = test::tempDir();
    const std::string cli = test::cliPath();
    std::string out;
    int rc = test::runCommand(cli + " gvideo animate " + duck + " --samples 4000 --frames 5 -o " + dir + "/seq", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("wrote 5 frames of 4000 Gaussians"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(dir + "/seq/frame_0004.ply"));
    // --cpu keeps the verb testable where no Vulkan device exists; the GPU path is tested in renderers_tests.
    rc = test::runCommand(cli + " gvideo encode " + dir + "/seq -o " + dir + "/video --cpu --size 160x120", &out);
    ASSERT_EQ(rc, 0) << out;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(size: ([0-9.]+) MB against ([0-9.]+) MB of PLY frames: ([0-9.]+)x smaller)"))) << out;
    EXPECT_GT(std::stod(m[3]), 5.0) << out;
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(mean ([0-9.]+) dB, worst ([0-9.]+) dB)"))) << out;
    EXPECT_GE(std::stod(m[2]), 35.0) << out;
    EXPECT_NE(out.find("frame    4  PSNR"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(dir + "/video/manifest.json"));

    rc = test::runCommand(cli + " gvideo info " + dir + "/video", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("5 frames at 30 fps, 4000 Gaussians (SH degree 3)"), std::string::npos) << out;

    rc = test::runCommand(cli + " gvideo render " + dir + "/video/manifest.json --frame 3 --cpu --size 160x120 -o " + dir + "/v3.png", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(fs::exists(dir + "/v3.png"));
    rc = test::runCommand(cli + " gvideo render " + dir + "/seq/frame_%04d.ply --frames 1:2 --cpu --size 160x120 -o " + dir + "/r%d.png", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(fs::exists(dir + "/r1.png") && fs::exists(dir + "/r2.png")) << out;
}

TEST(GvideoCommand, BrokenInputsAreOneClearError) {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    const std::string dir = test::tempDir();
    const std::string cli = test::cliPath();
    std::string out;
    ASSERT_EQ(test::runCommand(cli + " gvideo animate " + duck + " --samples 1000 --frames 4 -o " + dir + "/seq", &out), 0) << out;
    ASSERT_EQ(test::runCommand(cli + " gvideo encode " + dir + "/seq -o " + dir + "/video --no-psnr", &out), 0) << out;

    // A frame out of the middle of the sequence.
    fs::copy_file(dir + "/seq/frame_0002.ply", dir + "/f2.ply");
    fs::remove(dir + "/seq/frame_0002.ply");
    int rc = test::runCommand(cli + " gvideo encode " + dir + "/seq -o " + dir + "/v2 --no-psnr", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("frame 2 is missing"), std::string::npos) << out;
    fs::copy_file(dir + "/f2.ply", dir + "/seq/frame_0002.ply");

    // A truncated frame.
    fs::resize_file(dir + "/seq/frame_0003.ply", fs::file_size(dir + "/seq/frame_0003.ply") - 500);
    rc = test::runCommand(cli + " gvideo encode " + dir + "/seq -o " + dir + "/v3 --no-psnr", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("frame_0003.ply"), std::string::npos) << out;
    EXPECT_NE(out.find("truncated"), std::string::npos) << out;

    // A damaged video.
    const std::string lo = dir + "/video/position_lo.mkv";
    fs::resize_file(lo, fs::file_size(lo) / 3);
    rc = test::runCommand(cli + " gvideo render " + dir + "/video --frames 0:3 --cpu --size 64x48 -o " + dir + "/x%d.png", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("position_lo.mkv"), std::string::npos) << out;

    // No manifest.
    fs::remove(dir + "/video/manifest.json");
    rc = test::runCommand(cli + " gvideo info " + dir + "/video", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("manifest"), std::string::npos) << out;

    // A frame past the end, and usage errors.
    rc = test::runCommand(cli + " gvideo render " + dir + "/seq --frame 9 --cpu -o " + dir + "/y.png", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("frame 9 does not exist (the sequence has 4 frames)"), std::string::npos) << out;
    EXPECT_EQ(test::runCommand(cli + " gvideo encode " + dir + "/seq -o " + dir + "/v4 --crf 99", &out), 2) << out;
    EXPECT_EQ(test::runCommand(cli + " gvideo frobnicate", &out), 2) << out;
}

}  // namespace
}  // namespace by
