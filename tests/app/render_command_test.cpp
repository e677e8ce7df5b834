// The render and bake verbs end to end through the built brickyard-cli.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace by
