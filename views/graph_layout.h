#pragma once
// Layered (Sugiyama-style) layout of a model graph for the graph view.
//
// Boxes are ops; graph inputs and outputs may be shown as small boxes; weights and constants are
// listed inside their consumer's box ("W [64,3,3,3]") rather than drawn as nodes. Steps:
// longest-path layering with a slack-reducing pass, one shared chain of dummy nodes per long
// value (so a value consumed far away by many ops is routed as one bus), a few barycenter sweeps
// for crossings, then per-layer quadratic placement (pool-adjacent-violators, O(n) per layer)
// that pulls every node towards the median of its neighbours, weighted so long edges and chains
// stay straight. Every pass is O(V+E) or a sort per layer, so 20k ops lay out in well under 2 s.
//
// Scopes come from node names: "/blocks.0/mixer/MatMul_1" and "model.layers.3.attn.q_proj" both
// give a scope path ("blocks.0/mixer", "model/layers.3/attn"). A collapsed scope becomes one group
// box carrying its op count and parameter count.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/progress.h"

namespace by {

struct PointF {
    float x = 0, y = 0;
};

struct RectF {
    float x = 0, y = 0, w = 0, h = 0;
    float right() const { return x + w; }
    float bottom() const { return y + h; }
    float centerX() const { return x + w * 0.5f; }
    float centerY() const { return y + h * 0.5f; }
    bool contains(PointF p) const { return p.x >= x && p.x <= x + w && p.y >= y && p.y <= y + h; }
    bool intersects(const RectF& o) const {
        return x <= o.x + o.w && o.x <= x + w && y <= o.y + o.h && o.y <= y + h;
    }
};

// Coarse op families; the view colours boxes by these.
enum class OpCategory {
    Conv,
    MatMul,       // MatMul, Gemm, FullyConnected, Einsum
    Norm,         // BatchNorm, LayerNorm, RMSNorm, ...
    Activation,   // Relu, Sigmoid, Gelu, HardSwish, ...
    Elementwise,  // Add, Mul, Div, Pow, Sqrt, ...
    Shape,        // Reshape, Transpose, Concat, Gather, Slice, Shape, ...
    Pooling,
    Attention,    // Softmax, attention fused ops
    Quantize,     // QuantizeLinear, DequantizeLinear, ...
    ControlFlow,  // If, Loop, Scan, Where
    Other,
    Input,   // graph input box
    Output,  // graph output box
    Group,   // collapsed scope
    Count
};
OpCategory opCategory(std::string_view opType);
const char* opCategoryName(OpCategory c);

// Scope components of a node name, outermost first, without the op's own last component.
// "/blocks.0/mixer/MatMul_1" -> {"blocks.0","mixer"}; "model.layers.3.attn.q_proj" ->
// {"model","layers.3","attn"}; a name with one component has no scope.
std::vector<std::string> scopeComponents(std::string_view nodeName);
// The components joined with '/': the key used in LayoutOptions::collapsedScopes.
std::string scopePathOf(std::string_view nodeName);

struct ScopeInfo {
    std::string path;  // "model/layers.3/attn"; "" for the root
    std::string name;  // last component: "attn"
    int parent = -1;   // index into ScopeTree::scopes, -1 for the root
    int depth = 0;     // root 0
    std::vector<int> children;
    int opCount = 0;     // ops inside, recursively
    int64_t params = 0;  // parameters of constants consumed inside, recursively, each counted once
};

struct ScopeTree {
    std::vector<ScopeInfo> scopes;  // [0] is the root; parents come before children
    int find(std::string_view path) const;  // -1 when absent
    // Scope paths in tree (depth-first) order, the root excluded.
    std::vector<std::string> paths() const;
};
ScopeTree scopeTree(const Graph& graph);

struct LayoutOptions {
    bool showGraphInputs = true;
    bool showGraphOutputs = true;
    bool showConstantsAsNodes = false;  // also draw initializers and Constant ops as boxes
    std::set<std::string> collapsedScopes;  // scope paths as in ScopeTree
    // Text metrics in layout units, so box sizes match what the canvas will paint.
    float charWidth = 6.6f;
    float lineHeight = 14.0f;
    float minNodeWidth = 64.0f;
    float maxNodeWidth = 260.0f;
    float nodeSpacing = 24.0f;   // horizontal gap between boxes of one layer
    float layerSpacing = 48.0f;  // vertical gap between layers
    float dummyWidth = 8.0f;     // room a routed edge takes in a layer
    int crossingSweeps = 4;      // barycenter sweeps (down+up count as two)
    int placementSweeps = 6;
    int maxAttributeLines = 3;
    int maxWeightLines = 4;
};

enum class LayoutNodeKind { Op, Input, Output, Constant, Group };

struct LayoutNode {
    LayoutNodeKind kind = LayoutNodeKind::Op;
    OpCategory category = OpCategory::Other;
    int node = -1;   // graph node (Op); first member node (Group)
    int value = -1;  // graph value (Input, Output, Constant)
    int scope = -1;  // ScopeTree index (Group)
    int layer = 0;
    int order = 0;   // position within its layer, left to right
    RectF rect;      // layout units, top-left origin, y grows downwards
    std::string title;     // op type, scope path, or value name
    std::string subtitle;  // node name, op count
    std::vector<std::string> lines;  // key attributes, weights, output shape
    int opCount = 1;
    int64_t params = 0;
};

struct LayoutEdge {
    int from = -1;  // layout node indices
    int to = -1;
    int value = -1;         // the graph value flowing along the edge
    bool reversed = false;  // drawn against the layer order (only when collapsing made a cycle)
    bool labelled = false;  // first edge of its value: carries the shape label
    std::string label;      // "[1,64,48,320]"
    // The polyline this edge draws. Edges of one value share the route down from their source
    // (a bus): then `trunk` is the sibling edge carrying the shared part, and the full route is
    // edges[trunk].points[0, trunkPoints) followed by points[1...] (points.front() equals
    // edges[trunk].points[trunkPoints - 1]). Without a trunk (-1) `points` is the whole route,
    // from the source's bottom to the target's top (reversed edges run the other way).
    std::vector<PointF> points;
    int trunk = -1;
    int trunkPoints = 0;
};

struct GraphLayout {
    std::vector<LayoutNode> nodes;
    std::vector<LayoutEdge> edges;
    std::vector<std::vector<int>> layers;  // layout nodes per layer, left to right
    std::vector<float> layerY;             // top of each layer
    std::vector<float> layerHeight;
    std::vector<int> nodeOfGraphNode;  // graph node -> layout node (its group when collapsed), -1 when hidden
    ScopeTree scopes;
    RectF bounds;
    // Box geometry the view needs to draw text where the layout made room for it.
    float lineHeight = 14.0f;   // one body line
    float titleHeight = 20.0f;  // the coloured title band
    float padding = 6.0f;
    int dummyCount = 0;
    int64_t crossings = 0;  // edge crossings between adjacent layers after reduction

    int layoutNodeOf(int graphNode) const {
        return graphNode >= 0 && graphNode < static_cast<int>(nodeOfGraphNode.size()) ? nodeOfGraphNode[graphNode] : -1;
    }
};

// The whole route of edge `e`, trunk included.
std::vector<PointF> edgeRoute(const GraphLayout& layout, int e);

// Lays out `graph`. Fails with Invalid when the graph has a cycle, with Cancelled when `progress`
// was cancelled. `progress` may be null.
Result<GraphLayout> layoutGraph(const Graph& graph, const LayoutOptions& options = {},
                                const Progress* progress = nullptr);

// The cheapest reasonable layout (longest-path layers, boxes packed in a grid, straight edges, no
// crossing reduction): the baseline benchmarks compare against.
Result<GraphLayout> layoutGraphNaive(const Graph& graph, const LayoutOptions& options = {});

}  // namespace by
