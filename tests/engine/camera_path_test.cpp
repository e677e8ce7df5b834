// Camera paths through bookmarks: the path passes through every key at its share of the frames,
// stays smooth between them, and degenerate inputs give something sensible.
#include <gtest/gtest.h>

#include "engine/camera_path.h"

#include <algorithm>
#include <cmath>

namespace by {
namespace {

std::vector<CameraKey> threeKeys() {
    std::vector<CameraKey> k(3);
    k[0].camera.eye = {0, 0, 5};
    k[1].camera.eye = {5, 0, 0};
    k[1].camera.fovYDeg = 60;
    k[2].camera.eye = {0, 0, -5};
    k[2].camera.target = {0, 1, 0};
    return k;
}

TEST(CameraPath, PassesThroughEveryKey) {
    const auto keys = threeKeys();
    const std::vector<Camera> cams = sampleCameraPath(keys, 21);
    ASSERT_EQ(cams.size(), 21u);
    EXPECT_LT(length(cams[0].eye - keys[0].camera.eye), 1e-5f);
    EXPECT_LT(length(cams[10].eye - keys[1].camera.eye), 1e-5f);
    EXPECT_NEAR(cams[10].fovYDeg, 60.0f, 1e-4f);
    EXPECT_LT(length(cams[20].eye - keys[2].camera.eye), 1e-5f);
    EXPECT_LT(length(cams[20].target - keys[2].camera.target), 1e-5f);
    // Smooth: no step is much longer than the average step.
    float total = 0, longest = 0;
    for (size_t i = 1; i < cams.size(); ++i) {
        const float d = length(cams[i].eye - cams[i - 1].eye);
        total += d;
        longest = std::max(longest, d);
    }
    EXPECT_LT(longest, 2.0f * total / 20.0f);
    // Between keys the path bulges outwards: a curve, not the straight chord between them.
    EXPECT_GT(length(cams[5].eye), 1.05f * 5.0f / std::sqrt(2.0f));
}

TEST(CameraPath, DegenerateInputs) {
    EXPECT_TRUE(sampleCameraPath(threeKeys(), 0).empty());
    std::vector<CameraKey> one(1);
    one[0].camera.eye = {1, 2, 3};
    const auto cams = sampleCameraPath(one, 4);
    ASSERT_EQ(cams.size(), 4u);
    for (const Camera& c : cams) EXPECT_LT(length(c.eye - Vec3{1, 2, 3}), 1e-6f);
    EXPECT_EQ(cameraOnPath({}, 0.5f).fovYDeg, Camera{}.fovYDeg);
}

}  // namespace
}  // namespace by
