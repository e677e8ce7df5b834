#pragma once
// Quantization of a language model's tensors to ggml block types, as a GGUF file llama.cpp loads.
//
// planLmQuantization() picks each tensor's type the way llama-quantize does by default (no
// importance matrix, no overrides) for llama_ftype MOSTLY_Q8_0 / MOSTLY_Q4_0: only tensors whose
// name ends in "weight" with at least 2 dimensions, not norms and not the position embedding; the
// output head (or the token embedding when there is no head) gets Q6_K under Q4_0 (Q8_0 when its
// rows do not split into 32-blocks, and Q8_0 then F16 when they do not split into 256-blocks).
//
// quantizeLanguageModel() encodes the planned tensors on a thread pool, with ggml's reference
// rounding ("rtn": byte-identical to llama-quantize), or, for the four matrices of each GPT-2
// block, with calibration-aware choices made inside the same block format:
//   gptq  column-by-column rounding with error compensation through the upper Cholesky factor of
//         the inverse Hessian H = X^T X of the layer's calibration inputs (dampened), one scale per
//         32-block chosen when the block's first column is reached (ggml's scale shrunk by the
//         ratio whose H-weighted rounding error is smallest, from the weights as updated so far).
//   awq   per-input-channel scales s = mean|x|^alpha (alpha searched on a grid, minimising the
//         layer's output error tr(D H D^T)), folded so the graph is unchanged: attn_qkv and ffn_up
//         scales into the preceding LayerNorm's weight and bias, attn_output scales into the V rows
//         of attn_qkv; then a per-block clipping search (block maximum shrunk by up to 45%) on the
//         block's share of the output error. ffn_down follows GELU, where no scale folds, and
//         gets the clipping search only.
// Calibration inputs come from running the f32 model (GptSession) on the given tokens.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/compression.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/graph.h"

namespace by {

enum class LmQuantAlgorithm { Rtn, Gptq, Awq };
const char* lmQuantAlgorithmName(LmQuantAlgorithm a);  // "rtn", "gptq", "awq"

struct LmQuantOptions {
    DType type = DType::Q4_0;  // Q8_0 or Q4_0: the file type, as llama-quantize's Q8_0 / Q4_0
    LmQuantAlgorithm algorithm = LmQuantAlgorithm::Rtn;
    std::vector<std::string> names;  // empty: every tensor the plan quantizes; else only these
    int threads = 0;                 // 0: one per core
    // gptq / awq
    std::vector<int32_t> calibrationTokens;  // token ids of the calibration text
    int64_t calibrationCtx = 128;            // tokens per calibration sequence
    int64_t maxCalibrationTokens = 8192;     // at most this many tokens are run
    double damp = 0.01;                      // gptq: added to H's diagonal, times its mean
    const Progress* progress = nullptr;
};

struct LmTensorPlan {
    std::string name;
    DType from = DType::F32, to = DType::F32;
    bool quantize = false;
    std::string note;  // why it keeps its type, or which fallback applied
};

// The type llama-quantize gives every tensor of `model` for file type `type`; fails naming a
// tensor llama-quantize could not encode (rows not a whole number of blocks).
Result<std::vector<LmTensorPlan>> planLmQuantization(const Model& model, DType type);

// A new model (the input is never changed) with the planned tensors encoded, general.file_type
// and general.quantization_version set, and one report row per tensor quantized.
Result<CompressResult> quantizeLanguageModel(const Model& model, const LmQuantOptions& options);

// Q4_0 / Q8_0 blocks of one row with scale chosen by the caller: d is stored as f16 and the
// levels are round-to-nearest of x / d (clamped to the type's range). `d` per 32-block.
void encodeRowWithScales(DType type, const float* x, const float* d, int64_t n, uint8_t* dst);
// ggml's scale for a 32-block: max/-8 (signed max) for Q4_0, amax/127 for Q8_0.
float referenceBlockScale(DType type, const float* x);

}  // namespace by
