// Meshes and Gaussian splats in one image: the duck mesh with a splat cloud baked from the same
// duck, shifted so that half of it sinks into the mesh. The Vulkan composite (mesh depth testing
// the splats in the tile pass) is held to the CPU reference, and depth must matter: the splats
// inside the duck are hidden, so the image differs from splats simply laid over the mesh.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/splat_baker.h"
#include "importers/mesh_importer.h"
#include "renderers/mesh_reference.h"
#include "renderers/scene_renderer.h"
#include "renderers/splat_reference.h"
#include "renderers/vulkan_context.h"

namespace by {
namespace {

Scene duckWithSplats() {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    if (!std::filesystem::exists(duck)) ADD_FAILURE() << "missing " << duck << " (scripts/setup.sh installs assimp-testmodels)";
    auto s = loadMeshScene(duck);
    EXPECT_TRUE(s.ok());
    Scene scene;
    scene.meshes = s->meshes;
    scene.splats = bakeMeshSurfaces(s->meshes, 20000, 5);
    // Shift the splat duck by a third of the model's width, so it passes through the mesh duck.
    const Bounds b = Scene{s->meshes, {}, {}}.bounds();
    const float dx = (b.max.x - b.min.x) * 0.35f, dz = (b.max.z - b.min.z) * 0.2f;
    for (Vec3& p : scene.splats.positions) p = p + Vec3{dx, 0, dz};
    return scene;
}

size_t differingPixels(const Image& a, const Image& b, int threshold) {
    size_t n = 0;
    for (size_t i = 0; i < a.rgba.size(); i += 4)
        for (int k = 0; k < 3; ++k)
            if (std::abs(int(a.rgba[i + k]) - int(b.rgba[i + k])) > threshold) {
                ++n;
                break;
            }
    return n;
}

TEST(SceneRenderer, MeshAndSplatsCompositeWithDepthLikeTheReference) {
    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();
    const Scene scene = duckWithSplats();
    ASSERT_FALSE(scene.meshes.empty());
    auto r = SceneRenderer::create(*ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_TRUE((*r)->setScene(scene).ok());
    for (float yaw : {0.0f, 70.0f, 200.0f}) {
        RenderView v;
        v.width = 320, v.height = 240;
        v.camera = Camera::frame(scene.bounds(), v.aspect());
        v.camera.orbit(yaw, 15);
        auto gpu = (*r)->render(v);
        ASSERT_TRUE(gpu.ok()) << gpu.error().what();
        const Image cpu = renderSceneReference(scene, v);
        const double db = psnr(*gpu, cpu);
        EXPECT_GE(db, 40.0) << "yaw " << yaw;

        // Without depth (splats over the finished mesh image) the picture is different: depth hides
        // the part of the splat duck inside the mesh duck.
        std::vector<float> depth;
        const Image mesh = renderMeshesReference(scene.meshes, v, &depth);
        std::vector<float> nothing(depth.size(), INFINITY);
        const SplatUnderlay flat{&mesh, &nothing};
        const Image over = renderSplatsReference(scene.splats, v, &flat);
        const size_t hidden = differingPixels(cpu, over, 8);
        EXPECT_GT(hidden, size_t(v.width * v.height) / 100) << "yaw " << yaw;
        // Both models show: the composite differs from the mesh alone and from the splats alone.
        EXPECT_GT(differingPixels(cpu, mesh, 8), size_t(v.width * v.height) / 50);
        EXPECT_GT(differingPixels(cpu, renderSplatsReference(scene.splats, v), 8), size_t(v.width * v.height) / 50);
        std::printf("mesh + %zu splats, yaw %.0f: GPU vs CPU PSNR %.1f dB, %zu pixels decided by depth, %.1f ms on %s\n",
                    scene.splats.size(), yaw, db, hidden, (*r)->lastMs(), (*ctx)->deviceName().c_str());
    }
}

TEST(SceneRenderer, UnderlayOfTheWrongSizeIsAnError) {
    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();
    const Scene scene = duckWithSplats();
    auto r = SplatRenderer::create(*ctx);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE((*r)->setSplats(scene.splats).ok());
    RenderView v;
    v.width = 64, v.height = 48;
    v.camera = Camera::frame(scene.bounds(), v.aspect());
    Image small;
    small.width = 32, small.height = 48;
    small.rgba.assign(32 * 48 * 4, 0);
    std::vector<float> depth(32 * 48, 1.0f);
    const SplatUnderlay u{&small, &depth};
    auto img = (*r)->render(v, &u);
    ASSERT_FALSE(img.ok());
    EXPECT_NE(img.error().message.find("underlay"), std::string::npos);
    auto quads = SplatRenderer::create(*ctx, SplatMethod::QuadsRgba8);
    ASSERT_TRUE(quads.ok());
    ASSERT_TRUE((*quads)->setSplats(scene.splats).ok());
    EXPECT_EQ((*quads)->render(v, &u).error().code, ErrorCode::Unsupported);
}

}  // namespace
}  // namespace by
