#pragma once
// Gaussian splat math shared by the CPU reference and the Vulkan renderer's host side:
// per-frame camera parameters, the projection of one Gaussian to a 2D conic and its footprint
// (resources/shaders/splat_project.comp is the GLSL twin), and the back-to-front order.
//
// Footprint: a splat covers the pixels inside its ellipse at k standard deviations, where
// k^2 = min(9, 2 ln(255 * opacity)): 3 sigma, or less where the Gaussian falls below alpha 1/255
// (the blend threshold) sooner. The GPU draws the rectangle around that ellipse along its axes, so
// flat splats seen edge-on cost a thin sliver rather than a square of their long side.
#include <cstdint>
#include <vector>

#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

struct SplatFrame {
    Mat4 view;
    Vec3 eye;
    float fx = 0, fy = 0;
    float width = 0, height = 0;
    float tanHalfX = 0, tanHalfY = 0;
    float nearPlane = 0;
    static SplatFrame from(const RenderView& v);
};

struct ProjectedSplat {
    float cx = 0, cy = 0;   // pixel centre (pixel centres at +0.5)
    float depth = 0;        // distance along the view axis
    float radius = 0;       // half of the footprint's longest axis in pixels; 0: culled
    float axisX = 0, axisY = 0;  // the long half-axis of the footprint ellipse, in pixels
    float minorRatio = 0;        // short half-axis length / long half-axis length (0..1]
    float halfW = 0, halfH = 0;  // half-size of the ellipse's axis-aligned bounding box
    float conicA = 0, conicB = 0, conicC = 0;
    float opacity = 0;
    Vec3 color;
};

// The lowest Gaussian exponent (-d^2/2) still drawn: power < this is outside the footprint.
constexpr float kSplatMinPower = -4.5f;

// cov: the 6 upper-triangle entries of covariance3d(); opacity already through the sigmoid.
ProjectedSplat projectSplat(const SplatFrame& f, Vec3 position, const float cov[6], float opacity,
                            const float* sh, int shDegree);

// View-axis depth of every splat (positive in front of the camera).
void splatDepths(const SplatCloud& cloud, const SplatFrame& f, std::vector<float>& depths);
// Indices sorted far to near (LSD radix sort on the depth bits; stable, so ties keep index order).
void sortBackToFront(const std::vector<float>& depths, std::vector<uint32_t>& order);

}  // namespace by
