// Low-rank factorisation: W [N, K] ~= U_r sqrt(S_r) * sqrt(S_r) V_r^T from a truncated SVD. A
// matrix product becomes two (X -> X*A [.., r] -> *B), a Conv becomes a k x k Conv with r filters
// followed by a 1x1 Conv. The singular values are split evenly between the factors so both have
// similar ranges (which matters when they are quantized afterwards).
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

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

Factors factorize(const std::vector<float>& W, int64_t N, int64_t K, const Eigen::MatrixXd& U, const Eigen::MatrixXd& V,
                  const std::vector<double>& sv, int64_t r) {
    Factors f;
    f.rank = r;
    f.first.resize(size_t(r * K));
    f.second.resize(size_t(N * r));
    for (int64_t i = 0; i < r; ++i) {
        const double root = std::sqrt(sv[size_t(i)]);
        for (int64_t k = 0; k < K; ++k) f.first[size_t(i * K + k)] = float(root * V(k, i));
        for (int64_t n = 0; n < N; ++n) f.second[size_t(n * r + i)] = float(U(n, i) * root);
    }
    // Error of the factors as stored (f32), not of the exact truncation.
    double num = 0, den = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            double acc = 0;
            for (int64_t i = 0; i < r; ++i) acc += double(f.second[size_t(n * r + i)]) * f.first[size_t(i * K + k)];
            const double w = W[size_t(n * K + k)];
            num += (w - acc) * (w - acc);
            den += w * w;
        }
    f.relError = den > 0 ? std::sqrt(num / den) : 0;
    return f;
}

std::vector<float> transpose(const std::vector<float>& a, int64_t rows, int64_t cols) {
    std::vector<float> t(a.size());
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) t[size_t(j * rows + i)] = a[size_t(i * cols + j)];
    return t;
}

}  // namespace

Status lowRank(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out) {
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
        Eigen::MatrixXd U, V;
        const std::vector<double> sv = singularValues(W, N, K, &U, &V);
        const int64_t r = std::min<int64_t>(chooseRank(s, N, K, sv), int64_t(sv.size()));
        if (r < 1) {
            skip("no rank of a " + std::to_string(N) + "x" + std::to_string(K) + " weight removes that many parameters");
            continue;
        }
        if (r * (N + K) >= N * K) {
            skip("rank " + std::to_string(r) + " of a " + std::to_string(N) + "x" + std::to_string(K) +
                 " weight would not save parameters");
            continue;
        }
        const Factors f = factorize(W, N, K, U, V, sv, r);
        row.relError = f.relError;
        row.paramsAfter = r * (N + K);
        row.bytesAfter = row.paramsAfter * 4;
        row.detail = "rank " + std::to_string(r) + " of " + std::to_string(std::min(N, K));

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
