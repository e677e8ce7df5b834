// Constant folding for the small integer tensors that exported models compute from shapes
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape). Elements may be symbolic dimensions, so a
// batch size "N" read by Shape reaches the Reshape that consumes it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "engine/shape_inference_internal.h"

namespace by::shape_inference {

bool isFloatType(DType t) {
    return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16;
}

bool isIntegerLike(DType t) {
    switch (t) {
    case DType::I8: case DType::U8: case DType::I16: case DType::U16: case DType::I32: case DType::U32:
    case DType::I64: case DType::U64: case DType::Bool: return true;
    default: return false;
    }
}

bool FoldValue::isFloat() const { return isFloatType(dtype); }

bool FoldValue::fullyKnown() const {
    return std::all_of(elems.begin(), elems.end(), [](const FoldElem& e) { return e.known; });
}

std::optional<FoldValue> foldFromTensor(const Tensor& t, int64_t maxElems) {
    const int64_t n = t.numel();
    if (n < 0 || n > maxElems || !(isFloatType(t.dtype()) || isIntegerLike(t.dtype()))) return std::nullopt;
    if (n > 0 && (!t.rawData() || t.nbytes() < static_cast<size_t>(dtypeStorageBytes(t.dtype(), n))))
        return std::nullopt;
    FoldValue f;
    f.dtype = t.dtype();
    f.shape = t.shape();
    f.elems.resize(static_cast<size_t>(n));
    const uint8_t* p = t.rawData();
    auto readInts = [&](auto tag) {
        using T = decltype(tag);
        for (int64_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, p + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
            f.elems[static_cast<size_t>(i)] = FoldElem::ofInt(static_cast<int64_t>(v));
        }
    };
    switch (t.dtype()) {
    case DType::I8: readInts(int8_t{}); break;
    case DType::U8: readInts(uint8_t{}); break;
    case DType::Bool: readInts(uint8_t{}); break;
    case DType::I16: readInts(int16_t{}); break;
    case DType::U16: readInts(uint16_t{}); break;
    case DType::I32: readInts(int32_t{}); break;
    case DType::U32: readInts(uint32_t{}); break;
    case DType::I64: readInts(int64_t{}); break;
    case DType::U64: readInts(int64_t{}); break;  // bit pattern; shapes never exceed int64
    default: {
        auto v = t.toFloats();
        if (!v) return std::nullopt;
        if (t.dtype() == DType::F64) {
            for (int64_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, p + i * 8, 8);
                f.elems[static_cast<size_t>(i)] = FoldElem::ofFloat(d);
            }
        } else {
            for (int64_t i = 0; i < n; ++i)
                f.elems[static_cast<size_t>(i)] = FoldElem::ofFloat((*v)[static_cast<size_t>(i)]);
        }
    }
    }
    return f;
}

std::optional<Tensor> foldToTensor(const FoldValue& f) {
    if (!f.fullyKnown()) return std::nullopt;
    const int64_t n = f.numel();
    const int64_t bytes = dtypeStorageBytes(f.dtype, n);
    if (bytes < 0 || shapeNumel(f.shape) != n) return std::nullopt;
    std::vector<uint8_t> b(static_cast<size_t>(bytes));
    auto writeInts = [&](auto tag) {
        using T = decltype(tag);
        for (int64_t i = 0; i < n; ++i) {
            const T v = static_cast<T>(f.elems[static_cast<size_t>(i)].i);
            std::memcpy(b.data() + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
        }
    };
    switch (f.dtype) {
    case DType::I8: writeInts(int8_t{}); break;
    case DType::U8: writeInts(uint8_t{}); break;
    case DType::Bool: writeInts(uint8_t{}); break;
    case DType::I16: writeInts(int16_t{}); break;
    case DType::U16: writeInts(uint16_t{}); break;
    case DType::I32: writeInts(int32_t{}); break;
    case DType::U32: writeInts(uint32_t{}); break;
    case DType::I64: writeInts(int64_t{}); break;
    case DType::U64: writeInts(int64_t{}); break;
    case DType::F32:
        for (int64_t i = 0; i < n; ++i) {
            const auto v = static_cast<float>(f.elems[static_cast<size_t>(i)].f);
            std::memcpy(b.data() + i * 4, &v, 4);
        }
        break;
    case DType::F64:
        for (int64_t i = 0; i < n; ++i) std::memcpy(b.data() + i * 8, &f.elems[static_cast<size_t>(i)].f, 8);
        break;
    case DType::F16:
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            const auto v = static_cast<float>(f.elems[static_cast<size_t>(i)].f);
            const uint16_t h = f.dtype == DType::F16 ? floatToHalf(v) : floatToBf16(v);
            std::memcpy(b.data() + i * 2, &h, 2);
        }
        break;
    default: return std::nullopt;
    }
    auto t = Tensor::fromBytes(f.dtype, f.shape, std::move(b));
    if (!t) return std::nullopt;
    return std::move(t).value();
}

namespace {

int64_t wrapInt(int64_t v, DType to) {
    switch (to) {
    case DType::I8: return static_cast<int8_t>(v);
    case DType::U8: return static_cast<uint8_t>(v);
    case DType::I16: return static_cast<int16_t>(v);
    case DType::U16: return static_cast<uint16_t>(v);
    case DType::I32: return static_cast<int32_t>(v);
    case DType::U32: return static_cast<uint32_t>(v);
    case DType::Bool: return v != 0;
    default: return v;
    }
}

}  // namespace

FoldElem castElem(const FoldElem& e, DType from, DType to) {
    if (!e.known) {
        // A dimension keeps its meaning through numeric casts, not through bool.
        return to == DType::Bool ? FoldElem::unknown() : e;
    }
    const bool fromF = isFloatType(from), toF = isFloatType(to);
    if (toF) {
        double v = fromF ? e.f : static_cast<double>(e.i);
        if (to == DType::F32) v = static_cast<float>(v);
        return FoldElem::ofFloat(v);
    }
    if (!fromF) return FoldElem::ofInt(wrapInt(e.i, to));
    if (to == DType::Bool) return FoldElem::ofInt(e.f != 0);
    if (!std::isfinite(e.f) || std::fabs(e.f) >= 9.2e18) return FoldElem::unknown();
    return FoldElem::ofInt(wrapInt(static_cast<int64_t>(e.f), to));  // truncates toward zero
}

namespace {

using Ctx = NodeContext;

Shape strides(const Shape& s) {
    Shape st(s.size(), 1);
    for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
    return st;
}

bool sizeOk(const Ctx& c, const Shape& s) {
    const int64_t n = shapeNumel(s);
    return n >= 0 && n <= c.options().maxFoldElements;
}

// Output-shape-only ops: same elements, the shape the rule just inferred.
bool foldRelayout(Ctx& c) {
    const FoldValue* in = c.inFold(0);
    if (!in || !c.hasOutput(0)) return false;
    const Value& out = c.graph().values[static_cast<size_t>(c.node().outputs[0])];
    if (!out.shape) return false;
    Shape s;
    for (const auto& d : *out.shape) {
        if (!d.known()) return false;
        s.push_back(d.value);
    }
    if (shapeNumel(s) != in->numel()) return false;
    FoldValue f = *in;
    f.shape = s;
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldConstant(Ctx& c) {
    const Attribute* a = c.attr("value");
    if (a && a->kind == Attribute::Kind::Tensor) {
        auto f = foldFromTensor(a->t, c.options().maxFoldElements);
        if (!f) return false;
        c.setOutputFold(0, std::move(*f));
        return true;
    }
    FoldValue f;
    if ((a = c.attr("value_int")) && a->kind == Attribute::Kind::Int) {
        f.elems = {FoldElem::ofInt(a->i)};
    } else if ((a = c.attr("value_ints")) && a->kind == Attribute::Kind::Ints) {
        for (int64_t v : a->ints) f.elems.push_back(FoldElem::ofInt(v));
        f.shape = {static_cast<int64_t>(a->ints.size())};
    } else if ((a = c.attr("value_float")) && a->kind == Attribute::Kind::Float) {
        f.dtype = DType::F32;
        f.elems = {FoldElem::ofFloat(static_cast<float>(a->f))};
    } else if ((a = c.attr("value_floats")) && a->kind == Attribute::Kind::Floats) {
        f.dtype = DType::F32;
        for (double v : a->floats) f.elems.push_back(FoldElem::ofFloat(static_cast<float>(v)));
        f.shape = {static_cast<int64_t>(a->floats.size())};
    } else {
        return false;
    }
    if (!sizeOk(c, f.shape)) return false;
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldShape(Ctx& c) {
    const DimShape* x = c.inShape(0);
    if (!x) return false;
    const auto r = static_cast<int64_t>(x->size());
    auto start = c.node().attrInt("start", 0), end = c.node().attrInt("end", r);
    auto clampAxis = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    start = clampAxis(start);
    end = clampAxis(end);
    FoldValue f;
    for (int64_t k = start; k < end; ++k) f.elems.push_back(FoldElem::ofDim((*x)[static_cast<size_t>(k)]));
    f.shape = {static_cast<int64_t>(f.elems.size())};
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldSize(Ctx& c) {
    const DimShape* x = c.inShape(0);
    if (!x) return false;
    const Dim n = dimProduct(*x, 0, x->size());
    if (!n.known() && n.param.empty()) return false;
    FoldValue f;
    f.elems = {FoldElem::ofDim(n)};
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldCast(Ctx& c) {
    const FoldValue* in = c.inFold(0);
    const Attribute* to = c.attr("to");
    if (!in || !c.hasOutput(0)) return false;
    const DType dt = c.graph().values[static_cast<size_t>(c.node().outputs[0])].dtype;
    if (!to || dt == DType::Undefined || !(isFloatType(dt) || isIntegerLike(dt))) return false;
    FoldValue f;
    f.dtype = dt;
    f.shape = in->shape;
    for (const auto& e : in->elems) f.elems.push_back(castElem(e, in->dtype, dt));
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldGather(Ctx& c) {
    const FoldValue* data = c.inFold(0);
    const FoldValue* idxF = c.inFold(1);
    if (!data || !idxF || idxF->isFloat() || !idxF->fullyKnown() || data->shape.empty()) return false;
    const auto r = static_cast<int64_t>(data->shape.size());
    int64_t axis = c.node().attrInt("axis", 0);
    if (axis < -r || axis >= r) return false;
    if (axis < 0) axis += r;
    const int64_t dim = data->shape[static_cast<size_t>(axis)];
    Shape outShape(data->shape.begin(), data->shape.begin() + axis);
    outShape.insert(outShape.end(), idxF->shape.begin(), idxF->shape.end());
    outShape.insert(outShape.end(), data->shape.begin() + axis + 1, data->shape.end());
    if (!sizeOk(c, outShape)) return false;
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= data->shape[static_cast<size_t>(k)];
    for (int64_t k = axis + 1; k < r; ++k) inner *= data->shape[static_cast<size_t>(k)];
    FoldValue f;
    f.dtype = data->dtype;
    f.shape = outShape;
    for (int64_t o = 0; o < outer; ++o)
        for (const auto& ie : idxF->elems) {
            int64_t i = ie.i < 0 ? ie.i + dim : ie.i;
            if (i < 0 || i >= dim) return false;
            for (int64_t in = 0; in < inner; ++in)
                f.elems.push_back(data->elems[static_cast<size_t>((o * dim + i) * inner + in)]);
        }
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldConcat(Ctx& c) {
    std::vector<const FoldValue*> parts;
    for (size_t i = 0; i < c.inputCount(); ++i) {
        if (!c.hasInput(i)) continue;
        const FoldValue* p = c.inFold(i);
        if (!p) return false;
        parts.push_back(p);
    }
    if (parts.empty() || parts[0]->shape.empty()) return false;
    const auto r = static_cast<int64_t>(parts[0]->shape.size());
    int64_t axis = c.node().attrInt("axis", 0);
    if (axis < -r || axis >= r) return false;
    if (axis < 0) axis += r;
    Shape outShape = parts[0]->shape;
    outShape[static_cast<size_t>(axis)] = 0;
    for (const auto* p : parts) {
        if (p->shape.size() != static_cast<size_t>(r)) return false;
        for (int64_t k = 0; k < r; ++k)
            if (k != axis && p->shape[static_cast<size_t>(k)] != outShape[static_cast<size_t>(k)]) return false;
        outShape[static_cast<size_t>(axis)] += p->shape[static_cast<size_t>(axis)];
    }
    if (!sizeOk(c, outShape)) return false;
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= outShape[static_cast<size_t>(k)];
    FoldValue f;
    f.dtype = parts[0]->dtype;
    f.shape = outShape;
    for (int64_t o = 0; o < outer; ++o)
        for (const auto* p : parts) {
            const int64_t chunk = p->numel() / std::max<int64_t>(outer, 1);
            for (int64_t k = 0; k < chunk; ++k) {
                FoldElem e = p->elems[static_cast<size_t>(o * chunk + k)];
                if (p->dtype != f.dtype) e = castElem(e, p->dtype, f.dtype);
                f.elems.push_back(e);
            }
        }
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldSlice(Ctx& c) {
    const FoldValue* data = c.inFold(0);
    if (!data || data->shape.empty()) return false;
    const auto r = static_cast<int64_t>(data->shape.size());
    std::optional<std::vector<int64_t>> starts, ends, axes, steps;
    if (c.inputCount() > 1) {
        starts = c.inInts(1);
        ends = c.inInts(2);
        axes = c.hasInput(3) ? c.inInts(3) : std::vector<int64_t>{};
        steps = c.hasInput(4) ? c.inInts(4) : std::vector<int64_t>{};
    } else {
        starts = c.node().attrInts("starts");
        ends = c.node().attrInts("ends");
        axes = c.node().attrInts("axes");
        steps = std::vector<int64_t>{};
    }
    if (!starts || !ends || !axes || !steps || starts->size() != ends->size()) return false;
    if (axes->empty())
        for (size_t k = 0; k < starts->size(); ++k) axes->push_back(static_cast<int64_t>(k));
    if (steps->empty()) steps->assign(starts->size(), 1);
    if (axes->size() != starts->size() || steps->size() != starts->size()) return false;
    std::vector<SliceRange> ranges(static_cast<size_t>(r));
    for (int64_t k = 0; k < r; ++k)
        ranges[static_cast<size_t>(k)] = SliceRange{0, 1, data->shape[static_cast<size_t>(k)]};
    for (size_t k = 0; k < axes->size(); ++k) {
        int64_t a = (*axes)[k];
        if (a < -r || a >= r) return false;
        if (a < 0) a += r;
        auto sr = sliceRange(data->shape[static_cast<size_t>(a)], (*starts)[k], (*ends)[k], (*steps)[k]);
        if (!sr) return false;
        ranges[static_cast<size_t>(a)] = *sr;
    }
    Shape outShape;
    for (const auto& sr : ranges) outShape.push_back(sr.count);
    if (!sizeOk(c, outShape)) return false;
    const Shape st = strides(data->shape);
    FoldValue f;
    f.dtype = data->dtype;
    f.shape = outShape;
    const int64_t n = shapeNumel(outShape);
    std::vector<int64_t> idx(static_cast<size_t>(r), 0);
    for (int64_t e = 0; e < n; ++e) {
        int64_t src = 0;
        for (int64_t k = 0; k < r; ++k) {
            const auto& sr = ranges[static_cast<size_t>(k)];
            src += (sr.start + idx[static_cast<size_t>(k)] * sr.step) * st[static_cast<size_t>(k)];
        }
        f.elems.push_back(data->elems[static_cast<size_t>(src)]);
        for (int64_t k = r; k-- > 0;) {
            if (++idx[static_cast<size_t>(k)] < outShape[static_cast<size_t>(k)]) break;
            idx[static_cast<size_t>(k)] = 0;
        }
    }
    c.setOutputFold(0, std::move(f));
    return true;
}

// Broadcast elementwise evaluation over known shapes. `op` gets the operand elements and
// returns the result element.
bool foldElementwise(
    Ctx& c, size_t nIn, DType outType,
    const std::function<FoldElem(const std::vector<const FoldElem*>&, const std::vector<DType>&)>& op) {
    std::vector<const FoldValue*> ins;
    std::vector<DType> types;
    for (size_t i = 0; i < nIn; ++i) {
        const FoldValue* f = c.inFold(i);
        if (!f) return false;
        ins.push_back(f);
        types.push_back(f->dtype);
    }
    size_t rank = 0;
    for (const auto* f : ins) rank = std::max(rank, f->shape.size());
    Shape outShape(rank, 1);
    for (const auto* f : ins)
        for (size_t k = 0; k < f->shape.size(); ++k) {
            const int64_t d = f->shape[k];
            int64_t& o = outShape[k + rank - f->shape.size()];
            if (d == o || d == 1) continue;
            if (o != 1) return false;
            o = d;
        }
    if (!sizeOk(c, outShape)) return false;
    std::vector<Shape> inStrides;
    for (const auto* f : ins) {
        Shape st = strides(f->shape), full(rank, 0);
        for (size_t k = 0; k < f->shape.size(); ++k)
            full[k + rank - f->shape.size()] = f->shape[k] == 1 ? 0 : st[k];
        inStrides.push_back(full);
    }
    FoldValue out;
    out.dtype = outType;
    out.shape = outShape;
    const int64_t n = shapeNumel(outShape);
    std::vector<int64_t> idx(rank, 0);
    std::vector<const FoldElem*> args(ins.size());
    for (int64_t e = 0; e < n; ++e) {
        for (size_t i = 0; i < ins.size(); ++i) {
            int64_t off = 0;
            for (size_t k = 0; k < rank; ++k) off += idx[k] * inStrides[i][k];
            args[i] = &ins[i]->elems[static_cast<size_t>(off)];
        }
        out.elems.push_back(op(args, types));
        for (size_t k = rank; k-- > 0;) {
            if (++idx[k] < outShape[k]) break;
            idx[k] = 0;
        }
    }
    c.setOutputFold(0, std::move(out));
    return true;
}

bool foldArith(Ctx& c, const std::string& op) {
    const FoldValue* a = c.inFold(0);
    const FoldValue* b = c.inFold(1);
    if (!a || !b) return false;
    const DType dt = a->dtype;
    const bool fl = isFloatType(dt);
    return foldElementwise(c, 2, dt, [&](const std::vector<const FoldElem*>& v, const std::vector<DType>& t) {
        FoldElem x = *v[0], y = *v[1];
        if (t[1] != dt) y = castElem(y, t[1], dt);
        auto isNum = [&](const FoldElem& e, int64_t k) {
            return e.known && (fl ? e.f == static_cast<double>(k) : e.i == k);
        };
        if (!x.known || !y.known) {
            // Identities that keep a symbolic dimension.
            if ((op == "Add" || op == "Sub") && isNum(y, 0)) return x;
            if (op == "Add" && isNum(x, 0)) return y;
            if ((op == "Mul" || op == "Div") && isNum(y, 1)) return x;
            if (op == "Mul" && isNum(x, 1)) return y;
            if (op == "Mul" && (isNum(x, 0) || isNum(y, 0))) return fl ? FoldElem::ofFloat(0) : FoldElem::ofInt(0);
            return FoldElem::unknown();
        }
        if (fl) {
            double r = 0;
            if (op == "Add") r = x.f + y.f;
            else if (op == "Sub") r = x.f - y.f;
            else if (op == "Mul") r = x.f * y.f;
            else if (op == "Div") r = x.f / y.f;
            else if (op == "Max") r = std::max(x.f, y.f);
            else if (op == "Min") r = std::min(x.f, y.f);
            else if (op == "Pow") r = std::pow(x.f, y.f);
            else if (op == "Mod") r = std::fmod(x.f, y.f);
            if (dt == DType::F32) r = static_cast<float>(r);
            return FoldElem::ofFloat(r);
        }
        int64_t r = 0;
        bool ok = true;
        if (op == "Add") ok = !__builtin_add_overflow(x.i, y.i, &r);
        else if (op == "Sub") ok = !__builtin_sub_overflow(x.i, y.i, &r);
        else if (op == "Mul") ok = !__builtin_mul_overflow(x.i, y.i, &r);
        else if (op == "Div") {
            ok = y.i != 0 && !(x.i == std::numeric_limits<int64_t>::min() && y.i == -1);
            if (ok) r = x.i / y.i;  // integer Div truncates
        } else if (op == "Mod") {
            ok = y.i != 0 && !(x.i == std::numeric_limits<int64_t>::min() && y.i == -1);
            if (ok) {  // fmod = 0: the sign follows the divisor, like Python
                r = x.i % y.i;
                if (c.node().attrInt("fmod", 0) == 0 && r != 0 && ((r < 0) != (y.i < 0))) r += y.i;
            }
        } else if (op == "Max") r = std::max(x.i, y.i);
        else if (op == "Min") r = std::min(x.i, y.i);
        else if (op == "Pow") {
            const double p = std::pow(static_cast<double>(x.i), static_cast<double>(y.i));
            ok = std::isfinite(p) && std::fabs(p) < 9e18;
            if (ok) r = static_cast<int64_t>(p);
        }
        return ok ? FoldElem::ofInt(wrapInt(r, dt)) : FoldElem::unknown();
    });
}

bool foldCompare(Ctx& c, const std::string& op) {
    return foldElementwise(c, 2, DType::Bool,
                           [&](const std::vector<const FoldElem*>& v, const std::vector<DType>& t) {
                               const FoldElem &x = *v[0], &y = *v[1];
                               if (!x.known || !y.known) return FoldElem::unknown();
                               const bool fl = isFloatType(t[0]) || isFloatType(t[1]);
                               const double xf = isFloatType(t[0]) ? x.f : static_cast<double>(x.i);
                               const double yf = isFloatType(t[1]) ? y.f : static_cast<double>(y.i);
                               int cmp = 0;
                               if (fl)
                                   cmp = xf < yf ? -1 : (xf > yf ? 1 : 0);
                               else
                                   cmp = x.i < y.i ? -1 : (x.i > y.i ? 1 : 0);
                               bool r = false;
                               if (op == "Equal")
                                   r = cmp == 0;
                               else if (op == "Less")
                                   r = cmp < 0;
                               else if (op == "LessOrEqual")
                                   r = cmp <= 0;
                               else if (op == "Greater")
                                   r = cmp > 0;
                               else if (op == "GreaterOrEqual")
                                   r = cmp >= 0;
                               else if (op == "And")
                                   r = x.i && y.i;
                               else if (op == "Or")
                                   r = x.i || y.i;
                               else if (op == "Xor")
                                   r = (x.i != 0) != (y.i != 0);
                               return FoldElem::ofInt(r);
                           });
}

bool foldUnary(Ctx& c, const std::string& op) {
    const FoldValue* a = c.inFold(0);
    if (!a) return false;
    const DType dt = op == "Not" ? DType::Bool : a->dtype;
    const bool fl = a->isFloat();
    return foldElementwise(c, 1, dt, [&](const std::vector<const FoldElem*>& v, const std::vector<DType>&) {
        const FoldElem& x = *v[0];
        if (!x.known) return (op == "Floor" || op == "Ceil" || op == "Round" || op == "Abs") && !x.sym.empty()
                                 ? x  // dimensions are whole and non-negative
                                 : FoldElem::unknown();
        if (op == "Not") return FoldElem::ofInt(x.i == 0);
        if (!fl) {
            if (op == "Neg")
                return x.i == std::numeric_limits<int64_t>::min() ? FoldElem::unknown()
                                                                  : FoldElem::ofInt(-x.i);
            if (op == "Abs")
                return x.i == std::numeric_limits<int64_t>::min() ? FoldElem::unknown()
                                                                  : FoldElem::ofInt(std::llabs(x.i));
            if (op == "Floor" || op == "Ceil" || op == "Round") return x;
            return FoldElem::unknown();
        }
        double r = x.f;
        if (op == "Neg") r = -x.f;
        else if (op == "Abs") r = std::fabs(x.f);
        else if (op == "Floor") r = std::floor(x.f);
        else if (op == "Ceil") r = std::ceil(x.f);
        else if (op == "Round") r = std::nearbyint(x.f);  // half to even
        else if (op == "Sqrt") r = std::sqrt(x.f);
        else if (op == "Reciprocal") r = 1.0 / x.f;
        if (dt == DType::F32) r = static_cast<float>(r);
        return FoldElem::ofFloat(r);
    });
}

bool foldWhere(Ctx& c) {
    const FoldValue* x = c.inFold(1);
    const FoldValue* y = c.inFold(2);
    if (!x || !y) return false;
    const DType dt = x->dtype;
    return foldElementwise(c, 3, dt, [&](const std::vector<const FoldElem*>& v, const std::vector<DType>& t) {
        if (!v[0]->known) return FoldElem::unknown();
        return v[0]->i ? *v[1] : (t[2] == dt ? *v[2] : castElem(*v[2], t[2], dt));
    });
}

bool foldConstantOfShape(Ctx& c) {
    auto dims = c.inInts(0);
    if (!dims) return false;
    for (int64_t d : *dims)
        if (d < 0) return false;
    Shape s(dims->begin(), dims->end());
    if (!sizeOk(c, s)) return false;
    FoldValue f;
    f.dtype = DType::F32;
    FoldElem fill = FoldElem::ofFloat(0);
    if (const Attribute* a = c.attr("value")) {
        if (a->kind != Attribute::Kind::Tensor) return false;
        auto v = foldFromTensor(a->t, 1);
        if (!v || v->numel() != 1) return false;
        f.dtype = v->dtype;
        fill = v->elems[0];
    }
    f.shape = s;
    f.elems.assign(static_cast<size_t>(shapeNumel(s)), fill);
    c.setOutputFold(0, std::move(f));
    return true;
}

bool foldRange(Ctx& c) {
    const FoldValue* s = c.inFold(0);
    const FoldValue* l = c.inFold(1);
    const FoldValue* d = c.inFold(2);
    if (!s || !l || !d || s->numel() != 1 || l->numel() != 1 || d->numel() != 1) return false;
    if (!s->fullyKnown() || !l->fullyKnown() || !d->fullyKnown()) return false;
    FoldValue f;
    f.dtype = s->dtype;
    if (s->isFloat()) {
        const double st = s->elems[0].f, lim = l->elems[0].f, dl = d->elems[0].f;
        if (dl == 0) return false;
        const double n = std::max(0.0, std::ceil((lim - st) / dl));
        if (!std::isfinite(n) || n > static_cast<double>(c.options().maxFoldElements)) return false;
        for (int64_t k = 0; k < static_cast<int64_t>(n); ++k)
            f.elems.push_back(FoldElem::ofFloat(st + static_cast<double>(k) * dl));
    } else {
        const int64_t st = s->elems[0].i, lim = l->elems[0].i, dl = d->elems[0].i;
        if (dl == 0) return false;
        const double n = std::max(
            0.0, std::ceil((static_cast<double>(lim) - static_cast<double>(st)) / static_cast<double>(dl)));
        if (n > static_cast<double>(c.options().maxFoldElements)) return false;
        for (int64_t k = 0; k < static_cast<int64_t>(n); ++k) f.elems.push_back(FoldElem::ofInt(st + k * dl));
    }
    f.shape = {f.numel()};
    c.setOutputFold(0, std::move(f));
    return true;
}

// ReduceProd/ReduceSum/ReduceMax/ReduceMin over every axis of a small tensor (numel from shape).
bool foldReduceAll(Ctx& c, const std::string& op) {
    const FoldValue* a = c.inFold(0);
    if (!a || a->isFloat() || !a->fullyKnown() || a->elems.empty()) return false;
    const bool hasAxes = (c.hasInput(1) && !c.inIsEmpty(1)) || !c.node().attrInts("axes").empty();
    if (hasAxes && a->shape.size() != 1) return false;
    if (hasAxes) {
        auto ax = c.hasInput(1) ? c.inInts(1) : std::optional<std::vector<int64_t>>(c.node().attrInts("axes"));
        if (!ax || ax->size() != 1 || ((*ax)[0] != 0 && (*ax)[0] != -1)) return false;
    }
    int64_t r = op == "ReduceProd" ? 1 : (op == "ReduceSum" ? 0 : a->elems[0].i);
    for (const auto& e : a->elems) {
        if (op == "ReduceProd" && __builtin_mul_overflow(r, e.i, &r)) return false;
        if (op == "ReduceSum" && __builtin_add_overflow(r, e.i, &r)) return false;
        if (op == "ReduceMax") r = std::max(r, e.i);
        if (op == "ReduceMin") r = std::min(r, e.i);
    }
    FoldValue f;
    f.dtype = a->dtype;
    if (c.node().attrInt("keepdims", 1)) f.shape.assign(a->shape.size(), 1);
    f.elems = {FoldElem::ofInt(r)};
    c.setOutputFold(0, std::move(f));
    return true;
}

}  // namespace

bool foldNode(NodeContext& c) {
    const Node& n = c.node();
    if (!(n.domain.empty() || n.domain == "ai.onnx")) return false;
    const std::string& op = n.opType;
    if (op == "Constant") return foldConstant(c);
    if (op == "Shape") return foldShape(c);
    if (op == "Size") return foldSize(c);
    if (op == "Identity" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Flatten")
        return foldRelayout(c);
    if (op == "Cast") return foldCast(c);
    if (op == "Gather") return foldGather(c);
    if (op == "Concat") return foldConcat(c);
    if (op == "Slice") return foldSlice(c);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Mod" || op == "Max" || op == "Min" ||
        op == "Pow")
        return c.inputCount() == 2 && foldArith(c, op);
    if (op == "Equal" || op == "Less" || op == "LessOrEqual" || op == "Greater" || op == "GreaterOrEqual" ||
        op == "And" || op == "Or" || op == "Xor")
        return foldCompare(c, op);
    if (op == "Not" || op == "Neg" || op == "Abs" || op == "Floor" || op == "Ceil" || op == "Round" ||
        op == "Sqrt" || op == "Reciprocal")
        return foldUnary(c, op);
    if (op == "Where") return foldWhere(c);
    if (op == "ConstantOfShape") return foldConstantOfShape(c);
    if (op == "Range") return foldRange(c);
    if (op == "ReduceProd" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin")
        return foldReduceAll(c, op);
    return false;
}

}  // namespace by::shape_inference
