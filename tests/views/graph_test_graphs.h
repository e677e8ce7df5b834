#pragma once
// Small graph builders and layout invariants shared by the graph view tests.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "views/graph_layout.h"

namespace by::test {

// Builds graphs by value name: op("Relu", "r1", {"x"}, {"y"}).
class GraphMaker {
public:
    Graph g;

    int input(const std::string& name, DimShape shape = {}) {
        const int v = g.valueId(name);
        if (!shape.empty()) g.values[v].shape = shape;
        g.inputs.push_back(v);
        return v;
    }
    void output(const std::string& name) { g.outputs.push_back(g.valueId(name)); }
    int weight(const std::string& name, const Shape& shape) {
        return g.addInitializer(name, Tensor::zeros(DType::F32, shape).value());
    }
    int op(const std::string& type, const std::string& name, const std::vector<std::string>& ins,
           const std::vector<std::string>& outs, std::vector<std::pair<std::string, Attribute>> attrs = {}) {
        Node n;
        n.opType = type;
        n.name = name;
        for (const auto& i : ins) n.inputs.push_back(g.valueId(i));
        for (const auto& o : outs) n.outputs.push_back(g.valueId(o));
        n.attributes = std::move(attrs);
        return g.addNode(std::move(n));
    }
    Graph done() {
        EXPECT_TRUE(g.rebuildLinks().ok());
        return std::move(g);
    }
};

// A random DAG of `n` ops: each reads one to three earlier values, mostly recent ones, with a
// few long skips, like real networks.
inline Graph randomDag(int n, unsigned seed) {
    GraphMaker m;
    std::mt19937 rng(seed);
    m.input("in");
    std::vector<std::string> vals = {"in"};
    const char* ops[] = {"Conv", "Relu", "Add", "MatMul", "Reshape", "Softmax", "Mul", "LayerNormalization"};
    for (int i = 0; i < n; ++i) {
        const int k = 1 + static_cast<int>(rng() % 3);
        std::vector<std::string> ins;
        for (int j = 0; j < k; ++j) {
            const int back = rng() % 10 == 0 ? static_cast<int>(rng() % vals.size()) : static_cast<int>(rng() % 4);
            ins.push_back(vals[std::max(0, static_cast<int>(vals.size()) - 1 - back)]);
        }
        const std::string out = "v" + std::to_string(i);
        m.op(ops[rng() % 8], "/block" + std::to_string(i / 50) + "/op_" + std::to_string(i), ins, {out});
        vals.push_back(out);
    }
    m.output(vals.back());
    return m.done();
}

// Checks what every layout must satisfy: boxes of one layer do not overlap and are ordered,
// layers do not overlap vertically, every edge goes down, and every edge has a route from its
// source's bottom to its target's top.
inline void expectValidLayout(const GraphLayout& l) {
    ASSERT_EQ(l.layers.size(), l.layerY.size());
    size_t placed = 0;
    for (size_t li = 0; li < l.layers.size(); ++li) {
        const auto& layer = l.layers[li];
        placed += layer.size();
        for (size_t i = 0; i < layer.size(); ++i) {
            const LayoutNode& n = l.nodes[layer[i]];
            EXPECT_EQ(n.layer, static_cast<int>(li));
            EXPECT_EQ(n.order, static_cast<int>(i));
            EXPECT_GE(n.rect.y, l.layerY[li] - 0.01f);
            EXPECT_LE(n.rect.bottom(), l.layerY[li] + l.layerHeight[li] + 0.01f);
            if (i > 0) {
                const LayoutNode& prev = l.nodes[layer[i - 1]];
                EXPECT_LE(prev.rect.right(), n.rect.x + 0.01f) << "boxes " << layer[i - 1] << " and " << layer[i] << " overlap";
            }
        }
        if (li > 0) {
            EXPECT_GT(l.layerY[li], l.layerY[li - 1] + l.layerHeight[li - 1]);
        }
    }
    EXPECT_EQ(placed, l.nodes.size());
    for (size_t e = 0; e < l.edges.size(); ++e) {
        const LayoutEdge& edge = l.edges[e];
        const LayoutNode& a = l.nodes[edge.from];
        const LayoutNode& b = l.nodes[edge.to];
        if (!edge.reversed) {
            EXPECT_LT(a.layer, b.layer) << "edge " << e << " does not go down";
        } else {
            EXPECT_GT(a.layer, b.layer);
        }
        const std::vector<PointF> route = edgeRoute(l, static_cast<int>(e));
        ASSERT_GE(route.size(), 2u) << "edge " << e << " is not routed";
        const PointF s = route.front(), t = route.back();
        const LayoutNode& top = edge.reversed ? b : a;
        const LayoutNode& bottom = edge.reversed ? a : b;
        const PointF up = edge.reversed ? t : s, down = edge.reversed ? s : t;
        EXPECT_NEAR(up.y, top.rect.bottom(), 0.01f);
        EXPECT_GE(up.x, top.rect.x - 0.01f);
        EXPECT_LE(up.x, top.rect.right() + 0.01f);
        EXPECT_NEAR(down.y, bottom.rect.y, 0.01f);
        EXPECT_GE(down.x, bottom.rect.x - 0.01f);
        EXPECT_LE(down.x, bottom.rect.right() + 0.01f);
        for (size_t i = 1; i < route.size(); ++i) {
            if (!edge.reversed) {
                EXPECT_GE(route[i].y, route[i - 1].y - 0.01f);
            } else {
                EXPECT_LE(route[i].y, route[i - 1].y + 0.01f);
            }
        }
    }
}

}  // namespace by::test
