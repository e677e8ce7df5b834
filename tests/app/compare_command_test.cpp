// The per-layer diff (engine/variant_diff.h) on real models compressed by the real passes, checked
// against the passes' own reports, and `brickyard-cli compare` on files and on project variants
// with their recorded results.
#include "app/cli/compare_command.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "app/cli/compress_command.h"
#include "engine/compression.h"
#include "engine/variant_diff.h"
#include "importers/importer_registry.h"
#include "projects/project.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

Model load(const std::string& rel) {
    auto m = loadModel(test::asset(rel));
    EXPECT_TRUE(m.ok()) << rel << ": " << (m.ok() ? "" : m.error().what());
    return m.ok() ? std::move(*m) : Model{};
}

CompressResult compressed(const Model& m, const CompressStep& s) {
    Recipe r;
    r.steps.push_back(s);
    auto c = compress(m, r, cli::replayContext(m));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().what());
    return c.ok() ? std::move(*c) : CompressResult{};
}

const LayerDiff* row(const ModelDiff& d, const std::string& layer) {
    for (const auto& l : d.layers)
        if (l.layer == layer) return &l;
    return nullptr;
}

int64_t sum(const std::vector<int64_t>& h) { return std::accumulate(h.begin(), h.end(), int64_t(0)); }

// Every applied layer of the report is in the diff with the same error: the diff dequantizes
// (or multiplies factors back) as the model computes, the pass measured before writing.
void expectErrorsMatchReport(const ModelDiff& d, const CompressResult& r, uint32_t change) {
    int checked = 0;
    for (const auto& rep : r.layers) {
        if (!rep.applied) continue;
        const LayerDiff* l = row(d, rep.layer);
        ASSERT_NE(l, nullptr) << rep.layer;
        EXPECT_TRUE(l->changes & change) << rep.layer << ": " << layerChangeLabel(l->changes);
        ASSERT_TRUE(l->relError.has_value()) << rep.layer << " " << l->note;
        EXPECT_NEAR(*l->relError, rep.relError, 1e-4 * std::max(1.0, rep.relError) + 1e-6) << rep.layer;
        EXPECT_GT(*l->relError, 0.0) << rep.layer;
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST(VariantDiff, Int8MnistIsRetypedWithThePassesError) {
    const Model m = load("models/mnist_cnn.onnx");
    const CompressResult c = compressed(m, CompressStep{});
    auto d = diffModels(m, c.model);
    ASSERT_TRUE(d.ok()) << d.error().what();
    EXPECT_EQ(d->matched, 4);
    EXPECT_EQ(d->changed, 4);
    EXPECT_EQ(d->removed + d->added, 0);
    expectErrorsMatchReport(*d, c, kLayerRetyped);
    const LayerDiff* fc1 = row(*d, "linear_7");
    ASSERT_NE(fc1, nullptr);
    EXPECT_EQ(fc1->primary(), kLayerRetyped);
    EXPECT_EQ(fc1->storageBefore, "f32 [128,1568]");
    EXPECT_NE(fc1->storageAfter.find("i8 via DequantizeLinear"), std::string::npos) << fc1->storageAfter;
    EXPECT_EQ(fc1->paramsBefore, 128 * 1568 + 128);
    EXPECT_EQ(fc1->paramsAfter, fc1->paramsBefore);
    // int8 weights, one f32 scale per output channel, the f32 bias.
    EXPECT_EQ(fc1->bytesAfter, 128 * 1568 + 128 * 4 + 128 * 4);
    EXPECT_EQ(fc1->bytesBefore, (128 * 1568 + 128) * 4);
    EXPECT_EQ(sum(fc1->histBefore), 128 * 1568);
    EXPECT_EQ(sum(fc1->histAfter), 128 * 1568);
    EXPECT_EQ(fc1->histBefore.size(), 32u);
    EXPECT_EQ(d->bytesBefore, m.graph.weightBytes());
    EXPECT_EQ(d->bytesAfter, c.model.graph.weightBytes());

    // Node marks for drawing the graphs: each layer's node carries its changes in both graphs, the
    // DequantizeLinear nodes int8 put in front of the layers are added, nothing of A is removed.
    ASSERT_EQ(d->nodeChangesBefore.size(), m.graph.nodes.size());
    ASSERT_EQ(d->nodeChangesAfter.size(), c.model.graph.nodes.size());
    ASSERT_GE(fc1->nodeBefore, 0);
    ASSERT_GE(fc1->nodeAfter, 0);
    EXPECT_EQ(m.graph.nodes[size_t(fc1->nodeBefore)].name, "linear_7");
    EXPECT_EQ(c.model.graph.nodes[size_t(fc1->nodeAfter)].name, "linear_7");
    EXPECT_EQ(d->nodeChangesBefore[size_t(fc1->nodeBefore)], fc1->changes);
    EXPECT_EQ(d->nodeChangesAfter[size_t(fc1->nodeAfter)], fc1->changes);
    int added = 0, dequant = 0;
    for (size_t n = 0; n < c.model.graph.nodes.size(); ++n) {
        const bool isDq = c.model.graph.nodes[n].opType == "DequantizeLinear";
        dequant += isDq;
        if (d->nodeChangesAfter[n] == kLayerAdded) {
            ++added;
            EXPECT_TRUE(isDq) << c.model.graph.nodes[n].opType << " " << c.model.graph.nodes[n].name;
        }
    }
    EXPECT_EQ(added, dequant);
    EXPECT_EQ(dequant, 4);
    for (size_t n = 0; n < m.graph.nodes.size(); ++n) {
        EXPECT_NE(d->nodeChangesBefore[n], uint32_t(kLayerRemoved)) << m.graph.nodes[n].name;
        const bool layer = n == size_t(fc1->nodeBefore) || m.graph.nodes[n].opType == "Conv" || m.graph.nodes[n].opType == "Gemm";
        if (!layer) {
            EXPECT_EQ(d->nodeChangesBefore[n], uint32_t(kLayerUnchanged)) << m.graph.nodes[n].name;
        }
    }
}

TEST(VariantDiff, ChannelPruningSlicesProducersAndConsumers) {
    const Model m = load("models/mnist_cnn.onnx");
    CompressStep s;
    s.method = CompressMethod::PruneChannels;
    s.sparsity = 0.25;
    s.layers.names = {"conv_0"};
    const CompressResult c = compressed(m, s);
    auto d = diffModels(m, c.model);
    ASSERT_TRUE(d.ok()) << d.error().what();
    const LayerDiff* conv0 = row(*d, "conv_0");
    const LayerDiff* conv3 = row(*d, "conv_3");
    const LayerDiff* fc2 = row(*d, "linear_9");
    ASSERT_TRUE(conv0 && conv3 && fc2);
    EXPECT_EQ(conv0->changes, uint32_t(kLayerSliced));
    EXPECT_EQ(conv0->shapeBefore, (Shape{16, 1, 3, 3}));
    EXPECT_EQ(conv0->shapeAfter, (Shape{12, 1, 3, 3}));
    EXPECT_FALSE(conv0->relError.has_value());
    EXPECT_EQ(conv0->paramsAfter, 12 * 9 + 12);
    EXPECT_EQ(conv3->primary(), kLayerSliced);  // its input channels
    EXPECT_EQ(conv3->shapeAfter, (Shape{32, 12, 3, 3}));
    EXPECT_EQ(fc2->changes, uint32_t(kLayerUnchanged));
    ASSERT_TRUE(fc2->relError.has_value());
    EXPECT_EQ(*fc2->relError, 0.0);
}

TEST(VariantDiff, LowRankIsFactorisedAndMultipliedBack) {
    const Model m = load("models/mnist_cnn.onnx");
    CompressStep s;
    s.method = CompressMethod::LowRank;
    s.rank = 16;
    s.layers.names = {"linear_7"};
    const CompressResult c = compressed(m, s);
    auto d = diffModels(m, c.model);
    ASSERT_TRUE(d.ok()) << d.error().what();
    expectErrorsMatchReport(*d, c, kLayerFactorised);
    const LayerDiff* fc1 = row(*d, "linear_7");
    ASSERT_NE(fc1, nullptr);
    EXPECT_EQ(fc1->primary(), kLayerFactorised);
    EXPECT_EQ(fc1->paramsAfter, 16 * (128 + 1568) + 128);
    EXPECT_NE(fc1->storageAfter.find("rank 16"), std::string::npos) << fc1->storageAfter;
    // The first factor's node is part of the layer, not an added one.
    EXPECT_EQ(d->added, 0);
    EXPECT_EQ(d->changed, 1);
    // In B's graph both factors are drawn as the factorised layer; nothing else changed.
    int factorised = 0;
    for (size_t n = 0; n < c.model.graph.nodes.size(); ++n) {
        if (d->nodeChangesAfter[n] & kLayerFactorised) {
            ++factorised;
        } else {
            EXPECT_EQ(d->nodeChangesAfter[n], uint32_t(kLayerUnchanged)) << c.model.graph.nodes[n].name;
        }
    }
    EXPECT_EQ(factorised, 2);
}

TEST(VariantDiff, MagnitudePruningAndFourBitAreSeen) {
    const Model m = load("models/mnist_cnn.onnx");
    CompressStep p;
    p.method = CompressMethod::Prune;
    p.sparsity = 0.5;
    const CompressResult pr = compressed(m, p);
    auto d = diffModels(m, pr.model);
    ASSERT_TRUE(d.ok()) << d.error().what();
    expectErrorsMatchReport(*d, pr, kLayerSparsified);
    const LayerDiff* fc1 = row(*d, "linear_7");
    ASSERT_NE(fc1, nullptr);
    EXPECT_NEAR(fc1->sparsityAfter, 0.5, 0.01);
    EXPECT_EQ(fc1->bytesAfter, fc1->bytesBefore);  // dense storage: zeros are not saved bytes

    CompressStep q4;
    q4.method = CompressMethod::QuantizeNBits;
    q4.bits = 4;
    const CompressResult qr = compressed(m, q4);
    auto d4 = diffModels(m, qr.model);
    ASSERT_TRUE(d4.ok()) << d4.error().what();
    expectErrorsMatchReport(*d4, qr, kLayerRetyped);
    const LayerDiff* q = row(*d4, "linear_7");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->opAfter, "MatMulNBits");
    EXPECT_EQ(q->storageAfter.rfind("4-bit g32 MatMulNBits", 0), 0u) << q->storageAfter;
    EXPECT_EQ(q->paramsAfter, q->paramsBefore);
    EXPECT_LT(q->bytesAfter * 5, q->bytesBefore);
}

TEST(VariantDiff, StaticInt8MatchesQuantizedNodes) {
    const Model m = load("models/mnist_cnn.onnx");
    CompressStep s;
    s.activations.enabled = true;
    s.activations.data = "mnist:" + test::asset("data/mnist");
    s.activations.samples = 64;
    s.activations.normalize = Normalization{1.f / 255.f, {}, {}};
    const CompressResult c = compressed(m, s);
    auto d = diffModels(m, c.model);
    ASSERT_TRUE(d.ok()) << d.error().what();
    expectErrorsMatchReport(*d, c, kLayerRetyped);
    const LayerDiff* conv0 = row(*d, "conv_0");
    ASSERT_NE(conv0, nullptr);
    EXPECT_EQ(conv0->opAfter, "QLinearConv");
    EXPECT_EQ(d->removed, 0);
}

TEST(VariantDiff, RecognizerInt8AndFourBit) {
    const Model m = load("models/ch_PP-OCRv4_rec_infer.onnx");
    CompressStep q4;
    q4.method = CompressMethod::QuantizeNBits;
    q4.bits = 4;
    for (const CompressStep& s : {CompressStep{}, q4}) {
        const CompressResult c = compressed(m, s);
        auto d = diffModels(m, c.model);
        ASSERT_TRUE(d.ok()) << d.error().what();
        expectErrorsMatchReport(*d, c, kLayerRetyped);
        EXPECT_EQ(d->removed, 0);
        EXPECT_EQ(d->added, 0);
        EXPECT_GT(d->matched, 50);
        int retyped = 0;
        for (const auto& l : d->layers) retyped += (l.changes & kLayerRetyped) != 0;
        int applied = 0;
        for (const auto& r : c.layers) applied += r.applied;
        EXPECT_EQ(retyped, applied);
        std::printf("recognizer %s: %d layers, %d changed, diff %.3f s\n", compressMethodName(s.method), d->matched, d->changed, d->seconds);
    }
}

TEST(VariantDiff, UnrelatedModelsMatchNothing) {
    const Model mnist = load("models/mnist_cnn.onnx");
    const Model rec = load("models/ch_PP-OCRv4_rec_infer.onnx");
    auto d = diffModels(mnist, rec);
    ASSERT_TRUE(d.ok()) << d.error().what();
    EXPECT_FALSE(d->related());
    EXPECT_EQ(d->matched, 0);
    EXPECT_EQ(d->removed, 4);
    EXPECT_GT(d->added, 50);
    for (const auto& l : d->layers) EXPECT_TRUE(l.changes == kLayerRemoved || l.changes == kLayerAdded) << l.layer;
}

TEST(VariantDiff, ModelWithoutWeightsIsRefused) {
    Model empty;
    const Model mnist = load("models/mnist_cnn.onnx");
    auto d = diffModels(empty, mnist);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().what().find("first model has no layer"), std::string::npos) << d.error().what();
}

TEST(ParetoFront, KeepsPointsNothingBeats) {
    // (size, quality): the 3rd is beaten by the 2nd (smaller and better), the 5th ties the 4th
    // on size and is worse.
    const auto f = cli::paretoFront({{100, 0.99}, {30, 0.98}, {40, 0.97}, {10, 0.90}, {10, 0.85}, {25, 0.98}});
    EXPECT_EQ(f, (std::vector<bool>{true, false, false, true, false, true}));
}

TEST(CompareCommand, FilesJsonAndUnrelatedSentence) {
    const std::string dir = test::tempDir();
    const std::string model = test::asset("models/mnist_cnn.onnx"), out = dir + "/q4.onnx";
    std::string text;
    ASSERT_EQ(test::runCommand(test::cliPath() + " compress " + model + " --quantize int4:g32 -o " + out, &text), 0) << text;
    ASSERT_EQ(test::runCommand(test::cliPath() + " compare " + model + " " + out, &text), 0) << text;
    EXPECT_NE(text.find("linear_7"), std::string::npos) << text;
    EXPECT_NE(text.find("Gemm -> MatMulNBits"), std::string::npos) << text;
    EXPECT_NE(text.find("re-typed"), std::string::npos) << text;
    EXPECT_NE(text.find("totals:"), std::string::npos) << text;
    ASSERT_EQ(test::runCommand(test::cliPath() + " compare " + model + " " + out + " --json 2>/dev/null", &text), 0) << text;
    auto j = nlohmann::json::parse(text);
    EXPECT_TRUE(j["related"].get<bool>());
    EXPECT_EQ(j["totals"]["matched"].get<int>(), 4);
    bool sawGemm = false;
    for (const auto& l : j["layers"])
        if (l["layer"] == "linear_9") {
            sawGemm = true;
            EXPECT_EQ(l["change"], "re-typed");
            EXPECT_GT(l["rel_error"].get<double>(), 0.0);
            EXPECT_EQ(l["histogram"]["before"].size(), 32u);
        }
    EXPECT_TRUE(sawGemm);
    ASSERT_EQ(test::runCommand(test::cliPath() + " compare " + model + " " + test::asset("models/ch_PP-OCRv4_rec_infer.onnx"), &text), 0)
        << text;
    EXPECT_NE(text.find("these look like two unrelated models"), std::string::npos) << text;
    EXPECT_EQ(test::runCommand(test::cliPath() + " compare " + model, &text), 2);
    EXPECT_NE(test::runCommand(test::cliPath() + " compare " + model + " " + dir + "/nothing.onnx", &text), 0);
}

TEST(CompareCommand, ProjectVariantsWithResultsSideBySide) {
    const std::string dir = test::tempDir();
    const std::string model = test::asset("models/mnist_cnn.onnx"), proj = dir + "/p.byproj";
    ASSERT_TRUE(Project::create(proj, "p").ok());
    std::string text;
    ASSERT_EQ(test::runCommand(test::cliPath() + " compress " + model + " --quantize int8 -o " + dir + "/q8.onnx --eval mnist:" +
                                   test::asset("data/mnist") + " --limit 300 --project " + proj,
                               &text),
              0)
        << text;
    int64_t root = 0, child = 0;
    {
        auto p = Project::open(proj);
        ASSERT_TRUE(p.ok());
        auto vs = p->variants();
        ASSERT_TRUE(vs.ok());
        ASSERT_EQ(vs->size(), 2u);
        root = (*vs)[0].id;
        child = (*vs)[1].id;
        // No file of its own: the variant is made again from its parent and recipe.
        auto again = cli::loadVariantModel(*p, child);
        ASSERT_TRUE(again.ok()) << again.error().what();
        auto d = diffModels(load("models/mnist_cnn.onnx"), *again);
        ASSERT_TRUE(d.ok());
        EXPECT_EQ(d->changed, 4);
        auto metrics = cli::variantMetrics(*p, child);
        ASSERT_TRUE(metrics.ok());
        ASSERT_TRUE(metrics->headline().has_value());
        EXPECT_EQ(metrics->headline()->first, "top1");
        EXPECT_GT(metrics->headline()->second, 0.9);
    }
    ASSERT_EQ(test::runCommand(test::cliPath() + " compare " + std::to_string(root) + " " + std::to_string(child) + " --project " + proj,
                               &text),
              0)
        << text;
    EXPECT_NE(text.find("top1"), std::string::npos) << text;
    EXPECT_NE(text.find("time_per_sample"), std::string::npos) << text;
    EXPECT_NE(text.find("conv_0"), std::string::npos) << text;
    ASSERT_EQ(test::runCommand(test::cliPath() + " compare int8 " + model + " --project " + proj + " --json 2>/dev/null", &text), 0) << text;
    auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["a"]["variant"].get<int64_t>(), child);
    EXPECT_EQ(j["b"]["variant"].get<int64_t>(), root);  // the asset's own file is the root variant
    EXPECT_GT(j["a"]["metrics"]["quality"]["top1"].get<double>(), 0.9);
    EXPECT_NE(test::runCommand(test::cliPath() + " compare 999 " + std::to_string(root) + " --project " + proj, &text), 0);
    EXPECT_NE(text.find("neither a variant"), std::string::npos) << text;
}

}  // namespace
}  // namespace by
