// Transformer ops against direct computations: Gelu, SkipLayerNormalization (vs Add +
// LayerNormalization in the same executor), RotaryEmbedding, and MultiHeadAttention including
// the key/value cache: generating token by token with past/present must equal one causal pass.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/executor.h"

namespace by {
namespace {

struct G {
    Graph g;
    void input(const std::string& n, const Shape& s, DType t = DType::F32) {
        const int id = g.valueId(n);
        g.values[size_t(id)].dtype = t;
        g.values[size_t(id)].shape = toDimShape(s);
        g.inputs.push_back(id);
    }
    Node& node(const std::string& op, const std::string& domain, const std::vector<std::string>& ins,
               const std::vector<std::string>& outs) {
        Node n;
        n.opType = op;
        n.domain = domain;
        for (const auto& i : ins) n.inputs.push_back(i.empty() ? -1 : g.valueId(i));
        for (const auto& o : outs) n.outputs.push_back(o.empty() ? -1 : g.valueId(o));
        g.addNode(std::move(n));
        return g.nodes.back();
    }
    void output(const std::string& n) { g.outputs.push_back(g.valueId(n)); }
    std::vector<Tensor> run(const std::map<std::string, Tensor>& feed) {
        EXPECT_TRUE(g.rebuildLinks().ok());
        auto ex = Executor::create(g, 17);
        EXPECT_TRUE(ex.ok()) << ex.error().what();
        if (!ex) return {};
        auto out = ex->run(feed);
        EXPECT_TRUE(out.ok()) << out.error().what();
        return out ? *out : std::vector<Tensor>{};
    }
};

std::vector<float> randn(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d;
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

TEST(TransformerOps, GeluExactAndTanh) {
    for (const char* approx : {"none", "tanh"}) {
        G b;
        b.input("x", {7});
        b.node("Gelu", "", {"x"}, {"y"}).setAttr("approximate", Attribute::ofString(approx));
        b.output("y");
        const std::vector<float> x = {-3.f, -1.f, -0.5f, 0.f, 0.5f, 1.f, 3.f};
        auto out = b.run({{"x", Tensor::fromFloats({7}, x)}});
        ASSERT_EQ(out.size(), 1u);
        for (size_t i = 0; i < x.size(); ++i) {
            const double v = x[i];
            const double want = std::string(approx) == "none"
                                    ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
                                    : 0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
            EXPECT_NEAR(out[0].data<float>()[i], want, 1e-6) << approx << " at " << v;
        }
    }
}

TEST(TransformerOps, SkipLayerNormEqualsAddThenLayerNorm) {
    const int64_t rows = 6, hidden = 16;
    const auto x = randn(size_t(rows * hidden), 1), s = randn(size_t(rows * hidden), 2);
    const auto gamma = randn(size_t(hidden), 3), beta = randn(size_t(hidden), 4), bias = randn(size_t(hidden), 5);
    G b;
    b.input("x", {2, 3, hidden});
    b.input("s", {2, 3, hidden});
    b.g.addInitializer("gamma", Tensor::fromFloats({hidden}, gamma));
    b.g.addInitializer("beta", Tensor::fromFloats({hidden}, beta));
    b.g.addInitializer("bias", Tensor::fromFloats({hidden}, bias));
    b.node("SkipLayerNormalization", "com.microsoft", {"x", "s", "gamma", "beta", "bias"}, {"y", "", "", "sum"})
        .setAttr("epsilon", Attribute::ofFloat(1e-5));
    b.node("Add", "", {"x", "s"}, {"t"});
    b.node("Add", "", {"t", "bias"}, {"u"});
    b.node("LayerNormalization", "", {"u", "gamma", "beta"}, {"ref"}).setAttr("epsilon", Attribute::ofFloat(1e-5));
    b.output("y");
    b.output("sum");
    b.output("ref");
    auto out = b.run({{"x", Tensor::fromFloats({2, 3, hidden}, x)}, {"s", Tensor::fromFloats({2, 3, hidden}, s)}});
    ASSERT_EQ(out.size(), 3u);
    for (int64_t i = 0; i < rows * hidden; ++i) {
        EXPECT_NEAR(out[0].data<float>()[i], out[2].data<float>()[i], 1e-5);
        EXPECT_NEAR(out[1].data<float>()[i], x[size_t(i)] + s[size_t(i)] + bias[size_t(i % hidden)], 1e-6);
    }
}

TEST(TransformerOps, RotaryEmbeddingRotatesPairsByPosition) {
    const int64_t B = 1, S = 3, N = 2, H = 8, half = H / 2, maxPos = 16;
    std::vector<float> cosv(size_t(maxPos * half)), sinv(size_t(maxPos * half));
    for (int64_t p = 0; p < maxPos; ++p)
        for (int64_t i = 0; i < half; ++i) {
            const double theta = double(p) / std::pow(10000.0, 2.0 * double(i) / double(H));
            cosv[size_t(p * half + i)] = float(std::cos(theta));
            sinv[size_t(p * half + i)] = float(std::sin(theta));
        }
    const auto x = randn(size_t(B * S * N * H), 9);
    G b;
    b.input("x", {B, S, N * H});
    b.input("pos", {B, S}, DType::I64);
    b.g.addInitializer("cos", Tensor::fromFloats({maxPos, half}, cosv));
    b.g.addInitializer("sin", Tensor::fromFloats({maxPos, half}, sinv));
    b.node("RotaryEmbedding", "com.microsoft", {"x", "pos", "cos", "sin"}, {"y"}).setAttr("num_heads", Attribute::ofInt(N));
    b.output("y");
    const std::vector<int64_t> pos = {5, 6, 7};
    auto out = b.run({{"x", Tensor::fromFloats({B, S, N * H}, x)}, {"pos", Tensor::fromInt64s({B, S}, pos)}});
    ASSERT_EQ(out.size(), 1u);
    const float* y = out[0].data<float>();
    for (int64_t s = 0; s < S; ++s)
        for (int64_t h = 0; h < N; ++h)
            for (int64_t i = 0; i < half; ++i) {
                const int64_t base = s * N * H + h * H;
                const double th = double(pos[size_t(s)]) / std::pow(10000.0, 2.0 * double(i) / double(H));
                const double a = x[size_t(base + i)], c = x[size_t(base + i + half)];
                EXPECT_NEAR(y[base + i], a * std::cos(th) - c * std::sin(th), 1e-5);
                EXPECT_NEAR(y[base + i + half], c * std::cos(th) + a * std::sin(th), 1e-5);
            }
    // A position beyond the caches is an error naming it.
    G bad = b;
    auto ex = Executor::create(bad.g, 17);
    ASSERT_TRUE(ex.ok());
    auto r = ex->run({{"x", Tensor::fromFloats({B, S, N * H}, x)}, {"pos", Tensor::fromInt64s({B, S}, {1, 2, 99})}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("position 99"), std::string::npos) << r.error().what();
}

// softmax(q k^T / sqrt(H)) v per head, causal, written out directly.
std::vector<float> naiveAttention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                  int64_t B, int64_t S, int64_t N, int64_t H) {
    std::vector<float> y(size_t(B * S * N * H), 0.f);
    const int64_t D = N * H;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < N; ++h)
            for (int64_t s = 0; s < S; ++s) {
                std::vector<double> w(size_t(s + 1));
                double mx = -1e300, sum = 0;
                for (int64_t t = 0; t <= s; ++t) {
                    double d = 0;
                    for (int64_t i = 0; i < H; ++i) d += double(q[size_t((b * S + s) * D + h * H + i)]) * k[size_t((b * S + t) * D + h * H + i)];
                    w[size_t(t)] = d / std::sqrt(double(H));
                    mx = std::max(mx, w[size_t(t)]);
                }
                for (auto& x : w) sum += (x = std::exp(x - mx));
                for (int64_t t = 0; t <= s; ++t)
                    for (int64_t i = 0; i < H; ++i)
                        y[size_t((b * S + s) * D + h * H + i)] += float(w[size_t(t)] / sum) * v[size_t((b * S + t) * D + h * H + i)];
            }
    return y;
}

G attentionGraph(int64_t B, int64_t S, int64_t N, int64_t H, int64_t past) {
    G b;
    b.input("q", {B, S, N * H});
    b.input("k", {B, S, N * H});
    b.input("v", {B, S, N * H});
    std::vector<std::string> ins = {"q", "k", "v", "", "", ""};
    if (past) {
        b.input("pk", {B, N, past, H});
        b.input("pv", {B, N, past, H});
        ins.push_back("pk");
        ins.push_back("pv");
    }
    Node& n = b.node("MultiHeadAttention", "com.microsoft", ins, {"y", "presk", "presv"});
    n.setAttr("num_heads", Attribute::ofInt(N));
    n.setAttr("unidirectional", Attribute::ofInt(1));
    b.output("y");
    b.output("presk");
    b.output("presv");
    return b;
}

TEST(TransformerOps, MultiHeadAttentionCausalAndKvCache) {
    const int64_t B = 2, S = 5, N = 2, H = 4, D = N * H;
    const auto q = randn(size_t(B * S * D), 11), k = randn(size_t(B * S * D), 12), v = randn(size_t(B * S * D), 13);
    G full = attentionGraph(B, S, N, H, 0);
    auto out = full.run({{"q", Tensor::fromFloats({B, S, D}, q)}, {"k", Tensor::fromFloats({B, S, D}, k)},
                         {"v", Tensor::fromFloats({B, S, D}, v)}});
    ASSERT_EQ(out.size(), 3u);
    const auto want = naiveAttention(q, k, v, B, S, N, H);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(out[0].data<float>()[i], want[i], 1e-5) << i;
    EXPECT_EQ(out[1].shape(), (Shape{B, N, S, H}));

    // Prefix of 3 tokens, then 2 more with the cache: the same outputs for the last two tokens.
    auto slice = [&](const std::vector<float>& t, int64_t s0, int64_t s1) {
        std::vector<float> r;
        for (int64_t b = 0; b < B; ++b)
            r.insert(r.end(), t.begin() + (b * S + s0) * D, t.begin() + (b * S + s1) * D);
        return Tensor::fromFloats({B, s1 - s0, D}, r);
    };
    G first = attentionGraph(B, 3, N, H, 0);
    auto o1 = first.run({{"q", slice(q, 0, 3)}, {"k", slice(k, 0, 3)}, {"v", slice(v, 0, 3)}});
    ASSERT_EQ(o1.size(), 3u);
    G second = attentionGraph(B, 2, N, H, 3);
    auto o2 = second.run({{"q", slice(q, 3, 5)}, {"k", slice(k, 3, 5)}, {"v", slice(v, 3, 5)}, {"pk", o1[1]}, {"pv", o1[2]}});
    ASSERT_EQ(o2.size(), 3u);
    EXPECT_EQ(o2[1].shape(), (Shape{B, N, 5, H}));
    for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < 2; ++s)
            for (int64_t i = 0; i < D; ++i)
                EXPECT_NEAR(o2[0].data<float>()[(b * 2 + s) * D + i], out[0].data<float>()[(b * S + 3 + s) * D + i], 1e-5);
    for (int64_t i = 0; i < out[1].numel(); ++i) EXPECT_NEAR(o2[1].data<float>()[i], out[1].data<float>()[i], 1e-6);
}

}  // namespace
}  // namespace by
