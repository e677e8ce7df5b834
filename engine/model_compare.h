#pragma once
// Structural equality of models: what round-trip tests of importers/exporters and checks of
// "this pass changed only what it meant to" need. Compares what a model *says*, not how it is
// stored: values are matched by name (unnamed ones by their order among the unnamed), node inputs
// and outputs by the names they refer to, tensors by dtype, shape and bytes. Derived data
// (producer/consumer links, the name index, data with Value::folded set) and provenance (format,
// sourcePath, warnings) are not compared.
#include "engine/graph.h"

#include <optional>
#include <string>

namespace by {

struct ModelCompareOptions {
    bool modelFields = true; // name, producer, versions, domain, irVersion, opsets
    bool metadata = true;    // Model::metadata, in order
    bool docStrings = true;  // model, graph, node and value doc strings
    bool valueTypes = true;  // Value dtype and shape
    bool tensorData = true;  // tensor bytes (dtype and shape are always compared)
};

// A sentence naming the first difference found ("graph 'main' > node 12 (Conv 'c1') > attribute
// 'pads': ints [1,1] vs [0,0]"), or nullopt when the two are structurally equal.
std::optional<std::string> firstDifference(const Model& a, const Model& b,
                                           const ModelCompareOptions& opts = {});
std::optional<std::string> firstDifference(const Graph& a, const Graph& b,
                                           const ModelCompareOptions& opts = {});
std::optional<std::string> firstDifference(const Tensor& a, const Tensor& b, bool compareData = true);

} // namespace by
