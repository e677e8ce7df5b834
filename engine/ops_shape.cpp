// Layout and shape kernels: reshapes and views (zero-copy where the bytes stay in order),
// Transpose, Concat, Split, Slice, Gather*, Scatter*, Pad, Tile, Expand, Shape arithmetic, Cast and
// Where. Most work on raw bytes, so they handle every plain element type.
#include <cmath>
#include <limits>

#include "engine/ops_common.h"

namespace by {

namespace {
using namespace ops;

template <class F>
bool visitBytes(size_t esize, F&& f) {
    switch (esize) {
    case 1: f(uint8_t{}); return true;
    case 2: f(uint16_t{}); return true;
    case 4: f(uint32_t{}); return true;
    case 8: f(uint64_t{}); return true;
    default: return false;
    }
}

Status plainInput(const Tensor& t, const char* what = "input") {
    if (elementSize(t.dtype()) == 0)
        return unsupported(std::string(what) + " of type " + dtypeName(t.dtype()) + " is not supported");
    return {};
}

Status checkPlain(const Node& n, const Graph& g, int64_t) {
    const DType t = declaredInputType(n, g, 0);
    if (t != DType::Undefined && elementSize(t) == 0)
        return unsupported(std::string("input 0 of type ") + dtypeName(t) + " is not supported");
    return {};
}

Result<Tensor> transposeTensor(const Tensor& x, const std::vector<int64_t>& perm, ThreadPool* pool) {
    const size_t r = perm.size();
    const size_t es = elementSize(x.dtype());
    Shape outShape(r);
    const auto inStrides = contiguousStrides(x.shape());
    std::vector<int64_t> st(r);
    for (size_t d = 0; d < r; ++d) {
        outShape[d] = x.shape()[static_cast<size_t>(perm[d])];
        st[d] = inStrides[static_cast<size_t>(perm[d])];
    }
    auto out = allocate(x.dtype(), outShape);
    if (!out) return out.error();
    const int64_t n = x.numel();
    if (n == 0) return out;
    const uint8_t* src = x.rawData();
    uint8_t* dst = out->mutableRawData();
    const int64_t inner = r ? outShape[r - 1] : 1;
    const int64_t innerStride = r ? st[r - 1] : 0;
    const int64_t rows = n / inner;
    visitBytes(es, [&](auto tag) {
        using T = decltype(tag);
        const T* s = reinterpret_cast<const T*>(src);
        T* o = reinterpret_cast<T*>(dst);
        parallelFor(pool, rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e) {
            Shape outer(outShape.begin(), outShape.end() - (r ? 1 : 0));
            Odometer od(outer);
            od.seek(b);
            for (int64_t row = b; row < e; ++row) {
                int64_t off = 0;
                for (size_t d = 0; d + 1 < r; ++d) off += od.index[d] * st[d];
                T* out = o + row * inner;
                for (int64_t i = 0; i < inner; ++i) out[i] = s[off + i * innerStride];
                od.next();
            }
        });
    });
    return out;
}

Status identity(KernelContext& ctx) {
    ctx.outputs[0] = ctx.in(0);
    return {};
}

Status dropout(KernelContext& ctx) {
    // Inference: the data passes through; the optional mask is all true.
    ctx.outputs[0] = ctx.in(0);
    if (ctx.wantsOutput(1)) {
        auto m = allocate(DType::Bool, ctx.in(0).shape());
        if (!m) return m.error();
        std::memset(m->mutableRawData(), 1, m->nbytes());
        ctx.outputs[1] = std::move(*m);
    }
    return {};
}

Status constantOp(KernelContext& ctx) {
    for (const auto& [k, a] : ctx.node.attributes) {
        using K = Attribute::Kind;
        if (k == "value" && a.kind == K::Tensor) ctx.outputs[0] = a.t;
        else if (k == "value_float" && a.kind == K::Float) ctx.outputs[0] = Tensor::fromFloats({}, {static_cast<float>(a.f)});
        else if (k == "value_floats" && a.kind == K::Floats)
            ctx.outputs[0] = Tensor::fromFloats({int64_t(a.floats.size())}, std::vector<float>(a.floats.begin(), a.floats.end()));
        else if (k == "value_int" && a.kind == K::Int) ctx.outputs[0] = Tensor::fromInt64s({}, {a.i});
        else if (k == "value_ints" && a.kind == K::Ints) ctx.outputs[0] = Tensor::fromInt64s({int64_t(a.ints.size())}, a.ints);
        else continue;
        return {};
    }
    return unsupported("Constant has no numeric value attribute");
}

Status reshape(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    std::vector<int64_t> shape;
    if (ctx.has(1)) {
        auto s = readInts(ctx.in(1), "shape");
        if (!s) return s.error();
        shape = std::move(*s);
    } else {
        shape = ctx.node.attrInts("shape");
    }
    const bool allowZero = ctx.node.attrInt("allowzero", 0) != 0;
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && !allowZero) {
            if (i >= x.shape().size()) return invalid("shape " + shapeToString(shape) + " copies a dimension the input does not have");
            shape[i] = x.shape()[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0) return invalid("shape " + shapeToString(shape) + " has more than one -1");
            infer = static_cast<int64_t>(i);
        } else if (shape[i] < 0) {
            return invalid("shape " + shapeToString(shape) + " has a negative dimension");
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x.numel() % known != 0)
            return invalid("cannot reshape " + shapeToString(x.shape()) + " to " + shapeToString(shape));
        shape[static_cast<size_t>(infer)] = x.numel() / known;
    }
    auto r = x.reshaped(shape);
    if (!r) return r.error();
    ctx.outputs[0] = std::move(*r);
    return {};
}

Status flatten(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t rank = x.rank();
    int64_t axis = ctx.node.attrInt("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) return invalid("axis is out of range");
    int64_t a = 1;
    for (int64_t d = 0; d < axis; ++d) a *= x.shape()[static_cast<size_t>(d)];
    auto r = x.reshaped({a, a ? x.numel() / a : 0});
    if (!r) return r.error();
    ctx.outputs[0] = std::move(*r);
    return {};
}

Status squeeze(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    auto axes = intsFromAttrOrInput(ctx, "axes", 1);
    if (!axes) return axes.error();
    const int64_t rank = x.rank();
    std::vector<char> drop(static_cast<size_t>(rank), 0);
    if (*axes) {
        for (int64_t a : **axes) {
            auto n = normalizeAxis(a, rank);
            if (!n) return n.error();
            if (x.shape()[static_cast<size_t>(*n)] != 1)
                return invalid("cannot squeeze axis " + std::to_string(a) + " of shape " + shapeToString(x.shape()));
            drop[static_cast<size_t>(*n)] = 1;
        }
    } else {
        for (int64_t d = 0; d < rank; ++d) drop[static_cast<size_t>(d)] = x.shape()[static_cast<size_t>(d)] == 1;
    }
    Shape s;
    for (int64_t d = 0; d < rank; ++d)
        if (!drop[static_cast<size_t>(d)]) s.push_back(x.shape()[static_cast<size_t>(d)]);
    ctx.outputs[0] = *x.reshaped(s);
    return {};
}

Status unsqueeze(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    auto axes = intsFromAttrOrInput(ctx, "axes", 1);
    if (!axes) return axes.error();
    if (!*axes) return invalid("Unsqueeze needs axes");
    const int64_t outRank = x.rank() + static_cast<int64_t>((*axes)->size());
    std::vector<char> add(static_cast<size_t>(outRank), 0);
    for (int64_t a : **axes) {
        auto n = normalizeAxis(a, outRank);
        if (!n) return n.error();
        if (add[static_cast<size_t>(*n)]) return invalid("axis " + std::to_string(a) + " is repeated");
        add[static_cast<size_t>(*n)] = 1;
    }
    Shape s;
    size_t k = 0;
    for (int64_t d = 0; d < outRank; ++d) s.push_back(add[static_cast<size_t>(d)] ? 1 : x.shape()[k++]);
    ctx.outputs[0] = *x.reshaped(s);
    return {};
}

Status transpose(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    std::vector<int64_t> perm = ctx.node.attrInts("perm");
    const int64_t r = x.rank();
    if (perm.empty())
        for (int64_t d = r - 1; d >= 0; --d) perm.push_back(d);
    if (static_cast<int64_t>(perm.size()) != r) return invalid("perm " + shapeToString(perm) + " does not match rank " + std::to_string(r));
    std::vector<char> seen(static_cast<size_t>(r), 0);
    for (auto& p : perm) {
        auto n = normalizeAxis(p, r, "perm entry");
        if (!n) return n.error();
        if (seen[static_cast<size_t>(*n)]) return invalid("perm " + shapeToString(perm) + " is not a permutation");
        seen[static_cast<size_t>(*n)] = 1;
        p = *n;
    }
    auto out = transposeTensor(x, perm, ctx.pool);
    if (!out) return out.error();
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status concat(KernelContext& ctx) {
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < ctx.inputCount(); ++i)
        if (ctx.has(i)) ins.push_back(ctx.inputs[i]);
    if (ins.empty()) return invalid("Concat needs inputs");
    const Tensor& first = *ins[0];
    BY_TRY(plainInput(first));
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 0), first.rank());
    if (!axis) return axis.error();
    const auto ax = static_cast<size_t>(*axis);
    Shape outShape = first.shape();
    outShape[ax] = 0;
    for (const Tensor* t : ins) {
        if (t->dtype() != first.dtype()) return invalid("inputs have different types");
        if (t->rank() != first.rank()) return invalid("inputs have different ranks");
        for (size_t d = 0; d < outShape.size(); ++d)
            if (d != ax && t->shape()[d] != first.shape()[d])
                return invalid("input shapes " + shapeToString(first.shape()) + " and " + shapeToString(t->shape()) +
                               " differ outside axis " + std::to_string(ax));
        outShape[ax] += t->shape()[ax];
    }
    auto out = allocate(first.dtype(), outShape);
    if (!out) return out.error();
    const size_t es = elementSize(first.dtype());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= outShape[d];
    for (size_t d = ax + 1; d < outShape.size(); ++d) inner *= outShape[d];
    uint8_t* dst = out->mutableRawData();
    const int64_t outRow = outShape[ax] * inner * static_cast<int64_t>(es);
    int64_t colOff = 0;
    for (const Tensor* t : ins) {
        const int64_t row = t->shape()[ax] * inner * static_cast<int64_t>(es);
        const uint8_t* src = t->rawData();
        if (row > 0)
            for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * outRow + colOff, src + o * row, static_cast<size_t>(row));
        colOff += row;
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status split(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 0), x.rank());
    if (!axis) return axis.error();
    const auto ax = static_cast<size_t>(*axis);
    const int64_t dim = x.shape()[ax];
    const size_t nOut = ctx.node.outputs.size();
    std::vector<int64_t> sizes;
    auto given = intsFromAttrOrInput(ctx, "split", 1);
    if (!given) return given.error();
    if (*given && !(*given)->empty()) {
        sizes = **given;
    } else {
        const int64_t parts = ctx.node.attr("num_outputs") ? ctx.node.attrInt("num_outputs", 1) : static_cast<int64_t>(nOut);
        if (parts <= 0) return invalid("cannot split into " + std::to_string(parts) + " parts");
        const int64_t each = (dim + parts - 1) / parts;
        for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::max<int64_t>(0, std::min(each, dim - i * each)));
    }
    if (sizes.size() != nOut) return invalid("split sizes " + shapeToString(sizes) + " do not match " + std::to_string(nOut) + " outputs");
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    if (total != dim) return invalid("split sizes " + shapeToString(sizes) + " do not add up to " + std::to_string(dim));
    const size_t es = elementSize(x.dtype());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= x.shape()[d];
    for (size_t d = ax + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
    const int64_t inRow = dim * inner * static_cast<int64_t>(es);
    int64_t colOff = 0;
    for (size_t i = 0; i < nOut; ++i) {
        Shape s = x.shape();
        s[ax] = sizes[i];
        auto out = allocate(x.dtype(), s);
        if (!out) return out.error();
        const int64_t row = sizes[i] * inner * static_cast<int64_t>(es);
        uint8_t* dst = out->mutableRawData();
        if (row > 0)
            for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * row, x.rawData() + o * inRow + colOff, static_cast<size_t>(row));
        colOff += row;
        ctx.outputs[i] = std::move(*out);
    }
    return {};
}

Status slice(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    const int64_t r = x.rank();
    std::vector<int64_t> starts, ends, axes, steps;
    if (ctx.opset > 0 && ctx.opset < 10) {
        starts = ctx.node.attrInts("starts");
        ends = ctx.node.attrInts("ends");
        axes = ctx.node.attrInts("axes");
    } else {
        auto rd = [&](size_t i, std::vector<int64_t>& v, const char* what) -> Status {
            if (!ctx.has(i)) return {};
            auto t = readInts(ctx.in(i), what);
            if (!t) return t.error();
            v = std::move(*t);
            return {};
        };
        BY_TRY(rd(1, starts, "starts"));
        BY_TRY(rd(2, ends, "ends"));
        BY_TRY(rd(3, axes, "axes"));
        BY_TRY(rd(4, steps, "steps"));
    }
    if (starts.size() != ends.size()) return invalid("starts and ends differ in length");
    if (axes.empty())
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) return invalid("axes and steps must match starts");
    std::vector<int64_t> begin(static_cast<size_t>(r), 0), step(static_cast<size_t>(r), 1);
    Shape outShape = x.shape();
    for (size_t i = 0; i < starts.size(); ++i) {
        auto a = normalizeAxis(axes[i], r);
        if (!a) return a.error();
        const auto d = static_cast<size_t>(*a);
        const int64_t dim = x.shape()[d];
        const int64_t st = steps[i];
        if (st == 0) return invalid("slice step is 0");
        int64_t s = starts[i], e = ends[i];
        if (s < 0) s += dim;
        if (e < 0 && e > std::numeric_limits<int64_t>::min() / 2) e += dim;
        int64_t count;
        if (st > 0) {
            s = std::clamp<int64_t>(s, 0, dim);
            e = std::clamp<int64_t>(e, 0, dim);
            count = e > s ? (e - s + st - 1) / st : 0;
        } else {
            s = std::clamp<int64_t>(s, 0, dim - 1);
            e = std::clamp<int64_t>(e, -1, dim - 1);
            count = s > e ? (s - e + (-st) - 1) / (-st) : 0;
        }
        begin[d] = s;
        step[d] = st;
        outShape[d] = count;
    }
    auto out = allocate(x.dtype(), outShape);
    if (!out) return out.error();
    const int64_t n = out->numel();
    if (n == 0) {
        ctx.outputs[0] = std::move(*out);
        return {};
    }
    const auto inStrides = contiguousStrides(x.shape());
    int64_t base = 0;
    std::vector<int64_t> st(static_cast<size_t>(r));
    for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
        base += begin[d] * inStrides[d];
        st[d] = step[d] * inStrides[d];
    }
    const int64_t inner = r ? outShape.back() : 1;
    const int64_t innerStride = r ? st.back() : 0;
    const size_t es = elementSize(x.dtype());
    visitBytes(es, [&](auto tag) {
        using T = decltype(tag);
        const T* s = x.data<T>();
        T* o = out->template mutableData<T>();
        Shape outer(outShape.begin(), outShape.end() - (r ? 1 : 0));
        Odometer od(outer);
        for (int64_t row = 0; row < n / inner; ++row) {
            int64_t off = base;
            for (size_t d = 0; d + 1 < static_cast<size_t>(r); ++d) off += od.index[d] * st[d];
            T* dst = o + row * inner;
            if (innerStride == 1) std::memcpy(dst, s + off, static_cast<size_t>(inner) * sizeof(T));
            else
                for (int64_t i = 0; i < inner; ++i) dst[i] = s[off + i * innerStride];
            od.next();
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status gather(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 0), x.rank());
    if (!axis) return axis.error();
    const auto ax = static_cast<size_t>(*axis);
    auto idx = readInts(ctx.in(1), "indices");
    if (!idx) return idx.error();
    const int64_t dim = x.shape()[ax];
    Shape outShape(x.shape().begin(), x.shape().begin() + static_cast<int64_t>(ax));
    for (int64_t d : ctx.in(1).shape()) outShape.push_back(d);
    for (size_t d = ax + 1; d < x.shape().size(); ++d) outShape.push_back(x.shape()[d]);
    auto out = allocate(x.dtype(), outShape);
    if (!out) return out.error();
    const size_t es = elementSize(x.dtype());
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; ++d) outer *= x.shape()[d];
    for (size_t d = ax + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
    const int64_t block = inner * static_cast<int64_t>(es);
    const int64_t k = static_cast<int64_t>(idx->size());
    uint8_t* dst = out->mutableRawData();
    for (int64_t j = 0; j < k; ++j) {
        int64_t i = (*idx)[static_cast<size_t>(j)];
        if (i < -dim || i >= dim) return invalid("index " + std::to_string(i) + " is out of range for a dimension of " + std::to_string(dim));
        if (i < 0) (*idx)[static_cast<size_t>(j)] = i + dim;
    }
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < k; ++j)
            std::memcpy(dst + (o * k + j) * block, x.rawData() + (o * dim + (*idx)[static_cast<size_t>(j)]) * block,
                        static_cast<size_t>(block));
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status gatherElements(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& it = ctx.in(1);
    BY_TRY(plainInput(x));
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 0), x.rank());
    if (!axis) return axis.error();
    if (it.rank() != x.rank()) return invalid("indices must have the rank of the data");
    auto idx = readInts(it, "indices");
    if (!idx) return idx.error();
    auto out = allocate(x.dtype(), it.shape());
    if (!out) return out.error();
    const auto xs = contiguousStrides(x.shape());
    const auto ax = static_cast<size_t>(*axis);
    const int64_t dim = x.shape()[ax];
    const size_t es = elementSize(x.dtype());
    Odometer od(it.shape());
    for (int64_t e = 0; e < it.numel(); ++e) {
        int64_t off = 0;
        for (size_t d = 0; d < od.index.size(); ++d) {
            int64_t i = od.index[d];
            if (d == ax) {
                i = (*idx)[static_cast<size_t>(e)];
                if (i < -dim || i >= dim) return invalid("index " + std::to_string(i) + " is out of range");
                if (i < 0) i += dim;
            } else if (i >= x.shape()[d]) {
                return invalid("indices shape exceeds the data shape");
            }
            off += i * xs[d];
        }
        std::memcpy(out->mutableRawData() + e * int64_t(es), x.rawData() + off * int64_t(es), es);
        od.next();
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status gatherND(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& it = ctx.in(1);
    BY_TRY(plainInput(x));
    const int64_t b = ctx.node.attrInt("batch_dims", 0);
    if (b != 0) return unsupported("GatherND with batch_dims is not supported");
    auto idx = readInts(it, "indices");
    if (!idx) return idx.error();
    if (it.rank() < 1) return invalid("indices must have rank >= 1");
    const int64_t k = it.shape().back();
    if (k > x.rank()) return invalid("index tuples are longer than the data rank");
    Shape outShape(it.shape().begin(), it.shape().end() - 1);
    for (int64_t d = k; d < x.rank(); ++d) outShape.push_back(x.shape()[static_cast<size_t>(d)]);
    auto out = allocate(x.dtype(), outShape);
    if (!out) return out.error();
    const auto xs = contiguousStrides(x.shape());
    int64_t block = static_cast<int64_t>(elementSize(x.dtype()));
    for (int64_t d = k; d < x.rank(); ++d) block *= x.shape()[static_cast<size_t>(d)];
    const int64_t tuples = k ? static_cast<int64_t>(idx->size()) / k : shapeNumel(outShape);
    for (int64_t t = 0; t < tuples; ++t) {
        int64_t off = 0;
        for (int64_t j = 0; j < k; ++j) {
            const int64_t dim = x.shape()[static_cast<size_t>(j)];
            int64_t i = (*idx)[static_cast<size_t>(t * k + j)];
            if (i < -dim || i >= dim) return invalid("index " + std::to_string(i) + " is out of range");
            if (i < 0) i += dim;
            off += i * xs[static_cast<size_t>(j)];
        }
        std::memcpy(out->mutableRawData() + t * block, x.rawData() + off * int64_t(elementSize(x.dtype())), static_cast<size_t>(block));
    }
    ctx.outputs[0] = std::move(*out);
    return {};
}

template <class T>
void combine(T& dst, T src, const std::string& red) {
    if (red == "add") dst = static_cast<T>(dst + src);
    else if (red == "mul") dst = static_cast<T>(dst * src);
    else if (red == "max") dst = std::max(dst, src);
    else if (red == "min") dst = std::min(dst, src);
    else dst = src;
}

Status scatterElements(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& it = ctx.in(1);
    const Tensor& upd = ctx.in(2);
    auto axis = normalizeAxis(ctx.node.attrInt("axis", 0), x.rank());
    if (!axis) return axis.error();
    const std::string red = ctx.node.attrString("reduction", "none");
    if (it.shape() != upd.shape() || it.rank() != x.rank()) return invalid("indices and updates must match and have the data's rank");
    auto idx = readInts(it, "indices");
    if (!idx) return idx.error();
    Tensor out = x;
    const auto xs = contiguousStrides(x.shape());
    const auto ax = static_cast<size_t>(*axis);
    Status st;
    const bool ok = visitAll(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* po = out.mutableData<T>();
        const T* pu = upd.data<T>();
        Odometer od(it.shape());
        for (int64_t e = 0; e < it.numel(); ++e, od.next()) {
            int64_t off = 0;
            for (size_t d = 0; d < od.index.size(); ++d) {
                int64_t i = d == ax ? (*idx)[static_cast<size_t>(e)] : od.index[d];
                const int64_t dim = x.shape()[d];
                if (i < -dim || i >= dim) {
                    st = invalid("index " + std::to_string(i) + " is out of range");
                    return;
                }
                if (i < 0) i += dim;
                off += i * xs[d];
            }
            combine(po[off], pu[e], red);
        }
    });
    if (!ok) return unsupported(std::string("data of type ") + dtypeName(x.dtype()) + " is not supported");
    BY_TRY(st);
    ctx.outputs[0] = std::move(out);
    return {};
}

Status scatterND(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& it = ctx.in(1);
    const Tensor& upd = ctx.in(2);
    const std::string red = ctx.node.attrString("reduction", "none");
    auto idx = readInts(it, "indices");
    if (!idx) return idx.error();
    if (it.rank() < 1) return invalid("indices must have rank >= 1");
    const int64_t k = it.shape().back();
    if (k > x.rank()) return invalid("index tuples are longer than the data rank");
    int64_t block = 1;
    for (int64_t d = k; d < x.rank(); ++d) block *= x.shape()[static_cast<size_t>(d)];
    const int64_t tuples = k ? static_cast<int64_t>(idx->size()) / k : 0;
    if (upd.numel() != tuples * block) return invalid("updates do not match indices");
    Tensor out = x;
    const auto xs = contiguousStrides(x.shape());
    Status st;
    const bool ok = visitAll(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* po = out.mutableData<T>();
        const T* pu = upd.data<T>();
        for (int64_t t = 0; t < tuples; ++t) {
            int64_t off = 0;
            for (int64_t j = 0; j < k; ++j) {
                const int64_t dim = x.shape()[static_cast<size_t>(j)];
                int64_t i = (*idx)[static_cast<size_t>(t * k + j)];
                if (i < -dim || i >= dim) {
                    st = invalid("index " + std::to_string(i) + " is out of range");
                    return;
                }
                if (i < 0) i += dim;
                off += i * xs[static_cast<size_t>(j)];
            }
            for (int64_t e = 0; e < block; ++e) combine(po[off + e], pu[t * block + e], red);
        }
    });
    if (!ok) return unsupported(std::string("data of type ") + dtypeName(x.dtype()) + " is not supported");
    BY_TRY(st);
    ctx.outputs[0] = std::move(out);
    return {};
}

// Copies x broadcast to `shape`.
Result<Tensor> broadcastTo(const Tensor& x, const Shape& shape, ThreadPool* pool) {
    auto plan = planBroadcast({&x.shape(), &shape});
    if (!plan) return plan.error();
    auto out = allocate(x.dtype(), plan->outShape);
    if (!out) return out.error();
    const size_t es = elementSize(x.dtype());
    visitBytes(es, [&](auto tag) {
        using T = decltype(tag);
        const T* s = x.data<T>();
        T* o = out->template mutableData<T>();
        parallelFor(pool, plan->numel, 65536, [&](int64_t b, int64_t e) {
            forEachRun(*plan, b, e, [&](int64_t pos, int64_t n, const int64_t* off, const int64_t* st) {
                if (st[0] == 1) std::memcpy(o + pos, s + off[0], static_cast<size_t>(n) * sizeof(T));
                else if (st[0] == 0) std::fill(o + pos, o + pos + n, s[off[0]]);
                else for (int64_t i = 0; i < n; ++i) o[pos + i] = s[off[0] + i * st[0]];
            });
        });
    });
    return out;
}

Status expand(KernelContext& ctx) {
    BY_TRY(plainInput(ctx.in(0)));
    auto shape = readInts(ctx.in(1), "shape");
    if (!shape) return shape.error();
    auto out = broadcastTo(ctx.in(0), *shape, ctx.pool);
    if (!out) return out.error();
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status tile(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    auto reps = readInts(ctx.in(1), "repeats");
    if (!reps) return reps.error();
    if (static_cast<int64_t>(reps->size()) != x.rank()) return invalid("repeats must have one entry per dimension");
    Shape outShape = x.shape();
    for (size_t d = 0; d < outShape.size(); ++d) {
        if ((*reps)[d] < 0) return invalid("repeats must not be negative");
        outShape[d] *= (*reps)[d];
    }
    auto out = allocate(x.dtype(), outShape);
    if (!out) return out.error();
    const auto xs = contiguousStrides(x.shape());
    visitBytes(elementSize(x.dtype()), [&](auto tag) {
        using T = decltype(tag);
        const T* s = x.data<T>();
        T* o = out->template mutableData<T>();
        Odometer od(outShape);
        for (int64_t e = 0; e < out->numel(); ++e, od.next()) {
            int64_t off = 0;
            for (size_t d = 0; d < outShape.size(); ++d) off += (od.index[d] % x.shape()[d]) * xs[d];
            o[e] = s[off];
        }
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status pad(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    const int64_t r = x.rank();
    const std::string mode = ctx.node.attrString("mode", "constant");
    std::vector<int64_t> pads;
    double value = 0;
    std::vector<int64_t> axes;
    if (ctx.opset > 0 && ctx.opset < 11) {
        pads = ctx.node.attr("pads") ? ctx.node.attrInts("pads") : ctx.node.attrInts("paddings");
        value = ctx.node.attrFloat("value", 0.0);
    } else {
        auto p = readInts(ctx.in(1), "pads");
        if (!p) return p.error();
        pads = std::move(*p);
        if (ctx.has(2) && ctx.in(2).numel() > 0) {
            auto v = readDoubles(ctx.in(2), "constant_value");
            if (!v) return v.error();
            value = (*v)[0];
        }
        if (ctx.has(3)) {
            auto a = readInts(ctx.in(3), "axes");
            if (!a) return a.error();
            axes = std::move(*a);
        }
    }
    if (axes.empty())
        for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    if (pads.size() != 2 * axes.size()) return invalid("pads must have two entries per padded axis");
    std::vector<int64_t> before(static_cast<size_t>(r), 0), after(static_cast<size_t>(r), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
        auto a = normalizeAxis(axes[i], r);
        if (!a) return a.error();
        before[static_cast<size_t>(*a)] = pads[i];
        after[static_cast<size_t>(*a)] = pads[i + axes.size()];
    }
    Shape outShape = x.shape();
    for (size_t d = 0; d < outShape.size(); ++d) {
        outShape[d] += before[d] + after[d];
        if (outShape[d] < 0) return invalid("pads make a dimension negative");
        if ((mode == "reflect" || mode == "edge") && x.shape()[d] == 0 && outShape[d] > 0)
            return invalid("cannot " + mode + "-pad an empty dimension");
        if (mode == "reflect" && (before[d] >= x.shape()[d] || after[d] >= x.shape()[d]) && (before[d] > 0 || after[d] > 0))
            return invalid("reflect padding must be smaller than the dimension");
    }
    if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
        return unsupported("pad mode '" + mode + "' is not supported");
    auto out = allocate(x.dtype(), outShape);
    if (!out) return out.error();
    const auto xs = contiguousStrides(x.shape());
    Status st;
    const bool ok = visitAll(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* s = x.data<T>();
        T* o = out->template mutableData<T>();
        const T fill = static_cast<T>(value);
        Odometer od(outShape);
        for (int64_t e = 0; e < out->numel(); ++e, od.next()) {
            int64_t off = 0;
            bool inside = true;
            for (size_t d = 0; d < outShape.size(); ++d) {
                int64_t i = od.index[d] - before[d];
                const int64_t n = x.shape()[d];
                if (i < 0 || i >= n) {
                    if (mode == "constant") {
                        inside = false;
                        break;
                    }
                    if (mode == "edge") i = i < 0 ? 0 : n - 1;
                    else if (mode == "wrap") i = ((i % n) + n) % n;
                    else {
                        const int64_t period = 2 * (n - 1);
                        i = period ? ((i % period) + period) % period : 0;
                        if (i >= n) i = period - i;
                    }
                }
                off += i * xs[d];
            }
            o[e] = inside ? s[off] : fill;
        }
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    ctx.outputs[0] = std::move(*out);
    return st;
}

Status shapeOp(KernelContext& ctx) {
    const Shape& s = ctx.in(0).shape();
    const int64_t r = static_cast<int64_t>(s.size());
    int64_t start = ctx.node.attrInt("start", 0), end = ctx.node.attrInt("end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = std::clamp<int64_t>(start, 0, r);
    end = std::clamp<int64_t>(end, 0, r);
    std::vector<int64_t> v;
    for (int64_t i = start; i < end; ++i) v.push_back(s[static_cast<size_t>(i)]);
    ctx.outputs[0] = Tensor::fromInt64s({static_cast<int64_t>(v.size())}, v);
    return {};
}

Status sizeOp(KernelContext& ctx) {
    ctx.outputs[0] = Tensor::fromInt64s({}, {ctx.in(0).numel()});
    return {};
}

Status constantOfShape(KernelContext& ctx) {
    auto shape = readInts(ctx.in(0), "shape");
    if (!shape) return shape.error();
    Tensor value = Tensor::fromFloats({1}, {0.f});
    if (const Attribute* a = ctx.node.attr("value"); a && a->kind == Attribute::Kind::Tensor) value = a->t;
    if (value.numel() != 1) return invalid("value must hold one element");
    BY_TRY(plainInput(value, "value"));
    auto out = allocate(value.dtype(), *shape);
    if (!out) return out.error();
    const size_t es = elementSize(value.dtype());
    uint8_t* dst = out->mutableRawData();
    for (int64_t i = 0; i < out->numel(); ++i) std::memcpy(dst + i * int64_t(es), value.rawData(), es);
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status range(KernelContext& ctx) {
    const Tensor& s = ctx.in(0);
    Status st;
    const bool ok = visitNumeric(s.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (ctx.in(1).dtype() != s.dtype() || ctx.in(2).dtype() != s.dtype()) {
            st = invalid("start, limit and delta must have one type");
            return;
        }
        const T start = s.data<T>()[0], limit = ctx.in(1).data<T>()[0], delta = ctx.in(2).data<T>()[0];
        if (delta == 0) {
            st = invalid("delta is 0");
            return;
        }
        const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
        const int64_t count = n > 0 ? static_cast<int64_t>(n) : 0;
        auto out = allocate(s.dtype(), {count});
        if (!out) {
            st = out.error();
            return;
        }
        T* o = out->template mutableData<T>();
        for (int64_t i = 0; i < count; ++i) o[i] = static_cast<T>(start + static_cast<T>(i) * delta);
        ctx.outputs[0] = std::move(*out);
    });
    if (!ok) return unsupported(std::string("Range on ") + dtypeName(s.dtype()) + " is not supported");
    return st;
}

template <class To, class From>
To convertValue(From v) {
    if constexpr (std::is_same_v<To, bool>) {
        return v != From(0);
    } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
        if (std::isnan(v)) return To(0);
        if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
        if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
        return static_cast<To>(v);
    } else {
        return static_cast<To>(v);
    }
}

bool castable(DType t) {
    return t == DType::F16 || t == DType::BF16 || t == DType::Bool || (elementSize(t) > 0 && (dtypeInfo(t).isFloat || dtypeInfo(t).isInteger));
}

Result<Tensor> castTensor(const Tensor& x, DType to, ThreadPool* pool) {
    if (x.dtype() == to) return x;
    if (!castable(x.dtype()) || !castable(to))
        return unsupported(std::string("cast from ") + dtypeName(x.dtype()) + " to " + dtypeName(to) + " is not supported");
    // Half types go through f32.
    Tensor src = x;
    if (x.dtype() == DType::F16 || x.dtype() == DType::BF16) {
        auto f = x.toFloats();
        if (!f) return f.error();
        src = Tensor::fromFloats(x.shape(), *f);
        if (to == DType::F32) return src;
    }
    if (to == DType::F16 || to == DType::BF16) {
        auto f32 = castTensor(src, DType::F32, pool);
        if (!f32) return f32.error();
        auto out = allocate(to, x.shape());
        if (!out) return out.error();
        const float* p = f32->data<float>();
        auto* o = out->mutableData<uint16_t>();
        for (int64_t i = 0; i < x.numel(); ++i) o[i] = to == DType::F16 ? floatToHalf(p[i]) : floatToBf16(p[i]);
        return out;
    }
    auto out = allocate(to, x.shape());
    if (!out) return out.error();
    visitAll(src.dtype(), [&](auto fromTag) {
        using From = decltype(fromTag);
        visitAll(to, [&](auto toTag) {
            using To = decltype(toTag);
            const From* p = src.data<From>();
            To* o = out->template mutableData<To>();
            parallelFor(pool, x.numel(), 65536, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) o[i] = convertValue<To>(p[i]);
            });
        });
    });
    return out;
}

Status checkCast(const Node& n, const Graph& g, int64_t) {
    const DType in = declaredInputType(n, g, 0);
    if (in != DType::Undefined && !castable(in)) return unsupported(std::string("cast from ") + dtypeName(in) + " is not supported");
    if (n.opType == "CastLike") {
        const DType like = declaredInputType(n, g, 1);
        if (like != DType::Undefined && !castable(like)) return unsupported(std::string("cast to ") + dtypeName(like) + " is not supported");
    }
    if (n.opType == "Cast") {
        // ONNX type codes for the types castTensor handles.
        static const std::pair<int64_t, DType> codes[] = {
            {1, DType::F32}, {2, DType::U8},  {3, DType::I8},   {4, DType::U16}, {5, DType::I16},  {6, DType::I32},
            {7, DType::I64}, {9, DType::Bool}, {10, DType::F16}, {11, DType::F64}, {12, DType::U32}, {13, DType::U64},
            {16, DType::BF16}};
        const int64_t to = n.attrInt("to", 0);
        bool ok = false;
        for (const auto& [c, d] : codes) ok = ok || c == to;
        if (!ok) return unsupported("cast to ONNX type " + std::to_string(to) + " is not supported");
    }
    return {};
}

DType dtypeFromOnnxCode(int64_t code) {
    switch (code) {
    case 1: return DType::F32;
    case 2: return DType::U8;
    case 3: return DType::I8;
    case 4: return DType::U16;
    case 5: return DType::I16;
    case 6: return DType::I32;
    case 7: return DType::I64;
    case 9: return DType::Bool;
    case 10: return DType::F16;
    case 11: return DType::F64;
    case 12: return DType::U32;
    case 13: return DType::U64;
    case 16: return DType::BF16;
    default: return DType::Undefined;
    }
}

Status cast(KernelContext& ctx) {
    const DType to = dtypeFromOnnxCode(ctx.node.attrInt("to", 0));
    if (to == DType::Undefined) return unsupported("cast to ONNX type " + std::to_string(ctx.node.attrInt("to", 0)) + " is not supported");
    auto out = castTensor(ctx.in(0), to, ctx.pool);
    if (!out) return out.error();
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status castLike(KernelContext& ctx) {
    auto out = castTensor(ctx.in(0), ctx.in(1).dtype(), ctx.pool);
    if (!out) return out.error();
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status where(KernelContext& ctx) {
    const Tensor& c = ctx.in(0);
    const Tensor& a = ctx.in(1);
    const Tensor& b = ctx.in(2);
    BY_TRY(requireType(c, {DType::Bool}, "condition"));
    BY_TRY(plainInput(a));
    if (a.dtype() != b.dtype()) return invalid("X and Y have different types");
    auto plan = planBroadcast({&c.shape(), &a.shape(), &b.shape()});
    if (!plan) return plan.error();
    auto out = allocate(a.dtype(), plan->outShape);
    if (!out) return out.error();
    const uint8_t* pc = c.data<uint8_t>();
    visitBytes(elementSize(a.dtype()), [&](auto tag) {
        using T = decltype(tag);
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* o = out->template mutableData<T>();
        parallelFor(ctx.pool, plan->numel, 32768, [&](int64_t s, int64_t e) {
            forEachRun(*plan, s, e, [&](int64_t pos, int64_t n, const int64_t* off, const int64_t* st) {
                for (int64_t i = 0; i < n; ++i)
                    o[pos + i] = pc[off[0] + i * st[0]] ? pa[off[1] + i * st[1]] : pb[off[2] + i * st[2]];
            });
        });
    });
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status nonZero(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    std::vector<int64_t> flat;
    const bool ok = visitAll(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        for (int64_t i = 0; i < x.numel(); ++i)
            if (p[i] != T(0)) flat.push_back(i);
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    const int64_t r = x.rank(), nnz = static_cast<int64_t>(flat.size());
    std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(r, 1) * nnz));
    Odometer od(x.shape());
    for (int64_t k = 0; k < nnz; ++k) {
        od.seek(flat[static_cast<size_t>(k)]);
        for (int64_t d = 0; d < r; ++d) out[static_cast<size_t>(d * nnz + k)] = od.index[static_cast<size_t>(d)];
    }
    if (r == 0) out.assign(static_cast<size_t>(nnz), 0);
    ctx.outputs[0] = Tensor::fromInt64s({std::max<int64_t>(r, 1), nnz}, out);
    return {};
}

Status depthSpace(KernelContext& ctx, bool toSpace) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    if (x.rank() != 4) return invalid("input must be 4-D");
    const int64_t b = ctx.node.attrInt("blocksize", 0);
    if (b <= 0) return invalid("blocksize must be positive");
    const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    Shape mid, fin;
    std::vector<int64_t> perm;
    if (toSpace) {
        if (C % (b * b)) return invalid("channels are not a multiple of blocksize^2");
        const int64_t c = C / (b * b);
        if (ctx.node.attrString("mode", "DCR") == "CRD") {
            mid = {N, c, b, b, H, W};
            perm = {0, 1, 4, 2, 5, 3};
        } else {
            mid = {N, b, b, c, H, W};
            perm = {0, 3, 4, 1, 5, 2};
        }
        fin = {N, c, H * b, W * b};
    } else {
        if (H % b || W % b) return invalid("height and width must be multiples of blocksize");
        mid = {N, C, H / b, b, W / b, b};
        perm = {0, 3, 5, 1, 2, 4};
        fin = {N, C * b * b, H / b, W / b};
    }
    auto t = transposeTensor(*x.reshaped(mid), perm, ctx.pool);
    if (!t) return t.error();
    ctx.outputs[0] = *t->reshaped(fin);
    return {};
}

Status trilu(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    BY_TRY(plainInput(x));
    if (x.rank() < 2) return invalid("input must have rank >= 2");
    int64_t k = 0;
    if (ctx.has(1)) {
        auto v = readInts(ctx.in(1), "k");
        if (!v) return v.error();
        k = (*v)[0];
    }
    const bool upper = ctx.node.attrInt("upper", 1) != 0;
    Tensor out = x;
    const int64_t R = x.shape()[x.shape().size() - 2], C = x.shape().back();
    const size_t es = elementSize(x.dtype());
    uint8_t* p = out.mutableRawData();
    for (int64_t m = 0; m < x.numel() / std::max<int64_t>(R * C, 1); ++m)
        for (int64_t i = 0; i < R; ++i)
            for (int64_t j = 0; j < C; ++j) {
                const bool keep = upper ? j - i >= k : j - i <= k;
                if (!keep) std::memset(p + ((m * R + i) * C + j) * int64_t(es), 0, es);
            }
    ctx.outputs[0] = std::move(out);
    return {};
}

Status oneHot(KernelContext& ctx) {
    auto idx = readDoubles(ctx.in(0), "indices");
    if (!idx) return idx.error();
    auto depthV = readDoubles(ctx.in(1), "depth");
    if (!depthV) return depthV.error();
    const Tensor& values = ctx.in(2);
    if (values.numel() != 2) return invalid("values must hold [off, on]");
    BY_TRY(plainInput(values, "values"));
    const auto depth = static_cast<int64_t>((*depthV)[0]);
    if (depth < 0) return invalid("depth must not be negative");
    const Shape& is = ctx.in(0).shape();
    const int64_t outRank = static_cast<int64_t>(is.size()) + 1;
    auto axis = normalizeAxis(ctx.node.attrInt("axis", -1), outRank);
    if (!axis) return axis.error();
    Shape outShape = is;
    outShape.insert(outShape.begin() + *axis, depth);
    auto out = allocate(values.dtype(), outShape);
    if (!out) return out.error();
    const size_t es = elementSize(values.dtype());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < *axis; ++d) outer *= is[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(*axis); d < is.size(); ++d) inner *= is[d];
    uint8_t* o = out->mutableRawData();
    for (int64_t a = 0; a < outer; ++a)
        for (int64_t dd = 0; dd < depth; ++dd)
            for (int64_t in = 0; in < inner; ++in) {
                auto v = static_cast<int64_t>((*idx)[static_cast<size_t>(a * inner + in)]);
                if (v < 0) v += depth;
                const bool on = v == dd;
                std::memcpy(o + ((a * depth + dd) * inner + in) * int64_t(es), values.rawData() + (on ? es : 0), es);
            }
    ctx.outputs[0] = std::move(*out);
    return {};
}

Status eyeLike(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    if (x.rank() != 2) return invalid("input must be 2-D");
    DType t = x.dtype();
    if (ctx.node.attr("dtype")) t = dtypeFromOnnxCode(ctx.node.attrInt("dtype", 1));
    const int64_t k = ctx.node.attrInt("k", 0);
    auto out = allocate(t, x.shape());
    if (!out) return out.error();
    const bool ok = visitAll(t, [&](auto tag) {
        using T = decltype(tag);
        T* o = out->template mutableData<T>();
        for (int64_t i = 0; i < x.shape()[0]; ++i) {
            const int64_t j = i + k;
            if (j >= 0 && j < x.shape()[1]) o[i * x.shape()[1] + j] = T(1);
        }
    });
    if (!ok) return unsupported(std::string("EyeLike of ") + dtypeName(t) + " is not supported");
    ctx.outputs[0] = std::move(*out);
    return {};
}

}  // namespace

void registerShapeOps(OpRegistry& r) {
    r.add("", "Identity", identity);
    r.add("", "Dropout", dropout, [](const Node& n, const Graph& g, int64_t) -> Status {
        // Training-mode dropout is random; only a constant false training_mode runs.
        if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
            const Value& v = g.values[static_cast<size_t>(n.inputs[2])];
            const bool constFalse = v.data && v.data->numel() == 1 && v.data->rawData()[0] == 0;
            if (!constFalse) return unsupported("Dropout in training mode is not supported");
        }
        if (n.attrInt("training_mode", 0) != 0) return unsupported("Dropout in training mode is not supported");
        return {};
    });
    r.add("", "Constant", constantOp);
    r.add("", "Reshape", reshape);
    r.add("", "Flatten", flatten);
    r.add("", "Squeeze", squeeze);
    r.add("", "Unsqueeze", unsqueeze);
    r.add("", "Transpose", transpose, checkPlain);
    r.add("", "Concat", concat, checkPlain);
    r.add("", "Split", split, checkPlain);
    r.add("", "Slice", slice, checkPlain);
    r.add("", "Gather", gather, checkPlain);
    r.add("", "GatherElements", gatherElements, checkPlain);
    r.add("", "GatherND", gatherND, [](const Node& n, const Graph& g, int64_t o) -> Status {
        if (n.attrInt("batch_dims", 0) != 0) return unsupported("GatherND with batch_dims is not supported");
        return checkPlain(n, g, o);
    });
    r.add("", "ScatterElements", scatterElements, checkPlain);
    r.add("", "ScatterND", scatterND, checkPlain);
    r.add("", "Expand", expand, checkPlain);
    r.add("", "Tile", tile, checkPlain);
    r.add("", "Pad", pad, [](const Node& n, const Graph& g, int64_t o) -> Status {
        const std::string mode = n.attrString("mode", "constant");
        if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
            return unsupported("pad mode '" + mode + "' is not supported");
        return checkPlain(n, g, o);
    });
    r.add("", "Shape", shapeOp);
    r.add("", "Size", sizeOp);
    r.add("", "ConstantOfShape", constantOfShape);
    r.add("", "Range", range);
    r.add("", "Cast", cast, checkCast);
    r.add("", "CastLike", castLike, checkCast);
    r.add("", "Where", where, [](const Node& n, const Graph& g, int64_t) -> Status {
        const DType t = declaredInputType(n, g, 1);
        if (t != DType::Undefined && elementSize(t) == 0) return unsupported(std::string("Where on ") + dtypeName(t) + " is not supported");
        return {};
    });
    r.add("", "NonZero", nonZero, checkPlain);
    r.add("", "DepthToSpace", [](KernelContext& c) { return depthSpace(c, true); }, checkPlain);
    r.add("", "SpaceToDepth", [](KernelContext& c) { return depthSpace(c, false); }, checkPlain);
    r.add("", "Trilu", trilu, checkPlain);
    r.add("", "OneHot", oneHot);
    r.add("", "EyeLike", eyeLike);
}

}  // namespace by
