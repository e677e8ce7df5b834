#pragma once
// GPT-2's byte-level BPE tokenizer: text is split into words with GPT-2's pre-tokenisation
// pattern, each word's UTF-8 bytes are mapped to printable code points (bytes_to_unicode), and the
// merge list is applied lowest rank first. Pure logic: the vocabulary and merges come from the
// importers (encoder.json + vocab.bpe, or GGUF tokenizer metadata).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/error.h"

namespace by {

// Character classes of the pre-tokenisation pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// The engine carries no Unicode database, so code points above ASCII are classified by range:
// whitespace is JavaScript's \s set (U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000, U+FEFF); numbers are the Latin-1 superscripts and fractions, the Arabic-Indic,
// Devanagari..Tamil and fullwidth digits; "other" is Latin-1 punctuation and symbols, U+00D7,
// U+00F7, combining marks U+0300-U+036F, general punctuation, currency, arrows, maths, box
// drawing, dingbats, CJK punctuation U+3000-U+303F, variation selectors, fullwidth punctuation,
// private use and emoji (U+1F000-U+1FAFF); every other code point counts as a letter, which is
// right for the Latin, Greek, Cyrillic, Hebrew, Arabic and CJK letters that matter in practice.
enum class BpeCharClass { Letter, Number, Space, Other };
BpeCharClass bpeCharClass(uint32_t codePoint);

class BpeTokenizer {
public:
    // `tokens` are the byte-mapped token strings indexed by id (encoder.json order); `merges` are
    // "left right" pairs in rank order. Fails when a merge is malformed or a single byte has no
    // token (then some text could not be encoded).
    static Result<BpeTokenizer> create(std::vector<std::string> tokens, const std::vector<std::string>& merges);

    std::vector<int32_t> encode(std::string_view text) const;
    // Fails naming the first id outside the vocabulary.
    Result<std::string> decode(std::span<const int32_t> ids) const;

    size_t vocabSize() const { return m_tokens.size(); }
    size_t mergeCount() const { return m_mergeCount; }
    const std::vector<std::string>& tokens() const { return m_tokens; }
    const std::vector<std::string>& merges() const { return m_merges; }
    int32_t tokenId(const std::string& mappedText) const;  // -1 when absent

    // GPT-2 pre-tokenisation: the words (as byte strings) the pattern above finds, in order.
    static std::vector<std::string> preTokenize(std::string_view text);
    // bytes_to_unicode(): the printable code point each byte stands for in token strings.
    static uint32_t byteToCodePoint(uint8_t b);

private:
    void encodeWord(const std::string& word, std::vector<int32_t>& out) const;

    std::vector<std::string> m_tokens;
    std::vector<std::string> m_merges;
    size_t m_mergeCount = 0;
    std::unordered_map<std::string, int32_t> m_ids;
    std::unordered_map<std::string, int32_t> m_ranks;  // "left right" -> rank
    std::string m_byteSymbol[256];                      // UTF-8 of byteToCodePoint(b)
    int m_codeToByte[512];                              // code point (< 512) -> byte, -1 if none
};

}  // namespace by
