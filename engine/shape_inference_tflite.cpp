// Shape rules for TFLite builtin operators (domain "tflite"): activations are NHWC, convolution
// filters OHWI, depthwise filters [1, H, W, C * multiplier]. Attribute names follow the TFLite
// schema's option tables (stride_w, padding, filter_height, keep_num_dims...). TFLite files
// already declare every tensor's shape, so these rules mostly confirm what the importer read.
#include <algorithm>
#include <cctype>

#include "engine/shape_inference_internal.h"

namespace by::shape_inference {

namespace {

using Ctx = NodeContext;

enum class Padding { Same, Valid };

// "SAME"/"VALID" as a string (any case) or the schema's enum value (0 = SAME, 1 = VALID).
std::optional<Padding> readPadding(Ctx& c) {
    const Attribute* a = c.attr("padding");
    if (!a) return Padding::Same;
    if (a->kind == Attribute::Kind::Int) {
        if (a->i == 0) return Padding::Same;
        if (a->i == 1) return Padding::Valid;
        c.warn("attribute 'padding'", "unknown value " + std::to_string(a->i));
        return std::nullopt;
    }
    if (a->kind == Attribute::Kind::String) {
        std::string s = a->s;
        for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (s == "SAME") return Padding::Same;
        if (s == "VALID") return Padding::Valid;
        c.warn("attribute 'padding'", "unknown value \"" + a->s + "\"");
        return std::nullopt;
    }
    c.warn("attribute 'padding'", std::string("expected a string or int, found ") + attributeKindName(a->kind));
    return std::nullopt;
}

std::optional<int64_t> positiveAttr(Ctx& c, const char* key, int64_t def) {
    auto v = c.attrInt(key, def);
    if (!v) return std::nullopt;
    if (*v <= 0) {
        c.warn(std::string("attribute '") + key + "'", "must be positive, got " + std::to_string(*v));
        return std::nullopt;
    }
    return v;
}

Dim windowOut(Ctx& c, const Dim& in, const Dim& kernel, int64_t stride, int64_t dilation, Padding p,
              const char* axis) {
    if (p == Padding::Same) {
        if (stride == 1) return in;
        return in.known() ? Dim::of(ceilDiv(in.value, stride)) : Dim{};
    }
    if (!kernel.known()) return Dim{};
    const int64_t dk = (kernel.value - 1) * dilation + 1;
    if (!in.known()) return stride == 1 && dk == 1 ? in : Dim{};
    if (in.value < dk) {
        c.warn("input 0", std::string("VALID window of ") + std::to_string(dk) + " does not fit " + axis + " of " +
                              std::to_string(in.value));
        return Dim{};
    }
    return Dim::of((in.value - dk) / stride + 1);
}

struct Strides {
    int64_t h = 1, w = 1, dh = 1, dw = 1;
};

std::optional<Strides> readStrides(Ctx& c, bool dilations) {
    auto sh = positiveAttr(c, "stride_h", 1), sw = positiveAttr(c, "stride_w", 1);
    auto dh = dilations ? positiveAttr(c, "dilation_h_factor", 1) : std::optional<int64_t>(1);
    auto dw = dilations ? positiveAttr(c, "dilation_w_factor", 1) : std::optional<int64_t>(1);
    if (!sh || !sw || !dh || !dw) return std::nullopt;
    return Strides{*sh, *sw, *dh, *dw};
}

bool needRank(Ctx& c, const DimShape* s, size_t rank, const char* field) {
    if (s->size() == rank) return true;
    c.warn(field, "expected rank " + std::to_string(rank) + ", got " + dimShapeToString(*s));
    return false;
}

void conv2d(Ctx& c, bool depthwise) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* w = c.inShape(1);
    if (!x || !needRank(c, x, 4, "input 0")) return c.setOutputType(0, dt);
    if (w && !needRank(c, w, 4, "input 1")) w = nullptr;
    auto pad = readPadding(c);
    auto st = readStrides(c, true);
    if (!pad || !st) return c.setOutputType(0, dt);
    if (w && !depthwise && (*x)[3].known() && (*w)[3].known() && (*w)[3].value > 0 &&
        (*x)[3].value % (*w)[3].value != 0)
        c.warn("input 1", "filter " + dimShapeToString(*w) + " does not match " + std::to_string((*x)[3].value) +
                              " input channels");
    const Dim kh = w ? (*w)[1] : Dim{}, kw = w ? (*w)[2] : Dim{};
    const Dim outC = w ? (*w)[depthwise ? 3 : 0] : Dim{};
    c.setOutput(0, dt,
                DimShape{(*x)[0], windowOut(c, (*x)[1], kh, st->h, st->dh, *pad, "height"),
                         windowOut(c, (*x)[2], kw, st->w, st->dw, *pad, "width"), outC});
}

void conv(Ctx& c) { conv2d(c, false); }
void depthwiseConv(Ctx& c) { conv2d(c, true); }

void pool2d(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x || !needRank(c, x, 4, "input 0")) return c.setOutputType(0, dt);
    auto pad = readPadding(c);
    auto st = readStrides(c, false);
    auto fh = positiveAttr(c, "filter_height", 1), fw = positiveAttr(c, "filter_width", 1);
    if (!pad || !st || !fh || !fw) return c.setOutputType(0, dt);
    c.setOutput(0, dt,
                DimShape{(*x)[0], windowOut(c, (*x)[1], Dim::of(*fh), st->h, 1, *pad, "height"),
                         windowOut(c, (*x)[2], Dim::of(*fw), st->w, 1, *pad, "width"), (*x)[3]});
}

// Inputs: output_shape, weights [O, H, W, I], input, optional bias.
void transposeConv(Ctx& c) {
    const DType dt = c.inType(2);
    const FoldValue* os = c.inFold(0);
    if (os && !os->isFloat() && os->elems.size() == 4) {
        DimShape out;
        for (const auto& e : os->elems) out.push_back(dimFromElem(e));
        return c.setOutput(0, dt, out);
    }
    const DimShape* x = c.inShape(2);
    const DimShape* w = c.inShape(1);
    if (!x || x->size() != 4) return c.setOutputType(0, dt);
    auto pad = readPadding(c);
    auto st = readStrides(c, false);
    if (!pad || !st) return c.setOutputType(0, dt);
    auto up = [&](const Dim& in, const Dim& k, int64_t s) {
        if (*pad == Padding::Same) return dimMul(in, Dim::of(s));
        if (!in.known() || !k.known()) return Dim{};
        return Dim::of((in.value - 1) * s + k.value);
    };
    const bool wOk = w && w->size() == 4;
    c.setOutput(0, dt,
                DimShape{(*x)[0], up((*x)[1], wOk ? (*w)[1] : Dim{}, st->h),
                         up((*x)[2], wOk ? (*w)[2] : Dim{}, st->w), wOk ? (*w)[0] : Dim{}});
}

void fullyConnected(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* w = c.inShape(1);
    auto keep = c.attrInt("keep_num_dims", 0);
    if (!x || !keep || (w && !needRank(c, w, 2, "input 1"))) return c.setOutputType(0, dt);
    if (x->empty()) {
        c.warn("input 0", "cannot be a scalar");
        return c.setOutputType(0, dt);
    }
    const Dim units = w ? (*w)[0] : Dim{};
    const Dim k = w ? (*w)[1] : x->back();
    if (*keep) {
        if (dimsConflict(x->back(), k))
            c.warn("input 1", "weights " + dimShapeToString(*w) + " do not match input " + dimShapeToString(*x));
        DimShape out = *x;
        out.back() = units;
        return c.setOutput(0, dt, out);
    }
    // The input is flattened to [numel / K, K].
    Dim batch{};
    const Dim total = dimProduct(*x, 0, x->size());
    if (total.known() && k.known() && k.value > 0) {
        if (total.value % k.value != 0) {
            c.warn("input 0", "input " + dimShapeToString(*x) + " is not a whole number of rows of " +
                                  std::to_string(k.value));
            return c.setOutputType(0, dt);
        }
        batch = Dim::of(total.value / k.value);
    } else if (!dimsConflict(x->back(), k) && (x->back().known() || x->back() == k)) {
        batch = dimProduct(*x, 0, x->size() - 1);
    }
    c.setOutput(0, dt, DimShape{batch, units});
}

void batchMatmul(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* a = c.inShape(0);
    const DimShape* b = c.inShape(1);
    auto ax = c.attrInt("adj_x", 0), ay = c.attrInt("adj_y", 0);
    if (!a || !b || !ax || !ay || a->size() < 2 || b->size() < 2) return c.setOutputType(0, dt);
    DimShape A = *a, B = *b;
    if (*ax) std::swap(A[A.size() - 1], A[A.size() - 2]);
    if (*ay) std::swap(B[B.size() - 1], B[B.size() - 2]);
    c.setOutput(0, dt, matmulShape(c, &A, &B));
}

void reshape(Ctx& c) {
    const DType dt = c.inType(0);
    std::vector<FoldElem> target;
    const FoldValue* f = c.hasInput(1) ? c.inFold(1) : nullptr;
    if (f && !f->isFloat() && f->shape.size() <= 1) {
        target = f->elems;
    } else if (c.has("new_shape")) {
        auto s = c.attrInts("new_shape");
        if (!s) return c.setOutputType(0, dt);
        for (int64_t v : *s) target.push_back(FoldElem::ofInt(v));
    } else {
        const DimShape* s = c.hasInput(1) ? c.inShape(1) : nullptr;
        if (s && s->size() == 1 && (*s)[0].known())
            return c.setOutput(0, dt, unknownDims(static_cast<size_t>((*s)[0].value)));
        return c.setOutputType(0, dt);
    }
    c.setOutput(0, dt, resolveReshape(c.inShape(0), target, true, c));
}

void squeeze(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto dims = c.attrInts("squeeze_dims");
    if (!x || !dims) return c.setOutputType(0, dt);
    std::vector<bool> drop(x->size(), false);
    if (dims->empty()) {
        for (size_t k = 0; k < x->size(); ++k) {
            if (!(*x)[k].known()) return c.setOutputType(0, dt);
            drop[k] = (*x)[k].value == 1;
        }
    } else {
        auto n = c.normAxes(*dims, static_cast<int64_t>(x->size()), "attribute 'squeeze_dims'");
        if (!n) return c.setOutputType(0, dt);
        for (int64_t a : *n) {
            if (dimsConflict((*x)[static_cast<size_t>(a)], Dim::of(1))) {
                c.warn("attribute 'squeeze_dims'", "axis " + std::to_string(a) + " is not of length 1");
                return c.setOutputType(0, dt);
            }
            drop[static_cast<size_t>(a)] = true;
        }
    }
    DimShape out;
    for (size_t k = 0; k < x->size(); ++k)
        if (!drop[k]) out.push_back((*x)[k]);
    c.setOutput(0, dt, out);
}

void expandDims(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto axis = c.inInts(1);
    if (!x) return c.setOutputType(0, dt);
    if (!axis || axis->size() != 1) return c.setOutput(0, dt, unknownDims(x->size() + 1));
    auto a = c.normAxis((*axis)[0], static_cast<int64_t>(x->size()) + 1, "input 1");
    if (!a) return c.setOutputType(0, dt);
    DimShape out = *x;
    out.insert(out.begin() + *a, Dim::of(1));
    c.setOutput(0, dt, out);
}

void concatenation(Ctx& c) {
    DType dt = DType::Undefined;
    std::vector<const DimShape*> shapes;
    for (size_t i = 0; i < c.inputCount(); ++i) {
        if (!c.hasInput(i)) continue;
        if (dt == DType::Undefined) dt = c.inType(i);
        shapes.push_back(c.inShape(i));
    }
    auto axis = c.attrInt("axis", 0);
    if (!axis) return c.setOutputType(0, dt);
    c.setOutput(0, dt, concatShapes(c, shapes, *axis, "attribute 'axis'"));
}

std::optional<DimShape> broadcastInputs(Ctx& c, size_t first, size_t last) {
    std::vector<const DimShape*> shapes;
    for (size_t i = first; i < last && i < c.inputCount(); ++i) {
        const DimShape* s = c.inShape(i);
        if (!s) return std::nullopt;
        shapes.push_back(s);
    }
    if (shapes.empty()) return std::nullopt;
    return broadcastShapes(shapes, &c);
}

void binary(Ctx& c) { c.setOutput(0, c.inType(0), broadcastInputs(c, 0, 2)); }
void compare(Ctx& c) { c.setOutput(0, DType::Bool, broadcastInputs(c, 0, 2)); }
void select(Ctx& c) { c.setOutput(0, c.inType(1), broadcastInputs(c, 0, 3)); }
void addN(Ctx& c) { c.setOutput(0, c.inType(0), broadcastInputs(c, 0, c.inputCount())); }

void unary(Ctx& c) { c.setOutput(0, c.inType(0), shapeOf(c, 0)); }
// Output type set by the file (QUANTIZE's scale, CAST's target): shape only.
void sameShape(Ctx& c) { c.setOutput(0, DType::Undefined, shapeOf(c, 0)); }
void dequantize(Ctx& c) { c.setOutput(0, DType::F32, shapeOf(c, 0)); }

void pad(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    const FoldValue* p = c.inFold(1);
    if (!p || p->isFloat() || !p->fullyKnown()) return c.setOutput(0, dt, unknownDims(x->size()));
    if (p->shape != Shape{static_cast<int64_t>(x->size()), 2}) {
        c.warn("input 1",
               "paddings " + shapeToString(p->shape) + " do not match rank " + std::to_string(x->size()));
        return c.setOutputType(0, dt);
    }
    DimShape out = *x;
    for (size_t k = 0; k < x->size(); ++k) {
        const int64_t before = p->elems[2 * k].i, after = p->elems[2 * k + 1].i;
        if (before < 0 || after < 0) {
            c.warn("input 1", "paddings must not be negative");
            return c.setOutputType(0, dt);
        }
        out[k] = dimAdd(out[k], before + after);
    }
    c.setOutput(0, dt, out);
}

void reduce(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto keep = c.attrInt("keep_dims", 0);
    if (!x || !keep) return c.setOutputType(0, dt);
    auto axes = c.inInts(1);
    if (!axes) return *keep ? c.setOutput(0, dt, unknownDims(x->size())) : c.setOutputType(0, dt);
    auto n = c.normAxes(*axes, static_cast<int64_t>(x->size()), "input 1", false);
    if (!n) return c.setOutputType(0, dt);
    DimShape out;
    for (size_t k = 0; k < x->size(); ++k) {
        const bool red = std::find(n->begin(), n->end(), static_cast<int64_t>(k)) != n->end();
        if (!red) out.push_back((*x)[k]);
        else if (*keep) out.push_back(Dim::of(1));
    }
    c.setOutput(0, dt, out);
}

void argReduce(Ctx& c) {
    const DimShape* x = c.inShape(0);
    auto axis = c.inInts(1);
    if (!x || !axis || axis->size() != 1) return;
    auto a = c.normAxis((*axis)[0], static_cast<int64_t>(x->size()), "input 1");
    if (!a) return;
    DimShape out = *x;
    out.erase(out.begin() + *a);
    c.setOutput(0, DType::Undefined, out);
}

void resize(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x || !needRank(c, x, 4, "input 0")) return c.setOutputType(0, dt);
    auto size = c.inInts(1);
    Dim h{}, w{};
    if (size) {
        if (size->size() != 2 || (*size)[0] < 0 || (*size)[1] < 0) {
            c.warn("input 1", "size must hold two non-negative values");
            return c.setOutputType(0, dt);
        }
        h = Dim::of((*size)[0]);
        w = Dim::of((*size)[1]);
    }
    c.setOutput(0, dt, DimShape{(*x)[0], h, w, (*x)[3]});
}

void transpose(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto perm = c.inInts(1);
    if (!x) return c.setOutputType(0, dt);
    if (!perm) return c.setOutput(0, dt, unknownDims(x->size()));
    if (perm->size() != x->size()) {
        c.warn("input 1",
               "perm has " + std::to_string(perm->size()) + " entries for rank " + std::to_string(x->size()));
        return c.setOutputType(0, dt);
    }
    auto p = c.normAxes(*perm, static_cast<int64_t>(x->size()), "input 1");
    if (!p) return c.setOutputType(0, dt);
    DimShape out;
    for (int64_t a : *p) out.push_back((*x)[static_cast<size_t>(a)]);
    c.setOutput(0, dt, out);
}

// Inputs: input, begin, end, strides; masks are bit sets over the begin/end entries.
void stridedSlice(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    auto begin = c.inInts(1), end = c.inInts(2), strides = c.inInts(3);
    auto beginMask = c.attrInt("begin_mask", 0), endMask = c.attrInt("end_mask", 0);
    auto shrink = c.attrInt("shrink_axis_mask", 0), ellipsis = c.attrInt("ellipsis_mask", 0);
    auto newAxis = c.attrInt("new_axis_mask", 0), offset = c.attrInt("offset", 0);
    if (!beginMask || !endMask || !shrink || !ellipsis || !newAxis || !offset) return c.setOutputType(0, dt);
    if (*ellipsis != 0 || *newAxis != 0) return c.setOutputType(0, dt);  // rare; left unknown
    if (!begin || !end || !strides) return c.setOutputType(0, dt);
    const size_t n = begin->size();
    if (end->size() != n || strides->size() != n || n > x->size()) {
        c.warn("inputs", "begin, end and strides must have one entry per axis (" +
                             std::to_string(begin->size()) + ", " + std::to_string(end->size()) + ", " +
                             std::to_string(strides->size()) + ")");
        return c.setOutputType(0, dt);
    }
    DimShape out;
    for (size_t k = 0; k < x->size(); ++k) {
        const Dim& d = (*x)[k];
        if (k >= n) {
            out.push_back(d);
            continue;
        }
        const int64_t s = (*strides)[k];
        if (s == 0) {
            c.warn("input 3", "a stride of 0 is invalid");
            return c.setOutputType(0, dt);
        }
        if (*shrink & (int64_t(1) << k)) continue;  // takes one element and drops the axis
        const bool bm = *beginMask & (int64_t(1) << k), em = *endMask & (int64_t(1) << k);
        if (!d.known()) {
            out.push_back(bm && em && s == 1 ? d : Dim{});
            continue;
        }
        int64_t b = (*begin)[k], e = (*end)[k];
        if (*offset) e += b;
        if (bm) b = s > 0 ? 0 : d.value - 1;
        if (em) e = s > 0 ? d.value : -d.value - 1;  // wraps to just before index 0
        auto r = sliceRange(d.value, b, e, s);
        out.push_back(r ? Dim::of(r->count) : Dim{});
    }
    c.setOutput(0, dt, out);
}

// Inputs: input, begin, size (-1 = to the end).
void sliceOp(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    auto begin = c.inInts(1), size = c.inInts(2);
    if (!begin || !size) return c.setOutput(0, dt, unknownDims(x->size()));
    if (begin->size() != x->size() || size->size() != x->size()) {
        c.warn("inputs", "begin and size must have one entry per axis");
        return c.setOutputType(0, dt);
    }
    DimShape out;
    for (size_t k = 0; k < x->size(); ++k) {
        const int64_t b = (*begin)[k], s = (*size)[k];
        if (b < 0 || s < -1) {
            c.warn("inputs", "invalid begin " + std::to_string(b) + " or size " + std::to_string(s));
            return c.setOutputType(0, dt);
        }
        if (s >= 0) out.push_back(Dim::of(s));
        else if (b == 0) out.push_back((*x)[k]);
        else out.push_back(dimAdd((*x)[k], -b));
    }
    c.setOutput(0, dt, out);
}

void gather(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* idx = c.inShape(1);
    auto axis = c.attrInt("axis", 0), batch = c.attrInt("batch_dims", 0);
    if (!x || !idx || !axis || !batch) return c.setOutputType(0, dt);
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return c.setOutputType(0, dt);
    int64_t b = *batch < 0 ? *batch + static_cast<int64_t>(idx->size()) : *batch;
    if (b < 0 || b > *a || b > static_cast<int64_t>(idx->size())) {
        c.warn("attribute 'batch_dims'", "is out of range");
        return c.setOutputType(0, dt);
    }
    DimShape out(x->begin(), x->begin() + *a);
    out.insert(out.end(), idx->begin() + b, idx->end());
    out.insert(out.end(), x->begin() + *a + 1, x->end());
    c.setOutput(0, dt, out);
}

void splitParts(Ctx& c, size_t dataInput, std::optional<std::vector<int64_t>> axisV,
                std::optional<std::vector<int64_t>> sizes) {
    const DType dt = c.inType(dataInput);
    const DimShape* x = c.inShape(dataInput);
    for (size_t o = 0; o < c.outputCount(); ++o) c.setOutputType(o, dt);
    if (!x || !axisV || axisV->size() != 1) return;
    auto a = c.normAxis((*axisV)[0], static_cast<int64_t>(x->size()), "axis");
    if (!a) return;
    const size_t n = c.outputCount();
    const Dim& d = (*x)[static_cast<size_t>(*a)];
    std::vector<Dim> parts(n, Dim{});
    if (sizes) {
        if (sizes->size() != n) {
            c.warn("input 1", "size_splits has " + std::to_string(sizes->size()) + " entries for " +
                                  std::to_string(n) + " outputs");
            return;
        }
        int64_t known = 0, inferAt = -1;
        for (size_t k = 0; k < n; ++k) {
            if ((*sizes)[k] == -1 && inferAt < 0) {
                inferAt = static_cast<int64_t>(k);
                continue;
            }
            if ((*sizes)[k] < 0) {
                c.warn("input 1", "invalid split size " + std::to_string((*sizes)[k]));
                return;
            }
            known += (*sizes)[k];
            parts[k] = Dim::of((*sizes)[k]);
        }
        if (inferAt >= 0 && d.known() && d.value >= known)
            parts[static_cast<size_t>(inferAt)] = Dim::of(d.value - known);
    } else {
        auto num = c.attrInt("num_splits", static_cast<int64_t>(n));
        if (!num) return;
        if (*num != static_cast<int64_t>(n) || n == 0) {
            c.warn("attribute 'num_splits'",
                   "is " + std::to_string(*num) + " but the node has " + std::to_string(n) + " outputs");
            return;
        }
        if (d.known()) {
            if (d.value % *num != 0) {
                c.warn("input 1", "axis of length " + std::to_string(d.value) + " does not split into " +
                                      std::to_string(*num));
                return;
            }
            for (auto& p : parts) p = Dim::of(d.value / *num);
        }
    }
    for (size_t o = 0; o < n; ++o) {
        DimShape s = *x;
        s[static_cast<size_t>(*a)] = parts[o];
        c.setOutput(o, dt, s);
    }
}

void split(Ctx& c) { splitParts(c, 1, c.inInts(0), std::nullopt); }
void splitV(Ctx& c) { splitParts(c, 0, c.inInts(2), c.inInts(1)); }

void depthToSpace(Ctx& c, bool toSpace) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto b = positiveAttr(c, "block_size", 1);
    if (!x || !b || !needRank(c, x, 4, "input 0")) return c.setOutputType(0, dt);
    auto div = [&](const Dim& d, int64_t f) {
        return d.known() && d.value % f == 0 ? Dim::of(d.value / f) : Dim{};
    };
    const int64_t bb = *b * *b;
    if (toSpace)
        c.setOutput(
            0, dt,
            DimShape{(*x)[0], dimMul((*x)[1], Dim::of(*b)), dimMul((*x)[2], Dim::of(*b)), div((*x)[3], bb)});
    else
        c.setOutput(0, dt, DimShape{(*x)[0], div((*x)[1], *b), div((*x)[2], *b), dimMul((*x)[3], Dim::of(bb))});
}
void depthToSpaceOp(Ctx& c) { depthToSpace(c, true); }
void spaceToDepthOp(Ctx& c) { depthToSpace(c, false); }

void tile(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto reps = c.inInts(1);
    if (!x) return c.setOutputType(0, dt);
    if (!reps) return c.setOutput(0, dt, unknownDims(x->size()));
    if (reps->size() != x->size()) {
        c.warn("input 1", "multiples has " + std::to_string(reps->size()) + " entries for rank " +
                              std::to_string(x->size()));
        return c.setOutputType(0, dt);
    }
    DimShape out;
    for (size_t k = 0; k < x->size(); ++k) {
        if ((*reps)[k] < 0) {
            c.warn("input 1", "multiples must not be negative");
            return c.setOutputType(0, dt);
        }
        out.push_back(dimMul((*x)[k], Dim::of((*reps)[k])));
    }
    c.setOutput(0, dt, out);
}

void broadcastTo(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const FoldValue* s = c.inFold(1);
    if (!x || !s || s->isFloat()) return c.setOutputType(0, dt);
    DimShape target;
    for (const auto& e : s->elems) target.push_back(dimFromElem(e));
    c.setOutput(0, dt, broadcastShapes({x, &target}, &c));
}

void pack(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto axis = c.attrInt("axis", 0);
    if (!x || !axis) return c.setOutputType(0, dt);
    const auto n = static_cast<int64_t>(c.inputCount());
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()) + 1, "attribute 'axis'");
    if (!a) return c.setOutputType(0, dt);
    DimShape out = *x;
    for (size_t i = 1; i < c.inputCount(); ++i) {
        const DimShape* s = c.inShape(i);
        if (!s) continue;
        if (s->size() != x->size()) {
            c.warn("inputs", "cannot pack " + dimShapeToString(*x) + " with " + dimShapeToString(*s));
            return c.setOutputType(0, dt);
        }
        for (size_t k = 0; k < s->size(); ++k)
            if (!out[k].known() && (*s)[k].known()) out[k] = (*s)[k];
    }
    out.insert(out.begin() + *a, Dim::of(n));
    c.setOutput(0, dt, out);
}

void unpack(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto axis = c.attrInt("axis", 0);
    for (size_t o = 0; o < c.outputCount(); ++o) c.setOutputType(o, dt);
    if (!x || !axis) return;
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return;
    DimShape out = *x;
    out.erase(out.begin() + *a);
    for (size_t o = 0; o < c.outputCount(); ++o) c.setOutput(o, dt, out);
}

void shapeOp(Ctx& c) {
    const int64_t r = c.inRank(0);
    c.setOutput(0, DType::Undefined, DimShape{r >= 0 ? Dim::of(r) : Dim{}});
}

std::map<std::string, Rule> makeRules() {
    std::map<std::string, Rule> r;
    r["CONV_2D"] = conv;
    r["DEPTHWISE_CONV_2D"] = depthwiseConv;
    r["TRANSPOSE_CONV"] = transposeConv;
    for (const char* op : {"MAX_POOL_2D", "AVERAGE_POOL_2D", "L2_POOL_2D"}) r[op] = pool2d;
    r["FULLY_CONNECTED"] = fullyConnected;
    r["BATCH_MATMUL"] = batchMatmul;
    r["RESHAPE"] = reshape;
    r["SQUEEZE"] = squeeze;
    r["EXPAND_DIMS"] = expandDims;
    r["CONCATENATION"] = concatenation;
    for (const char* op : {"ADD", "SUB", "MUL", "DIV", "POW", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE",
                           "FLOOR_DIV", "FLOOR_MOD"})
        r[op] = binary;
    for (const char* op : {"LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "LOGICAL_AND",
                           "LOGICAL_OR"})
        r[op] = compare;
    r["SELECT"] = select;
    r["SELECT_V2"] = select;
    r["ADD_N"] = addN;
    for (const char* op : {"RELU",
                           "RELU6",
                           "RELU_N1_TO_1",
                           "RELU_0_TO_1",
                           "LOGISTIC",
                           "TANH",
                           "HARD_SWISH",
                           "LEAKY_RELU",
                           "PRELU",
                           "ELU",
                           "GELU",
                           "EXP",
                           "LOG",
                           "SQRT",
                           "RSQRT",
                           "SQUARE",
                           "ABS",
                           "NEG",
                           "SIN",
                           "COS",
                           "FLOOR",
                           "CEIL",
                           "ROUND",
                           "SIGN",
                           "SOFTMAX",
                           "LOG_SOFTMAX",
                           "L2_NORMALIZATION",
                           "LOCAL_RESPONSE_NORMALIZATION",
                           "LOGICAL_NOT",
                           "ZEROS_LIKE",
                           "ONES_LIKE",
                           "DENSIFY",
                           "REVERSE_V2",
                           "CUMSUM"})
        r[op] = unary;
    r["QUANTIZE"] = sameShape;
    r["CAST"] = sameShape;
    r["DEQUANTIZE"] = dequantize;
    r["PAD"] = pad;
    r["PADV2"] = pad;
    r["MIRROR_PAD"] = pad;
    for (const char* op : {"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL"})
        r[op] = reduce;
    r["ARG_MAX"] = argReduce;
    r["ARG_MIN"] = argReduce;
    r["RESIZE_BILINEAR"] = resize;
    r["RESIZE_NEAREST_NEIGHBOR"] = resize;
    r["TRANSPOSE"] = transpose;
    r["STRIDED_SLICE"] = stridedSlice;
    r["SLICE"] = sliceOp;
    r["GATHER"] = gather;
    r["SPLIT"] = split;
    r["SPLIT_V"] = splitV;
    r["DEPTH_TO_SPACE"] = depthToSpaceOp;
    r["SPACE_TO_DEPTH"] = spaceToDepthOp;
    r["TILE"] = tile;
    r["BROADCAST_TO"] = broadcastTo;
    r["PACK"] = pack;
    r["UNPACK"] = unpack;
    r["SHAPE"] = shapeOp;
    return r;
}

}  // namespace

const std::map<std::string, Rule>& tfliteRules() {
    static const std::map<std::string, Rule> kRules = makeRules();
    return kRules;
}

}  // namespace by::shape_inference
