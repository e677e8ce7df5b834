// `brickyard-cli eval` and the evaluation session behind it, on real models and data: the
// PaddleOCR recogniser on rendered text lines (CTC), and refusals for bad requests.
#include "app/cli/eval_command.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "app/cli/eval_session.h"
#include "importers/importer_registry.h"
#include "projects/project.h"
#include "tests/test_support.h"

namespace by {
namespace {

TEST(EvalSession, ParsesNormalisation) {
    auto n = cli::parseNormalization("scale=1/255,mean=0.5:0.4:0.3,std=0.25");
    ASSERT_TRUE(n.ok()) << n.error().what();
    EXPECT_FLOAT_EQ(n->scale, 1.f / 255.f);
    EXPECT_EQ(n->mean, (std::vector<float>{0.5f, 0.4f, 0.3f}));
    EXPECT_EQ(n->std, (std::vector<float>{0.25f}));
    EXPECT_FALSE(cli::parseNormalization("scale=abc").ok());
    EXPECT_FALSE(cli::parseNormalization("std=0").ok());
    EXPECT_FALSE(cli::parseNormalization("gamma=2").ok());
    EXPECT_FALSE(cli::parseNormalization("scale=1/0").ok());
}

TEST(EvalSession, RecognisesRenderedTextLinesAndRecordsTheResult) {
    const std::string model = test::asset("models/ch_PP-OCRv4_rec_infer.onnx");
    const std::string lines = test::asset("data/textlines");
    auto m = loadModel(model);
    ASSERT_TRUE(m.ok()) << m.error().what();
    cli::EvalRequest r;
    r.modelPath = model;
    r.dataSpec = "images:" + lines;
    r.batchSize = 8;
    r.limit = 24;
    auto rep = cli::runEvaluation(*m, r);
    ASSERT_TRUE(rep.ok()) << rep.error().what();
    EXPECT_EQ(rep->task, EvalTask::Ctc);
    EXPECT_EQ(rep->samples, 24);
    ASSERT_TRUE(rep->text.has_value());
    // Clean rendered English lines: a working recogniser with the right preprocessing reads
    // nearly every character; a broken resize, normalisation or decoding reads almost none.
    EXPECT_GT(rep->text->charAccuracy(), 0.9) << cli::reportText(*rep);
    EXPECT_GT(rep->text->referenceChars(), 24 * 10);
    EXPECT_EQ(rep->batchLatency.samples, 3);
    EXPECT_GT(rep->batchLatency.p50, 0.0);
    EXPECT_GT(rep->peakResidentBytes, rep->modelWeightBytes);

    const std::string projPath = test::tempDir() + "/eval.byproj";
    auto p = Project::create(projPath, "eval");
    ASSERT_TRUE(p.ok()) << p.error().what();
    auto asset = p->addAsset(model, AssetKind::Model);
    ASSERT_TRUE(asset.ok());
    auto root = p->rootVariant(*asset);
    ASSERT_TRUE(root.ok());
    ASSERT_TRUE(cli::storeReport(*p, root->id, *rep, r).ok());
    auto evals = p->evaluations(root->id);
    ASSERT_TRUE(evals.ok());
    ASSERT_EQ(evals->size(), 2u);
    EXPECT_EQ((*evals)[0].metric, "char_accuracy");
    EXPECT_DOUBLE_EQ((*evals)[0].value, rep->text->charAccuracy());
    EXPECT_NE((*evals)[0].detailsJson.find("\"line_accuracy\""), std::string::npos);
    auto benches = p->benchmarks(root->id);
    ASSERT_TRUE(benches.ok());
    EXPECT_EQ(benches->size(), 5u);
}

TEST(EvalCommand, RecordsUnderTheModelsVariantInAProject) {
    const std::string model = test::asset("models/ch_PP-OCRv4_rec_infer.onnx");
    const std::string lines = test::asset("data/textlines");
    const std::string projPath = test::tempDir() + "/cli_eval.byproj";
    ASSERT_TRUE(Project::create(projPath, "cli").ok());
    EXPECT_EQ(cli::evalCommand({model, "--data", "images:" + lines, "--limit", "8", "--batch", "4", "--project", projPath}), 0);
    auto p = Project::open(projPath);
    ASSERT_TRUE(p.ok());
    auto evals = p->evaluations();
    ASSERT_TRUE(evals.ok());
    ASSERT_EQ(evals->size(), 2u);
    EXPECT_GT((*evals)[0].value, 0.8);
}

TEST(EvalCommand, RefusesBadRequestsWithOneSentence) {
    const std::string model = test::asset("models/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    std::string out;
    EXPECT_EQ(cli::evalCommand({}), 2);
    EXPECT_EQ(cli::evalCommand({model}), 2);  // no --data
    EXPECT_EQ(cli::evalCommand({model, "--data", "x", "--batch", "0"}), 2);
    EXPECT_EQ(cli::evalCommand({model, "--data", "x", "--normalize", "scale=nope"}), 2);
    EXPECT_EQ(cli::evalCommand({model, "--data", "x", "--task", "regression"}), 2);
    EXPECT_EQ(cli::evalCommand({model, "--data", "x", "--variant", "3"}), 2);  // --variant without --project
    // A dataset path that does not exist, through the real binary to see the sentence.
    const int rc = test::runCommand(test::cliPath() + " eval " + model + " --data mnist:/nonexistent/mnist", &out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("/nonexistent/mnist"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    // MNIST digits (1x28x28) into a classifier of 3x48x192 text-line crops.
    const std::string mnist = test::asset("data/mnist");
    EXPECT_EQ(test::runCommand(test::cliPath() + " eval " + model + " --data mnist:" + mnist + " --limit 4", &out), 1);
    EXPECT_NE(out.find("evaluating ch_ppocr_mobile_v2.0_cls_infer.onnx"), std::string::npos) << out;
}

}  // namespace
}  // namespace by

namespace by {
namespace {

TEST(EvalSession, LanguageModelPerplexityOnText) {
    const std::string model = test::asset("models/tiny_gpt_q8_0.gguf");
    const std::string text = test::asset("data/lm/test.txt");
    auto m = loadModel(model);
    ASSERT_TRUE(m.ok()) << m.error().what();
    cli::EvalRequest r;
    r.modelPath = model;
    r.dataSpec = "text:" + text;
    r.limit = 2;
    r.context = 128;
    auto rep = cli::runEvaluation(*m, r);
    ASSERT_TRUE(rep.ok()) << rep.error().what();
    ASSERT_TRUE(rep->language.has_value());
    EXPECT_EQ(rep->task, EvalTask::LanguageModel);
    EXPECT_EQ(rep->language->chunks, 2);
    EXPECT_EQ(rep->language->context, 128);
    // llama-perplexity scores positions ctx/2 .. ctx-2 of each chunk.
    EXPECT_EQ(rep->language->scored, 2 * (128 - 1 - 64));
    // A trained model beats the uniform guess over 50,257 tokens by a wide margin, and no model
    // reaches a perplexity of 1.
    EXPECT_GT(rep->language->perplexity, 1.0);
    EXPECT_LT(rep->language->perplexity, 50257.0 / 4);
    EXPECT_NEAR(std::log(rep->language->perplexity), rep->language->meanNll, 1e-6);
    EXPECT_FALSE(rep->language->hasBase);
    // Against the f32 original: a small positive divergence and mostly the same next token.
    r.baseModelPath = test::asset("models/tiny_gpt_f32.gguf");
    auto vs = cli::runEvaluation(*m, r);
    ASSERT_TRUE(vs.ok()) << vs.error().what();
    ASSERT_TRUE(vs->language->hasBase);
    EXPECT_GT(vs->language->meanKl, 0.0);
    EXPECT_LT(vs->language->meanKl, 0.05);
    EXPECT_GT(vs->language->top1Agreement, 0.9);
    EXPECT_DOUBLE_EQ(vs->language->perplexity, rep->language->perplexity);
    // Too little text for one context is refused with the counts.
    const std::string tiny = test::tempDir() + "/tiny.txt";
    { std::ofstream(tiny) << "Hello there."; }
    r.dataSpec = "text:" + tiny;
    auto bad = cli::runEvaluation(*m, r);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("fewer than one context"), std::string::npos) << bad.error().what();
}

}  // namespace
}  // namespace by
