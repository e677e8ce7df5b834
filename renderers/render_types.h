#pragma once
// What every renderer takes: a camera, an image size, a background. Vulkan-free so callers
// (the CLI, views) can include the renderers' headers without Vulkan.
#include <cmath>

#include "engine/camera.h"
#include "engine/scene.h"

namespace by {

struct RenderView {
    Camera camera;
    int width = 1280;
    int height = 720;
    Vec4 background{0.1f, 0.1f, 0.12f, 1.0f};
    float aspect() const { return static_cast<float>(width) / static_cast<float>(height); }
};

// Peak signal-to-noise ratio of two same-size RGBA8 images over the RGB channels, in dB
// (infinity for identical images, -1 when the sizes differ).
double psnr(const Image& a, const Image& b);
// Mean structural similarity of the luma (BT.601) of two same-size RGBA8 images over 8x8
// windows every 4 pixels, with the usual constants (K1 = 0.01, K2 = 0.03, L = 255): 1 for
// identical images, -1 when the sizes differ.
double ssim(const Image& a, const Image& b);

// The view-axis distance of a depth-buffer value d (0 at the near plane .. 1 at the far plane) for
// Camera::projection(); +infinity for d >= 1 (nothing drawn there).
inline float viewDepthFromNdc(const Camera& c, float d) {
    if (!(d < 1.0f)) return INFINITY;
    const float a = c.farPlane / (c.nearPlane - c.farPlane), b = c.nearPlane * c.farPlane / (c.nearPlane - c.farPlane);
    return b / (d + a);
}

inline uint8_t toByte(float v) { return static_cast<uint8_t>(std::lround(std::fmin(std::fmax(v, 0.0f), 1.0f) * 255.0f)); }

}  // namespace by
