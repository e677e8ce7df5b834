#pragma once
// The 3D viewport's Dear ImGui overlay: a frame-time graph, splat/triangle counts, render settings
// (SH degree, camera mode, background), camera bookmarks, and the screenshot and camera-path video
// buttons. It owns its ImGui context and turns one frame of input into draw data (plain triangles
// for renderers/overlay_renderer) and the list of what the user changed; the widget that hosts it
// applies the changes (applyOverlayChanges for the controller's part) and does the exports.
// It only ever runs when there is input or a new scene frame: no render loop.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/scene.h"
#include "renderers/overlay_renderer.h"
#include "views/viewport_controller.h"

struct ImGuiContext;

namespace by {

// Keys the overlay's text fields understand (ImGui 1.86 key map).
enum class OverlayKey { Tab, Left, Right, Up, Down, Home, End, Delete, Backspace, Enter, Escape, Count };

// The input state as it is now (not events): the host keeps it up to date from its window system.
struct OverlayInput {
    float mouseX = -1e6f, mouseY = -1e6f;  // image pixels; far away when the mouse is outside
    bool mouseDown[3] = {false, false, false};  // left, right, middle
    float wheel = 0;                       // steps since the last frame (consumed by frame())
    std::vector<uint32_t> chars;           // typed characters since the last frame (consumed)
    bool keysDown[static_cast<int>(OverlayKey::Count)] = {};
    bool ctrl = false, shift = false, alt = false;
};

// What the overlay shows; the editable values are copied in and come back in OverlayChanges.
struct OverlayState {
    std::vector<float> frameTimesMs;  // oldest first
    size_t splats = 0;
    int cloudShDegree = 0;
    size_t triangles = 0;
    size_t meshes = 0;
    std::string device;
    std::string note;  // an extra line (a video's frame), may be empty
    int shDegree = 3;
    bool flyMode = false;
    Vec4 background{0.1f, 0.1f, 0.12f, 1.0f};
    bool screenshotWithOverlay = false;
    int pathFrames = 90;
    std::vector<std::string> bookmarks;
    int currentBookmark = -1;
    bool showBounds = false, showWireframe = false;
    // Guides under the window, as pixel segments x0, y0, x1, y1 (the host projects them with the
    // camera of the image shown: appendBoxLines, appendWireframeLines).
    std::vector<float> boundsLines, wireframeLines;
    std::string wireframeNote;  // why the wireframe is not drawn (too many edges), may be empty
};

struct OverlayChanges {
    std::optional<int> shDegree;
    std::optional<bool> flyMode;
    std::optional<Vec4> background;
    std::optional<bool> screenshotWithOverlay;
    std::optional<int> pathFrames;
    std::optional<bool> showBounds, showWireframe;
    int goToBookmark = -1;
    bool addBookmark = false;
    bool home = false;
    bool screenshot = false;
    bool exportPathVideo = false;
    bool hideOverlay = false;

    bool any() const;
};

// The state for `controller` showing `scene` on `device`.
OverlayState overlayStateFor(const ViewportController& controller, const Scene& scene, const std::string& device);
// The 12 edges of `box` as seen by `camera` in a width x height image, appended to `out` as pixel
// segments; parts behind the eye are clipped off.
void appendBoxLines(const Bounds& box, const Camera& camera, int width, int height, std::vector<float>& out);
// Every triangle edge of `meshes` the same way, unless there are more than `maxEdges` (then nothing
// is appended and false returned: the overlay is no place for millions of lines).
bool appendWireframeLines(const std::vector<Mesh>& meshes, const Camera& camera, int width, int height, size_t maxEdges,
                          std::vector<float>& out);

// Applies the controller's part of `changes` (settings, bookmarks, home); true when the scene
// image must be rendered again. Screenshot and video export are left to the host.
bool applyOverlayChanges(ViewportController& controller, const OverlayChanges& changes);

class ViewportOverlay {
public:
    ViewportOverlay();
    ~ViewportOverlay();
    ViewportOverlay(const ViewportOverlay&) = delete;
    ViewportOverlay& operator=(const ViewportOverlay&) = delete;

    // The font atlas as RGBA8, to upload once (OverlayRenderer::setAtlas).
    const Image& atlas() const { return m_atlas; }

    // One overlay frame for an image of width x height pixels. Consumes input.wheel and
    // input.chars. Runs ImGui again (up to three passes) until the drawing settles, so that a
    // window's first layout or a hover change is already in drawData() on return.
    OverlayChanges frame(int width, int height, OverlayInput& input, const OverlayState& state, double dtSeconds);
    const OverlayDrawData& drawData() const { return m_draw; }
    // Changes whenever the drawn overlay changes (a cheap way to skip compositing the same thing).
    uint64_t drawHash() const { return m_hash; }
    // ImGui's wish for the input of the last frame: when set, the host keeps the event from the camera.
    bool wantsMouse() const { return m_wantsMouse; }
    bool wantsKeyboard() const { return m_wantsKeyboard; }
    // The rectangle (x0, y0, x1, y1 in pixels) of a labelled widget in the last frame, for tests
    // and for hosts that point at a control: "Screenshot", "Export path video", "Add bookmark",
    // "Home", "SH degree", "Orbit", "Fly", "Background", "Frame times", "Bookmark <n>".
    std::optional<std::array<float, 4>> widgetRect(const std::string& label) const;

private:
    void build(const OverlayState& state, OverlayChanges& changes);
    void remember(const std::string& label);

    ImGuiContext* m_ctx = nullptr;
    Image m_atlas;
    OverlayDrawData m_draw;
    uint64_t m_hash = 0;
    bool m_wantsMouse = false;
    bool m_wantsKeyboard = false;
    std::map<std::string, std::array<float, 4>> m_rects;
};

}  // namespace by
