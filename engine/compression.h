#pragma once
// Model compression passes: a Recipe (a versioned list of steps) applied to a Model gives a new
// Model plus a per-layer report. The input model is never modified: every changed weight is a new
// tensor, so the parent variant stays exactly as it was, and the same recipe on the same model
// gives the same bytes (no randomness anywhere).
//
// Steps and what they write:
//   QuantizeInt8    int8 weights (per output channel or per tensor, symmetric) as initializers
//                   followed by DequantizeLinear (opset >= 13; Cast and Mul below that) feeding the
//                   original op, so the model runs in any ONNX runtime and is about 4x smaller.
//                   With `activations` set (static quantization, static_quant_pass.cpp): the model
//                   first runs on calibration samples to find each activation's range (min-max,
//                   percentile or MSE, engine/calibration.h), then Conv, Gemm and MatMul become
//                   QLinearConv, com.microsoft QGemm and QLinearMatMul on uint8 activations, a
//                   following Relu folded into the output range, MaxPool/Flatten/Reshape running on
//                   the bytes in between, and QuantizeLinear/DequantizeLinear only where the graph
//                   enters or leaves int8.
//   QuantizeNBits   2/3/4/8-bit group-wise round-to-nearest (min-max per group, zero points) of
//                   MatMul/Gemm weights as com.microsoft MatMulNBits. 3-bit levels are stored in
//                   4-bit containers (8 levels used of 16): smaller error than 2-bit, 4-bit size.
//                   With `outliers`, the largest |w| of each layer stay out of the group ranges and
//                   are added back from a sparse f16 side tensor (flat indices + values, scattered
//                   into a correction matrix at run time and applied by a MatMul + Add).
//   Prune           unstructured magnitude pruning, per layer or with one global threshold.
//   PruneNM         N:M pruning (2:4): in every group of M consecutive weights along the input
//                   dimension the N largest magnitudes are kept.
//   PruneChannels   structured filter pruning of Conv; the consumers that read those channels (the
//                   next Conv's input channels, a Flatten+Gemm's columns, BatchNorm parameters, the
//                   Conv's bias) are sliced with it, so the model really shrinks. Filters are ranked
//                   by their L1/L2 weight norm, or on calibration data (structured_prune_pass.cpp):
//                   `activation` ranks by the mean |activation| of each channel where the next
//                   layer reads it; `beta` by the size of the change removing the channel makes in
//                   the next layer's output, estimated as sqrt(E[a_c^2]) * ||W_next[:, c]||.
//   PruneFfn        hidden neurons of transformer feed-forward blocks (MatMul/Gemm -> element-wise
//                   activation -> MatMul/Gemm): up-projection columns and bias, down-projection rows.
//   PruneHeads      attention heads of a fused Q/K/V projection reshaped to [.., 3, heads, dim]:
//                   the head's Q, K and V columns, its rows of the output projection and the
//                   Reshape shape constants that name the head count.
//   QuantizeBcq     binary-coding quantization of MatMul/Gemm weights: W ~ sum of `bits` sign
//                   planes, each scaled per output row and group of `group` weights along K, found
//                   greedily and refined by `iterations` rounds of alternating least squares
//                   (engine/lut_gemv.h). Written as com.brickyard BinaryCodedMatMul (packed sign bits,
//                   f32 scales, the Gemm bias), run by the lookup-table kernel for few rows and by a
//                   dense GEMM on the weights dequantized at plan time for more.
//   QuantizeGgml    a language model's tensors to ggml Q8_0 / Q4_0 blocks as llama-quantize picks
//                   them (engine/lm_quantize.h), by round-to-nearest, GPTQ or AWQ; for weights-only
//                   models (GGUF), written back as GGUF.
//   LowRank         truncated SVD of MatMul/Gemm weights (and Conv as a k x k conv with r filters
//                   followed by a 1x1 conv): by kept rank, rank ratio, energy or parameter cut, and
//                   only where the two factors are smaller than the original. With `activations`
//                   (calibration data), MatMul/Gemm layers are factorised data-aware: the rank-r
//                   factors minimise the error of the layer's outputs on the calibration inputs
//                   (SVD of W L with L L^T their second moments), not of the weights.
//   Decompose       MoDeGPT-style modular decomposition of transformer module pairs on calibration
//                   data (decompose_pass.cpp): `sparsity` of each module's inner dimension goes.
//                   Feed-forward blocks (type I, Nystrom): hidden neurons chosen by ridge leverage
//                   scores of their correlation C = E[h h^T], and the down-projection refitted by
//                   least squares on the kept neurons, W' = (C_SS)^-1 C_S: W (with the means in the
//                   bias), so the kept neurons also carry what the removed ones wrote. Query-key
//                   (type II, CR) and value-output (type III, SVD) pairs need separate Q, K and V
//                   projections; fused [.., 3, heads, dim] blocks are reported as skipped.
// Dense pruning keeps dense storage: zeros are reported as sparsity, not as saved bytes. 2:4
// weights still run faster for few-row products: the executor repacks them at plan time
// (engine/sparse24.h).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/calibration.h"
#include "engine/dataset.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/graph.h"
#include "engine/progress.h"

namespace by {

enum class CompressMethod { QuantizeInt8, QuantizeNBits, Prune, PruneNM, PruneChannels, LowRank, QuantizeGgml, PruneFfn, PruneHeads, QuantizeBcq, Decompose };

// How structured pruning ranks what it removes (filters, neurons, heads); the smallest scores go.
//   Weight      the weight norm (`norm`: L1 or L2; neurons and heads: product of the norms of what
//               is read in and written out)
//   Activation  on calibration samples: filters, mean |activation| where the next layer reads
//               them; heads, mean |output| times the norm of the output-projection rows reading
//               them; neurons, the activation's standard deviation times the norm of the
//               down-projection row, the removed neurons' mean folded into the down bias
//   Beta        filters only: estimated size of the change in the next layer's output
enum class PruneCriterion { Weight, Activation, Beta };
const char* pruneCriterionName(PruneCriterion c, int norm);  // "l1", "l2", "activation", "beta"
const char* compressMethodName(CompressMethod m);  // "quantize_int8", ...

// Which layers a step touches: op types and/or node names. Both empty: every layer the method
// supports. A name that matches no node, or a node the method cannot handle, is an error.
struct LayerSelector {
    std::vector<std::string> opTypes;
    std::vector<std::string> names;
    bool all() const { return opTypes.empty() && names.empty(); }
};

// Static activation quantization of a QuantizeInt8 step: where the calibration samples come from
// and how their ranges become quantization parameters.
struct ActivationCalibration {
    bool enabled = false;
    CalibrationMethod method = CalibrationMethod::MinMax;
    int bits = 8;               // only 8 (uint8 activations)
    int64_t samples = 256;      // the first `samples` of the dataset
    std::string data;           // dataset spec ("mnist:DIR"), opened by CompressContext::openDataset
    std::string split;          // "" = the caller's default (MNIST: "train", kept apart from the test split)
    double percentile = 99.99;  // kept per tail, for CalibrationMethod::Percentile
    std::optional<Normalization> normalize;  // the model's input preprocessing (x * scale - mean) / std
};

struct CompressStep {
    CompressMethod method = CompressMethod::QuantizeInt8;
    LayerSelector layers;
    // QuantizeInt8 / QuantizeNBits
    int bits = 8;             // bcq: sign planes (1 to 4)
    bool perChannel = true;   // int8: one scale per output channel (else one per tensor)
    int64_t group = 32;       // n-bit: weights per group along K (a power of two >= 16); bcq: a multiple of 4
    bool symmetric = false;   // n-bit: no zero points (levels centred on 2^(bits-1))
    double outliers = 0;      // n-bit: fraction of each layer's weights (largest |w|) kept in f16 beside the groups
    int iterations = 3;       // bcq: alternating least-squares rounds after the greedy coding (0 = greedy only)
    // Prune / PruneNM / PruneChannels
    double sparsity = 0.5;    // fraction of weights (Prune) or filters (PruneChannels) removed
    bool global = false;      // Prune: one threshold over all selected layers
    int n = 2, m = 4;         // PruneNM: keep n of every m
    int norm = 1;             // PruneChannels: 1 (L1) or 2 (L2) filter norm
    // PruneChannels / PruneFfn / PruneHeads: the ranking; Activation and Beta read calibration
    // samples described by `activations` (its data, split, samples and normalize; enabled set).
    PruneCriterion criterion = PruneCriterion::Weight;
    // Decompose: which module pairs, "ffn" (type I), "qk" (type II), "vo" (type III) or "all";
    // `sparsity` and the calibration `activations` as for data-driven pruning.
    std::string modules = "ffn";
    // LowRank: exactly one of these is set (> 0)
    int64_t rank = 0;         // kept rank
    double rankRatio = 0;     // kept rank / min(K, N)
    double energy = 0;        // smallest rank keeping this fraction of sum(s_i^2)
    double paramCut = 0;      // largest rank removing at least this fraction of the parameters
    // QuantizeGgml (layers.names are tensor names; group must stay 32, the block size)
    DType ggmlType = DType::Q4_0;     // Q8_0 or Q4_0
    std::string algorithm = "rtn";    // rtn, gptq or awq
    double damp = 0.01;               // gptq: fraction of the mean Hessian diagonal added
    int64_t calibrationTokens = 8192; // gptq / awq: tokens of the calibration text run
    // QuantizeInt8: also quantize activations (static, calibrated). Data-driven pruning criteria
    // and data-aware low-rank take their calibration samples from here too.
    ActivationCalibration activations;
};

struct Recipe {
    static constexpr int kVersion = 1;
    int version = kVersion;
    std::vector<CompressStep> steps;
};

struct LayerReport {
    std::string layer;   // node name (or "#index" when unnamed)
    std::string opType;
    std::string method;  // compressMethodName
    std::string detail;  // "per-channel", "4-bit g32", "rank 24 of 128", "2:4", "6/16 filters"
    bool applied = true; // false: skipped, `note` says why
    std::string note;
    int64_t paramsBefore = 0, paramsAfter = 0;  // weight elements of this layer
    int64_t bytesBefore = 0, bytesAfter = 0;    // storage of those weights (scales included)
    double relError = 0;                        // ||W - W'||_F / ||W||_F
    double sparsity = 0;                        // fraction of exact zeros in the new weights
};

struct CompressResult {
    Model model;
    std::vector<LayerReport> layers;
    int64_t paramsBefore = 0, paramsAfter = 0;  // whole model (Graph::parameterCount)
    int64_t bytesBefore = 0, bytesAfter = 0;    // whole model (Graph::weightBytes)
};

struct CompressContext {
    const Progress* progress = nullptr;
    // Token ids of the calibration text (GPTQ / AWQ steps of QuantizeGgml); never the test text.
    std::vector<int32_t> calibrationTokens;
    int threads = 0;  // 0: one per core
    // Opens calibration data for static quantization (the engine reads no file formats; callers
    // pass importers' openDataset). Without it a step with activations is refused.
    std::function<Result<std::shared_ptr<const Dataset>>(const std::string& spec, const std::string& split)> openDataset;
};

// Checks a recipe against a model without compressing: version, parameter ranges, layer names.
// The error is one sentence naming the step ("step 2 (low_rank): ...").
Status validateRecipe(const Model& model, const Recipe& recipe);

Result<CompressResult> compress(const Model& model, const Recipe& recipe, const CompressContext& ctx = {});

// Fast preview for one layer: the report row `step` would give node `nodeName` (relative error,
// sparsity, sizes) without building a model. Structured channel pruning reports the layer's own
// weights only.
Result<LayerReport> previewLayer(const Model& model, const std::string& nodeName, const CompressStep& step);

}  // namespace by
