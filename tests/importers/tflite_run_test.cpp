// MediaPipe TFLite models run end to end on the CPU executor, on real photos.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/executor.h"
#include "importers/image_folder_reader.h"
#include "importers/tflite_importer.h"
#include "tests/test_support.h"

using namespace by;

namespace {

Model loadModel(const std::string& name) {
    auto m = makeTfliteImporter()->load(test::asset("models/" + name), {});
    EXPECT_TRUE(m.ok()) << name << ": " << m.error().what();
    return m.ok() ? std::move(*m) : Model{};
}

// A photo as NHWC f32 of the model's input size, RGB scaled to [lo, hi].
Tensor photo(const std::string& file, int64_t h, int64_t w, float lo, float hi) {
    auto img = decodeImage(test::asset("data/photos/" + file), ImageLayout{3, int(h), int(w)});
    EXPECT_TRUE(img.ok()) << file << ": " << img.error().what();
    if (!img.ok()) return {};
    const uint8_t* p = img->data<uint8_t>();
    std::vector<float> v(static_cast<size_t>(h * w * 3));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t c = 0; c < 3; ++c)
                v[static_cast<size_t>((y * w + x) * 3 + c)] =
                    lo + (hi - lo) * static_cast<float>(p[(c * h + y) * w + x]) / 255.f;
    return Tensor::fromFloats({1, h, w, 3}, v);
}

Shape inputShape(const Executor& ex) {
    Shape s;
    for (const Dim& d : *ex.inputs().at(0).shape) s.push_back(d.known() ? d.value : 1);
    return s;
}

std::vector<Tensor> runOn(const Executor& ex, const Tensor& x) {
    auto out = ex.run({{ex.inputs().at(0).name, x}});
    EXPECT_TRUE(out.ok()) << out.error().what();
    return out.ok() ? std::move(*out) : std::vector<Tensor>{};
}

TEST(TfliteRun, MediaPipeModelsRunWithFiniteOutputsOfTheDeclaredShapes) {
    for (const char* name : {"face_detection_short_range.tflite", "face_detection_full_range.tflite",
                             "hand_landmark_lite.tflite", "hand_landmark_full.tflite", "selfie_segmentation.tflite"}) {
        SCOPED_TRACE(name);
        const Model m = loadModel(name);
        auto ex = Executor::create(m);
        ASSERT_TRUE(ex.ok()) << ex.error().what();
        ASSERT_EQ(ex->inputs().size(), 1u);
        const Shape s = inputShape(*ex);
        ASSERT_EQ(s.size(), 4u);
        const auto out = runOn(*ex, photo("person.jpg", s[1], s[2], 0.f, 1.f));
        ASSERT_EQ(out.size(), ex->outputs().size());
        for (size_t i = 0; i < out.size(); ++i) {
            const auto& decl = ex->outputs()[i];
            ASSERT_TRUE(decl.shape.has_value());
            ASSERT_EQ(out[i].shape().size(), decl.shape->size()) << decl.name;
            for (size_t d = 0; d < decl.shape->size(); ++d) {
                if ((*decl.shape)[d].known()) {
                    EXPECT_EQ(out[i].shape()[d], (*decl.shape)[d].value) << decl.name;
                }
            }
            const auto v = *out[i].toFloats();
            ASSERT_FALSE(v.empty());
            EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); })) << decl.name;
        }
    }
}

// BlazeFace: RGB 128x128 in [-1, 1]; the best anchor's score is the sigmoid of the largest
// classificator logit (the output with one value per anchor).
float bestFaceScore(const Executor& ex, const std::string& file) {
    const auto out = runOn(ex, photo(file, 128, 128, -1.f, 1.f));
    for (const Tensor& t : out)
        if (t.rank() == 3 && t.shape()[2] == 1) {
            const auto v = *t.toFloats();
            const float best = *std::max_element(v.begin(), v.end());
            return 1.f / (1.f + std::exp(-best));
        }
    ADD_FAILURE() << "no classificator output";
    return -1.f;
}

TEST(TfliteRun, BlazeFaceScoresAFaceAboveImagesWithoutOne) {
    const Model m = loadModel("face_detection_short_range.tflite");
    auto ex = Executor::create(m);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    const float person = bestFaceScore(*ex, "person.jpg");
    const float horses = bestFaceScore(*ex, "horses.jpg");
    const float eagle = bestFaceScore(*ex, "eagle.jpg");
    std::printf("BlazeFace best score: person %.4f, horses %.4f, eagle %.4f\n", person, horses, eagle);
    EXPECT_GT(person, 0.5f);
    EXPECT_GT(person, horses + 0.3f);
    EXPECT_GT(person, eagle + 0.3f);
}

float meanOf(const Tensor& t) {
    const auto v = *t.toFloats();
    double s = 0;
    for (float f : v) s += f;
    return static_cast<float>(s / static_cast<double>(v.size()));
}

TEST(TfliteRun, SelfieSegmentationMasksThePerson) {
    const Model m = loadModel("selfie_segmentation.tflite");
    auto ex = Executor::create(m);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    const Shape s = inputShape(*ex);
    const auto person = runOn(*ex, photo("person.jpg", s[1], s[2], 0.f, 1.f));
    ASSERT_EQ(person.size(), 1u);
    const auto blank = runOn(*ex, Tensor::fromFloats(s, std::vector<float>(static_cast<size_t>(shapeNumel(s)), 0.5f)));
    ASSERT_EQ(blank.size(), 1u);
    const float pm = meanOf(person[0]), bm = meanOf(blank[0]);
    std::printf("Selfie mask mean: person %.4f, blank grey %.4f\n", pm, bm);
    EXPECT_GT(pm, 0.05f);
    EXPECT_LT(pm, 0.95f);
    EXPECT_GT(std::fabs(pm - bm), 0.05f);
}

}  // namespace
