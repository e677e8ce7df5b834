// Modular decomposition (MoDeGPT type I, Nystrom) on a hand-built feed-forward block whose second
// half of hidden neurons are exact multiples of the first half: keeping one neuron of each pair and
// refitting the down-projection reproduces the block exactly, on any input, while slicing the same
// number of neurons cannot. Bad steps are refused naming the step.
#include <gtest/gtest.h>

#include <cmath>
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
