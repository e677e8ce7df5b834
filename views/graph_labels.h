#pragma once
// Text shown inside graph view boxes, and the facts about values the layout needs to build it.
// Shared by graph_layout.cpp and graph_view.cpp; not meant for other callers.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.h"

namespace by {

struct LayoutOptions;

// Per-value facts computed once per layout: the producing node, the consuming nodes (one entry
// per input slot, so a node reading a value twice is listed twice) and the constant tensor, which
// is the value's data or the `value` attribute of a Constant op producing it.
struct GraphIndex {
    std::vector<int> producer;          // per value, -1 for inputs and initializers
    std::vector<int> consumerStart;     // CSR over values, size values+1
    std::vector<int> consumers;
    std::vector<const Tensor*> constant;  // per value, nullptr when not constant
    std::vector<uint8_t> constantOp;      // per node: a Constant op with no inputs

    explicit GraphIndex(const Graph& g);
    int consumerCount(int v) const { return consumerStart[v + 1] - consumerStart[v]; }
};

struct ScopeTree;
// Fills `tree` and returns each node's innermost scope (0 is the root).
std::vector<int> buildScopeTree(const Graph& graph, const GraphIndex& index, ScopeTree& tree);

// Number of code points, for width estimates.
size_t textColumns(std::string_view utf8);
std::string formatCount(int64_t n);  // 1234567 -> "1.23M"
std::string shapeLabel(const Value& v);  // "[1,64,48,320]", "" when unknown
// A constant input as shown in its consumer's box: its shape, or "= 0.5" for a single number.
std::string constantSummary(const Tensor& t);

// Role names of an op's inputs where well known ("X","W","B" for Conv), else "in<i>".
std::string inputRoleName(std::string_view opType, size_t index);
// One compact line of the attributes that matter most at a glance ("k 3×3  s 2  g 32").
std::string keyAttributes(const Node& n);

}  // namespace by
