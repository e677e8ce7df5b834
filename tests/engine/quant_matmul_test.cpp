#include "engine/quant_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/quant_blocks.h"
#include "engine/thread_pool.h"

namespace by {
namespace {

struct Case {
    int64_t M, K, N;
};

std::vector<float> randomVec(size_t n, std::mt19937& rng, float scale) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// The weights as f32 exactly as the blocks store them, multiplied in double.
std::vector<double> reference(const std::vector<float>& x, const std::vector<float>& wf, const std::vector<float>& bias, Case c) {
    std::vector<double> y(static_cast<size_t>(c.M * c.N));
    for (int64_t m = 0; m < c.M; ++m)
        for (int64_t n = 0; n < c.N; ++n) {
            double s = bias[static_cast<size_t>(n)];
            for (int64_t k = 0; k < c.K; ++k) s += static_cast<double>(x[static_cast<size_t>(m * c.K + k)]) * wf[static_cast<size_t>(n * c.K + k)];
            y[static_cast<size_t>(m * c.N + n)] = s;
        }
    return y;
}

void checkType(DType t, double relTol) {
    std::mt19937 rng(7);
    ThreadPool pool(2);
    for (Case c : {Case{1, 256, 77}, Case{5, 1024, 64}, Case{33, 96, 130}}) {
        const auto x = randomVec(static_cast<size_t>(c.M * c.K), rng, 1.0f);
        const auto w = randomVec(static_cast<size_t>(c.N * c.K), rng, 0.05f);
        const auto bias = randomVec(static_cast<size_t>(c.N), rng, 0.1f);
        std::vector<uint8_t> wq;
        std::vector<float> wf = w;
        if (t != DType::F32) {
            wq.resize(static_cast<size_t>(dtypeStorageBytes(t, c.N * c.K)));
            ASSERT_TRUE(quantizeBlocks(t, w.data(), c.N * c.K, wq.data()).ok());
            ASSERT_TRUE(dequantizeBlocks(t, wq.data(), c.N * c.K, wf.data()).ok());
        } else {
            wq.assign(reinterpret_cast<const uint8_t*>(w.data()), reinterpret_cast<const uint8_t*>(w.data() + w.size()));
        }
        const auto ref = reference(x, wf, bias, c);
        double refNorm = 0;
        for (double v : ref) refNorm = std::max(refNorm, std::fabs(v));
        std::vector<float> fast(ref.size()), scalar(ref.size());
        ASSERT_TRUE(matmulRows(x.data(), c.M, c.K, t, wq.data(), c.N, bias.data(), fast.data(), &pool).ok());
        ASSERT_TRUE(matmulRows(x.data(), c.M, c.K, t, wq.data(), c.N, bias.data(), scalar.data(), nullptr, KernelPath::Scalar).ok());
        double errFast = 0, errScalar = 0, diff = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            errFast = std::max(errFast, std::fabs(fast[i] - ref[i]));
            errScalar = std::max(errScalar, std::fabs(scalar[i] - ref[i]));
            diff = std::max(diff, static_cast<double>(std::fabs(fast[i] - scalar[i])));
        }
        // Quantizing the activations to int8 costs about 1/254 of each block's range.
        EXPECT_LT(errFast / refNorm, relTol) << dtypeName(t) << " M=" << c.M << " K=" << c.K;
        EXPECT_LT(errScalar / refNorm, relTol) << dtypeName(t) << " M=" << c.M;
        // Same integer sums on both paths: only the float accumulation order differs.
        EXPECT_LT(diff / refNorm, 1e-5) << dtypeName(t) << " M=" << c.M;

        // The repacked prompt kernel (where the CPU has it) takes the same integer sums.
        const auto packed = packBlockWeights(t, wq.data(), c.N, c.K, &pool);
        if (t == DType::F32 || !cpuHasVnniKernels()) {
            EXPECT_TRUE(packed.empty());
            continue;
        }
        ASSERT_FALSE(packed.empty());
        std::vector<float> viaPacked(ref.size());
        ASSERT_TRUE(matmulRowsPacked(x.data(), c.M, packed, bias.data(), viaPacked.data(), &pool).ok());
        double diffPacked = 0;
        for (size_t i = 0; i < ref.size(); ++i) diffPacked = std::max(diffPacked, static_cast<double>(std::fabs(viaPacked[i] - scalar[i])));
        EXPECT_LT(diffPacked / refNorm, 1e-5) << dtypeName(t) << " packed, M=" << c.M << " N=" << c.N;
    }
}

TEST(QuantMatmul, F32MatchesReference) { checkType(DType::F32, 1e-5); }
TEST(QuantMatmul, Q8_0MatchesReference) { checkType(DType::Q8_0, 2e-2); }
TEST(QuantMatmul, Q4_0MatchesReference) { checkType(DType::Q4_0, 2e-2); }

TEST(QuantMatmul, RejectsUnsupportedInput) {
    std::vector<float> x(48), y(2);
    std::vector<uint8_t> w(200);
    EXPECT_EQ(matmulRows(x.data(), 1, 48, DType::Q8_0, w.data(), 1, nullptr, y.data(), nullptr).error().code, ErrorCode::Invalid);
    EXPECT_EQ(matmulRows(x.data(), 1, 32, DType::Q4_K, w.data(), 1, nullptr, y.data(), nullptr).error().code, ErrorCode::Unsupported);
}

TEST(QuantMatmul, DotAndAxpy) {
    std::mt19937 rng(3);
    const auto a = randomVec(77, rng, 1.0f), b = randomVec(77, rng, 1.0f);
    double ref = 0;
    for (size_t i = 0; i < a.size(); ++i) ref += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(dotF32(a.data(), b.data(), 77), ref, 1e-4);
    std::vector<float> y = b;
    axpyF32(0.5f, a.data(), y.data(), 77);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_FLOAT_EQ(y[i], b[i] + 0.5f * a[i]);
}

}  // namespace
}  // namespace by

namespace by {
namespace {
TEST(QuantMatmul, GeluMatchesTanhFormula) {
    std::vector<float> x;
    for (int i = -2000; i <= 2000; ++i) x.push_back(static_cast<float>(i) * 0.01f);
    x.push_back(-100.0f);
    x.push_back(100.0f);
    std::vector<float> y = x;
    geluTanhInPlace(y.data(), static_cast<int64_t>(y.size()));
    for (size_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        const double ref = 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        EXPECT_NEAR(y[i], ref, 1e-6 + 1e-6 * std::fabs(ref)) << "x=" << v;
    }
}
}  // namespace
}  // namespace by
