// The Vulkan mesh renderer against its CPU reference on real textured meshes.
#include <gtest/gtest.h>

#include <filesystem>

#include "importers/mesh_importer.h"
#include "renderers/mesh_reference.h"
#include "renderers/mesh_renderer.h"
#include "renderers/vulkan_context.h"

namespace by {
namespace {

std::shared_ptr<VulkanContext> vulkanOrNull(std::string* why) {
    auto c = VulkanContext::create();
    if (!c) {
        *why = c.error().what();
        return nullptr;
    }
    return *c;
}

std::string model(const std::string& rel) {
    const std::string p = "/usr/share/assimp/models/" + rel;
    if (!std::filesystem::exists(p)) ADD_FAILURE() << "test model missing: " << p << " (scripts/setup.sh installs assimp-testmodels)";
    return p;
}

size_t nonBackgroundPixels(const Image& img, const RenderView& v) {
    size_t n = 0;
    for (size_t i = 0; i < img.rgba.size(); i += 4)
        if (img.rgba[i] != toByte(v.background.x) || img.rgba[i + 1] != toByte(v.background.y) || img.rgba[i + 2] != toByte(v.background.z)) ++n;
    return n;
}

// One quad facing +Z (counter-clockwise seen from +Z), 2 x 2 around the origin.
Mesh quad(bool doubleSided) {
    Mesh m;
    m.name = "quad";
    m.positions = {{-1, -1, 0}, {1, -1, 0}, {1, 1, 0}, {-1, 1, 0}};
    m.normals.assign(4, Vec3{0, 0, 1});
    m.indices = {0, 1, 2, 0, 2, 3};
    m.material.baseColor = {0.8f, 0.3f, 0.2f, 1};
    m.material.doubleSided = doubleSided;
    return m;
}

TEST(MeshRenderer, SingleSidedMaterialsDropBackFacesLikeTheReference) {
    std::string why;
    auto ctx = vulkanOrNull(&why);
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << why;
    auto r = MeshRenderer::create(ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    for (bool doubleSided : {false, true})
        for (float yaw : {0.f, 180.f}) {  // front (camera on +Z), then from behind
            const std::vector<Mesh> meshes = {quad(doubleSided)};
            ASSERT_TRUE((*r)->setMeshes(meshes).ok());
            RenderView v;
            v.width = 160, v.height = 120;
            Bounds b;
            b.min = {-1, -1, 0}, b.max = {1, 1, 0};
            v.camera = Camera::frame(b, v.aspect());
            v.camera.orbit(yaw, 0);
            auto gpu = (*r)->render(v);
            ASSERT_TRUE(gpu.ok()) << gpu.error().what();
            const Image cpu = renderMeshesReference(meshes, v);
            const bool visible = doubleSided || yaw == 0.f;
            const size_t covered = nonBackgroundPixels(*gpu, v);
            if (visible)
                EXPECT_GT(covered, 160u * 120u / 10) << "double-sided " << doubleSided << ", yaw " << yaw;
            else
                EXPECT_EQ(covered, 0u) << "a back face of a single-sided quad was drawn (yaw " << yaw << ")";
            EXPECT_EQ(nonBackgroundPixels(cpu, v) > 0, visible) << "reference, double-sided " << doubleSided << ", yaw " << yaw;
            EXPECT_GE(psnr(*gpu, cpu), 40.0) << "double-sided " << doubleSided << ", yaw " << yaw;
        }
}

TEST(MeshRenderer, MatchesCpuReferenceOnTexturedMeshes) {
    std::string why;
    auto ctx = vulkanOrNull(&why);
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << why;
    auto r = MeshRenderer::create(ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    for (const char* rel : {"Collada/duck.dae", "glTF2/BoxTextured-glTF-Binary/BoxTextured.glb", "OBJ/spider.obj"}) {
        auto scene = loadScene(model(rel));
        ASSERT_TRUE(scene.ok()) << scene.error().what();
        ASSERT_TRUE((*r)->setMeshes(scene->meshes).ok());
        RenderView v;
        v.width = 320, v.height = 240;
        v.camera = Camera::frame(scene->bounds(), v.aspect());
        v.camera.orbit(30, 20);  // show three sides
        auto gpu = (*r)->render(v);
        ASSERT_TRUE(gpu.ok()) << gpu.error().what();
        const Image cpu = renderMeshesReference(scene->meshes, v);
        const double db = psnr(*gpu, cpu);
        EXPECT_GE(db, 40.0) << rel << " on " << ctx->deviceName();
        // The mesh covers a real part of the frame (not an empty image matching an empty image).
        EXPECT_GT(nonBackgroundPixels(cpu, v), 320u * 240u / 10) << rel;
        std::printf("%s: GPU vs CPU PSNR %.1f dB on %s\n", rel, db, ctx->deviceName().c_str());
    }
}

// The culling pre-pass changes nothing in the picture: with it on, the image is byte for byte
// the one drawing every triangle gives, for single- and double-sided meshes seen large (back
// faces, triangles leaving the frame, the camera inside the bounds) and small (most triangles
// covering no pixel centre), while far fewer triangles reach the rasteriser.
TEST(MeshRenderer, CullingPrePassKeepsTheImageAndDropsTriangles) {
    std::string why;
    auto ctx = vulkanOrNull(&why);
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << why;
    auto r = MeshRenderer::create(ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    auto duck = loadScene(model("Collada/duck.dae"));
    ASSERT_TRUE(duck.ok()) << duck.error().what();
    ASSERT_FALSE(duck->meshes[0].material.doubleSided);
    // A 9 x 9 grid of ducks, the middle row double-sided: 81 copies, two materials.
    std::vector<Mesh> grid;
    const Vec3 size = duck->bounds().size();
    for (int i = 0; i < 81; ++i) {
        Mesh m = duck->meshes[0];
        for (Vec3& p : m.positions) p = p + Vec3{(float(i % 9) - 4) * size.x * 1.1f, (float(i / 9) - 4) * size.y * 1.1f, 0};
        if (i / 9 == 4) m.material.doubleSided = true;
        grid.push_back(std::move(m));
    }
    Bounds b;
    uint64_t total = 0;
    for (const Mesh& m : grid) b.add(m.bounds()), total += m.triangleCount();
    ASSERT_TRUE((*r)->setMeshes(grid).ok());
    ASSERT_EQ((*r)->drawCount(), 2u);
    struct Case {
        const char* name;
        Camera camera;
    };
    RenderView v;
    v.width = 640, v.height = 360;
    Camera whole = Camera::frame(b, v.aspect());
    Camera close = Camera::frame(duck->bounds(), v.aspect());
    close.orbit(140, 25);  // mostly its back, partly leaving the frame
    // Grazing along the grid from inside its bounds: ducks behind the eye, beside it, crossing
    // the near plane, and far away.
    Camera inside = whole;
    inside.eye = Vec3{b.min.x + (b.max.x - b.min.x) * 0.3f, b.center().y, b.max.z + size.z * 0.3f};
    inside.target = inside.eye + Vec3{1.0f, 0.05f, -0.35f};
    for (const Case& c : {Case{"whole grid", whole}, Case{"one duck close", close}, Case{"camera among the ducks", inside}}) {
        v.camera = c.camera;
        (*r)->setCulling(MeshRenderer::Culling::Off);
        auto full = (*r)->render(v);
        ASSERT_TRUE(full.ok()) << full.error().what();
        EXPECT_EQ((*r)->drawnTriangles(), total);
        EXPECT_GT(nonBackgroundPixels(*full, v), 1000u) << c.name;
        uint64_t drawnBy[2] = {};
        for (auto mode : {MeshRenderer::Culling::Device, MeshRenderer::Culling::Host}) {
            if (mode == MeshRenderer::Culling::Host && !ctx->isCpuDevice()) continue;  // a GPU culls on the device only
            const bool host = mode == MeshRenderer::Culling::Host;
            (*r)->setCulling(mode);
            auto culled = (*r)->render(v);
            ASSERT_TRUE(culled.ok()) << culled.error().what();
            const uint64_t drawn = (*r)->drawnTriangles();
            drawnBy[host] = drawn;
            EXPECT_LT(drawn, total) << c.name;
            size_t differing = 0;
            for (size_t i = 0; i < full->rgba.size(); ++i) differing += full->rgba[i] != culled->rgba[i];
            EXPECT_EQ(differing, 0u) << c.name << (host ? " (host)" : " (device)") << ": " << drawn << " of " << total << " triangles drawn";
            std::printf("%s, culled on the %s: %llu of %llu triangles drawn, images identical: %s\n", c.name, host ? "host" : "device",
                        (unsigned long long)drawn, (unsigned long long)total, differing == 0 ? "yes" : "no");
        }
        // The two ways apply the same tests (float rounding may move a borderline triangle).
        if (drawnBy[1] > 0) {
            EXPECT_NEAR(double(drawnBy[0]), double(drawnBy[1]), 0.001 * double(total)) << c.name;
        }
    }
}

}  // namespace
}  // namespace by
