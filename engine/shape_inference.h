#pragma once
// Static shape and dtype inference over the graph IR, for ONNX operators (default domain) and the
// TFLite builtins (domain "tflite", NHWC activations, OHWI filters).
//
// The pass walks nodes in dependency order and fills Value::dtype and Value::shape of node
// outputs. Symbolic dimensions ("N") survive elementwise, broadcast, reshape and layout ops.
// Small integer tensors computed from shapes (Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
// as exported by PyTorch) are folded; a fully known result is stored in the output's Value::data
// with Value::folded set, so weight accounting does not count it.
//
// Inference never fails on what a node says: unknown operators and malformed attributes leave the
// outputs unknown, and malformed input adds a warning naming the node, its op and the field.
// When a value already carries a shape (declared by the file, value_info) and the inferred one
// contradicts it, the declared shape stays and a warning is recorded; a compatible inferred shape
// refines unknown or symbolic declared dimensions.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"

namespace by {

struct ShapeInferenceOptions {
    // Default-domain opset, 0 when unknown. Inputs and attributes almost always tell the versions
    // apart (axes as attribute vs. input); the opset only supplies defaults that changed (Concat's
    // axis before opset 4).
    int64_t onnxOpset = 0;
    // Evaluate small shape-computing subgraphs (Shape, Gather, Concat, Cast, Slice, Range...).
    bool foldConstants = true;
    // Folding gives up on tensors with more elements than this.
    int64_t maxFoldElements = 4096;
    // Forget shapes and folded data of every node output before inferring (dtypes stay), so
    // results follow edited graph inputs instead of conflicting with an earlier run or value_info.
    bool resetNodeOutputs = false;
    // Also infer inside subgraph attributes (If branches, Loop bodies).
    bool recurseIntoSubgraphs = true;
};

struct ShapeInferenceResult {
    std::vector<std::string> warnings;  // "node 12 (Conv 'conv1'): attribute 'strides': ..."
    int64_t nodeOutputs = 0;            // node outputs visited (top-level graph)
    int64_t outputsWithShape = 0;       // of those, how many have a rank after the pass
    int64_t outputsFullyKnown = 0;      // of those, how many have every dimension as a number
    int64_t foldedValues = 0;           // values given folded data by this run (all graphs)
};

// Fails only when the graph itself cannot be ordered (a cycle); everything else is a warning.
Result<ShapeInferenceResult> inferShapes(Graph& g, const ShapeInferenceOptions& opts = {});
// Same, taking the default-domain opset from the model unless opts names one.
Result<ShapeInferenceResult> inferShapes(Model& m, ShapeInferenceOptions opts = {});

}  // namespace by
