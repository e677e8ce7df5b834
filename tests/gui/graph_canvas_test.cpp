// The graph canvas in a real QApplication (run under Xvfb, not the offscreen platform).
#include "app/gui/graph_canvas.h"
#include "tests/gui/gui_test_support.h"

#include <gtest/gtest.h>

#include <QApplication>
#include <QEventLoop>
#include <QImage>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QTimer>

#include <set>

#include "views/graph_view.h"
#include "views/sample_graphs.h"

namespace {

using by::test::ensureApp;
using by::test::waitUntil;


// Runs the event loop until `canvas` reports a finished layout (or the timeout passes).
bool waitForLayout(GraphCanvas& canvas, int* boxes = nullptr, int timeoutMs = 30000) {
    QEventLoop loop;
    bool done = false;
    auto c = QObject::connect(&canvas, &GraphCanvas::layoutFinished, &loop, [&](int n, double) {
        done = true;
        if (boxes) *boxes = n;
        loop.quit();
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    QObject::disconnect(c);
    return done;
}

void settle() {
    for (int i = 0; i < 5; ++i) QCoreApplication::processEvents();
}

QPointF screenCenterOfGraphNode(const GraphCanvas& canvas, int node) {
    const by::GraphLayout* l = canvas.view()->layout();
    const by::RectF& r = l->nodes[l->layoutNodeOf(node)].rect;
    const by::PointF p = canvas.view()->worldToScreen({r.centerX(), r.centerY()});
    return QPointF(p.x, p.y);
}

void click(QWidget& w, QPointF pos, bool doubleClick = false) {
    const QPointF global = w.mapToGlobal(pos);
    QMouseEvent press(QEvent::MouseButtonPress, pos, global, Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &press);
    QMouseEvent release(QEvent::MouseButtonRelease, pos, global, Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &release);
    if (doubleClick) {
        QMouseEvent dbl(QEvent::MouseButtonDblClick, pos, global, Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &dbl);
    }
}

struct CanvasTest : ::testing::Test {
    void SetUp() override { ensureApp(); }
};

}  // namespace

TEST_F(CanvasTest, PaintsTheGraphAndSelectsOnClick) {
    auto model = std::make_shared<by::Model>(by::makeConvNetSample());
    GraphCanvas canvas;
    canvas.resize(1000, 700);
    canvas.show();
    std::vector<double> progress;
    QObject::connect(&canvas, &GraphCanvas::layoutProgress, [&](double f) { progress.push_back(f); });
    canvas.setModel(model);
    EXPECT_FALSE(canvas.scopes().empty());
    int boxes = 0;
    ASSERT_TRUE(waitForLayout(canvas, &boxes));
    const by::GraphLayout* layout = canvas.view()->layout();
    ASSERT_NE(layout, nullptr);
    EXPECT_EQ(boxes, static_cast<int>(layout->nodes.size()));
    ASSERT_FALSE(progress.empty());
    EXPECT_DOUBLE_EQ(progress.back(), 1.0);

    // Readable zoom around the first conv, then grab what is on screen.
    canvas.centerOnNode(0);
    settle();
    const QImage img = canvas.grab().toImage().convertToFormat(QImage::Format_RGB32);
    ASSERT_FALSE(img.isNull());
    std::set<QRgb> colours;
    for (int y = 0; y < img.height(); y += 3)
        for (int x = 0; x < img.width(); x += 3) colours.insert(img.pixel(x, y) & 0xF0F0F0);
    EXPECT_GE(colours.size(), 8u) << "the canvas looks blank";
    // The conv's title band carries the conv colour.
    const QPointF c = screenCenterOfGraphNode(canvas, 0);
    const by::RectF& r = layout->nodes[layout->layoutNodeOf(0)].rect;
    const QPoint band(static_cast<int>(c.x() - r.w * canvas.view()->zoom() * 0.4), static_cast<int>(c.y() - r.h * canvas.view()->zoom() / 2 + 3));
    const QColor got = img.pixelColor(band);
    const by::Color want = by::categoryColor(by::OpCategory::Conv);
    EXPECT_NEAR(got.red(), want.r, 30);
    EXPECT_NEAR(got.green(), want.g, 30);
    EXPECT_NEAR(got.blue(), want.b, 30);

    int selected = -2;
    QObject::connect(&canvas, &GraphCanvas::nodeSelected, [&](int n) { selected = n; });
    const int target = 4;
    canvas.centerOnNode(target);  // programmatic: no signal
    settle();
    EXPECT_EQ(selected, -2);
    canvas.selectNode(-1);
    EXPECT_EQ(selected, -1);
    click(canvas, screenCenterOfGraphNode(canvas, target));
    EXPECT_EQ(selected, target);
    EXPECT_EQ(canvas.selectedNode(), target);

    // Empty space clears the selection.
    click(canvas, QPointF(5, 5));
    EXPECT_EQ(selected, -1);
}

TEST_F(CanvasTest, SearchJumpsBetweenMatches) {
    auto model = std::make_shared<by::Model>(by::makeConvNetSample());
    GraphCanvas canvas;
    canvas.resize(800, 600);
    canvas.show();
    canvas.setModel(model);
    ASSERT_TRUE(waitForLayout(canvas));
    QString status;
    QObject::connect(&canvas, &GraphCanvas::statusMessage, [&](const QString& s) { status = s; });
    canvas.setSearchText("GEMM");
    EXPECT_EQ(model->graph.nodes[canvas.selectedNode()].opType, "Gemm");
    canvas.setSearchText("relu");
    const int first = canvas.selectedNode();
    ASSERT_GE(first, 0);
    EXPECT_EQ(model->graph.nodes[first].opType, "Relu");
    canvas.findNext();
    const int second = canvas.selectedNode();
    EXPECT_NE(second, first);
    EXPECT_EQ(model->graph.nodes[second].opType, "Relu");
    canvas.findPrevious();
    EXPECT_EQ(canvas.selectedNode(), first);
    EXPECT_TRUE(status.contains("Match"));
}

TEST_F(CanvasTest, DoubleClickCollapsesAndExpandsScopes) {
    auto model = std::make_shared<by::Model>(by::makeTransformerSample(44 * 4));
    GraphCanvas canvas;
    canvas.resize(1000, 700);
    canvas.show();
    canvas.setModel(model);
    int full = 0;
    ASSERT_TRUE(waitForLayout(canvas, &full));

    // An op of layers.1's attention: double-click folds its innermost scope.
    int op = -1;
    for (size_t n = 0; n < model->graph.nodes.size(); ++n)
        if (model->graph.nodes[n].name == "/model/layers.1/self_attn/Softmax") op = static_cast<int>(n);
    ASSERT_GE(op, 0);
    canvas.centerOnNode(op);
    settle();
    click(canvas, screenCenterOfGraphNode(canvas, op), true);
    int collapsed = 0;
    ASSERT_TRUE(waitForLayout(canvas, &collapsed));
    EXPECT_LT(collapsed, full);
    EXPECT_EQ(canvas.collapsedScopes(), (std::set<std::string>{"model/layers.1/self_attn"}));

    // Double-click the group box: expanded again.
    settle();
    click(canvas, screenCenterOfGraphNode(canvas, op), true);
    int expanded = 0;
    ASSERT_TRUE(waitForLayout(canvas, &expanded));
    EXPECT_EQ(expanded, full);
    EXPECT_TRUE(canvas.collapsedScopes().empty());

    canvas.setCollapsedScopes({"model/layers.0", "model/layers.2"});
    int two = 0;
    ASSERT_TRUE(waitForLayout(canvas, &two));
    EXPECT_LT(two, collapsed);
}

TEST_F(CanvasTest, NewModelCancelsTheRunningLayout) {
    auto big = std::make_shared<by::Model>(by::makeTransformerSample(20000));
    auto small = std::make_shared<by::Model>(by::makeConvNetSample());
    GraphCanvas canvas;
    canvas.resize(800, 600);
    canvas.show();
    std::vector<int> finished;
    QObject::connect(&canvas, &GraphCanvas::layoutFinished, [&](int n, double) { finished.push_back(n); });
    canvas.setModel(big);
    canvas.setModel(small);
    ASSERT_TRUE(waitForLayout(canvas));
    settle();
    ASSERT_EQ(finished.size(), 1u);
    EXPECT_EQ(finished[0], static_cast<int>(canvas.view()->layout()->nodes.size()));
    EXPECT_LT(finished[0], 200);

    // Keys: 0 fits the whole graph, + zooms in.
    canvas.setZoom(2.0);
    QKeyEvent zero(QEvent::KeyPress, Qt::Key_0, Qt::NoModifier, "0");
    QApplication::sendEvent(&canvas, &zero);
    const float fit = canvas.view()->zoom();
    EXPECT_LT(fit, 2.0f);
    QKeyEvent plus(QEvent::KeyPress, Qt::Key_Plus, Qt::NoModifier, "+");
    QApplication::sendEvent(&canvas, &plus);
    EXPECT_NEAR(canvas.view()->zoom(), fit * 1.25f, 1e-3f);

    canvas.setModel(nullptr);
    settle();
    EXPECT_EQ(canvas.view()->layout(), nullptr);
    EXPECT_TRUE(canvas.scopes().empty());
}
