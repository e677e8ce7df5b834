// `brickyard-cli compress` on the tiny GPT's GGUF: ggml Q8_0 / Q4_0 as llama-quantize writes them
// (tensor types and bytes), the same through a recipe file, GPTQ / AWQ calibrated on the train
// split giving a model the perplexity verb runs, and bad requests refused with one sentence while
// the input file stays byte-for-byte the same.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "engine/quant_blocks.h"
#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

std::string fileBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The tiny GPT and its text are built / fetched by scripts/setup.sh; without them these tests
// cannot say anything, so they are skipped naming the missing file.
#define REQUIRE_ASSET(var, rel)                                                                       \
    const std::string var = test::cacheDir() + "/" + (rel);                                          \
    if (!fs::exists(var)) GTEST_SKIP() << var << " is missing (scripts/setup.sh builds the tiny GPT)"

const Tensor& tensorOf(const Model& m, const std::string& name) {
    const int id = m.graph.findValue(name);
    EXPECT_GE(id, 0) << name;
    return *m.graph.values[size_t(id)].data;
}

std::string run(const std::string& args, int* rc) {
    std::string out;
    *rc = test::runCommand(test::cliPath() + " " + args, &out);
    return out;
}

TEST(LmQuantizeCommand, Q4_0AndQ8_0AreLlamaQuantizeBlocks) {
    REQUIRE_ASSET(f32, "models/tiny_gpt_f32.gguf");
    const std::string before = fileBytes(f32);
    const std::string dir = test::tempDir();
    auto src = loadModel(f32);
    ASSERT_TRUE(src.ok()) << src.error().what();
    for (const std::string type : {"q4_0", "q8_0"}) {
        const std::string out = dir + "/tiny_" + type + ".gguf";
        int rc = 0;
        const std::string text = run("compress " + f32 + " --quantize " + type + " -o " + out + " --threads 2", &rc);
        ASSERT_EQ(rc, 0) << text;
        auto m = loadModel(out);
        ASSERT_TRUE(m.ok()) << m.error().what();
        const DType t = type == "q4_0" ? DType::Q4_0 : DType::Q8_0;
        const DType head = type == "q4_0" ? DType::Q6_K : DType::Q8_0;  // llama-quantize's head type
        const std::vector<std::pair<std::string, DType>> want = {{"token_embd.weight", t},       {"blk.0.attn_qkv.weight", t},
                                                                  {"blk.5.ffn_down.weight", t},   {"output.weight", head},
                                                                  {"position_embd.weight", DType::F32}, {"blk.0.attn_norm.weight", DType::F32},
                                                                  {"blk.3.ffn_up.bias", DType::F32}};
        for (const auto& [name, dt] : want) {
            const Tensor& q = tensorOf(*m, name);
            ASSERT_EQ(q.dtype(), dt) << type << " " << name;
            if (dt == DType::F32) continue;
            const Tensor& s = tensorOf(*src, name);
            std::vector<uint8_t> ref(size_t(dtypeStorageBytes(dt, s.numel())));
            ASSERT_TRUE(quantizeBlocks(dt, s.data<float>(), s.numel(), ref.data()).ok());
            EXPECT_TRUE(std::equal(ref.begin(), ref.end(), q.rawData())) << type << " " << name;
        }
        const MetaValue* ft = m->meta("general.file_type");
        ASSERT_NE(ft, nullptr);
        EXPECT_EQ(ft->i, type == "q4_0" ? 2 : 7);
        EXPECT_NE(m->meta("tokenizer.ggml.tokens"), nullptr);
    }
    EXPECT_EQ(fileBytes(f32), before);  // the input is never modified
}

TEST(LmQuantizeCommand, RecipeFileEqualsShorthand) {
    REQUIRE_ASSET(f32, "models/tiny_gpt_f32.gguf");
    const std::string dir = test::tempDir();
    {
        std::ofstream r(dir + "/q8.json");
        r << R"({"version": 1, "steps": [{"method": "quantize_ggml", "type": "q8_0"}]})";
    }
    int rc = 0;
    std::string text = run("compress " + f32 + " --recipe " + dir + "/q8.json -o " + dir + "/a.gguf", &rc);
    ASSERT_EQ(rc, 0) << text;
    text = run("compress " + f32 + " --quantize q8_0 -o " + dir + "/b.gguf", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_EQ(fileBytes(dir + "/a.gguf"), fileBytes(dir + "/b.gguf"));
}

TEST(LmQuantizeCommand, GptqAndAwqModelsRunInThePerplexityVerb) {
    REQUIRE_ASSET(f32, "models/tiny_gpt_f32.gguf");
    REQUIRE_ASSET(train, "data/lm/train.txt");
    REQUIRE_ASSET(test, "data/lm/test.txt");
    const std::string dir = test::tempDir();
    for (const std::string alg : {"gptq", "awq"}) {
        {
            std::ofstream r(dir + "/" + alg + ".json");
            r << R"({"version": 1, "steps": [{"method": "quantize_ggml", "type": "q4_0", "algorithm": ")" << alg
              << R"(", "calibration_tokens": 1024}]})";
        }
        const std::string out = dir + "/" + alg + ".gguf";
        int rc = 0;
        std::string text = run("compress " + f32 + " --recipe " + dir + "/" + alg + ".json --calibration " + train + " -o " + out, &rc);
        ASSERT_EQ(rc, 0) << text;
        EXPECT_NE(text.find("q4_0 " + alg), std::string::npos) << text;
        EXPECT_NE(text.find("that of round-to-nearest"), std::string::npos) << text;
        auto m = loadModel(out);
        ASSERT_TRUE(m.ok()) << m.error().what();
        EXPECT_EQ(tensorOf(*m, "blk.2.ffn_up.weight").dtype(), DType::Q4_0);
        EXPECT_EQ(tensorOf(*m, "output.weight").dtype(), DType::Q6_K);
        text = run("perplexity " + out + " --text " + test + " --ctx 128 --chunks 2 --base " + f32, &rc);
        ASSERT_EQ(rc, 0) << text;
        std::smatch mm;
        ASSERT_TRUE(std::regex_search(text, mm, std::regex("kl ([0-9.]+) top1 ([0-9.]+)"))) << text;
        EXPECT_GT(std::stod(mm[2]), 0.5) << text;  // mostly the same next-token choice as f32
    }
}

TEST(LmQuantizeCommand, BadRequestsAreRefusedAndTheInputKept) {
    REQUIRE_ASSET(f32, "models/tiny_gpt_f32.gguf");
    const std::string before = fileBytes(f32);
    const std::string dir = test::tempDir();
    auto recipe = [&](const std::string& name, const std::string& step) {
        std::ofstream r(dir + "/" + name);
        r << R"({"version": 1, "steps": [)" << step << "]}";
        return dir + "/" + name;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--quantize q4_0:magic", "is not understood"},
        {"--quantize int0:g32", "bits must be between 2 and 8, not 0"},
        {"--recipe " + recipe("name.json", R"({"method": "quantize_ggml", "type": "q4_0", "layers": {"names": ["blk.0.attn_qkvv.weight"]}})"),
         "no tensor named 'blk.0.attn_qkvv.weight'"},
        {"--recipe " + recipe("group.json", R"({"method": "quantize_ggml", "type": "q4_0", "group": 48})"), "so group 48 cannot be written"},
        {"--recipe " + recipe("type.json", R"({"method": "quantize_ggml", "type": "q5_0"})"), "'type' must be"},
        {"--quantize q4_0:gptq --calibration " + dir + "/none.txt", "cannot open the calibration text"},
    };
    for (const auto& [args, want] : cases) {
        int rc = 0;
        const std::string out = dir + "/never.gguf";
        const std::string text = run("compress " + f32 + " " + args + " -o " + out, &rc);
        EXPECT_NE(rc, 0) << args;
        EXPECT_NE(text.find(want), std::string::npos) << args << ": " << text;
        EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 1) << text;
        EXPECT_FALSE(fs::exists(out)) << args;
    }
    int rc = 0;
    const std::string text = run("compress " + f32 + " --quantize q4_0 -o " + f32, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(text.find("is the input model"), std::string::npos) << text;
    EXPECT_EQ(fileBytes(f32), before);
}

}  // namespace
}  // namespace by
