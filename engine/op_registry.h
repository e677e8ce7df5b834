#pragma once
// Operator kernels of the CPU executor, looked up by (domain, op type). Each op family lives in
// one file (ops_elementwise.cpp, ops_nn.cpp, ops_shape.cpp, ops_reduce.cpp, ops_rnn.cpp,
// ops_resize.cpp, ops_control.cpp) and adds its kernels through one register function called by instance().
//
// A kernel reads ctx.inputs (nullptr where an optional input is absent), fills ctx.outputs (one
// Tensor per node output; an output whose value index is -1 may be left empty) and returns an
// Error for bad input. The optional check runs once when an executor is planned: it rejects
// attribute values or declared input dtypes the kernel does not handle, so an unsupported model is
// refused before anything runs.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/tensor.h"

namespace by {

struct FusedChain;

class ThreadPool;

struct KernelContext {
    const Node& node;
    const Graph& graph;  // the graph the node belongs to (for declared value types)
    int64_t opset = 0;   // default-domain opset of the model; 0 when unknown
    std::vector<const Tensor*> inputs;
    std::vector<Tensor> outputs;
    ThreadPool* pool = nullptr;
    // Runs a subgraph attribute (If branch, Loop body): `args` bind its formal inputs in order;
    // names it takes from outer scopes resolve through the calling graph.
    std::function<Result<std::vector<Tensor>>(const Graph&, std::vector<Tensor>)> runSubgraph;
    // An element-wise chain fused behind this node (engine/elementwise_fusion.h). A kernel that
    // applies it to its output itself sets epilogueDone; otherwise the executor runs it after.
    const FusedChain* epilogue = nullptr;
    bool epilogueDone = false;

    size_t inputCount() const { return inputs.size(); }
    bool has(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
    const Tensor& in(size_t i) const { return *inputs[i]; }
    bool wantsOutput(size_t i) const { return i < node.outputs.size() && node.outputs[i] >= 0; }

    // What the kernel's prepare function built for this node at plan time (see PrepareFn), or
    // nullptr when it has none.
    const void* prepared = nullptr;
};

using KernelFn = Status (*)(KernelContext& ctx);
using CheckFn = Status (*)(const Node& node, const Graph& graph, int64_t opset);
// Optional, run once per node when an executor is planned (after constant folding): `ctx.inputs`
// holds the node's constant inputs and nullptr for those computed at run time. What it returns
// (weights re-packed for a kernel, say) lives as long as the executor and reaches run() as
// KernelContext::prepared; nullptr means nothing was prepared and run() must manage without.
using PrepareFn = std::shared_ptr<const void> (*)(const KernelContext& ctx);

struct OpKernel {
    KernelFn run = nullptr;
    CheckFn check = nullptr;
    PrepareFn prepare = nullptr;
};

class OpRegistry {
public:
    static const OpRegistry& instance();

    void add(const std::string& domain, const std::string& opType, KernelFn run, CheckFn check = nullptr,
             PrepareFn prepare = nullptr);
    // "ai.onnx" and "" name the same default domain.
    const OpKernel* find(const std::string& domain, const std::string& opType) const;
    bool supports(const std::string& domain, const std::string& opType) const { return find(domain, opType); }
    // Op types of one domain, sorted.
    std::vector<std::string> opTypes(const std::string& domain = "") const;

private:
    std::map<std::pair<std::string, std::string>, OpKernel> m_ops;
};

// One per op family file.
void registerElementwiseOps(OpRegistry& r);
void registerQuantOps(OpRegistry& r);
void registerTransformerOps(OpRegistry& r);
void registerNnOps(OpRegistry& r);
void registerShapeOps(OpRegistry& r);
void registerReduceOps(OpRegistry& r);
void registerRnnOps(OpRegistry& r);
void registerResizeOps(OpRegistry& r);
void registerControlOps(OpRegistry& r);
void registerTfliteOps(OpRegistry& r);  // ops_tflite.cpp: domains "tflite" and "tflite.custom"
void registerBinaryCodedOps(OpRegistry& r);  // ops_binary_coded.cpp: com.brickyard BinaryCodedMatMul

}  // namespace by
