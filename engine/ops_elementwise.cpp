// Elementwise kernels: unary math and activations, broadcasting arithmetic, comparisons and
// logic, the variadic Sum/Mean/Max/Min and Clip.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops_common.h"

namespace by {

namespace {
using namespace ops;

// ---------------------------------------------------------------------------------------------
// Unary

// Applies `op` element by element over the types `visit` accepts; `visited` tells the caller
// whether the input type was one of them.
template <class Visit, class Op>
Status unaryMap(KernelContext& ctx, Visit visit, Op op, bool& visited) {
    const Tensor& x = ctx.in(0);
    Status st;
    visited = visit(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = allocateUninit(x.dtype(), x.shape());
        if (!out) {
            st = out.error();
            return;
        }
        const T* px = x.data<T>();
        T* po = out->template mutableData<T>();
        parallelFor(ctx.pool, x.numel(), 32768, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) po[i] = static_cast<T>(op(px[i]));
        });
        ctx.outputs[0] = std::move(*out);
    });
    return st;
}

template <class Op>
Status unaryFloat(KernelContext& ctx, Op op) {
    bool visited = false;
    Status st = unaryMap(ctx, [](DType t, auto&& f) { return visitFloat(t, f); }, op, visited);
    if (!visited) return requireType(ctx.in(0), {DType::F32, DType::F64}, "input");
    return st;
}

// Same, for ops defined on every numeric type (Abs, Neg, Sign).
template <class Op>
Status unaryNumeric(KernelContext& ctx, Op op) {
    bool visited = false;
    Status st = unaryMap(ctx, [](DType t, auto&& f) { return visitNumeric(t, f); }, op, visited);
    if (!visited)
        return unsupported(std::string("input of type ") + dtypeName(ctx.in(0).dtype()) + " is not supported");
    return st;
}

Status checkFloat(const Node& n, const Graph& g, int64_t) { return requireDeclared(n, g, 0, {DType::F32, DType::F64}); }
Status checkNumeric(const Node& n, const Graph& g, int64_t) {
    return requireDeclared(n, g, 0, {DType::F32, DType::F64, DType::I8, DType::U8, DType::I16, DType::U16, DType::I32,
                                     DType::U32, DType::I64, DType::U64});
}
Status checkAll(const Node& n, const Graph& g, int64_t) {
    return requireDeclared(n, g, 0, {DType::F32, DType::F64, DType::I8, DType::U8, DType::I16, DType::U16, DType::I32,
                                     DType::U32, DType::I64, DType::U64, DType::Bool});
}
Status checkBool(const Node& n, const Graph& g, int64_t) { return requireDeclared(n, g, 0, {DType::Bool}); }

float attrF(const KernelContext& c, const char* k, double def) { return static_cast<float>(c.node.attrFloat(k, def)); }

template <class T>
T roundHalfEven(T x) {
    return std::nearbyint(x);  // default rounding mode: to nearest, ties to even
}

Status isNaN(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    auto out = allocate(DType::Bool, x.shape());
    if (!out) return out.error();
    auto* po = out->mutableData<uint8_t>();
    const bool ok = visitFloat(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        for (int64_t i = 0; i < x.numel(); ++i) po[i] = std::isnan(px[i]);
    });
    if (!ok) return requireType(x, {DType::F32, DType::F64}, "input");
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status isInf(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const bool neg = ctx.node.attrInt("detect_negative", 1) != 0, pos = ctx.node.attrInt("detect_positive", 1) != 0;
    auto out = allocate(DType::Bool, x.shape());
    if (!out) return out.error();
    auto* po = out->mutableData<uint8_t>();
    const bool ok = visitFloat(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        for (int64_t i = 0; i < x.numel(); ++i)
            po[i] = std::isinf(px[i]) && ((px[i] > 0 && pos) || (px[i] < 0 && neg));
    });
    if (!ok) return requireType(x, {DType::F32, DType::F64}, "input");
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status notOp(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::Bool}, "input"));
    auto out = allocate(DType::Bool, x.shape());
    if (!out) return out.error();
    const auto* px = x.data<uint8_t>();
    auto* po = out->mutableData<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) po[i] = !px[i];
    ctx.outputs[0] = std::move(*out);
    return {};
}

// ---------------------------------------------------------------------------------------------
// Binary with broadcasting

template <class TA, class TB, class TO, class Op>
Status binaryTyped(KernelContext& ctx, const Tensor& a, const Tensor& b, DType outType, Op op, Tensor* result) {
    auto plan = planBroadcast({&a.shape(), &b.shape()});
    if (!plan) return plan.error();
    auto out = allocate(outType, plan->outShape);
    if (!out) return out.error();
    const TA* pa = a.data<TA>();
    const TB* pb = b.data<TB>();
    TO* po = out->template mutableData<TO>();
    const BroadcastPlan& p = *plan;
    parallelFor(ctx.pool, p.numel, 16384, [&](int64_t begin, int64_t end) {
        forEachRun(p, begin, end, [&](int64_t o, int64_t n, const int64_t* off, const int64_t* st) {
            const TA* x = pa + off[0];
            const TB* y = pb + off[1];
            TO* z = po + o;
            if (st[0] == 1 && st[1] == 1) {
                for (int64_t i = 0; i < n; ++i) z[i] = static_cast<TO>(op(x[i], y[i]));
            } else if (st[0] == 1 && st[1] == 0) {
                const TB yv = *y;
                for (int64_t i = 0; i < n; ++i) z[i] = static_cast<TO>(op(x[i], yv));
            } else if (st[0] == 0 && st[1] == 1) {
                const TA xv = *x;
                for (int64_t i = 0; i < n; ++i) z[i] = static_cast<TO>(op(xv, y[i]));
            } else {
                for (int64_t i = 0; i < n; ++i) z[i] = static_cast<TO>(op(x[i * st[0]], y[i * st[1]]));
            }
        });
    });
    *result = std::move(*out);
    return {};
}

Status sameType(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype())
        return invalid(std::string("inputs have different types (") + dtypeName(a.dtype()) + " and " +
                       dtypeName(b.dtype()) + ")");
    return {};
}

// Arithmetic on any numeric type; result has the input type.
template <class Op>
Status arith(KernelContext& ctx, const Tensor& a, const Tensor& b, Op op, Tensor* out) {
    BY_TRY(sameType(a, b));
    Status st;
    const bool ok = visitNumeric(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        st = binaryTyped<T, T, T>(ctx, a, b, a.dtype(), [&](T x, T y) { return op(x, y); }, out);
    });
    if (!ok) return unsupported(std::string("inputs of type ") + dtypeName(a.dtype()) + " are not supported");
    return st;
}

template <class Op>
Status binaryArith(KernelContext& ctx, Op op) {
    return arith(ctx, ctx.in(0), ctx.in(1), op, &ctx.outputs[0]);
}

struct AddOp {
    template <class T> T operator()(T x, T y) const { return static_cast<T>(x + y); }
};
struct SubOp {
    template <class T> T operator()(T x, T y) const { return static_cast<T>(x - y); }
};
struct MulOp {
    template <class T> T operator()(T x, T y) const { return static_cast<T>(x * y); }
};
struct DivOp {
    template <class T> T operator()(T x, T y) const {
        if constexpr (std::is_integral_v<T>) return y == 0 ? T(0) : static_cast<T>(x / y);
        else return x / y;
    }
};
struct MaxOp {
    template <class T> T operator()(T x, T y) const {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
        return x > y ? x : y;
    }
};
struct MinOp {
    template <class T> T operator()(T x, T y) const {
        if constexpr (std::is_floating_point_v<T>)
            if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
        return x < y ? x : y;
    }
};

Status modOp(KernelContext& ctx) {
    const bool cmod = ctx.node.attrInt("fmod", 0) != 0;
    return binaryArith(ctx, [cmod](auto x, auto y) {
        using T = decltype(x);
        if constexpr (std::is_floating_point_v<T>) {
            T r = std::fmod(x, y);
            if (!cmod && r != 0 && ((r < 0) != (y < 0))) r += y;
            return r;
        } else {
            if (y == 0) return T(0);
            T r = static_cast<T>(x % y);
            if constexpr (std::is_signed_v<T>)
                if (!cmod && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
            return r;
        }
    });
}

Status bitShift(KernelContext& ctx) {
    const std::string dir = ctx.node.attrString("direction");
    if (dir != "LEFT" && dir != "RIGHT") return invalid("attribute 'direction' must be LEFT or RIGHT");
    const bool left = dir == "LEFT";
    const DType t = ctx.in(0).dtype();
    if (t != DType::U8 && t != DType::U16 && t != DType::U32 && t != DType::U64)
        return unsupported(std::string("BitShift on ") + dtypeName(t) + " is not supported (unsigned types only)");
    return binaryArith(ctx, [left](auto x, auto y) {
        using T = decltype(x);
        if constexpr (std::is_integral_v<T>) {
            if (static_cast<uint64_t>(y) >= sizeof(T) * 8) return T(0);
            return static_cast<T>(left ? x << y : x >> y);
        } else {
            return x;
        }
    });
}

Status powOp(KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    // Fast paths for the squares and roots of decomposed norms.
    if (a.dtype() == DType::F32 && b.numel() == 1 && (b.dtype() == DType::F32 || b.dtype() == DType::F64)) {
        auto e = readDoubles(b, "exponent");
        if (!e) return e.error();
        const double ev = (*e)[0];
        if (ev == 2.0 || ev == 1.0 || ev == 0.5) {
            auto out = allocate(DType::F32, *broadcastShapes(a.shape(), b.shape()));
            if (!out) return out.error();
            const float* px = a.data<float>();
            float* po = out->mutableData<float>();
            parallelFor(ctx.pool, a.numel(), 32768, [&](int64_t s, int64_t t) {
                if (ev == 2.0) for (int64_t i = s; i < t; ++i) po[i] = px[i] * px[i];
                else if (ev == 1.0) for (int64_t i = s; i < t; ++i) po[i] = px[i];
                else for (int64_t i = s; i < t; ++i) po[i] = std::sqrt(px[i]);
            });
            ctx.outputs[0] = std::move(*out);
            return {};
        }
    }
    Status st;
    bool ok = false;
    visitNumeric(a.dtype(), [&](auto ta) {
        using TA = decltype(ta);
        ok = visitNumeric(b.dtype(), [&](auto tb) {
            using TB = decltype(tb);
            st = binaryTyped<TA, TB, TA>(
                ctx, a, b, a.dtype(),
                [](TA x, TB y) { return static_cast<TA>(std::pow(static_cast<double>(x), static_cast<double>(y))); },
                &ctx.outputs[0]);
        });
    });
    if (!ok)
        return unsupported(std::string("Pow on ") + dtypeName(a.dtype()) + " and " + dtypeName(b.dtype()) + " is not supported");
    return st;
}

Status preluOp(KernelContext& ctx) {
    // Before opset 7 a 1-D slope of C values is per channel (axis 1), not numpy-broadcast.
    const Tensor& x = ctx.in(0);
    const Tensor& slope = ctx.in(1);
    Tensor channelSlope;
    if (ctx.opset > 0 && ctx.opset < 7 && slope.rank() == 1 && x.rank() >= 2 && slope.numel() == x.shape()[1] &&
        slope.numel() > 1) {
        Shape s(static_cast<size_t>(x.rank() - 1), 1);
        s[0] = slope.numel();
        auto r = slope.reshaped(s);
        if (!r) return r.error();
        channelSlope = std::move(*r);
        ctx.inputs[1] = &channelSlope;
    }
    return binaryArith(ctx, [](auto v, auto a) { return v < 0 ? static_cast<decltype(v)>(v * a) : v; });
}

template <class Op>
Status compare(KernelContext& ctx, Op op) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    BY_TRY(sameType(a, b));
    Status st;
    const bool ok = visitAll(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        st = binaryTyped<T, T, uint8_t>(ctx, a, b, DType::Bool, [&](T x, T y) { return op(x, y) ? 1 : 0; },
                                        &ctx.outputs[0]);
    });
    if (!ok) return unsupported(std::string("inputs of type ") + dtypeName(a.dtype()) + " are not supported");
    return st;
}

template <class Op>
Status logic(KernelContext& ctx, Op op) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    BY_TRY(requireType(a, {DType::Bool}, "input"));
    BY_TRY(requireType(b, {DType::Bool}, "input"));
    return binaryTyped<uint8_t, uint8_t, uint8_t>(
        ctx, a, b, DType::Bool, [&](uint8_t x, uint8_t y) { return op(x != 0, y != 0) ? 1 : 0; }, &ctx.outputs[0]);
}

// Sum / Max / Min / Mean over any number of broadcast inputs.
template <class Op>
Status variadic(KernelContext& ctx, Op op, bool mean) {
    if (ctx.inputCount() == 0 || !ctx.has(0)) return invalid("needs at least one input");
    Tensor acc = ctx.in(0);
    if (ctx.inputCount() == 1) {
        ctx.outputs[0] = acc;
        return {};
    }
    for (size_t i = 1; i < ctx.inputCount(); ++i) {
        if (!ctx.has(i)) continue;
        Tensor next;
        BY_TRY(arith(ctx, acc, ctx.in(i), op, &next));
        acc = std::move(next);
    }
    if (mean) {
        const double n = static_cast<double>(ctx.inputCount());
        Tensor scaled = acc;
        const bool ok = visitFloat(acc.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* p = scaled.mutableData<T>();
            for (int64_t i = 0; i < scaled.numel(); ++i) p[i] = static_cast<T>(p[i] / n);
        });
        if (!ok) return requireType(acc, {DType::F32, DType::F64}, "input");
        acc = std::move(scaled);
    }
    ctx.outputs[0] = std::move(acc);
    return {};
}

Status clipOp(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (ctx.opset > 0 && ctx.opset < 11) {
        lo = ctx.node.attrFloat("min", lo);
        hi = ctx.node.attrFloat("max", hi);
    } else {
        for (size_t i = 1; i <= 2; ++i) {
            if (!ctx.has(i)) continue;
            if (ctx.in(i).numel() != 1) return invalid("min and max must be scalars");
            auto v = readDoubles(ctx.in(i), i == 1 ? "min" : "max");
            if (!v) return v.error();
            (i == 1 ? lo : hi) = (*v)[0];
        }
        if (!ctx.has(1) && ctx.node.attr("min")) lo = ctx.node.attrFloat("min", lo);
        if (!ctx.has(2) && ctx.node.attr("max")) hi = ctx.node.attrFloat("max", hi);
    }
    Status st;
    const bool ok = visitNumeric(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = allocate(x.dtype(), x.shape());
        if (!out) {
            st = out.error();
            return;
        }
        const T* px = x.data<T>();
        T* po = out->template mutableData<T>();
        auto bound = [](double v) {
            if constexpr (std::is_integral_v<T>) {
                if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
                if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
            }
            return static_cast<T>(v);
        };
        const T l = bound(lo), h = bound(hi);
        parallelFor(ctx.pool, x.numel(), 32768, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                T v = px[i];
                v = v < l ? l : v;
                po[i] = v > h ? h : v;
            }
        });
        ctx.outputs[0] = std::move(*out);
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    return st;
}

// ---------------------------------------------------------------------------------------------
// Linear quantization: per-tensor (scalar scale) or per-axis (1-D scale along `axis`).

struct QuantAxis {
    int64_t inner = 1;   // elements per step along the axis
    int64_t count = 1;   // scale entries
};

Result<QuantAxis> quantAxis(const KernelContext& ctx, const Tensor& x, const Tensor& scale) {
    QuantAxis q;
    if (scale.numel() == 1) return q;
    if (scale.rank() != 1) return invalid("scale must be a scalar or 1-D");
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 1), x.rank());
    if (!axis) return axis.error();
    if (x.shape()[static_cast<size_t>(*axis)] != scale.numel())
        return invalid("scale has " + std::to_string(scale.numel()) + " entries, axis " + std::to_string(*axis) + " has " +
                       std::to_string(x.shape()[static_cast<size_t>(*axis)]));
    for (size_t d = static_cast<size_t>(*axis) + 1; d < x.shape().size(); ++d) q.inner *= x.shape()[d];
    q.count = scale.numel();
    return q;
}

Status quantizeLinear(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::F32}, "input"));
    auto scale = ctx.in(1).toFloats();
    if (!scale) return scale.error();
    const DType outType = ctx.has(2) ? ctx.in(2).dtype() : DType::U8;
    if (outType != DType::U8 && outType != DType::I8) return unsupported(std::string("quantizing to ") + dtypeName(outType) + " is not supported");
    std::vector<double> zp(scale->size(), 0.0);
    if (ctx.has(2)) {
        auto z = readDoubles(ctx.in(2), "zero point");
        if (!z) return z.error();
        if (z->size() != zp.size()) return invalid("zero point and scale differ in size");
        zp = *z;
    }
    auto q = quantAxis(ctx, x, ctx.in(1));
    if (!q) return q.error();
    auto out = allocate(outType, x.shape());
    if (!out) return out.error();
    const double lo = outType == DType::U8 ? 0 : -128, hi = outType == DType::U8 ? 255 : 127;
    const float* px = x.data<float>();
    uint8_t* po = out->mutableData<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        const auto k = static_cast<size_t>((i / q->inner) % q->count);
        // Divide in f32 as the ONNX reference does: ties decided in double could round the other way.
        const double v = std::clamp(static_cast<double>(std::nearbyint(px[i] / (*scale)[k])) + zp[k], lo, hi);
        if (outType == DType::U8) po[i] = static_cast<uint8_t>(v);
        else po[i] = static_cast<uint8_t>(static_cast<int8_t>(v));
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status dequantizeLinear(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(requireType(x, {DType::U8, DType::I8, DType::I32}, "input"));
    auto scale = ctx.in(1).toFloats();
    if (!scale) return scale.error();
    std::vector<double> zp(scale->size(), 0.0);
    if (ctx.has(2)) {
        auto z = readDoubles(ctx.in(2), "zero point");
        if (!z) return z.error();
        if (z->size() != zp.size()) return invalid("zero point and scale differ in size");
        zp = *z;
    }
    auto q = quantAxis(ctx, x, ctx.in(1));
    if (!q) return q.error();
    auto xv = readDoubles(x, "input");
    if (!xv) return xv.error();
    auto out = allocate(DType::F32, x.shape());
    if (!out) return out.error();
    float* po = out->mutableData<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        const auto k = static_cast<size_t>((i / q->inner) % q->count);
        po[i] = static_cast<float>(((*xv)[static_cast<size_t>(i)] - zp[k]) * (*scale)[k]);
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

}  // namespace

void registerElementwiseOps(OpRegistry& r) {
    using K = KernelContext;
    // Float activations and math.
    r.add("", "Relu", [](K& c) { return unaryNumeric(c, [](auto x) { return x > 0 ? x : decltype(x)(0); }); }, checkNumeric);
    r.add("", "Sigmoid", [](K& c) {
        return unaryFloat(c, [](auto x) {
            using T = decltype(x);
            return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
        });
    }, checkFloat);
    r.add("", "Tanh", [](K& c) { return unaryFloat(c, [](auto x) { return std::tanh(x); }); }, checkFloat);
    r.add("", "Exp", [](K& c) { return unaryFloat(c, [](auto x) { return std::exp(x); }); }, checkFloat);
    r.add("", "Log", [](K& c) { return unaryFloat(c, [](auto x) { return std::log(x); }); }, checkFloat);
    r.add("", "Sqrt", [](K& c) { return unaryFloat(c, [](auto x) { return std::sqrt(x); }); }, checkFloat);
    r.add("", "Floor", [](K& c) { return unaryFloat(c, [](auto x) { return std::floor(x); }); }, checkFloat);
    r.add("", "Ceil", [](K& c) { return unaryFloat(c, [](auto x) { return std::ceil(x); }); }, checkFloat);
    r.add("", "Round", [](K& c) { return unaryFloat(c, [](auto x) { return roundHalfEven(x); }); }, checkFloat);
    r.add("", "Reciprocal", [](K& c) { return unaryFloat(c, [](auto x) { return decltype(x)(1) / x; }); }, checkFloat);
    r.add("", "Sin", [](K& c) { return unaryFloat(c, [](auto x) { return std::sin(x); }); }, checkFloat);
    r.add("", "Cos", [](K& c) { return unaryFloat(c, [](auto x) { return std::cos(x); }); }, checkFloat);
    r.add("", "Tan", [](K& c) { return unaryFloat(c, [](auto x) { return std::tan(x); }); }, checkFloat);
    r.add("", "Asin", [](K& c) { return unaryFloat(c, [](auto x) { return std::asin(x); }); }, checkFloat);
    r.add("", "Acos", [](K& c) { return unaryFloat(c, [](auto x) { return std::acos(x); }); }, checkFloat);
    r.add("", "Atan", [](K& c) { return unaryFloat(c, [](auto x) { return std::atan(x); }); }, checkFloat);
    r.add("", "Sinh", [](K& c) { return unaryFloat(c, [](auto x) { return std::sinh(x); }); }, checkFloat);
    r.add("", "Cosh", [](K& c) { return unaryFloat(c, [](auto x) { return std::cosh(x); }); }, checkFloat);
    r.add("", "Asinh", [](K& c) { return unaryFloat(c, [](auto x) { return std::asinh(x); }); }, checkFloat);
    r.add("", "Acosh", [](K& c) { return unaryFloat(c, [](auto x) { return std::acosh(x); }); }, checkFloat);
    r.add("", "Atanh", [](K& c) { return unaryFloat(c, [](auto x) { return std::atanh(x); }); }, checkFloat);
    r.add("", "Erf", [](K& c) { return unaryFloat(c, [](auto x) { return std::erf(x); }); }, checkFloat);
    r.add("", "Softplus", [](K& c) {
        return unaryFloat(c, [](auto x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); });
    }, checkFloat);
    r.add("", "Softsign", [](K& c) { return unaryFloat(c, [](auto x) { return x / (decltype(x)(1) + std::abs(x)); }); }, checkFloat);
    r.add("", "HardSigmoid", [](K& c) {
        const float a = attrF(c, "alpha", 0.2), b = attrF(c, "beta", 0.5);
        return unaryFloat(c, [a, b](auto x) {
            using T = decltype(x);
            return std::max(T(0), std::min(T(1), static_cast<T>(a * x + b)));
        });
    }, checkFloat);
    r.add("", "HardSwish", [](K& c) {
        return unaryFloat(c, [](auto x) {
            using T = decltype(x);
            return x * std::max(T(0), std::min(T(1), static_cast<T>(x / T(6) + T(0.5))));
        });
    }, checkFloat);
    r.add("", "LeakyRelu", [](K& c) {
        const float a = attrF(c, "alpha", 0.01);
        return unaryFloat(c, [a](auto x) { return x >= 0 ? x : static_cast<decltype(x)>(a * x); });
    }, checkFloat);
    r.add("", "Elu", [](K& c) {
        const float a = attrF(c, "alpha", 1.0);
        return unaryFloat(c, [a](auto x) { return x >= 0 ? x : static_cast<decltype(x)>(a * std::expm1(x)); });
    }, checkFloat);
    r.add("", "Celu", [](K& c) {
        const float a = attrF(c, "alpha", 1.0);
        return unaryFloat(c, [a](auto x) {
            using T = decltype(x);
            return std::max(T(0), x) + std::min(T(0), static_cast<T>(a * std::expm1(x / a)));
        });
    }, checkFloat);
    r.add("", "Selu", [](K& c) {
        const float a = attrF(c, "alpha", 1.67326319217681884765625), g = attrF(c, "gamma", 1.05070102214813232421875);
        return unaryFloat(c, [a, g](auto x) {
            using T = decltype(x);
            return static_cast<T>(x > 0 ? g * x : g * a * std::expm1(x));
        });
    }, checkFloat);
    r.add("", "ThresholdedRelu", [](K& c) {
        const float a = attrF(c, "alpha", 1.0);
        return unaryFloat(c, [a](auto x) { return x > a ? x : decltype(x)(0); });
    }, checkFloat);
    r.add("", "Shrink", [](K& c) {
        const float l = attrF(c, "lambd", 0.5), b = attrF(c, "bias", 0.0);
        return unaryNumeric(c, [l, b](auto x) {
            using T = decltype(x);
            const double v = static_cast<double>(x);
            return static_cast<T>(v < -l ? v + b : v > l ? v - b : 0.0);
        });
    }, checkNumeric);
    r.add("", "Abs", [](K& c) {
        return unaryNumeric(c, [](auto x) {
            if constexpr (std::is_unsigned_v<decltype(x)>) return x;
            else return x < 0 ? static_cast<decltype(x)>(-x) : x;
        });
    }, checkNumeric);
    r.add("", "Neg", [](K& c) { return unaryNumeric(c, [](auto x) { return static_cast<decltype(x)>(-x); }); }, checkNumeric);
    r.add("", "Sign", [](K& c) {
        return unaryNumeric(c, [](auto x) { return static_cast<decltype(x)>(x > 0 ? 1 : x < 0 ? -1 : 0); });
    }, checkNumeric);
    r.add("", "IsNaN", isNaN, checkFloat);
    r.add("", "IsInf", isInf, checkFloat);
    r.add("", "Not", notOp, checkBool);
    r.add("", "Clip", clipOp, checkNumeric);
    r.add("", "QuantizeLinear", quantizeLinear, [](const Node& n, const Graph& g, int64_t) -> Status {
        BY_TRY(requireDeclared(n, g, 0, {DType::F32}));
        return requireDeclared(n, g, 2, {DType::U8, DType::I8});
    });
    r.add("", "DequantizeLinear", dequantizeLinear, [](const Node& n, const Graph& g, int64_t) -> Status {
        return requireDeclared(n, g, 0, {DType::U8, DType::I8, DType::I32});
    });

    // Binary arithmetic.
    r.add("", "Add", [](K& c) { return binaryArith(c, AddOp{}); }, checkNumeric);
    r.add("", "Sub", [](K& c) { return binaryArith(c, SubOp{}); }, checkNumeric);
    r.add("", "Mul", [](K& c) { return binaryArith(c, MulOp{}); }, checkNumeric);
    r.add("", "Div", [](K& c) { return binaryArith(c, DivOp{}); }, checkNumeric);
    r.add("", "Mod", modOp, checkNumeric);
    r.add("", "Pow", powOp, checkNumeric);
    r.add("", "BitShift", bitShift, [](const Node& n, const Graph& g, int64_t) {
        return requireDeclared(n, g, 0, {DType::U8, DType::U16, DType::U32, DType::U64});
    });
    r.add("", "PRelu", preluOp, checkNumeric);
    r.add("", "Sum", [](K& c) { return variadic(c, AddOp{}, false); }, checkNumeric);
    r.add("", "Mean", [](K& c) { return variadic(c, AddOp{}, true); }, checkFloat);
    r.add("", "Max", [](K& c) { return variadic(c, MaxOp{}, false); }, checkNumeric);
    r.add("", "Min", [](K& c) { return variadic(c, MinOp{}, false); }, checkNumeric);

    // Comparisons and logic.
    r.add("", "Equal", [](K& c) { return compare(c, [](auto x, auto y) { return x == y; }); }, checkAll);
    r.add("", "Less", [](K& c) { return compare(c, [](auto x, auto y) { return x < y; }); }, checkNumeric);
    r.add("", "Greater", [](K& c) { return compare(c, [](auto x, auto y) { return x > y; }); }, checkNumeric);
    r.add("", "LessOrEqual", [](K& c) { return compare(c, [](auto x, auto y) { return x <= y; }); }, checkNumeric);
    r.add("", "GreaterOrEqual", [](K& c) { return compare(c, [](auto x, auto y) { return x >= y; }); }, checkNumeric);
    r.add("", "And", [](K& c) { return logic(c, [](bool x, bool y) { return x && y; }); }, checkBool);
    r.add("", "Or", [](K& c) { return logic(c, [](bool x, bool y) { return x || y; }); }, checkBool);
    r.add("", "Xor", [](K& c) { return logic(c, [](bool x, bool y) { return x != y; }); }, checkBool);
}

}  // namespace by
