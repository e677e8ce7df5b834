#pragma once
// The CPU executor: runs a model's graph on f32 (and the integer and bool tensors that shape
// computations need), one node after another in dependency order, with intra-op parallelism on a
// small thread pool and BLAS for GEMM and convolution.
//
// create() plans once: it orders the nodes (counting the values an If/Loop body takes from outer
// scopes as inputs of that node), looks every node up in the OpRegistry (recursively into
// subgraphs) and runs each kernel's plan-time check, so an unsupported model fails there with one
// Error naming the node index, op type and node name. It also works out when each intermediate
// value is used for the last time; run() drops it right after that node.
//
// run() checks the inputs against the graph's declared dtypes, ranks and known dimensions, then
// executes. Values that carry data (initializers, Constant outputs) are used in place, never
// copied, so mapped weights stay on disk until a kernel reads them. An Executor is immutable after
// create(): run() may be called from several threads at once.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/progress.h"
#include "engine/tensor.h"

namespace by {

struct ExecutorOptions {
    int threads = 0;  // worker threads including the caller; 0 = one per core
    // Run chains of element-wise nodes behind a Conv/MatMul/element-wise node as one pass over its
    // output (engine/elementwise_fusion.h). Runs with captures always use the original nodes.
    bool fuseElementwise = true;
};

struct RunStats {
    int64_t nodesRun = 0;         // top-level nodes executed (constant nodes are skipped)
    int64_t capturedValues = 0;   // capture callbacks made
    int64_t capturedBytes = 0;    // bytes of the tensors handed to them
    bool captureTruncated = false;  // the byte cap stopped capturing before the run ended
    int64_t peakLiveBytes = 0;    // largest total of intermediate tensors alive at once
    double seconds = 0;
    std::vector<double> nodeSeconds;  // per top-level node index, filled when RunOptions::profile
    int64_t fusedChains = 0;          // element-wise chains run as one pass (their nodes count in nodesRun)
};

struct RunOptions {
    const Progress* progress = nullptr;  // reports per node; cancel() stops before the next node
    // Called with each captured top-level node output, in execution order.
    std::function<void(int nodeIndex, int outputIndex, const Tensor&)> capture;
    // Value names to capture; empty captures every node output. A name that is not a node output
    // of the top-level graph makes run() fail.
    std::vector<std::string> captureValues;
    // Capturing stops (and RunStats::captureTruncated is set) once the next tensor would take the
    // captured total past this many bytes; 0 = no cap.
    int64_t captureByteCap = 0;
    bool profile = false;
    RunStats* stats = nullptr;  // filled when not null
};

struct ExecutorIo {
    std::string name;
    DType dtype = DType::Undefined;
    std::optional<DimShape> shape;
};

class Executor {
public:
    static Result<Executor> create(const Model& model, const ExecutorOptions& opts = {});
    // A bare graph; `onnxOpset` selects between per-opset semantics (0 = latest).
    static Result<Executor> create(const Graph& graph, int64_t onnxOpset, const ExecutorOptions& opts = {});

    Executor(Executor&&) noexcept;
    Executor& operator=(Executor&&) noexcept;
    ~Executor();

    const std::vector<ExecutorIo>& inputs() const;
    const std::vector<ExecutorIo>& outputs() const;
    int threadCount() const;
    int64_t opset() const;
    // Nodes whose kernel re-packed constant inputs at plan time (int8 weights into GEMM panels,
    // 2:4-sparse weights into kept values and positions), over all graphs.
    int64_t preparedNodeCount() const;

    // Outputs in the order of the graph's outputs. `inputs` is keyed by graph input name and must
    // name every runtime input, and nothing else.
    Result<std::vector<Tensor>> run(const std::map<std::string, Tensor>& inputs, const RunOptions& opts = {}) const;

    struct Impl;

private:
    explicit Executor(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Default-domain opset a model imports (0 when it names none).
int64_t onnxOpsetOf(const Model& model);

}  // namespace by
