#include "engine/shape_inference.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <set>

#include "engine/shape_inference_internal.h"

namespace by {

namespace shape_inference {

// ---- dimension arithmetic -------------------------------------------------------------------

FoldElem FoldElem::ofDim(const Dim& d) {
    if (d.known()) return ofInt(d.value);
    FoldElem e;
    e.sym = d.param;
    return e;
}

Dim dimMul(const Dim& a, const Dim& b) {
    if (a.known() && b.known()) {
        int64_t r = 0;
        if (__builtin_mul_overflow(a.value, b.value, &r)) return Dim{};
        return Dim::of(r);
    }
    if ((a.known() && a.value == 0) || (b.known() && b.value == 0)) return Dim::of(0);
    if (a.known() && a.value == 1) return b;
    if (b.known() && b.value == 1) return a;
    return Dim{};
}

Dim dimProduct(const DimShape& s, size_t begin, size_t end) {
    Dim p = Dim::of(1);
    for (size_t k = begin; k < end && k < s.size(); ++k) p = dimMul(p, s[k]);
    return p;
}

Dim dimAdd(const Dim& a, int64_t c) {
    if (c == 0) return a;
    if (!a.known()) return Dim{};
    int64_t r = 0;
    if (__builtin_add_overflow(a.value, c, &r)) return Dim{};
    return Dim::of(r);
}

bool dimsConflict(const Dim& a, const Dim& b) { return a.known() && b.known() && a.value != b.value; }

Dim dimFromElem(const FoldElem& e) {
    if (e.known) return e.i >= 0 ? Dim::of(e.i) : Dim{};
    return e.sym.empty() ? Dim{} : Dim::sym(e.sym);
}

std::optional<SliceRange> sliceRange(int64_t dim, int64_t start, int64_t end, int64_t step) {
    if (step == 0 || dim < 0) return std::nullopt;
    SliceRange r;
    r.step = step;
    auto wrap = [&](int64_t v) {
        return v < 0 ? (v < std::numeric_limits<int64_t>::min() + dim ? -1 : v + dim) : v;
    };
    start = wrap(start);
    end = wrap(end);
    if (step > 0) {
        start = std::clamp<int64_t>(start, 0, dim);
        end = std::clamp<int64_t>(end, 0, dim);
        r.count = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = std::clamp<int64_t>(start, 0, dim - 1);
        end = std::clamp<int64_t>(end, -1, dim - 1);
        r.count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    r.start = start;
    return r;
}

std::optional<DimShape> broadcastShapes(const std::vector<const DimShape*>& shapes, NodeContext* ctx) {
    size_t rank = 0;
    for (const auto* s : shapes) {
        if (!s) return std::nullopt;
        rank = std::max(rank, s->size());
    }
    DimShape out(rank);
    for (size_t k = 0; k < rank; ++k) {
        std::optional<int64_t> number;
        std::string sym;
        bool symsAgree = true, anyUnknown = false, anySym = false;
        for (const auto* s : shapes) {
            if (s->size() + k < rank) continue;  // this operand has no such axis
            const Dim& d = (*s)[k + s->size() - rank];
            if (d.known()) {
                if (d.value == 1) continue;
                if (number && *number != d.value) {
                    if (ctx) {
                        std::string list;
                        for (const auto* t : shapes) list += (list.empty() ? "" : " and ") + dimShapeToString(*t);
                        ctx->warn("inputs", "cannot broadcast " + list);
                    }
                    return std::nullopt;
                }
                number = d.value;
            } else if (!d.param.empty()) {
                if (anySym && sym != d.param) symsAgree = false;
                sym = d.param;
                anySym = true;
            } else {
                anyUnknown = true;
            }
        }
        if (number) out[k] = Dim::of(*number);
        else if (!anySym && !anyUnknown) out[k] = Dim::of(1);
        else if (anySym && !anyUnknown && symsAgree) out[k] = Dim::sym(sym);
        else out[k] = Dim{};
    }
    return out;
}

std::optional<DimShape> resolveReshape(const DimShape* input, const std::vector<FoldElem>& target, bool allowZero,
                                       NodeContext& ctx) {
    DimShape out(target.size());
    int inferAt = -1;
    for (size_t k = 0; k < target.size(); ++k) {
        const FoldElem& e = target[k];
        if (!e.known) {
            out[k] = dimFromElem(e);
            continue;
        }
        if (e.i == -1) {
            if (inferAt >= 0) {
                ctx.warn("shape", "more than one -1 in the target shape");
                return std::nullopt;
            }
            inferAt = static_cast<int>(k);
        } else if (e.i == 0 && !allowZero) {
            if (!input) out[k] = Dim{};
            else if (k < input->size()) out[k] = (*input)[k];
            else {
                ctx.warn("shape", "0 at position " + std::to_string(k) + " copies a dimension the input of rank " +
                                      std::to_string(input->size()) + " does not have");
                return std::nullopt;
            }
        } else if (e.i < 0) {
            ctx.warn("shape", "invalid dimension " + std::to_string(e.i) + " in the target shape");
            return std::nullopt;
        } else {
            out[k] = Dim::of(e.i);
        }
    }
    if (!input) return out;
    // Element count of each side as number x product of symbols, when every dimension is
    // a number or a symbol.
    auto factor = [](const DimShape& s, int skip, int64_t& num, std::multiset<std::string>& syms) {
        num = 1;
        for (size_t k = 0; k < s.size(); ++k) {
            if (static_cast<int>(k) == skip) continue;
            if (s[k].known()) {
                if (__builtin_mul_overflow(num, s[k].value, &num)) return false;
            } else if (!s[k].param.empty()) {
                syms.insert(s[k].param);
            } else {
                return false;
            }
        }
        return true;
    };
    int64_t inNum = 0, outNum = 0;
    std::multiset<std::string> inSyms, outSyms;
    const bool inOk = factor(*input, -1, inNum, inSyms);
    const bool outOk = factor(out, inferAt, outNum, outSyms);
    if (!inOk || !outOk) {
        if (inferAt >= 0) out[static_cast<size_t>(inferAt)] = Dim{};
        return out;
    }
    for (const auto& s : outSyms) {
        auto it = inSyms.find(s);
        if (it == inSyms.end()) {  // symbols that do not cancel: nothing can be said
            if (inferAt >= 0) out[static_cast<size_t>(inferAt)] = Dim{};
            return out;
        }
        inSyms.erase(it);
    }
    auto mismatch = [&] {
        ctx.warn("shape", "cannot reshape " + dimShapeToString(*input) + " to " + dimShapeToString(out));
        return std::nullopt;
    };
    if (inferAt < 0) {
        if (inSyms.empty() && inNum != outNum) return mismatch();
        return out;
    }
    Dim& d = out[static_cast<size_t>(inferAt)];
    if (inSyms.empty()) {
        if (outNum == 0) d = Dim{};
        else if (inNum % outNum != 0) return mismatch();
        else d = Dim::of(inNum / outNum);
    } else if (inSyms.size() == 1 && outNum != 0 && inNum == outNum) {
        d = Dim::sym(*inSyms.begin());
    } else {
        d = Dim{};
    }
    return out;
}

// ---- node context ---------------------------------------------------------------------------

NodeContext::NodeContext(Graph& g, int nodeIndex, const std::string& where, const ShapeInferenceOptions& opts,
                         ShapeInferenceResult& result, std::map<int, FoldValue>& folds)
    : m_g(g), m_node(g.nodes[static_cast<size_t>(nodeIndex)]), m_where(where), m_opts(opts), m_result(result),
      m_folds(folds) {}

bool NodeContext::hasInput(size_t i) const {
    if (i >= m_node.inputs.size()) return false;
    const int v = m_node.inputs[i];
    return v >= 0 && static_cast<size_t>(v) < m_g.values.size();
}

const Value* NodeContext::input(size_t i) const {
    return hasInput(i) ? &m_g.values[static_cast<size_t>(m_node.inputs[i])] : nullptr;
}

DType NodeContext::inType(size_t i) const {
    const Value* v = input(i);
    return v ? v->dtype : DType::Undefined;
}

const DimShape* NodeContext::inShape(size_t i) const {
    const Value* v = input(i);
    return v && v->shape ? &*v->shape : nullptr;
}

int64_t NodeContext::inRank(size_t i) const {
    const DimShape* s = inShape(i);
    return s ? static_cast<int64_t>(s->size()) : -1;
}

const FoldValue* NodeContext::inFold(size_t i) {
    if (!hasInput(i)) return nullptr;
    const int id = m_node.inputs[i];
    auto it = m_folds.find(id);
    if (it != m_folds.end()) return &it->second;
    const Value& v = m_g.values[static_cast<size_t>(id)];
    if (!v.data) return nullptr;
    auto f = foldFromTensor(*v.data, m_opts.maxFoldElements);
    if (!f) return nullptr;
    return &m_folds.emplace(id, std::move(*f)).first->second;
}

std::optional<std::vector<int64_t>> NodeContext::inInts(size_t i) {
    const FoldValue* f = inFold(i);
    if (!f || f->isFloat() || !f->fullyKnown()) return std::nullopt;
    std::vector<int64_t> out;
    out.reserve(f->elems.size());
    for (const auto& e : f->elems) out.push_back(e.i);
    return out;
}

std::optional<std::vector<double>> NodeContext::inFloats(size_t i) {
    const FoldValue* f = inFold(i);
    if (!f || !f->fullyKnown()) return std::nullopt;
    std::vector<double> out;
    out.reserve(f->elems.size());
    for (const auto& e : f->elems) out.push_back(f->isFloat() ? e.f : static_cast<double>(e.i));
    return out;
}

bool NodeContext::inIsEmpty(size_t i) {
    if (!hasInput(i)) return true;
    const Value* v = input(i);
    if (v->name.empty() && v->producer < 0 && !v->data) return true;
    if (v->data) return v->data->numel() == 0;
    if (v->shape) {
        for (const auto& d : *v->shape)
            if (d.known() && d.value == 0) return true;
    }
    return false;
}

namespace {
std::string attrField(const char* key) { return std::string("attribute '") + key + "'"; }
}  // namespace

std::optional<int64_t> NodeContext::attrInt(const char* key, int64_t def) {
    const Attribute* a = m_node.attr(key);
    if (!a) return def;
    if (a->kind == Attribute::Kind::Int) return a->i;
    warn(attrField(key), std::string("expected an int, found ") + attributeKindName(a->kind));
    return std::nullopt;
}

std::optional<double> NodeContext::attrFloat(const char* key, double def) {
    const Attribute* a = m_node.attr(key);
    if (!a) return def;
    if (a->kind == Attribute::Kind::Float) return a->f;
    if (a->kind == Attribute::Kind::Int) return static_cast<double>(a->i);
    warn(attrField(key), std::string("expected a float, found ") + attributeKindName(a->kind));
    return std::nullopt;
}

std::optional<std::string> NodeContext::attrString(const char* key, const std::string& def) {
    const Attribute* a = m_node.attr(key);
    if (!a) return def;
    if (a->kind == Attribute::Kind::String) return a->s;
    warn(attrField(key), std::string("expected a string, found ") + attributeKindName(a->kind));
    return std::nullopt;
}

std::optional<std::vector<int64_t>> NodeContext::attrInts(const char* key, std::vector<int64_t> def) {
    const Attribute* a = m_node.attr(key);
    if (!a) return def;
    if (a->kind == Attribute::Kind::Ints) return a->ints;
    if (a->kind == Attribute::Kind::Int) return std::vector<int64_t>{a->i};
    warn(attrField(key), std::string("expected ints, found ") + attributeKindName(a->kind));
    return std::nullopt;
}

bool NodeContext::hasOutput(size_t i) const {
    if (i >= m_node.outputs.size()) return false;
    const int v = m_node.outputs[i];
    return v >= 0 && static_cast<size_t>(v) < m_g.values.size();
}

void NodeContext::setOutput(size_t i, DType dtype, std::optional<DimShape> shape) {
    if (!hasOutput(i)) return;
    Value& v = m_g.values[static_cast<size_t>(m_node.outputs[i])];
    const std::string field = "output " + std::to_string(i) + (v.name.empty() ? "" : " '" + v.name + "'");
    if (dtype != DType::Undefined) {
        if (v.dtype == DType::Undefined) v.dtype = dtype;
        else if (v.dtype != dtype)
            warn(field, std::string("inferred dtype ") + dtypeName(dtype) + " differs from the declared " +
                            dtypeName(v.dtype) + "; keeping the declared one");
    }
    if (!shape) return;
    if (!v.shape) {
        v.shape = std::move(shape);
        return;
    }
    DimShape& decl = *v.shape;
    bool conflict = decl.size() != shape->size();
    for (size_t k = 0; !conflict && k < decl.size(); ++k) conflict = dimsConflict(decl[k], (*shape)[k]);
    if (conflict) {
        warn(field, "inferred shape " + dimShapeToString(*shape) + " differs from the declared " +
                        dimShapeToString(decl) + "; keeping the declared one");
        return;
    }
    // Compatible: numbers refine symbols and unknowns, symbols refine unknowns.
    for (size_t k = 0; k < decl.size(); ++k) {
        const Dim& inf = (*shape)[k];
        if (decl[k].known()) continue;
        if (inf.known() || (decl[k].param.empty() && !inf.param.empty())) decl[k] = inf;
    }
}

void NodeContext::setOutputFold(size_t i, FoldValue f) {
    if (!hasOutput(i)) return;
    const int id = m_node.outputs[i];
    setOutput(i, f.dtype, toDimShape(f.shape));
    Value& v = m_g.values[static_cast<size_t>(id)];
    if (f.fullyKnown() && m_node.opType != "Constant" && (!v.data || v.folded)) {
        if (auto t = foldToTensor(f)) {
            if (!v.folded || !v.data || !v.data->sameContent(*t)) ++m_result.foldedValues;
            v.data = std::move(*t);
            v.folded = true;
        }
    }
    m_folds[id] = std::move(f);
}

void NodeContext::warn(const std::string& field, const std::string& message) {
    m_result.warnings.push_back(m_where + ": " + (field.empty() ? "" : field + ": ") + message);
}

std::optional<int64_t> NodeContext::normAxis(int64_t axis, int64_t rank, const char* field) {
    if (axis < -rank || axis >= rank) {
        warn(field, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
        return std::nullopt;
    }
    return axis < 0 ? axis + rank : axis;
}

std::optional<std::vector<int64_t>> NodeContext::normAxes(const std::vector<int64_t>& axes, int64_t rank,
                                                          const char* field, bool unique) {
    std::vector<int64_t> out;
    out.reserve(axes.size());
    for (int64_t a : axes) {
        auto n = normAxis(a, rank, field);
        if (!n) return std::nullopt;
        if (unique && std::find(out.begin(), out.end(), *n) != out.end()) {
            warn(field, "axis " + std::to_string(a) + " is listed twice");
            return std::nullopt;
        }
        out.push_back(*n);
    }
    return out;
}

// ---- the pass -------------------------------------------------------------------------------

namespace {

struct Scope {
    Graph* graph = nullptr;
    std::map<int, FoldValue>* folds = nullptr;
    const Scope* parent = nullptr;
};

std::string nodeLabel(const Node& n, size_t index) {
    std::string s = "node " + std::to_string(index) + " (";
    if (!n.domain.empty() && n.domain != "ai.onnx") s += n.domain + ".";
    s += n.opType;
    if (!n.name.empty()) s += " '" + n.name + "'";
    return s + ")";
}

// Values a subgraph reads from enclosing graphs by name (outer-scope references) take their
// dtype, shape and any folded elements from there.
void importOuterScope(Graph& sub, std::map<int, FoldValue>& folds, const Scope& outer,
                      const ShapeInferenceOptions& opts) {
    std::vector<bool> local(sub.values.size(), false);
    for (const auto& n : sub.nodes)
        for (int o : n.outputs)
            if (o >= 0 && static_cast<size_t>(o) < local.size()) local[static_cast<size_t>(o)] = true;
    for (int in : sub.inputs)
        if (in >= 0 && static_cast<size_t>(in) < local.size()) local[static_cast<size_t>(in)] = true;
    for (size_t vi = 0; vi < sub.values.size(); ++vi) {
        Value& v = sub.values[vi];
        if (local[vi] || v.data || v.name.empty()) continue;
        for (const Scope* s = &outer; s; s = s->parent) {
            const int id = s->graph->findValue(v.name);
            if (id < 0 || static_cast<size_t>(id) >= s->graph->values.size()) continue;
            const Value& src = s->graph->values[static_cast<size_t>(id)];
            if (v.dtype == DType::Undefined) v.dtype = src.dtype;
            if (!v.shape) v.shape = src.shape;
            auto it = s->folds->find(id);
            if (it != s->folds->end()) folds[static_cast<int>(vi)] = it->second;
            else if (src.data)
                if (auto f = foldFromTensor(*src.data, opts.maxFoldElements)) folds[static_cast<int>(vi)] = *f;
            break;
        }
    }
}

Status inferGraph(Graph& g, const ShapeInferenceOptions& opts, ShapeInferenceResult& res,
                  const std::string& prefix, const Scope* outer, bool topLevel);

// Loop bodies receive (iteration, condition, carried...) as inputs.
void seedLoopBody(Graph& body, const Graph& g, const Node& loop) {
    for (size_t k = 0; k < body.inputs.size(); ++k) {
        const int bi = body.inputs[k];
        if (bi < 0 || static_cast<size_t>(bi) >= body.values.size()) continue;
        Value& v = body.values[static_cast<size_t>(bi)];
        if (k == 0) {
            if (v.dtype == DType::Undefined) v.dtype = DType::I64;
            if (!v.shape) v.shape = DimShape{};
        } else if (k == 1) {
            if (v.dtype == DType::Undefined) v.dtype = DType::Bool;
            if (!v.shape) v.shape = DimShape{};
        } else if (k < loop.inputs.size()) {
            const int li = loop.inputs[k];
            if (li < 0 || static_cast<size_t>(li) >= g.values.size()) continue;
            const Value& src = g.values[static_cast<size_t>(li)];
            if (v.dtype == DType::Undefined) v.dtype = src.dtype;
            if (!v.shape) v.shape = src.shape;
        }
    }
}

// Weight-only quantized matrix products of the extension domains: X [..., K] times constant
// weights described by the K and N attributes gives f32 [..., N] (com.microsoft MatMulNBits,
// com.brickyard BinaryCodedMatMul).
void packedMatmul(NodeContext& c) {
    const auto K = c.attrInt("K", 0), N = c.attrInt("N", 0);
    if (!K || !N || *K <= 0 || *N <= 0) return c.setOutputType(0, DType::F32);
    const DimShape* x = c.inShape(0);
    if (!x || x->empty()) return c.setOutputType(0, DType::F32);
    if (x->back().known() && x->back().value != *K)
        c.warn("input 0", "last dimension " + std::to_string(x->back().value) + " is not K = " + std::to_string(*K));
    DimShape out = *x;
    out.back() = Dim::of(*N);
    c.setOutput(0, DType::F32, out);
}

const std::map<std::string, Rule>& extensionRules(const std::string& domain) {
    static const std::map<std::string, Rule> microsoft = {{"MatMulNBits", packedMatmul}};
    static const std::map<std::string, Rule> brickyard = {{"BinaryCodedMatMul", packedMatmul}};
    static const std::map<std::string, Rule> none;
    return domain == "com.microsoft" ? microsoft : domain == "com.brickyard" ? brickyard : none;
}

void inferNode(Graph& g, size_t ni, const ShapeInferenceOptions& opts, ShapeInferenceResult& res,
               const std::string& prefix, const Scope& scope) {
    const std::string where = prefix + nodeLabel(g.nodes[ni], ni);
    if (opts.recurseIntoSubgraphs) {
        // Copy the attribute list's graph pointers first: inference below only touches values.
        std::vector<std::pair<std::string, std::shared_ptr<Graph>>> subs;
        for (const auto& [k, a] : g.nodes[ni].attributes) {
            if (a.g) subs.emplace_back(k, a.g);
            for (const auto& sg : a.graphs)
                if (sg) subs.emplace_back(k, sg);
        }
        for (auto& [k, sg] : subs) {
            if (g.nodes[ni].opType == "Loop" && k == "body") seedLoopBody(*sg, g, g.nodes[ni]);
            auto st = inferGraph(*sg, opts, res, where + " " + k + ": ", &scope, false);
            if (!st) res.warnings.push_back(where + ": attribute '" + k + "': " + st.error().what());
        }
    }
    const Node& n = g.nodes[ni];
    const std::map<std::string, Rule>* rules = nullptr;
    if (n.domain.empty() || n.domain == "ai.onnx") rules = &onnxRules();
    else if (n.domain == "tflite") rules = &tfliteRules();
    else rules = &extensionRules(n.domain);
    NodeContext ctx(g, static_cast<int>(ni), where, opts, res, *scope.folds);
    try {
        if (rules) {
            auto it = rules->find(n.opType);
            if (it != rules->end()) it->second(ctx);
        }
        if (opts.foldConstants) foldNode(ctx);
    } catch (const std::exception& e) {
        // Rules check their inputs; this only keeps an allocation failure on an absurd shape
        // from taking the application down.
        ctx.warn("", std::string("shape inference gave up: ") + e.what());
    }
}

Status inferGraph(Graph& g, const ShapeInferenceOptions& opts, ShapeInferenceResult& res,
                  const std::string& prefix, const Scope* outer, bool topLevel) {
    auto order = g.topologicalOrder();
    if (!order) {
        Error e = order.error();
        e.withContext("shape inference");
        return e;
    }
    if (opts.resetNodeOutputs)
        for (const auto& n : g.nodes)
            for (int o : n.outputs) {
                if (o < 0 || static_cast<size_t>(o) >= g.values.size()) continue;
                Value& v = g.values[static_cast<size_t>(o)];
                v.shape.reset();
                if (v.folded) {
                    v.data.reset();
                    v.folded = false;
                }
            }
    std::map<int, FoldValue> folds;
    Scope scope{&g, &folds, outer};
    if (outer) importOuterScope(g, folds, *outer, opts);
    for (int ni : *order) inferNode(g, static_cast<size_t>(ni), opts, res, prefix, scope);
    if (topLevel)
        for (const auto& n : g.nodes)
            for (int o : n.outputs) {
                if (o < 0 || static_cast<size_t>(o) >= g.values.size()) continue;
                const Value& v = g.values[static_cast<size_t>(o)];
                ++res.nodeOutputs;
                if (!v.shape) continue;
                ++res.outputsWithShape;
                if (std::all_of(v.shape->begin(), v.shape->end(), [](const Dim& d) { return d.known(); }))
                    ++res.outputsFullyKnown;
            }
    return {};
}

}  // namespace
}  // namespace shape_inference

Result<ShapeInferenceResult> inferShapes(Graph& g, const ShapeInferenceOptions& opts) {
    ShapeInferenceResult res;
    auto st = shape_inference::inferGraph(g, opts, res, "", nullptr, true);
    if (!st) return st.error();
    return res;
}

Result<ShapeInferenceResult> inferShapes(Model& m, ShapeInferenceOptions opts) {
    if (opts.onnxOpset == 0)
        for (const auto& [domain, version] : m.opsets)
            if (domain.empty() || domain == "ai.onnx") opts.onnxOpset = version;
    return inferShapes(m.graph, opts);
}

}  // namespace by
