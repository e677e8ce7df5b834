#include "importers/tokenizer_files.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "importers/importer_registry.h"
#include "tests/test_support.h"

namespace by {
namespace {

const BpeTokenizer& gpt2() {
    static BpeTokenizer tok = [] {
        auto t = loadGpt2TokenizerFiles(test::asset("tokenizers/gpt2"));
        if (!t.ok()) {
            ADD_FAILURE() << t.error().what();
            return BpeTokenizer::create({}, {}).value();
        }
        return std::move(t).value();
    }();
    return tok;
}

// Ids produced by npm gpt-3-encoder 1.1.4's own encode() for the same strings.
TEST(Gpt2Tokenizer, MatchesReferenceIds) {
    const auto& tok = gpt2();
    ASSERT_EQ(tok.vocabSize(), 50257u);
    ASSERT_EQ(tok.mergeCount(), 50000u);
    EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
    EXPECT_EQ(tok.encode("I'll see you   tomorrow, won't I?\n\nYes!"),
              (std::vector<int32_t>{40, 1183, 766, 345, 220, 220, 9439, 11, 1839, 470, 314, 30, 198, 198, 5297, 0}));
    EXPECT_EQ(tok.encode("naïve café – 42 ½ résumé"),
              (std::vector<int32_t>{2616, 38776, 40304, 784, 5433, 25208, 40560, 16345, 2634}));
    EXPECT_EQ(tok.encode("  leading spaces\tand\ttabs  "),
              (std::vector<int32_t>{220, 3756, 9029, 197, 392, 197, 8658, 82, 220, 220}));
    EXPECT_EQ(tok.encode("Price: $1,234.56 (approx.)"),
              (std::vector<int32_t>{18124, 25, 720, 16, 11, 24409, 13, 3980, 357, 1324, 13907, 2014}));
}

TEST(Gpt2Tokenizer, RoundTripsRealText) {
    std::ifstream in(test::asset("data/lm/test.txt"), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str().substr(0, 200000);
    const auto& tok = gpt2();
    const auto ids = tok.encode(text);
    // English e-mail averages well under one token per 2 bytes; byte-level fallback would not.
    EXPECT_LT(ids.size(), text.size() / 2);
    auto back = tok.decode(ids);
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(*back, text);
}

TEST(Gpt2Tokenizer, DecodeRejectsOutOfRangeIds) {
    const std::vector<int32_t> ids{15496, 50257};
    auto r = gpt2().decode(ids);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("50257"), std::string::npos);
}

TEST(Gpt2Tokenizer, SurvivesGgufMetadataRoundTrip) {
    const auto& tok = gpt2();
    Model m;
    m.format = "gguf";
    m.metadata.emplace_back("general.architecture", MetaValue::ofString("gpt2"));
    for (auto& kv : gpt2TokenizerMetadata(tok, 50256)) m.metadata.push_back(std::move(kv));
    m.graph.addInitializer("dummy", Tensor::fromFloats({32}, std::vector<float>(32, 1.0f)));
    const std::string path = test::tempDir() + "/tok.gguf";
    ASSERT_TRUE(saveModel(m, path).ok());
    auto loaded = loadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().what();
    auto tok2 = tokenizerFromModelMetadata(*loaded);
    ASSERT_TRUE(tok2.ok()) << tok2.error().what();
    const std::string s = "Round trip through GGUF metadata, with ünïcödé too.";
    EXPECT_EQ(tok2->encode(s), tok.encode(s));
}

TEST(Gpt2Tokenizer, MissingFilesAndBadMergesAreErrors) {
    auto r = loadGpt2TokenizerFiles(test::tempDir() + "/nowhere");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Io);
    Model m;
    EXPECT_FALSE(tokenizerFromModelMetadata(m).ok());
    auto bad = BpeTokenizer::create(gpt2().tokens(), {"Ġ t", "nospace"});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what().find("nospace"), std::string::npos);
}

}  // namespace
}  // namespace by
