// Shape rules for the ONNX default domain (NCHW layouts): elementwise, convolution and pooling,
// matrix products, generators, recurrent and control-flow ops. Layout ops live in
// shape_inference_onnx_layout.cpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/shape_inference_internal.h"

namespace by::shape_inference {

namespace {

using Ctx = NodeContext;

// ONNX TensorProto.DataType codes.
DType dtypeFromOnnx(int64_t code) {
    switch (code) {
    case 1: return DType::F32;
    case 2: return DType::U8;
    case 3: return DType::I8;
    case 4: return DType::U16;
    case 5: return DType::I16;
    case 6: return DType::I32;
    case 7: return DType::I64;
    case 8: return DType::String;
    case 9: return DType::Bool;
    case 10: return DType::F16;
    case 11: return DType::F64;
    case 12: return DType::U32;
    case 13: return DType::U64;
    case 14: return DType::Complex64;
    case 15: return DType::Complex128;
    case 16: return DType::BF16;
    case 17: return DType::F8E4M3;
    case 19: return DType::F8E5M2;
    case 21: return DType::UInt4;
    case 22: return DType::Int4;
    default: return DType::Undefined;
    }
}

DType dtypeAttr(Ctx& c, const char* key, DType def) {
    if (!c.has(key)) return def;
    auto code = c.attrInt(key, 0);
    if (!code) return DType::Undefined;
    const DType t = dtypeFromOnnx(*code);
    if (t == DType::Undefined)
        c.warn(std::string("attribute '") + key + "'", "unknown data type " + std::to_string(*code));
    return t;
}

// ---- elementwise ----------------------------------------------------------------------------

void unary(Ctx& c) { c.setOutput(0, c.inType(0), shapeOf(c, 0)); }

void unaryBool(Ctx& c) { c.setOutput(0, DType::Bool, shapeOf(c, 0)); }

void dropout(Ctx& c) {
    unary(c);
    c.setOutput(1, DType::Bool, shapeOf(c, 0));
}

void castOp(Ctx& c) {
    if (!c.has("to")) c.warn("attribute 'to'", "missing");
    c.setOutput(0, dtypeAttr(c, "to", DType::Undefined), shapeOf(c, 0));
}

void castLike(Ctx& c) { c.setOutput(0, c.inType(1), shapeOf(c, 0)); }

void batchNorm(Ctx& c) {
    unary(c);
    const DimShape* x = c.inShape(0);
    if (x && x->size() >= 2)
        for (size_t o = 1; o < c.outputCount(); ++o) c.setOutput(o, c.inType(3), DimShape{(*x)[1]});
}

void layerNorm(Ctx& c) {
    unary(c);
    const DimShape* x = c.inShape(0);
    if (!x || c.outputCount() < 2) return;
    auto axis = c.attrInt("axis", -1);
    if (!axis) return;
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return;
    DimShape stat = *x;
    for (size_t k = static_cast<size_t>(*a); k < stat.size(); ++k) stat[k] = Dim::of(1);
    const DType st = dtypeAttr(c, "stash_type", DType::F32);
    c.setOutput(1, st, stat);
    c.setOutput(2, st, stat);
}

void quantizeLinear(Ctx& c) {
    DType t = c.hasInput(2) ? c.inType(2) : DType::U8;
    if (c.has("output_dtype")) t = dtypeAttr(c, "output_dtype", t);
    c.setOutput(0, t, shapeOf(c, 0));
}

void dequantizeLinear(Ctx& c) {
    const DType scale = c.inType(1);
    c.setOutput(0, scale == DType::Undefined ? DType::F32 : scale, shapeOf(c, 0));
}

void dynamicQuantizeLinear(Ctx& c) {
    c.setOutput(0, DType::U8, shapeOf(c, 0));
    c.setOutput(1, DType::F32, DimShape{});
    c.setOutput(2, DType::U8, DimShape{});
}

std::optional<DimShape> broadcastInputs(Ctx& c, size_t first, size_t last) {
    std::vector<const DimShape*> shapes;
    for (size_t i = first; i < last && i < c.inputCount(); ++i) {
        if (!c.hasInput(i)) continue;
        const DimShape* s = c.inShape(i);
        if (!s) return std::nullopt;
        shapes.push_back(s);
    }
    if (shapes.empty()) return std::nullopt;
    return broadcastShapes(shapes, &c);
}

void binary(Ctx& c) { c.setOutput(0, firstKnownType(c, 0), broadcastInputs(c, 0, c.inputCount())); }

void binaryFirstType(Ctx& c) { c.setOutput(0, c.inType(0), broadcastInputs(c, 0, c.inputCount())); }

void compare(Ctx& c) { c.setOutput(0, DType::Bool, broadcastInputs(c, 0, c.inputCount())); }

void where(Ctx& c) { c.setOutput(0, firstKnownType(c, 1), broadcastInputs(c, 0, 3)); }

// ---- convolution and pooling ----------------------------------------------------------------

struct Window {
    std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
    std::string autoPad = "NOTSET";
    bool ceilMode = false;
};

bool checkPositive(Ctx& c, const std::vector<int64_t>& v, const char* key) {
    for (int64_t x : v)
        if (x <= 0) {
            c.warn(std::string("attribute '") + key + "'", "values must be positive, got " + std::to_string(x));
            return false;
        }
    return true;
}

// Reads the window attributes for `nsp` spatial axes; kernel from kernel_shape or `weightDims`.
std::optional<Window> readWindow(Ctx& c, size_t nsp, const DimShape* weight, bool needKernelAttr) {
    Window w;
    auto kernel = c.attrInts("kernel_shape");
    auto strides = c.attrInts("strides", std::vector<int64_t>(nsp, 1));
    auto dil = c.attrInts("dilations", std::vector<int64_t>(nsp, 1));
    auto pads = c.attrInts("pads", std::vector<int64_t>(2 * nsp, 0));
    auto autoPad = c.attrString("auto_pad", "NOTSET");
    auto ceil = c.attrInt("ceil_mode", 0);
    if (!kernel || !strides || !dil || !pads || !autoPad || !ceil) return std::nullopt;
    if (kernel->empty()) {
        if (needKernelAttr) {
            c.warn("attribute 'kernel_shape'", "missing");
            return std::nullopt;
        }
        if (weight && weight->size() == nsp + 2)
            for (size_t k = 0; k < nsp; ++k)
                kernel->push_back((*weight)[2 + k].known() ? (*weight)[2 + k].value : -1);
        else kernel->assign(nsp, -1);
    }
    auto sized = [&](const std::vector<int64_t>& v, size_t n, const char* key) {
        if (v.size() == n) return true;
        c.warn(std::string("attribute '") + key + "'", "has " + std::to_string(v.size()) + " values, expected " +
                                                         std::to_string(n));
        return false;
    };
    if (!sized(*kernel, nsp, "kernel_shape") || !sized(*strides, nsp, "strides") ||
        !sized(*dil, nsp, "dilations") || !sized(*pads, 2 * nsp, "pads"))
        return std::nullopt;
    if (!checkPositive(c, *strides, "strides") || !checkPositive(c, *dil, "dilations")) return std::nullopt;
    for (int64_t k : *kernel)
        if (k == 0 || k < -1) {
            c.warn("attribute 'kernel_shape'", "values must be positive, got " + std::to_string(k));
            return std::nullopt;
        }
    for (int64_t p : *pads)
        if (p < 0) {
            c.warn("attribute 'pads'", "values must not be negative, got " + std::to_string(p));
            return std::nullopt;
        }
    if (*autoPad != "NOTSET" && *autoPad != "SAME_UPPER" && *autoPad != "SAME_LOWER" && *autoPad != "VALID") {
        c.warn("attribute 'auto_pad'", "unknown value \"" + *autoPad + "\"");
        return std::nullopt;
    }
    w.kernel = *kernel;
    w.strides = *strides;
    w.dilations = *dil;
    w.pads = *pads;
    w.autoPad = *autoPad;
    w.ceilMode = *ceil != 0;
    return w;
}

// Output length of one spatial axis of a convolution or pooling window.
Dim windowOut(Ctx& c, const Dim& in, const Window& w, size_t k, size_t nsp) {
    const int64_t kern = w.kernel[k], s = w.strides[k], d = w.dilations[k];
    const int64_t pb = w.pads[k], pe = w.pads[k + nsp];
    if (w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER") {
        if (s == 1) return in;
        return in.known() ? Dim::of(ceilDiv(in.value, s)) : Dim{};
    }
    if (kern < 0) return Dim{};
    const int64_t dk = (kern - 1) * d + 1;
    const int64_t padTotal = w.autoPad == "VALID" ? 0 : pb + pe;
    if (!in.known()) return (s == 1 && padTotal - dk + 1 == 0) ? in : Dim{};
    const int64_t num = in.value + padTotal - dk;
    if (num < 0) {
        c.warn("input 0", "window of " + std::to_string(dk) + " does not fit spatial axis " +
                              std::to_string(k) + " of length " + std::to_string(in.value) + " (padded " +
                              std::to_string(padTotal) + ")");
        return Dim{};
    }
    int64_t out = (w.ceilMode ? ceilDiv(num, s) : num / s) + 1;
    // The last window must start inside the input or its begin padding.
    if (w.ceilMode && (out - 1) * s >= in.value + (w.autoPad == "VALID" ? 0 : pb)) --out;
    return Dim::of(out);
}

void conv(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* w = c.inShape(1);
    if (!x) return c.setOutputType(0, dt);
    if (x->size() < 3) {
        c.warn("input 0", "expected rank >= 3 (N, C, spatial...), got " + dimShapeToString(*x));
        return c.setOutputType(0, dt);
    }
    const size_t nsp = x->size() - 2;
    if (w && w->size() != x->size()) {
        c.warn("input 1",
               "weights " + dimShapeToString(*w) + " do not match input rank " + std::to_string(x->size()));
        w = nullptr;
    }
    auto group = c.attrInt("group", 1);
    if (!group) return c.setOutputType(0, dt);
    if (*group <= 0) {
        c.warn("attribute 'group'", "must be positive, got " + std::to_string(*group));
        return c.setOutputType(0, dt);
    }
    auto win = readWindow(c, nsp, w, false);
    if (!win) return c.setOutputType(0, dt);
    if (w && (*x)[1].known() && (*w)[1].known() && (*x)[1].value != (*w)[1].value * *group)
        c.warn("input 1", "weights " + dimShapeToString(*w) + " with group " + std::to_string(*group) +
                              " expect " + std::to_string((*w)[1].value * *group) + " input channels, got " +
                              std::to_string((*x)[1].value));
    DimShape out(x->size());
    out[0] = (*x)[0];
    out[1] = w ? (*w)[0] : Dim{};
    for (size_t k = 0; k < nsp; ++k) out[2 + k] = windowOut(c, (*x)[2 + k], *win, k, nsp);
    c.setOutput(0, dt, out);
}

// QLinearConv: (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias); ConvInteger: (x, w, ...).
void qlinearConv(Ctx& c) {
    const DimShape* x = c.inShape(0);
    const DimShape* w = c.inShape(3);
    const DType dt = c.hasInput(7) ? c.inType(7) : DType::U8;
    if (!x || x->size() < 3) return c.setOutputType(0, dt);
    const size_t nsp = x->size() - 2;
    if (w && w->size() != x->size()) w = nullptr;
    auto win = readWindow(c, nsp, w, false);
    if (!win) return c.setOutputType(0, dt);
    DimShape out(x->size());
    out[0] = (*x)[0];
    out[1] = w ? (*w)[0] : Dim{};
    for (size_t k = 0; k < nsp; ++k) out[2 + k] = windowOut(c, (*x)[2 + k], *win, k, nsp);
    c.setOutput(0, dt, out);
}

void convInteger(Ctx& c) {
    const DimShape* x = c.inShape(0);
    const DimShape* w = c.inShape(1);
    if (!x || x->size() < 3) return c.setOutputType(0, DType::I32);
    const size_t nsp = x->size() - 2;
    if (w && w->size() != x->size()) w = nullptr;
    auto win = readWindow(c, nsp, w, false);
    if (!win) return c.setOutputType(0, DType::I32);
    DimShape out(x->size());
    out[0] = (*x)[0];
    out[1] = w ? (*w)[0] : Dim{};
    for (size_t k = 0; k < nsp; ++k) out[2 + k] = windowOut(c, (*x)[2 + k], *win, k, nsp);
    c.setOutput(0, DType::I32, out);
}

void convTranspose(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* w = c.inShape(1);
    if (!x) return c.setOutputType(0, dt);
    if (x->size() < 3) {
        c.warn("input 0", "expected rank >= 3 (N, C, spatial...), got " + dimShapeToString(*x));
        return c.setOutputType(0, dt);
    }
    const size_t nsp = x->size() - 2;
    if (w && w->size() != x->size()) {
        c.warn("input 1",
               "weights " + dimShapeToString(*w) + " do not match input rank " + std::to_string(x->size()));
        w = nullptr;
    }
    auto group = c.attrInt("group", 1);
    auto outPad = c.attrInts("output_padding", std::vector<int64_t>(nsp, 0));
    auto outShape = c.attrInts("output_shape");
    if (!group || !outPad || !outShape) return c.setOutputType(0, dt);
    if (*group <= 0) {
        c.warn("attribute 'group'", "must be positive, got " + std::to_string(*group));
        return c.setOutputType(0, dt);
    }
    if (outPad->size() != nsp) {
        c.warn("attribute 'output_padding'", "has " + std::to_string(outPad->size()) + " values, expected " +
                                                 std::to_string(nsp));
        return c.setOutputType(0, dt);
    }
    DimShape out(x->size());
    out[0] = (*x)[0];
    out[1] = w ? dimMul((*w)[1], Dim::of(*group)) : Dim{};
    if (!outShape->empty()) {
        if (outShape->size() == x->size()) outShape->erase(outShape->begin(), outShape->begin() + 2);
        if (outShape->size() != nsp) {
            c.warn("attribute 'output_shape'", "has " + std::to_string(outShape->size()) + " values, expected " +
                                                   std::to_string(nsp));
            return c.setOutputType(0, dt);
        }
        for (size_t k = 0; k < nsp; ++k) out[2 + k] = (*outShape)[k] >= 0 ? Dim::of((*outShape)[k]) : Dim{};
        return c.setOutput(0, dt, out);
    }
    auto win = readWindow(c, nsp, w, false);
    if (!win) return c.setOutputType(0, dt);
    for (size_t k = 0; k < nsp; ++k) {
        const Dim& in = (*x)[2 + k];
        const int64_t s = win->strides[k];
        if (win->autoPad == "SAME_UPPER" || win->autoPad == "SAME_LOWER") {
            out[2 + k] = dimMul(in, Dim::of(s));
            continue;
        }
        if (!in.known() || win->kernel[k] < 0) {
            out[2 + k] = Dim{};
            continue;
        }
        const int64_t dk = (win->kernel[k] - 1) * win->dilations[k] + 1;
        const int64_t pads = win->autoPad == "VALID" ? 0 : win->pads[k] + win->pads[k + nsp];
        const int64_t v = s * (in.value - 1) + (*outPad)[k] + dk - pads;
        if (v < 0) {
            c.warn("attribute 'pads'",
                   "padding leaves a negative output length on spatial axis " + std::to_string(k));
            out[2 + k] = Dim{};
        } else {
            out[2 + k] = Dim::of(v);
        }
    }
    c.setOutput(0, dt, out);
}

void pool(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) {
        c.setOutputType(0, dt);
        return c.setOutputType(1, DType::I64);
    }
    if (x->size() < 3) {
        c.warn("input 0", "expected rank >= 3 (N, C, spatial...), got " + dimShapeToString(*x));
        return c.setOutputType(0, dt);
    }
    const size_t nsp = x->size() - 2;
    auto win = readWindow(c, nsp, nullptr, true);
    if (!win) return c.setOutputType(0, dt);
    DimShape out(x->size());
    out[0] = (*x)[0];
    out[1] = (*x)[1];
    for (size_t k = 0; k < nsp; ++k) out[2 + k] = windowOut(c, (*x)[2 + k], *win, k, nsp);
    c.setOutput(0, dt, out);
    c.setOutput(1, DType::I64, out);  // MaxPool indices
}

void globalPool(Ctx& c) {
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, c.inType(0));
    if (x->size() < 2) {
        c.warn("input 0", "expected rank >= 2 (N, C, ...), got " + dimShapeToString(*x));
        return c.setOutputType(0, c.inType(0));
    }
    DimShape out = *x;
    for (size_t k = 2; k < out.size(); ++k) out[k] = Dim::of(1);
    c.setOutput(0, c.inType(0), out);
}

void roiAlign(Ctx& c) {
    const DimShape* x = c.inShape(0);
    const DimShape* rois = c.inShape(1);
    auto oh = c.attrInt("output_height", 1), ow = c.attrInt("output_width", 1);
    if (!x || x->size() != 4 || !oh || !ow) return c.setOutputType(0, c.inType(0));
    c.setOutput(0, c.inType(0),
                DimShape{rois && !rois->empty() ? (*rois)[0] : Dim{}, (*x)[1], Dim::of(*oh), Dim::of(*ow)});
}

// ---- matrix products ------------------------------------------------------------------------

void gemm(Ctx& c) {
    const DType dt = firstKnownType(c, 0);
    const DimShape* a = c.inShape(0);
    const DimShape* b = c.inShape(1);
    auto ta = c.attrInt("transA", 0), tb = c.attrInt("transB", 0);
    if (!ta || !tb) return c.setOutputType(0, dt);
    if ((a && a->size() != 2) || (b && b->size() != 2)) {
        c.warn("inputs", "Gemm needs 2-D operands, got " + (a ? dimShapeToString(*a) : "?") + " and " +
                             (b ? dimShapeToString(*b) : "?"));
        return c.setOutputType(0, dt);
    }
    const Dim m = a ? (*a)[*ta ? 1 : 0] : Dim{};
    const Dim n = b ? (*b)[*tb ? 0 : 1] : Dim{};
    if (a && b && dimsConflict((*a)[*ta ? 0 : 1], (*b)[*tb ? 1 : 0]))
        c.warn("inputs",
               "inner dimensions of " + dimShapeToString(*a) + " and " + dimShapeToString(*b) + " differ");
    c.setOutput(0, dt, DimShape{m, n});
}

}  // namespace

std::optional<DimShape> matmulShape(Ctx& c, const DimShape* a, const DimShape* b) {
    if (!a || !b) return std::nullopt;
    if (a->empty() || b->empty()) {
        c.warn("inputs", "MatMul operands cannot be scalars");
        return std::nullopt;
    }
    DimShape A = *a, B = *b;
    if (A.size() == 1) A.insert(A.begin(), Dim::of(1));
    if (B.size() == 1) B.push_back(Dim::of(1));
    if (dimsConflict(A.back(), B[B.size() - 2])) {
        c.warn("inputs",
               "inner dimensions of " + dimShapeToString(*a) + " and " + dimShapeToString(*b) + " differ");
        return std::nullopt;
    }
    DimShape ba(A.begin(), A.end() - 2), bb(B.begin(), B.end() - 2);
    auto batch = broadcastShapes({&ba, &bb}, &c);
    if (!batch) return std::nullopt;
    DimShape out = *batch;
    if (a->size() > 1) out.push_back(A[A.size() - 2]);
    if (b->size() > 1) out.push_back(B.back());
    return out;
}

namespace {

void matmul(Ctx& c) { c.setOutput(0, firstKnownType(c, 0), matmulShape(c, c.inShape(0), c.inShape(1))); }

void matmulInteger(Ctx& c) { c.setOutput(0, DType::I32, matmulShape(c, c.inShape(0), c.inShape(1))); }

void qlinearMatmul(Ctx& c) {
    c.setOutput(0, c.hasInput(7) ? c.inType(7) : DType::U8, matmulShape(c, c.inShape(0), c.inShape(3)));
}

void einsum(Ctx& c) { c.setOutputType(0, firstKnownType(c, 0)); }

// ---- generators -----------------------------------------------------------------------------

void constant(Ctx& c) {
    if (const Attribute* a = c.attr("value")) {
        if (a->kind != Attribute::Kind::Tensor) {
            c.warn("attribute 'value'", std::string("expected a tensor, found ") + attributeKindName(a->kind));
            return;
        }
        return c.setOutput(0, a->t.dtype(), toDimShape(a->t.shape()));
    }
    struct Alt {
        const char* key;
        Attribute::Kind kind;
        DType dt;
        bool list;
    };
    static const Alt kAlts[] = {
        {"value_float", Attribute::Kind::Float, DType::F32, false},
        {"value_floats", Attribute::Kind::Floats, DType::F32, true},
        {"value_int", Attribute::Kind::Int, DType::I64, false},
        {"value_ints", Attribute::Kind::Ints, DType::I64, true},
        {"value_string", Attribute::Kind::String, DType::String, false},
        {"value_strings", Attribute::Kind::Strings, DType::String, true},
    };
    for (const auto& alt : kAlts) {
        const Attribute* a = c.attr(alt.key);
        if (!a) continue;
        if (a->kind != alt.kind) {
            c.warn(std::string("attribute '") + alt.key + "'",
                   std::string("unexpected kind ") + attributeKindName(a->kind));
            return;
        }
        if (!alt.list) return c.setOutput(0, alt.dt, DimShape{});
        const size_t n = alt.kind == Attribute::Kind::Floats ? a->floats.size()
                         : alt.kind == Attribute::Kind::Ints ? a->ints.size()
                                                             : a->strings.size();
        return c.setOutput(0, alt.dt, DimShape{Dim::of(static_cast<int64_t>(n))});
    }
    if (!c.has("sparse_value")) c.warn("attribute 'value'", "missing");
}

void constantOfShape(Ctx& c) {
    DType dt = DType::F32;
    if (const Attribute* a = c.attr("value")) {
        if (a->kind == Attribute::Kind::Tensor) dt = a->t.dtype();
        else {
            c.warn("attribute 'value'", std::string("expected a tensor, found ") + attributeKindName(a->kind));
            return c.setOutputType(0, DType::Undefined);
        }
    }
    auto dims = shapeInput(c, 0);
    if (!dims) return c.setOutputType(0, dt);
    c.setOutput(0, dt, DimShape(dims->begin(), dims->end()));
}

void range(Ctx& c) {
    const DType dt = firstKnownType(c, 0);
    auto s = c.inFloats(0), l = c.inFloats(1), d = c.inFloats(2);
    if (!s || !l || !d || s->size() != 1 || l->size() != 1 || d->size() != 1)
        return c.setOutput(0, dt, DimShape{Dim{}});
    if ((*d)[0] == 0) {
        c.warn("input 2", "delta is 0");
        return c.setOutput(0, dt, DimShape{Dim{}});
    }
    const double n = std::ceil(((*l)[0] - (*s)[0]) / (*d)[0]);
    if (!std::isfinite(n) || n > 9e18) return c.setOutput(0, dt, DimShape{Dim{}});
    c.setOutput(0, dt, DimShape{Dim::of(std::max<int64_t>(0, static_cast<int64_t>(n)))});
}

void randomLike(Ctx& c) { c.setOutput(0, dtypeAttr(c, "dtype", c.inType(0)), shapeOf(c, 0)); }

void randomOp(Ctx& c) {
    auto s = c.attrInts("shape");
    const DType dt = dtypeAttr(c, "dtype", DType::F32);
    if (!s) return c.setOutputType(0, dt);
    DimShape out;
    for (int64_t v : *s) out.push_back(v >= 0 ? Dim::of(v) : Dim{});
    c.setOutput(0, dt, out);
}

void oneHot(Ctx& c) {
    const DimShape* idx = c.inShape(0);
    const DType dt = c.inType(2);
    auto axis = c.attrInt("axis", -1);
    if (!idx || !axis) return c.setOutputType(0, dt);
    auto a = c.normAxis(*axis, static_cast<int64_t>(idx->size()) + 1, "attribute 'axis'");
    if (!a) return c.setOutputType(0, dt);
    Dim depth{};
    if (auto d = c.inFloats(1); d && d->size() == 1 && (*d)[0] >= 0)
        depth = Dim::of(static_cast<int64_t>((*d)[0]));
    DimShape out = *idx;
    out.insert(out.begin() + *a, depth);
    c.setOutput(0, dt, out);
}

// ---- recurrent ------------------------------------------------------------------------------

void recurrent(Ctx& c, int64_t gates, bool cellState) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* rw = c.inShape(2);
    auto hidden = c.attrInt("hidden_size", -1);
    auto direction = c.attrString("direction", "forward");
    auto layout = c.attrInt("layout", 0);
    for (size_t o = 0; o < c.outputCount(); ++o) c.setOutputType(o, dt);
    if (!x || !hidden || !direction || !layout) return;
    if (x->size() != 3) {
        c.warn("input 0", "expected a 3-D sequence, got " + dimShapeToString(*x));
        return;
    }
    int64_t dirs = 1;
    if (*direction == "bidirectional") dirs = 2;
    else if (*direction != "forward" && *direction != "reverse") {
        c.warn("attribute 'direction'", "unknown value \"" + *direction + "\"");
        return;
    }
    Dim h = *hidden > 0 ? Dim::of(*hidden) : Dim{};
    if (*hidden == -1 || *hidden == 0) {
        if (rw && rw->size() == 3) h = (*rw)[2];
        else if (const DimShape* w = c.inShape(1);
                 w && w->size() == 3 && (*w)[1].known() && (*w)[1].value % gates == 0)
            h = Dim::of((*w)[1].value / gates);
        if (*hidden == 0) c.warn("attribute 'hidden_size'", "must be positive");
    } else if (*hidden < 0) {
        c.warn("attribute 'hidden_size'", "must be positive, got " + std::to_string(*hidden));
        h = Dim{};
    }
    const bool batchFirst = *layout != 0;
    const Dim seq = (*x)[batchFirst ? 1 : 0], batch = (*x)[batchFirst ? 0 : 1];
    const Dim nd = Dim::of(dirs);
    c.setOutput(0, dt, batchFirst ? DimShape{batch, seq, nd, h} : DimShape{seq, nd, batch, h});
    const DimShape state = batchFirst ? DimShape{batch, nd, h} : DimShape{nd, batch, h};
    c.setOutput(1, dt, state);
    if (cellState) c.setOutput(2, dt, state);
}

void lstm(Ctx& c) { recurrent(c, 4, true); }
void gru(Ctx& c) { recurrent(c, 3, false); }
void rnn(Ctx& c) { recurrent(c, 1, false); }

// ---- control flow and data-dependent ops ----------------------------------------------------

const Graph* graphAttr(Ctx& c, const char* key) {
    const Attribute* a = c.attr(key);
    if (!a) return nullptr;
    if (a->kind != Attribute::Kind::Graph || !a->g) {
        c.warn(std::string("attribute '") + key + "'",
               std::string("expected a graph, found ") + attributeKindName(a->kind));
        return nullptr;
    }
    return a->g.get();
}

const Value* graphOutput(const Graph& g, size_t i) {
    if (i >= g.outputs.size()) return nullptr;
    const int v = g.outputs[i];
    return v >= 0 && static_cast<size_t>(v) < g.values.size() ? &g.values[static_cast<size_t>(v)] : nullptr;
}

void ifOp(Ctx& c) {
    const Graph* thenG = graphAttr(c, "then_branch");
    const Graph* elseG = graphAttr(c, "else_branch");
    if (!thenG || !elseG) return;
    for (size_t o = 0; o < c.outputCount(); ++o) {
        const Value* a = graphOutput(*thenG, o);
        const Value* b = graphOutput(*elseG, o);
        if (!a || !b) continue;
        const DType dt = a->dtype == b->dtype ? a->dtype : DType::Undefined;
        std::optional<DimShape> shape;
        if (a->shape && b->shape && a->shape->size() == b->shape->size()) {
            DimShape s(a->shape->size());
            for (size_t k = 0; k < s.size(); ++k) s[k] = (*a->shape)[k] == (*b->shape)[k] ? (*a->shape)[k] : Dim{};
            shape = s;
        }
        c.setOutput(o, dt, shape);
    }
}

void loop(Ctx& c) {
    const Graph* body = graphAttr(c, "body");
    // Outputs: loop-carried values (N = inputs - 2), then scan outputs.
    const size_t carried = c.inputCount() >= 2 ? c.inputCount() - 2 : 0;
    for (size_t o = 0; o < c.outputCount(); ++o) {
        if (o < carried) {
            std::optional<DimShape> shape;
            const Value* bo = body ? graphOutput(*body, o + 1) : nullptr;
            if (bo && bo->shape && c.inShape(o + 2) && *bo->shape == *c.inShape(o + 2)) shape = bo->shape;
            c.setOutput(o, c.inType(o + 2), shape);
        } else if (body) {
            const Value* bo = graphOutput(*body, o + 1);
            if (!bo) continue;
            std::optional<DimShape> shape;
            if (bo->shape) {
                shape = DimShape{Dim{}};
                shape->insert(shape->end(), bo->shape->begin(), bo->shape->end());
            }
            c.setOutput(o, bo->dtype, shape);
        }
    }
}

void topK(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto axis = c.attrInt("axis", -1);
    c.setOutputType(0, dt);
    c.setOutputType(1, DType::I64);
    if (!x || !axis) return;
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return;
    Dim k{};
    if (c.hasInput(1)) {
        if (auto v = c.inInts(1); v && v->size() == 1) {
            if ((*v)[0] < 0) c.warn("input 1", "K must not be negative, got " + std::to_string((*v)[0]));
            else k = Dim::of((*v)[0]);
        }
    } else if (auto kk = c.attrInt("k", -1); kk && *kk >= 0) {
        k = Dim::of(*kk);
    }
    const Dim& d = (*x)[static_cast<size_t>(*a)];
    if (k.known() && d.known() && k.value > d.value) {
        c.warn("input 1",
               "K = " + std::to_string(k.value) + " exceeds the axis length " + std::to_string(d.value));
        k = Dim{};
    }
    DimShape out = *x;
    out[static_cast<size_t>(*a)] = k;
    c.setOutput(0, dt, out);
    c.setOutput(1, DType::I64, out);
}

void nonZero(Ctx& c) {
    const int64_t r = c.inRank(0);
    c.setOutput(0, DType::I64, DimShape{r >= 0 ? Dim::of(r) : Dim{}, Dim{}});
}

void nonMaxSuppression(Ctx& c) { c.setOutput(0, DType::I64, DimShape{Dim{}, Dim::of(3)}); }

void gridSample(Ctx& c) {
    const DimShape* x = c.inShape(0);
    const DimShape* grid = c.inShape(1);
    if (!x || !grid || x->size() < 3 || grid->size() != x->size()) return c.setOutputType(0, c.inType(0));
    DimShape out{(*x)[0], (*x)[1]};
    out.insert(out.end(), grid->begin() + 1, grid->end() - 1);
    c.setOutput(0, c.inType(0), out);
}

void compress(Ctx& c) {
    const DimShape* x = c.inShape(0);
    if (!x || !c.has("axis")) return c.setOutput(0, c.inType(0), DimShape{Dim{}});
    auto axis = c.attrInt("axis", 0);
    if (!axis) return c.setOutputType(0, c.inType(0));
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return c.setOutputType(0, c.inType(0));
    DimShape out = *x;
    out[static_cast<size_t>(*a)] = Dim{};
    c.setOutput(0, c.inType(0), out);
}

std::map<std::string, Rule> makeRules() {
    std::map<std::string, Rule> r;
    for (const char* op : {"Relu",
                           "Sigmoid",
                           "Tanh",
                           "Exp",
                           "Log",
                           "Sqrt",
                           "Erf",
                           "Neg",
                           "Abs",
                           "HardSigmoid",
                           "HardSwish",
                           "LeakyRelu",
                           "Clip",
                           "Softmax",
                           "LogSoftmax",
                           "Gelu",
                           "Identity",
                           "InstanceNormalization",
                           "GroupNormalization",
                           "Floor",
                           "Ceil",
                           "Round",
                           "Reciprocal",
                           "Sin",
                           "Cos",
                           "Tan",
                           "Asin",
                           "Acos",
                           "Atan",
                           "Sinh",
                           "Cosh",
                           "Asinh",
                           "Acosh",
                           "Atanh",
                           "Elu",
                           "Selu",
                           "Celu",
                           "PRelu",
                           "Softplus",
                           "Softsign",
                           "Mish",
                           "ThresholdedRelu",
                           "Sign",
                           "Not",
                           "BitwiseNot",
                           "Shrink",
                           "LRN",
                           "MeanVarianceNormalization",
                           "LpNormalization",
                           "Hardmax",
                           "CumSum",
                           "Trilu",
                           "ReverseSequence",
                           "ScatterND",
                           "ScatterElements",
                           "Scatter",
                           "EyeLike",
                           "Swish"})
        r[op] = unary;
    r["IsNaN"] = unaryBool;
    r["IsInf"] = unaryBool;
    r["Dropout"] = dropout;
    r["Cast"] = castOp;
    r["CastLike"] = castLike;
    r["BatchNormalization"] = batchNorm;
    r["LayerNormalization"] = layerNorm;
    r["QuantizeLinear"] = quantizeLinear;
    r["DequantizeLinear"] = dequantizeLinear;
    r["DynamicQuantizeLinear"] = dynamicQuantizeLinear;
    for (const char* op :
         {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "BitwiseAnd", "BitwiseOr", "BitwiseXor"})
        r[op] = binary;
    for (const char* op : {"Pow", "Mod", "BitShift"}) r[op] = binaryFirstType;
    for (const char* op : {"Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor"})
        r[op] = compare;
    r["Where"] = where;
    r["Conv"] = conv;
    r["ConvInteger"] = convInteger;
    r["QLinearConv"] = qlinearConv;
    r["ConvTranspose"] = convTranspose;
    for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) r[op] = pool;
    for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}) r[op] = globalPool;
    r["RoiAlign"] = roiAlign;
    r["Gemm"] = gemm;
    r["MatMul"] = matmul;
    r["MatMulInteger"] = matmulInteger;
    r["QLinearMatMul"] = qlinearMatmul;
    r["Einsum"] = einsum;
    r["Constant"] = constant;
    r["ConstantOfShape"] = constantOfShape;
    r["Range"] = range;
    r["RandomNormalLike"] = randomLike;
    r["RandomUniformLike"] = randomLike;
    r["RandomNormal"] = randomOp;
    r["RandomUniform"] = randomOp;
    r["OneHot"] = oneHot;
    r["LSTM"] = lstm;
    r["GRU"] = gru;
    r["RNN"] = rnn;
    r["If"] = ifOp;
    r["Loop"] = loop;
    r["TopK"] = topK;
    r["NonZero"] = nonZero;
    r["NonMaxSuppression"] = nonMaxSuppression;
    r["GridSample"] = gridSample;
    r["Compress"] = compress;
    addOnnxLayoutRules(r);
    return r;
}

}  // namespace

std::optional<std::vector<int64_t>> intsFromInputOrAttr(Ctx& c, size_t input, const char* key, bool& present) {
    present = false;
    if (c.hasInput(input) && !c.inIsEmpty(input)) {
        present = true;
        return c.inInts(input);
    }
    if (c.has(key)) {
        present = true;
        return c.attrInts(key);
    }
    return std::nullopt;
}

DType firstKnownType(Ctx& c, size_t first) {
    for (size_t i = first; i < c.inputCount(); ++i)
        if (c.inType(i) != DType::Undefined) return c.inType(i);
    return DType::Undefined;
}

std::optional<std::vector<Dim>> shapeInput(Ctx& c, size_t i) {
    const FoldValue* f = c.inFold(i);
    if (f && !f->isFloat() && f->shape.size() <= 1) {
        std::vector<Dim> dims;
        for (const auto& e : f->elems) {
            if (e.known && e.i < 0) {
                c.warn("input " + std::to_string(i), "negative dimension " + std::to_string(e.i));
                return std::nullopt;
            }
            dims.push_back(dimFromElem(e));
        }
        return dims;
    }
    const DimShape* s = c.inShape(i);
    if (s && s->size() == 1 && (*s)[0].known()) return std::vector<Dim>(static_cast<size_t>((*s)[0].value), Dim{});
    return std::nullopt;
}

const std::map<std::string, Rule>& onnxRules() {
    static const std::map<std::string, Rule> kRules = makeRules();
    return kRules;
}

}  // namespace by::shape_inference
