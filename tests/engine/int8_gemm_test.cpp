#include "engine/int8_gemm.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/thread_pool.h"

namespace by {
namespace {

struct Case {
    int64_t M, N, K;
    bool aSigned, bSigned, perRow, perCol;
};

std::vector<uint8_t> randomBytes(size_t n, std::mt19937& rng) {
    std::uniform_int_distribution<int> d(0, 255);
    std::vector<uint8_t> v(n);
    for (auto& x : v) x = uint8_t(d(rng));
    return v;
}

int32_t value(const std::vector<uint8_t>& v, size_t i, bool s) { return s ? int32_t(int8_t(v[i])) : int32_t(v[i]); }

// The definition, written out: sum_k (A - za) * (B - zb) in 64-bit.
std::vector<int32_t> naive(const Case& c, const std::vector<uint8_t>& A, const std::vector<uint8_t>& B,
                           const std::vector<int32_t>& za, const std::vector<int32_t>& zb) {
    std::vector<int32_t> C(size_t(c.M * c.N));
    for (int64_t m = 0; m < c.M; ++m)
        for (int64_t n = 0; n < c.N; ++n) {
            int64_t s = 0;
            for (int64_t k = 0; k < c.K; ++k)
                s += int64_t(value(A, size_t(m * c.K + k), c.aSigned) - za[c.perRow ? size_t(m) : 0]) *
                     int64_t(value(B, size_t(k * c.N + n), c.bSigned) - zb[c.perCol ? size_t(n) : 0]);
            C[size_t(m * c.N + n)] = int32_t(s);
        }
    return C;
}

TEST(Int8Gemm, ExactForEverySignednessAndZeroPointLayout) {
    std::mt19937 rng(42);
    ThreadPool pool(2);
    const std::vector<Case> cases = {
        {1, 1, 1, false, false, false, false},  {5, 7, 3, true, true, false, false},
        {4, 4, 64, false, true, true, true},     {9, 13, 100, true, false, true, false},
        {17, 33, 257, false, false, false, true}, {64, 96, 288, true, true, true, true},
        {3, 200, 1000, false, true, false, false}, {130, 5, 70, true, false, true, true},
    };
    std::uniform_int_distribution<int> zd(-20, 20);
    for (const auto& c : cases) {
        const auto A = randomBytes(size_t(c.M * c.K), rng), B = randomBytes(size_t(c.K * c.N), rng);
        std::vector<int32_t> za(size_t(c.perRow ? c.M : 1)), zb(size_t(c.perCol ? c.N : 1));
        for (auto& z : za) z = (c.aSigned ? 0 : 128) + zd(rng);
        for (auto& z : zb) z = (c.bSigned ? 0 : 128) + zd(rng);
        const auto want = naive(c, A, B, za, zb);
        Int8GemmArgs g;
        g.M = c.M;
        g.N = c.N;
        g.K = c.K;
        g.A = A.data();
        g.lda = c.K;
        g.aSigned = c.aSigned;
        g.B = B.data();
        g.ldb = c.N;
        g.bSigned = c.bSigned;
        g.aZero = za.data();
        g.aZeroPerRow = c.perRow;
        g.bZero = zb.data();
        g.bZeroPerColumn = c.perCol;
        std::vector<int32_t> got(size_t(c.M * c.N), -1), ref(size_t(c.M * c.N), -1);
        g.C = got.data();
        g.ldc = c.N;
        int8Gemm(g, &pool);
        EXPECT_EQ(got, want) << "M=" << c.M << " N=" << c.N << " K=" << c.K << " kernel " << int8GemmKernelName();
        g.C = ref.data();
        int8GemmReference(g);
        EXPECT_EQ(ref, want) << "portable path, M=" << c.M << " N=" << c.N << " K=" << c.K;
    }
}

// Every kernel this CPU runs (VNNI, AVX2, portable), on shapes that cross the tile edges (8 rows,
// 32 columns), the K blocks (512) and the 4-byte groups, for all four signedness pairs and both
// zero-point layouts.
TEST(Int8Gemm, EveryKernelIsExactOnEdgeShapes) {
    std::mt19937 rng(7);
    ThreadPool pool(3);
    std::uniform_int_distribution<int> zd(-30, 30);
    const std::vector<Case> shapes = {
        {8, 32, 4, false, false, false, false},  {7, 31, 5, false, false, false, false},
        {9, 33, 515, false, false, false, false}, {1, 100, 1030, false, false, false, false},
        {23, 65, 1024, false, false, false, false}, {40, 1, 513, false, false, false, false},
        {2, 64, 2, false, false, false, false},
    };
    for (const char* kernel : int8GemmAvailableKernels())
        for (const Case& shape : shapes)
            for (int combo = 0; combo < 16; ++combo) {
                Case c = shape;
                c.aSigned = combo & 1;
                c.bSigned = combo & 2;
                c.perRow = combo & 4;
                c.perCol = combo & 8;
                const auto A = randomBytes(size_t(c.M * c.K), rng), B = randomBytes(size_t(c.K * c.N), rng);
                std::vector<int32_t> za(size_t(c.perRow ? c.M : 1)), zb(size_t(c.perCol ? c.N : 1));
                for (auto& z : za) z = (c.aSigned ? 0 : 128) + zd(rng);
                for (auto& z : zb) z = (c.bSigned ? 0 : 128) + zd(rng);
                const auto want = naive(c, A, B, za, zb);
                // C wider than N (ldc > N): the kernels must leave the gap alone.
                const int64_t ldc = c.N + 3;
                std::vector<int32_t> got(size_t(c.M * ldc), -7);
                Int8GemmArgs g;
                g.M = c.M;
                g.N = c.N;
                g.K = c.K;
                g.A = A.data();
                g.lda = c.K;
                g.aSigned = c.aSigned;
                g.B = B.data();
                g.ldb = c.N;
                g.bSigned = c.bSigned;
                g.aZero = za.data();
                g.aZeroPerRow = c.perRow;
                g.bZero = zb.data();
                g.bZeroPerColumn = c.perCol;
                g.C = got.data();
                g.ldc = ldc;
                ASSERT_TRUE(int8GemmWithKernel(g, kernel, combo % 2 ? &pool : nullptr)) << kernel;
                for (int64_t m = 0; m < c.M; ++m) {
                    for (int64_t n = 0; n < c.N; ++n)
                        ASSERT_EQ(got[size_t(m * ldc + n)], want[size_t(m * c.N + n)])
                            << kernel << " M=" << c.M << " N=" << c.N << " K=" << c.K << " combo " << combo << " at " << m << "," << n;
                    for (int64_t n = c.N; n < ldc; ++n) ASSERT_EQ(got[size_t(m * ldc + n)], -7) << kernel << " wrote past N";
                }
            }
    EXPECT_FALSE(int8GemmWithKernel(Int8GemmArgs{}, "no-such-kernel"));
}

// A packed B is reused for several A matrices and gives what the one-shot product gives.
TEST(Int8Gemm, PackedBIsReusable) {
    std::mt19937 rng(11);
    ThreadPool pool(2);
    const int64_t K = 700, N = 45;
    const auto B = randomBytes(size_t(K * N), rng);
    std::vector<int32_t> zb(static_cast<size_t>(N));
    for (auto& z : zb) z = int32_t(rng() % 256);
    Int8GemmArgs g;
    g.N = N;
    g.K = K;
    g.B = B.data();
    g.ldb = N;
    g.bSigned = false;
    g.bZero = zb.data();
    g.bZeroPerColumn = true;
    const PackedInt8Matrix packed = packInt8B(g, &pool);
    EXPECT_EQ(packed.K, K);
    EXPECT_EQ(packed.N, N);
    for (int64_t M : {1, 19, 64}) {
        const auto A = randomBytes(size_t(M * K), rng);
        const int32_t za = -5;
        g.M = M;
        g.A = A.data();
        g.lda = K;
        g.aSigned = true;
        g.aZero = &za;
        g.aZeroPerRow = false;
        std::vector<int32_t> viaPacked(size_t(M * N)), direct(size_t(M * N));
        g.ldc = N;
        g.C = viaPacked.data();
        ASSERT_TRUE(int8GemmPacked(g, packed, &pool).ok());
        g.C = direct.data();
        int8GemmReference(g);
        EXPECT_EQ(viaPacked, direct) << "M=" << M;
        const Case c{M, N, K, true, false, false, true};
        EXPECT_EQ(direct, naive(c, A, B, {za}, zb)) << "M=" << M;
    }
    g.K = K - 1;
    const Status bad = int8GemmPacked(g, packed, &pool);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what().find("packed as K = 700"), std::string::npos) << bad.error().what();
}

TEST(Int8Gemm, ExtremeValuesDoNotSaturate) {
    // All -128 x -128 (signed) over K = 4096: 67,108,864 per entry, far beyond 16-bit sums.
    const int64_t M = 4, N = 4, K = 4096;
    std::vector<uint8_t> A(size_t(M * K), 0x80), B(size_t(K * N), 0x80);
    std::vector<int32_t> C(size_t(M * N));
    Int8GemmArgs g;
    g.M = M;
    g.N = N;
    g.K = K;
    g.A = A.data();
    g.lda = K;
    g.aSigned = true;
    g.B = B.data();
    g.ldb = N;
    g.bSigned = true;
    g.C = C.data();
    g.ldc = N;
    int8Gemm(g);
    for (int32_t v : C) EXPECT_EQ(v, 128 * 128 * K);
}

}  // namespace
}  // namespace by
