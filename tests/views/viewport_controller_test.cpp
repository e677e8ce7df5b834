// The viewport's camera controller: orbit keeps the distance to the target, fly keeps the eye,
// bookmarks restore cameras, and the render-on-demand flag follows real changes only.
#include <gtest/gtest.h>

#include "views/viewport_controller.h"

namespace by {
namespace {

Bounds unitBox() {
    Bounds b;
    b.add(Vec3{-1, -1, -1});
    b.add(Vec3{1, 1, 1});
    return b;
}

TEST(ViewportController, OrbitTurnsAroundTheTargetAtTheSameDistance) {
    ViewportController c;
    c.frameBounds(unitBox(), 16.0f / 9.0f);
    c.markRendered();
    const Camera before = c.camera();
    const float r0 = length(before.eye - before.target);
    c.drag(100, 0);  // 30 degrees of yaw
    EXPECT_TRUE(c.needsRender());
    const Camera after = c.camera();
    EXPECT_NEAR(length(after.eye - after.target), r0, 1e-4 * r0);
    const Vec3 a = normalize(before.eye - before.target), b = normalize(after.eye - after.target);
    EXPECT_NEAR(std::acos(std::clamp(dot(a, b), -1.0f, 1.0f)) * 180.0f / 3.14159265f, 30.0f, 0.1f);
    // Pitch stops short of the pole however far the drag goes.
    c.drag(0, 10000);
    const Vec3 d = normalize(c.camera().eye - c.camera().target);
    EXPECT_LT(std::fabs(d.y), 0.9999f);
}

TEST(ViewportController, WheelDolliesWithoutPassingTheTarget) {
    ViewportController c;
    c.frameBounds(unitBox(), 1.0f);
    const float r0 = length(c.camera().eye - c.camera().target);
    c.wheel(1);
    EXPECT_NEAR(length(c.camera().eye - c.camera().target), 0.9f * r0, 1e-4f * r0);
    c.wheel(1000);
    EXPECT_GT(length(c.camera().eye - c.camera().target), 0.0f);
    EXPECT_GT(dot(c.camera().eye - c.camera().target, Vec3{0, 0, 1}), 0.0f);  // still in front
}

TEST(ViewportController, FlyTurnsInPlaceAndMovesAlongTheView) {
    ViewportController c;
    c.frameBounds(unitBox(), 1.0f);
    c.setMode(CameraMode::Fly);
    const Vec3 eye = c.camera().eye;
    c.drag(-300, 0);  // 90 degrees: now looking along -X... or +X, either way sideways
    EXPECT_NEAR(length(c.camera().eye - eye), 0.0f, 1e-5f);
    const Vec3 fwd = normalize(c.camera().target - c.camera().eye);
    EXPECT_NEAR(std::fabs(fwd.x), 1.0f, 1e-3f);
    c.flyMove(1, 0, 0, 0.5f);
    const Vec3 moved = c.camera().eye - eye;
    EXPECT_GT(dot(moved, fwd), 0.0f);
    EXPECT_NEAR(length(moved), 0.5f * length(unitBox().size()), 1e-3f);
}

TEST(ViewportController, BookmarksAndSettingsDriveRendering) {
    ViewportController c;
    c.frameBounds(unitBox(), 1.0f);
    c.addBookmark("front");
    c.drag(50, 20);
    c.addBookmark("side");
    c.addBookmark("side");  // replaced, not duplicated
    ASSERT_EQ(c.bookmarks().size(), 2u);
    c.markRendered();
    EXPECT_TRUE(c.goToBookmark(0));
    EXPECT_TRUE(c.needsRender());
    EXPECT_NEAR(length(c.camera().eye - c.bookmarks()[0].camera.eye), 0.0f, 1e-6f);
    EXPECT_FALSE(c.goToBookmark(7));
    c.markRendered();
    c.setShDegree(3);  // unchanged: no new frame
    EXPECT_FALSE(c.needsRender());
    c.setShDegree(9);  // clamped to 3: unchanged
    EXPECT_FALSE(c.needsRender());
    c.setShDegree(0);
    EXPECT_TRUE(c.needsRender());
    for (int i = 0; i < 200; ++i) c.recordFrame(i);
    EXPECT_EQ(c.frameTimes().size(), ViewportController::kFrameHistory);
    EXPECT_EQ(c.frameTimes().back(), 199.0);
}

}  // namespace
}  // namespace by
