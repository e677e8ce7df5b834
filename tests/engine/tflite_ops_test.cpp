// TFLite kernels (engine/ops_tflite.cpp) on tiny graphs built in code, against direct loops
// written from the operator definitions or against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/executor.h"

namespace by {
namespace {

struct TflGraph {
    Graph g;
    void input(const std::string& name, const Shape& s) {
        const int id = g.valueId(name);
        g.values[static_cast<size_t>(id)].dtype = DType::F32;
        g.values[static_cast<size_t>(id)].shape = toDimShape(s);
        g.inputs.push_back(id);
    }
    void constant(const std::string& name, const Tensor& t) { g.addInitializer(name, t); }
    Node& node(const std::string& op, const std::vector<std::string>& ins, const std::string& out,
               const std::string& domain = "tflite") {
        Node n;
        n.opType = op;
        n.domain = domain;
        for (const auto& i : ins) n.inputs.push_back(i.empty() ? -1 : g.valueId(i));
        n.outputs.push_back(g.valueId(out));
        g.addNode(std::move(n));
        return g.nodes.back();
    }
    Tensor run(const Tensor& x) {
        g.outputs = {g.findValue("y")};
        EXPECT_TRUE(g.rebuildLinks().ok());
        auto ex = Executor::create(g, 0);
        EXPECT_TRUE(ex.ok()) << ex.error().what();
        if (!ex.ok()) return {};
        auto out = ex->run({{"x", x}});
        EXPECT_TRUE(out.ok()) << out.error().what();
        return out.ok() ? (*out)[0] : Tensor{};
    }
};

Tensor randomTensor(const Shape& s, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    std::vector<float> v(static_cast<size_t>(shapeNumel(s)));
    for (auto& x : v) x = d(rng);
    return Tensor::fromFloats(s, v);
}

std::vector<float> floats(const Tensor& t) { return *t.toFloats(); }

// TensorFlow's SAME rule: output ceil(in / stride), padding split with the smaller half first.
int64_t samePadBefore(int64_t in, int64_t k, int64_t stride, int64_t dilation) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t need = (out - 1) * stride + (k - 1) * dilation + 1 - in;
    return need > 0 ? need / 2 : 0;
}

void expectNear(const std::vector<float>& got, const std::vector<float>& want, float tol) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "element " << i;
}

TEST(TfliteOps, Conv2dSameStride2MatchesDirectLoop) {
    struct Case {
        int64_t h, w, c, o, k, stride, dilation;
        const char* act;
    };
    const Case cases[] = {{7, 6, 3, 4, 3, 2, 1, "NONE"}, {8, 8, 5, 2, 3, 2, 1, "RELU6"}, {9, 7, 2, 3, 3, 1, 2, "RELU"}};
    uint32_t seed = 10;
    for (const auto& c : cases) {
        TflGraph t;
        t.input("x", {1, c.h, c.w, c.c});
        const Tensor w = randomTensor({c.o, c.k, c.k, c.c}, seed++);
        const Tensor b = randomTensor({c.o}, seed++);
        t.constant("w", w);
        t.constant("b", b);
        Node& n = t.node("CONV_2D", {"x", "w", "b"}, "y");
        n.setAttr("padding", Attribute::ofString("SAME"));
        n.setAttr("stride_w", Attribute::ofInt(c.stride));
        n.setAttr("stride_h", Attribute::ofInt(c.stride));
        n.setAttr("dilation_w_factor", Attribute::ofInt(c.dilation));
        n.setAttr("dilation_h_factor", Attribute::ofInt(c.dilation));
        n.setAttr("fused_activation_function", Attribute::ofString(c.act));
        const Tensor x = randomTensor({1, c.h, c.w, c.c}, seed++);
        const Tensor y = t.run(x);
        const int64_t oh = (c.h + c.stride - 1) / c.stride, ow = (c.w + c.stride - 1) / c.stride;
        ASSERT_EQ(y.shape(), (Shape{1, oh, ow, c.o}));
        const int64_t ph = samePadBefore(c.h, c.k, c.stride, c.dilation), pw = samePadBefore(c.w, c.k, c.stride, c.dilation);
        const auto xv = floats(x), wv = floats(w), bv = floats(b);
        std::vector<float> want;
        for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox)
                for (int64_t o = 0; o < c.o; ++o) {
                    double s = bv[static_cast<size_t>(o)];
                    for (int64_t ky = 0; ky < c.k; ++ky)
                        for (int64_t kx = 0; kx < c.k; ++kx)
                            for (int64_t ci = 0; ci < c.c; ++ci) {
                                const int64_t iy = oy * c.stride + ky * c.dilation - ph;
                                const int64_t ix = ox * c.stride + kx * c.dilation - pw;
                                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                                s += xv[static_cast<size_t>((iy * c.w + ix) * c.c + ci)] *
                                     wv[static_cast<size_t>(((o * c.k + ky) * c.k + kx) * c.c + ci)];
                            }
                    if (std::string(c.act) == "RELU") s = std::max(s, 0.0);
                    if (std::string(c.act) == "RELU6") s = std::min(std::max(s, 0.0), 6.0);
                    want.push_back(static_cast<float>(s));
                }
        expectNear(floats(y), want, 1e-4f);
    }
}

TEST(TfliteOps, DepthwiseConvWithMultiplierMatchesDirectLoop) {
    struct Case {
        int64_t h, w, c, mult, k, stride;
        const char* padding;
    };
    const Case cases[] = {{5, 6, 3, 2, 3, 1, "SAME"}, {9, 8, 4, 3, 3, 2, "VALID"}, {6, 6, 8, 1, 5, 2, "SAME"}};
    uint32_t seed = 50;
    for (const auto& c : cases) {
        const int64_t oc = c.c * c.mult;
        TflGraph t;
        t.input("x", {1, c.h, c.w, c.c});
        const Tensor w = randomTensor({1, c.k, c.k, oc}, seed++);
        const Tensor b = randomTensor({oc}, seed++);
        t.constant("w", w);
        t.constant("b", b);
        Node& n = t.node("DEPTHWISE_CONV_2D", {"x", "w", "b"}, "y");
        n.setAttr("padding", Attribute::ofString(c.padding));
        n.setAttr("stride_w", Attribute::ofInt(c.stride));
        n.setAttr("stride_h", Attribute::ofInt(c.stride));
        n.setAttr("depth_multiplier", Attribute::ofInt(c.mult));
        const Tensor x = randomTensor({1, c.h, c.w, c.c}, seed++);
        const Tensor y = t.run(x);
        const bool same = std::string(c.padding) == "SAME";
        const int64_t oh = same ? (c.h + c.stride - 1) / c.stride : (c.h - c.k) / c.stride + 1;
        const int64_t ow = same ? (c.w + c.stride - 1) / c.stride : (c.w - c.k) / c.stride + 1;
        ASSERT_EQ(y.shape(), (Shape{1, oh, ow, oc}));
        const int64_t ph = same ? samePadBefore(c.h, c.k, c.stride, 1) : 0;
        const int64_t pw = same ? samePadBefore(c.w, c.k, c.stride, 1) : 0;
        const auto xv = floats(x), wv = floats(w), bv = floats(b);
        std::vector<float> want;
        for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox)
                for (int64_t ci = 0; ci < c.c; ++ci)
                    for (int64_t m = 0; m < c.mult; ++m) {
                        const int64_t o = ci * c.mult + m;
                        double s = bv[static_cast<size_t>(o)];
                        for (int64_t ky = 0; ky < c.k; ++ky)
                            for (int64_t kx = 0; kx < c.k; ++kx) {
                                const int64_t iy = oy * c.stride + ky - ph, ix = ox * c.stride + kx - pw;
                                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                                s += xv[static_cast<size_t>((iy * c.w + ix) * c.c + ci)] *
                                     wv[static_cast<size_t>((ky * c.k + kx) * oc + o)];
                            }
                        want.push_back(static_cast<float>(s));
                    }
        expectNear(floats(y), want, 1e-4f);
    }
}

// Input [[0, 1], [2, 3]]: every output is xw + 2 * yw, where xw and yw are the interpolation
// positions along each axis after clamping, worked out by hand for each mode.
TEST(TfliteOps, ResizeBilinearModesMatchHandValues) {
    struct Case {
        bool align, half;
        int64_t size;
        std::vector<float> pos;
    };
    const Case cases[] = {
        {false, true, 4, {0.f, 0.25f, 0.75f, 1.f}},   // half-pixel centres: -0.25, 0.25, 0.75, 1.25
        {true, false, 3, {0.f, 0.5f, 1.f}},           // corners aligned: 0, 0.5, 1
        {false, false, 4, {0.f, 0.5f, 1.f, 1.f}},     // legacy: 0, 0.5, 1, 1.5
    };
    for (const auto& c : cases) {
        TflGraph t;
        t.input("x", {1, 2, 2, 2});
        t.constant("size", Tensor::fromInt64s({2}, {c.size, c.size}));
        Node& n = t.node("RESIZE_BILINEAR", {"x", "size"}, "y");
        n.setAttr("align_corners", Attribute::ofInt(c.align));
        n.setAttr("half_pixel_centers", Attribute::ofInt(c.half));
        // Channel 0 holds [[0,1],[2,3]], channel 1 the same times -10.
        const Tensor x = Tensor::fromFloats({1, 2, 2, 2}, {0.f, -0.f, 1.f, -10.f, 2.f, -20.f, 3.f, -30.f});
        const Tensor y = t.run(x);
        ASSERT_EQ(y.shape(), (Shape{1, c.size, c.size, 2}));
        std::vector<float> want;
        for (float py : c.pos)
            for (float px : c.pos) {
                want.push_back(px + 2.f * py);
                want.push_back(-10.f * (px + 2.f * py));
            }
        expectNear(floats(y), want, 1e-5f);
    }
}

// Scatter definition: every input pixel adds its filter-weighted copy at (iy * stride + ky - pad).
std::vector<float> naiveTransposeConv(const std::vector<float>& x, const std::vector<float>& w,
                                      const std::vector<float>& b, int64_t h, int64_t wd, int64_t c, int64_t o,
                                      int64_t k, int64_t stride, int64_t pad, int64_t oh, int64_t ow) {
    std::vector<double> acc(static_cast<size_t>(oh * ow * o), 0.0);
    for (int64_t p = 0; p < oh * ow; ++p)
        for (int64_t q = 0; q < o; ++q) acc[static_cast<size_t>(p * o + q)] = b[static_cast<size_t>(q)];
    for (int64_t iy = 0; iy < h; ++iy)
        for (int64_t ix = 0; ix < wd; ++ix)
            for (int64_t ky = 0; ky < k; ++ky)
                for (int64_t kx = 0; kx < k; ++kx) {
                    const int64_t oy = iy * stride + ky - pad, ox = ix * stride + kx - pad;
                    if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                    for (int64_t q = 0; q < o; ++q)
                        for (int64_t ci = 0; ci < c; ++ci)
                            acc[static_cast<size_t>((oy * ow + ox) * o + q)] +=
                                x[static_cast<size_t>((iy * wd + ix) * c + ci)] *
                                w[static_cast<size_t>(((q * k + ky) * k + kx) * c + ci)];
                }
    return {acc.begin(), acc.end()};
}

Tensor customOptions(int32_t padding, int32_t sw, int32_t sh) {
    std::vector<uint8_t> bytes(12);
    const int32_t v[3] = {padding, sw, sh};
    std::memcpy(bytes.data(), v, 12);
    return *Tensor::fromBytes(DType::U8, {12}, bytes);
}

TEST(TfliteOps, Convolution2DTransposeBiasMatchesScatterDefinition) {
    struct Case {
        int32_t padding;  // 1 SAME, 2 VALID (TfLitePadding)
        int64_t h, w, c, o, k, stride;
    };
    const Case cases[] = {{1, 3, 4, 2, 3, 4, 2}, {1, 5, 5, 4, 2, 2, 2}, {2, 3, 3, 3, 2, 3, 2}};
    uint32_t seed = 90;
    for (const auto& c : cases) {
        TflGraph t;
        t.input("x", {1, c.h, c.w, c.c});
        const Tensor w = randomTensor({c.o, c.k, c.k, c.c}, seed++);
        const Tensor b = randomTensor({c.o}, seed++);
        t.constant("w", w);
        t.constant("b", b);
        Node& n = t.node("Convolution2DTransposeBias", {"x", "w", "b"}, "y", "tflite.custom");
        n.setAttr("custom_options", Attribute::ofTensor(customOptions(c.padding, int32_t(c.stride), int32_t(c.stride))));
        const Tensor x = randomTensor({1, c.h, c.w, c.c}, seed++);
        const Tensor y = t.run(x);
        const bool same = c.padding == 1;
        const int64_t oh = same ? c.h * c.stride : (c.h - 1) * c.stride + c.k;
        const int64_t ow = same ? c.w * c.stride : (c.w - 1) * c.stride + c.k;
        ASSERT_EQ(y.shape(), (Shape{1, oh, ow, c.o}));
        // SAME: the padding of a forward convolution from the output size back to the input size.
        const int64_t pad = same ? std::max<int64_t>(c.k - c.stride, 0) / 2 : 0;
        expectNear(floats(y),
                   naiveTransposeConv(floats(x), floats(w), floats(b), c.h, c.w, c.c, c.o, c.k, c.stride, pad, oh, ow),
                   1e-4f);
    }
}

TEST(TfliteOps, TransposeBiasWithoutOptionsIsRefusedAtPlanTime) {
    TflGraph t;
    t.input("x", {1, 2, 2, 1});
    t.constant("w", randomTensor({1, 2, 2, 1}, 1));
    t.node("Convolution2DTransposeBias", {"x", "w"}, "y", "tflite.custom");
    t.g.outputs = {t.g.findValue("y")};
    ASSERT_TRUE(t.g.rebuildLinks().ok());
    auto ex = Executor::create(t.g, 0);
    ASSERT_FALSE(ex.ok());
    EXPECT_NE(std::string(ex.error().what()).find("custom options"), std::string::npos) << ex.error().what();
}

TEST(TfliteOps, AveragePoolCountsOnlyCellsInsideTheInput) {
    TflGraph t;
    t.input("x", {1, 3, 3, 1});
    Node& n = t.node("AVERAGE_POOL_2D", {"x"}, "y");
    n.setAttr("padding", Attribute::ofString("SAME"));
    n.setAttr("stride_w", Attribute::ofInt(2));
    n.setAttr("stride_h", Attribute::ofInt(2));
    n.setAttr("filter_width", Attribute::ofInt(2));
    n.setAttr("filter_height", Attribute::ofInt(2));
    const Tensor y = t.run(Tensor::fromFloats({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
    // Windows: rows/cols {0,1} and {2}: (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9.
    expectNear(floats(y), {3.f, 4.5f, 7.5f, 9.f}, 1e-6f);
}

TEST(TfliteOps, FullyConnectedKeepsLeadingDimsAndAddsBias) {
    TflGraph t;
    t.input("x", {2, 3, 4});
    const Tensor w = randomTensor({5, 4}, 7);
    const Tensor b = randomTensor({5}, 8);
    t.constant("w", w);
    t.constant("b", b);
    Node& n = t.node("FULLY_CONNECTED", {"x", "w", "b"}, "y");
    n.setAttr("keep_num_dims", Attribute::ofInt(1));
    n.setAttr("fused_activation_function", Attribute::ofString("RELU"));
    const Tensor x = randomTensor({2, 3, 4}, 9);
    const Tensor y = t.run(x);
    ASSERT_EQ(y.shape(), (Shape{2, 3, 5}));
    const auto xv = floats(x), wv = floats(w), bv = floats(b);
    std::vector<float> want;
    for (size_t r = 0; r < 6; ++r)
        for (size_t o = 0; o < 5; ++o) {
            float s = bv[o];
            for (size_t k = 0; k < 4; ++k) s += xv[r * 4 + k] * wv[o * 4 + k];
            want.push_back(std::max(s, 0.f));
        }
    expectNear(floats(y), want, 1e-5f);
}

TEST(TfliteOps, MeanOverSpatialAxes) {
    for (int keep : {0, 1}) {
        TflGraph t;
        t.input("x", {1, 2, 2, 2});
        t.constant("axes", Tensor::fromInt64s({2}, {1, 2}));
        t.node("MEAN", {"x", "axes"}, "y").setAttr("keep_dims", Attribute::ofInt(keep));
        const Tensor y = t.run(Tensor::fromFloats({1, 2, 2, 2}, {1, 10, 2, 20, 3, 30, 4, 40}));
        EXPECT_EQ(y.shape(), keep ? (Shape{1, 1, 1, 2}) : (Shape{1, 2}));
        expectNear(floats(y), {2.5f, 25.f}, 1e-6f);
    }
}

TEST(TfliteOps, DequantizeInt8UsesTheScaleAndZeroPointOfItsInput) {
    TflGraph t;
    t.input("x", {3});
    const std::vector<uint8_t> bytes = {static_cast<uint8_t>(int8_t(-128)), 3, 127};
    t.constant("q", *Tensor::fromBytes(DType::I8, {3}, bytes));
    t.g.values[static_cast<size_t>(t.g.findValue("q"))].docString = "quantization: scale=0.5 zero_point=3";
    t.node("DEQUANTIZE", {"q"}, "d");
    t.node("ADD", {"x", "d"}, "y");
    const Tensor y = t.run(Tensor::fromFloats({3}, {0.f, 0.f, 1.f}));
    expectNear(floats(y), {-65.5f, 0.f, 63.f}, 1e-6f);
}

TEST(TfliteOps, DepthToSpaceMovesChannelBlocksToPixels) {
    TflGraph t;
    t.input("x", {1, 1, 2, 8});
    t.node("DEPTH_TO_SPACE", {"x"}, "y").setAttr("block_size", Attribute::ofInt(2));
    std::vector<float> v(16);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    const Tensor y = t.run(Tensor::fromFloats({1, 1, 2, 8}, v));
    ASSERT_EQ(y.shape(), (Shape{1, 2, 4, 2}));
    // Pixel w, block (dy, dx), channel c comes from input channel (dy * 2 + dx) * 2 + c of pixel w.
    expectNear(floats(y), {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15}, 0.f);
}

}  // namespace
}  // namespace by
