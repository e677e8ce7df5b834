// Compression passes on the real trained models (the MNIST and Fashion-MNIST CNNs, the PP-OCRv4
// recogniser): quality measured with evaluate() on the real test sets, compressed ONNX written,
// reloaded and run. Lives with the importers' tests because it reads model and dataset files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/compression.h"
#include "engine/evaluation.h"
#include "engine/executor.h"
#include "importers/dataset_readers.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace by {
namespace {

Recipe oneStep(CompressStep s) {
    Recipe r;
    r.steps.push_back(s);
    return r;
}

std::string fileBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

double top1(const Model& m, const Dataset& data, int64_t limit) {
    EvalOptions o;
    o.limit = limit;
    o.batchSize = 250;
    o.normalize = Normalization{1.f / 255.f, {}, {}};
    auto r = evaluate(m, data, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() && r->classification ? r->classification->top1() : 0.0;
}

// The first n test images as the model's f32 input [n, 1, 28, 28].
Tensor imageBatch(const Dataset& data, int64_t n) {
    std::vector<float> v;
    for (int64_t i = 0; i < n; ++i) {
        auto s = data.sample(i);
        EXPECT_TRUE(s.ok());
        auto f = s->inputs[0].toFloats();
        for (float x : *f) v.push_back(x / 255.f);
    }
    return Tensor::fromFloats({n, 1, 28, 28}, v);
}

std::vector<float> run(const Model& m, const std::map<std::string, Tensor>& in) {
    auto ex = Executor::create(m);
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    if (!ex) return {};
    auto out = ex->run(in);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
    if (!out) return {};
    return *(*out)[0].toFloats();
}

class CnnCompression : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        const std::string name = GetParam();
        modelPath = test::asset("models/" + name + "_cnn.onnx");
        auto m = loadModel(modelPath);
        ASSERT_TRUE(m.ok()) << m.error().what();
        model = std::move(*m);
        auto d = openDataset(name == std::string("mnist") ? "mnist:" + test::asset("data/mnist")
                                                          : "fashion-mnist:/usr/share/datasets/fashion-mnist");
        ASSERT_TRUE(d.ok()) << d.error().what();
        data = *d;
    }
    std::string modelPath;
    Model model;
    std::shared_ptr<const Dataset> data;
};

TEST_P(CnnCompression, Int8PerChannelKeepsAccuracyAndRoundTrips) {
    const std::string original = fileBytes(modelPath);
    auto r = compress(model, oneStep({}));
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(fileBytes(modelPath), original);
    EXPECT_LT(double(r->bytesAfter), 0.27 * double(r->bytesBefore));
    const double base = top1(model, *data, 2000), q = top1(r->model, *data, 2000);
    EXPECT_GT(base, 0.85);
    EXPECT_GE(q, base - 0.003) << "int8 " << q << " vs f32 " << base;

    const std::string out = test::tempDir() + "/int8.onnx";
    ASSERT_TRUE(saveModel(r->model, out).ok());
    auto back = loadModel(out);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->graph.opHistogram().at("DequantizeLinear"), 4);
    const Tensor x = imageBatch(*data, 16);
    const auto inMemory = run(r->model, {{"image", x}}), reloaded = run(*back, {{"image", x}});
    ASSERT_EQ(inMemory.size(), 160u);
    EXPECT_EQ(inMemory, reloaded);
    EXPECT_LT(std::ifstream(out, std::ios::ate | std::ios::binary).tellg(),
              std::ifstream(modelPath, std::ios::ate | std::ios::binary).tellg() / 3);
}

TEST_P(CnnCompression, TwoFourLowRankAndInt4RunWithMeasuredCost) {
    CompressStep nm;
    nm.method = CompressMethod::PruneNM;
    CompressStep lr;
    lr.method = CompressMethod::LowRank;
    lr.paramCut = 0.3;
    lr.layers.opTypes = {"Gemm"};
    CompressStep q4;
    q4.method = CompressMethod::QuantizeNBits;
    q4.bits = 4;
    const double base = top1(model, *data, 1000);
    for (const auto& s : {nm, lr, q4}) {
        auto r = compress(model, oneStep(s));
        ASSERT_TRUE(r.ok()) << r.error().what();
        const double acc = top1(r->model, *data, 1000);
        // Not a quality goal (nothing is fine-tuned: 2:4 on these small convolutions costs several
        // points), a sanity bound: a broken rewrite falls to chance (10%).
        EXPECT_GT(acc, 0.5) << compressMethodName(s.method) << " " << acc << " vs " << base;
        std::printf("%s: top-1 %.4f (original %.4f)\n", compressMethodName(s.method), acc, base);
        int applied = 0;
        for (const auto& l : r->layers) applied += l.applied;
        EXPECT_GE(applied, 2) << compressMethodName(s.method);
    }
}

TEST_P(CnnCompression, FilterPruningShrinksTheModelAndItStillRuns) {
    CompressStep s;
    s.method = CompressMethod::PruneChannels;
    s.sparsity = 0.25;
    auto r = compress(model, oneStep(s));
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->layers.size(), 2u);
    for (const auto& l : r->layers) EXPECT_TRUE(l.applied) << l.layer << ": " << l.note;
    EXPECT_EQ(r->layers[0].detail, "12/16 filters (L1)");
    EXPECT_EQ(r->layers[1].detail, "24/32 filters (L1)");
    // conv2's 8 dropped filters take 8*49 of fc1's 1568 input columns with them.
    EXPECT_LT(double(r->paramsAfter), 0.8 * double(r->paramsBefore));
    const Tensor x = imageBatch(*data, 8);
    EXPECT_EQ(run(r->model, {{"image", x}}).size(), 80u);
    const double acc = top1(r->model, *data, 1000);
    EXPECT_GT(acc, 0.5);  // without fine-tuning some quality goes; chance would be 0.1
    const std::string out = test::tempDir() + "/channels.onnx";
    ASSERT_TRUE(saveModel(r->model, out).ok());
    auto back = loadModel(out);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(run(*back, {{"image", x}}), run(r->model, {{"image", x}}));
}

INSTANTIATE_TEST_SUITE_P(Cnns, CnnCompression, ::testing::Values("mnist", "fashion_mnist"),
                         [](const auto& info) { return std::string(info.param); });

TEST(RecognizerCompression, Int8AndInt4OnTheOcrModelRunClose) {
    auto m = loadModel(test::asset("models/ch_PP-OCRv4_rec_infer.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    std::vector<float> img(3 * 48 * 320);
    for (size_t i = 0; i < img.size(); ++i) img[i] = float(std::sin(double(i) * 0.01));
    const std::map<std::string, Tensor> in = {{m->graph.values[size_t(m->graph.inputs[0])].name, Tensor::fromFloats({1, 3, 48, 320}, img)}};
    const auto y0 = run(*m, in);
    ASSERT_FALSE(y0.empty());
    CompressStep q4;
    q4.method = CompressMethod::QuantizeNBits;
    q4.bits = 4;
    for (const auto& s : {CompressStep{}, q4}) {
        auto r = compress(*m, oneStep(s));
        ASSERT_TRUE(r.ok()) << r.error().what();
        EXPECT_LT(r->bytesAfter, r->bytesBefore);
        const auto y = run(r->model, in);
        ASSERT_EQ(y.size(), y0.size());
        // Per-step class probabilities: the argmax path should mostly agree.
        const int64_t classes = int64_t(y.size()) / 40;
        int same = 0;
        for (int64_t t = 0; t < 40; ++t) {
            auto a = std::max_element(y.begin() + t * classes, y.begin() + (t + 1) * classes) - y.begin();
            auto b = std::max_element(y0.begin() + t * classes, y0.begin() + (t + 1) * classes) - y0.begin();
            same += a == b;
        }
        EXPECT_GE(same, 36) << compressMethodName(s.method);
    }
}

}  // namespace
}  // namespace by
