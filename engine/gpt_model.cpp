#include "engine/gpt_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/quant_blocks.h"

namespace by {

namespace {

const char* kWhere = "GPT-2 model";

Result<int64_t> hyper(const Model& m, const std::string& ggufKey, const std::string& plainKey) {
    for (const std::string& k : {ggufKey, plainKey}) {
        const MetaValue* v = m.meta(k);
        if (!v) continue;
        if (v->type == MetaValue::Type::String) {
            try {
                return static_cast<int64_t>(std::stoll(v->s));
            } catch (...) {
                return makeError(ErrorCode::Format, "metadata '" + k + "' is not an integer: '" + v->s + "'", kWhere);
            }
        }
        if (v->type == MetaValue::Type::F32 || v->type == MetaValue::Type::F64) return static_cast<int64_t>(v->f);
        return v->i;
    }
    return makeError(ErrorCode::Invalid, "the model has no '" + ggufKey + "' (or '" + plainKey + "') hyper-parameter", kWhere);
}

Result<Tensor> tensorNamed(const Model& m, const std::string& name, const Shape& shape, bool f32Only) {
    const int id = m.graph.findValue(name);
    if (id < 0 || !m.graph.values[static_cast<size_t>(id)].data)
        return makeError(ErrorCode::Invalid, "tensor '" + name + "' is missing", kWhere);
    const Tensor& t = *m.graph.values[static_cast<size_t>(id)].data;
    if (t.shape() != shape)
        return makeError(ErrorCode::Invalid, "tensor '" + name + "' has shape " + shapeToString(t.shape()) + ", expected " + shapeToString(shape), kWhere);
    if (f32Only && t.dtype() != DType::F32)
        return makeError(ErrorCode::Unsupported, "tensor '" + name + "' is " + dtypeName(t.dtype()) + "; only F32 is handled there", kWhere);
    if (!f32Only && t.dtype() != DType::F32 && t.dtype() != DType::Q8_0 && t.dtype() != DType::Q4_0) {
        // Other block types have no matmul kernel: expanded to f32 once, here.
        if (!dtypeInfo(t.dtype()).isBlockQuant)
            return makeError(ErrorCode::Unsupported, "tensor '" + name + "' is " + dtypeName(t.dtype()) + "; matmul weights must be F32 or a ggml block type", kWhere);
        std::vector<float> f(static_cast<size_t>(t.numel()));
        auto st = dequantizeBlocks(t.dtype(), t.rawData(), t.numel(), f.data());
        if (!st) return makeError(ErrorCode::Unsupported, "tensor '" + name + "': " + st.error().what(), kWhere);
        return Tensor::fromFloats(shape, f);
    }
    return t;
}

Result<GptLinear> linear(const Model& m, const std::string& prefix, int64_t in, int64_t out, bool withBias) {
    GptLinear l;
    l.in = in;
    l.out = out;
    auto w = tensorNamed(m, prefix + ".weight", {out, in}, false);
    BY_TRY(w);
    l.weight = std::move(*w);
    if (l.weight.dtype() == DType::Q8_0 || l.weight.dtype() == DType::Q4_0) {
        auto packed = packBlockWeights(l.weight.dtype(), l.weight.rawData(), out, in);
        if (!packed.empty()) l.packed = std::make_shared<const PackedBlockWeights>(std::move(packed));
    }
    if (withBias) {
        auto b = tensorNamed(m, prefix + ".bias", {out}, true);
        BY_TRY(b);
        l.bias = std::move(*b);
    }
    return l;
}

void layerNorm(const float* x, const float* w, const float* b, float eps, int64_t d, float* y) {
    double mean = 0;
    for (int64_t i = 0; i < d; ++i) mean += x[i];
    mean /= static_cast<double>(d);
    double var = 0;
    for (int64_t i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float mu = static_cast<float>(mean);
    for (int64_t i = 0; i < d; ++i) y[i] = (x[i] - mu) * inv * w[i] + b[i];
}


}  // namespace

Result<std::shared_ptr<const GptModel>> GptModel::fromModel(const Model& model) {
    auto g = std::make_shared<GptModel>();
    GptConfig& c = g->m_cfg;
    auto get = [&](const char* gguf, const char* plain, int64_t& dst) -> Status {
        auto v = hyper(model, gguf, plain);
        BY_TRY(v);
        if (*v <= 0) return makeError(ErrorCode::Invalid, std::string("hyper-parameter '") + gguf + "' must be positive", kWhere);
        dst = *v;
        return {};
    };
    BY_TRY(get("gpt2.block_count", "n_layer", c.nLayer));
    BY_TRY(get("gpt2.embedding_length", "n_embd", c.nEmbd));
    BY_TRY(get("gpt2.attention.head_count", "n_head", c.nHead));
    BY_TRY(get("gpt2.context_length", "n_ctx", c.nCtx));
    BY_TRY(get("gpt2.feed_forward_length", "n_ff", c.nFf));
    if (const MetaValue* e = model.meta("gpt2.attention.layer_norm_epsilon")) c.eps = static_cast<float>(e->f);
    else if (const MetaValue* e2 = model.meta("layer_norm_epsilon"); e2 && e2->type == MetaValue::Type::String) c.eps = std::stof(e2->s);
    if (c.nEmbd % c.nHead != 0) return makeError(ErrorCode::Invalid, "embedding length is not a multiple of the head count", kWhere);
    const int id = model.graph.findValue("token_embd.weight");
    if (id < 0 || !model.graph.values[static_cast<size_t>(id)].data || model.graph.values[static_cast<size_t>(id)].data->rank() != 2)
        return makeError(ErrorCode::Invalid, "tensor 'token_embd.weight' is missing or not 2-d", kWhere);
    c.nVocab = model.graph.values[static_cast<size_t>(id)].data->shape()[0];
    const int64_t d = c.nEmbd;
    auto te = tensorNamed(model, "token_embd.weight", {c.nVocab, d}, false);
    BY_TRY(te);
    g->tokenEmbd = std::move(*te);
    auto pe = tensorNamed(model, "position_embd.weight", {c.nCtx, d}, true);
    BY_TRY(pe);
    g->posEmbd = std::move(*pe);
    auto f32 = [&](const std::string& n, int64_t len, Tensor& dst) -> Status {
        auto t = tensorNamed(model, n, {len}, true);
        BY_TRY(t);
        dst = std::move(*t);
        return {};
    };
    for (int64_t l = 0; l < c.nLayer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        Layer L;
        BY_TRY(f32(p + "attn_norm.weight", d, L.ln1w));
        BY_TRY(f32(p + "attn_norm.bias", d, L.ln1b));
        BY_TRY(f32(p + "ffn_norm.weight", d, L.ln2w));
        BY_TRY(f32(p + "ffn_norm.bias", d, L.ln2b));
        auto qkv = linear(model, p + "attn_qkv", d, 3 * d, true);
        BY_TRY(qkv);
        L.qkv = std::move(*qkv);
        auto proj = linear(model, p + "attn_output", d, d, true);
        BY_TRY(proj);
        L.proj = std::move(*proj);
        auto up = linear(model, p + "ffn_up", d, c.nFf, true);
        BY_TRY(up);
        L.up = std::move(*up);
        auto down = linear(model, p + "ffn_down", c.nFf, d, true);
        BY_TRY(down);
        L.down = std::move(*down);
        g->layers.push_back(std::move(L));
    }
    BY_TRY(f32("output_norm.weight", d, g->lnfw));
    BY_TRY(f32("output_norm.bias", d, g->lnfb));
    auto out = linear(model, "output", d, c.nVocab, false);
    BY_TRY(out);
    g->output = std::move(*out);
    return std::shared_ptr<const GptModel>(std::move(g));
}

GptSession::GptSession(std::shared_ptr<const GptModel> model, int threads, KernelPath path)
    : m_model(std::move(model)), m_pool(std::make_unique<ThreadPool>(threads)), m_path(path) {
    const auto& c = m_model->config();
    m_k.assign(static_cast<size_t>(c.nLayer), std::vector<float>(static_cast<size_t>(c.nCtx * c.nEmbd)));
    m_v = m_k;
}

Status GptSession::promptAttention(const float* qkv, const float* K, const float* V, int64_t n, float* att) {
    const GptConfig& c = m_model->config();
    const int64_t d = c.nEmbd, H = c.nHead, hd = d / H, S = m_pos + n;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    // One head per task, each with single-threaded BLAS (see matmulRows for why).
    setBlasThreads(1);
    auto head = [&](int64_t h0, int64_t h1) {
        std::vector<float> scores(static_cast<size_t>(n * S));
        for (int64_t h = h0; h < h1; ++h) {
            // scores[i, j] = q_i . k_j * scale
            sgemmRowMajor(false, true, n, S, hd, scale, qkv + h * hd, 3 * d, K + h * hd, d, 0.0f, scores.data(), S);
            for (int64_t i = 0; i < n; ++i) {
                float* row = scores.data() + i * S;
                const int64_t last = m_pos + i;
                float mx = -INFINITY;
                for (int64_t j = 0; j <= last; ++j) mx = std::max(mx, row[j]);
                float sum = 0;
                for (int64_t j = 0; j <= last; ++j) sum += (row[j] = std::exp(row[j] - mx));
                const float inv = 1.0f / sum;
                for (int64_t j = 0; j <= last; ++j) row[j] *= inv;
                std::fill(row + last + 1, row + S, 0.0f);
            }
            // att[i, h*hd:] = sum_j p[i, j] v_j
            sgemmRowMajor(false, false, n, hd, S, 1.0f, scores.data(), S, V + h * hd, d, 0.0f, att + h * hd, d);
        }
    };
    if (m_pool->threadCount() > 1) m_pool->parallelFor(H, 1, head);
    else head(0, H);
    return {};
}

Result<std::vector<float>> GptSession::eval(std::span<const int32_t> tokens, bool allLogits) {
    const GptModel& g = *m_model;
    const GptConfig& c = g.config();
    const int64_t n = static_cast<int64_t>(tokens.size()), d = c.nEmbd, H = c.nHead, hd = d / H;
    if (n == 0) return makeError(ErrorCode::Invalid, "no tokens to evaluate", "GPT-2 eval");
    if (m_pos + n > c.nCtx)
        return makeError(ErrorCode::Invalid, "positions " + std::to_string(m_pos) + ".." + std::to_string(m_pos + n - 1) +
                                                 " exceed the context length " + std::to_string(c.nCtx), "GPT-2 eval");
    ThreadPool* pool = m_pool.get();
    std::vector<float> x(static_cast<size_t>(n * d)), h(x.size()), qkv(static_cast<size_t>(n * 3 * d)), att(x.size()),
        ff(static_cast<size_t>(n * c.nFf));
    const auto* pos = g.posEmbd.data<float>();
    const int64_t embRowBytes = dtypeStorageBytes(g.tokenEmbd.dtype(), d);
    for (int64_t i = 0; i < n; ++i) {
        const int32_t t = tokens[static_cast<size_t>(i)];
        if (t < 0 || t >= c.nVocab)
            return makeError(ErrorCode::Invalid, "token id " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(c.nVocab), "GPT-2 eval");
        float* xi = x.data() + i * d;
        if (g.tokenEmbd.dtype() == DType::F32) std::memcpy(xi, g.tokenEmbd.data<float>() + t * d, static_cast<size_t>(d) * 4);
        else BY_TRY(dequantizeBlocks(g.tokenEmbd.dtype(), g.tokenEmbd.rawData() + t * embRowBytes, d, xi));
        for (int64_t k = 0; k < d; ++k) xi[k] += pos[(m_pos + i) * d + k];
    }
    auto matmul = [&](const float* in, int64_t rows, const GptLinear& l, float* out) -> Status {
        if (rows >= 4 && l.packed && m_path == KernelPath::Auto)
            return matmulRowsPacked(in, rows, *l.packed, l.bias.valid() ? l.bias.data<float>() : nullptr, out, pool);
        return matmulRows(in, rows, l.in, l.weight.dtype(), l.weight.rawData(), l.out, l.bias.valid() ? l.bias.data<float>() : nullptr, out,
                          pool, m_path);
    };
    auto parallel = [&](int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
        if (pool->threadCount() > 1 && count > grain) pool->parallelFor(count, grain, fn);
        else fn(0, count);
    };
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    for (int64_t l = 0; l < c.nLayer; ++l) {
        const auto& L = g.layers[static_cast<size_t>(l)];
        for (int64_t i = 0; i < n; ++i) layerNorm(x.data() + i * d, L.ln1w.data<float>(), L.ln1b.data<float>(), c.eps, d, h.data() + i * d);
        if (m_capture) m_capture(l, 0, h.data(), n, d);
        BY_TRY(matmul(h.data(), n, L.qkv, qkv.data()));
        float* K = m_k[static_cast<size_t>(l)].data();
        float* V = m_v[static_cast<size_t>(l)].data();
        for (int64_t i = 0; i < n; ++i) {
            std::memcpy(K + (m_pos + i) * d, qkv.data() + i * 3 * d + d, static_cast<size_t>(d) * 4);
            std::memcpy(V + (m_pos + i) * d, qkv.data() + i * 3 * d + 2 * d, static_cast<size_t>(d) * 4);
        }
        // Causal attention: query i (absolute position m_pos + i) sees keys 0..m_pos + i. A prompt
        // does it per head with two BLAS products (scores, then probabilities times values).
        if (n > 1 && m_path == KernelPath::Auto) {
            BY_TRY(promptAttention(qkv.data(), K, V, n, att.data()));
        } else parallel(n * H, 4, [&](int64_t b, int64_t e) {
            std::vector<float> s(static_cast<size_t>(m_pos + n));
            for (int64_t w = b; w < e; ++w) {
                const int64_t i = w / H, hh = w % H, last = m_pos + i;
                const float* q = qkv.data() + i * 3 * d + hh * hd;
                float mx = -INFINITY;
                for (int64_t j = 0; j <= last; ++j) {
                    s[static_cast<size_t>(j)] = dotF32(q, K + j * d + hh * hd, hd) * scale;
                    mx = std::max(mx, s[static_cast<size_t>(j)]);
                }
                float sum = 0;
                for (int64_t j = 0; j <= last; ++j) sum += (s[static_cast<size_t>(j)] = std::exp(s[static_cast<size_t>(j)] - mx));
                float* o = att.data() + i * d + hh * hd;
                std::fill(o, o + hd, 0.0f);
                const float inv = 1.0f / sum;
                for (int64_t j = 0; j <= last; ++j) axpyF32(s[static_cast<size_t>(j)] * inv, V + j * d + hh * hd, o, hd);
            }
        });
        if (m_capture) m_capture(l, 1, att.data(), n, d);
        BY_TRY(matmul(att.data(), n, L.proj, h.data()));
        for (size_t k = 0; k < x.size(); ++k) x[k] += h[k];
        for (int64_t i = 0; i < n; ++i) layerNorm(x.data() + i * d, L.ln2w.data<float>(), L.ln2b.data<float>(), c.eps, d, h.data() + i * d);
        if (m_capture) m_capture(l, 2, h.data(), n, d);
        BY_TRY(matmul(h.data(), n, L.up, ff.data()));
        parallel(static_cast<int64_t>(ff.size()), 8192, [&](int64_t b, int64_t e) { geluTanhInPlace(ff.data() + b, e - b); });
        if (m_capture) m_capture(l, 3, ff.data(), n, c.nFf);
        BY_TRY(matmul(ff.data(), n, L.down, h.data()));
        for (size_t k = 0; k < x.size(); ++k) x[k] += h[k];
    }
    const int64_t first = allLogits ? 0 : n - 1, rows = n - first;
    for (int64_t i = first; i < n; ++i)
        layerNorm(x.data() + i * d, g.lnfw.data<float>(), g.lnfb.data<float>(), c.eps, d, h.data() + (i - first) * d);
    std::vector<float> logits(static_cast<size_t>(rows * c.nVocab));
    BY_TRY(matmul(h.data(), rows, g.output, logits.data()));
    m_pos += n;
    return logits;
}

int32_t sampleToken(std::span<const float> logits, int topK, float temperature, std::mt19937& rng) {
    const int64_t V = static_cast<int64_t>(logits.size());
    if (topK <= 1 || temperature <= 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    std::vector<int32_t> idx(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) idx[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    const int64_t k = std::min<int64_t>(topK, V);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) { return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)]; });
    std::vector<double> p(static_cast<size_t>(k));
    const double mx = logits[static_cast<size_t>(idx[0])];
    for (int64_t i = 0; i < k; ++i) p[static_cast<size_t>(i)] = std::exp((logits[static_cast<size_t>(idx[static_cast<size_t>(i)])] - mx) / temperature);
    std::discrete_distribution<int64_t> dist(p.begin(), p.end());
    return idx[static_cast<size_t>(dist(rng))];
}

namespace {
// log-softmax of one row into `out`.
void logSoftmax(const float* z, int64_t V, std::vector<double>& out) {
    out.resize(static_cast<size_t>(V));
    double mx = z[0];
    for (int64_t i = 1; i < V; ++i) mx = std::max(mx, static_cast<double>(z[i]));
    double sum = 0;
    for (int64_t i = 0; i < V; ++i) sum += std::exp(z[i] - mx);
    const double lse = mx + std::log(sum);
    for (int64_t i = 0; i < V; ++i) out[static_cast<size_t>(i)] = z[i] - lse;
}
}  // namespace

Result<PerplexityResult> computePerplexity(GptSession& session, std::span<const int32_t> tokens, int64_t ctx, int64_t maxChunks, GptSession* base) {
    const int64_t V = session.model().config().nVocab;
    if (ctx < 4 || ctx > session.model().config().nCtx)
        return makeError(ErrorCode::Invalid, "context " + std::to_string(ctx) + " must be between 4 and the model's " +
                                                 std::to_string(session.model().config().nCtx), "perplexity");
    int64_t chunks = static_cast<int64_t>(tokens.size()) / ctx;
    if (maxChunks >= 0) chunks = std::min(chunks, maxChunks);
    if (chunks < 1) return makeError(ErrorCode::Invalid, "the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " + std::to_string(ctx), "perplexity");
    if (base && base->model().config().nVocab != V) return makeError(ErrorCode::Invalid, "the base model has a different vocabulary size", "perplexity");
    const auto t0 = std::chrono::steady_clock::now();
    PerplexityResult r;
    r.chunks = chunks;
    double nll = 0, kl = 0;
    int64_t agree = 0;
    std::vector<double> lp, lq;
    for (int64_t ch = 0; ch < chunks; ++ch) {
        const auto chunk = tokens.subspan(static_cast<size_t>(ch * ctx), static_cast<size_t>(ctx));
        session.reset();
        auto logits = session.eval(chunk, true);
        BY_TRY(logits);
        std::vector<float> baseLogits;
        if (base) {
            base->reset();
            auto bl = base->eval(chunk, true);
            BY_TRY(bl);
            baseLogits = std::move(*bl);
        }
        for (int64_t j = ctx / 2; j < ctx - 1; ++j) {
            const float* z = logits->data() + j * V;
            logSoftmax(z, V, lq);
            nll -= lq[static_cast<size_t>(chunk[static_cast<size_t>(j + 1)])];
            ++r.scored;
            if (base) {
                const float* zb = baseLogits.data() + j * V;
                logSoftmax(zb, V, lp);
                double k = 0;
                for (int64_t v = 0; v < V; ++v) k += std::exp(lp[static_cast<size_t>(v)]) * (lp[static_cast<size_t>(v)] - lq[static_cast<size_t>(v)]);
                kl += k;
                agree += (std::max_element(z, z + V) - z) == (std::max_element(zb, zb + V) - zb);
            }
        }
    }
    r.nll = nll / static_cast<double>(r.scored);
    r.ppl = std::exp(r.nll);
    if (base) {
        r.meanKl = kl / static_cast<double>(r.scored);
        r.top1Agreement = static_cast<double>(agree) / static_cast<double>(r.scored);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace by
