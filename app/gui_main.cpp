// The Brickyard GUI.
//
//   brickyard [PROJECT.byproj | MODEL_FILE ...] [--demo] [--screenshot FILE.png] [--quit-after MS]
//             [--select-op OPTYPE] [--evaluate DATASET_SPEC] [--compress METHOD]
//
// --demo opens the bundled demo project (created from the asset cache on first use) and its main
// model. --screenshot waits until every model is imported and laid out, saves the window to FILE
// and quits; it exits non-zero with a message when anything failed to load. --select-op selects
// the first node of that op type with weights (for inspector screenshots). --evaluate runs the
// evaluation panel on the current model with that dataset before the screenshot. --compress shows
// the compression panel previewing METHOD (int8, int4, prune, 2:4, lowrank, bcq, filters, filters:beta,
// ffn, heads, lowrank:data, decompose; the data-driven ones calibrate on the --evaluate dataset) on the whole model.
#include "app/gui/compression_panel.h"
#include "app/gui/evaluation_panel.h"
#include "app/gui/graph_canvas.h"
#include "app/gui/inspector_panel.h"
#include "app/gui/job_manager.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/scene_document.h"
#include "engine/blas_kernels.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>
#include <QPixmap>
#include <QDockWidget>
#include <QTableWidget>
#include <QTimer>
#include <cstdio>
#include <memory>

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kDemoModel = "ch_PP-OCRv4_rec_infer.onnx";
constexpr int kScreenshotTimeoutMs = 180000;

QString envOr(const char* name, const QString& fallback) {
    return qEnvironmentVariableIsSet(name) ? qEnvironmentVariable(name) : fallback;
}

void fail(const QString& message) {
    std::fprintf(stderr, "brickyard: %s\n", message.toLocal8Bit().constData());
}

// First node of `opType` (case-insensitive, "conv" also matches "CONV_2D") with at least one
// weight input; -1 when none.
int findWeightedNode(const by::Model& model, const QString& opType) {
    const by::Graph& g = model.graph;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const by::Node& n = g.nodes[i];
        const QString op = QString::fromStdString(n.opType);
        if (op.compare(opType, Qt::CaseInsensitive) != 0 &&
            !op.startsWith(opType + QLatin1Char('_'), Qt::CaseInsensitive))
            continue;
        for (int in : n.inputs) {
            if (in < 0 || in >= int(g.values.size())) continue;
            const by::Value& v = g.values[in];
            if (v.data) return int(i);
            // Weights behind a dequantize step (TFLite fp16/int8) count too.
            if (v.producer >= 0 && v.producer < int(g.nodes.size())) {
                const by::Node& p = g.nodes[v.producer];
                if (!p.inputs.empty() && p.inputs.front() >= 0 && g.values[p.inputs.front()].data)
                    return int(i);
            }
        }
    }
    return -1;
}

// Drives --screenshot: polls until the window is settled (imports done, every tab laid out,
// inspector statistics ready), then grabs it.
class ScreenshotTaker : public QObject {
public:
    ScreenshotTaker(MainWindow* window, QString file, QString selectOp, int expectedModels, QString evaluate)
        : m_window(window), m_file(std::move(file)), m_selectOp(std::move(selectOp)),
          m_expected(expectedModels), m_evaluate(std::move(evaluate)) {
        QObject::connect(window, &MainWindow::modelOpenFailed, this,
                         [this](const QString& path, const QString& why) {
                             m_failures << QStringLiteral("%1: %2").arg(QFileInfo(path).fileName(), why);
                         });
        connect(&m_poll, &QTimer::timeout, this, [this]() { poll(); });
        m_poll.start(100);
        m_clock.start();
    }
    void addFailure(const QString& message) { m_failures << message; }
    void setStarted() { m_started = true; }
    void setCompress(QString method) { m_compress = std::move(method); }

private:
    void poll() {
        if (!m_failures.isEmpty()) return finish(false, m_failures.join(QStringLiteral("; ")));
        if (m_clock.elapsed() > kScreenshotTimeoutMs)
            return finish(false, QStringLiteral("timed out waiting for the models"));
        if (!m_started || m_window->jobs()->activeCount() > 0) return;
        if (m_window->documentCount() < m_expected) return;
        for (int i = 0; i < m_window->documentCount(); ++i) {
            if (auto* d = m_window->document(i); d && !d->isLaidOut()) return;
            if (auto* sd = m_window->sceneDocument(i)) {
                sd->renderIfNeeded();
                if (!sd->isSettled()) return;
            }
        }
        if (!m_selectOp.isEmpty() && !m_selected) {
            ModelDocument* doc = m_window->currentDocument();
            if (!doc) return finish(false, QStringLiteral("--select-op needs a model, not a 3D scene"));
            const int node = doc ? findWeightedNode(*doc->model(), m_selectOp) : -1;
            if (node < 0)
                return finish(false,
                              QStringLiteral("no %1 node with weights in the current model").arg(m_selectOp));
            m_window->selectNode(node);
            m_selected = true;
            return;
        }
        if (!m_evaluate.isEmpty() && !m_evaluated) {
            m_window->evaluationPanel()->setDataSpec(m_evaluate);
            if (!m_window->evaluateCurrentModel()) return finish(false, QStringLiteral("the evaluation did not start"));
            m_evaluated = true;
            return;
        }
        if (!m_compress.isEmpty() && !m_compressed) {
            const QMap<QString, CompressionPanel::Method> methods{
                {QStringLiteral("int8"), CompressionPanel::Method::Int8},
                {QStringLiteral("int4"), CompressionPanel::Method::NBitsG32},
                {QStringLiteral("prune"), CompressionPanel::Method::PruneMagnitude},
                {QStringLiteral("2:4"), CompressionPanel::Method::Prune24},
                {QStringLiteral("lowrank"), CompressionPanel::Method::LowRankFraction},
                {QStringLiteral("bcq"), CompressionPanel::Method::BinaryCoded},
                {QStringLiteral("filters"), CompressionPanel::Method::PruneFilters},
                {QStringLiteral("filters:beta"), CompressionPanel::Method::PruneFiltersData},
                {QStringLiteral("ffn"), CompressionPanel::Method::PruneFfn},
                {QStringLiteral("heads"), CompressionPanel::Method::PruneHeads},
                {QStringLiteral("lowrank:data"), CompressionPanel::Method::LowRankData},
                {QStringLiteral("decompose"), CompressionPanel::Method::DecomposeFfn}};
            if (!methods.contains(m_compress))
                return finish(false, QStringLiteral("--compress takes int8, int4, prune, 2:4, lowrank, bcq, filters, filters:beta, ffn, heads, lowrank:data or decompose"));
            m_window->compressionDock()->raise();
            m_window->compressionPanel()->setScope(CompressionPanel::Scope::WholeModel);
            m_window->compressionPanel()->setMethod(methods.value(m_compress));
            m_compressed = true;
            return;
        }
        if (m_compressed) {
            const CompressionPanel* panel = m_window->compressionPanel();
            if (panel->isPreviewing()) return;
            if (panel->table()->rowCount() == 0 && panel->messageText().isEmpty()) return;
        }
        if (m_window->inspector()->pendingStats() > 0) return;
        // One more round so the last layout and selection are painted.
        if (++m_settleTicks < 4) return;
        const QPixmap shot = m_window->grab();
        QDir().mkpath(QFileInfo(m_file).absolutePath());
        if (!shot.save(m_file)) return finish(false, QStringLiteral("could not write %1").arg(m_file));
        std::printf("brickyard: saved %s (%dx%d)\n", m_file.toLocal8Bit().constData(), shot.width(),
                    shot.height());
        finish(true, {});
    }

    void finish(bool ok, const QString& message) {
        m_poll.stop();
        if (!ok) fail(message);
        QCoreApplication::exit(ok ? 0 : 1);
    }

    MainWindow* m_window;
    QString m_file;
    QString m_selectOp;
    int m_expected;
    bool m_started = false;
    bool m_selected = false;
    QString m_evaluate;
    bool m_evaluated = false;
    QString m_compress;
    bool m_compressed = false;
    int m_settleTicks = 0;
    QStringList m_failures;
    QTimer m_poll;
    QElapsedTimer m_clock;
};

} // namespace

int main(int argc, char** argv) {
    by::useBestBlasKernels(argv);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Brickyard"));
    QApplication::setApplicationName(QStringLiteral("Brickyard"));
    QApplication::setApplicationVersion(QString::fromLatin1(kVersion));
    QApplication::setStyle(QStringLiteral("Fusion"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Brickyard: a workbench for edge AI models."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("files"),
                                 QStringLiteral("A project (.byproj) or model files to open."),
                                 QStringLiteral("[PROJECT.byproj | MODEL_FILE ...]"));
    const QCommandLineOption demo(QStringLiteral("demo"),
                                  QStringLiteral("Open the demo project (created on first use)."));
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Save the window to FILE once everything is loaded, then quit."),
        QStringLiteral("FILE"));
    const QCommandLineOption quitAfter(QStringLiteral("quit-after"),
                                       QStringLiteral("Quit after MS milliseconds."), QStringLiteral("MS"));
    const QCommandLineOption selectOp(QStringLiteral("select-op"),
                                      QStringLiteral("Select the first node of OPTYPE that has weights."),
                                      QStringLiteral("OPTYPE"));
    const QCommandLineOption evaluate(QStringLiteral("evaluate"),
                                      QStringLiteral("Evaluate the current model on DATASET before the screenshot."),
                                      QStringLiteral("DATASET"));
    const QCommandLineOption compressOpt(QStringLiteral("compress"),
                                         QStringLiteral("Preview METHOD in the compression panel before the screenshot."),
                                         QStringLiteral("METHOD"));
    parser.addOptions({demo, screenshot, quitAfter, selectOp, evaluate, compressOpt});
    parser.process(app);

    MainWindow window;
    window.show();

    const QStringList positional = parser.positionalArguments();
    QStringList models;
    QString project;
    for (const QString& arg : positional) {
        if (arg.endsWith(QStringLiteral(".byproj"), Qt::CaseInsensitive)) {
            if (!project.isEmpty()) {
                fail(QStringLiteral("only one project can be opened at a time"));
                return 2;
            }
            project = arg;
        } else {
            if (!QFileInfo::exists(arg)) {
                fail(QStringLiteral("no such file: %1").arg(arg));
                if (parser.isSet(screenshot)) return 1;
            }
            models << arg;
        }
    }

    std::unique_ptr<ScreenshotTaker> taker;
    if (parser.isSet(screenshot)) {
        const int expected = int(models.size()) + (parser.isSet(demo) ? 1 : 0);
        taker = std::make_unique<ScreenshotTaker>(&window, parser.value(screenshot), parser.value(selectOp),
                                                  expected, parser.value(evaluate));
        taker->setCompress(parser.value(compressOpt));
    }

    bool started = true;
    if (!project.isEmpty() && !window.openProject(project)) {
        if (taker) {
            fail(window.logPanel()->entryMessage(window.logPanel()->entryCount() - 1));
            return 1;
        }
    }
    if (parser.isSet(demo)) {
        const QString cache =
            envOr("BRICKYARD_CACHE", QDir::homePath() + QStringLiteral("/.cache/brickyard"));
        const QString demoPath =
            envOr("BRICKYARD_DEMO", QDir::homePath() + QStringLiteral("/.local/share/brickyard/demo.byproj"));
        started = false;
        window.openDemoProject(demoPath, cache, QString::fromLatin1(kDemoModel),
                               [&taker](bool ok, const QString& error) {
                                   if (!taker) return;
                                   if (!ok) taker->addFailure(error);
                                   taker->setStarted();
                               });
    }
    if (!models.isEmpty()) window.openModelFiles(models, false);
    if (project.isEmpty() && models.isEmpty() && !parser.isSet(demo)) window.restoreLastProject();
    if (taker && started) taker->setStarted();

    if (parser.isSet(quitAfter)) {
        bool ok = false;
        const int ms = parser.value(quitAfter).toInt(&ok);
        if (!ok || ms < 0) {
            fail(QStringLiteral("--quit-after needs a number of milliseconds"));
            return 2;
        }
        QTimer::singleShot(ms, &app, &QCoreApplication::quit);
    }
    return app.exec();
}
