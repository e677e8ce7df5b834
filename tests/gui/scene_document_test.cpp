// The 3D viewport tab: File > Open's code path opens a baked Gaussian-splat PLY and a Collada
// mesh as scene tabs, a mouse drag orbits the camera and the rendered image changes, the view
// renders only when something changed, and a broken scene file is one clear error, not a tab.
// Runs on an X server (xvfb-run), with whatever Vulkan device there is (lavapipe on CPUs).
#include "app/gui/job_manager.h"
#include "app/gui/log_panel.h"
#include "app/gui/main_window.h"
#include "app/gui/scene_document.h"
#include "projects/project.h"
#include "app/gui/project_panel.h"
#include "engine/splat_baker.h"
#include "importers/mesh_importer.h"
#include "engine/splat_sequence.h"
#include "importers/gaussian_video.h"
#include "importers/ply_sequence.h"
#include "importers/splat_io.h"
#include "importers/video_file.h"
#include "views/splat_video_player.h"
#include "tests/gui/gui_test_support.h"
#include "tests/test_support.h"

#include <QApplication>
#include <QCheckBox>
#include <QPushButton>
#include <QSlider>
#include <QElapsedTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMouseEvent>
#include <QTabWidget>
#include <QKeyEvent>
#include <QThread>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>

namespace {

using by::test::ensureApp;
using by::test::waitUntil;



const char* kDuck = "/usr/share/assimp/models/Collada/duck.dae";

// Fraction of pixels that differ by more than 8 levels in any RGB channel.
double changedFraction(const QImage& a, const QImage& b) {
    if (a.size() != b.size()) return 1.0;
    const QImage x = a.convertToFormat(QImage::Format_RGBA8888), y = b.convertToFormat(QImage::Format_RGBA8888);
    size_t changed = 0;
    for (int r = 0; r < x.height(); ++r) {
        const uchar* p = x.constScanLine(r);
        const uchar* q = y.constScanLine(r);
        for (int c = 0; c < x.width(); ++c)
            for (int k = 0; k < 3; ++k)
                if (std::abs(int(p[c * 4 + k]) - int(q[c * 4 + k])) > 8) {
                    ++changed;
                    break;
                }
    }
    return double(changed) / double(x.width() * x.height());
}

class SceneDocumentTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(std::getenv("DISPLAY") && *std::getenv("DISPLAY")) << "run the GUI tests under xvfb-run";
        ASSERT_TRUE(std::filesystem::exists(kDuck)) << "scripts/setup.sh installs assimp-testmodels";
        ensureApp();
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1000, 700);
        m_window->show();
        m_dir = QString::fromStdString(by::test::tempDir());
    }

    SceneDocument* open(const QString& path) {
        SceneDocument* doc = nullptr;
        auto c = QObject::connect(m_window.get(), &MainWindow::sceneOpened, [&](SceneDocument* d) { doc = d; });
        m_window->openModelFiles({path});
        EXPECT_TRUE(waitUntil([&] { return doc != nullptr; })) << "scene did not open: " << path.toStdString();
        QObject::disconnect(c);
        if (!doc) return nullptr;
        EXPECT_TRUE(waitUntil([&] { return doc->hasRendered(); }));
        EXPECT_TRUE(doc->errorText().isEmpty()) << doc->errorText().toStdString();
        return doc;
    }

    // Drags with the left button across the viewport and waits for the new frame.
    void drag(SceneDocument* doc, QPoint from, QPoint to) {
        const int before = doc->renderCount();
        QMouseEvent press(QEvent::MouseButtonPress, from, doc->mapToGlobal(from), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(doc, &press);
        for (int i = 1; i <= 8; ++i) {
            const QPoint p = from + (to - from) * i / 8;
            QMouseEvent move(QEvent::MouseMove, p, doc->mapToGlobal(p), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
            QApplication::sendEvent(doc, &move);
        }
        QMouseEvent release(QEvent::MouseButtonRelease, to, doc->mapToGlobal(to), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
        QApplication::sendEvent(doc, &release);
        EXPECT_TRUE(waitUntil([&] { return doc->renderCount() > before; }));
    }

    std::unique_ptr<MainWindow> m_window;
    QString m_dir;
};

TEST_F(SceneDocumentTest, BakedSplatsOrbitWithTheMouseAndRenderOnlyOnChange) {
    auto duck = by::loadMeshScene(kDuck);
    ASSERT_TRUE(duck.ok());
    const by::SplatCloud cloud = by::bakeMeshSurfaces(duck->meshes, 20000, 7);
    const QString ply = m_dir + "/duck_splats.ply";
    ASSERT_TRUE(by::writeSplatPly(cloud, ply.toStdString()).ok());

    SceneDocument* doc = open(ply);
    ASSERT_NE(doc, nullptr);
    const QImage first = doc->image();
    ASSERT_FALSE(first.isNull());
    // The duck covers a good part of the view (not just the background).
    QImage background(first.size(), QImage::Format_RGBA8888);
    background.fill(QColor(first.pixelColor(0, 0)));
    EXPECT_GT(changedFraction(first, background), 0.05);

    // Idle: no further frames without input.
    const int rendersIdle = doc->renderCount();
    waitUntil([] { return false; }, 300);
    EXPECT_EQ(doc->renderCount(), rendersIdle);

    const by::Camera camBefore = doc->controller().camera();
    // It starts right of the overlay's window (top left), so the drag reaches the camera.
    drag(doc, QPoint(doc->width() - 30, 300), QPoint(doc->width() - 250, 260));
    const by::Camera camAfter = doc->controller().camera();
    EXPECT_GT(length(camAfter.eye - camBefore.eye), 0.1f * length(camBefore.eye - camBefore.target));
    const double changed = changedFraction(first, doc->image());
    EXPECT_GT(changed, 0.02) << "the image should change when the camera orbits";
    std::printf("splat viewport: %d renders, %.1f%% of pixels changed by the orbit, last frame %.1f ms\n", doc->renderCount(),
                changed * 100, doc->controller().frameTimes().back());

    // Lowering the SH degree is a setting change: one new frame.
    const int beforeKey = doc->renderCount();
    QKeyEvent minus(QEvent::KeyPress, Qt::Key_Minus, Qt::NoModifier, QStringLiteral("-"));
    QApplication::sendEvent(doc, &minus);
    EXPECT_TRUE(waitUntil([&] { return doc->renderCount() > beforeKey; }));
    EXPECT_EQ(doc->controller().settings().shDegree, 2);

    const QString shot = m_dir + "/viewport.png";
    const QPixmap grab = m_window->grab();
    ASSERT_TRUE(grab.save(shot));
    if (const char* keep = std::getenv("BY_KEEP_SCREENSHOT")) QFile::copy(shot, QString::fromUtf8(keep));
}

TEST_F(SceneDocumentTest, MeshOrbitsAndABrokenSceneIsOneError) {
    SceneDocument* doc = open(QString::fromUtf8(kDuck));
    ASSERT_NE(doc, nullptr);
    const QImage first = doc->image();
    drag(doc, QPoint(doc->width() - 30, 200), QPoint(doc->width() - 30, 380));
    EXPECT_GT(changedFraction(first, doc->image()), 0.02);
    const int tabs = m_window->tabs()->count();

    const QString broken = m_dir + "/broken.ply";
    QFile f(broken);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\n");  // no end_header
    f.close();
    QString why;
    auto c = QObject::connect(m_window.get(), &MainWindow::modelOpenFailed, [&](const QString&, const QString& s) { why = s; });
    m_window->openModelFiles({broken});
    EXPECT_TRUE(waitUntil([&] { return !why.isEmpty(); }));
    QObject::disconnect(c);
    EXPECT_EQ(m_window->tabs()->count(), tabs);
    EXPECT_TRUE(why.contains("broken.ply") || why.contains("header")) << why.toStdString();
}

// A Gaussian video (animated duck, 2D-video form) opens as a scene tab with play/pause, a slider
// and loop; playing moves through frames and changes the image, scrubbing shows the chosen frame,
// and a shot of the tab is saved for a person to look at (BY_GUI_SHOT_DIR).
TEST_F(SceneDocumentTest, GaussianVideoPlaysScrubsAndLoops) {
    auto duck = by::loadMeshScene(kDuck);
    ASSERT_TRUE(duck.ok());
    const by::SplatCloud base = by::bakeMeshSurfaces(duck->meshes, 15000, 7);
    const std::string seqDir = m_dir.toStdString() + "/seq";
    std::filesystem::create_directories(seqDir);
    for (int k = 0; k < 6; ++k) {
        char name[32];
        std::snprintf(name, sizeof name, "/frame_%04d.ply", k);
        ASSERT_TRUE(by::writeSplatPly(by::animateSplats(base, float(k) / 6.0f), seqDir + name).ok());
    }
    auto seq = by::PlySequenceSource::open(seqDir);
    ASSERT_TRUE(seq.ok()) << seq.error().what();
    const std::string videoDir = m_dir.toStdString() + "/duck_video";
    ASSERT_TRUE(by::writeGaussianVideo(**seq, videoDir).ok());

    SceneDocument* doc = open(QString::fromStdString(videoDir + "/manifest.json"));
    ASSERT_NE(doc, nullptr);
    ASSERT_NE(doc->player(), nullptr);
    EXPECT_EQ(doc->title(), QStringLiteral("duck_video"));
    EXPECT_EQ(doc->shownFrame(), 0);
    EXPECT_EQ(doc->frameSlider()->maximum(), 5);
    const QImage first = doc->image();

    doc->playButton()->click();
    EXPECT_TRUE(doc->player()->playing());
    EXPECT_TRUE(waitUntil([&] { return doc->shownFrame() == 5; }, 60000));
    EXPECT_TRUE(waitUntil([&] { return !doc->player()->playing(); }, 5000)) << "without loop, playback stops at the end";
    EXPECT_TRUE(waitUntil([&] { return doc->renderCount() > 0 && changedFraction(first, doc->image()) > 0.02; }, 10000))
        << "the last frame looks like the first";
    EXPECT_EQ(doc->frameSlider()->value(), 5);
    EXPECT_EQ(doc->playButton()->text(), QStringLiteral("Play"));

    doc->frameSlider()->setValue(2);  // scrub
    EXPECT_TRUE(waitUntil([&] { return doc->shownFrame() == 2; }, 10000));
    doc->loopBox()->setChecked(true);
    EXPECT_TRUE(doc->player()->loop());
    doc->playButton()->click();
    // Frames that fall overdue while a slow device renders may be skipped, so watch for the wrap:
    // a frame lower than one seen before.
    int highest = doc->shownFrame();
    EXPECT_TRUE(waitUntil([&] {
        const int f = doc->shownFrame();
        if (f < highest) return true;
        highest = f;
        return false;
    }, 60000)) << "loop goes back to the start";
    EXPECT_GE(highest, 3);
    EXPECT_TRUE(doc->player()->playing());
    doc->playButton()->click();
    EXPECT_FALSE(doc->player()->playing());
    if (const char* shots = std::getenv("BY_GUI_SHOT_DIR")) {
        waitUntil([] { return false; }, 500);
        m_window->grab().save(QString::fromUtf8(shots) + "/gaussian_video_tab.png");
    }
    EXPECT_TRUE(doc->errorText().isEmpty()) << doc->errorText().toStdString();

    // A PLY-sequence folder opens the same way; a broken one is one error, not a tab.
    SceneDocument* plyDoc = open(QString::fromStdString(seqDir));
    ASSERT_NE(plyDoc, nullptr);
    EXPECT_EQ(plyDoc->player()->frameCount(), 6);
    std::filesystem::remove(seqDir + "/frame_0003.ply");
    const int tabs = m_window->tabs()->count();
    QString failure;
    auto c = QObject::connect(m_window.get(), &MainWindow::modelOpenFailed, [&](const QString&, const QString& s) { failure = s; });
    m_window->openModelFiles({QString::fromStdString(seqDir + "/frame_%04d.ply")});
    QObject::disconnect(c);
    EXPECT_NE(failure.indexOf(QStringLiteral("frame 3 is missing")), -1) << failure.toStdString();
    EXPECT_EQ(m_window->tabs()->count(), tabs);
}

}  // namespace

namespace {

QPoint centreOf(SceneDocument* doc, const std::string& label) {
    auto r = doc->overlay()->widgetRect(label);
    EXPECT_TRUE(r.has_value()) << label;
    if (!r) return {};
    const qreal dpr = doc->devicePixelRatioF();
    return QPoint(int((*r)[0] + (*r)[2]) / 2 / dpr, int((*r)[1] + (*r)[3]) / 2 / dpr);
}

void clickAt(SceneDocument* doc, QPoint p) {
    QMouseEvent move(QEvent::MouseMove, p, doc->mapToGlobal(p), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &move);
    QMouseEvent press(QEvent::MouseButtonPress, p, doc->mapToGlobal(p), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &press);
    QMouseEvent release(QEvent::MouseButtonRelease, p, doc->mapToGlobal(p), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &release);
    QApplication::processEvents();
}

}  // namespace

// The ImGui overlay is drawn over the scene (and only over its corner), a press and drag that
// starts on it does not move the camera, its buttons work (a bookmark, a screenshot file), and a
// drag on the scene still orbits.
TEST_F(SceneDocumentTest, OverlayIsDrawnAndKeepsItsClicksFromTheCamera) {
    auto duck = by::loadMeshScene(kDuck);
    ASSERT_TRUE(duck.ok());
    const QString ply = m_dir + "/overlay_duck.ply";
    ASSERT_TRUE(by::writeSplatPly(by::bakeMeshSurfaces(duck->meshes, 20000, 7), ply.toStdString()).ok());
    SceneDocument* doc = open(ply);
    ASSERT_NE(doc, nullptr);
    ASSERT_NE(doc->overlay(), nullptr) << "no overlay on " << doc->errorText().toStdString();
    ASSERT_TRUE(waitUntil([&] { return doc->overlayComposites() > 0; }));
    doc->setExportDirectory(m_dir);

    // Drawn: the shown image differs from the scene image inside the overlay's window, and not far away.
    const QImage shown = doc->image().convertToFormat(QImage::Format_RGBA8888);
    const by::Image& scene = doc->sceneImage();
    ASSERT_EQ(shown.width(), scene.width);
    auto differs = [&](int x, int y) {
        const uchar* p = shown.constScanLine(y) + x * 4;
        const uint8_t* q = &scene.rgba[(size_t(y) * scene.width + x) * 4];
        return std::abs(p[0] - q[0]) + std::abs(p[1] - q[1]) + std::abs(p[2] - q[2]) > 6;
    };
    const auto graph = *doc->overlay()->widgetRect("Frame times");
    int inside = 0, outside = 0;
    for (int y = int(graph[1]); y < int(graph[3]); ++y)
        for (int x = int(graph[0]); x < int(graph[2]); ++x) inside += differs(x, y);
    for (int y = scene.height - 60; y < scene.height; ++y)
        for (int x = scene.width - 60; x < scene.width; ++x) outside += differs(x, y);
    EXPECT_GT(inside, int((graph[2] - graph[0]) * (graph[3] - graph[1]) / 3));
    EXPECT_EQ(outside, 0);

    // A drag that starts on the overlay stays with the overlay.
    const by::Camera before = doc->controller().camera();
    const QPoint onGraph = centreOf(doc, "Frame times");
    const int rendersBefore = doc->renderCount();
    QMouseEvent press(QEvent::MouseButtonPress, onGraph, doc->mapToGlobal(onGraph), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &press);
    for (int i = 1; i <= 8; ++i) {
        const QPoint p = onGraph + QPoint(30 * i, 15 * i);
        QMouseEvent move(QEvent::MouseMove, p, doc->mapToGlobal(p), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(doc, &move);
    }
    const QPoint end = onGraph + QPoint(240, 120);
    QMouseEvent release(QEvent::MouseButtonRelease, end, doc->mapToGlobal(end), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &release);
    waitUntil([] { return false; }, 300);
    EXPECT_EQ(doc->renderCount(), rendersBefore) << "a drag on the overlay rendered the scene again";
    EXPECT_LT(length(doc->controller().camera().eye - before.eye), 1e-6f) << "a drag on the overlay moved the camera";

    clickAt(doc, centreOf(doc, "Add bookmark"));
    EXPECT_EQ(doc->controller().bookmarks().size(), 1u);
    EXPECT_LT(length(doc->controller().camera().eye - before.eye), 1e-6f);

    clickAt(doc, centreOf(doc, "Screenshot"));
    ASSERT_TRUE(waitUntil([&] { return !doc->lastExport().isEmpty(); }, 5000));
    const QImage saved(doc->lastExport());
    EXPECT_EQ(saved.width(), scene.width);

    // Elsewhere the mouse still orbits.
    drag(doc, QPoint(doc->width() - 30, doc->height() - 150), QPoint(doc->width() - 250, doc->height() - 120));
    EXPECT_GT(length(doc->controller().camera().eye - before.eye), 1e-3f);
    // Two bookmarks make a path: the export writes a video with the frames asked for.
    QKeyEvent b(QEvent::KeyPress, Qt::Key_B, Qt::NoModifier, QStringLiteral("b"));
    QApplication::sendEvent(doc, &b);
    ASSERT_EQ(doc->controller().bookmarks().size(), 2u);
    const QString video = m_dir + "/path.mp4";
    ASSERT_TRUE(doc->exportPathVideo(video, 6));
    auto info = by::probeVideo(video.toStdString());
    ASSERT_TRUE(info.ok()) << info.error().what();
    EXPECT_EQ(info->frames, 6);
    EXPECT_EQ(info->width, scene.width & ~1);
    // The overlay's button runs the export as a job of the main window (its own renderer).
    doc->controller().settings().pathFrames = 5;
    doc->controller().invalidate();
    doc->renderIfNeeded();
    clickAt(doc, centreOf(doc, "Export path video"));
    ASSERT_TRUE(doc->lastExport().endsWith(QStringLiteral("-path.mp4"))) << doc->lastExport().toStdString();
    ASSERT_TRUE(m_window->jobs()->waitForIdle(120000));
    auto jobVideo = by::probeVideo(doc->lastExport().toStdString());
    ASSERT_TRUE(jobVideo.ok()) << jobVideo.error().what();
    EXPECT_EQ(jobVideo->frames, 5);
    const QString shot = m_dir + "/overlay.png";
    ASSERT_TRUE(doc->saveScreenshot(shot, true));
    if (const char* keep = std::getenv("BY_KEEP_OVERLAY_SHOT")) QFile::copy(shot, QString::fromUtf8(keep));
}

// A neural light field opens as its graph and as a 3D tab. Its frames are drawn on the tab's
// render thread: the first small (so something shows at once), a sharper one once the camera
// rests; input is handled while a frame is being drawn, and the next frame shows the new view.
TEST_F(SceneDocumentTest, LightFieldRendersProgressivelyOffTheUiThread) {
    const QString path = QString::fromStdString(by::test::asset("models/light_field/duck/duck_nelf.onnx"));
    ASSERT_TRUE(QFileInfo::exists(path)) << "scripts/build_models.sh trains the duck light field";
    SceneDocument* doc = open(path);
    ASSERT_NE(doc, nullptr);
    EXPECT_TRUE(doc->isLightField());
    ASSERT_EQ(m_window->documentCount(), 2);  // its graph tab and its 3D tab
    EXPECT_TRUE(m_window->document(0) != nullptr || m_window->document(1) != nullptr);
    EXPECT_TRUE(doc->title().contains(QStringLiteral("light field"))) << doc->title().toStdString();
    EXPECT_FALSE(doc->deviceName().isEmpty());
    // The first frame is an eighth of the resolution, stretched to the view.
    EXPECT_NEAR(doc->shownScale(), 0.125, 0.01);
    const QImage first = doc->image();
    QImage background(first.size(), QImage::Format_RGBA8888);
    background.fill(QColor(first.pixelColor(2, 2)));
    EXPECT_GT(changedFraction(first, background), 0.02) << "the duck shows";
    // Resting, a sharper frame follows.
    ASSERT_TRUE(waitUntil([&] { return doc->shownScale() > 0.13 && !doc->isRendering(); }, 60000)) << doc->shownScale();
    std::printf("light field: first frame at %.3f of the resolution, after resting %.3f on %s\n", 0.125, doc->shownScale(),
                doc->deviceName().toStdString().c_str());

    // A drag while a frame is being drawn: the camera moves at once (the UI thread is free), and
    // a frame of the new view arrives afterwards.
    doc->controller().invalidate();
    doc->renderIfNeeded();
    const bool busyDuringDrag = doc->isRendering();
    const by::Camera before = doc->controller().camera();
    const int rendersBefore = doc->renderCount();
    const QPoint from(doc->width() - 30, doc->height() - 40), to(doc->width() - 200, doc->height() - 60);
    QMouseEvent press(QEvent::MouseButtonPress, from, doc->mapToGlobal(from), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &press);
    QMouseEvent move(QEvent::MouseMove, to, doc->mapToGlobal(to), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &move);
    QMouseEvent release(QEvent::MouseButtonRelease, to, doc->mapToGlobal(to), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(doc, &release);
    EXPECT_GT(by::length(doc->controller().camera().eye - before.eye), 0.05f * by::length(before.eye - before.target));
    std::printf("light field: a frame was %s while the drag was handled\n", busyDuringDrag ? "being drawn" : "not being drawn");
    ASSERT_TRUE(waitUntil([&] { return doc->renderCount() > rendersBefore + 1 && !doc->isRendering(); }, 60000));
    EXPECT_TRUE(doc->errorText().isEmpty()) << doc->errorText().toStdString();
}

// A baked neural scene (MobileNeRF form) opens from its folder as a 3D tab and orbits; a
// folder whose mlp.json is broken is one logged sentence and no tab.
TEST_F(SceneDocumentTest, BakedNeuralSceneOpensFromItsFolder) {
    const QString dir = QString::fromStdString(by::test::asset("models/baked_nerf/duck"));
    ASSERT_TRUE(QFileInfo::exists(dir + "/mlp.json")) << "scripts/build_models.sh bakes the duck";
    SceneDocument* doc = open(dir);
    ASSERT_NE(doc, nullptr);
    EXPECT_TRUE(doc->isBakedNerf());
    EXPECT_TRUE(doc->title().contains(QStringLiteral("baked"))) << doc->title().toStdString();
    const QImage first = doc->image();
    QImage background(first.size(), QImage::Format_RGBA8888);
    background.fill(QColor(first.pixelColor(2, 2)));
    EXPECT_GT(changedFraction(first, background), 0.02) << "the duck shows";
    EXPECT_DOUBLE_EQ(doc->shownScale(), 1.0);  // fast enough for full frames
    drag(doc, QPoint(doc->width() - 30, doc->height() - 40), QPoint(doc->width() - 200, doc->height() - 60));
    EXPECT_GT(changedFraction(first, doc->image()), 0.02);

    // A copy with a broken mlp.json.
    const QString broken = m_dir + "/broken_nerf";
    ASSERT_TRUE(QDir().mkpath(broken));
    for (const QString& f : QDir(dir).entryList(QDir::Files)) ASSERT_TRUE(QFile::copy(dir + "/" + f, broken + "/" + f));
    QFile mlp(broken + "/mlp.json");
    ASSERT_TRUE(mlp.open(QIODevice::WriteOnly | QIODevice::Truncate));
    mlp.write("{\"obj_num\": 1, \"0_weights\": [[1, 2]]");
    mlp.close();
    QString failure;
    auto c = QObject::connect(m_window.get(), &MainWindow::modelOpenFailed, [&](const QString&, const QString& s) { failure = s; });
    const int tabs = m_window->documentCount();
    m_window->openModelFiles({broken});
    ASSERT_TRUE(waitUntil([&] { return !failure.isEmpty(); }));
    QObject::disconnect(c);
    EXPECT_TRUE(failure.contains(QStringLiteral("mlp.json"))) << failure.toStdString();
    EXPECT_EQ(m_window->documentCount(), tabs);
}

// A 3D asset of a project (the demo's baked duck is one) opens as a 3D tab from the project panel,
// not as a model import.
TEST_F(SceneDocumentTest, ProjectSceneAssetOpensAsA3dTab) {
    const QString dir = QString::fromStdString(by::test::asset("models/baked_nerf/duck"));
    const QString proj = m_dir + "/scenes.byproj";
    int64_t asset = 0;
    {
        auto p = by::Project::create(proj.toStdString(), "scenes");
        ASSERT_TRUE(p.ok()) << p.error().what();
        by::NewAsset a;
        a.path = dir.toStdString();
        a.kind = by::AssetKind::Scene;
        a.displayName = "baked duck";
        auto id = p->addAsset(a);
        ASSERT_TRUE(id.ok()) << id.error().what();
        asset = *id;
    }
    ASSERT_TRUE(m_window->openProject(proj));
    SceneDocument* doc = nullptr;
    auto c = QObject::connect(m_window.get(), &MainWindow::sceneOpened, [&](SceneDocument* d) { doc = d; });
    emit m_window->projectPanel()->openAssetRequested(asset, 0, dir);
    ASSERT_TRUE(waitUntil([&] { return doc != nullptr; }));
    QObject::disconnect(c);
    EXPECT_TRUE(doc->isBakedNerf());
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 0);
}

// The overlay's guides on a mesh: the bounding box and the wireframe drawn over the frame.
TEST_F(SceneDocumentTest, BoundingBoxAndWireframeGuidesOverAMesh) {
    SceneDocument* doc = open(QString::fromUtf8(kDuck));
    ASSERT_NE(doc, nullptr);
    const QImage plain = doc->image();
    doc->controller().settings().showBounds = true;
    doc->controller().settings().showWireframe = true;
    const int before = doc->renderCount();
    doc->controller().invalidate();
    doc->renderIfNeeded();
    ASSERT_TRUE(waitUntil([&] { return doc->renderCount() > before; }));
    const QImage guided = doc->image();
    // Lines over much of the duck (the same camera, so the scene itself did not move).
    EXPECT_GT(changedFraction(plain, guided), 0.05);
    if (const char* shot = std::getenv("BY_GUIDES_SCREENSHOT")) guided.save(QString::fromUtf8(shot));
}

// File > Add to Scene from a file: read as a job while the viewport stays usable, then joined to
// the tab that was current; a truncated PLY joins with a warning, a file that is no scene is one
// logged sentence and changes nothing.
TEST_F(SceneDocumentTest, AddFileToSceneReadsOffTheUiThread) {
    SceneDocument* doc = open(QString::fromUtf8(kDuck));
    ASSERT_NE(doc, nullptr);
    auto duck = by::loadMeshScene(kDuck);
    ASSERT_TRUE(duck.ok());
    const by::SplatCloud splats = by::bakeMeshSurfaces(duck->meshes, 5000, 1);
    const QString good = m_dir + "/more.ply";
    ASSERT_TRUE(by::writeSplatPly(splats, good.toStdString()).ok());
    QFile whole(good);
    ASSERT_TRUE(whole.open(QIODevice::ReadOnly));
    const QByteArray bytes = whole.readAll();
    const QString cut = m_dir + "/cut.ply";
    QFile part(cut);
    ASSERT_TRUE(part.open(QIODevice::WriteOnly));
    part.write(bytes.left(bytes.size() / 2));
    part.close();

    struct Outcome {
        SceneDocument* doc = nullptr;
        QString file;
        bool ok = false;
        int count = 0;
    } got;
    auto c = QObject::connect(m_window.get(), &MainWindow::sceneAddFinished, [&](SceneDocument* d, const QString& f, bool ok) {
        got = {d, f, ok, got.count + 1};
    });
    const int errorsBefore = m_window->logPanel()->countOf(LogPanel::Severity::Error);
    const int before = doc->renderCount();
    const int job = m_window->addFileToScene(good);
    ASSERT_GT(job, 0);
    // The call returned before the file was read: the scene changes only when the job is done.
    EXPECT_EQ(doc->scene()->splats.size(), 0u);
    ASSERT_TRUE(waitUntil([&] { return got.count == 1; }));
    EXPECT_TRUE(got.ok);
    EXPECT_EQ(got.doc, doc);
    EXPECT_EQ(doc->scene()->splats.size(), splats.size());
    ASSERT_TRUE(waitUntil([&] { return doc->renderCount() > before; }));

    // A truncated PLY joins with the vertices it holds and a warning naming the file.
    const int warningsBefore = m_window->logPanel()->countOf(LogPanel::Severity::Warning);
    ASSERT_GT(m_window->addFileToScene(cut), 0);
    ASSERT_TRUE(waitUntil([&] { return got.count == 2; }));
    EXPECT_TRUE(got.ok);
    const size_t afterCut = doc->scene()->splats.size();
    EXPECT_GT(afterCut, splats.size());
    EXPECT_LT(afterCut, 2 * splats.size());
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Warning), warningsBefore + 1);
    // A file that is no PLY at all: one error sentence, the scene as it was.
    const QString junk = m_dir + "/junk.ply";
    QFile j(junk);
    ASSERT_TRUE(j.open(QIODevice::WriteOnly));
    j.write("this is not a point cloud\n");
    j.close();
    ASSERT_GT(m_window->addFileToScene(junk), 0);
    ASSERT_TRUE(waitUntil([&] { return got.count == 3; }));
    EXPECT_FALSE(got.ok);
    EXPECT_EQ(doc->scene()->splats.size(), afterCut);
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), errorsBefore + 1);
    QObject::disconnect(c);
}

// File > Add to Scene's path: splats join an open mesh, and both show in one image.
TEST_F(SceneDocumentTest, SplatsAddedToAMeshShowInOneImage) {
    SceneDocument* doc = open(QString::fromUtf8(kDuck));
    ASSERT_NE(doc, nullptr);
    const QImage meshOnly = doc->image();
    auto duck = by::loadMeshScene(kDuck);
    ASSERT_TRUE(duck.ok());
    by::Scene more;
    more.splats = by::bakeMeshSurfaces(duck->meshes, 15000, 3);
    const by::Bounds b = duck->bounds();
    for (by::Vec3& p : more.splats.positions) p = p + by::Vec3{(b.max.x - b.min.x) * 0.5f, 0, 0};
    const int before = doc->renderCount();
    QString why;
    ASSERT_TRUE(doc->addToScene(more, &why)) << why.toStdString();
    ASSERT_TRUE(waitUntil([&] { return doc->renderCount() > before; }));
    EXPECT_TRUE(doc->errorText().isEmpty()) << doc->errorText().toStdString();
    EXPECT_EQ(doc->scene()->splats.size(), 15000u);
    EXPECT_FALSE(doc->scene()->meshes.empty());
    EXPECT_GT(changedFraction(meshOnly, doc->image()), 0.02);
    // Splats of a lower SH degree join (their missing coefficients are zero).
    by::Scene dc;
    dc.splats = more.splats;
    dc.splats.shDegree = 0;
    dc.splats.sh.resize(dc.splats.size() * 3);
    EXPECT_TRUE(doc->addToScene(dc, &why)) << why.toStdString();
    EXPECT_EQ(doc->scene()->splats.size(), 30000u);
}
