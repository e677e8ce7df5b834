#include "app/gui/scene_document.h"

#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QTimer>
#include <QWheelEvent>
#include <chrono>

#include "renderers/mesh_renderer.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"
#include "views/splat_video_player.h"

SceneDocument::SceneDocument(std::shared_ptr<const by::Scene> scene, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::move(scene)), m_path(path) {
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

SceneDocument::SceneDocument(std::unique_ptr<by::SplatVideoPlayer> player, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::make_shared<by::Scene>()), m_path(path), m_player(std::move(player)) {
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
    buildVideoBar();
}

SceneDocument::~SceneDocument() = default;

QString SceneDocument::title() const {
    const QFileInfo fi(m_path);
    // A manifest is always manifest.json: its folder names the video.
    return fi.fileName() == QLatin1String("manifest.json") ? fi.dir().dirName() : fi.fileName();
}

void SceneDocument::buildVideoBar() {
    m_videoBar = new QWidget(this);
    m_videoBar->setAutoFillBackground(true);
    auto* row = new QHBoxLayout(m_videoBar);
    row->setContentsMargins(6, 3, 6, 3);
    m_playButton = new QPushButton(tr("Play"), m_videoBar);
    m_slider = new QSlider(Qt::Horizontal, m_videoBar);
    m_slider->setRange(0, std::max(0, m_player->frameCount() - 1));
    m_loopBox = new QCheckBox(tr("Loop"), m_videoBar);
    m_frameLabel = new QLabel(m_videoBar);
    row->addWidget(m_playButton);
    row->addWidget(m_slider, 1);
    row->addWidget(m_loopBox);
    row->addWidget(m_frameLabel);
    connect(m_playButton, &QPushButton::clicked, this, [this]() {
        if (m_player->playing()) m_player->pause();
        else m_player->play();
        m_videoClock.restart();
        updateVideoBar();
    });
    connect(m_slider, &QSlider::valueChanged, this, [this](int frame) {
        if (frame != m_shownFrame) m_player->seek(frame);
    });
    connect(m_loopBox, &QCheckBox::toggled, this, [this](bool on) { m_player->setLoop(on); });
    // Cheap when nothing is due: advance() only looks at the decoded queue; rendering happens
    // only when the player hands over a new frame.
    m_videoTimer = new QTimer(this);
    m_videoTimer->setInterval(10);
    connect(m_videoTimer, &QTimer::timeout, this, &SceneDocument::tickVideo);
    m_videoTimer->start();
    m_videoClock.start();
    updateVideoBar();
}

void SceneDocument::tickVideo() {
    const double dt = double(m_videoClock.restart()) / 1000.0;
    const bool changed = m_player->advance(dt);
    if (!m_player->error().empty() && !m_reportedVideoError) {
        m_reportedVideoError = true;
        emit statusMessage(QString::fromStdString(m_player->error()));
    }
    if (!changed) {
        if (m_playButton->text() == tr("Pause") && !m_player->playing()) updateVideoBar();  // stopped at the end
        return;
    }
    m_reportedVideoError = false;
    auto frame = m_player->currentFrame();
    m_shownFrame = m_player->currentIndex();
    if (m_scene->empty() || !m_splatRenderer) {
        // Until the renderer exists the scene is the frame it will upload; the first frame
        // decides the framing and the counts in the overlay.
        auto first = std::make_shared<by::Scene>();
        first->splats = *frame;
        m_scene = first;
    } else if (m_splatRenderer && !m_splatRenderer->setSplats(*frame).ok()) {
        m_error = tr("frame %1 could not be uploaded").arg(m_shownFrame);
    }
    m_controller.invalidate();
    updateVideoBar();
    scheduleRender();
}

void SceneDocument::updateVideoBar() {
    if (!m_player) return;
    m_playButton->setText(m_player->playing() ? tr("Pause") : tr("Play"));
    if (m_shownFrame >= 0 && m_slider->value() != m_shownFrame && !m_slider->isSliderDown()) {
        const QSignalBlocker block(m_slider);
        m_slider->setValue(m_shownFrame);
    }
    m_frameLabel->setText(tr("frame %1 / %2").arg(std::max(0, m_shownFrame)).arg(m_player->frameCount() - 1));
}

QSize SceneDocument::viewportSize() const {
    if (!m_videoBar) return size();
    return QSize(width(), std::max(1, height() - m_videoBar->sizeHint().height()));
}

bool SceneDocument::ensureRenderers() {
    if (m_meshRenderer || m_splatRenderer) return true;
    if (!m_error.isEmpty()) return false;
    auto ctx = by::VulkanContext::create();
    if (!ctx) {
        m_error = QString::fromStdString(ctx.error().what());
        return false;
    }
    m_ctx = *ctx;
    if (m_scene->splats.size() > 0) {
        auto r = by::SplatRenderer::create(m_ctx);
        if (r && (*r)->setSplats(m_scene->splats).ok()) m_splatRenderer = std::move(*r);
    } else {
        auto r = by::MeshRenderer::create(m_ctx);
        if (r && (*r)->setMeshes(m_scene->meshes).ok()) m_meshRenderer = std::move(*r);
    }
    if (!m_meshRenderer && !m_splatRenderer) m_error = tr("the scene could not be uploaded to %1").arg(QString::fromStdString(m_ctx->deviceName()));
    return m_error.isEmpty();
}

void SceneDocument::scheduleRender() {
    update();
    if (m_renderQueued) return;
    m_renderQueued = true;
    // Coalesces every input event that arrives before the event loop comes back into one frame.
    QTimer::singleShot(0, this, [this]() {
        m_renderQueued = false;
        renderIfNeeded();
    });
}

void SceneDocument::renderIfNeeded() {
    const QSize px = viewportSize() * devicePixelRatioF();
    if (px.width() < 2 || px.height() < 2 || !isVisible() || m_scene->empty()) return;
    const float aspect = float(px.width()) / float(px.height());
    if (!m_framed) {
        m_controller.frameBounds(m_scene->bounds(), aspect);
        m_framed = true;
    }
    if (!m_controller.needsRender()) return;
    m_controller.markRendered();
    if (!ensureRenderers()) {
        update();
        return;
    }
    by::RenderView view;
    view.camera = m_controller.camera();
    view.width = px.width(), view.height = px.height();
    view.background = m_controller.settings().background;
    const auto t0 = std::chrono::steady_clock::now();
    by::Result<by::Image> img = by::makeError(by::ErrorCode::Internal, "no renderer");
    if (m_splatRenderer) {
        m_splatRenderer->setMaxShDegree(m_controller.settings().shDegree);
        img = m_splatRenderer->render(view);
    } else {
        img = m_meshRenderer->render(view);
    }
    m_controller.recordFrame(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!img) {
        m_error = QString::fromStdString(img.error().what());
        update();
        return;
    }
    m_image = QImage(img->rgba.data(), img->width, img->height, img->width * 4, QImage::Format_RGBA8888).copy();
    m_image.setDevicePixelRatio(devicePixelRatioF());
    ++m_renders;
    update();
}

QString SceneDocument::overlayText() const {
    const auto& ft = m_controller.frameTimes();
    const double last = ft.empty() ? 0.0 : ft.back();
    const QString video = m_player ? tr("video frame %1 of %2 at %3 fps | ")
                                         .arg(m_shownFrame)
                                         .arg(m_player->frameCount())
                                         .arg(m_player->fps())
                                   : QString();
    QString counts = m_scene->splats.size() > 0
                         ? tr("%L1 splats, SH degree %2 of %3")
                               .arg(qulonglong(m_scene->splats.size()))
                               .arg(std::min(m_controller.settings().shDegree, m_scene->splats.shDegree))
                               .arg(m_scene->splats.shDegree)
                         : tr("%L1 triangles in %2 meshes")
                               .arg(qulonglong(m_scene->triangleCount()))
                               .arg(m_scene->meshes.size());
    const QString mode = m_controller.mode() == by::CameraMode::Orbit ? tr("orbit") : tr("fly");
    return tr("%1 | frame %2 ms | %3 camera | %4").arg(counts).arg(last, 0, 'f', 1).arg(mode)
        .arg(m_ctx ? QString::fromStdString(m_ctx->deviceName()) : QString()).prepend(video);
}

void SceneDocument::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), QColor(26, 26, 31));
    if (!m_image.isNull()) p.drawImage(QPoint(0, 0), m_image);
    if (!m_error.isEmpty()) {
        p.setPen(QColor(255, 170, 150));
        p.drawText(rect().adjusted(16, 16, -16, -16), Qt::AlignCenter | Qt::TextWordWrap, tr("Cannot show this scene: %1").arg(m_error));
        return;
    }
    if (!m_controller.settings().showOverlay) return;
    // Frame-time graph (last frames, 100 ms full scale) and the counts line.
    const auto& ft = m_controller.frameTimes();
    const QRect graph(8, 8, 240, 48);
    p.fillRect(graph, QColor(0, 0, 0, 140));
    p.setPen(QColor(120, 220, 140));
    for (size_t i = 0; i < ft.size(); ++i) {
        const int h = int(std::min(ft[i] / 100.0, 1.0) * graph.height());
        const int x = graph.left() + int(i * graph.width() / by::ViewportController::kFrameHistory);
        p.drawLine(x, graph.bottom(), x, graph.bottom() - h);
    }
    p.setPen(Qt::white);
    p.drawText(QPoint(8, graph.bottom() + 18), overlayText());
}

void SceneDocument::resizeEvent(QResizeEvent*) {
    if (m_videoBar) {
        const int h = m_videoBar->sizeHint().height();
        m_videoBar->setGeometry(0, height() - h, width(), h);
    }
    if (m_framed) {
        // Keep the camera; the new aspect only needs a new frame.
        m_controller.invalidate();
    }
    scheduleRender();
}

void SceneDocument::showEvent(QShowEvent*) {
    m_controller.invalidate();
    scheduleRender();
}

void SceneDocument::mousePressEvent(QMouseEvent* e) {
    m_lastMouse = e->position().toPoint();
    setFocus();
}

void SceneDocument::mouseMoveEvent(QMouseEvent* e) {
    const QPoint pos = e->position().toPoint();
    const QPoint d = pos - m_lastMouse;
    m_lastMouse = pos;
    if (e->buttons() & Qt::LeftButton)
        m_controller.drag(float(d.x()), float(d.y()));
    else if (e->buttons() & (Qt::RightButton | Qt::MiddleButton))
        m_controller.drag(float(d.x()), float(d.y()), true);
    else
        return;
    scheduleRender();
}

void SceneDocument::wheelEvent(QWheelEvent* e) {
    m_controller.wheel(float(e->angleDelta().y()) / 120.0f);
    scheduleRender();
}

void SceneDocument::keyPressEvent(QKeyEvent* e) {
    const float step = 0.05f;
    switch (e->key()) {
    case Qt::Key_F:
        m_controller.setMode(m_controller.mode() == by::CameraMode::Orbit ? by::CameraMode::Fly : by::CameraMode::Orbit);
        update();
        return;
    case Qt::Key_H: m_controller.home(); break;
    case Qt::Key_W: m_controller.flyMove(1, 0, 0, step); break;
    case Qt::Key_S: m_controller.flyMove(-1, 0, 0, step); break;
    case Qt::Key_A: m_controller.flyMove(0, -1, 0, step); break;
    case Qt::Key_D: m_controller.flyMove(0, 1, 0, step); break;
    case Qt::Key_Plus: m_controller.setShDegree(m_controller.settings().shDegree + 1); break;
    case Qt::Key_Minus: m_controller.setShDegree(m_controller.settings().shDegree - 1); break;
    case Qt::Key_O:
        m_controller.settings().showOverlay = !m_controller.settings().showOverlay;
        update();
        return;
    case Qt::Key_B:
        m_controller.addBookmark("view " + std::to_string(m_controller.bookmarks().size() + 1));
        emit statusMessage(tr("Bookmarked this view as %1 (key %1 returns to it).").arg(m_controller.bookmarks().size()));
        return;
    default:
        if (e->key() >= Qt::Key_1 && e->key() <= Qt::Key_9 && m_controller.goToBookmark(size_t(e->key() - Qt::Key_1))) break;
        QWidget::keyPressEvent(e);
        return;
    }
    scheduleRender();
}

bool SceneDocument::saveScreenshot(const QString& file) const { return !m_image.isNull() && m_image.save(file); }
