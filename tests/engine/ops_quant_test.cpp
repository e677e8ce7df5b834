// MatMulNBits (packed 2/4/8-bit weights with block scales) against the dequantized f32 product,
// on both the per-row (generation) and the dequantize+GEMM (prompt) paths.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/executor.h"
#include "engine/matmul_nbits.h"

namespace by {
namespace {

struct NBitsCase {
    int64_t M, K, N, bits, block;
    bool zeroPoints, bias;
    bool floatZeros = false;  // zero points as f32 values instead of packed bytes
    int64_t accuracyLevel = 0;  // 4 allows int8 activations
};

void pack(std::vector<uint8_t>& dst, size_t byteOffset, int64_t j, int64_t bits, int v) {
    const int64_t bit = j * bits;
    dst[byteOffset + size_t(bit >> 3)] |= uint8_t(v << (bit & 7));
}

void runCase(const NBitsCase& c) {
    std::mt19937 rng(uint32_t(c.M * 31 + c.K * 7 + c.N + c.bits));
    std::uniform_real_distribution<float> ud(-1.f, 1.f), sd(0.01f, 0.1f);
    const int64_t levels = int64_t(1) << c.bits;
    std::uniform_int_distribution<int> qd(0, int(levels - 1));
    const int64_t blocks = (c.K + c.block - 1) / c.block, blob = c.block * c.bits / 8;
    std::vector<uint8_t> q(size_t(c.N * blocks * blob), 0);
    std::vector<float> scales(size_t(c.N * blocks)), zeros(size_t(c.N * blocks), float(levels / 2));
    const int64_t zRow = (blocks * c.bits + 7) / 8;
    std::vector<uint8_t> zp(size_t(c.N * zRow), 0);
    std::vector<float> w(size_t(c.K * c.N), 0.f);  // dequantized [K, N]
    for (int64_t n = 0; n < c.N; ++n)
        for (int64_t b = 0; b < blocks; ++b) {
            const size_t si = size_t(n * blocks + b);
            scales[si] = sd(rng);
            if (c.zeroPoints) {
                const int z = qd(rng);
                zeros[si] = float(z);
                pack(zp, size_t(n * zRow), b, c.bits, z);
            }
            for (int64_t j = 0; j < c.block; ++j) {
                const int v = qd(rng);
                pack(q, size_t(si) * size_t(blob), j, c.bits, v);
                const int64_t k = b * c.block + j;
                if (k < c.K) w[size_t(k * c.N + n)] = (float(v) - zeros[si]) * scales[si];
            }
        }
    std::vector<float> a(size_t(c.M * c.K)), bias(size_t(c.N));
    for (auto& x : a) x = ud(rng);
    for (auto& x : bias) x = ud(rng);

    Graph g;
    const int x = g.valueId("x");
    g.values[size_t(x)].dtype = DType::F32;
    g.values[size_t(x)].shape = toDimShape({c.M, c.K});
    g.inputs.push_back(x);
    g.addInitializer("q", *Tensor::fromBytes(DType::U8, {c.N, blocks, blob}, q));
    g.addInitializer("scales", Tensor::fromFloats({c.N * blocks}, scales));
    if (c.zeroPoints && c.floatZeros) g.addInitializer("zp", Tensor::fromFloats({c.N * blocks}, zeros));
    else if (c.zeroPoints) g.addInitializer("zp", *Tensor::fromBytes(DType::U8, {c.N * zRow}, zp));
    if (c.bias) g.addInitializer("bias", Tensor::fromFloats({c.N}, bias));
    Node n;
    n.opType = "MatMulNBits";
    n.domain = "com.microsoft";
    n.inputs = {x, g.valueId("q"), g.valueId("scales"), c.zeroPoints ? g.valueId("zp") : -1, -1, c.bias ? g.valueId("bias") : -1};
    n.outputs = {g.valueId("y")};
    n.setAttr("K", Attribute::ofInt(c.K));
    n.setAttr("N", Attribute::ofInt(c.N));
    n.setAttr("bits", Attribute::ofInt(c.bits));
    n.setAttr("block_size", Attribute::ofInt(c.block));
    if (c.accuracyLevel) n.setAttr("accuracy_level", Attribute::ofInt(c.accuracyLevel));
    g.addNode(std::move(n));
    g.outputs.push_back(g.valueId("y"));
    ASSERT_TRUE(g.rebuildLinks().ok());
    auto ex = Executor::create(g, 17);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    auto out = ex->run({{"x", Tensor::fromFloats({c.M, c.K}, a)}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    const float* y = (*out)[0].data<float>();
    for (int64_t m = 0; m < c.M; ++m)
        for (int64_t j = 0; j < c.N; ++j) {
            double want = c.bias ? bias[size_t(j)] : 0.0;
            for (int64_t k = 0; k < c.K; ++k) want += double(a[size_t(m * c.K + k)]) * double(w[size_t(k * c.N + j)]);
            // f32 paths: rounding only. Accuracy level 4 may also round each activation to int8
            // steps of (max |a| over its group of 32) / 127, so the product may move by up to half
            // a step times |w| per element.
            double tol = 1e-4 * (1.0 + std::abs(want));
            if (c.accuracyLevel == 4)
                for (int64_t k0 = 0; k0 < c.K; k0 += 32) {
                    double mx = 0, sw = 0;
                    for (int64_t k = k0; k < std::min(c.K, k0 + 32); ++k) {
                        mx = std::max(mx, double(std::abs(a[size_t(m * c.K + k)])));
                        sw += std::abs(double(w[size_t(k * c.N + j)]));
                    }
                    tol += mx / 127.0 / 2.0 * sw;
                }
            ASSERT_NEAR(y[m * c.N + j], want, tol)
                << "M=" << c.M << " K=" << c.K << " N=" << c.N << " bits=" << c.bits << " block=" << c.block << " kernel "
                << matmulNBitsKernelName() << " at " << m << "," << j;
        }
}

TEST(MatMulNBits, MatchesDequantizedProduct) {
    // Every kernel this CPU runs; the vector ones take 4 outputs at a time (N % 4 != 0 checks
    // the remainder) and 4-bit blocks in groups of 32 (blocks of 64 and 128 loop inside a block).
    for (const char* kernel : matmulNBitsKernels()) {
        ASSERT_TRUE(forceMatmulNBitsKernel(kernel));
        runCase({1, 64, 48, 4, 32, false, false});
        runCase({2, 96, 40, 4, 32, true, true});     // 3 whole blocks
        runCase({1, 100, 30, 4, 32, true, false});   // K padded inside the last block
        runCase({1, 300, 7, 4, 64, true, true});     // N below one group of 4, K padded
        runCase({3, 256, 13, 4, 128, false, true});  // default zero point, 2 blocks of 128
        runCase({1, 130, 9, 4, 32, true, false, true});  // f32 zero points
        runCase({16, 128, 24, 4, 64, true, true});   // dequantize + GEMM path
        runCase({3, 64, 20, 2, 16, true, false});
        runCase({12, 80, 10, 8, 16, false, true});
        runCase({1, 200, 11, 8, 32, true, true});    // 8-bit, K padded, N % 4 == 3
        runCase({2, 48, 6, 4, 16, true, false});     // 4-bit block 16: not a vector shape
    }
    ASSERT_TRUE(forceMatmulNBitsKernel(nullptr));
    EXPECT_FALSE(forceMatmulNBitsKernel("no-such-kernel"));
}

// accuracy_level 4: int8 activations against the 4-bit weights where the CPU has VNNI (the f32
// path otherwise), within the bound of rounding each activation; odd group counts, K padded,
// default and packed zero points, blocks of 32 (two blocks per step) and 64 / 128.
TEST(MatMulNBits, Int8ActivationsStayWithinTheRoundingBound) {
    runCase({1, 64, 48, 4, 32, false, false, false, 4});
    runCase({1, 96, 40, 4, 32, true, true, false, 4});    // 3 groups: the last step has one
    runCase({1, 100, 30, 4, 32, true, false, false, 4});  // K padded inside the last block
    runCase({2, 300, 7, 4, 64, true, true, false, 4});    // N below one group of 4
    runCase({3, 512, 13, 4, 128, false, true, false, 4});
    runCase({1, 130, 9, 4, 32, true, false, true, 4});    // f32 zero points: the exact path
    runCase({1, 1024, 64, 4, 32, true, false, false, 4});
    runCase({2, 160, 12, 4, 32, false, false, false, 4});  // 5 groups, default zero point
}

TEST(MatMulNBits, WrongPackedSizeIsAClearError) {
    Graph g;
    const int x = g.valueId("x");
    g.values[size_t(x)].dtype = DType::F32;
    g.values[size_t(x)].shape = toDimShape({1, 64});
    g.inputs.push_back(x);
    g.addInitializer("q", *Tensor::fromBytes(DType::U8, {4, 2, 8}, std::vector<uint8_t>(64, 0)));
    g.addInitializer("scales", Tensor::fromFloats({8}, std::vector<float>(8, 1.f)));
    Node n;
    n.opType = "MatMulNBits";
    n.domain = "com.microsoft";
    n.inputs = {x, g.valueId("q"), g.valueId("scales")};
    n.outputs = {g.valueId("y")};
    n.setAttr("K", Attribute::ofInt(64));
    n.setAttr("N", Attribute::ofInt(4));
    n.setAttr("bits", Attribute::ofInt(4));
    n.setAttr("block_size", Attribute::ofInt(32));
    g.addNode(std::move(n));
    g.outputs.push_back(g.valueId("y"));
    ASSERT_TRUE(g.rebuildLinks().ok());
    auto ex = Executor::create(g, 17);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    auto out = ex->run({{"x", Tensor::fromFloats({1, 64}, std::vector<float>(64, 1.f))}});
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.error().what().find("MatMulNBits B must be uint8 [4,2,16]"), std::string::npos) << out.error().what();
}

}  // namespace
}  // namespace by
