// Shape inference on real exported models: the PP-OCR ONNX files keep their weights in Constant
// nodes and compute reshape targets from Shape at run time (opset 9 and 11), and the MediaPipe
// TFLite files declare every shape, which inference must reproduce without a conflict.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "engine/shape_inference.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

using namespace by;

namespace {

struct Outcome {
    std::string outputShape;
    ShapeInferenceResult result;
};

std::string joined(const std::vector<std::string>& w, size_t max = 20) {
    std::string s;
    for (size_t k = 0; k < w.size() && k < max; ++k) s += w[k] + "\n";
    return s;
}

// Loads the model, fixes its single input to `inputShape` and infers.
Outcome inferWithInput(const std::string& rel, const DimShape& inputShape, Model* keep = nullptr,
                       const ShapeInferenceOptions& opts = {}) {
    Outcome o;
    auto m = loadModel(test::asset(rel));
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().what());
    if (!m.ok()) return o;
    Graph& g = m->graph;
    EXPECT_EQ(g.inputs.size(), 1u);
    if (g.inputs.size() != 1) return o;
    g.values[static_cast<size_t>(g.inputs[0])].shape = inputShape;
    const int64_t params = g.parameterCount();
    auto r = inferShapes(*m, opts);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    if (!r.ok()) return o;
    o.result = *r;
    EXPECT_EQ(g.parameterCount(), params) << "folded values must not count as weights";
    EXPECT_EQ(g.outputs.size(), 1u);
    if (!g.outputs.empty()) {
        const Value& out = g.values[static_cast<size_t>(g.outputs[0])];
        o.outputShape = out.shape ? dimShapeToString(*out.shape) : "unknown";
    }
    if (keep) *keep = std::move(*m);
    return o;
}

}  // namespace

TEST(ShapeInferenceReal, PpOcrV4Recognizer) {
    // Width 320 gives T = 320 / 8 = 40 time steps over the 6625-character dictionary.
    auto o = inferWithInput("models/ch_PP-OCRv4_rec_infer.onnx", toDimShape({1, 3, 48, 320}));
    EXPECT_EQ(o.outputShape, "[1,40,6625]");
    EXPECT_GT(o.result.nodeOutputs, 700);
    // onnx.shape_inference (even with data propagation) stops at the Shape->Cast->Slice chains;
    // folding them lets every output get a full shape.
    EXPECT_EQ(o.result.outputsFullyKnown, o.result.nodeOutputs);
    EXPECT_GT(o.result.foldedValues, 0);
    EXPECT_TRUE(o.result.warnings.empty()) << joined(o.result.warnings);
}

TEST(ShapeInferenceReal, PpOcrV4RecognizerOtherWidthAndSymbolicBatch) {
    auto o = inferWithInput("models/ch_PP-OCRv4_rec_infer.onnx", toDimShape({2, 3, 48, 640}));
    EXPECT_EQ(o.outputShape, "[2,80,6625]");
    EXPECT_TRUE(o.result.warnings.empty()) << joined(o.result.warnings);
    // With the batch left symbolic, the batch survives the attention reshapes. The file declares
    // its own symbol for the output's batch, which wins unless node outputs are reset.
    DimShape sym = toDimShape({1, 3, 48, 320});
    sym[0] = Dim::sym("N");
    auto s = inferWithInput("models/ch_PP-OCRv4_rec_infer.onnx", sym);
    EXPECT_EQ(s.outputShape, "[p2o.DynamicDimension.2,40,6625]");
    EXPECT_TRUE(s.result.warnings.empty()) << joined(s.result.warnings);
    ShapeInferenceOptions reset;
    reset.resetNodeOutputs = true;
    s = inferWithInput("models/ch_PP-OCRv4_rec_infer.onnx", sym, nullptr, reset);
    EXPECT_EQ(s.outputShape, "[N,40,6625]");
    EXPECT_TRUE(s.result.warnings.empty()) << joined(s.result.warnings);
}

TEST(ShapeInferenceReal, PpOcrMobileClassifier) {
    auto o = inferWithInput("models/ch_ppocr_mobile_v2.0_cls_infer.onnx", toDimShape({1, 3, 48, 192}));
    EXPECT_EQ(o.outputShape, "[1,2]");
    EXPECT_EQ(o.result.outputsFullyKnown, o.result.nodeOutputs);
    EXPECT_TRUE(o.result.warnings.empty()) << joined(o.result.warnings);
}

TEST(ShapeInferenceReal, PpOcrV4Detector) {
    auto o = inferWithInput("models/ch_PP-OCRv4_det_infer.onnx", toDimShape({1, 3, 640, 640}));
    EXPECT_EQ(o.outputShape, "[1,1,640,640]");
    EXPECT_EQ(o.result.outputsFullyKnown, o.result.nodeOutputs);
    EXPECT_TRUE(o.result.warnings.empty()) << joined(o.result.warnings);
}

TEST(ShapeInferenceReal, PpOcrV4DetectorReinfersAfterInputChange) {
    Model m;
    auto o = inferWithInput("models/ch_PP-OCRv4_det_infer.onnx", toDimShape({1, 3, 640, 640}), &m);
    ASSERT_EQ(o.outputShape, "[1,1,640,640]");
    Graph& g = m.graph;
    g.values[static_cast<size_t>(g.inputs[0])].shape = toDimShape({1, 3, 960, 736});
    ShapeInferenceOptions opts;
    opts.resetNodeOutputs = true;
    auto r = inferShapes(m, opts);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->warnings.empty()) << joined(r->warnings);
    const Value& out = g.values[static_cast<size_t>(g.outputs[0])];
    ASSERT_TRUE(out.shape.has_value());
    EXPECT_EQ(dimShapeToString(*out.shape), "[1,1,960,736]");
}

// TFLite files declare every tensor's shape. Inference must agree with all of them, and when the
// declared shapes of node outputs are dropped it must find them again from the inputs alone
// (except after MediaPipe's custom transposed convolution, which it does not know).
TEST(ShapeInferenceReal, TfliteRederivesDeclaredShapes) {
    struct Case {
        const char* rel;
        int64_t unknownAllowed;
    };
    for (const Case& c :
         {Case{"models/face_detection_short_range.tflite", 0},
          Case{"models/face_detection_full_range.tflite", 0},
          Case{"models/face_detection_full_range_sparse.tflite", 0},
          Case{"models/hand_landmark_lite.tflite", 0}, Case{"models/hand_landmark_full.tflite", 0},
          Case{"models/selfie_segmentation.tflite", 2}}) {
        SCOPED_TRACE(c.rel);
        auto m = loadModel(test::asset(c.rel));
        ASSERT_TRUE(m.ok()) << m.error().what();
        auto r = inferShapes(*m);
        ASSERT_TRUE(r.ok()) << r.error().what();
        EXPECT_TRUE(r->warnings.empty()) << joined(r->warnings);
        Graph& g = m->graph;
        std::vector<std::optional<DimShape>> declared;
        for (const auto& v : g.values) declared.push_back(v.shape);
        ShapeInferenceOptions reset;
        reset.resetNodeOutputs = true;
        r = inferShapes(*m, reset);
        ASSERT_TRUE(r.ok()) << r.error().what();
        EXPECT_TRUE(r->warnings.empty()) << joined(r->warnings);
        int64_t unknown = 0;
        for (const auto& n : g.nodes)
            for (int o : n.outputs) {
                if (o < 0) continue;
                const Value& v = g.values[static_cast<size_t>(o)];
                if (!v.shape) {
                    ++unknown;
                    continue;
                }
                ASSERT_TRUE(declared[static_cast<size_t>(o)].has_value()) << v.name;
                EXPECT_EQ(dimShapeToString(*v.shape), dimShapeToString(*declared[static_cast<size_t>(o)]))
                    << n.opType << " " << v.name;
            }
        EXPECT_LE(unknown, c.unknownAllowed);
        EXPECT_GT(r->outputsFullyKnown, 100);
    }
}

// Every attribute and input of a real model damaged in turn: inference must finish with
// warnings, never crash or fail.
TEST(ShapeInferenceReal, DamagedRealModelNeverCrashes) {
    auto loaded = loadModel(test::asset("models/ch_PP-OCRv4_rec_infer.onnx"));
    ASSERT_TRUE(loaded.ok()) << loaded.error().what();
    uint64_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<int64_t>(seed >> 33);
    };
    size_t warned = 0;
    for (int round = 0; round < 12; ++round) {
        Model m = *loaded;
        Graph& g = m.graph;
        g.values[static_cast<size_t>(g.inputs[0])].shape = toDimShape({1, 3, 48, 320});
        for (auto& n : g.nodes) {
            for (auto& [key, a] : n.attributes) {
                switch (next() % 6) {
                case 0: a = Attribute::ofFloat(-1.5); break;
                case 1: a = Attribute::ofInts({next() % 9 - 4, -(next() % 100), 0}); break;
                case 2: a = Attribute::ofInt(-(next() % 1000)); break;
                case 3: a = Attribute::ofString("bogus"); break;
                case 4: a = Attribute::ofInt(std::numeric_limits<int64_t>::max()); break;
                default: break;
                }
            }
            if (!n.inputs.empty() && next() % 8 == 0) n.inputs[static_cast<size_t>(next()) % n.inputs.size()] = -1;
        }
        // Some shapes declared wrong, some inputs of absurd size.
        for (auto& v : g.values)
            if (v.shape && !v.shape->empty() && next() % 10 == 0)
                (*v.shape)[0] = Dim::of(next() % 2 ? 0 : (int64_t(1) << 40));
        auto r = inferShapes(m);
        ASSERT_TRUE(r.ok()) << r.error().what();
        warned += r->warnings.size();
    }
    EXPECT_GT(warned, 0u);
}
