// Binary-coding quantization end to end on small in-memory models: the least-squares refinement of
// the coding, the quantize_bcq step, the com.brickyard BinaryCodedMatMul kernel (lookup tables for
// few rows, dense GEMM for many, with and without its plan-time preparation) and its shape rule.
// The products are checked against weights decoded here from the documented tensor layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "engine/compression.h"
#include "engine/executor.h"
#include "engine/lut_gemv.h"
#include "engine/op_registry.h"
#include "engine/shape_inference.h"
#include "engine/variant_diff.h"

namespace by {
namespace {

std::vector<float> randomFloats(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

double relErr(const std::vector<float>& got, const std::vector<float>& want) {
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        den += double(want[i]) * want[i];
    }
    return std::sqrt(num / den);
}

TEST(BinaryCodingRefinement, LeastSquaresRoundsBeatGreedyAndNeverLose) {
    struct C {
        int64_t N, K, group;
        uint32_t seed;
        bool heavyTails;
    };
    for (const C c : {C{40, 130, 32, 1, false}, C{64, 256, 64, 2, false}, C{33, 100, 20, 3, true}}) {
        std::vector<float> w = randomFloats(size_t(c.N * c.K), c.seed);
        if (c.heavyTails)  // a few large weights per row, as trained layers have
            for (size_t i = 0; i < w.size(); i += 37) w[i] *= 6.f;
        for (int64_t planes = 1; planes <= 4; ++planes) {
            auto greedy = binaryCode(w.data(), c.N, c.K, planes, c.group, 0);
            auto one = binaryCode(w.data(), c.N, c.K, planes, c.group, 1);
            auto three = binaryCode(w.data(), c.N, c.K, planes, c.group, 3);
            ASSERT_TRUE(greedy.ok() && one.ok() && three.ok());
            const double eg = relErr(greedy->dequantize(), w), e1 = relErr(one->dequantize(), w), e3 = relErr(three->dequantize(), w);
            std::printf("N%lld planes %lld: greedy %.4f, 1 round %.4f, 3 rounds %.4f\n", (long long)c.N, (long long)planes, eg, e1, e3);
            EXPECT_LE(e1, eg) << planes << " planes";
            EXPECT_LE(e3, e1) << planes << " planes";
            // One plane: greedy already is the least-squares optimum for its signs, so the rounds
            // can only keep it. Two planes and more: the greedy scales are not, and the rounds
            // gain measurably.
            if (planes == 1) {
                EXPECT_NEAR(e3, eg, 1e-6);
            } else {
                EXPECT_LT(e3, 0.97 * eg) << planes << " planes: greedy " << eg << ", refined " << e3;
            }
        }
    }
    // Default (no iterations argument) is the greedy coding, bit for bit.
    const auto w = randomFloats(32 * 64, 5);
    auto a = binaryCode(w.data(), 32, 64, 3, 32);
    auto b = binaryCode(w.data(), 32, 64, 3, 32, 0);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->bits, b->bits);
    EXPECT_EQ(a->alpha, b->alpha);
    EXPECT_FALSE(binaryCode(w.data(), 32, 64, 3, 32, -1).ok());
}

// X [rows (symbolic when dynamicRows), K] -> Gemm (transB=1, bias) or MatMul -> Y.
Model linearModel(const std::string& op, int64_t M, int64_t K, int64_t N, bool dynamicRows = false) {
    Model m;
    m.format = "onnx";
    m.opsets = {{"", 13}};
    Graph& g = m.graph;
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = dynamicRows ? DimShape{Dim::sym("batch"), Dim::of(K)} : toDimShape({M, K});
    g.inputs.push_back(g.addValue(x));
    Node n;
    n.name = "fc";
    n.opType = op;
    const int w = g.addInitializer("w", Tensor::fromFloats(op == "Gemm" ? Shape{N, K} : Shape{K, N}, randomFloats(size_t(N * K), 11, 0.1f)));
    n.inputs = {g.inputs[0], w};
    if (op == "Gemm") {
        n.setAttr("transB", Attribute::ofInt(1));
        n.inputs.push_back(g.addInitializer("b", Tensor::fromFloats({N}, randomFloats(size_t(N), 12, 0.1f))));
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

Recipe bcqRecipe(int bits, int64_t group, int iterations = 3) {
    CompressStep s;
    s.method = CompressMethod::QuantizeBcq;
    s.bits = bits;
    s.group = group;
    s.iterations = iterations;
    Recipe r;
    r.steps.push_back(s);
    return r;
}

const Node* findNode(const Model& m, const std::string& op) {
    for (const auto& n : m.graph.nodes)
        if (n.opType == op) return &n;
    return nullptr;
}

// W' [N, K] decoded from the node's bits and scales by the layout documented in engine/lut_gemv.h.
std::vector<float> decodeWeights(const Model& m, const Node& n) {
    const int64_t K = n.attrInt("K", 0), N = n.attrInt("N", 0), P = n.attrInt("planes", 0), G = n.attrInt("group_size", 0);
    const int64_t groups = (K + G - 1) / G, blocks = (N + 31) / 32, chunks = groups * G / 4;
    const Tensor& bits = *m.graph.values[size_t(n.inputs[1])].data;
    const Tensor& scales = *m.graph.values[size_t(n.inputs[2])].data;
    EXPECT_EQ(bits.numel(), P * blocks * chunks * 16);
    EXPECT_EQ(scales.numel(), P * groups * blocks * 32);
    std::vector<float> w(size_t(N * K), 0.f);
    for (int64_t p = 0; p < P; ++p)
        for (int64_t r = 0; r < N; ++r)
            for (int64_t k = 0; k < K; ++k) {
                const uint8_t byte = bits.data<uint8_t>()[((p * blocks + r / 32) * chunks + k / 4) * 16 + (r % 32) % 16];
                const int nibble = (r % 32) < 16 ? (byte & 15) : (byte >> 4);
                const float a = scales.data<float>()[(p * groups + k / G) * blocks * 32 + r];
                w[size_t(r * K + k)] += (nibble >> (k % 4) & 1) ? a : -a;
            }
    return w;
}

std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& w, const float* bias, int64_t M, int64_t K, int64_t N) {
    std::vector<float> y(size_t(M * N), 0.f);
    for (int64_t i = 0; i < M; ++i)
        for (int64_t n = 0; n < N; ++n) {
            double acc = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; ++k) acc += double(x[size_t(i * K + k)]) * w[size_t(n * K + k)];
            y[size_t(i * N + n)] = float(acc);
        }
    return y;
}

std::vector<float> run(const Executor& ex, const std::vector<float>& x, int64_t M, int64_t K) {
    auto out = ex.run({{"x", Tensor::fromFloats({M, K}, x)}});
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    return *(*out)[0].toFloats();
}

TEST(BinaryCodedMatMul, StepWritesTheOpAndItMatchesTheDecodedWeights) {
    const int64_t K = 100, N = 40;  // K not a multiple of the group, N not of 32: both padded
    for (const std::string op : {"Gemm", "MatMul"}) {
        const Model m = linearModel(op, 0, K, N, true);
        auto r = compress(m, bcqRecipe(3, 32));
        ASSERT_TRUE(r.ok()) << r.error().what();
        const Node* nd = findNode(r->model, "BinaryCodedMatMul");
        ASSERT_NE(nd, nullptr);
        EXPECT_EQ(nd->domain, "com.brickyard");
        EXPECT_EQ(nd->attrInt("planes", 0), 3);
        EXPECT_EQ(nd->attrInt("group_size", 0), 32);
        EXPECT_EQ(r->model.graph.opHistogram().count(op), 0u);
        bool imported = false;
        for (const auto& [d, v] : r->model.opsets) imported |= d == "com.brickyard";
        EXPECT_TRUE(imported);
        // Honest bytes: 3 planes x 2 row blocks x 32 chunks x 16 bytes of signs, 3 x 4 groups x 64
        // padded rows of f32 scales.
        ASSERT_EQ(r->layers.size(), 1u);
        EXPECT_EQ(r->layers[0].bytesAfter, 3 * 2 * 32 * 16 + 3 * 4 * 64 * 4);
        EXPECT_EQ(r->layers[0].bytesBefore, K * N * 4);
        const std::vector<float> wq = decodeWeights(r->model, *nd);
        const float* bias = nd->inputs.size() > 3 ? r->model.graph.values[size_t(nd->inputs[3])].data->data<float>() : nullptr;
        EXPECT_EQ(bias != nullptr, op == "Gemm");
        // The reported error is the decoded weights' error.
        std::vector<float> w = *m.graph.values[size_t(m.graph.findValue("w"))].data->toFloats();
        if (op == "MatMul") {
            std::vector<float> t(w.size());
            for (int64_t k = 0; k < K; ++k)
                for (int64_t n = 0; n < N; ++n) t[size_t(n * K + k)] = w[size_t(k * N + n)];
            w = t;
        }
        EXPECT_NEAR(r->layers[0].relError, relErr(wq, w), 1e-6);
        // The layer preview gives the same row without building a model.
        CompressStep step = bcqRecipe(3, 32).steps[0];
        auto preview = previewLayer(m, "fc", step);
        ASSERT_TRUE(preview.ok()) << preview.error().what();
        EXPECT_EQ(preview->relError, r->layers[0].relError);
        EXPECT_EQ(preview->bytesAfter, r->layers[0].bytesAfter);
        EXPECT_GT(r->layers[0].relError, 0.05);
        EXPECT_LT(r->layers[0].relError, 0.3);

        // One executor, both kernel paths: few rows through the lookup tables (int8 tables: about
        // 1% error), many rows through the dense GEMM on the dequantized weights (f32 exact).
        auto ex = Executor::create(r->model);
        ASSERT_TRUE(ex.ok()) << ex.error().what();
        for (int64_t M : {1, 3, 8, 9, 64}) {
            const auto x = randomFloats(size_t(M * K), uint32_t(M));
            const auto got = run(*ex, x, M, K);
            const auto want = reference(x, wq, bias, M, K, N);
            ASSERT_EQ(got.size(), want.size());
            EXPECT_LT(relErr(got, want), M <= 8 ? 2e-2 : 1e-5) << op << " M=" << M;
        }
    }
}

TEST(BinaryCodedMatMul, PreparedAndUnpreparedRunsAgree) {
    const int64_t K = 64, N = 48;
    auto r = compress(linearModel("Gemm", 0, K, N, true), bcqRecipe(2, 16));
    ASSERT_TRUE(r.ok()) << r.error().what();
    const Graph& g = r->model.graph;
    const Node* nd = findNode(r->model, "BinaryCodedMatMul");
    ASSERT_NE(nd, nullptr);
    const OpKernel* kernel = OpRegistry::instance().find("com.brickyard", "BinaryCodedMatMul");
    ASSERT_NE(kernel, nullptr);
    ASSERT_NE(kernel->prepare, nullptr);
    std::vector<const Tensor*> constants = {nullptr};
    for (size_t i = 1; i < nd->inputs.size(); ++i) constants.push_back(&*g.values[size_t(nd->inputs[i])].data);
    KernelContext pc{*nd, g, 13, {}, {}, nullptr, {}};
    pc.inputs = constants;
    const std::shared_ptr<const void> prepared = kernel->prepare(pc);
    ASSERT_NE(prepared, nullptr);
    // Without constant weights nothing is prepared (the kernel then decodes per run).
    KernelContext none{*nd, g, 13, {}, {}, nullptr, {}};
    none.inputs = {nullptr, nullptr, nullptr, nullptr};
    EXPECT_EQ(kernel->prepare(none), nullptr);
    for (int64_t M : {2, 20}) {
        const Tensor x = Tensor::fromFloats({M, K}, randomFloats(size_t(M * K), 40 + uint32_t(M)));
        std::vector<std::vector<float>> outs;
        for (const void* p : {prepared.get(), static_cast<const void*>(nullptr)}) {
            KernelContext ctx{*nd, g, 13, {}, {}, nullptr, {}};
            ctx.inputs = constants;
            ctx.inputs[0] = &x;
            ctx.outputs.resize(1);
            ctx.prepared = p;
            ASSERT_TRUE(kernel->run(ctx).ok());
            EXPECT_EQ(ctx.outputs[0].shape(), (Shape{M, N}));
            outs.push_back(*ctx.outputs[0].toFloats());
        }
        EXPECT_LT(relErr(outs[0], outs[1]), 1e-6) << "M=" << M;
    }
    // An input declared with few rows: nothing dense is prepared, and a larger product (the kernel
    // called directly, past the declared shape) decodes the weights then, to the same result.
    auto few = compress(linearModel("Gemm", 2, K, N), bcqRecipe(2, 16));
    ASSERT_TRUE(few.ok()) << few.error().what();
    const Node* fn = findNode(few->model, "BinaryCodedMatMul");
    ASSERT_NE(fn, nullptr);
    std::vector<const Tensor*> fewConstants = {nullptr};
    for (size_t i = 1; i < fn->inputs.size(); ++i) fewConstants.push_back(&*few->model.graph.values[size_t(fn->inputs[i])].data);
    KernelContext fp{*fn, few->model.graph, 13, {}, {}, nullptr, {}};
    fp.inputs = fewConstants;
    const std::shared_ptr<const void> fewPrepared = kernel->prepare(fp);
    ASSERT_NE(fewPrepared, nullptr);
    {
        const int64_t M = 20;
        const auto xs = randomFloats(size_t(M * K), 77);
        const Tensor x = Tensor::fromFloats({M, K}, xs);
        KernelContext ctx{*fn, few->model.graph, 13, {}, {}, nullptr, {}};
        ctx.inputs = fewConstants;
        ctx.inputs[0] = &x;
        ctx.outputs.resize(1);
        ctx.prepared = fewPrepared.get();
        ASSERT_TRUE(kernel->run(ctx).ok());
        const float* bias = few->model.graph.values[size_t(fn->inputs[3])].data->data<float>();
        EXPECT_LT(relErr(*ctx.outputs[0].toFloats(), reference(xs, decodeWeights(few->model, *fn), bias, M, K, N)), 1e-5);
    }

    // A wrong-sized bits tensor is an error naming the node, not a crash.
    const Tensor x = Tensor::fromFloats({1, K}, randomFloats(size_t(K), 1));
    const Tensor shortBits = Tensor::fromBytes(DType::U8, {7}, std::vector<uint8_t>(7, 0)).value();
    KernelContext bad{*nd, g, 13, {}, {}, nullptr, {}};
    bad.inputs = constants;
    bad.inputs[0] = &x;
    bad.inputs[1] = &shortBits;
    bad.outputs.resize(1);
    auto st = kernel->run(bad);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("bits"), std::string::npos) << st.error().message;
}

TEST(BinaryCodedMatMul, ShapeInferenceGivesTheOutputShape) {
    auto r = compress(linearModel("MatMul", 5, 36, 12), bcqRecipe(2, 12));
    ASSERT_TRUE(r.ok()) << r.error().what();
    Model m = r->model;
    ShapeInferenceOptions o;
    o.resetNodeOutputs = true;
    auto res = inferShapes(m, o);
    ASSERT_TRUE(res.ok());
    const Value& y = m.graph.values[size_t(m.graph.outputs[0])];
    ASSERT_TRUE(y.shape.has_value());
    EXPECT_EQ(*y.shape, (DimShape{Dim::of(5), Dim::of(12)}));
    EXPECT_EQ(y.dtype, DType::F32);
    // The same rule serves com.microsoft MatMulNBits, with a symbolic batch kept.
    CompressStep nb;
    nb.method = CompressMethod::QuantizeNBits;
    nb.bits = 4;
    nb.group = 32;
    Recipe rn;
    rn.steps.push_back(nb);
    auto n = compress(linearModel("MatMul", 0, 64, 10, true), rn);
    ASSERT_TRUE(n.ok()) << n.error().what();
    Model mn = n->model;
    ASSERT_TRUE(inferShapes(mn, o).ok());
    const Value& yn = mn.graph.values[size_t(mn.graph.outputs[0])];
    ASSERT_TRUE(yn.shape.has_value());
    EXPECT_EQ(*yn.shape, (DimShape{Dim::sym("batch"), Dim::of(10)}));
}

TEST(BinaryCodedMatMul, BadStepsAreRefusedNamingTheStep) {
    const Model m = linearModel("Gemm", 2, 32, 8);
    auto expectRefused = [&](const Recipe& r, const std::string& part) {
        auto c = compress(m, r);
        ASSERT_FALSE(c.ok()) << part;
        EXPECT_EQ(c.error().message.rfind("step 1 (quantize_bcq): ", 0), 0u) << c.error().message;
        EXPECT_NE(c.error().message.find(part), std::string::npos) << c.error().message;
        EXPECT_FALSE(validateRecipe(m, r).ok());
    };
    expectRefused(bcqRecipe(0, 64), "1 to 4 bit planes");
    expectRefused(bcqRecipe(5, 64), "1 to 4 bit planes");
    expectRefused(bcqRecipe(2, 30), "group 30 must be a positive multiple of 4");
    expectRefused(bcqRecipe(2, 64, -1), "iterations");

    // A Conv named explicitly is unsupported.
    Model conv;
    conv.opsets = {{"", 13}};
    Graph& g = conv.graph;
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = toDimShape({1, 2, 5, 5});
    g.inputs.push_back(g.addValue(x));
    Node n;
    n.name = "conv1";
    n.opType = "Conv";
    n.inputs = {g.inputs[0], g.addInitializer("k", Tensor::fromFloats({4, 2, 3, 3}, randomFloats(72, 3)))};
    Value y;
    y.name = "y";
    y.dtype = DType::F32;
    n.outputs = {g.addValue(y)};
    g.outputs.push_back(n.outputs[0]);
    g.addNode(n);
    ASSERT_TRUE(g.rebuildLinks().ok());
    Recipe r = bcqRecipe(2, 64);
    r.steps[0].layers.names = {"conv1"};
    auto c = compress(conv, r);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Unsupported);
    EXPECT_NE(c.error().message.find("step 1 (quantize_bcq): binary coding of layer 'conv1' (Conv) is not supported"), std::string::npos)
        << c.error().message;
}

TEST(BinaryCodedMatMul, VariantDiffDecodesTheCodedWeights) {
    const int64_t K = 96, N = 20;
    const Model m = linearModel("Gemm", 4, K, N);
    auto r = compress(m, bcqRecipe(2, 32));
    ASSERT_TRUE(r.ok()) << r.error().what();
    auto d = diffModels(m, r->model);
    ASSERT_TRUE(d.ok()) << d.error().what();
    const LayerDiff* fc = nullptr;
    for (const auto& l : d->layers)
        if (l.layer == "fc") fc = &l;
    ASSERT_NE(fc, nullptr);
    EXPECT_EQ(fc->opAfter, "BinaryCodedMatMul");
    EXPECT_NE(fc->storageAfter.find("2-bit bcq g32"), std::string::npos) << fc->storageAfter;
    EXPECT_TRUE(fc->changes & kLayerRetyped);
    EXPECT_EQ(fc->paramsAfter, N * K + N);  // the weight it stands for and the bias
    ASSERT_TRUE(fc->relError.has_value()) << fc->note;
    EXPECT_NEAR(*fc->relError, r->layers[0].relError, 1e-4);
}

}  // namespace
}  // namespace by
