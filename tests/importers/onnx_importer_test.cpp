#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "engine/mapped_file.h"
#include "importers/importer.h"
#include "importers/importer_registry.h"
#include "importers/onnx_importer.h"
#include "tests/test_support.h"

using namespace by;

namespace {

const char* kTestdata = "/usr/share/libonnx-testdata/data";

std::string onnxData(const std::string& name) { return test::dataDir() + "/onnx/" + name; }

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The error text of a load that must fail.
std::string loadError(const std::string& path, const LoadOptions& opts = {}) {
    auto m = loadModel(path, opts);
    if (m) {
        ADD_FAILURE() << path << " loaded but should not have";
        return {};
    }
    return m.error().what();
}

const Value* findValue(const Graph& g, const std::string& name) {
    const int id = g.findValue(name);
    return id < 0 ? nullptr : &g.values[static_cast<size_t>(id)];
}

std::vector<float> floatsOf(const Tensor& t) { return std::move(t.toFloats()).value(); }

struct IoExpect {
    std::string name;
    DType dtype;
    std::string shape;
};

struct RealModel {
    std::string file;
    int64_t irVersion;
    int64_t opset;
    int64_t nodes;
    int64_t parameters;
    std::map<std::string, int64_t> ops;
    std::vector<IoExpect> inputs;
    std::vector<IoExpect> outputs;
};

// Computed with Debian's python3-onnx 1.12 (onnx.load, then a walk over graph.node recursively
// into GRAPH/GRAPHS attributes): nodes = len(node) summed over all graphs; parameters = elements
// of initializers plus Constant-node tensors, recursively; shapes from graph.input/output with
// dim_value, dim_param or '?'. See tests/data/onnx/make_test_files.py for the same counting.
const std::vector<RealModel> kRealModels = {
    {"ch_PP-OCRv4_det_infer.onnx", 8, 11, 672, 1171841, {{"Add", 89}, {"BatchNormalization", 3}, {"Clip", 24}, {"Concat", 1}, {"Constant", 342}, {"Conv", 62}, {"ConvTranspose", 2}, {"Div", 24}, {"GlobalAveragePool", 10}, {"HardSigmoid", 10}, {"Mul", 86}, {"Relu", 12}, {"Resize", 6}, {"Sigmoid", 1}},
     {{"x", DType::F32, "[p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]"}},
     {{"sigmoid_0.tmp_0", DType::F32, "[p2o.DynamicDimension.3,1,p2o.DynamicDimension.4,p2o.DynamicDimension.5]"}}},
    {"ch_PP-OCRv4_rec_infer.onnx", 8, 9, 765, 2690312, {{"Add", 107}, {"AveragePool", 1}, {"BatchNormalization", 6}, {"Cast", 23}, {"Clip", 28}, {"Concat", 7}, {"Constant", 325}, {"Conv", 38}, {"Div", 33}, {"GlobalAveragePool", 2}, {"HardSigmoid", 2}, {"MatMul", 13}, {"Mul", 107}, {"Pow", 5}, {"ReduceMean", 10}, {"Relu", 2}, {"Reshape", 6}, {"Shape", 4}, {"Sigmoid", 7}, {"Slice", 10}, {"Softmax", 3}, {"Sqrt", 5}, {"Squeeze", 7}, {"Sub", 5}, {"Transpose", 9}},
     {{"x", DType::F32, "[p2o.DynamicDimension.0,3,48,p2o.DynamicDimension.1]"}},
     {{"softmax_11.tmp_0", DType::F32, "[p2o.DynamicDimension.2,p2o.DynamicDimension.3,6625]"}}},
    {"ch_ppocr_mobile_v2.0_cls_infer.onnx", 8, 9, 471, 133665, {{"Add", 26}, {"BatchNormalization", 35}, {"Cast", 3}, {"Clip", 18}, {"Concat", 1}, {"Constant", 250}, {"Conv", 53}, {"Div", 18}, {"GlobalAveragePool", 10}, {"HardSigmoid", 9}, {"MatMul", 1}, {"MaxPool", 1}, {"Mul", 27}, {"Relu", 15}, {"Reshape", 1}, {"Shape", 1}, {"Slice", 1}, {"Softmax", 1}},
     {{"x", DType::F32, "[p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]"}},
     {{"softmax_0.tmp_0", DType::F32, "[p2o.DynamicDimension.3,2]"}}},
    {"silero_vad.onnx", 8, 16, 689, 545597, {{"Add", 2}, {"Cast", 20}, {"Concat", 26}, {"Constant", 341}, {"ConstantOfShape", 4}, {"Conv", 12}, {"Equal", 17}, {"Gather", 20}, {"Identity", 34}, {"If", 25}, {"LSTM", 4}, {"Not", 4}, {"Pad", 2}, {"Pow", 4}, {"ReduceMean", 2}, {"Relu", 10}, {"Reshape", 4}, {"Shape", 20}, {"Sigmoid", 2}, {"Size", 4}, {"Slice", 60}, {"Sqrt", 2}, {"Squeeze", 22}, {"Transpose", 2}, {"Unsqueeze", 46}},
     {{"input", DType::F32, "[?,?]"}, {"state", DType::F32, "[2,?,128]"}, {"sr", DType::I64, "[]"}},
     {{"output", DType::F32, "[?,1]"}, {"stateN", DType::F32, "[?,?,?]"}}},
    {"silero_vad_16k_op15.onnx", 8, 15, 350, 309795, {{"Add", 2}, {"Cast", 12}, {"Concat", 13}, {"Constant", 160}, {"ConstantOfShape", 2}, {"Conv", 6}, {"Equal", 8}, {"Gather", 11}, {"Identity", 14}, {"If", 12}, {"LSTM", 2}, {"Mul", 2}, {"Not", 2}, {"Pad", 1}, {"Pow", 2}, {"ReduceMean", 1}, {"Relu", 5}, {"Reshape", 2}, {"Shape", 11}, {"Sigmoid", 1}, {"Size", 2}, {"Slice", 30}, {"Sqrt", 1}, {"Squeeze", 11}, {"Sub", 1}, {"Transpose", 1}, {"Unsqueeze", 35}},
     {{"input", DType::F32, "[batch,sequence]"}, {"state", DType::F32, "[2,batch,128]"}, {"sr", DType::I64, "[]"}},
     {{"output", DType::F32, "[batch,1]"}, {"stateN", DType::F32, "[AddstateN_dim_0,batch,AddstateN_dim_2]"}}},
    {"silero_vad_half.onnx", 8, 16, 325, 309790, {{"Add", 1}, {"Cast", 10}, {"Concat", 13}, {"Constant", 155}, {"ConstantOfShape", 2}, {"Conv", 6}, {"Equal", 8}, {"Gather", 10}, {"Identity", 14}, {"If", 12}, {"LSTM", 2}, {"Not", 2}, {"Pad", 1}, {"Pow", 2}, {"ReduceMean", 1}, {"Relu", 5}, {"Reshape", 2}, {"Shape", 10}, {"Sigmoid", 1}, {"Size", 2}, {"Slice", 30}, {"Sqrt", 1}, {"Squeeze", 11}, {"Transpose", 1}, {"Unsqueeze", 23}},
     {{"input", DType::F32, "[batch,sequence]"}, {"state", DType::F32, "[2,batch,128]"}},
     {{"output", DType::F32, "[batch,1]"}, {"stateN", DType::F32, "[ConcatstateN_dim_0,batch,ConcatstateN_dim_2]"}}},
    {"silero_vad_op18_ifless.onnx", 10, 18, 90, 545689, {{"Add", 6}, {"Concat", 2}, {"Conv", 12}, {"Equal", 1}, {"Gather", 7}, {"Gemm", 4}, {"If", 1}, {"Mul", 6}, {"Pad", 2}, {"Pow", 4}, {"ReduceMean", 2}, {"Relu", 10}, {"Reshape", 1}, {"Sigmoid", 8}, {"Slice", 4}, {"Split", 2}, {"Sqrt", 2}, {"Squeeze", 2}, {"Tanh", 4}, {"Unsqueeze", 10}},
     {{"input", DType::F32, "[batch,sequence]"}, {"sr", DType::I64, "[]"}, {"state", DType::F32, "[2,batch,128]"}},
     {{"output", DType::F32, "[batch,1]"}, {"stateN", DType::F32, "[2,batch,128]"}}},
};

void expectIo(const Graph& g, const std::vector<int>& ids, const std::vector<IoExpect>& want, const char* what) {
    ASSERT_EQ(ids.size(), want.size()) << what;
    for (size_t i = 0; i < want.size(); ++i) {
        const Value& v = g.values[static_cast<size_t>(ids[i])];
        EXPECT_EQ(v.name, want[i].name) << what << " " << i;
        EXPECT_EQ(v.dtype, want[i].dtype) << what << " " << v.name;
        ASSERT_TRUE(v.shape.has_value()) << what << " " << v.name;
        EXPECT_EQ(dimShapeToString(*v.shape), want[i].shape) << what << " " << v.name;
    }
}

}  // namespace

TEST(OnnxImporter, RealModelsImportWithExpectedCounts) {
    for (const auto& rm : kRealModels) {
        SCOPED_TRACE(rm.file);
        auto m = loadModel(test::asset("models/" + rm.file));
        ASSERT_TRUE(m.ok()) << m.error().what();
        EXPECT_EQ(m->format, "onnx");
        EXPECT_EQ(m->irVersion, rm.irVersion);
        ASSERT_FALSE(m->opsets.empty());
        EXPECT_EQ(m->opsets[0].first, "");
        EXPECT_EQ(m->opsets[0].second, rm.opset);
        EXPECT_EQ(static_cast<int64_t>(m->graph.nodeCountRecursive()), rm.nodes);
        EXPECT_EQ(m->graph.parameterCount(), rm.parameters);
        EXPECT_EQ(m->graph.opHistogram(), rm.ops);
        expectIo(m->graph, m->graph.inputs, rm.inputs, "input");
        expectIo(m->graph, m->graph.outputs, rm.outputs, "output");
        EXPECT_TRUE(m->graph.validate().ok());
        EXPECT_TRUE(m->warnings.empty()) << m->warnings.front();
    }
}

TEST(OnnxImporter, WeightsInConstantNodesAreAlignedSharedAndCountedOnce) {
    auto m = loadModel(test::asset("models/ch_PP-OCRv4_rec_infer.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    int constants = 0, mapped = 0;
    for (const auto& n : m->graph.nodes) {
        if (n.opType != "Constant") continue;
        ++constants;
        const Attribute* a = n.attr("value");
        ASSERT_NE(a, nullptr);
        ASSERT_EQ(a->kind, Attribute::Kind::Tensor);
        const Value& out = m->graph.values[static_cast<size_t>(n.outputs[0])];
        ASSERT_TRUE(out.data.has_value()) << n.name;
        EXPECT_TRUE(out.data->sameContent(a->t));
        EXPECT_EQ(out.data->rawData(), a->t.rawData()) << "value and attribute share storage";
        EXPECT_EQ(out.producer, &n - m->graph.nodes.data());
        const auto align = std::min<size_t>(8, dtypeInfo(out.data->dtype()).blockBytes);
        const auto addr = reinterpret_cast<uintptr_t>(out.data->rawData());
        EXPECT_EQ(addr % align, 0u) << n.name << ": data<T>() must be aligned";
        if (out.data->isMapped()) ++mapped;
    }
    EXPECT_EQ(constants, 325);
    // Aligned raw_data stays a window of the mapped file; only misaligned payloads are copied.
    EXPECT_GT(mapped, 0);
    // Counted once although attribute and value both hold the tensor. Sum of numpy nbytes of the
    // Constant tensors (309 float32, 15 int32, 1 int64), computed with python3-onnx.
    EXPECT_EQ(m->graph.weightBytes(), 10761252);
}

TEST(OnnxImporter, SubgraphWeightsAreCountedAndOuterNamesResolveInside) {
    auto m = loadModel(test::asset("models/silero_vad.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    // Five top-level nodes; everything else lives in If branches.
    EXPECT_EQ(m->graph.nodes.size(), 5u);
    int ifs = 0;
    for (const auto& n : m->graph.nodes) {
        if (n.opType != "If") continue;
        ++ifs;
        const Attribute* t = n.attr("then_branch");
        const Attribute* e = n.attr("else_branch");
        ASSERT_TRUE(t && e);
        ASSERT_EQ(t->kind, Attribute::Kind::Graph);
        ASSERT_TRUE(t->g && e->g);
        EXPECT_TRUE(t->g->validate().ok());
        EXPECT_FALSE(t->g->outputs.empty());
    }
    EXPECT_GT(ifs, 0);
    EXPECT_EQ(m->graph.parameterCount(), 545597);
}

TEST(OnnxImporter, SummaryCountsWeightsInSubgraphsByDtype) {
    auto m = loadModel(test::asset("models/silero_vad_half.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const auto s = summarize(*m);
    // numpy nbytes of initializers and Constant values, recursively, from python3-onnx.
    EXPECT_EQ(s.dtypeBytes, (std::map<std::string, int64_t>{{"f32", 1238540}, {"i64", 1240}}));
    EXPECT_EQ(s.parameters, 309790);
}

TEST(OnnxImporter, EveryLibonnxTestdataModelImportsWithExpectedCounts) {
    // Expectations written by tests/data/onnx/make_test_files.py with python3-onnx.
    std::ifstream in(onnxData("testdata_expected.tsv"));
    ASSERT_TRUE(in) << "missing testdata_expected.tsv";
    struct Expect {
        int64_t nodes, params, inputs, outputs;
    };
    std::map<std::string, Expect> expect;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        std::string path;
        Expect e{};
        ls >> path >> e.nodes >> e.params >> e.inputs >> e.outputs;
        expect[path] = e;
    }
    ASSERT_GT(expect.size(), 1000u);

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
                failures.push_back(rel + ": " + m.error().what());
                continue;
            }
            auto it = expect.find(rel);
            if (it == expect.end()) {
                failures.push_back(rel + ": no expectation in testdata_expected.tsv");
                continue;
            }
            const Expect& e = it->second;
            const auto nodes = static_cast<int64_t>(m->graph.nodeCountRecursive());
            const int64_t params = m->graph.parameterCount();
            const auto ins = static_cast<int64_t>(m->graph.inputs.size());
            const auto outs = static_cast<int64_t>(m->graph.outputs.size());
            if (nodes != e.nodes || params != e.params || ins != e.inputs || outs != e.outputs)
                failures.push_back(rel + ": nodes/params/inputs/outputs " + std::to_string(nodes) + "/" +
                                   std::to_string(params) + "/" + std::to_string(ins) + "/" + std::to_string(outs) +
                                   ", expected " + std::to_string(e.nodes) + "/" + std::to_string(e.params) + "/" +
                                   std::to_string(e.inputs) + "/" + std::to_string(e.outputs));
            else if (auto st = m->graph.validate(); !st)
                failures.push_back(rel + ": validate: " + st.error().what());
        }
    }
    EXPECT_EQ(seen, expect.size());
    std::string list;
    for (const auto& f : failures) list += "  " + f + "\n";
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << seen << " models failed:\n" << list;
}

TEST(OnnxImporter, FeaturesModelMapsEveryField) {
    auto m = loadModel(onnxData("features.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    EXPECT_EQ(m->producer, "brickyard-tests");
    EXPECT_EQ(m->producerVersion, "1.0");
    EXPECT_EQ(m->domain, "org.brickyard");
    EXPECT_EQ(m->modelVersion, 7);
    EXPECT_EQ(m->docString, "model doc");
    EXPECT_EQ(m->irVersion, 8);
    ASSERT_EQ(m->opsets.size(), 2u);
    EXPECT_EQ(m->opsets[1], (std::pair<std::string, int64_t>{"com.example", 1}));
    ASSERT_NE(m->meta("author"), nullptr);
    EXPECT_EQ(m->meta("author")->s, "tests");
    EXPECT_EQ(m->meta("license")->s, "MIT");
    EXPECT_TRUE(m->warnings.empty());

    const Graph& g = m->graph;
    EXPECT_EQ(g.name, "features");
    EXPECT_EQ(g.docString, "graph doc");
    ASSERT_EQ(g.inputs.size(), 2u);
    const Value& x = g.values[static_cast<size_t>(g.inputs[0])];
    EXPECT_EQ(dimShapeToString(*x.shape), "[batch,2]");
    EXPECT_EQ((*x.shape)[0], Dim::sym("batch"));
    const Value& cond = g.values[static_cast<size_t>(g.inputs[1])];
    EXPECT_EQ(cond.dtype, DType::Bool);
    ASSERT_TRUE(cond.shape.has_value());
    EXPECT_TRUE(cond.shape->empty());
    EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].docString, "the result");
    const Value* z = findValue(g, "z");
    ASSERT_NE(z, nullptr);
    EXPECT_EQ(z->dtype, DType::F32);
    EXPECT_FALSE(z->shape.has_value());

    auto tensorOf = [&](const char* name) -> const Tensor& {
        const Value* v = findValue(g, name);
        EXPECT_NE(v, nullptr) << name;
        EXPECT_TRUE(v && v->data.has_value()) << name;
        EXPECT_EQ(v->producer, -1) << name;
        return *v->data;
    };
    EXPECT_EQ(floatsOf(tensorOf("f32_typed")), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(findValue(g, "f32_typed")->docString, "a typed float initializer");
    EXPECT_EQ(tensorOf("f16_typed").dtype(), DType::F16);
    EXPECT_EQ(floatsOf(tensorOf("f16_typed")), (std::vector<float>{1, -2, 0.5}));
    EXPECT_EQ(tensorOf("bf16_typed").dtype(), DType::BF16);
    EXPECT_EQ(floatsOf(tensorOf("bf16_typed")), (std::vector<float>{1, -3}));
    const Tensor& i64 = tensorOf("i64_typed");
    EXPECT_EQ(i64.data<int64_t>()[2], int64_t(1) << 40);
    EXPECT_EQ(i64.data<int64_t>()[1], -2);
    EXPECT_EQ(tensorOf("i8_typed").data<int8_t>()[0], -5);
    EXPECT_EQ(tensorOf("u64_typed").data<uint64_t>()[0], uint64_t(1) << 63);
    EXPECT_EQ(tensorOf("f64_typed").data<double>()[1], -1e300);
    const Tensor& b = tensorOf("bool_typed");
    EXPECT_EQ(std::vector<uint8_t>(b.rawData(), b.rawData() + 3), (std::vector<uint8_t>{1, 0, 1}));
    EXPECT_EQ(tensorOf("str_typed").strings(), (std::vector<std::string>{"hello", "world"}));
    const Tensor& raw = tensorOf("f32_raw");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(raw.rawData()) % 4, 0u) << "mapped or copied, data<float>() is aligned";
    EXPECT_EQ(floatsOf(raw), (std::vector<float>{5, 6}));
    // Sparse initializer [2,3] with 7 at 1 and 8 at 5, made dense.
    const Tensor& sp = tensorOf("sparse_w");
    EXPECT_EQ(sp.shape(), (Shape{2, 3}));
    EXPECT_EQ(floatsOf(sp), (std::vector<float>{0, 7, 0, 0, 0, 8}));
    for (const char* init : {"f32_typed", "sparse_w", "str_typed"})
        for (int in : g.inputs) EXPECT_NE(g.values[static_cast<size_t>(in)].name, init);

    ASSERT_EQ(g.nodes.size(), 3u);
    // Constant value_ints: attribute kept, output carries the data; value_info gave the same type.
    const Node& ints = g.nodes[0];
    EXPECT_EQ(ints.attrInts("value_ints"), (std::vector<int64_t>{1, 2, 3}));
    const Value& cints = g.values[static_cast<size_t>(ints.outputs[0])];
    ASSERT_TRUE(cints.data.has_value());
    EXPECT_EQ(cints.data->dtype(), DType::I64);
    EXPECT_EQ(cints.data->shape(), (Shape{3}));

    const Node& branch = g.nodes[1];
    EXPECT_EQ(branch.opType, "If");
    EXPECT_EQ(branch.docString, "pick a branch");
    const Attribute* thenB = branch.attr("then_branch");
    const Attribute* elseB = branch.attr("else_branch");
    ASSERT_TRUE(thenB && thenB->g && elseB && elseB->g);
    // The branches read outer 'x' (and the outer initializer): plain values of the subgraph.
    const Graph& tg = *thenB->g;
    ASSERT_EQ(tg.nodes.size(), 1u);
    const Value& outerX = tg.values[static_cast<size_t>(tg.nodes[0].inputs[0])];
    EXPECT_EQ(outerX.name, "x");
    EXPECT_EQ(outerX.producer, -1);
    EXPECT_FALSE(outerX.data.has_value());
    const Graph& eg = *elseB->g;
    ASSERT_EQ(eg.nodes.size(), 2u);
    const Value& k = eg.values[static_cast<size_t>(eg.nodes[0].outputs[0])];
    ASSERT_TRUE(k.data.has_value());
    EXPECT_EQ(floatsOf(*k.data), (std::vector<float>{0.5f, 1.5f}));

    const Node& custom = g.nodes[2];
    EXPECT_EQ(custom.opType, "MyCustomOp");
    EXPECT_EQ(custom.domain, "com.example");
    EXPECT_FLOAT_EQ(static_cast<float>(custom.attrFloat("alpha", 0)), 0.5f);
    EXPECT_EQ(custom.attrString("mode"), "fast");
    EXPECT_EQ(custom.attrInts("sizes"), (std::vector<int64_t>{1, 2}));
    ASSERT_NE(custom.attr("scales"), nullptr);
    EXPECT_EQ(custom.attr("scales")->floats, (std::vector<double>{0.25, 4.0}));
    EXPECT_EQ(custom.attr("names")->strings, (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(custom.attr("weights")->kind, Attribute::Kind::Tensor);
    EXPECT_EQ(floatsOf(custom.attr("weights")->t), (std::vector<float>{9}));
    EXPECT_EQ(m->graph.opHistogram().at("com.example.MyCustomOp"), 1);

    // 4+3+2+3+2+1+2+3+2 typed/raw elements (strings excluded) + 6 sparse + 3 value_ints + 2 in else.
    EXPECT_EQ(g.parameterCount(), 4 + 3 + 2 + 3 + 2 + 1 + 2 + 3 + 2 + 6 + 3 + 2);
}

TEST(OnnxImporter, ExternalDataIsMappedFromTheFileBesideTheModel) {
    auto m = loadModel(onnxData("external_ok.onnx"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Value* w = findValue(m->graph, "w");
    ASSERT_TRUE(w && w->data);
    EXPECT_TRUE(w->data->isMapped());
    const auto f = floatsOf(*w->data);
    ASSERT_EQ(f.size(), 64u);
    EXPECT_EQ(f[0], 0.f);
    EXPECT_EQ(f[63], 63.f);

    LoadOptions opts;
    opts.loadExternalData = false;
    auto lazy = loadModel(onnxData("external_ok.onnx"), opts);
    ASSERT_TRUE(lazy.ok()) << lazy.error().what();
    const Value* lw = findValue(lazy->graph, "w");
    ASSERT_NE(lw, nullptr);
    EXPECT_FALSE(lw->data.has_value());
    EXPECT_EQ(dimShapeToString(*lw->shape), "[64]");
    ASSERT_EQ(lazy->warnings.size(), 1u);
    EXPECT_NE(lazy->warnings[0].find("external data"), std::string::npos);
}

// ---- broken files: each error names the file and the field ----

TEST(OnnxImporterErrors, ShortRawData) {
    const std::string e = loadError(onnxData("short_raw_data.onnx"));
    EXPECT_NE(e.find("short_raw_data.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("initializer 0 'w'"), std::string::npos) << e;
    EXPECT_NE(e.find("raw_data holds 40 bytes but dims [4,4] of f32 need 64"), std::string::npos) << e;
}

TEST(OnnxImporterErrors, AbsurdDims) {
    const std::string e = loadError(onnxData("absurd_dims.onnx"));
    EXPECT_NE(e.find("absurd_dims.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("initializer 0 'w'"), std::string::npos) << e;
    EXPECT_NE(e.find("dims [1099511627776] are absurd"), std::string::npos) << e;
}

TEST(OnnxImporterErrors, UnknownDtype) {
    auto m = loadModel(onnxData("unknown_dtype.onnx"));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::Unsupported);
    const std::string e = m.error().what();
    EXPECT_NE(e.find("unknown_dtype.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("initializer 0 'w'"), std::string::npos) << e;
    EXPECT_NE(e.find("data_type 99 is not a known ONNX tensor type"), std::string::npos) << e;
}

TEST(OnnxImporterErrors, ExternalDataPastEnd) {
    const std::string e = loadError(onnxData("external_past_end.onnx"));
    EXPECT_NE(e.find("external_past_end.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("initializer 0 'w'"), std::string::npos) << e;
    EXPECT_NE(e.find("external_data [0, 256) lies past the end of 'external_past_end.bin' (100 bytes)"),
              std::string::npos)
        << e;
}

TEST(OnnxImporterErrors, ExternalDataEscapingTheDirectoryIsRefused) {
    auto m = loadModel(onnxData("external_escape.onnx"));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::Invalid);
    const std::string e = m.error().what();
    EXPECT_NE(e.find("external_escape.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("external_data location '../../../../../../etc/hostname' escapes the model's directory"),
              std::string::npos)
        << e;
}

TEST(OnnxImporterErrors, CycleNamesANode) {
    const std::string e = loadError(onnxData("cycle.onnx"));
    EXPECT_NE(e.find("cycle.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("the graph has a cycle through node 0 (Add 'cyc_a')"), std::string::npos) << e;
}

TEST(OnnxImporterErrors, ConstantNodeErrorNamesNodeAndAttribute) {
    const std::string e = loadError(onnxData("constant_short.onnx"));
    EXPECT_NE(e.find("constant_short.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("node 0 (Constant 'const0'): attribute 'value'"), std::string::npos) << e;
    EXPECT_NE(e.find("raw_data holds 12 bytes but dims [3,3] of f32 need 36"), std::string::npos) << e;
}

TEST(OnnxImporterErrors, TruncatedRealModel) {
    const std::string whole = std::move(readWholeFile(test::asset("models/ch_ppocr_mobile_v2.0_cls_infer.onnx"))).value();
    const std::string path = test::tempDir() + "/truncated.onnx";
    writeBytes(path, whole.substr(0, whole.size() / 2));
    const std::string e = loadError(path);
    EXPECT_NE(e.find("truncated.onnx"), std::string::npos) << e;
    EXPECT_NE(e.find("ModelProto.graph.node["), std::string::npos) << e;
    EXPECT_NE(e.find("the file is truncated or corrupt"), std::string::npos) << e;

    // Cut inside the very first bytes as well.
    for (size_t cut : {size_t(1), size_t(3), size_t(40), whole.size() - 1}) {
        writeBytes(path, whole.substr(0, cut));
        auto m = loadModel(path);
        EXPECT_FALSE(m.ok()) << "cut at " << cut;
        if (!m.ok()) {
            EXPECT_NE(m.error().what().find("truncated.onnx"), std::string::npos) << m.error().what();
        }
    }
}

TEST(OnnxImporterErrors, RandomBytesWithOnnxExtension) {
    std::mt19937 rng(7);
    const std::string path = test::tempDir() + "/random.onnx";
    for (int round = 0; round < 20; ++round) {
        std::string bytes(1000 + round * 37, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        writeBytes(path, bytes);
        auto m = loadModel(path);
        ASSERT_FALSE(m.ok()) << "round " << round;
        const std::string e = m.error().what();
        EXPECT_NE(e.find("random.onnx"), std::string::npos) << e;
        EXPECT_TRUE(e.find("ModelProto") != std::string::npos || e.find("graph") != std::string::npos) << e;
    }
    writeBytes(path, "");
    EXPECT_NE(loadError(path).find("empty"), std::string::npos);
}

TEST(OnnxImporter, ProbeScores) {
    const auto* imp = ImporterRegistry::instance().importerByName("onnx");
    ASSERT_NE(imp, nullptr);
    const std::string head = std::move(readFileHead(onnxData("features.onnx"), 64 * 1024)).value();
    EXPECT_EQ(imp->probe(head, "x.onnx"), 90);
    EXPECT_EQ(imp->probe(head, "x.bin"), 40);
    EXPECT_EQ(imp->probe("GGUF\3\0\0\0", "x.gguf"), 0);
    EXPECT_EQ(imp->probe(std::string("\x1c\0\0\0TFL3", 8), "x.tflite"), 0);
    EXPECT_LT(imp->probe("garbage!", "x.onnx"), 40);
    const std::string real = std::move(readFileHead(test::asset("models/ch_PP-OCRv4_rec_infer.onnx"), 64 * 1024)).value();
    EXPECT_EQ(imp->probe(real, "renamed.model"), 40);
    auto detected = ImporterRegistry::instance().detect(onnxData("features.onnx"));
    ASSERT_TRUE(detected.ok());
    EXPECT_EQ((*detected)->name(), "onnx");
}

TEST(OnnxImporter, DtypeCodesMapBothWays) {
    EXPECT_EQ(dtypeFromOnnx(1), DType::F32);
    EXPECT_EQ(dtypeFromOnnx(10), DType::F16);
    EXPECT_EQ(dtypeFromOnnx(16), DType::BF16);
    EXPECT_EQ(dtypeFromOnnx(22), DType::Int4);
    EXPECT_EQ(dtypeFromOnnx(99), DType::Undefined);
    EXPECT_EQ(dtypeToOnnx(DType::I64), 7);
    EXPECT_EQ(dtypeToOnnx(DType::Q4_0), -1);
    for (int code = 1; code <= 22; ++code)
        if (dtypeFromOnnx(code) != DType::Undefined) {
            EXPECT_EQ(dtypeToOnnx(dtypeFromOnnx(code)), code);
        }
}
