// Reductions along axes: Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, TopK, CumSum.
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/ops_common.h"

namespace by {

namespace {
using namespace ops;

// Which elements of the input feed each output element.
struct ReducePlan {
    Shape outShape;
    std::vector<int64_t> keptDims, keptStrides;
    std::vector<int64_t> redOffsets;  // offsets of one output's inputs, relative to its base
    int64_t outCount = 0;
};

ReducePlan makeReducePlan(const Shape& in, const std::vector<char>& reduced, bool keepdims) {
    ReducePlan p;
    const auto st = contiguousStrides(in);
    Shape redDims;
    std::vector<int64_t> redStrides;
    for (size_t d = 0; d < in.size(); ++d) {
        if (reduced[d]) {
            redDims.push_back(in[d]);
            redStrides.push_back(st[d]);
            if (keepdims) p.outShape.push_back(1);
        } else {
            p.keptDims.push_back(in[d]);
            p.keptStrides.push_back(st[d]);
            p.outShape.push_back(in[d]);
        }
    }
    p.outCount = shapeNumel(p.keptDims);
    const int64_t nr = shapeNumel(redDims);
    p.redOffsets.resize(static_cast<size_t>(nr));
    Odometer od(redDims);
    for (int64_t i = 0; i < nr; ++i, od.next()) {
        int64_t off = 0;
        for (size_t d = 0; d < redDims.size(); ++d) off += od.index[d] * redStrides[d];
        p.redOffsets[static_cast<size_t>(i)] = off;
    }
    return p;
}

// Base input offset of output element o.
inline int64_t baseOffset(const ReducePlan& p, int64_t o) {
    int64_t off = 0;
    for (size_t d = p.keptDims.size(); d-- > 0;) {
        const int64_t n = p.keptDims[d];
        off += (o % n) * p.keptStrides[d];
        o /= n;
    }
    return off;
}

Result<std::vector<char>> reducedAxes(const KernelContext& ctx, int64_t rank, bool* noop) {
    *noop = false;
    std::vector<char> red(static_cast<size_t>(rank), 0);
    // ReduceSum took axes as an input from opset 13, the others from 18; an attribute wins when present.
    auto axes = intsFromAttrOrInput(ctx, "axes", 1);
    if (!axes) return axes.error();
    if (!*axes || (*axes)->empty()) {
        if (ctx.node.attrInt("noop_with_empty_axes", 0) != 0) *noop = true;
        else std::fill(red.begin(), red.end(), 1);
        return red;
    }
    for (int64_t a : **axes) {
        auto n = normalizeAxis(a, rank);
        if (!n) return n.error();
        red[static_cast<size_t>(*n)] = 1;
    }
    return red;
}

enum class Red { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

Status reduce(KernelContext& ctx, Red kind) {
    const Tensor& x = ctx.in(0);
    bool noop = false;
    auto red = reducedAxes(ctx, x.rank(), &noop);
    if (!red) return red.error();
    if (noop) {
        ctx.outputs[0] = x;
        return {};
    }
    const bool keep = ctx.node.attrInt("keepdims", 1) != 0;
    const ReducePlan p = makeReducePlan(x.shape(), *red, keep);
    Status st;
    const bool ok = visitNumeric(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = allocate(x.dtype(), p.outShape);
        if (!out) {
            st = out.error();
            return;
        }
        const T* px = x.data<T>();
        T* po = out->template mutableData<T>();
        const auto nr = static_cast<int64_t>(p.redOffsets.size());
        parallelFor(ctx.pool, p.outCount, std::max<int64_t>(1, 16384 / std::max<int64_t>(nr, 1)), [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const T* base = px + baseOffset(p, o);
                double acc;
                switch (kind) {
                case Red::Max: {
                    acc = -std::numeric_limits<double>::infinity();
                    if constexpr (std::is_integral_v<T>) acc = static_cast<double>(std::numeric_limits<T>::lowest());
                    for (int64_t off : p.redOffsets) acc = std::max(acc, static_cast<double>(base[off]));
                    break;
                }
                case Red::Min: {
                    acc = std::numeric_limits<double>::infinity();
                    if constexpr (std::is_integral_v<T>) acc = static_cast<double>(std::numeric_limits<T>::max());
                    for (int64_t off : p.redOffsets) acc = std::min(acc, static_cast<double>(base[off]));
                    break;
                }
                case Red::Prod:
                    acc = 1;
                    for (int64_t off : p.redOffsets) acc *= static_cast<double>(base[off]);
                    break;
                case Red::LogSumExp: {
                    double m = -std::numeric_limits<double>::infinity();
                    for (int64_t off : p.redOffsets) m = std::max(m, static_cast<double>(base[off]));
                    acc = 0;
                    for (int64_t off : p.redOffsets) acc += std::exp(static_cast<double>(base[off]) - m);
                    acc = nr ? m + std::log(acc) : -std::numeric_limits<double>::infinity();
                    break;
                }
                default: {
                    acc = 0;
                    for (int64_t off : p.redOffsets) {
                        const double v = static_cast<double>(base[off]);
                        acc += kind == Red::L1 ? std::abs(v) : (kind == Red::L2 || kind == Red::SumSquare) ? v * v : v;
                    }
                    if (kind == Red::Mean) acc /= static_cast<double>(std::max<int64_t>(nr, 1));
                    else if (kind == Red::L2) acc = std::sqrt(acc);
                    else if (kind == Red::LogSum) acc = std::log(acc);
                }
                }
                po[o] = static_cast<T>(acc);
            }
        });
        ctx.outputs[0] = std::move(*out);
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    return st;
}

Status argExtreme(KernelContext& ctx, bool isMax) {
    const Tensor& x = ctx.in(0);
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 0), x.rank());
    if (!axis) return axis.error();
    const bool keep = ctx.node.attrInt("keepdims", 1) != 0;
    const bool last = ctx.node.attrInt("select_last_index", 0) != 0;
    std::vector<char> red(static_cast<size_t>(x.rank()), 0);
    red[static_cast<size_t>(*axis)] = 1;
    const ReducePlan p = makeReducePlan(x.shape(), red, keep);
    auto out = allocate(DType::I64, p.outShape);
    if (!out) return out.error();
    int64_t* po = out->mutableData<int64_t>();
    const bool ok = visitNumeric(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        for (int64_t o = 0; o < p.outCount; ++o) {
            const T* base = px + baseOffset(p, o);
            int64_t best = 0;
            for (size_t i = 1; i < p.redOffsets.size(); ++i) {
                const T v = base[p.redOffsets[i]], b = base[p.redOffsets[static_cast<size_t>(best)]];
                const bool better = isMax ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
                if (better) best = static_cast<int64_t>(i);
            }
            po[o] = best;
        }
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    ctx.outputs[0] = std::move(*out);
    return {};
}

enum class SoftKind { Softmax, LogSoftmax, Hardmax };

Status softmax(KernelContext& ctx, SoftKind kind) {
    const Tensor& x = ctx.in(0);
    const bool legacy = ctx.opset > 0 && ctx.opset < 13;
    auto axis = normalizeAxis(ctx.node.attrInt("axis", legacy ? 1 : -1), std::max<int64_t>(x.rank(), 1));
    if (!axis) return axis.error();
    int64_t outer = 1, D = 1, inner = 1;
    for (int64_t d = 0; d < x.rank(); ++d) {
        const int64_t n = x.shape()[static_cast<size_t>(d)];
        if (d < *axis) outer *= n;
        else if (d == *axis || legacy) D *= n;
        else inner *= n;
    }
    Status st;
    const bool ok = visitFloat(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = allocate(x.dtype(), x.shape());
        if (!out) {
            st = out.error();
            return;
        }
        const T* px = x.data<T>();
        T* po = out->template mutableData<T>();
        parallelFor(ctx.pool, outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
            for (int64_t oi = b; oi < e; ++oi) {
                const int64_t o = oi / inner, i = oi % inner;
                const T* xr = px + o * D * inner + i;
                T* yr = po + o * D * inner + i;
                if (kind == SoftKind::Hardmax) {
                    int64_t best = 0;
                    for (int64_t k = 1; k < D; ++k)
                        if (xr[k * inner] > xr[best * inner]) best = k;
                    for (int64_t k = 0; k < D; ++k) yr[k * inner] = k == best ? T(1) : T(0);
                    continue;
                }
                T m = -std::numeric_limits<T>::infinity();
                for (int64_t k = 0; k < D; ++k) m = std::max(m, xr[k * inner]);
                double sum = 0;
                if (kind == SoftKind::Softmax) {
                    for (int64_t k = 0; k < D; ++k) {
                        const T ev = std::exp(xr[k * inner] - m);
                        yr[k * inner] = ev;
                        sum += ev;
                    }
                    const T inv = static_cast<T>(1.0 / sum);
                    for (int64_t k = 0; k < D; ++k) yr[k * inner] *= inv;
                } else {
                    for (int64_t k = 0; k < D; ++k) sum += std::exp(static_cast<double>(xr[k * inner] - m));
                    const T ls = static_cast<T>(std::log(sum));
                    for (int64_t k = 0; k < D; ++k) yr[k * inner] = xr[k * inner] - m - ls;
                }
            }
        });
        ctx.outputs[0] = std::move(*out);
    });
    if (!ok) return requireType(x, {DType::F32, DType::F64}, "input");
    return st;
}

Status topK(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    int64_t k = 0;
    if (ctx.has(1)) {
        auto kv = readInts(ctx.in(1), "K");
        if (!kv) return kv.error();
        if (kv->size() != 1) return invalid("K must hold one value");
        k = (*kv)[0];
    } else {
        k = ctx.node.attrInt("k", 0);
    }
    auto axis = normalizeAxis(ctx.node.attrInt("axis", -1), x.rank());
    if (!axis) return axis.error();
    const auto ax = static_cast<size_t>(*axis);
    const int64_t D = x.shape()[ax];
    if (k < 0 || k > D) return invalid("K " + std::to_string(k) + " is out of range for a dimension of " + std::to_string(D));
    const bool largest = ctx.node.attrInt("largest", 1) != 0;
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= x.shape()[d];
    for (size_t d = ax + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
    Shape outShape = x.shape();
    outShape[ax] = k;
    auto values = allocate(x.dtype(), outShape);
    auto indices = allocate(DType::I64, outShape);
    if (!values) return values.error();
    if (!indices) return indices.error();
    int64_t* pi = indices->mutableData<int64_t>();
    const bool ok = visitNumeric(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* pv = values->template mutableData<T>();
        std::vector<int64_t> order(static_cast<size_t>(D));
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
                const T* xr = px + o * D * inner + i;
                std::iota(order.begin(), order.end(), 0);
                auto cmp = [&](int64_t a, int64_t b) {
                    const T va = xr[a * inner], vb = xr[b * inner];
                    if (va != vb) return largest ? va > vb : va < vb;
                    return a < b;
                };
                std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
                for (int64_t j = 0; j < k; ++j) {
                    const int64_t dst = (o * k + j) * inner + i;
                    pv[dst] = xr[order[static_cast<size_t>(j)] * inner];
                    pi[dst] = order[static_cast<size_t>(j)];
                }
            }
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    ctx.outputs[0] = std::move(*values);
    if (ctx.outputs.size() > 1) ctx.outputs[1] = std::move(*indices);
    return {};
}

Status cumSum(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    auto av = readInts(ctx.in(1), "axis");
    if (!av) return av.error();
    if (av->size() != 1) return invalid("axis must hold one value");
    auto axis = normalizeAxis((*av)[0], x.rank());
    if (!axis) return axis.error();
    const bool exclusive = ctx.node.attrInt("exclusive", 0) != 0, reverse = ctx.node.attrInt("reverse", 0) != 0;
    const auto ax = static_cast<size_t>(*axis);
    const int64_t D = x.shape()[ax];
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= x.shape()[d];
    for (size_t d = ax + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
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
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
                T acc = 0;
                for (int64_t s = 0; s < D; ++s) {
                    const int64_t k = reverse ? D - 1 - s : s;
                    const int64_t idx = (o * D + k) * inner + i;
                    if (exclusive) {
                        po[idx] = acc;
                        acc = static_cast<T>(acc + px[idx]);
                    } else {
                        acc = static_cast<T>(acc + px[idx]);
                        po[idx] = acc;
                    }
                }
            }
        ctx.outputs[0] = std::move(*out);
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    return st;
}

Status checkNumeric(const Node& n, const Graph& g, int64_t) {
    return requireDeclared(n, g, 0, {DType::F32, DType::F64, DType::I8, DType::U8, DType::I16, DType::U16, DType::I32,
                                     DType::U32, DType::I64, DType::U64});
}
Status checkFloat(const Node& n, const Graph& g, int64_t) { return requireDeclared(n, g, 0, {DType::F32, DType::F64}); }

}  // namespace

void registerReduceOps(OpRegistry& r) {
    using K = KernelContext;
    r.add("", "ReduceSum", [](K& c) { return reduce(c, Red::Sum); }, checkNumeric);
    r.add("", "ReduceMean", [](K& c) { return reduce(c, Red::Mean); }, checkNumeric);
    r.add("", "ReduceMax", [](K& c) { return reduce(c, Red::Max); }, checkNumeric);
    r.add("", "ReduceMin", [](K& c) { return reduce(c, Red::Min); }, checkNumeric);
    r.add("", "ReduceProd", [](K& c) { return reduce(c, Red::Prod); }, checkNumeric);
    r.add("", "ReduceL1", [](K& c) { return reduce(c, Red::L1); }, checkNumeric);
    r.add("", "ReduceL2", [](K& c) { return reduce(c, Red::L2); }, checkNumeric);
    r.add("", "ReduceLogSum", [](K& c) { return reduce(c, Red::LogSum); }, checkNumeric);
    r.add("", "ReduceLogSumExp", [](K& c) { return reduce(c, Red::LogSumExp); }, checkNumeric);
    r.add("", "ReduceSumSquare", [](K& c) { return reduce(c, Red::SumSquare); }, checkNumeric);
    r.add("", "ArgMax", [](K& c) { return argExtreme(c, true); }, checkNumeric);
    r.add("", "ArgMin", [](K& c) { return argExtreme(c, false); }, checkNumeric);
    r.add("", "Softmax", [](K& c) { return softmax(c, SoftKind::Softmax); }, checkFloat);
    r.add("", "LogSoftmax", [](K& c) { return softmax(c, SoftKind::LogSoftmax); }, checkFloat);
    r.add("", "Hardmax", [](K& c) { return softmax(c, SoftKind::Hardmax); }, checkFloat);
    r.add("", "TopK", topK, checkNumeric);
    r.add("", "CumSum", cumSum, checkNumeric);
}

}  // namespace by
