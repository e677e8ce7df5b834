#include "engine/bpe_tokenizer.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace by {

namespace {

void appendUtf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes one code point at s[i]; `len` gets its byte length. A malformed sequence yields one
// byte with code point 0xFFFD so every input byte still belongs to exactly one character.
uint32_t decodeUtf8(std::string_view s, size_t i, size_t& len) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80; };
    auto cb = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k]) & 0x3F); };
    if (b0 < 0x80) {
        len = 1;
        return b0;
    }
    if ((b0 & 0xE0) == 0xC0 && b0 >= 0xC2 && cont(1)) {
        len = 2;
        return ((b0 & 0x1Fu) << 6) | cb(1);
    }
    if ((b0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
        const uint32_t cp = ((b0 & 0x0Fu) << 12) | (cb(1) << 6) | cb(2);
        if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
            len = 3;
            return cp;
        }
    }
    if ((b0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
        const uint32_t cp = ((b0 & 0x07u) << 18) | (cb(1) << 12) | (cb(2) << 6) | cb(3);
        if (cp >= 0x10000 && cp <= 0x10FFFF) {
            len = 4;
            return cp;
        }
    }
    len = 1;
    return 0xFFFD;
}

bool inRange(uint32_t c, uint32_t lo, uint32_t hi) { return c >= lo && c <= hi; }

}  // namespace

BpeCharClass bpeCharClass(uint32_t c) {
    if (c < 0x80) {
        if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return BpeCharClass::Space;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return BpeCharClass::Letter;
        if (c >= '0' && c <= '9') return BpeCharClass::Number;
        return BpeCharClass::Other;
    }
    if (c == 0xA0 || c == 0x1680 || inRange(c, 0x2000, 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
        c == 0x205F || c == 0x3000 || c == 0xFEFF)
        return BpeCharClass::Space;
    if (c == 0xB2 || c == 0xB3 || c == 0xB9 || inRange(c, 0xBC, 0xBE) || inRange(c, 0x660, 0x669) ||
        inRange(c, 0x6F0, 0x6F9) || inRange(c, 0x966, 0x96F) || inRange(c, 0x9E6, 0x9EF) || inRange(c, 0xA66, 0xA6F) ||
        inRange(c, 0xAE6, 0xAEF) || inRange(c, 0xB66, 0xB6F) || inRange(c, 0xBE6, 0xBEF) || inRange(c, 0x2070, 0x2079) ||
        inRange(c, 0x2080, 0x2089) || inRange(c, 0x2150, 0x2189) || inRange(c, 0x2460, 0x249B) || inRange(c, 0xFF10, 0xFF19))
        return BpeCharClass::Number;
    if (c == 0xAA || c == 0xB5 || c == 0xBA) return BpeCharClass::Letter;
    if (inRange(c, 0x80, 0xBF) || c == 0xD7 || c == 0xF7 || inRange(c, 0x300, 0x36F) || inRange(c, 0x2000, 0x2BFF) ||
        inRange(c, 0x2E00, 0x2E7F) || inRange(c, 0x3000, 0x303F) || inRange(c, 0xE000, 0xF8FF) || inRange(c, 0xFE00, 0xFE0F) ||
        inRange(c, 0xFE30, 0xFE4F) || inRange(c, 0xFF01, 0xFF0F) || inRange(c, 0xFF1A, 0xFF20) || inRange(c, 0xFF3B, 0xFF40) ||
        inRange(c, 0xFF5B, 0xFF65) || inRange(c, 0x1F000, 0x1FAFF) || c == 0xFFFD)
        return BpeCharClass::Other;
    return BpeCharClass::Letter;
}

uint32_t BpeTokenizer::byteToCodePoint(uint8_t b) {
    // Printable bytes keep their code point; the rest are numbered from 256 in byte order.
    auto printable = [](int x) { return (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF); };
    if (printable(b)) return b;
    uint32_t n = 0;
    for (int x = 0; x < b; ++x)
        if (!printable(x)) ++n;
    return 256 + n;
}

Result<BpeTokenizer> BpeTokenizer::create(std::vector<std::string> tokens, const std::vector<std::string>& merges) {
    BpeTokenizer t;
    std::fill(std::begin(t.m_codeToByte), std::end(t.m_codeToByte), -1);
    for (int b = 0; b < 256; ++b) {
        const uint32_t cp = byteToCodePoint(static_cast<uint8_t>(b));
        appendUtf8(t.m_byteSymbol[b], cp);
        t.m_codeToByte[cp] = b;
    }
    t.m_ids.reserve(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) t.m_ids.emplace(tokens[i], static_cast<int32_t>(i));
    for (int b = 0; b < 256; ++b)
        if (!t.m_ids.count(t.m_byteSymbol[b]))
            return makeError(ErrorCode::Invalid, "the vocabulary has no token for byte " + std::to_string(b) + ", so some text could not be encoded",
                             "BPE tokenizer");
    t.m_ranks.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string& m = merges[i];
        const size_t sp = m.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= m.size() || m.find(' ', sp + 1) != std::string::npos)
            return makeError(ErrorCode::Format, "merge " + std::to_string(i) + " ('" + m + "') is not two symbols separated by one space",
                             "BPE tokenizer");
        t.m_ranks.emplace(m, static_cast<int32_t>(i));
    }
    t.m_tokens = std::move(tokens);
    t.m_merges = merges;
    t.m_mergeCount = merges.size();
    return t;
}

int32_t BpeTokenizer::tokenId(const std::string& mappedText) const {
    auto it = m_ids.find(mappedText);
    return it == m_ids.end() ? -1 : it->second;
}

std::vector<std::string> BpeTokenizer::preTokenize(std::string_view text) {
    struct Ch {
        size_t pos, len;
        BpeCharClass cls;
    };
    std::vector<Ch> chars;
    chars.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        size_t len = 1;
        const uint32_t cp = decodeUtf8(text, i, len);
        chars.push_back({i, len, bpeCharClass(cp)});
        i += len;
    }
    std::vector<std::string> words;
    const size_t n = chars.size();
    auto emit = [&](size_t a, size_t b) {  // characters [a, b)
        const size_t start = chars[a].pos;
        const size_t end = b < n ? chars[b].pos : text.size();
        words.emplace_back(text.substr(start, end - start));
    };
    auto runOf = [&](size_t from, BpeCharClass cls) {
        size_t j = from;
        while (j < n && chars[j].cls == cls) ++j;
        return j;
    };
    size_t i = 0;
    while (i < n) {
        const char c = text[chars[i].pos];
        // Contractions come first in the pattern and are case-sensitive.
        if (c == '\'' && i + 1 < n) {
            auto at = [&](size_t k) { return i + k < n && chars[i + k].len == 1 ? text[chars[i + k].pos] : '\0'; };
            size_t take = 0;
            const char c1 = at(1), c2 = at(2);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') take = 2;
            else if ((c1 == 'r' || c1 == 'v') && c2 == 'e') take = 3;
            else if (c1 == 'l' && c2 == 'l') take = 3;
            if (take) {
                emit(i, i + take);
                i += take;
                continue;
            }
        }
        const bool space = c == ' ' && chars[i].len == 1;
        const BpeCharClass cls = chars[i].cls;
        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional leading space then a run.
        if (space && i + 1 < n && chars[i + 1].cls != BpeCharClass::Space) {
            const size_t j = runOf(i + 1, chars[i + 1].cls);
            emit(i, j);
            i = j;
            continue;
        }
        if (cls != BpeCharClass::Space) {
            const size_t j = runOf(i, cls);
            emit(i, j);
            i = j;
            continue;
        }
        // "\s+(?!\S)|\s+": a whitespace run, leaving its last character to start the next word
        // when a non-space follows.
        const size_t j = runOf(i, BpeCharClass::Space);
        size_t end = j;
        if (j < n && j - i > 1) end = j - 1;
        emit(i, end);
        i = end;
    }
    return words;
}

void BpeTokenizer::encodeWord(const std::string& word, std::vector<int32_t>& out) const {
    std::vector<std::string> sym;
    sym.reserve(word.size());
    for (unsigned char b : word) sym.push_back(m_byteSymbol[b]);
    std::string key;
    while (sym.size() > 1) {
        int32_t best = INT32_MAX;
        size_t bestAt = 0;
        for (size_t k = 0; k + 1 < sym.size(); ++k) {
            key.assign(sym[k]).append(1, ' ').append(sym[k + 1]);
            auto it = m_ranks.find(key);
            if (it != m_ranks.end() && it->second < best) {
                best = it->second;
                bestAt = k;
            }
        }
        if (best == INT32_MAX) break;
        // Merge every occurrence of the best pair, left to right.
        const std::string a = sym[bestAt], b = sym[bestAt + 1];
        std::vector<std::string> next;
        next.reserve(sym.size());
        for (size_t k = 0; k < sym.size();) {
            if (k + 1 < sym.size() && sym[k] == a && sym[k + 1] == b) {
                next.push_back(a + b);
                k += 2;
            } else {
                next.push_back(std::move(sym[k]));
                ++k;
            }
        }
        sym = std::move(next);
    }
    for (const auto& s : sym) {
        auto it = m_ids.find(s);
        if (it != m_ids.end()) {
            out.push_back(it->second);
        } else {
            // A merge result missing from the vocabulary (inconsistent files): fall back to bytes,
            // which create() guaranteed exist.
            for (size_t p = 0; p < s.size();) {
                size_t len = 1;
                const uint32_t cp = decodeUtf8(s, p, len);
                if (cp < 512 && m_codeToByte[cp] >= 0) out.push_back(m_ids.at(m_byteSymbol[m_codeToByte[cp]]));
                p += len;
            }
        }
    }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 1);
    std::unordered_map<std::string, std::vector<int32_t>> cache;
    std::vector<int32_t> tmp;
    for (const auto& w : preTokenize(text)) {
        auto it = cache.find(w);
        if (it == cache.end()) {
            tmp.clear();
            encodeWord(w, tmp);
            it = cache.emplace(w, tmp).first;
        }
        out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
}

Result<std::string> BpeTokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    for (size_t k = 0; k < ids.size(); ++k) {
        const int32_t id = ids[k];
        if (id < 0 || static_cast<size_t>(id) >= m_tokens.size())
            return makeError(ErrorCode::Invalid, "token id " + std::to_string(id) + " at position " + std::to_string(k) +
                                                     " is outside the vocabulary of " + std::to_string(m_tokens.size()),
                             "BPE decode");
        const std::string& s = m_tokens[static_cast<size_t>(id)];
        for (size_t p = 0; p < s.size();) {
            size_t len = 1;
            const uint32_t cp = decodeUtf8(s, p, len);
            if (cp < 512 && m_codeToByte[cp] >= 0) out += static_cast<char>(m_codeToByte[cp]);
            else out.append(s, p, len);  // special tokens such as <|endoftext|> are literal text
            p += len;
        }
    }
    return out;
}

}  // namespace by
