#pragma once
// One open 3D scene (meshes, Gaussian splats, or both in one image) in the central tabs: the
// renderer's offscreen image shown as a QImage, driven by a ViewportController (orbit/fly camera,
// bookmarks, SH degree), with the Dear ImGui overlay (views/viewport_overlay) composited over it
// by renderers/overlay_renderer. Qt mouse and key events go to ImGui first; those ImGui does not
// want (io.WantCaptureMouse/Keyboard) move the camera.
// It renders on demand only: a mouse drag, a wheel step, a key or a resize marks the view dirty
// and queues one render; nothing runs while the view is still (a render loop would keep a CPU
// Vulkan device busy for nothing). Frames are drawn on the tab's render thread
// (scene_render_worker.h) with a Vulkan device of its own, so a slow frame never stops the
// window; the overlay is composited here, on a second device.
// A baked neural scene (MobileNeRF form) opens in the same kind of tab, and so does a neural light
// field (an ONNX ray -> colour MLP). Its frames cost
// seconds on a CPU device, so it renders progressively: while the camera moves, at the scale
// that keeps a frame near 120 ms; once it rests, one sharper frame of at most ~1.5 s. Input over the overlay re-runs only the overlay, and composites
// again only when its drawing changed (a hovered button, a new frame time).
// A Gaussian video (a 2D-video manifest or a PLY sequence) opens in the same tab with a control
// bar: play/pause, a slider to scrub, loop. Its player decodes ahead on its own thread; a light
// timer asks it for due frames and a new frame is rendered only when one arrives.
#include <QElapsedTimer>
#include <QImage>
#include <QString>
#include <QWidget>
#include <map>
#include <memory>

#include "engine/camera_path.h"
#include "app/gui/scene_render_worker.h"
#include "engine/scene.h"
#include "views/viewport_controller.h"

#include "views/viewport_overlay.h"

namespace by {
class VulkanContext;
class OverlayRenderer;
class SplatVideoPlayer;
struct LightFieldMlp;
struct BakedNerf;
}  // namespace by


class QCheckBox;
class QLabel;
class QPushButton;
class QSlider;
class QTimer;

class SceneDocument : public QWidget {
    Q_OBJECT
public:
    SceneDocument(std::shared_ptr<const by::Scene> scene, const QString& path, QWidget* parent = nullptr);
    // A Gaussian video: the scene is its current frame.
    SceneDocument(std::unique_ptr<by::SplatVideoPlayer> player, const QString& path, QWidget* parent = nullptr);
    // A neural light field (renderers/light_field_mlp.h); its default camera, when the model
    // names one, is the first view and "home".
    SceneDocument(std::shared_ptr<const by::LightFieldMlp> lightField, const QString& path, QWidget* parent = nullptr);
    // A baked neural scene (MobileNeRF form, engine/baked_nerf.h): meshes with feature textures
    // and a small MLP run per pixel.
    SceneDocument(std::shared_ptr<const by::BakedNerf> baked, const QString& path, QWidget* parent = nullptr);
    ~SceneDocument() override;

    const QString& path() const { return m_path; }
    QString title() const;
    std::shared_ptr<const by::Scene> scene() const { return m_scene; }
    by::ViewportController& controller() { return m_controller; }
    const QImage& image() const { return m_image; }
    int renderCount() const { return m_renders; }
    bool hasRendered() const { return m_renders > 0 || !m_error.isEmpty(); }
    // Why nothing can be drawn (no Vulkan device, a failed render), empty when fine.
    const QString& errorText() const { return m_error; }
    // Asks for a frame now if the view is dirty (tests and screenshots call it instead of waiting
    // for the event loop); the frame arrives later, counted by renderCount().
    void renderIfNeeded();
    bool isLightField() const { return m_lightField != nullptr; }
    bool isBakedNerf() const { return m_baked != nullptr; }
    // The scale of the last frame shown (1: full resolution; light fields render smaller while
    // the camera moves). True while a frame is being drawn or waits to be.
    double shownScale() const { return m_shownScale; }
    bool isRendering() const;
    // A frame is shown (or the error why not) and no sharper one is on its way.
    bool isSettled() const;
    // The render thread's device name (empty before the first frame).
    QString deviceName() const;
    // The video's player (null for a still scene) and the frame on screen (-1 before the first).
    by::SplatVideoPlayer* player() const { return m_player.get(); }
    int shownFrame() const { return m_shownFrame; }
    QPushButton* playButton() const { return m_playButton; }
    QSlider* frameSlider() const { return m_slider; }
    QCheckBox* loopBox() const { return m_loopBox; }
    // Adds another file's meshes and splats to this scene (File > Add to Scene): both are drawn in
    // one image, the splats depth-tested against the meshes. The view is framed again. False
    // (with the reason in `why`) for a Gaussian video or splats of a higher SH degree added to
    // splats of a lower one.
    bool addToScene(const by::Scene& more, QString* why = nullptr);
    // Saves the current view as PNG, with or without the overlay's widgets.
    bool saveScreenshot(const QString& file, bool withOverlay = false) const;
    // Renders the camera path through the bookmarks (at least two) into an MP4 of the current
    // view's size; false with a status message when it cannot.
    bool exportPathVideo(const QString& file, int frames);
    // Where the overlay's Screenshot and Export buttons write (default: the Pictures folder).
    void setExportDirectory(const QString& dir) { m_exportDir = dir; }
    const QString& lastExport() const { return m_lastExport; }
    by::ViewportOverlay* overlay() const { return m_overlay.get(); }
    const by::Image& sceneImage() const { return m_sceneImage; }
    int overlayComposites() const { return m_composites; }

    // What a camera-path export needs, copied so that a background job can render it with its
    // own renderer while the view stays live.
    struct PathVideoRequest {
        std::shared_ptr<const by::Scene> scene;
        std::vector<by::CameraKey> keys;
        int frames = 0;
        int width = 0, height = 0;
        by::Vec4 background;
        QString file;
    };

signals:
    void statusMessage(const QString& message);
    // The overlay's "Export path video": when something is connected (the main window runs it as a
    // job with progress and cancel), the request goes there; otherwise exportPathVideo() runs here.
    void pathVideoRequested(const SceneDocument::PathVideoRequest& request);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void keyReleaseEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    void scheduleRender();
    bool ensureRenderers();
    void onFrame(const std::shared_ptr<SceneRenderWorker::Frame>& frame);
    // The scale for the next frame of a slow renderer (light fields): 1 otherwise.
    double nextScale(QSize px, bool refine) const;
    void requestFrame(double scale);
    // Runs one overlay frame with the current input, acts on what the user changed, and
    // composites the overlay over the scene image when its drawing changed (or `force`).
    void refreshOverlay(bool force = false);
    void setMouse(QPointF pos);
    QString exportBaseName() const;
    void buildVideoBar();
    void tickVideo();
    void updateVideoBar();
    QSize viewportSize() const;  // the widget less the video bar

    std::shared_ptr<const by::Scene> m_scene;
    QString m_path;
    by::ViewportController m_controller;
    std::shared_ptr<const by::LightFieldMlp> m_lightField;
    std::shared_ptr<const by::BakedNerf> m_baked;
    bool isMeshOrSplatScene() const { return !m_lightField && !m_baked; }
    std::unique_ptr<SceneRenderWorker> m_worker;
    std::shared_ptr<by::VulkanContext> m_overlayCtx;  // the UI thread's device, for the overlay
    uint64_t m_requested = 0;       // serial of the last frame asked for
    std::map<uint64_t, by::Camera> m_requestCameras;  // the camera of each frame on its way
    by::Camera m_shownCamera;       // the camera of the image on screen (the overlay's guides follow it)
    int m_workerShDegree = -1;      // the SH degree last sent to the render thread
    double m_shownScale = 1.0;
    double m_msPerPixel = 0;        // measured on the last frame (light fields)
    QTimer* m_refineTimer = nullptr;
    std::unique_ptr<by::ViewportOverlay> m_overlay;
    std::unique_ptr<by::OverlayRenderer> m_overlayRenderer;
    by::OverlayInput m_input;
    by::Image m_sceneImage;
    uint64_t m_compositedHash = 0;
    int m_composites = 0;
    QElapsedTimer m_overlayClock;
    bool m_cameraDrag = false;
    QString m_exportDir;
    QString m_lastExport;
    QImage m_image;
    QString m_error;
    QPoint m_lastMouse;
    bool m_renderQueued = false;
    bool m_framed = false;
    int m_renders = 0;

    std::unique_ptr<by::SplatVideoPlayer> m_player;
    QWidget* m_videoBar = nullptr;
    QPushButton* m_playButton = nullptr;
    QSlider* m_slider = nullptr;
    QCheckBox* m_loopBox = nullptr;
    QLabel* m_frameLabel = nullptr;
    QTimer* m_videoTimer = nullptr;
    QElapsedTimer m_videoClock;
    int m_shownFrame = -1;
    bool m_reportedVideoError = false;
};
