#include "views/graph_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "tests/views/graph_test_graphs.h"
#include "views/sample_graphs.h"

using namespace by;

namespace {

struct Fixture {
    std::shared_ptr<Model> model;
    std::shared_ptr<const GraphLayout> layout;
    GraphView view;

    explicit Fixture(Model m) : model(std::make_shared<Model>(std::move(m))) {
        auto r = layoutGraph(model->graph);
        EXPECT_TRUE(r.ok());
        layout = std::make_shared<const GraphLayout>(std::move(r.value()));
        view.setLayout(layout, std::shared_ptr<const Graph>(model, &model->graph));
        view.setViewportSize(1280, 800);
    }
    PointF screenCenterOf(int layoutNode) const {
        const RectF& r = layout->nodes[layoutNode].rect;
        return view.worldToScreen({r.centerX(), r.centerY()});
    }
};

bool onScreen(const RectF& r, float w, float h, float slack) {
    return r.right() >= -slack && r.bottom() >= -slack && r.x <= w + slack && r.y <= h + slack;
}

}  // namespace

TEST(GraphView, ZoomAtCursorKeepsThePointUnderTheCursor) {
    Fixture f(makeConvNetSample());
    f.view.fitToView();
    const PointF cursor{333, 444};
    const PointF before = f.view.screenToWorld(cursor);
    for (float factor : {1.7f, 1.7f, 0.3f, 2.5f}) {
        f.view.zoomAt(cursor, factor);
        const PointF after = f.view.screenToWorld(cursor);
        EXPECT_NEAR(after.x, before.x, 1e-2f * std::max(1.0f, std::abs(before.x)));
        EXPECT_NEAR(after.y, before.y, 1e-2f * std::max(1.0f, std::abs(before.y)));
    }
    f.view.zoomAt(cursor, 1e6f);
    EXPECT_FLOAT_EQ(f.view.zoom(), f.view.maxZoom());
}

TEST(GraphView, FitShowsEverything) {
    Fixture f(makeTransformerSample(500));
    f.view.fitToView();
    const RectF b = f.layout->bounds;
    for (PointF corner : {PointF{b.x, b.y}, PointF{b.right(), b.bottom()}, PointF{b.x, b.bottom()}, PointF{b.right(), b.y}}) {
        const PointF s = f.view.worldToScreen(corner);
        EXPECT_GE(s.x, -0.5f);
        EXPECT_GE(s.y, -0.5f);
        EXPECT_LE(s.x, 1280.5f);
        EXPECT_LE(s.y, 800.5f);
    }
    DrawList dl;
    f.view.buildDrawList(dl);
    EXPECT_EQ(dl.visibleNodes, static_cast<int>(f.layout->nodes.size()));

    // A tiny graph is not blown up beyond a readable size.
    Fixture small(makeConvNetSample(1, 1));
    small.view.fitToView();
    EXPECT_LE(small.view.zoom(), 1.5f);
}

TEST(GraphView, StartViewIsTheWholeGraphWhenReadableElseItsTop) {
    // A small graph fits whole at a readable zoom: the start view is the fit.
    Model tiny;
    tiny.graph = test::randomDag(5, 3);
    Fixture small(std::move(tiny));
    small.view.fitToView();
    const float fitZoom = small.view.zoom();
    ASSERT_GE(fitZoom, 0.7f);
    small.view.showStart();
    EXPECT_FLOAT_EQ(small.view.zoom(), fitZoom);

    // A long transformer fitted whole would be a thin line: start readable, at the top.
    Fixture tall(makeTransformerSample(500));
    tall.view.fitToView();
    ASSERT_LT(tall.view.zoom(), 0.35f);
    tall.view.showStart();
    EXPECT_GE(tall.view.zoom(), 0.7f);
    const RectF b = tall.layout->bounds;
    const PointF top = tall.view.worldToScreen({b.x, b.y});
    EXPECT_GE(top.y, 0.0f);
    EXPECT_LE(top.y, 100.0f);
    DrawList dl;
    tall.view.buildDrawList(dl);
    EXPECT_GT(dl.visibleNodes, 0);
    EXPECT_LT(dl.visibleNodes, static_cast<int>(tall.layout->nodes.size()));
    bool labelled = false;
    for (const auto& t : dl.texts) labelled = labelled || !t.text.empty();
    EXPECT_TRUE(labelled) << "the start view of a tall graph shows box labels";
}

TEST(GraphView, HitTestFindsNodesAndEdgesAndNothingInEmptySpace) {
    Fixture f(makeConvNetSample());
    f.view.setTransform(1.0f, {0, 0});
    const int conv = f.layout->layoutNodeOf(0);
    f.view.centerOnLayoutNode(conv);
    HitResult hit = f.view.hitTest(f.screenCenterOf(conv));
    ASSERT_EQ(hit.kind, HitResult::Kind::Node);
    EXPECT_EQ(hit.layoutNode, conv);
    EXPECT_EQ(hit.graphNode, 0);

    // Far left of all boxes, beside the graph.
    const PointF empty = f.view.worldToScreen({f.layout->bounds.x - 200, f.layout->nodes[conv].rect.centerY()});
    EXPECT_EQ(f.view.hitTest(empty).kind, HitResult::Kind::None);

    // The middle of an edge's first segment.
    const LayoutEdge& e = f.layout->edges.front();
    f.view.centerOnLayoutNode(e.from);
    const PointF a = f.view.worldToScreen(e.points[0]), b = f.view.worldToScreen(e.points[1]);
    hit = f.view.hitTest({(a.x + b.x) / 2 + 1.5f, (a.y + b.y) / 2});
    ASSERT_EQ(hit.kind, HitResult::Kind::Edge);
    EXPECT_EQ(f.layout->edges[hit.edge].value, e.value);
    EXPECT_EQ(hit.value, e.value);
    EXPECT_FALSE(f.view.tooltip(hit).empty());
}

TEST(GraphView, SelectionAndHover) {
    Fixture f(makeConvNetSample());
    const int u = f.layout->layoutNodeOf(3);
    f.view.centerOnLayoutNode(u);
    f.view.select(f.view.hitTest(f.screenCenterOf(u)));
    EXPECT_EQ(f.view.selectedLayoutNode(), u);
    EXPECT_EQ(f.view.selectedGraphNode(), 3);
    EXPECT_TRUE(f.view.setHover(f.view.hitTest(f.screenCenterOf(u))));
    EXPECT_FALSE(f.view.setHover(f.view.hitTest(f.screenCenterOf(u))));
    EXPECT_EQ(f.view.hoveredLayoutNode(), u);
    f.view.clearSelection();
    EXPECT_EQ(f.view.selectedGraphNode(), -1);
    EXPECT_NE(f.view.tooltip(f.view.hitTest(f.screenCenterOf(u))).find(f.model->graph.nodes[3].opType), std::string::npos);

    // The selection follows the graph node through a relayout.
    f.view.selectLayoutNode(u);
    auto again = layoutGraph(f.model->graph);
    f.view.setLayout(std::make_shared<const GraphLayout>(std::move(again.value())),
                     std::shared_ptr<const Graph>(f.model, &f.model->graph));
    EXPECT_EQ(f.view.selectedGraphNode(), 3);
}

TEST(GraphView, SearchFindsByOpTypeAndNameInLayoutOrder) {
    Fixture f(makeTransformerSample(44 * 5));
    const int softmax = f.view.setSearch("sOfTmAx");
    const auto softmaxOps = std::count_if(f.model->graph.nodes.begin(), f.model->graph.nodes.end(),
                                          [](const Node& n) { return n.opType == "Softmax"; });
    EXPECT_GE(softmaxOps, 5);
    EXPECT_EQ(softmax, softmaxOps);
    const auto matches = f.view.searchMatches();
    for (size_t i = 1; i < matches.size(); ++i)
        EXPECT_LT(f.layout->nodes[matches[i - 1]].layer, f.layout->nodes[matches[i]].layer);
    for (int m : matches) EXPECT_EQ(f.layout->nodes[m].title, "Softmax");

    EXPECT_EQ(f.view.setSearch("layers.2/mlp/fc1"), 2);  // MatMul and Add of that projection
    EXPECT_EQ(f.view.setSearch("no such thing"), 0);
    EXPECT_EQ(f.view.findNext(), -1);

    f.view.setSearch("softmax");
    const int first = f.view.findNext();
    EXPECT_EQ(first, matches[0]);
    EXPECT_EQ(f.view.selectedLayoutNode(), first);
    // Centred and readable.
    const PointF c = f.screenCenterOf(first);
    EXPECT_NEAR(c.x, 640, 1);
    EXPECT_NEAR(c.y, 400, 1);
    EXPECT_GE(f.view.zoom(), 0.7f);
    EXPECT_EQ(f.view.findNext(), matches[1]);
    EXPECT_EQ(f.view.findPrevious(), matches[0]);
    EXPECT_EQ(f.view.findPrevious(), matches.back());  // wraps
}

TEST(GraphView, DrawListCullsToTheViewport) {
    Fixture f(makeTransformerSample(5000));
    f.view.setTransform(1.0f, {0, 0});
    f.view.centerOnLayoutNode(f.layout->layoutNodeOf(2500));
    DrawList dl;
    f.view.buildDrawList(dl);
    EXPECT_GT(dl.visibleNodes, 0);
    EXPECT_LT(dl.visibleNodes, 60);
    int expected = 0;
    for (const auto& n : f.layout->nodes) {
        const PointF a = f.view.worldToScreen({n.rect.x, n.rect.y});
        if (onScreen(RectF{a.x, a.y, n.rect.w * f.view.zoom(), n.rect.h * f.view.zoom()}, 1280, 800, 7.9f)) ++expected;
    }
    EXPECT_EQ(dl.visibleNodes, expected);
    // Rects belong to visible boxes (a title band may lie just above the top edge).
    for (const auto& r : dl.rects) EXPECT_TRUE(onScreen(r.rect, 1280, 800, 200)) << r.rect.x << "," << r.rect.y;
    for (const auto& l : dl.lines) {
        ASSERT_LE(l.first + l.count, dl.points.size());
        ASSERT_GE(l.count, 2u);
        bool any = false;
        for (uint32_t i = l.first; i < l.first + l.count; ++i)
            any = any || onScreen(RectF{dl.points[i].x, dl.points[i].y, 0, 0}, 1280, 800, 20);
        EXPECT_TRUE(any);
    }
    // Colours follow the op category.
    const Color conv = categoryColor(OpCategory::MatMul);
    EXPECT_NE(conv, categoryColor(OpCategory::Norm));
    EXPECT_NE(categoryColor(OpCategory::Attention), categoryColor(OpCategory::Shape));

    // Far outside the graph there is nothing to draw.
    f.view.setTransform(1.0f, {1e7f, 1e7f});
    f.view.buildDrawList(dl);
    EXPECT_EQ(dl.visibleNodes, 0);
    EXPECT_TRUE(dl.rects.empty());
    EXPECT_TRUE(dl.lines.empty());
}

TEST(GraphView, LevelOfDetailDropsTextAtLowZoom) {
    Fixture f(makeTransformerSample(2000));
    const int u = f.layout->layoutNodeOf(1000);
    DrawList dl;

    f.view.setTransform(1.0f, {0, 0});
    f.view.centerOnLayoutNode(u, false);
    f.view.buildDrawList(dl);
    EXPECT_EQ(dl.lod, LevelOfDetail::Full);
    EXPECT_FALSE(dl.texts.empty());
    const size_t fullTexts = dl.texts.size();
    EXPECT_TRUE(std::any_of(dl.lines.begin(), dl.lines.end(), [](const DrawPolyline& l) { return l.arrow; }));

    f.view.setTransform(0.5f, {0, 0});
    f.view.centerOnLayoutNode(u, false);
    f.view.buildDrawList(dl);
    EXPECT_EQ(dl.lod, LevelOfDetail::Boxes);
    EXPECT_LT(dl.texts.size(), fullTexts * 2);  // titles only, though more boxes are visible
    for (const auto& t : dl.texts) EXPECT_TRUE(t.bold);

    f.view.setTransform(0.1f, {0, 0});
    f.view.centerOnLayoutNode(u, false);
    f.view.buildDrawList(dl);
    EXPECT_EQ(dl.lod, LevelOfDetail::Overview);
    EXPECT_TRUE(dl.texts.empty());
    EXPECT_FALSE(dl.rects.empty());
    // Edges are plain strokes: no arrow heads, and no two points closer than the merge distance
    // except where a route leaves the view.
    size_t points = 0;
    for (const auto& l : dl.lines) {
        EXPECT_FALSE(l.arrow);
        points += l.count;
    }
    EXPECT_LT(points, dl.lines.size() * 6);
}

TEST(GraphView, EmptyViewIsHarmless) {
    GraphView v;
    DrawList dl;
    v.buildDrawList(dl);
    EXPECT_TRUE(dl.rects.empty());
    EXPECT_EQ(v.hitTest({10, 10}).kind, HitResult::Kind::None);
    EXPECT_EQ(v.setSearch("x"), 0);
    v.fitToView();
    v.zoomAt({1, 1}, 2);
    EXPECT_EQ(v.findNext(), -1);
}

TEST(GraphView, MarkedNodesAreDrawnInTheirColour) {
    Fixture f(makeConvNetSample());
    f.view.setTransform(1.0f, {0, 0});
    const int node = 2;
    const int u = f.layout->layoutNodeOf(node);
    ASSERT_GE(u, 0);
    f.view.centerOnLayoutNode(u, false);
    const Color mark{200, 230, 201, 255};
    auto bodiesOf = [&](const DrawList& dl) {
        // Rects covering the whole box of layout node u (body, and a highlight frame).
        const RectF& w = f.layout->nodes[size_t(u)].rect;
        const PointF a = f.view.worldToScreen({w.x, w.y});
        std::vector<DrawRect> out;
        for (const auto& r : dl.rects)
            if (std::abs(r.rect.x - a.x) < 0.5f && std::abs(r.rect.y - a.y) < 0.5f && std::abs(r.rect.w - w.w * f.view.zoom()) < 0.5f) out.push_back(r);
        return out;
    };
    DrawList plain, marked;
    f.view.buildDrawList(plain);
    auto before = bodiesOf(plain);
    ASSERT_FALSE(before.empty());
    for (const auto& r : before) EXPECT_NE(r.fill, mark);

    std::vector<Color> marks(f.model->graph.nodes.size(), Color{0, 0, 0, 0});
    marks[node] = mark;
    f.view.setNodeMarks(marks);
    EXPECT_EQ(f.view.layoutNodeMark(u), mark);
    f.view.buildDrawList(marked);
    auto after = bodiesOf(marked);
    ASSERT_FALSE(after.empty());
    EXPECT_EQ(after.front().fill, mark);
    EXPECT_GE(after.front().strokeWidth, 3.0f);
    // Only that box changed colour.
    int markedRects = 0;
    for (const auto& r : marked.rects) markedRects += r.fill == mark;
    EXPECT_EQ(markedRects, 1);

    // Marks survive a new layout of the same graph, and clearing them restores the plain look.
    f.view.setLayout(f.layout, std::shared_ptr<const Graph>(f.model, &f.model->graph));
    EXPECT_EQ(f.view.layoutNodeMark(u), mark);
    f.view.setNodeMarks({});
    EXPECT_EQ(f.view.layoutNodeMark(u).a, 0);
}
