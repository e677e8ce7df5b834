// The render and bake verbs end to end through the built brickyard-cli.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "importers/video_file.h"
#include "tests/test_support.h"

namespace by {
namespace {

std::string pngMagic(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string m(8, '\0');
    in.read(m.data(), 8);
    return m.substr(1, 3);
}

TEST(RenderCommand, RendersMeshAndBakedSplatsToPng) {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    if (!std::filesystem::exists(duck)) FAIL() << "missing " << duck << " (scripts/setup.sh installs assimp-testmodels)";
    const std::string dir = test::tempDir();
    std::string out;
    // --cpu keeps the verb testable where no Vulkan device exists; the GPU path is tested in renderers_tests.
    int rc = test::runCommand(test::cliPath() + " render " + duck + " --cpu --size 160x120 -o " + dir + "/duck.png", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(pngMagic(dir + "/duck.png"), "PNG");
    EXPECT_NE(out.find("4212 triangles"), std::string::npos) << out;
    rc = test::runCommand(test::cliPath() + " bake " + duck + " --samples 5000 -o " + dir + "/duck.ply", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("baked 5000 Gaussians"), std::string::npos) << out;
    rc = test::runCommand(test::cliPath() + " render " + dir + "/duck.ply --cpu --size 160x120 --camera fov=30 -o " + dir + "/s.png", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("5000 Gaussians"), std::string::npos) << out;
    EXPECT_EQ(pngMagic(dir + "/s.png"), "PNG");
}

TEST(RenderCommand, BadInputIsOneClearError) {
    const std::string dir = test::tempDir();
    std::ofstream(dir + "/broken.ply") << "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n";
    std::string out;
    int rc = test::runCommand(test::cliPath() + " render " + dir + "/broken.ply -o " + dir + "/x.png", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("broken.ply"), std::string::npos) << out;
    rc = test::runCommand(test::cliPath() + " render " + dir + "/broken.ply --size 0x5 -o " + dir + "/x.png", &out);
    EXPECT_EQ(rc, 2) << out;
    rc = test::runCommand(test::cliPath() + " render /usr/share/assimp/models/Collada/duck.dae --camera eye=1,2 -o " + dir + "/x.png", &out);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("three numbers"), std::string::npos) << out;
}

TEST(RenderCommand, SplatCompressWritesASmallerFileAndComparesRenders) {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    if (!std::filesystem::exists(duck)) FAIL() << "missing " << duck << " (scripts/setup.sh installs assimp-testmodels)";
    const std::string dir = test::tempDir();
    std::string out;
    ASSERT_EQ(test::runCommand(test::cliPath() + " bake " + duck + " --samples 4000 -o " + dir + "/d.ply", &out), 0) << out;
    int rc = test::runCommand(test::cliPath() + " splat-compress " + dir + "/d.ply --cpu --size 160x90 --keep 0.9 --sh-degree 0 " +
                                  "--bits 16,8,8,8,8,0 -o " + dir + "/d.bysplat", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("splats 4000 -> 3600 (SH degree 3 -> 0)"), std::string::npos) << out;
    EXPECT_LT(std::filesystem::file_size(dir + "/d.bysplat") * 8, std::filesystem::file_size(dir + "/d.ply")) << out;
    // The front view's PSNR is printed and is a real comparison (finite, not perfect, not noise).
    const auto at = out.find("front");
    ASSERT_NE(at, std::string::npos) << out;
    const double db = std::strtod(out.c_str() + at + 5, nullptr);
    EXPECT_GT(db, 25.0) << out;
    EXPECT_LT(db, 99.0) << out;
    // The packed file renders like any scene.
    rc = test::runCommand(test::cliPath() + " render " + dir + "/d.bysplat --cpu --size 80x60 -o " + dir + "/d.png", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("3600 Gaussians"), std::string::npos) << out;
    // Bad settings: one sentence, nothing written.
    rc = test::runCommand(test::cliPath() + " splat-compress " + dir + "/d.ply --cpu --bits 1,8,8,8,8,8 -o " + dir + "/e.bysplat", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("position bits"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(dir + "/e.bysplat"));
    rc = test::runCommand(test::cliPath() + " splat-compress " + dir + "/d.ply --bits 8,8 -o " + dir + "/e.bysplat", &out);
    EXPECT_EQ(rc, 2) << out;
}

}  // namespace
}  // namespace by

namespace by {
namespace {

// A mesh and splats in one image (--add), and a camera-path video through bookmarks (--path).
TEST(RenderCommand, MeshPlusSplatsAndACameraPathVideo) {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    if (!std::filesystem::exists(duck)) FAIL() << "missing " << duck << " (scripts/setup.sh installs assimp-testmodels)";
    const std::string dir = test::tempDir();
    std::string out;
    ASSERT_EQ(test::runCommand(test::cliPath() + " bake " + duck + " --samples 3000 -o " + dir + "/d.ply", &out), 0) << out;
    int rc = test::runCommand(test::cliPath() + " render " + duck + " --add " + dir + "/d.ply --cpu --size 160x120 -o " + dir + "/both.png", &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("4212 triangles and 3000 Gaussians"), std::string::npos) << out;
    EXPECT_EQ(pngMagic(dir + "/both.png"), "PNG");

    std::ofstream(dir + "/path.json") << R"({"format": "brickyard-camera-bookmarks", "version": 1, "bookmarks": [
        {"name": "a", "eye": [0, 100, 400], "target": [0, 80, 0]},
        {"name": "b", "eye": [400, 150, 0], "target": [0, 80, 0]},
        {"name": "c", "eye": [0, 200, -400], "target": [0, 80, 0], "fov": 40}]})";
    rc = test::runCommand(test::cliPath() + " render " + dir + "/d.ply --cpu --size 96x64 --path " + dir + "/path.json --frames 12 -o " +
                              dir + "/path.mp4",
                          &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("12 frames through 3 bookmarks"), std::string::npos) << out;
    auto info = probeVideo(dir + "/path.mp4");
    ASSERT_TRUE(info.ok()) << info.error().what();
    EXPECT_EQ(info->frames, 12);
    EXPECT_EQ(info->width, 96);
    // A bookmarks file with one view is not a path.
    std::ofstream(dir + "/one.json") << R"({"format": "brickyard-camera-bookmarks", "bookmarks": [{"eye": [0, 0, 5], "target": [0, 0, 0]}]})";
    rc = test::runCommand(test::cliPath() + " render " + dir + "/d.ply --cpu --path " + dir + "/one.json -o " + dir + "/x.mp4", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("two bookmarks"), std::string::npos) << out;
}

}  // namespace
}  // namespace by
