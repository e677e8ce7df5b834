#pragma once
// Builds a model graph from a layer list and trained weights: the bridge from a training script's
// saved parameters to a Model that the project's own writers (ONNX, safetensors, GGUF) export and
// the executor runs. Only the layer kinds small classifiers need; anything else is an error.
//
// The graph is plain ONNX (opset 13): Conv, Relu, MaxPool, Flatten, Gemm. The input has a
// symbolic batch dimension "N"; every intermediate value gets its inferred shape, so the
// builder rejects weights whose shapes do not chain (a 1568-wide Gemm after a 32x7x7 tensor is
// fine, a 1000-wide one is an error naming the layer).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/tensor.h"

namespace by {

struct LayerSpec {
    enum class Kind { Conv, Relu, MaxPool, Flatten, Linear };
    Kind kind = Kind::Relu;
    std::string weight;  // Conv [out,in,kh,kw], Linear [out,in] (PyTorch layouts): key into weights
    std::string bias;    // [out]; empty = none
    int64_t pad = 0;     // Conv: zero padding on every side
    int64_t stride = 0;  // 0: 1 for Conv, the window size for MaxPool
    int64_t kernel = 2;  // MaxPool window
};

struct SequentialSpec {
    std::string name = "model";
    std::string inputName = "image";
    Shape inputShape;  // per sample, without the batch dimension: [C,H,W] or [features]
    std::string outputName = "logits";
    std::vector<LayerSpec> layers;
    std::map<std::string, Tensor> weights;  // F32 tensors by name; the names become initializer names
    // Stored as model metadata ("class_names" as a JSON array of strings, plus anything the caller adds).
    std::vector<std::string> classNames;
    std::vector<std::pair<std::string, MetaValue>> metadata;
};

// Fails (Invalid) naming the layer when a weight is missing, not F32, or of a shape that does not
// fit the tensor flowing into it.
Result<Model> buildSequentialModel(const SequentialSpec& spec);

// Layer kind names used in configuration files: "conv", "relu", "maxpool", "flatten", "linear".
Result<LayerSpec::Kind> layerKindFromName(const std::string& name);

}  // namespace by
