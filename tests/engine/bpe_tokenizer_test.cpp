#include "engine/bpe_tokenizer.h"

#include <gtest/gtest.h>

namespace by {
namespace {

TEST(BpePreTokenize, FollowsGpt2Pattern) {
    using V = std::vector<std::string>;
    EXPECT_EQ(BpeTokenizer::preTokenize("Hello world"), (V{"Hello", " world"}));
    EXPECT_EQ(BpeTokenizer::preTokenize("I'll  go"), (V{"I", "'ll", " ", " go"}));
    EXPECT_EQ(BpeTokenizer::preTokenize("a\n\nb  "), (V{"a", "\n", "\n", "b", "  "}));
    EXPECT_EQ(BpeTokenizer::preTokenize("x=42!?"), (V{"x", "=", "42", "!?"}));
    EXPECT_EQ(BpeTokenizer::preTokenize(" 'Quote'"), (V{" '", "Quote", "'"}));
    EXPECT_EQ(BpeTokenizer::preTokenize("café ½"), (V{"café", " ½"}));
}

TEST(BpeTokenizer, ByteMapIsGpt2s) {
    EXPECT_EQ(BpeTokenizer::byteToCodePoint('A'), uint32_t('A'));
    EXPECT_EQ(BpeTokenizer::byteToCodePoint(' '), 0x120u);  // 'Ġ'
    EXPECT_EQ(BpeTokenizer::byteToCodePoint('\n'), 0x10Au);  // 'Ċ'
    EXPECT_EQ(BpeTokenizer::byteToCodePoint(0), 0x100u);
}

TEST(BpeTokenizer, AppliesMergesByRank) {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) {
        const uint32_t cp = BpeTokenizer::byteToCodePoint(static_cast<uint8_t>(b));
        std::string s;
        if (cp < 0x80) s += static_cast<char>(cp);
        else { s += static_cast<char>(0xC0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
        tokens.push_back(s);
    }
    tokens.push_back("ab");
    tokens.push_back("abc");
    tokens.push_back("bc");
    auto tok = BpeTokenizer::create(tokens, {"a b", "ab c", "b c"});
    ASSERT_TRUE(tok.ok());
    EXPECT_EQ(tok->encode("abc"), (std::vector<int32_t>{257}));
    EXPECT_EQ(tok->encode("bcab"), (std::vector<int32_t>{258, 256}));
    auto text = tok->decode(std::vector<int32_t>{258, 256, 'x'});
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, "bcabx");
}

}  // namespace
}  // namespace by
