// Static int8 quantization (weights and activations) of the trained MNIST and Fashion-MNIST CNNs:
// calibrated on the first 256 training images, measured over the full 10,000-image test split,
// which calibration never sees. The accuracy goal is a drop of at most 0.3 points for every
// observer; the quantized ONNX is written, read back and must give the same outputs.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/compression.h"
#include "engine/evaluation.h"
#include "engine/executor.h"
#include "importers/dataset_readers.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

struct Case {
    const char* model;  // under the cache's models/
    const char* kind;   // dataset reader
    std::string dir;
};

Case caseFor(const std::string& name) {
    if (name == "mnist") return {"mnist_cnn.onnx", "mnist", test::cacheDir() + "/data/mnist"};
    return {"fashion_mnist_cnn.onnx", "fashion-mnist", "/usr/share/datasets/fashion-mnist"};
}

double top1(const Model& m, const Dataset& data) {
    EvalOptions o;
    o.batchSize = 500;
    o.threads = 2;
    o.normalize = Normalization{1.f / 255.f, {}, {}};
    auto r = evaluate(m, data, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() && r->classification ? r->classification->top1() : 0.0;
}

class StaticInt8Cnn : public ::testing::TestWithParam<const char*> {};

TEST_P(StaticInt8Cnn, EveryObserverKeepsFullTestAccuracyWithinPointThree) {
    const Case c = caseFor(GetParam());
    const std::string modelPath = test::cacheDir() + "/models/" + c.model;
    if (!fs::exists(modelPath)) GTEST_SKIP() << modelPath << " is missing: run scripts/setup.sh (it trains the CNNs)";
    if (!fs::exists(c.dir)) GTEST_SKIP() << c.dir << " is missing: run scripts/setup.sh";
    auto m = loadModel(modelPath);
    ASSERT_TRUE(m.ok()) << m.error().what();
    auto test = openDataset(std::string(c.kind) + ":" + c.dir);
    ASSERT_TRUE(test.ok()) << test.error().what();
    ASSERT_EQ((*test)->size(), 10000);
    const double base = top1(*m, **test);
    EXPECT_GT(base, 0.85);

    CompressContext ctx;
    std::vector<std::string> splitsAsked;
    ctx.openDataset = [&](const std::string& spec, const std::string& split) {
        splitsAsked.push_back(split);
        DatasetOptions o;
        o.split = split;
        return openDataset(spec, o);
    };
    for (CalibrationMethod method : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Mse}) {
        CompressStep s;
        s.activations.enabled = true;
        s.activations.method = method;
        s.activations.samples = 256;
        s.activations.data = std::string(c.kind) + ":" + c.dir;
        s.activations.split = "train";
        s.activations.normalize = Normalization{1.f / 255.f, {}, {}};
        Recipe r;
        r.steps.push_back(s);
        auto q = compress(*m, r, ctx);
        ASSERT_TRUE(q.ok()) << q.error().what();
        EXPECT_EQ(q->model.graph.opHistogram().count("Conv"), 0u);
        const double acc = top1(q->model, **test);
        std::printf("%s %s: f32 %.4f, static int8 %.4f\n", c.model, calibrationMethodName(method), base, acc);
        EXPECT_GE(acc, base - 0.003) << calibrationMethodName(method) << ": int8 " << acc << " vs f32 " << base;

        if (method == CalibrationMethod::Mse) {
            const std::string out = test::tempDir() + "/static_int8.onnx";
            ASSERT_TRUE(saveModel(q->model, out).ok());
            auto back = loadModel(out);
            ASSERT_TRUE(back.ok()) << back.error().what();
            EXPECT_EQ(back->graph.opHistogram().at("QLinearConv"), 2);
            std::vector<float> x;
            for (int64_t i = 0; i < 8; ++i) {
                auto f = (*test)->sample(i)->inputs[0].toFloats();
                for (float p : *f) x.push_back(p / 255.f);
            }
            const std::map<std::string, Tensor> in = {{"image", Tensor::fromFloats({8, 1, 28, 28}, x)}};
            auto e1 = Executor::create(q->model);
            auto e2 = Executor::create(*back);
            ASSERT_TRUE(e1.ok() && e2.ok());
            auto o1 = e1->run(in);
            auto o2 = e2->run(in);
            ASSERT_TRUE(o1.ok() && o2.ok());
            EXPECT_EQ(*(*o1)[0].toFloats(), *(*o2)[0].toFloats());
        }
    }
    for (const auto& sp : splitsAsked) EXPECT_EQ(sp, "train");
}

INSTANTIATE_TEST_SUITE_P(Cnns, StaticInt8Cnn, ::testing::Values("mnist", "fashion_mnist"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace by
