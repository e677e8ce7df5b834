// Modular decomposition (MoDeGPT type I, Nystrom) on a hand-built feed-forward block whose second
// half of hidden neurons are exact multiples of the first half: keeping one neuron of each pair and
// refitting the down-projection reproduces the block exactly, on any input, while slicing the same
// number of neurons cannot. Bad steps are refused naming the step.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "engine/compression.h"
#include "engine/executor.h"

namespace by {
namespace {

constexpr int64_t T = 6, C = 8, H = 16;

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

void addNode(Graph& g, const std::string& op, const std::string& name, std::vector<int> in, std::vector<int> out) {
    Node n;
    n.name = name;
    n.opType = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    g.addNode(std::move(n));
}

// x [B, T, C] -> MatMul W1 [C, 16] -> Add b1 -> Relu -> MatMul W2 [16, C] -> Add b2. Neuron 8 + j
// has neuron j's weights and bias times 2, so (ReLU being positively homogeneous) h[8 + j] = 2 h[j].
Model dependentFfn() {
    Model m;
    m.format = "onnx";
    m.opsets = {{"", 13}};
    Graph& g = m.graph;
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = DimShape{Dim::sym("B"), Dim::of(T), Dim::of(C)};
    g.inputs.push_back(g.addValue(x));
    auto w1 = randomFloats(size_t(C * H), 1);
    auto b1 = randomFloats(size_t(H), 2, 0.3f);
    for (int64_t j = 0; j < H / 2; ++j) {
        for (int64_t c = 0; c < C; ++c) w1[size_t(c * H + H / 2 + j)] = 2.f * w1[size_t(c * H + j)];
        b1[size_t(H / 2 + j)] = 2.f * b1[size_t(j)];
    }
    const int W1 = g.addInitializer("w1", Tensor::fromFloats({C, H}, w1));
    const int B1 = g.addInitializer("b1", Tensor::fromFloats({H}, b1));
    const int W2 = g.addInitializer("w2", Tensor::fromFloats({H, C}, randomFloats(size_t(H * C), 3)));
    const int B2 = g.addInitializer("b2", Tensor::fromFloats({C}, randomFloats(size_t(C), 4, 0.1f)));
    int u = addF32(g, "u"), h = addF32(g, "h"), a = addF32(g, "a"), d = addF32(g, "d"), y = addF32(g, "y");
    addNode(g, "MatMul", "up", {g.inputs[0], W1}, {u});
    addNode(g, "Add", "up_bias", {u, B1}, {h});
    addNode(g, "Relu", "relu", {h}, {a});
    addNode(g, "MatMul", "down", {a, W2}, {d});
    addNode(g, "Add", "down_bias", {d, B2}, {y});
    g.outputs.push_back(y);
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

// 200 calibration samples [T, C], opened under the name "calib".
CompressContext calibrationContext() {
    auto ds = TensorDataset::create("calib", Tensor::fromFloats({200, T, C}, randomFloats(size_t(200 * T * C), 7, 1.f)), {}, {});
    EXPECT_TRUE(ds.ok());
    std::shared_ptr<const Dataset> data = *ds;
    CompressContext ctx;
    ctx.openDataset = [data](const std::string& spec, const std::string&) -> Result<std::shared_ptr<const Dataset>> {
        if (spec != "calib") return makeError(ErrorCode::Io, "no dataset " + spec);
        return data;
    };
    return ctx;
}

CompressStep step(CompressMethod method, double sparsity) {
    CompressStep s;
    s.method = method;
    s.sparsity = sparsity;
    s.criterion = PruneCriterion::Activation;
    s.activations.enabled = true;
    s.activations.data = "calib";
    s.activations.samples = 200;
    return s;
}

// Relative output error against the original on inputs the calibration never saw.
double outputError(const Model& original, const Model& changed) {
    const Tensor in = Tensor::fromFloats({4, T, C}, randomFloats(size_t(4 * T * C), 99, 1.f));
    auto a = Executor::create(original), b = Executor::create(changed);
    EXPECT_TRUE(a.ok() && b.ok()) << (b.ok() ? "" : b.error().what());
    if (!a || !b) return 1e9;
    auto ya = a->run({{"x", in}}), yb = b->run({{"x", in}});
    EXPECT_TRUE(ya.ok() && yb.ok()) << (yb.ok() ? "" : yb.error().what());
    if (!ya || !yb) return 1e9;
    const auto p = *(*ya)[0].toFloats(), q = *(*yb)[0].toFloats();
    double num = 0, den = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        num += (double(p[i]) - q[i]) * (double(p[i]) - q[i]);
        den += double(p[i]) * p[i];
    }
    return std::sqrt(num / den);
}

const Tensor& weightOf(const Model& m, const std::string& node, size_t input) {
    for (const auto& n : m.graph.nodes)
        if (n.name == node) return *m.graph.values[size_t(n.inputs[input])].data;
    static Tensor none;
    ADD_FAILURE() << "no node " << node;
    return none;
}

TEST(Decompose, NystromRefitReproducesABlockWithDependentNeurons) {
    const Model m = dependentFfn();
    const CompressContext ctx = calibrationContext();
    auto r = compress(m, Recipe{1, {step(CompressMethod::Decompose, 0.5)}}, ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->layers.size(), 1u);
    const LayerReport& row = r->layers[0];
    EXPECT_EQ(row.layer, "up");
    EXPECT_EQ(row.method, "decompose");
    EXPECT_EQ(row.detail, "nystrom 8/16 neurons");
    EXPECT_LT(row.relError, 1e-3) << row.note;
    EXPECT_EQ(weightOf(r->model, "up", 1).shape(), (Shape{C, 8}));
    EXPECT_EQ(weightOf(r->model, "up_bias", 1).shape(), (Shape{8}));
    EXPECT_EQ(weightOf(r->model, "down", 1).shape(), (Shape{8, C}));
    EXPECT_EQ(r->paramsBefore - r->paramsAfter, 8 * C + 8 + 8 * C);
    const double fitted = outputError(m, r->model);
    EXPECT_LT(fitted, 1e-4);

    // Slicing the same number of neurons (ranked on the same data, means folded into the bias)
    // loses what the removed neurons wrote.
    auto sliced = compress(m, Recipe{1, {step(CompressMethod::PruneFfn, 0.5)}}, ctx);
    ASSERT_TRUE(sliced.ok()) << sliced.error().what();
    EXPECT_EQ(sliced->paramsAfter, r->paramsAfter);
    const double slicedErr = outputError(m, sliced->model);
    EXPECT_GT(slicedErr, 0.05);
    std::printf("dependent neurons, half removed: output error %.2e refitted, %.4f sliced\n", fitted, slicedErr);
}

// x [B, T, C] -> MatMul Wqkv [C, 3 * heads * dim] -> Add b -> Reshape [0, -1, 3, heads, dim] ->
// Transpose [2, 0, 3, 1, 4] -> Slice + Squeeze per part -> scaled dot-product attention ->
// Transpose -> Reshape [0, -1, heads * dim] -> MatMul Wo -> Add bo (the recogniser's layout).
// `lowRank`: the query entries 4..7 of every head are zero (weights and bias) and the value
// columns 4..7 too, so keeping 4 of 8 loses nothing.
constexpr int64_t Heads = 2, HeadDim = 8, HD = Heads * HeadDim;

Model fusedAttention(bool lowRank) {
    Model m;
    m.format = "onnx";
    m.opsets = {{"", 13}};
    Graph& g = m.graph;
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = DimShape{Dim::sym("B"), Dim::of(T), Dim::of(C)};
    g.inputs.push_back(g.addValue(x));
    auto w = randomFloats(size_t(C * 3 * HD), 11);
    auto b = randomFloats(size_t(3 * HD), 12, 0.2f);
    if (lowRank)
        for (int64_t h = 0; h < Heads; ++h)
            for (int64_t d = 4; d < HeadDim; ++d) {
                for (int part : {0, 2}) {
                    const int64_t col = part * HD + h * HeadDim + d;
                    for (int64_t c = 0; c < C; ++c) w[size_t(c * 3 * HD + col)] = 0.f;
                    if (part == 0) b[size_t(col)] = 0.f;
                }
            }
    const int W = g.addInitializer("w_qkv", Tensor::fromFloats({C, 3 * HD}, w));
    const int B = g.addInitializer("b_qkv", Tensor::fromFloats({3 * HD}, b));
    const int S1 = g.addInitializer("heads_shape", Tensor::fromInt64s({5}, {0, -1, 3, Heads, HeadDim}));
    const int S2 = g.addInitializer("merge_shape", Tensor::fromInt64s({3}, {0, -1, HD}));
    const int Axis0 = g.addInitializer("axis0", Tensor::fromInt64s({1}, {0}));
    const int Scale = g.addInitializer("scale", Tensor::fromFloats({}, {1.f / std::sqrt(float(HeadDim))}));
    const int Wo = g.addInitializer("w_out", Tensor::fromFloats({HD, C}, randomFloats(size_t(HD * C), 13)));
    const int Bo = g.addInitializer("b_out", Tensor::fromFloats({C}, randomFloats(size_t(C), 14, 0.1f)));
    int u = addF32(g, "u"), ub = addF32(g, "ub"), r = addF32(g, "r"), t = addF32(g, "t");
    addNode(g, "MatMul", "qkv", {g.inputs[0], W}, {u});
    addNode(g, "Add", "qkv_bias", {u, B}, {ub});
    addNode(g, "Reshape", "heads", {ub, S1}, {r});
    Node tr;
    tr.name = "heads_t";
    tr.opType = "Transpose";
    tr.inputs = {r};
    tr.outputs = {t};
    tr.setAttr("perm", Attribute::ofInts({2, 0, 3, 1, 4}));
    g.addNode(tr);
    int part[3];
    for (int p = 0; p < 3; ++p) {
        const std::string n = p == 0 ? "q" : p == 1 ? "k" : "v";
        const int st = g.addInitializer(n + "_start", Tensor::fromInt64s({1}, {p}));
        const int en = g.addInitializer(n + "_end", Tensor::fromInt64s({1}, {p + 1}));
        const int sl = addF32(g, n + "_slice");
        part[p] = addF32(g, n);
        addNode(g, "Slice", n + "_take", {t, st, en, Axis0}, {sl});
        addNode(g, "Squeeze", n + "_squeeze", {sl, Axis0}, {part[p]});
    }
    int qs = addF32(g, "qs"), kt = addF32(g, "kt"), sc = addF32(g, "scores"), pr = addF32(g, "probs"), av = addF32(g, "av"), at = addF32(g, "at"),
        mg = addF32(g, "merged"), o = addF32(g, "o"), y = addF32(g, "y");
    addNode(g, "Mul", "q_scale", {part[0], Scale}, {qs});
    Node kT;
    kT.name = "k_t";
    kT.opType = "Transpose";
    kT.inputs = {part[1]};
    kT.outputs = {kt};
    kT.setAttr("perm", Attribute::ofInts({0, 1, 3, 2}));
    g.addNode(kT);
    addNode(g, "MatMul", "scores", {qs, kt}, {sc});
    Node sm;
    sm.name = "softmax";
    sm.opType = "Softmax";
    sm.inputs = {sc};
    sm.outputs = {pr};
    sm.setAttr("axis", Attribute::ofInt(-1));
    g.addNode(sm);
    addNode(g, "MatMul", "mix", {pr, part[2]}, {av});
    Node back;
    back.name = "heads_back";
    back.opType = "Transpose";
    back.inputs = {av};
    back.outputs = {at};
    back.setAttr("perm", Attribute::ofInts({0, 2, 1, 3}));
    g.addNode(back);
    addNode(g, "Reshape", "merge", {at, S2}, {mg});
    addNode(g, "MatMul", "out", {mg, Wo}, {o});
    addNode(g, "Add", "out_bias", {o, Bo}, {y});
    g.outputs.push_back(y);
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

// Weights only: the split adds a few int64 shape entries, which are not what it shrinks.
int64_t floatParams(const Graph& g) {
    int64_t n = 0;
    for (const auto& v : g.values)
        if (v.data && !v.folded && v.data->dtype() == DType::F32) n += v.data->numel();
    return n;
}

TEST(Decompose, SplittingAFusedAttentionBlockKeepsItsOutputs) {
    const Model m = fusedAttention(false);
    const CompressContext ctx = calibrationContext();
    // round(0.95 * 8) = 8: every entry stays, so the model is only split into Q, K and V.
    CompressStep s = step(CompressMethod::Decompose, 0.05);
    s.modules = "all";
    auto r = compress(m, Recipe{1, {s}}, ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->layers.size(), 2u);
    EXPECT_EQ(r->layers[0].layer, "qkv");
    EXPECT_EQ(r->layers[0].opType, "MatMul");
    EXPECT_EQ(r->layers[0].detail, "cr 8/8 dims per head");
    EXPECT_EQ(r->layers[1].layer, "out");
    EXPECT_EQ(r->layers[1].detail, "svd rank 8/8 per head");
    EXPECT_EQ(floatParams(r->model.graph), floatParams(m.graph));
    int matmuls = 0, slices = 0;
    for (const auto& n : r->model.graph.nodes) {
        matmuls += n.opType == "MatMul";
        slices += n.opType == "Slice";
    }
    EXPECT_EQ(matmuls, 3 + 2 + 1);  // Q, K, V, the two attention products, the output projection
    EXPECT_EQ(slices, 0);
    const double err = outputError(m, r->model);
    EXPECT_LT(err, 1e-5);
    std::printf("fused attention split into Q, K and V: output error %.2e\n", err);
}

TEST(Decompose, QueryKeyAndValueOutputDecompositionOfFusedAttention) {
    const CompressContext ctx = calibrationContext();
    // Half of each head's entries removed: Q and K lose 2 heads x 4 columns of C weights and a
    // bias each, V loses as many columns and its whole bias (folded into the output bias), the
    // output projection 2 x 4 rows of C.
    const int64_t expected = 2 * (Heads * 4 * C + Heads * 4) + (Heads * 4 * C + HD) + Heads * 4 * C;
    std::map<std::string, double> errs;
    for (bool lowRank : {true, false}) {
        const Model m = fusedAttention(lowRank);
        for (const char* modules : {"qk", "vo", "all"}) {
            CompressStep s = step(CompressMethod::Decompose, 0.5);
            s.modules = modules;
            auto r = compress(m, Recipe{1, {s}}, ctx);
            ASSERT_TRUE(r.ok()) << r.error().what();
            const std::string mod = modules;
            if (mod == "all") {
                EXPECT_EQ(floatParams(m.graph) - floatParams(r->model.graph), expected);
                EXPECT_EQ(r->layers[0].paramsBefore + r->layers[1].paramsBefore - r->layers[0].paramsAfter - r->layers[1].paramsAfter, expected);
                ASSERT_EQ(r->layers.size(), 2u);
                EXPECT_EQ(r->layers[0].detail, "cr 4/8 dims per head");
                EXPECT_EQ(r->layers[1].detail, "svd rank 4/8 per head");
                EXPECT_NE(r->layers[1].note.find("V bias folded into out_bias"), std::string::npos) << r->layers[1].note;
            }
            const double err = outputError(m, r->model);
            errs[mod + (lowRank ? " low-rank" : " random")] = err;
            std::printf("%s weights, %s at 50%%: output error %.2e (%s)\n", lowRank ? "low-rank" : "random", modules, err,
                        r->layers.back().note.c_str());
        }
    }
    // Where the removed entries carry nothing (zero query entries, value columns), both are exact.
    for (const char* mod : {"qk", "vo", "all"}) EXPECT_LT(errs[std::string(mod) + " low-rank"], 1e-4) << mod;
    // On random weights they are not, yet the output keeps its direction.
    for (const char* mod : {"qk", "vo", "all"}) {
        EXPECT_GT(errs[std::string(mod) + " random"], 1e-3) << mod;
        EXPECT_LT(errs[std::string(mod) + " random"], 0.8) << mod;
    }
}

TEST(Decompose, BadStepsAreRefusedNamingTheStep) {
    const Model m = dependentFfn();
    const CompressContext ctx = calibrationContext();
    auto message = [&](const CompressStep& s) {
        auto r = compress(m, Recipe{1, {s}}, ctx);
        EXPECT_FALSE(r.ok());
        return r.ok() ? std::string() : r.error().message;
    };
    for (double sp : {0.0, 1.0}) {
        const std::string e = message(step(CompressMethod::Decompose, sp));
        EXPECT_NE(e.find("step 1 (decompose): the fraction of each module's inner dimension removed must be between 0 and 1"), std::string::npos) << e;
    }
    CompressStep none = step(CompressMethod::Decompose, 0.25);
    none.activations.data.clear();
    EXPECT_NE(message(none).find("step 1 (decompose): modular decomposition fits the modules on calibration data, and none is given"),
              std::string::npos);
    EXPECT_FALSE(validateRecipe(m, Recipe{1, {none}}).ok());
    CompressStep named = step(CompressMethod::Decompose, 0.25);
    named.layers.names = {"down"};
    const std::string e = message(named);
    EXPECT_NE(e.find("step 1 (decompose): no feed-forward block starts at MatMul 'down'"), std::string::npos) << e;
    CompressStep modules = step(CompressMethod::Decompose, 0.25);
    modules.modules = "mlp";
    EXPECT_NE(message(modules).find("step 1 (decompose): modules must be ffn, qk, vo or all, not 'mlp'"), std::string::npos);
    // Only attention modules asked for, and the model has no attention block.
    CompressStep qk = step(CompressMethod::Decompose, 0.25);
    qk.modules = "qk";
    EXPECT_NE(message(qk).find("step 1 (decompose): the model has no attention block to decompose"), std::string::npos) << message(qk);
    // Without a way to open the data.
    auto r = compress(m, Recipe{1, {step(CompressMethod::Decompose, 0.25)}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("step 1 (decompose): modular decomposition needs calibration data"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace by
