// 2:4 sparse weights: packing, every kernel against a plain double-precision product, and the
// executor's plan-time repacking of a pruned Gemm/MatMul (same outputs as the dense path).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/sparse24.h"

namespace by {
namespace {

// Random [K][N] weights with the two largest magnitudes of every group of four along K kept;
// `emptyGroups` also zeroes every seventh group entirely (one kept value in every fifth).
std::vector<float> pruned24(int64_t K, int64_t N, uint32_t seed, bool emptyGroups = false) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> w(static_cast<size_t>(K * N));
    for (float& x : w) x = d(rng);
    for (int64_t k = 0; k < K; k += 4)
        for (int64_t n = 0; n < N; ++n) {
            float* g[4];
            for (int j = 0; j < 4; ++j) g[j] = &w[static_cast<size_t>((k + j) * N + n)];
            std::sort(g, g + 4, [](const float* a, const float* b) { return std::abs(*a) < std::abs(*b); });
            *g[0] = *g[1] = 0.f;
            const int64_t group = (k / 4) * N + n;
            if (emptyGroups && group % 7 == 0) *g[2] = *g[3] = 0.f;
            if (emptyGroups && group % 5 == 0) *g[2] = 0.f;
        }
    return w;
}

std::vector<double> reference(const std::vector<float>& A, const std::vector<float>& W, int64_t M, int64_t K, int64_t N) {
    std::vector<double> c(static_cast<size_t>(M * N), 0.0);
    for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t n = 0; n < N; ++n)
                c[static_cast<size_t>(m * N + n)] += double(A[static_cast<size_t>(m * K + k)]) * W[static_cast<size_t>(k * N + n)];
    return c;
}

TEST(Sparse24, PackingRefusesWhatIsNotTwoOfFour) {
    std::vector<float> w = pruned24(8, 20, 1);
    EXPECT_TRUE(packSparse24(w.data(), 8, 20, true).has_value());
    w[2 * 20 + 3] = w[2 * 20 + 3] == 0.f ? 0.5f : w[2 * 20 + 3];  // make sure group (k 0-3, n 3) has three
    w[0 * 20 + 3] = 1.f, w[1 * 20 + 3] = 1.f, w[2 * 20 + 3] = 1.f;
    EXPECT_FALSE(packSparse24(w.data(), 8, 20, true).has_value());
    const std::vector<float> odd = pruned24(8, 3, 2);
    EXPECT_FALSE(packSparse24(odd.data(), 6, 4, true).has_value()) << "K = 6 is not a multiple of 4";
    // A NaN is a kept value, not a zero.
    std::vector<float> n = pruned24(4, 16, 3);
    for (int j = 0; j < 4; ++j) n[static_cast<size_t>(j * 16)] = j < 3 ? NAN : 0.f;
    EXPECT_FALSE(packSparse24(n.data(), 4, 16, true).has_value());
}

TEST(Sparse24, EveryKernelMatchesTheDenseProduct) {
    for (const char* kernel : sparse24AvailableKernels())
        for (bool kMajor : {true, false})
            for (int64_t M : {1, 3, 4, 5, 9})
                for (int64_t N : {16, 37, 130}) {
                    const int64_t K = 68;
                    const std::vector<float> w = pruned24(K, N, uint32_t(M * 1000 + N), true);
                    std::vector<float> stored = w;
                    if (!kMajor)  // [N][K]
                        for (int64_t k = 0; k < K; ++k)
                            for (int64_t n = 0; n < N; ++n) stored[static_cast<size_t>(n * K + k)] = w[static_cast<size_t>(k * N + n)];
                    auto packed = packSparse24(stored.data(), K, N, kMajor);
                    ASSERT_TRUE(packed.has_value());
                    EXPECT_LT(packed->bytes(), size_t(K * N * 4) * 6 / 10 + size_t(16 * K * 3));
                    std::mt19937 rng(7);
                    std::uniform_real_distribution<float> d(-1.f, 1.f);
                    std::vector<float> A(static_cast<size_t>(M * K));
                    for (float& x : A) x = d(rng);
                    const std::vector<double> ref = reference(A, w, M, K, N);
                    // C = 0.5 * A W + C (accumulate), C starting at 1.
                    std::vector<float> C(static_cast<size_t>(M * N), 1.f);
                    ASSERT_TRUE(sparse24GemmWithKernel(kernel, *packed, A.data(), M, K, C.data(), N, 0.5f, true));
                    double worst = 0;
                    for (size_t i = 0; i < C.size(); ++i) worst = std::max(worst, std::abs(C[i] - (1.0 + 0.5 * ref[i])));
                    EXPECT_LT(worst, 1e-4) << kernel << " M " << M << " N " << N << (kMajor ? " [K][N]" : " [N][K]");
                }
    const std::vector<float> w = pruned24(8, 16, 1);
    auto packed = packSparse24(w.data(), 8, 16, true);
    std::vector<float> a(8), c(16);
    EXPECT_FALSE(sparse24GemmWithKernel("sve", *packed, a.data(), 1, 8, c.data(), 16, 1.f, false));
}

// A two-layer MLP whose first layer is a 2:4-pruned Gemm (transB) and second a 2:4-pruned MatMul:
// the executor repacks both and gives the dense path's outputs at batch 1 (sparse) and batch 16
// (dense GEMM), row for row.
TEST(Sparse24, ExecutorRepacksPrunedLayersAndKeepsTheirOutputs) {
    const int64_t K = 256, H = 192, N = 96;  // both weights above the 16k-element repacking floor
    Graph g;
    auto value = [&](const std::string& name) { return g.valueId(name); };
    auto node = [&](const std::string& op, std::vector<std::string> ins, const std::string& out) -> Node& {
        Node n;
        n.opType = op;
        n.name = out;
        for (const auto& i : ins) n.inputs.push_back(value(i));
        n.outputs.push_back(value(out));
        g.addNode(std::move(n));
        return g.nodes.back();
    };
    const int x = value("x");
    g.values[static_cast<size_t>(x)].dtype = DType::F32;
    g.inputs.push_back(x);
    std::vector<float> w1 = pruned24(K, H, 11), w1t(w1.size());
    for (int64_t k = 0; k < K; ++k)
        for (int64_t h = 0; h < H; ++h) w1t[static_cast<size_t>(h * K + k)] = w1[static_cast<size_t>(k * H + h)];
    g.addInitializer("w1", Tensor::fromFloats({H, K}, w1t));
    std::vector<float> bias(static_cast<size_t>(H));
    for (int64_t h = 0; h < H; ++h) bias[static_cast<size_t>(h)] = 0.01f * float(h % 13);
    g.addInitializer("b1", Tensor::fromFloats({H}, bias));
    g.addInitializer("w2", Tensor::fromFloats({H, N}, pruned24(H, N, 12)));
    Node& gemm = node("Gemm", {"x", "w1", "b1"}, "h");
    gemm.attributes = {{"transB", Attribute::ofInt(1)}, {"alpha", Attribute::ofFloat(0.75)}, {"beta", Attribute::ofFloat(2.0)}};
    node("Relu", {"h"}, "r");
    node("MatMul", {"r", "w2"}, "y");
    g.outputs.push_back(value("y"));
    ASSERT_TRUE(g.rebuildLinks().ok());
    auto ex = Executor::create(g, 17, ExecutorOptions{2});
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    EXPECT_EQ(ex->preparedNodeCount(), 2);

    // A batch above sparse24MaxRows() takes the dense GEMM, batch 1 the sparse kernel: the same rows.
    const int64_t rows = 2 * sparse24MaxRows() + 3;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    std::vector<float> xs(static_cast<size_t>(rows * K));
    for (float& v : xs) v = d(rng);
    auto batch = ex->run({{"x", Tensor::fromFloats({rows, K}, xs)}});
    ASSERT_TRUE(batch.ok()) << batch.error().what();
    const float* yb = (*batch)[0].data<float>();
    double worst = 0, scale = 0;
    for (int64_t r = 0; r < rows; r += 5) {
        auto one = ex->run({{"x", Tensor::fromFloats({1, K}, std::vector<float>(xs.begin() + r * K, xs.begin() + (r + 1) * K))}});
        ASSERT_TRUE(one.ok()) << one.error().what();
        for (int64_t n = 0; n < N; ++n) {
            worst = std::max(worst, double(std::abs((*one)[0].data<float>()[n] - yb[r * N + n])));
            scale = std::max(scale, double(std::abs(yb[r * N + n])));
        }
    }
    EXPECT_GT(scale, 1.0);
    EXPECT_LT(worst, 1e-4 * scale);

    // The same graph with one weight of a group of four made non-zero again is not repacked there.
    std::vector<float> dense = pruned24(H, N, 12);
    for (size_t i = 0; i < dense.size(); ++i)
        if (dense[i] == 0.f) {
            dense[i] = 0.125f;
            break;
        }
    g.values[static_cast<size_t>(g.findValue("w2"))].data = Tensor::fromFloats({H, N}, dense);
    auto ex2 = Executor::create(g, 17, ExecutorOptions{1});
    ASSERT_TRUE(ex2.ok()) << ex2.error().what();
    EXPECT_EQ(ex2->preparedNodeCount(), 1);
}

}  // namespace
}  // namespace by
