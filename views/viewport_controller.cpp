#include "views/viewport_controller.h"

#include <algorithm>
#include <cmath>

namespace by {

namespace {

constexpr float kDegPerPixel = 0.3f;

float radians(float deg) { return deg * 3.14159265358979f / 180.0f; }

// Rotates v about the unit axis by `angle` radians (Rodrigues).
Vec3 rotate(Vec3 v, Vec3 axis, float angle) {
    const float c = std::cos(angle), s = std::sin(angle);
    return v * c + cross(axis, v) * s + axis * (dot(axis, v) * (1 - c));
}

}  // namespace

void ViewportController::frameBounds(const Bounds& box, float aspect) {
    m_camera = Camera::frame(box, aspect);
    m_home = m_camera;
    m_sceneSize = std::max(length(box.size()), 1e-6f);
    m_dirty = true;
}

void ViewportController::setCamera(const Camera& c) {
    m_camera = c;
    m_dirty = true;
    m_dirtySinceBookmark = true;
}

void ViewportController::setMode(CameraMode m) {
    if (m == m_mode) return;
    m_mode = m;
    // Orbit turns around a target in front of the camera: keep the same view when switching back.
    if (m == CameraMode::Orbit) {
        const Vec3 fwd = normalize(m_camera.target - m_camera.eye);
        m_camera.target = m_camera.eye + fwd * std::max(length(m_home.target - m_home.eye), 1e-3f);
    }
}

void ViewportController::drag(float dx, float dy, bool pan) {
    if (dx == 0 && dy == 0) return;
    Vec3 fwd = m_camera.target - m_camera.eye;
    const float dist = length(fwd);
    if (dist <= 0) return;
    fwd = fwd * (1.0f / dist);
    const Vec3 right = normalize(cross(fwd, m_camera.up));
    const Vec3 up = cross(right, fwd);
    if (pan) {
        // One pixel moves the target by about one pixel's worth at its distance (720-pixel image).
        const float perPixel = 2.0f * dist * std::tan(radians(m_camera.fovYDeg) / 2) / 720.0f;
        const Vec3 d = right * (-dx * perPixel) + up * (dy * perPixel);
        m_camera.eye = m_camera.eye + d;
        m_camera.target = m_camera.target + d;
    } else if (m_mode == CameraMode::Orbit) {
        m_camera.orbit(-dx * kDegPerPixel, dy * kDegPerPixel);
    } else {
        Vec3 f = rotate(fwd, Vec3{0, 1, 0}, radians(-dx * kDegPerPixel));
        const Vec3 r = normalize(cross(f, Vec3{0, 1, 0}));
        const Vec3 f2 = rotate(f, r, radians(-dy * kDegPerPixel));
        if (std::fabs(f2.y) < 0.995f) f = f2;  // stop short of looking straight up or down
        m_camera.target = m_camera.eye + f * dist;
        m_camera.up = {0, 1, 0};
    }
    m_dirty = true;
    m_dirtySinceBookmark = true;
}

void ViewportController::wheel(float steps) {
    if (steps == 0) return;
    const Vec3 off = m_camera.eye - m_camera.target;
    if (m_mode == CameraMode::Orbit) {
        const float r = length(off);
        const float nr = std::max(r * std::pow(0.9f, steps), m_sceneSize * 1e-3f);
        m_camera.eye = m_camera.target + off * (nr / r);
    } else {
        flyMove(steps, 0, 0, 0.1f);
    }
    m_dirty = true;
    m_dirtySinceBookmark = true;
}

void ViewportController::flyMove(float forward, float right, float up, float seconds) {
    const Vec3 fwd = normalize(m_camera.target - m_camera.eye);
    const Vec3 r = normalize(cross(fwd, m_camera.up));
    const Vec3 d = (fwd * forward + r * right + Vec3{0, 1, 0} * up) * (m_sceneSize * seconds);
    if (length(d) == 0) return;
    m_camera.eye = m_camera.eye + d;
    m_camera.target = m_camera.target + d;
    m_dirty = true;
    m_dirtySinceBookmark = true;
}

void ViewportController::home() { setCamera(m_home); }

void ViewportController::setHome(const Camera& c) {
    m_home = c;
    setCamera(c);
}

void ViewportController::setShDegree(int degree) {
    degree = std::clamp(degree, 0, 3);
    if (degree == m_settings.shDegree) return;
    m_settings.shDegree = degree;
    m_dirty = true;
}

void ViewportController::addBookmark(const std::string& name) {
    for (CameraBookmark& b : m_bookmarks)
        if (b.name == name) {
            b.camera = m_camera;
            m_currentBookmark = static_cast<int>(&b - m_bookmarks.data());
            m_dirtySinceBookmark = false;
            return;
        }
    m_bookmarks.push_back({name, m_camera});
    m_currentBookmark = static_cast<int>(m_bookmarks.size()) - 1;
    m_dirtySinceBookmark = false;
}

bool ViewportController::goToBookmark(size_t index) {
    if (index >= m_bookmarks.size()) return false;
    setCamera(m_bookmarks[index].camera);
    m_currentBookmark = static_cast<int>(index);
    m_dirtySinceBookmark = false;
    return true;
}

void ViewportController::recordFrame(double ms) {
    m_frames.push_back(ms);
    while (m_frames.size() > kFrameHistory) m_frames.pop_front();
}

}  // namespace by
