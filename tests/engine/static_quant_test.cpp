// Static int8 quantization on an in-memory CNN: the rewritten graph (integer layers chained in
// uint8, Relu folded, one QuantizeLinear at the input), its outputs against the f32 model, bad
// recipes refused with the parent untouched, and the fast integer kernels (weights packed at plan
// time) against the generic kernels they replace, byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <tuple>

#include "engine/compression.h"
#include "engine/executor.h"

namespace by {
namespace {

std::vector<float> randomFloats(size_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
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

// x [N,1,12,12] -> Conv 4x3x3 pad 1 -> Relu -> MaxPool 2 -> Conv 8x3x3 pad 1 -> Relu -> MaxPool 2
// -> Flatten -> Gemm 72 -> 10.
Model smallCnn() {
    Model m;
    m.format = "onnx";
    m.opsets = {{"", 13}};
    Graph& g = m.graph;
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = DimShape{Dim::sym("N"), Dim::of(1), Dim::of(12), Dim::of(12)};
    g.inputs.push_back(g.addValue(x));
    const int w1 = g.addInitializer("w1", Tensor::fromFloats({4, 1, 3, 3}, randomFloats(36, 1, -0.6f, 0.6f)));
    const int b1 = g.addInitializer("b1", Tensor::fromFloats({4}, randomFloats(4, 2, -0.1f, 0.1f)));
    const int w2 = g.addInitializer("w2", Tensor::fromFloats({8, 4, 3, 3}, randomFloats(288, 3, -0.3f, 0.3f)));
    const int b2 = g.addInitializer("b2", Tensor::fromFloats({8}, randomFloats(8, 4, -0.1f, 0.1f)));
    const int w3 = g.addInitializer("w3", Tensor::fromFloats({10, 72}, randomFloats(720, 5, -0.3f, 0.3f)));
    const int b3 = g.addInitializer("b3", Tensor::fromFloats({10}, randomFloats(10, 6, -0.1f, 0.1f)));
    const auto conv = std::vector<std::pair<std::string, Attribute>>{{"kernel_shape", Attribute::ofInts({3, 3})},
                                                                     {"pads", Attribute::ofInts({1, 1, 1, 1})}};
    const auto pool = std::vector<std::pair<std::string, Attribute>>{{"kernel_shape", Attribute::ofInts({2, 2})},
                                                                     {"strides", Attribute::ofInts({2, 2})}};
    int c1 = addF32(g, "c1"), r1 = addF32(g, "r1"), p1 = addF32(g, "p1"), c2 = addF32(g, "c2"), r2 = addF32(g, "r2"),
        p2 = addF32(g, "p2"), f = addF32(g, "f"), y = addF32(g, "y");
    addNode(g, "Conv", "conv1", {g.inputs[0], w1, b1}, {c1}, conv);
    addNode(g, "Relu", "relu1", {c1}, {r1});
    addNode(g, "MaxPool", "pool1", {r1}, {p1}, pool);
    addNode(g, "Conv", "conv2", {p1, w2, b2}, {c2}, conv);
    addNode(g, "Relu", "relu2", {c2}, {r2});
    addNode(g, "MaxPool", "pool2", {r2}, {p2}, pool);
    addNode(g, "Flatten", "flatten", {p2}, {f}, {{"axis", Attribute::ofInt(1)}});
    addNode(g, "Gemm", "fc", {f, w3, b3}, {y}, {{"transB", Attribute::ofInt(1)}});
    g.outputs.push_back(y);
    EXPECT_TRUE(g.rebuildLinks().ok());
    return m;
}

std::shared_ptr<const Dataset> calibrationSet(int64_t n, uint32_t seed) {
    auto ds = TensorDataset::create("calibration", Tensor::fromFloats({n, 1, 12, 12}, randomFloats(size_t(n * 144), seed, 0.f, 1.f)), {}, {});
    EXPECT_TRUE(ds.ok());
    return *ds;
}

CompressStep staticStep(CalibrationMethod m, int64_t samples = 64) {
    CompressStep s;
    s.activations.enabled = true;
    s.activations.method = m;
    s.activations.samples = samples;
    s.activations.data = "memory:calibration";
    return s;
}

CompressContext contextFor(std::shared_ptr<const Dataset> ds) {
    CompressContext c;
    c.openDataset = [ds](const std::string& spec, const std::string&) -> Result<std::shared_ptr<const Dataset>> {
        if (spec != "memory:calibration") return makeError(ErrorCode::Io, "no dataset at '" + spec + "'");
        return ds;
    };
    return c;
}

Recipe oneStep(const CompressStep& s) {
    Recipe r;
    r.steps.push_back(s);
    return r;
}

std::vector<float> runOn(const Model& m, const Tensor& x) {
    auto ex = Executor::create(m, ExecutorOptions{2});
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex) return {};
    auto out = ex->run({{"x", x}});
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    auto f = (*out)[0].toFloats();
    return f ? *f : std::vector<float>{};
}

uint64_t modelHash(const Model& m) {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](const std::string& s) {
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    };
    for (const auto& n : m.graph.nodes) mix(n.opType + "/" + n.name);
    for (const auto& v : m.graph.values)
        if (v.data)
            for (uint8_t b : v.data->bytes()) h = (h ^ b) * 1099511628211ull;
    return h;
}

TEST(StaticQuant, CnnBecomesAnInt8ChainWithReluFolded) {
    const Model m = smallCnn();
    const uint64_t before = modelHash(m);
    auto r = compress(m, oneStep(staticStep(CalibrationMethod::MinMax)), contextFor(calibrationSet(64, 11)));
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(modelHash(m), before);
    const auto ops = r->model.graph.opHistogram();
    EXPECT_EQ(ops.count("Conv"), 0u);
    EXPECT_EQ(ops.count("Gemm"), 0u);
    EXPECT_EQ(ops.count("Relu"), 0u) << "both Relus fold into their layers' output ranges";
    EXPECT_EQ(ops.at("QLinearConv"), 2);
    EXPECT_EQ(ops.at("com.microsoft.QGemm"), 1);
    EXPECT_EQ(ops.at("QuantizeLinear"), 1) << "only the model input is quantized";
    EXPECT_EQ(ops.count("DequantizeLinear"), 0u) << "the last layer writes f32 itself";
    // MaxPool and Flatten run on the bytes between the layers.
    for (const auto& n : r->model.graph.nodes)
        if (n.opType == "MaxPool" || n.opType == "Flatten") {
            EXPECT_EQ(r->model.graph.values[size_t(n.inputs[0])].dtype, DType::U8) << n.name;
        }
    ASSERT_EQ(r->layers.size(), 3u);
    for (const auto& row : r->layers) {
        EXPECT_TRUE(row.applied) << row.layer << ": " << row.note;
        EXPECT_NE(row.note.find("64 calibration samples"), std::string::npos) << row.note;
    }
    EXPECT_NE(r->layers[0].detail.find("+Relu"), std::string::npos) << r->layers[0].detail;
    EXPECT_LT(r->bytesAfter, r->bytesBefore / 2);
}

TEST(StaticQuant, OutputsFollowTheF32ModelForEveryObserver) {
    const Model m = smallCnn();
    // Held-out inputs: not the calibration samples.
    const Tensor x = Tensor::fromFloats({32, 1, 12, 12}, randomFloats(32 * 144, 99, 0.f, 1.f));
    const auto ref = runOn(m, x);
    ASSERT_EQ(ref.size(), 320u);
    for (CalibrationMethod method : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Mse}) {
        auto r = compress(m, oneStep(staticStep(method)), contextFor(calibrationSet(64, 11)));
        ASSERT_TRUE(r.ok()) << r.error().what();
        const auto got = runOn(r->model, x);
        ASSERT_EQ(got.size(), ref.size());
        double num = 0, den = 0;
        int agree = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            num += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
            den += double(ref[i]) * ref[i];
        }
        for (size_t row = 0; row < 32; ++row) {
            auto best = [&](const std::vector<float>& v) {
                return std::max_element(v.begin() + long(row * 10), v.begin() + long(row * 10 + 10)) - v.begin();
            };
            agree += best(ref) == best(got);
        }
        EXPECT_LT(std::sqrt(num / den), 0.05) << calibrationMethodName(method);
        EXPECT_GE(agree, 29) << calibrationMethodName(method);
        // A batch of one gives the same numbers as row 0 of the batch.
        const Tensor x1 = Tensor::fromFloats({1, 1, 12, 12}, std::vector<float>(x.data<float>(), x.data<float>() + 144));
        const auto one = runOn(r->model, x1);
        ASSERT_EQ(one.size(), 10u);
        for (size_t i = 0; i < 10; ++i) EXPECT_EQ(one[i], got[i]);
    }
}

TEST(StaticQuant, BadRecipesAreRefusedWithOneSentenceAndTheParentUnchanged) {
    const Model m = smallCnn();
    const uint64_t before = modelHash(m);
    const auto ds = calibrationSet(16, 5);
    struct Case {
        CompressStep step;
        bool withData;
        std::string expect;
    };
    std::vector<Case> cases;
    CompressStep zero = staticStep(CalibrationMethod::MinMax, 0);
    cases.push_back({zero, true, "at least one sample, not 0"});
    CompressStep noData = staticStep(CalibrationMethod::MinMax);
    noData.activations.data.clear();
    cases.push_back({noData, true, "needs calibration data"});
    CompressStep fourBit = staticStep(CalibrationMethod::MinMax);
    fourBit.activations.bits = 4;
    cases.push_back({fourBit, true, "activations are quantized to 8 bits, not 4"});
    CompressStep pct = staticStep(CalibrationMethod::Percentile);
    pct.activations.percentile = 30;
    cases.push_back({pct, true, "percentile must be above 50"});
    CompressStep missing = staticStep(CalibrationMethod::Mse);
    missing.activations.data = "mnist:/nowhere";
    cases.push_back({missing, true, "calibration data: no dataset at 'mnist:/nowhere'"});
    cases.push_back({staticStep(CalibrationMethod::MinMax), false, "nothing here can open"});
    for (const auto& c : cases) {
        auto r = compress(m, oneStep(c.step), c.withData ? contextFor(ds) : CompressContext{});
        ASSERT_FALSE(r.ok()) << c.expect;
        const std::string msg = r.error().what();
        EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
        EXPECT_EQ(msg.find("step 1 (quantize_int8)"), 0u) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_EQ(modelHash(m), before);
        if (c.withData) {
            // validateRecipe sees the parameter errors too, without any data.
            auto v = validateRecipe(m, oneStep(c.step));
            if (c.step.activations.data.rfind("mnist:", 0) != 0) {
                EXPECT_FALSE(v.ok()) << c.expect;
            }
        }
    }
}

// ---- the integer kernels: fast paths (constant weights packed at plan time) against the
// generic kernels, which run when the weights arrive at run time.

Tensor bytes(DType t, const Shape& s, uint32_t seed, int lo, int hi) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(lo, hi);
    std::vector<uint8_t> v(size_t(shapeNumel(s)));
    for (auto& b : v) b = uint8_t(d(rng));
    auto r = Tensor::fromBytes(t, s, std::move(v));
    EXPECT_TRUE(r.ok());
    return *r;
}

Tensor scalarByte(DType t, int v) { return *Tensor::fromBytes(t, {}, {uint8_t(v)}); }

// One node; inputs named in0..; those in `constants` become initializers, the rest graph inputs.
std::vector<uint8_t> runOne(const std::string& domain, const std::string& op, const std::vector<Tensor>& ins, const std::vector<bool>& constant,
                            std::vector<std::pair<std::string, Attribute>> attrs, DType outType, Shape* outShape = nullptr) {
    Model m;
    m.opsets = {{"", 13}, {"com.microsoft", 1}};
    Graph& g = m.graph;
    std::vector<int> ids;
    std::map<std::string, Tensor> feed;
    for (size_t i = 0; i < ins.size(); ++i) {
        const std::string name = "in" + std::to_string(i);
        if (!ins[i].valid()) {
            ids.push_back(-1);
        } else if (constant[i]) {
            ids.push_back(g.addInitializer(name, ins[i]));
        } else {
            Value v;
            v.name = name;
            v.dtype = ins[i].dtype();
            ids.push_back(g.addValue(v));
            g.inputs.push_back(ids.back());
            feed[name] = ins[i];
        }
    }
    Value y;
    y.name = "y";
    y.dtype = outType;
    const int yid = g.addValue(y);
    Node n;
    n.opType = op;
    n.domain = domain;
    n.inputs = ids;
    n.outputs = {yid};
    for (auto& [k, a] : attrs) n.setAttr(k, a);
    g.addNode(n);
    g.outputs.push_back(yid);
    EXPECT_TRUE(g.rebuildLinks().ok());
    auto ex = Executor::create(m, ExecutorOptions{2});
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex) return {};
    auto out = ex->run(feed);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    if (outShape) *outShape = (*out)[0].shape();
    const auto b = (*out)[0].bytes();
    return std::vector<uint8_t>(b.begin(), b.end());
}

TEST(StaticQuant, FastQLinearConvMatchesTheGenericKernelByteForByte) {
    struct Geo {
        int64_t C, M, group, k, stride, pad, H;
        DType out;
    };
    for (const Geo& c : {Geo{3, 8, 1, 3, 1, 1, 11, DType::U8}, Geo{4, 6, 2, 3, 2, 1, 9, DType::I8}, Geo{5, 40, 1, 1, 1, 0, 7, DType::U8},
                         Geo{2, 4, 1, 5, 3, 2, 13, DType::U8}, Geo{6, 6, 6, 3, 1, 1, 9, DType::U8},
                         Geo{8, 8, 8, 5, 2, 2, 12, DType::I8}, Geo{4, 4, 4, 3, 2, 0, 10, DType::U8}}) {
        const Tensor x = bytes(DType::U8, {3, c.C, c.H, c.H}, 1, 0, 255);
        const Tensor w = bytes(DType::I8, {c.M, c.C / c.group, c.k, c.k}, 2, 0, 255);
        std::vector<float> ws = randomFloats(size_t(c.M), 3, 0.002f, 0.01f);
        std::vector<uint8_t> bias(static_cast<size_t>(c.M) * 4);
        std::vector<int32_t> bv(static_cast<size_t>(c.M));
        for (int64_t m = 0; m < c.M; ++m) bv[size_t(m)] = int32_t(m * 37 - 500);
        std::memcpy(bias.data(), bv.data(), bias.size());
        const std::vector<Tensor> ins = {x,
                                         Tensor::fromFloats({}, {0.02f}),
                                         scalarByte(DType::U8, 7),
                                         w,
                                         Tensor::fromFloats({c.M}, ws),
                                         *Tensor::fromBytes(DType::I8, {c.M}, std::vector<uint8_t>(size_t(c.M), 0)),
                                         Tensor::fromFloats({}, {0.05f}),
                                         scalarByte(c.out, c.out == DType::U8 ? 100 : uint8_t(int8_t(-3))),
                                         *Tensor::fromBytes(DType::I32, {c.M}, bias)};
        const std::vector<std::pair<std::string, Attribute>> attrs = {
            {"kernel_shape", Attribute::ofInts({c.k, c.k})}, {"strides", Attribute::ofInts({c.stride, c.stride})},
            {"pads", Attribute::ofInts({c.pad, c.pad, c.pad, c.pad})}, {"group", Attribute::ofInt(c.group)}};
        Shape fastShape, slowShape;
        const auto fast = runOne("", "QLinearConv", ins, {false, true, true, true, true, true, true, true, true}, attrs, c.out, &fastShape);
        const auto slow = runOne("", "QLinearConv", ins, {false, true, true, false, true, true, true, true, true}, attrs, c.out, &slowShape);
        ASSERT_FALSE(fast.empty());
        EXPECT_EQ(fastShape, slowShape);
        EXPECT_EQ(fast, slow) << "C " << c.C << " M " << c.M << " group " << c.group << " k " << c.k;
        // Not a degenerate output (all clamped).
        EXPECT_GT(std::set<uint8_t>(fast.begin(), fast.end()).size(), 20u);
    }
}

TEST(StaticQuant, FastQLinearMatMulAndQGemmMatchTheirDefinitions) {
    const int64_t M = 37, K = 70, N = 45;
    const Tensor a = bytes(DType::U8, {M, K}, 4, 0, 255);
    const Tensor b = bytes(DType::I8, {K, N}, 5, 0, 255);
    const std::vector<float> bs = randomFloats(size_t(N), 6, 0.001f, 0.004f);
    const std::vector<Tensor> ins = {a, Tensor::fromFloats({}, {0.03f}), scalarByte(DType::U8, 12), b, Tensor::fromFloats({N}, bs),
                                     *Tensor::fromBytes(DType::I8, {N}, std::vector<uint8_t>(size_t(N), 0)), Tensor::fromFloats({}, {0.04f}),
                                     scalarByte(DType::U8, 128)};
    const auto fast = runOne("", "QLinearMatMul", ins, {false, true, true, true, true, true, true, true}, {}, DType::U8);
    const auto slow = runOne("", "QLinearMatMul", ins, {false, true, true, false, true, true, true, true}, {}, DType::U8);
    ASSERT_EQ(fast.size(), size_t(M * N));
    EXPECT_EQ(fast, slow);

    // QGemm with transB=1, an int32 bias and float output: y = (acc + bias) * a_scale * b_scale[n].
    std::vector<uint8_t> bt(static_cast<size_t>(N * K));
    const uint8_t* pb = b.rawData();
    for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) bt[size_t(n * K + k)] = pb[k * N + n];
    std::vector<int32_t> bias(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) bias[size_t(n)] = int32_t(n * 101 - 2000);
    std::vector<uint8_t> biasBytes(bias.size() * 4);
    std::memcpy(biasBytes.data(), bias.data(), biasBytes.size());
    std::vector<Tensor> gi = {a, ins[1], ins[2], *Tensor::fromBytes(DType::I8, {N, K}, bt), ins[4], ins[5],
                              *Tensor::fromBytes(DType::I32, {N}, biasBytes)};
    const auto gemm = runOne("com.microsoft", "QGemm", gi, {false, true, true, true, true, true, true}, {{"transB", Attribute::ofInt(1)}}, DType::F32);
    ASSERT_EQ(gemm.size(), size_t(M * N * 4));
    const float* y = reinterpret_cast<const float*>(gemm.data());
    const uint8_t* pa = a.rawData();
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; ++k) acc += (int32_t(pa[m * K + k]) - 12) * int32_t(int8_t(pb[k * N + n]));
            const float want = float(acc + bias[size_t(n)]) * (0.03f * bs[size_t(n)]);
            ASSERT_EQ(y[m * N + n], want) << m << "," << n;
        }
}

TEST(StaticQuant, ByteMaxPoolAndQuantizeLinearAgreeWithF32) {
    const Tensor x = bytes(DType::U8, {2, 3, 9, 10}, 8, 0, 255);
    std::vector<float> xf(x.rawData(), x.rawData() + x.numel());
    for (auto [k, s, p] : {std::tuple<int64_t, int64_t, int64_t>{2, 2, 0}, {3, 2, 1}, {3, 1, 1}}) {
        const std::vector<std::pair<std::string, Attribute>> attrs = {{"kernel_shape", Attribute::ofInts({k, k})},
                                                                      {"strides", Attribute::ofInts({s, s})},
                                                                      {"pads", Attribute::ofInts({p, p, p, p})}};
        const auto q = runOne("", "MaxPool", {x}, {false}, attrs, DType::U8);
        const auto f = runOne("", "MaxPool", {Tensor::fromFloats({2, 3, 9, 10}, xf)}, {false}, attrs, DType::F32);
        ASSERT_EQ(f.size(), q.size() * 4);
        const float* pf = reinterpret_cast<const float*>(f.data());
        for (size_t i = 0; i < q.size(); ++i) ASSERT_EQ(float(q[i]), pf[i]) << "kernel " << k << " element " << i;
    }
    // QuantizeLinear: round half to even of x / scale, plus the zero point, saturated.
    const std::vector<float> v = {-3.f, -0.25f, 0.f, 0.25f, 0.75f, 1.25f, 7.f, 100.f, -100.f, 0.5f, 1.5f, 2.5f, 3.3f, -1.7f, 63.f, 64.f, 0.126f};
    const auto q = runOne("", "QuantizeLinear", {Tensor::fromFloats({int64_t(v.size())}, v), Tensor::fromFloats({}, {0.5f}), scalarByte(DType::U8, 10)},
                          {false, true, true}, {}, DType::U8);
    ASSERT_EQ(q.size(), v.size());
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(int(q[i]), int(std::clamp(std::nearbyint(v[i] / 0.5f) + 10.f, 0.f, 255.f))) << v[i];
}

}  // namespace
}  // namespace by
