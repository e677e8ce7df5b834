// Real models on the CPU executor, checked against outputs that ONNX Runtime computed for the same
// inputs (tests/data/executor/make_reference.js wrote ort_reference.txt), plus properties that need
// no reference: softmax rows sum to one, runs are deterministic, the recognizer reads the text of a
// rendered image and the voice detector hears the spoken part of a recording.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "tests/test_support.h"

namespace by {
namespace {

std::map<std::string, std::vector<double>> loadReference() {
    std::map<std::string, std::vector<double>> ref;
    std::ifstream f(test::dataDir() + "/executor/ort_reference.txt");
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string key;
        is >> key;
        double v;
        while (is >> v) ref[key].push_back(v);
    }
    return ref;
}

Executor makeExecutor(const std::string& model, int threads = 0) {
    auto m = loadModel(test::asset("models/" + model));
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().what());
    ExecutorOptions o;
    o.threads = threads;
    auto ex = Executor::create(*m, o);
    EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.error().what());
    return std::move(*ex);
}

Tensor clsInput() {
    std::vector<float> x(3 * 48 * 192);
    for (int c = 0; c < 3; ++c)
        for (int h = 0; h < 48; ++h)
            for (int w = 0; w < 192; ++w)
                x[static_cast<size_t>((c * 48 + h) * 192 + w)] =
                    static_cast<float>(std::sin(0.11 * w + 0.7 * c) * std::cos(0.23 * h) * 0.8);
    return Tensor::fromFloats({1, 3, 48, 192}, x);
}

Tensor recInput() {
    auto img = readNpy(test::dataDir() + "/executor/text_brickyard_2024.npy");
    EXPECT_TRUE(img.ok());
    EXPECT_EQ(img->shape(), (Shape{48, 320}));
    const uint8_t* g = img->data<uint8_t>();
    std::vector<float> x(3 * 48 * 320);
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 48 * 320; ++i) x[static_cast<size_t>(c * 48 * 320 + i)] = (g[i] / 255.f - 0.5f) / 0.5f;
    return Tensor::fromFloats({1, 3, 48, 320}, x);
}

// Greedy CTC decoding with PaddleOCR's label list: blank, the keys file, then a space.
std::string ctcDecode(const std::vector<int64_t>& ids) {
    std::vector<std::string> keys;
    std::ifstream f(test::asset("models/ppocr_keys_v1.txt"));
    std::string line;
    while (std::getline(f, line)) keys.push_back(line);
    keys.push_back(" ");
    std::string out;
    int64_t prev = 0;
    for (int64_t id : ids) {
        if (id != prev && id > 0 && static_cast<size_t>(id - 1) < keys.size()) out += keys[static_cast<size_t>(id - 1)];
        prev = id;
    }
    return out;
}

TEST(ExecutorReal, PaddleOcrClassifier) {
    const auto ref = loadReference();
    Executor ex = makeExecutor("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    const Tensor x = clsInput();
    auto out = ex.run({{ex.inputs()[0].name, x}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    const Tensor& y = (*out)[0];
    ASSERT_EQ(y.shape(), (Shape{1, 2}));
    const float* p = y.data<float>();
    EXPECT_NEAR(p[0] + p[1], 1.0, 1e-5);
    ASSERT_EQ(ref.at("cls_probs").size(), 2u);
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(p[i], ref.at("cls_probs")[static_cast<size_t>(i)], 1e-4);
    std::printf("cls: %.6f %.6f (ONNX Runtime %.6f %.6f)\n", p[0], p[1], ref.at("cls_probs")[0], ref.at("cls_probs")[1]);

    auto again = ex.run({{ex.inputs()[0].name, x}});
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE((*again)[0].sameContent(y)) << "two runs of the same input differ";
    Executor single = makeExecutor("ch_ppocr_mobile_v2.0_cls_infer.onnx", 1);
    auto one = single.run({{ex.inputs()[0].name, x}});
    ASSERT_TRUE(one.ok());
    for (int i = 0; i < 2; ++i) EXPECT_NEAR((*one)[0].data<float>()[i], p[i], 1e-5);
}

TEST(ExecutorReal, PaddleOcrRecognizerReadsRenderedText) {
    const auto ref = loadReference();
    Executor ex = makeExecutor("ch_PP-OCRv4_rec_infer.onnx");
    RunStats stats;
    RunOptions opts;
    opts.stats = &stats;
    auto out = ex.run({{ex.inputs()[0].name, recInput()}}, opts);
    ASSERT_TRUE(out.ok()) << out.error().what();
    const Tensor& y = (*out)[0];
    ASSERT_EQ(y.shape(), (Shape{1, 40, 6625}));
    const float* p = y.data<float>();
    const auto& refArg = ref.at("rec_argmax");
    const auto& refMax = ref.at("rec_maxprob");
    ASSERT_EQ(refArg.size(), 40u);
    std::vector<int64_t> ids;
    double maxDiff = 0;
    for (int t = 0; t < 40; ++t) {
        const float* row = p + t * 6625;
        double sum = 0;
        int64_t best = 0;
        for (int k = 0; k < 6625; ++k) {
            sum += row[k];
            if (row[k] > row[best]) best = k;
        }
        EXPECT_NEAR(sum, 1.0, 1e-3) << "step " << t;
        ids.push_back(best);
        maxDiff = std::max(maxDiff, std::abs(row[best] - refMax[static_cast<size_t>(t)]));
        EXPECT_NEAR(row[best], refMax[static_cast<size_t>(t)], 1e-4) << "step " << t;
        if (refMax[static_cast<size_t>(t)] > 0.6) {
            EXPECT_EQ(best, static_cast<int64_t>(refArg[static_cast<size_t>(t)])) << "step " << t;
        }
    }
    const std::string text = ctcDecode(ids);
    EXPECT_NE(text.find("BRICKYARD 2024"), std::string::npos) << "decoded '" << text << "'";
    EXPECT_GT(stats.nodesRun, 100);
    std::printf("rec: %lld nodes in %.3f s, peak intermediates %.1f MiB, text '%s', largest difference from ONNX Runtime %.2g\n",
                static_cast<long long>(stats.nodesRun), stats.seconds, stats.peakLiveBytes / 1048576.0, text.c_str(), maxDiff);
}

TEST(ExecutorReal, PaddleOcrDetectorFindsTheTextLine) {
    const auto ref = loadReference();
    auto img = readNpy(test::dataDir() + "/executor/text_brickyard_2024.npy");
    ASSERT_TRUE(img.ok());
    const uint8_t* g = img->data<uint8_t>();
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
    std::vector<float> x(3 * 64 * 320);
    for (int c = 0; c < 3; ++c)
        for (int h = 0; h < 64; ++h)
            for (int w = 0; w < 320; ++w) {
                const int v = h >= 8 && h < 56 ? g[(h - 8) * 320 + w] : 255;
                x[static_cast<size_t>((c * 64 + h) * 320 + w)] = (v / 255.f - mean[c]) / stdev[c];
            }
    Executor ex = makeExecutor("ch_PP-OCRv4_det_infer.onnx");
    auto out = ex.run({{ex.inputs()[0].name, Tensor::fromFloats({1, 3, 64, 320}, x)}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    const Tensor& y = (*out)[0];
    ASSERT_EQ(y.shape(), (Shape{1, 1, 64, 320}));
    const float* p = y.data<float>();
    const auto& want = ref.at("det_blocks");
    ASSERT_EQ(want.size(), 320u);
    double textRows = 0, blankRows = 0, maxDiff = 0;
    for (int by = 0; by < 8; ++by)
        for (int bx = 0; bx < 40; ++bx) {
            double sum = 0;
            for (int i = 0; i < 8; ++i)
                for (int j = 0; j < 8; ++j) sum += p[(by * 8 + i) * 320 + bx * 8 + j];
            maxDiff = std::max(maxDiff, std::abs(sum / 64 - want[static_cast<size_t>(by * 40 + bx)]));
            EXPECT_NEAR(sum / 64, want[static_cast<size_t>(by * 40 + bx)], 1e-4) << "block " << by << "," << bx;
            (by == 3 || by == 4 ? textRows : blankRows) += sum / 64;
        }
    EXPECT_GT(textRows / 80, 0.3);   // the band through the middle of the letters
    EXPECT_LT(blankRows / 240, 0.05);
    std::printf("det: largest block difference from ONNX Runtime %.2g\n", maxDiff);
}

// Runs the detector over the recording in 512-sample windows (with the previous window's last 64
// samples in front, as Silero's own wrapper does), carrying the recurrent state.
std::vector<float> runSilero(const std::string& model) {
    Executor ex = makeExecutor(model);
    auto audio = readNpy(test::dataDir() + "/executor/speech_16k.npy");
    EXPECT_TRUE(audio.ok());
    EXPECT_EQ(audio->dtype(), DType::I16);
    const int16_t* s = audio->data<int16_t>();
    Tensor state = *Tensor::zeros(DType::F32, {2, 1, 128});
    const Tensor sr = Tensor::fromInt64s({}, {16000});
    std::vector<float> window(576, 0.f), probs;
    for (int64_t off = 0; off + 512 <= audio->numel(); off += 512) {
        std::copy(window.begin() + 512, window.end(), window.begin());
        for (int i = 0; i < 512; ++i) window[static_cast<size_t>(64 + i)] = s[off + i] / 32768.f;
        auto out = ex.run({{"input", Tensor::fromFloats({1, 576}, window)}, {"state", state}, {"sr", sr}});
        EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
        if (!out.ok()) break;
        EXPECT_EQ((*out)[0].shape(), (Shape{1, 1}));
        EXPECT_EQ((*out)[1].shape(), (Shape{2, 1, 128}));
        probs.push_back((*out)[0].data<float>()[0]);
        state = (*out)[1];
    }
    return probs;
}

void checkSilero(const std::string& model, const std::string& key) {
    const auto ref = loadReference();
    const auto probs = runSilero(model);
    const auto& want = ref.at(key);
    ASSERT_EQ(probs.size(), want.size());
    int speech = 0;
    double maxDiff = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
        maxDiff = std::max(maxDiff, std::abs(probs[i] - want[i]));
        EXPECT_GE(probs[i], 0.f);
        EXPECT_LE(probs[i], 1.f);
        EXPECT_NEAR(probs[i], want[i], 1e-4) << "window " << i;
        speech += probs[i] > 0.5f;
    }
    // The first half second is silence, then espeak-ng speaks for about two seconds.
    for (size_t i = 0; i < 14; ++i) EXPECT_LT(probs[i], 0.1f) << "window " << i;
    EXPECT_GT(speech, 60);
    std::printf("%s: %d of %zu windows speech, largest difference from ONNX Runtime %.2g\n", model.c_str(), speech,
                probs.size(), maxDiff);
}

TEST(ExecutorReal, SileroVadOpset15) { checkSilero("silero_vad_16k_op15.onnx", "silero_op15_probs"); }
TEST(ExecutorReal, SileroVadV5WithIfBranches) { checkSilero("silero_vad.onnx", "silero_v5_probs"); }

}  // namespace
}  // namespace by
