#include "engine/graph.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using namespace by;

namespace {

int addNode(Graph& g, const std::string& op, const std::vector<std::string>& ins,
            const std::vector<std::string>& outs, const std::string& name = {}) {
    Node n;
    n.opType = op;
    n.name = name;
    for (const auto& s : ins) n.inputs.push_back(s.empty() ? -1 : g.valueId(s));
    for (const auto& s : outs) n.outputs.push_back(g.valueId(s));
    return g.addNode(std::move(n));
}

std::vector<int> order(const Graph& g) {
    auto o = g.topologicalOrder();
    EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().what());
    return o.ok() ? *o : std::vector<int>{};
}

Attribute graphAttr(std::shared_ptr<Graph> g) {
    Attribute a;
    a.kind = Attribute::Kind::Graph;
    a.g = std::move(g);
    return a;
}

}  // namespace

TEST(Graph, TopologicalOrderOfADiamondKeepsFileOrder) {
    Graph g;
    g.inputs = {g.valueId("x")};
    addNode(g, "A", {"x"}, {"a"});
    addNode(g, "B", {"a"}, {"b"});
    addNode(g, "C", {"a"}, {"c"});
    addNode(g, "D", {"b", "c"}, {"d"});
    EXPECT_EQ(order(g), (std::vector<int>{0, 1, 2, 3}));
}

TEST(Graph, TopologicalOrderMovesOnlyWhatMustMove) {
    Graph g;
    g.inputs = {g.valueId("x")};
    addNode(g, "D", {"b", "c"}, {"d"});  // 0: needs 2 and 3
    addNode(g, "A", {"x"}, {"a"});       // 1
    addNode(g, "C", {"a"}, {"c"});       // 2
    addNode(g, "B", {"a"}, {"b"});       // 3
    addNode(g, "E", {"x"}, {"e"});       // 4: independent, stays after the earlier ready nodes
    addNode(g, "F", {"x", "x"}, {"f"});  // 5: the same input twice is one dependency
    EXPECT_EQ(order(g), (std::vector<int>{1, 2, 3, 0, 4, 5}));
}

TEST(Graph, CycleErrorNamesANode) {
    Graph g;
    g.name = "loopy";
    g.inputs = {g.valueId("x")};
    addNode(g, "Add", {"x", "c"}, {"a"}, "first");
    addNode(g, "Relu", {"a"}, {"b"});
    addNode(g, "Neg", {"b"}, {"c"});
    addNode(g, "Exp", {"x"}, {"free"});
    auto o = g.topologicalOrder();
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().code, ErrorCode::Format);
    EXPECT_NE(o.error().message.find("cycle through node 0 (Add 'first')"), std::string::npos) << o.error().what();
    EXPECT_NE(o.error().context.find("loopy"), std::string::npos);
    EXPECT_FALSE(g.validate().ok());
}

TEST(Graph, RebuildLinksFillsProducersAndConsumers) {
    Graph g;
    g.inputs = {g.valueId("x")};
    addNode(g, "A", {"x", "x"}, {"a"});
    addNode(g, "B", {"a", "x"}, {"b"});
    ASSERT_TRUE(g.rebuildLinks().ok());
    const Value& x = g.values[static_cast<size_t>(g.findValue("x"))];
    const Value& a = g.values[static_cast<size_t>(g.findValue("a"))];
    EXPECT_EQ(x.producer, -1);
    EXPECT_EQ(x.consumers, (std::vector<int>{0, 1}));
    EXPECT_EQ(a.producer, 0);
    EXPECT_EQ(a.consumers, (std::vector<int>{1}));
    EXPECT_EQ(g.findValue("nope"), -1);
    EXPECT_EQ(g.valueId("a"), g.findValue("a"));
}

TEST(Graph, ValidateCatchesBadIndicesAndDoubleProducers) {
    {
        Graph g;
        g.inputs = {g.valueId("x")};
        addNode(g, "Relu", {"x"}, {"y"}, "r");
        g.nodes[0].inputs.push_back(99);
        auto st = g.validate();
        ASSERT_FALSE(st.ok());
        EXPECT_NE(st.error().message.find("input index 99 is out of range"), std::string::npos);
        EXPECT_NE(st.error().context.find("node 0 (Relu 'r')"), std::string::npos);
    }
    {
        Graph g;
        g.inputs = {g.valueId("x")};
        addNode(g, "Relu", {"x"}, {"y"});
        g.nodes[0].outputs.push_back(-7);
        auto st = g.validate();
        ASSERT_FALSE(st.ok());
        EXPECT_NE(st.error().message.find("output index -7"), std::string::npos);
    }
    {
        Graph g;
        g.inputs = {g.valueId("x")};
        addNode(g, "Relu", {"x"}, {"y"});
        addNode(g, "Neg", {"x"}, {"y"});
        auto st = g.validate();
        ASSERT_FALSE(st.ok());
        EXPECT_NE(st.error().message.find("'y' is produced twice"), std::string::npos);
        EXPECT_NE(st.error().context.find("node 1 (Neg)"), std::string::npos);
    }
    {
        Graph g;
        g.inputs = {g.valueId("x")};
        addNode(g, "Relu", {"x"}, {"y"});
        g.outputs = {5};
        EXPECT_FALSE(g.validate().ok());
        g.outputs = {g.findValue("y")};
        EXPECT_TRUE(g.validate().ok());
        addNode(g, "Opt", {"x", ""}, {"z"});  // -1 marks a missing optional input
        EXPECT_TRUE(g.validate().ok());
    }
}

TEST(Graph, ValidateRecursesIntoSubgraphs) {
    auto sub = std::make_shared<Graph>();
    sub->valueId("in");
    addNode(*sub, "A", {"in"}, {"o"});
    addNode(*sub, "B", {"in"}, {"o"});
    Graph g;
    g.inputs = {g.valueId("cond")};
    addNode(g, "If", {"cond"}, {"y"});
    g.nodes[0].setAttr("then_branch", graphAttr(sub));
    auto st = g.validate();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find("attribute 'then_branch'"), std::string::npos) << st.error().what();
    EXPECT_NE(st.error().what().find("produced twice"), std::string::npos);
}

TEST(Graph, CountsRecurseIntoSubgraphs) {
    auto sub = std::make_shared<Graph>();
    sub->addInitializer("k", std::move(Tensor::zeros(DType::F16, {4})).value());
    addNode(*sub, "Relu", {"k"}, {"o"});
    auto sub2 = std::make_shared<Graph>();
    sub2->addInitializer("k2", Tensor::fromInt64s({2}, {1, 2}));
    addNode(*sub2, "Relu", {"k2"}, {"o2"});
    addNode(*sub2, "Foo", {"o2"}, {"o3"});
    sub2->nodes.back().domain = "com.example";
    Graph g;
    g.addInitializer("w", Tensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6}));
    g.inputs = {g.valueId("cond")};
    addNode(g, "If", {"cond"}, {"y"});
    g.nodes[0].setAttr("then_branch", graphAttr(sub));
    Attribute many;
    many.kind = Attribute::Kind::Graphs;
    many.graphs = {sub2, nullptr};
    g.nodes[0].setAttr("bodies", many);
    addNode(g, "Add", {"y", "w"}, {"z"});
    g.nodes.back().domain = "ai.onnx";
    EXPECT_EQ(g.parameterCount(), 6 + 4 + 2);
    EXPECT_EQ(g.weightBytes(), 24 + 8 + 16);
    EXPECT_EQ(g.nodeCountRecursive(), 2u + 1u + 2u);
    const auto h = g.opHistogram();
    EXPECT_EQ(h.at("Relu"), 2);
    EXPECT_EQ(h.at("If"), 1);
    EXPECT_EQ(h.at("Add"), 1);
    EXPECT_EQ(h.at("com.example.Foo"), 1);
    EXPECT_EQ(h.size(), 4u);
}

TEST(Graph, FoldedValuesAreNotWeights) {
    Graph g;
    g.addInitializer("w", Tensor::fromFloats({4}, {1, 2, 3, 4}));
    const int s = g.addInitializer("shape", Tensor::fromInt64s({2}, {1, -1}));
    g.values[static_cast<size_t>(s)].folded = true;
    EXPECT_EQ(g.parameterCount(), 4);
    EXPECT_EQ(g.weightBytes(), 16);
}

TEST(Graph, SummarizeCountsNodesWeightsAndDtypes) {
    Model m;
    m.format = "onnx";
    Graph& g = m.graph;
    g.addInitializer("w", Tensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6}));
    g.addInitializer("h", std::move(Tensor::zeros(DType::F16, {10})).value());
    g.addInitializer("names", Tensor::fromStrings({2}, {"a", "b"}));
    const int f = g.addInitializer("folded", Tensor::fromInt64s({3}, {1, 2, 3}));
    g.values[static_cast<size_t>(f)].folded = true;
    g.inputs = {g.valueId("x")};
    addNode(g, "MatMul", {"x", "w"}, {"y"});
    addNode(g, "Relu", {"y"}, {"z"});
    addNode(g, "Relu", {"z"}, {"out"});
    const ModelSummary s = summarize(m);
    EXPECT_EQ(s.format, "onnx");
    EXPECT_EQ(s.nodes, 3);
    EXPECT_EQ(s.values, static_cast<int64_t>(g.values.size()));
    EXPECT_EQ(s.parameters, 16);  // strings are not parameters, folded values are not weights
    EXPECT_EQ(s.weightBytes, 24 + 20);
    EXPECT_EQ(s.tensorsWithData, 3);
    EXPECT_EQ(s.ops.at("Relu"), 2);
    EXPECT_EQ(s.ops.at("MatMul"), 1);
    EXPECT_EQ(s.dtypeBytes.at("f32"), 24);
    EXPECT_EQ(s.dtypeBytes.at("f16"), 20);
    EXPECT_EQ(s.dtypeBytes.count("i64"), 0u);
}

TEST(Graph, AttributeAccessorsIgnoreWrongKinds) {
    Node n;
    n.setAttr("k", Attribute::ofInt(3));
    n.setAttr("f", Attribute::ofFloat(0.5));
    n.setAttr("s", Attribute::ofString("same"));
    n.setAttr("v", Attribute::ofInts({1, 2}));
    n.setAttr("k", Attribute::ofInt(4));  // replaces, keeps position
    EXPECT_EQ(n.attributes.size(), 4u);
    EXPECT_EQ(n.attributes[0].first, "k");
    EXPECT_EQ(n.attrInt("k", 0), 4);
    EXPECT_EQ(n.attrInt("f", 7), 7);
    EXPECT_DOUBLE_EQ(n.attrFloat("f", 0), 0.5);
    EXPECT_EQ(n.attrString("k", "d"), "d");
    EXPECT_EQ(n.attrInts("v"), (std::vector<int64_t>{1, 2}));
    EXPECT_TRUE(n.attrInts("s").empty());
    EXPECT_EQ(n.attr("missing"), nullptr);
    EXPECT_EQ(n.attr("v")->toString(), "[1,2]");
    EXPECT_EQ(n.attr("s")->toString(), "\"same\"");
    EXPECT_EQ(Attribute::ofInts({1, 2, 3, 4}).toString(2), "[1,2,... (4)]");
    EXPECT_EQ(dimShapeToString({Dim::sym("N"), Dim::of(3), Dim{}}), "[N,3,?]");
}
