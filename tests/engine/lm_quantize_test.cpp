// Language-model quantization: the ggml block encoders against blocks worked out by hand, the
// tensor plan llama-quantize follows, GPTQ / AWQ on a small GPT-2 built in memory (judged by how
// close the quantized model's predictions stay to the f32 model's), and bad recipes refused with
// the input model untouched. The real tiny GPT files are covered by tests/app.
#include "engine/lm_quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/compression.h"
#include "engine/gpt_model.h"
#include "engine/quant_blocks.h"

using namespace by;

namespace {

uint16_t halfAt(const std::vector<uint8_t>& b, size_t at) {
    uint16_t h;
    std::memcpy(&h, &b[at], 2);
    return h;
}

std::vector<uint8_t> encode(DType t, const std::vector<float>& x) {
    std::vector<uint8_t> out(static_cast<size_t>(dtypeStorageBytes(t, static_cast<int64_t>(x.size()))), 0xAB);
    auto st = quantizeBlocks(t, x.data(), static_cast<int64_t>(x.size()), out.data());
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().what());
    return out;
}

}  // namespace

// x_j = j - 16: the largest magnitude is negative (-16), so d = -16 / -8 = 2 and level j is
// trunc((j - 16) / 2 + 8.5) = (j + 1) / 2, which rounds the odd j (ties) upwards and clamps j = 31
// (16 before the clamp) to 15.
TEST(LmQuantBlocks, Q4_0MaxNegativeAndTies) {
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[size_t(j)] = float(j - 16);
    const auto b = encode(DType::Q4_0, x);
    EXPECT_EQ(halfAt(b, 0), 0x4000);  // 2.0
    for (int j = 0; j < 16; ++j) {
        const int lo = std::min(15, (j + 1) / 2), hi = std::min(15, (j + 16 + 1) / 2);
        EXPECT_EQ(b[size_t(2 + j)], uint8_t(lo | (hi << 4))) << "byte " << j;
    }
    // x = -15 is -7.5 steps: the tie goes up, to level -7 (nibble 1); x = 1 (0.5 steps) to 1 (9).
    EXPECT_EQ(b[2 + 1] & 0x0F, 1);
    EXPECT_EQ(b[2 + 1] >> 4, 9);
}

// The mirror image: the largest magnitude is positive, so d is negative (-2) and the same levels
// come out (the extreme value always lands on level -8).
TEST(LmQuantBlocks, Q4_0MaxPositive) {
    std::vector<float> x(32), y(32);
    for (int j = 0; j < 32; ++j) {
        x[size_t(j)] = float(16 - j);
        y[size_t(j)] = float(j - 16);
    }
    const auto a = encode(DType::Q4_0, x), b = encode(DType::Q4_0, y);
    EXPECT_EQ(halfAt(a, 0), 0xC000);  // -2.0
    EXPECT_TRUE(std::equal(a.begin() + 2, a.end(), b.begin() + 2));
    std::vector<float> back(32);
    ASSERT_TRUE(dequantizeBlocks(DType::Q4_0, a.data(), 32, back.data()).ok());
    EXPECT_EQ(back[0], 16.0f);  // level -8 times -2
}

TEST(LmQuantBlocks, AllZeroBlocks) {
    const std::vector<float> zero(256, 0.0f);
    const auto q4 = encode(DType::Q4_0, std::vector<float>(32, 0.0f));
    EXPECT_EQ(halfAt(q4, 0), 0x8000);  // d = 0 / -8 = -0.0, as ggml stores it
    for (size_t j = 2; j < q4.size(); ++j) EXPECT_EQ(q4[j], 0x88);  // level 0 is nibble 8
    const auto q8 = encode(DType::Q8_0, std::vector<float>(32, 0.0f));
    for (uint8_t v : q8) EXPECT_EQ(v, 0);
    const auto q6 = encode(DType::Q6_K, zero);
    ASSERT_EQ(q6.size(), 210u);
    for (uint8_t v : q6) EXPECT_EQ(v, 0);
}

// Q8_0 with amax 127 has d = 1 exactly; halves round away from zero.
TEST(LmQuantBlocks, Q8_0Ties) {
    std::vector<float> x(32, 0.0f);
    x[0] = 127.f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.5f;
    x[4] = -0.5f;
    x[5] = -127.f;
    x[6] = 126.4f;
    const auto b = encode(DType::Q8_0, x);
    EXPECT_EQ(halfAt(b, 0), 0x3C00);  // 1.0
    const std::vector<int> want = {127, 3, -3, 1, -1, -127, 126};
    for (size_t j = 0; j < want.size(); ++j) EXPECT_EQ(int8_t(b[2 + j]), want[j]) << j;
    for (size_t j = 7; j < 32; ++j) EXPECT_EQ(b[2 + j], 0);
}

// A constant 1.0 super-block: every 16-value sub-block fits level -32 with scale -1/32, the
// super-scale is 1/(-128 / (-1/32)) = 2^-12 and each sub-block scale is -128; all levels are
// then 0 (-32 + 32), so ql and qh are zero and every value decodes to 2^-12 * -128 * -32 = 1.
TEST(LmQuantBlocks, Q6_KConstantBlockByHand) {
    const auto b = encode(DType::Q6_K, std::vector<float>(256, 1.0f));
    for (size_t i = 0; i < 192; ++i) ASSERT_EQ(b[i], 0) << i;
    for (size_t i = 192; i < 208; ++i) EXPECT_EQ(int8_t(b[i]), -128) << i;
    EXPECT_EQ(halfAt(b, 208), 0x0C00);  // 2^-12
    std::vector<float> back(256);
    ASSERT_TRUE(dequantizeBlocks(DType::Q6_K, b.data(), 256, back.data()).ok());
    for (float v : back) EXPECT_EQ(v, 1.0f);
}

TEST(LmQuantBlocks, Q6_KRoundTripsGaussianWeights) {
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.f, 0.05f);
    std::vector<float> x(256 * 8);
    for (auto& v : x) v = n(rng);
    const auto b = encode(DType::Q6_K, x);
    std::vector<float> back(x.size());
    ASSERT_TRUE(dequantizeBlocks(DType::Q6_K, b.data(), int64_t(x.size()), back.data()).ok());
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (x[i] - back[i]) * (x[i] - back[i]);
        den += x[i] * x[i];
    }
    EXPECT_LT(std::sqrt(num / den), 0.03);  // 6 bits: about 2% relative error
    EXPECT_GT(std::sqrt(num / den), 0.0);
}

namespace {

// A small GPT-2 (weights-only, hyper-parameters as safetensors-style string metadata) with
// random weights; a few LayerNorm channels are large so that activations have outlier channels.
Model smallGpt(bool withOutput = true, uint32_t seed = 7) {
    const int64_t V = 96, d = 64, ff = 128, ctx = 64, L = 2;
    Model m;
    m.format = "safetensors";
    m.metadata = {{"architecture", MetaValue::ofString("gpt2")}, {"n_layer", MetaValue::ofString("2")},
                  {"n_embd", MetaValue::ofString("64")},        {"n_head", MetaValue::ofString("4")},
                  {"n_ctx", MetaValue::ofString("64")},         {"n_ff", MetaValue::ofString("128")},
                  {"layer_norm_epsilon", MetaValue::ofString("1e-5")}};
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    auto rnd = [&](const Shape& s, float scale, float offset = 0.f) {
        int64_t count = 1;
        for (auto v : s) count *= v;
        std::vector<float> v(static_cast<size_t>(count));
        for (auto& e : v) e = offset + scale * n(rng);
        return Tensor::fromFloats(s, v);
    };
    auto norm = [&](int64_t len) {
        std::vector<float> w(static_cast<size_t>(len));
        for (int64_t i = 0; i < len; ++i) w[size_t(i)] = (i % 16 == 3 ? 6.f : 1.f) + 0.1f * n(rng);
        return Tensor::fromFloats({len}, w);
    };
    Graph& g = m.graph;
    g.addInitializer("token_embd.weight", rnd({V, d}, 0.5f));
    g.addInitializer("position_embd.weight", rnd({ctx, d}, 0.1f));
    for (int64_t l = 0; l < L; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        g.addInitializer(p + "attn_norm.weight", norm(d));
        g.addInitializer(p + "attn_norm.bias", rnd({d}, 0.1f));
        g.addInitializer(p + "attn_qkv.weight", rnd({3 * d, d}, 0.15f));
        g.addInitializer(p + "attn_qkv.bias", rnd({3 * d}, 0.05f));
        g.addInitializer(p + "attn_output.weight", rnd({d, d}, 0.15f));
        g.addInitializer(p + "attn_output.bias", rnd({d}, 0.05f));
        g.addInitializer(p + "ffn_norm.weight", norm(d));
        g.addInitializer(p + "ffn_norm.bias", rnd({d}, 0.1f));
        g.addInitializer(p + "ffn_up.weight", rnd({ff, d}, 0.15f));
        g.addInitializer(p + "ffn_up.bias", rnd({ff}, 0.05f));
        g.addInitializer(p + "ffn_down.weight", rnd({d, ff}, 0.1f));
        g.addInitializer(p + "ffn_down.bias", rnd({d}, 0.05f));
    }
    g.addInitializer("output_norm.weight", norm(d));
    g.addInitializer("output_norm.bias", rnd({d}, 0.1f));
    if (withOutput) g.addInitializer("output.weight", rnd({V, d}, 0.3f));
    return m;
}

std::vector<int32_t> randomTokens(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& v : t) v = int32_t(rng() % 96);
    return t;
}

const Tensor& tensorOf(const Model& m, const std::string& name) { return *m.graph.values[size_t(m.graph.findValue(name))].data; }

// Mean KL(f32 || quantized) of next-token distributions over held-out tokens.
double klToBase(const Model& base, const Model& q, const std::vector<int32_t>& tokens) {
    auto gb = GptModel::fromModel(base);
    auto gq = GptModel::fromModel(q);
    EXPECT_TRUE(gb.ok() && gq.ok());
    GptSession sb(*gb, 1), sq(*gq, 1);
    auto r = computePerplexity(sq, tokens, 32, -1, &sb);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() ? r->meanKl : 1e9;
}

CompressStep ggmlStep(DType t, const std::string& algorithm = "rtn") {
    CompressStep s;
    s.method = CompressMethod::QuantizeGgml;
    s.ggmlType = t;
    s.algorithm = algorithm;
    return s;
}

}  // namespace

TEST(LmQuantize, PlanFollowsLlamaQuantizeRules) {
    const Model m = smallGpt();
    auto q4 = planLmQuantization(m, DType::Q4_0);
    ASSERT_TRUE(q4.ok()) << q4.error().what();
    std::map<std::string, LmTensorPlan> p;
    for (const auto& e : *q4) p[e.name] = e;
    EXPECT_EQ(p["token_embd.weight"].to, DType::Q4_0);
    EXPECT_EQ(p["blk.1.ffn_down.weight"].to, DType::Q4_0);
    EXPECT_FALSE(p["position_embd.weight"].quantize);
    EXPECT_FALSE(p["blk.0.attn_norm.weight"].quantize);
    EXPECT_FALSE(p["blk.0.attn_qkv.bias"].quantize);
    // The head would be Q6_K, but rows of 64 are not 256-blocks: Q8_0, as llama-quantize falls back.
    EXPECT_EQ(p["output.weight"].to, DType::Q8_0);
    EXPECT_NE(p["output.weight"].note.find("Q6_K"), std::string::npos);
    auto q8 = planLmQuantization(m, DType::Q8_0);
    ASSERT_TRUE(q8.ok());
    for (const auto& e : *q8) {
        if (e.quantize) {
            EXPECT_EQ(e.to, DType::Q8_0) << e.name;
        }
    }
    // Without a head, the token embedding takes the head's rule.
    auto tied = planLmQuantization(smallGpt(false), DType::Q4_0);
    ASSERT_TRUE(tied.ok());
    for (const auto& e : *tied) {
        if (e.name == "token_embd.weight") {
            EXPECT_EQ(e.to, DType::Q8_0);
        }
    }
}

TEST(LmQuantize, RoundToNearestIsTheReferenceEncoderAndLeavesTheInputAlone) {
    const Model m = smallGpt();
    const Tensor before = tensorOf(m, "blk.0.ffn_up.weight");
    const std::vector<uint8_t> beforeBytes(before.bytes().begin(), before.bytes().end());
    Recipe r;
    r.steps.push_back(ggmlStep(DType::Q4_0));
    CompressContext ctx;
    ctx.threads = 3;
    auto out = compress(m, r, ctx);
    ASSERT_TRUE(out.ok()) << out.error().what();
    for (const char* name : {"blk.0.ffn_up.weight", "token_embd.weight", "output.weight"}) {
        const Tensor& src = tensorOf(m, name);
        const Tensor& q = tensorOf(out->model, name);
        const DType t = std::string(name) == "output.weight" ? DType::Q8_0 : DType::Q4_0;
        ASSERT_EQ(q.dtype(), t) << name;
        std::vector<uint8_t> want(size_t(dtypeStorageBytes(t, src.numel())));
        ASSERT_TRUE(quantizeBlocks(t, src.data<float>(), src.numel(), want.data()).ok());
        EXPECT_TRUE(std::equal(want.begin(), want.end(), q.rawData())) << name;
    }
    EXPECT_EQ(tensorOf(out->model, "blk.0.attn_norm.weight").dtype(), DType::F32);
    const Tensor& after = tensorOf(m, "blk.0.ffn_up.weight");
    EXPECT_EQ(after.dtype(), DType::F32);
    EXPECT_TRUE(std::equal(beforeBytes.begin(), beforeBytes.end(), after.rawData()));
    const MetaValue* ft = out->model.meta("general.file_type");
    ASSERT_NE(ft, nullptr);
    EXPECT_EQ(ft->i, 2);
}

TEST(LmQuantize, GptqAndAwqStayCloserToTheF32ModelThanRoundToNearest) {
    const Model m = smallGpt();
    CompressContext ctx;
    ctx.calibrationTokens = randomTokens(2048, 11);
    const auto held = randomTokens(512, 12);  // never seen in calibration
    auto run = [&](const std::string& alg) {
        Recipe r;
        r.steps.push_back(ggmlStep(DType::Q4_0, alg));
        auto out = compress(m, r, ctx);
        EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
        return out.ok() ? out->model : m;
    };
    const Model rtn = run("rtn"), gptq = run("gptq"), awq = run("awq");
    const double kRtn = klToBase(m, rtn, held), kGptq = klToBase(m, gptq, held), kAwq = klToBase(m, awq, held);
    EXPECT_GT(kRtn, 0.0);
    EXPECT_LT(kGptq, kRtn);
    EXPECT_LT(kAwq, kRtn);
    // Still Q4_0 blocks everywhere RTN has them; AWQ's scales went into the LayerNorms (same
    // tensors, same shapes, different values) so the graph is unchanged.
    for (const auto& v : rtn.graph.values) {
        if (!v.data) continue;
        EXPECT_EQ(tensorOf(gptq, v.name).dtype(), v.data->dtype()) << v.name;
        EXPECT_EQ(tensorOf(awq, v.name).dtype(), v.data->dtype()) << v.name;
        EXPECT_EQ(tensorOf(awq, v.name).shape(), v.data->shape()) << v.name;
    }
    EXPECT_EQ(rtn.graph.values.size(), awq.graph.values.size());
    const Tensor& ln = tensorOf(awq, "blk.0.attn_norm.weight");
    const Tensor& ln0 = tensorOf(m, "blk.0.attn_norm.weight");
    EXPECT_FALSE(std::equal(ln.bytes().begin(), ln.bytes().end(), ln0.rawData()));
}

TEST(LmQuantize, CalibrationMethodsNeedCalibrationText) {
    Recipe r;
    r.steps.push_back(ggmlStep(DType::Q4_0, "gptq"));
    auto out = compress(smallGpt(), r);
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.error().message.find("calibration text has 0 tokens"), std::string::npos) << out.error().message;
}

TEST(LmQuantize, BadRecipesAreRefusedWithOneSentence) {
    Model m = smallGpt();
    const std::vector<uint8_t> before(tensorOf(m, "blk.1.ffn_up.weight").bytes().begin(), tensorOf(m, "blk.1.ffn_up.weight").bytes().end());
    struct Case {
        CompressStep step;
        std::string want;
    };
    std::vector<Case> cases;
    {
        CompressStep s = ggmlStep(DType::Q4_0);
        s.group = 64;
        cases.push_back({s, "blocks hold 32 weights, so group 64"});
    }
    {
        CompressStep s = ggmlStep(DType::Q4_0);
        s.layers.names = {"blk.9.ffn_up.weight"};
        cases.push_back({s, "no tensor named 'blk.9.ffn_up.weight'"});
    }
    {
        CompressStep s = ggmlStep(DType::Q4_0);
        s.layers.names = {"blk.0.attn_norm.weight"};
        cases.push_back({s, "llama-quantize keeps unquantized"});
    }
    {
        CompressStep s = ggmlStep(DType::Q4_0, "magic");
        cases.push_back({s, "rtn, gptq or awq"});
    }
    {
        CompressStep s = ggmlStep(DType::Q4_1);
        cases.push_back({s, "q8_0 or q4_0"});
    }
    {
        CompressStep s;
        s.method = CompressMethod::QuantizeNBits;
        s.bits = 0;
        cases.push_back({s, "bits must be between 2 and 8, not 0"});
    }
    for (const auto& c : cases) {
        Recipe r;
        r.steps.push_back(c.step);
        auto v = validateRecipe(m, r);
        ASSERT_FALSE(v.ok()) << c.want;
        EXPECT_NE(v.error().message.find(c.want), std::string::npos) << v.error().message;
        EXPECT_EQ(v.error().message.find('\n'), std::string::npos);
        auto out = compress(m, r);
        ASSERT_FALSE(out.ok()) << c.want;
        EXPECT_NE(out.error().message.find(c.want), std::string::npos) << out.error().message;
    }
    // A row the blocks cannot split (40 values): named in the refusal.
    m.graph.addInitializer("blk.0.odd.weight", Tensor::fromFloats({2, 40}, std::vector<float>(80, 0.5f)));
    Recipe r;
    r.steps.push_back(ggmlStep(DType::Q4_0));
    auto out = compress(m, r);
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.error().message.find("'blk.0.odd.weight' has rows of 40 values, not a whole number of q4_0 blocks of 32"), std::string::npos)
        << out.error().message;
    EXPECT_TRUE(std::equal(before.begin(), before.end(), tensorOf(m, "blk.1.ffn_up.weight").rawData()));
    EXPECT_EQ(tensorOf(m, "blk.1.ffn_up.weight").dtype(), DType::F32);
}

namespace {

// ggml's Q6_K reference written out plainly (one sub-block at a time, scalar), to hold the
// vectorised encoder to the same bytes on data with every kind of block.
int nearestIntRef(float v) { return int(std::nearbyint(v)); }  // ties to even, as ggml's trick

float qx16(const float* x, int8_t* L) {
    const int nmax = 32;
    float max = 0, amax = 0;
    for (int i = 0; i < 16; ++i)
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    if (amax < 1e-15f) {
        for (int i = 0; i < 16; ++i) L[i] = 0;
        return 0.f;
    }
    auto fit = [&](float iscale, float& sumlx, float& suml2) {
        sumlx = suml2 = 0;
        for (int i = 0; i < 16; ++i) {
            const int l = std::max(-nmax, std::min(nmax - 1, nearestIntRef(iscale * x[i])));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * float(l);
            suml2 += w * float(l) * float(l);
        }
    };
    auto levels = [&](float iscale) {
        for (int i = 0; i < 16; ++i) L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, nearestIntRef(iscale * x[i]))));
    };
    float sumlx, suml2;
    fit(-float(nmax) / max, sumlx, suml2);
    levels(-float(nmax) / max);
    float scale = suml2 != 0.f ? sumlx / suml2 : 0.f, best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        const float iscale = -(float(nmax) + 0.1f * float(is)) / max;
        fit(iscale, sumlx, suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            levels(iscale);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

std::vector<uint8_t> q6kReference(const std::vector<float>& x) {
    std::vector<uint8_t> out(x.size() / 256 * 210, 0);
    for (size_t b = 0; b < x.size() / 256; ++b) {
        const float* xb = x.data() + b * 256;
        uint8_t* y = out.data() + b * 210;
        int8_t L[256];
        float scales[16], maxScale = 0, maxAbs = 0;
        for (int ib = 0; ib < 16; ++ib) {
            scales[ib] = qx16(xb + 16 * ib, L + 16 * ib);
            if (std::fabs(scales[ib]) > maxAbs) {
                maxAbs = std::fabs(scales[ib]);
                maxScale = scales[ib];
            }
        }
        if (maxAbs < 1e-15f) continue;  // all zero, d = +0
        const float iscale = -128.f / maxScale;
        const uint16_t dh = floatToHalf(1 / iscale);
        std::memcpy(y + 208, &dh, 2);
        auto* sc = reinterpret_cast<int8_t*>(y + 192);
        for (int ib = 0; ib < 16; ++ib) sc[ib] = int8_t(std::min(127, nearestIntRef(iscale * scales[ib])));
        for (int j = 0; j < 16; ++j) {
            const float d = halfToFloat(dh) * float(sc[j]);
            if (d == 0.f) continue;
            for (int i = 0; i < 16; ++i) L[16 * j + i] = int8_t(std::max(-32, std::min(31, nearestIntRef(xb[16 * j + i] / d))) + 32);
        }
        for (int half = 0; half < 2; ++half)
            for (int l = 0; l < 32; ++l) {
                const int base = 128 * half;
                const int a = L[base + l], bq = L[base + l + 32], c = L[base + l + 64], e = L[base + l + 96];
                y[64 * half + l] = uint8_t((a & 15) | ((c & 15) << 4));
                y[64 * half + l + 32] = uint8_t((bq & 15) | ((e & 15) << 4));
                y[128 + 32 * half + l] = uint8_t((a >> 4) | ((bq >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
            }
    }
    return out;
}

}  // namespace

TEST(LmQuantBlocks, Q6_KMatchesThePlainReference) {
    std::mt19937 rng(5);
    std::normal_distribution<float> n(0.f, 1.f);
    std::vector<float> x(256 * 64);
    for (size_t i = 0; i < x.size(); ++i) {
        const size_t blk = i / 256, sub = (i % 256) / 16;
        float v = n(rng) * 0.03f;
        if (blk % 4 == 1) v *= (sub % 3 == 0) ? 50.f : 1.f;                    // sub-blocks of very different scales
        if (blk % 4 == 2 && sub == 5) v = 0.f;                                  // one all-zero sub-block
        if (blk % 4 == 3) v = float(int(n(rng) * 4)) * 0.25f;                    // many exact ties
        if (blk == 8) v = 0.f;                                                  // an all-zero super-block
        x[i] = v;
    }
    EXPECT_EQ(encode(DType::Q6_K, x), q6kReference(x));
}
