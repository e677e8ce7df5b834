#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/mapped_file.h"
#include "engine/model_compare.h"
#include "importers/importer.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

using namespace by;

namespace {

std::string readBytes(const std::string& path) { return std::move(readWholeFile(path)).value(); }

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a literal header and data area.
std::string rawFile(const std::string& header, const std::string& data = {}) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + data;
}

Tensor randomTensor(DType dt, const Shape& shape, uint32_t seed) {
    const int64_t n = shapeNumel(shape);
    std::vector<uint8_t> bytes(static_cast<size_t>(dtypeStorageBytes(dt, n)));
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, 0.05f);
    for (int64_t i = 0; i < n; ++i) {
        const float f = dist(rng);
        switch (dt) {
        case DType::F32: std::memcpy(&bytes[i * 4], &f, 4); break;
        case DType::F16: { const uint16_t h = floatToHalf(f); std::memcpy(&bytes[i * 2], &h, 2); break; }
        case DType::BF16: { const uint16_t h = floatToBf16(f); std::memcpy(&bytes[i * 2], &h, 2); break; }
        case DType::F64: { const double d = f; std::memcpy(&bytes[i * 8], &d, 8); break; }
        case DType::I64: { const int64_t v = i; std::memcpy(&bytes[i * 8], &v, 8); break; }
        case DType::Bool: bytes[i] = static_cast<uint8_t>(i % 3 == 0); break;
        default: bytes[static_cast<size_t>(i) * static_cast<size_t>(dtypeInfo(dt).blockBytes)] = static_cast<uint8_t>(rng()); break;
        }
    }
    return std::move(Tensor::fromBytes(dt, shape, std::move(bytes))).value();
}

// A small decoder-only transformer checkpoint, the way Hugging Face writes it.
Model makeCheckpoint(int64_t vocab = 96, int64_t hidden = 32) {
    Model m;
    m.format = "safetensors";
    m.metadata.emplace_back("format", MetaValue::ofString("pt"));
    m.metadata.emplace_back("model_type", MetaValue::ofString("llama"));
    uint32_t seed = 1;
    auto add = [&](const std::string& name, DType dt, const Shape& s) { m.graph.addInitializer(name, randomTensor(dt, s, seed++)); };
    add("model.embed_tokens.weight", DType::F16, {vocab, hidden});
    for (int l = 0; l < 2; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", DType::F32, {hidden});
        add(p + "self_attn.q_proj.weight", DType::BF16, {hidden, hidden});
        add(p + "self_attn.k_proj.weight", DType::BF16, {hidden / 2, hidden});
        add(p + "self_attn.v_proj.weight", DType::BF16, {hidden / 2, hidden});
        add(p + "self_attn.o_proj.weight", DType::BF16, {hidden, hidden});
        add(p + "mlp.gate_proj.weight", DType::F16, {2 * hidden, hidden});
        add(p + "mlp.up_proj.weight", DType::F16, {2 * hidden, hidden});
        add(p + "mlp.down_proj.weight", DType::F16, {hidden, 2 * hidden});
    }
    add("model.norm.weight", DType::F32, {hidden});
    add("lm_head.weight", DType::F64, {vocab, hidden});
    add("position_ids", DType::I64, {1, 16});
    add("attention_mask", DType::Bool, {4, 4});
    add("logit_scale", DType::F32, {});
    add("unused.empty", DType::F32, {0, 8});
    add("quant.codes", DType::I8, {3, 5});
    add("quant.zero", DType::U8, {7});
    add("fp8.weight", DType::F8E4M3, {8, 4});
    add("fp8.grad", DType::F8E5M2, {4});
    add("counts", DType::U64, {2});
    add("ids", DType::I32, {3});
    add("halfwords", DType::I16, {5});
    add("uhalfwords", DType::U16, {5});
    add("uwords", DType::U32, {1});
    return m;
}

void expectSame(const Model& a, const Model& b) {
    const auto diff = firstDifference(a, b);
    EXPECT_FALSE(diff.has_value()) << *diff;
}

// Loads `bytes` written to a file and returns the error (the test fails if it loads).
Error loadError(const std::string& bytes, const std::string& name = "broken.safetensors") {
    const std::string path = test::tempDir() + "/" + name;
    writeBytes(path, bytes);
    auto m = loadModel(path);
    if (m) {
        ADD_FAILURE() << "expected " << name << " to fail to load";
        return {};
    }
    EXPECT_NE(m.error().what().find(name), std::string::npos) << "error does not name the file: " << m.error().what();
    return m.error();
}

#define EXPECT_MSG(err, text) EXPECT_NE((err).what().find(text), std::string::npos) << (err).what()

}  // namespace

TEST(SafetensorsFormat, RoundTripIsExactAndLazy) {
    const Model m = makeCheckpoint();
    const std::string path = test::tempDir() + "/ckpt.safetensors";
    ASSERT_TRUE(saveModel(m, path).ok());
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->format, "safetensors");
    EXPECT_TRUE(back->warnings.empty());
    expectSame(m, *back);
    ASSERT_EQ(back->graph.values.size(), m.graph.values.size());
    for (size_t i = 0; i < m.graph.values.size(); ++i) {
        EXPECT_EQ(back->graph.values[i].name, m.graph.values[i].name) << "header order is kept";
        EXPECT_TRUE(back->graph.values[i].data->isMapped()) << back->graph.values[i].name;
    }
    const auto s = summarize(*back);
    EXPECT_EQ(s.tensorsWithData, static_cast<int64_t>(m.graph.values.size()));
    EXPECT_EQ(s.parameters, m.graph.parameterCount());
}

TEST(SafetensorsFormat, ReExportIsByteIdentical) {
    const std::string dir = test::tempDir();
    ASSERT_TRUE(saveModel(makeCheckpoint(), dir + "/a.safetensors").ok());
    auto a = loadModel(dir + "/a.safetensors");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(saveModel(*a, dir + "/b.safetensors").ok());
    EXPECT_EQ(readBytes(dir + "/a.safetensors"), readBytes(dir + "/b.safetensors"));
    // Overwriting the file a model is mapped from is safe (write to a temporary, then rename).
    ASSERT_TRUE(saveModel(*a, dir + "/a.safetensors").ok());
    EXPECT_EQ(readBytes(dir + "/a.safetensors"), readBytes(dir + "/b.safetensors"));
}

TEST(SafetensorsFormat, HeaderIsPaddedWithSpacesTo8Bytes) {
    const std::string path = test::tempDir() + "/pad.safetensors";
    ASSERT_TRUE(saveModel(makeCheckpoint(), path).ok());
    const std::string bytes = readBytes(path);
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);
    const std::string header = bytes.substr(8, n);
    EXPECT_EQ(header.rfind("{\"__metadata__\":{\"format\":\"pt\"", 0), 0u) << header.substr(0, 60);
    EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));
}

TEST(SafetensorsFormat, ReadsHandWrittenHeaderInItsOrder) {
    // Keys out of alphabetical order, an unknown field, whitespace, metadata last.
    const std::string header = R"({ "zeta": {"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":{"a":[1,{"b":null}]}},
        "alpha": {"shape":[1,2],"data_offsets":[8,12],"dtype":"F16"},
        "__metadata__": {"source":"hand \u00e9crit"} }   )";
    std::string data(12, '\0');
    const float f[2] = {1.5f, -2.f};
    std::memcpy(data.data(), f, 8);
    const uint16_t h[2] = {floatToHalf(0.25f), floatToHalf(3.f)};
    std::memcpy(data.data() + 8, h, 4);
    const std::string path = test::tempDir() + "/hand.safetensors";
    writeBytes(path, rawFile(header, data));
    auto m = loadModel(path);
    ASSERT_TRUE(m.ok()) << m.error().what();
    ASSERT_EQ(m->graph.values.size(), 2u);
    EXPECT_EQ(m->graph.values[0].name, "zeta");
    EXPECT_EQ(m->graph.values[1].name, "alpha");
    ASSERT_NE(m->meta("source"), nullptr);
    EXPECT_EQ(m->meta("source")->s, "hand \xc3\xa9" "crit");
    auto a = m->graph.values[1].data->toFloats();
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, (std::vector<float>{0.25f, 3.f}));
    EXPECT_EQ(m->graph.values[1].data->shape(), (Shape{1, 2}));
    auto z = m->graph.values[0].data->toFloats();
    EXPECT_EQ(*z, (std::vector<float>{1.5f, -2.f}));
}

TEST(SafetensorsFormat, UnusedDataBytesGiveAWarning) {
    const std::string path = test::tempDir() + "/gap.safetensors";
    writeBytes(path, rawFile(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})", std::string(10, '\x01')));
    auto m = loadModel(path);
    ASSERT_TRUE(m.ok()) << m.error().what();
    ASSERT_EQ(m->warnings.size(), 1u);
    EXPECT_NE(m->warnings[0].find("8 bytes"), std::string::npos) << m->warnings[0];
}

TEST(SafetensorsFormat, EmptyModelRoundTrips) {
    Model m;
    m.format = "safetensors";
    const std::string path = test::tempDir() + "/empty.safetensors";
    ASSERT_TRUE(saveModel(m, path).ok());
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    expectSame(m, *back);
    EXPECT_EQ(readBytes(path).size(), 16u);  // 8-byte length + "{}" padded to 8
}

TEST(SafetensorsFormat, DetectedByMagicWhateverTheExtension) {
    const std::string path = test::tempDir() + "/weights.bin";
    ASSERT_TRUE(makeSafetensorsExporter()->save(makeCheckpoint(), path).ok());
    auto imp = ImporterRegistry::instance().detect(path);
    ASSERT_TRUE(imp.ok()) << imp.error().what();
    EXPECT_EQ((*imp)->name(), "safetensors");
}

TEST(SafetensorsFormat, NonStringMetadataIsWrittenAsJsonText) {
    Model m = makeCheckpoint();
    m.metadata.emplace_back("layers", MetaValue::ofInt(MetaValue::Type::U32, 2));
    MetaValue arr;
    arr.type = MetaValue::Type::Array;
    arr.arrayType = MetaValue::Type::String;
    arr.strings = {"a", "b\"c"};
    m.metadata.emplace_back("tokens", arr);
    const std::string path = test::tempDir() + "/meta.safetensors";
    ASSERT_TRUE(saveModel(m, path).ok());
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->meta("layers")->s, "2");
    EXPECT_EQ(back->meta("tokens")->s, R"(["a","b\"c"])");
}

TEST(SafetensorsFormat, ExporterRefusesTypesTheFormatCannotName) {
    Model m = makeCheckpoint();
    std::vector<float> x(64, 0.5f);
    std::vector<uint8_t> q(static_cast<size_t>(dtypeStorageBytes(DType::Q4_0, 64)));
    m.graph.addInitializer("blk.0.ffn_up.weight", std::move(Tensor::fromBytes(DType::Q4_0, {2, 32}, q)).value());
    const std::string path = test::tempDir() + "/q.safetensors";
    auto st = saveModel(m, path);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::Unsupported);
    EXPECT_MSG(st.error(), "blk.0.ffn_up.weight");
    EXPECT_MSG(st.error(), "q4_0");
    EXPECT_MSG(st.error(), "q.safetensors");
    EXPECT_FALSE(std::filesystem::exists(path)) << "no half-written file is left behind";
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
        EXPECT_EQ(e.path().string().find(".tmp-by"), std::string::npos) << e.path();

    Model p;
    p.graph.addInitializer("packed", std::move(Tensor::zeros(DType::Int4, {8})).value());
    st = saveModel(p, path);
    ASSERT_FALSE(st.ok());
    EXPECT_MSG(st.error(), "'packed'");
}

TEST(SafetensorsFormat, TruncatedAnywhereGivesAClearError) {
    const std::string path = test::tempDir() + "/full.safetensors";
    ASSERT_TRUE(saveModel(makeCheckpoint(), path).ok());
    const std::string bytes = readBytes(path);
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    std::vector<size_t> cuts;
    for (size_t i = 0; i < 8 + n + 64; ++i) cuts.push_back(i);  // every byte of the header
    for (size_t i = 8 + n + 64; i < bytes.size(); i += 97) cuts.push_back(i);
    cuts.push_back(bytes.size() - 1);
    for (size_t cut : cuts) {
        const Error e = loadError(bytes.substr(0, cut), "cut.safetensors");
        ASSERT_FALSE(e.message.empty()) << "cut at " << cut;
        if (cut == 0) EXPECT_MSG(e, "empty");
        else if (cut < 8) EXPECT_MSG(e, "too short");
        else if (cut < 8 + n) EXPECT_MSG(e, "header length");
        else EXPECT_MSG(e, "data_offsets");
    }
}

TEST(SafetensorsFormat, HugeHeaderLengthIsRejected) {
    const std::string path = test::tempDir() + "/huge.safetensors";
    {
        std::ofstream out(path, std::ios::binary);
        const uint64_t n = 200ull << 20;
        out.write(reinterpret_cast<const char*>(&n), 8);
        out << "{";
    }
    std::filesystem::resize_file(path, (200ull << 20) + 64);  // sparse: no disk used
    auto m = loadModel(path);
    ASSERT_FALSE(m.ok());
    EXPECT_MSG(m.error(), "100 MB");
    EXPECT_MSG(m.error(), "huge.safetensors");
}

TEST(SafetensorsFormat, BrokenHeadersNameTheTensorAndField) {
    const std::string d8(8, '\0');
    struct Case {
        std::string header, data;
        ErrorCode code;
        std::vector<std::string> expect;
    };
    const std::vector<Case> cases = {
        {R"({"w": )", d8, ErrorCode::Format, {"JSON header is malformed"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},})", d8, ErrorCode::Format, {"malformed"}},
        {R"([1, 2])", d8, ErrorCode::Format, {"not a JSON object"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}} x)", d8, ErrorCode::Format, {"malformed"}},
        {"{\"w\xff\": 1}", d8, ErrorCode::Format, {"malformed", "UTF-8"}},
        {R"({"w": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}})", d8, ErrorCode::Unsupported, {"tensor 'w'", "field 'dtype'", "'Q9'"}},
        {R"({"w": {"dtype": 3, "shape": [2], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"tensor 'w'", "field 'dtype'", "not a string"}},
        {R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"tensor 'w'", "field 'dtype' is missing"}},
        {R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"tensor 'w'", "field 'shape' is missing"}},
        {R"({"w": {"dtype": "F32", "shape": [2]}})", d8, ErrorCode::Format, {"tensor 'w'", "field 'data_offsets' is missing"}},
        {R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"tensor 'w'", "field 'shape'", "negative"}},
        {R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"field 'shape'", "not an integer"}},
        {R"({"w": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"field 'shape'", "not an array"}},
        {R"({"w": {"dtype": "F32", "shape": [[2]], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"field 'shape'", "holds an array"}},
        {R"({"w": {"dtype": "F32", "shape": [1152921504606846976], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"field 'shape'", "absurdly large"}},
        {R"({"w": {"dtype": "F32", "shape": [281474976710656, 281474976710656], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"field 'shape'", "64 bits"}},
        {R"({"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})", d8, ErrorCode::Format, {"field 'shape'", "dimensions"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 800]}})", d8, ErrorCode::Format, {"tensor 'w'", "field 'data_offsets'", "past the end"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", d8, ErrorCode::Format, {"field 'data_offsets'", "ends before it begins"}},
        {R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", d8, ErrorCode::Format, {"field 'data_offsets'", "needs 12"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", d8, ErrorCode::Format, {"field 'data_offsets'", "expected 2"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}})", d8, ErrorCode::Format, {"field 'data_offsets'", "more than 2"}},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 18446744073709551615]}})", d8, ErrorCode::Format, {"field 'data_offsets'", "past the end"}},
        {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
         d8, ErrorCode::Format, {"tensor 'b'", "overlaps tensor 'a'"}},
        {R"({"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "w": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}})",
         d8, ErrorCode::Format, {"'w' appears twice"}},
        {R"({"w": {"dtype": "U8", "dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})", d8, ErrorCode::Format, {"field 'dtype' appears twice"}},
        {R"({"w": [1, 2]})", d8, ErrorCode::Format, {"tensor 'w'", "not an object"}},
        {R"({"__metadata__": {"k": 1}})", d8, ErrorCode::Format, {"__metadata__", "'k'", "not a string"}},
        {R"({"__metadata__": ["k"]})", d8, ErrorCode::Format, {"__metadata__", "not an object"}},
        {R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "__metadata__": {}, "__metadata__": {}})", d8,
         ErrorCode::Format, {"field '__metadata__' appears twice"}},
        {"", "", ErrorCode::Format, {"malformed"}},
    };
    for (const auto& c : cases) {
        const Error e = loadError(rawFile(c.header, c.data));
        EXPECT_EQ(e.code, c.code) << e.what();
        for (const auto& text : c.expect) EXPECT_MSG(e, text) << "\n  header: " << c.header;
    }
    // Header length past the end of the file.
    std::string bad = rawFile(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})", "x");
    bad[0] = static_cast<char>(0xff);
    EXPECT_MSG(loadError(bad), "header length");
    EXPECT_MSG(loadError("abc"), "too short");
}

TEST(SafetensorsFormat, FuzzSeedsLoad) {
    const std::string dir = test::dataDir() + "/safetensors";
    if (std::getenv("BY_WRITE_SEEDS")) {
        std::filesystem::create_directories(dir);
        Model small = makeCheckpoint(12, 8);
        ASSERT_TRUE(saveModel(small, dir + "/checkpoint.safetensors").ok());
        Model empty;
        empty.metadata.emplace_back("format", MetaValue::ofString("pt"));
        ASSERT_TRUE(saveModel(empty, dir + "/metadata_only.safetensors").ok());
        writeBytes(dir + "/hand_written.safetensors",
                   rawFile(R"({"b": {"dtype":"BF16","shape":[2,2],"data_offsets":[0,8],"x":[1,{}]}, "a": {"dtype":"I64","shape":[],"data_offsets":[8,16]}})",
                           std::string(16, '\x11')));
    }
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " is missing (run with BY_WRITE_SEEDS=1 to write the seeds)";
    int count = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        ++count;
        EXPECT_LT(e.file_size(), 100u * 1024) << e.path();
        auto m = loadModel(e.path().string());
        EXPECT_TRUE(m.ok()) << e.path() << ": " << m.error().what();
    }
    EXPECT_GE(count, 3) << "fuzz seeds missing in " << dir << " (run with BY_WRITE_SEEDS=1 to write them)";
}
