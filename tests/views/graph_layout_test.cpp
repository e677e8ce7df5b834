#include "views/graph_layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "importers/importer_registry.h"
#include "tests/test_support.h"
#include "tests/views/graph_test_graphs.h"
#include "views/sample_graphs.h"

using namespace by;
using by::test::GraphMaker;

namespace {

Graph chain(int n) {
    GraphMaker m;
    m.input("x", {Dim::of(1), Dim::of(8)});
    std::string prev = "x";
    for (int i = 0; i < n; ++i) {
        const std::string out = "c" + std::to_string(i);
        m.op(i % 2 ? "Relu" : "Add", "op" + std::to_string(i), {prev}, {out});
        prev = out;
    }
    m.output(prev);
    return m.done();
}

GraphLayout mustLayout(const Graph& g, const LayoutOptions& o = {}) {
    auto r = layoutGraph(g, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() ? std::move(r.value()) : GraphLayout{};
}

}  // namespace

TEST(GraphLayout, ChainIsOneStraightColumn) {
    const Graph g = chain(12);
    const GraphLayout l = mustLayout(g);
    by::test::expectValidLayout(l);
    ASSERT_EQ(l.nodes.size(), 14u);  // input + 12 ops + output
    EXPECT_EQ(l.layers.size(), 14u);
    EXPECT_EQ(l.dummyCount, 0);
    EXPECT_EQ(l.crossings, 0);
    const float cx = l.nodes[l.layoutNodeOf(0)].rect.centerX();
    for (int n = 0; n < 12; ++n) EXPECT_NEAR(l.nodes[l.layoutNodeOf(n)].rect.centerX(), cx, 0.5f);
}

TEST(GraphLayout, DiamondPutsBranchesSideBySideAndJoinBelow) {
    GraphMaker m;
    m.input("x");
    m.op("Conv", "a", {"x"}, {"a"});
    m.op("Relu", "b", {"a"}, {"b"});
    m.op("Sigmoid", "c", {"a"}, {"c"});
    m.op("Mul", "d", {"b", "c"}, {"d"});
    m.output("d");
    const Graph g = m.done();
    const GraphLayout l = mustLayout(g);
    by::test::expectValidLayout(l);
    const LayoutNode& a = l.nodes[l.layoutNodeOf(0)];
    const LayoutNode& b = l.nodes[l.layoutNodeOf(1)];
    const LayoutNode& c = l.nodes[l.layoutNodeOf(2)];
    const LayoutNode& d = l.nodes[l.layoutNodeOf(3)];
    EXPECT_EQ(b.layer, c.layer);
    EXPECT_EQ(a.layer + 1, b.layer);
    EXPECT_EQ(d.layer, b.layer + 1);
    EXPECT_EQ(l.crossings, 0);
    // The join sits between its two inputs, the fork above them.
    EXPECT_GT(d.rect.centerX(), std::min(b.rect.centerX(), c.rect.centerX()));
    EXPECT_LT(d.rect.centerX(), std::max(b.rect.centerX(), c.rect.centerX()));
    EXPECT_NEAR(a.rect.centerX(), (b.rect.centerX() + c.rect.centerX()) / 2, 20.0f);
}

TEST(GraphLayout, WideFanOutStaysInOneLayerWithoutOverlap) {
    GraphMaker m;
    m.input("x");
    m.op("Split", "split", {"x"}, {"s"});
    for (int i = 0; i < 300; ++i) m.op("Relu", "r" + std::to_string(i), {"s"}, {"r" + std::to_string(i)});
    std::vector<std::string> all;
    for (int i = 0; i < 300; ++i) all.push_back("r" + std::to_string(i));
    m.op("Concat", "cat", all, {"y"});
    m.output("y");
    const Graph g = m.done();
    const GraphLayout l = mustLayout(g);
    by::test::expectValidLayout(l);
    const int layer = l.nodes[l.layoutNodeOf(1)].layer;
    for (int i = 1; i <= 300; ++i) EXPECT_EQ(l.nodes[l.layoutNodeOf(i)].layer, layer);
    EXPECT_EQ(l.layers[layer].size(), 300u);
    EXPECT_EQ(l.crossings, 0);
    // The fork is centred over its fan.
    const auto& row = l.layers[layer];
    const float mid = (l.nodes[row.front()].rect.centerX() + l.nodes[row.back()].rect.centerX()) / 2;
    EXPECT_NEAR(l.nodes[l.layoutNodeOf(0)].rect.centerX(), mid, 50.0f);
}

TEST(GraphLayout, LongEdgesGetDummiesAndRouteThroughThem) {
    GraphMaker m;
    m.input("x");
    m.op("Conv", "skip_src", {"x"}, {"s"});
    std::string prev = "s";
    for (int i = 0; i < 6; ++i) {
        m.op("Relu", "r" + std::to_string(i), {prev}, {"r" + std::to_string(i)});
        prev = "r" + std::to_string(i);
    }
    m.op("Add", "join", {prev, "s"}, {"y"});
    m.output("y");
    const Graph g = m.done();
    const GraphLayout l = mustLayout(g);
    by::test::expectValidLayout(l);
    EXPECT_EQ(l.dummyCount, 6);  // the skip crosses the layers of r0..r5
    int longEdges = 0;
    for (size_t e = 0; e < l.edges.size(); ++e)
        if (l.edges[e].from == l.layoutNodeOf(0) && l.edges[e].to == l.layoutNodeOf(7)) {
            ++longEdges;
            EXPECT_GE(edgeRoute(l, static_cast<int>(e)).size(), 2u + 5u);
        }
    EXPECT_EQ(longEdges, 1);
}

TEST(GraphLayout, ValueReadFarAwayByManyOpsIsOneBus) {
    // A mask read by every block: its edges share one trunk instead of one route each.
    Model model = makeTransformerSample(44 * 12);
    const GraphLayout l = mustLayout(model.graph);
    by::test::expectValidLayout(l);
    const int mask = model.graph.findValue("attention_mask");
    int edges = 0, withTrunk = 0;
    for (const auto& e : l.edges)
        if (e.value == mask) {
            ++edges;
            if (e.trunk >= 0) ++withTrunk;
        }
    EXPECT_GE(edges, 12);
    EXPECT_GE(withTrunk, edges - 2);
}

TEST(GraphLayout, FiveThousandNodeDagIsValid) {
    const Graph g = by::test::randomDag(5000, 7);
    const GraphLayout l = mustLayout(g);
    ASSERT_EQ(l.nodes.size(), 5002u);
    by::test::expectValidLayout(l);
    for (int n = 0; n < 5000; ++n) EXPECT_GE(l.layoutNodeOf(n), 0);
}

TEST(GraphLayout, CrossingReductionBeatsTheNaiveOrder) {
    const Graph g = by::test::randomDag(1500, 3);
    LayoutOptions none;
    none.crossingSweeps = 0;
    const GraphLayout base = mustLayout(g, none);
    const GraphLayout tuned = mustLayout(g);
    EXPECT_LE(tuned.crossings, base.crossings);
}

TEST(GraphLayout, WeightsAreListedInsideTheirConsumer) {
    GraphMaker m;
    m.input("image", {Dim::of(1), Dim::of(3), Dim::of(224), Dim::of(224)});
    m.weight("conv.w", {64, 3, 3, 3});
    m.weight("conv.b", {64});
    m.op("Conv", "/stem/conv/Conv", {"image", "conv.w", "conv.b"}, {"y"},
         {{"kernel_shape", Attribute::ofInts({3, 3})}, {"strides", Attribute::ofInts({2, 2})}, {"group", Attribute::ofInt(1)}});
    m.g.values[m.g.valueId("y")].shape = DimShape{Dim::of(1), Dim::of(64), Dim::of(112), Dim::of(112)};
    m.output("y");
    const Graph g = m.done();
    const GraphLayout l = mustLayout(g);
    ASSERT_EQ(l.nodes.size(), 3u);  // input, Conv, output: no boxes for weights
    const LayoutNode& conv = l.nodes[l.layoutNodeOf(0)];
    EXPECT_EQ(conv.title, "Conv");
    EXPECT_EQ(conv.subtitle, "conv/Conv");
    EXPECT_EQ(conv.category, OpCategory::Conv);
    EXPECT_EQ(conv.params, 64 * 27 + 64);
    auto hasLine = [&](const std::string& s) { return std::find(conv.lines.begin(), conv.lines.end(), s) != conv.lines.end(); };
    EXPECT_TRUE(hasLine("W [64,3,3,3]"));
    EXPECT_TRUE(hasLine("B [64]"));
    EXPECT_TRUE(hasLine("k 3\xC3\x97" "3  s 2"));
    EXPECT_TRUE(hasLine("\xE2\x86\x92 [1,64,112,112]"));
    ASSERT_EQ(l.edges.size(), 2u);
    for (const auto& e : l.edges) EXPECT_TRUE(l.nodes[e.from].kind != LayoutNodeKind::Constant);

    LayoutOptions withConstants;
    withConstants.showConstantsAsNodes = true;
    const GraphLayout l2 = mustLayout(g, withConstants);
    EXPECT_EQ(l2.nodes.size(), 5u);
    by::test::expectValidLayout(l2);
}

TEST(GraphLayout, ConstantOpsAreFoldedIntoConsumers) {
    GraphMaker m;
    m.input("x");
    const int c = m.op("Constant", "c", {}, {"shape"});
    m.g.nodes[c].setAttr("value", Attribute::ofTensor(Tensor::fromInt64s({2}, {1, -1})));
    m.op("Reshape", "r", {"x", "shape"}, {"y"});
    m.output("y");
    const Graph g = m.done();
    const GraphLayout l = mustLayout(g);
    EXPECT_EQ(l.nodes.size(), 3u);
    EXPECT_EQ(l.layoutNodeOf(c), -1);
    const LayoutNode& r = l.nodes[l.layoutNodeOf(1)];
    EXPECT_NE(std::find(r.lines.begin(), r.lines.end(), "shape [2]"), r.lines.end());
}

TEST(GraphLayout, InputsAndOutputsCanBeHidden) {
    const Graph g = chain(4);
    LayoutOptions o;
    o.showGraphInputs = false;
    o.showGraphOutputs = false;
    const GraphLayout l = mustLayout(g, o);
    EXPECT_EQ(l.nodes.size(), 4u);
    EXPECT_EQ(l.edges.size(), 3u);
    by::test::expectValidLayout(l);
}

TEST(GraphLayout, EmptyAndBrokenGraphs) {
    const Graph empty;
    const GraphLayout l = mustLayout(empty);
    EXPECT_TRUE(l.nodes.empty());
    EXPECT_TRUE(l.layers.empty());

    GraphMaker m;
    m.input("x");
    m.output("x");
    const GraphLayout passThrough = mustLayout(m.done());
    EXPECT_EQ(passThrough.nodes.size(), 2u);
    EXPECT_EQ(passThrough.edges.size(), 1u);
    by::test::expectValidLayout(passThrough);

    Graph bad;
    Node n;
    n.opType = "Relu";
    n.name = "r";
    n.inputs = {7};
    bad.nodes.push_back(n);
    auto r = layoutGraph(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Invalid);
    EXPECT_NE(r.error().what().find("'r'"), std::string::npos);
}

TEST(GraphLayout, CycleIsAnError) {
    GraphMaker m;
    m.op("Add", "a", {"y"}, {"x"});
    m.op("Relu", "b", {"x"}, {"y"});
    const Graph g = m.done();
    auto r = layoutGraph(g);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Invalid);
    EXPECT_NE(r.error().message.find("cycle"), std::string::npos);
}

TEST(GraphLayout, ReportsProgressAndStopsWhenCancelled) {
    const Graph g = by::test::randomDag(2000, 1);
    std::vector<double> seen;
    Progress progress([&](double f, const std::string&) { seen.push_back(f); });
    auto r = layoutGraph(g, {}, &progress);
    ASSERT_TRUE(r.ok());
    ASSERT_GE(seen.size(), 3u);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << ::testing::PrintToString(seen);
    EXPECT_DOUBLE_EQ(seen.back(), 1.0);

    Progress* self = nullptr;
    Progress cancelling([&](double f, const std::string&) {
        if (f > 0.15) self->cancel();
    });
    self = &cancelling;
    auto c = layoutGraph(g, {}, &cancelling);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Cancelled);
}

// ------------------------------------------------------------------ scopes

TEST(GraphScopes, ComponentsFromRealisticNames) {
    using V = std::vector<std::string>;
    EXPECT_EQ(scopeComponents("/blocks.0/mixer/MatMul_1"), (V{"blocks.0", "mixer"}));
    EXPECT_EQ(scopeComponents("model.layers.3.attn.q_proj"), (V{"model", "layers.3", "attn"}));
    EXPECT_EQ(scopeComponents("/model/layers.12/self_attn/q_proj/MatMul"), (V{"model", "layers.12", "self_attn", "q_proj"}));
    EXPECT_EQ(scopeComponents("/encoder/layer.0.attention/Softmax"), (V{"encoder", "layer.0", "attention"}));
    EXPECT_EQ(scopeComponents("model/conv2d_3/Conv2D;model/batch_norm/FusedBatchNorm"), (V{"model", "conv2d_3"}));
    EXPECT_EQ(scopeComponents("Conv_0"), V{});
    EXPECT_EQ(scopeComponents(""), V{});
    EXPECT_EQ(scopePathOf("/model/layers.3/mlp/fc1/MatMul"), "model/layers.3/mlp/fc1");
}

TEST(GraphScopes, TreeCountsOpsAndParameters) {
    GraphMaker m;
    m.input("x");
    m.weight("w0", {4, 4});
    m.weight("shared", {10});
    m.op("MatMul", "/enc/layers.0/attn/MatMul", {"x", "w0"}, {"a"});
    m.op("Add", "/enc/layers.0/attn/Add", {"a", "shared"}, {"b"});
    m.op("Relu", "/enc/layers.0/Relu", {"b"}, {"c"});
    m.op("Add", "/enc/layers.1/Add", {"c", "shared"}, {"d"});
    m.op("Identity", "out", {"d"}, {"y"});
    m.output("y");
    const Graph g = m.done();
    const ScopeTree t = scopeTree(g);
    EXPECT_EQ(t.paths(), (std::vector<std::string>{"enc", "enc/layers.0", "enc/layers.0/attn", "enc/layers.1"}));
    const auto& enc = t.scopes[t.find("enc")];
    EXPECT_EQ(enc.opCount, 4);
    EXPECT_EQ(enc.params, 16 + 10);  // `shared` counted once
    EXPECT_EQ(t.scopes[t.find("enc/layers.0")].opCount, 3);
    EXPECT_EQ(t.scopes[t.find("enc/layers.0/attn")].params, 26);
    EXPECT_EQ(t.scopes[t.find("enc/layers.1")].params, 10);
    EXPECT_EQ(t.scopes[t.find("enc/layers.0/attn")].depth, 3);
    EXPECT_EQ(t.scopes[0].opCount, 5);
    EXPECT_EQ(t.find("nope"), -1);
}

TEST(GraphScopes, CollapseAndExpandChangeBoxCounts) {
    Model model = makeTransformerSample(44 * 6);
    const Graph& g = model.graph;
    const GraphLayout full = mustLayout(g);
    const size_t total = full.nodes.size();
    const ScopeTree& t = full.scopes;
    const int layer3 = t.find("model/layers.3");
    ASSERT_GE(layer3, 0);
    const int ops3 = t.scopes[layer3].opCount;
    EXPECT_GT(ops3, 30);

    LayoutOptions o;
    o.collapsedScopes = {"model/layers.3"};
    const GraphLayout one = mustLayout(g, o);
    by::test::expectValidLayout(one);
    EXPECT_EQ(one.nodes.size(), total - ops3 + 1);
    const auto group = std::find_if(one.nodes.begin(), one.nodes.end(), [](const LayoutNode& n) { return n.kind == LayoutNodeKind::Group; });
    ASSERT_NE(group, one.nodes.end());
    EXPECT_EQ(group->opCount, ops3);
    EXPECT_EQ(group->params, t.scopes[layer3].params);
    EXPECT_EQ(group->title, "layers.3");
    EXPECT_EQ(group->category, OpCategory::Group);
    // Every op of the scope maps to the group box.
    for (size_t n = 0; n < g.nodes.size(); ++n) {
        if (g.nodes[n].name.rfind("/model/layers.3/", 0) == 0) {
            EXPECT_EQ(one.layoutNodeOf(static_cast<int>(n)), group - one.nodes.begin());
        }
    }

    // A collapsed parent wins over collapsed children; two siblings give two groups.
    o.collapsedScopes = {"model/layers.3", "model/layers.3/self_attn", "model/layers.4"};
    const GraphLayout two = mustLayout(g, o);
    by::test::expectValidLayout(two);
    EXPECT_EQ(two.nodes.size(), total - ops3 - t.scopes[t.find("model/layers.4")].opCount + 2);

    // Collapsing only attention (its shape chain and projections) still gives a valid layout.
    o.collapsedScopes = {"model/layers.2/self_attn"};
    const GraphLayout attn = mustLayout(g, o);
    by::test::expectValidLayout(attn);
    EXPECT_EQ(attn.nodes.size(), total - t.scopes[t.find("model/layers.2/self_attn")].opCount + 1);

    // Expanding again restores every op.
    o.collapsedScopes.clear();
    EXPECT_EQ(mustLayout(g, o).nodes.size(), total);
}

TEST(GraphScopes, CollapsingIntoACycleStillLaysOut) {
    // a (scope s) -> b (outside) -> c (scope s): the group both feeds and reads b.
    GraphMaker m;
    m.input("x");
    m.op("Relu", "/s/a", {"x"}, {"a"});
    m.op("Relu", "/t/b", {"a"}, {"b"});
    m.op("Add", "/s/c", {"b", "a"}, {"c"});
    m.output("c");
    const Graph g = m.done();
    LayoutOptions o;
    o.collapsedScopes = {"s"};
    const GraphLayout l = mustLayout(g, o);
    by::test::expectValidLayout(l);
    EXPECT_EQ(l.nodes.size(), 4u);
    EXPECT_TRUE(std::any_of(l.edges.begin(), l.edges.end(), [](const LayoutEdge& e) { return e.reversed; }));
}

TEST(GraphLayout, OpCategories) {
    EXPECT_EQ(opCategory("Conv"), OpCategory::Conv);
    EXPECT_EQ(opCategory("DEPTHWISE_CONV_2D"), OpCategory::Conv);
    EXPECT_EQ(opCategory("Gemm"), OpCategory::MatMul);
    EXPECT_EQ(opCategory("FULLY_CONNECTED"), OpCategory::MatMul);
    EXPECT_EQ(opCategory("LayerNormalization"), OpCategory::Norm);
    EXPECT_EQ(opCategory("HardSwish"), OpCategory::Activation);
    EXPECT_EQ(opCategory("Add"), OpCategory::Elementwise);
    EXPECT_EQ(opCategory("Reshape"), OpCategory::Shape);
    EXPECT_EQ(opCategory("MAX_POOL_2D"), OpCategory::Pooling);
    EXPECT_EQ(opCategory("ReduceMean"), OpCategory::Pooling);
    EXPECT_EQ(opCategory("Softmax"), OpCategory::Attention);
    EXPECT_EQ(opCategory("MultiHeadAttention"), OpCategory::Attention);
    EXPECT_EQ(opCategory("DequantizeLinear"), OpCategory::Quantize);
    EXPECT_EQ(opCategory("Loop"), OpCategory::ControlFlow);
    EXPECT_EQ(opCategory("MyCustomOp"), OpCategory::Other);
}

TEST(GraphLayout, RealRecognitionModelIsFullyPlaced) {
    const std::string path = by::test::asset("models/ch_PP-OCRv4_rec_infer.onnx");
    auto model = loadModel(path);
    ASSERT_TRUE(model.ok()) << model.error().what();
    const Graph& g = model->graph;
    ASSERT_GT(g.nodes.size(), 500u);
    const GraphLayout l = mustLayout(g);
    by::test::expectValidLayout(l);
    for (size_t n = 0; n < g.nodes.size(); ++n) {
        if (g.nodes[n].opType == "Constant" && g.nodes[n].inputs.empty()) continue;
        EXPECT_GE(l.layoutNodeOf(static_cast<int>(n)), 0) << "node " << n << " " << g.nodes[n].name << " not placed";
    }
    EXPECT_GT(l.bounds.w, 0);
    EXPECT_GT(l.bounds.h, 0);
}
