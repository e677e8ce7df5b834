#include "engine/ops_common.h"

namespace by::ops {

size_t elementSize(DType t) {
    const auto& info = dtypeInfo(t);
    if (t == DType::String || t == DType::Undefined || info.isPacked || info.isBlockQuant || info.blockElems != 1) return 0;
    return static_cast<size_t>(info.blockBytes);
}

Result<Tensor> allocate(DType t, const Shape& shape) { return Tensor::zeros(t, shape); }

std::vector<int64_t> contiguousStrides(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
    return st;
}

Result<std::vector<int64_t>> readInts(const Tensor& t, const char* what) {
    std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(t.numel(), 0)));
    const bool ok = visitInteger(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(p[i]);
    });
    if (!ok && t.dtype() == DType::Bool) {
        const auto* p = t.data<uint8_t>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = p[i] != 0;
        return out;
    }
    if (!ok) return invalid(std::string(what) + " must be an integer tensor, not " + dtypeName(t.dtype()));
    return out;
}

Result<std::vector<double>> readDoubles(const Tensor& t, const char* what) {
    std::vector<double> out(static_cast<size_t>(std::max<int64_t>(t.numel(), 0)));
    const bool ok = visitAll(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
    });
    if (!ok && (t.dtype() == DType::F16 || t.dtype() == DType::BF16)) {
        auto f = t.toFloats();
        if (!f) return f.error();
        for (size_t i = 0; i < out.size(); ++i) out[i] = (*f)[i];
        return out;
    }
    if (!ok) return unsupported(std::string(what) + " of type " + dtypeName(t.dtype()) + " cannot be read as numbers");
    return out;
}

Result<int64_t> normalizeAxis(int64_t axis, int64_t rank, const char* what) {
    if (axis < -rank || axis >= rank)
        return invalid(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

Result<Shape> broadcastShapes(const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else return invalid("shapes " + shapeToString(a) + " and " + shapeToString(b) + " cannot be broadcast together");
    }
    return out;
}

std::string dtypeList(std::initializer_list<DType> types) {
    std::string s;
    for (DType t : types) {
        if (!s.empty()) s += ", ";
        s += dtypeName(t);
    }
    return s;
}

DType declaredInputType(const Node& node, const Graph& graph, size_t input) {
    if (input >= node.inputs.size() || node.inputs[input] < 0) return DType::Undefined;
    const auto idx = static_cast<size_t>(node.inputs[input]);
    if (idx >= graph.values.size()) return DType::Undefined;
    const Value& v = graph.values[idx];
    if (v.data) return v.data->dtype();
    return v.dtype;
}

Status requireDeclared(const Node& node, const Graph& graph, size_t input, std::initializer_list<DType> types) {
    const DType t = declaredInputType(node, graph, input);
    if (t == DType::Undefined) return {};
    for (DType a : types)
        if (a == t) return {};
    return unsupported("input " + std::to_string(input) + " of type " + dtypeName(t) + " is not supported (only " +
                       dtypeList(types) + ")");
}

Status requireType(const Tensor& t, std::initializer_list<DType> types, const char* what) {
    for (DType a : types)
        if (a == t.dtype()) return {};
    return unsupported(std::string(what) + " of type " + dtypeName(t.dtype()) + " is not supported (only " +
                       dtypeList(types) + ")");
}

Result<std::optional<std::vector<int64_t>>> intsFromAttrOrInput(const KernelContext& ctx, const char* attr, size_t input) {
    if (const Attribute* a = ctx.node.attr(attr)) {
        if (a->kind == Attribute::Kind::Ints) return std::optional<std::vector<int64_t>>(a->ints);
        if (a->kind == Attribute::Kind::Int) return std::optional<std::vector<int64_t>>(std::vector<int64_t>{a->i});
        return invalid(std::string("attribute '") + attr + "' must be a list of integers");
    }
    if (ctx.has(input)) {
        auto v = readInts(ctx.in(input), attr);
        if (!v) return v.error();
        return std::optional<std::vector<int64_t>>(std::move(*v));
    }
    return std::optional<std::vector<int64_t>>();
}

Result<BroadcastPlan> planBroadcast(const std::vector<const Shape*>& shapes) {
    BroadcastPlan p;
    Shape out;
    for (const Shape* s : shapes) {
        auto b = broadcastShapes(out, *s);
        if (!b) return b.error();
        out = std::move(*b);
    }
    p.outShape = out;
    p.numel = shapeNumel(out);
    const size_t r = out.size();
    const size_t k = shapes.size();
    std::vector<std::vector<int64_t>> full(k, std::vector<int64_t>(r, 0));
    for (size_t i = 0; i < k; ++i) {
        const Shape& s = *shapes[i];
        const size_t lead = r - s.size();
        auto st = contiguousStrides(s);
        for (size_t d = 0; d < s.size(); ++d) full[i][lead + d] = s[d] == 1 && out[lead + d] != 1 ? 0 : st[d];
    }
    // Drop size-1 dimensions, then merge neighbours that every input walks contiguously.
    Shape dims;
    std::vector<std::vector<int64_t>> strides(k);
    for (size_t d = 0; d < r; ++d) {
        if (out[d] == 1) continue;
        bool merge = !dims.empty();
        for (size_t i = 0; i < k && merge; ++i) merge = strides[i].back() == full[i][d] * out[d];
        if (merge) {
            dims.back() *= out[d];
            for (size_t i = 0; i < k; ++i) strides[i].back() = full[i][d];
        } else {
            dims.push_back(out[d]);
            for (size_t i = 0; i < k; ++i) strides[i].push_back(full[i][d]);
        }
    }
    p.dims = std::move(dims);
    p.strides = std::move(strides);
    return p;
}

}  // namespace by::ops
