#pragma once
// Shared pieces of the compression passes (compression.cpp, quantize_pass.cpp, prune_pass.cpp,
// lowrank_pass.cpp). Not part of the engine's public API.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/compression.h"

namespace by::compression {

// A layer's weight seen as a matrix with one row per output channel: W[n][k], n < N, k < K.
// Conv [M, C/g, kh, kw] and Gemm with transB=1 ([N, K]) already are; MatMul and Gemm with
// transB=0 store [K, N] and are transposed on the way in and out.
struct LayerWeight {
    int node = -1;
    int valueId = -1;  // the node's weight input (input 1)
    Tensor tensor;     // f32
    int64_t N = 0, K = 0;
    bool transposed = false;  // stored [K, N]

    std::vector<float> rows() const;                         // [N][K], row-major
    Result<Tensor> fromRows(const std::vector<float>& w) const;  // back to the stored layout
};

// The tensor a value holds: its data, or the `value` of the Constant node producing it.
const Tensor* constantOf(const Graph& g, int valueId);

// The weight of node `node` when it is an f32 constant the passes can rewrite; a reason otherwise.
struct WeightOrReason {
    std::optional<LayerWeight> weight;
    std::string reason;
};
WeightOrReason layerWeight(const Graph& g, int node);

std::string nodeLabel(const Graph& g, int node);  // the name, or "#index"
std::string freshName(const Graph& g, const std::string& base);
// Adds an initializer under a fresh name derived from `base`; returns its value id.
int addWeight(Graph& g, const std::string& base, Tensor t);
void setInput(Graph& g, int node, size_t input, int valueId);

// The entries `keep` of axis `axis` of an f32 tensor (in blocks of `block` consecutive entries:
// entry k keeps [k*block, (k+1)*block)); other axes whole.
Tensor sliceAxis(const Tensor& t, int axis, const std::vector<int64_t>& keep, int64_t block = 1);

// Per-channel statistics of activations on calibration data. `axis` 1 for channels-first maps
// ([N, C, ...]), -1 for the last axis ([.., C]).
struct ChannelStats {
    std::vector<double> sum, absSum, sqSum;
    int64_t count = 0;  // values per channel seen
    void add(const Tensor& t, int axis);
    double mean(size_t c) const { return count ? sum[c] / double(count) : 0.0; }
    double meanAbs(size_t c) const { return count ? absSum[c] / double(count) : 0.0; }
    double rms(size_t c) const;
    double stddev(size_t c) const;
};

// Runs `g` on the first `a.samples` samples of `data` (one model input, `a.normalize` applied)
// and accumulates statistics of each value in `values` (node outputs) along `axis`.
Status collectChannelStats(const Graph& g, int64_t opset, const ActivationCalibration& a, const Dataset& data,
                           const std::vector<int>& values, int axis, std::map<int, ChannelStats>& out);

double relativeError(const std::vector<float>& a, const std::vector<float>& b);
double zeroFraction(const std::vector<float>& w);
int64_t bytesOf(const Tensor& t);

// Pass entry points: each rewrites `g` (a copy owned by compress()) for the selected nodes and
// appends one report row per node. `opset` is the model's default-domain opset.
Status quantizeInt8(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset,
                    std::vector<LayerReport>& out);
// Static int8 quantization of weights and activations, calibrated on `data` (static_quant_pass.cpp).
Status quantizeStatic(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset, std::shared_ptr<const Dataset> data,
                      std::vector<LayerReport>& out);
// A report row for `node` of the step's method, before the pass fills in what it did.
inline LayerReport newRow(const Graph& g, int node, const CompressStep& s) {
    LayerReport r;
    r.layer = nodeLabel(g, node);
    r.opType = g.nodes[size_t(node)].opType;
    r.method = compressMethodName(s.method);
    return r;
}

// With s.criterion Activation, outliers are the largest |w_rk| * sqrt(E[x_k^2]) on `data`.
Status quantizeNBits(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset, const std::shared_ptr<const Dataset>& data,
                     std::vector<LayerReport>& out);
// Binary-coding quantization as com.brickyard BinaryCodedMatMul (quantize_pass.cpp).
Status quantizeBcq(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out);
Status pruneMagnitude(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out);
Status pruneNM(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out);
// Data-driven criteria (activation, beta) read `data`; null for weight-norm ranking.
Status pruneChannels(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset,
                     std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out);
// Transformer structured pruning (structured_prune_pass.cpp). With every layer selected, only the
// MatMul/Gemm nodes that start the pattern are touched; a named node that does not is an error.
Status pruneFfn(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out);
Status pruneHeads(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                  std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out);
// MoDeGPT-style modular decomposition of feed-forward (and attention) module pairs on `data`
// (decompose_pass.cpp); `named` as for pruneFfn.
Status decompose(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                 std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out);
// With `data` (the step's `activations` set), MatMul/Gemm/Conv layers are factorised data-aware: the
// truncation minimises the error of the layer's outputs on the calibration inputs, not of its weights.
Status lowRank(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset,
               std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out);

// Runs the f32 graph over the first act.samples samples of `data` (batches of up to 64, with
// act.normalize) and calls feed(valueId, tensor) for every value in `wanted` (graph inputs too).
// `used`: how many samples ran. calibration_run.cpp.
Status forEachCalibrationActivation(const Graph& g, int64_t opset, const ActivationCalibration& act, const Dataset& data,
                                    const std::set<int>& wanted, const std::function<void(int, const Tensor&)>& feed,
                                    int64_t* used = nullptr);

// Kept rank for a step on an N x K matrix with singular values `sv` (descending).
int64_t chooseRank(const CompressStep& s, int64_t N, int64_t K, const std::vector<double>& sv);

}  // namespace by::compression
