// The GPT-2 runtime on the tiny model scripts/setup.sh trains and writes (GGUF and safetensors).
#include "engine/gpt_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "tests/test_support.h"

namespace by {
namespace {

std::shared_ptr<const GptModel> open(const std::string& rel) {
    auto m = loadModel(test::asset(rel));
    if (!m.ok()) {
        ADD_FAILURE() << m.error().what();
        return nullptr;
    }
    auto g = GptModel::fromModel(*m);
    if (!g.ok()) {
        ADD_FAILURE() << g.error().what();
        return nullptr;
    }
    return *g;
}

std::vector<int32_t> testTokens(size_t n) {
    auto t = readNpy(test::asset("data/lm/test_ids.npy"));
    EXPECT_TRUE(t.ok());
    const auto* p = t->data<int32_t>();
    return std::vector<int32_t>(p, p + std::min<int64_t>(static_cast<int64_t>(n), t->numel()));
}

TEST(GptModel, F32LogitsMatchPyTorch) {
    auto tok = readNpy(test::asset("models/tiny_gpt/ref_tokens.npy"));
    auto ref = readNpy(test::asset("models/tiny_gpt/ref_logits.npy"));
    ASSERT_TRUE(tok.ok() && ref.ok());
    for (const char* file : {"models/tiny_gpt_f32.gguf", "models/tiny_gpt.safetensors"}) {
        auto g = open(file);
        ASSERT_TRUE(g);
        GptSession s(g, 2);
        std::span<const int32_t> ids(tok->data<int32_t>(), static_cast<size_t>(tok->numel()));
        auto logits = s.eval(ids, true);
        ASSERT_TRUE(logits.ok()) << logits.error().what();
        ASSERT_EQ(static_cast<int64_t>(logits->size()), ref->numel());
        double maxDiff = 0, maxAbs = 0;
        for (size_t i = 0; i < logits->size(); ++i) {
            maxDiff = std::max(maxDiff, static_cast<double>(std::fabs((*logits)[i] - ref->data<float>()[i])));
            maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(ref->data<float>()[i])));
        }
        EXPECT_LT(maxDiff, 1e-3 * std::max(1.0, maxAbs)) << file;
    }
}

// The ONNX graph `lm build` writes, run by the generic executor, gives the same logits.
TEST(GptModel, OnnxGraphOnExecutorMatchesPyTorch) {
    auto tok = readNpy(test::asset("models/tiny_gpt/ref_tokens.npy"));
    auto ref = readNpy(test::asset("models/tiny_gpt/ref_logits.npy"));
    auto m = loadModel(test::asset("models/tiny_gpt.onnx"));
    ASSERT_TRUE(tok.ok() && ref.ok() && m.ok());
    auto exec = Executor::create(*m, ExecutorOptions{2});
    ASSERT_TRUE(exec.ok()) << exec.error().what();
    std::vector<int64_t> ids, pos;
    for (int64_t i = 0; i < tok->numel(); ++i) {
        ids.push_back(tok->data<int32_t>()[i]);
        pos.push_back(i);
    }
    auto out = exec->run({{"input_ids", Tensor::fromInt64s({tok->numel()}, ids)}, {"position_ids", Tensor::fromInt64s({tok->numel()}, pos)}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    ASSERT_EQ((*out)[0].numel(), ref->numel());
    double maxDiff = 0;
    for (int64_t i = 0; i < ref->numel(); ++i)
        maxDiff = std::max(maxDiff, static_cast<double>(std::fabs((*out)[0].data<float>()[i] - ref->data<float>()[i])));
    EXPECT_LT(maxDiff, 1e-3);
}

TEST(GptModel, KvCacheGenerationEqualsFullRecompute) {
    for (const char* file : {"models/tiny_gpt_f32.gguf", "models/tiny_gpt_q4_0.gguf"}) {
        auto g = open(file);
        ASSERT_TRUE(g);
        const auto ids = testTokens(48);
        GptSession inc(g, 2), full(g, 1);
        auto last = inc.eval(std::span<const int32_t>(ids).first(32), false);
        ASSERT_TRUE(last.ok());
        for (size_t i = 32; i < ids.size(); ++i) {
            last = inc.eval(std::span<const int32_t>(&ids[i], 1), false);
            ASSERT_TRUE(last.ok());
        }
        auto ref = full.eval(ids, true);
        ASSERT_TRUE(ref.ok());
        const int64_t V = g->config().nVocab;
        double maxDiff = 0;
        for (int64_t v = 0; v < V; ++v)
            maxDiff = std::max(maxDiff, static_cast<double>(std::fabs((*last)[static_cast<size_t>(v)] - (*ref)[static_cast<size_t>((ids.size() - 1) * V + v)])));
        EXPECT_LT(maxDiff, 1e-3) << file;
        EXPECT_EQ(inc.pos(), 48);
    }
}

TEST(GptModel, PerplexityAgreesWithDirectComputation) {
    auto g = open("models/tiny_gpt_f32.gguf");
    ASSERT_TRUE(g);
    const int64_t ctx = 64;
    const auto ids = testTokens(static_cast<size_t>(2 * ctx + 10));
    GptSession s(g, 2);
    auto r = computePerplexity(s, ids, ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->chunks, 2);
    EXPECT_EQ(r->scored, 2 * (ctx - 1 - ctx / 2));
    // Direct: token-by-token through the KV cache, log-probabilities in double.
    double nll = 0;
    int64_t count = 0;
    for (int64_t ch = 0; ch < 2; ++ch) {
        GptSession step(g, 1);
        for (int64_t j = 0; j < ctx - 1; ++j) {
            auto lg = step.eval(std::span<const int32_t>(&ids[static_cast<size_t>(ch * ctx + j)], 1), false);
            ASSERT_TRUE(lg.ok());
            if (j < ctx / 2) continue;
            double mx = -1e30, sum = 0;
            for (float z : *lg) mx = std::max(mx, static_cast<double>(z));
            for (float z : *lg) sum += std::exp(z - mx);
            nll -= (*lg)[static_cast<size_t>(ids[static_cast<size_t>(ch * ctx + j + 1)])] - mx - std::log(sum);
            ++count;
        }
    }
    EXPECT_EQ(count, r->scored);
    EXPECT_NEAR(std::exp(nll / static_cast<double>(count)), r->ppl, 1e-3 * r->ppl);
}

TEST(GptModel, QuantizedModelsStayCloseToF32) {
    auto f32 = open("models/tiny_gpt_f32.gguf");
    ASSERT_TRUE(f32);
    const auto ids = testTokens(3 * 128);
    double lastKl = 0;
    for (const char* file : {"models/tiny_gpt_q8_0.gguf", "models/tiny_gpt_q4_0.gguf"}) {
        auto q = open(file);
        ASSERT_TRUE(q);
        GptSession sq(q, 2), sb(f32, 2);
        auto r = computePerplexity(sq, ids, 128, -1, &sb);
        ASSERT_TRUE(r.ok());
        EXPECT_GT(r->top1Agreement, 0.8) << file;
        EXPECT_LT(r->meanKl, 0.05) << file;
        EXPECT_GT(r->meanKl, lastKl) << file << ": 4-bit should lose more than 8-bit";
        lastKl = r->meanKl;
    }
}

TEST(GptModel, RejectsBadInput) {
    auto g = open("models/tiny_gpt_f32.gguf");
    ASSERT_TRUE(g);
    GptSession s(g, 1);
    const std::vector<int32_t> bad{1, 60000};
    EXPECT_FALSE(s.eval(bad, false).ok());
    std::vector<int32_t> tooLong(static_cast<size_t>(g->config().nCtx + 1), 11);
    EXPECT_FALSE(s.eval(tooLong, false).ok());
    Model empty;
    EXPECT_FALSE(GptModel::fromModel(empty).ok());
}

}  // namespace
}  // namespace by
