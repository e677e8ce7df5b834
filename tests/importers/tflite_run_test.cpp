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
                             "face_detection_full_range_sparse.tflite", "hand_landmark_lite.tflite",
                             "hand_landmark_full.tflite", "selfie_segmentation.tflite",
                             "selfie_segmentation_landscape.tflite"}) {
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

// BlazeFace: RGB in [-1, 1]. The best anchor is the largest classificator logit (the output with
// one value per anchor); its box centre is the anchor centre plus the first two regressor values
// in input pixels. Anchors: short range 16x16x2 (stride 8) then 8x8x6 (stride 16) on 128x128;
// full range one per cell of a 48x48 grid on 192x192.
struct Face {
    float logit = -1e9f, cx = -1, cy = -1;
};

Face bestFace(const Executor& ex, const std::string& file) {
    const Shape s = inputShape(ex);
    const int64_t size = s[1];
    const auto out = runOn(ex, photo(file, size, size, -1.f, 1.f));
    const Tensor* scores = nullptr;
    const Tensor* boxes = nullptr;
    for (const Tensor& t : out) {
        if (t.rank() == 3 && t.shape()[2] == 1) scores = &t;
        if (t.rank() == 3 && t.shape()[2] == 16) boxes = &t;
    }
    if (!scores || !boxes) {
        ADD_FAILURE() << "no classificator/regressor outputs";
        return {};
    }
    const auto c = *scores->toFloats();
    const auto r = *boxes->toFloats();
    const auto best = static_cast<int64_t>(std::max_element(c.begin(), c.end()) - c.begin());
    float ax = 0, ay = 0;
    if (c.size() == 896) {
        const int64_t i = best < 512 ? best / 2 : (best - 512) / 6;
        const int64_t grid = best < 512 ? 16 : 8;
        ax = (static_cast<float>(i % grid) + 0.5f) / static_cast<float>(grid);
        ay = (static_cast<float>(i / grid) + 0.5f) / static_cast<float>(grid);
    } else if (c.size() == 2304) {
        ax = (static_cast<float>(best % 48) + 0.5f) / 48.f;
        ay = (static_cast<float>(best / 48) + 0.5f) / 48.f;
    } else {
        ADD_FAILURE() << c.size() << " anchors is not a known BlazeFace layout";
    }
    const auto fs = static_cast<float>(size);
    return {c[static_cast<size_t>(best)], ax + r[static_cast<size_t>(best * 16)] / fs,
            ay + r[static_cast<size_t>(best * 16 + 1)] / fs};
}

float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// astronaut.png (NASA portrait, scikit-image sample data) has one face, centred near (0.44, 0.24)
// of the frame; the darknet photos have none facing the camera (person.jpg shows a back).
TEST(TfliteRun, BlazeFaceFindsTheFaceInAPortraitAndScoresPhotosWithoutOneLower) {
    for (const char* name : {"face_detection_short_range.tflite", "face_detection_full_range.tflite",
                             "face_detection_full_range_sparse.tflite"}) {
        SCOPED_TRACE(name);
        const Model m = loadModel(name);
        auto ex = Executor::create(m);
        ASSERT_TRUE(ex.ok()) << ex.error().what();
        const Face face = bestFace(*ex, "astronaut.png");
        std::printf("%s: astronaut score %.4f (logit %.3f) at (%.3f, %.3f)\n", name, sigmoid(face.logit), face.logit,
                    face.cx, face.cy);
        EXPECT_GT(sigmoid(face.logit), 0.85f);
        EXPECT_NEAR(face.cx, 0.44f, 0.05f);
        EXPECT_NEAR(face.cy, 0.24f, 0.05f);
        for (const char* other : {"person.jpg", "horses.jpg", "eagle.jpg", "dog.jpg"}) {
            const Face f = bestFace(*ex, other);
            std::printf("%s: %s score %.4f (logit %.3f)\n", name, other, sigmoid(f.logit), f.logit);
            EXPECT_LT(f.logit, face.logit - 1.f) << other;
        }
    }
}

float meanOf(const std::vector<float>& v) {
    double s = 0;
    for (float f : v) s += f;
    return v.empty() ? 0.f : static_cast<float>(s / static_cast<double>(v.size()));
}

// person.jpg: one person standing, inside columns 75..108 and rows 60..226 of the 256x256 input.
TEST(TfliteRun, SelfieSegmentationMasksThePerson) {
    const Model m = loadModel("selfie_segmentation.tflite");
    auto ex = Executor::create(m);
    ASSERT_TRUE(ex.ok()) << ex.error().what();
    const Shape s = inputShape(*ex);
    ASSERT_EQ(s, (Shape{1, 256, 256, 3}));
    const auto person = runOn(*ex, photo("person.jpg", 256, 256, 0.f, 1.f));
    ASSERT_EQ(person.size(), 1u);
    ASSERT_EQ(person[0].shape(), (Shape{1, 256, 256, 1}));
    const auto mask = *person[0].toFloats();
    std::vector<float> inside, outside;
    for (int64_t y = 0; y < 256; ++y)
        for (int64_t x = 0; x < 256; ++x)
            (y >= 60 && y < 227 && x >= 75 && x < 109 ? inside : outside).push_back(mask[static_cast<size_t>(y * 256 + x)]);
    const auto portrait = runOn(*ex, photo("astronaut.png", 256, 256, 0.f, 1.f));
    const auto blank = runOn(*ex, Tensor::fromFloats(s, std::vector<float>(static_cast<size_t>(shapeNumel(s)), 0.5f)));
    ASSERT_EQ(portrait.size(), 1u);
    ASSERT_EQ(blank.size(), 1u);
    const float in = meanOf(inside), out = meanOf(outside), pm = meanOf(*portrait[0].toFloats()),
                bm = meanOf(*blank[0].toFloats());
    std::printf("Selfie mask mean: person box %.4f, outside it %.4f, portrait %.4f, blank grey %.4f\n", in, out, pm, bm);
    EXPECT_GT(in, 0.4f);
    EXPECT_LT(out, 0.02f);
    EXPECT_GT(pm, 0.3f);
    EXPECT_LT(pm, 0.8f);
    EXPECT_LT(bm, 0.1f);
}

}  // namespace
