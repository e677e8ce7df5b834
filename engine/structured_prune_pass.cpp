// Structured pruning of transformer blocks, and the calibration statistics the data-driven
// pruning criteria share.
//
// Feed-forward blocks: an up-projection (MatMul/Gemm with a constant weight) whose N outputs go
// through element-wise nodes only (bias Add, GELU/Swish/ReLU written out of Mul, Add, Tanh,
// Sigmoid, ...) into one down-projection reading all N as its input dimension. Hidden neuron j is
// column j of the up weight (and its bias), entry j of every per-neuron constant on the way, and
// row j of the down weight; removing it from all of them leaves the block computing the same
// function of the other neurons.
//
// Attention heads: a fused Q/K/V projection with N = 3 * heads * dim outputs (plus a bias Add),
// reshaped to [.., 3, heads, dim]; after the attention the heads are put back side by side by a
// Reshape to [.., heads * dim] that feeds the output projection. Head h is columns p*H*D + h*D + d
// (p = Q, K, V) of the projection and rows h*D + d of the output projection; the two Reshape shape
// constants are rewritten (as new constants, since exporters share them between blocks).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <numeric>
#include <set>

#include "engine/compression_internal.h"
#include "engine/executor.h"
#include "engine/structured_blocks.h"

namespace by::compression {

Tensor sliceAxis(const Tensor& t, int axis, const std::vector<int64_t>& keep, int64_t block) {
    const Shape& s = t.shape();
    if (axis < 0) axis += int(s.size());
    int64_t outer = 1;
    for (int i = 0; i < axis; ++i) outer *= s[size_t(i)];
    const int64_t dim = s[size_t(axis)];
    const int64_t inner = dim > 0 ? t.numel() / (outer * dim) : 0;  // elements per index along the axis
    const float* p = t.data<float>();
    std::vector<float> o;
    o.reserve(size_t(outer * int64_t(keep.size()) * block * inner));
    for (int64_t a = 0; a < outer; ++a)
        for (int64_t k : keep)
            for (int64_t b = 0; b < block; ++b) {
                const float* src = p + (a * dim + k * block + b) * inner;
                o.insert(o.end(), src, src + inner);
            }
    Shape ns = s;
    ns[size_t(axis)] = int64_t(keep.size()) * block;
    return Tensor::fromFloats(ns, o);
}

void ChannelStats::add(const Tensor& t, int axis) {
    const Shape& s = t.shape();
    if (s.empty()) return;
    const int ax = axis < 0 ? int(s.size()) + axis : axis;
    if (ax < 0 || ax >= int(s.size())) return;
    const int64_t C = s[size_t(ax)];
    int64_t outer = 1;
    for (int i = 0; i < ax; ++i) outer *= s[size_t(i)];
    const int64_t inner = C > 0 ? t.numel() / (outer * C) : 0;
    if (absSum.empty()) {
        sum.assign(size_t(C), 0.0);
        absSum.assign(size_t(C), 0.0);
        sqSum.assign(size_t(C), 0.0);
    }
    if (int64_t(absSum.size()) != C) return;  // a batch with another channel count is not this value
    const float* p = t.data<float>();
    for (int64_t a = 0; a < outer; ++a)
        for (int64_t c = 0; c < C; ++c) {
            const float* x = p + (a * C + c) * inner;
            double sm = 0, sa = 0, sq = 0;
            for (int64_t i = 0; i < inner; ++i) {
                sm += x[i];
                sa += std::fabs(x[i]);
                sq += double(x[i]) * x[i];
            }
            sum[size_t(c)] += sm;
            absSum[size_t(c)] += sa;
            sqSum[size_t(c)] += sq;
        }
    count += outer * inner;
}

double ChannelStats::rms(size_t c) const { return count ? std::sqrt(sqSum[c] / double(count)) : 0.0; }

double ChannelStats::stddev(size_t c) const {
    const double m = mean(c);
    return std::sqrt(std::max(0.0, (count ? sqSum[c] / double(count) : 0.0) - m * m));
}

Status collectChannelStats(const Graph& g, int64_t opset, const ActivationCalibration& a, const Dataset& data,
                           const std::vector<int>& values, int axis, std::map<int, ChannelStats>& out) {
    const std::set<int> wanted(values.begin(), values.end());
    return forEachCalibrationActivation(g, opset, a, data, wanted, [&](int v, const Tensor& t) {
        if (t.dtype() == DType::F32) out[v].add(t, axis);
    });
}

namespace {

}  // namespace

std::string describeNode(const Graph& g, int n) { return g.nodes[size_t(n)].opType + " '" + nodeLabel(g, n) + "'"; }

bool isGraphOutput(const Graph& g, int v) { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }

// The kept indices: everything but the `drop` lowest scores (ties: the earlier index stays).
std::vector<int64_t> keepHighest(const std::vector<double>& score, int64_t drop) {
    std::vector<int64_t> order(score.size());
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return score[size_t(a)] < score[size_t(b)]; });
    std::vector<int64_t> keep(order.begin() + drop, order.end());
    std::sort(keep.begin(), keep.end());
    return keep;
}

// Column norms of a layer's weight seen as rows [N][K]: for each k, sqrt(sum_n W[n][k]^2).
std::vector<double> inputNorms(const LayerWeight& w) {
    const auto W = w.rows();
    std::vector<double> r(size_t(w.K), 0.0);
    for (int64_t n = 0; n < w.N; ++n)
        for (int64_t k = 0; k < w.K; ++k) r[size_t(k)] += double(W[size_t(n * w.K + k)]) * W[size_t(n * w.K + k)];
    for (double& x : r) x = std::sqrt(x);
    return r;
}

namespace {

std::vector<double> outputNorms(const LayerWeight& w) {
    const auto W = w.rows();
    std::vector<double> r(size_t(w.N), 0.0);
    for (int64_t n = 0; n < w.N; ++n)
        for (int64_t k = 0; k < w.K; ++k) r[size_t(n)] += double(W[size_t(n * w.K + k)]) * W[size_t(n * w.K + k)];
    for (double& x : r) x = std::sqrt(x);
    return r;
}

}  // namespace

// Output entries `keep` of a layer's weight (its N axis), in the stored layout.
Tensor sliceOutputs(const LayerWeight& w, const std::vector<int64_t>& keep) { return sliceAxis(w.tensor, w.transposed ? 1 : 0, keep); }
// Input entries `keep` (its K axis).
Tensor sliceInputs(const LayerWeight& w, const std::vector<int64_t>& keep) { return sliceAxis(w.tensor, w.transposed ? 0 : 1, keep); }

bool checkProjection(const Graph& g, int n, std::optional<LayerWeight>& w, std::string& why) {
    const Node& node = g.nodes[size_t(n)];
    if (node.opType != "MatMul" && node.opType != "Gemm") {
        why = describeNode(g, n) + " is not a MatMul or Gemm";
        return false;
    }
    if (node.opType == "Gemm" && node.attrInt("transA", 0) != 0) {
        why = describeNode(g, n) + " has transA=1";
        return false;
    }
    auto lw = layerWeight(g, n);
    if (!lw.weight) {
        why = describeNode(g, n) + ": " + lw.reason;
        return false;
    }
    w = std::move(lw.weight);
    return true;
}

// A Gemm's bias when it is one value per output; nullopt when absent. `ok` false when present
// but not a constant vector of N (or a scalar, which needs no slicing).
const Tensor* gemmBias(const Graph& g, int n, int64_t N, bool& ok) {
    ok = true;
    const Node& node = g.nodes[size_t(n)];
    if (node.opType != "Gemm" || node.inputs.size() < 3 || node.inputs[2] < 0) return nullptr;
    const Tensor* b = constantOf(g, node.inputs[2]);
    if (!b || b->dtype() != DType::F32) {
        ok = false;
        return nullptr;
    }
    if (b->numel() == 1) return nullptr;
    if (b->numel() != N || b->shape().back() != N) ok = false;
    return ok ? b : nullptr;
}

// ---- feed-forward blocks ----

// The constant bias of N values added to a projection's output: its own (Gemm) or a following Add.
void findOutputBias(const Graph& g, int proj, int64_t N, int& node, size_t& input) {
    bool ok = true;
    if (gemmBias(g, proj, N, ok)) {
        node = proj;
        input = 2;
        return;
    }
    if (g.nodes[size_t(proj)].opType == "Gemm" && g.nodes[size_t(proj)].inputs.size() > 2 && g.nodes[size_t(proj)].inputs[2] >= 0) return;
    const int y = g.nodes[size_t(proj)].outputs[0];
    const auto& cs = g.values[size_t(y)].consumers;
    if (cs.size() != 1 || isGraphOutput(g, y) || g.nodes[size_t(cs[0])].opType != "Add") return;
    const Node& a = g.nodes[size_t(cs[0])];
    for (size_t i = 0; i < 2 && i < a.inputs.size(); ++i) {
        const Tensor* t = constantOf(g, a.inputs[i]);
        if (t && t->dtype() == DType::F32 && t->numel() == N && t->shape().back() == N) {
            node = cs[0];
            input = i;
        }
    }
}

namespace {

const std::set<std::string>& unaryOps() {
    static const std::set<std::string> ops = {"Relu", "Sigmoid", "Tanh", "Erf", "Gelu", "Softplus", "Softsign", "Elu", "Selu", "Celu",
                                              "LeakyRelu", "HardSigmoid", "HardSwish", "Mish", "Identity", "Neg", "Abs", "Exp",
                                              "Sqrt", "Dropout", "Clip"};
    return ops;
}

}  // namespace

bool traceFfn(const Graph& g, int up, FfnPlan& plan, std::string& why) {
    std::optional<LayerWeight> w;
    if (!checkProjection(g, up, w, why)) return false;
    plan.up = up;
    plan.upW = *w;
    const int64_t N = plan.upW.N;
    bool biasOk = true;
    if (gemmBias(g, up, N, biasOk)) plan.perNeuron.emplace_back(up, 2);
    if (!biasOk) {
        why = describeNode(g, up) + " has a bias that is not one constant value per output";
        return false;
    }
    const std::string upLabel = describeNode(g, up);
    std::set<int> region = {g.nodes[size_t(up)].outputs[0]};
    std::deque<int> queue(region.begin(), region.end());
    std::set<int> visited, pending;
    while (!queue.empty()) {
        const int v = queue.front();
        queue.pop_front();
        plan.values.push_back(v);
        if (isGraphOutput(g, v)) {
            why = "the hidden neurons of " + upLabel + " reach a graph output";
            return false;
        }
        if (plan.values.size() > 64) {
            why = "the hidden neurons of " + upLabel + " pass through more than 64 element-wise nodes";
            return false;
        }
        for (int c : g.values[size_t(v)].consumers) {
            if (!visited.insert(c).second) continue;
            const Node& n = g.nodes[size_t(c)];
            const std::string label = describeNode(g, c);
            auto markOut = [&] {
                for (int o : n.outputs)
                    if (o >= 0 && region.insert(o).second) queue.push_back(o);
            };
            if (!n.domain.empty()) {
                why = "the hidden neurons of " + upLabel + " reach " + label + ", which is not a standard element-wise operator";
                return false;
            }
            if (n.opType == "Add" || n.opType == "Sub" || n.opType == "Mul" || n.opType == "Div" || n.opType == "Pow" ||
                n.opType == "Max" || n.opType == "Min") {
                // Both sides may come from the block (x * sigmoid(x)): a side not reached yet
                // defers the node until the walk reaches it from that side.
                bool waiting = false;
                std::vector<std::pair<int, size_t>> consts;
                for (size_t i = 0; i < n.inputs.size(); ++i) {
                    const int in = n.inputs[i];
                    if (region.count(in)) continue;
                    const Tensor* t = constantOf(g, in);
                    if (t && t->numel() == 1) continue;
                    if (t && t->dtype() == DType::F32 && !t->shape().empty() && t->shape().back() == N && t->numel() == N) {
                        consts.emplace_back(c, i);
                        continue;
                    }
                    if (t) {
                        why = label + " mixes the hidden neurons of " + upLabel + " with a constant that is neither a scalar nor one value per neuron";
                        return false;
                    }
                    waiting = true;
                }
                if (waiting) {
                    visited.erase(c);
                    pending.insert(c);
                    continue;
                }
                pending.erase(c);
                plan.perNeuron.insert(plan.perNeuron.end(), consts.begin(), consts.end());
                markOut();
            } else if (unaryOps().count(n.opType)) {
                for (size_t i = 1; i < n.inputs.size(); ++i) {
                    const Tensor* t = n.inputs[i] >= 0 ? constantOf(g, n.inputs[i]) : nullptr;
                    if (n.inputs[i] >= 0 && !(t && t->numel() == 1)) {
                        why = label + " has a non-scalar parameter";
                        return false;
                    }
                }
                if (n.opType == "Dropout" && n.outputs.size() > 1 && n.outputs[1] >= 0 && !g.values[size_t(n.outputs[1])].consumers.empty()) {
                    why = label + " has its mask output in use";
                    return false;
                }
                markOut();
            } else if ((n.opType == "MatMul" || n.opType == "Gemm") && n.inputs[0] == v) {
                std::optional<LayerWeight> dw;
                std::string dwhy;
                if (!checkProjection(g, c, dw, dwhy) || dw->K != N) {
                    why = "the hidden neurons of " + upLabel + " feed " + label + ", which " +
                          (dw ? "reads " + std::to_string(dw->K) + " inputs, not " + std::to_string(N) : "cannot be sliced (" + dwhy + ")");
                    return false;
                }
                if (plan.down >= 0 && plan.down != c) {
                    why = "the hidden neurons of " + upLabel + " feed two projections";
                    return false;
                }
                plan.down = c;
                plan.downW = *dw;
                plan.hidden = v;
            } else {
                why = "the hidden neurons of " + upLabel + " reach " + label + ", which is not element-wise";
                return false;
            }
        }
    }
    if (!pending.empty()) {
        why = describeNode(g, *pending.begin()) + " mixes the hidden neurons of " + upLabel + " with a value from outside the block";
        return false;
    }
    if (plan.down < 0) {
        why = "the outputs of " + upLabel + " reach no down-projection";
        return false;
    }
    return true;
}

namespace {

std::string criterionLabel(const CompressStep& s) {
    return s.criterion == PruneCriterion::Weight ? "weight norm" : pruneCriterionName(s.criterion, s.norm);
}

}  // namespace

// ---- attention heads ----

namespace {

std::optional<std::vector<int64_t>> intConstant(const Graph& g, int v) {
    const Tensor* t = constantOf(g, v);
    if (!t || t->shape().size() > 1) return std::nullopt;
    std::vector<int64_t> r;
    if (t->dtype() == DType::I64) r.assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
    else if (t->dtype() == DType::I32)
        for (int64_t i = 0; i < t->numel(); ++i) r.push_back(t->data<int32_t>()[i]);
    else return std::nullopt;
    return r;
}

}  // namespace

// The entries of a Reshape's shape input: a constant, or a Concat of constants (possibly through
// Cast) and run-time pieces of one element each.
std::optional<std::vector<ShapeEntry>> shapeEntries(const Graph& g, int reshape) {
    const Node& r = g.nodes[size_t(reshape)];
    if (r.inputs.size() < 2) return std::nullopt;
    const int sv = r.inputs[1];
    std::vector<ShapeEntry> out;
    if (auto c = intConstant(g, sv)) {
        for (size_t i = 0; i < c->size(); ++i) out.push_back({(*c)[i], reshape, 1, int64_t(i)});
        return out;
    }
    const int p = g.values[size_t(sv)].producer;
    if (p < 0 || g.nodes[size_t(p)].opType != "Concat") return std::nullopt;
    const Node& cat = g.nodes[size_t(p)];
    for (size_t j = 0; j < cat.inputs.size(); ++j) {
        int in = cat.inputs[j];
        std::optional<std::vector<int64_t>> c = intConstant(g, in);
        if (!c) {
            const int cp = g.values[size_t(in)].producer;
            if (cp >= 0 && g.nodes[size_t(cp)].opType == "Cast") c = intConstant(g, g.nodes[size_t(cp)].inputs[0]);
        }
        if (c) {
            for (size_t i = 0; i < c->size(); ++i) out.push_back({(*c)[i], p, j, int64_t(i)});
        } else {
            out.push_back({std::nullopt, p, j, 0});  // assumed one element (a dimension read at run time)
        }
    }
    return out;
}

// Rewrites entry `e` of a shape to `value` (a new constant; the old one may be shared).
Status rewriteShapeEntry(Graph& g, int reshape, const ShapeEntry& e, int64_t value) {
    const Node& owner = g.nodes[size_t(e.owner)];
    if (e.owner != reshape) {
        const int catOut = owner.outputs[0];
        if (g.values[size_t(catOut)].consumers.size() != 1)
            return makeError(ErrorCode::Unsupported, "the shape of " + describeNode(g, reshape) + " is also used elsewhere");
    }
    auto c = intConstant(g, owner.inputs[e.input]);
    if (!c) {
        const int cp = g.values[size_t(owner.inputs[e.input])].producer;
        c = intConstant(g, g.nodes[size_t(cp)].inputs[0]);
    }
    (*c)[size_t(e.index)] = value;
    const std::string base = g.values[size_t(owner.inputs[e.input])].name;
    setInput(g, e.owner, e.input, addWeight(g, (base.empty() ? nodeLabel(g, reshape) + "_shape" : base) + "_pruned", Tensor::fromInt64s({int64_t(c->size())}, *c)));
    return {};
}

namespace {

const std::set<std::string>& attentionOps() {
    static const std::set<std::string> ops = {"Transpose", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "MatMul", "Mul", "Div",
                                              "Add", "Sub", "Softmax", "Where", "Cast", "Identity", "Sqrt", "Dropout"};
    return ops;
}

}  // namespace

bool traceHeads(const Graph& g, int qkv, HeadPlan& plan, std::string& why) {
    std::optional<LayerWeight> w;
    if (!checkProjection(g, qkv, w, why)) return false;
    plan.qkv = qkv;
    plan.qkvW = *w;
    const int64_t N = plan.qkvW.N;
    const std::string label = describeNode(g, qkv);
    bool biasOk = true;
    gemmBias(g, qkv, N, biasOk);
    if (!biasOk) {
        why = label + " has a bias that is not one constant value per output";
        return false;
    }
    int v = g.nodes[size_t(qkv)].outputs[0];
    plan.values.push_back(v);
    auto single = [&](int value) { return g.values[size_t(value)].consumers.size() == 1 && !isGraphOutput(g, value) ? g.values[size_t(value)].consumers[0] : -1; };
    int c = single(v);
    if (c >= 0 && g.nodes[size_t(c)].opType == "Add") {
        const Node& a = g.nodes[size_t(c)];
        const int other = a.inputs[0] == v ? a.inputs[1] : a.inputs[0];
        const Tensor* b = constantOf(g, other);
        if (b && b->dtype() == DType::F32 && b->numel() == N) {
            plan.biasAdd = c;
            v = a.outputs[0];
            plan.values.push_back(v);
            c = single(v);
        }
    }
    if (c < 0 || g.nodes[size_t(c)].opType != "Reshape" || g.nodes[size_t(c)].inputs[0] != v) {
        why = "the outputs of " + label + " do not go (through a bias Add) to one Reshape into heads";
        return false;
    }
    plan.split = c;
    auto e = shapeEntries(g, c);
    if (!e || e->size() < 3 || !(*e)[e->size() - 1].value || !(*e)[e->size() - 2].value || !(*e)[e->size() - 3].value ||
        *(*e)[e->size() - 3].value != 3 || 3 * *(*e)[e->size() - 2].value * *(*e)[e->size() - 1].value != N) {
        why = describeNode(g, c) + " after " + label + " does not split its " + std::to_string(N) + " outputs into [.., 3, heads, dim]";
        return false;
    }
    plan.heads = *(*e)[e->size() - 2].value;
    plan.dim = *(*e)[e->size() - 1].value;
    plan.headEntry = (*e)[e->size() - 2];
    const int64_t width = plan.heads * plan.dim;
    // Everything between the split and the merge: attention arithmetic only, ending in one Reshape
    // to [.., heads * dim] read by the output projection.
    std::set<int> seen = {c};
    std::deque<int> queue = {g.nodes[size_t(c)].outputs[0]};
    while (!queue.empty()) {
        const int x = queue.front();
        queue.pop_front();
        plan.values.push_back(x);
        if (isGraphOutput(g, x)) {
            why = "the heads of " + label + " reach a graph output";
            return false;
        }
        for (int n : g.values[size_t(x)].consumers) {
            if (!seen.insert(n).second) continue;
            if (seen.size() > 64) {
                why = "the heads of " + label + " pass through more than 64 nodes before an output projection";
                return false;
            }
            const Node& node = g.nodes[size_t(n)];
            if (node.opType == "Reshape" && node.domain.empty()) {
                auto me = shapeEntries(g, n);
                if (!me || me->empty() || !me->back().value || *me->back().value != width || (plan.merge >= 0 && plan.merge != n)) {
                    why = describeNode(g, n) + " reshapes the heads of " + label + " in a way head pruning cannot follow";
                    return false;
                }
                plan.merge = n;
                plan.widthEntry = me->back();
                const int y = node.outputs[0];
                plan.values.push_back(y);
                const int o = single(y);
                std::optional<LayerWeight> ow;
                std::string owhy;
                if (o < 0 || g.nodes[size_t(o)].inputs[0] != y || !checkProjection(g, o, ow, owhy) || ow->K != width) {
                    why = "the merged heads of " + label + " after " + describeNode(g, n) + " do not feed one output projection of " +
                          std::to_string(width) + " inputs";
                    return false;
                }
                plan.out = o;
                plan.outW = *ow;
                continue;
            }
            if (!node.domain.empty() || !attentionOps().count(node.opType)) {
                why = "the heads of " + label + " reach " + describeNode(g, n) + ", which head pruning cannot follow";
                return false;
            }
            for (int o : node.outputs)
                if (o >= 0) queue.push_back(o);
        }
    }
    if (plan.merge < 0) {
        why = "the heads of " + label + " are never merged back into one output projection";
        return false;
    }
    return true;
}

// Indices of the projection outputs / output-projection inputs that belong to the kept heads.
std::vector<int64_t> headColumns(const HeadPlan& p, const std::vector<int64_t>& heads, int parts) {
    std::vector<int64_t> cols;
    for (int part = 0; part < parts; ++part)
        for (int64_t h : heads)
            for (int64_t d = 0; d < p.dim; ++d) cols.push_back(part * p.heads * p.dim + h * p.dim + d);
    return cols;
}

namespace {

Result<std::shared_ptr<const Dataset>> needData(const CompressStep& s, const std::shared_ptr<const Dataset>& data) {
    if (s.criterion != PruneCriterion::Weight && !data)
        return makeError(ErrorCode::Invalid, std::string("the ") + pruneCriterionName(s.criterion, s.norm) + " criterion needs calibration data");
    return data;
}

}  // namespace

Status pruneFfn(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out) {
    BY_TRY(needData(s, data));
    if (s.criterion == PruneCriterion::Beta) return makeError(ErrorCode::Unsupported, "the beta criterion ranks Conv filters only; use weight or activation");
    std::string firstWhy;
    int matched = 0;
    for (int n : nodes) {
        BY_TRY(g.rebuildLinks());
        FfnPlan plan;
        std::string why;
        if (!traceFfn(g, n, plan, why)) {
            if (named) return makeError(ErrorCode::Unsupported, "no feed-forward block starts at " + describeNode(g, n) + ": " + why);
            if (firstWhy.empty()) firstWhy = why;
            continue;
        }
        ++matched;
        LayerReport row = newRow(g, n, s);
        const int64_t N = plan.upW.N;
        const int64_t drop = std::min<int64_t>(N - 1, int64_t(std::floor(s.sparsity * double(N))));
        if (drop <= 0) {
            row.applied = false;
            row.note = "skipped: removing " + std::to_string(s.sparsity) + " of " + std::to_string(N) + " neurons removes none";
            out.push_back(row);
            continue;
        }
        const auto downNorms = inputNorms(plan.downW);  // ||W2[:, j]||
        std::vector<double> score(static_cast<size_t>(N), 0.0);
        if (s.criterion == PruneCriterion::Weight) {
            const auto upNorms = outputNorms(plan.upW);  // ||W1[j, :]||
            for (int64_t j = 0; j < N; ++j) score[size_t(j)] = upNorms[size_t(j)] * downNorms[size_t(j)];
        }
        std::map<int, ChannelStats> stats;
        findOutputBias(g, plan.down, plan.downW.N, plan.biasNode, plan.biasInput);
        if (s.criterion != PruneCriterion::Weight) {
            BY_TRY(collectChannelStats(g, opset, s.activations, *data, {plan.hidden}, -1, stats));
            const ChannelStats& st = stats[plan.hidden];
            if (int64_t(st.absSum.size()) != N)
                return makeError(ErrorCode::Internal, "calibration saw no " + std::to_string(N) + "-neuron activations at " + describeNode(g, plan.down));
            // With a bias to fold the neuron's mean into, removing it only loses its variation.
            for (int64_t j = 0; j < N; ++j)
                score[size_t(j)] = (plan.biasNode >= 0 ? st.stddev(size_t(j)) : st.rms(size_t(j))) * downNorms[size_t(j)];
        }
        const auto keep = keepHighest(score, drop);
        Replacer replace{g};
        if (s.criterion != PruneCriterion::Weight && plan.biasNode >= 0) {
            // bias += sum over removed j of mean(a_j) * W2[:, j]
            const ChannelStats& st = stats[plan.hidden];
            const auto W2 = plan.downW.rows();  // [N2][N]
            std::vector<char> kept(static_cast<size_t>(N), 0);
            for (int64_t k : keep) kept[size_t(k)] = 1;
            const Tensor old = *constantOf(g, g.nodes[size_t(plan.biasNode)].inputs[plan.biasInput]);
            auto b = old.toFloats();
            if (!b) return b.error();
            for (int64_t o = 0; o < plan.downW.N; ++o)
                for (int64_t j = 0; j < N; ++j)
                    if (!kept[size_t(j)]) (*b)[size_t(o)] += float(st.mean(size_t(j)) * W2[size_t(o * N + j)]);
            replace(plan.biasNode, plan.biasInput, old, Tensor::fromFloats(old.shape(), *b), "_compensated");
            replace.before -= old.numel();  // same size: not a change in parameters
            replace.after -= old.numel();
        }
        replace(plan.up, 1, plan.upW.tensor, sliceOutputs(plan.upW, keep), "_pruned");
        for (const auto& [node, input] : plan.perNeuron) {
            const Tensor t = *constantOf(g, g.nodes[size_t(node)].inputs[input]);
            replace(node, input, t, sliceAxis(t, -1, keep), "_pruned");
        }
        replace(plan.down, 1, plan.downW.tensor, sliceInputs(plan.downW, keep), "_inputs_pruned");
        for (int v : plan.values) g.values[size_t(v)].shape.reset();
        row.paramsBefore = replace.before;
        row.paramsAfter = replace.after;
        row.bytesBefore = replace.before * 4;
        row.bytesAfter = replace.after * 4;
        double removed = 0, total = 0;
        for (int64_t j = 0; j < N; ++j) total += score[size_t(j)] * score[size_t(j)];
        std::vector<char> kept(size_t(N), 0);
        for (int64_t k : keep) kept[size_t(k)] = 1;
        for (int64_t j = 0; j < N; ++j)
            if (!kept[size_t(j)]) removed += score[size_t(j)] * score[size_t(j)];
        row.relError = total > 0 ? std::sqrt(removed / total) : 0;  // share of the score removed
        row.detail = std::to_string(keep.size()) + "/" + std::to_string(N) + " neurons (" + criterionLabel(s) + ")";
        row.note = "also sliced: " + nodeLabel(g, plan.down);
        out.push_back(row);
    }
    if (matched == 0)
        return makeError(ErrorCode::Unsupported, "the model has no feed-forward block (MatMul/Gemm -> element-wise -> MatMul/Gemm) to prune" +
                                                     (firstWhy.empty() ? std::string() : " (" + firstWhy + ")"));
    return {};
}

Status pruneHeads(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                  std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out) {
    BY_TRY(needData(s, data));
    if (s.criterion == PruneCriterion::Beta) return makeError(ErrorCode::Unsupported, "the beta criterion ranks Conv filters only; use weight or activation");
    std::string firstWhy;
    int matched = 0;
    for (int n : nodes) {
        BY_TRY(g.rebuildLinks());
        HeadPlan plan;
        std::string why;
        if (!traceHeads(g, n, plan, why)) {
            if (named) return makeError(ErrorCode::Unsupported, "no attention block starts at " + describeNode(g, n) + ": " + why);
            if (firstWhy.empty()) firstWhy = why;
            continue;
        }
        ++matched;
        LayerReport row = newRow(g, n, s);
        const int64_t H = plan.heads, D = plan.dim;
        const int64_t drop = std::min<int64_t>(H - 1, int64_t(std::floor(s.sparsity * double(H))));
        if (drop <= 0) {
            row.applied = false;
            row.note = "skipped: removing " + std::to_string(s.sparsity) + " of " + std::to_string(H) + " heads removes none";
            out.push_back(row);
            continue;
        }
        const auto outNorms = inputNorms(plan.outW);  // per output-projection input
        std::vector<double> score(size_t(H), 0.0);
        if (s.criterion == PruneCriterion::Weight) {
            const auto inNorms = outputNorms(plan.qkvW);
            for (int64_t h = 0; h < H; ++h) {
                double a = 0, b = 0;
                for (int64_t col : headColumns(plan, {h}, 3)) a += inNorms[size_t(col)] * inNorms[size_t(col)];
                for (int64_t col : headColumns(plan, {h}, 1)) b += outNorms[size_t(col)] * outNorms[size_t(col)];
                score[size_t(h)] = std::sqrt(a * b);
            }
        } else {
            const int merged = g.nodes[size_t(plan.merge)].outputs[0];
            std::map<int, ChannelStats> stats;
            BY_TRY(collectChannelStats(g, opset, s.activations, *data, {merged}, -1, stats));
            const ChannelStats& st = stats[merged];
            if (int64_t(st.absSum.size()) != H * D)
                return makeError(ErrorCode::Internal, "calibration saw no merged heads at " + describeNode(g, plan.merge));
            // Mean |output| of the head times how strongly the output projection reads it.
            for (int64_t h = 0; h < H; ++h) {
                double a = 0, b = 0;
                for (int64_t col : headColumns(plan, {h}, 1)) {
                    a += st.meanAbs(size_t(col));
                    b += outNorms[size_t(col)] * outNorms[size_t(col)];
                }
                score[size_t(h)] = a / double(D) * std::sqrt(b);
            }
        }
        const auto keep = keepHighest(score, drop);
        const int64_t kept = int64_t(keep.size());
        Replacer replace{g};
        replace(plan.qkv, 1, plan.qkvW.tensor, sliceOutputs(plan.qkvW, headColumns(plan, keep, 3)), "_pruned");
        const auto cols = headColumns(plan, keep, 3);
        bool biasOk = true;
        if (const Tensor* b = gemmBias(g, plan.qkv, plan.qkvW.N, biasOk)) {
            const Tensor t = *b;
            replace(plan.qkv, 2, t, sliceAxis(t, -1, cols), "_pruned");
        }
        if (plan.biasAdd >= 0) {
            const Node& a = g.nodes[size_t(plan.biasAdd)];
            const size_t bi = constantOf(g, a.inputs[1]) ? 1 : 0;
            const Tensor t = *constantOf(g, a.inputs[bi]);
            replace(plan.biasAdd, bi, t, sliceAxis(t, -1, cols), "_pruned");
        }
        replace(plan.out, 1, plan.outW.tensor, sliceInputs(plan.outW, headColumns(plan, keep, 1)), "_inputs_pruned");
        BY_TRY(rewriteShapeEntry(g, plan.split, plan.headEntry, kept));
        BY_TRY(rewriteShapeEntry(g, plan.merge, plan.widthEntry, kept * D));
        for (int v : plan.values) g.values[size_t(v)].shape.reset();
        row.paramsBefore = replace.before;
        row.paramsAfter = replace.after;
        row.bytesBefore = replace.before * 4;
        row.bytesAfter = replace.after * 4;
        double removed = 0, total = 0;
        std::vector<char> isKept(size_t(H), 0);
        for (int64_t h : keep) isKept[size_t(h)] = 1;
        for (int64_t h = 0; h < H; ++h) {
            total += score[size_t(h)] * score[size_t(h)];
            if (!isKept[size_t(h)]) removed += score[size_t(h)] * score[size_t(h)];
        }
        row.relError = total > 0 ? std::sqrt(removed / total) : 0;
        row.detail = std::to_string(kept) + "/" + std::to_string(H) + " heads of " + std::to_string(D) + " (" + criterionLabel(s) + ")";
        row.note = "also sliced: " + nodeLabel(g, plan.out);
        out.push_back(row);
    }
    if (matched == 0)
        return makeError(ErrorCode::Unsupported, "the model has no attention block head pruning can slice" +
                                                     (firstWhy.empty() ? std::string() : " (" + firstWhy + ")"));
    return {};
}

}  // namespace by::compression
