#include "app/gui/scene_document.h"

#include <QFileInfo>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QTimer>
#include <QWheelEvent>
#include <chrono>

#include "renderers/mesh_renderer.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"

SceneDocument::SceneDocument(std::shared_ptr<const by::Scene> scene, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::move(scene)), m_path(path) {
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

SceneDocument::~SceneDocument() = default;

QString SceneDocument::title() const { return QFileInfo(m_path).fileName(); }

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
    const QSize px = size() * devicePixelRatioF();
    if (px.width() < 2 || px.height() < 2 || !isVisible()) return;
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
    QString counts = m_scene->splats.size() > 0 ? tr("%L1 splats, SH degree %2 of %3")
                                                     .arg(qulonglong(m_scene->splats.size()))
                                                     .arg(std::min(m_controller.settings().shDegree, m_scene->splats.shDegree))
                                                     .arg(m_scene->splats.shDegree)
                                               : tr("%L1 triangles in %2 meshes").arg(qulonglong(m_scene->triangleCount())).arg(m_scene->meshes.size());
    const QString mode = m_controller.mode() == by::CameraMode::Orbit ? tr("orbit") : tr("fly");
    return tr("%1 | frame %2 ms | %3 camera | %4").arg(counts).arg(last, 0, 'f', 1).arg(mode)
        .arg(m_ctx ? QString::fromStdString(m_ctx->deviceName()) : QString());
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
