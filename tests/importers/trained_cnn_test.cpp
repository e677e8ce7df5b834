// The two CNNs trained by scripts/train/mnist_cnn.py: built by engine/model_builder from their
// .npy weights, written with the project's ONNX writer, read back, and run by the executor over
// the full 10,000-image test set through openDataset + BatchIterator. The accuracy must match what
// PyTorch measured at training time to within 0.05 points (5 images).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "engine/dataset.h"
#include "engine/executor.h"
#include "engine/model_builder.h"
#include "importers/dataset_readers.h"
#include "importers/importer_registry.h"
#include "importers/trained_model_reader.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

struct Case {
    const char* name;         // folder under models/trained and file stem under models/
    double minAccuracy;       // sanity floor: the training recipe reaches this comfortably
};

std::string datasetPath(const std::string& kind) {
    return kind == "mnist" ? test::cacheDir() + "/data/mnist" : "/usr/share/datasets/fashion-mnist";
}

// Top-1 accuracy of `model` over the test split of `kind` (config.json's dataset), in batches of 500.
double evaluate(const Model& model, const TrainedModelInfo& info, const std::string& kind, int64_t* seen) {
    auto ds = openDataset(kind + ":" + datasetPath(kind), {});
    EXPECT_TRUE(ds.ok()) << (ds ? "" : ds.error().what());
    if (!ds) return -1;
    auto exec = Executor::create(model, ExecutorOptions{2});
    EXPECT_TRUE(exec.ok()) << (exec ? "" : exec.error().what());
    if (!exec) return -1;
    BatchOptions bo;
    bo.batchSize = 500;
    bo.normalize = Normalization{info.inputScale, {info.inputMean}, {info.inputStd}};
    BatchIterator it(**ds, bo);
    int64_t correct = 0, total = 0;
    while (auto b = it.next()) {
        EXPECT_TRUE(b->ok()) << b->error().what();
        if (!b->ok()) return -1;
        auto out = exec->run({{info.spec.inputName, (*b)->inputs[0]}});
        EXPECT_TRUE(out.ok()) << (out ? "" : out.error().what());
        if (!out) return -1;
        const Tensor& logits = (*out)[0];
        EXPECT_EQ(logits.shape(), (Shape{(*b)->size(), 10}));
        const float* p = logits.data<float>();
        for (int64_t r = 0; r < (*b)->size(); ++r) {
            int64_t best = 0;
            for (int64_t c = 1; c < 10; ++c)
                if (p[r * 10 + c] > p[r * 10 + best]) best = c;
            correct += best == (*b)->labels[static_cast<size_t>(r)];
            ++total;
        }
    }
    *seen = total;
    return static_cast<double>(correct) / static_cast<double>(total);
}

class TrainedCnn : public ::testing::TestWithParam<Case> {};

TEST_P(TrainedCnn, ExecutorMatchesTorchAccuracyOnFullTestSet) {
    const Case c = GetParam();
    const std::string dir = test::cacheDir() + "/models/trained/" + c.name;
    if (!fs::exists(dir + "/config.json"))
        GTEST_SKIP() << "the trained model " << dir << " is missing: run scripts/setup.sh, which trains it "
                     << "(scripts/train/mnist_cnn.py, a few minutes on two cores)";
    auto info = readTrainedModelDir(dir);
    ASSERT_TRUE(info.ok()) << info.error().what();
    ASSERT_GE(info->testAccuracy, c.minAccuracy) << "the recorded training accuracy is implausibly low";
    ASSERT_EQ(info->testSamples, 10000);

    auto built = buildSequentialModel(info->spec);
    ASSERT_TRUE(built.ok()) << built.error().what();
    // Through the project's own writer and reader, as the demo project ships it.
    const std::string onnx = test::tempDir() + "/" + c.name + ".onnx";
    ASSERT_TRUE(saveModel(*built, onnx).ok());
    auto model = loadModel(onnx);
    ASSERT_TRUE(model.ok()) << model.error().what();
    ASSERT_EQ(model->graph.inputs.size(), 1u);
    EXPECT_EQ(model->graph.values[static_cast<size_t>(model->graph.inputs[0])].name, "image");
    EXPECT_EQ(model->graph.values[static_cast<size_t>(model->graph.outputs[0])].name, "logits");

    const auto t0 = std::chrono::steady_clock::now();
    int64_t seen = 0;
    const double acc = evaluate(*model, *info, info->dataset, &seen);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(seen, 10000);
    std::printf("%s: executor accuracy %.2f%%, PyTorch %.2f%% (%lld images, %.1f s)\n", c.name, acc * 100,
                info->testAccuracy * 100, static_cast<long long>(seen), secs);
    EXPECT_NEAR(acc, info->testAccuracy, 0.0005);

    // The file scripts/setup.sh builds for the demo project, when it is there, is the same model.
    const std::string shipped = test::cacheDir() + "/models/" + c.name + ".onnx";
    if (fs::exists(shipped)) {
        auto s = loadModel(shipped);
        ASSERT_TRUE(s.ok()) << s.error().what();
        for (const auto& [name, w] : info->spec.weights) {
            const int id = s->graph.findValue(name);
            ASSERT_GE(id, 0) << name;
            EXPECT_TRUE(s->graph.values[static_cast<size_t>(id)].data->sameContent(w)) << name;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Models, TrainedCnn,
                         ::testing::Values(Case{"mnist_cnn", 0.97}, Case{"fashion_mnist_cnn", 0.87}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TrainedCnn, SafetensorsHoldsTheSameWeights) {
    const std::string dir = test::cacheDir() + "/models/trained/mnist_cnn";
    if (!fs::exists(dir + "/config.json"))
        GTEST_SKIP() << "the trained model " << dir << " is missing: run scripts/setup.sh";
    auto info = readTrainedModelDir(dir);
    ASSERT_TRUE(info.ok()) << info.error().what();
    auto built = buildSequentialModel(info->spec);
    ASSERT_TRUE(built.ok());
    const std::string st = test::tempDir() + "/m.safetensors";
    ASSERT_TRUE(saveModel(*built, st).ok());
    auto back = loadModel(st);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->graph.parameterCount(), built->graph.parameterCount());
    for (const auto& [name, w] : info->spec.weights) {
        const int id = back->graph.findValue(name);
        ASSERT_GE(id, 0) << name;
        EXPECT_TRUE(back->graph.values[static_cast<size_t>(id)].data->sameContent(w)) << name;
    }
}

TEST(TrainedModelReader, BrokenFolders) {
    const std::string dir = test::tempDir();
    auto r = readTrainedModelDir(dir);
    ASSERT_FALSE(r.ok());  // no config.json
    std::FILE* f = std::fopen((dir + "/config.json").c_str(), "w");
    std::fputs("{\"layers\": [{\"op\": \"conv\", \"weight\": \"w\"}], \"input\": {\"shape\": [1, 28, 28]}}", f);
    std::fclose(f);
    r = readTrainedModelDir(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("w.npy"), std::string::npos) << r.error().what();
    f = std::fopen((dir + "/config.json").c_str(), "w");
    std::fputs("{\"layers\": [{\"op\": \"softmax\"}], \"input\": {\"shape\": [4]}}", f);
    std::fclose(f);
    r = readTrainedModelDir(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("softmax"), std::string::npos) << r.error().what();
}

}  // namespace
}  // namespace by
