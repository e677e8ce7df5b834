#include "engine/camera.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace by {

namespace {
constexpr float kPi = 3.14159265358979f;
float radians(float deg) { return deg * kPi / 180.0f; }
}  // namespace

Mat4 Camera::view() const {
    const Vec3 f = normalize(target - eye);
    Vec3 s = normalize(cross(f, up));
    if (length(s) == 0) s = normalize(cross(f, Vec3{0, 0, 1}));  // looking straight along `up`
    const Vec3 u = cross(s, f);
    Mat4 v;
    v.m[0][0] = s.x, v.m[1][0] = s.y, v.m[2][0] = s.z;
    v.m[0][1] = u.x, v.m[1][1] = u.y, v.m[2][1] = u.z;
    v.m[0][2] = -f.x, v.m[1][2] = -f.y, v.m[2][2] = -f.z;
    v.m[3][0] = -dot(s, eye);
    v.m[3][1] = -dot(u, eye);
    v.m[3][2] = dot(f, eye);
    return v;
}

Mat4 Camera::projection(float aspect) const {
    const float f = 1.0f / std::tan(radians(fovYDeg) * 0.5f);
    Mat4 p;
    p.m[0][0] = f / aspect;
    p.m[1][1] = -f;  // Vulkan's y points down
    p.m[2][2] = farPlane / (nearPlane - farPlane);
    p.m[2][3] = -1.0f;
    p.m[3][2] = nearPlane * farPlane / (nearPlane - farPlane);
    p.m[3][3] = 0.0f;
    return p;
}

float Camera::focalPixels(int height) const { return 0.5f * static_cast<float>(height) / std::tan(radians(fovYDeg) * 0.5f); }

Camera Camera::frame(const Bounds& box, float aspect, float fovYDeg) {
    Camera c;
    c.fovYDeg = fovYDeg;
    if (box.empty()) return c;
    Vec3 size = box.size();
    const float extent = std::max({size.x, size.y, size.z, 1e-6f});
    const Vec3 center = box.center();
    const float tanY = std::tan(radians(fovYDeg) * 0.5f);
    const float tanX = tanY * aspect;
    // Distance from the front face (max z) at which its width and height fit, plus a margin.
    const float halfW = std::max(size.x, extent * 1e-3f) * 0.5f;
    const float halfH = std::max(size.y, extent * 1e-3f) * 0.5f;
    const float d = 1.1f * std::max(halfW / tanX, halfH / tanY);
    c.target = center;
    c.eye = {center.x, center.y, box.max.z + d};
    c.up = {0, 1, 0};
    c.nearPlane = std::max(d * 0.05f, extent * 1e-4f);
    c.farPlane = (d + size.z) * 3.0f + extent;
    return c;
}

void Camera::orbit(float yawDeg, float pitchDeg) {
    const Vec3 off = eye - target;
    const float r = length(off);
    if (r == 0) return;
    float yaw = std::atan2(off.x, off.z) + radians(yawDeg);
    float pitch = std::asin(std::clamp(off.y / r, -1.0f, 1.0f)) + radians(pitchDeg);
    pitch = std::clamp(pitch, -radians(89.0f), radians(89.0f));
    eye = target + Vec3{r * std::cos(pitch) * std::sin(yaw), r * std::sin(pitch), r * std::cos(pitch) * std::cos(yaw)};
    up = {0, 1, 0};
}

Result<Camera> parseCamera(const std::string& text, const Camera& base) {
    Camera c = base;
    std::vector<std::pair<std::string, std::vector<float>>> parts;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string tok = text.substr(pos, comma - pos);
        pos = comma + 1;
        if (tok.empty()) continue;
        std::string value = tok;
        const size_t eq = tok.find('=');
        if (eq != std::string::npos) {
            parts.push_back({tok.substr(0, eq), {}});
            value = tok.substr(eq + 1);
        } else if (parts.empty()) {
            return makeError(ErrorCode::Invalid, "camera '" + text + "' must start with a key such as eye=");
        }
        char* end = nullptr;
        const float v = std::strtof(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(v))
            return makeError(ErrorCode::Invalid, "camera value '" + value + "' is not a number");
        parts.back().second.push_back(v);
    }
    for (const auto& [key, vals] : parts) {
        if (key == "eye" || key == "target" || key == "up") {
            if (vals.size() != 3)
                return makeError(ErrorCode::Invalid, "camera " + key + " needs three numbers x,y,z");
            Vec3 v{vals[0], vals[1], vals[2]};
            if (key == "eye") c.eye = v;
            if (key == "target") c.target = v;
            if (key == "up") c.up = v;
        } else if (key == "fov") {
            if (vals.size() != 1 || vals[0] <= 1.0f || vals[0] >= 179.0f)
                return makeError(ErrorCode::Invalid, "camera fov must be one angle between 1 and 179 degrees");
            c.fovYDeg = vals[0];
        } else {
            return makeError(ErrorCode::Invalid, "unknown camera key '" + key + "' (use eye, target, up, fov)");
        }
    }
    if (length(c.target - c.eye) == 0) return makeError(ErrorCode::Invalid, "camera eye and target are the same point");
    // Keep the clip planes around the scene when the eye moved: scale them with the distance.
    const float dist = length(c.target - c.eye);
    const float baseDist = std::max(length(base.target - base.eye), 1e-6f);
    const float k = dist / baseDist;
    if (k > 1.0f) c.farPlane = base.farPlane * k;
    if (k < 1.0f) c.nearPlane = base.nearPlane * k;
    return c;
}

}  // namespace by
