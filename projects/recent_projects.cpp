#include "projects/recent_projects.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "engine/mapped_file.h"

namespace by {

namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

// Just enough JSON to read the settings file back: any value may appear, only the "recent"
// array of strings is kept. projects/ has no JSON library, and this file is tiny.
class JsonReader {
public:
    explicit JsonReader(std::string_view text) : m_s(text) {}

    bool readSettings(std::vector<std::string>& recent) {
        skipSpace();
        if (!eat('{')) return false;
        skipSpace();
        if (eat('}')) return atEnd();
        while (true) {
            std::string key;
            skipSpace();
            if (!readString(key)) return false;
            skipSpace();
            if (!eat(':')) return false;
            skipSpace();
            if (key == "recent") {
                if (!readStringArray(recent)) return false;
            } else if (!skipValue(0)) {
                return false;
            }
            skipSpace();
            if (eat(',')) continue;
            if (eat('}')) return atEnd();
            return false;
        }
    }

private:
    bool atEnd() {
        skipSpace();
        return m_i == m_s.size();
    }
    void skipSpace() {
        while (m_i < m_s.size() &&
               (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r'))
            ++m_i;
    }
    bool eat(char c) {
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }
    bool readHex4(uint32_t& v) {
        if (m_i + 4 > m_s.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = m_s[m_i++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<uint32_t>(c - 'A' + 10);
            else
                return false;
        }
        return true;
    }
    static void appendUtf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    bool readString(std::string& out) {
        if (!eat('"')) return false;
        while (m_i < m_s.size()) {
            const char c = m_s[m_i++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (m_i >= m_s.size()) return false;
            const char e = m_s[m_i++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                if (!readHex4(cp)) return false;
                if (cp >= 0xD800 && cp < 0xDC00) {
                    uint32_t lo = 0;
                    if (!eat('\\') || !eat('u') || !readHex4(lo) || lo < 0xDC00 || lo >= 0xE000) return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp < 0xE000) {
                    return false;
                }
                appendUtf8(out, cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }
    bool readStringArray(std::vector<std::string>& out) {
        if (!eat('[')) return false;
        skipSpace();
        if (eat(']')) return true;
        while (true) {
            skipSpace();
            std::string s;
            if (!readString(s)) return false;
            out.push_back(std::move(s));
            skipSpace();
            if (eat(',')) continue;
            return eat(']');
        }
    }
    bool skipValue(int depth) {
        if (depth > 32 || m_i >= m_s.size()) return false;
        const char c = m_s[m_i];
        if (c == '"') {
            std::string ignored;
            return readString(ignored);
        }
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++m_i;
            skipSpace();
            if (eat(close)) return true;
            while (true) {
                skipSpace();
                if (c == '{') {
                    std::string key;
                    if (!readString(key)) return false;
                    skipSpace();
                    if (!eat(':')) return false;
                    skipSpace();
                }
                if (!skipValue(depth + 1)) return false;
                skipSpace();
                if (eat(',')) continue;
                return eat(close);
            }
        }
        // Numbers and the literals true/false/null: take the run of characters they use.
        const size_t start = m_i;
        while (m_i < m_s.size() &&
               std::string_view("+-.0123456789eEtruefalsn").find(m_s[m_i]) != std::string_view::npos)
            ++m_i;
        return m_i > start;
    }

    std::string_view m_s;
    size_t m_i = 0;
};

std::string jsonQuote(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                static const char* hex = "0123456789abcdef";
                out += "\\u00";
                out += hex[(c >> 4) & 15];
                out += hex[c & 15];
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

std::string normalise(const std::string& p) {
    std::error_code ec;
    fs::path a = fs::absolute(p, ec);
    if (ec) a = fs::path(p);
    return a.lexically_normal().string();
}

bool fileExists(const std::string& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

}  // namespace

std::string RecentProjects::defaultFile() {
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
        return std::string(x) + "/brickyard/recent.json";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/tmp") + "/.config/brickyard/recent.json";
}

Result<std::vector<std::string>> RecentProjects::read() const {
    std::error_code ec;
    if (!fs::exists(m_file, ec)) return std::vector<std::string>{};
    auto text = readWholeFile(m_file);
    if (!text) return text.error();
    std::vector<std::string> paths;
    JsonReader reader(*text);
    if (!reader.readSettings(paths))
        return makeError(ErrorCode::Format, "the recent projects list is damaged and will be replaced",
                         m_file);
    return paths;
}

Status RecentProjects::write(const std::vector<std::string>& paths) const {
    std::error_code ec;
    const fs::path parent = fs::path(m_file).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec)
        return makeError(ErrorCode::Io, "cannot create the settings folder: " + ec.message(),
                         parent.string());
    std::string text = "{\n  \"version\": " + std::to_string(kFormatVersion) + ",\n  \"recent\": [";
    for (size_t i = 0; i < paths.size(); ++i)
        text += (i ? ",\n    " : "\n    ") + jsonQuote(paths[i]);
    text += paths.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return writeWholeFile(m_file, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Result<std::vector<std::string>> RecentProjects::entries() const {
    auto stored = read();
    if (!stored) return stored.error();
    std::vector<std::string> kept;
    for (const auto& p : *stored) {
        if (!fileExists(p) || std::find(kept.begin(), kept.end(), p) != kept.end()) continue;
        if (kept.size() < kMaxEntries) kept.push_back(p);
    }
    // Best effort: the pruned list is right either way; a read-only settings folder only means
    // the pruning is redone next time.
    if (kept != *stored) (void)write(kept);
    return kept;
}

Status RecentProjects::add(const std::string& projectPath) const {
    const std::string p = normalise(projectPath);
    auto stored = read();
    std::vector<std::string> list{p};
    if (stored) {
        for (const auto& e : *stored)
            if (e != p && fileExists(e) && std::find(list.begin(), list.end(), e) == list.end())
                list.push_back(e);
    }
    if (list.size() > kMaxEntries) list.resize(kMaxEntries);
    return write(list);
}

Status RecentProjects::remove(const std::string& projectPath) const {
    const std::string p = normalise(projectPath);
    auto stored = read();
    if (!stored) return write({});
    std::vector<std::string> list;
    for (const auto& e : *stored)
        if (e != p) list.push_back(e);
    return write(list);
}

Status RecentProjects::clear() const {
    return write({});
}

}  // namespace by
