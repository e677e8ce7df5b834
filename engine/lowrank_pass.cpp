// Low-rank factorisation: W [N, K] ~= U_r sqrt(S_r) * sqrt(S_r) V_r^T from a truncated SVD. A
// matrix product becomes two (X -> X*A [.., r] -> *B), a Conv becomes a k x k Conv with r filters
// followed by a 1x1 Conv. The singular values are split evenly between the factors so both have
// similar ranges (which matters when they are quantized afterwards).
//
// Data-aware (the step's `activations` name calibration data): for a MatMul/Gemm with inputs X
// the error that matters is ||(W - W') X||, not ||W - W'||. With G = X X^T = L L^T (Cholesky,
// lightly damped), ||(W - W') X||_F = ||(W - W') L||_F, so the best rank-r W' is the truncated SVD
// of W L multiplied back by L^-1 (exact for the calibration inputs, whatever their correlations).
// The factors are then sqrt(S_r) V_r^T L^-1 and U_r sqrt(S_r), and the rank rules (energy,
// param_cut, ...) read the singular values of W L: the energy of the layer's outputs.
#include <Eigen/Cholesky>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "engine/compression_internal.h"

namespace by::compression {

namespace {

struct Factors {
    int64_t rank = 0;
    std::vector<float> first;   // [r, K]: applied to the input
    std::vector<float> second;  // [N, r]
    double relError = 0;
    std::vector<double> singular;
};

std::vector<double> singularValues(const std::vector<float>& W, int64_t N, int64_t K, Eigen::MatrixXd* U, Eigen::MatrixXd* V) {
    Eigen::MatrixXd A(N, K);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) A(n, k) = W[size_t(n * K + k)];
    Eigen::BDCSVD<Eigen::MatrixXd> svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
    *U = svd.matrixU();
    *V = svd.matrixV();
    const auto& s = svd.singularValues();
    return std::vector<double>(s.data(), s.data() + s.size());
}

// ||W - second * first||_F / ||W||_F of the factors as stored (f32), not of the exact truncation.
double factorError(const std::vector<float>& W, int64_t N, int64_t K, const Factors& f) {
    const int64_t r = f.rank;
    double num = 0, den = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            double acc = 0;
            for (int64_t i = 0; i < r; ++i) acc += double(f.second[size_t(n * r + i)]) * f.first[size_t(i * K + k)];
            const double w = W[size_t(n * K + k)];
            num += (w - acc) * (w - acc);
            den += w * w;
        }
    return den > 0 ? std::sqrt(num / den) : 0;
}

// first = sqrt(S_r) V_r^T Linv^T... in general: first row i = sqrt(s_i) * right(:, i)^T.
Factors fromSvd(const Eigen::MatrixXd& U, const Eigen::MatrixXd& right, const std::vector<double>& sv, int64_t N, int64_t K,
                int64_t r) {
    Factors f;
    f.rank = r;
    f.first.resize(size_t(r * K));
    f.second.resize(size_t(N * r));
    for (int64_t i = 0; i < r; ++i) {
        const double root = std::sqrt(sv[size_t(i)]);
        for (int64_t k = 0; k < K; ++k) f.first[size_t(i * K + k)] = float(root * right(k, i));
        for (int64_t n = 0; n < N; ++n) f.second[size_t(n * r + i)] = float(U(n, i) * root);
    }
    return f;
}

Factors factorize(const std::vector<float>& W, int64_t N, int64_t K, const Eigen::MatrixXd& U, const Eigen::MatrixXd& V,
                  const std::vector<double>& sv, int64_t r) {
    Factors f = fromSvd(U, V, sv, N, K, r);
    f.relError = factorError(W, N, K, f);
    return f;
}

// Second moments of one layer input over the calibration samples: G = sum of x x^T.
struct InputGram {
    int64_t K = 0;
    int64_t rows = 0;
    Eigen::MatrixXd G;
    bool conv = false;  // 2-D convolution: the rows are the input's k x k patches
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
};

// Adds one captured input to G: its rows (matrix products) or its patches (convolutions, the
// bottom/right padding only decides the output size, which the patches below already cover
// when they stay inside the padded input).
void accumulateGram(InputGram& in, const Tensor& t) {
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    if (!in.conv) {
        if (t.numel() % in.K != 0) return;
        const int64_t rows = t.numel() / in.K;
        const Eigen::Map<const RowMajor> X(t.data<float>(), rows, in.K);
        in.G.noalias() += (X.transpose() * X).cast<double>();
        in.rows += rows;
        return;
    }
    if (t.rank() != 4 || t.shape()[1] * in.kh * in.kw != in.K) return;
    const int64_t B = t.shape()[0], C = t.shape()[1], H = t.shape()[2], W = t.shape()[3];
    const int64_t oh = (H + 2 * in.ph - in.dh * (in.kh - 1) - 1) / in.sh + 1, ow = (W + 2 * in.pw - in.dw * (in.kw - 1) - 1) / in.sw + 1;
    if (oh <= 0 || ow <= 0) return;
    const float* x = t.data<float>();
    RowMajor P(oh * ow, in.K);
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox) {
                float* row = P.data() + (oy * ow + ox) * in.K;
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t ky = 0; ky < in.kh; ++ky)
                        for (int64_t kx = 0; kx < in.kw; ++kx) {
                            const int64_t y = oy * in.sh - in.ph + ky * in.dh, xx = ox * in.sw - in.pw + kx * in.dw;
                            *row++ = (y >= 0 && y < H && xx >= 0 && xx < W) ? x[((b * C + c) * H + y) * W + xx] : 0.f;
                        }
            }
        in.G.noalias() += (P.transpose() * P).cast<double>();
        in.rows += oh * ow;
    }
}

// The data-aware factorisation of W [N, K] for inputs with second moments G; nullopt when G is not
// usable (no samples, all zero). `outputError`: ||(W - W')L|| / ||W L||; `plainOutputError`: the
// same for the plain truncated SVD of the same rank.
struct DataAware {
    Factors f;
    double outputError = 0, plainOutputError = 0;
};

std::optional<DataAware> factorizeDataAware(const std::vector<float>& W, int64_t N, int64_t K, const InputGram& in,
                                            const CompressStep& s) {
    if (in.rows <= 0) return std::nullopt;
    const double meanDiag = in.G.diagonal().mean();
    if (!(meanDiag > 0) || !std::isfinite(meanDiag)) return std::nullopt;
    // Damping keeps L invertible for inputs that never vary in some direction (dead ReLUs).
    Eigen::MatrixXd G = in.G / double(in.rows);
    G.diagonal().array() += 1e-4 * meanDiag / double(in.rows);
    Eigen::LLT<Eigen::MatrixXd> llt(G);
    if (llt.info() != Eigen::Success) return std::nullopt;
    const Eigen::MatrixXd L = llt.matrixL();
    Eigen::MatrixXd Wd(N, K);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) Wd(n, k) = W[size_t(n * K + k)];
    const Eigen::MatrixXd M = Wd * L;
    Eigen::BDCSVD<Eigen::MatrixXd> svd(M, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const auto& sd = svd.singularValues();
    const std::vector<double> sv(sd.data(), sd.data() + sd.size());
    const int64_t r = std::min<int64_t>(chooseRank(s, N, K, sv), int64_t(sv.size()));
    DataAware d;
    d.f.rank = r;
    if (r < 1) return d;
    // Right factor rows: V_r^T L^-1, i.e. the columns of L^-T V_r (solve L^T Z = V_r).
    const Eigen::MatrixXd Z = llt.matrixU().solve(svd.matrixV().leftCols(r));
    d.f = fromSvd(svd.matrixU(), Z, sv, N, K, r);
    d.f.relError = factorError(W, N, K, d.f);
    double total = 0, dropped = 0;
    for (size_t i = 0; i < sv.size(); ++i) {
        total += sv[i] * sv[i];
        if (int64_t(i) >= r) dropped += sv[i] * sv[i];
    }
    d.outputError = total > 0 ? std::sqrt(dropped / total) : 0;
    // The plain truncation of the same rank, measured the same way.
    Eigen::BDCSVD<Eigen::MatrixXd> plain(Wd, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::MatrixXd Wr = plain.matrixU().leftCols(r) * plain.singularValues().head(r).asDiagonal() *
                               plain.matrixV().leftCols(r).transpose();
    d.plainOutputError = M.norm() > 0 ? ((Wd - Wr) * L).norm() / M.norm() : 0;
    return d;
}

std::vector<float> transpose(const std::vector<float>& a, int64_t rows, int64_t cols) {
    std::vector<float> t(a.size());
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) t[size_t(j * rows + i)] = a[size_t(i * cols + j)];
    return t;
}

}  // namespace

Status lowRank(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset,
               std::shared_ptr<const Dataset> data, std::vector<LayerReport>& out) {
    // Data-aware: the second moments of every layer's input as the weight sees it: the rows of a
    // MatMul/Gemm input, the k x k patches of a 2-D convolution (in the weight's (c, ky, kx) order).
    std::map<int, InputGram> grams;  // by node
    if (data) {
        std::map<int, std::vector<int>> readers;  // input value -> nodes
        for (int n : nodes) {
            const Node& node = g.nodes[size_t(n)];
            auto lw = layerWeight(g, n);
            if (!lw.weight || node.inputs.size() < 2 || node.inputs[1] != lw.weight->valueId || node.inputs[0] < 0) continue;
            if (node.opType == "Gemm" && node.attrInt("transA", 0) != 0) continue;
            if (node.opType == "Conv" && (node.attrInt("group", 1) != 1 || lw.weight->tensor.rank() != 4)) continue;
            if (node.opType != "MatMul" && node.opType != "Gemm" && node.opType != "Conv") continue;
            InputGram& in = grams[n];
            in.K = lw.weight->K;
            in.G = Eigen::MatrixXd::Zero(in.K, in.K);
            in.conv = node.opType == "Conv";
            if (in.conv) {
                const Shape& ws = lw.weight->tensor.shape();
                in.kh = ws[2], in.kw = ws[3];
                auto ints = [&](const char* key, std::vector<int64_t> def) {
                    auto v = node.attrInts(key);
                    return v.empty() ? def : v;
                };
                const auto st = ints("strides", {1, 1}), di = ints("dilations", {1, 1}), pa = ints("pads", {0, 0, 0, 0});
                in.sh = st[0], in.sw = st.size() > 1 ? st[1] : st[0];
                in.dh = di[0], in.dw = di.size() > 1 ? di[1] : di[0];
                in.ph = pa[0], in.pw = pa.size() > 1 ? pa[1] : 0;
                // SAME_* auto padding is left out (rare in exported models): those layers stay plain.
                if (node.attrString("auto_pad", "NOTSET") != "NOTSET" && node.attrString("auto_pad") != "VALID") {
                    grams.erase(n);
                    continue;
                }
            }
            readers[node.inputs[0]].push_back(n);
        }
        std::set<int> wanted;
        for (const auto& [v, ns] : readers) wanted.insert(v);
        auto feed = [&](int v, const Tensor& t) {
            auto it = readers.find(v);
            if (it == readers.end() || t.dtype() != DType::F32) return;
            for (int n : it->second) accumulateGram(grams[n], t);
        };
        if (!wanted.empty()) BY_TRY(forEachCalibrationActivation(g, opset, s.activations, *data, wanted, feed));
    }
    for (int n : nodes) {
        LayerReport row;
        row.layer = nodeLabel(g, n);
        row.opType = g.nodes[size_t(n)].opType;
        row.method = compressMethodName(s.method);
        auto skip = [&](const std::string& why) {
            row.applied = false;
            row.note = "skipped: " + why;
            out.push_back(row);
        };
        auto lw = layerWeight(g, n);
        if (!lw.weight) {
            skip(lw.reason);
            continue;
        }
        const LayerWeight w = *lw.weight;
        const Node& node = g.nodes[size_t(n)];
        if (node.opType == "Gemm" && node.attrInt("transA", 0) != 0) {
            skip("Gemm with transA=1");
            continue;
        }
        if (node.opType == "Conv" && node.attrInt("group", 1) != 1) {
            skip("grouped convolution");
            continue;
        }
        const int64_t N = w.N, K = w.K;
        row.paramsBefore = N * K;
        row.bytesBefore = bytesOf(w.tensor);
        const std::vector<float> W = w.rows();
        std::optional<DataAware> aware;
        if (auto it = grams.find(n); it != grams.end() && it->second.K == K)
            aware = factorizeDataAware(W, N, K, it->second, s);
        Eigen::MatrixXd U, V;
        std::vector<double> sv;
        if (!aware) sv = singularValues(W, N, K, &U, &V);
        const int64_t r = aware ? aware->f.rank : std::min<int64_t>(chooseRank(s, N, K, sv), int64_t(sv.size()));
        if (r < 1) {
            skip("no rank of a " + std::to_string(N) + "x" + std::to_string(K) + " weight removes that many parameters");
            continue;
        }
        if (r * (N + K) >= N * K) {
            skip("rank " + std::to_string(r) + " of a " + std::to_string(N) + "x" + std::to_string(K) +
                 " weight would not save parameters");
            continue;
        }
        const Factors f = aware ? aware->f : factorize(W, N, K, U, V, sv, r);
        row.relError = f.relError;
        row.paramsAfter = r * (N + K);
        row.bytesAfter = row.paramsAfter * 4;
        row.detail = "rank " + std::to_string(r) + " of " + std::to_string(std::min(N, K));
        if (aware) {
            char buf[160];
            std::snprintf(buf, sizeof buf, ", data-aware: output error %.4g (plain SVD %.4g)", aware->outputError,
                          aware->plainOutputError);
            row.detail += buf;
        } else if (data) {
            row.detail += ", plain SVD (no calibrated input reaches this layer's weight)";
        }

        const std::string base = g.values[size_t(w.valueId)].name.empty() ? row.layer + "_weight" : g.values[size_t(w.valueId)].name;
        Value mid;
        mid.name = freshName(g, row.layer + "_low_rank");
        mid.dtype = DType::F32;
        const int midId = g.addValue(std::move(mid));
        Node first;
        first.name = row.layer + "_low_rank";
        first.inputs = {g.nodes[size_t(n)].inputs[0]};
        first.outputs = {midId};
        if (row.opType == "Conv") {
            Shape s1 = w.tensor.shape();
            s1[0] = r;
            Shape s2(w.tensor.shape().size(), 1);
            s2[0] = N;
            s2[1] = r;
            first.opType = "Conv";
            first.attributes = g.nodes[size_t(n)].attributes;  // the original kernel, strides and padding
            first.inputs.push_back(addWeight(g, base + "_low_rank_a", Tensor::fromFloats(s1, f.first)));
            const int secondId = addWeight(g, base + "_low_rank_b", Tensor::fromFloats(s2, f.second));
            g.addNode(std::move(first));
            Node& nd = g.nodes[size_t(n)];
            nd.attributes.clear();
            nd.setAttr("kernel_shape", Attribute::ofInts(std::vector<int64_t>(s2.size() - 2, 1)));
            nd.inputs[0] = midId;
            nd.inputs[1] = secondId;
        } else {
            // X [.., K] * A [K, r] -> [.., r]; then the original op with B [r, N] (Gemm keeps its bias).
            first.opType = "MatMul";
            first.inputs.push_back(addWeight(g, base + "_low_rank_a", Tensor::fromFloats({K, r}, transpose(f.first, r, K))));
            const int secondId = addWeight(g, base + "_low_rank_b", Tensor::fromFloats({r, N}, transpose(f.second, N, r)));
            g.addNode(std::move(first));
            Node& nd = g.nodes[size_t(n)];
            nd.inputs[0] = midId;
            nd.inputs[1] = secondId;
            if (nd.opType == "Gemm") nd.setAttr("transB", Attribute::ofInt(0));
        }
        out.push_back(row);
    }
    return {};
}

}  // namespace by::compression
