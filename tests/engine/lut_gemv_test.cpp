#include "engine/lut_gemv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/thread_pool.h"

namespace by {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

double rel(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (a[i] - b[i]) * double(a[i] - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
}

TEST(BinaryCoding, MorePlanesApproximateBetter) {
    const int64_t N = 40, K = 130;
    const auto w = gaussian(size_t(N * K), 1);
    double prev = 1e9;
    for (int64_t planes = 1; planes <= 4; ++planes) {
        auto m = binaryCode(w.data(), N, K, planes, 32);
        ASSERT_TRUE(m.ok()) << m.error().what();
        const double e = rel(m->dequantize(), w);
        EXPECT_LT(e, prev) << planes << " planes";
        // One plane of signs with mean-|w| scales leaves sqrt(1 - 2/pi) ~ 0.60 of a Gaussian's norm.
        if (planes == 1) {
            EXPECT_NEAR(e, 0.60, 0.05);
        }
        prev = e;
    }
    // Each greedy plane shrinks the residual by roughly that factor again.
    EXPECT_LT(prev, 0.2);
}

TEST(BinaryCoding, BadArgumentsAreErrors) {
    const std::vector<float> w(16, 1.f);
    EXPECT_FALSE(binaryCode(w.data(), 4, 4, 0, 4).ok());
    EXPECT_FALSE(binaryCode(w.data(), 4, 4, 9, 4).ok());
    auto r = binaryCode(w.data(), 4, 4, 2, 6);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("group size 6"), std::string::npos);
}

TEST(LutGemv, MatchesTheDequantizedProduct) {
    ThreadPool pool(2);
    struct C {
        int64_t N, K, planes, group;
    };
    for (const C c : {C{1, 4, 1, 4}, C{33, 64, 2, 32}, C{100, 200, 3, 64}, C{256, 512, 2, 128}, C{70, 96, 4, 96}}) {
        const auto w = gaussian(size_t(c.N * c.K), uint32_t(c.N + c.K));
        const auto x = gaussian(size_t(c.K), uint32_t(c.N * 3));
        auto m = binaryCode(w.data(), c.N, c.K, c.planes, c.group);
        ASSERT_TRUE(m.ok());
        const auto wq = m->dequantize();
        std::vector<float> want(size_t(c.N), 0.f);
        for (int64_t n = 0; n < c.N; ++n)
            for (int64_t k = 0; k < c.K; ++k) want[size_t(n)] += wq[size_t(n * c.K + k)] * x[size_t(k)];
        std::vector<float> portable(size_t(c.N)), fast(size_t(c.N));
        lutGemvPortable(*m, x.data(), portable.data());
        lutGemv(*m, x.data(), fast.data(), &pool);
        // Float tables: only summation order differs.
        EXPECT_LT(rel(portable, want), 1e-5) << c.N << "x" << c.K;
        // int8 tables: one rounding of at most half a step per lookup.
        EXPECT_LT(rel(fast, want), 2e-2) << c.N << "x" << c.K << " kernel " << lutGemvKernelName();
    }
}

}  // namespace
}  // namespace by
