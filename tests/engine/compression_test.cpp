// Compression passes on small in-memory models: each pass's output checked against arithmetic done
// here independently (packing, sparsity pattern, SVD energy), and bad recipes refused without
// touching the input. The real trained models are exercised in tests/importers/compression_real_test.cpp.
#include "engine/compression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/executor.h"
#include "engine/model_compare.h"

namespace by {
namespace {

std::vector<float> randomFloats(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// X [M, K] -> op with a constant weight -> Y. "Gemm" stores W as [N, K] (transB=1) with a bias,
// "MatMul" stores [K, N].
Model linearModel(const std::string& op, int64_t M, int64_t K, int64_t N, uint32_t seed = 1) {
    Model m;
    m.format = "onnx";
    m.opsets = {{"", 13}};
    Graph& g = m.graph;
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = toDimShape({M, K});
    g.inputs.push_back(g.addValue(x));
    Node n;
    n.name = "fc";
    n.opType = op;
    const int w = g.addInitializer("w", Tensor::fromFloats(op == "Gemm" ? Shape{N, K} : Shape{K, N}, randomFloats(size_t(N * K), seed, 0.1f)));
    n.inputs = {g.inputs[0], w};
    if (op == "Gemm") {
        n.setAttr("transB", Attribute::ofInt(1));
        n.inputs.push_back(g.addInitializer("b", Tensor::fromFloats({N}, randomFloats(size_t(N), seed + 1, 0.1f))));
    }
    Value y;
    y.name = "y";
    y.dtype = DType::F32;
    const int yid = g.addValue(y);
    n.outputs = {yid};
    g.outputs.push_back(yid);
    g.addNode(n);
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

std::vector<float> runModel(const Model& m, const Tensor& x) {
    auto ex = Executor::create(m);
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex) return {};
    auto out = ex->run({{"x", x}});
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    auto f = (*out)[0].toFloats();
    return f ? *f : std::vector<float>{};
}

uint64_t weightHash(const Model& m) {
    uint64_t h = 1469598103934665603ull;
    for (const auto& v : m.graph.values)
        if (v.data)
            for (uint8_t b : v.data->bytes()) h = (h ^ b) * 1099511628211ull;
    return h;
}

double relDiff(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
}

const Tensor& initializer(const Model& m, int valueId) {
    const auto& v = m.graph.values[size_t(valueId)];
    EXPECT_TRUE(v.data.has_value()) << v.name;
    return *v.data;
}

Recipe oneStep(CompressStep s) {
    Recipe r;
    r.steps.push_back(s);
    return r;
}

TEST(Compression, Int8PerChannelShrinksAndTracksTheOriginal) {
    const Model m = linearModel("Gemm", 4, 96, 40);
    const Model copy = m;
    const uint64_t before = weightHash(m);
    auto r = compress(m, oneStep({}));
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(weightHash(m), before);
    EXPECT_FALSE(firstDifference(m, copy).has_value());
    ASSERT_EQ(r->layers.size(), 1u);
    EXPECT_TRUE(r->layers[0].applied);
    EXPECT_EQ(r->layers[0].bytesBefore, 96 * 40 * 4);
    EXPECT_EQ(r->layers[0].bytesAfter, 96 * 40 + 40 * 4);
    EXPECT_GT(r->layers[0].relError, 0.0);
    EXPECT_LT(r->layers[0].relError, 0.02);
    EXPECT_LT(double(r->bytesAfter), 0.3 * double(r->bytesBefore));
    EXPECT_EQ(r->model.graph.opHistogram().at("DequantizeLinear"), 1);
    const Tensor x = Tensor::fromFloats({4, 96}, randomFloats(4 * 96, 7));
    EXPECT_LT(relDiff(runModel(r->model, x), runModel(m, x)), 0.02);
}

TEST(Compression, NBitsOutputMatchesTheDequantizedProduct) {
    const int64_t M = 3, K = 80, N = 24;  // K not a multiple of the group: the last block is padded
    const Model m = linearModel("MatMul", M, K, N);
    CompressStep s;
    s.method = CompressMethod::QuantizeNBits;
    s.bits = 4;
    s.group = 32;
    auto r = compress(m, oneStep(s));
    ASSERT_TRUE(r.ok()) << r.error().what();
    const Node* nb = nullptr;
    for (const auto& n : r->model.graph.nodes)
        if (n.opType == "MatMulNBits") nb = &n;
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb->attrInt("bits", 0), 4);
    // Decode B, scales and zero points here from the documented layout.
    const Tensor& B = initializer(r->model, nb->inputs[1]);
    const Tensor& S = initializer(r->model, nb->inputs[2]);
    const Tensor& Z = initializer(r->model, nb->inputs[3]);
    const int64_t blocks = 3, blob = 16, zrow = 2;
    ASSERT_EQ(B.numel(), N * blocks * blob);
    std::vector<float> wq(size_t(K * N));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            const int64_t b = k / 32, j = k % 32;
            const uint8_t byte = B.data<uint8_t>()[(n * blocks + b) * blob + j / 2];
            const int q = j % 2 ? byte >> 4 : byte & 15;
            const uint8_t zb = Z.data<uint8_t>()[n * zrow + b / 2];
            const int z = b % 2 ? zb >> 4 : zb & 15;
            wq[size_t(k * N + n)] = float(q - z) * S.data<float>()[n * blocks + b];
        }
    const Tensor x = Tensor::fromFloats({M, K}, randomFloats(size_t(M * K), 9));
    std::vector<float> expect(size_t(M * N), 0.f);
    for (int64_t i = 0; i < M; ++i)
        for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k) expect[size_t(i * N + n)] += x.data<float>()[i * K + k] * wq[size_t(k * N + n)];
    const auto got = runModel(r->model, x);
    ASSERT_EQ(got.size(), expect.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[i], 1e-4) << i;
    // And 4-bit stays close to the f32 product.
    EXPECT_LT(relDiff(got, runModel(m, x)), 0.15);
    EXPECT_GT(r->layers[0].relError, 0.01);
}

TEST(Compression, ThreeBitsUsesFourBitContainersWithEightLevels) {
    const Model m = linearModel("Gemm", 2, 64, 16);
    CompressStep s;
    s.method = CompressMethod::QuantizeNBits;
    s.bits = 3;
    s.group = 16;
    auto r3 = compress(m, oneStep(s));
    ASSERT_TRUE(r3.ok()) << r3.error().what();
    s.bits = 4;
    auto r4 = compress(m, oneStep(s));
    ASSERT_TRUE(r4.ok());
    s.bits = 2;
    auto r2 = compress(m, oneStep(s));
    ASSERT_TRUE(r2.ok());
    EXPECT_LT(r4->layers[0].relError, r3->layers[0].relError);
    EXPECT_LT(r3->layers[0].relError, r2->layers[0].relError);
    for (const auto& n : r3->model.graph.nodes)
        if (n.opType == "MatMulNBits") {
            EXPECT_EQ(n.attrInt("bits", 0), 4);
            const Tensor& B = initializer(r3->model, n.inputs[1]);
            for (uint8_t b : B.bytes()) {
                EXPECT_LT(b & 15, 8);
                EXPECT_LT(b >> 4, 8);
            }
        }
    const Tensor x = Tensor::fromFloats({2, 64}, randomFloats(128, 3));
    EXPECT_LT(relDiff(runModel(r3->model, x), runModel(m, x)), 0.3);
}

TEST(Compression, TwoFourPruningKeepsTwoOfEveryFourAlongK) {
    const int64_t K = 64, N = 12;
    const Model m = linearModel("MatMul", 2, K, N);
    CompressStep s;
    s.method = CompressMethod::PruneNM;
    auto r = compress(m, oneStep(s));
    ASSERT_TRUE(r.ok()) << r.error().what();
    const Tensor& W = initializer(r->model, r->model.graph.nodes[0].inputs[1]);
    const Tensor& W0 = *m.graph.values[size_t(m.graph.nodes[0].inputs[1])].data;
    const float* p = W.data<float>();
    const float* p0 = W0.data<float>();
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k0 = 0; k0 < K; k0 += 4) {
            int zeros = 0;
            float keptMin = 1e9f, droppedMax = 0;
            for (int64_t k = k0; k < k0 + 4; ++k) {
                const float v = p[k * N + n], o = p0[k * N + n];
                if (v == 0) {
                    ++zeros;
                    droppedMax = std::max(droppedMax, std::fabs(o));
                } else {
                    EXPECT_EQ(v, o);
                    keptMin = std::min(keptMin, std::fabs(o));
                }
            }
            EXPECT_EQ(zeros, 2);
            EXPECT_GE(keptMin, droppedMax);
        }
    EXPECT_DOUBLE_EQ(r->layers[0].sparsity, 0.5);
}

TEST(Compression, MagnitudePruningPerLayerAndGlobal) {
    Model m = linearModel("Gemm", 2, 32, 16);
    CompressStep s;
    s.method = CompressMethod::Prune;
    s.sparsity = 0.3;
    auto r = compress(m, oneStep(s));
    ASSERT_TRUE(r.ok());
    EXPECT_NEAR(r->layers[0].sparsity, std::floor(0.3 * 512) / 512, 1e-12);
    s.global = true;
    auto rg = compress(m, oneStep(s));
    ASSERT_TRUE(rg.ok());
    EXPECT_NEAR(rg->layers[0].sparsity, std::floor(0.3 * 512) / 512, 1e-12);
}

TEST(Compression, LowRankKeepsTheEnergyAsked) {
    const int64_t M = 5, K = 96, N = 64;
    Model m = linearModel("Gemm", M, K, N);
    // Trained weights have decaying spectra; a random Gaussian matrix does not. Rank 8 plus noise.
    const auto a = randomFloats(size_t(N * 8), 11), b = randomFloats(size_t(8 * K), 12), noise = randomFloats(size_t(N * K), 13, 0.3f);
    std::vector<float> w(size_t(N * K));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            float acc = noise[size_t(n * K + k)];
            for (int64_t i = 0; i < 8; ++i) acc += a[size_t(n * 8 + i)] * b[size_t(i * K + k)] / float(i + 1);
            w[size_t(n * K + k)] = acc;
        }
    m.graph.values[size_t(m.graph.findValue("w"))].data = Tensor::fromFloats({N, K}, w);
    for (double energy : {0.5, 0.8, 0.95}) {
        CompressStep s;
        s.method = CompressMethod::LowRank;
        s.energy = energy;
        auto r = compress(m, oneStep(s));
        ASSERT_TRUE(r.ok()) << r.error().what();
        const auto& row = r->layers[0];
        ASSERT_TRUE(row.applied) << row.note;
        // Kept energy >= asked <=> relative Frobenius error <= sqrt(1 - energy).
        EXPECT_LE(row.relError, std::sqrt(1 - energy) + 1e-5);
        EXPECT_LT(row.paramsAfter, row.paramsBefore);
        const Tensor x = Tensor::fromFloats({M, K}, randomFloats(size_t(M * K), 4));
        EXPECT_EQ(r->model.graph.nodes.size(), 2u);
        const auto y = runModel(r->model, x), y0 = runModel(m, x);
        EXPECT_LT(relDiff(y, y0), 1.0);
    }
}

TEST(Compression, LowRankSkipsLayersWhereFactorsAreNotSmaller) {
    const Model m = linearModel("MatMul", 2, 16, 16);
    CompressStep s;
    s.method = CompressMethod::LowRank;
    s.rank = 12;  // 12 * 32 > 256
    auto r = compress(m, oneStep(s));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->layers[0].applied);
    EXPECT_NE(r->layers[0].note.find("would not save parameters"), std::string::npos);
    EXPECT_EQ(r->model.graph.nodes.size(), 1u);
}

TEST(Compression, PreviewMatchesTheCompressedRow) {
    const Model m = linearModel("Gemm", 2, 64, 32);
    CompressStep s;
    s.method = CompressMethod::QuantizeNBits;
    s.bits = 4;
    auto full = compress(m, oneStep(s));
    auto one = previewLayer(m, "fc", s);
    ASSERT_TRUE(full.ok() && one.ok());
    EXPECT_DOUBLE_EQ(one->relError, full->layers[0].relError);
    EXPECT_EQ(one->bytesAfter, full->layers[0].bytesAfter);
}

struct BadCase {
    CompressStep step;
    const char* expect;
};

TEST(Compression, BadRecipesAreRefusedAndTheModelIsUntouched) {
    const Model m = linearModel("Gemm", 2, 64, 32);
    const Model copy = m;
    const uint64_t before = weightHash(m);
    std::vector<BadCase> cases;
    CompressStep s;
    s.layers.names = {"nope"};
    cases.push_back({s, "step 1 (quantize_int8): the model has no layer named 'nope'"});
    s = {};
    s.method = CompressMethod::QuantizeNBits;
    s.bits = 0;
    cases.push_back({s, "bits must be between 2 and 8, not 0"});
    s.bits = 5;
    cases.push_back({s, "5-bit weights are not supported"});
    s.bits = 4;
    s.group = 24;
    cases.push_back({s, "group 24 must be a power of two"});
    s = {};
    s.method = CompressMethod::LowRank;
    s.rank = 40;
    cases.push_back({s, "rank 40 is above min(K, N) = 32 of Gemm 'fc'"});
    s.rank = 0;
    s.rankRatio = 1.5;
    cases.push_back({s, "rank_ratio must be between 0 and 1"});
    s = {};
    s.method = CompressMethod::Prune;
    s.sparsity = 1.0;
    cases.push_back({s, "sparsity must be between 0 and 1"});
    s = {};
    s.method = CompressMethod::PruneNM;
    s.n = 4;
    cases.push_back({s, "4:4 is not an N:M pattern"});
    s = {};
    s.method = CompressMethod::QuantizeNBits;
    s.layers.opTypes = {"Conv"};
    cases.push_back({s, "is not supported (MatMulNBits is a matrix product; use int8 for Conv)"});
    for (const auto& c : cases) {
        auto r = compress(m, oneStep(c.step));
        ASSERT_FALSE(r.ok()) << c.expect;
        EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
        EXPECT_FALSE(validateRecipe(m, oneStep(c.step)).ok()) << c.expect;
    }
    Recipe future = oneStep({});
    future.version = 2;
    auto r = compress(m, future);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
    EXPECT_EQ(weightHash(m), before);
    EXPECT_FALSE(firstDifference(m, copy).has_value());
}

TEST(Compression, SameRecipeGivesTheSameBytes) {
    const Model m = linearModel("Gemm", 2, 64, 32);
    Recipe r;
    CompressStep p;
    p.method = CompressMethod::LowRank;
    p.paramCut = 0.3;
    r.steps.push_back(p);
    r.steps.push_back(CompressStep{});
    auto a = compress(m, r), b = compress(m, r);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(firstDifference(a->model, b->model).has_value());
    EXPECT_EQ(a->layers.size(), 3u);  // low-rank row, then int8 of both factors
}

}  // namespace
}  // namespace by
