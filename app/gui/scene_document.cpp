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
#include <cmath>
#include <cstring>

#include <QApplication>
#include <QDateTime>
#include <QMetaMethod>
#include <QStandardPaths>

#include "app/cli/path_video.h"
#include "engine/baked_nerf.h"
#include "renderers/baked_nerf_renderer.h"
#include "renderers/light_field_mlp.h"
#include "renderers/light_field_renderer.h"
#include "renderers/overlay_renderer.h"
#include "renderers/scene_renderer.h"
#include "engine/camera.h"
#include "renderers/vulkan_context.h"
#include "views/splat_video_player.h"

SceneDocument::SceneDocument(std::shared_ptr<const by::Scene> scene, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::move(scene)), m_path(path) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);  // hovering the overlay highlights its widgets
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

SceneDocument::SceneDocument(std::unique_ptr<by::SplatVideoPlayer> player, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::make_shared<by::Scene>()), m_path(path), m_player(std::move(player)) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
    buildVideoBar();
}

SceneDocument::SceneDocument(std::shared_ptr<const by::LightFieldMlp> lightField, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::make_shared<by::Scene>()), m_path(path), m_lightField(std::move(lightField)) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

SceneDocument::SceneDocument(std::shared_ptr<const by::BakedNerf> baked, const QString& path, QWidget* parent)
    : QWidget(parent), m_scene(std::make_shared<by::Scene>()), m_path(path), m_baked(std::move(baked)) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setMinimumSize(160, 120);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

// The render thread stops (finishing its frame) before the widget goes.
SceneDocument::~SceneDocument() { m_worker.reset(); }

namespace {

// Meshes and splats: the scene renderer, with the SH degree the view asks for.
struct SceneFrames : FrameRenderer {
    std::shared_ptr<by::VulkanContext> ctx;
    std::unique_ptr<by::SceneRenderer> renderer;
    by::Result<by::Image> render(const by::RenderView& view) override { return renderer->render(view); }
};

struct BakedFrames : FrameRenderer {
    std::shared_ptr<by::VulkanContext> ctx;
    std::unique_ptr<by::BakedNerfRenderer> renderer;
    by::Result<by::Image> render(const by::RenderView& view) override { return renderer->render(view); }
};

struct LightFieldFrames : FrameRenderer {
    std::shared_ptr<by::VulkanContext> ctx;
    std::unique_ptr<by::LightFieldRenderer> renderer;
    by::Result<by::Image> render(const by::RenderView& view) override { return renderer->render(view); }
};

}  // namespace

bool SceneDocument::isRendering() const { return m_worker && m_worker->busy(); }

bool SceneDocument::isSettled() const {
    if (!m_error.isEmpty()) return true;
    return hasRendered() && !isRendering() && !(m_refineTimer && m_refineTimer->isActive());
}

QString SceneDocument::deviceName() const { return m_worker ? QString::fromStdString(m_worker->deviceName()) : QString(); }

QString SceneDocument::title() const {
    const QFileInfo fi(m_path);
    // A manifest is always manifest.json: its folder names the video.
    if (m_lightField) return tr("%1 (light field)").arg(fi.fileName());
    if (m_baked) return tr("%1 (baked)").arg(fi.fileName() == QLatin1String("mlp.json") ? fi.dir().dirName() : fi.fileName());
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
    if (m_scene->empty() || !m_worker) {
        // Until the renderer exists the scene is the frame it will upload; the first frame
        // decides the framing and the counts in the overlay.
        auto first = std::make_shared<by::Scene>();
        first->splats = *frame;
        m_scene = first;
    } else {
        const int index = m_shownFrame;
        m_worker->post([frame, index](FrameRenderer& r) -> by::Status {
            if (auto st = static_cast<SceneFrames&>(r).renderer->setSplats(*frame); !st)
                return by::makeError(st.error().code, "frame " + std::to_string(index) + " could not be uploaded: " + st.error().message);
            return {};
        });
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
    if (m_worker) return true;
    if (!m_error.isEmpty()) return false;
    SceneRenderWorker::Factory factory;
    if (m_baked) {
        factory = [nerf = m_baked](std::string* device) -> by::Result<std::unique_ptr<FrameRenderer>> {
            auto ctx = by::VulkanContext::create();
            if (!ctx) return ctx.error();
            *device = (*ctx)->deviceName();
            auto r = by::BakedNerfRenderer::create(*ctx);
            if (!r) return r.error();
            if (auto st = (*r)->setScene(*nerf); !st) return st.error();
            auto out = std::make_unique<BakedFrames>();
            out->ctx = *ctx;
            out->renderer = std::move(*r);
            return std::unique_ptr<FrameRenderer>(std::move(out));
        };
    } else if (m_lightField) {
        factory = [mlp = m_lightField](std::string* device) -> by::Result<std::unique_ptr<FrameRenderer>> {
            auto ctx = by::VulkanContext::create();
            if (!ctx) return ctx.error();
            *device = (*ctx)->deviceName();
            auto r = by::LightFieldRenderer::create(*ctx);
            if (!r) return r.error();
            if (auto st = (*r)->setModel(*mlp); !st) return st.error();
            auto out = std::make_unique<LightFieldFrames>();
            out->ctx = *ctx;
            out->renderer = std::move(*r);
            return std::unique_ptr<FrameRenderer>(std::move(out));
        };
    } else {
        factory = [scene = m_scene](std::string* device) -> by::Result<std::unique_ptr<FrameRenderer>> {
            auto ctx = by::VulkanContext::create();
            if (!ctx) return ctx.error();
            *device = (*ctx)->deviceName();
            auto r = by::SceneRenderer::create(*ctx);
            if (!r) return r.error();
            if (auto st = (*r)->setScene(*scene); !st)
                return by::makeError(st.error().code, "the scene could not be uploaded to " + *device + ": " + st.error().message);
            auto out = std::make_unique<SceneFrames>();
            out->ctx = *ctx;
            out->renderer = std::move(*r);
            return std::unique_ptr<FrameRenderer>(std::move(out));
        };
    }
    // Frames arrive on the render thread; they are shown on this one (the worker is destroyed
    // before this widget, so `this` outlives every delivery).
    m_worker = std::make_unique<SceneRenderWorker>(std::move(factory), [this](std::shared_ptr<SceneRenderWorker::Frame> f) {
        QMetaObject::invokeMethod(this, [this, f]() { onFrame(f); }, Qt::QueuedConnection);
    });
    // The overlay is optional: without it the scene still shows.
    if (auto c = by::VulkanContext::create()) {
        m_overlayCtx = *c;
        auto o = by::OverlayRenderer::create(m_overlayCtx);
        if (o) {
            m_overlay = std::make_unique<by::ViewportOverlay>();
            if ((*o)->setAtlas(m_overlay->atlas()).ok()) m_overlayRenderer = std::move(*o);
            else m_overlay.reset();
        }
    }
    m_overlayClock.start();
    return true;
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
    if (px.width() < 2 || px.height() < 2 || !isVisible() || (isMeshOrSplatScene() && m_scene->empty())) return;
    const float aspect = float(px.width()) / float(px.height());
    if (!m_framed) {
        if (m_lightField) {
            // Its own default view (trained on an orbit), else a unit box at the origin.
            by::Bounds box;
            box.add(by::Vec3{-1, -1, -1});
            box.add(by::Vec3{1, 1, 1});
            m_controller.frameBounds(box, aspect);
            if (!m_lightField->defaultCamera.empty()) {
                if (auto cam = by::parseCamera(m_lightField->defaultCamera, m_controller.camera())) m_controller.setHome(*cam);
            }
        } else {
            m_controller.frameBounds(m_baked ? m_baked->bounds() : m_scene->bounds(), aspect);
        }
        m_framed = true;
    }
    if (!m_controller.needsRender()) return;
    m_controller.markRendered();
    if (!ensureRenderers()) {
        update();
        return;
    }
    requestFrame(nextScale(px, false));
}

double SceneDocument::nextScale(QSize px, bool refine) const {
    if (!m_lightField) return 1.0;
    const double pixels = double(px.width()) * double(px.height());
    // Before the first frame: small, so that something shows at once.
    if (m_msPerPixel <= 0) return 0.125;
    const double budget = refine ? 1500.0 : 120.0;
    const double full = m_msPerPixel * pixels;
    if (full <= budget) return 1.0;
    return std::clamp(std::sqrt(budget / full), 1.0 / 16.0, 1.0);
}

void SceneDocument::requestFrame(double scale) {
    const QSize px = viewportSize() * devicePixelRatioF();
    by::RenderView view;
    view.camera = m_controller.camera();
    view.width = std::max(2, int(std::lround(px.width() * scale)));
    view.height = std::max(2, int(std::lround(px.height() * scale)));
    view.background = m_controller.settings().background;
    if (isMeshOrSplatScene() && m_workerShDegree != m_controller.settings().shDegree) {
        m_workerShDegree = m_controller.settings().shDegree;
        m_worker->post([deg = m_workerShDegree](FrameRenderer& r) -> by::Status {
            static_cast<SceneFrames&>(r).renderer->setMaxShDegree(deg);
            return {};
        });
    }
    m_worker->request(view, ++m_requested);
    m_requestCameras[m_requested] = view.camera;
    if (m_lightField) {
        // Once the camera rests, one sharper frame.
        if (!m_refineTimer) {
            m_refineTimer = new QTimer(this);
            m_refineTimer->setSingleShot(true);
            m_refineTimer->setInterval(350);
            connect(m_refineTimer, &QTimer::timeout, this, [this]() {
                const QSize size = viewportSize() * devicePixelRatioF();
                const double s = nextScale(size, true);
                if (m_worker && s > m_shownScale + 1e-6) requestFrame(s);
            });
        }
        if (scale < 1.0) m_refineTimer->start();
    }
}

void SceneDocument::onFrame(const std::shared_ptr<SceneRenderWorker::Frame>& f) {
    if (!f->image) {
        m_error = QString::fromStdString(f->image.error().what());
        update();
        return;
    }
    by::Image img = std::move(*f->image);
    m_controller.recordFrame(f->ms);
    if (auto it = m_requestCameras.find(f->serial); it != m_requestCameras.end()) m_shownCamera = it->second;
    m_requestCameras.erase(m_requestCameras.begin(), m_requestCameras.upper_bound(f->serial));  // replaced ones never come
    const QSize px = viewportSize() * devicePixelRatioF();
    if (img.width > 0 && img.height > 0) m_msPerPixel = f->ms / (double(img.width) * double(img.height));
    m_shownScale = px.width() > 0 ? double(img.width) / double(px.width()) : 1.0;
    if (img.width != px.width() || img.height != px.height()) {
        // A reduced frame (or one of a size the window no longer has): shown stretched.
        const QImage small(img.rgba.data(), img.width, img.height, img.width * 4, QImage::Format_RGBA8888);
        const QImage big = small.scaled(px, Qt::IgnoreAspectRatio, Qt::SmoothTransformation).convertToFormat(QImage::Format_RGBA8888);
        by::Image full;
        full.width = big.width(), full.height = big.height();
        full.rgba.resize(size_t(full.width) * full.height * 4);
        for (int y = 0; y < full.height; ++y) std::memcpy(full.rgba.data() + size_t(y) * full.width * 4, big.constScanLine(y), size_t(full.width) * 4);
        img = std::move(full);
    }
    m_sceneImage = std::move(img);
    ++m_renders;
    refreshOverlay(true);
}

void SceneDocument::refreshOverlay(bool force) {
    if (m_sceneImage.empty()) return;
    const by::Image* shown = &m_sceneImage;
    by::Image composed;
    if (m_controller.settings().showOverlay && m_overlay && m_overlayRenderer) {
        by::OverlayState state = by::overlayStateFor(m_controller, *m_scene, m_worker ? m_worker->deviceName() : std::string());
        const int gw = m_sceneImage.width, gh = m_sceneImage.height;
        if (state.showBounds) {
            if (m_baked) by::appendBoxLines(m_baked->bounds(), m_shownCamera, gw, gh, state.boundsLines);
            else if (!m_scene->empty()) by::appendBoxLines(m_scene->bounds(), m_shownCamera, gw, gh, state.boundsLines);
        }
        if (state.showWireframe && !m_scene->meshes.empty()) {
            constexpr size_t kMaxEdges = 600000;  // 200k triangles
            if (!by::appendWireframeLines(m_scene->meshes, m_shownCamera, gw, gh, kMaxEdges, state.wireframeLines))
                state.wireframeNote = "wireframe shown up to 200k triangles";
        }
        if (m_baked) {
            size_t tris = 0;
            for (const auto& sh : m_baked->shapes) tris += sh.triangleCount();
            state.triangles = tris;
            state.meshes = m_baked->shapes.size();
            state.note = tr("baked neural scene, %1 shapes").arg(m_baked->shapes.size()).toStdString();
        }
        if (m_lightField)
            state.note = tr("light field, %1 parameters; frame at %2% size")
                             .arg(m_lightField->parameterCount())
                             .arg(int(std::lround(100 * m_shownScale)))
                             .toStdString();
        if (m_player)
            state.note = tr("video frame %1 of %2 at %3 fps").arg(m_shownFrame).arg(m_player->frameCount()).arg(m_player->fps()).toStdString();
        const double dt = m_overlayClock.isValid() ? double(m_overlayClock.restart()) / 1000.0 : 1.0 / 60.0;
        const by::OverlayChanges changes = m_overlay->frame(m_sceneImage.width, m_sceneImage.height, m_input, state, dt);
        if (changes.any()) {
            if (by::applyOverlayChanges(m_controller, changes)) scheduleRender();
            if (changes.screenshot) {
                const QString file = QDir(m_exportDir.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::PicturesLocation) : m_exportDir)
                                         .filePath(exportBaseName() + QStringLiteral(".png"));
                const bool with = m_controller.settings().screenshotWithOverlay;
                // The image on screen is the last composite: saved as it is, or the scene alone.
                if (saveScreenshot(file, with)) {
                    m_lastExport = file;
                    emit statusMessage(tr("Saved the view%1 to %2").arg(with ? tr(" with the overlay") : QString()).arg(file));
                } else {
                    emit statusMessage(tr("Could not save a screenshot to %1").arg(file));
                }
            }
            if (changes.exportPathVideo) {
                const QString file = QDir(m_exportDir.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::MoviesLocation) : m_exportDir)
                                         .filePath(exportBaseName() + QStringLiteral("-path.mp4"));
                if (!isMeshOrSplatScene()) {
                    emit statusMessage(tr("Camera-path videos are made of mesh and splat scenes; this neural scene has no path export yet."));
                } else if (isSignalConnected(QMetaMethod::fromSignal(&SceneDocument::pathVideoRequested)) && m_controller.bookmarks().size() >= 2) {
                    PathVideoRequest req;
                    req.scene = m_scene;
                    for (const by::CameraBookmark& b : m_controller.bookmarks()) req.keys.push_back({b.name, b.camera});
                    req.frames = m_controller.settings().pathFrames;
                    req.width = m_sceneImage.width, req.height = m_sceneImage.height;
                    req.background = m_controller.settings().background;
                    req.file = file;
                    m_lastExport = file;
                    emit pathVideoRequested(req);
                } else {
                    exportPathVideo(file, m_controller.settings().pathFrames);
                }
            }
            // The overlay shows what changed (a new bookmark, a ticked box) on its next frame.
            QTimer::singleShot(0, this, [this]() { refreshOverlay(); });
        }
        if (!m_controller.settings().showOverlay) {
            force = true;  // hidden from its own button: show the bare scene
        } else {
            if (!force && m_overlay->drawHash() == m_compositedHash) return;
            auto img = m_overlayRenderer->composite(m_sceneImage, m_overlay->drawData());
            if (img) {
                composed = std::move(*img);
                shown = &composed;
                m_compositedHash = m_overlay->drawHash();
                ++m_composites;
            } else {
                emit statusMessage(QString::fromStdString(img.error().what()));
            }
        }
    } else if (!force) {
        return;
    }
    m_image = QImage(shown->rgba.data(), shown->width, shown->height, shown->width * 4, QImage::Format_RGBA8888).copy();
    m_image.setDevicePixelRatio(devicePixelRatioF());
    update();
}

void SceneDocument::setMouse(QPointF pos) {
    const qreal dpr = devicePixelRatioF();
    m_input.mouseX = float(pos.x() * dpr);
    m_input.mouseY = float(pos.y() * dpr);
}

QString SceneDocument::exportBaseName() const {
    return QFileInfo(title()).completeBaseName() + QLatin1Char('-') + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss-zzz"));
}

bool SceneDocument::addToScene(const by::Scene& more, QString* why) {
    auto fail = [&](const QString& m) {
        if (why) *why = m;
        return false;
    };
    if (m_player) return fail(tr("a Gaussian video takes no other scene"));
    if (m_lightField) return fail(tr("a light field takes no other scene"));
    if (m_baked) return fail(tr("a baked neural scene takes no other scene"));
    auto merged = std::make_shared<by::Scene>(*m_scene);
    merged->meshes.insert(merged->meshes.end(), more.meshes.begin(), more.meshes.end());
    if (more.splats.size() > 0) {
        if (merged->splats.size() == 0) {
            merged->splats = more.splats;
        } else {
            if (more.splats.shDegree > merged->splats.shDegree)
                return fail(tr("its splats have SH degree %1, more than the scene's %2").arg(more.splats.shDegree).arg(merged->splats.shDegree));
            merged->splats.reserve(merged->splats.size() + more.splats.size());
            for (size_t i = 0; i < more.splats.size(); ++i) merged->splats.append(more.splats, i);
        }
    }
    if (m_worker)
        m_worker->post([merged](FrameRenderer& r) -> by::Status {
            if (auto st = static_cast<SceneFrames&>(r).renderer->setScene(*merged); !st)
                return by::makeError(st.error().code, "the larger scene could not be uploaded: " + st.error().message);
            return {};
        });
    m_scene = merged;
    m_framed = false;  // frame the larger scene
    m_controller.invalidate();
    scheduleRender();
    return true;
}

bool SceneDocument::exportPathVideo(const QString& file, int frames) {
    std::vector<by::CameraKey> keys;
    for (const by::CameraBookmark& b : m_controller.bookmarks()) keys.push_back({b.name, b.camera});
    if (!isMeshOrSplatScene()) {
        emit statusMessage(tr("Camera-path videos are made of mesh and splat scenes; this neural scene has no path export yet."));
        return false;
    }
    if (keys.size() < 2 || m_sceneImage.empty()) {
        emit statusMessage(tr("A camera-path video needs two bookmarks and a rendered view."));
        return false;
    }
    by::RenderView view;
    view.width = m_sceneImage.width, view.height = m_sceneImage.height;
    view.background = m_controller.settings().background;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    // A renderer of its own: the tab's belongs to its render thread.
    by::Result<by::PathVideoReport> rep = by::makeError(by::ErrorCode::Internal, "no renderer");
    auto ctx = by::VulkanContext::create();
    if (!ctx) {
        rep = ctx.error();
    } else if (auto r = by::SceneRenderer::create(*ctx); !r) {
        rep = r.error();
    } else {
        rep = by::writePathVideo(r->get(), *m_scene, keys, frames, view, file.toStdString());
    }
    QApplication::restoreOverrideCursor();
    if (!rep) {
        emit statusMessage(QString::fromStdString(rep.error().what()));
        return false;
    }
    m_lastExport = file;
    emit statusMessage(tr("Wrote %1 frames through %2 bookmarks to %3").arg(rep->frames).arg(keys.size()).arg(file));
    return true;
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

namespace {

int overlayButton(Qt::MouseButton b) {
    switch (b) {
    case Qt::LeftButton: return 0;
    case Qt::RightButton: return 1;
    case Qt::MiddleButton: return 2;
    default: return -1;
    }
}

}  // namespace

void SceneDocument::mousePressEvent(QMouseEvent* e) {
    m_lastMouse = e->position().toPoint();
    setFocus();
    setMouse(e->position());
    const int b = overlayButton(e->button());
    if (b >= 0) m_input.mouseDown[b] = true;
    refreshOverlay();
    // A press on the overlay belongs to ImGui until the release; anywhere else it moves the camera.
    m_cameraDrag = !(m_overlay && m_controller.settings().showOverlay && m_overlay->wantsMouse());
}

void SceneDocument::mouseReleaseEvent(QMouseEvent* e) {
    setMouse(e->position());
    const int b = overlayButton(e->button());
    if (b >= 0) m_input.mouseDown[b] = false;
    if (!(e->buttons() & (Qt::LeftButton | Qt::RightButton | Qt::MiddleButton))) m_cameraDrag = false;
    refreshOverlay();
}

void SceneDocument::mouseMoveEvent(QMouseEvent* e) {
    const QPoint pos = e->position().toPoint();
    const QPoint d = pos - m_lastMouse;
    m_lastMouse = pos;
    setMouse(e->position());
    if (!m_cameraDrag || !(e->buttons() & (Qt::LeftButton | Qt::RightButton | Qt::MiddleButton))) {
        refreshOverlay();  // hover, or a drag on an overlay slider
        return;
    }
    if (e->buttons() & Qt::LeftButton)
        m_controller.drag(float(d.x()), float(d.y()));
    else
        m_controller.drag(float(d.x()), float(d.y()), true);
    scheduleRender();
}

void SceneDocument::leaveEvent(QEvent*) {
    m_input.mouseX = m_input.mouseY = -1e6f;
    refreshOverlay();
}

void SceneDocument::wheelEvent(QWheelEvent* e) {
    const float steps = float(e->angleDelta().y()) / 120.0f;
    setMouse(e->position());
    if (m_overlay && m_controller.settings().showOverlay && m_overlay->wantsMouse()) {
        m_input.wheel += steps;
        refreshOverlay();
        return;
    }
    m_controller.wheel(steps);
    scheduleRender();
}

namespace {

int overlayKey(int qtKey) {
    using K = by::OverlayKey;
    switch (qtKey) {
    case Qt::Key_Tab: return int(K::Tab);
    case Qt::Key_Left: return int(K::Left);
    case Qt::Key_Right: return int(K::Right);
    case Qt::Key_Up: return int(K::Up);
    case Qt::Key_Down: return int(K::Down);
    case Qt::Key_Home: return int(K::Home);
    case Qt::Key_End: return int(K::End);
    case Qt::Key_Delete: return int(K::Delete);
    case Qt::Key_Backspace: return int(K::Backspace);
    case Qt::Key_Return:
    case Qt::Key_Enter: return int(K::Enter);
    case Qt::Key_Escape: return int(K::Escape);
    default: return -1;
    }
}

}  // namespace

void SceneDocument::keyReleaseEvent(QKeyEvent* e) {
    if (const int k = overlayKey(e->key()); k >= 0 && m_input.keysDown[k]) {
        m_input.keysDown[k] = false;
        refreshOverlay();
        return;
    }
    QWidget::keyReleaseEvent(e);
}

void SceneDocument::keyPressEvent(QKeyEvent* e) {
    // A text field of the overlay has the keyboard: keys are typing, not camera moves.
    if (m_overlay && m_controller.settings().showOverlay && m_overlay->wantsKeyboard()) {
        if (const int k = overlayKey(e->key()); k >= 0) m_input.keysDown[k] = true;
        for (const QChar c : e->text())
            if (c.isPrint()) m_input.chars.push_back(c.unicode());
        m_input.ctrl = e->modifiers() & Qt::ControlModifier;
        m_input.shift = e->modifiers() & Qt::ShiftModifier;
        refreshOverlay();
        return;
    }
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
        refreshOverlay(true);
        return;
    case Qt::Key_B:
        m_controller.addBookmark("view " + std::to_string(m_controller.bookmarks().size() + 1));
        emit statusMessage(tr("Bookmarked this view as %1 (key %1 returns to it).").arg(m_controller.bookmarks().size()));
        refreshOverlay();
        return;
    default:
        if (e->key() >= Qt::Key_1 && e->key() <= Qt::Key_9 && m_controller.goToBookmark(size_t(e->key() - Qt::Key_1))) break;
        QWidget::keyPressEvent(e);
        return;
    }
    scheduleRender();
}

bool SceneDocument::saveScreenshot(const QString& file, bool withOverlay) const {
    if (withOverlay) return !m_image.isNull() && m_image.save(file);
    if (m_sceneImage.empty()) return false;
    const QImage scene(m_sceneImage.rgba.data(), m_sceneImage.width, m_sceneImage.height, m_sceneImage.width * 4, QImage::Format_RGBA8888);
    return scene.save(file);
}
