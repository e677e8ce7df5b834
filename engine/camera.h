#pragma once
// A pinhole camera: look-at view, perspective projection in Vulkan's clip conventions
// (y down in normalised device coordinates so image row 0 is the top, depth 0..1), and framing a
// bounding box from the front. "Front" means looking down -Z with +Y up, the glTF convention.
#include <optional>
#include <string>

#include "engine/error.h"
#include "engine/math3d.h"

namespace by {

struct Camera {
    Vec3 eye{0, 0, 5};
    Vec3 target{0, 0, 0};
    Vec3 up{0, 1, 0};
    float fovYDeg = 45.0f;
    float nearPlane = 0.01f;
    float farPlane = 100.0f;

    Mat4 view() const;                   // world -> camera space, camera looks down its -Z
    Mat4 projection(float aspect) const; // camera -> clip space
    Mat4 viewProjection(float aspect) const { return projection(aspect) * view(); }
    // Focal lengths in pixels for an image of the given size (same for x and y: square pixels).
    float focalPixels(int height) const;

    // Looks at the box from +Z (down -Z, Y up), far enough back that the whole box fits the
    // image at this aspect with a small margin; near/far planes bracket the box.
    static Camera frame(const Bounds& box, float aspect, float fovYDeg = 45.0f);
    // Orbits the camera around its target by yaw/pitch degrees (pitch clamped short of the poles).
    void orbit(float yawDeg, float pitchDeg);
};

// Parses "eye=x,y,z,target=x,y,z,fov=deg" (any subset; unspecified parts keep `base`'s values).
Result<Camera> parseCamera(const std::string& text, const Camera& base);

}  // namespace by
