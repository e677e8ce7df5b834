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
// Types II (query-key, CR decomposition) and III (value-output, SVD) shrink the Q/K and V head
// widths independently of each other. A fused projection reshaped to [.., 3, heads, dim] gives
// Q, K and V one shared width, so those blocks are reported as skipped.
#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "engine/compression_internal.h"
#include "engine/structured_blocks.h"

namespace by::compression {

namespace {

LayerReport newRow(const Graph& g, int node, const CompressStep& s) {
    LayerReport r;
    r.layer = nodeLabel(g, node);
    r.opType = g.nodes[size_t(node)].opType;
    r.method = compressMethodName(s.method);
    return r;
}

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

Status decompose(Graph& g, const CompressStep& s, const std::vector<int>& nodes, bool named, int64_t opset,
                 std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out) {
    if (!data) return makeError(ErrorCode::Invalid, "modular decomposition needs calibration data");
    const bool ffn = s.modules == "ffn" || s.modules == "all";
    const bool attention = s.modules != "ffn";
    std::string firstWhy;
    int ffnBlocks = 0, attentionBlocks = 0;
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
            HeadPlan plan;
            if (traceHeads(g, n, plan, headWhy)) {
                ++attentionBlocks;
                LayerReport row = newRow(g, n, s);
                row.applied = false;
                row.note = "skipped: query-key and value-output decomposition give Q, K and V their own head widths, and " +
                           describeNode(g, n) + " projects all three at once, reshaped to [.., 3, " + std::to_string(plan.heads) +
                           ", " + std::to_string(plan.dim) + "]";
                out.push_back(row);
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
    const std::string because = firstWhy.empty() ? std::string() : " (" + firstWhy + ")";
    if (ffn && !attention && ffnBlocks == 0)
        return makeError(ErrorCode::Unsupported, "the model has no feed-forward block (MatMul/Gemm -> element-wise -> MatMul/Gemm) to decompose" + because);
    if (!ffn && attentionBlocks == 0)
        return makeError(ErrorCode::Unsupported, "the model has no attention block to decompose" + because);
    if (!ffn)
        return makeError(ErrorCode::Unsupported, std::string(s.modules == "qk" ? "query-key" : "value-output") +
                                                     " decomposition needs separate Q, K and V projections, and every attention block here "
                                                     "projects them at once into [.., 3, heads, dim] (" + out.front().layer + ")");
    if (ffnBlocks + attentionBlocks == 0)
        return makeError(ErrorCode::Unsupported, "the model has no feed-forward or attention block to decompose" + because);
    return {};
}

}  // namespace by::compression
