// Data-aware low-rank factorisation on the trained Fashion-MNIST CNN: calibrated on 256 training
// images, it must give every layer a smaller output error than the plain truncated SVD of the
// same rank, and the model a clearly higher test accuracy at the same parameter cut.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "engine/compression.h"
#include "engine/evaluation.h"
#include "importers/dataset_readers.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace by {
namespace {

constexpr const char* kFashion = "/usr/share/datasets/fashion-mnist";

double top1(const Model& m, const Dataset& data, int64_t limit) {
    EvalOptions o;
    o.batchSize = 500;
    o.limit = limit;
    o.threads = 2;
    o.normalize = Normalization{1.f / 255.f, {}, {}};
    auto r = evaluate(m, data, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() && r->classification ? r->classification->top1() : 0.0;
}

TEST(LowRankDataAware, BeatsPlainSvdOnEveryLayerAndInAccuracy) {
    const std::string modelPath = test::cacheDir() + "/models/fashion_mnist_cnn.onnx";
    if (!std::filesystem::exists(modelPath)) GTEST_SKIP() << modelPath << " is missing: run scripts/setup.sh (it trains the CNNs)";
    if (!std::filesystem::exists(kFashion)) GTEST_SKIP() << kFashion << " is missing: run scripts/setup.sh";
    auto m = loadModel(modelPath);
    ASSERT_TRUE(m.ok()) << m.error().what();
    auto test = openDataset(std::string("fashion-mnist:") + kFashion);
    ASSERT_TRUE(test.ok()) << test.error().what();

    CompressStep plain;
    plain.method = CompressMethod::LowRank;
    plain.paramCut = 0.3;
    CompressStep aware = plain;
    aware.activations.enabled = true;
    aware.activations.samples = 256;
    aware.activations.data = std::string("fashion-mnist:") + kFashion;
    aware.activations.split = "train";
    aware.activations.normalize = Normalization{1.f / 255.f, {}, {}};
    CompressContext ctx;
    std::vector<std::string> splits;
    ctx.openDataset = [&](const std::string& spec, const std::string& split) {
        splits.push_back(split);
        DatasetOptions o;
        o.split = split;
        return openDataset(spec, o);
    };
    Recipe rp, ra;
    rp.steps = {plain};
    ra.steps = {aware};
    auto cp = compress(*m, rp, ctx);
    ASSERT_TRUE(cp.ok()) << cp.error().what();
    auto ca = compress(*m, ra, ctx);
    ASSERT_TRUE(ca.ok()) << ca.error().what();
    EXPECT_EQ(splits, std::vector<std::string>{"train"}) << "calibration must read the training split only";
    EXPECT_EQ(cp->paramsAfter, ca->paramsAfter) << "the same ranks";

    // Each layer: "data-aware: output error A (plain SVD B)" with A < B; convolutions included.
    const std::regex re("data-aware: output error ([0-9.e-]+) \\(plain SVD ([0-9.e-]+)\\)");
    int convs = 0;
    ASSERT_EQ(ca->layers.size(), 4u);
    for (const LayerReport& l : ca->layers) {
        std::smatch mt;
        ASSERT_TRUE(std::regex_search(l.detail, mt, re)) << l.layer << ": " << l.detail;
        const double a = std::stod(mt[1]), b = std::stod(mt[2]);
        EXPECT_LT(a, 0.8 * b) << l.layer << ": " << l.detail;
        convs += l.opType == "Conv";
    }
    EXPECT_EQ(convs, 2);

    const double base = top1(*m, **test, 0), accPlain = top1(cp->model, **test, 0), accAware = top1(ca->model, **test, 0);
    std::printf("fashion CNN, 30%% parameter cut: original %.2f%%, plain SVD %.2f%%, data-aware %.2f%%\n", 100 * base,
                100 * accPlain, 100 * accAware);
    EXPECT_GT(accAware, accPlain + 0.03);
    EXPECT_LT(accAware, base);
}

TEST(LowRankDataAware, WithoutDataItIsOneSentence) {
    const std::string modelPath = test::cacheDir() + "/models/fashion_mnist_cnn.onnx";
    if (!std::filesystem::exists(modelPath)) GTEST_SKIP() << modelPath << " is missing: run scripts/setup.sh";
    auto m = loadModel(modelPath);
    ASSERT_TRUE(m.ok()) << m.error().what();
    CompressStep s;
    s.method = CompressMethod::LowRank;
    s.rank = 4;
    s.activations.enabled = true;
    Recipe r;
    r.steps = {s};
    auto v = validateRecipe(*m, r);
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.error().what().find("data-aware low-rank needs calibration data"), std::string::npos) << v.error().what();
    r.steps[0].activations.data = "fashion-mnist:/no/such/folder";
    auto c = compress(*m, r);  // no openDataset in the context
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().what().find("nothing here can open"), std::string::npos) << c.error().what();
}

}  // namespace
}  // namespace by
