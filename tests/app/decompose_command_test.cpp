// Modular decomposition (MoDeGPT type I: Nystrom feed-forward neurons with a refitted
// down-projection) against plain neuron slicing (prune_ffn, activation criterion) at the same
// sparsity, on the real models: the tiny GPT's perplexity on held-out text (calibrated on windows
// of the training text) and the PP-OCRv4 recogniser's character accuracy on the first 48 rendered
// lines (calibrated on the other 72, through the command line's --decompose / --calib-data).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "app/cli/eval_session.h"
#include "app/cli/recipe_json.h"
#include "engine/compression.h"
#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

// Windows of `len` token ids from a .npy of int32 ids, each sample the GPT graph's two inputs
// (input_ids and position_ids, both [len]).
class TokenWindows : public Dataset {
public:
    TokenWindows(std::vector<int64_t> ids, int64_t len) : m_ids(std::move(ids)), m_len(len) {}
    std::string name() const override { return "token windows"; }
    int64_t size() const override { return int64_t(m_ids.size()) / m_len; }
    Result<Sample> sample(int64_t index) const override {
        const std::vector<int64_t> ids(m_ids.begin() + index * m_len, m_ids.begin() + (index + 1) * m_len);
        std::vector<int64_t> pos(static_cast<size_t>(m_len));
        for (int64_t i = 0; i < m_len; ++i) pos[size_t(i)] = i;
        Sample s;
        s.inputs = {Tensor::fromInt64s({m_len}, ids), Tensor::fromInt64s({m_len}, pos)};
        return s;
    }
    std::vector<Shape> inputShapes() const override { return {{m_len}, {m_len}}; }
    std::vector<DType> inputDTypes() const override { return {DType::I64, DType::I64}; }
    const std::vector<std::string>& classNames() const override { return m_none; }

private:
    std::vector<int64_t> m_ids;
    int64_t m_len;
    std::vector<std::string> m_none;
};

std::vector<int64_t> tokenIds(const std::string& file, int64_t count) {
    auto t = readNpy(test::asset("data/lm/" + file));
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().what());
    if (!t) return {};
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < std::min(count, t->numel()); ++i) ids.push_back(t->data<int32_t>()[i]);
    return ids;
}

// Perplexity of the ONNX GPT graph over windows of the held-out text (each window scored from its
// second token on), and the mean KL divergence of its next-token distributions from the original's.
struct LmScore {
    double ppl = 0, kl = 0;
};

LmScore score(const Model& original, const Model& m, const TokenWindows& text) {
    auto base = Executor::create(original), ex = Executor::create(m);
    EXPECT_TRUE(ex.ok() && base.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex || !base) return {};
    double nll = 0, kl = 0;
    int64_t scored = 0;
    for (int64_t w = 0; w < text.size(); ++w) {
        auto s = text.sample(w);
        const std::map<std::string, Tensor> in = {{"input_ids", s->inputs[0]}, {"position_ids", s->inputs[1]}};
        auto out = ex->run(in), ref = base->run(in);
        EXPECT_TRUE(out.ok() && ref.ok()) << (out.ok() ? "" : out.error().what());
        if (!out || !ref) return {};
        const int64_t T = s->inputs[0].numel(), V = (*out)[0].numel() / T;
        const int64_t* ids = s->inputs[0].data<int64_t>();
        for (int64_t t = 0; t + 1 < T; ++t) {
            auto logSoftmax = [&](const float* row) {
                const double mx = *std::max_element(row, row + V);
                double z = 0;
                for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
                std::vector<double> lp(static_cast<size_t>(V));
                for (int64_t v = 0; v < V; ++v) lp[size_t(v)] = double(row[v]) - mx - std::log(z);
                return lp;
            };
            const auto q = logSoftmax((*out)[0].data<float>() + t * V), p = logSoftmax((*ref)[0].data<float>() + t * V);
            nll -= q[size_t(ids[t + 1])];
            for (int64_t v = 0; v < V; ++v) kl += std::exp(p[size_t(v)]) * (p[size_t(v)] - q[size_t(v)]);
            ++scored;
        }
    }
    return {std::exp(nll / double(scored)), kl / double(scored)};
}

// Weights only: the attention split adds a few int64 shape entries, which are not what it shrinks.
int64_t floatParams(const Graph& g) {
    int64_t n = 0;
    for (const auto& v : g.values)
        if (v.data && !v.folded && v.data->dtype() == DType::F32) n += v.data->numel();
    return n;
}

Recipe oneStep(CompressMethod method, double sparsity, const std::string& data) {
    CompressStep s;
    s.method = method;
    s.sparsity = sparsity;
    s.criterion = PruneCriterion::Activation;
    s.activations.enabled = true;
    s.activations.data = data;
    s.activations.samples = 32;
    return Recipe{1, {s}};
}

TEST(Decompose, TinyGptNystromAgainstSlicingOnHeldOutText) {
    auto m = loadModel(test::asset("models/tiny_gpt.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const TokenWindows test(tokenIds("test_ids.npy", 16 * 128), 128);
    std::shared_ptr<const Dataset> calib = std::make_shared<TokenWindows>(tokenIds("train_ids.npy", 32 * 128), 128);
    CompressContext ctx;
    ctx.openDataset = [calib](const std::string&, const std::string&) -> Result<std::shared_ptr<const Dataset>> { return calib; };
    const double base = score(*m, *m, test).ppl;
    std::printf("tiny gpt: perplexity %.2f on %lld held-out windows of 128 tokens, %lld parameters\n", base, (long long)test.size(),
                (long long)m->graph.parameterCount());
    for (double sparsity : {0.25, 0.5}) {
        std::map<CompressMethod, LmScore> lm;
        std::map<CompressMethod, int64_t> params;
        for (CompressMethod method : {CompressMethod::PruneFfn, CompressMethod::Decompose}) {
            auto r = compress(*m, oneStep(method, sparsity, "lm:train"), ctx);
            ASSERT_TRUE(r.ok()) << r.error().what();
            ASSERT_EQ(r->layers.size(), 6u);  // one feed-forward block per layer
            for (const auto& l : r->layers) EXPECT_TRUE(l.applied) << l.layer << ": " << l.note;
            // n_ff 1024, n_embd 256: each removed neuron takes an up row and bias and a down column.
            const int64_t drop = int64_t(std::floor(sparsity * 1024));
            EXPECT_EQ(r->paramsBefore - r->paramsAfter, 6 * drop * (256 + 1 + 256));
            params[method] = r->paramsAfter;
            lm[method] = score(*m, r->model, test);
            std::printf("  %-10s %.0f%%: %s, params %lld -> %lld, perplexity %.2f, KL from the original %.2e\n", compressMethodName(method),
                        100 * sparsity, r->layers[0].detail.c_str(), (long long)r->paramsBefore, (long long)r->paramsAfter, lm[method].ppl,
                        lm[method].kl);
            if (method == CompressMethod::Decompose) std::printf("    %s\n", r->layers[0].note.c_str());
        }
        EXPECT_EQ(params[CompressMethod::Decompose], params[CompressMethod::PruneFfn]);
        // The tiny GPT is barely trained (perplexity ~1300), so removing neurons moves its perplexity
        // either way by chance; what the refit buys is staying close to the original model: its
        // next-token distributions, and its perplexity.
        EXPECT_LT(lm[CompressMethod::Decompose].kl, 0.5 * lm[CompressMethod::PruneFfn].kl) << sparsity;
        EXPECT_LT(std::fabs(lm[CompressMethod::Decompose].ppl - base), std::fabs(lm[CompressMethod::PruneFfn].ppl - base)) << sparsity;
    }
    // Types II and III on the fused attention blocks, split into Q, K and V first: 16 of the 64
    // entries of each of the 4 heads go. qk: the Q and K columns and biases; vo: the V columns and
    // its whole bias (folded into the output projection's bias) and the output projection's rows.
    const int64_t qkDrop = 2 * (4 * 16 * 256 + 4 * 16), voDrop = 4 * 16 * 256 + 256 + 4 * 16 * 256;
    const int64_t ffnDrop = 256 * (256 + 1 + 256);
    std::map<std::string, LmScore> att;
    for (const char* modules : {"qk", "vo", "all"}) {
        CompressStep st = oneStep(CompressMethod::Decompose, 0.25, "lm:train").steps[0];
        st.modules = modules;
        auto r = compress(*m, Recipe{1, {st}}, ctx);
        ASSERT_TRUE(r.ok()) << r.error().what();
        const std::string mod = modules;
        const int64_t perLayer = mod == "qk" ? qkDrop : mod == "vo" ? voDrop : qkDrop + voDrop + ffnDrop;
        EXPECT_EQ(floatParams(m->graph) - floatParams(r->model.graph), 6 * perLayer) << mod;
        EXPECT_EQ(r->layers.size(), mod == "all" ? 18u : 6u) << mod;
        for (const auto& l : r->layers) EXPECT_TRUE(l.applied) << l.layer << ": " << l.note;
        att[mod] = score(*m, r->model, test);
        std::printf("  decompose %s 25%%: %s, params %lld -> %lld, perplexity %.2f, KL from the original %.2e\n    %s\n", modules,
                    r->layers.back().detail.c_str(), (long long)r->paramsBefore, (long long)r->paramsAfter, att[mod].ppl, att[mod].kl,
                    r->layers.back().note.c_str());
    }
    // Measured KL 4.8e-5 (qk), 8.3e-8 (vo) and 4.7e-5 (all, feed-forward blocks included).
    EXPECT_LT(att["qk"].kl, 1e-3);
    EXPECT_LT(att["vo"].kl, 1e-3);
    EXPECT_LT(att["all"].kl, 1e-3);
}

double charAccuracy(const std::string& path, const cli::EvalRequest& er) {
    auto m = loadModel(path);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().what());
    if (!m) return 0;
    auto r = cli::runEvaluation(*m, er);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() && r->text ? r->text->charAccuracy() : 0;
}

// Calibration on lines 48..119 (evaluation on lines 0..47).
std::string calibrationLines(const std::string& lines) {
    const std::string calib = test::tempDir() + "/calib_lines";
    fs::create_directories(calib);
    for (int i = 48; i < 120; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "%04d.png", i);
        fs::copy_file(fs::path(lines) / name, fs::path(calib) / name, fs::copy_options::overwrite_existing);
    }
    return calib;
}

TEST(Decompose, RecognizerNystromAgainstSlicingFromTheCommandLine) {
    const std::string model = test::asset("models/ch_PP-OCRv4_rec_infer.onnx"), lines = test::asset("data/textlines");
    const std::string calib = calibrationLines(lines);
    cli::EvalRequest er;
    er.modelPath = model;
    er.dataSpec = "images:" + lines;
    er.batchSize = 8;
    er.limit = 48;
    const double base = charAccuracy(model, er);
    std::printf("recogniser: character accuracy %.4f on 48 lines\n", base);
    for (const char* sparsity : {"0.25", "0.5", "0.9"}) {
        std::map<std::string, double> acc;
        std::map<std::string, std::string> text;
        for (const std::string& flag : {"--prune ffn:" + std::string(sparsity) + ":activation", "--decompose " + std::string(sparsity)}) {
            const std::string out = test::tempDir() + "/rec_" + (flag[2] == 'p' ? "prune" : "decompose") + sparsity + ".onnx";
            const int rc = test::runCommand(test::cliPath() + " compress " + model + " " + flag + " --calib-data images:" + calib +
                                                " --calib-samples 72 -o " + out,
                                            &text[flag]);
            ASSERT_EQ(rc, 0) << text[flag];
            acc[flag] = charAccuracy(out, er);
            const auto at = text[flag].find("model: ");
            std::printf("  %s: character accuracy %.4f; %s", flag.c_str(), acc[flag],
                        at == std::string::npos ? "\n" : text[flag].substr(at, text[flag].find('\n', at) - at + 1).c_str());
        }
        const std::string& d = text["--decompose " + std::string(sparsity)];
        EXPECT_NE(d.find("nystrom"), std::string::npos) << d;
        EXPECT_NE(d.find("(slicing the same neurons: "), std::string::npos) << d;
        // Both keep the original's character accuracy on these lines (measured 0.9990, 0.9990 and
        // 0.9960 for each at 25%, 50% and 90%), so only a broken rewrite is checked for here; the
        // refit's smaller block output error is in the report.
        EXPECT_GT(acc["--decompose " + std::string(sparsity)], acc["--prune ffn:" + std::string(sparsity) + ":activation"] - 0.01) << sparsity;
        EXPECT_GT(acc["--decompose " + std::string(sparsity)], 0.9) << "a broken rewrite reads little";
    }
}

// Types II and III on the recogniser's fused attention blocks (8 heads of 15, width 120): at 25%
// each head keeps 11 of 15 entries.
TEST(Decompose, RecognizerAttentionFromTheCommandLine) {
    const std::string model = test::asset("models/ch_PP-OCRv4_rec_infer.onnx"), lines = test::asset("data/textlines");
    const std::string calib = calibrationLines(lines);
    cli::EvalRequest er;
    er.modelPath = model;
    er.dataSpec = "images:" + lines;
    er.batchSize = 8;
    er.limit = 48;
    const double base = charAccuracy(model, er);
    auto original = loadModel(model);
    ASSERT_TRUE(original.ok()) << original.error().what();
    const int64_t qkDrop = 2 * (8 * 4 * 120 + 8 * 4), voDrop = 8 * 4 * 120 + 120 + 8 * 4 * 120;
    for (const std::string modules : {"qk", "vo"}) {
        const std::string out = test::tempDir() + "/rec_attention_" + modules + ".onnx";
        std::string text;
        const int rc = test::runCommand(test::cliPath() + " compress " + model + " --decompose 0.25:" + modules + " --calib-data images:" + calib +
                                            " --calib-samples 32 -o " + out,
                                        &text);
        ASSERT_EQ(rc, 0) << text;
        const std::string detail = modules == "qk" ? "cr 11/15 dims per head" : "svd rank 11/15 per head";
        int blocks = 0;
        for (size_t at = text.find(detail); at != std::string::npos; at = text.find(detail, at + 1)) ++blocks;
        EXPECT_GT(blocks, 0) << text;
        auto compressed = loadModel(out);
        ASSERT_TRUE(compressed.ok()) << compressed.error().what();
        EXPECT_EQ(floatParams(original->graph) - floatParams(compressed->graph), blocks * (modules == "qk" ? qkDrop : voDrop)) << text;
        const double acc = charAccuracy(out, er);
        std::printf("recogniser --decompose 0.25:%s: %d attention blocks, character accuracy %.4f (original %.4f)\n", modules.c_str(), blocks, acc, base);
        // Measured 0.9990 for both, the original's accuracy.
        EXPECT_GT(acc, base - 0.02) << modules;
    }
}

TEST(Decompose, RecipeKeysAndShorthand) {
    auto r = cli::parseRecipeJson(R"({"version": 1, "steps": [
        {"method": "decompose", "sparsity": 0.3, "modules": "all", "calibration": {"data": "images:/t", "samples": 16}}]})");
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->steps[0].method, CompressMethod::Decompose);
    EXPECT_EQ(r->steps[0].modules, "all");
    EXPECT_EQ(r->steps[0].activations.data, "images:/t");
    EXPECT_EQ(r->steps[0].activations.samples, 16);
    auto again = cli::parseRecipeJson(cli::recipeToJson(*r));
    ASSERT_TRUE(again.ok()) << cli::recipeToJson(*r);
    EXPECT_EQ(cli::recipeToJson(*again), cli::recipeToJson(*r));
    auto bad = cli::parseRecipeJson(R"({"version": 1, "steps": [{"method": "decompose", "modules": "mlp"}]})");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what().find("'modules' must be"), std::string::npos) << bad.error().what();
    auto s = cli::parseShorthand("decompose", "0.3");
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ(s->method, CompressMethod::Decompose);
    EXPECT_EQ(s->modules, "ffn");
    EXPECT_TRUE(s->activations.enabled);
    EXPECT_EQ(cli::stepLabel(*s), "decompose 0.3");
    EXPECT_EQ(cli::parseShorthand("decompose", "0.5:qk")->modules, "qk");
    EXPECT_FALSE(cli::parseShorthand("decompose", "0.5:heads").ok());
    // Without --calib-data the command refuses, naming the step.
    std::string text;
    EXPECT_NE(test::runCommand(test::cliPath() + " compress " + test::asset("models/mnist_cnn.onnx") + " --decompose 0.3 -o " +
                                   test::tempDir() + "/x.onnx",
                               &text),
              0);
    EXPECT_NE(text.find("step 1 (decompose): modular decomposition fits the modules on calibration data"), std::string::npos) << text;
}

}  // namespace
}  // namespace by
