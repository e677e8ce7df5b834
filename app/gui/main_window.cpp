#include "app/gui/main_window.h"

#include "app/cli/cli_output.h"
#include "app/gui/display_format.h"
#include "app/gui/compare_panel.h"
#include "app/gui/compression_panel.h"
#include "app/gui/evaluation_panel.h"
#include "app/gui/graph_canvas.h"
#include "app/gui/inspector_panel.h"
#include "app/gui/job_manager.h"
#include "app/gui/jobs_panel.h"
#include "app/gui/model_document.h"
#include "app/gui/scene_document.h"
#include "importers/gaussian_video.h"
#include "app/cli/path_video.h"
#include "importers/mesh_importer.h"
#include "engine/baked_nerf.h"
#include "importers/baked_nerf_importer.h"
#include "renderers/light_field_mlp.h"
#include "renderers/scene_renderer.h"
#include "renderers/vulkan_context.h"
#include "views/splat_video_player.h"
#include "app/gui/project_commands.h"
#include "app/gui/project_panel.h"
#include "app/gui/welcome_page.h"
#include "engine/shape_inference.h"
#include "importers/importer_registry.h"
#include "projects/demo_project.h"
#include "projects/project.h"
#include "projects/recent_projects.h"

#include <QAction>
#include <algorithm>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QPointer>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QScrollArea>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QUndoStack>

namespace {
QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

// Error::what() is "context: message"; shown to a person it reads as one sentence.
QString sentence(const by::Error& e) {
    QString s = qs(e.what()).trimmed();
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    if (!s.endsWith(QLatin1Char('.')) && !s.endsWith(QLatin1Char('?')) && !s.endsWith(QLatin1Char('!')))
        s += QLatin1Char('.');
    return s;
}

QString fileName(const QString& path) {
    return QFileInfo(path).fileName();
}

QString modelFileFilter() {
    return QObject::tr("Models and 3D scenes (*.onnx *.tflite *.gguf *.safetensors *.ply *.splat *.glb *.gltf *.obj *.dae *.off);;"
                       "Models (*.onnx *.tflite *.gguf *.safetensors);;3D scenes (*.ply *.splat *.glb *.gltf *.obj *.dae *.off);;"
                       "All files (*)");
}

bool isProjectFile(const QString& path) {
    return path.endsWith(QString::fromLatin1(by::kProjectExtension), Qt::CaseInsensitive);
}

constexpr int kStatusTimeoutMs = 8000;
} // namespace

struct MainWindow::Actions {
    QAction* newProject = nullptr;
    QAction* openProject = nullptr;
    QAction* closeProject = nullptr;
    QAction* openModel = nullptr;
    QAction* openVideo = nullptr;
    QAction* addToScene = nullptr;
    QAction* openDemo = nullptr;
    QAction* addToProject = nullptr;
    QAction* closeTab = nullptr;
    QAction* quit = nullptr;
    QAction* undo = nullptr;
    QAction* redo = nullptr;
    QAction* find = nullptr;
    QAction* findNext = nullptr;
    QAction* findPrevious = nullptr;
    QAction* addNote = nullptr;
    QAction* preferences = nullptr;
    QAction* fit = nullptr;
    QAction* zoomIn = nullptr;
    QAction* zoomOut = nullptr;
    QAction* collapseAll = nullptr;
    QAction* expandAll = nullptr;
    QAction* about = nullptr;
};

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), m_actions(std::make_unique<Actions>()) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Brickyard"));
    setAcceptDrops(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    m_prefs = Preferences::load();

    m_jobs = new JobManager(this);
    m_undo = new QUndoStack(this);

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("documentTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->setTabsClosable(true);
    m_tabs->setMovable(true);
    connect(m_tabs, &QTabWidget::tabCloseRequested, this, &MainWindow::closeTab);
    connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::onCurrentTabChanged);

    m_welcome = new WelcomePage(this);
    connect(m_welcome, &WelcomePage::openModelRequested, this, &MainWindow::onOpenModel);
    connect(m_welcome, &WelcomePage::openProjectRequested, this, &MainWindow::onOpenProject);
    connect(m_welcome, &WelcomePage::newProjectRequested, this, &MainWindow::onNewProject);
    connect(m_welcome, &WelcomePage::openDemoRequested, this, &MainWindow::onOpenDemo);
    connect(m_welcome, &WelcomePage::recentFileRequested, this,
            [this](const QString& p) { openModelFiles({p}); });
    connect(m_welcome, &WelcomePage::recentProjectRequested, this, &MainWindow::openProject);

    m_centre = new QStackedWidget(this);
    m_centre->addWidget(m_welcome);
    m_centre->addWidget(m_tabs);
    setCentralWidget(m_centre);

    createDocks();
    createActions();
    createMenus();
    createStatusBar();
    restoreSettings();
    updateRecentMenus();
    updateActions();
    updateTitle();
    connect(m_undo, &QUndoStack::indexChanged, this, &MainWindow::updateActions);
}

MainWindow::~MainWindow() {
    // Stop and join the workers before the documents and the project they may refer to go.
    m_jobs->cancelAll();
    delete m_jobs;
    m_jobs = nullptr;
    m_undo->clear();
}

// ---- construction --------------------------------------------------------------------------------

void MainWindow::createDocks() {
    m_projectPanel = new ProjectPanel(this);
    m_projectDock = new QDockWidget(tr("Project"), this);
    m_projectDock->setObjectName(QStringLiteral("projectDock"));
    m_projectDock->setWidget(m_projectPanel);
    addDockWidget(Qt::LeftDockWidgetArea, m_projectDock);
    connect(m_projectPanel, &ProjectPanel::openAssetRequested, this,
            [this](int64_t assetId, int64_t, const QString& path) {
                if (path.isEmpty() || !QFileInfo::exists(path)) {
                    reportError(tr("The file of this asset is missing (%1); relink or re-add it.").arg(path));
                    return;
                }
                const int tab = tabForPath(path);
                if (tab >= 0) {
                    m_tabs->setCurrentIndex(tab);
                    return;
                }
                const QString abs = QFileInfo(path).absoluteFilePath();
                // 3D assets open as 3D tabs; models as graphs.
                if (by::isBakedNerfPath(abs.toStdString())) {
                    if (!m_loading.contains(abs)) openBakedNerf(abs);
                    return;
                }
                if (isSceneFile(abs)) {
                    if (!m_loading.contains(abs)) openScene(abs);
                    return;
                }
                startImport(abs, assetId, false);
            });
    connect(m_projectPanel, &ProjectPanel::renameVariantRequested, this, &MainWindow::onRenameVariant);
    connect(m_projectPanel, &ProjectPanel::addNoteRequested, this, &MainWindow::onAddNote);
    connect(m_projectPanel, &ProjectPanel::removeAssetRequested, this, [this](int64_t assetId) {
        if (!m_project) return;
        // Removing drops derived variants and their results, which undo could not bring back:
        // it is a deliberate, non-undoable step and says so.
        const auto answer =
            QMessageBox::question(this, tr("Remove from Project"),
                                  tr("Remove this asset with its variants, results and notes? This "
                                     "cannot be undone. The file itself is kept."));
        if (answer != QMessageBox::Yes) return;
        m_undo->clear();
        if (auto st = m_project->removeAsset(assetId); !st)
            reportError(sentence(st.error()));
        else
            logMessage(LogPanel::Severity::Info, tr("Removed an asset from the project."));
        refreshProject();
    });
    connect(m_projectPanel, &ProjectPanel::errorOccurred, this, &MainWindow::reportError);

    m_inspector = new InspectorPanel(this);
    m_inspectorDock = new QDockWidget(tr("Inspector"), this);
    m_inspectorDock->setObjectName(QStringLiteral("inspectorDock"));
    m_inspectorDock->setWidget(m_inspector);
    addDockWidget(Qt::RightDockWidgetArea, m_inspectorDock);

    m_evalPanel = new EvaluationPanel(this);
    m_evalPanel->setCacheDir(QString::fromStdString(by::cli::assetCacheDir()));
    m_evalDock = new QDockWidget(tr("Evaluation"), this);
    m_evalDock->setObjectName(QStringLiteral("evaluationDock"));
    m_evalDock->setWidget(m_evalPanel);
    addDockWidget(Qt::RightDockWidgetArea, m_evalDock);
    tabifyDockWidget(m_inspectorDock, m_evalDock);
    m_inspectorDock->raise();
    connect(m_evalPanel, &EvaluationPanel::evaluateRequested, this, [this](const by::cli::EvalRequest&) { evaluateCurrentModel(); });
    connect(m_evalPanel, &EvaluationPanel::cancelRequested, this, [this]() {
        if (m_evalJob) m_jobs->cancel(m_evalJob);
    });

    m_compressPanel = new CompressionPanel(m_jobs, this);
    m_compressDock = new QDockWidget(tr("Compression"), this);
    m_compressDock->setObjectName(QStringLiteral("compressionDock"));
    m_compressDock->setWidget(m_compressPanel);
    addDockWidget(Qt::RightDockWidgetArea, m_compressDock);
    tabifyDockWidget(m_evalDock, m_compressDock);
    m_inspectorDock->raise();
    connect(m_compressPanel, &CompressionPanel::projectChanged, this, &MainWindow::refreshProject);
    // The compression preview's quality check runs on the dataset chosen for evaluation.
    connect(m_evalPanel, &EvaluationPanel::requestChanged, this,
            [this]() { m_compressPanel->setQualityCheck(m_evalPanel->request()); });
    connect(m_compressPanel, &CompressionPanel::info, this,
            [this](const QString& m) { logMessage(LogPanel::Severity::Info, m); });
    connect(m_compressPanel, &CompressionPanel::errorOccurred, this, &MainWindow::reportError);
    // Evaluating a variant: open its file in a tab (the evaluation panel follows the current tab).
    connect(m_compressPanel, &CompressionPanel::evaluateRequested, this, [this](const QString& path) {
        openModelFiles({path});
        m_evalDock->raise();
    });

    m_comparePanel = new ComparePanel(m_jobs, this);
    m_compareDock = new QDockWidget(tr("Compare"), this);
    m_compareDock->setObjectName(QStringLiteral("compareDock"));
    // In a scroll area: the panel's tables and charts must not make the bottom dock area (and so
    // every tab above it) taller than the user left it.
    auto* compareScroll = new QScrollArea(this);
    compareScroll->setWidgetResizable(true);
    compareScroll->setFrameShape(QFrame::NoFrame);
    compareScroll->setWidget(m_comparePanel);
    m_compareDock->setWidget(compareScroll);
    connect(m_comparePanel, &ComparePanel::info, this, [this](const QString& m) { logMessage(LogPanel::Severity::Info, m); });
    connect(m_comparePanel, &ComparePanel::errorOccurred, this, &MainWindow::reportError);

    m_log = new LogPanel(this);
    m_jobsPanel = new JobsPanel(m_jobs, this);
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(m_log);
    split->addWidget(m_jobsPanel);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);
    m_logDock = new QDockWidget(tr("Log and Jobs"), this);
    m_logDock->setObjectName(QStringLiteral("logDock"));
    m_logDock->setWidget(split);
    addDockWidget(Qt::BottomDockWidgetArea, m_logDock);
    addDockWidget(Qt::BottomDockWidgetArea, m_compareDock);
    tabifyDockWidget(m_logDock, m_compareDock);
    m_logDock->raise();
    // The side docks run the full height; the log sits under the documents only.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
}

void MainWindow::createActions() {
    Actions& a = *m_actions;
    auto make = [this](const QString& text, const QList<QKeySequence>& keys, auto slot) {
        auto* action = new QAction(text, this);
        action->setShortcuts(keys);
        connect(action, &QAction::triggered, this, slot);
        return action;
    };
    a.newProject = make(tr("&New Project..."), {QKeySequence::New}, &MainWindow::onNewProject);
    a.openProject = make(tr("Open &Project..."), {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O)},
                         &MainWindow::onOpenProject);
    a.closeProject = make(tr("Close P&roject"), {}, &MainWindow::closeProject);
    a.openModel = make(tr("&Open Model..."), {QKeySequence::Open}, &MainWindow::onOpenModel);
    a.openVideo = make(tr("Open &Gaussian Video..."), {}, [this]() {
        // A folder: a 2D-video Gaussian video (holding manifest.json) or a PLY sequence.
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Gaussian Video Folder"), QDir::homePath());
        if (!dir.isEmpty()) openModelFiles({dir});
    });
    a.addToScene = make(tr("Add to &Scene..."), {}, [this]() {
        // Meshes and splats in one view: another file's content joins the 3D tab on screen.
        SceneDocument* doc = sceneDocument(m_tabs->currentIndex());
        if (!doc) {
            statusBar()->showMessage(tr("Open a 3D scene first: Add to Scene adds to the scene on screen."), kStatusTimeoutMs);
            return;
        }
        const QString file = QFileDialog::getOpenFileName(this, tr("Add to Scene"), QFileInfo(doc->path()).absolutePath(),
                                                          tr("Scenes (*.ply *.splat *.glb *.gltf *.obj *.dae *.off *.fbx)"));
        if (!file.isEmpty()) addFileToScene(file);
    });
    a.openDemo = make(tr("Open &Demo Project"), {}, &MainWindow::onOpenDemo);
    a.addToProject = make(tr("&Add Model to Project..."), {}, &MainWindow::onAddModelToProject);
    a.closeTab = make(tr("&Close Tab"), {QKeySequence(Qt::CTRL | Qt::Key_W)}, [this]() {
        if (m_tabs->currentIndex() >= 0) closeTab(m_tabs->currentIndex());
    });
    a.quit = make(tr("&Quit"), {QKeySequence(Qt::CTRL | Qt::Key_Q)}, &QWidget::close);
    a.quit->setMenuRole(QAction::QuitRole);

    a.undo = m_undo->createUndoAction(this, tr("&Undo"));
    a.undo->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Z)});
    a.redo = m_undo->createRedoAction(this, tr("&Redo"));
    a.redo->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
    a.find = make(tr("&Find..."), {QKeySequence(Qt::CTRL | Qt::Key_F)}, [this]() {
        if (auto* d = currentDocument()) d->focusSearch();
    });
    a.findNext = make(tr("Find &Next"), {QKeySequence(Qt::Key_F3)}, [this]() {
        if (auto* d = currentDocument()) d->findNext();
    });
    a.findPrevious = make(tr("Find Pre&vious"), {QKeySequence(Qt::SHIFT | Qt::Key_F3)}, [this]() {
        if (auto* d = currentDocument()) d->findPrevious();
    });
    a.addNote = make(tr("Add &Note..."), {}, [this]() {
        const auto* d = currentDocument();
        onAddNote(d ? d->projectAsset() : 0, 0);
    });
    a.preferences = make(tr("&Preferences..."), {QKeySequence::Preferences}, &MainWindow::onPreferences);
    a.preferences->setMenuRole(QAction::PreferencesRole);

    a.fit = make(tr("&Fit to Window"), {QKeySequence(Qt::CTRL | Qt::Key_0)}, [this]() {
        if (auto* d = currentDocument()) d->fitToView();
    });
    a.zoomIn =
        make(tr("Zoom &In"), {QKeySequence(Qt::CTRL | Qt::Key_Plus), QKeySequence(Qt::CTRL | Qt::Key_Equal)},
             [this]() {
                 if (auto* d = currentDocument()) d->zoomIn();
             });
    a.zoomOut = make(tr("Zoom &Out"), {QKeySequence(Qt::CTRL | Qt::Key_Minus)}, [this]() {
        if (auto* d = currentDocument()) d->zoomOut();
    });
    a.collapseAll = make(tr("&Collapse All Scopes"), {}, [this]() {
        if (auto* d = currentDocument()) d->collapseAllScopes();
    });
    a.expandAll = make(tr("&Expand All Scopes"), {}, [this]() {
        if (auto* d = currentDocument()) d->expandAllScopes();
    });
    a.about = make(tr("&About Brickyard"), {}, &MainWindow::onAbout);
    a.about->setMenuRole(QAction::AboutRole);
}

void MainWindow::createMenus() {
    Actions& a = *m_actions;
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(a.newProject);
    file->addAction(a.openProject);
    m_recentProjectsMenu = file->addMenu(tr("Recent Projects"));
    file->addAction(a.openDemo);
    file->addAction(a.closeProject);
    file->addSeparator();
    file->addAction(a.openModel);
    file->addAction(a.openVideo);
    file->addAction(a.addToScene);
    m_recentFilesMenu = file->addMenu(tr("Recent Files"));
    file->addAction(a.addToProject);
    file->addSeparator();
    file->addAction(a.closeTab);
    file->addSeparator();
    file->addAction(a.quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(a.undo);
    edit->addAction(a.redo);
    edit->addSeparator();
    edit->addAction(a.find);
    edit->addAction(a.findNext);
    edit->addAction(a.findPrevious);
    edit->addSeparator();
    edit->addAction(a.addNote);
    edit->addSeparator();
    edit->addAction(a.preferences);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : {m_projectDock, m_inspectorDock, m_logDock, m_compareDock})
        view->addAction(dock->toggleViewAction());
    m_projectDock->toggleViewAction()->setShortcut(QKeySequence(Qt::ALT | Qt::Key_1));
    m_inspectorDock->toggleViewAction()->setShortcut(QKeySequence(Qt::ALT | Qt::Key_2));
    m_logDock->toggleViewAction()->setShortcut(QKeySequence(Qt::ALT | Qt::Key_3));
    view->addSeparator();
    view->addAction(a.fit);
    view->addAction(a.zoomIn);
    view->addAction(a.zoomOut);
    view->addSeparator();
    view->addAction(a.collapseAll);
    view->addAction(a.expandAll);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(a.about);
}

void MainWindow::createStatusBar() {
    m_layoutBar = new QProgressBar(this);
    m_layoutBar->setRange(0, 100);
    m_layoutBar->setMaximumWidth(140);
    m_layoutBar->setMaximumHeight(14);
    m_layoutBar->setTextVisible(false);
    m_layoutBar->hide();
    m_statusInfo = new QLabel(this);
    m_statusInfo->setContentsMargins(6, 0, 6, 0);
    statusBar()->addPermanentWidget(m_layoutBar);
    statusBar()->addPermanentWidget(m_statusInfo);
    statusBar()->showMessage(tr("Ready"), 3000);
}

// ---- settings -------------------------------------------------------------------------------------

void MainWindow::restoreSettings() {
    QSettings s;
    const QByteArray geometry = s.value(QStringLiteral("window/geometry")).toByteArray();
    const QByteArray state = s.value(QStringLiteral("window/state")).toByteArray();
    if (geometry.isEmpty() || !restoreGeometry(geometry)) resize(1280, 800);
    m_stateRestored = !state.isEmpty() && restoreState(state);
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (m_shown) return;
    m_shown = true;
    if (m_stateRestored) return;
    // Dock sizes only take once the window has its real size.
    QTimer::singleShot(0, this, [this]() {
        resizeDocks({m_projectDock, m_inspectorDock}, {280, 340}, Qt::Horizontal);
        resizeDocks({m_logDock}, {160}, Qt::Vertical);
    });
}

void MainWindow::saveSettings() {
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("project/last"), m_project ? qs(m_project->path()) : QString());
}

void MainWindow::restoreLastProject() {
    if (!m_prefs.reopenLastProject || m_project) return;
    const QString last = QSettings().value(QStringLiteral("project/last")).toString();
    if (!last.isEmpty() && QFileInfo::exists(last)) openProject(last);
}

QStringList MainWindow::recentFiles() const {
    QStringList out;
    for (const QString& p : QSettings().value(QStringLiteral("recent/files")).toStringList())
        if (QFileInfo::exists(p)) out << p;
    return out;
}

QStringList MainWindow::recentProjects() const {
    QStringList out;
    auto entries = by::RecentProjects(by::RecentProjects::defaultFile()).entries();
    if (entries)
        for (const auto& p : *entries)
            out << qs(p);
    return out;
}

void MainWindow::addRecentFile(const QString& path) {
    QStringList files = QSettings().value(QStringLiteral("recent/files")).toStringList();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > m_prefs.maxRecentFiles)
        files.removeLast();
    QSettings().setValue(QStringLiteral("recent/files"), files);
    updateRecentMenus();
}

void MainWindow::updateRecentMenus() {
    const QStringList files = recentFiles();
    const QStringList projects = recentProjects();
    auto fill = [this](QMenu* menu, const QStringList& paths, std::function<void(const QString&)> open,
                       std::function<void()> clear) {
        menu->clear();
        int n = 0;
        for (const QString& p : paths) {
            ++n;
            QAction* act = menu->addAction(QStringLiteral("&%1  %2").arg(n).arg(fileName(p)));
            act->setToolTip(p);
            act->setStatusTip(p);
            connect(act, &QAction::triggered, this, [open, p]() { open(p); });
        }
        if (paths.isEmpty()) menu->addAction(tr("(none)"))->setEnabled(false);
        menu->addSeparator();
        menu->addAction(tr("Clear List"), this, clear)->setEnabled(!paths.isEmpty());
    };
    fill(
        m_recentFilesMenu, files, [this](const QString& p) { openModelFiles({p}); },
        [this]() {
            QSettings().remove(QStringLiteral("recent/files"));
            updateRecentMenus();
        });
    fill(
        m_recentProjectsMenu, projects, [this](const QString& p) { openProject(p); },
        [this]() {
            (void)by::RecentProjects(by::RecentProjects::defaultFile()).clear();
            updateRecentMenus();
        });
    m_welcome->setRecent(files, projects);
}

// ---- logging --------------------------------------------------------------------------------------

void MainWindow::logMessage(LogPanel::Severity severity, const QString& message) {
    m_log->append(severity, message);
    if (severity == LogPanel::Severity::Info) statusBar()->showMessage(message, kStatusTimeoutMs / 2);
}

void MainWindow::reportError(const QString& sentence) {
    m_log->append(LogPanel::Severity::Error, sentence);
    statusBar()->showMessage(sentence, kStatusTimeoutMs);
    if (m_prefs.showLogOnError && !m_logDock->isVisible()) m_logDock->show();
}

// ---- documents ------------------------------------------------------------------------------------

int MainWindow::documentCount() const {
    return m_tabs->count();
}

ModelDocument* MainWindow::document(int index) const {
    return qobject_cast<ModelDocument*>(m_tabs->widget(index));
}

ModelDocument* MainWindow::currentDocument() const {
    return qobject_cast<ModelDocument*>(m_tabs->currentWidget());
}

SceneDocument* MainWindow::sceneDocument(int index) const {
    return qobject_cast<SceneDocument*>(m_tabs->widget(index));
}

bool MainWindow::isSceneFile(const QString& path) {
    static const QStringList exts = {"ply", "splat", "glb", "gltf", "obj", "dae", "off"};
    return exts.contains(QFileInfo(path).suffix().toLower());
}

bool MainWindow::isGaussianVideoPath(const QString& path) {
    const QFileInfo fi(path);
    return fi.isDir() || (fi.suffix().toLower() == QLatin1String("json") && by::isGaussianVideo(path.toStdString())) ||
           path.contains(QLatin1Char('%'));
}

void MainWindow::openGaussianVideo(const QString& path) {
    // Opening reads only the manifest or the frame headers; the frames are decoded by the
    // player's own thread, so this stays on the GUI thread.
    auto source = by::openSplatSequence(path.toStdString());
    if (!source) {
        const QString s = sentence(source.error());
        reportError(s);
        emit modelOpenFailed(path, s);
        return;
    }
    const int frames = (*source)->frameCount();
    const size_t splats = (*source)->splatCount();
    auto* doc = new SceneDocument(std::make_unique<by::SplatVideoPlayer>(std::move(*source)), path, m_tabs);
    addSceneTab(doc, path);
    addRecentFile(path);
    logMessage(LogPanel::Severity::Info,
               tr("Opened %1: Gaussian video of %2 frames, %3 Gaussian splats each.")
                   .arg(doc->title())
                   .arg(frames)
                   .arg(splats));
    emit sceneOpened(doc);
}

void MainWindow::runPathVideo(const SceneDocument::PathVideoRequest& req) {
    // Its own Vulkan device and renderer on the job's thread: the 3D tab keeps drawing meanwhile.
    const QString file = req.file;
    m_jobs->run<by::PathVideoReport>(
        tr("Export %1").arg(fileName(file)),
        [req](const by::Progress& progress) -> by::Result<by::PathVideoReport> {
            auto ctx = by::VulkanContext::create();
            if (!ctx) return ctx.error();
            auto renderer = by::SceneRenderer::create(*ctx);
            if (!renderer) return renderer.error();
            BY_TRY((*renderer)->setScene(*req.scene));
            by::RenderView view;
            view.width = req.width, view.height = req.height;
            view.background = req.background;
            return by::writePathVideo(renderer->get(), *req.scene, req.keys, req.frames, view, req.file.toStdString(), {},
                                      [&](int f, int n) {
                                          progress.report(double(f) / n, "frame " + std::to_string(f + 1) + " of " + std::to_string(n));
                                          return !progress.cancelled();
                                      });
        },
        [this, file](by::Result<by::PathVideoReport> r) {
            if (!r) {
                m_log->append(r.error().code == by::ErrorCode::Cancelled ? LogPanel::Severity::Info : LogPanel::Severity::Error,
                              tr("Path video %1: %2").arg(fileName(file), qs(r.error().what())));
                return;
            }
            logMessage(LogPanel::Severity::Info, tr("Wrote %1: %2 frames, %3 ms a frame to render.")
                                                     .arg(file)
                                                     .arg(r->frames)
                                                     .arg(r->renderMs / std::max(1, r->frames), 0, 'f', 1));
        });
}

int MainWindow::addFileToScene(const QString& file) {
    QPointer<SceneDocument> doc = sceneDocument(m_tabs->currentIndex());
    if (!doc) {
        reportError(tr("Open a 3D scene first: Add to Scene adds to the scene on screen."));
        return 0;
    }
    using ScenePtr = std::shared_ptr<const by::Scene>;
    const std::string path = file.toStdString();
    // Reading a large PLY or mesh takes seconds: the viewport stays live meanwhile.
    return m_jobs->run<ScenePtr>(
        tr("Add %1 to %2").arg(fileName(file), doc->title()),
        [path](const by::Progress& progress) -> by::Result<ScenePtr> {
            progress.report(0.0, "reading");
            auto scene = by::loadScene(path);
            if (!scene) return scene.error();
            return ScenePtr(std::make_shared<by::Scene>(std::move(*scene)));
        },
        [this, doc, file](by::Result<ScenePtr> result) {
            SceneDocument* target = doc.data();
            QString why;
            if (!result) {
                if (result.error().code == by::ErrorCode::Cancelled) return;
                why = sentence(result.error());
            } else if (!target) {
                why = tr("%1 was read, but its scene tab was closed meanwhile; nothing was added.").arg(fileName(file));
            } else if (!target->addToScene(**result, &why)) {
                why = tr("%1: %2").arg(fileName(file), why);
            }
            if (!why.isEmpty()) {
                reportError(why);
                emit sceneAddFinished(target, file, false);
                return;
            }
            for (const std::string& w : (*result)->warnings) m_log->append(LogPanel::Severity::Warning, tr("%1: %2").arg(fileName(file), qs(w)));
            logMessage(LogPanel::Severity::Info, tr("Added %1 to %2.").arg(fileName(file), target->title()));
            emit sceneAddFinished(target, file, true);
        });
}

void MainWindow::addSceneTab(SceneDocument* doc, const QString& path) {
    connect(doc, &SceneDocument::statusMessage, this, [this](const QString& m) { statusBar()->showMessage(m, kStatusTimeoutMs); });
    connect(doc, &SceneDocument::pathVideoRequested, this, &MainWindow::runPathVideo);
    const int tab = m_tabs->addTab(doc, doc->title());
    m_tabs->setTabToolTip(tab, path);
    m_tabs->setCurrentIndex(tab);
}

template <class T>
void MainWindow::openSceneJob(const QString& path, std::function<by::Result<T>(const std::string&)> load,
                              std::function<QString(const T&)> describe) {
    m_loading << path;
    using Ptr = std::shared_ptr<const T>;
    const std::string file = path.toStdString();
    m_jobs->run<Ptr>(
        tr("Open %1").arg(fileName(path)),
        [file, load](const by::Progress& progress) -> by::Result<Ptr> {
            progress.report(0.0, "reading");
            auto loaded = load(file);
            if (!loaded) return loaded.error();
            return Ptr(std::make_shared<T>(std::move(*loaded)));
        },
        [this, path, describe](by::Result<Ptr> result) {
            m_loading.removeAll(path);
            if (!result) {
                const QString s = sentence(result.error());
                reportError(s);
                emit modelOpenFailed(path, s);
                return;
            }
            auto* doc = new SceneDocument(*result, path, m_tabs);
            addSceneTab(doc, path);
            addRecentFile(path);
            logMessage(LogPanel::Severity::Info, tr("Opened %1: %2").arg(fileName(path), describe(**result)));
            if constexpr (std::is_same_v<T, by::Scene>)
                for (const std::string& w : (*result)->warnings) m_log->append(LogPanel::Severity::Warning, tr("%1: %2").arg(fileName(path), qs(w)));
            emit sceneOpened(doc);
        });
}

void MainWindow::openBakedNerf(const QString& path) {
    openSceneJob<by::BakedNerf>(
        path, [](const std::string& f) { return by::loadBakedNerf(f); },
        [this](const by::BakedNerf& n) {
            size_t tris = 0;
            for (const auto& shape : n.shapes) tris += shape.triangleCount();
            return tr("a baked neural scene, %1 shapes, %2 triangles, an MLP of %3 layers.").arg(n.shapes.size()).arg(tris).arg(n.layers.size());
        });
}


void MainWindow::openScene(const QString& path) {
    openSceneJob<by::Scene>(
        path, [](const std::string& f) { return by::loadScene(f); },
        [this](const by::Scene& sc) {
            return sc.splats.size() > 0 ? tr("%1 Gaussian splats.").arg(sc.splats.size())
                                        : tr("%1 triangles in %2 meshes.").arg(sc.triangleCount()).arg(sc.meshes.size());
        });
}

int MainWindow::tabForPath(const QString& path) const {
    const QString abs = QFileInfo(path).absoluteFilePath();
    for (int i = 0; i < m_tabs->count(); ++i) {
        if (auto* d = document(i); d && QFileInfo(d->path()).absoluteFilePath() == abs) return i;
        if (auto* sd = sceneDocument(i); sd && QFileInfo(sd->path()).absoluteFilePath() == abs) return i;
    }
    return -1;
}

void MainWindow::openModelFiles(const QStringList& paths, bool addToProject) {
    for (const QString& raw : paths) {
        const QString path = QFileInfo(raw).absoluteFilePath();
        const int tab = tabForPath(path);
        if (tab >= 0) {
            m_tabs->setCurrentIndex(tab);
            if (addToProject) addModelToProject(path);
            continue;
        }
        if (m_loading.contains(path)) continue;
        if (by::isBakedNerfPath(path.toStdString())) {
            openBakedNerf(path);
            continue;
        }
        if (isGaussianVideoPath(raw)) {
            openGaussianVideo(raw.contains(QLatin1Char('%')) ? raw : path);
            continue;
        }
        if (isSceneFile(path)) {
            openScene(path);
            continue;
        }
        startImport(path, 0, addToProject && m_project);
    }
}

void MainWindow::startImport(const QString& path, int64_t assetId, bool addToProject) {
    m_loading << path;
    auto clock = std::make_shared<QElapsedTimer>();
    clock->start();
    const std::string file = path.toStdString();
    using ModelPtr = std::shared_ptr<const by::Model>;
    m_jobs->run<ModelPtr>(
        tr("Import %1").arg(fileName(path)),
        [file](const by::Progress& progress) -> by::Result<ModelPtr> {
            by::LoadOptions opts;
            opts.progress = &progress;
            progress.report(0.0, "reading");
            auto model = by::loadModel(file, opts);
            if (!model) return model.error();
            // Shapes on every edge and in the inspector; a failure here leaves shapes unknown
            // but never blocks opening the model.
            progress.report(0.9, "inferring shapes");
            auto shapes = by::inferShapes(*model);
            if (!shapes)
                model->warnings.push_back("shape inference stopped: " + shapes.error().what());
            else if (!shapes->warnings.empty())
                model->warnings.push_back("shape inference: " + std::to_string(shapes->warnings.size()) +
                                          " warnings, first: " + shapes->warnings.front());
            return ModelPtr(std::make_shared<by::Model>(std::move(*model)));
        },
        [this, path, assetId, addToProject, clock](by::Result<ModelPtr> result) {
            m_loading.removeAll(path);
            if (!result) {
                if (result.error().code == by::ErrorCode::Cancelled) {
                    logMessage(LogPanel::Severity::Info, tr("Import of %1 cancelled.").arg(fileName(path)));
                    emit modelOpenFailed(path, tr("cancelled"));
                    return;
                }
                const QString s = sentence(result.error());
                reportError(s);
                emit modelOpenFailed(path, s);
                return;
            }
            onModelLoaded(path, *result, assetId, addToProject, clock->elapsed() / 1000.0);
        });
}

void MainWindow::onModelLoaded(const QString& path, std::shared_ptr<const by::Model> model, int64_t assetId,
                               bool addToProject, double seconds) {
    auto* doc = new ModelDocument(model, path, m_tabs);
    connect(doc, &ModelDocument::nodeSelected, this, [this, doc](int node) {
        if (doc != currentDocument()) return;
        if (node >= 0)
            m_inspector->showNode(node);
        else if (m_inspector->shownNode() >= 0)
            m_inspector->showOverview();
    });
    connect(doc, &ModelDocument::valueSelected, this, [this, doc](int value) {
        if (doc == currentDocument() && value >= 0) m_inspector->showValue(value);
    });
    connect(doc, &ModelDocument::statusMessage, this,
            [this](const QString& m) { statusBar()->showMessage(m, kStatusTimeoutMs); });
    connect(doc, &ModelDocument::layoutProgress, this, [this, doc](double f) {
        if (doc != currentDocument()) return;
        m_layoutBar->setValue(int(f * 100));
        m_layoutBar->setVisible(f < 1.0);
    });
    connect(doc, &ModelDocument::layoutFinished, this, [this, doc](int, double) {
        if (doc != currentDocument()) return;
        m_layoutBar->hide();
    });

    const int tab = m_tabs->addTab(doc, doc->title());
    m_tabs->setTabToolTip(tab, path);
    m_tabs->setCurrentIndex(tab);
    addRecentFile(path);

    const by::ModelSummary s = by::summarize(*model);
    logMessage(LogPanel::Severity::Info,
               tr("Opened %1: %2, %3 nodes, %4 parameters (%5 s).")
                   .arg(fileName(path), display::formatName(model->format), display::count(s.nodes),
                        display::compactCount(s.parameters))
                   .arg(seconds, 0, 'f', 2));
    const size_t shown = std::min<size_t>(model->warnings.size(), 5);
    for (size_t i = 0; i < shown; ++i)
        m_log->append(LogPanel::Severity::Warning, tr("%1: %2").arg(fileName(path), qs(model->warnings[i])));
    if (model->warnings.size() > shown)
        m_log->append(LogPanel::Severity::Warning, tr("%1: %2 more warnings (see the inspector).")
                                                       .arg(fileName(path))
                                                       .arg(model->warnings.size() - shown));

    if (addToProject && m_project) addModelToProject(path);
    if (m_project && assetId == 0) {
        // A file opened directly may already be in the project: link the tab to its asset.
        if (auto assets = m_project->assets())
            for (const auto& a : *assets)
                if (QFileInfo(qs(m_project->resolveAssetPath(a).path)).absoluteFilePath() == path)
                    assetId = a.id;
    }
    if (assetId) {
        doc->setProjectAsset(assetId);
        recordParameterCount(assetId, *model);
    }
    emit modelOpened(doc);
    // A neural light field is a model (its graph tab above, to inspect and compress) and a 3D
    // scene: its view opens beside the graph.
    if (by::looksLikeLightField(*model)) openLightFieldView(path, *model);
}

void MainWindow::openLightFieldView(const QString& path, const by::Model& model) {
    auto mlp = by::extractLightField(model);
    if (!mlp) {
        m_log->append(LogPanel::Severity::Warning,
                      tr("%1 looks like a light field but cannot be drawn as one: %2").arg(fileName(path), qs(mlp.error().what())));
        return;
    }
    auto* doc = new SceneDocument(std::make_shared<const by::LightFieldMlp>(std::move(*mlp)), path, m_tabs);
    addSceneTab(doc, path);
    logMessage(LogPanel::Severity::Info, tr("%1 is a neural light field: its 3D view renders progressively (smaller while the camera moves).")
                                             .arg(fileName(path)));
    emit sceneOpened(doc);
}

void MainWindow::closeTab(int index) {
    QWidget* w = m_tabs->widget(index);
    if (!w) return;
    m_tabs->removeTab(index);
    w->deleteLater();
    if (m_tabs->count() == 0) onCurrentTabChanged(-1);
}

void MainWindow::onCurrentTabChanged(int) {
    ModelDocument* doc = currentDocument();
    const bool scene = qobject_cast<SceneDocument*>(m_tabs->currentWidget()) != nullptr;
    m_centre->setCurrentWidget(doc || scene ? static_cast<QWidget*>(m_tabs) : m_welcome);
    m_inspector->setModel(doc ? doc->model() : nullptr);
    if (doc && doc->selectedNode() >= 0) m_inspector->showNode(doc->selectedNode());
    m_evalPanel->setModel(doc ? doc->path() : QString(), doc ? doc->title() : QString());
    m_compressPanel->setDocument(doc);
    refreshEvaluationHistory();
    m_layoutBar->hide();
    if (doc) {
        const by::ModelSummary s = by::summarize(*doc->model());
        m_statusInfo->setText(
            tr("%1 nodes, %2 weights").arg(display::count(s.nodes), display::bytes(s.weightBytes)));
    } else {
        m_statusInfo->clear();
    }
    updateActions();
    updateTitle();
}

void MainWindow::selectNode(int nodeIndex) {
    ModelDocument* d = currentDocument();
    if (!d) return;
    d->selectNode(nodeIndex);
    if (nodeIndex >= 0)
        m_inspector->showNode(nodeIndex);
    else
        m_inspector->showOverview();
}

// ---- project ---------------------------------------------------------------------------------------

void MainWindow::setProject(std::unique_ptr<by::Project> project) {
    // Undo entries refer to the project they were made in.
    m_undo->clear();
    m_project = std::move(project);
    m_projectPanel->setProject(m_project.get());
    m_compressPanel->setProject(m_project.get(), m_undo);
    m_comparePanel->setProject(m_project.get());
    if (m_project) {
        (void)by::RecentProjects(by::RecentProjects::defaultFile()).add(m_project->path());
        QSettings().setValue(QStringLiteral("project/last"), qs(m_project->path()));
        // Tabs already open may be assets of this project.
        auto assets = m_project->assets();
        for (int i = 0; i < m_tabs->count() && assets; ++i) {
            ModelDocument* d = document(i);
            if (!d) continue;  // 3D scene tabs are not project assets
            d->setProjectAsset(0);
            for (const auto& a : *assets)
                if (QFileInfo(qs(m_project->resolveAssetPath(a).path)).absoluteFilePath() ==
                    QFileInfo(d->path()).absoluteFilePath())
                    d->setProjectAsset(a.id);
        }
    } else {
        for (int i = 0; i < m_tabs->count(); ++i)
            if (ModelDocument* d = document(i)) d->setProjectAsset(0);
    }
    updateRecentMenus();
    updateActions();
    updateTitle();
    emit projectChanged();
}

void MainWindow::refreshProject() {
    m_projectPanel->refresh();
    m_comparePanel->refresh();
    refreshEvaluationHistory();
    updateActions();
}

void MainWindow::refreshEvaluationHistory() {
    ModelDocument* doc = currentDocument();
    if (!m_project || !doc || doc->projectAsset() <= 0) {
        m_evalPanel->setHistory({});
        return;
    }
    auto root = m_project->rootVariant(doc->projectAsset());
    if (!root) {
        m_evalPanel->setHistory({});
        return;
    }
    auto rows = m_project->evaluations(root->id);
    std::vector<by::Evaluation> list = rows ? std::move(*rows) : std::vector<by::Evaluation>{};
    std::reverse(list.begin(), list.end());
    m_evalPanel->setHistory(list);
}

int MainWindow::evaluateCurrentModel() {
    ModelDocument* doc = currentDocument();
    if (!doc) {
        reportError(tr("Open a model before evaluating it."));
        return 0;
    }
    if (m_evalJob && m_jobs->isRunning(m_evalJob)) {
        reportError(tr("An evaluation is already running; cancel it or wait for it."));
        return 0;
    }
    by::cli::EvalRequest request = m_evalPanel->request();
    request.modelPath = doc->path().toStdString();
    if (request.dataSpec.empty()) {
        reportError(tr("Choose a dataset for the evaluation first."));
        return 0;
    }
    std::shared_ptr<const by::Model> model = doc->model();
    const int64_t assetId = doc->projectAsset();
    const QString name = QFileInfo(doc->path()).fileName();
    m_evalPanel->setRunning(true);
    m_evalDock->raise();
    logMessage(LogPanel::Severity::Info, tr("Evaluating %1 on %2.").arg(name, qs(request.dataSpec)));
    m_evalJob = m_jobs->run<by::EvalReport>(
        tr("Evaluate %1").arg(name),
        [model, request](const by::Progress& p) { return by::cli::runEvaluation(*model, request, &p); },
        [this, request, assetId, name](by::Result<by::EvalReport> result) {
            m_evalJob = 0;
            m_evalPanel->setRunning(false);
            if (!result) {
                const QString s = result.error().code == by::ErrorCode::Cancelled ? tr("Evaluation cancelled.")
                                                                                  : sentence(result.error());
                m_evalPanel->showError(s);
                if (result.error().code == by::ErrorCode::Cancelled)
                    logMessage(LogPanel::Severity::Info, s);
                else
                    reportError(tr("Evaluating %1: %2").arg(name, s));
                return;
            }
            m_evalPanel->showReport(*result);
            logMessage(LogPanel::Severity::Info, tr("Evaluated %1: %2 samples.").arg(name).arg(result->samples));
            if (m_project && assetId > 0) {
                auto root = m_project->rootVariant(assetId);
                by::Status st = root ? by::cli::storeReport(*m_project, root->id, *result, request) : by::Status(root.error());
                if (!st) reportError(sentence(st.error()));
                refreshProject();
            }
        });
    return m_evalJob;
}

bool MainWindow::openProject(const QString& path) {
    const QString abs = QFileInfo(path).absoluteFilePath();
    if (m_project && QFileInfo(qs(m_project->path())).absoluteFilePath() == abs) return true;
    auto opened = by::Project::open(abs.toStdString());
    if (!opened) {
        reportError(sentence(opened.error()));
        return false;
    }
    setProject(std::make_unique<by::Project>(std::move(*opened)));
    const auto counts = m_project->counts();
    logMessage(
        LogPanel::Severity::Info,
        tr("Opened project %1 (%2 assets).").arg(qs(m_project->name())).arg(counts ? counts->assets : 0));
    return true;
}

bool MainWindow::createProject(const QString& path) {
    QString target = QFileInfo(path).absoluteFilePath();
    if (!isProjectFile(target)) target += QString::fromLatin1(by::kProjectExtension);
    auto created = by::Project::create(target.toStdString(), std::string());
    if (!created) {
        reportError(sentence(created.error()));
        return false;
    }
    setProject(std::make_unique<by::Project>(std::move(*created)));
    logMessage(LogPanel::Severity::Info, tr("Created project %1.").arg(fileName(target)));
    return true;
}

void MainWindow::closeProject() {
    if (!m_project) return;
    const QString name = qs(m_project->name());
    setProject(nullptr);
    QSettings().setValue(QStringLiteral("project/last"), QString());
    logMessage(LogPanel::Severity::Info, tr("Closed project %1.").arg(name));
}

bool MainWindow::addModelToProject(const QString& path) {
    if (!m_project) {
        reportError(tr("No project is open; create or open one before adding models."));
        return false;
    }
    by::NewAsset asset;
    asset.path = QFileInfo(path).absoluteFilePath().toStdString();
    asset.kind = by::AssetKind::Model;
    const int tab = tabForPath(path);
    if (tab >= 0 && document(tab)) asset.parameterCount = document(tab)->model()->graph.parameterCount();

    ProjectCommandHooks hooks;
    hooks.changed = [this]() { refreshProject(); };
    hooks.failed = [this](const QString& s) { reportError(s); };
    hooks.info = [this](const QString& s) { logMessage(LogPanel::Severity::Info, s); };
    auto* cmd = new AddAssetCommand(*m_project, hooks, asset);
    const int before = m_undo->count();
    m_undo->push(cmd); // runs redo(); an obsolete command (failed or already there) is dropped
    if (m_undo->count() == before) return false;
    if (tab >= 0) document(tab)->setProjectAsset(cmd->assetId());
    logMessage(LogPanel::Severity::Info,
               tr("Added %1 to project %2.").arg(fileName(path), qs(m_project->name())));
    return true;
}

bool MainWindow::addNote(int64_t assetId, int64_t variantId, const QString& text) {
    if (!m_project || text.trimmed().isEmpty()) return false;
    by::NoteTarget target = by::NoteTarget::project();
    if (variantId)
        target = by::NoteTarget::of(by::NoteTargetKind::Variant, variantId);
    else if (assetId)
        target = by::NoteTarget::of(by::NoteTargetKind::Asset, assetId);
    ProjectCommandHooks hooks;
    hooks.changed = [this]() { refreshProject(); };
    hooks.failed = [this](const QString& s) { reportError(s); };
    const int before = m_undo->count();
    m_undo->push(new AddNoteCommand(*m_project, hooks, target, text.trimmed().toStdString()));
    return m_undo->count() != before;
}

bool MainWindow::renameVariant(int64_t variantId, const QString& newName) {
    if (!m_project || newName.trimmed().isEmpty()) return false;
    ProjectCommandHooks hooks;
    hooks.changed = [this]() { refreshProject(); };
    hooks.failed = [this](const QString& s) { reportError(s); };
    const int before = m_undo->count();
    m_undo->push(new RenameVariantCommand(*m_project, hooks, variantId, newName.trimmed().toStdString()));
    return m_undo->count() != before;
}

void MainWindow::recordParameterCount(int64_t assetId, const by::Model& model) {
    if (!m_project) return;
    auto root = m_project->rootVariant(assetId);
    if (!root || root->parameterCount > 0) return;
    if (m_project->setVariantParameterCount(root->id, model.graph.parameterCount()))
        m_projectPanel->refresh();
}

void MainWindow::openDemoProject(const QString& projectPath, const QString& cacheDir,
                                 const QString& mainModel, std::function<void(bool, const QString&)> done) {
    auto openMain = [this, mainModel, done]() {
        if (!m_project) {
            if (done) done(false, tr("the demo project could not be opened"));
            return;
        }
        if (mainModel.isEmpty()) {
            if (done) done(true, QString());
            return;
        }
        auto assets = m_project->assets();
        if (assets) {
            for (const auto& a : *assets) {
                const by::AssetLocation where = m_project->resolveAssetPath(a);
                if (fileName(qs(where.path)) != mainModel) continue;
                if (where.status == by::AssetStatus::Missing) {
                    reportError(qs(where.message));
                    if (done) done(false, qs(where.message));
                    return;
                }
                const QString path = QFileInfo(qs(where.path)).absoluteFilePath();
                if (tabForPath(path) < 0 && !m_loading.contains(path)) startImport(path, a.id, false);
                if (done) done(true, QString());
                return;
            }
        }
        const QString msg = tr("The demo project has no model named %1.").arg(mainModel);
        reportError(msg);
        if (done) done(false, msg);
    };

    if (QFileInfo::exists(projectPath)) {
        if (!openProject(projectPath)) {
            if (done) done(false, m_log->entryMessage(m_log->entryCount() - 1));
            return;
        }
        // A demo made by an older version gets the demo assets added since.
        if (auto added = by::addMissingDemoAssets(*m_project, cacheDir.toStdString()); !added) {
            reportError(sentence(added.error()));
        } else if (*added > 0) {
            logMessage(LogPanel::Severity::Info, tr("Added %1 new demo assets to the demo project.").arg(*added));
            refreshProject();
        }
        openMain();
        return;
    }
    QDir().mkpath(QFileInfo(projectPath).absolutePath());
    const std::string project = QFileInfo(projectPath).absoluteFilePath().toStdString();
    const std::string cache = cacheDir.toStdString();
    logMessage(LogPanel::Severity::Info, tr("Creating the demo project at %1...").arg(projectPath));
    m_jobs->run<by::Project>(
        tr("Create demo project"),
        [project, cache](const by::Progress& progress) -> by::Result<by::Project> {
            progress.report(0.0, "adding demo assets");
            return by::createDemoProject(project, cache);
        },
        [this, openMain, done](by::Result<by::Project> result) {
            if (!result) {
                const QString s = sentence(result.error());
                reportError(s);
                if (done) done(false, s);
                return;
            }
            setProject(std::make_unique<by::Project>(std::move(*result)));
            logMessage(LogPanel::Severity::Info,
                       tr("Created the demo project %1.").arg(qs(m_project->path())));
            openMain();
        });
}

// ---- menu handlers ------------------------------------------------------------------------------

void MainWindow::onOpenModel() {
    const QString dir = QSettings().value(QStringLiteral("dialogs/modelDir"), QDir::homePath()).toString();
    const QStringList paths = QFileDialog::getOpenFileNames(this, tr("Open Model"), dir, modelFileFilter());
    if (paths.isEmpty()) return;
    QSettings().setValue(QStringLiteral("dialogs/modelDir"), QFileInfo(paths.first()).absolutePath());
    openModelFiles(paths);
}

void MainWindow::onOpenProject() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Project"), QDir::homePath(),
                                                      tr("Brickyard projects (*.byproj);;All files (*)"));
    if (!path.isEmpty()) openProject(path);
}

void MainWindow::onNewProject() {
    const QString path = QFileDialog::getSaveFileName(this, tr("New Project"),
                                                      QDir::homePath() + QStringLiteral("/untitled.byproj"),
                                                      tr("Brickyard projects (*.byproj)"));
    if (!path.isEmpty()) createProject(path);
}

void MainWindow::onAddModelToProject() {
    if (!m_project) {
        reportError(tr("No project is open; create or open one before adding models."));
        return;
    }
    QStringList paths;
    if (auto* d = currentDocument(); d && d->projectAsset() == 0) {
        // The open model is the obvious candidate; offer the file dialog only when there is none.
        paths << d->path();
    } else {
        paths = QFileDialog::getOpenFileNames(this, tr("Add Model to Project"), QDir::homePath(),
                                              modelFileFilter());
    }
    for (const QString& p : paths)
        addModelToProject(p);
}

void MainWindow::onAddNote(int64_t assetId, int64_t variantId) {
    if (!m_project) {
        reportError(tr("No project is open; notes are kept in a project."));
        return;
    }
    bool ok = false;
    const QString text = QInputDialog::getMultiLineText(this, tr("Add Note"), tr("Note:"), QString(), &ok);
    if (ok) addNote(assetId, variantId, text);
}

void MainWindow::onRenameVariant(int64_t variantId, const QString& currentName) {
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Rename Variant"), tr("New name:"), QLineEdit::Normal,
                                               currentName, &ok);
    if (ok && name != currentName) renameVariant(variantId, name);
}

void MainWindow::onOpenDemo() {
    const QString cache = QString::fromStdString(by::cli::assetCacheDir());
    openDemoProject(QDir::homePath() + QStringLiteral("/.local/share/brickyard/demo.byproj"), cache,
                    QStringLiteral("ch_PP-OCRv4_rec_infer.onnx"));
}

void MainWindow::onPreferences() {
    PreferencesDialog dialog(m_prefs, this);
    if (dialog.exec() != QDialog::Accepted) return;
    m_prefs = dialog.preferences();
    m_prefs.save();
    updateRecentMenus();
}

void MainWindow::onAbout() {
    QMessageBox::about(
        this, tr("About Brickyard"),
        tr("<h3>Brickyard %1</h3><p>A workbench for edge AI: open a model, look inside it, compress "
           "it while watching what that costs, and push the result to a device.</p>"
           "<p>Built with Qt %2.</p>")
            .arg(QCoreApplication::applicationVersion(), QString::fromLatin1(qVersion())));
}

// ---- state --------------------------------------------------------------------------------------

void MainWindow::updateActions() {
    Actions& a = *m_actions;
    const bool doc = currentDocument() != nullptr;
    for (QAction* act : {a.closeTab, a.find, a.findNext, a.findPrevious, a.fit, a.zoomIn, a.zoomOut,
                         a.collapseAll, a.expandAll})
        act->setEnabled(doc);
    a.addToProject->setEnabled(m_project != nullptr);
    a.closeProject->setEnabled(m_project != nullptr);
    a.addNote->setEnabled(m_project != nullptr);
}

void MainWindow::updateTitle() {
    QStringList parts;
    if (auto* d = currentDocument()) parts << d->title();
    if (m_project) parts << qs(m_project->name());
    parts << tr("Brickyard");
    setWindowTitle(parts.join(QStringLiteral(" - ")));
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSettings();
    m_jobs->cancelAll();
    event->accept();
}

// ---- drag and drop ------------------------------------------------------------------------------

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (!event->mimeData()->hasUrls()) return;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
    }
}

void MainWindow::dragMoveEvent(QDragMoveEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    QStringList models;
    QString project;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (!url.isLocalFile()) continue;
        const QString path = url.toLocalFile();
        if (isProjectFile(path))
            project = path;
        else
            models << path;
    }
    if (models.isEmpty() && project.isEmpty()) return;
    event->acceptProposedAction();
    if (!project.isEmpty()) openProject(project);
    if (!models.isEmpty()) openModelFiles(models, m_project != nullptr);
}
