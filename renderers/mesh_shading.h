#pragma once
// The mesh shading model, written once for the CPU reference; resources/shaders/mesh.frag is its
// GLSL twin. Lambert + ambient + Blinn-Phong specular, two-sided, one directional light that
// follows the camera (above and to the right of the eye) so every view is lit.
#include <algorithm>
#include <cmath>

#include "engine/camera.h"
#include "engine/math3d.h"

namespace by {

constexpr float kMeshAmbient = 0.25f;
constexpr float kMeshSpecular = 0.25f;
constexpr float kMeshShininess = 32.0f;

inline Vec3 meshLightDirection(const Camera& cam) {
    const Mat4 v = cam.view();
    const Vec3 right{v.m[0][0], v.m[1][0], v.m[2][0]};
    const Vec3 up{v.m[0][1], v.m[1][1], v.m[2][1]};
    const Vec3 back{v.m[0][2], v.m[1][2], v.m[2][2]};  // towards the camera
    return normalize(back + up * 0.5f + right * 0.3f);
}

inline Vec3 shadeMesh(Vec3 normal, Vec3 worldPos, Vec3 eye, Vec3 light, Vec4 base) {
    Vec3 n = normalize(normal);
    const Vec3 v = normalize(eye - worldPos);
    if (dot(n, v) < 0) n = -n;
    const float diffuse = std::max(dot(n, light), 0.0f);
    const Vec3 h = normalize(light + v);
    const float spec = kMeshSpecular * std::pow(std::max(dot(n, h), 0.0f), kMeshShininess);
    const float k = kMeshAmbient + (1.0f - kMeshAmbient) * diffuse;
    return {std::clamp(base.x * k + spec, 0.0f, 1.0f), std::clamp(base.y * k + spec, 0.0f, 1.0f),
            std::clamp(base.z * k + spec, 0.0f, 1.0f)};
}

}  // namespace by
