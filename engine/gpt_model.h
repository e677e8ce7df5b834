#pragma once
// A GPT-2-layout decoder (pre-LayerNorm blocks, learned positions, tanh GELU, fused QKV) run
// directly over a Model's tensors by name, as llama.cpp's gpt2 architecture names them
// (token_embd, position_embd, blk.N.attn_qkv, ..., output). Works for GGUF (hyper-parameters in
// gpt2.* keys) and safetensors (the same names with string metadata n_layer, n_embd, ...).
// Matmul weights may be f32, Q8_0 or Q4_0 (other ggml block types, such as the Q6_K output head
// llama-quantize writes, are expanded to f32 on load); the rest is f32.
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/quant_matmul.h"
#include "engine/thread_pool.h"

namespace by {

struct GptConfig {
    int64_t nLayer = 0, nEmbd = 0, nHead = 0, nCtx = 0, nFf = 0, nVocab = 0;
    float eps = 1e-5f;
};

struct GptLinear {
    Tensor weight;  // [out, in], F32 / Q8_0 / Q4_0
    Tensor bias;    // [out] f32, or invalid
    int64_t in = 0, out = 0;
    // Q8_0/Q4_0 weights repacked for prompt-sized products (empty without AVX512-VNNI).
    std::shared_ptr<const PackedBlockWeights> packed;
};

class GptModel {
public:
    // Fails naming the missing or mis-shaped tensor or hyper-parameter.
    static Result<std::shared_ptr<const GptModel>> fromModel(const Model& model);

    const GptConfig& config() const { return m_cfg; }
    // The type of the block matmul weights ("F32", "Q8_0", ...).
    DType weightType() const { return layers.empty() ? DType::F32 : layers[0].qkv.weight.dtype(); }

    struct Layer {
        Tensor ln1w, ln1b, ln2w, ln2b;
        GptLinear qkv, proj, up, down;
    };
    Tensor tokenEmbd, posEmbd, lnfw, lnfb;
    GptLinear output;
    std::vector<Layer> layers;

private:
    GptConfig m_cfg;
};

// One sequence's state: the KV cache and the position reached. Not thread-safe; the pool does the
// parallel work inside each call.
class GptSession {
public:
    GptSession(std::shared_ptr<const GptModel> model, int threads, KernelPath path = KernelPath::Auto);

    // Runs `tokens` at positions pos()..pos()+n-1, appending to the KV cache. With allLogits the
    // logits of every token are returned ([n, vocab]); otherwise only the last token's ([vocab]).
    // Fails when a token id is out of range or the context would overflow.
    Result<std::vector<float>> eval(std::span<const int32_t> tokens, bool allLogits);
    int64_t pos() const { return m_pos; }
    void reset() { m_pos = 0; }
    const GptModel& model() const { return *m_model; }

    // Called with the input rows of each block's linear layers as eval() runs them (calibration
    // for GPTQ/AWQ): site 0 attn_qkv, 1 attn_output, 2 ffn_up, 3 ffn_down; x is [rows, cols].
    using CaptureFn = std::function<void(int64_t layer, int site, const float* x, int64_t rows, int64_t cols)>;
    void setCapture(CaptureFn fn) { m_capture = std::move(fn); }

private:
    // Attention of n new queries over the cache through BLAS, one head per pool task.
    Status promptAttention(const float* qkv, const float* K, const float* V, int64_t n, float* att);

    std::shared_ptr<const GptModel> m_model;
    std::unique_ptr<ThreadPool> m_pool;
    KernelPath m_path;
    int64_t m_pos = 0;
    std::vector<std::vector<float>> m_k, m_v;  // per layer [nCtx, nEmbd]
    CaptureFn m_capture;
};

// Picks the next token from logits: greedy when topK <= 1, else top-k sampling at `temperature`.
int32_t sampleToken(std::span<const float> logits, int topK, float temperature, std::mt19937& rng);

// Perplexity computed the way llama-perplexity does: the tokens are cut into floor(n / ctx)
// chunks of ctx tokens, each evaluated from an empty cache, and only the second half of each
// chunk is scored (positions ctx/2 .. ctx-2 predicting the next token).
struct PerplexityResult {
    double ppl = 0;
    double nll = 0;         // mean negative log-likelihood
    int64_t scored = 0;     // predictions scored
    int64_t chunks = 0;
    // Against a base model (when one was given): mean KL(base || this) and how often both models'
    // most likely next token agree.
    double meanKl = 0;
    double top1Agreement = 0;
    double seconds = 0;
};
Result<PerplexityResult> computePerplexity(GptSession& session, std::span<const int32_t> tokens, int64_t ctx, int64_t maxChunks = -1,
                                           GptSession* base = nullptr);

}  // namespace by
