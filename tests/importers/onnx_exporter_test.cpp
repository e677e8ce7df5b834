#include "engine/mapped_file.h"
#include "engine/model_compare.h"
#include "importers/importer.h"
#include "importers/importer_registry.h"
#include "importers/onnx_importer.h"
#include "tests/test_support.h"

#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace by;

namespace {

const char* kTestdata = "/usr/share/libonnx-testdata/data";

// Exports `m`, imports the result and returns the first structural difference (or "" when equal).
std::string roundTripDifference(const Model& m, const std::string& path) {
    if (auto st = saveModel(m, path); !st) return "export failed: " + st.error().what();
    auto back = loadModel(path);
    if (!back) return "re-import failed: " + back.error().what();
    auto d = firstDifference(m, *back);
    return d ? *d : std::string();
}

const Value* findValue(const Graph& g, const std::string& name) {
    const int id = g.findValue(name);
    return id < 0 ? nullptr : &g.values[static_cast<size_t>(id)];
}

} // namespace

TEST(OnnxExporter, RegisteredForOnnxExtension) {
    auto ex = ImporterRegistry::instance().exporterFor("out.onnx");
    ASSERT_TRUE(ex.ok());
    EXPECT_EQ((*ex)->name(), "onnx");
    EXPECT_EQ((*ex)->extensions(), std::vector<std::string>{".onnx"});
}

TEST(OnnxExporter, RealModelsRoundTrip) {
    const std::string dir = test::tempDir();
    for (const char* file :
         {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx",
          "silero_vad.onnx", "silero_vad_16k_op15.onnx", "silero_vad_half.onnx",
          "silero_vad_op18_ifless.onnx"}) {
        SCOPED_TRACE(file);
        auto m = loadModel(test::asset(std::string("models/") + file));
        ASSERT_TRUE(m.ok()) << m.error().what();
        EXPECT_EQ(roundTripDifference(*m, dir + "/" + file), "");
    }
}

TEST(OnnxExporter, EveryLibonnxTestdataModelRoundTrips) {
    const std::string out = test::tempDir() + "/rt.onnx";
    std::vector<std::string> failures;
    size_t seen = 0;
    for (const auto& group : std::filesystem::directory_iterator(kTestdata)) {
        if (!group.is_directory()) continue;
        for (const auto& dir : std::filesystem::directory_iterator(group.path())) {
            const auto file = dir.path() / "model.onnx";
            if (!std::filesystem::exists(file)) continue;
            ++seen;
            const std::string rel = std::filesystem::relative(file, kTestdata).string();
            auto m = loadModel(file.string());
            if (!m) {
                failures.push_back(rel + ": import: " + m.error().what());
                continue;
            }
            if (auto d = roundTripDifference(*m, out); !d.empty()) failures.push_back(rel + ": " + d);
        }
    }
    EXPECT_GT(seen, 1000u);
    std::string list;
    for (const auto& f : failures)
        list += "  " + f + "\n";
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << seen << " models failed:\n" << list;
}

TEST(OnnxExporter, FeaturesModelRoundTripsIncludingSparseAndTypedData) {
    auto m = loadModel(test::dataDir() + "/onnx/features.onnx");
    ASSERT_TRUE(m.ok()) << m.error().what();
    const std::string path = test::tempDir() + "/features.onnx";
    EXPECT_EQ(roundTripDifference(*m, path), "");
    // Typed fields come back as raw_data with the same values.
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::move(findValue(back->graph, "f16_typed")->data->toFloats()).value(),
              (std::vector<float>{1, -2, 0.5}));
    EXPECT_EQ(back->meta("license")->s, "MIT");
}

TEST(OnnxExporter, Ir3ListsInitializersAsInputsAgain) {
    // pytorch-converted models are IR 3: every initializer is also a graph input there.
    auto m = loadModel(std::string(kTestdata) + "/pytorch-converted/test_Conv2d/model.onnx");
    ASSERT_TRUE(m.ok()) << m.error().what();
    ASSERT_EQ(m->irVersion, 3);
    EXPECT_EQ(m->graph.inputs.size(), 1u);
    const std::string path = test::tempDir() + "/ir3.onnx";
    ASSERT_TRUE(saveModel(*m, path).ok());
    // The file lists the initializers as inputs again (IR 3 requires it); the IR keeps them out.
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->graph.inputs.size(), 1u);
    EXPECT_FALSE(firstDifference(*m, *back).has_value());
}

TEST(OnnxExporter, InMemoryModelGetsDefaultsAndNames) {
    Model m;
    Graph& g = m.graph;
    g.name = "tiny";
    Value in;
    in.name = "x";
    in.dtype = DType::F32;
    in.shape = DimShape{Dim::sym("n"), Dim::of(4)};
    const int x = g.addValue(in);
    g.inputs.push_back(x);
    const int w = g.addInitializer("w", Tensor::fromFloats({4}, {1, 2, 3, 4}));
    const int mid = g.addValue(Value{}); // unnamed intermediate
    const int y = g.valueId("y");
    Node add;
    add.opType = "Add";
    add.inputs = {x, w};
    add.outputs = {mid};
    g.addNode(add);
    Node relu;
    relu.opType = "Relu";
    relu.inputs = {mid};
    relu.outputs = {y};
    g.addNode(relu);
    g.outputs.push_back(y);

    const std::string path = test::tempDir() + "/tiny.onnx";
    ASSERT_TRUE(saveModel(m, path).ok());
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->irVersion, 8);
    ASSERT_EQ(back->opsets.size(), 1u);
    EXPECT_EQ(back->opsets[0].second, 17);
    ASSERT_EQ(back->graph.nodes.size(), 2u);
    const Value& named = back->graph.values[static_cast<size_t>(back->graph.nodes[0].outputs[0])];
    EXPECT_FALSE(named.name.empty());
    EXPECT_EQ(back->graph.nodes[1].inputs[0], back->graph.nodes[0].outputs[0]);
    EXPECT_EQ(back->graph.parameterCount(), 4);
}

TEST(OnnxExporter, EditedConstantDataWinsOverItsAttribute) {
    auto m = loadModel(test::dataDir() + "/onnx/features.onnx");
    ASSERT_TRUE(m.ok()) << m.error().what();
    // Node 0 is Constant(value_ints=[1,2,3]); a pass rewrites its output data.
    Value& out = m->graph.values[static_cast<size_t>(m->graph.nodes[0].outputs[0])];
    out.data = Tensor::fromInt64s({3}, {7, 8, 9});
    const std::string path = test::tempDir() + "/edited.onnx";
    ASSERT_TRUE(saveModel(*m, path).ok());
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    const Node& c = back->graph.nodes[0];
    ASSERT_NE(c.attr("value"), nullptr);
    EXPECT_EQ(c.attr("value_ints"), nullptr);
    const Value& bo = back->graph.values[static_cast<size_t>(c.outputs[0])];
    EXPECT_EQ(bo.data->data<int64_t>()[2], 9);
}

TEST(OnnxExporter, UnsupportedDtypeIsAClearError) {
    Model m;
    auto q = Tensor::zeros(DType::Q4_0, {64});
    ASSERT_TRUE(q.ok());
    m.graph.addInitializer("blocks", *q);
    const std::string path = test::tempDir() + "/q.onnx";
    auto st = saveModel(m, path);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::Unsupported);
    const std::string e = st.error().what();
    EXPECT_NE(e.find("q.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("initializer 'blocks'"), std::string::npos) << e;
    EXPECT_NE(e.find("q4_0"), std::string::npos) << e;
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(OnnxExporter, ModelsOverTwoGiBAreRefused) {
    // A sparse 2.5 GiB file mapped as one tensor: no memory or disk is really used.
    const std::string big = test::tempDir() + "/big.bin";
    const int fd = ::open(big.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    const int64_t bytes = int64_t(5) << 29;
    ASSERT_EQ(::ftruncate(fd, bytes), 0);
    ::close(fd);
    auto file = MappedFile::open(big);
    ASSERT_TRUE(file.ok()) << file.error().what();
    auto t = Tensor::fromMapped(*file, 0, DType::F32, {bytes / 4});
    ASSERT_TRUE(t.ok()) << t.error().what();
    Model m;
    m.graph.addInitializer("huge", *t);
    auto st = saveModel(m, test::tempDir() + "/big.onnx");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::Unsupported);
    EXPECT_NE(st.error().what().find("2 GiB"), std::string::npos) << st.error().what();
}
