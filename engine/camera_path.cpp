#include "engine/camera_path.h"

#include <algorithm>
#include <cmath>

namespace by {

namespace {

Vec3 catmullRom(Vec3 p0, Vec3 p1, Vec3 p2, Vec3 p3, float u) {
    const float u2 = u * u, u3 = u2 * u;
    return (p1 * 2.0f + (p2 - p0) * u + (p0 * 2.0f - p1 * 5.0f + p2 * 4.0f - p3) * u2 + (p1 * 3.0f - p0 - p2 * 3.0f + p3) * u3) * 0.5f;
}

}  // namespace

Camera cameraOnPath(const std::vector<CameraKey>& keys, float t) {
    if (keys.empty()) return Camera{};
    if (keys.size() == 1) return keys[0].camera;
    const int segments = static_cast<int>(keys.size()) - 1;
    const float x = std::clamp(t, 0.0f, 1.0f) * static_cast<float>(segments);
    const int i = std::min(static_cast<int>(std::floor(x)), segments - 1);
    const float u = x - static_cast<float>(i);
    auto at = [&](int k) -> const Camera& { return keys[static_cast<size_t>(std::clamp(k, 0, segments))].camera; };
    const Camera &a = at(i), &b = at(i + 1);
    Camera c = a;
    c.eye = catmullRom(at(i - 1).eye, a.eye, b.eye, at(i + 2).eye, u);
    c.target = catmullRom(at(i - 1).target, a.target, b.target, at(i + 2).target, u);
    const Vec3 up = a.up * (1 - u) + b.up * u;
    c.up = length(up) > 1e-6f ? normalize(up) : a.up;
    c.fovYDeg = a.fovYDeg + (b.fovYDeg - a.fovYDeg) * u;
    c.nearPlane = std::min(a.nearPlane, b.nearPlane);
    c.farPlane = std::max(a.farPlane, b.farPlane);
    return c;
}

std::vector<Camera> sampleCameraPath(const std::vector<CameraKey>& keys, int frames) {
    std::vector<Camera> out;
    if (frames <= 0) return out;
    out.reserve(static_cast<size_t>(frames));
    for (int f = 0; f < frames; ++f)
        out.push_back(cameraOnPath(keys, frames == 1 ? 0.0f : static_cast<float>(f) / static_cast<float>(frames - 1)));
    return out;
}

}  // namespace by
