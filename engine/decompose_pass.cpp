// Modular decomposition of transformer module pairs on calibration data, after MoDeGPT: instead of
// compressing one matrix at a time, each pair of matrices that meet in an inner dimension (the
// hidden neurons of a feed-forward block) is shrunk together so that the pair's output on the
// calibration data changes as little as possible.
//
// Type I, feed-forward blocks (Nystrom): with h the D hidden activations read by the
// down-projection (x -> up -> element-wise -> h -> down -> y = h W + b), keep k of the D neurons and
// refit W on them. With the calibration rows H and their centred second moments
// A = E[(h - m)(h - m)^T] (uncentred when the down-projection has no bias to take the means):
//   - the kept set S is the k largest ridge leverage scores diag(A (A + lambda I)^-1), with
//     lambda = 1e-2 * trace(A) / D: the neurons that carry the most independent directions of
//     the activations (a neuron that is a combination of others scores low);
//   - W' = (A_SS + mu I)^-1 A_S: W minimises ||(H - m) W - (H_S - m_S) W'||_F over the calibration
//     rows (mu = 1e-6 * mean(diag A_SS) only keeps dead neurons from making A_SS singular), and
//     b' = b + m W - m_S W' puts the means back. The removed neurons' average contribution moves
//     into the kept neurons' weights, which plain slicing (prune_ffn) throws away.
// The up-projection keeps the columns (and bias, per-neuron constants) of S; the down-projection
// becomes k x N. Exact when the removed neurons are linear combinations of the kept ones.
//
// Types II (query-key, CR decomposition) and III (value-output, SVD) work on fused Q/K/V attention
// blocks, which they first split into separate Q, K and V projections; see the attention section.
#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "engine/compression_internal.h"
#include "engine/structured_blocks.h"

namespace by::compression {

namespace {

std::string fixed(double x, int digits = 4) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", digits, x);
    return b;
}

// Sums of the hidden activations and of their outer products over the calibration rows.
struct HiddenMoments {
    int64_t D = 0, rows = 0;
    Eigen::MatrixXd gram;  // sum of h h^T
    Eigen::VectorXd sum;   // sum of h
};

Status collectHidden(const Graph& g, int64_t opset, const ActivationCalibration& a, const Dataset& data, int value, HiddenMoments& m) {
    m.gram = Eigen::MatrixXd::Zero(m.D, m.D);
    m.sum = Eigen::VectorXd::Zero(m.D);
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    return forEachCalibrationActivation(g, opset, a, data, {value}, [&](int, const Tensor& t) {
        if (t.dtype() != DType::F32 || t.shape().empty() || t.shape().back() != m.D) return;
        const int64_t rows = t.numel() / m.D;
        const Eigen::Map<const RowMajor> X(t.data<float>(), rows, m.D);
        const Eigen::MatrixXd Xd = X.cast<double>();
        m.gram.selfadjointView<Eigen::Lower>().rankUpdate(Xd.transpose());
        m.sum += Xd.colwise().sum().transpose();
        m.rows += rows;
    });
}

// ||H W - H_S W'||^2 per row, for the moments A: trace(Delta^T A Delta) with Delta = W - P_S W'.
double residual(const Eigen::MatrixXd& A, const Eigen::MatrixXd& W, const std::vector<int64_t>& keep, const Eigen::MatrixXd& Wk) {
    Eigen::MatrixXd delta = W;
    for (size_t i = 0; i < keep.size(); ++i) delta.row(keep[i]) -= Wk.row(Eigen::Index(i));
    return std::max(0.0, (delta.transpose() * A * delta).trace());
}

Status nystromFfn(Graph& g, const CompressStep& s, FfnPlan& plan, int64_t opset, const Dataset& data, LayerReport& row) {
    const int64_t D = plan.upW.N, N = plan.downW.N;
    const int64_t drop = std::min<int64_t>(D - 1, int64_t(std::floor(s.sparsity * double(D))));
    if (drop <= 0) {
        row.applied = false;
        row.note = "skipped: removing " + fixed(s.sparsity, 3) + " of " + std::to_string(D) + " neurons removes none";
        return {};
    }
    findOutputBias(g, plan.down, N, plan.biasNode, plan.biasInput);
    HiddenMoments mom;
    mom.D = D;
    BY_TRY(collectHidden(g, opset, s.activations, data, plan.hidden, mom));
    if (mom.rows <= 0)
        return makeError(ErrorCode::Internal, "calibration saw no " + std::to_string(D) + "-neuron activations at " + describeNode(g, plan.down));
    const Eigen::MatrixXd C = Eigen::MatrixXd(mom.gram.selfadjointView<Eigen::Lower>()) / double(mom.rows);
    const Eigen::VectorXd mean = mom.sum / double(mom.rows);
    const bool withBias = plan.biasNode >= 0;
    const Eigen::MatrixXd A = withBias ? Eigen::MatrixXd(C - mean * mean.transpose()) : C;

    // Ridge leverage scores: diag((A + lambda I)^-1 A) (A and its resolvent commute).
    const double meanDiag = std::max(A.trace() / double(D), 0.0);
    if (!(meanDiag > 0) || !std::isfinite(meanDiag))
        return makeError(ErrorCode::Invalid, "the hidden neurons of " + describeNode(g, plan.up) + " do not vary on the calibration data");
    Eigen::MatrixXd ridge = A;
    ridge.diagonal().array() += 1e-2 * meanDiag;
    const Eigen::LDLT<Eigen::MatrixXd> ridgeSolve(ridge);
    const Eigen::MatrixXd lev = ridgeSolve.solve(A);
    std::vector<double> score(static_cast<size_t>(D));
    for (int64_t j = 0; j < D; ++j) score[size_t(j)] = lev(j, j);
    const auto keep = keepHighest(score, drop);
    const int64_t k = int64_t(keep.size());

    // Least-squares refit of the down-projection on the kept neurons.
    const auto Wrows = plan.downW.rows();  // [N][D]
    Eigen::MatrixXd W(D, N);               // y = h W
    for (int64_t o = 0; o < N; ++o)
        for (int64_t j = 0; j < D; ++j) W(j, o) = Wrows[size_t(o * D + j)];
    Eigen::MatrixXd Ass(k, k), Asd(k, D);
    for (int64_t a = 0; a < k; ++a) {
        Asd.row(a) = A.row(keep[size_t(a)]);
        for (int64_t b = 0; b < k; ++b) Ass(a, b) = A(keep[size_t(a)], keep[size_t(b)]);
    }
    const double mu = 1e-6 * std::max(Ass.diagonal().mean(), 1e-30);
    Ass.diagonal().array() += mu;
    const Eigen::MatrixXd Wk = Ass.ldlt().solve(Asd * W);  // [k][N]

    // Report: the block's output error on the calibration rows, fitted and as plain slicing of the
    // same neurons (removed means folded into the bias), relative to the output's size (no bias).
    const double power = (W.transpose() * C * W).trace();
    Eigen::MatrixXd sliced(k, N);
    for (int64_t a = 0; a < k; ++a) sliced.row(a) = W.row(keep[size_t(a)]);
    const double fitErr = power > 0 ? std::sqrt(residual(A, W, keep, Wk) / power) : 0.0;
    const double sliceErr = power > 0 ? std::sqrt(residual(A, W, keep, sliced) / power) : 0.0;

    Replacer replace{g};
    if (withBias) {
        const Tensor old = *constantOf(g, g.nodes[size_t(plan.biasNode)].inputs[plan.biasInput]);
        auto b = old.toFloats();
        if (!b) return b.error();
        Eigen::VectorXd meanKept(k);
        for (int64_t a = 0; a < k; ++a) meanKept(a) = mean(keep[size_t(a)]);
        const Eigen::VectorXd shift = W.transpose() * mean - Wk.transpose() * meanKept;
        const bool perOutput = int64_t(b->size()) == N;
        for (int64_t o = 0; o < N; ++o) (*b)[size_t(perOutput ? o : 0)] += float(shift(o));
        replace(plan.biasNode, plan.biasInput, old, Tensor::fromFloats(old.shape(), *b), "_refit");
        replace.before -= old.numel();  // same size: not a change in parameters
        replace.after -= old.numel();
    }
    replace(plan.up, 1, plan.upW.tensor, sliceOutputs(plan.upW, keep), "_nystrom");
    for (const auto& [node, input] : plan.perNeuron) {
        const Tensor t = *constantOf(g, g.nodes[size_t(node)].inputs[input]);
        replace(node, input, t, sliceAxis(t, -1, keep), "_nystrom");
    }
    std::vector<float> stored(size_t(k * N));
    for (int64_t a = 0; a < k; ++a)
        for (int64_t o = 0; o < N; ++o) {
            // MatMul / Gemm transB=0 store [K, N]; Gemm transB=1 stores [N, K].
            const size_t at = plan.downW.transposed ? size_t(a * N + o) : size_t(o * k + a);
            stored[at] = float(Wk(a, o));
        }
    const Shape downShape = plan.downW.transposed ? Shape{k, N} : Shape{N, k};
    replace(plan.down, 1, plan.downW.tensor, Tensor::fromFloats(downShape, stored), "_nystrom");
    for (int v : plan.values) g.values[size_t(v)].shape.reset();

    row.paramsBefore = replace.before;
    row.paramsAfter = replace.after;
    row.bytesBefore = replace.before * 4;
    row.bytesAfter = replace.after * 4;
    row.relError = fitErr;
    row.detail = "nystrom " + std::to_string(k) + "/" + std::to_string(D) + " neurons";
    row.note = "refitted: " + nodeLabel(g, plan.down) + "; output error on " + std::to_string(mom.rows) + " calibration rows " +
               fixed(fitErr) + " (slicing the same neurons: " + fixed(sliceErr) + ")";
    return {};
}

}  // namespace

// ---- attention blocks (types II and III) ----
//
// A fused projection reshaped to [.., 3, heads, dim] gives Q, K and V one width. The block is
// first split: three projections (MatMul + bias Add) from the same input, each reshaped to
// [.., 1, heads, dim_p] and put through a copy of the Transpose that followed the fused Reshape,
// write the values the Split / Slice nodes used to separate, so everything downstream (the
// score MatMul, the softmax scale of 1/sqrt(dim), the merge Reshape) reads them unchanged. With
// dim_p = dim and the original columns this computes exactly what the fused block did.
//
// Type II (query-key, CR): the scores of a head are sum_i q_i k_i over its dim entries; entry i
// is kept or removed for Q and K together. Its score is ||C_q^1/2 e_i|| * ||C_k^1/2 e_i|| with
// C_q, C_k the head's q and k second moments on the calibration rows; since
// ||C^1/2 e_i||^2 = e_i^T C e_i = C_ii, these are the root mean squares of q_i and k_i, and no
// matrix root is needed. The Q and K columns (and biases) of the kept entries stay.
//
// Type III (value-output, SVD): head h adds softmax(..) (x W_v^h + b_v^h) W_o^h to the output.
// The product M = W_v^h W_o^h (input width x output width, rank <= dim) is factored data-aware:
// with G = E[x x^T] = L L^T on the calibration rows, the truncated SVD of L^T M = U S V^T gives
// the M' of rank k minimising ||X (M - M')||_F, written as V' = L^-T U_k S_k^1/2 (new V columns)
// and O' = S_k^1/2 V_k^T (new output-projection rows). The softmax weights of a row sum to one,
// so b_v^h only adds the constant b_v^h W_o^h: it moves into the output projection's bias (or,
// without one, onto the kept directions).

namespace {

std::optional<std::vector<int64_t>> intsOf(const Graph& g, int v) {
    if (v < 0) return std::nullopt;
    const Tensor* t = constantOf(g, v);
    if (!t || t->shape().size() > 1) return std::nullopt;
    std::vector<int64_t> r;
    if (t->dtype() == DType::I64) r.assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
    else if (t->dtype() == DType::I32)
        for (int64_t i = 0; i < t->numel(); ++i) r.push_back(t->data<int32_t>()[i]);
    else return std::nullopt;
    return r;
}

// Where the three parts come apart: for each part, the value holding it with the size-3 axis kept
// as 1 ([.., 1, ..] after the Transpose, if any).
struct QkvSplit {
    int transpose = -1;           // the Transpose after the fused Reshape (-1: none)
    std::vector<int64_t> perm;    // its permutation
    std::vector<int> separators;  // Split / Slice nodes
    int partValue[3] = {-1, -1, -1};
};

bool traceQkvSplit(const Graph& g, const HeadPlan& plan, int64_t rank, QkvSplit& s, std::string& why) {
    const std::string label = describeNode(g, plan.qkv);
    int v = g.nodes[size_t(plan.split)].outputs[0];
    int64_t axis = rank - 3;  // the size-3 axis
    const auto& cs = g.values[size_t(v)].consumers;
    if (cs.size() == 1 && g.nodes[size_t(cs[0])].opType == "Transpose") {
        const Node& t = g.nodes[size_t(cs[0])];
        s.transpose = cs[0];
        s.perm = t.attrInts("perm");
        if (int64_t(s.perm.size()) != rank) {
            why = describeNode(g, cs[0]) + " after the heads of " + label + " has no explicit permutation of " + std::to_string(rank) + " axes";
            return false;
        }
        axis = int64_t(std::find(s.perm.begin(), s.perm.end(), rank - 3) - s.perm.begin());
        v = t.outputs[0];
    }
    for (int c : g.values[size_t(v)].consumers) {
        const Node& n = g.nodes[size_t(c)];
        const std::string what = describeNode(g, c);
        if (n.opType == "Split" && n.outputs.size() == 3) {
            int64_t ax = n.attrInt("axis", 0);
            if (ax < 0) ax += rank;
            std::optional<std::vector<int64_t>> sizes = n.inputs.size() > 1 && n.inputs[1] >= 0 ? intsOf(g, n.inputs[1]) : std::nullopt;
            if (!sizes && n.attr("split")) sizes = n.attrInts("split");
            const bool ones = !sizes || *sizes == std::vector<int64_t>{1, 1, 1};
            if (ax != axis || !ones) {
                why = what + " does not separate Q, K and V of " + label;
                return false;
            }
            s.separators.push_back(c);
            for (int p = 0; p < 3; ++p) s.partValue[p] = n.outputs[size_t(p)];
            continue;
        }
        if (n.opType == "Slice") {
            std::vector<int64_t> starts, ends, axes, steps;
            if (n.attr("starts")) {
                starts = n.attrInts("starts");
                ends = n.attrInts("ends");
                axes = n.attr("axes") ? n.attrInts("axes") : std::vector<int64_t>{};
            } else {
                auto in = [&](size_t i) { return i < n.inputs.size() && n.inputs[i] >= 0 ? intsOf(g, n.inputs[i]) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{}); };
                auto a = in(1), b = in(2), x = in(3), st = in(4);
                if (!a || !b || !x || !st) {
                    why = what + " after the heads of " + label + " slices with bounds computed at run time";
                    return false;
                }
                starts = *a, ends = *b, axes = *x, steps = *st;
            }
            if (axes.empty())
                for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
            const bool unitSteps = std::all_of(steps.begin(), steps.end(), [](int64_t x) { return x == 1; });
            int64_t ax = axes.size() == 1 ? axes[0] : -1;
            if (ax < 0 && axes.size() == 1) ax += rank;
            int64_t p = starts.size() == 1 ? starts[0] : -1;
            if (p < 0 && starts.size() == 1) p += 3;
            if (ax != axis || starts.size() != 1 || ends.size() != 1 || !unitSteps || p < 0 || p > 2 || !(ends[0] == p + 1 || (p == 2 && ends[0] > 3)) ||
                s.partValue[p] >= 0) {
                why = what + " does not take one of Q, K and V of " + label;
                return false;
            }
            s.separators.push_back(c);
            s.partValue[p] = n.outputs[0];
            continue;
        }
        why = "the heads of " + label + " reach " + what + ", which does not separate Q, K and V";
        return false;
    }
    for (int p = 0; p < 3; ++p)
        if (s.partValue[p] < 0) {
            why = "part " + std::to_string(p) + " of Q, K and V of " + label + " is never taken out";
            return false;
        }
    return true;
}

// One attention block to split, with what the calibration rows say about it.
struct AttentionBlock {
    HeadPlan plan;
    QkvSplit split;
    std::vector<ShapeEntry> shape;  // of the fused Reshape
    int input = -1, fused = -1;     // the projection's input; its output after the bias
    std::vector<float> qkvRows;     // [3HD][K]
    std::vector<float> bias;        // 3HD values, empty when none
    int biasNode = -1;              // the node holding it (the Gemm or the Add)
    size_t biasInput = 0;
    // Calibration: sums of the squared projection outputs, of x x^T, and the row counts.
    std::vector<double> sq;
    Eigen::MatrixXd gram;
    int64_t sqRows = 0, gramRows = 0;
};

bool planAttention(const Graph& g, int n, AttentionBlock& b, std::string& why) {
    if (!traceHeads(g, n, b.plan, why)) return false;
    const Node& node = g.nodes[size_t(n)];
    if (node.opType == "Gemm" && (node.attrFloat("alpha", 1.0) != 1.0 || node.attrFloat("beta", 1.0) != 1.0)) {
        why = describeNode(g, n) + " scales its product or bias (alpha/beta), which the split does not carry over";
        return false;
    }
    auto e = shapeEntries(g, b.plan.split);
    b.shape = *e;
    if (!traceQkvSplit(g, b.plan, int64_t(b.shape.size()), b.split, why)) return false;
    b.input = node.inputs[0];
    b.qkvRows = b.plan.qkvW.rows();
    const int64_t N = b.plan.qkvW.N;
    bool ok = true;
    if (const Tensor* t = gemmBias(g, n, N, ok)) {
        b.bias = *t->toFloats();
        b.biasNode = n;
        b.biasInput = 2;
    } else if (b.plan.biasAdd >= 0) {
        const Node& a = g.nodes[size_t(b.plan.biasAdd)];
        b.biasInput = constantOf(g, a.inputs[1]) ? 1 : 0;
        b.bias = *constantOf(g, a.inputs[b.biasInput])->toFloats();
        b.biasNode = b.plan.biasAdd;
    } else if (node.opType == "Gemm" && node.inputs.size() > 2 && node.inputs[2] >= 0) {
        const Tensor* t = constantOf(g, node.inputs[2]);  // a scalar bias
        if (t && t->numel() == 1) b.bias.assign(size_t(N), (*t->toFloats())[0]);
    }
    b.fused = b.plan.biasAdd >= 0 ? g.nodes[size_t(b.plan.biasAdd)].outputs[0] : node.outputs[0];
    return true;
}

Status calibrateAttention(const Graph& g, int64_t opset, const ActivationCalibration& a, const Dataset& data, std::vector<AttentionBlock>& blocks) {
    std::map<int, std::vector<std::pair<size_t, bool>>> wanted;  // value -> (block, is the input)
    for (size_t i = 0; i < blocks.size(); ++i) {
        AttentionBlock& b = blocks[i];
        const int64_t K = b.plan.qkvW.K, N = b.plan.qkvW.N;
        b.sq.assign(size_t(N), 0.0);
        b.gram = Eigen::MatrixXd::Zero(K, K);
        wanted[b.input].emplace_back(i, true);
        wanted[b.fused].emplace_back(i, false);
    }
    std::set<int> ids;
    for (const auto& [v, _] : wanted) ids.insert(v);
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    return forEachCalibrationActivation(g, opset, a, data, ids, [&](int v, const Tensor& t) {
        if (t.dtype() != DType::F32 || t.shape().empty()) return;
        for (const auto& [i, isInput] : wanted[v]) {
            AttentionBlock& b = blocks[i];
            const int64_t W = isInput ? b.plan.qkvW.K : b.plan.qkvW.N;
            if (t.shape().back() != W) continue;
            const int64_t rows = t.numel() / W;
            const Eigen::Map<const RowMajor> X(t.data<float>(), rows, W);
            if (isInput) {
                const Eigen::MatrixXd Xd = X.cast<double>();
                b.gram.selfadjointView<Eigen::Lower>().rankUpdate(Xd.transpose());
                b.gramRows += rows;
            } else {
                const Eigen::VectorXd s = X.cast<double>().array().square().colwise().sum().transpose();
                for (int64_t c = 0; c < W; ++c) b.sq[size_t(c)] += s(c);
                b.sqRows += rows;
            }
        }
    });
}

// A new node appended to the graph, writing `out` (a new value when -1); returns the output.
int appendNode(Graph& g, const std::string& op, const std::string& name, std::vector<int> inputs, int out = -1) {
    if (out < 0) {
        Value v;
        v.name = freshName(g, name + "_out");
        v.dtype = DType::F32;
        out = g.addValue(v);
    }
    Node n;
    n.name = freshName(g, name);
    n.opType = op;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    g.addNode(std::move(n));
    return out;
}

// finalizeGraph drops Constant nodes nothing reads: turning a replaced node into one removes it
// there while the node indices the pass is iterating over stay valid.
void retireNode(Graph& g, int n) {
    Node& node = g.nodes[size_t(n)];
    node.opType = "Constant";
    node.domain.clear();
    node.inputs.clear();
    node.outputs.clear();
    node.attributes.clear();
}

// The fused Reshape's shape with the size-3 entry set to 1 and the last to `dim`: a new constant,
// or a new Concat of the old pieces with the changed constants replaced.
int partShape(Graph& g, const AttentionBlock& b, int64_t dim) {
    const size_t R = b.shape.size();
    if (b.shape[R - 1].owner == b.plan.split) {
        std::vector<int64_t> s;
        for (const auto& e : b.shape) s.push_back(*e.value);
        s[R - 3] = 1;
        s[R - 1] = dim;
        return addWeight(g, nodeLabel(g, b.plan.split) + "_shape", Tensor::fromInt64s({int64_t(R)}, s));
    }
    const int cat = b.shape[R - 1].owner;
    std::vector<int> inputs = g.nodes[size_t(cat)].inputs;
    std::map<size_t, std::vector<int64_t>> changed;
    for (const auto& [entry, value] : {std::pair{R - 3, int64_t(1)}, std::pair{R - 1, dim}}) {
        const ShapeEntry& e = b.shape[entry];
        if (!changed.count(e.input)) {
            auto c = intsOf(g, inputs[e.input]);
            if (!c) c = intsOf(g, g.nodes[size_t(g.values[size_t(inputs[e.input])].producer)].inputs[0]);  // through a Cast
            changed[e.input] = *c;
        }
        changed[e.input][size_t(e.index)] = value;
    }
    for (const auto& [i, c] : changed) inputs[i] = addWeight(g, nodeLabel(g, b.plan.split) + "_shape_part", Tensor::fromInt64s({int64_t(c.size())}, c));
    const int out = appendNode(g, "Concat", nodeLabel(g, cat) + "_part", inputs);
    g.nodes.back().attributes = g.nodes[size_t(cat)].attributes;
    return out;
}

}  // namespace

namespace {

// Retires `n` and then every node that only fed it (the fused block's shape arithmetic).
void retireWithInputs(Graph& g, int n) {
    std::vector<int> work = {n};
    while (!work.empty()) {
        const int x = work.back();
        work.pop_back();
        const std::vector<int> inputs = g.nodes[size_t(x)].inputs;
        retireNode(g, x);
        for (int v : inputs) {
            if (v < 0) continue;
            auto& cs = g.values[size_t(v)].consumers;
            cs.erase(std::remove(cs.begin(), cs.end(), x), cs.end());
            const int p = g.values[size_t(v)].producer;
            if (p < 0 || !g.nodes[size_t(p)].domain.empty() || g.nodes[size_t(p)].opType == "Constant") continue;
            bool dead = true;
            for (int o : g.nodes[size_t(p)].outputs)
                if (o >= 0 && (!g.values[size_t(o)].consumers.empty() || isGraphOutput(g, o))) dead = false;
            if (dead && std::find(work.begin(), work.end(), p) == work.end()) work.push_back(p);
        }
    }
}

// Columns of the fused projection for part `part`: per head, its kept entries.
std::vector<int64_t> partColumns(const HeadPlan& p, int part, const std::vector<std::vector<int64_t>>& kept) {
    std::vector<int64_t> cols;
    for (int64_t h = 0; h < p.heads; ++h)
        for (int64_t d : kept[size_t(h)]) cols.push_back(part * p.heads * p.dim + h * p.dim + d);
    return cols;
}

Status splitAttention(Graph& g, const CompressStep& s, AttentionBlock& b, bool qk, bool vo, std::vector<LayerReport>& out) {
    BY_TRY(g.rebuildLinks());
    const HeadPlan& p = b.plan;
    const int64_t H = p.heads, D = p.dim, K = p.qkvW.K, HD = H * D;
    const int64_t k = std::clamp<int64_t>(std::llround((1.0 - s.sparsity) * double(D)), 1, D);
    const int64_t kq = qk ? k : D, kv = vo ? k : D;
    const std::string label = nodeLabel(g, p.qkv);
    LayerReport qkRow = newRow(g, p.qkv, s);  // before the fused projection is retired
    const bool hasBias = !b.bias.empty();
    if (b.sqRows <= 0 || b.gramRows <= 0)
        return makeError(ErrorCode::Internal, "calibration saw no rows of the attention block at " + describeNode(g, p.qkv));

    // Type II: the query/key entries kept per head.
    std::vector<std::vector<int64_t>> keepQk(static_cast<size_t>(H)), all(static_cast<size_t>(H));
    double qkTotal = 0, qkRemoved = 0;
    for (int64_t h = 0; h < H; ++h) {
        for (int64_t d = 0; d < D; ++d) all[size_t(h)].push_back(d);
        std::vector<double> score(static_cast<size_t>(D));
        for (int64_t d = 0; d < D; ++d) score[size_t(d)] = std::sqrt(b.sq[size_t(h * D + d)] * b.sq[size_t(HD + h * D + d)]) / double(b.sqRows);
        keepQk[size_t(h)] = keepHighest(score, D - kq);
        std::vector<char> kept(static_cast<size_t>(D), 0);
        for (int64_t d : keepQk[size_t(h)]) kept[size_t(d)] = 1;
        for (int64_t d = 0; d < D; ++d) {
            qkTotal += score[size_t(d)] * score[size_t(d)];
            if (!kept[size_t(d)]) qkRemoved += score[size_t(d)] * score[size_t(d)];
        }
    }

    // The MatMul weight [K, n] and bias of the fused columns `cols`.
    auto columnsOf = [&](const std::vector<int64_t>& cols, std::vector<float>& w, std::vector<float>& bias) {
        const int64_t n = int64_t(cols.size());
        w.assign(size_t(K * n), 0.f);
        for (int64_t j = 0; j < n; ++j)
            for (int64_t x = 0; x < K; ++x) w[size_t(x * n + j)] = b.qkvRows[size_t(cols[size_t(j)] * K + x)];
        bias.clear();
        if (hasBias)
            for (int64_t c : cols) bias.push_back(b.bias[size_t(c)]);
    };
    std::vector<float> wq, bq, wk, bk, wv, bv;
    columnsOf(partColumns(p, 0, keepQk), wq, bq);
    columnsOf(partColumns(p, 1, keepQk), wk, bk);
    columnsOf(partColumns(p, 2, all), wv, bv);

    // Type III: V' and O' per head from the data-aware SVD of W_v^h W_o^h.
    const int64_t Nout = p.outW.N;
    const auto orows = p.outW.rows();  // [Nout][HD]
    std::vector<float> newOut;         // [Nout][H * kv] when refactored
    int outBiasNode = -1;
    size_t outBiasInput = 0;
    double voTotal = 0, voDropped = 0;
    if (vo && kv < D) {
        findOutputBias(g, p.out, Nout, outBiasNode, outBiasInput);
        Eigen::MatrixXd G = Eigen::MatrixXd(b.gram.selfadjointView<Eigen::Lower>()) / double(b.gramRows);
        const double meanDiag = G.diagonal().mean();
        if (!(meanDiag > 0) || !std::isfinite(meanDiag))
            return makeError(ErrorCode::Invalid, "the input of " + describeNode(g, p.qkv) + " does not vary on the calibration data");
        G.diagonal().array() += 1e-6 * meanDiag;  // keeps L invertible for directions the data never takes
        const Eigen::LLT<Eigen::MatrixXd> llt(G);
        if (llt.info() != Eigen::Success)
            return makeError(ErrorCode::Invalid, "the input moments of " + describeNode(g, p.qkv) + " are not positive definite");
        const Eigen::MatrixXd L = llt.matrixL();
        Eigen::VectorXd outShift = Eigen::VectorXd::Zero(Nout);
        std::vector<float> w2(size_t(K * H * kv)), b2;
        newOut.assign(size_t(Nout * H * kv), 0.f);
        for (int64_t h = 0; h < H; ++h) {
            Eigen::MatrixXd Wv(K, D), Wo(D, Nout);
            for (int64_t d = 0; d < D; ++d) {
                for (int64_t x = 0; x < K; ++x) Wv(x, d) = b.qkvRows[size_t((2 * HD + h * D + d) * K + x)];
                for (int64_t o = 0; o < Nout; ++o) Wo(d, o) = orows[size_t(o * HD + h * D + d)];
            }
            const Eigen::MatrixXd A = L.transpose() * (Wv * Wo);
            Eigen::BDCSVD<Eigen::MatrixXd> svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
            const Eigen::VectorXd sv = svd.singularValues();
            for (Eigen::Index i = 0; i < sv.size(); ++i) (i < kv ? voTotal : voDropped) += sv(i) * sv(i);
            const Eigen::VectorXd root = sv.head(kv).cwiseSqrt();
            const Eigen::MatrixXd Vn = llt.matrixU().solve(svd.matrixU().leftCols(kv) * root.asDiagonal());  // K x kv
            const Eigen::MatrixXd On = root.asDiagonal() * svd.matrixV().leftCols(kv).transpose();         // kv x Nout
            for (int64_t x = 0; x < K; ++x)
                for (int64_t j = 0; j < kv; ++j) w2[size_t(x * H * kv + h * kv + j)] = float(Vn(x, j));
            for (int64_t o = 0; o < Nout; ++o)
                for (int64_t j = 0; j < kv; ++j) newOut[size_t(o * H * kv + h * kv + j)] = float(On(j, o));
            if (hasBias) {
                Eigen::VectorXd bvh(D);
                for (int64_t d = 0; d < D; ++d) bvh(d) = b.bias[size_t(2 * HD + h * D + d)];
                const Eigen::VectorXd c = Wo.transpose() * bvh;  // what the head's bias adds to the output
                if (outBiasNode >= 0) {
                    outShift += c;
                } else {
                    // b' O' closest to c: b' = c^T V_k S_k^-1/2 (directions with no weight get none).
                    const Eigen::VectorXd proj = svd.matrixV().leftCols(kv).transpose() * c;
                    for (int64_t j = 0; j < kv; ++j) b2.push_back(root(j) > 1e-12 ? float(proj(j) / root(j)) : 0.f);
                }
            }
        }
        voTotal += voDropped;
        wv = std::move(w2);
        bv = std::move(b2);  // empty when folded into the output bias
        if (outBiasNode >= 0 && hasBias) {
            const int bid = g.nodes[size_t(outBiasNode)].inputs[outBiasInput];
            const Tensor old = *constantOf(g, bid);
            auto ob = old.toFloats();
            if (!ob) return ob.error();
            const bool perOutput = int64_t(ob->size()) == Nout;
            for (int64_t o = 0; o < Nout; ++o) (*ob)[size_t(perOutput ? o : 0)] += float(outShift(o));
            const std::string base = g.values[size_t(bid)].name;
            setInput(g, outBiasNode, outBiasInput, addWeight(g, (base.empty() ? nodeLabel(g, p.out) + "_bias" : base) + "_vo", Tensor::fromFloats(old.shape(), *ob)));
        }
    }

    // The split: three projections reshaped and transposed like the fused one, writing the values
    // the separators wrote.
    const std::vector<std::pair<std::string, Attribute>> reshapeAttrs = g.nodes[size_t(p.split)].attributes;
    const char* partName[3] = {"q", "k", "v"};
    const int64_t width[3] = {kq, kq, kv};
    const std::vector<float>* weights[3] = {&wq, &wk, &wv};
    const std::vector<float>* biases[3] = {&bq, &bk, &bv};
    std::vector<int> separators = b.split.separators;
    for (int sep : separators) retireNode(g, sep);
    for (int part = 0; part < 3; ++part) {
        const std::string name = label + "_" + partName[part];
        const int64_t n = int64_t(weights[part]->size()) / K;
        int y = appendNode(g, "MatMul", name, {b.input, addWeight(g, name + "_weight", Tensor::fromFloats({K, n}, *weights[part]))});
        if (!biases[part]->empty()) y = appendNode(g, "Add", name + "_bias", {y, addWeight(g, name + "_bias", Tensor::fromFloats({n}, *biases[part]))});
        const int shape = partShape(g, b, width[part]);
        const bool last = b.split.transpose < 0;
        y = appendNode(g, "Reshape", name + "_heads", {y, shape}, last ? b.split.partValue[part] : -1);
        g.nodes.back().attributes = reshapeAttrs;
        if (!last) {
            appendNode(g, "Transpose", name + "_transpose", {y}, b.split.partValue[part]);
            g.nodes.back().setAttr("perm", Attribute::ofInts(b.split.perm));
        }
    }
    BY_TRY(g.rebuildLinks());
    retireWithInputs(g, b.split.transpose >= 0 ? b.split.transpose : p.split);
    int64_t voAfter = 0;
    if (!newOut.empty()) {
        const Shape outShape = p.outW.transposed ? Shape{H * kv, Nout} : Shape{Nout, H * kv};
        std::vector<float> stored(newOut.size());
        for (int64_t o = 0; o < Nout; ++o)
            for (int64_t j = 0; j < H * kv; ++j) stored[size_t(p.outW.transposed ? j * Nout + o : o * H * kv + j)] = newOut[size_t(o * H * kv + j)];
        setInput(g, p.out, 1, addWeight(g, nodeLabel(g, p.out) + "_vo", Tensor::fromFloats(outShape, stored)));
        BY_TRY(rewriteShapeEntry(g, p.merge, p.widthEntry, H * kv));
    }
    voAfter = int64_t(wv.size()) + int64_t(bv.size()) + H * kv * Nout;
    for (int v : p.values) g.values[size_t(v)].shape.reset();

    const std::string split = "split from " + label + " into Q, K and V projections";
    if (qk || !vo) {
        LayerReport r = qkRow;
        r.paramsBefore = 2 * HD * K + (hasBias ? 2 * HD : 0);
        r.paramsAfter = int64_t(wq.size() + bq.size() + wk.size() + bk.size());
        r.relError = qkTotal > 0 ? std::sqrt(qkRemoved / qkTotal) : 0.0;
        r.detail = "cr " + std::to_string(kq) + "/" + std::to_string(D) + " dims per head";
        r.note = split + "; share of the query-key scores removed " + fixed(r.relError) + " on " + std::to_string(b.sqRows) + " calibration rows";
        r.bytesBefore = r.paramsBefore * 4;
        r.bytesAfter = r.paramsAfter * 4;
        out.push_back(r);
    }
    if (vo) {
        LayerReport r = newRow(g, p.out, s);
        r.paramsBefore = HD * K + (hasBias ? HD : 0) + HD * Nout;
        r.paramsAfter = voAfter;
        r.relError = voTotal > 0 ? std::sqrt(voDropped / voTotal) : 0.0;
        r.detail = "svd rank " + std::to_string(kv) + "/" + std::to_string(D) + " per head";
        r.note = split + (kv < D ? "; value-output error " + fixed(r.relError) + " on " + std::to_string(b.gramRows) + " calibration rows" +
                                       (outBiasNode >= 0 && hasBias ? ", V bias folded into " + nodeLabel(g, outBiasNode) : "")
                                 : std::string("; rank kept whole"));
        r.bytesBefore = r.paramsBefore * 4;
        r.bytesAfter = r.paramsAfter * 4;
        out.push_back(r);
    }
    return {};
}

}  // namespace

Status decompose(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                 std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out) {
    if (!data) return makeError(ErrorCode::Invalid, "modular decomposition needs calibration data");
    const bool ffn = s.modules == "ffn" || s.modules == "all";
    const bool attention = s.modules != "ffn";
    std::string firstWhy;
    int ffnBlocks = 0, attentionBlocks = 0;
    // Attention blocks are split after the feed-forward blocks are refitted, calibrated together
    // in one run over the data (their rewrite appends nodes the calibration run need not order).
    std::vector<AttentionBlock> blocks;
    for (int n : nodes) {
        BY_TRY(g.rebuildLinks());
        std::string why;
        if (ffn) {
            FfnPlan plan;
            if (traceFfn(g, n, plan, why)) {
                ++ffnBlocks;
                LayerReport row = newRow(g, n, s);
                BY_TRY(nystromFfn(g, s, plan, opset, *data, row));
                out.push_back(row);
                continue;
            }
        }
        std::string headWhy;
        if (attention) {
            AttentionBlock b;
            if (planAttention(g, n, b, headWhy)) {
                ++attentionBlocks;
                blocks.push_back(std::move(b));
                continue;
            }
        }
        const std::string reason = ffn ? why : headWhy;
        if (named) {
            const std::string what = ffn && attention ? "feed-forward or attention block" : ffn ? "feed-forward block" : "attention block";
            return makeError(ErrorCode::Unsupported, "no " + what + " starts at " + describeNode(g, n) + ": " + reason);
        }
        if (firstWhy.empty()) firstWhy = reason;
    }
    if (!blocks.empty()) {
        BY_TRY(g.rebuildLinks());
        BY_TRY(calibrateAttention(g, opset, s.activations, *data, blocks));
        const bool qk = s.modules == "qk" || s.modules == "all", vo = s.modules == "vo" || s.modules == "all";
        for (AttentionBlock& b : blocks) BY_TRY(splitAttention(g, s, b, qk, vo, out));
    }
    const std::string because = firstWhy.empty() ? std::string() : " (" + firstWhy + ")";
    if (ffn && !attention && ffnBlocks == 0)
        return makeError(ErrorCode::Unsupported, "the model has no feed-forward block (MatMul/Gemm -> element-wise -> MatMul/Gemm) to decompose" + because);
    if (!ffn && attentionBlocks == 0)
        return makeError(ErrorCode::Unsupported, "the model has no attention block to decompose" + because);
    if (ffnBlocks + attentionBlocks == 0)
        return makeError(ErrorCode::Unsupported, "the model has no feed-forward or attention block to decompose" + because);
    return {};
}

}  // namespace by::compression
