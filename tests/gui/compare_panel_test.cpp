// The Compare dock on a real project: the MNIST CNN with an int8 child (written to a file), a
// 4-bit child and a heavily pruned child (made again from their recipes), each evaluated on the
// real MNIST test images. Checks the diff table the dock shows, the results side by side, the
// histograms of the selected layer, and that the Pareto chart marks the points nothing beats and
// selects a variant when one is clicked.
#include "app/cli/compare_command.h"
#include "app/cli/compress_command.h"
#include "app/cli/eval_session.h"
#include "app/cli/recipe_json.h"
#include "app/gui/compare_panel.h"
#include "app/gui/display_format.h"
#include "app/gui/graph_canvas.h"
#include "app/gui/histogram_widget.h"
#include "app/gui/job_manager.h"
#include "app/gui/main_window.h"
#include "app/gui/pareto_chart.h"
#include "importers/importer_registry.h"
#include "projects/project.h"
#include "views/graph_layout.h"
#include "views/graph_view.h"
#include "tests/gui/gui_test_support.h"
#include "tests/test_support.h"

#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTabWidget>
#include <QTableWidget>
#include <QMouseEvent>
#include <QThread>
#include <cstdlib>
#include <functional>
#include <map>
#include <numeric>
#include <gtest/gtest.h>

namespace {

using by::test::ensureApp;
using by::test::waitUntil;



struct Fixture {
    std::string path;
    int64_t root = 0, int8 = 0, int4 = 0, pruned = 0;
    double top1[4] = {};
};

// Builds the project once for the whole suite (compressing and evaluating takes a few seconds).
const Fixture& fixture() {
    static Fixture f = [] {
        Fixture x;
        const std::string dir = by::test::tempDir();
        x.path = dir + "/compare.byproj";
        auto p = by::Project::create(x.path, "compare");
        EXPECT_TRUE(p.ok());
        const std::string modelPath = by::test::asset("models/mnist_cnn.onnx");
        auto asset = p->addAsset(modelPath, by::AssetKind::Model);
        EXPECT_TRUE(asset.ok());
        x.root = p->rootVariant(*asset)->id;
        auto model = by::loadModel(modelPath);
        EXPECT_TRUE(model.ok());
        by::cli::EvalRequest req;
        req.modelPath = modelPath;
        req.dataSpec = "mnist:" + by::test::asset("data/mnist");
        req.limit = 500;
        auto evaluate = [&](const by::Model& m, int64_t variant, double* top1) {
            auto r = by::cli::runEvaluation(m, req);
            ASSERT_TRUE(r.ok()) << r.error().what();
            *top1 = r->classification->top1();
            ASSERT_TRUE(by::cli::storeReport(*p, variant, *r, req).ok());
        };
        evaluate(*model, x.root, &x.top1[0]);
        auto child = [&](const std::string& shorthandKind, const std::string& value, const std::string& file, int64_t* id, double* top1) {
            auto step = by::cli::parseShorthand(shorthandKind, value);
            ASSERT_TRUE(step.ok()) << step.error().what();
            by::Recipe recipe;
            recipe.steps.push_back(*step);
            auto c = by::compress(*model, recipe, by::cli::replayContext(*model));
            ASSERT_TRUE(c.ok()) << c.error().what();
            auto v = p->addVariant(*asset, x.root, value, by::cli::recipeToJson(recipe), c->bytesAfter, c->paramsAfter);
            ASSERT_TRUE(v.ok());
            *id = *v;
            if (!file.empty()) {
                ASSERT_TRUE(by::saveModel(c->model, dir + "/" + file).ok());
                ASSERT_TRUE(p->addNote(by::NoteTarget::of(by::NoteTargetKind::Variant, *v), "file: " + file).ok());
            }
            evaluate(c->model, *v, top1);
        };
        child("quantize", "int8", "mnist_int8.onnx", &x.int8, &x.top1[1]);
        child("quantize", "int4:g32", "", &x.int4, &x.top1[2]);
        child("prune", "0.9", "", &x.pruned, &x.top1[3]);
        return x;
    }();
    return f;
}

class ComparePanelTest : public ::testing::Test {
protected:
    void SetUp() override {
        ensureApp();
        ASSERT_TRUE(std::getenv("DISPLAY") && *std::getenv("DISPLAY")) << "run the GUI tests under xvfb-run";
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1280, 800);
        m_window->show();
        ASSERT_TRUE(m_window->openProject(QString::fromStdString(fixture().path)));
        m_window->compareDock()->show();
        m_window->compareDock()->raise();
    }
    void TearDown() override { m_window.reset(); }

    ComparePanel* panel() { return m_window->comparePanel(); }
    bool compareAndWait(int64_t a, int64_t b) {
        if (!panel()->compare(a, b)) return false;
        return waitUntil([&] { return !panel()->isComparing() && panel()->diff(); });
    }
    int rowOf(const QString& layer) {
        for (int r = 0; r < panel()->table()->rowCount(); ++r)
            if (panel()->table()->item(r, ComparePanel::LayerCol)->text() == layer) return r;
        return -1;
    }
    QString cell(int row, int col) { return panel()->table()->item(row, col)->text(); }

    std::unique_ptr<MainWindow> m_window;
};

TEST_F(ComparePanelTest, Int8ChildShowsEveryLayerRetypedWithResultsSideBySide) {
    const Fixture& f = fixture();
    ASSERT_TRUE(compareAndWait(f.root, f.int8)) << panel()->messageText().toStdString();
    QTableWidget* t = panel()->table();
    ASSERT_EQ(t->rowCount(), 4);
    for (const char* layer : {"conv_0", "conv_3", "linear_7", "linear_9"}) {
        const int r = rowOf(QString::fromLatin1(layer));
        ASSERT_GE(r, 0) << layer;
        EXPECT_EQ(cell(r, ComparePanel::ChangeCol), QStringLiteral("re-typed")) << layer;
        EXPECT_TRUE(cell(r, ComparePanel::AfterCol).startsWith(QStringLiteral("i8 via DequantizeLinear"))) << cell(r, ComparePanel::AfterCol).toStdString();
        EXPECT_NE(cell(r, ComparePanel::ErrorCol), QStringLiteral("-"));
        EXPECT_EQ(t->item(r, 0)->data(ComparePanel::ChangeRole).toUInt(), uint(by::kLayerRetyped));
        EXPECT_TRUE(t->item(r, 0)->background().color().isValid());
    }
    EXPECT_EQ(cell(rowOf(QStringLiteral("conv_0")), ComparePanel::BeforeCol), QStringLiteral("f32 [16,1,3,3]"));
    // The selected layer's histograms cover the same number of weights on both sides.
    panel()->selectLayer(rowOf(QStringLiteral("linear_7")));
    const auto& hb = panel()->histogramBefore()->bins();
    const auto& ha = panel()->histogramAfter()->bins();
    ASSERT_FALSE(hb.empty());
    ASSERT_EQ(hb.size(), ha.size());
    EXPECT_EQ(std::accumulate(hb.begin(), hb.end(), int64_t(0)), 128 * 1568);
    EXPECT_EQ(std::accumulate(ha.begin(), ha.end(), int64_t(0)), 128 * 1568);

    // Results: top1 of both as recorded, side by side.
    QTableWidget* res = panel()->resultsTable();
    int top1Row = -1;
    for (int r = 0; r < res->rowCount(); ++r)
        if (res->verticalHeaderItem(r)->text() == QStringLiteral("top1")) top1Row = r;
    ASSERT_GE(top1Row, 0);
    EXPECT_EQ(res->item(top1Row, 0)->text(), display::percent(f.top1[0]));
    EXPECT_EQ(res->item(top1Row, 1)->text(), display::percent(f.top1[1]));
    EXPECT_EQ(res->verticalHeaderItem(0)->text(), QStringLiteral("weights"));
    EXPECT_NE(res->item(0, 2)->text(), QStringLiteral("-"));  // the size ratio
}

TEST_F(ComparePanelTest, ParetoChartMarksTheFrontAndClickingSelectsB) {
    const Fixture& f = fixture();
    ASSERT_TRUE(compareAndWait(f.root, f.int8));
    ParetoChart* chart = panel()->pareto();
    ASSERT_EQ(chart->points().size(), 4u);
    EXPECT_EQ(chart->qualityName(), QStringLiteral("top1"));
    std::map<int64_t, size_t> index;
    for (size_t i = 0; i < chart->points().size(); ++i) index[chart->points()[i].variantId] = i;
    // 90% pruning keeps dense storage (the parent's size) and loses accuracy: the parent beats it.
    ASSERT_LT(f.top1[3], f.top1[0]);
    EXPECT_FALSE(chart->front()[index[f.pruned]]);
    // Nothing is smaller than the 4-bit variant: it is on the front whatever its accuracy.
    EXPECT_TRUE(chart->front()[index[f.int4]]);
    // The most accurate of the smallest-first sweep is on the front too.
    int64_t best = f.root;
    double bestQ = f.top1[0];
    for (auto [id, q] : {std::pair{f.int8, f.top1[1]}, std::pair{f.int4, f.top1[2]}})
        if (q > bestQ || (q == bestQ && id != f.root)) {
            bestQ = q;
            best = id;
        }
    EXPECT_TRUE(chart->front()[index[best]]);

    // A click on the 4-bit point makes it B and compares again.
    const QPointF at = chart->pointPosition(index[f.int4]);
    QMouseEvent press(QEvent::MouseButtonPress, at, chart->mapToGlobal(at), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(chart, &press);
    EXPECT_EQ(panel()->variantB(), f.int4);
    ASSERT_TRUE(waitUntil([&] { return !panel()->isComparing() && panel()->diff(); }));
    const int fc = rowOf(QStringLiteral("linear_7"));
    ASSERT_GE(fc, 0);
    EXPECT_EQ(cell(fc, ComparePanel::OpCol), QStringLiteral("Gemm → MatMulNBits"));
    EXPECT_EQ(cell(rowOf(QStringLiteral("conv_0")), ComparePanel::ChangeCol), QStringLiteral("unchanged"));

    if (const char* shot = std::getenv("BY_COMPARE_SCREENSHOT")) {
        panel()->selectLayer(fc);
        // The right-hand docks make room for the comparison in the picture.
        for (QDockWidget* d : m_window->findChildren<QDockWidget*>())
            if (d != m_window->compareDock() && d->objectName() != QStringLiteral("projectDock") &&
                d->objectName() != QStringLiteral("logDock"))
                d->hide();
        m_window->resizeDocks({m_window->compareDock()}, {600}, Qt::Vertical);
        QApplication::processEvents();
        waitUntil([] { return false; }, 300);
        ASSERT_TRUE(m_window->grab().save(QString::fromUtf8(shot)));
    }
}

// The Graph tab: B's graph with every node coloured as its row, the added DequantizeLinear nodes
// in the "added" colour, a row selecting its node and a node selecting its row; A's graph with
// nothing removed. Checked in the pixels the canvas draws, not only in its state.
TEST_F(ComparePanelTest, GraphTabColoursWhatChangedAndFollowsTheTable) {
    const Fixture& f = fixture();
    ASSERT_TRUE(compareAndWait(f.root, f.int8));
    panel()->tabs()->setCurrentIndex(1);
    GraphCanvas* canvas = panel()->graphCanvas();
    ASSERT_TRUE(waitUntil([&] { return canvas->model() && canvas->view()->layout() && !canvas->isLayoutRunning(); }));
    const by::Model& b = *canvas->model();
    const by::ModelDiff& d = *panel()->diff();
    ASSERT_EQ(d.nodeChangesAfter.size(), b.graph.nodes.size());
    const by::GraphLayout* layout = canvas->view()->layout();
    int retyped = 0, added = 0;
    by::Color retypedColour{}, addedColour{};
    for (size_t n = 0; n < b.graph.nodes.size(); ++n) {
        const by::Color mark = canvas->view()->layoutNodeMark(layout->layoutNodeOf(int(n)));
        if (b.graph.nodes[n].opType == "DequantizeLinear") {
            EXPECT_EQ(d.nodeChangesAfter[n], uint32_t(by::kLayerAdded));
            EXPECT_NE(mark.a, 0);
            addedColour = mark;
            ++added;
        } else if (d.nodeChangesAfter[n] == by::kLayerRetyped) {
            EXPECT_NE(mark.a, 0) << b.graph.nodes[n].name;
            retypedColour = mark;
            ++retyped;
        } else {
            EXPECT_EQ(mark.a, 0) << b.graph.nodes[n].opType << " " << b.graph.nodes[n].name;
        }
    }
    EXPECT_EQ(retyped, 4);
    EXPECT_EQ(added, 4);
    EXPECT_NE(retypedColour, addedColour);

    // Selecting a row centres the graph on the layer's node and selects it.
    const int fc = rowOf(QStringLiteral("linear_7"));
    ASSERT_GE(fc, 0);
    panel()->selectLayer(fc);
    const int fcNode = d.layers[size_t(fc)].nodeAfter;
    ASSERT_GE(fcNode, 0);
    EXPECT_EQ(canvas->selectedNode(), fcNode);
    waitUntil([] { return false; }, 100);
    // The box's body is drawn in the re-typed colour (sampled below its title band).
    const QImage img = canvas->grab().toImage().convertToFormat(QImage::Format_RGB32);
    const by::RectF& r = layout->nodes[size_t(layout->layoutNodeOf(fcNode))].rect;
    const by::PointF c = canvas->view()->worldToScreen({r.centerX(), r.y + r.h * 0.8f});
    const qreal dpr = img.devicePixelRatio();
    const QColor got = img.pixelColor(QPoint(int(c.x * dpr), int(c.y * dpr)));
    bool found = false;  // the body holds text lines: look around the point for the fill
    for (int dy = -6; dy <= 6 && !found; ++dy)
        for (int dx = -30; dx <= 30 && !found; ++dx) {
            const QColor p = img.pixelColor(QPoint(int(c.x * dpr) + dx, int(c.y * dpr) + dy));
            found = std::abs(p.red() - retypedColour.r) < 6 && std::abs(p.green() - retypedColour.g) < 6 && std::abs(p.blue() - retypedColour.b) < 6;
        }
    EXPECT_TRUE(found) << "pixel near the box centre: " << got.name().toStdString();

    // Clicking (selecting) another layer's box selects its row.
    const int conv = rowOf(QStringLiteral("conv_3"));
    ASSERT_GE(conv, 0);
    canvas->selectNode(d.layers[size_t(conv)].nodeAfter);
    EXPECT_EQ(panel()->table()->currentRow(), conv);

    // A's graph: the same layers re-typed, nothing removed.
    panel()->showGraphOf(0);
    ASSERT_TRUE(waitUntil([&] { return canvas->model() && canvas->view()->layout() && !canvas->isLayoutRunning(); }));
    const by::Model& a = *canvas->model();
    EXPECT_EQ(a.graph.nodes.size(), d.nodeChangesBefore.size());
    EXPECT_LT(a.graph.nodes.size(), b.graph.nodes.size());
    int marked = 0;
    for (size_t n = 0; n < a.graph.nodes.size(); ++n) {
        const by::Color mark = canvas->view()->layoutNodeMark(canvas->view()->layout()->layoutNodeOf(int(n)));
        marked += mark.a != 0;
        if (mark.a != 0) {
            EXPECT_EQ(mark, retypedColour) << a.graph.nodes[n].name;
        }
    }
    EXPECT_EQ(marked, 4);

    if (const char* shot = std::getenv("BY_COMPARE_GRAPH_SCREENSHOT")) {
        panel()->showGraphOf(1);
        ASSERT_TRUE(waitUntil([&] { return canvas->view()->layout() && !canvas->isLayoutRunning(); }));
        panel()->selectLayer(fc);
        for (QDockWidget* dock : m_window->findChildren<QDockWidget*>())
            if (dock != m_window->compareDock() && dock->objectName() != QStringLiteral("projectDock") &&
                dock->objectName() != QStringLiteral("logDock"))
                dock->hide();
        m_window->compareDock()->raise();
        m_window->resizeDocks({m_window->compareDock()}, {600}, Qt::Vertical);
        QApplication::processEvents();
        waitUntil([] { return false; }, 300);
        ASSERT_TRUE(m_window->grab().save(QString::fromUtf8(shot)));
    }
}

TEST_F(ComparePanelTest, SameVariantTwiceSaysSo) {
    const Fixture& f = fixture();
    ASSERT_TRUE(panel()->compare(f.int8, f.int8));
    EXPECT_FALSE(panel()->isComparing());
    EXPECT_TRUE(panel()->messageText().contains(QStringLiteral("same variant")));
    EXPECT_FALSE(panel()->compare(f.root, 99999));
}

}  // namespace
