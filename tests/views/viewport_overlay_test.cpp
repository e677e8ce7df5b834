// The viewport overlay's logic without a window: a click at a widget's position triggers its
// action (and only then), clicks elsewhere fall through to the camera, bookmarks are added and
// selected through the overlay, the frame-time graph follows the recorded frames, and the ImGui
// draw data composited on a real Vulkan device matches the CPU reference.
#include <gtest/gtest.h>

#include "renderers/overlay_renderer.h"
#include "renderers/render_types.h"
#include "renderers/vulkan_context.h"
#include "views/viewport_overlay.h"

namespace by {
namespace {

constexpr int kW = 800, kH = 600;

Scene sampleScene() {
    Scene s;
    s.splats.shDegree = 2;
    for (int i = 0; i < 10; ++i) {
        s.splats.positions.push_back({float(i), 0, 0});
        s.splats.logScales.push_back({-2, -2, -2});
        s.splats.rotations.push_back({1, 0, 0, 0});
        s.splats.opacityLogits.push_back(1);
        for (int k = 0; k < 27; ++k) s.splats.sh.push_back(0.1f);
    }
    return s;
}

struct Harness {
    ViewportOverlay overlay;
    OverlayInput input;
    ViewportController controller;
    Scene scene = sampleScene();

    Harness() { controller.frameBounds(scene.bounds(), float(kW) / kH); }
    OverlayChanges frame() { return overlay.frame(kW, kH, input, overlayStateFor(controller, scene, "test device"), 1.0 / 60); }
    // Moves to (x, y), presses and releases the left button there: the changes of the release frame
    // and those of the press frame, merged the way the host sees them (it applies both).
    OverlayChanges click(float x, float y) {
        input.mouseX = x, input.mouseY = y;
        frame();
        input.mouseDown[0] = true;
        OverlayChanges a = frame();
        input.mouseDown[0] = false;
        OverlayChanges b = frame();
        if (a.any()) applyOverlayChanges(controller, a);
        if (b.any()) applyOverlayChanges(controller, b);
        b.screenshot |= a.screenshot;
        b.addBookmark |= a.addBookmark;
        if (b.goToBookmark < 0) b.goToBookmark = a.goToBookmark;
        return b;
    }
    std::array<float, 4> rect(const std::string& label) {
        auto r = overlay.widgetRect(label);
        EXPECT_TRUE(r.has_value()) << label;
        return r.value_or(std::array<float, 4>{-100, -100, -100, -100});
    }
    OverlayChanges clickOn(const std::string& label) {
        const auto r = rect(label);
        return click((r[0] + r[2]) / 2, (r[1] + r[3]) / 2);
    }
};

TEST(ViewportOverlay, ClickOnAButtonTriggersItsActionAndOnlyThen) {
    Harness h;
    h.frame();
    const auto shot = h.rect("Screenshot");
    EXPECT_GT(shot[2] - shot[0], 20.0f);
    EXPECT_GT(shot[3] - shot[1], 8.0f);
    // Hovering is not clicking.
    h.input.mouseX = (shot[0] + shot[2]) / 2, h.input.mouseY = (shot[1] + shot[3]) / 2;
    EXPECT_FALSE(h.frame().screenshot);
    EXPECT_TRUE(h.overlay.wantsMouse());
    EXPECT_TRUE(h.clickOn("Screenshot").screenshot);
    // A click far from the overlay is no action, and ImGui does not want that mouse.
    const OverlayChanges none = h.click(kW - 20, kH - 20);
    EXPECT_FALSE(none.any());
    EXPECT_FALSE(h.overlay.wantsMouse());
    // Export needs two bookmarks: disabled until then.
    EXPECT_FALSE(h.clickOn("Export path video").exportPathVideo);
}

TEST(ViewportOverlay, BookmarksAreAddedAndSelectedThroughTheOverlay) {
    Harness h;
    h.frame();
    EXPECT_TRUE(h.clickOn("Add bookmark").addBookmark);
    ASSERT_EQ(h.controller.bookmarks().size(), 1u);
    const Camera first = h.controller.camera();
    h.controller.drag(120, 30);  // the camera moves on
    EXPECT_GT(length(h.controller.camera().eye - first.eye), 0.1f);
    h.frame();
    h.clickOn("Add bookmark");
    ASSERT_EQ(h.controller.bookmarks().size(), 2u);
    h.frame();
    const OverlayChanges go = h.clickOn("Bookmark 1");
    EXPECT_EQ(go.goToBookmark, 0);
    EXPECT_LT(length(h.controller.camera().eye - first.eye), 1e-5f);
    EXPECT_EQ(h.controller.currentBookmark(), 0);
    // With two bookmarks the path export is enabled.
    h.frame();
    EXPECT_TRUE(h.clickOn("Export path video").exportPathVideo);
}

TEST(ViewportOverlay, SettingsChangeTheControllerAndAskForANewFrame) {
    Harness h;
    h.frame();
    // The SH slider's left end is degree 0.
    const auto sh = h.rect("SH degree");
    h.controller.markRendered();
    h.click(sh[0] + 2, (sh[1] + sh[3]) / 2);
    EXPECT_EQ(h.controller.settings().shDegree, 0);
    EXPECT_TRUE(h.controller.needsRender());
    h.clickOn("Fly");
    EXPECT_EQ(h.controller.mode(), CameraMode::Fly);
    h.frame();
    h.clickOn("Overlay in screenshot");
    EXPECT_TRUE(h.controller.settings().screenshotWithOverlay);
}

// The bounding-box and wireframe guides: the box's 12 edges land inside the image around the
// framed scene; a box behind the eye draws nothing; wireframes above the cap are refused; the
// checkbox turns the guides on and they change the drawing.
TEST(ViewportOverlay, BoundingBoxAndWireframeGuides) {
    Bounds box;
    box.add(Vec3{-1, -1, -1});
    box.add(Vec3{1, 1, 1});
    ViewportController c;
    c.frameBounds(box, float(kW) / kH);
    std::vector<float> lines;
    appendBoxLines(box, c.camera(), kW, kH, lines);
    ASSERT_EQ(lines.size(), 12u * 4);
    for (size_t i = 0; i < lines.size(); i += 2) {
        EXPECT_GT(lines[i], 0.0f);
        EXPECT_LT(lines[i], float(kW));
        EXPECT_GT(lines[i + 1], 0.0f);
        EXPECT_LT(lines[i + 1], float(kH));
    }
    Camera away = c.camera();
    away.target = away.eye + (away.eye - c.camera().target);  // looking the other way
    std::vector<float> none;
    appendBoxLines(box, away, kW, kH, none);
    EXPECT_TRUE(none.empty());

    Mesh tri;
    tri.positions = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}};
    tri.indices = {0, 1, 2};
    std::vector<float> wire;
    EXPECT_TRUE(appendWireframeLines({tri}, c.camera(), kW, kH, 100, wire));
    EXPECT_EQ(wire.size(), 3u * 4);
    std::vector<float> capped;
    EXPECT_FALSE(appendWireframeLines({tri}, c.camera(), kW, kH, 2, capped));
    EXPECT_TRUE(capped.empty());

    Harness h;
    h.frame();
    const uint64_t plain = h.overlay.drawHash();
    h.clickOn("Bounding box");
    EXPECT_TRUE(h.controller.settings().showBounds);
    OverlayState st = overlayStateFor(h.controller, h.scene, "test device");
    EXPECT_TRUE(st.showBounds);
    appendBoxLines(h.scene.bounds(), h.controller.camera(), kW, kH, st.boundsLines);
    h.overlay.frame(kW, kH, h.input, st, 1.0 / 60);
    EXPECT_NE(h.overlay.drawHash(), plain);
}

TEST(ViewportOverlay, FrameTimeGraphFollowsTheRecordedFrames) {
    Harness h;
    for (int i = 0; i < 300; ++i) h.controller.recordFrame(10 + i % 7);
    const OverlayState s = overlayStateFor(h.controller, h.scene, "d");
    ASSERT_EQ(s.frameTimesMs.size(), ViewportController::kFrameHistory);
    EXPECT_EQ(s.frameTimesMs.back(), float(10 + 299 % 7));
    EXPECT_EQ(s.splats, 10u);
    EXPECT_EQ(s.cloudShDegree, 2);
    h.frame();
    const uint64_t before = h.overlay.drawHash();
    h.frame();
    EXPECT_EQ(h.overlay.drawHash(), before) << "the same state draws the same overlay";
    h.controller.recordFrame(95);  // a slow frame changes the graph
    h.frame();
    EXPECT_NE(h.overlay.drawHash(), before);
    const auto g = h.rect("Frame times");
    EXPECT_GE(g[2] - g[0], 200.0f);
}

TEST(ViewportOverlay, ImGuiDrawDataCompositesOnVulkanLikeTheReference) {
    Harness h;
    for (int i = 0; i < 50; ++i) h.controller.recordFrame(5 + i % 9);
    h.frame();
    const OverlayDrawData& d = h.overlay.drawData();
    ASSERT_FALSE(d.empty());
    for (uint32_t i : d.indices) ASSERT_LT(i, d.vertices.size());
    ASSERT_FALSE(h.overlay.atlas().empty());
    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();
    auto r = OverlayRenderer::create(*ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_TRUE((*r)->setAtlas(h.overlay.atlas()).ok());
    Image base;
    base.width = kW, base.height = kH;
    base.rgba.resize(size_t(kW) * kH * 4);
    for (size_t i = 0; i < base.rgba.size(); i += 4) base.rgba[i] = 30, base.rgba[i + 1] = 90, base.rgba[i + 2] = 160, base.rgba[i + 3] = 255;
    auto gpu = (*r)->composite(base, d);
    ASSERT_TRUE(gpu.ok()) << gpu.error().what();
    const Image cpu = compositeOverlayReference(base, h.overlay.atlas(), d);
    const double db = psnr(*gpu, cpu);
    EXPECT_GE(db, 35.0);
    // The overlay's window covers its corner and not the far corner.
    const auto shot = h.rect("Screenshot");
    size_t changed = 0;
    for (int y = 8; y < int(shot[3]); ++y)
        for (int x = 8; x < 200; ++x)
            if (gpu->rgba[(size_t(y) * kW + x) * 4 + 2] != 160) ++changed;
    EXPECT_GT(changed, size_t(192 * (int(shot[3]) - 8)) / 2);
    EXPECT_EQ(gpu->rgba[(size_t(kH - 5) * kW + kW - 5) * 4 + 2], 160);
    std::printf("ImGui overlay: %zu vertices, %zu draws; GPU vs CPU PSNR %.1f dB, composite %.2f ms on %s\n", d.vertices.size(), d.cmds.size(),
                db, (*r)->lastMs(), (*ctx)->deviceName().c_str());
}

}  // namespace
}  // namespace by
