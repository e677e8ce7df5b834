// The main window driven the way a person drives it: File > Open's code path, node selection,
// a broken file, undo/redo of project edits, and a file dropped on the window. Runs with a real
// QApplication on an X server (the suite runs under xvfb-run), not the offscreen platform.
#include "app/gui/confusion_matrix_widget.h"
#include "app/gui/display_format.h"
#include "app/gui/evaluation_panel.h"
#include "app/gui/graph_canvas.h"
#include "app/gui/histogram_widget.h"
#include "app/gui/inspector_panel.h"
#include "app/gui/job_manager.h"
#include "app/gui/jobs_panel.h"
#include "app/gui/log_panel.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/project_panel.h"
#include "projects/project.h"
#include "tests/gui/gui_test_support.h"
#include "tests/test_support.h"

#include <QApplication>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QThread>
#include <QUndoStack>
#include <QUrl>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <gtest/gtest.h>
#include <random>

namespace {

using by::test::ensureApp;
using by::test::waitUntil;



QString model(const char* file) {
    return QString::fromStdString(by::test::asset(std::string("models/") + file));
}

class MainWindowTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(std::getenv("DISPLAY") && *std::getenv("DISPLAY"))
            << "the GUI tests need an X server: run them under xvfb-run -a -s \"-screen 0 1280x800x24\"";
        ensureApp();
        m_window = std::make_unique<MainWindow>();
        m_window->show();
        m_dir = QString::fromStdString(by::test::tempDir());
    }
    void TearDown() override { m_window.reset(); }

    // File > Open without the dialog: the same call the menu action makes with its choice.
    void openAndWait(const QString& path) {
        m_window->openModelFiles({path});
        ASSERT_TRUE(m_window->jobs()->waitForIdle(60000)) << "import did not finish";
    }

    std::unique_ptr<MainWindow> m_window;
    QString m_dir;
};

TEST_F(MainWindowTest, OpenModelAddsTabWithSummary) {
    const QString path = model("ch_PP-OCRv4_rec_infer.onnx");
    openAndWait(path);
    ASSERT_EQ(m_window->documentCount(), 1);
    ModelDocument* doc = m_window->currentDocument();
    ASSERT_NE(doc, nullptr);
    EXPECT_EQ(m_window->tabs()->tabText(0), QStringLiteral("ch_PP-OCRv4_rec_infer.onnx"));

    const by::ModelSummary s = by::summarize(*doc->model());
    const QString summary = doc->summaryText();
    EXPECT_TRUE(summary.contains(QStringLiteral("ONNX"))) << summary.toStdString();
    EXPECT_TRUE(summary.contains(display::count(s.nodes) + QStringLiteral(" nodes")))
        << summary.toStdString();
    EXPECT_TRUE(summary.contains(display::compactCount(s.parameters) + QStringLiteral(" parameters")));
    EXPECT_TRUE(summary.contains(display::bytes(s.weightBytes)));
    EXPECT_TRUE(summary.contains(QStringLiteral("Inputs: x: f32"))) << summary.toStdString();
    EXPECT_TRUE(summary.contains(QStringLiteral("Outputs: "))) << summary.toStdString();
    EXPECT_GT(s.parameters, 1000000);

    // The canvas lays the model out in the background and says when it is done.
    EXPECT_TRUE(waitUntil([&] { return doc->isLaidOut(); }));
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 0);
    EXPECT_TRUE(m_window->recentFiles().contains(path));

    // Opening it again raises the tab instead of importing twice.
    m_window->openModelFiles({path});
    EXPECT_EQ(m_window->jobs()->activeCount(), 0);
    EXPECT_EQ(m_window->documentCount(), 1);
}

TEST_F(MainWindowTest, SelectingConvShowsOpTypeAndWeightHistogram) {
    openAndWait(model("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
    ASSERT_EQ(m_window->documentCount(), 1);
    ModelDocument* doc = m_window->currentDocument();
    ASSERT_TRUE(waitUntil([&] { return doc->isLaidOut(); }));

    const by::Graph& g = doc->model()->graph;
    int conv = -1;
    for (size_t i = 0; i < g.nodes.size() && conv < 0; ++i)
        if (g.nodes[i].opType == "Conv" || g.nodes[i].opType == "MatMul")
            for (int in : g.nodes[i].inputs)
                if (in >= 0 && g.values[in].data) conv = int(i);
    ASSERT_GE(conv, 0) << "no Conv/MatMul node with weights";

    m_window->selectNode(conv);
    InspectorPanel* inspector = m_window->inspector();
    EXPECT_EQ(inspector->shownNode(), conv);
    EXPECT_EQ(inspector->shownOpType(), QString::fromStdString(g.nodes[conv].opType));
    ASSERT_TRUE(waitUntil([&] { return inspector->pendingStats() == 0; }));
    const QList<HistogramWidget*> histograms = inspector->histograms();
    ASSERT_FALSE(histograms.isEmpty());
    EXPECT_TRUE(histograms.first()->hasData());
    int64_t total = 0;
    for (int64_t c : histograms.first()->bins())
        total += c;
    EXPECT_GT(total, 0);

    // Clearing the selection goes back to the model overview.
    m_window->selectNode(-1);
    EXPECT_EQ(inspector->shownNode(), -1);
    EXPECT_TRUE(inspector->shownOpType().isEmpty());
}

TEST_F(MainWindowTest, LargeWeightStatisticsArriveFromAWorker) {
    openAndWait(model("ch_PP-OCRv4_rec_infer.onnx"));
    ModelDocument* doc = m_window->currentDocument();
    ASSERT_NE(doc, nullptr);
    const by::Graph& g = doc->model()->graph;
    int node = -1;
    for (size_t i = 0; i < g.nodes.size() && node < 0; ++i)
        for (int in : g.nodes[i].inputs)
            if (in >= 0 && g.values[in].data && g.values[in].data->numel() > InspectorPanel::kSyncStatsLimit)
                node = int(i);
    ASSERT_GE(node, 0) << "expected a tensor above the synchronous limit in this model";
    m_window->selectNode(node);
    InspectorPanel* inspector = m_window->inspector();
    ASSERT_TRUE(waitUntil([&] { return inspector->pendingStats() == 0; }));
    bool any = false;
    for (HistogramWidget* h : inspector->histograms())
        any = any || h->hasData();
    EXPECT_TRUE(any);
    // The selection reaches the canvas too once its layout is ready.
    ASSERT_TRUE(waitUntil([&] { return doc->isLaidOut(); }));
    EXPECT_TRUE(waitUntil([&] { return doc->selectedNode() == node; }, 5000));
}

TEST_F(MainWindowTest, BrokenFileLogsOneSentenceAndOpensNoTab) {
    const QString path = m_dir + QStringLiteral("/broken.onnx");
    {
        QFile f(path);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        std::mt19937 rng(1234);
        QByteArray bytes(4096, '\0');
        for (char& c : bytes)
            c = char(rng() & 0xff);
        f.write(bytes);
    }
    int failures = 0;
    QObject::connect(m_window.get(), &MainWindow::modelOpenFailed,
                     [&](const QString&, const QString&) { ++failures; });
    openAndWait(path);
    EXPECT_EQ(m_window->documentCount(), 0);
    EXPECT_EQ(failures, 1);
    LogPanel* log = m_window->logPanel();
    ASSERT_EQ(log->countOf(LogPanel::Severity::Error), 1);
    QString message;
    for (int i = 0; i < log->entryCount(); ++i)
        if (log->entrySeverity(i) == LogPanel::Severity::Error) message = log->entryMessage(i);
    EXPECT_TRUE(message.contains(QStringLiteral("broken.onnx"))) << message.toStdString();
    EXPECT_FALSE(message.contains(QLatin1Char('\n')));
    EXPECT_TRUE(message.endsWith(QLatin1Char('.'))) << message.toStdString();
    EXPECT_EQ(m_window->statusBar()->currentMessage(), message);
}

TEST_F(MainWindowTest, UndoRedoOfAddAssetChangesTheProjectFile) {
    const QString projectPath = m_dir + QStringLiteral("/work.byproj");
    ASSERT_TRUE(m_window->createProject(projectPath));
    ASSERT_NE(m_window->project(), nullptr);

    // Another connection to the same file sees exactly what was committed.
    auto assetsOnDisk = [&]() -> int64_t {
        auto p = by::Project::open(projectPath.toStdString());
        if (!p) return -1;
        auto a = p->assets();
        return a ? int64_t(a->size()) : -1;
    };
    EXPECT_EQ(assetsOnDisk(), 0);

    ASSERT_TRUE(m_window->addModelToProject(model("ch_ppocr_mobile_v2.0_cls_infer.onnx")));
    EXPECT_EQ(assetsOnDisk(), 1);
    EXPECT_EQ(m_window->projectPanel()->assetCount(), 1);
    QUndoStack* undo = m_window->undoStack();
    ASSERT_EQ(undo->count(), 1);

    undo->undo();
    EXPECT_EQ(assetsOnDisk(), 0);
    EXPECT_EQ(m_window->projectPanel()->assetCount(), 0);
    undo->redo();
    EXPECT_EQ(assetsOnDisk(), 1);
    EXPECT_EQ(m_window->projectPanel()->assetCount(), 1);

    // The same content again is not a second asset and leaves no undo entry.
    EXPECT_FALSE(m_window->addModelToProject(model("ch_ppocr_mobile_v2.0_cls_infer.onnx")));
    EXPECT_EQ(undo->count(), 1);
    EXPECT_EQ(assetsOnDisk(), 1);
}

TEST_F(MainWindowTest, UndoRedoOfNotesAndVariantRenamesChangesTheProjectFile) {
    const QString projectPath = m_dir + QStringLiteral("/edits.byproj");
    ASSERT_TRUE(m_window->createProject(projectPath));
    ASSERT_TRUE(m_window->addModelToProject(model("ch_ppocr_mobile_v2.0_cls_infer.onnx")));
    auto reopen = [&] { return by::Project::open(projectPath.toStdString()); };
    int64_t assetId = 0, variantId = 0;
    {
        auto p = reopen();
        ASSERT_TRUE(p.ok());
        assetId = p->assets()->at(0).id;
        variantId = p->rootVariant(assetId)->id;
    }
    auto noteTexts = [&]() {
        std::vector<std::string> out;
        auto p = reopen();
        if (p)
            if (auto n = p->notes())
                for (const auto& note : *n)
                    out.push_back(note.text);
        return out;
    };
    auto variantName = [&]() -> std::string {
        auto p = reopen();
        if (!p) return "?";
        auto v = p->variant(variantId);
        return v ? v->name : "?";
    };

    ASSERT_TRUE(m_window->addNote(assetId, 0, QStringLiteral("Baseline before pruning.")));
    EXPECT_EQ(noteTexts(), std::vector<std::string>{"Baseline before pruning."});
    ASSERT_TRUE(m_window->renameVariant(variantId, QStringLiteral("fp32 baseline")));
    EXPECT_EQ(variantName(), "fp32 baseline");

    QUndoStack* undo = m_window->undoStack();
    EXPECT_EQ(undo->count(), 3);
    undo->undo(); // rename
    EXPECT_EQ(variantName(), "original");
    undo->undo(); // note
    EXPECT_TRUE(noteTexts().empty());
    undo->redo();
    EXPECT_EQ(noteTexts(), std::vector<std::string>{"Baseline before pruning."});
    undo->redo();
    EXPECT_EQ(variantName(), "fp32 baseline");
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 0);

    // Closing the project drops the history that refers to it.
    m_window->closeProject();
    EXPECT_EQ(undo->count(), 0);
}

TEST_F(MainWindowTest, EvaluationPanelRunsAJobAndRecordsItInTheProject) {
    const QString projectPath = m_dir + QStringLiteral("/evaluate.byproj");
    ASSERT_TRUE(m_window->createProject(projectPath));
    m_window->openModelFiles({model("ch_PP-OCRv4_rec_infer.onnx")}, true);
    ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
    ASSERT_NE(m_window->currentDocument(), nullptr);
    EvaluationPanel* panel = m_window->evaluationPanel();
    panel->setDataSpec(QStringLiteral("images:") + QString::fromStdString(by::test::asset("data/textlines")));
    panel->findChildren<QSpinBox*>()[1]->setValue(6);  // samples
    auto* button = panel->findChild<QPushButton*>(QStringLiteral("evaluateButton"));
    ASSERT_NE(button, nullptr);
    button->click();
    EXPECT_TRUE(panel->isRunning());
    ASSERT_TRUE(m_window->jobs()->waitForIdle(120000));
    EXPECT_FALSE(panel->isRunning());
    EXPECT_TRUE(panel->summaryText().contains(QStringLiteral("characters"))) << panel->summaryText().toStdString();
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 0);
    // Two quality rows for this variant, shown in the panel's history and present in the file.
    EXPECT_EQ(panel->historyRows(), 2);
    auto p = by::Project::open(projectPath.toStdString());
    ASSERT_TRUE(p.ok());
    auto evals = p->evaluations();
    ASSERT_TRUE(evals.ok());
    EXPECT_EQ(evals->size(), 2u);

    // A dataset that does not exist: one sentence in the panel and the log, no crash, no rows.
    panel->setDataSpec(QStringLiteral("mnist:") + m_dir + QStringLiteral("/missing"));
    button->click();
    ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 1);
    EXPECT_TRUE(panel->summaryText().contains(QStringLiteral("missing"))) << panel->summaryText().toStdString();
    EXPECT_EQ(p->evaluations()->size(), 2u);
}

TEST_F(MainWindowTest, DroppedModelFileOpensAndJoinsTheOpenProject) {
    const QString projectPath = m_dir + QStringLiteral("/drop.byproj");
    ASSERT_TRUE(m_window->createProject(projectPath));
    const QString path = model("ch_ppocr_mobile_v2.0_cls_infer.onnx");

    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    const QPointF centre(m_window->width() / 2.0, m_window->height() / 2.0);
    QDragEnterEvent enter(centre.toPoint(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window.get(), &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(centre, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window.get(), &drop);
    EXPECT_TRUE(drop.isAccepted());

    ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
    ASSERT_EQ(m_window->documentCount(), 1);
    EXPECT_EQ(m_window->currentDocument()->path(), path);
    EXPECT_EQ(m_window->projectPanel()->assetCount(), 1);
    EXPECT_NE(m_window->currentDocument()->projectAsset(), 0);
    EXPECT_EQ(m_window->undoStack()->count(), 1);
}

TEST_F(MainWindowTest, DropOfNonFileDataIsIgnored) {
    QMimeData mime;
    mime.setText(QStringLiteral("not a file"));
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window.get(), &enter);
    EXPECT_FALSE(enter.isAccepted());
}

TEST(JobManagerTest, CancelStopsAJobAndDeliversCancelledOnTheUiThread) {
    ensureApp();
    JobManager jobs;
    JobsPanel panel(&jobs);
    std::atomic<bool> started{false};
    bool delivered = false;
    bool cancelled = false;
    bool onUiThread = false;
    const int id = jobs.run<int>(
        QStringLiteral("spin"),
        [&](const by::Progress& p) -> by::Result<int> {
            started = true;
            for (int i = 0; !p.cancelled(); ++i) {
                p.report(std::min(0.99, i / 1000.0), "spinning");
                QThread::msleep(1);
            }
            return by::makeError(by::ErrorCode::Cancelled, "cancelled");
        },
        [&](by::Result<int> r) {
            delivered = true;
            cancelled = !r.ok() && r.error().code == by::ErrorCode::Cancelled;
            onUiThread = QThread::currentThread() == QApplication::instance()->thread();
        });
    EXPECT_EQ(panel.rowCount(), 1);
    ASSERT_TRUE(waitUntil([&] { return started.load(); }, 10000));
    EXPECT_TRUE(panel.cancelRow(id));
    ASSERT_TRUE(jobs.waitForIdle(10000));
    EXPECT_TRUE(delivered);
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(onUiThread);
    EXPECT_EQ(panel.rowCount(), 1); // the finished row stays until cleared
    panel.clearFinished();
    EXPECT_EQ(panel.rowCount(), 0);
}

TEST(JobManagerTest, EveryJobDeliversItsResultOnce) {
    ensureApp();
    JobManager jobs;
    std::vector<int> got;
    for (int i = 0; i < 4; ++i)
        jobs.run<int>(
            QStringLiteral("job %1").arg(i),
            [i](const by::Progress&) -> by::Result<int> {
                QThread::msleep(10 * (4 - i));
                return i;
            },
            [&](by::Result<int> r) { got.push_back(r.value()); });
    ASSERT_TRUE(jobs.waitForIdle(10000));
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(jobs.activeCount(), 0);
}

} // namespace
