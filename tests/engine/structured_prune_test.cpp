// Transformer structured pruning on hand-built blocks: removing hidden neurons (or heads) must give
// exactly the model in which those neurons' (heads') down-projection rows are zero, with smaller
// weights and rewritten Reshape shapes; blocks that are not recognised are refused naming the node.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/compression.h"
#include "engine/executor.h"

namespace by {
namespace {

std::vector<float> randomFloats(size_t n, uint32_t seed, float scale = 0.5f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

int addF32(Graph& g, const std::string& name) {
    Value v;
    v.name = name;
    v.dtype = DType::F32;
    return g.addValue(v);
}

void addNode(Graph& g, const std::string& op, const std::string& name, std::vector<int> in, std::vector<int> out,
             std::vector<std::pair<std::string, Attribute>> attrs = {}) {
    Node n;
    n.name = name;
    n.opType = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    for (auto& [k, a] : attrs) n.setAttr(k, a);
    g.addNode(std::move(n));
}

constexpr int64_t T = 5, C = 8;

Model withInput() {
    Model m;
    m.format = "onnx";
    m.opsets = {{"", 13}};
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = DimShape{Dim::of(1), Dim::of(T), Dim::of(C)};
    m.graph.inputs.push_back(m.graph.addValue(x));
    return m;
}

// x -> MatMul W1 [8,16] -> Add b1 -> h * Sigmoid(h) -> MatMul W2 [16,8] -> Add b2. Neurons 0..7
// write through W2 rows scaled by `weak`, so the weight criterion ranks them lowest.
Model ffnModel(std::vector<float>& w2, float weak = 0.01f) {
    Model m = withInput();
    Graph& g = m.graph;
    const int64_t H = 16;
    w2 = randomFloats(size_t(H * C), 3);
    for (int64_t j = 0; j < 8; ++j)
        for (int64_t c = 0; c < C; ++c) w2[size_t(j * C + c)] *= weak;
    const int W1 = g.addInitializer("w1", Tensor::fromFloats({C, H}, randomFloats(size_t(C * H), 1)));
    const int B1 = g.addInitializer("b1", Tensor::fromFloats({H}, randomFloats(size_t(H), 2, 0.1f)));
    const int W2 = g.addInitializer("w2", Tensor::fromFloats({H, C}, w2));
    const int B2 = g.addInitializer("b2", Tensor::fromFloats({C}, randomFloats(size_t(C), 4, 0.1f)));
    int u = addF32(g, "u"), h = addF32(g, "h"), s = addF32(g, "s"), a = addF32(g, "a"), d = addF32(g, "d"), y = addF32(g, "y");
    addNode(g, "MatMul", "up", {g.inputs[0], W1}, {u});
    addNode(g, "Add", "up_bias", {u, B1}, {h});
    addNode(g, "Sigmoid", "sig", {h}, {s});
    addNode(g, "Mul", "swish", {h, s}, {a});
    addNode(g, "MatMul", "down", {a, W2}, {d});
    addNode(g, "Add", "down_bias", {d, B2}, {y});
    g.outputs.push_back(y);
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

// Fused attention: x -> MatMul Wqkv [8, 24] -> Add -> Reshape [0, T, 3, 4, 2] -> Transpose
// [2,0,3,1,4] -> Gather 0/1/2 -> q k^T * scale -> Softmax -> * v -> Transpose [0,2,1,3] ->
// Reshape [0, T, 8] -> MatMul Wo [8, 8] -> Add. Heads 1 and 3 are weak.
Model attentionModel(std::vector<float>& wo) {
    Model m = withInput();
    Graph& g = m.graph;
    const int64_t H = 4, D = 2;
    auto wqkv = randomFloats(size_t(C * 3 * H * D), 11);
    wo = randomFloats(size_t(H * D * C), 12);
    for (int64_t h : {1, 3})
        for (int64_t d = 0; d < D; ++d) {
            for (int64_t c = 0; c < C; ++c) {
                for (int part = 0; part < 3; ++part) wqkv[size_t(c * 3 * H * D + part * H * D + h * D + d)] *= 0.1f;
                wo[size_t((h * D + d) * C + c)] *= 0.1f;
            }
        }
    const int Wqkv = g.addInitializer("wqkv", Tensor::fromFloats({C, 3 * H * D}, wqkv));
    const int Bqkv = g.addInitializer("bqkv", Tensor::fromFloats({3 * H * D}, randomFloats(size_t(3 * H * D), 13, 0.1f)));
    const int S1 = g.addInitializer("split_shape", Tensor::fromInt64s({5}, {0, T, 3, H, D}));
    const int S2 = g.addInitializer("merge_shape", Tensor::fromInt64s({3}, {0, T, H * D}));
    const int Wo = g.addInitializer("wo", Tensor::fromFloats({H * D, C}, wo));
    const int Bo = g.addInitializer("bo", Tensor::fromFloats({C}, randomFloats(size_t(C), 14, 0.1f)));
    const int scale = g.addInitializer("scale", Tensor::fromFloats({}, {1.f / std::sqrt(float(D))}));
    std::vector<int> idx;
    for (int64_t i = 0; i < 3; ++i) idx.push_back(g.addInitializer("i" + std::to_string(i), Tensor::fromInt64s({}, {i})));
    int p = addF32(g, "p"), pb = addF32(g, "pb"), r = addF32(g, "r"), t = addF32(g, "t"), q = addF32(g, "q"), k = addF32(g, "k"),
        v = addF32(g, "v"), kt = addF32(g, "kt"), sc = addF32(g, "sc"), ss = addF32(g, "ss"), sm = addF32(g, "sm"), o = addF32(g, "o"),
        ot = addF32(g, "ot"), mg = addF32(g, "mg"), op = addF32(g, "op"), y = addF32(g, "y");
    addNode(g, "MatMul", "qkv", {g.inputs[0], Wqkv}, {p});
    addNode(g, "Add", "qkv_bias", {p, Bqkv}, {pb});
    addNode(g, "Reshape", "split_heads", {pb, S1}, {r});
    addNode(g, "Transpose", "t1", {r}, {t}, {{"perm", Attribute::ofInts({2, 0, 3, 1, 4})}});
    addNode(g, "Gather", "gq", {t, idx[0]}, {q}, {{"axis", Attribute::ofInt(0)}});
    addNode(g, "Gather", "gk", {t, idx[1]}, {k}, {{"axis", Attribute::ofInt(0)}});
    addNode(g, "Gather", "gv", {t, idx[2]}, {v}, {{"axis", Attribute::ofInt(0)}});
    addNode(g, "Transpose", "kt", {k}, {kt}, {{"perm", Attribute::ofInts({0, 1, 3, 2})}});
    addNode(g, "MatMul", "scores", {q, kt}, {sc});
    addNode(g, "Mul", "scaled", {sc, scale}, {ss});
    addNode(g, "Softmax", "softmax", {ss}, {sm}, {{"axis", Attribute::ofInt(-1)}});
    addNode(g, "MatMul", "context", {sm, v}, {o});
    addNode(g, "Transpose", "t2", {o}, {ot}, {{"perm", Attribute::ofInts({0, 2, 1, 3})}});
    addNode(g, "Reshape", "merge_heads", {ot, S2}, {mg});
    addNode(g, "MatMul", "out_proj", {mg, Wo}, {op});
    addNode(g, "Add", "out_bias", {op, Bo}, {y});
    g.outputs.push_back(y);
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

std::vector<float> runModel(const Model& m) {
    auto ex = Executor::create(m);
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex) return {};
    auto out = ex->run({{"x", Tensor::fromFloats({1, T, C}, randomFloats(size_t(T * C), 99, 1.f))}});
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    return *(*out)[0].toFloats();
}

Model withWeight(const Model& m, const std::string& name, const Shape& shape, const std::vector<float>& w) {
    Model r = m;
    Graph& g = r.graph;
    g.values[size_t(g.findValue(name))].data = Tensor::fromFloats(shape, w);
    return r;
}

const Tensor& weightOf(const Model& m, const std::string& node, size_t input) {
    for (const auto& n : m.graph.nodes)
        if (n.name == node) return *m.graph.values[size_t(n.inputs[input])].data;
    static Tensor none;
    ADD_FAILURE() << "no node " << node;
    return none;
}

Recipe oneStep(CompressMethod method, double sparsity) {
    CompressStep s;
    s.method = method;
    s.sparsity = sparsity;
    Recipe r;
    r.steps.push_back(s);
    return r;
}

TEST(StructuredPrune, FfnNeuronsGoFromBothProjectionsAndTheBias) {
    std::vector<float> w2;
    const Model m = ffnModel(w2);
    auto r = compress(m, oneStep(CompressMethod::PruneFfn, 0.5));
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->layers.size(), 1u);  // only "up" starts a block; "down" feeds a graph output
    EXPECT_EQ(r->layers[0].layer, "up");
    EXPECT_EQ(r->layers[0].detail, "8/16 neurons (weight norm)");
    EXPECT_EQ(weightOf(r->model, "up", 1).shape(), (Shape{C, 8}));
    EXPECT_EQ(weightOf(r->model, "up_bias", 1).shape(), (Shape{8}));
    EXPECT_EQ(weightOf(r->model, "down", 1).shape(), (Shape{8, C}));
    EXPECT_EQ(r->paramsBefore - r->paramsAfter, 8 * C + 8 + 8 * C);
    // The same as the original with the weak neurons' down-projection rows set to zero.
    std::vector<float> zeroed = w2;
    std::fill(zeroed.begin(), zeroed.begin() + 8 * C, 0.f);
    const auto ref = runModel(withWeight(m, "w2", {16, C}, zeroed));
    const auto got = runModel(r->model);
    ASSERT_EQ(got.size(), ref.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-5) << i;
}

TEST(StructuredPrune, AttentionHeadsAndTheirReshapesAreRewritten) {
    std::vector<float> wo;
    const Model m = attentionModel(wo);
    auto r = compress(m, oneStep(CompressMethod::PruneHeads, 0.5));
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->layers.size(), 1u);
    EXPECT_EQ(r->layers[0].layer, "qkv");
    EXPECT_EQ(r->layers[0].detail, "2/4 heads of 2 (weight norm)");
    EXPECT_EQ(weightOf(r->model, "qkv", 1).shape(), (Shape{C, 12}));
    EXPECT_EQ(weightOf(r->model, "qkv_bias", 1).shape(), (Shape{12}));
    EXPECT_EQ(weightOf(r->model, "out_proj", 1).shape(), (Shape{4, C}));
    const Tensor& s1 = weightOf(r->model, "split_heads", 1);
    EXPECT_EQ(std::vector<int64_t>(s1.data<int64_t>(), s1.data<int64_t>() + 5), (std::vector<int64_t>{0, T, 3, 2, 2}));
    const Tensor& s2 = weightOf(r->model, "merge_heads", 1);
    EXPECT_EQ(std::vector<int64_t>(s2.data<int64_t>(), s2.data<int64_t>() + 3), (std::vector<int64_t>{0, T, 4}));
    // Heads do not mix before the output projection: dropping heads 1 and 3 equals zeroing their rows.
    std::vector<float> zeroed = wo;
    for (int64_t h : {1, 3}) std::fill(zeroed.begin() + h * 2 * C, zeroed.begin() + (h + 1) * 2 * C, 0.f);
    const auto ref = runModel(withWeight(m, "wo", {8, C}, zeroed));
    const auto got = runModel(r->model);
    ASSERT_EQ(got.size(), ref.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-5) << i;
}

TEST(StructuredPrune, UnrecognisedBlocksAreRefusedNamingTheNode) {
    std::vector<float> w;
    const Model ffn = ffnModel(w), att = attentionModel(w);
    Recipe named = oneStep(CompressMethod::PruneFfn, 0.25);
    named.steps[0].layers.names = {"down"};
    auto r = compress(ffn, named);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("'down'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("step 1 (prune_ffn)"), std::string::npos) << r.error().message;
    auto h = compress(ffn, oneStep(CompressMethod::PruneHeads, 0.25));
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message.find("no attention block"), std::string::npos) << h.error().message;
    // The attention block's value projection is no feed-forward block: its Reshape is not element-wise.
    Recipe q = oneStep(CompressMethod::PruneFfn, 0.25);
    q.steps[0].layers.names = {"qkv"};
    auto f = compress(att, q);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("Reshape 'split_heads'"), std::string::npos) << f.error().message;
    // Bad values: one sentence naming the step.
    for (double sp : {0.0, 1.0}) {
        auto b = compress(att, oneStep(CompressMethod::PruneHeads, sp));
        ASSERT_FALSE(b.ok());
        EXPECT_NE(b.error().message.find("step 1 (prune_heads): the fraction of heads"), std::string::npos) << b.error().message;
    }
    Recipe beta = oneStep(CompressMethod::PruneFfn, 0.25);
    beta.steps[0].criterion = PruneCriterion::Beta;
    EXPECT_NE(compress(ffn, beta).error().message.find("beta criterion ranks Conv filters"), std::string::npos);
    Recipe act = oneStep(CompressMethod::PruneChannels, 0.25);
    act.steps[0].criterion = PruneCriterion::Activation;
    EXPECT_NE(compress(ffn, act).error().message.find("needs calibration data"), std::string::npos);
}

}  // namespace
}  // namespace by

namespace by {
namespace {

// A MatMul whose weight has a few large entries: 3-bit groups spend their levels on them unless
// they are kept aside in f16.
Model outlierModel() {
    Model m = withInput();
    Graph& g = m.graph;
    const int64_t N = 64;
    auto w = randomFloats(size_t(C * 8 * N), 21, 0.05f);
    for (size_t i = 0; i < w.size(); i += 97) w[i] = (i % 2 ? 1.f : -1.f) * 1.5f;
    const int W = g.addInitializer("w", Tensor::fromFloats({C * 8, N}, w));
    const int S = g.addInitializer("shape", Tensor::fromInt64s({2}, {T, C * 8}));
    int r = addF32(g, "r"), y = addF32(g, "y");
    addNode(g, "Reshape", "flat", {g.inputs[0], S}, {r});
    addNode(g, "MatMul", "proj", {r, W}, {y});
    g.outputs.push_back(y);
    g.values[size_t(g.inputs[0])].shape = DimShape{Dim::of(1), Dim::of(T * 8), Dim::of(C)};
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

std::vector<float> runWide(const Model& m) {
    auto ex = Executor::create(m);
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex) return {};
    auto out = ex->run({{"x", Tensor::fromFloats({1, T * 8, C}, randomFloats(size_t(T * 8 * C), 98, 1.f))}});
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    return *(*out)[0].toFloats();
}

TEST(OutlierQuantization, F16SideTensorCutsTheErrorAndCostsItsBytes) {
    const Model m = outlierModel();
    const auto y0 = runWide(m);
    CompressStep s;
    s.method = CompressMethod::QuantizeNBits;
    s.bits = 3;
    s.group = 32;
    auto plain = compress(m, Recipe{1, {s}});
    s.outliers = 0.01;
    auto kept = compress(m, Recipe{1, {s}});
    ASSERT_TRUE(plain.ok() && kept.ok()) << (kept.ok() ? "" : kept.error().what());
    const LayerReport &a = plain->layers[0], &b = kept->layers[0];
    const int64_t nnz = int64_t(std::floor(0.01 * 64 * 64));
    EXPECT_EQ(b.detail, "3-bit g32 + " + std::to_string(nnz) + " f16 outliers");
    EXPECT_EQ(b.bytesAfter - a.bytesAfter, nnz * 10 + 24);
    EXPECT_LT(b.relError, 0.5 * a.relError) << a.relError << " vs " << b.relError;
    auto err = [&](const std::vector<float>& y) {
        double num = 0, den = 0;
        for (size_t i = 0; i < y.size(); ++i) {
            num += (y[i] - y0[i]) * (y[i] - y0[i]);
            den += y0[i] * y0[i];
        }
        return std::sqrt(num / den);
    };
    const auto ya = runWide(plain->model), yb = runWide(kept->model);
    ASSERT_EQ(yb.size(), y0.size());
    std::printf("3-bit g32: weight error %.4f -> %.4f with 1%% outliers; output error %.4f -> %.4f\n", a.relError, b.relError, err(ya), err(yb));
    EXPECT_LT(err(yb), 0.5 * err(ya));
    EXPECT_EQ(kept->model.graph.opHistogram().count("ScatterElements"), 1u);
    s.outliers = 0.5;
    auto bad = compress(m, Recipe{1, {s}});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("step 1 (quantize_nbits): outliers must be"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace by
