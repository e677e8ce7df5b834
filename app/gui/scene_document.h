#pragma once
// One open 3D scene (meshes or Gaussian splats) in the central tabs: the renderer's offscreen
// image shown as a QImage, driven by a ViewportController (orbit/fly camera, bookmarks, SH degree).
// It renders on demand only: a mouse drag, a wheel step, a key or a resize marks the view dirty
// and queues one render; nothing runs while the view is still (a render loop would keep a CPU
// Vulkan device busy for nothing).
// A Gaussian video (a 2D-video manifest or a PLY sequence) opens in the same tab with a control
// bar: play/pause, a slider to scrub, loop. Its player decodes ahead on its own thread; a light
// timer asks it for due frames and a new frame is rendered only when one arrives.
#include <QElapsedTimer>
#include <QImage>
#include <QString>
#include <QWidget>
#include <memory>

#include "engine/scene.h"
#include "views/viewport_controller.h"

namespace by {
class VulkanContext;
class MeshRenderer;
class SplatRenderer;
class SplatVideoPlayer;
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
    // Renders now if the view is dirty (tests and screenshots call it instead of waiting).
    void renderIfNeeded();
    // The video's player (null for a still scene) and the frame on screen (-1 before the first).
    by::SplatVideoPlayer* player() const { return m_player.get(); }
    int shownFrame() const { return m_shownFrame; }
    QPushButton* playButton() const { return m_playButton; }
    QSlider* frameSlider() const { return m_slider; }
    QCheckBox* loopBox() const { return m_loopBox; }
    // Saves the current image (without the overlay) as PNG.
    bool saveScreenshot(const QString& file) const;

signals:
    void statusMessage(const QString& message);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void scheduleRender();
    bool ensureRenderers();
    QString overlayText() const;
    void buildVideoBar();
    void tickVideo();
    void updateVideoBar();
    QSize viewportSize() const;  // the widget less the video bar

    std::shared_ptr<const by::Scene> m_scene;
    QString m_path;
    by::ViewportController m_controller;
    std::shared_ptr<by::VulkanContext> m_ctx;
    std::unique_ptr<by::MeshRenderer> m_meshRenderer;
    std::unique_ptr<by::SplatRenderer> m_splatRenderer;
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
