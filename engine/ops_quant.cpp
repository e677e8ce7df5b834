// Quantized matrix products: DynamicQuantizeLinear, MatMulInteger and QLinearMatMul on the exact
// int8 GEMM, and com.microsoft MatMulNBits (2/4/8-bit weights packed along K in blocks with one
// scale, and optionally one zero point, per block), the format ONNX tools write for weight-only
// low-bit models.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "engine/int8_gemm.h"
#include "engine/matmul_nbits.h"
#include "engine/ops_common.h"

// GCC 12 warns inside its own AVX-512 headers (_mm256_undefined_* is self-initialised on purpose).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace by {
namespace {
using namespace ops;

bool isByteType(DType t) { return t == DType::U8 || t == DType::I8; }

// Batch-broadcast plan for [..., M, K] x [..., K, N].
struct MatPlan {
    int64_t M = 0, K = 0, N = 0;
    Shape outShape;
    std::vector<int64_t> offA, offB;  // element offsets of each batch's matrices
};

Result<MatPlan> planMatmul(const Shape& a0, const Shape& b0) {
    if (a0.empty() || b0.empty()) return invalid("matrix product inputs must not be scalars");
    Shape as = a0, bs = b0;
    const bool aVec = as.size() == 1, bVec = bs.size() == 1;
    if (aVec) as.insert(as.begin(), 1);
    if (bVec) bs.push_back(1);
    MatPlan p;
    p.M = as[as.size() - 2];
    p.K = as.back();
    p.N = bs.back();
    if (bs[bs.size() - 2] != p.K)
        return invalid("A " + shapeToString(a0) + " and B " + shapeToString(b0) + " do not multiply");
    const Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
    auto batch = broadcastShapes(aBatch, bBatch);
    if (!batch) return batch.error();
    p.outShape = *batch;
    if (!aVec) p.outShape.push_back(p.M);
    if (!bVec) p.outShape.push_back(p.N);
    const int64_t nb = shapeNumel(*batch);
    p.offA.assign(size_t(nb), 0);
    p.offB.assign(size_t(nb), 0);
    const Shape bm = *batch;
    auto planA = planBroadcast({&aBatch, &bm});
    auto planB = planBroadcast({&bBatch, &bm});
    if (!planA || !planB) return invalid("batch dimensions do not broadcast");
    auto fill = [](const BroadcastPlan& bp, std::vector<int64_t>& off, int64_t matrix) {
        if (bp.numel == 0) return;
        forEachRun(bp, 0, bp.numel, [&](int64_t pos, int64_t n, const int64_t* o, const int64_t* st) {
            for (int64_t i = 0; i < n; ++i) off[size_t(pos + i)] = (o[0] + i * st[0]) * matrix;
        });
    };
    fill(*planA, p.offA, p.M * p.K);
    fill(*planB, p.offB, p.K * p.N);
    return p;
}

// Zero point of a byte matrix: scalar, or one per row (A) / column (B).
Result<std::vector<int32_t>> zeroPoints(const KernelContext& ctx, size_t input, DType dataType, int64_t perCount,
                                        const char* what) {
    if (!ctx.has(input)) return std::vector<int32_t>{0};
    const Tensor& z = ctx.in(input);
    if (z.dtype() != dataType)
        return invalid(std::string(what) + " zero point is " + dtypeName(z.dtype()) + " but the data is " + dtypeName(dataType));
    auto v = readInts(z, what);
    if (!v) return v.error();
    if (v->size() != 1 && int64_t(v->size()) != perCount)
        return unsupported(std::string(what) + " zero point has " + std::to_string(v->size()) + " values; expected 1 or " +
                           std::to_string(perCount));
    return std::vector<int32_t>(v->begin(), v->end());
}

// int32 product of two byte tensors, batched like MatMul.
Result<Tensor> integerProduct(const KernelContext& ctx, const Tensor& A, const Tensor& B, const std::vector<int32_t>& za,
                              const std::vector<int32_t>& zb) {
    auto plan = planMatmul(A.shape(), B.shape());
    if (!plan) return plan.error();
    auto out = allocate(DType::I32, plan->outShape);
    if (!out) return out.error();
    int32_t* y = out->mutableData<int32_t>();
    for (size_t i = 0; i < plan->offA.size(); ++i) {
        Int8GemmArgs g;
        g.M = plan->M;
        g.N = plan->N;
        g.K = plan->K;
        g.A = A.rawData() + plan->offA[i];
        g.lda = plan->K;
        g.aSigned = A.dtype() == DType::I8;
        g.B = B.rawData() + plan->offB[i];
        g.ldb = plan->N;
        g.bSigned = B.dtype() == DType::I8;
        g.aZero = za.data();
        g.aZeroPerRow = za.size() > 1;
        g.bZero = zb.data();
        g.bZeroPerColumn = zb.size() > 1;
        g.C = y + int64_t(i) * plan->M * plan->N;
        g.ldc = plan->N;
        int8Gemm(g, ctx.pool);
    }
    return std::move(*out);
}

// ---- int8 layers with constant weights: QLinearConv, com.microsoft QGemm, QLinearMatMul ----------
//
// The weights are packed once per executor (PrepareFn) into the int8 GEMM's panel layout.
// Convolutions keep them as the left operand, [output channels, K], against the input unfolded in
// bytes (im2col, [K, pixels] with every image of the batch side by side), so each output channel
// is a row of C that is already a contiguous NCHW plane. Gemm and MatMul keep them as the right
// operand, [K, outputs], so C is the output matrix itself. Requantization (bias, per-channel
// scale, rounding, zero point, clamp) runs in the GEMM's epilogue on each finished block while it
// is in cache.

// Packed weights of one layer: the right operand of a Gemm/MatMul, or one left operand per
// convolution group.
struct PackedLayer {
    std::vector<PackedInt8Matrix> groups;
    std::vector<PackedInt8Rows> convGroups;
};

// Zero points of a byte tensor as N values (a scalar repeated), or an error.
Result<std::vector<int32_t>> zeroVector(const Tensor* z, int64_t n, const char* what) {
    std::vector<int32_t> out(size_t(n), 0);
    if (!z) return out;
    auto v = readInts(*z, what);
    if (!v) return v.error();
    if (v->size() != 1 && int64_t(v->size()) != n)
        return invalid(std::string(what) + " has " + std::to_string(v->size()) + " values; expected 1 or " + std::to_string(n));
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = int32_t((*v)[v->size() == 1 ? 0 : size_t(i)]);
    return out;
}

// Packs output channels [n0, n0 + N) of a weight stored with one row per output channel
// ([N_total, K], `rowsAreOutputs`) or one column per output channel ([K, N_total]).
PackedInt8Matrix packWeight(const Tensor& w, bool rowsAreOutputs, int64_t n0, int64_t N, int64_t K, int64_t nTotal,
                            const std::vector<int32_t>& zero) {
    std::vector<uint8_t> kn;
    Int8GemmArgs a;
    a.K = K;
    a.N = N;
    a.bSigned = w.dtype() == DType::I8;
    a.bZero = zero.data() + n0;
    a.bZeroPerColumn = true;
    const uint8_t* src = w.rawData();
    if (rowsAreOutputs) {
        kn.resize(size_t(K * N));
        for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k) kn[size_t(k * N + n)] = src[(n0 + n) * K + k];
        a.B = kn.data();
        a.ldb = N;
    } else {
        a.B = src + n0;
        a.ldb = nTotal;
    }
    return packInt8B(a);
}

bool isByteTensor(const Tensor* t) { return t && (t->dtype() == DType::U8 || t->dtype() == DType::I8); }

std::shared_ptr<const void> prepareQLinearConv(const KernelContext& ctx) {
    const Tensor* W = ctx.has(3) ? &ctx.in(3) : nullptr;
    if (!isByteTensor(W) || W->rank() < 3 || (ctx.inputCount() > 5 && ctx.inputs[5] == nullptr && ctx.node.inputs[5] >= 0))
        return nullptr;
    const int64_t M = W->shape()[0], group = ctx.node.attrInt("group", 1);
    if (group <= 0 || M % group) return nullptr;
    auto zero = zeroVector(ctx.has(5) ? &ctx.in(5) : nullptr, M, "w zero point");
    if (!zero) return nullptr;
    const int64_t Mg = M / group, K = W->numel() / M;
    auto p = std::make_shared<PackedLayer>();
    for (int64_t gi = 0; gi < group; ++gi) {
        Int8GemmArgs a;
        a.M = Mg;
        a.K = K;
        a.A = W->rawData() + gi * Mg * K;
        a.lda = K;
        a.aSigned = W->dtype() == DType::I8;
        a.aZero = zero->data() + gi * Mg;
        a.aZeroPerRow = true;
        p->convGroups.push_back(packInt8A(a));
    }
    return p;
}

// The previous (generic) kernels, chained to where the fast paths do not apply.
OpKernel g_genericQLinearConv, g_f32MaxPool;

struct Requant {
    std::vector<float> mult;   // per output channel: x_scale * w_scale / y_scale (or, float out, x_scale * w_scale)
    std::vector<int32_t> bias;  // per output channel, 0 when absent
    float zero = 0.f, lo = 0.f, hi = 255.f;
    DType out = DType::U8;  // U8, I8 or F32 (no requantization)
};

// Scales of a quantized layer with `M` output channels; `ys` null for float output.
Result<Requant> makeRequant(const Tensor& xs, const Tensor& ws, const Tensor* ys, const Tensor* yz, const Tensor* bias, int64_t M,
                            const char* op) {
    auto xsv = xs.toFloats();
    auto wsv = ws.toFloats();
    if (!xsv || !wsv) return invalid(std::string(op) + " scales must be float tensors");
    if (xsv->size() != 1) return unsupported(std::string(op) + " input scale must be a scalar");
    if (wsv->size() != 1 && int64_t(wsv->size()) != M)
        return invalid(std::string(op) + " weight scale needs 1 or " + std::to_string(M) + " values");
    Requant r;
    r.mult.resize(size_t(M));
    float ysv = 1.f;
    if (ys) {
        auto y = ys->toFloats();
        if (!y || y->size() != 1) return unsupported(std::string(op) + " output scale must be a float scalar");
        ysv = (*y)[0];
        r.out = yz ? yz->dtype() : DType::U8;
        if (r.out != DType::U8 && r.out != DType::I8) return unsupported(std::string(op) + " output must be uint8 or int8");
        if (yz) {
            auto z = readInts(*yz, "y zero point");
            if (!z || z->size() != 1) return unsupported(std::string(op) + " output zero point must be a scalar");
            r.zero = float((*z)[0]);
        }
        r.lo = r.out == DType::U8 ? 0.f : -128.f;
        r.hi = r.out == DType::U8 ? 255.f : 127.f;
    } else {
        r.out = DType::F32;
    }
    for (int64_t m = 0; m < M; ++m) {
        const float s = (*xsv)[0] * (*wsv)[wsv->size() == 1 ? 0 : size_t(m)];
        r.mult[size_t(m)] = ys ? s / ysv : s;
    }
    r.bias.assign(size_t(M), 0);
    if (bias) {
        auto b = readInts(*bias, "bias");
        if (!b) return b.error();
        if (b->size() != 1 && int64_t(b->size()) != M)
            return invalid(std::string(op) + " bias needs " + std::to_string(M) + " values, not " + std::to_string(b->size()));
        for (int64_t m = 0; m < M; ++m) r.bias[size_t(m)] = int32_t((*b)[b->size() == 1 ? 0 : size_t(m)]);
    }
    return r;
}

// One value through the requantization: round half to even as the ONNX reference does.
inline float requantValue(const Requant& r, int32_t acc, int64_t m) {
    return std::clamp(std::nearbyint(float(acc + r.bias[size_t(m)]) * r.mult[size_t(m)]) + r.zero, r.lo, r.hi);
}

// n consecutive int32 sums requantized to bytes: channel `ch` throughout (PerElement false) or
// channels ch, ch + 1, ... (true). The AVX2 path gives the same bytes as requantValue: the same
// f32 product, round-to-nearest-even conversion, and saturating packs as the clamp.
template <bool PerElement>
__attribute__((target("avx2"))) void requantSpanAvx2(const Requant& r, const int32_t* c, int64_t n, int64_t ch, uint8_t* y) {
    const __m256 big = _mm256_set1_ps(1073741824.f), small = _mm256_set1_ps(-1073741824.f);
    const __m256i zero = _mm256_set1_epi32(int32_t(r.zero));
    const bool u8 = r.out == DType::U8;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256i b = PerElement ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.bias.data() + ch + j))
                                     : _mm256_set1_epi32(r.bias[size_t(ch)]);
        const __m256 m = PerElement ? _mm256_loadu_ps(r.mult.data() + ch + j) : _mm256_set1_ps(r.mult[size_t(ch)]);
        const __m256i acc = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + j)), b);
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), m);
        v = _mm256_max_ps(_mm256_min_ps(v, big), small);
        const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), zero);
        const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        const __m128i q8 = u8 ? _mm_packus_epi16(q16, q16) : _mm_packs_epi16(q16, q16);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(y + j), q8);
    }
    for (; j < n; ++j) {
        const float v = requantValue(r, c[j], PerElement ? ch + j : ch);
        y[j] = u8 ? uint8_t(v) : uint8_t(int8_t(v));
    }
}

template <bool PerElement>
void requantSpan(const Requant& r, const int32_t* c, int64_t n, int64_t ch, uint8_t* y, float* yf) {
    static const bool avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }();
    if (r.out == DType::F32) {
        for (int64_t j = 0; j < n; ++j) {
            const int64_t m = PerElement ? ch + j : ch;
            yf[j] = float(c[j] + r.bias[size_t(m)]) * r.mult[size_t(m)];
        }
    } else if (avx2) {
        requantSpanAvx2<PerElement>(r, c, n, ch, y);
    } else {
        for (int64_t j = 0; j < n; ++j) {
            const float v = requantValue(r, c[j], PerElement ? ch + j : ch);
            y[j] = r.out == DType::U8 ? uint8_t(v) : uint8_t(int8_t(v));
        }
    }
}

// A block of C whose columns are output channels (Gemm, MatMul): row i to y[(r0 + i) * N + c0...].
void writeRows(const Requant& r, const int32_t* acc, int64_t N, int64_t r0, int64_t rows, int64_t c0, int64_t cols, uint8_t* y, float* yf) {
    const bool toFloat = r.out == DType::F32;
    for (int64_t i = 0; i < rows; ++i) {
        const int64_t off = (r0 + i) * N + c0;
        requantSpan<true>(r, acc + off, cols, c0, toFloat ? nullptr : y + off, toFloat ? yf + off : nullptr);
    }
}

Status qlinearConvFast(KernelContext& ctx) {
    const auto* packed = static_cast<const PackedLayer*>(ctx.prepared);
    const Tensor& X = ctx.in(0);
    const Tensor& W = ctx.in(3);
    const std::string autoPad = ctx.node.attrString("auto_pad", "NOTSET");
    if (!packed || X.rank() != 4 || W.rank() != 4 || !isByteTensor(&X) || (autoPad != "NOTSET" && !autoPad.empty()))
        return g_genericQLinearConv.run(ctx);
    const int64_t N = X.shape()[0], C = X.shape()[1], H = X.shape()[2], Wd = X.shape()[3];
    const int64_t M = W.shape()[0], kh = W.shape()[2], kw = W.shape()[3];
    const int64_t group = ctx.node.attrInt("group", 1);
    if (group <= 0 || C % group || M % group || W.shape()[1] != C / group || int64_t(packed->convGroups.size()) != group)
        return g_genericQLinearConv.run(ctx);
    auto ints = [&](const char* key, std::vector<int64_t> def) {
        auto v = ctx.node.attrInts(key);
        return v.empty() ? def : v;
    };
    const auto strides = ints("strides", {1, 1}), dil = ints("dilations", {1, 1}), pads = ints("pads", {0, 0, 0, 0});
    if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4) return g_genericQLinearConv.run(ctx);
    const int64_t OH = (H + pads[0] + pads[2] - (dil[0] * (kh - 1) + 1)) / strides[0] + 1;
    const int64_t OW = (Wd + pads[1] + pads[3] - (dil[1] * (kw - 1) + 1)) / strides[1] + 1;
    if (OH <= 0 || OW <= 0) return invalid("QLinearConv output would be empty");
    auto xz = zeroVector(ctx.has(2) ? &ctx.in(2) : nullptr, 1, "x zero point");
    if (!xz) return xz.error();
    auto rq = makeRequant(ctx.in(1), ctx.in(4), &ctx.in(6), ctx.has(7) ? &ctx.in(7) : nullptr, ctx.has(8) ? &ctx.in(8) : nullptr, M,
                          "QLinearConv");
    if (!rq) return rq.error();
    auto out = allocateUninit(rq->out, {N, M, OH, OW});
    if (!out) return out.error();
    const int64_t Cg = C / group, Mg = M / group, K = Cg * kh * kw, O = OH * OW, cols = N * O;
    const uint8_t pad = uint8_t((*xz)[0]);
    if (Cg == 1 && Mg == 1 && X.dtype() == DType::U8 && W.dtype() == DType::I8 && dil[0] == 1 && dil[1] == 1) {
        // Depthwise: one filter per channel is too small a product for the GEMM; a direct loop
        // over each output row (int32 sums, then the same requantization) is far cheaper.
        std::vector<int32_t> wz(size_t(M), 0);
        if (ctx.has(5)) {
            auto z = zeroVector(&ctx.in(5), M, "w zero point");
            if (!z) return z.error();
            wz = *z;
        }
        const uint8_t* xb = X.rawData();
        const auto* wb = reinterpret_cast<const int8_t*>(W.rawData());
        const int32_t zx = (*xz)[0];
        uint8_t* yb = rq->out == DType::F32 ? nullptr : out->mutableRawData();
        float* yf = rq->out == DType::F32 ? out->mutableData<float>() : nullptr;
        parallelFor(ctx.pool, N * M, 1, [&](int64_t b, int64_t e) {
            std::vector<int32_t> row(static_cast<size_t>(OW));
            for (int64_t nm = b; nm < e; ++nm) {
                const int64_t n = nm / M, m = nm % M;
                const uint8_t* plane = xb + (n * C + m) * H * Wd;
                const int8_t* f = wb + m * kh * kw;
                for (int64_t oh = 0; oh < OH; ++oh) {
                    std::fill(row.begin(), row.end(), 0);
                    for (int64_t i = 0; i < kh; ++i) {
                        const int64_t ih = oh * strides[0] - pads[0] + i;
                        if (ih < 0 || ih >= H) continue;  // padding holds the zero point: contributes 0
                        const uint8_t* src = plane + ih * Wd;
                        for (int64_t j = 0; j < kw; ++j) {
                            const int32_t wv = int32_t(f[i * kw + j]) - wz[size_t(m)];
                            const int64_t off = j - pads[1];
                            // Output columns whose input column ow * stride + off lies inside the row.
                            const int64_t lo = std::clamp<int64_t>((-off + strides[1] - 1) / strides[1], 0, OW);
                            const int64_t hi = std::clamp<int64_t>((Wd - 1 - off) / strides[1] + 1, lo, OW);
                            if (off + (hi - 1) * strides[1] >= Wd && hi > lo) continue;
                            if (strides[1] == 1) {
                                for (int64_t ow = lo; ow < hi; ++ow) row[size_t(ow)] += (int32_t(src[ow + off]) - zx) * wv;
                            } else {
                                for (int64_t ow = lo; ow < hi; ++ow) row[size_t(ow)] += (int32_t(src[ow * strides[1] + off]) - zx) * wv;
                            }
                        }
                    }
                    const int64_t dst = (n * M + m) * O + oh * OW;
                    requantSpan<false>(*rq, row.data(), OW, m, yb ? yb + dst : nullptr, yf ? yf + dst : nullptr);
                }
            }
        });
        ctx.outputs[0] = std::move(*out);
        return {};
    }
    // Both buffers are written in full before they are read: no zero-filling.
    std::unique_ptr<uint8_t[]> colStore(new uint8_t[size_t(K * cols)]);  // unused when `direct`
    std::unique_ptr<int32_t[]> accStore(new int32_t[size_t(Mg * cols)]);
    uint8_t* colData = colStore.get();
    int32_t* accData = accStore.get();
    const uint8_t* x = X.rawData();
    uint8_t* y = out->mutableRawData();
    // A 1x1 convolution of one image with stride 1 and no padding reads the input as it is.
    const bool direct = N == 1 && kh == 1 && kw == 1 && strides[0] == 1 && strides[1] == 1 && pads[0] == 0 && pads[1] == 0 &&
                        pads[2] == 0 && pads[3] == 0;
    for (int64_t gi = 0; gi < group; ++gi) {
        // im2col: row (c, i, j) of the patch, columns (image, oh, ow); stride-1 rows are copies.
        if (!direct) {
        parallelFor(ctx.pool, K * N, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, O)), [&](int64_t b, int64_t e) {
            for (int64_t kn = b; kn < e; ++kn) {
                const int64_t k = kn / N, n = kn % N;
                const int64_t c = k / (kh * kw), i = (k / kw) % kh, j = k % kw;
                const uint8_t* plane = x + (n * C + gi * Cg + c) * H * Wd;
                uint8_t* dst = colData + k * cols + n * O;
                for (int64_t oh = 0; oh < OH; ++oh) {
                    const int64_t ih = oh * strides[0] - pads[0] + i * dil[0];
                    uint8_t* d = dst + oh * OW;
                    if (ih < 0 || ih >= H) {
                        for (int64_t ow = 0; ow < OW; ++ow) d[ow] = pad;
                        continue;
                    }
                    const uint8_t* src = plane + ih * Wd;
                    const int64_t off = j * dil[1] - pads[1];
                    if (strides[1] == 1) {
                        // Columns ow with 0 <= ow + off < Wd are a straight copy.
                        // Rows are short (tens of bytes): plain loops beat three library calls.
                        const int64_t lo = std::clamp<int64_t>(-off, 0, OW), hi = std::clamp<int64_t>(Wd - off, lo, OW);
                        for (int64_t ow = 0; ow < lo; ++ow) d[ow] = pad;
                        const uint8_t* s0 = src + off;
                        for (int64_t ow = lo; ow < hi; ++ow) d[ow] = s0[ow];
                        for (int64_t ow = hi; ow < OW; ++ow) d[ow] = pad;
                    } else {
                        for (int64_t ow = 0; ow < OW; ++ow) {
                            const int64_t iw = ow * strides[1] + off;
                            d[ow] = iw < 0 || iw >= Wd ? pad : src[iw];
                        }
                    }
                }
            }
        });
        }
        Int8GemmArgs g;
        g.M = Mg;
        g.N = cols;
        g.K = K;
        g.B = direct ? x + gi * Cg * O : colData;
        g.ldb = cols;
        g.bSigned = X.dtype() == DType::I8;
        g.bZero = xz->data();
        g.C = accData;
        g.ldc = cols;
        const int64_t mBase = gi * Mg;
        float* yf = rq->out == DType::F32 ? out->mutableData<float>() : nullptr;
        const size_t es = rq->out == DType::F32 ? 4 : 1;
        BY_TRY(int8GemmPackedA(g, packed->convGroups[size_t(gi)],
                               [&](int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
                                   // Rows are channels; a column span splits where it crosses images.
                                   for (int64_t i = 0; i < nr; ++i) {
                                       const int64_t m = mBase + r0 + i;
                                       for (int64_t cc = c0; cc < c0 + nc;) {
                                           const int64_t n = cc / O, o = cc % O, len = std::min(c0 + nc - cc, O - o);
                                           const int64_t dst = (n * M + m) * O + o;
                                           requantSpan<false>(*rq, accData + (r0 + i) * cols + cc, len, m,
                                                              es == 1 ? y + dst : nullptr, yf ? yf + dst : nullptr);
                                           cc += len;
                                       }
                                   }
                               },
                               ctx.pool));
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

// com.microsoft QGemm (the form ONNX Runtime's quantizer writes for Gemm): inputs A, a_scale,
// a_zero_point, B, b_scale, b_zero_point, C (int32 bias, scale a_scale * b_scale), y_scale,
// y_zero_point; without y_scale the output is float.
std::shared_ptr<const void> prepareQGemm(const KernelContext& ctx) {
    const Tensor* B = ctx.has(3) ? &ctx.in(3) : nullptr;
    if (!isByteTensor(B) || B->rank() != 2) return nullptr;
    if (ctx.node.inputs.size() > 5 && ctx.node.inputs[5] >= 0 && !ctx.has(5)) return nullptr;
    const bool transB = ctx.node.attrInt("transB", 0) != 0;
    const int64_t N = transB ? B->shape()[0] : B->shape()[1], K = transB ? B->shape()[1] : B->shape()[0];
    auto zero = zeroVector(ctx.has(5) ? &ctx.in(5) : nullptr, N, "b zero point");
    if (!zero) return nullptr;
    auto p = std::make_shared<PackedLayer>();
    p->groups.push_back(packWeight(*B, transB, 0, N, K, N, *zero));
    return p;
}

Status qgemm(KernelContext& ctx) {
    const Tensor& A = ctx.in(0);
    const Tensor& B = ctx.in(3);
    if (!isByteTensor(&A) || !isByteTensor(&B) || A.rank() != 2 || B.rank() != 2)
        return unsupported("QGemm needs 2-D uint8/int8 A and B");
    if (ctx.node.attrInt("transA", 0) != 0) return unsupported("QGemm with transA=1 is not supported");
    if (ctx.node.attrFloat("alpha", 1.0) != 1.0) return unsupported("QGemm with alpha other than 1 is not supported");
    const bool transB = ctx.node.attrInt("transB", 0) != 0;
    const int64_t M = A.shape()[0], K = A.shape()[1];
    const int64_t N = transB ? B.shape()[0] : B.shape()[1];
    if ((transB ? B.shape()[1] : B.shape()[0]) != K)
        return invalid("QGemm A " + shapeToString(A.shape()) + " and B " + shapeToString(B.shape()) + " do not multiply");
    const Tensor* bias = ctx.has(6) ? &ctx.in(6) : nullptr;
    if (bias && bias->numel() != N && bias->numel() != 1)
        return unsupported("QGemm bias C must have 1 or N = " + std::to_string(N) + " values");
    auto rq = makeRequant(ctx.in(1), ctx.in(4), ctx.has(7) ? &ctx.in(7) : nullptr, ctx.has(8) ? &ctx.in(8) : nullptr, bias, N, "QGemm");
    if (!rq) return rq.error();
    auto az = zeroVector(ctx.has(2) ? &ctx.in(2) : nullptr, 1, "a zero point");
    if (!az) return az.error();
    PackedInt8Matrix local;
    const PackedInt8Matrix* pb = nullptr;
    if (ctx.prepared) {
        pb = &static_cast<const PackedLayer*>(ctx.prepared)->groups[0];
    } else {
        auto zb = zeroVector(ctx.has(5) ? &ctx.in(5) : nullptr, N, "b zero point");
        if (!zb) return zb.error();
        local = packWeight(B, transB, 0, N, K, N, *zb);
        pb = &local;
    }
    auto out = allocateUninit(rq->out, {M, N});
    if (!out) return out.error();
    std::vector<int32_t> acc(size_t(M * N));
    Int8GemmArgs g;
    g.M = M;
    g.N = N;
    g.K = K;
    g.A = A.rawData();
    g.lda = K;
    g.aSigned = A.dtype() == DType::I8;
    g.aZero = az->data();
    g.C = acc.data();
    g.ldc = N;
    uint8_t* y = out->mutableRawData();
    float* yf = rq->out == DType::F32 ? out->mutableData<float>() : nullptr;
    BY_TRY(int8GemmPacked(g, *pb,
                          [&](int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
                              writeRows(*rq, acc.data(), N, r0, nr, c0, nc, yf ? nullptr : y, yf);
                          },
                          ctx.pool));
    ctx.outputs[0] = std::move(*out);
    return {};
}

// QLinearMatMul with a constant 2-D B: packed once; A's leading dimensions are rows.
std::shared_ptr<const void> prepareQLinearMatMul(const KernelContext& ctx) {
    const Tensor* B = ctx.has(3) ? &ctx.in(3) : nullptr;
    if (!isByteTensor(B) || B->rank() != 2) return nullptr;
    if (ctx.node.inputs.size() > 5 && ctx.node.inputs[5] >= 0 && !ctx.has(5)) return nullptr;
    const int64_t K = B->shape()[0], N = B->shape()[1];
    auto zero = zeroVector(ctx.has(5) ? &ctx.in(5) : nullptr, N, "b zero point");
    if (!zero) return nullptr;
    auto p = std::make_shared<PackedLayer>();
    p->groups.push_back(packWeight(*B, false, 0, N, K, N, *zero));
    return p;
}

// QuantizeLinear of f32 with one scale and zero point (how a quantized model takes its input):
// AVX2, in parallel. The same bytes as ops_elementwise.cpp's kernel, which handles everything
// else: the quotient in f32, rounded to nearest even, the clamp as saturating packs.
OpKernel g_genericQuantizeLinear;

__attribute__((target("avx2"))) void quantizeSpanAvx2(const float* x, int64_t n, float scale, int32_t zero, bool u8, uint8_t* y) {
    const __m256 s = _mm256_set1_ps(scale), big = _mm256_set1_ps(1073741824.f), small = _mm256_set1_ps(-1073741824.f);
    const __m256i z = _mm256_set1_epi32(zero);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        v = _mm256_max_ps(_mm256_min_ps(v, big), small);
        const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), z);
        const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), u8 ? _mm_packus_epi16(q16, q16) : _mm_packs_epi16(q16, q16));
    }
    const float lo = u8 ? 0.f : -128.f, hi = u8 ? 255.f : 127.f;
    for (; i < n; ++i) {
        const float v = std::clamp(std::nearbyint(x[i] / scale) + float(zero), lo, hi);
        y[i] = u8 ? uint8_t(v) : uint8_t(int8_t(v));
    }
}

Status quantizeLinearFast(KernelContext& ctx) {
    static const bool avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }();
    const Tensor& X = ctx.in(0);
    const Tensor& S = ctx.in(1);
    const Tensor* Z = ctx.has(2) ? &ctx.in(2) : nullptr;
    if (!avx2 || X.dtype() != DType::F32 || S.dtype() != DType::F32 || S.numel() != 1 || (Z && (!isByteTensor(Z) || Z->numel() != 1)))
        return g_genericQuantizeLinear.run(ctx);
    const float scale = S.data<float>()[0];
    const bool u8 = !Z || Z->dtype() == DType::U8;
    const int32_t zero = Z ? (u8 ? int32_t(Z->rawData()[0]) : int32_t(int8_t(Z->rawData()[0]))) : 0;
    auto out = allocateUninit(u8 ? DType::U8 : DType::I8, X.shape());
    if (!out) return out.error();
    const float* x = X.data<float>();
    uint8_t* y = out->mutableRawData();
    parallelFor(ctx.pool, (X.numel() + 4095) / 4096, 4, [&](int64_t b, int64_t e) {
        const int64_t i0 = b * 4096, i1 = std::min(X.numel(), e * 4096);
        quantizeSpanAvx2(x + i0, i1 - i0, scale, zero, u8, y + i0);
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

// DequantizeLinear of bytes with one scale and zero point (a quantized layer's output read by an
// f32 op): (q - zero) * scale in f32, which equals ops_elementwise.cpp's double product rounded to
// f32 since the exact product of a 9-bit integer and an f32 fits a double.
OpKernel g_genericDequantizeLinear;

__attribute__((target("avx2"))) void dequantizeSpanAvx2(const uint8_t* x, int64_t n, bool sgn, int32_t zero, float scale, float* y) {
    const __m256i z = _mm256_set1_epi32(zero);
    const __m256 s = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i));
        const __m256i v = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
    }
    for (; i < n; ++i) y[i] = float((sgn ? int32_t(int8_t(x[i])) : int32_t(x[i])) - zero) * scale;
}

Status dequantizeLinearFast(KernelContext& ctx) {
    static const bool avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }();
    const Tensor& X = ctx.in(0);
    const Tensor& S = ctx.in(1);
    const Tensor* Z = ctx.has(2) ? &ctx.in(2) : nullptr;
    if (!avx2 || !isByteTensor(&X) || S.dtype() != DType::F32 || S.numel() != 1 || (Z && (Z->dtype() != X.dtype() || Z->numel() != 1)))
        return g_genericDequantizeLinear.run(ctx);
    const bool sgn = X.dtype() == DType::I8;
    const int32_t zero = Z ? (sgn ? int32_t(int8_t(Z->rawData()[0])) : int32_t(Z->rawData()[0])) : 0;
    const float scale = S.data<float>()[0];
    auto out = allocateUninit(DType::F32, X.shape());
    if (!out) return out.error();
    const uint8_t* x = X.rawData();
    float* y = out->mutableData<float>();
    parallelFor(ctx.pool, (X.numel() + 4095) / 4096, 4, [&](int64_t b, int64_t e) {
        const int64_t i0 = b * 4096, i1 = std::min(X.numel(), e * 4096);
        dequantizeSpanAvx2(x + i0, i1 - i0, sgn, zero, scale, y + i0);
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

// Byte MaxPool (ONNX allows uint8/int8 since opset 12): quantized activations pool without
// leaving int8, as max commutes with a monotonic dequantization. f32 goes to ops_nn.cpp's kernel.
Status maxPool(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    if (!isByteTensor(&X)) return g_f32MaxPool.run(ctx);
    if (X.rank() != 4) return unsupported("MaxPool on bytes supports 2-D pooling only");
    if (ctx.wantsOutput(1)) return unsupported("MaxPool on bytes does not produce indices");
    const std::string autoPad = ctx.node.attrString("auto_pad", "NOTSET");
    if (autoPad != "NOTSET" && !autoPad.empty() && autoPad != "VALID") return unsupported("MaxPool on bytes needs explicit pads");
    auto ints = [&](const char* key, std::vector<int64_t> def) {
        auto v = ctx.node.attrInts(key);
        return v.empty() ? def : v;
    };
    const auto k = ctx.node.attrInts("kernel_shape");
    const auto st = ints("strides", {1, 1}), dil = ints("dilations", {1, 1}), pads = ints("pads", {0, 0, 0, 0});
    if (k.size() != 2 || st.size() != 2 || dil.size() != 2 || pads.size() != 4) return invalid("MaxPool needs 2-D kernel_shape, strides and pads");
    const bool ceil = ctx.node.attrInt("ceil_mode", 0) != 0;
    const int64_t N = X.shape()[0], C = X.shape()[1], H = X.shape()[2], W = X.shape()[3];
    auto outSize = [&](int64_t in, int64_t kk, int64_t s, int64_t d, int64_t p0, int64_t p1) {
        const int64_t span = in + p0 + p1 - (d * (kk - 1) + 1);
        return (ceil ? (span + s - 1) / s : span / s) + 1;
    };
    const int64_t OH = outSize(H, k[0], st[0], dil[0], pads[0], pads[2]), OW = outSize(W, k[1], st[1], dil[1], pads[1], pads[3]);
    auto out = allocateUninit(X.dtype(), {N, C, OH, OW});
    if (!out) return out.error();
    const bool sgn = X.dtype() == DType::I8;
    const uint8_t* x = X.rawData();
    uint8_t* y = out->mutableRawData();
    const bool twoByTwo = !sgn && k[0] == 2 && k[1] == 2 && st[0] == 2 && st[1] == 2 && dil[0] == 1 && dil[1] == 1 &&
                          pads[0] == 0 && pads[1] == 0 && 2 * OH <= H && 2 * OW <= W;
    parallelFor(ctx.pool, N * C, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, OH * OW)), [&](int64_t b, int64_t e) {
        for (int64_t nc = b; nc < e; ++nc) {
            const uint8_t* p = x + nc * H * W;
            uint8_t* q = y + nc * OH * OW;
            if (twoByTwo) {
                // The common 2x2 / stride 2 window with every input inside: no bounds checks.
                for (int64_t oh = 0; oh < OH; ++oh) {
                    const uint8_t* r0 = p + 2 * oh * W;
                    const uint8_t* r1 = r0 + W;
                    uint8_t* d = q + oh * OW;
                    for (int64_t ow = 0; ow < OW; ++ow)
                        d[ow] = std::max(std::max(r0[2 * ow], r0[2 * ow + 1]), std::max(r1[2 * ow], r1[2 * ow + 1]));
                }
                continue;
            }
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    int best = sgn ? -129 : -1;
                    for (int64_t i = 0; i < k[0]; ++i) {
                        const int64_t ih = oh * st[0] - pads[0] + i * dil[0];
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t j = 0; j < k[1]; ++j) {
                            const int64_t iw = ow * st[1] - pads[1] + j * dil[1];
                            if (iw < 0 || iw >= W) continue;
                            const int v = sgn ? int(int8_t(p[ih * W + iw])) : int(p[ih * W + iw]);
                            best = std::max(best, v);
                        }
                    }
                    q[oh * OW + ow] = uint8_t(best);
                }
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status matmulInteger(KernelContext& ctx) {
    const Tensor& A = ctx.in(0);
    const Tensor& B = ctx.in(1);
    if (!isByteType(A.dtype()) || !isByteType(B.dtype()))
        return unsupported(std::string("MatMulInteger of ") + dtypeName(A.dtype()) + " and " + dtypeName(B.dtype()) +
                           " is not supported (uint8/int8 only)");
    const int64_t M = A.rank() >= 2 ? A.shape()[size_t(A.rank() - 2)] : 1;
    const int64_t N = B.rank() >= 2 ? B.shape().back() : 1;
    auto za = zeroPoints(ctx, 2, A.dtype(), M, "A");
    if (!za) return za.error();
    auto zb = zeroPoints(ctx, 3, B.dtype(), N, "B");
    if (!zb) return zb.error();
    auto y = integerProduct(ctx, A, B, *za, *zb);
    if (!y) return y.error();
    ctx.outputs[0] = std::move(*y);
    return {};
}

Status qlinearMatmul(KernelContext& ctx) {
    const Tensor& A = ctx.in(0);
    const Tensor& B = ctx.in(3);
    if (!isByteType(A.dtype()) || !isByteType(B.dtype()))
        return unsupported(std::string("QLinearMatMul of ") + dtypeName(A.dtype()) + " and " + dtypeName(B.dtype()) +
                           " is not supported (uint8/int8 only)");
    if (ctx.prepared && A.rank() >= 1 && B.rank() == 2 && A.shape().back() == B.shape()[0] && ctx.in(1).numel() == 1) {
        // Constant B, packed at plan time: every leading dimension of A is a row.
        const int64_t K = B.shape()[0], N = B.shape()[1], rows = A.numel() / std::max<int64_t>(1, K);
        auto rq = makeRequant(ctx.in(1), ctx.in(4), &ctx.in(6), ctx.has(7) ? &ctx.in(7) : nullptr, nullptr, N, "QLinearMatMul");
        if (!rq) return rq.error();
        auto az = zeroVector(ctx.has(2) ? &ctx.in(2) : nullptr, 1, "a zero point");
        if (!az) return az.error();
        Shape outShape = A.shape();
        outShape.back() = N;
        auto out = allocateUninit(rq->out, outShape);
        if (!out) return out.error();
        std::vector<int32_t> acc(size_t(rows * N));
        Int8GemmArgs g;
        g.M = rows;
        g.N = N;
        g.K = K;
        g.A = A.rawData();
        g.lda = K;
        g.aSigned = A.dtype() == DType::I8;
        g.aZero = az->data();
        g.C = acc.data();
        g.ldc = N;
        uint8_t* y = out->mutableRawData();
        BY_TRY(int8GemmPacked(g, static_cast<const PackedLayer*>(ctx.prepared)->groups[0],
                              [&](int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
                                  writeRows(*rq, acc.data(), N, r0, nr, c0, nc, y, nullptr);
                              },
                              ctx.pool));
        ctx.outputs[0] = std::move(*out);
        return {};
    }
    const int64_t M = A.rank() >= 2 ? A.shape()[size_t(A.rank() - 2)] : 1;
    const int64_t N = B.rank() >= 2 ? B.shape().back() : 1;
    auto sa = ctx.in(1).toFloats();
    auto sb = ctx.in(4).toFloats();
    auto sy = ctx.in(6).toFloats();
    if (!sa) return sa.error();
    if (!sb) return sb.error();
    if (!sy) return sy.error();
    if (sa->size() != 1 && int64_t(sa->size()) != M) return unsupported("a_scale must be a scalar or one value per row");
    if (sb->size() != 1 && int64_t(sb->size()) != N) return unsupported("b_scale must be a scalar or one value per column");
    if (sy->size() != 1) return unsupported("y_scale must be a scalar");
    auto za = zeroPoints(ctx, 2, A.dtype(), M, "a");
    if (!za) return za.error();
    auto zb = zeroPoints(ctx, 5, B.dtype(), N, "b");
    if (!zb) return zb.error();
    const DType outType = ctx.has(7) ? ctx.in(7).dtype() : DType::U8;
    if (!isByteType(outType)) return unsupported(std::string("QLinearMatMul output ") + dtypeName(outType) + " is not supported");
    auto zy = zeroPoints(ctx, 7, outType, 1, "y");
    if (!zy) return zy.error();
    auto acc = integerProduct(ctx, A, B, *za, *zb);
    if (!acc) return acc.error();
    auto out = allocate(outType, acc->shape());
    if (!out) return out.error();
    const int32_t* c = acc->data<int32_t>();
    uint8_t* y = out->mutableRawData();
    const float lo = outType == DType::U8 ? 0.f : -128.f, hi = outType == DType::U8 ? 255.f : 127.f;
    const int64_t total = acc->numel();
    const float ys = (*sy)[0];
    const float yz = float((*zy)[0]);
    for (int64_t i = 0; i < total; ++i) {
        const int64_t n = i % N, m = (i / N) % M;
        // Scale products in f32, rounding half to even, as the ONNX reference does.
        const float s = (*sa)[sa->size() == 1 ? 0 : size_t(m)] * (*sb)[sb->size() == 1 ? 0 : size_t(n)] / ys;
        const float v = std::clamp(std::nearbyint(float(c[i]) * s) + yz, lo, hi);
        y[i] = outType == DType::U8 ? uint8_t(v) : uint8_t(int8_t(v));
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status dynamicQuantizeLinear(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    const float* x = X.data<float>();
    const int64_t n = X.numel();
    float mn = 0.f, mx = 0.f;  // the range always includes zero
    for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(x[i])) return invalid("DynamicQuantizeLinear input contains NaN at element " + std::to_string(i));
        mn = std::min(mn, x[i]);
        mx = std::max(mx, x[i]);
    }
    const float scale = (mx - mn) / 255.f;
    const float zpf = scale > 0 ? std::nearbyint(std::clamp(0.f - mn / scale, 0.f, 255.f)) : 0.f;
    auto y = allocate(DType::U8, X.shape());
    if (!y) return y.error();
    uint8_t* py = y->mutableData<uint8_t>();
    for (int64_t i = 0; i < n; ++i)
        py[i] = scale > 0 ? uint8_t(std::clamp(std::nearbyint(x[i] / scale) + zpf, 0.f, 255.f)) : uint8_t(zpf);
    ctx.outputs[0] = std::move(*y);
    if (ctx.wantsOutput(1)) ctx.outputs[1] = Tensor::fromFloats({}, {scale});
    if (ctx.wantsOutput(2)) {
        auto z = allocate(DType::U8, {});
        if (!z) return z.error();
        z->mutableData<uint8_t>()[0] = uint8_t(zpf);
        ctx.outputs[2] = std::move(*z);
    }
    return {};
}

// ---- MatMulNBits ---------------------------------------------------------------------------------

// The weights as the node holds them, read in place: nothing is copied per call unless the
// scales or zero points are not f32 (f16 models), in which case they are converted once per call.
struct NBits {
    int64_t K = 0, N = 0, bits = 4, block = 32, blocks = 0, blobBytes = 0;
    const uint8_t* q = nullptr;
    const float* scales = nullptr;  // N * blocks
    std::vector<float> scaleStore;  // backing for `scales` when they are not f32
    // Zero points: the format's default (2^(bits-1)) when neither pointer is set; else packed
    // `bits`-bit values (zeroRowBytes per row of B) or one float per block.
    float defaultZero = 8.f;
    const uint8_t* zeroPacked = nullptr;
    int64_t zeroRowBytes = 0;
    const float* zeroFloat = nullptr;
    std::vector<float> zeroStore;
    const float* bias = nullptr;
    // accuracy_level 4 allows int8 activations (com.microsoft semantics): the int8 path below.
    int64_t accuracyLevel = 0;

    float zero(int64_t n, int64_t blk) const {
        if (zeroPacked) {
            const int64_t bit = blk * bits;
            return float((zeroPacked[n * zeroRowBytes + (bit >> 3)] >> (bit & 7)) & ((1 << bits) - 1));
        }
        return zeroFloat ? zeroFloat[n * blocks + blk] : defaultZero;
    }
};

// Element j of a packed block: lowest bits first within each byte.
inline int unpack(const uint8_t* blob, int64_t j, int64_t bits) {
    const int64_t bit = j * bits;
    return (blob[bit >> 3] >> (bit & 7)) & ((1 << bits) - 1);
}

// One activation row prepared for the GEMV kernels: zero-padded to whole blocks, with the sum of
// each block (the zero points enter as z * blockSum), and for 4-bit weights each group of 32
// reordered as [16 even k | 16 odd k] so the low and high nibbles of 16 packed bytes meet their
// activations without shuffling the weights.
struct ActRow {
    std::vector<float> x, blockSum;
};

ActRow prepareRow(const NBits& w, const float* a, bool nibbleOrder) {
    ActRow r;
    const int64_t Kp = w.blocks * w.block;
    r.x.assign(size_t(Kp), 0.f);
    r.blockSum.assign(size_t(w.blocks), 0.f);
    for (int64_t blk = 0; blk < w.blocks; ++blk) {
        const int64_t k0 = blk * w.block, k1 = std::min(w.K, k0 + w.block);
        float s = 0.f;
        for (int64_t k = k0; k < k1; ++k) s += a[k];
        r.blockSum[size_t(blk)] = s;
    }
    if (!nibbleOrder) {
        std::copy(a, a + w.K, r.x.begin());
        return r;
    }
    for (int64_t k = 0; k < w.K; ++k) {
        const int64_t g = k / 32, j = k % 32;
        r.x[size_t(g * 32 + (j % 2) * 16 + j / 2)] = a[k];
    }
    return r;
}

float hsum256(__m256 v) __attribute__((target("avx2")));
float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// The vector kernels below take kRows outputs at once (independent accumulator chains, one load
// of the activations for all of them). Each block's partial dot starts from the zero-point part,
// -zero * blockSum, spread evenly over the lanes, so no separate pass over the blocks is needed.
constexpr int kRows = 4;

// 4-bit (block a multiple of 32) or 8-bit (a multiple of 16), AVX-512. 4-bit: 16 packed bytes
// widen to 16 dwords; the low nibbles meet the even activations and the high nibbles the odd ones
// (see prepareRow).
template <int BITS, int R>
__attribute__((target("avx512f"))) void dotsAvx512(const NBits& w, const ActRow& r, int64_t n0, float* y) {
    const __m512i mask = _mm512_set1_epi32(0x0F);
    const int64_t rowBytes = w.blocks * w.blobBytes;
    __m512 acc[R];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t blk = 0; blk < w.blocks; ++blk) {
        const float* x = r.x.data() + blk * w.block;
        const uint8_t* q = w.q + n0 * rowBytes + blk * w.blobBytes;
        const float share = -r.blockSum[size_t(blk)] / 16.f;
        __m512 t[R];
#pragma GCC unroll 4
        for (int i = 0; i < R; ++i) t[i] = _mm512_set1_ps(w.zero(n0 + i, blk) * share);
        if constexpr (BITS == 4) {
            for (int64_t j = 0; j < w.block; j += 32) {
                const __m512 xe = _mm512_loadu_ps(x + j), xo = _mm512_loadu_ps(x + j + 16);
#pragma GCC unroll 4
                for (int i = 0; i < R; ++i) {
                    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i * rowBytes + j / 2)));
                    t[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(v, mask)), xe, t[i]);
                    t[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4)), xo, t[i]);
                }
            }
        } else {
            for (int64_t j = 0; j < w.block; j += 16) {
                const __m512 xv = _mm512_loadu_ps(x + j);
#pragma GCC unroll 4
                for (int i = 0; i < R; ++i) {
                    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i * rowBytes + j)));
                    t[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), xv, t[i]);
                }
            }
        }
#pragma GCC unroll 4
        for (int i = 0; i < R; ++i) acc[i] = _mm512_fmadd_ps(t[i], _mm512_set1_ps(w.scales[(n0 + i) * w.blocks + blk]), acc[i]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) y[i] = _mm512_reduce_add_ps(acc[i]);
}

// 4-bit with 256-bit vectors (8 packed bytes at a time).
template <int R>
__attribute__((target("avx2,fma"))) void dots4Avx2(const NBits& w, const ActRow& r, int64_t n0, float* y) {
    const __m256i mask = _mm256_set1_epi32(0x0F);
    const int64_t rowBytes = w.blocks * w.blobBytes;
    __m256 acc[R];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t blk = 0; blk < w.blocks; ++blk) {
        const float* x = r.x.data() + blk * w.block;
        const uint8_t* q = w.q + n0 * rowBytes + blk * w.blobBytes;
        const float share = -r.blockSum[size_t(blk)] / 8.f;
        __m256 t[R];
#pragma GCC unroll 4
        for (int i = 0; i < R; ++i) t[i] = _mm256_set1_ps(w.zero(n0 + i, blk) * share);
        for (int64_t j = 0; j < w.block; j += 32)
            for (int h = 0; h < 2; ++h) {
                const __m256 xe = _mm256_loadu_ps(x + j + h * 8), xo = _mm256_loadu_ps(x + j + 16 + h * 8);
#pragma GCC unroll 4
                for (int i = 0; i < R; ++i) {
                    const __m256i v =
                        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i * rowBytes + j / 2 + h * 8)));
                    t[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, mask)), xe, t[i]);
                    t[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4)), xo, t[i]);
                }
            }
#pragma GCC unroll 4
        for (int i = 0; i < R; ++i) acc[i] = _mm256_fmadd_ps(t[i], _mm256_set1_ps(w.scales[(n0 + i) * w.blocks + blk]), acc[i]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) y[i] = hsum256(acc[i]);
}

// ---- int8 activations (accuracy_level 4) ----
//
// The activation row is quantized symmetrically to int8 per group of 32 (scale = max |x| / 127),
// so 4-bit weights and activations meet in vpdpbusd (u8 nibbles x s8) and only one float multiply
// per group remains. The result differs from the f32 path by at most
// sum over groups of (scale / 2) * sum |w| (rounding of each activation), which is what the
// caller accepted by asking for accuracy level 4.
struct QuantRow {
    int64_t chunks = 0;             // of 64 activations: two groups of 32
    bool lastHalf = false;          // the last chunk holds one group only
    std::vector<int8_t> xq;         // chunks * 64, as [g0 even | g1 even | g0 odd | g1 odd]
    std::vector<float> scale;       // chunks * 2, per group (0 for the padding group)
    std::vector<int32_t> groupSum;  // chunks * 16: lane 0 = sum(xq of g0), lane 4 = sum(g1), else 0
    std::vector<int32_t> block;     // chunks * 2: weight block of each group
};

QuantRow quantizeRow(const NBits& w, const float* a) {
    QuantRow r;
    const int64_t groups = w.blocks * w.block / 32;
    r.chunks = (groups + 1) / 2;
    r.lastHalf = groups % 2 == 1;
    r.xq.assign(size_t(r.chunks * 64), 0);
    r.scale.assign(size_t(r.chunks * 2), 0.f);
    r.groupSum.assign(size_t(r.chunks * 16), 0);
    r.block.assign(size_t(r.chunks * 2), int32_t(w.blocks - 1));
    for (int64_t g = 0; g < groups; ++g) {
        const int64_t k0 = g * 32, k1 = std::min(w.K, k0 + 32);
        float mx = 0.f;
        for (int64_t k = k0; k < k1; ++k) mx = std::max(mx, std::abs(a[k]));
        const float d = mx / 127.f, inv = mx > 0.f ? 127.f / mx : 0.f;
        const int64_t c = g / 2, half = g % 2;
        int32_t sum = 0;
        for (int64_t k = k0; k < k1; ++k) {
            const int j = int(k - k0);
            const int v = int(std::clamp(std::nearbyint(a[k] * inv), -127.f, 127.f));
            r.xq[size_t(c * 64 + (j % 2) * 32 + half * 16 + j / 2)] = int8_t(v);
            sum += v;
        }
        r.scale[size_t(g)] = d;
        r.groupSum[size_t(c * 16 + half * 4)] = sum;
        r.block[size_t(g)] = int32_t(g * 32 / w.block);
    }
    return r;
}

// Integer zero point of (row n, block blk) from the packed zero points.
inline int32_t packedZero(const NBits& w, int64_t n, int64_t blk) {
    const int64_t bit = blk * w.bits;
    return (w.zeroPacked[n * w.zeroRowBytes + (bit >> 3)] >> (bit & 7)) & ((1 << w.bits) - 1);
}

// One chunk of 64 activations for R outputs of 4-bit weights. 32 packed bytes split into low and
// high nibbles give 64 u8 weights in the activation order of QuantRow; lanes 0-3 / 8-11 hold
// group 0's partial dots and 4-7 / 12-15 group 1's. The zero point enters as z * sum(xq), put in
// lane 0 of each group; the scales as one float vector per chunk.
template <int R, bool PackedZeros, bool Pair>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) inline void q8Chunk(
    const NBits& w, const QuantRow& r, int64_t n0, int64_t c, int64_t rowBytes, __m512* acc) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const int64_t blkA = r.block[size_t(2 * c)], blkB = r.block[size_t(2 * c + 1)];
    const __m512i xv = _mm512_loadu_si512(r.xq.data() + c * 64);
    const __m512 da = _mm512_mask_blend_ps(0xF0F0, _mm512_set1_ps(r.scale[size_t(2 * c)]), _mm512_set1_ps(r.scale[size_t(2 * c + 1)]));
    const __m512i sums = _mm512_loadu_si512(r.groupSum.data() + c * 16);
    const __m512i zeroTerm = _mm512_mullo_epi32(_mm512_set1_epi32(int32_t(w.defaultZero)), sums);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
        const int64_t n = n0 + i;
        const uint8_t* q = w.q + n * rowBytes + c * 32;
        // A chunk with one group has only 16 bytes to read.
        const __m256i b = Pair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q))
                               : _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
        const __m256i lo = _mm256_and_si256(b, mask), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), mask);
        __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), xv);
        if constexpr (PackedZeros) {
            const __m512i z = _mm512_mask_blend_epi32(0xF0F0, _mm512_set1_epi32(packedZero(w, n, blkA)), _mm512_set1_epi32(packedZero(w, n, blkB)));
            d = _mm512_sub_epi32(d, _mm512_mullo_epi32(z, sums));
        } else {
            d = _mm512_sub_epi32(d, zeroTerm);
        }
        const float* sc = w.scales + n * w.blocks;
        const __m512 s = _mm512_mul_ps(_mm512_mask_blend_ps(0xF0F0, _mm512_set1_ps(sc[blkA]), _mm512_set1_ps(sc[blkB])), da);
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), s, acc[i]);
    }
}

// R outputs of 4-bit weights (block a multiple of 32) against a QuantRow.
template <int R, bool PackedZeros>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void dotsQ8Vnni(const NBits& w, const QuantRow& r,
                                                                                 int64_t n0, float* y) {
    const int64_t rowBytes = w.blocks * w.blobBytes;
    const int64_t full = r.lastHalf ? r.chunks - 1 : r.chunks;
    __m512 acc[R];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < full; ++c) q8Chunk<R, PackedZeros, true>(w, r, n0, c, rowBytes, acc);
    if (r.lastHalf) q8Chunk<R, PackedZeros, false>(w, r, n0, full, rowBytes, acc);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) y[i] = _mm512_reduce_add_ps(acc[i]);
}

bool hasVnni() {
    static const bool v = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    }();
    return v;
}

float dotPortable(const NBits& w, const ActRow& r, int64_t n) {
    const float* sc = w.scales + n * w.blocks;
    float acc = 0.f;
    for (int64_t blk = 0; blk < w.blocks; ++blk) {
        const uint8_t* b = w.q + (n * w.blocks + blk) * w.blobBytes;
        const float* x = r.x.data() + blk * w.block;
        float d = 0.f;
        for (int64_t j = 0; j < w.block; ++j) d += x[j] * float(unpack(b, j, w.bits));
        acc += sc[blk] * (d - w.zero(n, blk) * r.blockSum[size_t(blk)]);
    }
    return acc;
}

enum class NBitsPath { Portable, Avx2, Avx512 };

NBitsPath bestNBitsPath() {
    static const NBitsPath p = [] {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) return NBitsPath::Avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return NBitsPath::Avx2;
        return NBitsPath::Portable;
    }();
    return p;
}

// -1 = the best path; else a forced NBitsPath (tests, benchmarks).
std::atomic<int> g_forcedNBitsPath{-1};

NBitsPath nbitsPath() {
    const int f = g_forcedNBitsPath.load(std::memory_order_relaxed);
    return f < 0 ? bestNBitsPath() : NBitsPath(f);
}

const char* nbitsPathName(NBitsPath p) {
    switch (p) {
    case NBitsPath::Avx512: return "avx512";
    case NBitsPath::Avx2: return "avx2";
    default: return "portable";
    }
}

Result<NBits> readNBits(const KernelContext& ctx) {
    NBits w;
    w.K = ctx.node.attrInt("K", 0);
    w.N = ctx.node.attrInt("N", 0);
    w.bits = ctx.node.attrInt("bits", 4);
    w.block = ctx.node.attrInt("block_size", 0);
    w.accuracyLevel = ctx.node.attrInt("accuracy_level", 0);
    if (w.K <= 0 || w.N <= 0) return invalid("MatMulNBits needs positive K and N attributes");
    if (w.bits != 2 && w.bits != 4 && w.bits != 8)
        return unsupported("MatMulNBits with " + std::to_string(w.bits) + "-bit weights is not supported (2, 4 or 8)");
    if (w.block < 16 || (w.block & (w.block - 1)))
        return invalid("MatMulNBits block_size " + std::to_string(w.block) + " must be a power of two >= 16");
    w.blocks = (w.K + w.block - 1) / w.block;
    w.blobBytes = w.block * w.bits / 8;
    const Tensor& B = ctx.in(1);
    if (B.dtype() != DType::U8 || B.numel() != w.N * w.blocks * w.blobBytes)
        return invalid("MatMulNBits B must be uint8 [" + std::to_string(w.N) + "," + std::to_string(w.blocks) + "," +
                       std::to_string(w.blobBytes) + "], got " + dtypeName(B.dtype()) + " " + shapeToString(B.shape()));
    if (ctx.has(4) && ctx.in(4).numel() > 0) return unsupported("MatMulNBits with g_idx (act-order) is not supported");
    w.q = B.data<uint8_t>();
    const Tensor& S = ctx.in(2);
    if (S.numel() != w.N * w.blocks)
        return invalid("MatMulNBits scales has " + std::to_string(S.numel()) + " values; expected " + std::to_string(w.N * w.blocks));
    if (S.dtype() == DType::F32) {
        w.scales = S.data<float>();
    } else {
        auto s = S.toFloats();
        if (!s) return s.error();
        w.scaleStore = std::move(*s);
        w.scales = w.scaleStore.data();
    }
    w.defaultZero = float(1 << (w.bits - 1));
    if (ctx.has(3)) {
        const Tensor& z = ctx.in(3);
        if (z.dtype() == DType::U8) {
            w.zeroRowBytes = (w.blocks * w.bits + 7) / 8;
            if (z.numel() != w.N * w.zeroRowBytes)
                return invalid("MatMulNBits packed zero_points has " + std::to_string(z.numel()) + " bytes; expected " +
                               std::to_string(w.N * w.zeroRowBytes));
            w.zeroPacked = z.data<uint8_t>();
        } else {
            if (z.numel() != w.N * w.blocks) return invalid("MatMulNBits zero_points does not match the scales");
            if (z.dtype() == DType::F32) {
                w.zeroFloat = z.data<float>();
            } else {
                auto zf = z.toFloats();
                if (!zf) return zf.error();
                w.zeroStore = std::move(*zf);
                w.zeroFloat = w.zeroStore.data();
            }
        }
    }
    if (ctx.has(5)) {
        const Tensor& bias = ctx.in(5);
        if (bias.dtype() != DType::F32 || bias.numel() != w.N) return invalid("MatMulNBits bias must be f32 [N]");
        w.bias = bias.data<float>();
    }
    return w;
}

// Few rows (token generation): every packed weight is read once per row, straight from the node's
// tensor, and multiplied in f32 against the activation row (or, at accuracy level 4 with 4-bit
// weights on a VNNI CPU, against the row quantized to int8). Work goes out in groups of kRows
// outputs, about 64 KiB of packed weights per chunk so small layers are not split too finely.
void nbitsGemv(const NBits& w, const float* a, int64_t M, float* y, ThreadPool* pool) {
    const NBitsPath path = nbitsPath();
    const int64_t groups = (w.N + kRows - 1) / kRows;
    const int64_t grain = std::max<int64_t>(2, 65536 / std::max<int64_t>(1, kRows * w.blocks * w.blobBytes));
    if (w.accuracyLevel == 4 && w.bits == 4 && w.block % 32 == 0 && !w.zeroFloat && path == NBitsPath::Avx512 && hasVnni()) {
        for (int64_t m = 0; m < M; ++m) {
            const QuantRow r = quantizeRow(w, a + m * w.K);
            float* ym = y + m * w.N;
            parallelFor(pool, groups, grain, [&](int64_t b, int64_t e) {
                for (int64_t g = b; g < e; ++g) {
                    const int64_t n0 = g * kRows, rows = std::min<int64_t>(kRows, w.N - n0);
                    if (w.zeroPacked) {
                        if (rows == kRows) dotsQ8Vnni<kRows, true>(w, r, n0, ym + n0);
                        else for (int64_t i = 0; i < rows; ++i) dotsQ8Vnni<1, true>(w, r, n0 + i, ym + n0 + i);
                    } else {
                        if (rows == kRows) dotsQ8Vnni<kRows, false>(w, r, n0, ym + n0);
                        else for (int64_t i = 0; i < rows; ++i) dotsQ8Vnni<1, false>(w, r, n0 + i, ym + n0 + i);
                    }
                }
            });
        }
        return;
    }
    const bool four = w.bits == 4 && w.block % 32 == 0 && path != NBitsPath::Portable;
    const bool eight = w.bits == 8 && path == NBitsPath::Avx512;
    for (int64_t m = 0; m < M; ++m) {
        const ActRow r = prepareRow(w, a + m * w.K, four);
        float* ym = y + m * w.N;
        parallelFor(pool, groups, grain, [&](int64_t b, int64_t e) {
            for (int64_t g = b; g < e; ++g) {
                const int64_t n0 = g * kRows, rows = std::min<int64_t>(kRows, w.N - n0);
                float* out = ym + n0;
                if (four && path == NBitsPath::Avx512) {
                    if (rows == kRows) dotsAvx512<4, kRows>(w, r, n0, out);
                    else for (int64_t i = 0; i < rows; ++i) dotsAvx512<4, 1>(w, r, n0 + i, out + i);
                } else if (four) {
                    if (rows == kRows) dots4Avx2<kRows>(w, r, n0, out);
                    else for (int64_t i = 0; i < rows; ++i) dots4Avx2<1>(w, r, n0 + i, out + i);
                } else if (eight) {
                    if (rows == kRows) dotsAvx512<8, kRows>(w, r, n0, out);
                    else for (int64_t i = 0; i < rows; ++i) dotsAvx512<8, 1>(w, r, n0 + i, out + i);
                } else {
                    for (int64_t i = 0; i < rows; ++i) out[i] = dotPortable(w, r, n0 + i);
                }
            }
        });
    }
}

Status matmulNBits(KernelContext& ctx) {
    const Tensor& A = ctx.in(0);
    BY_TRY(requireType(A, {DType::F32}, "A"));
    auto wr = readNBits(ctx);
    if (!wr) return wr.error();
    const NBits& w = *wr;
    if (A.rank() < 1 || A.shape().back() != w.K)
        return invalid("MatMulNBits A " + shapeToString(A.shape()) + " does not end in K = " + std::to_string(w.K));
    Shape outShape = A.shape();
    outShape.back() = w.N;
    auto out = allocate(DType::F32, outShape);
    if (!out) return out.error();
    const int64_t M = A.numel() / w.K;
    const float* a = A.data<float>();
    float* y = out->mutableData<float>();
    if (M >= 8) {
        // Many rows: dequantize once to f32 [K, N] and use the BLAS GEMM.
        std::vector<float> wf(size_t(w.K * w.N));
        parallelFor(ctx.pool, w.N, 16, [&](int64_t b, int64_t e) {
            for (int64_t n = b; n < e; ++n)
                for (int64_t blk = 0; blk < w.blocks; ++blk) {
                    const uint8_t* blob = w.q + (n * w.blocks + blk) * w.blobBytes;
                    const float s = w.scales[n * w.blocks + blk], z = w.zero(n, blk);
                    for (int64_t j = 0; j < w.block && blk * w.block + j < w.K; ++j)
                        wf[size_t((blk * w.block + j) * w.N + n)] = (float(unpack(blob, j, w.bits)) - z) * s;
                }
        });
        sgemmRowMajor(M, w.N, w.K, a, wf.data(), y, ctx.pool);
    } else {
        nbitsGemv(w, a, M, y, ctx.pool);
    }
    if (w.bias)
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < w.N; ++n) y[m * w.N + n] += w.bias[n];
    ctx.outputs[0] = std::move(*out);
    return {};
}

}  // namespace

std::vector<const char*> matmulNBitsKernels() {
    std::vector<const char*> names;
    for (NBitsPath p : {NBitsPath::Avx512, NBitsPath::Avx2, NBitsPath::Portable})
        if (int(p) <= int(bestNBitsPath())) names.push_back(nbitsPathName(p));
    return names;
}

bool forceMatmulNBitsKernel(const char* name) {
    if (!name) {
        g_forcedNBitsPath = -1;
        return true;
    }
    for (NBitsPath p : {NBitsPath::Avx512, NBitsPath::Avx2, NBitsPath::Portable})
        if (std::strcmp(name, nbitsPathName(p)) == 0 && int(p) <= int(bestNBitsPath())) {
            g_forcedNBitsPath = int(p);
            return true;
        }
    return false;
}

const char* matmulNBitsKernelName() { return nbitsPathName(nbitsPath()); }

void registerQuantOps(OpRegistry& r) {
    r.add("", "MatMulInteger", matmulInteger, [](const Node& n, const Graph& g, int64_t) -> Status {
        BY_TRY(requireDeclared(n, g, 0, {DType::U8, DType::I8}));
        return requireDeclared(n, g, 1, {DType::U8, DType::I8});
    });
    r.add("", "QLinearMatMul", qlinearMatmul, [](const Node& n, const Graph& g, int64_t) -> Status {
        BY_TRY(requireDeclared(n, g, 0, {DType::U8, DType::I8}));
        return requireDeclared(n, g, 3, {DType::U8, DType::I8});
    }, prepareQLinearMatMul);
    r.add("com.microsoft", "QGemm", qgemm, [](const Node& n, const Graph& g, int64_t) -> Status {
        if (n.attrInt("transA", 0) != 0) return unsupported("QGemm with transA=1 is not supported");
        if (n.attrFloat("alpha", 1.0) != 1.0) return unsupported("QGemm with alpha other than 1 is not supported");
        BY_TRY(requireDeclared(n, g, 0, {DType::U8, DType::I8}));
        return requireDeclared(n, g, 3, {DType::U8, DType::I8});
    }, prepareQGemm);
    // QLinearConv and MaxPool are registered by ops_nn.cpp (the generic integer convolution, f32
    // pooling); this file runs first where it can and hands the rest to those kernels.
    if (const OpKernel* k = r.find("", "QLinearConv")) {
        g_genericQLinearConv = *k;
        r.add("", "QLinearConv", qlinearConvFast, k->check, prepareQLinearConv);
    }
    if (const OpKernel* k = r.find("", "QuantizeLinear")) {
        g_genericQuantizeLinear = *k;
        r.add("", "QuantizeLinear", quantizeLinearFast, k->check, k->prepare);
    }
    if (const OpKernel* k = r.find("", "DequantizeLinear")) {
        g_genericDequantizeLinear = *k;
        r.add("", "DequantizeLinear", dequantizeLinearFast, k->check, k->prepare);
    }
    if (const OpKernel* k = r.find("", "MaxPool")) {
        g_f32MaxPool = *k;
        r.add("", "MaxPool", maxPool, [](const Node& n, const Graph& g, int64_t o) -> Status {
            const DType t = declaredInputType(n, g, 0);
            if (t == DType::U8 || t == DType::I8) return {};
            return g_f32MaxPool.check ? g_f32MaxPool.check(n, g, o) : Status{};
        });
    }
    r.add("", "DynamicQuantizeLinear", dynamicQuantizeLinear,
          [](const Node& n, const Graph& g, int64_t) -> Status { return requireDeclared(n, g, 0, {DType::F32}); });
    r.add("com.microsoft", "MatMulNBits", matmulNBits, [](const Node& n, const Graph& g, int64_t) -> Status {
        const int64_t bits = n.attrInt("bits", 4);
        if (bits != 2 && bits != 4 && bits != 8)
            return unsupported("MatMulNBits with " + std::to_string(bits) + "-bit weights is not supported (2, 4 or 8)");
        return requireDeclared(n, g, 0, {DType::F32});
    });
}

}  // namespace by
