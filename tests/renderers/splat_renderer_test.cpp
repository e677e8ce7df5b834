// The Vulkan Gaussian splat renderer against its CPU reference on Gaussians baked from real
// assets, plus checks of the projection math and the sort that both share.
#include <gtest/gtest.h>

#include <limits>

#include <cmath>
#include <filesystem>
#include <random>

#include "engine/splat_baker.h"
#include "importers/mesh_importer.h"
#include "renderers/splat_projection.h"
#include "renderers/splat_reference.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"

namespace by {
namespace {

std::string model(const std::string& rel) {
    const std::string p = "/usr/share/assimp/models/" + rel;
    if (!std::filesystem::exists(p)) ADD_FAILURE() << "test model missing: " << p << " (scripts/setup.sh installs assimp-testmodels)";
    return p;
}

SplatCloud bakedDuck(size_t n) {
    auto s = loadMeshScene(model("Collada/duck.dae"));
    EXPECT_TRUE(s.ok());
    SplatCloud c = bakeMeshSurfaces(s->meshes, n, 11);
    // Random higher-order SH so the view-dependent path (degree 3) is exercised too.
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-0.15f, 0.15f);
    for (size_t i = 0; i < c.size(); ++i)
        for (int k = 3; k < 48; ++k) c.sh[i * 48 + static_cast<size_t>(k)] = u(rng);
    return c;
}

TEST(SplatProjection, SortIsFarToNearAndStable) {
    std::vector<float> d = {1.0f, 5.0f, -2.0f, 5.0f, 0.0f, 3.5f, 1e6f};
    std::vector<uint32_t> order;
    sortBackToFront(d, order);
    const std::vector<uint32_t> expect = {6, 1, 3, 5, 0, 4, 2};
    EXPECT_EQ(order, expect);
}

TEST(SplatProjection, IsotropicGaussianProjectsToACircle) {
    RenderView v;
    v.width = 200, v.height = 100;
    v.camera.eye = {0, 0, 10};
    v.camera.target = {0, 0, 0};
    v.camera.fovYDeg = 60;
    const SplatFrame f = SplatFrame::from(v);
    float cov[6];
    covariance3d({std::log(0.5f), std::log(0.5f), std::log(0.5f)}, Quat{}, cov);
    const float sh[3] = {1, 0, -1};
    const ProjectedSplat p = projectSplat(f, {0, 0, 0}, cov, 0.7f, sh, 0);
    EXPECT_FLOAT_EQ(p.cx, 100.0f);
    EXPECT_FLOAT_EQ(p.cy, 50.0f);
    EXPECT_FLOAT_EQ(p.depth, 10.0f);
    // sigma in pixels = 0.5 * focal / 10; conic = 1 / (sigma^2 + 0.3).
    const float sigma = 0.5f * f.fy / 10.0f;
    EXPECT_NEAR(p.conicA, 1.0f / (sigma * sigma + 0.3f), 1e-4);
    EXPECT_NEAR(p.conicB, 0.0f, 1e-6);
    EXPECT_NEAR(p.radius, std::ceil(3.0f * std::sqrt(sigma * sigma + 0.3f)), 1.0f);
    // A point above the target appears above the centre (smaller pixel y).
    const ProjectedSplat up = projectSplat(f, {0, 1, 0}, cov, 0.7f, sh, 0);
    EXPECT_LT(up.cy, 50.0f);
    // Behind the camera: culled.
    EXPECT_EQ(projectSplat(f, {0, 0, 20}, cov, 0.7f, sh, 0).radius, 0.0f);
}

TEST(SplatRenderer, MatchesCpuReferenceOnBakedScenes) {
    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();

    auto box = loadMeshScene(model("glTF2/BoxTextured-glTF-Binary/BoxTextured.glb"));
    ASSERT_TRUE(box.ok());
    struct Case {
        const char* name;
        SplatCloud cloud;
    };
    std::vector<Case> cases;
    cases.push_back({"duck surface, SH degree 3", bakedDuck(30000)});
    cases.push_back({"textured glTF box surface", bakeMeshSurfaces(box->meshes, 20000, 3)});
    // Every method must hold the reference within 40 dB (RGBA8 quads round at each blend step; tiles
    // stop once a pixel is opaque).
    for (SplatMethod method : {SplatMethod::Tiles, SplatMethod::QuadsRgba8, SplatMethod::QuadsRgba16f, SplatMethod::QuadsRgba32f}) {
        const char* targetName = splatMethodName(method);
        auto r = SplatRenderer::create(*ctx, method);
        ASSERT_TRUE(r.ok()) << r.error().what();
        for (const Case& c : cases) {
            ASSERT_TRUE((*r)->setSplats(c.cloud).ok());
            RenderView v;
            v.width = 320, v.height = 240;
            v.camera = Camera::frame(c.cloud.bounds(), v.aspect());
            v.camera.orbit(25, 15);
            auto gpu = (*r)->render(v);
            ASSERT_TRUE(gpu.ok()) << gpu.error().what();
            const Image cpu = renderSplatsReference(c.cloud, v);
            const double db = psnr(*gpu, cpu);
            size_t covered = 0;
            for (size_t i = 0; i < cpu.rgba.size(); i += 4)
                if (cpu.rgba[i] != toByte(v.background.x) || cpu.rgba[i + 2] != toByte(v.background.z)) ++covered;
            EXPECT_GT(covered, 320u * 240u / 20) << c.name;
            EXPECT_GE(db, 40.0) << c.name << " into " << targetName;
            const SplatFrameTimes& t = (*r)->lastTimes();
            EXPECT_GT(t.renderMs, 0.0);
            EXPECT_GE(t.totalMs, t.renderMs + t.readbackMs * 0.99);
            std::printf("%s (%zu splats) by %s: GPU vs CPU PSNR %.1f dB on %s\n", c.name, c.cloud.size(), targetName, db,
                        (*ctx)->deviceName().c_str());
        }
        // An empty cloud renders the background, at an odd size that is not a whole number of tiles.
        ASSERT_TRUE((*r)->setSplats(SplatCloud{}).ok());
        RenderView v;
        v.width = 37, v.height = 19;
        auto empty = (*r)->render(v);
        ASSERT_TRUE(empty.ok()) << empty.error().what();
        EXPECT_EQ(empty->rgba[(18 * 37 + 36) * 4 + 2], toByte(v.background.z));
    }
}

// The tile shader that shares splat data across a subgroup gives the plain one's image, on a view
// size that is not a whole number of tiles (edge pixels take part without writing), with and
// without an underlay.
TEST(SplatRenderer, SubgroupSharedTilesMatchThePlainOnes) {
    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();
    auto plain = SplatRenderer::create(*ctx, SplatMethod::Tiles, false);
    auto shared = SplatRenderer::create(*ctx, SplatMethod::Tiles, true);
    ASSERT_TRUE(plain.ok() && shared.ok());
    EXPECT_FALSE((*plain)->sharesAcrossSubgroups());
    if (!(*shared)->sharesAcrossSubgroups()) GTEST_SKIP() << (*ctx)->deviceName() << " has no subgroup shuffles or votes";
    const SplatCloud cloud = bakedDuck(30000);
    ASSERT_TRUE((*plain)->setSplats(cloud).ok());
    ASSERT_TRUE((*shared)->setSplats(cloud).ok());
    RenderView v;
    v.width = 301, v.height = 203;
    v.camera = Camera::frame(cloud.bounds(), v.aspect());
    v.camera.orbit(40, 10);
    auto a = (*plain)->render(v);
    auto b = (*shared)->render(v);
    ASSERT_TRUE(a.ok() && b.ok());
    size_t differing = 0, covered = 0;
    for (size_t i = 0; i < a->rgba.size(); ++i) differing += a->rgba[i] != b->rgba[i];
    for (size_t i = 0; i < a->rgba.size(); i += 4) covered += a->rgba[i] != toByte(v.background.x);
    EXPECT_GT(covered, size_t(301 * 203 / 20));
    EXPECT_EQ(differing, 0u);
    // Over an underlay (a flat colour half near, half far): the same again.
    Image under;
    under.width = v.width, under.height = v.height;
    under.rgba.assign(size_t(v.width) * v.height * 4, 90);
    std::vector<float> depth(size_t(v.width) * v.height);
    const float mid = length(v.camera.eye - v.camera.target);
    for (size_t i = 0; i < depth.size(); ++i) depth[i] = (i % size_t(v.width)) < size_t(v.width / 2) ? mid : std::numeric_limits<float>::infinity();
    SplatUnderlay u{&under, &depth};
    auto c = (*plain)->render(v, &u);
    auto d = (*shared)->render(v, &u);
    ASSERT_TRUE(c.ok() && d.ok()) << (c.ok() ? d.error().what() : c.error().what());
    differing = 0;
    for (size_t i = 0; i < c->rgba.size(); ++i) differing += c->rgba[i] != d->rgba[i];
    EXPECT_EQ(differing, 0u);
}

// A flat Gaussian seen edge-on: the footprint is a thin ellipse along its long axis, and the
// GPU's oriented rectangle must still cover every pixel the reference draws.
TEST(SplatProjection, FootprintFollowsTheEllipseAxes) {
    RenderView v;
    v.width = 200, v.height = 200;
    v.camera.eye = {0, 0, 10};
    v.camera.fovYDeg = 60;
    const SplatFrame f = SplatFrame::from(v);
    float cov[6];
    // Long along x, thin along y, rotated 45 degrees about z.
    const float h = std::sqrt(0.5f);
    covariance3d({std::log(1.0f), std::log(0.05f), std::log(0.05f)}, Quat{std::cos(0.3926991f), 0, 0, std::sin(0.3926991f)}, cov);
    const float sh[3] = {0, 0, 0};
    const ProjectedSplat p = projectSplat(f, {0, 0, 0}, cov, 0.9f, sh, 0);
    ASSERT_GT(p.radius, 0.0f);
    // The long axis points along (1, -1)/sqrt2 in pixels (image y is down), up to sign.
    EXPECT_NEAR(std::fabs(p.axisX / p.radius), h, 1e-3);
    EXPECT_NEAR(p.axisX * p.axisY / (p.radius * p.radius), -0.5f, 1e-3);
    EXPECT_LT(p.minorRatio, 0.2f);
    // 3 sigma at opacity 0.9 (2 ln(229.5) > 9), sigma = focal / 10 pixels.
    EXPECT_NEAR(p.radius, 3.0f * std::sqrt(f.fy * f.fy / 100.0f + 0.3f), 0.05f * p.radius);
    // A faint splat's footprint shrinks to where alpha reaches 1/255.
    const ProjectedSplat faint = projectSplat(f, {0, 0, 0}, cov, 0.02f, sh, 0);
    EXPECT_NEAR(faint.radius / p.radius, std::sqrt(2.0f * std::log(255.0f * 0.02f) / 9.0f), 1e-3);
    EXPECT_EQ(projectSplat(f, {0, 0, 0}, cov, 0.003f, sh, 0).radius, 0.0f);  // below 1/255 everywhere
}

}  // namespace
}  // namespace by
