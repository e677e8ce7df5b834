#include "engine/mapped_file.h"
#include "importers/importer_registry.h"
#include "importers/tflite_importer.h"
#include "tests/test_support.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <unistd.h>

using namespace by;

namespace {

const char* const kRealModels[] = {
    "face_detection_short_range.tflite",
    "face_detection_full_range.tflite",
    "face_detection_full_range_sparse.tflite",
    "hand_landmark_lite.tflite",
    "hand_landmark_full.tflite",
    "selfie_segmentation.tflite",
    "selfie_segmentation_landscape.tflite",
};

std::string modelPath(const std::string& name) {
    return test::asset("models/" + name);
}

std::string readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string writeTemp(const std::string& name, const std::string& bytes,
                      const std::string& dir = test::tempDir()) {
    const std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
}

// Loads a file that must fail; checks the sentence names the file and returns it.
std::string expectError(const std::string& path) {
    auto m = loadModel(path);
    EXPECT_FALSE(m.ok()) << path << " loaded although it is broken";
    if (m.ok()) return {};
    const std::string what = m.error().what();
    EXPECT_NE(what.find(std::filesystem::path(path).filename().string()), std::string::npos) << what;
    return what;
}

// ---- A deliberately dumb FlatBuffers walker for patching bytes (independent of the importer) ----

uint32_t rd32(const std::string& b, size_t p) {
    uint32_t v = 0;
    std::memcpy(&v, b.data() + p, 4);
    return v;
}
void wr32(std::string& b, size_t p, uint32_t v) {
    std::memcpy(b.data() + p, &v, 4);
}
// Position of field `slot` of the table at `t`, 0 when absent.
size_t fieldAt(const std::string& b, size_t t, int slot) {
    const size_t vt = t - static_cast<int32_t>(rd32(b, t));
    uint16_t vtSize = 0, off = 0;
    std::memcpy(&vtSize, b.data() + vt, 2);
    if (4u + 2u * slot + 2 > vtSize) return 0;
    std::memcpy(&off, b.data() + vt + 4 + 2 * slot, 2);
    return off ? t + off : 0;
}
size_t deref(const std::string& b, size_t p) {
    return p + rd32(b, p);
}
size_t element(const std::string& b, size_t vec, size_t i) {
    return deref(b, vec + 4 + 4 * i);
}
size_t rootTable(const std::string& b) {
    return rd32(b, 0);
}
size_t subgraph0(const std::string& b) {
    return element(b, deref(b, fieldAt(b, rootTable(b), 2)), 0);
}
size_t operatorAt(const std::string& b, size_t i) {
    return element(b, deref(b, fieldAt(b, subgraph0(b), 3)), i);
}
size_t tensorAt(const std::string& b, size_t i) {
    return element(b, deref(b, fieldAt(b, subgraph0(b), 0)), i);
}
size_t bufferAt(const std::string& b, size_t i) {
    return element(b, deref(b, fieldAt(b, rootTable(b), 4)), i);
}

// ---- A tiny FlatBuffers writer for synthetic models (children are written after their parents, so
// every uoffset points forward as the format requires) ----

struct Fb;
using FbPtr = std::shared_ptr<Fb>;
struct Fb {
    enum class Kind { Table, Scalars, String, Objects } kind = Kind::Table;
    struct Field {
        int slot;
        std::vector<uint8_t> scalar; // inline bytes, or empty when `child` is set
        FbPtr child;
    };
    std::vector<Field> fields;
    std::vector<uint8_t> raw; // Scalars / String bytes
    size_t elem = 1;
    std::vector<FbPtr> items; // Objects

    template <class T> Fb& set(int slot, T v) {
        Field f{slot, std::vector<uint8_t>(sizeof(T)), nullptr};
        std::memcpy(f.scalar.data(), &v, sizeof(T));
        fields.push_back(std::move(f));
        return *this;
    }
    Fb& put(int slot, FbPtr c) {
        fields.push_back({slot, {}, std::move(c)});
        return *this;
    }
};
FbPtr table() {
    return std::make_shared<Fb>();
}
template <class T> FbPtr scalars(const std::vector<T>& v) {
    auto f = std::make_shared<Fb>();
    f->kind = Fb::Kind::Scalars;
    f->elem = sizeof(T);
    f->raw.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(f->raw.data(), v.data(), f->raw.size());
    return f;
}
FbPtr bytesVec(const std::vector<uint8_t>& v) {
    return scalars(v);
}
FbPtr str(const std::string& s) {
    auto f = std::make_shared<Fb>();
    f->kind = Fb::Kind::String;
    f->raw.assign(s.begin(), s.end());
    return f;
}
FbPtr objects(std::vector<FbPtr> v) {
    auto f = std::make_shared<Fb>();
    f->kind = Fb::Kind::Objects;
    f->items = std::move(v);
    return f;
}

class FbWriter {
public:
    std::string finish(const FbPtr& root) {
        m_out.assign(8, 0);
        std::memcpy(m_out.data() + 4, "TFL3", 4);
        const size_t r = write(*root);
        put32(0, static_cast<uint32_t>(r));
        return {m_out.begin(), m_out.end()};
    }

private:
    void align(size_t a) {
        while (m_out.size() % a)
            m_out.push_back(0);
    }
    void put32(size_t p, uint32_t v) { std::memcpy(m_out.data() + p, &v, 4); }
    void patch(size_t at, size_t target) { put32(at, static_cast<uint32_t>(target - at)); }
    size_t write(const Fb& n) {
        align(8);
        if (n.kind == Fb::Kind::Scalars || n.kind == Fb::Kind::String) {
            if (n.elem == 8) { // keep 8-byte elements aligned after the length
                m_out.insert(m_out.end(), 4, 0);
            }
            const size_t pos = m_out.size();
            m_out.insert(m_out.end(), 4, 0);
            put32(pos, static_cast<uint32_t>(n.raw.size() / n.elem));
            m_out.insert(m_out.end(), n.raw.begin(), n.raw.end());
            if (n.kind == Fb::Kind::String) m_out.push_back(0);
            return pos;
        }
        if (n.kind == Fb::Kind::Objects) {
            const size_t pos = m_out.size();
            m_out.insert(m_out.end(), 4 + 4 * n.items.size(), 0);
            put32(pos, static_cast<uint32_t>(n.items.size()));
            for (size_t i = 0; i < n.items.size(); ++i)
                patch(pos + 4 + 4 * i, write(*n.items[i]));
            return pos;
        }
        // Table: inline layout first (soffset, then fields aligned to their size).
        int maxSlot = -1;
        std::vector<size_t> offsets(n.fields.size());
        size_t objSize = 4;
        for (size_t i = 0; i < n.fields.size(); ++i) {
            const size_t w = n.fields[i].child ? 4 : n.fields[i].scalar.size();
            while (objSize % w)
                ++objSize;
            offsets[i] = objSize;
            objSize += w;
            maxSlot = std::max(maxSlot, n.fields[i].slot);
        }
        const size_t vtPos = m_out.size();
        std::vector<uint16_t> vt(static_cast<size_t>(2 + maxSlot + 1), 0);
        vt[0] = static_cast<uint16_t>(2 * vt.size());
        vt[1] = static_cast<uint16_t>(objSize);
        for (size_t i = 0; i < n.fields.size(); ++i)
            vt[static_cast<size_t>(2 + n.fields[i].slot)] = static_cast<uint16_t>(offsets[i]);
        for (uint16_t x : vt) {
            m_out.push_back(static_cast<uint8_t>(x & 0xff));
            m_out.push_back(static_cast<uint8_t>(x >> 8));
        }
        align(8);
        const size_t tpos = m_out.size();
        m_out.insert(m_out.end(), objSize, 0);
        put32(tpos, static_cast<uint32_t>(tpos - vtPos));
        for (size_t i = 0; i < n.fields.size(); ++i)
            if (!n.fields[i].child)
                std::memcpy(m_out.data() + tpos + offsets[i], n.fields[i].scalar.data(),
                            n.fields[i].scalar.size());
        for (size_t i = 0; i < n.fields.size(); ++i)
            if (n.fields[i].child) patch(tpos + offsets[i], write(*n.fields[i].child));
        return tpos;
    }
    std::vector<uint8_t> m_out;
};

// Schema helpers for synthetic models.
FbPtr tensorT(const std::string& name, std::vector<int32_t> shape, int8_t type, uint32_t buffer = 0) {
    auto t = table();
    t->put(0, scalars(shape)).set<int8_t>(1, type).set<uint32_t>(2, buffer).put(3, str(name));
    return t;
}
FbPtr opT(uint32_t opcode, std::vector<int32_t> in, std::vector<int32_t> out) {
    auto o = table();
    o->set<uint32_t>(0, opcode).put(1, scalars(in)).put(2, scalars(out));
    return o;
}
FbPtr subgraphT(const std::string& name, std::vector<FbPtr> tensors, std::vector<int32_t> in,
                std::vector<int32_t> out, std::vector<FbPtr> ops) {
    auto s = table();
    s->put(0, objects(std::move(tensors)))
        .put(1, scalars(in))
        .put(2, scalars(out))
        .put(3, objects(std::move(ops)))
        .put(4, str(name));
    return s;
}
FbPtr opcodeT(int32_t builtin, const std::string& custom = {}) {
    auto c = table();
    c->set<int8_t>(0, static_cast<int8_t>(std::min(builtin, 127)))
        .set<int32_t>(2, 1)
        .set<int32_t>(3, builtin);
    if (!custom.empty()) c->put(1, str(custom));
    return c;
}
FbPtr bufferT(const std::vector<uint8_t>& data) {
    auto b = table();
    if (!data.empty()) b->put(0, bytesVec(data));
    return b;
}
FbPtr modelT(std::vector<FbPtr> opcodes, std::vector<FbPtr> subgraphs, std::vector<FbPtr> buffers) {
    auto m = table();
    m->set<uint32_t>(0, 3)
        .put(1, objects(std::move(opcodes)))
        .put(2, objects(std::move(subgraphs)))
        .put(3, str("synthetic"));
    m->put(4, objects(std::move(buffers)));
    return m;
}
template <class T> std::vector<uint8_t> rawBytes(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

constexpr int8_t kF32 = 0, kF16 = 1, kI32 = 2, kString = 5, kI8 = 9, kInt4 = 17;
constexpr int kAdd = 0, kConv = 3, kLess = 58, kWhile = 119, kIf = 118, kCustom = 32;

int64_t countOps(const Graph& g, const std::string& op) {
    int64_t n = 0;
    for (const auto& node : g.nodes)
        n += node.opType == op;
    return n;
}

} // namespace

// ---- Real models ----

TEST(TfliteImporter, EveryRealModelImportsWithConsistentConstants) {
    for (const char* name : kRealModels) {
        SCOPED_TRACE(name);
        const std::string path = modelPath(name);
        auto m = loadModel(path);
        ASSERT_TRUE(m.ok()) << m.error().what();
        EXPECT_EQ(m->format, "tflite");
        EXPECT_TRUE(m->warnings.empty());
        EXPECT_TRUE(m->graph.validate().ok());
        EXPECT_GT(m->graph.nodes.size(), 100u);
        ASSERT_NE(m->meta("tflite.schema_version"), nullptr);
        EXPECT_EQ(m->meta("tflite.schema_version")->i, 3);
        const std::string bytes = readBytes(path);
        int64_t withData = 0, mappedBytes = 0;
        for (const auto& v : m->graph.values) {
            // Tensor names are stored verbatim in the file.
            EXPECT_NE(bytes.find(v.name), std::string::npos) << v.name;
            if (!v.data) continue;
            ++withData;
            EXPECT_EQ(static_cast<int64_t>(v.data->nbytes()),
                      dtypeStorageBytes(v.data->dtype(), v.data->numel()))
                << v.name;
            EXPECT_EQ(v.data->dtype(), v.dtype);
            ASSERT_TRUE(v.shape.has_value());
            EXPECT_EQ(toDimShape(v.data->shape()), *v.shape) << v.name;
            EXPECT_EQ(v.data->isMapped(), v.docString.find("sparse in file") == std::string::npos) << v.name;
            if (v.data->isMapped()) mappedBytes += static_cast<int64_t>(v.data->nbytes());
        }
        EXPECT_GT(withData, 80);
        for (const auto& n : m->graph.nodes)
            EXPECT_TRUE(n.domain == "tflite" || n.domain == "tflite.custom") << n.opType;
        // Mapped weights are windows of the file (sparse ones are expanded, so they may exceed it).
        EXPECT_LE(mappedBytes, static_cast<int64_t>(bytes.size()));
    }
}

TEST(TfliteImporter, BlazeFaceShapesAndOpsMatchTheFile) {
    auto m = loadModel(modelPath("face_detection_short_range.tflite"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Graph& g = m->graph;
    ASSERT_EQ(g.inputs.size(), 1u);
    ASSERT_EQ(g.outputs.size(), 2u);
    const Value& in = g.values[static_cast<size_t>(g.inputs[0])];
    EXPECT_EQ(in.name, "input");
    EXPECT_EQ(in.dtype, DType::F32);
    EXPECT_EQ(dimShapeToString(*in.shape), "[1,128,128,3]");
    std::set<std::string> outShapes;
    for (int o : g.outputs)
        outShapes.insert(dimShapeToString(*g.values[static_cast<size_t>(o)].shape));
    EXPECT_EQ(outShapes, (std::set<std::string>{"[1,896,16]", "[1,896,1]"}));
    EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].name, "regressors");
    EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[1])].name, "classificators");

    // Counted with a separate throwaway reader of the raw flatbuffer while writing this test.
    const std::map<std::string, int64_t> expected = {
        {"tflite.ADD", 16},        {"tflite.CONCATENATION", 2},
        {"tflite.CONV_2D", 21},    {"tflite.DEPTHWISE_CONV_2D", 16},
        {"tflite.DEQUANTIZE", 74}, {"tflite.MAX_POOL_2D", 3},
        {"tflite.PAD", 11},        {"tflite.RELU", 17},
        {"tflite.RESHAPE", 4}};
    EXPECT_EQ(g.opHistogram(), expected);
    EXPECT_EQ(g.nodes.size(), 164u);
    EXPECT_EQ(g.values.size(), 250u);
    EXPECT_EQ(g.weightBytes(), 203132); // distinct non-empty buffers referenced by tensors

    // Every convolution has decoded options; BlazeFace's first conv is a stride-2 SAME 5x5.
    for (const auto& n : g.nodes) {
        if (n.opType != "CONV_2D" && n.opType != "DEPTHWISE_CONV_2D") continue;
        EXPECT_TRUE(n.attrString("padding") == "SAME" || n.attrString("padding") == "VALID");
        EXPECT_GE(n.attrInt("stride_w", 0), 1);
        EXPECT_EQ(n.attrInt("dilation_h_factor", 0), 1);
        EXPECT_EQ(n.attr("options_type"), nullptr);
    }
    const auto first =
        std::find_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.opType == "CONV_2D"; });
    ASSERT_NE(first, g.nodes.end());
    EXPECT_EQ(first->attrInt("stride_h", 0), 2);
    const Value& w = g.values[static_cast<size_t>(first->inputs[1])];
    ASSERT_GE(w.producer, 0); // fp16 weights reach the conv through DEQUANTIZE
    const Node& deq = g.nodes[static_cast<size_t>(w.producer)];
    EXPECT_EQ(deq.opType, "DEQUANTIZE");
    const Value& kernel = g.values[static_cast<size_t>(deq.inputs[0])];
    ASSERT_TRUE(kernel.data.has_value());
    EXPECT_EQ(kernel.data->shape(), (Shape{24, 5, 5, 3}));
    const Node* concat = nullptr;
    for (const auto& n : g.nodes)
        if (n.opType == "CONCATENATION") concat = &n;
    ASSERT_NE(concat, nullptr);
    EXPECT_EQ(concat->attrInt("axis", -1), 1);
    EXPECT_EQ(concat->attrString("fused_activation_function"), "NONE");
}

TEST(TfliteImporter, WeightWindowsAreDisjointAndHoldPlausibleValues) {
    for (const char* name : {"hand_landmark_full.tflite", "face_detection_full_range.tflite"}) {
        SCOPED_TRACE(name);
        const std::string path = modelPath(name);
        auto m = loadModel(path);
        ASSERT_TRUE(m.ok()) << m.error().what();
        std::vector<std::pair<const uint8_t*, size_t>> windows;
        for (const auto& v : m->graph.values) {
            if (!v.data) continue;
            windows.emplace_back(v.data->rawData(), v.data->nbytes());
            auto f = v.data->toFloats();
            ASSERT_TRUE(f.ok());
            double maxAbs = 0;
            for (float x : *f) {
                ASSERT_TRUE(std::isfinite(x)) << v.name;
                maxAbs = std::max(maxAbs, double(std::fabs(x)));
            }
            if (v.data->dtype() == DType::F16) {
                EXPECT_LT(maxAbs, 1e4) << v.name;
            }
        }
        std::sort(windows.begin(), windows.end());
        const uint8_t* base = windows.front().first;
        for (size_t i = 1; i < windows.size(); ++i)
            EXPECT_LE(windows[i - 1].first + windows[i - 1].second, windows[i].first)
                << "overlapping weight windows";
        const int64_t fileSize = static_cast<int64_t>(std::filesystem::file_size(path));
        EXPECT_LE(windows.back().first + windows.back().second - base, fileSize);
        if (std::string(name) == "hand_landmark_full.tflite") {
            // A weight-heavy model: nearly the whole file is parameters.
            EXPECT_GT(m->graph.weightBytes(), fileSize * 98 / 100);
            EXPECT_EQ(m->graph.weightBytes(), 5431368);
        }
    }
}

TEST(TfliteImporter, SelfieSegmentationDequantizesFp16Constants) {
    auto m = loadModel(modelPath("selfie_segmentation.tflite"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Graph& g = m->graph;
    int64_t deq = 0;
    for (const auto& n : g.nodes) {
        if (n.opType != "DEQUANTIZE") continue;
        ++deq;
        ASSERT_EQ(n.inputs.size(), 1u);
        const Value& in = g.values[static_cast<size_t>(n.inputs[0])];
        ASSERT_TRUE(in.data.has_value()) << in.name;
        EXPECT_EQ(in.data->dtype(), DType::F16);
        EXPECT_TRUE(in.data->isMapped());
        const Value& out = g.values[static_cast<size_t>(n.outputs[0])];
        EXPECT_EQ(out.dtype, DType::F32);
        EXPECT_FALSE(out.data.has_value());
    }
    EXPECT_EQ(deq, 110);
    const auto h = g.opHistogram();
    EXPECT_EQ(h.at("tflite.custom.Convolution2DTransposeBias"), 1);
    EXPECT_EQ(h.at("tflite.HARD_SWISH"), 11);
    EXPECT_EQ(h.at("tflite.AVERAGE_POOL_2D"), 10);
    for (const auto& n : g.nodes)
        if (n.domain == "tflite.custom") {
            const Attribute* opts = n.attr("custom_options");
            ASSERT_NE(opts, nullptr);
            EXPECT_EQ(opts->t.dtype(), DType::U8);
            EXPECT_GT(opts->t.numel(), 0);
        }
}

TEST(TfliteImporter, SparseConstantsAreExpandedBehindDensify) {
    auto m = loadModel(modelPath("face_detection_full_range_sparse.tflite"));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Graph& g = m->graph;
    EXPECT_EQ(countOps(g, "DENSIFY"), 46);
    ASSERT_NE(m->meta("tflite.metadata.min_runtime_version"), nullptr);
    EXPECT_EQ(m->meta("tflite.metadata.min_runtime_version")->s, "2.2.0");
    for (const auto& n : g.nodes) {
        if (n.opType != "DENSIFY") continue;
        const Value& in = g.values[static_cast<size_t>(n.inputs[0])];
        ASSERT_TRUE(in.data.has_value());
        const auto pos = in.docString.find("sparse in file: ");
        ASSERT_NE(pos, std::string::npos) << in.docString;
        const int64_t stored = std::stoll(in.docString.substr(pos + 16));
        auto f = in.data->toFloats();
        ASSERT_TRUE(f.ok());
        const int64_t nonzero = std::count_if(f->begin(), f->end(), [](float x) { return x != 0.f; });
        EXPECT_LE(nonzero, stored);
        EXPECT_GT(nonzero, stored / 2);
        EXPECT_LT(stored, in.data->numel());
    }
}

TEST(TfliteImporter, ImportsHandLandmarkQuickly) {
    const std::string path = modelPath("hand_landmark_full.tflite");
    const auto t0 = std::chrono::steady_clock::now();
    auto m = loadModel(path);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(m.ok()) << m.error().what();
    RecordProperty("import_ms", std::to_string(ms));
    EXPECT_LT(ms, 2000.0); // weights stay mapped: no copy of the 5 MB of fp16
    EXPECT_EQ(countOps(m->graph, "FULLY_CONNECTED"), 4);
    EXPECT_EQ(m->meta("tflite.metadata.reduced_precision_support")->s, "fp16accfp32");
}

TEST(TfliteImporter, ProbeScores) {
    TfliteImporter imp;
    std::string head(16, '\0');
    std::memcpy(head.data() + 4, "TFL3", 4);
    EXPECT_EQ(imp.probe(head, "x.bin"), 95);
    EXPECT_EQ(imp.probe("garbage bytes here", "model.TFLite"), 20);
    EXPECT_EQ(imp.probe("garbage bytes here", "model.onnx"), 0);
    EXPECT_EQ(imp.probe("TFL3", "x.bin"), 0);
    auto det = ImporterRegistry::instance().detect(modelPath("face_detection_short_range.tflite"));
    ASSERT_TRUE(det.ok());
    EXPECT_EQ((*det)->name(), "tflite");
}

// ---- Broken files ----

TEST(TfliteImporter, TruncatedFilesFailClearly) {
    const std::string bytes = readBytes(modelPath("face_detection_short_range.tflite"));
    for (size_t cut : {size_t(3), size_t(7), size_t(8), size_t(40), size_t(1000), bytes.size() / 2,
                       bytes.size() - 1000, bytes.size() - 1}) {
        SCOPED_TRACE(cut);
        const std::string what =
            expectError(writeTemp("cut_" + std::to_string(cut) + ".tflite", bytes.substr(0, cut)));
        EXPECT_FALSE(what.empty());
    }
}

TEST(TfliteImporter, WrongIdentifierAndRandomBytesFail) {
    std::string bytes = readBytes(modelPath("face_detection_short_range.tflite"));
    bytes[7] = '4';
    EXPECT_NE(expectError(writeTemp("flipped.tflite", bytes)).find("'TFL4', not 'TFL3'"), std::string::npos);

    std::mt19937 rng(7);
    std::string noise(4096, '\0');
    for (auto& c : noise)
        c = static_cast<char>(rng());
    EXPECT_NE(expectError(writeTemp("noise.tflite", noise)).find("not 'TFL3'"), std::string::npos);
    // Random bytes that do carry the identifier still fail on the first offset they break.
    std::memcpy(noise.data() + 4, "TFL3", 4);
    expectError(writeTemp("noise_ident.tflite", noise));
    EXPECT_NE(expectError(writeTemp("tiny.tflite", "TFL")).find("too short"), std::string::npos);
}

TEST(TfliteImporter, BrokenOffsetsAndFieldsNameWhatIsWrong) {
    const std::string good = readBytes(modelPath("face_detection_short_range.tflite"));
    // Root offset past the end.
    {
        std::string b = good;
        wr32(b, 0, 0x7ffffff0u);
        EXPECT_NE(expectError(writeTemp("root.tflite", b)).find("Model table"), std::string::npos);
    }
    // The root table's vtable pointer (soffset) out of range.
    {
        std::string b = good;
        wr32(b, rootTable(b), 0x80000000u);
        EXPECT_NE(expectError(writeTemp("vtable.tflite", b)).find("vtable"), std::string::npos);
    }
    // The first weight tensor's buffer: find a tensor with a non-empty buffer.
    size_t tensorIdx = 0, bufferIdx = 0;
    for (size_t i = 0; i < 250; ++i) {
        const size_t bf = fieldAt(good, tensorAt(good, i), 2);
        if (!bf || rd32(good, deref(good, fieldAt(good, tensorAt(good, i), 0))) != 4)
            continue; // a rank-4 kernel
        const size_t bi = rd32(good, bf);
        if (fieldAt(good, bufferAt(good, bi), 0)) {
            tensorIdx = i;
            bufferIdx = bi;
            break;
        }
    }
    ASSERT_GT(bufferIdx, 0u);
    const size_t dataField = fieldAt(good, bufferAt(good, bufferIdx), 0);
    // A buffer whose data offset points past the end of the file.
    {
        std::string b = good;
        wr32(b, dataField, static_cast<uint32_t>(b.size()));
        const std::string what = expectError(writeTemp("buffer_offset.tflite", b));
        EXPECT_NE(what.find("Buffer.data"), std::string::npos) << what;
        EXPECT_NE(what.find("tensor " + std::to_string(tensorIdx)), std::string::npos) << what;
    }
    // A buffer whose length runs past the end, and one shorter than its tensor needs.
    {
        std::string b = good;
        const size_t vec = deref(b, dataField);
        wr32(b, vec, 0x7fffffffu);
        EXPECT_NE(expectError(writeTemp("buffer_len.tflite", b)).find("runs past the end"),
                  std::string::npos);
        wr32(b, vec, rd32(good, vec) - 2);
        const std::string what = expectError(writeTemp("buffer_short.tflite", b));
        EXPECT_NE(what.find("needs " + std::to_string(rd32(good, vec))), std::string::npos) << what;
    }
    // Absurd and negative dimensions on that weight tensor.
    {
        std::string b = good;
        const size_t shape = deref(b, fieldAt(b, tensorAt(b, tensorIdx), 0));
        wr32(b, shape + 4, 0x7fffffffu);
        wr32(b, shape + 8, 0x7fffffffu);
        wr32(b, shape + 12, 0x7fffffffu);
        expectError(writeTemp("huge_dims.tflite", b));
        wr32(b, shape + 4, static_cast<uint32_t>(-5));
        EXPECT_NE(expectError(writeTemp("negative_dim.tflite", b)).find("Tensor.shape"), std::string::npos);
    }
    // An operator input that names a tensor the subgraph does not have.
    {
        std::string b = good;
        const size_t inputs = deref(b, fieldAt(b, operatorAt(b, 5), 1));
        wr32(b, inputs + 4, 9999);
        const std::string what = expectError(writeTemp("bad_input.tflite", b));
        EXPECT_NE(what.find("operator 5"), std::string::npos) << what;
        EXPECT_NE(what.find("tensor 9999"), std::string::npos) << what;
        EXPECT_NE(what.find("Operator.inputs"), std::string::npos) << what;
    }
    // An operator that consumes its own output: a cycle.
    {
        std::string b = good;
        const size_t op = operatorAt(b, 2);
        const size_t inputs = deref(b, fieldAt(b, op, 1)), outputs = deref(b, fieldAt(b, op, 2));
        wr32(b, inputs + 4, rd32(b, outputs + 4));
        EXPECT_NE(expectError(writeTemp("cycle.tflite", b)).find("cycle"), std::string::npos);
    }
    // opcode_index out of range (an operator whose field is present in the file).
    {
        std::string b = good;
        size_t field = 0, oi = 0;
        for (; oi < 164 && !field; ++oi)
            field = fieldAt(b, operatorAt(b, oi), 0);
        ASSERT_NE(field, 0u);
        wr32(b, field, 77);
        const std::string what = expectError(writeTemp("opcode.tflite", b));
        EXPECT_NE(what.find("opcode_index 77"), std::string::npos) << what;
        EXPECT_NE(what.find("operator " + std::to_string(oi - 1)), std::string::npos) << what;
    }
}

// ---- Synthetic models: control flow, custom ops, quantization, strings ----

namespace {
// Main: x -> WHILE(cond=1, body=2) -> y, plus a custom op and a quantized int8 tensor.
std::string controlFlowModel(int bodyIndex) {
    auto whileOp = opT(2, {0}, {1});
    auto whileOpts = table();
    whileOpts->set<int32_t>(0, 1).set<int32_t>(1, bodyIndex);
    whileOp->set<uint8_t>(3, 93).put(4, whileOpts);
    auto customOp = opT(3, {1}, {2});
    customOp->put(5, bytesVec({1, 2, 3, 4, 5}));
    auto q = table();
    q->put(2, scalars(std::vector<float>{0.5f, 0.25f}))
        .put(3, scalars(std::vector<int64_t>{0, 3}))
        .set<int32_t>(6, 0);
    auto w = tensorT("w", {2, 2}, kI8, 1);
    w->put(4, q);
    auto names = tensorT("labels", {2}, kString, 2);
    std::vector<uint8_t> stringBuf;
    for (int32_t x : {2, 16, 19, 21})
        stringBuf.insert(stringBuf.end(), reinterpret_cast<uint8_t*>(&x), reinterpret_cast<uint8_t*>(&x) + 4);
    for (char c : std::string("catok"))
        stringBuf.push_back(static_cast<uint8_t>(c));
    auto main = subgraphT(
        "main", {tensorT("x", {1}, kF32), tensorT("y", {1}, kF32), tensorT("z", {1}, kF32), w, names}, {0},
        {2}, {whileOp, customOp});
    auto cond =
        subgraphT("cond", {tensorT("i", {1}, kF32), tensorT("limit", {1}, kF32, 3), tensorT("ok", {1}, 6)},
                  {0}, {2}, {opT(1, {0, 1}, {2})});
    auto body =
        subgraphT("body", {tensorT("i", {1}, kF32), tensorT("one", {1}, kF32, 3), tensorT("next", {1}, kF32)},
                  {0}, {2}, {opT(0, {0, 1}, {2})});
    auto spare = subgraphT("spare", {tensorT("a", {1}, kF32)}, {0}, {0}, {});
    auto model = modelT({opcodeT(kAdd), opcodeT(kLess), opcodeT(kWhile), opcodeT(kCustom, "MyCustomOp")},
                        {main, cond, body, spare},
                        {bufferT({}), bufferT({1, 2, 0xff, 4}), bufferT(stringBuf),
                         bufferT(rawBytes(std::vector<float>{1.f}))});
    return FbWriter().finish(model);
}
} // namespace

TEST(TfliteImporter, ControlFlowSubgraphsAttachToTheirOperators) {
    auto m = loadModel(writeTemp("while.tflite", controlFlowModel(2)));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Graph& g = m->graph;
    EXPECT_EQ(g.name, "main");
    EXPECT_EQ(m->docString, "synthetic");
    ASSERT_EQ(g.nodes.size(), 2u);
    const Node& loop = g.nodes[0];
    EXPECT_EQ(loop.opType, "WHILE");
    EXPECT_EQ(loop.attrInt("cond_subgraph_index", -1), 1);
    EXPECT_EQ(loop.attrInt("body_subgraph_index", -1), 2);
    const Attribute* cond = loop.attr("cond_subgraph");
    const Attribute* body = loop.attr("body_subgraph");
    ASSERT_TRUE(cond && cond->kind == Attribute::Kind::Graph && cond->g);
    ASSERT_TRUE(body && body->kind == Attribute::Kind::Graph && body->g);
    EXPECT_EQ(cond->g->name, "cond");
    EXPECT_EQ(body->g->nodes[0].opType, "ADD");
    ASSERT_TRUE(body->g->values[1].data.has_value());
    EXPECT_EQ(body->g->values[1].data->data<float>()[0], 1.f);
    EXPECT_EQ(g.nodeCountRecursive(), 4u);
    EXPECT_EQ(g.opHistogram().at("tflite.LESS"), 1);
    EXPECT_TRUE(g.validate().ok());

    const Node& custom = g.nodes[1];
    EXPECT_EQ(custom.opType, "MyCustomOp");
    EXPECT_EQ(custom.domain, "tflite.custom");
    ASSERT_NE(custom.attr("custom_options"), nullptr);
    EXPECT_EQ(custom.attr("custom_options")->t.numel(), 5);
    EXPECT_EQ(custom.attr("custom_options")->t.rawData()[4], 5);

    const Value& w = g.values[static_cast<size_t>(g.findValue("w"))];
    EXPECT_EQ(w.docString, "quantization: scale=[0.5,0.25] zero_point=[0,3] quantized_dimension=0");
    ASSERT_TRUE(w.data.has_value());
    EXPECT_EQ(w.data->data<int8_t>()[2], -1);
    const Value& labels = g.values[static_cast<size_t>(g.findValue("labels"))];
    ASSERT_TRUE(labels.data.has_value());
    EXPECT_EQ(labels.data->strings(), (std::vector<std::string>{"cat", "ok"}));

    // The spare subgraph is not called by anything: noted, not fatal.
    ASSERT_EQ(m->warnings.size(), 1u);
    EXPECT_NE(m->warnings[0].find("subgraph 3 'spare'"), std::string::npos);
    ASSERT_NE(m->meta("tflite.unreferenced_subgraphs"), nullptr);
    EXPECT_EQ(m->meta("tflite.unreferenced_subgraphs")->s, "subgraph 3 'spare'");
    EXPECT_EQ(m->meta("tflite.subgraphs")->strings.size(), 4u);
}

TEST(TfliteImporter, SubgraphCallsAreChecked) {
    const std::string out = expectError(writeTemp("while_bad_index.tflite", controlFlowModel(9)));
    EXPECT_NE(out.find("calls subgraph 9"), std::string::npos) << out;
    EXPECT_NE(out.find("WhileOptions.body_subgraph_index"), std::string::npos) << out;

    // A body that loops back into the main graph.
    const std::string rec = expectError(writeTemp("while_recursive.tflite", controlFlowModel(0)));
    EXPECT_NE(rec.find("calls itself"), std::string::npos) << rec;

    // A subgraph that IFs into itself.
    auto ifOpts = table();
    ifOpts->set<int32_t>(0, 1).set<int32_t>(1, 1);
    auto ifOp = opT(0, {0}, {1});
    ifOp->set<uint8_t>(3, 92).put(4, ifOpts);
    auto callOp = opT(0, {0}, {1});
    auto callOpts = table();
    callOpts->set<int32_t>(0, 1).set<int32_t>(1, 1);
    callOp->set<uint8_t>(3, 92).put(4, callOpts);
    auto model =
        modelT({opcodeT(kIf)},
               {subgraphT("main", {tensorT("a", {1}, kF32), tensorT("b", {1}, kF32)}, {0}, {1}, {ifOp}),
                subgraphT("branch", {tensorT("a", {1}, kF32), tensorT("b", {1}, kF32)}, {0}, {1}, {callOp})},
               {bufferT({})});
    EXPECT_NE(expectError(writeTemp("if_self.tflite", FbWriter().finish(model)))
                  .find("subgraph 1 'branch': calls itself"),
              std::string::npos);
}

TEST(TfliteImporter, UnknownCodesAndOptionsAreKeptNotFatal) {
    auto op = opT(0, {0}, {1});
    op->set<uint8_t>(3, 250).put(4, table()); // an options table this importer does not know
    auto conv = opT(1, {1, 2}, {3});
    auto convOpts = table();
    convOpts->set<int8_t>(0, 1).set<int32_t>(1, 2).set<int32_t>(2, 3).set<int8_t>(3, 3);
    conv->set<uint8_t>(3, 1).put(4, convOpts);
    auto model = modelT({opcodeT(250), opcodeT(kConv)},
                        {subgraphT("",
                                   {tensorT("a", {1}, kF32), tensorT("", {1}, kF32),
                                    tensorT("a", {1, 1, 1, 1}, kF32, 1), tensorT("", {1}, kF32)},
                                   {0}, {3}, {op, conv})},
                        {bufferT({}), bufferT(rawBytes(std::vector<float>{2.f}))});
    auto m = loadModel(writeTemp("unknown.tflite", FbWriter().finish(model)));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Graph& g = m->graph;
    EXPECT_EQ(g.nodes[0].opType, "BUILTIN_250");
    EXPECT_EQ(g.nodes[0].attrInt("options_type", -1), 250);
    const Node& c = g.nodes[1];
    EXPECT_EQ(c.opType, "CONV_2D");
    EXPECT_EQ(c.attrString("padding"), "VALID");
    EXPECT_EQ(c.attrInt("stride_w", 0), 2);
    EXPECT_EQ(c.attrInt("stride_h", 0), 3);
    EXPECT_EQ(c.attrString("fused_activation_function"), "RELU6");
    EXPECT_EQ(c.attrInt("dilation_w_factor", 0), 1); // schema default when absent
    EXPECT_EQ(c.attr("quantized_bias_type"), nullptr);
    // Empty and repeated names stay unique.
    std::set<std::string> names;
    for (const auto& v : g.values)
        names.insert(v.name);
    EXPECT_EQ(names.size(), g.values.size());
    EXPECT_EQ(g.values[2].name, "a#2");
    EXPECT_EQ(g.values[1].name, "tensor_1");
    ASSERT_EQ(m->warnings.size(), 1u);
    EXPECT_NE(m->warnings[0].find("repeated"), std::string::npos);
}

TEST(TfliteImporter, AppendedBufferDataIsMappedAndRangeChecked) {
    auto build = [](uint64_t offset) {
        auto buf = table();
        buf->set<uint64_t>(1, offset).set<uint64_t>(2, 16);
        auto model = modelT(
            {opcodeT(kAdd)},
            {subgraphT("main", {tensorT("x", {4}, kF32), tensorT("w", {4}, kF32, 1), tensorT("y", {4}, kF32)},
                       {0}, {2}, {opT(0, {0, 1}, {2})})},
            {bufferT({}), buf});
        return FbWriter().finish(model);
    };
    std::string probe = build(1000);
    const uint64_t offset = (probe.size() + 15) / 16 * 16;
    std::string bytes = build(offset);
    bytes.resize(offset, '\0');
    const std::vector<float> w = {1.f, -2.f, 3.5f, 8.f};
    bytes.append(reinterpret_cast<const char*>(w.data()), 16);
    auto m = loadModel(writeTemp("appended.tflite", bytes));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Value& v = m->graph.values[1];
    ASSERT_TRUE(v.data.has_value());
    EXPECT_TRUE(v.data->isMapped());
    EXPECT_EQ(v.data->data<float>()[2], 3.5f);

    std::string past = build(uint64_t(1) << 40);
    const std::string what = expectError(writeTemp("appended_past_eof.tflite", past));
    EXPECT_NE(what.find("past the end of the file"), std::string::npos) << what;
    EXPECT_NE(what.find("Buffer.offset"), std::string::npos) << what;
}

TEST(TfliteImporter, Int4ConstantsCarryTheirScales) {
    auto q = table();
    q->put(2, scalars(std::vector<float>{0.5f, 2.f})).put(3, scalars(std::vector<int64_t>{0, 0}));
    auto w = tensorT("w4", {2, 2}, kInt4, 1);
    w->put(4, q);
    // Low nibble first: [1, -1 | 2, 7].
    auto model = modelT({opcodeT(kAdd)},
                        {subgraphT("main", {tensorT("x", {2, 2}, kF32), w, tensorT("y", {2, 2}, kF32)}, {0},
                                   {2}, {opT(0, {0, 1}, {2})})},
                        {bufferT({}), bufferT({0xf1, 0x72})});
    auto m = loadModel(writeTemp("int4.tflite", FbWriter().finish(model)));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Value& v = m->graph.values[1];
    ASSERT_TRUE(v.data.has_value());
    EXPECT_EQ(v.data->dtype(), DType::Int4);
    auto f = v.data->toFloats();
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, (std::vector<float>{0.5f, -0.5f, 4.f, 14.f}));
}

namespace {
// A 4x4 f32 constant stored block-sparse: rows dense, column blocks of 2 in CSR.
//   [1 2 0 0]
//   [0 0 3 4]
//   [0 0 0 0]
//   [5 6 7 8]
std::string blockSparseModel(std::vector<uint16_t> segments) {
    auto dense = [](int32_t size) {
        auto d = table();
        d->set<int8_t>(0, 0).set<int32_t>(1, size);
        return d;
    };
    auto csr = table();
    auto seg = table();
    seg->put(0, scalars(segments));
    auto idx = table();
    idx->put(0, scalars(std::vector<uint8_t>{0, 1, 0, 1}));
    csr->set<int8_t>(0, 1).set<uint8_t>(2, 2).put(3, seg).set<uint8_t>(4, 3).put(5, idx);
    auto sp = table();
    sp->put(0, scalars(std::vector<int32_t>{0, 1, 2}))
        .put(1, scalars(std::vector<int32_t>{1}))
        .put(2, objects({dense(4), csr, dense(2)}));
    auto w = tensorT("w", {4, 4}, kF32, 1);
    w->put(6, sp);
    auto model = modelT(
        {opcodeT(124), opcodeT(kAdd)},
        {subgraphT("main",
                   {tensorT("x", {4, 4}, kF32), w, tensorT("wd", {4, 4}, kF32), tensorT("y", {4, 4}, kF32)},
                   {0}, {3}, {opT(0, {1}, {2}), opT(1, {0, 2}, {3})})},
        {bufferT({}), bufferT(rawBytes(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}))});
    return FbWriter().finish(model);
}
} // namespace

TEST(TfliteImporter, BlockSparseConstantsExpand) {
    auto m = loadModel(writeTemp("block_sparse.tflite", blockSparseModel({0, 1, 2, 2, 4})));
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Value& w = m->graph.values[1];
    ASSERT_TRUE(w.data.has_value());
    EXPECT_FALSE(w.data->isMapped());
    const float* p = w.data->data<float>();
    EXPECT_EQ(std::vector<float>(p, p + 16),
              (std::vector<float>{1, 2, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8}));
    EXPECT_NE(w.docString.find("8 of 16 values stored"), std::string::npos) << w.docString;
    EXPECT_NE(w.docString.find("block_map=[1]"), std::string::npos) << w.docString;
    EXPECT_EQ(m->graph.nodes[0].opType, "DENSIFY");

    const std::string what =
        expectError(writeTemp("block_sparse_bad.tflite", blockSparseModel({0, 1, 2, 4})));
    EXPECT_NE(what.find("array_segments has 4 entries, expected 5"), std::string::npos) << what;
    EXPECT_NE(what.find("tensor 1 'w'"), std::string::npos) << what;
    const std::string overrun =
        expectError(writeTemp("block_sparse_overrun.tflite", blockSparseModel({0, 1, 2, 2, 9})));
    EXPECT_NE(overrun.find("array_segments"), std::string::npos) << overrun;
}

TEST(TfliteImporter, EveryTruncationAndByteSmashOfASmallModelIsSafe) {
    // Small synthetic models put every structure (vtables, unions, subgraph calls, sparse metadata)
    // within reach of a byte-by-byte sweep. Each variant must load or fail with a sentence naming the file.
    // Thousands of tiny files: keep them in memory where the machine has /dev/shm.
    struct ScratchDir {
        std::string path;
        ScratchDir() {
            std::error_code ec;
            path = std::filesystem::is_directory("/dev/shm", ec)
                       ? "/dev/shm/brickyard-tflite-sweep-" + std::to_string(::getpid())
                       : test::tempDir() + "/sweep";
            std::filesystem::create_directories(path, ec);
        }
        ~ScratchDir() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    } scratch;
    const std::string& dir = scratch.path;
    for (const std::string& good : {controlFlowModel(2), blockSparseModel({0, 1, 2, 2, 4})}) {
        int failures = 0;
        for (size_t cut = 0; cut < good.size(); ++cut) {
            auto m = loadModel(writeTemp("cut.tflite", good.substr(0, cut), dir));
            if (!m.ok()) {
                ++failures;
                EXPECT_NE(m.error().what().find("cut.tflite"), std::string::npos) << m.error().what();
            }
        }
        EXPECT_GT(failures, static_cast<int>(good.size()) * 9 / 10);
        for (size_t pos = 0; pos < good.size(); ++pos) {
            for (char v : {'\xff', '\x7f', '\x00'}) {
                std::string b = good;
                b[pos] = v;
                auto m = loadModel(writeTemp("smash.tflite", b, dir));
                if (!m.ok()) {
                    EXPECT_NE(m.error().what().find("smash.tflite"), std::string::npos) << m.error().what();
                } else {
                    EXPECT_TRUE(m->graph.validate().ok());
                }
            }
        }
    }
}

TEST(TfliteImporter, ReportsProgressAndHonoursCancel) {
    std::vector<double> fractions;
    Progress progress([&](double f, const std::string&) { fractions.push_back(f); });
    LoadOptions opts;
    opts.progress = &progress;
    auto m = loadModel(modelPath("hand_landmark_full.tflite"), opts);
    ASSERT_TRUE(m.ok()) << m.error().what();
    ASSERT_GE(fractions.size(), 3u);
    EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
    EXPECT_EQ(fractions.back(), 1.0);

    Progress cancelled;
    cancelled.cancel();
    opts.progress = &cancelled;
    auto c = loadModel(modelPath("hand_landmark_full.tflite"), opts);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::Cancelled);
}

// The synthetic models above double as fuzz seeds (tests/data/tflite, used by tests/fuzz/tflite.cmake):
// small files put every structure within reach of the mutator. BY_UPDATE_TFLITE_SEEDS=1 rewrites them.
TEST(TfliteImporter, FuzzSeedsMatchTheirGenerators) {
    const std::vector<std::pair<std::string, std::string>> seeds = {
        {"while.tflite", controlFlowModel(2)},
        {"block_sparse.tflite", blockSparseModel({0, 1, 2, 2, 4})},
    };
    const char* update = std::getenv("BY_UPDATE_TFLITE_SEEDS");
    for (const auto& [name, bytes] : seeds) {
        const std::string path = test::dataDir() + "/tflite/" + name;
        if (update && std::string(update) == "1") writeTemp(name, bytes, test::dataDir() + "/tflite");
        EXPECT_EQ(readBytes(path), bytes) << path << " is stale: rerun with BY_UPDATE_TFLITE_SEEDS=1";
        EXPECT_TRUE(loadModel(path).ok()) << path;
    }
}
