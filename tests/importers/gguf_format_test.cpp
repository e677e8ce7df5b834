#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "engine/mapped_file.h"
#include "engine/model_compare.h"
#include "engine/quant_blocks.h"
#include "importers/importer.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

using namespace by;
using MT = MetaValue::Type;

namespace {

std::string readBytes(const std::string& path) { return std::move(readWholeFile(path)).value(); }

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<float> randomFloats(size_t n, uint32_t seed, float sigma = 0.02f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

// A tensor of `dt` holding seeded random weights; block types go through quantizeBlocks.
Tensor weights(DType dt, const Shape& shape, uint32_t seed) {
    const auto n = static_cast<size_t>(shapeNumel(shape));
    const auto f = randomFloats(n, seed);
    std::vector<uint8_t> bytes(static_cast<size_t>(dtypeStorageBytes(dt, static_cast<int64_t>(n))));
    if (dt == DType::F32) {
        std::memcpy(bytes.data(), f.data(), bytes.size());
    } else if (dt == DType::F16) {
        for (size_t i = 0; i < n; ++i) {
            const uint16_t h = floatToHalf(f[i]);
            std::memcpy(&bytes[i * 2], &h, 2);
        }
    } else if (dt == DType::Q4_0 || dt == DType::Q8_0) {
        EXPECT_TRUE(quantizeBlocks(dt, f.data(), static_cast<int64_t>(n), bytes.data()).ok());
    } else {
        std::mt19937 rng(seed);
        for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    }
    return std::move(Tensor::fromBytes(dt, shape, std::move(bytes))).value();
}

MetaValue u32(uint32_t v) { return MetaValue::ofInt(MT::U32, v); }
MetaValue f32(float v) { return MetaValue::ofFloat(MT::F32, v); }
MetaValue str(std::string s) { return MetaValue::ofString(std::move(s)); }
MetaValue array(MT elem) {
    MetaValue m;
    m.type = MT::Array;
    m.arrayType = elem;
    return m;
}

// A GPT-2 layout the way llama.cpp's converter writes it: architecture hyper-parameters, a BPE
// vocabulary with token types and merges, F32 norms, F16 embeddings, Q8_0/Q4_0 matrices.
Model makeGpt2(int vocab, int embd = 64, int blocks = 2, uint32_t alignment = 0, bool allTypes = true) {
    Model m;
    m.format = "gguf";
    auto& md = m.metadata;
    md.emplace_back("general.architecture", str("gpt2"));
    md.emplace_back("general.name", str("tiny-gpt2"));
    if (alignment) md.emplace_back("general.alignment", u32(alignment));
    md.emplace_back("gpt2.context_length", u32(32));
    md.emplace_back("gpt2.embedding_length", u32(static_cast<uint32_t>(embd)));
    md.emplace_back("gpt2.feed_forward_length", u32(static_cast<uint32_t>(4 * embd)));
    md.emplace_back("gpt2.block_count", u32(static_cast<uint32_t>(blocks)));
    md.emplace_back("gpt2.attention.head_count", u32(4));
    md.emplace_back("gpt2.attention.layer_norm_epsilon", f32(1e-5f));
    md.emplace_back("general.file_type", u32(7));
    md.emplace_back("tokenizer.ggml.model", str("gpt2"));
    MetaValue tokens = array(MT::String), types = array(MT::I32), merges = array(MT::String);
    for (int i = 0; i < vocab; ++i) {
        tokens.strings.push_back(i < 256 ? std::string(1, static_cast<char>('!' + i % 90)) + std::to_string(i)
                                         : "\xc4\xa0tok" + std::to_string(i));
        types.ints.push_back(i == vocab - 1 ? 3 : 1);
    }
    for (int i = 0; i + 1 < vocab && i < vocab / 2; ++i) merges.strings.push_back(tokens.strings[i] + " " + tokens.strings[i + 1]);
    md.emplace_back("tokenizer.ggml.tokens", tokens);
    md.emplace_back("tokenizer.ggml.token_type", types);
    md.emplace_back("tokenizer.ggml.merges", merges);
    md.emplace_back("tokenizer.ggml.bos_token_id", u32(static_cast<uint32_t>(vocab - 1)));
    md.emplace_back("tokenizer.ggml.eos_token_id", u32(static_cast<uint32_t>(vocab - 1)));
    if (allTypes) {
        md.emplace_back("test.u8", MetaValue::ofInt(MT::U8, 255));
        md.emplace_back("test.i8", MetaValue::ofInt(MT::I8, -128));
        md.emplace_back("test.u16", MetaValue::ofInt(MT::U16, 65535));
        md.emplace_back("test.i16", MetaValue::ofInt(MT::I16, -32768));
        md.emplace_back("test.i32", MetaValue::ofInt(MT::I32, std::numeric_limits<int32_t>::min()));
        md.emplace_back("test.u64", MetaValue::ofInt(MT::U64, -1));  // 2^64-1, bit for bit
        md.emplace_back("test.i64", MetaValue::ofInt(MT::I64, std::numeric_limits<int64_t>::min()));
        md.emplace_back("test.f64", MetaValue::ofFloat(MT::F64, 0.1));
        md.emplace_back("test.bool", MetaValue::ofInt(MT::Bool, 1));
        md.emplace_back("test.empty_string", str(""));
        MetaValue scores = array(MT::F32);
        scores.floats = {0.0, -1.5, static_cast<double>(1e30f), -0.0};  // f32 values
        md.emplace_back("test.f32_array", scores);
        MetaValue empty = array(MT::U64);
        md.emplace_back("test.empty_array", empty);
        MetaValue nested = array(MT::Array);
        MetaValue a = array(MT::I16);
        a.ints = {1, -2};
        MetaValue b = array(MT::String);
        b.strings = {"x"};
        MetaValue c = array(MT::Array);
        c.items.push_back(array(MT::Bool));
        c.items[0].ints = {1, 0, 1};
        nested.items = {a, b, c};
        md.emplace_back("test.nested", nested);
    }

    uint32_t seed = 1;
    auto add = [&](const std::string& name, DType dt, const Shape& s) { m.graph.addInitializer(name, weights(dt, s, seed++)); };
    add("token_embd.weight", DType::F16, {vocab, embd});
    add("position_embd.weight", DType::F32, {32, embd});
    for (int l = 0; l < blocks; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        add(p + "attn_norm.weight", DType::F32, {embd});
        add(p + "attn_norm.bias", DType::F32, {embd});
        add(p + "attn_qkv.weight", DType::Q8_0, {3 * embd, embd});
        add(p + "attn_qkv.bias", DType::F32, {3 * embd});
        add(p + "attn_output.weight", DType::Q4_0, {embd, embd});
        add(p + "attn_output.bias", DType::F32, {embd});
        add(p + "ffn_norm.weight", DType::F32, {embd});
        add(p + "ffn_norm.bias", DType::F32, {embd});
        add(p + "ffn_up.weight", DType::Q4_0, {4 * embd, embd});
        add(p + "ffn_up.bias", DType::F32, {4 * embd});
        add(p + "ffn_down.weight", DType::Q8_0, {embd, 4 * embd});
        add(p + "ffn_down.bias", DType::F32, {embd});
    }
    add("output_norm.weight", DType::F32, {embd});
    add("output_norm.bias", DType::F32, {embd});
    add("output.weight", DType::Q8_0, {vocab, embd});
    return m;
}

void expectSame(const Model& a, const Model& b) {
    const auto diff = firstDifference(a, b);
    EXPECT_FALSE(diff.has_value()) << *diff;
}

// Raw GGUF bytes for hand-made (and deliberately broken) files.
struct Raw {
    std::string b;
    template <class T>
    Raw& pod(T v) {
        b.append(reinterpret_cast<const char*>(&v), sizeof(T));
        return *this;
    }
    Raw& str(const std::string& s) {
        pod<uint64_t>(s.size());
        b += s;
        return *this;
    }
    Raw& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
        b += "GGUF";
        pod<uint32_t>(version).pod<uint64_t>(tensors).pod<uint64_t>(kvs);
        return *this;
    }
    Raw& kvU32(const std::string& k, uint32_t v) { return str(k).pod<uint32_t>(4).pod<uint32_t>(v); }
    Raw& kvStr(const std::string& k, const std::string& v) { return str(k).pod<uint32_t>(8).str(v); }
    // n_dims = ne.size()
    Raw& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name).pod<uint32_t>(static_cast<uint32_t>(ne.size()));
        for (auto d : ne) pod<uint64_t>(d);
        return pod<uint32_t>(type).pod<uint64_t>(offset);
    }
    Raw& alignTo(size_t a) {
        b.resize((b.size() + a - 1) / a * a, '\0');
        return *this;
    }
    Raw& data(size_t n, char c = '\x01') {
        b.append(n, c);
        return *this;
    }
};

Error loadError(const std::string& bytes, const std::string& name = "broken.gguf") {
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

TEST(GgufFormat, Gpt2RoundTripIsExactAndLazy) {
    const Model m = makeGpt2(300);
    const std::string path = test::tempDir() + "/gpt2.gguf";
    auto st = saveModel(m, path);
    ASSERT_TRUE(st.ok()) << st.error().what();
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->format, "gguf");
    expectSame(m, *back);
    for (const auto& v : back->graph.values) {
        ASSERT_TRUE(v.data.has_value()) << v.name;
        EXPECT_TRUE(v.data->isMapped()) << v.name;
    }
    // Exact types survive, u64 bit for bit.
    EXPECT_EQ(back->meta("test.u64")->type, MT::U64);
    EXPECT_EQ(static_cast<uint64_t>(back->meta("test.u64")->i), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(back->meta("gpt2.attention.layer_norm_epsilon")->f, static_cast<double>(1e-5f));
    EXPECT_EQ(back->meta("tokenizer.ggml.tokens")->strings.size(), 300u);
    EXPECT_EQ(back->meta("test.nested")->items[2].items[0].ints, (std::vector<int64_t>{1, 0, 1}));
}

TEST(GgufFormat, ReExportIsByteIdentical) {
    const std::string dir = test::tempDir();
    ASSERT_TRUE(saveModel(makeGpt2(200, 64, 2, 64), dir + "/a.gguf").ok());
    auto a = loadModel(dir + "/a.gguf");
    ASSERT_TRUE(a.ok()) << a.error().what();
    ASSERT_TRUE(saveModel(*a, dir + "/b.gguf").ok());
    EXPECT_EQ(readBytes(dir + "/a.gguf"), readBytes(dir + "/b.gguf"));
}

TEST(GgufFormat, NanPayloadsSurviveReExport) {
    Model m;
    const uint32_t signalling = 0x7f800001u;  // a cast to double would quiet this NaN
    MetaValue arr = array(MT::F32);
    arr.floats = {std::nan(""), 1.0};
    m.metadata.emplace_back("x.nan", arr);
    const std::string dir = test::tempDir();
    const std::string raw = Raw().header(0, 1).str("x.snan").pod<uint32_t>(6).pod<uint32_t>(signalling).b;
    writeBytes(dir + "/a.gguf", raw);
    auto a = loadModel(dir + "/a.gguf");
    ASSERT_TRUE(a.ok()) << a.error().what();
    ASSERT_TRUE(saveModel(*a, dir + "/b.gguf").ok());
    const std::string b = readBytes(dir + "/b.gguf");
    ASSERT_GE(b.size(), raw.size());
    EXPECT_EQ(b.substr(0, raw.size()), raw);
    ASSERT_TRUE(saveModel(m, dir + "/c.gguf").ok());
    auto c = loadModel(dir + "/c.gguf");
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(std::isnan(c->meta("x.nan")->floats[0]));
}

TEST(GgufFormat, ShapeIsNeReversedAndDataIsRead) {
    // ne = [4, 2]: two rows of four in ggml's order, [2, 4] row-major.
    Raw r;
    r.header(1, 1).kvStr("general.architecture", "test").tensor("w", {4, 2}, 0, 0).alignTo(32);
    for (int i = 0; i < 8; ++i) r.pod<float>(static_cast<float>(i));
    const std::string path = test::tempDir() + "/shape.gguf";
    writeBytes(path, r.b);
    auto m = loadModel(path);
    ASSERT_TRUE(m.ok()) << m.error().what();
    const Tensor& t = *m->graph.values.at(0).data;
    EXPECT_EQ(t.shape(), (Shape{2, 4}));
    EXPECT_EQ(*t.toFloats(), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(GgufFormat, AlignmentIsHonoured) {
    const std::string path = test::tempDir() + "/aligned.gguf";
    ASSERT_TRUE(saveModel(makeGpt2(50, 32, 1, 128), path).ok());
    auto m = loadModel(path);
    ASSERT_TRUE(m.ok()) << m.error().what();
    const std::string bytes = readBytes(path);
    for (const auto& v : m->graph.values) {
        const size_t off = bytes.find(std::string(reinterpret_cast<const char*>(v.data->rawData()), v.data->nbytes()));
        ASSERT_NE(off, std::string::npos) << v.name;
        EXPECT_EQ(off % 128, 0u) << v.name;
    }
    EXPECT_EQ(bytes.size() % 128, 0u);
}

TEST(GgufFormat, QuantizedWeightsDecode) {
    const Model m = makeGpt2(64, 64, 1, 0, false);
    const std::string path = test::tempDir() + "/q.gguf";
    ASSERT_TRUE(saveModel(m, path).ok());
    auto back = loadModel(path);
    ASSERT_TRUE(back.ok());
    const int id = back->graph.findValue("blk.0.attn_qkv.weight");
    ASSERT_GE(id, 0);
    const Tensor& t = *back->graph.values[static_cast<size_t>(id)].data;
    EXPECT_EQ(t.dtype(), DType::Q8_0);
    EXPECT_EQ(t.shape(), (Shape{192, 64}));
    auto vals = t.toFloats();
    ASSERT_TRUE(vals.ok());
    // Same seed as makeGpt2 gave this tensor (the fifth added).
    const auto ref = randomFloats(192 * 64, 5);
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR((*vals)[i], ref[i], 0.001f) << i;
    auto stats = computeStats(t);
    ASSERT_TRUE(stats.ok());
    EXPECT_NEAR(stats->stddev, 0.02, 0.003);
}

TEST(GgufFormat, LargeVocabularyRoundTrips) {
    const Model m = makeGpt2(50257, 32, 1, 0, false);
    const std::string path = test::tempDir() + "/vocab.gguf";
    ASSERT_TRUE(saveModel(m, path).ok());
    const auto t0 = std::chrono::steady_clock::now();
    auto back = loadModel(path);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(back.ok()) << back.error().what();
    expectSame(m, *back);
    RecordProperty("load_ms", std::to_string(ms));
}

TEST(GgufFormat, Version2IsAccepted) {
    const std::string dir = test::tempDir();
    ASSERT_TRUE(saveModel(makeGpt2(40, 32, 1), dir + "/v3.gguf").ok());
    std::string bytes = readBytes(dir + "/v3.gguf");
    bytes[4] = 2;
    writeBytes(dir + "/v2.gguf", bytes);
    auto m = loadModel(dir + "/v2.gguf");
    ASSERT_TRUE(m.ok()) << m.error().what();
    expectSame(makeGpt2(40, 32, 1), *m);
}

TEST(GgufFormat, SafetensorsWeightsConvertToGguf) {
    Model st;
    st.format = "safetensors";
    st.metadata.emplace_back("format", str("pt"));
    st.graph.addInitializer("wte", weights(DType::F16, {10, 8}, 3));
    st.graph.addInitializer("ln.bias", weights(DType::F32, {8}, 4));
    const std::string dir = test::tempDir();
    ASSERT_TRUE(saveModel(st, dir + "/w.safetensors").ok());
    auto in = loadModel(dir + "/w.safetensors");
    ASSERT_TRUE(in.ok());
    ASSERT_TRUE(saveModel(*in, dir + "/w.gguf").ok());
    auto out = loadModel(dir + "/w.gguf");
    ASSERT_TRUE(out.ok()) << out.error().what();
    EXPECT_EQ(out->format, "gguf");
    expectSame(*in, *out);
}

TEST(GgufFormat, ExporterRefusesWhatGgufCannotHold) {
    const std::string path = test::tempDir() + "/bad.gguf";
    {
        Model m = makeGpt2(20, 32, 1, 0, false);
        m.graph.addInitializer("mask", std::move(Tensor::zeros(DType::U8, {4})).value());
        auto st = saveModel(m, path);
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().code, ErrorCode::Unsupported);
        EXPECT_MSG(st.error(), "tensor 'mask'");
        EXPECT_MSG(st.error(), "bad.gguf");
    }
    {
        Model m;
        m.metadata.emplace_back("x.small", MetaValue::ofInt(MT::U8, 300));
        auto st = saveModel(m, path);
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().code, ErrorCode::Invalid);
        EXPECT_MSG(st.error(), "key 'x.small'");
        EXPECT_MSG(st.error(), "300");
    }
    {
        Model m;
        m.metadata.emplace_back("general.alignment", u32(48));
        auto st = saveModel(m, path);
        ASSERT_FALSE(st.ok());
        EXPECT_MSG(st.error(), "general.alignment");
    }
    {
        Model m;
        MetaValue a = array(MT::I32);
        a.strings = {"oops"};
        m.metadata.emplace_back("x.mixed", a);
        auto st = saveModel(m, path);
        ASSERT_FALSE(st.ok());
        EXPECT_MSG(st.error(), "x.mixed");
    }
    {
        Model m;
        m.graph.addInitializer("rows", std::move(Tensor::zeros(DType::Q4_0, {32, 2})).value());  // ne[0] = 2
        // zeros() accepts it (64 elements = 2 blocks) but a ggml row must be whole blocks.
        auto st = saveModel(m, path);
        ASSERT_FALSE(st.ok());
        EXPECT_MSG(st.error(), "tensor 'rows'");
        EXPECT_MSG(st.error(), "block size");
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GgufFormat, TruncatedAnywhereGivesAClearError) {
    const std::string path = test::tempDir() + "/full.gguf";
    ASSERT_TRUE(saveModel(makeGpt2(24, 32, 1), path).ok());
    const std::string bytes = readBytes(path);
    auto m = loadModel(path);
    ASSERT_TRUE(m.ok());
    auto where = [&](const Tensor& t) { return bytes.find(std::string(reinterpret_cast<const char*>(t.rawData()), t.nbytes())); };
    const size_t dataStart = where(*m->graph.values[0].data);
    ASSERT_NE(dataStart, std::string::npos);
    std::vector<size_t> cuts;
    for (size_t i = 0; i < dataStart; ++i) cuts.push_back(i);  // every byte of the header
    for (size_t i = dataStart; i < bytes.size(); i += 61) cuts.push_back(i);
    // The last tensor's own padding is not needed to read it: stop before the data ends.
    const Tensor& last = *m->graph.values.back().data;
    const size_t lastEnd = where(last) + last.nbytes();
    cuts.push_back(lastEnd - 1);
    for (size_t cut : cuts) {
        if (cut >= lastEnd) continue;
        const Error e = loadError(bytes.substr(0, cut), "cut.gguf");
        ASSERT_FALSE(e.message.empty()) << "cut at " << cut;
        EXPECT_EQ(e.code, ErrorCode::Format);
        const bool clear = e.message.find("truncated") != std::string::npos || e.message.find("past the end") != std::string::npos ||
                           e.message.find("too short") != std::string::npos || e.message.find("remain") != std::string::npos ||
                           e.message.find("can hold") != std::string::npos || (cut == 0 && e.message.find("empty") != std::string::npos);
        EXPECT_TRUE(clear) << "cut at " << cut << ": " << e.what();
    }
}

TEST(GgufFormat, BrokenHeadersNameTheFieldAndFailFast) {
    const uint64_t huge = uint64_t(1) << 60;
    struct Case {
        std::string bytes;
        ErrorCode code;
        std::vector<std::string> expect;
    };
    auto withTensor = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t dataBytes) {
        return Raw().header(1, 1).kvStr("general.architecture", "llama").tensor("blk.0.attn_q.weight", ne, type, offset).alignTo(32).data(dataBytes).b;
    };
    const std::vector<Case> cases = {
        {"GGML" + std::string(20, '\0'), ErrorCode::Format, {"field 'magic'", "47 47 4d 4c"}},
        {Raw().header(0, 0, 1).b, ErrorCode::Unsupported, {"version 1"}},
        {Raw().header(0, 0, 7).b, ErrorCode::Unsupported, {"field 'version' is 7"}},
        {Raw().header(0, 0, 0).b, ErrorCode::Unsupported, {"field 'version' is 0"}},
        {Raw().header(0, 0, 0x03000000).b, ErrorCode::Unsupported, {"big-endian"}},
        {Raw().header(huge, 0).b, ErrorCode::Format, {"field 'tensor_count'", "1152921504606846976"}},
        {Raw().header(0, huge).b, ErrorCode::Format, {"field 'kv_count'"}},
        {Raw().header(0, 1).pod<uint64_t>(huge).b + std::string(16, 'a'), ErrorCode::Format, {"key/value #0", "field 'key'", "claims"}},
        {Raw().header(0, 1).str("general.name").pod<uint32_t>(8).pod<uint64_t>(1000).b + "abc", ErrorCode::Format, {"key 'general.name'", "field 'value'"}},
        {Raw().header(0, 1).str("x.t").pod<uint32_t>(13).pod<uint32_t>(0).b, ErrorCode::Format, {"key 'x.t'", "field 'value type' is 13"}},
        {Raw().header(0, 1).str("tokenizer.ggml.tokens").pod<uint32_t>(9).pod<uint32_t>(8).pod<uint64_t>(huge).b, ErrorCode::Format,
         {"key 'tokenizer.ggml.tokens'", "field 'array count'"}},
        {Raw().header(0, 1).str("x.a").pod<uint32_t>(9).pod<uint32_t>(20).pod<uint64_t>(1).b, ErrorCode::Format, {"key 'x.a'", "field 'array type' is 20"}},
        {Raw().header(0, 2).kvU32("x.k", 1).kvU32("x.k", 2).b, ErrorCode::Format, {"key 'x.k'", "twice"}},
        {Raw().header(0, 1).kvStr("general.alignment", "32").b, ErrorCode::Format, {"key 'general.alignment'", "expected u32"}},
        {Raw().header(0, 1).kvU32("general.alignment", 24).b, ErrorCode::Format, {"key 'general.alignment'", "power of two"}},
        {withTensor({8, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 0, 64), ErrorCode::Format, {"tensor 'blk.0.attn_q.weight'", "field 'n_dims' is 9"}},
        {withTensor({1ull << 40, 1ull << 40}, 0, 0, 64), ErrorCode::Format, {"tensor 'blk.0.attn_q.weight'", "field 'ne'", "64 bits"}},
        {withTensor({uint64_t(-1)}, 0, 0, 64), ErrorCode::Format, {"field 'ne[0]'"}},
        {withTensor({33, 2}, 2, 0, 64), ErrorCode::Format, {"tensor 'blk.0.attn_q.weight'", "field 'ne[0]' is 33", "q4_0 block size (32)"}},
        {withTensor({32}, 4, 0, 64), ErrorCode::Unsupported, {"tensor 'blk.0.attn_q.weight'", "field 'type' is 4", "Q4_2", "removed"}},
        {withTensor({32}, 32, 0, 64), ErrorCode::Unsupported, {"field 'type' is 32", "removed"}},
        {withTensor({32}, 99, 0, 64), ErrorCode::Unsupported, {"field 'type' is 99"}},
        {withTensor({4}, 0, 8, 64), ErrorCode::Format, {"field 'offset' is 8", "alignment (32)"}},
        {withTensor({4}, 0, 64, 64), ErrorCode::Format, {"tensor 'blk.0.attn_q.weight'", "field 'offset'", "past the end of the data section (64 bytes)"}},
        {withTensor({4}, 0, huge, 64), ErrorCode::Format, {"field 'offset'", "past the end"}},
        {withTensor({1024}, 0, 0, 64), ErrorCode::Format, {"field 'offset'", "past the end"}},
        {Raw().header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).alignTo(32).data(128).b, ErrorCode::Format,
         {"tensor 'b'", "overlaps tensor 'a'"}},
        {Raw().header(2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).alignTo(32).data(64).b, ErrorCode::Format, {"tensor 'a'", "twice"}},
        {Raw().header(1, 0).str(std::string(20, 't')).pod<uint32_t>(2).pod<uint64_t>(4).b, ErrorCode::Format,
         {"tensor 'tttttttttttttttttttt'", "field 'ne[1]'", "truncated"}},
    };
    for (const auto& c : cases) {
        const auto t0 = std::chrono::steady_clock::now();
        const Error e = loadError(c.bytes);
        EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "must fail fast: " << e.what();
        EXPECT_EQ(e.code, c.code) << e.what();
        for (const auto& text : c.expect) EXPECT_MSG(e, text);
    }
    // Arrays nested past the limit.
    Raw deep;
    deep.header(0, 1).str("x.deep").pod<uint32_t>(9);
    for (int i = 0; i < 40; ++i) deep.pod<uint32_t>(9).pod<uint64_t>(1);
    deep.pod<uint32_t>(0).pod<uint64_t>(0);
    EXPECT_MSG(loadError(deep.b), "nested");
    EXPECT_MSG(loadError("GG"), "too short");
}

TEST(GgufFormat, FuzzSeedsLoad) {
    const std::string dir = test::dataDir() + "/gguf";
    if (std::getenv("BY_WRITE_SEEDS")) {
        std::filesystem::create_directories(dir);
        ASSERT_TRUE(saveModel(makeGpt2(20, 32, 1), dir + "/gpt2_tiny.gguf").ok());
        ASSERT_TRUE(saveModel(makeGpt2(16, 32, 1, 64, false), dir + "/aligned64.gguf").ok());
        Model k;
        k.metadata.emplace_back("general.architecture", str("llama"));
        uint32_t seed = 100;
        for (DType dt : {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::Q4_1,
                         DType::Q5_0, DType::Q5_1, DType::Q8_1, DType::IQ4_NL, DType::IQ4_XS, DType::TQ2_0, DType::BF16,
                         DType::I8, DType::I16, DType::I32, DType::I64, DType::F64})
            k.graph.addInitializer(std::string("t.") + dtypeName(dt), weights(dt, {1, dtypeInfo(dt).blockElems == 1 ? 4 : dtypeInfo(dt).blockElems}, seed++));
        ASSERT_TRUE(saveModel(k, dir + "/all_types.gguf").ok());
        std::string v2 = readBytes(dir + "/aligned64.gguf");
        v2[4] = 2;
        writeBytes(dir + "/aligned64.gguf", v2);
    }
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " is missing (run with BY_WRITE_SEEDS=1 to write the seeds)";
    int count = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        ++count;
        EXPECT_LT(e.file_size(), 100u * 1024) << e.path();
        auto m = loadModel(e.path().string());
        ASSERT_TRUE(m.ok()) << e.path() << ": " << m.error().what();
        for (const auto& v : m->graph.values) {
            auto f = v.data->toFloats();
            EXPECT_TRUE(f.ok()) << e.path() << " " << v.name << ": " << f.error().what();
        }
    }
    EXPECT_GE(count, 3) << "fuzz seeds missing in " << dir << " (run with BY_WRITE_SEEDS=1 to write them)";
}
