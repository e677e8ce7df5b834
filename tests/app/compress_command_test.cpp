// `brickyard-cli compress` and `sweep`, and the recipe file format behind them: real models and
// data, the written model reloaded and evaluated, variants recorded in a project, bad recipes
// refused with one sentence and nothing written.
#include "app/cli/compress_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/cli/eval_session.h"
#include "app/cli/recipe_json.h"
#include "importers/importer_registry.h"
#include "projects/project.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

std::string cli() { return test::cliPath(); }

std::string fileBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(RecipeJson, ParsesEveryMethodAndRoundTrips) {
    const std::string text = R"({"version": 1, "steps": [
        {"method": "prune", "sparsity": 0.4, "scope": "global"},
        {"method": "prune_nm", "n": 2, "m": 4, "layers": {"op_types": ["Gemm"]}},
        {"method": "prune_channels", "sparsity": 0.25, "norm": "l2", "layers": {"names": ["conv_0"]}},
        {"method": "low_rank", "energy": 0.9},
        {"method": "quantize", "bits": 4, "group": 64, "symmetric": true},
        {"method": "quantize", "bits": 8, "granularity": "per_tensor"},
        {"method": "low_rank", "param_cut": 0.3, "activations": {"data": "mnist:DIR", "samples": 128, "split": "train"}}]})";
    auto r = cli::parseRecipeJson(text);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->steps.size(), 7u);
    EXPECT_FALSE(r->steps[3].activations.enabled);
    EXPECT_TRUE(r->steps[6].activations.enabled);
    EXPECT_EQ(r->steps[6].activations.samples, 128);
    EXPECT_EQ(r->steps[6].activations.data, "mnist:DIR");
    EXPECT_TRUE(r->steps[0].global);
    EXPECT_EQ(r->steps[1].layers.opTypes, std::vector<std::string>{"Gemm"});
    EXPECT_EQ(r->steps[2].norm, 2);
    EXPECT_EQ(r->steps[3].energy, 0.9);
    EXPECT_EQ(r->steps[4].method, CompressMethod::QuantizeNBits);
    EXPECT_EQ(r->steps[4].group, 64);
    EXPECT_FALSE(r->steps[5].perChannel);
    auto again = cli::parseRecipeJson(cli::recipeToJson(*r));
    ASSERT_TRUE(again.ok()) << again.error().what();
    EXPECT_EQ(cli::recipeToJson(*again), cli::recipeToJson(*r));
}

TEST(RecipeJson, RefusesBadFilesWithOneSentence) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"steps": []})", "needs \"version\""},
        {R"({"version": 7, "steps": [{"method": "prune"}]})", "recipe version 7"},
        {R"({"version": 1, "steps": [{"method": "prune", "sparsty": 0.5}]})", "step 1: unknown key 'sparsty'"},
        {R"({"version": 1, "steps": [{"method": "squash"}]})", "unknown method 'squash'"},
        {R"({"version": 1, "steps": [{"method": "quantize", "bits": "four"}]})", "'bits' must be a whole number"},
        {"{not json", "not valid JSON"},
    };
    for (const auto& [text, expect] : cases) {
        auto r = cli::parseRecipeJson(text);
        ASSERT_FALSE(r.ok()) << text;
        EXPECT_NE(r.error().what().find(expect), std::string::npos) << r.error().what();
    }
}

TEST(RecipeJson, Shorthands) {
    auto q = cli::parseShorthand("quantize", "int4:g32");
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->method, CompressMethod::QuantizeNBits);
    EXPECT_EQ(q->bits, 4);
    EXPECT_EQ(q->group, 32);
    auto p = cli::parseShorthand("prune", "2:4");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->method, CompressMethod::PruneNM);
    auto l = cli::parseShorthand("lowrank", "0.3");
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l->paramCut, 0.3);
    EXPECT_FALSE(l->activations.enabled);
    auto ld = cli::parseShorthand("lowrank", "energy:0.95:data");
    ASSERT_TRUE(ld.ok()) << ld.error().what();
    EXPECT_EQ(ld->energy, 0.95);
    EXPECT_TRUE(ld->activations.enabled);
    EXPECT_EQ(cli::stepLabel(*ld), "lowrank energy 0.95 data-aware");
    EXPECT_EQ(cli::parseShorthand("quantize", "int8")->method, CompressMethod::QuantizeInt8);
    EXPECT_FALSE(cli::parseShorthand("quantize", "fp4").ok());
    EXPECT_FALSE(cli::parseShorthand("prune", "half").ok());
}

TEST(CompressCommand, Int8OnMnistWritesEvaluatesAndRecordsAVariant) {
    const std::string model = test::asset("models/mnist_cnn.onnx");
    const std::string dir = test::tempDir();
    const std::string out = dir + "/mnist_int8.onnx", proj = dir + "/c.byproj";
    ASSERT_TRUE(Project::create(proj, "c").ok());
    std::string text;
    const int rc = test::runCommand(cli() + " compress " + model + " --quantize int8 -o " + out + " --eval mnist:" +
                                        test::asset("data/mnist") + " --limit 1000 --project " + proj,
                                    &text);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("linear_7"), std::string::npos) << text;
    EXPECT_NE(text.find("smaller"), std::string::npos) << text;
    EXPECT_NE(text.find("top-1: original"), std::string::npos) << text;
    EXPECT_NE(text.find("speedup"), std::string::npos) << text;
    EXPECT_LT(fs::file_size(out) * 3, fs::file_size(model));

    auto back = loadModel(out);
    ASSERT_TRUE(back.ok()) << back.error().what();
    cli::EvalRequest r;
    r.modelPath = model;
    r.dataSpec = "mnist:" + test::asset("data/mnist");
    r.limit = 1000;
    auto rep = cli::runEvaluation(*back, r);
    ASSERT_TRUE(rep.ok()) << rep.error().what();
    EXPECT_GT(rep->classification->top1(), 0.97);

    auto p = Project::open(proj);
    ASSERT_TRUE(p.ok());
    auto vs = p->variants();
    ASSERT_TRUE(vs.ok());
    ASSERT_EQ(vs->size(), 2u);
    const auto& child = (*vs)[1];
    EXPECT_EQ(child.parentId, (*vs)[0].id);
    EXPECT_EQ(child.name, "int8");
    EXPECT_NE(child.recipeJson.find("\"per_channel\""), std::string::npos);
    EXPECT_EQ(child.sizeBytes, int64_t(fs::file_size(out)));
    auto parsed = cli::parseRecipeJson(child.recipeJson);
    ASSERT_TRUE(parsed.ok()) << child.recipeJson;
    auto evals = p->evaluations(child.id);
    ASSERT_TRUE(evals.ok());
    EXPECT_FALSE(evals->empty());
}

TEST(CompressCommand, BadRecipesAreRefusedAndNothingIsWritten) {
    const std::string model = test::asset("models/mnist_cnn.onnx");
    const std::string original = fileBytes(model);
    const std::string dir = test::tempDir();
    const std::string recipe = dir + "/bad.json";
    std::ofstream(recipe) << R"({"version": 1, "steps": [{"method": "quantize", "bits": 4, "layers": {"names": ["fc9"]}}]})";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--lowrank rank:500", "rank 500 is above min(K, N) = 9 of Conv 'conv_0'"},
        {"--quantize int0:g32", "bits must be between 2 and 8, not 0"},
        {"--quantize int4:g24", "group 24 must be a power of two"},
        {"--prune 1.5", "sparsity must be between 0 and 1"},
        {"--recipe " + recipe, "the model has no layer named 'fc9'"},
    };
    for (const auto& [opts, expect] : cases) {
        const std::string out = dir + "/never.onnx";
        std::string text;
        const int rc = test::runCommand(cli() + " compress " + model + " " + opts + " -o " + out, &text);
        EXPECT_EQ(rc, 1) << opts << ": " << text;
        EXPECT_NE(text.find(expect), std::string::npos) << text;
        EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
        EXPECT_FALSE(fs::exists(out)) << opts;
    }
    EXPECT_EQ(fileBytes(model), original);
}

TEST(CompressCommand, CompressedModelRunsInTheRunVerb) {
    const std::string model = test::asset("models/fashion_mnist_cnn.onnx");
    const std::string dir = test::tempDir();
    const std::string out = dir + "/f.onnx";
    std::string text;
    ASSERT_EQ(test::runCommand(cli() + " compress " + model + " --prune 2:4 --quantize int4:g32 -o " + out, &text), 0) << text;
    EXPECT_NE(text.find("quantize_nbits"), std::string::npos) << text;
    // A zero image through `run`: the output file must hold 10 scores.
    std::ofstream npy(dir + "/x.npy", std::ios::binary);
    const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 28, 28), }";
    std::string h = header;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    npy << "\x93NUMPY" << char(1) << char(0) << char(h.size() & 255) << char(h.size() >> 8) << h;
    const std::vector<float> zeros(784, 0.f);
    npy.write(reinterpret_cast<const char*>(zeros.data()), std::streamsize(zeros.size() * 4));
    npy.close();
    ASSERT_EQ(test::runCommand(cli() + " run " + out + " --input image=" + dir + "/x.npy", &text), 0) << text;
    EXPECT_NE(text.find("[1,10]"), std::string::npos) << text;
}

TEST(SweepCommand, ComparesCandidatesAndRecordsEach) {
    const std::string model = test::asset("models/mnist_cnn.onnx");
    const std::string proj = test::tempDir() + "/s.byproj";
    ASSERT_TRUE(Project::create(proj, "s").ok());
    std::string text;
    const int rc = test::runCommand(cli() + " sweep " + model + " --quantize int8 --quantize int4:g32 --prune 2:4 --lowrank 0.3 --eval mnist:" +
                                        test::asset("data/mnist") + " --limit 500 --project " + proj,
                                    &text);
    ASSERT_EQ(rc, 0) << text;
    for (const char* label : {"original", "int8", "int4:g32", "prune 2:4", "lowrank cut 0.3"})
        EXPECT_NE(text.find(label), std::string::npos) << label << "\n" << text;
    auto p = Project::open(proj);
    ASSERT_TRUE(p.ok());
    auto vs = p->variants();
    ASSERT_TRUE(vs.ok());
    EXPECT_EQ(vs->size(), 5u);
}

TEST(SearchCommand, MeasuresSensitivityAndPicksTheSmallestMixWithinTheGoal) {
    const std::string model = test::asset("models/mnist_cnn.onnx");
    const std::string dir = test::tempDir(), proj = dir + "/s.byproj", out = dir + "/chosen.onnx";
    ASSERT_TRUE(Project::create(proj, "s").ok());
    std::string text;
    const int rc = test::runCommand(cli() + " search " + model + " --quantize int8 --prune 0.9 --eval mnist:" + test::asset("data/mnist") +
                                        " --limit 500 --max-drop 0.5 -o " + out + " --project " + proj,
                                    &text);
    ASSERT_EQ(rc, 0) << text;
    for (const char* part : {"sensitivity", "search: keep top-1 >=", "Pareto front", "chosen:"})
        EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
    // The chosen model exists, is smaller than the original and meets the goal on the same data.
    ASSERT_TRUE(std::filesystem::exists(out)) << text;
    EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(model));
    cli::EvalRequest r;
    r.dataSpec = "mnist:" + test::asset("data/mnist");
    r.limit = 500;
    auto orig = loadModel(model);
    auto chosen = loadModel(out);
    ASSERT_TRUE(orig.ok() && chosen.ok());
    auto q0 = cli::runEvaluation(*orig, r), q1 = cli::runEvaluation(*chosen, r);
    ASSERT_TRUE(q0.ok() && q1.ok());
    EXPECT_GE(100 * q1->classification->top1(), 100 * q0->classification->top1() - 0.5 - 1e-9) << text;
    // Every evaluated candidate is a variant: 4 layers x 2 methods alone, plus the search steps.
    auto p = Project::open(proj);
    ASSERT_TRUE(p.ok());
    auto vs = p->variants();
    ASSERT_TRUE(vs.ok());
    EXPECT_GE(vs->size(), 1u + 8u + 1u) << text;
    // A goal that is not a number is refused before anything runs.
    EXPECT_EQ(test::runCommand(cli() + " search " + model + " --quantize int8 --eval mnist:" + test::asset("data/mnist") +
                                   " --max-drop lots",
                               &text),
              2)
        << text;
}

TEST(CompressCommand, Int8RecognizerStillReadsTextLines) {
    const std::string model = test::asset("models/ch_PP-OCRv4_rec_infer.onnx");
    auto m = loadModel(model);
    ASSERT_TRUE(m.ok());
    Recipe recipe;
    recipe.steps.push_back(CompressStep{});
    auto c = compress(*m, recipe);
    ASSERT_TRUE(c.ok()) << c.error().what();
    cli::EvalRequest r;
    r.modelPath = model;
    r.dataSpec = "images:" + test::asset("data/textlines");
    r.batchSize = 8;
    r.limit = 24;
    auto base = cli::runEvaluation(*m, r);
    auto q = cli::runEvaluation(c->model, r);
    ASSERT_TRUE(base.ok() && q.ok()) << (q.ok() ? "" : q.error().what());
    EXPECT_GT(q->text->charAccuracy(), base->text->charAccuracy() - 0.02);
}

}  // namespace
}  // namespace by
