#pragma once
// Per-layer difference of two models: a parent and a compressed variant, or any two variants of
// one model. Where model_compare.h answers "are these the same?", this answers "what did the
// compression do to each layer, and what did it cost?".
//
// Layers are matched by node name (unnamed nodes by op type and their order among the unnamed
// nodes of that type), which is what the compression passes keep: int8 weights arrive through a
// DequantizeLinear chain in front of the same node, MatMulNBits replaces the node under its own
// name, low rank adds "<name>_low_rank" in front of it, static quantization writes
// "<name>_quantized", channel pruning slices the node's weights in place. Weights that only
// nodes of weights read (a DequantizeLinear of a constant) belong to the layer that reads them;
// free initializers (weights-only models) are matched by their own name.
//
// Each side's weight is seen as it computes: quantized weights are dequantized (through the
// executor for constant chains, by the operator's own packing for MatMulNBits and QLinear ops),
// factors are multiplied back together, so the relative error is ||W - W'||_F / ||W||_F over the
// weights the two models really apply, whenever their shapes agree.
//
// Two unrelated models give a diff in which every layer is removed or added and `matched` is 0;
// the caller says so in one sentence (see ModelDiff::related).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"

namespace by {

// What happened to a layer, as bits: one layer may be sliced and re-typed at once.
enum LayerChange : uint32_t {
    kLayerUnchanged = 0,
    kLayerRemoved = 1u << 0,     // in A only
    kLayerAdded = 1u << 1,       // in B only
    kLayerRetyped = 1u << 2,     // storage or operator changed (f32 -> int8, MatMul -> MatMulNBits)
    kLayerFactorised = 1u << 3,  // one product became two (low rank)
    kLayerSliced = 1u << 4,      // weight shape changed (channel pruning)
    kLayerSparsified = 1u << 5,  // clearly more exact zeros
    kLayerModified = 1u << 6,    // same shape and storage, other values
};
// The most telling change of a mask (removed/added, factorised, sliced, re-typed, sparsified,
// modified, unchanged), for a colour or a sort key.
LayerChange primaryChange(uint32_t changes);
const char* layerChangeName(LayerChange c);  // "unchanged", "re-typed", ...
std::string layerChangeLabel(uint32_t changes);  // "sliced, re-typed"

struct LayerDiff {
    std::string layer;               // the node name (or "Conv#3" for an unnamed node)
    std::string opBefore, opAfter;   // empty on the side the layer is missing from
    std::string storageBefore, storageAfter;  // "f32 [16,1,5,5]", "int8 via DequantizeLinear", "4-bit g32 MatMulNBits"
    Shape shapeBefore, shapeAfter;   // the effective f32 weight each side applies
    uint32_t changes = kLayerUnchanged;
    int64_t paramsBefore = 0, paramsAfter = 0;  // weight elements (a factorised layer: both factors) and biases
    int64_t bytesBefore = 0, bytesAfter = 0;    // every constant the layer reads: scales and zero points too
    std::optional<double> relError;  // when both sides have a weight of the same shape
    double sparsityBefore = 0, sparsityAfter = 0;  // fraction of exact zeros of the effective weight
    // Histograms of the effective weights over one shared range [histLo, histHi].
    double histLo = 0, histHi = 0;
    std::vector<int64_t> histBefore, histAfter;
    std::string note;  // why there is no error, or a weight that could not be read
    int nodeBefore = -1, nodeAfter = -1;  // the layer's node in each graph (-1: absent, or a free weight)

    LayerChange primary() const { return primaryChange(changes); }
};

struct ModelDiff {
    std::vector<LayerDiff> layers;   // A's order, then B's additions
    int64_t paramsBefore = 0, paramsAfter = 0;  // whole models (Graph::parameterCount)
    int64_t bytesBefore = 0, bytesAfter = 0;    // whole models (Graph::weightBytes)
    int64_t nodesBefore = 0, nodesAfter = 0;
    int matched = 0;    // layers found on both sides
    int changed = 0;    // matched layers with any change
    int removed = 0, added = 0;
    double seconds = 0; // time the diff took
    // Every node of each graph, for drawing the graphs: a layer's node carries its layer's
    // changes; the first factor of a low-rank pair carries its layer's; any other node is matched
    // by name (unnamed: op type and order) and is kLayerRemoved (A) / kLayerAdded (B) without a
    // counterpart, kLayerUnchanged with one.
    std::vector<uint32_t> nodeChangesBefore, nodeChangesAfter;

    // False when no layer of A has a counterpart in B (two unrelated models).
    bool related() const { return matched > 0; }
};

struct VariantDiffOptions {
    int histogramBins = 32;  // 0: no histograms
    // A layer counts as sparsified when its zero fraction grows by more than this.
    double sparsityStep = 0.01;
};

// Fails only when a model has nothing to compare (no node and no weight).
Result<ModelDiff> diffModels(const Model& a, const Model& b, const VariantDiffOptions& opts = {});

}  // namespace by
