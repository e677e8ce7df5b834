#include "engine/executor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "engine/op_registry.h"

namespace by {
namespace {

// A small graph builder: values by name, nodes by op type.
struct Builder {
    Graph g;
    int input(const std::string& name, DType t, const Shape& s) {
        const int id = g.valueId(name);
        g.values[static_cast<size_t>(id)].dtype = t;
        g.values[static_cast<size_t>(id)].shape = toDimShape(s);
        g.inputs.push_back(id);
        return id;
    }
    void constant(const std::string& name, const Tensor& t) { g.addInitializer(name, t); }
    Node& node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
               const std::string& name = {}) {
        Node n;
        n.opType = op;
        n.name = name;
        for (const auto& i : ins) n.inputs.push_back(i.empty() ? -1 : g.valueId(i));
        for (const auto& o : outs) n.outputs.push_back(g.valueId(o));
        g.addNode(std::move(n));
        return g.nodes.back();
    }
    void output(const std::string& name) { g.outputs.push_back(g.valueId(name)); }
    Graph done() {
        EXPECT_TRUE(g.rebuildLinks().ok());
        return g;
    }
};

std::vector<float> floats(const Tensor& t) { return *t.toFloats(); }

Tensor randomTensor(const Shape& s, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    std::vector<float> v(static_cast<size_t>(shapeNumel(s)));
    for (auto& x : v) x = d(rng);
    return Tensor::fromFloats(s, v);
}

TEST(Executor, RunsAChainAndBroadcasts) {
    Builder b;
    b.input("x", DType::F32, {2, 3});
    b.constant("bias", Tensor::fromFloats({3}, {1.f, -10.f, 0.5f}));
    b.node("Add", {"x", "bias"}, {"s"});
    b.node("Relu", {"s"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    auto out = ex->run({{"x", Tensor::fromFloats({2, 3}, {1, 2, 3, -4, 5, -6})}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    EXPECT_EQ((*out)[0].shape(), (Shape{2, 3}));
    EXPECT_EQ(floats((*out)[0]), (std::vector<float>{2, 0, 3.5f, 0, 0, 0}));
}

TEST(Executor, UnsupportedOpFailsAtPlanTimeNamingTheNode) {
    Builder b;
    b.input("x", DType::F32, {1});
    b.node("Relu", {"x"}, {"a"});
    b.node("FancyOp", {"a"}, {"y"}, "fancy_1");
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_FALSE(ex.ok());
    EXPECT_EQ(ex.error().code, ErrorCode::Unsupported);
    const std::string what = ex.error().what();
    EXPECT_NE(what.find("node 1"), std::string::npos) << what;
    EXPECT_NE(what.find("FancyOp"), std::string::npos) << what;
    EXPECT_NE(what.find("fancy_1"), std::string::npos) << what;
}

TEST(Executor, UnsupportedAttributeOrTypeFailsAtPlanTime) {
    Builder b;
    b.input("x", DType::F16, {1});
    b.node("Softmax", {"x"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_FALSE(ex.ok());
    EXPECT_EQ(ex.error().code, ErrorCode::Unsupported);
}

TEST(Executor, ChecksInputs) {
    Builder b;
    b.input("x", DType::F32, {2, 3});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok());
    EXPECT_FALSE(ex->run({}).ok());
    EXPECT_FALSE(ex->run({{"x", Tensor::fromInt64s({2, 3}, {1, 2, 3, 4, 5, 6})}}).ok());
    auto badShape = ex->run({{"x", Tensor::fromFloats({3, 2}, std::vector<float>(6))}});
    ASSERT_FALSE(badShape.ok());
    EXPECT_NE(badShape.error().what().find("[2,3]"), std::string::npos) << badShape.error().what();
    EXPECT_FALSE(ex->run({{"x", Tensor::fromFloats({2, 3}, std::vector<float>(6))}, {"z", Tensor::fromFloats({1}, {0})}}).ok());
}

TEST(Executor, SymbolicDimsAcceptAnySize) {
    Builder b;
    const int x = b.input("x", DType::F32, {1});
    b.g.values[static_cast<size_t>(x)].shape = DimShape{Dim::sym("N")};
    b.node("Neg", {"x"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok());
    auto out = ex->run({{"x", Tensor::fromFloats({4}, {1, 2, 3, 4})}});
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(floats((*out)[0]), (std::vector<float>{-1, -2, -3, -4}));
}

TEST(Executor, CapturesWithAByteCap) {
    Builder b;
    b.input("x", DType::F32, {4});
    b.node("Neg", {"x"}, {"a"});
    b.node("Neg", {"a"}, {"c"});
    b.node("Neg", {"c"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok());
    const std::map<std::string, Tensor> in = {{"x", Tensor::fromFloats({4}, {1, 2, 3, 4})}};

    std::vector<int> seen;
    RunStats stats;
    RunOptions opts;
    opts.capture = [&](int node, int out, const Tensor& t) {
        EXPECT_EQ(out, 0);
        EXPECT_EQ(t.numel(), 4);
        seen.push_back(node);
    };
    opts.stats = &stats;
    ASSERT_TRUE(ex->run(in, opts).ok());
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
    EXPECT_FALSE(stats.captureTruncated);
    EXPECT_EQ(stats.capturedBytes, 48);

    seen.clear();
    opts.captureValues = {"c"};
    ASSERT_TRUE(ex->run(in, opts).ok());
    EXPECT_EQ(seen, (std::vector<int>{1}));

    seen.clear();
    opts.captureValues.clear();
    opts.captureByteCap = 20;  // room for one 16-byte tensor
    auto out = ex->run(in, opts);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(seen, (std::vector<int>{0}));
    EXPECT_TRUE(stats.captureTruncated);
    EXPECT_EQ(floats((*out)[0]), (std::vector<float>{-1, -2, -3, -4}));

    opts.captureValues = {"x"};
    EXPECT_FALSE(ex->run(in, opts).ok());  // a graph input is not a node output
}

TEST(Executor, CancelStopsTheRun) {
    Builder b;
    b.input("x", DType::F32, {1});
    b.node("Neg", {"x"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok());
    Progress p;
    p.cancel();
    RunOptions opts;
    opts.progress = &p;
    auto out = ex->run({{"x", Tensor::fromFloats({1}, {1})}}, opts);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::Cancelled);
}

TEST(Executor, FreesIntermediatesAfterTheirLastUse) {
    Builder b;
    b.input("x", DType::F32, {1024});
    std::string prev = "x";
    for (int i = 0; i < 20; ++i) {
        const std::string next = "v" + std::to_string(i);
        b.node("Neg", {prev}, {next});
        prev = next;
    }
    b.output(prev);
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok());
    RunStats stats;
    RunOptions opts;
    opts.stats = &stats;
    ASSERT_TRUE(ex->run({{"x", Tensor::fromFloats({1024}, std::vector<float>(1024, 1.f))}}, opts).ok());
    EXPECT_EQ(stats.nodesRun, 20);
    EXPECT_LE(stats.peakLiveBytes, 2 * 4096);  // never more than a node's input and output
}

TEST(Executor, IfSeesOuterScopeValues) {
    auto branch = [](const std::string& op, const std::string& out) {
        auto g = std::make_shared<Graph>();
        const int x = g->valueId("x");  // taken from the outer scope
        Node n;
        n.opType = op;
        n.inputs = {x};
        n.outputs = {g->valueId(out)};
        g->addNode(n);
        g->outputs = {g->valueId(out)};
        EXPECT_TRUE(g->rebuildLinks().ok());
        return g;
    };
    Builder b;
    b.input("x", DType::F32, {2});
    b.input("c", DType::Bool, {});
    Node& n = b.node("If", {"c"}, {"y"});
    Attribute t;
    t.kind = Attribute::Kind::Graph;
    t.g = branch("Neg", "t_out");
    n.setAttr("then_branch", t);
    t.g = branch("Abs", "e_out");
    n.setAttr("else_branch", t);
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    const Tensor x = Tensor::fromFloats({2}, {-1, 2});
    auto yes = ex->run({{"x", x}, {"c", *Tensor::fromBytes(DType::Bool, {}, {1})}});
    ASSERT_TRUE(yes.ok()) << yes.error().what();
    EXPECT_EQ(floats((*yes)[0]), (std::vector<float>{1, -2}));
    auto no = ex->run({{"x", x}, {"c", *Tensor::fromBytes(DType::Bool, {}, {0})}});
    ASSERT_TRUE(no.ok());
    EXPECT_EQ(floats((*no)[0]), (std::vector<float>{1, 2}));
}

TEST(Executor, LoopCarriesValuesAndStacksScanOutputs) {
    // body(i, cond, acc) -> (cond, acc + x, acc + x): x from the outer scope.
    auto body = std::make_shared<Graph>();
    for (const char* n : {"i", "cond_in", "acc"}) body->inputs.push_back(body->valueId(n));
    Node add;
    add.opType = "Add";
    add.inputs = {body->valueId("acc"), body->valueId("x")};
    add.outputs = {body->valueId("acc_out")};
    body->addNode(add);
    Node id;
    id.opType = "Identity";
    id.inputs = {body->valueId("cond_in")};
    id.outputs = {body->valueId("cond_out")};
    body->addNode(id);
    Node id2;
    id2.opType = "Identity";
    id2.inputs = {body->valueId("acc_out")};
    id2.outputs = {body->valueId("scan")};
    body->addNode(id2);
    body->outputs = {body->valueId("cond_out"), body->valueId("acc_out"), body->valueId("scan")};
    ASSERT_TRUE(body->rebuildLinks().ok());

    Builder b;
    b.input("x", DType::F32, {2});
    b.constant("M", Tensor::fromInt64s({}, {3}));
    b.constant("acc0", Tensor::fromFloats({2}, {0, 0}));
    Node& loop = b.node("Loop", {"M", "", "acc0"}, {"final", "stacked"});
    Attribute a;
    a.kind = Attribute::Kind::Graph;
    a.g = body;
    loop.setAttr("body", a);
    b.output("final");
    b.output("stacked");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    auto out = ex->run({{"x", Tensor::fromFloats({2}, {1, 10})}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    EXPECT_EQ(floats((*out)[0]), (std::vector<float>{3, 30}));
    EXPECT_EQ((*out)[1].shape(), (Shape{3, 2}));
    EXPECT_EQ(floats((*out)[1]), (std::vector<float>{1, 10, 2, 20, 3, 30}));
}

TEST(Executor, SoftmaxAxisFollowsTheOpset) {
    // [1,2,2] with axis 1: opset 11 normalises over the last two axes (4 values), 13 over axis 1 only.
    for (int64_t opset : {11, 13}) {
        Builder b;
        b.input("x", DType::F32, {1, 2, 2});
        b.node("Softmax", {"x"}, {"y"}).setAttr("axis", Attribute::ofInt(1));
        b.output("y");
        auto ex = Executor::create(b.done(), opset);
        ASSERT_TRUE(ex.ok());
        auto out = ex->run({{"x", Tensor::fromFloats({1, 2, 2}, {0, 0, 0, 0})}});
        ASSERT_TRUE(out.ok());
        EXPECT_FLOAT_EQ(floats((*out)[0])[0], opset == 11 ? 0.25f : 0.5f);
    }
}

// Direct convolution for checking the im2col/BLAS and depthwise paths.
std::vector<float> naiveConv(const Tensor& X, const Tensor& W, const std::vector<int64_t>& strides,
                             const std::vector<int64_t>& pads, const std::vector<int64_t>& dil, int64_t group, Shape* outShape) {
    const int64_t N = X.shape()[0], C = X.shape()[1], H = X.shape()[2], Wd = X.shape()[3];
    const int64_t M = W.shape()[0], KH = W.shape()[2], KW = W.shape()[3];
    const int64_t OH = (H + pads[0] + pads[2] - ((KH - 1) * dil[0] + 1)) / strides[0] + 1;
    const int64_t OW = (Wd + pads[1] + pads[3] - ((KW - 1) * dil[1] + 1)) / strides[1] + 1;
    *outShape = {N, M, OH, OW};
    const int64_t Cg = C / group, Mg = M / group;
    auto x = floats(X), w = floats(W);
    std::vector<float> y(static_cast<size_t>(N * M * OH * OW), 0.f);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m)
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    double s = 0;
                    const int64_t g = m / Mg;
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t kh = 0; kh < KH; ++kh)
                            for (int64_t kw = 0; kw < KW; ++kw) {
                                const int64_t ih = oh * strides[0] - pads[0] + kh * dil[0];
                                const int64_t iw = ow * strides[1] - pads[1] + kw * dil[1];
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                s += x[static_cast<size_t>(((n * C + g * Cg + c) * H + ih) * Wd + iw)] *
                                     w[static_cast<size_t>(((m * Cg + c) * KH + kh) * KW + kw)];
                            }
                    y[static_cast<size_t>(((n * M + m) * OH + oh) * OW + ow)] = static_cast<float>(s);
                }
    return y;
}

TEST(Executor, ConvMatchesADirectConvolution) {
    struct Case {
        Shape x, w;
        std::vector<int64_t> strides, pads, dil;
        int64_t group;
    };
    const Case cases[] = {
        {{2, 3, 9, 11}, {4, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
        {{1, 4, 10, 7}, {6, 2, 3, 2}, {2, 1}, {0, 1, 2, 0}, {1, 2}, 2},
        {{1, 8, 12, 12}, {8, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 8},   // depthwise
        {{1, 4, 12, 9}, {8, 1, 5, 3}, {1, 2}, {2, 1, 2, 1}, {2, 1}, 4},    // depthwise, multiplier 2
        {{1, 16, 5, 5}, {8, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},   // pointwise
        {{3, 16, 20, 24}, {12, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},  // pointwise, image by image in tiles
        {{2, 6, 40, 60}, {6, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2},    // grouped, several column tiles
        {{2, 5, 9, 29}, {5, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 5},     // depthwise 5x5, stride 1: register rows
        {{1, 3, 4, 3}, {3, 1, 5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 3},      // narrower than the kernel: edges only
        {{1, 4, 7, 19}, {4, 1, 3, 7}, {1, 1}, {0, 3, 2, 1}, {1, 1}, 4},     // asymmetric padding
    };
    uint32_t seed = 1;
    for (const auto& c : cases) {
        Builder b;
        b.input("x", DType::F32, c.x);
        b.constant("w", randomTensor(c.w, seed++));
        Node& n = b.node("Conv", {"x", "w"}, {"y"});
        n.setAttr("strides", Attribute::ofInts(c.strides));
        n.setAttr("pads", Attribute::ofInts(c.pads));
        n.setAttr("dilations", Attribute::ofInts(c.dil));
        n.setAttr("group", Attribute::ofInt(c.group));
        b.output("y");
        Graph g = b.done();
        const Tensor w = *g.values[static_cast<size_t>(g.findValue("w"))].data;
        auto ex = Executor::create(g, 17);
        ASSERT_TRUE(ex.ok()) << ex.error().what();
        const Tensor x = randomTensor(c.x, seed++);
        auto out = ex->run({{"x", x}});
        ASSERT_TRUE(out.ok()) << out.error().what();
        Shape want;
        const auto ref = naiveConv(x, w, c.strides, c.pads, c.dil, c.group, &want);
        ASSERT_EQ((*out)[0].shape(), want);
        const auto got = floats((*out)[0]);
        for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-4) << "element " << i;
    }
}

TEST(Executor, MatMulBroadcastsBatches) {
    Builder b;
    b.input("a", DType::F32, {2, 1, 3, 4});
    b.input("b", DType::F32, {3, 4, 5});
    b.node("MatMul", {"a", "b"}, {"y"});
    b.output("y");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok());
    const Tensor A = randomTensor({2, 1, 3, 4}, 7), B = randomTensor({3, 4, 5}, 8);
    auto out = ex->run({{"a", A}, {"b", B}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    ASSERT_EQ((*out)[0].shape(), (Shape{2, 3, 3, 5}));
    const auto a = floats(A), bb = floats(B), y = floats((*out)[0]);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int m = 0; m < 3; ++m)
                for (int n = 0; n < 5; ++n) {
                    double s = 0;
                    for (int k = 0; k < 4; ++k) s += a[static_cast<size_t>((i * 3 + m) * 4 + k)] * bb[static_cast<size_t>((j * 4 + k) * 5 + n)];
                    EXPECT_NEAR(y[static_cast<size_t>(((i * 3 + j) * 3 + m) * 5 + n)], s, 1e-5);
                }
}

TEST(Executor, MultithreadedRunsAgreeWithSingleThreaded) {
    Builder b;
    b.input("x", DType::F32, {1, 8, 32, 32});
    b.constant("w", randomTensor({16, 8, 3, 3}, 3));
    b.node("Conv", {"x", "w"}, {"c"}).setAttr("pads", Attribute::ofInts({1, 1, 1, 1}));
    b.node("Sigmoid", {"c"}, {"s"});
    b.node("GlobalAveragePool", {"s"}, {"y"});
    b.output("y");
    const Graph g = b.done();
    ExecutorOptions one, many;
    one.threads = 1;
    many.threads = 4;
    auto e1 = Executor::create(g, 17, one);
    auto e4 = Executor::create(g, 17, many);
    ASSERT_TRUE(e1.ok() && e4.ok());
    EXPECT_EQ(e4->threadCount(), 4);
    const Tensor x = randomTensor({1, 8, 32, 32}, 9);
    auto y1 = e1->run({{"x", x}});
    auto y4 = e4->run({{"x", x}});
    ASSERT_TRUE(y1.ok() && y4.ok());
    const auto a = floats((*y1)[0]), c = floats((*y4)[0]);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-5);
}

TEST(OpRegistry, ListsTheDefaultDomain) {
    const auto ops = OpRegistry::instance().opTypes();
    EXPECT_GT(ops.size(), 100u);
    EXPECT_TRUE(OpRegistry::instance().supports("ai.onnx", "Conv"));
    EXPECT_FALSE(OpRegistry::instance().supports("com.microsoft", "Conv"));
}

}  // namespace
}  // namespace by

namespace by {
namespace {

TEST(Executor, FoldsConstantWeightTransformsOnceAtPlanTime) {
    // x [2,4] x dequantize(int8 W [4,3]) -> y: the dequantisation runs once, at create().
    Builder b;
    b.input("x", DType::F32, {2, 4});
    std::vector<uint8_t> q(12);
    for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(int8_t(int(i) - 6));
    b.constant("wq", *Tensor::fromBytes(DType::I8, {4, 3}, q));
    b.constant("scale", Tensor::fromFloats({}, {0.5f}));
    b.node("DequantizeLinear", {"wq", "scale"}, {"w"});
    b.node("MatMul", {"x", "w"}, {"y"});
    // A constant expanded far beyond its size stays a run-time node.
    b.constant("one", Tensor::fromFloats({1}, {1.f}));
    b.constant("big", Tensor::fromInt64s({1}, {100000}));
    b.node("Expand", {"one", "big"}, {"e"});
    b.node("ReduceSum", {"e"}, {"s"});
    b.output("y");
    b.output("s");
    auto ex = Executor::create(b.done(), 17);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    RunStats stats;
    RunOptions ro;
    ro.stats = &stats;
    const std::vector<float> x = {1, 2, 3, 4, -1, 0, 1, 0};
    auto out = ex->run({{"x", Tensor::fromFloats({2, 4}, x)}}, ro);
    ASSERT_TRUE(out.ok()) << out.error().what();
    EXPECT_EQ(stats.nodesRun, 3);  // MatMul, Expand, ReduceSum; not DequantizeLinear
    for (int64_t r = 0; r < 2; ++r)
        for (int64_t c = 0; c < 3; ++c) {
            float want = 0;
            for (int64_t k = 0; k < 4; ++k) want += x[size_t(r * 4 + k)] * 0.5f * float(int(k * 3 + c) - 6);
            EXPECT_FLOAT_EQ((*out)[0].data<float>()[r * 3 + c], want);
        }
    EXPECT_FLOAT_EQ((*out)[1].data<float>()[0], 100000.f);
    // The same results on a second run: the folded weight is kept, not consumed.
    auto again = ex->run({{"x", Tensor::fromFloats({2, 4}, x)}});
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE((*again)[0].sameContent((*out)[0]));
}

// A PaddleOCR-style block: Conv, a learned affine pair, hard-swish spelt as Add/Clip/Mul/Div, and
// a per-channel scale. Fused (one pass behind the Conv) and node-by-node runs must agree.
Graph hardSwishBlock(const Shape& x, int64_t channels, const Tensor& channelScale) {
    Builder b;
    b.input("x", DType::F32, x);
    b.constant("w", randomTensor({channels, x[1], 3, 3}, 3));
    b.constant("bias", randomTensor({channels}, 4));
    b.constant("a", Tensor::fromFloats({1}, {1.5f}));
    b.constant("c", Tensor::fromFloats({1}, {0.25f}));
    b.constant("three", Tensor::fromFloats({}, {3.f}));
    b.constant("six", Tensor::fromFloats({}, {6.f}));
    b.constant("lo", Tensor::fromFloats({}, {0.f}));
    b.constant("hi", Tensor::fromFloats({}, {6.f}));
    b.constant("k", channelScale);
    Node& conv = b.node("Conv", {"x", "w", "bias"}, {"c0"});
    conv.setAttr("pads", Attribute::ofInts({1, 1, 1, 1}));
    b.node("Mul", {"a", "c0"}, {"m1"});
    b.node("Add", {"m1", "c"}, {"a1"});
    b.node("Add", {"a1", "three"}, {"a2"});
    b.node("Clip", {"a2", "lo", "hi"}, {"cl"});
    b.node("Mul", {"a1", "cl"}, {"m2"});
    b.node("Div", {"m2", "six"}, {"hs"});
    b.node("Mul", {"hs", "k"}, {"y"});
    b.node("Sigmoid", {"y"}, {"z"});
    b.output("z");
    return b.done();
}

std::vector<float> runBlock(const Graph& g, const Tensor& x, bool fuse, RunStats* stats, const RunOptions& base = {}) {
    ExecutorOptions eo;
    eo.fuseElementwise = fuse;
    eo.threads = 2;
    auto ex = Executor::create(g, 17, eo);
    EXPECT_TRUE(ex.ok()) << ex.error().what();
    if (!ex) return {};
    RunOptions ro = base;
    ro.stats = stats;
    auto out = ex->run({{"x", x}}, ro);
    EXPECT_TRUE(out.ok()) << out.error().what();
    return out ? floats((*out)[0]) : std::vector<float>{};
}

TEST(ElementwiseFusion, ChainBehindAConvMatchesNodeByNode) {
    const Tensor x = randomTensor({2, 4, 30, 40}, 9);
    const Graph g = hardSwishBlock(x.shape(), 6, randomTensor({6, 1, 1}, 5));  // per-channel scale
    RunStats fused, plain;
    const auto a = runBlock(g, x, true, &fused);
    const auto b = runBlock(g, x, false, &plain);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_EQ(a.size(), size_t(2 * 6 * 30 * 40));
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6f * (1.f + std::fabs(b[i]))) << "element " << i;
    EXPECT_EQ(fused.fusedChains, 1);
    EXPECT_EQ(plain.fusedChains, 0);
    EXPECT_EQ(fused.nodesRun, plain.nodesRun);  // absorbed nodes still count as run
    EXPECT_LT(fused.peakLiveBytes, plain.peakLiveBytes);
}

TEST(ElementwiseFusion, AConstantThatWouldBroadcastTheOutputFallsBackToTheNodes) {
    // The scale has a batch axis of 3 while the input has 1: the output grows to batch 3, which
    // only the original nodes can do.
    const Tensor x = randomTensor({1, 4, 10, 12}, 11);
    const Graph g = hardSwishBlock(x.shape(), 5, randomTensor({3, 1, 1, 1}, 12));
    RunStats fused, plain;
    const auto a = runBlock(g, x, true, &fused);
    const auto b = runBlock(g, x, false, &plain);
    ASSERT_EQ(a.size(), size_t(3 * 5 * 10 * 12));
    ASSERT_EQ(a, b);
    EXPECT_EQ(fused.fusedChains, 0);
}

TEST(ElementwiseFusion, CapturingRunsSeeEveryIntermediateValue) {
    const Tensor x = randomTensor({1, 4, 8, 8}, 13);
    const Graph g = hardSwishBlock(x.shape(), 3, randomTensor({3, 1, 1}, 14));
    std::set<std::string> seen;
    RunOptions ro;
    ro.capture = [&](int node, int, const Tensor&) { seen.insert(g.nodes[static_cast<size_t>(node)].outputs.empty() ? "" : g.values[static_cast<size_t>(g.nodes[static_cast<size_t>(node)].outputs[0])].name); };
    RunStats stats;
    const auto a = runBlock(g, x, true, &stats, ro);
    const auto b = runBlock(g, x, false, nullptr);
    EXPECT_EQ(a, b);
    EXPECT_EQ(stats.fusedChains, 0);
    for (const char* v : {"c0", "m1", "a1", "a2", "cl", "m2", "hs", "y", "z"}) EXPECT_TRUE(seen.count(v)) << v;
}

TEST(ElementwiseFusion, StopsBeforeAValueUsedOutsideTheChain) {
    // "a1" feeds both the chain and a second graph output: the chain may only end there.
    Builder b;
    b.input("x", DType::F32, {4, 5});
    b.constant("two", Tensor::fromFloats({}, {2.f}));
    b.node("Mul", {"x", "two"}, {"m"});
    b.node("Relu", {"m"}, {"a1"});
    b.node("Tanh", {"a1"}, {"t"});
    b.node("Neg", {"t"}, {"y"});
    b.output("y");
    b.output("a1");
    const Graph g = b.done();
    const Tensor x = randomTensor({4, 5}, 15);
    for (bool fuse : {true, false}) {
        ExecutorOptions eo;
        eo.fuseElementwise = fuse;
        auto ex = Executor::create(g, 17, eo);
        ASSERT_TRUE(ex.ok());
        auto out = ex->run({{"x", x}});
        ASSERT_TRUE(out.ok()) << out.error().what();
        const auto xv = floats(x), y = floats((*out)[0]), a1 = floats((*out)[1]);
        for (size_t i = 0; i < xv.size(); ++i) {
            const float r = std::max(0.f, xv[i] * 2.f);
            EXPECT_EQ(a1[i], r);
            EXPECT_FLOAT_EQ(y[i], -std::tanh(r));
        }
    }
}

}  // namespace
}  // namespace by
