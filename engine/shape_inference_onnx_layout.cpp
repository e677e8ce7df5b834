// Shape rules for the ONNX default domain: operators that move, select or resize data (Reshape,
// Squeeze, Transpose, Concat, Split, Slice, Gather, reductions, Expand, Tile, Pad, Resize...).
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/shape_inference_internal.h"

namespace by::shape_inference {

namespace {

using Ctx = NodeContext;

// ---- layout ---------------------------------------------------------------------------------

void reshape(Ctx& c) {
    const DType dt = c.inType(0);
    auto allowZero = c.attrInt("allowzero", 0);
    if (!allowZero) return c.setOutputType(0, dt);
    std::vector<FoldElem> target;
    if (c.hasInput(1)) {
        const FoldValue* f = c.inFold(1);
        if (!f || f->isFloat()) {
            const DimShape* s = c.inShape(1);
            if (s && s->size() == 1 && (*s)[0].known())
                return c.setOutput(0, dt, unknownDims(static_cast<size_t>((*s)[0].value)));
            return c.setOutputType(0, dt);
        }
        if (f->shape.size() > 1) {
            c.warn("input 1", "shape must be 1-D, got " + shapeToString(f->shape));
            return c.setOutputType(0, dt);
        }
        target = f->elems;
    } else if (c.has("shape")) {
        auto s = c.attrInts("shape");
        if (!s) return c.setOutputType(0, dt);
        for (int64_t v : *s) target.push_back(FoldElem::ofInt(v));
    } else {
        c.warn("input 1", "missing target shape");
        return c.setOutputType(0, dt);
    }
    c.setOutput(0, dt, resolveReshape(c.inShape(0), target, *allowZero != 0, c));
}

void flatten(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto axis = c.attrInt("axis", 1);
    if (!x || !axis) return c.setOutput(0, dt, DimShape{Dim{}, Dim{}});
    const auto r = static_cast<int64_t>(x->size());
    if (*axis < -r || *axis > r) {
        c.warn("attribute 'axis'",
               "axis " + std::to_string(*axis) + " is out of range for rank " + std::to_string(r));
        return c.setOutput(0, dt, DimShape{Dim{}, Dim{}});
    }
    const auto a = static_cast<size_t>(*axis < 0 ? *axis + r : *axis);
    c.setOutput(0, dt, DimShape{dimProduct(*x, 0, a), dimProduct(*x, a, x->size())});
}

void squeeze(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    bool present = false;
    auto axes = intsFromInputOrAttr(c, 1, "axes", present);
    if (!x || (present && !axes)) return c.setOutputType(0, dt);
    const auto r = static_cast<int64_t>(x->size());
    std::vector<bool> drop(x->size(), false);
    if (!present || axes->empty()) {
        for (size_t k = 0; k < x->size(); ++k) {
            if (!(*x)[k].known()) return c.setOutputType(0, dt);  // cannot tell whether it is 1
            drop[k] = (*x)[k].value == 1;
        }
    } else {
        auto norm = c.normAxes(*axes, r, "axes");
        if (!norm) return c.setOutputType(0, dt);
        for (int64_t a : *norm) {
            const Dim& d = (*x)[static_cast<size_t>(a)];
            if (d.known() && d.value != 1) {
                c.warn("axes",
                       "cannot squeeze axis " + std::to_string(a) + " of length " + std::to_string(d.value));
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

void unsqueeze(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    bool present = false;
    auto axes = intsFromInputOrAttr(c, 1, "axes", present);
    if (!present) c.warn("axes", "missing");
    if (!x || !axes) return c.setOutputType(0, dt);
    const auto r = static_cast<int64_t>(x->size() + axes->size());
    auto norm = c.normAxes(*axes, r, "axes");
    if (!norm) return c.setOutputType(0, dt);
    DimShape out;
    size_t src = 0;
    for (int64_t k = 0; k < r; ++k) {
        if (std::find(norm->begin(), norm->end(), k) != norm->end()) out.push_back(Dim::of(1));
        else out.push_back((*x)[src++]);
    }
    c.setOutput(0, dt, out);
}

std::optional<std::vector<int64_t>> checkPerm(Ctx& c, const std::vector<int64_t>& perm, size_t rank,
                                              const char* field) {
    if (perm.size() != rank) {
        c.warn(field, "has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
        return std::nullopt;
    }
    return c.normAxes(perm, static_cast<int64_t>(rank), field);
}

void transpose(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto perm = c.attrInts("perm");
    if (!x || !perm) return c.setOutputType(0, dt);
    if (perm->empty())
        for (size_t k = x->size(); k-- > 0;) perm->push_back(static_cast<int64_t>(k));
    auto p = checkPerm(c, *perm, x->size(), "attribute 'perm'");
    if (!p) return c.setOutputType(0, dt);
    DimShape out;
    for (int64_t a : *p) out.push_back((*x)[static_cast<size_t>(a)]);
    c.setOutput(0, dt, out);
}

}  // namespace

// Concatenation of `shapes` along `axis` (may be negative); shared with TFLite CONCATENATION.
std::optional<DimShape> concatShapes(Ctx& c, const std::vector<const DimShape*>& shapes, int64_t axis,
                                     const char* field) {
    const DimShape* ref = nullptr;
    for (const auto* s : shapes)
        if (s) {
            ref = s;
            break;
        }
    if (!ref) return std::nullopt;
    const auto r = static_cast<int64_t>(ref->size());
    auto a = c.normAxis(axis, r, field);
    if (!a) return std::nullopt;
    DimShape out = *ref;
    Dim sum = Dim::of(0);
    for (const auto* s : shapes) {
        if (!s) {
            sum = Dim{};
            continue;
        }
        if (s->size() != ref->size()) {
            c.warn("inputs", "cannot concatenate " + dimShapeToString(*ref) + " and " + dimShapeToString(*s));
            return std::nullopt;
        }
        for (size_t k = 0; k < s->size(); ++k) {
            if (static_cast<int64_t>(k) == *a) continue;
            if (dimsConflict(out[k], (*s)[k])) {
                c.warn("inputs", "cannot concatenate " + dimShapeToString(*ref) + " and " + dimShapeToString(*s) +
                                     " along axis " + std::to_string(*a));
                return std::nullopt;
            }
            if (!out[k].known() && ((*s)[k].known() || (out[k].param.empty() && !(*s)[k].param.empty())))
                out[k] = (*s)[k];
        }
        const Dim& d = (*s)[static_cast<size_t>(*a)];
        if (sum.known() && d.known()) sum = Dim::of(sum.value + d.value);
        else if (sum.known() && sum.value == 0) sum = d;  // one symbolic part so far
        else if (!(d.known() && d.value == 0)) sum = Dim{};
    }
    out[static_cast<size_t>(*a)] = sum;
    return out;
}

namespace {

void concat(Ctx& c) {
    const DType dt = firstKnownType(c, 0);
    // Opsets 1-3 default the axis to 1; from opset 4 on it is required.
    const int64_t opset = c.options().onnxOpset;
    const bool defaulted = opset >= 1 && opset < 4;
    if (!c.has("axis") && !defaulted) {
        c.warn("attribute 'axis'", "missing");
        return c.setOutputType(0, dt);
    }
    auto axis = c.attrInt("axis", 1);
    if (!axis) return c.setOutputType(0, dt);
    std::vector<const DimShape*> shapes;
    for (size_t i = 0; i < c.inputCount(); ++i)
        if (c.hasInput(i)) shapes.push_back(c.inShape(i));
    c.setOutput(0, dt, concatShapes(c, shapes, *axis, "attribute 'axis'"));
}

void split(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const size_t nOut = c.outputCount();
    for (size_t o = 0; o < nOut; ++o) c.setOutputType(o, dt);
    auto axis = c.attrInt("axis", 0);
    bool present = false;
    auto sizes = intsFromInputOrAttr(c, 1, "split", present);
    if (!x || !axis || (present && !sizes)) return;
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return;
    const Dim& d = (*x)[static_cast<size_t>(*a)];
    std::vector<Dim> parts(nOut, Dim{});
    if (present && !sizes->empty()) {
        if (sizes->size() != nOut) {
            c.warn("split", "lists " + std::to_string(sizes->size()) + " parts for " + std::to_string(nOut) +
                                " outputs");
            return;
        }
        int64_t total = 0;
        for (size_t k = 0; k < nOut; ++k) {
            if ((*sizes)[k] < 0) {
                c.warn("split", "part sizes must not be negative, got " + std::to_string((*sizes)[k]));
                return;
            }
            total += (*sizes)[k];
            parts[k] = Dim::of((*sizes)[k]);
        }
        if (d.known() && total != d.value)
            c.warn("split", "parts sum to " + std::to_string(total) + " but axis " + std::to_string(*a) + " has " +
                                std::to_string(d.value));
    } else {
        auto numOutputs = c.attrInt("num_outputs", static_cast<int64_t>(nOut));
        if (!numOutputs) return;
        if (*numOutputs <= 0 || static_cast<size_t>(*numOutputs) != nOut) {
            c.warn("attribute 'num_outputs'", "is " + std::to_string(*numOutputs) + " but the node has " +
                                                  std::to_string(nOut) + " outputs");
            return;
        }
        const auto n = static_cast<int64_t>(nOut);
        if (d.known()) {
            if (c.has("num_outputs")) {
                const int64_t chunk = ceilDiv(d.value, n);
                for (int64_t k = 0; k < n; ++k)
                    parts[static_cast<size_t>(k)] =
                        Dim::of(std::clamp<int64_t>(d.value - chunk * k, 0, chunk));
            } else if (d.value % n != 0) {
                c.warn("input 0", "axis of length " + std::to_string(d.value) + " does not split evenly into " +
                                      std::to_string(n) + " outputs");
                return;
            } else {
                for (auto& p : parts) p = Dim::of(d.value / n);
            }
        }
    }
    for (size_t o = 0; o < nOut; ++o) {
        DimShape s = *x;
        s[static_cast<size_t>(*a)] = parts[o];
        c.setOutput(o, dt, s);
    }
}

// Reads Slice's starts/ends/axes/steps from inputs (opset >= 10) or attributes.
struct SliceSpec {
    std::vector<int64_t> starts, ends, axes, steps;
};
std::optional<SliceSpec> readSlice(Ctx& c, size_t rank, bool& axesKnown, std::vector<int64_t>* knownAxes) {
    SliceSpec s;
    axesKnown = false;
    std::optional<std::vector<int64_t>> starts, ends, axes, steps;
    if (c.inputCount() > 1) {
        starts = c.inInts(1);
        ends = c.inInts(2);
        axes = c.hasInput(3) ? c.inInts(3) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
        steps = c.hasInput(4) ? c.inInts(4) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
    } else {
        starts = c.attrInts("starts");
        ends = c.attrInts("ends");
        axes = c.attrInts("axes");
        steps = std::vector<int64_t>{};
    }
    if (axes) {
        std::vector<int64_t> a = *axes;
        if (a.empty() && starts)
            for (size_t k = 0; k < starts->size(); ++k) a.push_back(static_cast<int64_t>(k));
        if (!a.empty() || starts) {
            auto n = c.normAxes(a, static_cast<int64_t>(rank), "axes");
            if (!n) return std::nullopt;
            axesKnown = true;
            if (knownAxes) *knownAxes = *n;
            axes = *n;
        }
    }
    if (!starts || !ends || !axes || !steps) return std::nullopt;
    if (starts->size() != ends->size() || starts->size() != axes->size() ||
        (!steps->empty() && steps->size() != starts->size())) {
        c.warn("starts", "starts, ends, axes and steps have different lengths (" +
                             std::to_string(starts->size()) + ", " + std::to_string(ends->size()) + ", " +
                             std::to_string(axes->size()) + ", " + std::to_string(steps->size()) + ")");
        axesKnown = false;
        return std::nullopt;
    }
    if (steps->empty()) steps->assign(starts->size(), 1);
    for (int64_t st : *steps)
        if (st == 0) {
            c.warn("steps", "a step of 0 is invalid");
            return std::nullopt;
        }
    s.starts = *starts;
    s.ends = *ends;
    s.axes = *axes;
    s.steps = *steps;
    return s;
}

void slice(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    bool axesKnown = false;
    std::vector<int64_t> knownAxes;
    auto spec = readSlice(c, x->size(), axesKnown, &knownAxes);
    DimShape out = *x;
    if (!spec) {
        if (axesKnown)
            for (int64_t a : knownAxes) out[static_cast<size_t>(a)] = Dim{};
        else
            out = unknownDims(x->size());
        return c.setOutput(0, dt, out);
    }
    constexpr int64_t kHuge = std::numeric_limits<int32_t>::max();
    for (size_t k = 0; k < spec->axes.size(); ++k) {
        const auto a = static_cast<size_t>(spec->axes[k]);
        const Dim& d = (*x)[a];
        if (d.known()) {
            auto r = sliceRange(d.value, spec->starts[k], spec->ends[k], spec->steps[k]);
            out[a] = r ? Dim::of(r->count) : Dim{};
        } else if (spec->starts[k] == 0 && spec->steps[k] == 1 && spec->ends[k] >= kHuge) {
            out[a] = d;  // the whole axis
        } else {
            out[a] = Dim{};
        }
    }
    c.setOutput(0, dt, out);
}

void gather(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* idx = c.inShape(1);
    auto axis = c.attrInt("axis", 0);
    if (!x || !idx || !axis) return c.setOutputType(0, dt);
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return c.setOutputType(0, dt);
    const Dim& d = (*x)[static_cast<size_t>(*a)];
    if (auto ids = c.inInts(1); ids && d.known())
        for (int64_t i : *ids)
            if (i < -d.value || i >= d.value) {
                c.warn("input 1", "index " + std::to_string(i) + " is out of range for an axis of length " +
                                      std::to_string(d.value));
                break;
            }
    DimShape out(x->begin(), x->begin() + *a);
    out.insert(out.end(), idx->begin(), idx->end());
    out.insert(out.end(), x->begin() + *a + 1, x->end());
    c.setOutput(0, dt, out);
}

void gatherElements(Ctx& c) { c.setOutput(0, c.inType(0), shapeOf(c, 1)); }

void gatherND(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    const DimShape* idx = c.inShape(1);
    auto b = c.attrInt("batch_dims", 0);
    if (!x || !idx || !b || idx->empty() || !idx->back().known()) return c.setOutputType(0, dt);
    const int64_t m = idx->back().value;
    if (*b < 0 || *b + m > static_cast<int64_t>(x->size()) || *b >= static_cast<int64_t>(idx->size())) {
        c.warn("input 1", "indices " + dimShapeToString(*idx) + " do not fit data " + dimShapeToString(*x));
        return c.setOutputType(0, dt);
    }
    DimShape out(idx->begin(), idx->end() - 1);
    out.insert(out.end(), x->begin() + *b + m, x->end());
    c.setOutput(0, dt, out);
}

void reduce(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto keep = c.attrInt("keepdims", 1);
    auto noop = c.attrInt("noop_with_empty_axes", 0);
    bool present = false;
    auto axes = intsFromInputOrAttr(c, 1, "axes", present);
    if (!x || !keep || !noop) return c.setOutputType(0, dt);
    if (present && !axes) {  // axes computed at run time
        if (*keep) return c.setOutput(0, dt, unknownDims(x->size()));
        return c.setOutputType(0, dt);
    }
    std::vector<bool> red(x->size(), false);
    if (!present || axes->empty()) {
        if (*noop) return c.setOutput(0, dt, *x);
        red.assign(x->size(), true);
    } else {
        auto norm = c.normAxes(*axes, static_cast<int64_t>(x->size()), "axes");
        if (!norm) return c.setOutputType(0, dt);
        for (int64_t a : *norm) red[static_cast<size_t>(a)] = true;
    }
    DimShape out;
    for (size_t k = 0; k < x->size(); ++k) {
        if (!red[k]) out.push_back((*x)[k]);
        else if (*keep) out.push_back(Dim::of(1));
    }
    c.setOutput(0, dt, out);
}

void argReduce(Ctx& c) {
    const DimShape* x = c.inShape(0);
    auto axis = c.attrInt("axis", 0);
    auto keep = c.attrInt("keepdims", 1);
    if (!x || !axis || !keep) return c.setOutputType(0, DType::I64);
    auto a = c.normAxis(*axis, static_cast<int64_t>(x->size()), "attribute 'axis'");
    if (!a) return c.setOutputType(0, DType::I64);
    DimShape out = *x;
    if (*keep) out[static_cast<size_t>(*a)] = Dim::of(1);
    else out.erase(out.begin() + *a);
    c.setOutput(0, DType::I64, out);
}

void shapeOp(Ctx& c) {
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutput(0, DType::I64, DimShape{Dim{}});
    const auto r = static_cast<int64_t>(x->size());
    auto start = c.attrInt("start", 0), end = c.attrInt("end", r);
    if (!start || !end) return c.setOutput(0, DType::I64, DimShape{Dim{}});
    auto clampAxis = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    c.setOutput(0, DType::I64, DimShape{Dim::of(std::max<int64_t>(0, clampAxis(*end) - clampAxis(*start)))});
}

void sizeOp(Ctx& c) { c.setOutput(0, DType::I64, DimShape{}); }

void expand(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto target = shapeInput(c, 1);
    if (!x || !target) return c.setOutputType(0, dt);
    c.setOutput(0, dt, broadcastShapes({x, &*target}, &c));
}

void tile(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    auto reps = c.inInts(1);
    if (!reps) return c.setOutput(0, dt, unknownDims(x->size()));
    if (reps->size() != x->size()) {
        c.warn("input 1",
               "has " + std::to_string(reps->size()) + " repeats for rank " + std::to_string(x->size()));
        return c.setOutputType(0, dt);
    }
    DimShape out(x->size());
    for (size_t k = 0; k < x->size(); ++k) {
        if ((*reps)[k] < 0) {
            c.warn("input 1", "repeats must not be negative, got " + std::to_string((*reps)[k]));
            return c.setOutputType(0, dt);
        }
        out[k] = dimMul((*x)[k], Dim::of((*reps)[k]));
    }
    c.setOutput(0, dt, out);
}

void pad(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    std::optional<std::vector<int64_t>> pads;
    if (c.inputCount() > 1) pads = c.inInts(1);
    else if (c.has("pads")) pads = c.attrInts("pads");
    else pads = c.attrInts("paddings");
    if (!pads) return c.setOutput(0, dt, unknownDims(x->size()));
    std::vector<int64_t> axes;
    if (c.hasInput(3)) {
        auto ax = c.inInts(3);
        if (!ax) return c.setOutput(0, dt, unknownDims(x->size()));
        auto n = c.normAxes(*ax, static_cast<int64_t>(x->size()), "axes");
        if (!n) return c.setOutputType(0, dt);
        axes = *n;
    } else {
        for (size_t k = 0; k < x->size(); ++k) axes.push_back(static_cast<int64_t>(k));
    }
    if (pads->size() != 2 * axes.size()) {
        c.warn("pads", "has " + std::to_string(pads->size()) + " values, expected " +
                           std::to_string(2 * axes.size()));
        return c.setOutputType(0, dt);
    }
    DimShape out = *x;
    for (size_t k = 0; k < axes.size(); ++k) {
        Dim& d = out[static_cast<size_t>(axes[k])];
        d = dimAdd(d, (*pads)[k] + (*pads)[k + axes.size()]);
        if (d.known() && d.value < 0) {
            c.warn("pads", "negative padding removes more than axis " + std::to_string(axes[k]) + " holds");
            return c.setOutputType(0, dt);
        }
    }
    c.setOutput(0, dt, out);
}

void resize(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    if (!x) return c.setOutputType(0, dt);
    const size_t r = x->size();
    std::optional<std::vector<double>> scales;
    bool scalesPresent = false;
    const FoldValue* sizes = nullptr;
    bool sizesPresent = false;
    if (c.node().opType == "Upsample" || c.inputCount() <= 2) {
        if (c.hasInput(1)) {
            scalesPresent = true;
            scales = c.inFloats(1);
        } else if (c.has("scales")) {
            const Attribute* a = c.attr("scales");
            if (a->kind != Attribute::Kind::Floats) {
                c.warn("attribute 'scales'", std::string("expected floats, found ") + attributeKindName(a->kind));
                return c.setOutputType(0, dt);
            }
            scalesPresent = true;
            scales = a->floats;
        }
    } else {
        if (!c.inIsEmpty(2)) {
            scalesPresent = true;
            scales = c.inFloats(2);
        }
        if (c.hasInput(3) && !c.inIsEmpty(3)) {
            sizesPresent = true;
            sizes = c.inFold(3);
        }
    }
    auto axesAttr = c.attrInts("axes");
    auto policy = c.attrString("keep_aspect_ratio_policy", "stretch");
    if (!axesAttr || !policy) return c.setOutputType(0, dt);
    std::vector<int64_t> axes;
    if (axesAttr->empty()) {
        for (size_t k = 0; k < r; ++k) axes.push_back(static_cast<int64_t>(k));
    } else {
        auto n = c.normAxes(*axesAttr, static_cast<int64_t>(r), "attribute 'axes'");
        if (!n) return c.setOutputType(0, dt);
        axes = *n;
    }
    DimShape out = *x;
    if (sizesPresent) {
        if (!sizes || sizes->isFloat()) return c.setOutput(0, dt, unknownDims(r));
        if (sizes->elems.size() != axes.size()) {
            c.warn("input 3", "sizes has " + std::to_string(sizes->elems.size()) + " values for " +
                                  std::to_string(axes.size()) + " axes");
            return c.setOutputType(0, dt);
        }
        if (*policy == "stretch") {
            for (size_t k = 0; k < axes.size(); ++k)
                out[static_cast<size_t>(axes[k])] = dimFromElem(sizes->elems[k]);
            return c.setOutput(0, dt, out);
        }
        if (*policy != "not_larger" && *policy != "not_smaller") {
            c.warn("attribute 'keep_aspect_ratio_policy'", "unknown value \"" + *policy + "\"");
            return c.setOutputType(0, dt);
        }
        std::optional<double> scale;
        for (size_t k = 0; k < axes.size(); ++k) {
            const Dim& in = (*x)[static_cast<size_t>(axes[k])];
            if (!sizes->elems[k].known || !in.known() || in.value == 0) return c.setOutput(0, dt, unknownDims(r));
            const double s = static_cast<double>(sizes->elems[k].i) / static_cast<double>(in.value);
            scale = !scale ? s : (*policy == "not_larger" ? std::min(*scale, s) : std::max(*scale, s));
        }
        for (int64_t a : axes) {
            Dim& d = out[static_cast<size_t>(a)];
            d = Dim::of(static_cast<int64_t>(std::floor(*scale * static_cast<double>(d.value) + 0.5)));
        }
        return c.setOutput(0, dt, out);
    }
    if (!scalesPresent) {
        c.warn("inputs", "neither scales nor sizes is given");
        return c.setOutputType(0, dt);
    }
    if (!scales) return c.setOutput(0, dt, unknownDims(r));
    if (scales->size() != axes.size()) {
        c.warn("scales", "has " + std::to_string(scales->size()) + " values for " +
                             std::to_string(axes.size()) + " axes");
        return c.setOutputType(0, dt);
    }
    for (size_t k = 0; k < axes.size(); ++k) {
        const double s = (*scales)[k];
        if (!(s > 0) || !std::isfinite(s)) {
            c.warn("scales", "scales must be positive, got " + std::to_string(s));
            return c.setOutputType(0, dt);
        }
        Dim& d = out[static_cast<size_t>(axes[k])];
        if (s == 1.0) continue;
        // Computed in f32 like the reference implementations so x*0.5 rounds the same way.
        d = d.known() ? Dim::of(static_cast<int64_t>(
                            std::floor(static_cast<float>(d.value) * static_cast<float>(s))))
                      : Dim{};
    }
    c.setOutput(0, dt, out);
}

void depthToSpace(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto b = c.attrInt("blocksize", 0);
    if (!x || !b) return c.setOutputType(0, dt);
    if (*b <= 0 || x->size() != 4) {
        c.warn("attribute 'blocksize'", "must be positive on a 4-D input");
        return c.setOutputType(0, dt);
    }
    const Dim ch = (*x)[1];
    Dim outC = ch.known() ? (ch.value % (*b * *b) == 0 ? Dim::of(ch.value / (*b * *b)) : Dim{}) : Dim{};
    c.setOutput(0, dt, DimShape{(*x)[0], outC, dimMul((*x)[2], Dim::of(*b)), dimMul((*x)[3], Dim::of(*b))});
}

void spaceToDepth(Ctx& c) {
    const DType dt = c.inType(0);
    const DimShape* x = c.inShape(0);
    auto b = c.attrInt("blocksize", 0);
    if (!x || !b) return c.setOutputType(0, dt);
    if (*b <= 0 || x->size() != 4) {
        c.warn("attribute 'blocksize'", "must be positive on a 4-D input");
        return c.setOutputType(0, dt);
    }
    auto div = [&](const Dim& d) { return d.known() && d.value % *b == 0 ? Dim::of(d.value / *b) : Dim{}; };
    c.setOutput(0, dt, DimShape{(*x)[0], dimMul((*x)[1], Dim::of(*b * *b)), div((*x)[2]), div((*x)[3])});
}

}  // namespace

void addOnnxLayoutRules(std::map<std::string, Rule>& r) {
    r["Reshape"] = reshape;
    r["Flatten"] = flatten;
    r["Squeeze"] = squeeze;
    r["Unsqueeze"] = unsqueeze;
    r["Transpose"] = transpose;
    r["Concat"] = concat;
    r["Split"] = split;
    r["Slice"] = slice;
    r["Gather"] = gather;
    r["GatherElements"] = gatherElements;
    r["GatherND"] = gatherND;
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
        r[op] = reduce;
    r["ArgMax"] = argReduce;
    r["ArgMin"] = argReduce;
    r["Shape"] = shapeOp;
    r["Size"] = sizeOp;
    r["Expand"] = expand;
    r["Tile"] = tile;
    r["Pad"] = pad;
    r["Resize"] = resize;
    r["Upsample"] = resize;
    r["DepthToSpace"] = depthToSpace;
    r["SpaceToDepth"] = spaceToDepth;
}

}  // namespace by::shape_inference
