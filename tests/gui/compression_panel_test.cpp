// The compression dock driven as a person drives it, on the trained MNIST CNN: pick a method, read
// the preview table, apply, and find the child variant in the project with a file that runs; a
// refused recipe shows one sentence and leaves the project and the parent file as they were.
#include "app/cli/compress_command.h"
#include "app/cli/eval_session.h"
#include "app/cli/recipe_json.h"
#include "app/gui/compression_panel.h"
#include "app/gui/evaluation_panel.h"
#include "app/gui/job_manager.h"
#include "app/gui/log_panel.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "importers/importer_registry.h"
#include "projects/project.h"
#include "tests/gui/gui_test_support.h"
#include "tests/test_support.h"

#include <QApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QPushButton>
#include <QRegularExpression>
#include <QTableWidget>
#include <QThread>
#include <QUndoStack>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <gtest/gtest.h>

namespace {

using by::test::ensureApp;
using by::test::waitUntil;



QByteArray sha256(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

class CompressionPanelTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(std::getenv("DISPLAY") && *std::getenv("DISPLAY"))
            << "the GUI tests need an X server: run them under xvfb-run -a -s \"-screen 0 1280x800x24\"";
        ensureApp();
        m_window = std::make_unique<MainWindow>();
        m_window->show();
        m_dir = QString::fromStdString(by::test::tempDir());
        // The model is copied into the test folder so the check that the parent file never
        // changes cannot be fooled by another test touching the cache.
        m_model = m_dir + QStringLiteral("/mnist_cnn.onnx");
        ASSERT_TRUE(QFile::copy(QString::fromStdString(by::test::asset("models/mnist_cnn.onnx")), m_model));
        ASSERT_TRUE(m_window->createProject(m_dir + QStringLiteral("/compress.byproj")));
        m_window->openModelFiles({m_model}, true);
        ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
        ASSERT_NE(m_window->currentDocument(), nullptr);
        ASSERT_GT(m_window->currentDocument()->projectAsset(), 0);
        m_panel = m_window->compressionPanel();
        ASSERT_NE(m_panel, nullptr);
        m_window->compressionDock()->raise(); // a dock tabbed away does not preview
        ASSERT_TRUE(waitUntil([this]() { return m_panel->isVisible(); }, 10000));
    }
    void TearDown() override { m_window.reset(); }

    // Waits for the preview that the last control change scheduled; its time in ms.
    qint64 waitForPreview() {
        QElapsedTimer clock;
        clock.start();
        EXPECT_TRUE(waitUntil([this]() { return !m_panel->isPreviewing(); }, 30000));
        return clock.elapsed();
    }

    std::unique_ptr<MainWindow> m_window;
    CompressionPanel* m_panel = nullptr;
    QString m_dir;
    QString m_model;
};

TEST_F(CompressionPanelTest, Int8PreviewThenApplyRecordsARunnableChildVariant) {
    const QByteArray parentHash = sha256(m_model);
    m_panel->setScope(CompressionPanel::Scope::WholeModel);
    m_panel->setMethod(CompressionPanel::Method::PruneMagnitude);
    waitForPreview();
    m_panel->setMethod(CompressionPanel::Method::Int8);
    const qint64 ms = waitForPreview();
    std::printf("int8 whole-model preview of mnist_cnn: %lld ms\n", static_cast<long long>(ms));
    EXPECT_LT(ms, 3000) << "the preview should follow a change within about a second";

    // Every weight layer of the CNN has a row with a small, finite reconstruction error and a
    // smaller size after than before.
    QTableWidget* t = m_panel->table();
    ASSERT_GE(t->rowCount(), 2) << m_panel->messageText().toStdString();
    for (int r = 0; r < t->rowCount(); ++r) {
        bool ok = false;
        const double err = t->item(r, 1)->text().toDouble(&ok);
        ASSERT_TRUE(ok) << "row " << r << ": " << t->item(r, 3)->text().toStdString();
        EXPECT_TRUE(std::isfinite(err));
        EXPECT_GT(err, 0.0);
        EXPECT_LT(err, 0.02) << t->item(r, 0)->text().toStdString();
    }
    EXPECT_TRUE(m_panel->totalsText().contains(QStringLiteral("smaller")))
        << m_panel->totalsText().toStdString();

    // Apply cancelled at once: nothing recorded, no file left behind (whenever the cancel lands).
    const int files = int(QDir(m_dir).entryList(QDir::Files).size());
    ASSERT_NE(m_panel->apply(), 0);
    auto* cancel = m_panel->findChild<QPushButton*>(QStringLiteral("compressCancel"));
    ASSERT_NE(cancel, nullptr);
    ASSERT_TRUE(cancel->isEnabled());
    cancel->click();
    ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
    EXPECT_TRUE(m_panel->messageText().contains(QStringLiteral("cancelled")))
        << m_panel->messageText().toStdString();
    EXPECT_EQ(m_window->project()->variants()->size(), 1u);
    EXPECT_EQ(int(QDir(m_dir).entryList(QDir::Files).size()), files);

    const int job = m_panel->apply();
    ASSERT_NE(job, 0) << m_panel->messageText().toStdString();
    EXPECT_TRUE(m_panel->isApplying());
    ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
    EXPECT_FALSE(m_panel->isApplying());
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 0)
        << m_panel->messageText().toStdString();

    // The project has the child, with its recipe, under the model's root variant.
    by::Project* p = m_window->project();
    const int64_t asset = m_window->currentDocument()->projectAsset();
    auto variants = p->variants(asset);
    ASSERT_TRUE(variants.ok());
    ASSERT_EQ(variants->size(), 2u);
    const by::Variant& root = (*variants)[0];
    const by::Variant& child = (*variants)[1];
    EXPECT_EQ(child.parentId, std::optional<int64_t>(root.id));
    EXPECT_EQ(child.id, m_panel->lastVariantId());
    EXPECT_EQ(child.name, "int8");
    // The recorded recipe reads back as the step the panel showed.
    auto recipe = by::cli::parseRecipeJson(child.recipeJson);
    ASSERT_TRUE(recipe.ok()) << child.recipeJson;
    ASSERT_EQ(recipe->steps.size(), 1u);
    EXPECT_EQ(recipe->steps[0].method, by::CompressMethod::QuantizeInt8);
    EXPECT_EQ(recipe->steps[0].bits, 8);
    EXPECT_TRUE(recipe->steps[0].perChannel);
    EXPECT_TRUE(recipe->steps[0].layers.all());
    EXPECT_GT(child.sizeBytes, 0);

    // Its file, named in the variant's note, exists beside the project, is smaller, and runs:
    // the int8 CNN still classifies MNIST digits.
    auto notes = p->notes(by::NoteTarget::of(by::NoteTargetKind::Variant, child.id));
    ASSERT_TRUE(notes.ok());
    ASSERT_EQ(notes->size(), 1u);
    ASSERT_EQ((*notes)[0].text.rfind("file: ", 0), 0u) << (*notes)[0].text;
    const QString file = QDir(QString::fromStdString(p->folder()))
                             .filePath(QString::fromStdString((*notes)[0].text.substr(6)));
    EXPECT_EQ(QFileInfo(file).absoluteFilePath(), QFileInfo(m_panel->lastVariantPath()).absoluteFilePath());
    ASSERT_TRUE(QFileInfo::exists(file)) << file.toStdString();
    EXPECT_EQ(QFileInfo(file).size(), child.sizeBytes);
    EXPECT_LT(QFileInfo(file).size(), QFileInfo(m_model).size() / 2);
    auto compressed = by::loadModel(file.toStdString());
    ASSERT_TRUE(compressed.ok()) << compressed.error().what();
    by::cli::EvalRequest req;
    req.modelPath = file.toStdString();
    req.dataSpec = "mnist:" + by::test::asset("data/mnist");
    req.limit = 500;
    auto report = by::cli::runEvaluation(*compressed, req);
    ASSERT_TRUE(report.ok()) << report.error().what();
    ASSERT_TRUE(report->classification.has_value());
    EXPECT_GT(report->classification->top1(), 0.95);
    EXPECT_EQ(sha256(m_model), parentHash) << "the parent's file changed";

    // Undo removes the variant and its note from the project file; redo records it again.
    m_window->undoStack()->undo();
    EXPECT_EQ(p->variants(asset)->size(), 1u);
    EXPECT_TRUE(p->notes(by::NoteTarget::of(by::NoteTargetKind::Variant, child.id))->empty());
    m_window->undoStack()->redo();
    EXPECT_EQ(p->variants(asset)->size(), 2u);

    // "Evaluate Variant" opens the child in its own tab, which the Evaluation dock then targets.
    auto* evaluate = m_panel->findChild<QPushButton*>(QStringLiteral("compressEvaluate"));
    ASSERT_NE(evaluate, nullptr);
    ASSERT_TRUE(evaluate->isEnabled());
    evaluate->click();
    ASSERT_TRUE(m_window->jobs()->waitForIdle(60000));
    ASSERT_EQ(m_window->documentCount(), 2);
    ASSERT_NE(m_window->currentDocument(), nullptr);
    EXPECT_EQ(QFileInfo(m_window->currentDocument()->path()).absoluteFilePath(),
              QFileInfo(file).absoluteFilePath());
    EXPECT_TRUE(m_window->evaluationDock()->isVisible());
}

TEST_F(CompressionPanelTest, RankAboveTheMatrixSizeIsOneSentenceAndChangesNothing) {
    const QByteArray parentHash = sha256(m_model);
    m_panel->setScope(CompressionPanel::Scope::WholeModel);
    m_panel->setMethod(CompressionPanel::Method::LowRankRank);
    m_panel->setStrength(1000); // the CNN's layers are far smaller than that
    waitForPreview();
    const QString previewMessage = m_panel->messageText();
    EXPECT_TRUE(previewMessage.contains(QStringLiteral("rank 1000 is above")))
        << previewMessage.toStdString();
    EXPECT_EQ(m_panel->table()->rowCount(), 0);

    const int files = int(QDir(m_dir).entryList(QDir::Files).size());
    EXPECT_EQ(m_panel->apply(), 0);
    const QString message = m_panel->messageText();
    EXPECT_TRUE(message.contains(QStringLiteral("rank 1000 is above"))) << message.toStdString();
    EXPECT_EQ(message.count(QLatin1Char('.')) >= 1, true);
    EXPECT_FALSE(message.contains(QLatin1Char('\n')));
    EXPECT_EQ(m_window->logPanel()->countOf(LogPanel::Severity::Error), 1);
    ASSERT_TRUE(m_window->jobs()->waitForIdle(10000));
    EXPECT_EQ(m_window->project()->variants()->size(), 1u);
    EXPECT_EQ(int(QDir(m_dir).entryList(QDir::Files).size()), files) << "a refused recipe wrote a file";
    EXPECT_EQ(sha256(m_model), parentHash);

    // A rank that fits previews the selected layer alone.
    const auto& nodes = m_window->currentDocument()->model()->graph.nodes;
    int gemm = -1;
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].opType == "Gemm" || nodes[i].opType == "MatMul") gemm = int(i);
    ASSERT_GE(gemm, 0);
    m_panel->setScope(CompressionPanel::Scope::SelectedLayer);
    m_window->selectNode(gemm);
    m_panel->setStrength(4);
    waitForPreview();
    ASSERT_EQ(m_panel->table()->rowCount(), 1) << m_panel->messageText().toStdString();
    EXPECT_EQ(m_panel->table()->item(0, 0)->text().toStdString(), nodes[size_t(gemm)].name);
    bool ok = false;
    const double err = m_panel->table()->item(0, 1)->text().toDouble(&ok);
    EXPECT_TRUE(ok && std::isfinite(err) && err > 0.0 && err < 1.0);
}

TEST_F(CompressionPanelTest, QualityCheckFollowsThePreviewOnTheEvaluationDataset) {
    waitForPreview(); // the preview on opening, without a dataset: a hint, no check
    EXPECT_FALSE(m_panel->isCheckingQuality());
    EXPECT_TRUE(m_panel->qualityText().contains(QStringLiteral("Choose a dataset"))) << m_panel->qualityText().toStdString();
    const std::string spec = "mnist:" + by::test::asset("data/mnist");
    m_window->evaluationPanel()->setDataSpec(QString::fromStdString(spec));
    m_panel->setScope(CompressionPanel::Scope::WholeModel);
    m_panel->setMethod(CompressionPanel::Method::NBitsG32);
    m_panel->setStrength(3);
    m_panel->setStrength(2); // replaces the 3-bit check while it may still run
    waitForPreview();
    ASSERT_TRUE(waitUntil([this]() { return !m_panel->isCheckingQuality(); }, 60000));
    const QString text = m_panel->qualityText();
    const QRegularExpressionMatch match =
        QRegularExpression(QStringLiteral("top-1 on the first 256 samples.*: ([0-9.]+)% \\(original ([0-9.]+)%")).match(text);
    ASSERT_TRUE(match.hasMatch()) << text.toStdString();

    // The same figures, computed here without the GUI: the original and the 2-bit model on the
    // first 256 test images.
    auto original = by::loadModel(m_model.toStdString());
    ASSERT_TRUE(original.ok()) << original.error().what();
    by::cli::EvalRequest req;
    req.dataSpec = spec;
    req.limit = 256;
    auto base = by::cli::runEvaluation(*original, req);
    ASSERT_TRUE(base.ok()) << base.error().what();
    by::Recipe recipe;
    recipe.steps.push_back(m_panel->currentStep());
    ASSERT_EQ(recipe.steps[0].bits, 2);
    auto c = by::compress(*original, recipe);
    ASSERT_TRUE(c.ok()) << c.error().what();
    auto variant = by::cli::runEvaluation(c->model, req);
    ASSERT_TRUE(variant.ok()) << variant.error().what();
    EXPECT_EQ(match.captured(2), QString::number(100.0 * base->classification->top1(), 'f', 2));
    EXPECT_EQ(match.captured(1), QString::number(100.0 * variant->classification->top1(), 'f', 2));
    EXPECT_GT(base->classification->top1(), 0.95);
    std::printf("quality check: %s\n", text.toStdString().c_str());
}

TEST_F(CompressionPanelTest, BinaryCodedPreviewListsTheMatrixProducts) {
    m_panel->setScope(CompressionPanel::Scope::WholeModel);
    m_panel->setMethod(CompressionPanel::Method::BinaryCoded);
    m_panel->setStrength(2);
    waitForPreview();
    ASSERT_EQ(m_panel->table()->rowCount(), 2) << m_panel->messageText().toStdString();  // the two Gemm layers
    double previous = 0;
    for (int bits : {2, 3}) {
        m_panel->setStrength(bits);
        waitForPreview();
        bool ok = false;
        const double err = m_panel->table()->item(0, 1)->text().toDouble(&ok);
        ASSERT_TRUE(ok && err > 0.0 && err < 1.0) << m_panel->table()->item(0, 1)->text().toStdString();
        if (previous > 0) {
            EXPECT_LT(err, previous) << "a third sign plane must lower the error";
        }
        previous = err;
    }
    EXPECT_EQ(m_panel->currentStep().method, by::CompressMethod::QuantizeBcq);
}

// The data-driven methods: refused with a hint until a dataset is chosen, then calibrated on the
// first samples of it (the training split of MNIST, the check running on test images). The table
// and the quality figures are the ones the engine gives for the panel's step without the GUI.
TEST_F(CompressionPanelTest, DataDrivenMethodsCalibrateOnTheEvaluationDataset) {
    m_panel->setScope(CompressionPanel::Scope::WholeModel);
    m_panel->setMethod(CompressionPanel::Method::LowRankData);
    waitForPreview();
    EXPECT_EQ(m_panel->table()->rowCount(), 0);
    EXPECT_TRUE(m_panel->messageText().contains(QStringLiteral("choose a dataset"))) << m_panel->messageText().toStdString();

    const std::string spec = "mnist:" + by::test::asset("data/mnist");
    m_window->evaluationPanel()->setDataSpec(QString::fromStdString(spec));
    m_panel->setStrength(30);
    waitForPreview();
    ASSERT_GT(m_panel->table()->rowCount(), 0) << m_panel->messageText().toStdString();
    const by::CompressStep step = m_panel->currentStep();
    EXPECT_TRUE(step.activations.enabled);
    EXPECT_EQ(step.activations.data, spec);
    EXPECT_EQ(step.activations.samples, CompressionPanel::kCalibrationSamples);
    ASSERT_TRUE(step.activations.normalize.has_value());  // MNIST bytes: 1/255 as the compress verb picks

    auto original = by::loadModel(m_model.toStdString());
    ASSERT_TRUE(original.ok()) << original.error().what();
    by::Recipe recipe;
    recipe.steps.push_back(step);
    auto c = by::compress(*original, recipe, by::cli::replayContext(*original));
    ASSERT_TRUE(c.ok()) << c.error().what();
    ASSERT_EQ(int(c->layers.size()), m_panel->table()->rowCount());
    int dataAware = 0;
    for (int r = 0; r < int(c->layers.size()); ++r) {
        const by::LayerReport& l = c->layers[size_t(r)];
        EXPECT_EQ(m_panel->table()->item(r, 0)->text().toStdString(), l.layer);
        if (!l.applied) continue;
        EXPECT_EQ(m_panel->table()->item(r, 1)->text(), QString::number(l.relError, 'g', 4)) << l.layer;
        dataAware += l.detail.find("data-aware") != std::string::npos;
        EXPECT_NE(m_panel->table()->item(r, 3)->text().indexOf(QStringLiteral("data-aware")), -1) << l.layer;
    }
    EXPECT_GT(dataAware, 0);

    // Filters by Beta rank against filters by L1 norm at the same cut: both checked on the same
    // 256 test images, the figures recomputed here.
    by::cli::EvalRequest req;
    req.dataSpec = spec;
    req.limit = 256;
    double top1[2] = {};
    const CompressionPanel::Method methods[2] = {CompressionPanel::Method::PruneFilters, CompressionPanel::Method::PruneFiltersData};
    for (int i = 0; i < 2; ++i) {
        m_panel->setMethod(methods[i]);
        m_panel->setStrength(50);
        waitForPreview();
        ASSERT_TRUE(waitUntil([this]() { return !m_panel->isCheckingQuality(); }, 60000));
        const QString text = m_panel->qualityText();
        const QRegularExpressionMatch match = QRegularExpression(QStringLiteral("top-1 on the first 256 samples.*: ([0-9.]+)%")).match(text);
        ASSERT_TRUE(match.hasMatch()) << text.toStdString();
        by::Recipe r;
        r.steps.push_back(m_panel->currentStep());
        EXPECT_EQ(r.steps[0].method, by::CompressMethod::PruneChannels);
        EXPECT_EQ(r.steps[0].criterion, i ? by::PruneCriterion::Beta : by::PruneCriterion::Weight);
        auto pruned = by::compress(*original, r, by::cli::replayContext(*original));
        ASSERT_TRUE(pruned.ok()) << pruned.error().what();
        EXPECT_LT(pruned->paramsAfter, pruned->paramsBefore);
        auto eval = by::cli::runEvaluation(pruned->model, req);
        ASSERT_TRUE(eval.ok()) << eval.error().what();
        top1[i] = eval->classification->top1();
        EXPECT_EQ(match.captured(1), QString::number(100.0 * top1[i], 'f', 2));
        std::printf("%s: %s\n", i ? "beta" : "l1", text.toStdString().c_str());
    }
    EXPECT_GT(top1[1], top1[0]) << "ranking filters on data keeps more accuracy than their L1 norm at a 50% cut";
}

// Decompose in the dock: the MNIST CNN's hidden layer (Gemm -> Relu -> Gemm) as a feed-forward
// pair, neurons chosen by Nystrom leverage and the output layer refitted, against slicing the
// same share of neurons ranked on the same data; both checked on the same 256 test images.
TEST_F(CompressionPanelTest, DecomposeRefitsTheHiddenLayerOnTheEvaluationDataset) {
    const std::string spec = "mnist:" + by::test::asset("data/mnist");
    m_window->evaluationPanel()->setDataSpec(QString::fromStdString(spec));
    m_panel->setScope(CompressionPanel::Scope::WholeModel);
    double top1[2] = {};
    const CompressionPanel::Method methods[2] = {CompressionPanel::Method::PruneFfn, CompressionPanel::Method::DecomposeFfn};
    for (int i = 0; i < 2; ++i) {
        m_panel->setMethod(methods[i]);
        m_panel->setStrength(75);
        waitForPreview();
        ASSERT_TRUE(waitUntil([this]() { return !m_panel->isCheckingQuality(); }, 60000));
        ASSERT_GT(m_panel->table()->rowCount(), 0) << m_panel->messageText().toStdString();
        const QString text = m_panel->qualityText();
        const QRegularExpressionMatch match = QRegularExpression(QStringLiteral("top-1 on the first 256 samples.*: ([0-9.]+)%")).match(text);
        ASSERT_TRUE(match.hasMatch()) << text.toStdString();
        top1[i] = match.captured(1).toDouble();
        const by::CompressStep step = m_panel->currentStep();
        if (i == 1) {
            EXPECT_EQ(step.method, by::CompressMethod::Decompose);
            EXPECT_EQ(step.modules, "ffn");
            bool nystrom = false;
            for (int r = 0; r < m_panel->table()->rowCount(); ++r)
                nystrom |= m_panel->table()->item(r, 3) && m_panel->table()->item(r, 3)->text().contains(QStringLiteral("nystrom"));
            EXPECT_TRUE(nystrom);
        }
        // The figure the dock shows is the engine's for the dock's step.
        auto original = by::loadModel(m_model.toStdString());
        ASSERT_TRUE(original.ok());
        by::Recipe r;
        r.steps.push_back(step);
        auto c = by::compress(*original, r, by::cli::replayContext(*original));
        ASSERT_TRUE(c.ok()) << c.error().what();
        EXPECT_LT(c->paramsAfter, c->paramsBefore);
        by::cli::EvalRequest req;
        req.dataSpec = spec;
        req.limit = 256;
        auto eval = by::cli::runEvaluation(c->model, req);
        ASSERT_TRUE(eval.ok()) << eval.error().what();
        EXPECT_EQ(match.captured(1), QString::number(100.0 * eval->classification->top1(), 'f', 2));
        std::printf("%s: %s\n", i ? "decompose" : "prune ffn", text.toStdString().c_str());
    }
    EXPECT_GE(top1[1], top1[0]) << "the refit keeps at least the accuracy slicing keeps";
}

} // namespace
