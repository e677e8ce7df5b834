// Kernels for TFLite builtin operators (domain "tflite") and the MediaPipe custom op
// Convolution2DTransposeBias (domain "tflite.custom"), as the TFLite importer puts them in the
// graph: activations NHWC, convolution filters [O, KH, KW, I], depthwise filters
// [1, KH, KW, C * multiplier], option tables as attributes named after the schema fields
// (padding "SAME"/"VALID", stride_w, stride_h, dilation_w_factor, fused_activation_function...).
// Float kernels work on f32; weights stored as f16 (or behind a DEQUANTIZE) are widened first.
//
// NHWC is kept end to end rather than transposing to the NCHW kernels of ops_nn.cpp: a 2-D
// convolution over NHWC is one GEMM of the im2col patches with the [O, KH*KW*I] filter matrix,
// and a 1x1 convolution needs no patches at all, so the direct route is both simpler and faster.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "engine/ops_common.h"

// Declares or assigns `lhs` from a Result, returning its error instead when there is one.
#define TFL_CAT2(a, b) a##b
#define TFL_CAT(a, b) TFL_CAT2(a, b)
#define TFL_ASSIGN(lhs, expr)                                                      \
    auto TFL_CAT(tfl_r_, __LINE__) = (expr);                                       \
    if (!TFL_CAT(tfl_r_, __LINE__).ok()) return std::move(TFL_CAT(tfl_r_, __LINE__).error()); \
    lhs = std::move(*TFL_CAT(tfl_r_, __LINE__))

namespace by {
namespace {

using namespace ops;

// ---- shared helpers ----------------------------------------------------------------------------

enum class Act { None, Relu, ReluN1To1, Relu6, Tanh };

std::optional<Act> parseAct(const std::string& s) {
    if (s.empty() || s == "NONE") return Act::None;
    if (s == "RELU") return Act::Relu;
    if (s == "RELU_N1_TO_1") return Act::ReluN1To1;
    if (s == "RELU6") return Act::Relu6;
    if (s == "TANH") return Act::Tanh;
    return std::nullopt;
}

Act actOf(const Node& n) { return parseAct(n.attrString("fused_activation_function")).value_or(Act::None); }

void applyAct(float* p, int64_t n, Act a) {
    switch (a) {
    case Act::None: return;
    case Act::Relu:
        for (int64_t i = 0; i < n; ++i) p[i] = p[i] > 0.f ? p[i] : 0.f;
        return;
    case Act::ReluN1To1:
        for (int64_t i = 0; i < n; ++i) p[i] = std::min(1.f, std::max(-1.f, p[i]));
        return;
    case Act::Relu6:
        for (int64_t i = 0; i < n; ++i) p[i] = std::min(6.f, std::max(0.f, p[i]));
        return;
    case Act::Tanh:
        for (int64_t i = 0; i < n; ++i) p[i] = std::tanh(p[i]);
        return;
    }
}

// The epilogue of the GEMM-based ops: each of `rows` rows of `cols` values gets the bias (may be
// null) and then the fused activation.
void biasAndActivate(ThreadPool* pool, float* out, int64_t rows, int64_t cols, const float* bias, Act act) {
    parallelFor(pool, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            float* r = out + row * cols;
            if (bias)
                for (int64_t o = 0; o < cols; ++o) r[o] += bias[o];
            applyAct(r, cols, act);
        }
    });
}

// Plan-time check shared by every op with a fused activation.
Status checkAct(const Node& n) {
    const std::string a = n.attrString("fused_activation_function");
    if (!parseAct(a))
        return unsupported("fused activation " + a + " is not supported (expected NONE, RELU, RELU_N1_TO_1, RELU6 or TANH)");
    return {};
}

Status checkPadding(const Node& n) {
    const std::string p = n.attrString("padding", "SAME");
    if (p != "SAME" && p != "VALID") return unsupported("padding " + p + " is not supported (expected SAME or VALID)");
    return {};
}

Status checkWindowed(const Node& n, const Graph&, int64_t) {
    BY_TRY(checkAct(n));
    BY_TRY(checkPadding(n));
    for (const char* k : {"stride_w", "stride_h", "dilation_w_factor", "dilation_h_factor"})
        if (n.attrInt(k, 1) <= 0)
            return invalid(std::string("attribute ") + k + " must be positive, got " + std::to_string(n.attrInt(k, 1)));
    return {};
}

Status checkActOnly(const Node& n, const Graph&, int64_t) { return checkAct(n); }

// An f32 view of a float tensor: in place for f32, widened into `own` for f16/bf16/f64.
struct F32 {
    const float* p = nullptr;
    std::vector<float> own;
};

Result<F32> f32Of(const Tensor& t, const char* what) {
    F32 v;
    if (t.dtype() == DType::F32) {
        v.p = t.data<float>();
        return v;
    }
    if (t.dtype() != DType::F16 && t.dtype() != DType::BF16 && t.dtype() != DType::F64)
        return unsupported(std::string(what) + " has type " + dtypeName(t.dtype()) + "; expected a float tensor");
    TFL_ASSIGN(v.own, t.toFloats());
    v.p = v.own.data();
    return v;
}

// Output size and leading padding of one spatial axis, as TFLite computes them.
struct Window {
    int64_t out = 0, padBefore = 0;
};

Window window(int64_t in, int64_t k, int64_t stride, int64_t dilation, bool same) {
    const int64_t dk = (k - 1) * dilation + 1;
    Window w;
    if (same) {
        w.out = (in + stride - 1) / stride;
        w.padBefore = std::max<int64_t>((w.out - 1) * stride + dk - in, 0) / 2;
    } else {
        w.out = in >= dk ? (in - dk) / stride + 1 : 0;
    }
    return w;
}

Status requireRank(const Tensor& t, int64_t rank, const char* what) {
    if (t.rank() != rank)
        return invalid(std::string(what) + " must have rank " + std::to_string(rank) + ", got " + shapeToString(t.shape()));
    return {};
}

// Bias of `n` elements (input `i`, optional), or nullptr.
Result<F32> biasOf(const KernelContext& ctx, size_t i, int64_t n) {
    if (!ctx.has(i)) return F32{};
    if (ctx.in(i).numel() != n)
        return invalid("bias has " + std::to_string(ctx.in(i).numel()) + " elements, expected " + std::to_string(n));
    return f32Of(ctx.in(i), "bias");
}

// ---- DEQUANTIZE --------------------------------------------------------------------------------

// The importer records affine parameters in the value's doc string ("quantization: scale=0.5
// zero_point=3" or per-axis "scale=[..] zero_point=[..] quantized_dimension=d").
struct Affine {
    std::vector<double> scales;
    std::vector<int64_t> zeros;
    int64_t dim = 0;
};

std::vector<double> parseNumbers(const std::string& doc, const std::string& key) {
    std::vector<double> out;
    const size_t at = doc.find(key + "=");
    if (at == std::string::npos) return out;
    size_t p = at + key.size() + 1;
    const bool list = p < doc.size() && doc[p] == '[';
    if (list) ++p;
    while (p < doc.size()) {
        char* end = nullptr;
        const double v = std::strtod(doc.c_str() + p, &end);
        if (end == doc.c_str() + p) break;
        out.push_back(v);
        p = static_cast<size_t>(end - doc.c_str());
        if (!list || p >= doc.size() || doc[p] != ',') break;
        ++p;
    }
    return out;
}

Affine affineOf(const Value& v) {
    Affine a;
    a.scales = parseNumbers(v.docString, "scale");
    for (double z : parseNumbers(v.docString, "zero_point")) a.zeros.push_back(static_cast<int64_t>(z));
    const auto d = parseNumbers(v.docString, "quantized_dimension");
    if (!d.empty()) a.dim = static_cast<int64_t>(d[0]);
    return a;
}

Status dequantizeKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    if (x.dtype() == DType::F16 || x.dtype() == DType::BF16 || x.dtype() == DType::F32) {
        TFL_ASSIGN(auto f, x.toFloats());
        ctx.outputs[0] = Tensor::fromFloats(x.shape(), f);
        return {};
    }
    if (x.dtype() != DType::I8 && x.dtype() != DType::U8 && x.dtype() != DType::I16 && x.dtype() != DType::I32)
        return unsupported(std::string("DEQUANTIZE of ") + dtypeName(x.dtype()) + " is not supported");
    const Affine a = affineOf(ctx.graph.values[static_cast<size_t>(ctx.node.inputs[0])]);
    if (a.scales.empty()) return invalid("the quantized input carries no scale");
    TFL_ASSIGN(auto f, x.toFloats());
    const int64_t n = x.numel();
    int64_t inner = 1, groups = 1;
    if (a.scales.size() > 1) {
        TFL_ASSIGN(const int64_t d, normalizeAxis(a.dim, x.rank(), "quantized_dimension"));
        groups = x.shape()[static_cast<size_t>(d)];
        if (groups != static_cast<int64_t>(a.scales.size()))
            return invalid("per-axis scales (" + std::to_string(a.scales.size()) + ") do not match dimension " +
                           std::to_string(d) + " of " + shapeToString(x.shape()));
        for (size_t k = static_cast<size_t>(d) + 1; k < x.shape().size(); ++k) inner *= x.shape()[k];
    }
    for (int64_t i = 0; i < n; ++i) {
        const size_t g = groups > 1 ? static_cast<size_t>((i / inner) % groups) : 0;
        const double z = g < a.zeros.size() ? static_cast<double>(a.zeros[g]) : 0.0;
        f[static_cast<size_t>(i)] = static_cast<float>((f[static_cast<size_t>(i)] - z) * a.scales[g]);
    }
    ctx.outputs[0] = Tensor::fromFloats(x.shape(), f);
    return {};
}

// ---- CONV_2D -----------------------------------------------------------------------------------

Status conv2dKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    BY_TRY(requireRank(x, 4, "input"));
    BY_TRY(requireRank(w, 4, "filter"));
    const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const int64_t O = w.shape()[0], KH = w.shape()[1], KW = w.shape()[2];
    if (w.shape()[3] != C)
        return unsupported("filter " + shapeToString(w.shape()) + " does not match the " + std::to_string(C) +
                           " input channels (grouped convolution is not supported)");
    const bool same = ctx.node.attrString("padding", "SAME") == "SAME";
    const int64_t sh = ctx.node.attrInt("stride_h", 1), sw = ctx.node.attrInt("stride_w", 1);
    const int64_t dh = ctx.node.attrInt("dilation_h_factor", 1), dw = ctx.node.attrInt("dilation_w_factor", 1);
    const Window wy = window(H, KH, sh, dh, same), wx = window(W, KW, sw, dw, same);
    TFL_ASSIGN(F32 wf, f32Of(w, "filter"));
    TFL_ASSIGN(F32 bias, biasOf(ctx, 2, O));
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, {N, wy.out, wx.out, O}));
    const float* xp = x.data<float>();
    float* yp = y.mutableData<float>();
    const int64_t P = wy.out * wx.out, K = KH * KW * C;
    const bool direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && wy.padBefore == 0 && wx.padBefore == 0 &&
                        wy.out == H && wx.out == W;
    std::vector<float> cols;
    if (!direct) cols.resize(static_cast<size_t>(P * K));
    for (int64_t n = 0; n < N; ++n) {
        const float* img = xp + n * H * W * C;
        const float* a = img;
        if (!direct) {
            // im2col: one row of KH*KW*C values per output pixel, zeros where the window overhangs.
            parallelFor(ctx.pool, wy.out, 4, [&](int64_t b, int64_t e) {
                for (int64_t oy = b; oy < e; ++oy)
                    for (int64_t ox = 0; ox < wx.out; ++ox) {
                        float* row = cols.data() + (oy * wx.out + ox) * K;
                        for (int64_t ky = 0; ky < KH; ++ky) {
                            const int64_t iy = oy * sh - wy.padBefore + ky * dh;
                            for (int64_t kx = 0; kx < KW; ++kx) {
                                const int64_t ix = ox * sw - wx.padBefore + kx * dw;
                                float* dst = row + (ky * KW + kx) * C;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    std::fill(dst, dst + C, 0.f);
                                else
                                    std::memcpy(dst, img + (iy * W + ix) * C, static_cast<size_t>(C) * 4);
                            }
                        }
                    }
            });
            a = cols.data();
        }
        float* out = yp + n * P * O;
        sgemm(false, true, P, O, K, 1.f, a, K, wf.p, K, 0.f, out, O, ctx.pool);
        biasAndActivate(ctx.pool, out, P, O, bias.p, actOf(ctx.node));
    }
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- DEPTHWISE_CONV_2D -------------------------------------------------------------------------

Status depthwiseKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    BY_TRY(requireRank(x, 4, "input"));
    BY_TRY(requireRank(w, 4, "filter"));
    const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const int64_t KH = w.shape()[1], KW = w.shape()[2], OC = w.shape()[3];
    if (w.shape()[0] != 1 || C <= 0 || OC % C != 0)
        return invalid("depthwise filter " + shapeToString(w.shape()) + " does not fit " + std::to_string(C) +
                       " input channels");
    const int64_t M = OC / C;
    if (const int64_t dm = ctx.node.attrInt("depth_multiplier", 0); dm > 0 && dm != M)
        return invalid("depth_multiplier is " + std::to_string(dm) + " but the filter gives " + std::to_string(M));
    const bool same = ctx.node.attrString("padding", "SAME") == "SAME";
    const int64_t sh = ctx.node.attrInt("stride_h", 1), sw = ctx.node.attrInt("stride_w", 1);
    const int64_t dh = ctx.node.attrInt("dilation_h_factor", 1), dw = ctx.node.attrInt("dilation_w_factor", 1);
    const Window wy = window(H, KH, sh, dh, same), wx = window(W, KW, sw, dw, same);
    TFL_ASSIGN(F32 wf, f32Of(w, "filter"));
    TFL_ASSIGN(F32 bias, biasOf(ctx, 2, OC));
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, {N, wy.out, wx.out, OC}));
    const float* xp = x.data<float>();
    float* yp = y.mutableData<float>();
    const Act act = actOf(ctx.node);
    parallelFor(ctx.pool, N * wy.out, 1, [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            const int64_t n = row / wy.out, oy = row % wy.out;
            const float* img = xp + n * H * W * C;
            for (int64_t ox = 0; ox < wx.out; ++ox) {
                float* r = yp + ((n * wy.out + oy) * wx.out + ox) * OC;
                if (bias.p)
                    std::memcpy(r, bias.p, static_cast<size_t>(OC) * 4);
                else
                    std::fill(r, r + OC, 0.f);
                for (int64_t ky = 0; ky < KH; ++ky) {
                    const int64_t iy = oy * sh - wy.padBefore + ky * dh;
                    if (iy < 0 || iy >= H) continue;
                    for (int64_t kx = 0; kx < KW; ++kx) {
                        const int64_t ix = ox * sw - wx.padBefore + kx * dw;
                        if (ix < 0 || ix >= W) continue;
                        const float* px = img + (iy * W + ix) * C;
                        const float* k = wf.p + (ky * KW + kx) * OC;
                        if (M == 1) {
                            for (int64_t c = 0; c < C; ++c) r[c] += px[c] * k[c];
                        } else {
                            for (int64_t oc = 0; oc < OC; ++oc) r[oc] += px[oc / M] * k[oc];
                        }
                    }
                }
                applyAct(r, OC, act);
            }
        }
    });
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- Transposed convolution (TRANSPOSE_CONV, MediaPipe Convolution2DTransposeBias) --------------

// x [N, H, W, C], filter [O, KH, KW, C]; the output size is given (oh, ow) and the leading
// padding follows TFLite: the padding a forward convolution from the output back to the input
// would use.
Result<Tensor> transposeConv(const KernelContext& ctx, const Tensor& x, const Tensor& w, const F32& bias, int64_t oh,
                             int64_t ow, int64_t sh, int64_t sw, bool same) {
    BY_TRY(requireType(x, {DType::F32}, "input"));
    BY_TRY(requireRank(x, 4, "input"));
    BY_TRY(requireRank(w, 4, "filter"));
    const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const int64_t O = w.shape()[0], KH = w.shape()[1], KW = w.shape()[2];
    if (w.shape()[3] != C)
        return invalid("filter " + shapeToString(w.shape()) + " does not match the " + std::to_string(C) +
                       " input channels");
    if (oh <= 0 || ow <= 0) return invalid("output size " + std::to_string(oh) + "x" + std::to_string(ow) + " is empty");
    const int64_t padH = same ? window(oh, KH, sh, 1, true).padBefore : 0;
    const int64_t padW = same ? window(ow, KW, sw, 1, true).padBefore : 0;
    TFL_ASSIGN(F32 wf, f32Of(w, "filter"));
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, {N, oh, ow, O}));
    float* yp = y.mutableData<float>();
    const int64_t P = H * W, KO = O * KH * KW;
    std::vector<float> cols(static_cast<size_t>(P * KO));
    for (int64_t n = 0; n < N; ++n) {
        // cols[p, (o, ky, kx)] = sum_c x[p, c] * w[o, ky, kx, c]; then each column entry lands on
        // output pixel (iy * sh + ky - padH, ix * sw + kx - padW).
        sgemm(false, true, P, KO, C, 1.f, x.data<float>() + n * P * C, C, wf.p, C, 0.f, cols.data(), KO, ctx.pool);
        float* out = yp + n * oh * ow * O;
        parallelFor(ctx.pool, oh * ow, 1024, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                float* r = out + p * O;
                if (bias.p)
                    std::memcpy(r, bias.p, static_cast<size_t>(O) * 4);
                else
                    std::fill(r, r + O, 0.f);
            }
        });
        // Rows of the output are written by disjoint (oy) ranges: split over output rows and
        // gather from the input rows that reach each one.
        parallelFor(ctx.pool, oh, 1, [&](int64_t b, int64_t e) {
            for (int64_t oy = b; oy < e; ++oy)
                for (int64_t ky = 0; ky < KH; ++ky) {
                    const int64_t t = oy + padH - ky;
                    if (t < 0 || t % sh != 0 || t / sh >= H) continue;
                    const int64_t iy = t / sh;
                    for (int64_t ix = 0; ix < W; ++ix)
                        for (int64_t kx = 0; kx < KW; ++kx) {
                            const int64_t ox = ix * sw + kx - padW;
                            if (ox < 0 || ox >= ow) continue;
                            const float* c = cols.data() + (iy * W + ix) * KO + ky * KW + kx;
                            float* r = out + (oy * ow + ox) * O;
                            for (int64_t o = 0; o < O; ++o) r[o] += c[o * KH * KW];
                        }
                }
        });
    }
    return y;
}

// MediaPipe's custom options are a raw struct: int32 padding (1 = SAME, 2 = VALID, as TfLitePadding),
// int32 stride_width, int32 stride_height.
struct TransposeBiasParams {
    bool same = true;
    int64_t sw = 1, sh = 1;
};

Result<TransposeBiasParams> transposeBiasParams(const Node& n) {
    const Attribute* a = n.attr("custom_options");
    if (!a || a->kind != Attribute::Kind::Tensor || a->t.nbytes() < 12)
        return invalid("Convolution2DTransposeBias needs 12 bytes of custom options (padding, stride_w, stride_h)");
    int32_t v[3];
    std::memcpy(v, a->t.rawData(), sizeof v);
    if (v[0] != 1 && v[0] != 2)
        return unsupported("Convolution2DTransposeBias padding " + std::to_string(v[0]) + " is not SAME (1) or VALID (2)");
    if (v[1] <= 0 || v[2] <= 0)
        return invalid("Convolution2DTransposeBias strides " + std::to_string(v[1]) + "x" + std::to_string(v[2]) +
                       " must be positive");
    return TransposeBiasParams{v[0] == 1, v[1], v[2]};
}

Status checkTransposeBias(const Node& n, const Graph&, int64_t) {
    BY_TRY(transposeBiasParams(n));
    return {};
}

Status transposeBiasKernel(KernelContext& ctx) {
    TFL_ASSIGN(const TransposeBiasParams p, transposeBiasParams(ctx.node));
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    BY_TRY(requireRank(x, 4, "input"));
    BY_TRY(requireRank(w, 4, "filter"));
    const int64_t H = x.shape()[1], W = x.shape()[2], KH = w.shape()[1], KW = w.shape()[2];
    const int64_t oh = p.same ? H * p.sh : (H - 1) * p.sh + KH;
    const int64_t ow = p.same ? W * p.sw : (W - 1) * p.sw + KW;
    TFL_ASSIGN(F32 bias, biasOf(ctx, 2, w.shape()[0]));
    TFL_ASSIGN(ctx.outputs[0], transposeConv(ctx, x, w, bias, oh, ow, p.sh, p.sw, p.same));
    return {};
}

// Builtin TRANSPOSE_CONV: inputs output_shape, filter, input, optional bias.
Status transposeConvKernel(KernelContext& ctx) {
    TFL_ASSIGN(const auto shape, readInts(ctx.in(0), "output_shape"));
    if (shape.size() != 4) return invalid("output_shape must have 4 values");
    const Tensor& w = ctx.in(1);
    BY_TRY(requireRank(w, 4, "filter"));
    TFL_ASSIGN(F32 bias, biasOf(ctx, 3, w.shape()[0]));
    if (shape[3] != w.shape()[0] || shape[0] != ctx.in(2).shape().at(0))
        return invalid("output_shape " + shapeToString(shape) + " does not match the filter and input");
    const bool same = ctx.node.attrString("padding", "SAME") == "SAME";
    TFL_ASSIGN(Tensor y, transposeConv(ctx, ctx.in(2), w, bias, shape[1], shape[2], ctx.node.attrInt("stride_h", 1),
                                      ctx.node.attrInt("stride_w", 1), same));
    applyAct(y.mutableData<float>(), y.numel(), actOf(ctx.node));
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- pooling -----------------------------------------------------------------------------------

template <bool kMax>
Status poolKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    BY_TRY(requireRank(x, 4, "input"));
    const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const int64_t KH = ctx.node.attrInt("filter_height", 1), KW = ctx.node.attrInt("filter_width", 1);
    if (KH <= 0 || KW <= 0) return invalid("filter size must be positive");
    const bool same = ctx.node.attrString("padding", "SAME") == "SAME";
    const int64_t sh = ctx.node.attrInt("stride_h", 1), sw = ctx.node.attrInt("stride_w", 1);
    const Window wy = window(H, KH, sh, 1, same), wx = window(W, KW, sw, 1, same);
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, {N, wy.out, wx.out, C}));
    const float* xp = x.data<float>();
    float* yp = y.mutableData<float>();
    const Act act = actOf(ctx.node);
    parallelFor(ctx.pool, N * wy.out, 1, [&](int64_t b, int64_t e) {
        std::vector<float> acc(static_cast<size_t>(C));
        for (int64_t row = b; row < e; ++row) {
            const int64_t n = row / wy.out, oy = row % wy.out;
            const int64_t y0 = std::max<int64_t>(oy * sh - wy.padBefore, 0);
            const int64_t y1 = std::min<int64_t>(oy * sh - wy.padBefore + KH, H);
            for (int64_t ox = 0; ox < wx.out; ++ox) {
                const int64_t x0 = std::max<int64_t>(ox * sw - wx.padBefore, 0);
                const int64_t x1 = std::min<int64_t>(ox * sw - wx.padBefore + KW, W);
                std::fill(acc.begin(), acc.end(), kMax ? -std::numeric_limits<float>::infinity() : 0.f);
                for (int64_t iy = y0; iy < y1; ++iy)
                    for (int64_t ix = x0; ix < x1; ++ix) {
                        const float* px = xp + ((n * H + iy) * W + ix) * C;
                        for (int64_t c = 0; c < C; ++c) {
                            if constexpr (kMax)
                                acc[static_cast<size_t>(c)] = std::max(acc[static_cast<size_t>(c)], px[c]);
                            else
                                acc[static_cast<size_t>(c)] += px[c];
                        }
                    }
                float* r = yp + ((n * wy.out + oy) * wx.out + ox) * C;
                // Averages count only the elements inside the input, as TFLite does.
                const float count = static_cast<float>(std::max<int64_t>((y1 - y0) * (x1 - x0), 1));
                for (int64_t c = 0; c < C; ++c) r[c] = kMax ? acc[static_cast<size_t>(c)] : acc[static_cast<size_t>(c)] / count;
                applyAct(r, C, act);
            }
        }
    });
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- element-wise ------------------------------------------------------------------------------

enum class BinOp { Add, Sub, Mul, Div, Max, Min };

template <BinOp kOp>
Status binaryKernel(KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    BY_TRY(requireType(a, {DType::F32}, "input 0"));
    BY_TRY(requireType(b, {DType::F32}, "input 1"));
    TFL_ASSIGN(const BroadcastPlan plan, planBroadcast({&a.shape(), &b.shape()}));
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, plan.outShape));
    const float* ap = a.data<float>();
    const float* bp = b.data<float>();
    float* yp = y.mutableData<float>();
    const Act act = actOf(ctx.node);
    parallelFor(ctx.pool, plan.numel, 16384, [&](int64_t begin, int64_t end) {
        forEachRun(plan, begin, end, [&](int64_t pos, int64_t count, const int64_t* off, const int64_t* step) {
            const float* pa = ap + off[0];
            const float* pb = bp + off[1];
            float* r = yp + pos;
            for (int64_t i = 0; i < count; ++i) {
                const float u = pa[i * step[0]], v = pb[i * step[1]];
                if constexpr (kOp == BinOp::Add) r[i] = u + v;
                else if constexpr (kOp == BinOp::Sub) r[i] = u - v;
                else if constexpr (kOp == BinOp::Mul) r[i] = u * v;
                else if constexpr (kOp == BinOp::Div) r[i] = u / v;
                else if constexpr (kOp == BinOp::Max) r[i] = std::max(u, v);
                else r[i] = std::min(u, v);
            }
            applyAct(r, count, act);
        });
    });
    ctx.outputs[0] = std::move(y);
    return {};
}

enum class UnOp { Relu, Relu6, ReluN1To1, Logistic, Tanh, HardSwish };

template <UnOp kOp>
Status unaryKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, x.shape()));
    const float* xp = x.data<float>();
    float* yp = y.mutableData<float>();
    parallelFor(ctx.pool, x.numel(), 16384, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            const float v = xp[i];
            if constexpr (kOp == UnOp::Relu) yp[i] = v > 0.f ? v : 0.f;
            else if constexpr (kOp == UnOp::Relu6) yp[i] = std::min(6.f, std::max(0.f, v));
            else if constexpr (kOp == UnOp::ReluN1To1) yp[i] = std::min(1.f, std::max(-1.f, v));
            else if constexpr (kOp == UnOp::Logistic) yp[i] = 1.f / (1.f + std::exp(-v));
            else if constexpr (kOp == UnOp::Tanh) yp[i] = std::tanh(v);
            else yp[i] = v * std::min(6.f, std::max(0.f, v + 3.f)) / 6.f;
        }
    });
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- shape ops ---------------------------------------------------------------------------------

Status reshapeKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    std::vector<int64_t> shape;
    if (ctx.has(1)) {
        TFL_ASSIGN(shape, readInts(ctx.in(1), "shape"));
    } else {
        shape = ctx.node.attrInts("new_shape");
    }
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (unknown >= 0) return invalid("the new shape " + shapeToString(shape) + " has more than one -1");
            unknown = static_cast<int64_t>(i);
        } else if (shape[i] < 0) {
            return invalid("the new shape " + shapeToString(shape) + " has a negative dimension");
        } else {
            known *= shape[i];
        }
    }
    if (unknown >= 0) {
        if (known == 0 || x.numel() % known != 0)
            return invalid("cannot reshape " + shapeToString(x.shape()) + " to " + shapeToString(shape));
        shape[static_cast<size_t>(unknown)] = x.numel() / known;
    }
    TFL_ASSIGN(ctx.outputs[0], x.reshaped(shape));
    return {};
}

Status padKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const size_t es = elementSize(x.dtype());
    if (es == 0) return unsupported(std::string("PAD of ") + dtypeName(x.dtype()) + " is not supported");
    TFL_ASSIGN(const auto pads, readInts(ctx.in(1), "paddings"));
    const auto r = static_cast<size_t>(x.rank());
    if (pads.size() != 2 * r)
        return invalid("paddings has " + std::to_string(pads.size()) + " values for an input of rank " + std::to_string(r));
    Shape out(r);
    for (size_t d = 0; d < r; ++d) {
        if (pads[2 * d] < 0 || pads[2 * d + 1] < 0) return invalid("negative paddings are not supported");
        out[d] = x.shape()[d] + pads[2 * d] + pads[2 * d + 1];
    }
    TFL_ASSIGN(Tensor y, allocate(x.dtype(), out));
    if (ctx.has(2) && x.dtype() == DType::F32) {  // PADV2's constant value
        TFL_ASSIGN(const auto v, readDoubles(ctx.in(2), "constant_values"));
        if (!v.empty()) std::fill_n(y.mutableData<float>(), y.numel(), static_cast<float>(v[0]));
    }
    if (x.numel() == 0) {
        ctx.outputs[0] = std::move(y);
        return {};
    }
    // Copy rows of the innermost dimension.
    const int64_t inner = r ? x.shape()[r - 1] : 1;
    const int64_t rows = inner ? x.numel() / inner : 0;
    const auto os = contiguousStrides(out);
    Shape outer(x.shape().begin(), x.shape().end() - (r ? 1 : 0));
    Odometer od(outer);
    const uint8_t* src = x.rawData();
    uint8_t* dst = y.mutableRawData();
    for (int64_t row = 0; row < rows; ++row) {
        int64_t o = r ? pads[2 * (r - 1)] : 0;
        for (size_t d = 0; d + 1 < r; ++d) o += (od.index[d] + pads[2 * d]) * os[d];
        std::memcpy(dst + o * static_cast<int64_t>(es), src + row * inner * static_cast<int64_t>(es),
                    static_cast<size_t>(inner) * es);
        od.next();
    }
    ctx.outputs[0] = std::move(y);
    return {};
}

Status concatKernel(KernelContext& ctx) {
    const Tensor& first = ctx.in(0);
    const size_t es = elementSize(first.dtype());
    if (es == 0) return unsupported(std::string("CONCATENATION of ") + dtypeName(first.dtype()) + " is not supported");
    TFL_ASSIGN(const int64_t axis, normalizeAxis(ctx.node.attrInt("axis", 0), first.rank()));
    Shape out = first.shape();
    out[static_cast<size_t>(axis)] = 0;
    for (size_t i = 0; i < ctx.inputCount(); ++i) {
        const Tensor& t = ctx.in(i);
        if (t.dtype() != first.dtype() || t.rank() != first.rank())
            return invalid("input " + std::to_string(i) + " " + shapeToString(t.shape()) + " does not match input 0 " +
                           shapeToString(first.shape()));
        for (size_t d = 0; d < out.size(); ++d)
            if (static_cast<int64_t>(d) != axis && t.shape()[d] != first.shape()[d])
                return invalid("input " + std::to_string(i) + " " + shapeToString(t.shape()) +
                               " does not match input 0 " + shapeToString(first.shape()) + " off the axis");
        out[static_cast<size_t>(axis)] += t.shape()[static_cast<size_t>(axis)];
    }
    TFL_ASSIGN(Tensor y, allocateUninit(first.dtype(), out));
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[static_cast<size_t>(d)];
    const int64_t outRow = outer ? y.numel() / outer : 0;
    uint8_t* dst = y.mutableRawData();
    int64_t col = 0;
    for (size_t i = 0; i < ctx.inputCount(); ++i) {
        const Tensor& t = ctx.in(i);
        const int64_t row = outer ? t.numel() / outer : 0;
        for (int64_t o = 0; o < outer; ++o)
            std::memcpy(dst + (o * outRow + col) * static_cast<int64_t>(es), t.rawData() + o * row * static_cast<int64_t>(es),
                        static_cast<size_t>(row) * es);
        col += row;
    }
    if (y.dtype() == DType::F32) applyAct(y.mutableData<float>(), y.numel(), actOf(ctx.node));
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- RESIZE_BILINEAR ---------------------------------------------------------------------------

Status checkResize(const Node& n, const Graph&, int64_t) {
    if (n.attrInt("align_corners", 0) && n.attrInt("half_pixel_centers", 0))
        return invalid("align_corners and half_pixel_centers cannot both be set");
    return {};
}

Status resizeBilinearKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    BY_TRY(requireRank(x, 4, "input"));
    TFL_ASSIGN(const auto size, readInts(ctx.in(1), "size"));
    if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) return invalid("size must hold two positive values");
    const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    const int64_t OH = size[0], OW = size[1];
    const bool align = ctx.node.attrInt("align_corners", 0) != 0;
    const bool half = ctx.node.attrInt("half_pixel_centers", 0) != 0;
    auto scaleOf = [&](int64_t in, int64_t out) {
        return align && out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                : static_cast<float>(in) / static_cast<float>(out);
    };
    struct Tap {
        int64_t lo, hi;
        float frac;
    };
    auto taps = [&](int64_t in, int64_t out) {
        const float s = scaleOf(in, out);
        std::vector<Tap> t(static_cast<size_t>(out));
        for (int64_t i = 0; i < out; ++i) {
            const float v = half ? (static_cast<float>(i) + 0.5f) * s - 0.5f : static_cast<float>(i) * s;
            const int64_t lo = std::max<int64_t>(static_cast<int64_t>(std::floor(v)), 0);
            const int64_t hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(v)), in - 1);
            t[static_cast<size_t>(i)] = {std::min(lo, in - 1), hi, v - static_cast<float>(lo)};
        }
        return t;
    };
    const auto ty = taps(H, OH), tx = taps(W, OW);
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, {N, OH, OW, C}));
    const float* xp = x.data<float>();
    float* yp = y.mutableData<float>();
    parallelFor(ctx.pool, N * OH, 1, [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            const int64_t n = row / OH, oy = row % OH;
            const Tap& a = ty[static_cast<size_t>(oy)];
            const float* r0 = xp + (n * H + a.lo) * W * C;
            const float* r1 = xp + (n * H + a.hi) * W * C;
            for (int64_t ox = 0; ox < OW; ++ox) {
                const Tap& t = tx[static_cast<size_t>(ox)];
                float* o = yp + ((n * OH + oy) * OW + ox) * C;
                for (int64_t c = 0; c < C; ++c) {
                    const float top = r0[t.lo * C + c] * (1.f - t.frac) + r0[t.hi * C + c] * t.frac;
                    const float bot = r1[t.lo * C + c] * (1.f - t.frac) + r1[t.hi * C + c] * t.frac;
                    o[c] = top * (1.f - a.frac) + bot * a.frac;
                }
            }
        }
    });
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- FULLY_CONNECTED ---------------------------------------------------------------------------

Status checkFullyConnected(const Node& n, const Graph& g, int64_t o) {
    BY_TRY(checkActOnly(n, g, o));
    const std::string wf = n.attrString("weights_format", "DEFAULT");
    if (wf != "DEFAULT") return unsupported("weights_format " + wf + " is not supported");
    return {};
}

Status fullyConnectedKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    BY_TRY(requireRank(w, 2, "weights"));
    const int64_t O = w.shape()[0], K = w.shape()[1];
    if (K <= 0 || x.numel() % K != 0)
        return invalid("input " + shapeToString(x.shape()) + " does not divide into rows of " + std::to_string(K));
    const int64_t M = x.numel() / K;
    TFL_ASSIGN(F32 wf, f32Of(w, "weights"));
    TFL_ASSIGN(F32 bias, biasOf(ctx, 2, O));
    Shape out = {M, O};
    if (ctx.node.attrInt("keep_num_dims", 0) && x.rank() >= 1 && x.shape().back() == K) {
        out = x.shape();
        out.back() = O;
    }
    TFL_ASSIGN(Tensor y, allocateUninit(DType::F32, out));
    float* yp = y.mutableData<float>();
    sgemm(false, true, M, O, K, 1.f, x.data<float>(), K, wf.p, K, 0.f, yp, O, ctx.pool);
    biasAndActivate(ctx.pool, yp, M, O, bias.p, actOf(ctx.node));
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- MEAN --------------------------------------------------------------------------------------

Status meanKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    TFL_ASSIGN(const auto axes, readInts(ctx.in(1), "axes"));
    const auto r = static_cast<size_t>(x.rank());
    std::vector<bool> reduced(r, false);
    for (int64_t a : axes) {
        TFL_ASSIGN(const int64_t d, normalizeAxis(a, x.rank(), "axes"));
        reduced[static_cast<size_t>(d)] = true;
    }
    const bool keep = ctx.node.attrInt("keep_dims", 0) != 0;
    Shape kept(r), out;
    int64_t count = 1;
    for (size_t d = 0; d < r; ++d) {
        kept[d] = reduced[d] ? 1 : x.shape()[d];
        if (reduced[d]) count *= x.shape()[d];
        if (!reduced[d] || keep) out.push_back(kept[d]);
    }
    TFL_ASSIGN(Tensor y, allocate(DType::F32, out));
    float* yp = y.mutableData<float>();
    const auto ks = contiguousStrides(kept);
    const float* xp = x.data<float>();
    Odometer od(x.shape());
    std::vector<double> acc(static_cast<size_t>(y.numel()), 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t o = 0;
        for (size_t d = 0; d < r; ++d)
            if (!reduced[d]) o += od.index[d] * ks[d];
        acc[static_cast<size_t>(o)] += xp[i];
        od.next();
    }
    for (size_t i = 0; i < acc.size(); ++i) yp[i] = static_cast<float>(acc[i] / static_cast<double>(std::max<int64_t>(count, 1)));
    ctx.outputs[0] = std::move(y);
    return {};
}

// ---- sparse weights and DEPTH_TO_SPACE -------------------------------------------------------------

// The importer already expands sparse constants to dense tensors, so DENSIFY passes its input on.
Status densifyKernel(KernelContext& ctx) {
    ctx.outputs[0] = ctx.in(0);
    return {};
}

// NHWC: output (h * b + dy, w * b + dx, c) reads input channel (dy * b + dx) * C_out + c.
Status depthToSpaceKernel(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireRank(x, 4, "input"));
    const size_t es = elementSize(x.dtype());
    if (es == 0) return unsupported(std::string("DEPTH_TO_SPACE of ") + dtypeName(x.dtype()) + " is not supported");
    const int64_t b = ctx.node.attrInt("block_size", 0);
    const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
    if (b <= 0 || C % (b * b) != 0)
        return invalid("block_size " + std::to_string(b) + " does not divide the " + std::to_string(C) + " channels");
    const int64_t OC = C / (b * b);
    TFL_ASSIGN(Tensor y, allocateUninit(x.dtype(), {N, H * b, W * b, OC}));
    const uint8_t* src = x.rawData();
    uint8_t* dst = y.mutableRawData();
    const auto rowBytes = static_cast<size_t>(OC) * es;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w)
                for (int64_t dy = 0; dy < b; ++dy)
                    for (int64_t dx = 0; dx < b; ++dx) {
                        const int64_t o = ((n * H * b + h * b + dy) * W * b + w * b + dx) * OC;
                        const int64_t i = ((n * H + h) * W + w) * C + (dy * b + dx) * OC;
                        std::memcpy(dst + o * static_cast<int64_t>(es), src + i * static_cast<int64_t>(es), rowBytes);
                    }
    ctx.outputs[0] = std::move(y);
    return {};
}

}  // namespace

void registerTfliteOps(OpRegistry& r) {
    r.add("tflite", "DEQUANTIZE", dequantizeKernel);
    r.add("tflite", "CONV_2D", conv2dKernel, checkWindowed);
    r.add("tflite", "DEPTHWISE_CONV_2D", depthwiseKernel, checkWindowed);
    r.add("tflite", "TRANSPOSE_CONV", transposeConvKernel, checkWindowed);
    r.add("tflite.custom", "Convolution2DTransposeBias", transposeBiasKernel, checkTransposeBias);
    r.add("tflite", "MAX_POOL_2D", poolKernel<true>, checkWindowed);
    r.add("tflite", "AVERAGE_POOL_2D", poolKernel<false>, checkWindowed);
    r.add("tflite", "ADD", binaryKernel<BinOp::Add>, checkActOnly);
    r.add("tflite", "SUB", binaryKernel<BinOp::Sub>, checkActOnly);
    r.add("tflite", "MUL", binaryKernel<BinOp::Mul>, checkActOnly);
    r.add("tflite", "DIV", binaryKernel<BinOp::Div>, checkActOnly);
    r.add("tflite", "MAXIMUM", binaryKernel<BinOp::Max>);
    r.add("tflite", "MINIMUM", binaryKernel<BinOp::Min>);
    r.add("tflite", "RELU", unaryKernel<UnOp::Relu>);
    r.add("tflite", "RELU6", unaryKernel<UnOp::Relu6>);
    r.add("tflite", "RELU_N1_TO_1", unaryKernel<UnOp::ReluN1To1>);
    r.add("tflite", "LOGISTIC", unaryKernel<UnOp::Logistic>);
    r.add("tflite", "TANH", unaryKernel<UnOp::Tanh>);
    r.add("tflite", "HARD_SWISH", unaryKernel<UnOp::HardSwish>);
    r.add("tflite", "RESHAPE", reshapeKernel);
    r.add("tflite", "PAD", padKernel);
    r.add("tflite", "PADV2", padKernel);
    r.add("tflite", "CONCATENATION", concatKernel, checkActOnly);
    r.add("tflite", "RESIZE_BILINEAR", resizeBilinearKernel, checkResize);
    r.add("tflite", "FULLY_CONNECTED", fullyConnectedKernel, checkFullyConnected);
    r.add("tflite", "MEAN", meanKernel);
    r.add("tflite", "DENSIFY", densifyKernel);
    r.add("tflite", "DEPTH_TO_SPACE", depthToSpaceKernel);
}

}  // namespace by
