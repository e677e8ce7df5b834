#pragma once
// The transformer blocks structured pruning and modular decomposition both rewrite: feed-forward
// blocks (up-projection -> element-wise -> down-projection) and fused Q/K/V attention blocks, as
// traced by structured_prune_pass.cpp. Not part of the engine's public API.
#include <optional>
#include <string>
#include <vector>

#include "engine/compression_internal.h"

namespace by::compression {

std::string describeNode(const Graph& g, int n);  // "MatMul 'name'"
bool isGraphOutput(const Graph& g, int v);
// The kept indices: everything but the `drop` lowest scores (ties: the earlier index stays), sorted.
std::vector<int64_t> keepHighest(const std::vector<double>& score, int64_t drop);
// Column norms of a layer's weight seen as rows [N][K]: for each k, sqrt(sum_n W[n][k]^2).
std::vector<double> inputNorms(const LayerWeight& w);
// Output entries `keep` of a layer's weight (its N axis) / input entries (its K axis), stored layout.
Tensor sliceOutputs(const LayerWeight& w, const std::vector<int64_t>& keep);
Tensor sliceInputs(const LayerWeight& w, const std::vector<int64_t>& keep);

// Replaces input `input` of `node` by a new initializer; counts the elements for the report.
struct Replacer {
    Graph& g;
    int64_t before = 0, after = 0;
    void operator()(int node, size_t input, const Tensor& oldT, Tensor newT, const std::string& suffix) {
        before += oldT.numel();
        after += newT.numel();
        const int vid = g.nodes[size_t(node)].inputs[input];
        const std::string base = g.values[size_t(vid)].name.empty() ? nodeLabel(g, node) + "_in" + std::to_string(input) : g.values[size_t(vid)].name;
        setInput(g, node, input, addWeight(g, base + suffix, std::move(newT)));
    }
};

// A MatMul/Gemm (no transA) with a constant f32 weight; `why` says what is wrong otherwise.
bool checkProjection(const Graph& g, int n, std::optional<LayerWeight>& w, std::string& why);
// A Gemm's bias when it is one value per output; nullptr when absent or a scalar. `ok` false when
// present but not a constant vector of N.
const Tensor* gemmBias(const Graph& g, int n, int64_t N, bool& ok);

struct FfnPlan {
    int up = -1, down = -1;
    LayerWeight upW, downW;
    std::vector<std::pair<int, size_t>> perNeuron;  // (node, input) constants of one value per neuron
    std::vector<int> values;                        // values carrying the N neurons (shapes change)
    int hidden = -1;                                // the down-projection's input
    // The down-projection's bias, where the mean of removed neurons is folded in: (node, input).
    int biasNode = -1;
    size_t biasInput = 0;
};

// The constant bias of N values added to a projection's output: its own (Gemm) or a following Add.
// `node` stays -1 when there is none.
void findOutputBias(const Graph& g, int proj, int64_t N, int& node, size_t& input);
// The feed-forward block starting at `up`; false with `why` when there is none.
bool traceFfn(const Graph& g, int up, FfnPlan& plan, std::string& why);

// One entry of a Reshape's shape and where it comes from, so that it can be rewritten.
struct ShapeEntry {
    std::optional<int64_t> value;  // nullopt: computed at run time
    int owner = -1;                // node whose input holds the constant (the Reshape or a Concat)
    size_t input = 0;
    int64_t index = 0;             // element within that constant
};

// The entries of a Reshape's shape input: a constant, or a Concat of constants and run-time pieces.
std::optional<std::vector<ShapeEntry>> shapeEntries(const Graph& g, int reshape);
// Rewrites entry `e` of a shape to `value` (a new constant; the old one may be shared).
Status rewriteShapeEntry(Graph& g, int reshape, const ShapeEntry& e, int64_t value);

struct HeadPlan {
    int qkv = -1, out = -1, biasAdd = -1, split = -1, merge = -1;  // projection, its bias Add, the two Reshapes
    LayerWeight qkvW, outW;
    int64_t heads = 0, dim = 0;
    ShapeEntry headEntry, widthEntry;
    std::vector<int> values;  // values whose head count changes
};

// The fused attention block starting at projection `qkv`; false with `why` when there is none.
bool traceHeads(const Graph& g, int qkv, HeadPlan& plan, std::string& why);
// Indices of the projection outputs (parts 3) / output-projection inputs (parts 1) of `heads`.
std::vector<int64_t> headColumns(const HeadPlan& p, const std::vector<int64_t>& heads, int parts);

}  // namespace by::compression
