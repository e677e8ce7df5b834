#pragma once
// The Brickyard main window: project tree (left), one tab per open model (centre), inspector
// (right), log and jobs (bottom). Model imports and the demo project are built by JobManager off
// the UI thread; project edits go through a QUndoStack and really change the SQLite file.
//
// Every failure a person can cause (a broken file, a missing asset, a locked project) becomes one
// sentence in the log and the status bar, never a crash and never a stack of dialogs.
#include "app/gui/scene_document.h"
#include "app/gui/log_panel.h"
#include "app/gui/preferences_dialog.h"
#include "engine/graph.h"

#include <QMainWindow>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <functional>
#include <type_traits>
#include <memory>

namespace by {
class Project;
struct NewAsset;
} // namespace by

class ComparePanel;
class CompressionPanel;
class EvaluationPanel;
class InspectorPanel;
class JobManager;
class JobsPanel;
class ModelDocument;
class ProjectPanel;
class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;
class QStackedWidget;
class QTabWidget;
class QUndoStack;
class WelcomePage;



class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // ---- what the menus do, callable directly (tests, command line, drops) ----
    // Starts one import job per file; each opens a tab when done or logs one sentence. With
    // `addToProject` and a project open, each file is also added to it (undoable). Files already
    // open just get their tab raised.
    void openModelFiles(const QStringList& paths, bool addToProject = false);
    // Opens (or creates, then opens) a project; false with the reason logged.
    bool openProject(const QString& path);
    bool createProject(const QString& path);
    void closeProject();
    // Reopens the project open at the end of the last session, when preferences say so.
    void restoreLastProject();
    // Adds a model file to the open project as an undoable step; false when none is open or it
    // failed (logged).
    bool addModelToProject(const QString& path);
    bool addNote(int64_t assetId, int64_t variantId, const QString& text);
    bool renameVariant(int64_t variantId, const QString& newName);
    // Builds the demo project at `projectPath` from `cacheDir` when it does not exist yet (as a
    // job), opens it, then opens `mainModel` from it in a tab. `done` gets the outcome.
    void openDemoProject(const QString& projectPath, const QString& cacheDir, const QString& mainModel,
                         std::function<void(bool ok, const QString& error)> done = {});
    void closeTab(int index);
    // Selects a node in the current document (and so shows it in the inspector).
    void selectNode(int nodeIndex);
    // Evaluates the current tab's model on the dataset the evaluation panel names, as a job; the
    // report goes to the panel and, when the model is a project asset, into the project.
    // Returns the job id, or 0 when nothing could start (the reason is logged).
    int evaluateCurrentModel();
    // File > Add to Scene without the dialog: reads `file` as a job and adds its meshes and
    // splats to the 3D tab on screen (SceneDocument::addToScene) when it finished, if that tab is
    // still open. The job id, or 0 when no scene tab is current (the reason is logged).
    int addFileToScene(const QString& file);

    // ---- parts, for tests and the command line ----
    JobManager* jobs() const { return m_jobs; }
    LogPanel* logPanel() const { return m_log; }
    JobsPanel* jobsPanel() const { return m_jobsPanel; }
    InspectorPanel* inspector() const { return m_inspector; }
    EvaluationPanel* evaluationPanel() const { return m_evalPanel; }
    QDockWidget* evaluationDock() const { return m_evalDock; }
    CompressionPanel* compressionPanel() const { return m_compressPanel; }
    QDockWidget* compressionDock() const { return m_compressDock; }
    ComparePanel* comparePanel() const { return m_comparePanel; }
    QDockWidget* compareDock() const { return m_compareDock; }
    ProjectPanel* projectPanel() const { return m_projectPanel; }
    QTabWidget* tabs() const { return m_tabs; }
    QUndoStack* undoStack() const { return m_undo; }
    by::Project* project() const { return m_project.get(); }
    int documentCount() const;
    ModelDocument* document(int index) const;
    ModelDocument* currentDocument() const;
    // A 3D scene tab (meshes or splats), or null when tab `index` shows something else.
    SceneDocument* sceneDocument(int index) const;
    // True for the extensions that open as a 3D scene rather than a model.
    static bool isSceneFile(const QString& path);
    // True for what opens as a Gaussian video: a folder, a manifest .json, a %d frame pattern.
    static bool isGaussianVideoPath(const QString& path);
    // The tab showing `path`, or -1.
    int tabForPath(const QString& path) const;
    QStringList recentFiles() const;

    // Writes to the log; errors also go to the status bar (and raise the log if preferred).
    void logMessage(LogPanel::Severity severity, const QString& message);
    void reportError(const QString& sentence);

signals:
    void modelOpened(ModelDocument* document);
    void modelOpenFailed(const QString& path, const QString& sentence);
    void sceneOpened(SceneDocument* document);
    // After addFileToScene: `ok` false with the sentence logged.
    void sceneAddFinished(SceneDocument* document, const QString& file, bool ok);
    void projectChanged();

private:
    void openScene(const QString& path);
    // Reads a 3D file as a job and opens it in a 3D tab (or logs why not).
    template <class T>
    void openSceneJob(const QString& path, std::function<by::Result<T>(const std::string&)> load, std::function<QString(const T&)> describe);
    // A 3D tab made current, its status messages and path-video requests wired.
    void addSceneTab(SceneDocument* doc, const QString& path);
    // A MobileNeRF-form scene (a folder holding mlp.json, or that file), read as a job.
    void openBakedNerf(const QString& path);
    // A second tab for a model that is a neural light field: its 3D view.
    void openLightFieldView(const QString& path, const by::Model& model);
    void runPathVideo(const SceneDocument::PathVideoRequest& request);
    // A Gaussian video: a 2D-video manifest (or its folder) or a PLY-sequence folder or %d pattern.
    void openGaussianVideo(const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createActions();
    void createMenus();
    void createDocks();
    void createStatusBar();
    void restoreSettings();
    void saveSettings();
    void updateActions();
    void updateTitle();
    void updateRecentMenus();
    void addRecentFile(const QString& path);
    QStringList recentProjects() const;

    void startImport(const QString& path, int64_t assetId, bool addToProject);
    void onModelLoaded(const QString& path, std::shared_ptr<const by::Model> model, int64_t assetId,
                       bool addToProject, double seconds);
    void onCurrentTabChanged(int index);
    void setProject(std::unique_ptr<by::Project> project);
    void refreshProject();
    void recordParameterCount(int64_t assetId, const by::Model& model);
    void refreshEvaluationHistory();

    void onOpenModel();
    void onOpenProject();
    void onNewProject();
    void onAddModelToProject();
    void onAddNote(int64_t assetId, int64_t variantId);
    void onRenameVariant(int64_t variantId, const QString& currentName);
    void onOpenDemo();
    void onPreferences();
    void onAbout();

    JobManager* m_jobs = nullptr;
    QUndoStack* m_undo = nullptr;
    std::unique_ptr<by::Project> m_project;
    Preferences m_prefs;

    QStackedWidget* m_centre = nullptr;
    WelcomePage* m_welcome = nullptr;
    QTabWidget* m_tabs = nullptr;
    QDockWidget* m_projectDock = nullptr;
    QDockWidget* m_inspectorDock = nullptr;
    QDockWidget* m_logDock = nullptr;
    ProjectPanel* m_projectPanel = nullptr;
    InspectorPanel* m_inspector = nullptr;
    EvaluationPanel* m_evalPanel = nullptr;
    QDockWidget* m_evalDock = nullptr;
    int m_evalJob = 0;
    CompressionPanel* m_compressPanel = nullptr;
    QDockWidget* m_compressDock = nullptr;
    ComparePanel* m_comparePanel = nullptr;
    QDockWidget* m_compareDock = nullptr;
    LogPanel* m_log = nullptr;
    JobsPanel* m_jobsPanel = nullptr;
    QLabel* m_statusInfo = nullptr;
    QProgressBar* m_layoutBar = nullptr;
    QMenu* m_recentFilesMenu = nullptr;
    QMenu* m_recentProjectsMenu = nullptr;

    struct Actions;
    std::unique_ptr<Actions> m_actions;
    QStringList m_loading; // paths with an import job in flight
    bool m_stateRestored = false;
    bool m_shown = false;
};
