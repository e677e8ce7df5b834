// Neural-network kernels on f32: Conv and ConvTranspose (im2col / col2im around BLAS sgemm, a
// direct path for depthwise 2-D), pooling, the normalizations, Gemm and MatMul.

#include <cmath>
#include <limits>

#include "engine/elementwise_fusion.h"
#include "engine/int8_gemm.h"
#include "engine/ops_common.h"
#include "engine/quant_matmul.h"
#include "engine/sparse24.h"

namespace by {

namespace ops {
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool* pool) {
    sgemmRowMajor(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
}

}  // namespace ops

namespace {
using namespace ops;

Status checkF32(const Node& n, const Graph& g, int64_t) { return requireDeclared(n, g, 0, {DType::F32}); }

// Spatial geometry shared by Conv, ConvTranspose and the pools.
struct Geometry {
    std::vector<int64_t> in, kernel, strides, dilations, padBegin, padEnd, out;
    int64_t inSize() const { return shapeNumel(in); }
    int64_t outSize() const { return shapeNumel(out); }
    int64_t kernelSize() const { return shapeNumel(kernel); }
};

Status readSpatialAttrs(const Node& node, size_t rank, Geometry& g) {
    g.strides = node.attrInts("strides");
    g.dilations = node.attrInts("dilations");
    if (g.strides.empty()) g.strides.assign(rank, 1);
    if (g.dilations.empty()) g.dilations.assign(rank, 1);
    if (g.strides.size() != rank || g.dilations.size() != rank) return invalid("strides and dilations need one entry per spatial axis");
    for (size_t i = 0; i < rank; ++i)
        if (g.strides[i] <= 0 || g.dilations[i] <= 0) return invalid("strides and dilations must be positive");
    const auto pads = node.attrInts("pads");
    if (!pads.empty() && pads.size() != 2 * rank) return invalid("pads need two entries per spatial axis");
    g.padBegin.assign(rank, 0);
    g.padEnd.assign(rank, 0);
    for (size_t i = 0; i < rank && !pads.empty(); ++i) {
        g.padBegin[i] = pads[i];
        g.padEnd[i] = pads[i + rank];
    }
    return {};
}

// Output sizes (and pads for auto_pad) of a forward window op.
Status forwardGeometry(const Node& node, Geometry& g, bool ceilMode) {
    const size_t r = g.in.size();
    const std::string autoPad = node.attrString("auto_pad", "NOTSET");
    g.out.assign(r, 0);
    for (size_t i = 0; i < r; ++i) {
        const int64_t ext = (g.kernel[i] - 1) * g.dilations[i] + 1;
        if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            g.out[i] = (g.in[i] + g.strides[i] - 1) / g.strides[i];
            const int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * g.strides[i] + ext - g.in[i]);
            g.padBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            g.padEnd[i] = total - g.padBegin[i];
            continue;
        }
        if (autoPad == "VALID") g.padBegin[i] = g.padEnd[i] = 0;
        else if (autoPad != "NOTSET" && !autoPad.empty()) return invalid("auto_pad '" + autoPad + "' is not known");
        const int64_t span = g.in[i] + g.padBegin[i] + g.padEnd[i] - ext;
        if (span < 0) return invalid("the kernel is larger than the padded input");
        int64_t o = (ceilMode ? (span + g.strides[i] - 1) / g.strides[i] : span / g.strides[i]) + 1;
        if (ceilMode && (o - 1) * g.strides[i] >= g.in[i] + g.padBegin[i]) --o;  // last window must start inside
        g.out[i] = o;
    }
    return {};
}

// Columns for one image and group: rows (c, k...) x columns (output positions).
// Padding positions read `pad` (0 for float convolution, the input zero point for integer ones).
// The 2-D case row by row: each (channel, kh, kw) row is, per output row, a padded run and then
// either one contiguous copy (stride 1) or a strided gather, with no per-element bounds checks.
template <class T>
void im2col2d(const T* x, int64_t channels, const Geometry& g, T* col, ThreadPool* pool, T pad, int64_t rowStride) {
    const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
    const int64_t sh = g.strides[0], sw = g.strides[1], dh = g.dilations[0], dw = g.dilations[1];
    const int64_t ph = g.padBegin[0], pw = g.padBegin[1];
    const int64_t O = OH * OW, K = KH * KW, stride = rowStride ? rowStride : O;
    parallelFor(pool, channels * K, std::max<int64_t>(1, 8192 / std::max<int64_t>(O, 1)), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            const int64_t c = row / K, kh = (row % K) / KW, kw = row % KW;
            const T* xc = x + c * H * W;
            T* dst = col + row * stride;
            // Output columns whose input column lies inside [0, W).
            const int64_t off = kw * dw - pw;
            const int64_t lo = std::min(OW, off >= 0 ? 0 : (-off + sw - 1) / sw);
            const int64_t hi = std::max(lo, std::min(OW, W - off <= 0 ? 0 : (W - off - 1) / sw + 1));
            for (int64_t oh = 0; oh < OH; ++oh) {
                T* out = dst + oh * OW;
                const int64_t ih = oh * sh - ph + kh * dh;
                if (ih < 0 || ih >= H) {
                    std::fill(out, out + OW, pad);
                    continue;
                }
                const T* src = xc + ih * W + off;
                std::fill(out, out + lo, pad);
                if (sw == 1) std::memcpy(out + lo, src + lo, static_cast<size_t>(hi - lo) * sizeof(T));
                else
                    for (int64_t ow = lo; ow < hi; ++ow) out[ow] = src[ow * sw];
                std::fill(out + hi, out + OW, pad);
            }
        }
    });
}

template <class T>
void im2col(const T* x, int64_t channels, const Geometry& g, T* col, ThreadPool* pool, T pad = T(0), int64_t rowStride = 0) {
    const size_t r = g.in.size();
    if (r == 2) {
        im2col2d(x, channels, g, col, pool, pad, rowStride);
        return;
    }
    const int64_t K = g.kernelSize(), O = g.outSize(), I = g.inSize();
    const int64_t ow = r ? g.out[r - 1] : 1;
    const int64_t iw = r ? g.in[r - 1] : 1;
    const int64_t sw = r ? g.strides[r - 1] : 1, dw = r ? g.dilations[r - 1] : 1, pw = r ? g.padBegin[r - 1] : 0;
    parallelFor(pool, channels * K, std::max<int64_t>(1, 8192 / std::max<int64_t>(O, 1)), [&](int64_t b, int64_t e) {
        std::vector<int64_t> kIdx(r), oIdx(r);
        for (int64_t row = b; row < e; ++row) {
            const int64_t c = row / K;
            int64_t kf = row % K;
            for (size_t d = r; d-- > 0;) {
                kIdx[d] = kf % g.kernel[d];
                kf /= g.kernel[d];
            }
            const T* xc = x + c * I;
            T* dst = col + row * (rowStride ? rowStride : O);
            // Walk output rows (all but the last spatial axis), then the last axis contiguously.
            const int64_t rows = O / std::max<int64_t>(ow, 1);
            std::fill(oIdx.begin(), oIdx.end(), 0);
            for (int64_t orow = 0; orow < rows; ++orow) {
                int64_t off = 0;
                bool inside = true;
                for (size_t d = 0; d + 1 < r; ++d) {
                    const int64_t p = oIdx[d] * g.strides[d] - g.padBegin[d] + kIdx[d] * g.dilations[d];
                    if (p < 0 || p >= g.in[d]) {
                        inside = false;
                        break;
                    }
                    off = off * g.in[d] + p;
                }
                T* out = dst + orow * ow;
                if (!inside) {
                    std::fill(out, out + ow, pad);
                } else {
                    const T* src = xc + off * iw;
                    const int64_t base = kIdx[r - 1] * dw - pw;
                    for (int64_t j = 0; j < ow; ++j) {
                        const int64_t p = j * sw + base;
                        out[j] = p >= 0 && p < iw ? src[p] : pad;
                    }
                }
                for (size_t d = r - 1; d-- > 0;) {
                    if (++oIdx[d] < g.out[d]) break;
                    oIdx[d] = 0;
                }
            }
        }
    });
}

// Scatter-adds columns back into an image (the transpose of im2col), one channel per task.
void col2im(const float* col, int64_t channels, const Geometry& g, float* x, ThreadPool* pool) {
    const size_t r = g.in.size();
    const int64_t K = g.kernelSize(), O = g.outSize(), I = g.inSize();
    parallelFor(pool, channels, 1, [&](int64_t b, int64_t e) {
        std::vector<int64_t> kIdx(r);
        for (int64_t c = b; c < e; ++c) {
            float* xc = x + c * I;
            for (int64_t k = 0; k < K; ++k) {
                int64_t kf = k;
                for (size_t d = r; d-- > 0;) {
                    kIdx[d] = kf % g.kernel[d];
                    kf /= g.kernel[d];
                }
                const float* src = col + (c * K + k) * O;
                Odometer od(g.out);
                for (int64_t o = 0; o < O; ++o, od.next()) {
                    int64_t off = 0;
                    bool inside = true;
                    for (size_t d = 0; d < r; ++d) {
                        const int64_t p = od.index[d] * g.strides[d] - g.padBegin[d] + kIdx[d] * g.dilations[d];
                        if (p < 0 || p >= g.in[d]) {
                            inside = false;
                            break;
                        }
                        off = off * g.in[d] + p;
                    }
                    if (inside) xc[off] += src[o];
                }
            }
        }
    });
}

// Depthwise 2-D convolution (one input channel per group), direct.
// One output row of a depthwise convolution with stride 1: the taps of each kernel row applied
// to a contiguous input row. Built for AVX2+FMA and for the baseline; the loader picks one.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void depthwiseRowStride1(
    float* yr, const float* xr, const float* wrow, int64_t KW, int64_t dw, int64_t pw, int64_t W, int64_t OW) {
    for (int64_t kw = 0; kw < KW; ++kw) {
        const float wv = wrow[kw];
        const int64_t off = kw * dw - pw;
        const int64_t lo = off >= 0 ? 0 : -off;
        const int64_t hi = std::min<int64_t>(W - off <= 0 ? 0 : W - off, OW);
        for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow + off];
    }
}

// One plane of a stride-1, undilated depthwise convolution. The input plane is first copied into
// `scratch` with its left and right padding as zeros (rows wide enough for whole 8-column steps),
// so every output column takes the same branch-free loop: eight sums kept in registers across all
// KH x KW taps, one load per tap. Built for x86-64-v3 and the baseline; multiply-adds contract to
// FMA where the target has it.
typedef float Vec8 __attribute__((vector_size(32)));

__attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast"))) void depthwisePlaneStride1(
    const float* xc, const float* wk, float* yc, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t ph,
    int64_t pw, float b0, std::vector<float>& scratch) {
    const int64_t OW8 = (OW + 7) / 8 * 8, Wp = OW8 + KW - 1;
    scratch.resize(static_cast<size_t>(H * Wp + OW8));
    float* pad = scratch.data();
    const int64_t copy = std::max<int64_t>(0, std::min(W, Wp - pw));
    for (int64_t h = 0; h < H; ++h) {
        float* row = pad + h * Wp;
        std::fill(row, row + Wp, 0.f);
        std::memcpy(row + pw, xc + h * W, static_cast<size_t>(copy) * sizeof(float));
    }
    float* out = pad + H * Wp;
    for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t kh0 = std::max<int64_t>(0, ph - oh), kh1 = std::min(KH, H + ph - oh);
        for (int64_t ow = 0; ow < OW8; ow += 8) {
            Vec8 acc = Vec8{} + b0;
            for (int64_t kh = kh0; kh < kh1; ++kh) {
                const float* xr = pad + (oh - ph + kh) * Wp + ow;
                const float* wr = wk + kh * KW;
                for (int64_t kw = 0; kw < KW; ++kw) {
                    Vec8 v;
                    std::memcpy(&v, xr + kw, sizeof v);
                    acc += wr[kw] * v;
                }
            }
            std::memcpy(out + ow, &acc, sizeof acc);
        }
        std::memcpy(yc + oh * OW, out, static_cast<size_t>(OW) * sizeof(float));
    }
}

// `planeDone(nm)` runs after output plane nm is written, while it is still in cache.
template <class Done>
void depthwise2d(const float* x, const float* w, const float* bias, float* y, int64_t N, int64_t C, int64_t mult,
                 const Geometry& g, ThreadPool* pool, Done planeDone) {
    const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
    const int64_t sh = g.strides[0], sw = g.strides[1], dh = g.dilations[0], dw = g.dilations[1];
    const int64_t ph = g.padBegin[0], pw = g.padBegin[1];
    const int64_t M = C * mult;
    parallelFor(pool, N * M, 1, [&](int64_t b, int64_t e) {
        for (int64_t nm = b; nm < e; ++nm) {
            const int64_t n = nm / M, m = nm % M, c = m / mult;
            const float* xc = x + (n * C + c) * H * W;
            const float* wk = w + m * KH * KW;
            float* yc = y + nm * OH * OW;
            const float b0 = bias ? bias[m] : 0.f;
            if (sh == 1 && sw == 1 && dh == 1 && dw == 1 && pw < KW) {
                thread_local std::vector<float> scratch;
                depthwisePlaneStride1(xc, wk, yc, H, W, OH, OW, KH, KW, ph, pw, b0, scratch);
                planeDone(nm);
                continue;
            }
            for (int64_t oh = 0; oh < OH; ++oh) {
                float* yr = yc + oh * OW;
                for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = b0;
                for (int64_t kh = 0; kh < KH; ++kh) {
                    const int64_t ih = oh * sh - ph + kh * dh;
                    if (ih < 0 || ih >= H) continue;
                    const float* xr = xc + ih * W;
                    if (sw == 1) {
                        depthwiseRowStride1(yr, xr, wk + kh * KW, KW, dw, pw, W, OW);
                        continue;
                    }
                    for (int64_t kw = 0; kw < KW; ++kw) {
                        const float wv = wk[kh * KW + kw];
                        const int64_t off = kw * dw - pw;
                        // ow range whose input column is inside [0, W)
                        int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                        int64_t hi = W - off <= 0 ? 0 : (W - off - 1) / sw + 1;
                        hi = std::min(hi, OW);
                        if (sw == 1)
                            for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow + off];
                        else
                            for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow * sw + off];
                    }
                }
            }
            planeDone(nm);
        }
    });
}

// What a convolution node computes, checked once for the float and the integer kernels: the
// batch, channel and group sizes and the spatial geometry from X [N,C,...] and W [M,C/group,...].
struct ConvPlan {
    int64_t N = 0, C = 0, M = 0, group = 1, Cg = 0, Mg = 0;
    size_t r = 0;
    Geometry g;
};

Result<ConvPlan> planConv(const KernelContext& ctx, const Shape& x, const Shape& w) {
    if (x.size() < 3 || w.size() != x.size())
        return invalid("Conv needs X [N,C,...] and W of the same rank, got " + shapeToString(x) + " and " + shapeToString(w));
    ConvPlan p;
    p.r = x.size() - 2;
    p.N = x[0];
    p.C = x[1];
    p.M = w[0];
    p.group = ctx.node.attrInt("group", 1);
    if (p.group <= 0 || p.C % p.group || p.M % p.group)
        return invalid("group " + std::to_string(p.group) + " does not divide the channels");
    p.Cg = p.C / p.group;
    p.Mg = p.M / p.group;
    if (w[1] != p.Cg) return invalid("W has " + std::to_string(w[1]) + " input channels per group, X gives " + std::to_string(p.Cg));
    p.g.in.assign(x.begin() + 2, x.end());
    p.g.kernel.assign(w.begin() + 2, w.end());
    if (auto ks = ctx.node.attrInts("kernel_shape"); !ks.empty() && ks != p.g.kernel)
        return invalid("kernel_shape " + shapeToString(ks) + " does not match W " + shapeToString(w));
    BY_TRY(readSpatialAttrs(ctx.node, p.r, p.g));
    BY_TRY(forwardGeometry(ctx.node, p.g, false));
    return p;
}

Status conv(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    const Tensor& Wt = ctx.in(1);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    Tensor Wf = Wt;
    if (Wt.dtype() != DType::F32) {
        auto f = Wt.toFloats();
        if (!f) return f.error();
        Wf = Tensor::fromFloats(Wt.shape(), *f);
    }
    auto plan = planConv(ctx, X.shape(), Wf.shape());
    if (!plan) return plan.error();
    const size_t r = plan->r;
    const int64_t N = plan->N, C = plan->C, M = plan->M, group = plan->group, Cg = plan->Cg, Mg = plan->Mg;
    const Geometry& g = plan->g;
    const float* bias = nullptr;
    Tensor Bf;
    if (ctx.has(2)) {
        Bf = ctx.in(2);
        if (Bf.numel() != M) return invalid("B must have " + std::to_string(M) + " entries");
        if (Bf.dtype() != DType::F32) Bf = Tensor::fromFloats(Bf.shape(), *Bf.toFloats());
        bias = Bf.data<float>();
    }
    Shape outShape = {N, M};
    for (int64_t o : g.out) outShape.push_back(o);
    auto out = allocateUninit(DType::F32, outShape);
    if (!out) return out.error();
    float* y = out->mutableData<float>();
    const float* x = X.data<float>();
    const float* w = Wf.data<float>();
    const int64_t I = g.inSize(), O = g.outSize(), K = g.kernelSize();
    if (O == 0 || N == 0) {
        ctx.outputs[0] = std::move(*out);
        return {};
    }

    // An element-wise chain the executor fused behind this node runs on each tile while it is
    // still in cache (engine/elementwise_fusion.h).
    FusedLayout layout;
    const FusedChain* epi = ctx.epilogue && fusedLayout(*ctx.epilogue, outShape, layout) ? ctx.epilogue : nullptr;
    auto finishRow = [&](int64_t channel, float* row, int64_t begin, int64_t count) {
        if (bias) {
            const float bv = bias[channel];
            for (int64_t i = 0; i < count; ++i) row[i] += bv;
        }
        if (epi) runFusedRange(*epi, layout, y, begin, begin + count);
    };

    if (r == 2 && Cg == 1 && group == C && group > 1) {
        depthwise2d(x, w, bias, y, N, C, Mg, g, ctx.pool, [&](int64_t nm) {
            if (epi) runFusedRange(*epi, layout, y, nm * O, nm * O + O);
        });
        ctx.epilogueDone = epi != nullptr;
        ctx.outputs[0] = std::move(*out);
        return {};
    }
    bool pointwise = K == 1;
    for (size_t d = 0; d < r; ++d)
        pointwise = pointwise && g.strides[d] == 1 && g.padBegin[d] == 0 && g.padEnd[d] == 0;
    // 1x1 convolutions on a feature map of a few hundred positions are already good GEMMs image
    // by image, straight from the input: no column copy.
    if (group == 1 && N > 1 && O <= 1024 && !(pointwise && O >= 192) && Cg * K * N * O <= (int64_t(64) << 20)) {
        // Several images through one GEMM: their columns side by side, [C*K, N*O], so small
        // per-image products (few output channels, small feature maps) become one large one.
        const int64_t cols = N * O;
        std::vector<float> colAll(static_cast<size_t>(Cg * K * cols));
        for (int64_t n = 0; n < N; ++n) im2col(x + n * C * I, Cg, g, colAll.data() + n * O, ctx.pool, 0.f, cols);
        std::vector<float> tmp(static_cast<size_t>(M * cols));
        sgemm(false, false, M, cols, Cg * K, 1.f, w, Cg * K, colAll.data(), cols, 0.f, tmp.data(), cols, ctx.pool);
        parallelFor(ctx.pool, N * M, std::max<int64_t>(1, 16384 / O), [&](int64_t b, int64_t e) {
            for (int64_t nm = b; nm < e; ++nm) {
                const int64_t n = nm / M, m = nm % M;
                float* dst = y + nm * O;
                std::memcpy(dst, tmp.data() + m * cols + n * O, static_cast<size_t>(O) * sizeof(float));
                finishRow(m, dst, nm * O, O);
            }
        });
        ctx.epilogueDone = epi != nullptr;
        ctx.outputs[0] = std::move(*out);
        return {};
    }

    // Image by image (and group by group): the output in column tiles of about 256 KiB, each one
    // GEMM, then bias and the fused chain on the tile while it is in cache. Tiles (and, for 1x1
    // convolutions, images) are the parallel tasks; each GEMM is single-threaded.
    const int64_t CgK = Cg * K;
    const int64_t threads = ctx.pool ? ctx.pool->threadCount() : 1;
    int64_t tileCols = std::clamp<int64_t>((65536 / std::max<int64_t>(Mg, 1)) / 16 * 16, 64, 2048);
    if (!pointwise || N * group < threads) tileCols = std::min(tileCols, ((O + threads - 1) / threads + 15) / 16 * 16);
    const int64_t tiles = (O + tileCols - 1) / tileCols;
    auto tile = [&](const float* B, int64_t n, int64_t gi, int64_t t) {
        const int64_t c0 = t * tileCols, cols = std::min(O, c0 + tileCols) - c0;
        float* yg = y + (n * M + gi * Mg) * O;
        sgemm(false, false, Mg, cols, CgK, 1.f, w + gi * Mg * CgK, CgK, B + c0, O, 0.f, yg + c0, O);
        for (int64_t m = 0; m < Mg; ++m) finishRow(gi * Mg + m, yg + m * O + c0, (n * M + gi * Mg + m) * O + c0, cols);
    };
    if (pointwise) {
        parallelFor(ctx.pool, N * group * tiles, 1, [&](int64_t b, int64_t e) {
            for (int64_t task = b; task < e; ++task) {
                const int64_t t = task % tiles, gi = (task / tiles) % group, n = task / (tiles * group);
                tile(x + (n * C + gi * Cg) * I, n, gi, t);
            }
        });
    } else {
        std::vector<float> col(static_cast<size_t>(CgK * O));
        for (int64_t n = 0; n < N; ++n)
            for (int64_t gi = 0; gi < group; ++gi) {
                im2col(x + (n * C + gi * Cg) * I, Cg, g, col.data(), ctx.pool);
                parallelFor(ctx.pool, tiles, 1, [&](int64_t b, int64_t e) {
                    for (int64_t t = b; t < e; ++t) tile(col.data(), n, gi, t);
                });
            }
    }
    ctx.epilogueDone = epi != nullptr;
    ctx.outputs[0] = std::move(*out);
    return {};
}

// ConvInteger / QLinearConv: im2col on the raw bytes (padding reads the input zero point, so it
// contributes nothing), then the exact int8 GEMM with the weight zero point per output channel.
// `x`/`w` are the byte inputs, `xZeroInput`/`wZeroInput` the indices of their zero points.
Result<Tensor> integerConv(KernelContext& ctx, const Tensor& X, const Tensor& Wt, size_t xZeroInput, size_t wZeroInput) {
    auto isByte = [](DType t) { return t == DType::U8 || t == DType::I8; };
    if (!isByte(X.dtype()) || !isByte(Wt.dtype()))
        return unsupported(std::string("integer convolution of ") + dtypeName(X.dtype()) + " and " + dtypeName(Wt.dtype()) +
                           " is not supported (uint8/int8 only)");
    auto plan = planConv(ctx, X.shape(), Wt.shape());
    if (!plan) return plan.error();
    const int64_t N = plan->N, C = plan->C, M = plan->M, group = plan->group, Cg = plan->Cg, Mg = plan->Mg;
    const Geometry& g = plan->g;
    int32_t xZero = 0;
    if (ctx.has(xZeroInput)) {
        auto z = readInts(ctx.in(xZeroInput), "x zero point");
        if (!z) return z.error();
        if (z->size() != 1) return unsupported("the input zero point must be a scalar");
        xZero = int32_t((*z)[0]);
    }
    std::vector<int32_t> wZero(size_t(M), 0);
    if (ctx.has(wZeroInput)) {
        auto z = readInts(ctx.in(wZeroInput), "w zero point");
        if (!z) return z.error();
        if (z->size() != 1 && int64_t(z->size()) != M) return invalid("the weight zero point needs 1 or M values");
        for (int64_t m = 0; m < M; ++m) wZero[size_t(m)] = int32_t((*z)[z->size() == 1 ? 0 : size_t(m)]);
    }
    Shape outShape = {N, M};
    for (int64_t o : g.out) outShape.push_back(o);
    auto out = allocate(DType::I32, outShape);
    if (!out) return out.error();
    const int64_t I = g.inSize(), O = g.outSize(), K = g.kernelSize();
    if (O == 0 || N == 0) return std::move(*out);
    int32_t* y = out->mutableData<int32_t>();
    const uint8_t* x = X.rawData();
    const uint8_t* w = Wt.rawData();
    const uint8_t pad = X.dtype() == DType::U8 ? uint8_t(xZero) : uint8_t(int8_t(xZero));
    std::vector<uint8_t> col(static_cast<size_t>(Cg * K * O));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t gi = 0; gi < group; ++gi) {
            im2col<uint8_t>(x + (n * C + gi * Cg) * I, Cg, g, col.data(), ctx.pool, pad);
            Int8GemmArgs a;
            a.M = Mg;
            a.N = O;
            a.K = Cg * K;
            a.A = w + gi * Mg * Cg * K;
            a.lda = Cg * K;
            a.aSigned = Wt.dtype() == DType::I8;
            a.aZero = wZero.data() + gi * Mg;
            a.aZeroPerRow = true;
            a.B = col.data();
            a.ldb = O;
            a.bSigned = X.dtype() == DType::I8;
            a.bZero = &xZero;
            a.C = y + (n * M + gi * Mg) * O;
            a.ldc = O;
            int8Gemm(a, ctx.pool);
        }
    return std::move(*out);
}

Status convInteger(KernelContext& ctx) {
    auto y = integerConv(ctx, ctx.in(0), ctx.in(1), 2, 3);
    if (!y) return y.error();
    ctx.outputs[0] = std::move(*y);
    return {};
}

Status qlinearConv(KernelContext& ctx) {
    // Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
    auto acc = integerConv(ctx, ctx.in(0), ctx.in(3), 2, 5);
    if (!acc) return acc.error();
    const int64_t M = ctx.in(3).shape()[0];
    auto xs = ctx.in(1).toFloats();
    auto ws = ctx.in(4).toFloats();
    auto ys = ctx.in(6).toFloats();
    if (!xs || !ws || !ys) return invalid("QLinearConv scales must be float tensors");
    if (xs->size() != 1 || ys->size() != 1) return unsupported("QLinearConv x_scale and y_scale must be scalars");
    if (ws->size() != 1 && int64_t(ws->size()) != M) return invalid("QLinearConv w_scale needs 1 or M values");
    const DType outType = ctx.has(7) ? ctx.in(7).dtype() : DType::U8;
    if (outType != DType::U8 && outType != DType::I8) return unsupported("QLinearConv output must be uint8 or int8");
    float yz = 0.f;
    if (ctx.has(7)) {
        auto z = readInts(ctx.in(7), "y zero point");
        if (!z) return z.error();
        yz = float((*z)[0]);
    }
    std::vector<int32_t> bias(size_t(M), 0);
    if (ctx.has(8)) {
        auto b = readInts(ctx.in(8), "bias");
        if (!b) return b.error();
        if (int64_t(b->size()) != M) return invalid("QLinearConv bias needs M values");
        for (int64_t m = 0; m < M; ++m) bias[size_t(m)] = int32_t((*b)[size_t(m)]);
    }
    auto out = allocate(outType, acc->shape());
    if (!out) return out.error();
    const int32_t* c = acc->data<int32_t>();
    uint8_t* py = out->mutableRawData();
    const int64_t O = acc->numel() / std::max<int64_t>(1, acc->shape()[0] * M);
    const float lo = outType == DType::U8 ? 0.f : -128.f, hi = outType == DType::U8 ? 255.f : 127.f;
    for (int64_t i = 0; i < acc->numel(); ++i) {
        const int64_t m = (i / std::max<int64_t>(O, 1)) % M;
        const float s = (*xs)[0] * (*ws)[ws->size() == 1 ? 0 : size_t(m)] / (*ys)[0];
        const float v = std::clamp(std::nearbyint(float(c[i] + bias[size_t(m)]) * s) + yz, lo, hi);
        py[i] = outType == DType::U8 ? uint8_t(v) : uint8_t(int8_t(v));
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status convTranspose(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    const Tensor& Wt = ctx.in(1);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    BY_TRY(requireType(Wt, {DType::F32}, "W"));
    if (X.rank() < 3 || Wt.rank() != X.rank()) return invalid("ConvTranspose needs X [N,C,...] and W of the same rank");
    const size_t r = static_cast<size_t>(X.rank() - 2);
    const int64_t N = X.shape()[0], C = X.shape()[1];
    const int64_t group = ctx.node.attrInt("group", 1);
    if (group <= 0 || C % group || Wt.shape()[0] != C) return invalid("W's first dimension must equal the input channels");
    const int64_t Cg = C / group, Mg = Wt.shape()[1], M = Mg * group;
    Geometry g;  // in = output image, out = input image (col2im direction)
    const std::vector<int64_t> xin(X.shape().begin() + 2, X.shape().end());
    g.kernel.assign(Wt.shape().begin() + 2, Wt.shape().end());
    BY_TRY(readSpatialAttrs(ctx.node, r, g));
    auto outPad = ctx.node.attrInts("output_padding");
    if (outPad.empty()) outPad.assign(r, 0);
    const auto outShapeAttr = ctx.node.attrInts("output_shape");
    const std::string autoPad = ctx.node.attrString("auto_pad", "NOTSET");
    g.in.assign(r, 0);
    for (size_t i = 0; i < r; ++i) {
        const int64_t ext = (g.kernel[i] - 1) * g.dilations[i] + 1;
        const int64_t full = g.strides[i] * (xin[i] - 1) + outPad[i] + ext;
        if (!outShapeAttr.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            int64_t target = xin[i] * g.strides[i];
            if (!outShapeAttr.empty()) target = outShapeAttr[outShapeAttr.size() - r + i];
            const int64_t total = full - target;
            if (autoPad == "SAME_LOWER") {
                g.padBegin[i] = total - total / 2;
                g.padEnd[i] = total / 2;
            } else {
                g.padBegin[i] = total / 2;
                g.padEnd[i] = total - total / 2;
            }
            g.in[i] = target;
        } else {
            if (autoPad == "VALID") g.padBegin[i] = g.padEnd[i] = 0;
            g.in[i] = full - g.padBegin[i] - g.padEnd[i];
        }
        if (g.in[i] < 0) return invalid("the output would have a negative size");
    }
    g.out = xin;
    Shape outShape = {N, M};
    for (int64_t v : g.in) outShape.push_back(v);
    auto out = allocate(DType::F32, outShape);
    if (!out) return out.error();
    float* y = out->mutableData<float>();
    const int64_t IX = shapeNumel(xin), K = g.kernelSize(), OY = g.inSize();
    std::vector<float> col(static_cast<size_t>(Mg * K * IX));
    const float* x = X.data<float>();
    const float* w = Wt.data<float>();
    for (int64_t n = 0; n < N; ++n)
        for (int64_t gi = 0; gi < group; ++gi) {
            // col [Mg*K, IX] = W_g^T [Mg*K, Cg] * X_g [Cg, IX]
            sgemm(true, false, Mg * K, IX, Cg, 1.f, w + gi * Cg * Mg * K, Mg * K, x + (n * C + gi * Cg) * IX, IX, 0.f,
                  col.data(), IX, ctx.pool);
            col2im(col.data(), Mg, g, y + (n * M + gi * Mg) * OY, ctx.pool);
        }
    if (ctx.has(2)) {
        auto b = ctx.in(2).toFloats();
        if (!b) return b.error();
        if (static_cast<int64_t>(b->size()) != M) return invalid("B must have one entry per output channel");
        for (int64_t nm = 0; nm < N * M; ++nm)
            for (int64_t i = 0; i < OY; ++i) y[nm * OY + i] += (*b)[static_cast<size_t>(nm % M)];
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

enum class PoolKind { Max, Average, Lp };

// Max pooling with a 2x2 window and stride 2 inside the image (the CNN default): one output row
// from two input rows, in the same comparison order as the general loop.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void maxPool2x2Row(float* y, const float* r0, const float* r1,
                                                                              int64_t OW) {
    auto mx = [](float a, float b) { return std::max(a, b); };
    for (int64_t ow = 0; ow < OW; ++ow) {
        float m = -std::numeric_limits<float>::infinity();
        m = mx(m, r0[2 * ow]);
        m = mx(m, r0[2 * ow + 1]);
        m = mx(m, r1[2 * ow]);
        m = mx(m, r1[2 * ow + 1]);
        y[ow] = m;
    }
}

Status pool(KernelContext& ctx, PoolKind kind) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    if (X.rank() < 3) return invalid("pooling needs X [N,C,...]");
    const size_t r = static_cast<size_t>(X.rank() - 2);
    Geometry g;
    g.in.assign(X.shape().begin() + 2, X.shape().end());
    g.kernel = ctx.node.attrInts("kernel_shape");
    if (g.kernel.size() != r) return invalid("kernel_shape needs one entry per spatial axis");
    BY_TRY(readSpatialAttrs(ctx.node, r, g));
    BY_TRY(forwardGeometry(ctx.node, g, ctx.node.attrInt("ceil_mode", 0) != 0));
    const bool includePad = ctx.node.attrInt("count_include_pad", 0) != 0;
    const double p = static_cast<double>(ctx.node.attrInt("p", 2));
    const int64_t NC = X.shape()[0] * X.shape()[1];
    Shape outShape = {X.shape()[0], X.shape()[1]};
    for (int64_t o : g.out) outShape.push_back(o);
    auto out = allocate(DType::F32, outShape);
    if (!out) return out.error();
    Tensor indices;
    const bool wantIdx = kind == PoolKind::Max && ctx.wantsOutput(1);
    if (wantIdx) {
        auto t = allocate(DType::I64, outShape);
        if (!t) return t.error();
        indices = std::move(*t);
    }
    const int64_t I = g.inSize(), O = g.outSize();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    int64_t* yi = wantIdx ? indices.mutableData<int64_t>() : nullptr;
    const bool colMajor = ctx.node.attrInt("storage_order", 0) != 0;
    if (r == 2 && !wantIdx && (kind == PoolKind::Max || kind == PoolKind::Average) && g.dilations[0] == 1 && g.dilations[1] == 1) {
        // The common 2-D case: direct loops over the window, row by row, no index bookkeeping.
        const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
        const int64_t KH = g.kernel[0], KW = g.kernel[1], SH = g.strides[0], SW = g.strides[1];
        const int64_t PT = g.padBegin[0], PL = g.padBegin[1];
        const bool twoByTwo = kind == PoolKind::Max && KH == 2 && KW == 2 && SH == 2 && SW == 2 && PT == 0 && PL == 0 &&
                              2 * OH <= H && 2 * OW <= W;
        parallelFor(ctx.pool, NC, std::max<int64_t>(1, 4096 / std::max<int64_t>(O, 1)), [&](int64_t b, int64_t e) {
            for (int64_t nc = b; nc < e; ++nc) {
                const float* xc = x + nc * I;
                float* yc = y + nc * O;
                if (twoByTwo) {
                    for (int64_t oh = 0; oh < OH; ++oh) maxPool2x2Row(yc + oh * OW, xc + 2 * oh * W, xc + (2 * oh + 1) * W, OW);
                    continue;
                }
                for (int64_t oh = 0; oh < OH; ++oh) {
                    const int64_t h0 = oh * SH - PT;
                    const int64_t hs = std::max<int64_t>(h0, 0), he = std::min<int64_t>(h0 + KH, H);
                    for (int64_t ow = 0; ow < OW; ++ow) {
                        const int64_t w0 = ow * SW - PL;
                        const int64_t ws = std::max<int64_t>(w0, 0), we = std::min<int64_t>(w0 + KW, W);
                        float res;
                        if (kind == PoolKind::Max) {
                            float m = -std::numeric_limits<float>::infinity();
                            for (int64_t h = hs; h < he; ++h)
                                for (int64_t w = ws; w < we; ++w) m = std::max(m, xc[h * W + w]);
                            res = hs < he && ws < we ? m : 0.f;
                        } else {
                            float sum = 0.f;
                            for (int64_t h = hs; h < he; ++h)
                                for (int64_t w = ws; w < we; ++w) sum += xc[h * W + w];
                            int64_t div = (he - hs) * (we - ws);
                            if (includePad) {
                                // Padding counts, the part of the window past the padding does not.
                                const int64_t ph = std::min(h0 + KH, H + g.padEnd[0]) - std::max(h0, -PT);
                                const int64_t pw = std::min(w0 + KW, W + g.padEnd[1]) - std::max(w0, -PL);
                                div = ph * pw;
                            }
                            res = div > 0 ? sum / float(div) : 0.f;
                        }
                        yc[oh * OW + ow] = res;
                    }
                }
            }
        });
        ctx.outputs[0] = std::move(*out);
        return {};
    }
    parallelFor(ctx.pool, NC, 1, [&](int64_t b, int64_t e) {
        std::vector<int64_t> start(r), idx(r);
        for (int64_t nc = b; nc < e; ++nc) {
            const float* xc = x + nc * I;
            Odometer od(g.out);
            for (int64_t o = 0; o < O; ++o, od.next()) {
                for (size_t d = 0; d < r; ++d) start[d] = od.index[d] * g.strides[d] - g.padBegin[d];
                double acc = kind == PoolKind::Max ? -std::numeric_limits<double>::infinity() : 0.0;
                int64_t count = 0, padCount = 0, best = -1;
                Odometer kd(g.kernel);
                for (int64_t k = 0; k < g.kernelSize(); ++k, kd.next()) {
                    int64_t off = 0;
                    bool inside = true, inPad = true;
                    for (size_t d = 0; d < r; ++d) {
                        const int64_t pidx = start[d] + kd.index[d] * g.dilations[d];
                        if (pidx < 0 || pidx >= g.in[d]) inside = false;
                        if (pidx < -g.padBegin[d] || pidx >= g.in[d] + g.padEnd[d]) inPad = false;
                        idx[d] = pidx;
                        off = off * g.in[d] + pidx;
                    }
                    if (inPad) ++padCount;
                    if (!inside) continue;
                    const double v = xc[off];
                    ++count;
                    if (kind == PoolKind::Max) {
                        if (v > acc || best < 0) {
                            acc = v;
                            if (colMajor) {
                                int64_t co = 0, mul = 1;
                                for (size_t d = 0; d < r; ++d) {
                                    co += idx[d] * mul;
                                    mul *= g.in[d];
                                }
                                best = co;
                            } else {
                                best = off;
                            }
                        }
                    } else if (kind == PoolKind::Average) {
                        acc += v;
                    } else {
                        acc += std::pow(std::abs(v), p);
                    }
                }
                float res;
                if (kind == PoolKind::Max) res = static_cast<float>(count ? acc : 0.0);
                else if (kind == PoolKind::Average) {
                    const int64_t div = includePad ? padCount : count;
                    res = static_cast<float>(div ? acc / static_cast<double>(div) : 0.0);
                } else res = static_cast<float>(std::pow(acc, 1.0 / p));
                y[nc * O + o] = res;
                if (yi) yi[nc * O + o] = nc * I + std::max<int64_t>(best, 0);
            }
        }
    });
    ctx.outputs[0] = std::move(*out);
    if (wantIdx) ctx.outputs[1] = std::move(indices);
    return {};
}

Status globalPool(KernelContext& ctx, PoolKind kind) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    if (X.rank() < 2) return invalid("global pooling needs X [N,C,...]");
    const int64_t NC = X.shape()[0] * X.shape()[1];
    const int64_t S = NC ? X.numel() / NC : 0;
    Shape outShape = X.shape();
    for (size_t d = 2; d < outShape.size(); ++d) outShape[d] = 1;
    auto out = allocate(DType::F32, outShape);
    if (!out) return out.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    const double p = static_cast<double>(ctx.node.attrInt("p", 2));
    parallelFor(ctx.pool, NC, std::max<int64_t>(1, 16384 / std::max<int64_t>(S, 1)), [&](int64_t b, int64_t e) {
        for (int64_t nc = b; nc < e; ++nc) {
            const float* xc = x + nc * S;
            if (kind == PoolKind::Max) {
                float m = -std::numeric_limits<float>::infinity();
                for (int64_t i = 0; i < S; ++i) m = std::max(m, xc[i]);
                y[nc] = m;
            } else if (kind == PoolKind::Average) {
                double s = 0;
                for (int64_t i = 0; i < S; ++i) s += xc[i];
                y[nc] = static_cast<float>(S ? s / static_cast<double>(S) : 0.0);
            } else {
                double s = 0;
                for (int64_t i = 0; i < S; ++i) s += std::pow(std::abs(static_cast<double>(xc[i])), p);
                y[nc] = static_cast<float>(std::pow(s, 1.0 / p));
            }
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Result<std::vector<float>> floatsOf(const KernelContext& ctx, size_t i, int64_t want, const char* what) {
    auto v = ctx.in(i).toFloats();
    if (!v) return v.error();
    if (static_cast<int64_t>(v->size()) != want)
        return invalid(std::string(what) + " has " + std::to_string(v->size()) + " entries, expected " + std::to_string(want));
    return v;
}

Status batchNorm(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    if (X.rank() < 2) return invalid("BatchNormalization needs X [N,C,...]");
    const int64_t N = X.shape()[0], C = X.shape()[1];
    const int64_t S = N * C != 0 ? X.numel() / (N * C) : 0;
    auto scale = floatsOf(ctx, 1, C, "scale");
    if (!scale) return scale.error();
    auto bias = floatsOf(ctx, 2, C, "B");
    if (!bias) return bias.error();
    auto mean = floatsOf(ctx, 3, C, "mean");
    if (!mean) return mean.error();
    auto var = floatsOf(ctx, 4, C, "var");
    if (!var) return var.error();
    const double eps = ctx.node.attrFloat("epsilon", 1e-5);
    std::vector<float> a(static_cast<size_t>(C)), b(static_cast<size_t>(C));
    for (size_t c = 0; c < a.size(); ++c) {
        a[c] = static_cast<float>((*scale)[c] / std::sqrt(static_cast<double>((*var)[c]) + eps));
        b[c] = (*bias)[c] - a[c] * (*mean)[c];
    }
    auto out = allocate(DType::F32, X.shape());
    if (!out) return out.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    parallelFor(ctx.pool, N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(S, 1)), [&](int64_t s, int64_t e) {
        for (int64_t nc = s; nc < e; ++nc) {
            const auto c = static_cast<size_t>(nc % C);
            for (int64_t i = 0; i < S; ++i) y[nc * S + i] = a[c] * x[nc * S + i] + b[c];
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status instanceNorm(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    if (X.rank() < 2) return invalid("InstanceNormalization needs X [N,C,...]");
    const int64_t N = X.shape()[0], C = X.shape()[1];
    const int64_t S = N * C != 0 ? X.numel() / (N * C) : 0;
    auto scale = floatsOf(ctx, 1, C, "scale");
    if (!scale) return scale.error();
    auto bias = floatsOf(ctx, 2, C, "B");
    if (!bias) return bias.error();
    const double eps = ctx.node.attrFloat("epsilon", 1e-5);
    auto out = allocate(DType::F32, X.shape());
    if (!out) return out.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    parallelFor(ctx.pool, N * C, 1, [&](int64_t s, int64_t e) {
        for (int64_t nc = s; nc < e; ++nc) {
            const float* xc = x + nc * S;
            double m = 0, v = 0;
            for (int64_t i = 0; i < S; ++i) m += xc[i];
            m /= static_cast<double>(std::max<int64_t>(S, 1));
            for (int64_t i = 0; i < S; ++i) v += (xc[i] - m) * (xc[i] - m);
            v /= static_cast<double>(std::max<int64_t>(S, 1));
            const auto c = static_cast<size_t>(nc % C);
            const double a = (*scale)[c] / std::sqrt(v + eps);
            for (int64_t i = 0; i < S; ++i) y[nc * S + i] = static_cast<float>((xc[i] - m) * a + (*bias)[c]);
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status layerNorm(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    auto axis = normalizeAxis(ctx.node.attrInt("axis", -1), X.rank());
    if (!axis) return axis.error();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < X.rank(); ++d) (d < *axis ? outer : inner) *= X.shape()[static_cast<size_t>(d)];
    auto bcast = [&](size_t i, const char* what) -> Result<std::vector<float>> {
        if (!ctx.has(i)) return std::vector<float>();
        auto v = ctx.in(i).toFloats();
        if (!v) return v.error();
        if (static_cast<int64_t>(v->size()) == 1) v->assign(static_cast<size_t>(inner), (*v)[0]);
        if (static_cast<int64_t>(v->size()) != inner)
            return invalid(std::string(what) + " must have " + std::to_string(inner) + " entries");
        return v;
    };
    auto scale = bcast(1, "Scale");
    if (!scale) return scale.error();
    auto bias = bcast(2, "B");
    if (!bias) return bias.error();
    const double eps = ctx.node.attrFloat("epsilon", 1e-5);
    auto out = allocate(DType::F32, X.shape());
    if (!out) return out.error();
    Shape statShape = X.shape();
    for (size_t d = static_cast<size_t>(*axis); d < statShape.size(); ++d) statShape[d] = 1;
    auto meanT = allocate(DType::F32, statShape);
    auto invT = allocate(DType::F32, statShape);
    if (!meanT) return meanT.error();
    if (!invT) return invT.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    float* pm = meanT->mutableData<float>();
    float* pi = invT->mutableData<float>();
    parallelFor(ctx.pool, outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1)), [&](int64_t s, int64_t e) {
        for (int64_t o = s; o < e; ++o) {
            const float* xr = x + o * inner;
            double m = 0, v = 0;
            for (int64_t i = 0; i < inner; ++i) m += xr[i];
            m /= static_cast<double>(std::max<int64_t>(inner, 1));
            for (int64_t i = 0; i < inner; ++i) v += (xr[i] - m) * (xr[i] - m);
            v /= static_cast<double>(std::max<int64_t>(inner, 1));
            const double inv = 1.0 / std::sqrt(v + eps);
            pm[o] = static_cast<float>(m);
            pi[o] = static_cast<float>(inv);
            for (int64_t i = 0; i < inner; ++i) {
                double r = (xr[i] - m) * inv;
                if (!scale->empty()) r *= (*scale)[static_cast<size_t>(i)];
                if (!bias->empty()) r += (*bias)[static_cast<size_t>(i)];
                y[o * inner + i] = static_cast<float>(r);
            }
        }
    });
    ctx.outputs[0] = std::move(*out);
    if (ctx.outputs.size() > 1) ctx.outputs[1] = std::move(*meanT);
    if (ctx.outputs.size() > 2) ctx.outputs[2] = std::move(*invT);
    return {};
}

Status lrn(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "input"));
    if (X.rank() < 2) return invalid("LRN needs X [N,C,...]");
    const int64_t size = ctx.node.attrInt("size", 0);
    if (size <= 0) return invalid("size must be positive");
    const double alpha = ctx.node.attrFloat("alpha", 1e-4), beta = ctx.node.attrFloat("beta", 0.75),
                 bias = ctx.node.attrFloat("bias", 1.0);
    const int64_t N = X.shape()[0], C = X.shape()[1], S = N * C != 0 ? X.numel() / (N * C) : 0;
    auto out = allocate(DType::F32, X.shape());
    if (!out) return out.error();
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < S; ++i) {
                double sq = 0;
                for (int64_t k = std::max<int64_t>(0, c - lo); k <= std::min(C - 1, c + hi); ++k) {
                    const double v = x[(n * C + k) * S + i];
                    sq += v * v;
                }
                y[(n * C + c) * S + i] =
                    static_cast<float>(x[(n * C + c) * S + i] / std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
            }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status gemm(KernelContext& ctx) {
    const Tensor& A = ctx.in(0);
    const Tensor& B = ctx.in(1);
    BY_TRY(requireType(A, {DType::F32}, "A"));
    BY_TRY(requireType(B, {DType::F32}, "B"));
    if (A.rank() != 2 || B.rank() != 2) return invalid("Gemm needs 2-D A and B");
    const bool ta = ctx.node.attrInt("transA", 0) != 0, tb = ctx.node.attrInt("transB", 0) != 0;
    const float alpha = static_cast<float>(ctx.node.attrFloat("alpha", 1.0)), beta = static_cast<float>(ctx.node.attrFloat("beta", 1.0));
    const int64_t M = ta ? A.shape()[1] : A.shape()[0], K = ta ? A.shape()[0] : A.shape()[1];
    const int64_t KB = tb ? B.shape()[1] : B.shape()[0], N = tb ? B.shape()[0] : B.shape()[1];
    if (K != KB) return invalid("A " + shapeToString(A.shape()) + " and B " + shapeToString(B.shape()) + " do not multiply");
    auto out = allocate(DType::F32, {M, N});
    if (!out) return out.error();
    float* y = out->mutableData<float>();
    float b = 0.f;
    if (ctx.has(2) && beta != 0.f) {
        const Tensor& C = ctx.in(2);
        BY_TRY(requireType(C, {DType::F32}, "C"));
        const Shape target = {M, N};
        auto plan = planBroadcast({&C.shape(), &target});
        if (!plan || plan->outShape != target) return invalid("C " + shapeToString(C.shape()) + " does not broadcast to " + shapeToString(target));
        const float* pc = C.data<float>();
        forEachRun(*plan, 0, plan->numel, [&](int64_t pos, int64_t n, const int64_t* off, const int64_t* st) {
            for (int64_t i = 0; i < n; ++i) y[pos + i] = pc[off[0] + i * st[0]];
        });
        b = beta;
    }
    if (const auto* sp = static_cast<const Sparse24Weights*>(ctx.prepared); sp && !ta && M <= sparse24MaxRows()) {
        if (b != 0.f && b != 1.f)
            for (int64_t i = 0; i < M * N; ++i) y[i] *= b;
        sparse24Gemm(*sp, A.data<float>(), M, K, y, N, alpha, b != 0.f, ctx.pool);
    } else {
        sgemm(ta, tb, M, N, K, alpha, A.data<float>(), A.shape()[1], B.data<float>(), B.shape()[1], b, y, N, ctx.pool);
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

// Constant B whose groups of four along K hold at most two non-zeros (2:4 pruned): repacked for
// the few-row product (engine/sparse24.h). Small matrices are not worth a second copy.
std::shared_ptr<const void> prepareSparse24(const Tensor* B, bool kMajor) {
    if (!B || B->dtype() != DType::F32 || B->rank() != 2 || B->numel() < 16384) return nullptr;
    const int64_t K = kMajor ? B->shape()[0] : B->shape()[1], N = kMajor ? B->shape()[1] : B->shape()[0];
    auto packed = packSparse24(B->data<float>(), K, N, kMajor);
    if (!packed) return nullptr;
    return std::make_shared<const Sparse24Weights>(std::move(*packed));
}

std::shared_ptr<const void> prepareGemm(const KernelContext& ctx) {
    if (ctx.inputs.size() < 2 || ctx.node.attrInt("transA", 0) != 0) return nullptr;
    return prepareSparse24(ctx.inputs[1], ctx.node.attrInt("transB", 0) == 0);
}

std::shared_ptr<const void> prepareMatMul(const KernelContext& ctx) {
    if (ctx.inputs.size() < 2) return nullptr;
    return prepareSparse24(ctx.inputs[1], true);
}

Status matmul(KernelContext& ctx) {
    const Tensor& A = ctx.in(0);
    const Tensor& B = ctx.in(1);
    BY_TRY(requireType(A, {DType::F32}, "A"));
    BY_TRY(requireType(B, {DType::F32}, "B"));
    if (A.rank() == 0 || B.rank() == 0) return invalid("MatMul inputs must not be scalars");
    Shape as = A.shape(), bs = B.shape();
    const bool aVec = as.size() == 1, bVec = bs.size() == 1;
    if (aVec) as.insert(as.begin(), 1);
    if (bVec) bs.push_back(1);
    const int64_t M = as[as.size() - 2], K = as.back(), KB = bs[bs.size() - 2], N = bs.back();
    if (K != KB) return invalid("A " + shapeToString(A.shape()) + " and B " + shapeToString(B.shape()) + " do not multiply");
    const Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
    auto batch = broadcastShapes(aBatch, bBatch);
    if (!batch) return batch.error();
    Shape outShape = *batch;
    if (!aVec) outShape.push_back(M);
    if (!bVec) outShape.push_back(N);
    auto out = allocateUninit(DType::F32, outShape);
    if (!out) return out.error();
    const float* pa = A.data<float>();
    const float* pb = B.data<float>();
    float* y = out->mutableData<float>();
    const int64_t nb = shapeNumel(*batch);
    if (bBatch.empty() || shapeNumel(bBatch) == 1) {
        // Every A matrix meets the same B: one GEMM with the batch folded into M.
        if (shapeNumel(aBatch) == nb) {
            const auto* sp = static_cast<const Sparse24Weights*>(ctx.prepared);
            if (sp && bs.size() == 2 && nb * M <= sparse24MaxRows())
                sparse24Gemm(*sp, pa, nb * M, K, y, N, 1.f, false, ctx.pool);
            else
                sgemm(false, false, nb * M, N, K, 1.f, pa, K, pb, N, 0.f, y, N, ctx.pool);
            ctx.outputs[0] = std::move(*out);
            return {};
        }
    }
    const Shape bm = *batch;
    auto planA = planBroadcast({&aBatch, &bm});
    auto planB = planBroadcast({&bBatch, &bm});
    if (!planA || !planB) return invalid("batch dimensions do not broadcast");
    std::vector<int64_t> offA(static_cast<size_t>(nb)), offB(static_cast<size_t>(nb));
    auto fill = [&](const BroadcastPlan& p, std::vector<int64_t>& off) {
        if (p.numel == 0) return;
        forEachRun(p, 0, p.numel, [&](int64_t pos, int64_t n, const int64_t* o, const int64_t* st) {
            for (int64_t i = 0; i < n; ++i) off[static_cast<size_t>(pos + i)] = o[0] + i * st[0];
        });
    };
    fill(*planA, offA);
    fill(*planB, offB);
    // Attention-style batches of small products: one product per task, each single-threaded.
    const bool perTask = nb >= 2 && M * N * K < (int64_t(1) << 22);
    parallelFor(perTask ? ctx.pool : nullptr, nb, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            sgemm(false, false, M, N, K, 1.f, pa + offA[static_cast<size_t>(i)] * M * K, K, pb + offB[static_cast<size_t>(i)] * K * N,
                  N, 0.f, y + i * M * N, N, perTask ? nullptr : ctx.pool);
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status checkConv(const Node& n, const Graph& g, int64_t o) {
    const std::string ap = n.attrString("auto_pad", "NOTSET");
    if (ap != "NOTSET" && ap != "SAME_UPPER" && ap != "SAME_LOWER" && ap != "VALID" && !ap.empty())
        return unsupported("auto_pad '" + ap + "' is not known");
    return checkF32(n, g, o);
}

}  // namespace

void registerNnOps(OpRegistry& r) {
    r.add("", "Conv", conv, checkConv);
    r.add("", "ConvTranspose", convTranspose, checkConv);
    r.add("", "ConvInteger", convInteger, [](const Node& n, const Graph& g, int64_t) -> Status {
        return requireDeclared(n, g, 0, {DType::U8, DType::I8});
    });
    r.add("", "QLinearConv", qlinearConv, [](const Node& n, const Graph& g, int64_t) -> Status {
        return requireDeclared(n, g, 0, {DType::U8, DType::I8});
    });
    r.add("", "MaxPool", [](KernelContext& c) { return pool(c, PoolKind::Max); }, checkConv);
    r.add("", "AveragePool", [](KernelContext& c) { return pool(c, PoolKind::Average); }, checkConv);
    r.add("", "LpPool", [](KernelContext& c) { return pool(c, PoolKind::Lp); }, checkConv);
    r.add("", "GlobalAveragePool", [](KernelContext& c) { return globalPool(c, PoolKind::Average); }, checkF32);
    r.add("", "GlobalMaxPool", [](KernelContext& c) { return globalPool(c, PoolKind::Max); }, checkF32);
    r.add("", "GlobalLpPool", [](KernelContext& c) { return globalPool(c, PoolKind::Lp); }, checkF32);
    r.add("", "BatchNormalization", batchNorm, [](const Node& n, const Graph& g, int64_t o) -> Status {
        if (n.attrInt("training_mode", 0) != 0) return unsupported("training_mode is not supported");
        size_t outs = 0;
        for (int v : n.outputs) outs += v >= 0;
        if (outs > 1) return unsupported("training outputs (running mean/var) are not supported");
        return checkF32(n, g, o);
    });
    r.add("", "InstanceNormalization", instanceNorm, checkF32);
    r.add("", "LayerNormalization", layerNorm, checkF32);
    r.add("", "LRN", lrn, checkF32);
    r.add("", "Gemm", gemm, checkF32, prepareGemm);
    r.add("", "MatMul", matmul, checkF32, prepareMatMul);
}

}  // namespace by
