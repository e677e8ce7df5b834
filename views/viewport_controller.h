#pragma once
// The 3D viewport's state, free of any window system: the camera and how mouse and keys move it
// (orbit around a target, or fly with the view direction), render settings, camera bookmarks and
// the recent frame times. A widget feeds it input events and asks needsRender(): the viewport
// renders on demand only, when the camera or a setting changed, never in a busy loop.
#include <deque>
#include <string>
#include <vector>

#include "engine/camera.h"
#include "engine/math3d.h"

namespace by {

enum class CameraMode { Orbit, Fly };

struct ViewportSettings {
    int shDegree = 3;        // SH degree used for splat colour (capped by the cloud's)
    bool showOverlay = true;
    bool screenshotWithOverlay = false;  // the overlay's Screenshot button: with the widgets or without
    int pathFrames = 90;                 // frames of a camera-path video through the bookmarks
    Vec4 background{0.1f, 0.1f, 0.12f, 1.0f};
    bool showBounds = false;     // the scene's bounding box, drawn by the overlay
    bool showWireframe = false;  // the meshes' triangle edges, drawn by the overlay
};

struct CameraBookmark {
    std::string name;
    Camera camera;
};

class ViewportController {
public:
    // Frames the box from the front (Camera::frame) and remembers that view as "home".
    void frameBounds(const Bounds& box, float aspect);
    const Camera& camera() const { return m_camera; }
    void setCamera(const Camera& c);

    CameraMode mode() const { return m_mode; }
    void setMode(CameraMode m);

    // A drag by (dx, dy) pixels with the primary button: orbit turns around the target (0.3 degree
    // a pixel); fly turns the view direction in place. With the secondary button: pan.
    void drag(float dx, float dy, bool pan = false);
    // Wheel steps: orbit dollies towards the target (10% a step, never through it); fly moves along
    // the view direction by a tenth of the scene size a step.
    void wheel(float steps);
    // Fly keys: forward/right/up in scene-size units per second, applied for `seconds`.
    void flyMove(float forward, float right, float up, float seconds);
    void home();
    // Makes `c` the view home() returns to, and goes there (a scene's own default view).
    void setHome(const Camera& c);

    ViewportSettings& settings() { return m_settings; }
    const ViewportSettings& settings() const { return m_settings; }
    void setShDegree(int degree);

    // Bookmarks: the current camera under a name (replacing one of the same name).
    void addBookmark(const std::string& name);
    bool goToBookmark(size_t index);
    const std::vector<CameraBookmark>& bookmarks() const { return m_bookmarks; }
    // The bookmark last added or gone to, -1 when the camera moved since (or none).
    int currentBookmark() const { return m_dirtySinceBookmark ? -1 : m_currentBookmark; }

    // Frame times in milliseconds, the most recent last, at most kFrameHistory of them.
    static constexpr size_t kFrameHistory = 120;
    void recordFrame(double ms);
    const std::deque<double>& frameTimes() const { return m_frames; }

    // True after anything that changes the image, until markRendered().
    bool needsRender() const { return m_dirty; }
    void markRendered() { m_dirty = false; }
    void invalidate() { m_dirty = true; }

private:
    Camera m_camera;
    Camera m_home;
    float m_sceneSize = 1.0f;
    CameraMode m_mode = CameraMode::Orbit;
    ViewportSettings m_settings;
    std::vector<CameraBookmark> m_bookmarks;
    std::deque<double> m_frames;
    bool m_dirty = true;
    int m_currentBookmark = -1;
    bool m_dirtySinceBookmark = true;
};

}  // namespace by
