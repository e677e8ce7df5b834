// The overlay pass on a real Vulkan device: hand-made 2D draw data (a translucent rectangle, a
// textured quad through a checker atlas, a clipped triangle) over a rendered-like base image must
// match the CPU reference, change the pixels under it and leave every other pixel as it was.
#include <gtest/gtest.h>

#include "renderers/overlay_renderer.h"
#include "renderers/render_types.h"
#include "renderers/vulkan_context.h"

namespace by {
namespace {

uint32_t rgba(int r, int g, int b, int a) { return uint32_t(r) | uint32_t(g) << 8 | uint32_t(b) << 16 | uint32_t(a) << 24; }

void quad(OverlayDrawData& d, float x0, float y0, float x1, float y1, uint32_t col, float u0, float v0, float u1, float v1,
          const float clip[4]) {
    const uint32_t base = uint32_t(d.vertices.size());
    d.vertices.push_back({x0, y0, u0, v0, col});
    d.vertices.push_back({x1, y0, u1, v0, col});
    d.vertices.push_back({x1, y1, u1, v1, col});
    d.vertices.push_back({x0, y1, u0, v1, col});
    OverlayDrawCmd c;
    c.firstIndex = uint32_t(d.indices.size());
    c.indexCount = 6;
    for (int k = 0; k < 4; ++k) c.clip[k] = clip[k];
    for (uint32_t i : {0u, 1u, 2u, 0u, 2u, 3u}) d.indices.push_back(base + i);
    d.cmds.push_back(c);
}

TEST(OverlayRenderer, DrawsOverTheImageLikeTheReferenceAndNowhereElse) {
    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();
    auto r = OverlayRenderer::create(*ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    Image atlas;
    atlas.width = atlas.height = 8;
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
            const uint8_t v = ((x + y) & 1) ? 255 : 40;
            atlas.rgba.insert(atlas.rgba.end(), {v, v, v, v});
        }
    ASSERT_TRUE((*r)->setAtlas(atlas).ok());
    Image base;
    base.width = 200, base.height = 120;
    for (int y = 0; y < base.height; ++y)
        for (int x = 0; x < base.width; ++x)
            base.rgba.insert(base.rgba.end(), {uint8_t(x), uint8_t(y * 2), uint8_t(255 - x), 255});
    OverlayDrawData d;
    const float whole[4] = {0, 0, 200, 120};
    const float clipped[4] = {120, 10, 150, 60};
    // A translucent dark panel (the white texel of the atlas: u, v inside a 255 texel).
    quad(d, 10, 10, 90, 70, rgba(20, 30, 40, 180), 1.5f / 8, 0.5f / 8, 1.5f / 8, 0.5f / 8, whole);
    // The checker atlas drawn 1:1 (8x8 texels on 8x8 pixels, scaled x4 here: nearest texels).
    quad(d, 20, 80, 52, 112, rgba(255, 200, 100, 255), 0, 0, 1, 1, whole);
    // A rectangle larger than its clip: only the clip rectangle may change.
    quad(d, 100, 0, 200, 100, rgba(250, 250, 0, 255), 1.5f / 8, 0.5f / 8, 1.5f / 8, 0.5f / 8, clipped);

    auto gpu = (*r)->composite(base, d);
    ASSERT_TRUE(gpu.ok()) << gpu.error().what();
    const Image cpu = compositeOverlayReference(base, atlas, d);
    const double db = psnr(*gpu, cpu);
    EXPECT_GE(db, 40.0);
    auto px = [](const Image& im, int x, int y, int c) { return int(im.rgba[(size_t(y) * im.width + x) * 4 + c]); };
    // Inside the panel: 180/255 of the panel colour over the base.
    const float a = 180.0f / 255.0f;
    EXPECT_NEAR(px(*gpu, 50, 40, 0), 20 * a + 50 * (1 - a), 1.5);
    EXPECT_NEAR(px(*gpu, 50, 40, 2), 40 * a + (255 - 50) * (1 - a), 1.5);
    // Clipped: inside the clip yellow, outside it (but inside the quad) untouched.
    EXPECT_EQ(px(*gpu, 130, 30, 0), 250);
    EXPECT_EQ(px(*gpu, 170, 30, 0), px(base, 170, 30, 0));
    EXPECT_EQ(px(*gpu, 130, 80, 2), px(base, 130, 80, 2));
    // Away from every draw the base comes through exactly.
    size_t changedOutside = 0, changedInside = 0;
    for (int y = 0; y < base.height; ++y)
        for (int x = 0; x < base.width; ++x) {
            const bool inside = (x >= 10 && x < 90 && y >= 10 && y < 70) || (x >= 20 && x < 52 && y >= 80 && y < 112) ||
                                (x >= 120 && x < 150 && y >= 10 && y < 60);
            const bool same = px(*gpu, x, y, 0) == px(base, x, y, 0) && px(*gpu, x, y, 1) == px(base, x, y, 1) &&
                              px(*gpu, x, y, 2) == px(base, x, y, 2);
            (inside ? changedInside : changedOutside) += same ? 0 : 1;
        }
    EXPECT_EQ(changedOutside, 0u);
    EXPECT_GT(changedInside, size_t(80 * 60 + 30 * 50) * 9 / 10);
    // The checker shows as two distinct levels inside the textured quad.
    EXPECT_NE(px(*gpu, 21, 81, 1), px(*gpu, 25, 81, 1));
    std::printf("overlay over %dx%d: GPU vs CPU PSNR %.1f dB, %.2f ms on %s\n", base.width, base.height, db, (*r)->lastMs(),
                (*ctx)->deviceName().c_str());

    // Broken draw data is an error, not a crash.
    OverlayDrawData bad = d;
    bad.indices.back() = 9999;
    EXPECT_FALSE((*r)->composite(base, bad).ok());
    bad = d;
    bad.cmds.back().indexCount = 600;
    EXPECT_FALSE((*r)->composite(base, bad).ok());
}

}  // namespace
}  // namespace by
