// Transformer building blocks as exported by ONNX tools: Gelu (ai.onnx, exact or tanh), and the
// com.microsoft fused ops that transformer optimisers write - Gelu, FastGelu, BiasGelu,
// SkipLayerNormalization, RotaryEmbedding and MultiHeadAttention with a key/value cache
// (past_key/past_value in, present_key/present_value out) for token-by-token generation.
#include <cmath>
#include <limits>

#include "engine/ops_common.h"

namespace by {
namespace {
using namespace ops;

constexpr float kSqrt2OverPi = 0.7978845608028654f;

float geluErf(float x) { return 0.5f * x * (1.f + std::erf(x * 0.7071067811865476f)); }
float geluTanh(float x) { return 0.5f * x * (1.f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))); }

// y = gelu(x [+ bias broadcast along the last axis]).
Status geluWith(KernelContext& ctx, bool tanhApprox, const Tensor* bias) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    const int64_t n = X.numel();
    int64_t last = X.rank() ? X.shape().back() : 1;
    const float* b = nullptr;
    if (bias) {
        BY_TRY(requireType(*bias, {DType::F32}, "bias"));
        if (bias->numel() != last)
            return invalid("bias has " + std::to_string(bias->numel()) + " values; the input's last axis has " + std::to_string(last));
        b = bias->data<float>();
    }
    auto out = allocate(DType::F32, X.shape());
    if (!out) return out.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    last = std::max<int64_t>(last, 1);
    parallelFor(ctx.pool, n, 16384, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) {
            const float v = b ? x[i] + b[i % last] : x[i];
            y[i] = tanhApprox ? geluTanh(v) : geluErf(v);
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

// SkipLayerNormalization: s = input + skip (+ bias); y = LayerNorm(s) * gamma + beta over the
// last axis. Outputs: y, mean, inv_std_var, input_skip_bias_sum.
Status skipLayerNorm(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    const Tensor& S = ctx.in(1);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    BY_TRY(requireType(S, {DType::F32}, "skip"));
    if (X.rank() < 1) return invalid("SkipLayerNormalization input must have a hidden axis");
    const int64_t hidden = X.shape().back(), rows = X.numel() / std::max<int64_t>(hidden, 1);
    if (S.numel() != X.numel() && S.numel() != hidden)
        return invalid("skip " + shapeToString(S.shape()) + " does not match input " + shapeToString(X.shape()));
    auto vec = [&](size_t i, const char* what) -> Result<const float*> {
        if (!ctx.has(i)) return static_cast<const float*>(nullptr);
        const Tensor& t = ctx.in(i);
        if (t.dtype() != DType::F32 || t.numel() != hidden)
            return invalid(std::string(what) + " must be f32 with " + std::to_string(hidden) + " values");
        return t.data<float>();
    };
    auto gamma = vec(2, "gamma");
    auto beta = vec(3, "beta");
    auto bias = vec(4, "bias");
    if (!gamma) return gamma.error();
    if (!beta) return beta.error();
    if (!bias) return bias.error();
    if (!*gamma) return invalid("SkipLayerNormalization needs gamma");
    const float eps = float(ctx.node.attrFloat("epsilon", 1e-12));
    auto out = allocate(DType::F32, X.shape());
    auto sum = allocate(DType::F32, X.shape());
    Shape statShape = X.shape();
    statShape.back() = 1;
    auto meanT = allocate(DType::F32, statShape);
    auto invT = allocate(DType::F32, statShape);
    if (!out || !sum || !meanT || !invT) return invalid("SkipLayerNormalization output too large");
    const float* x = X.data<float>();
    const float* sk = S.data<float>();
    float* y = out->mutableData<float>();
    float* ps = sum->mutableData<float>();
    float* pm = meanT->mutableData<float>();
    float* pi = invT->mutableData<float>();
    const bool fullSkip = S.numel() == X.numel();
    parallelFor(ctx.pool, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(hidden, 1)), [&](int64_t s, int64_t e) {
        for (int64_t r = s; r < e; ++r) {
            float* sr = ps + r * hidden;
            double m = 0;
            for (int64_t i = 0; i < hidden; ++i) {
                sr[i] = x[r * hidden + i] + sk[fullSkip ? r * hidden + i : i] + (*bias ? (*bias)[i] : 0.f);
                m += sr[i];
            }
            m /= double(hidden);
            double v = 0;
            for (int64_t i = 0; i < hidden; ++i) v += (sr[i] - m) * (sr[i] - m);
            const double inv = 1.0 / std::sqrt(v / double(hidden) + eps);
            pm[r] = float(m);
            pi[r] = float(inv);
            for (int64_t i = 0; i < hidden; ++i)
                y[r * hidden + i] = float((sr[i] - m) * inv) * (*gamma)[i] + (*beta ? (*beta)[i] : 0.f);
        }
    });
    ctx.outputs[0] = std::move(*out);
    if (ctx.wantsOutput(1)) ctx.outputs[1] = std::move(*meanT);
    if (ctx.wantsOutput(2)) ctx.outputs[2] = std::move(*invT);
    if (ctx.wantsOutput(3)) ctx.outputs[3] = std::move(*sum);
    return {};
}

// RotaryEmbedding (com.microsoft): input [B,S,hidden] (heads inferred from the caches) or
// [B,N,S,H]; position_ids [B,S] (or one start offset [1]); cos_cache/sin_cache [max_pos, R/2].
// Rotates the first rotary_embedding_dim (default H) features of every head: pairs (i, i+R/2), or
// (2i, 2i+1) when interleaved.
Status rotaryEmbedding(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    const Tensor& cosT = ctx.in(2);
    const Tensor& sinT = ctx.in(3);
    BY_TRY(requireType(cosT, {DType::F32}, "cos_cache"));
    BY_TRY(requireType(sinT, {DType::F32}, "sin_cache"));
    if (cosT.rank() != 2 || cosT.shape() != sinT.shape()) return invalid("cos_cache and sin_cache must both be [max_position, rotary_dim/2]");
    const int64_t maxPos = cosT.shape()[0], half = cosT.shape()[1];
    const bool interleaved = ctx.node.attrInt("interleaved", 0) != 0;
    int64_t B, S, N, H;
    bool bsnh;  // [B,S,N*H] layout
    if (X.rank() == 3) {
        B = X.shape()[0];
        S = X.shape()[1];
        const int64_t hidden = X.shape()[2];
        N = ctx.node.attrInt("num_heads", 0);
        const int64_t rd = ctx.node.attrInt("rotary_embedding_dim", 0);
        if (N <= 0) N = rd > 0 ? hidden / rd : hidden / (2 * half);
        if (N <= 0 || hidden % N) return invalid("cannot split hidden size " + std::to_string(hidden) + " into heads");
        H = hidden / N;
        bsnh = true;
    } else if (X.rank() == 4) {
        B = X.shape()[0];
        N = X.shape()[1];
        S = X.shape()[2];
        H = X.shape()[3];
        bsnh = false;
    } else {
        return invalid("RotaryEmbedding input must be [B,S,hidden] or [B,N,S,H], got " + shapeToString(X.shape()));
    }
    const int64_t R = ctx.node.attrInt("rotary_embedding_dim", 0) > 0 ? ctx.node.attrInt("rotary_embedding_dim", 0) : 2 * half;
    if (R != 2 * half || R > H) return invalid("rotary dimension " + std::to_string(R) + " does not fit head size " + std::to_string(H) + " and the caches");
    auto pos = readInts(ctx.in(1), "position_ids");
    if (!pos) return pos.error();
    const bool offsetOnly = pos->size() == 1;
    if (!offsetOnly && int64_t(pos->size()) != B * S) return invalid("position_ids must be [batch, sequence] or one start offset");
    auto out = allocate(DType::F32, X.shape());
    if (!out) return out.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    std::copy(x, x + X.numel(), y);
    const float* c = cosT.data<float>();
    const float* sn = sinT.data<float>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < S; ++s) {
            const int64_t p = offsetOnly ? (*pos)[0] + s : (*pos)[size_t(b * S + s)];
            if (p < 0 || p >= maxPos)
                return invalid("position " + std::to_string(p) + " is outside the rotary caches (" + std::to_string(maxPos) + " positions)");
            for (int64_t h = 0; h < N; ++h) {
                const int64_t base = bsnh ? (b * S + s) * N * H + h * H : ((b * N + h) * S + s) * H;
                for (int64_t i = 0; i < half; ++i) {
                    const int64_t i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + half;
                    const float a = x[base + i0], bb = x[base + i1];
                    const float cs = c[p * half + i], si = sn[p * half + i];
                    y[base + i0] = a * cs - bb * si;
                    y[base + i1] = bb * cs + a * si;
                }
            }
        }
    ctx.outputs[0] = std::move(*out);
    return {};
}

// MultiHeadAttention (com.microsoft), the unpacked form: query [B,S,N*H], key [B,L,N*H],
// value [B,L,N*Hv]; optional bias [3*N*H] (q|k|v), key_padding_mask [B, total] (1 = attend),
// attention_bias [1 or B, 1 or N, S, total], past_key/past_value [B,N,P,H]. With
// unidirectional=1 query i sees keys up to P + i. Outputs: [B,S,N*Hv], present_key/value
// [B,N,P+L,H].
Status multiHeadAttention(KernelContext& ctx) {
    const Tensor& Q = ctx.in(0);
    if (!ctx.has(1) || !ctx.has(2)) return unsupported("MultiHeadAttention with packed QKV is not supported; pass query, key and value");
    const Tensor& K = ctx.in(1);
    const Tensor& V = ctx.in(2);
    for (const Tensor* t : {&Q, &K, &V}) BY_TRY(requireType(*t, {DType::F32}, "query/key/value"));
    if (Q.rank() != 3 || K.rank() != 3 || V.rank() != 3)
        return unsupported("MultiHeadAttention needs query, key and value as [batch, sequence, hidden]");
    const int64_t N = ctx.node.attrInt("num_heads", 0);
    const int64_t B = Q.shape()[0], S = Q.shape()[1], D = Q.shape()[2], L = K.shape()[1], Dv = V.shape()[2];
    if (N <= 0 || D % N || Dv % N) return invalid("num_heads " + std::to_string(N) + " does not divide the hidden sizes");
    if (K.shape()[0] != B || V.shape()[0] != B || V.shape()[1] != L || K.shape()[2] != D)
        return invalid("key " + shapeToString(K.shape()) + " and value " + shapeToString(V.shape()) + " do not match query " + shapeToString(Q.shape()));
    const int64_t H = D / N, Hv = Dv / N;
    const float* bias = nullptr;
    if (ctx.has(3)) {
        if (ctx.in(3).dtype() != DType::F32 || ctx.in(3).numel() != 2 * D + Dv) return invalid("bias must be f32 [q+k+v hidden]");
        bias = ctx.in(3).data<float>();
    }
    int64_t P = 0;
    const float* pk = nullptr;
    const float* pv = nullptr;
    if (ctx.has(6) || ctx.has(7)) {
        if (!ctx.has(6) || !ctx.has(7)) return invalid("past_key and past_value come together");
        const Tensor& PK = ctx.in(6);
        const Tensor& PV = ctx.in(7);
        if (PK.rank() != 4 || PK.shape()[0] != B || PK.shape()[1] != N || PK.shape()[3] != H || PV.rank() != 4 ||
            PV.shape()[2] != PK.shape()[2] || PV.shape()[3] != Hv)
            return invalid("past_key " + shapeToString(PK.shape()) + " / past_value " + shapeToString(PV.shape()) + " do not match [B,N,past,H]");
        P = PK.shape()[2];
        pk = PK.data<float>();
        pv = PV.data<float>();
    }
    const int64_t T = P + L;
    const int32_t* padMask = nullptr;
    std::vector<int32_t> padOwned;
    if (ctx.has(4)) {
        auto m = readInts(ctx.in(4), "key_padding_mask");
        if (!m) return m.error();
        if (int64_t(m->size()) != B * T) return unsupported("key_padding_mask must be [batch, total sequence]");
        padOwned.assign(m->begin(), m->end());
        padMask = padOwned.data();
    }
    const float* attnBias = nullptr;
    int64_t abB = 0, abN = 0;
    if (ctx.has(5)) {
        const Tensor& AB = ctx.in(5);
        if (AB.dtype() != DType::F32 || AB.rank() != 4 || AB.shape()[2] != S || AB.shape()[3] != T)
            return invalid("attention_bias must be f32 [B or 1, N or 1, S, total]");
        abB = AB.shape()[0] == 1 ? 0 : 1;
        abN = AB.shape()[1] == 1 ? 0 : 1;
        attnBias = AB.data<float>();
    }
    const bool causal = ctx.node.attrInt("unidirectional", 0) != 0;
    const float scale = float(ctx.node.attrFloat("scale", 0.0)) != 0.f ? float(ctx.node.attrFloat("scale", 0.0)) : 1.f / std::sqrt(float(H));

    auto out = allocate(DType::F32, {B, S, Dv});
    auto presK = allocate(DType::F32, {B, N, T, H});
    auto presV = allocate(DType::F32, {B, N, T, Hv});
    if (!out || !presK || !presV) return invalid("MultiHeadAttention output too large");
    float* y = out->mutableData<float>();
    float* kc = presK->mutableData<float>();
    float* vc = presV->mutableData<float>();
    const float* q = Q.data<float>();
    const float* k = K.data<float>();
    const float* v = V.data<float>();
    // The cache: past rows, then this call's keys/values (bias added) per head.
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < N; ++h) {
            float* kd = kc + (b * N + h) * T * H;
            float* vd = vc + (b * N + h) * T * Hv;
            if (P) {
                std::copy_n(pk + (b * N + h) * P * H, P * H, kd);
                std::copy_n(pv + (b * N + h) * P * Hv, P * Hv, vd);
            }
            for (int64_t l = 0; l < L; ++l) {
                for (int64_t i = 0; i < H; ++i) kd[(P + l) * H + i] = k[(b * L + l) * D + h * H + i] + (bias ? bias[D + h * H + i] : 0.f);
                for (int64_t i = 0; i < Hv; ++i) vd[(P + l) * Hv + i] = v[(b * L + l) * Dv + h * Hv + i] + (bias ? bias[2 * D + h * Hv + i] : 0.f);
            }
        }
    parallelFor(ctx.pool, B * N * S, 4, [&](int64_t s0, int64_t e0) {
        std::vector<float> qrow(static_cast<size_t>(H)), score(static_cast<size_t>(T));
        for (int64_t idx = s0; idx < e0; ++idx) {
            const int64_t b = idx / (N * S), h = (idx / S) % N, s = idx % S;
            for (int64_t i = 0; i < H; ++i) qrow[size_t(i)] = q[(b * S + s) * D + h * H + i] + (bias ? bias[h * H + i] : 0.f);
            const float* kd = kc + (b * N + h) * T * H;
            const float* vd = vc + (b * N + h) * T * Hv;
            float mx = -std::numeric_limits<float>::infinity();
            for (int64_t t = 0; t < T; ++t) {
                const bool masked = (causal && t > P + s) || (padMask && padMask[b * T + t] == 0);
                if (masked) {
                    score[size_t(t)] = -std::numeric_limits<float>::infinity();
                    continue;
                }
                float d = 0.f;
                for (int64_t i = 0; i < H; ++i) d += qrow[size_t(i)] * kd[t * H + i];
                d *= scale;
                if (attnBias) d += attnBias[((b * abB) * (abN ? N : 1) + h * abN) * S * T + s * T + t];
                score[size_t(t)] = d;
                mx = std::max(mx, d);
            }
            float* yo = y + (b * S + s) * Dv + h * Hv;
            std::fill(yo, yo + Hv, 0.f);
            if (mx == -std::numeric_limits<float>::infinity()) continue;  // every key masked: zeros
            double sum = 0;
            for (int64_t t = 0; t < T; ++t) {
                const float e = std::isinf(score[size_t(t)]) ? 0.f : std::exp(score[size_t(t)] - mx);
                score[size_t(t)] = e;
                sum += e;
            }
            const float inv = float(1.0 / sum);
            for (int64_t t = 0; t < T; ++t) {
                const float w = score[size_t(t)] * inv;
                if (w == 0.f) continue;
                for (int64_t i = 0; i < Hv; ++i) yo[i] += w * vd[t * Hv + i];
            }
        }
    });
    ctx.outputs[0] = std::move(*out);
    if (ctx.wantsOutput(1)) ctx.outputs[1] = std::move(*presK);
    if (ctx.wantsOutput(2)) ctx.outputs[2] = std::move(*presV);
    return {};
}

Status checkF32Input(const Node& n, const Graph& g, int64_t) { return requireDeclared(n, g, 0, {DType::F32}); }

}  // namespace

void registerTransformerOps(OpRegistry& r) {
    r.add("", "Gelu", [](KernelContext& c) {
        const std::string a = c.node.attrString("approximate", "none");
        if (a != "none" && a != "tanh") return Status(ops::invalid("Gelu approximate must be 'none' or 'tanh', not '" + a + "'"));
        return geluWith(c, a == "tanh", nullptr);
    }, checkF32Input);
    r.add("com.microsoft", "Gelu", [](KernelContext& c) { return geluWith(c, false, nullptr); }, checkF32Input);
    r.add("com.microsoft", "BiasGelu", [](KernelContext& c) { return geluWith(c, false, &c.in(1)); }, checkF32Input);
    r.add("com.microsoft", "FastGelu", [](KernelContext& c) { return geluWith(c, true, c.has(1) ? &c.in(1) : nullptr); }, checkF32Input);
    r.add("com.microsoft", "SkipLayerNormalization", skipLayerNorm, checkF32Input);
    r.add("com.microsoft", "RotaryEmbedding", rotaryEmbedding, checkF32Input);
    r.add("com.microsoft", "MultiHeadAttention", multiHeadAttention, checkF32Input);
}

}  // namespace by
