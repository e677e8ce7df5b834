#include "importers/text_corpus_reader.h"

#include <algorithm>
#include <filesystem>

#include "engine/mapped_file.h"

namespace by {

namespace fs = std::filesystem;

namespace {

bool isTextFile(const fs::path& p) {
    std::string ext = p.extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext == ".txt" || ext == ".md" || ext == ".text";
}

std::vector<std::string> textFilesUnder(const fs::path& dir, bool recursive) {
    std::vector<std::string> out;
    std::error_code ec;
    if (recursive) {
        for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_regular_file(ec) && isTextFile(it->path())) out.push_back(it->path().string());
    } else {
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.is_regular_file(ec) && isTextFile(e.path())) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

int64_t firstInvalidUtf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1Fu;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0Fu;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07u;
        else return static_cast<int64_t>(i);
        if (i + len > n) return static_cast<int64_t>(i);
        for (size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return static_cast<int64_t>(i);
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return static_cast<int64_t>(i);
        i += len;
    }
    return -1;
}

Result<std::string> readUtf8File(const std::string& path) {
    auto text = readWholeFile(path);
    if (!text) return text.error();
    std::string s = std::move(*text);
    size_t skip = 0;
    if (s.size() >= 3 && s.compare(0, 3, "\xEF\xBB\xBF") == 0) skip = 3;
    const int64_t bad = firstInvalidUtf8(std::string_view(s).substr(skip));
    if (bad >= 0)
        return makeError(ErrorCode::Format, "the text is not valid UTF-8",
                         path + " at byte " + std::to_string(bad + static_cast<int64_t>(skip)));
    return skip ? s.substr(skip) : s;
}

Result<std::shared_ptr<TextCorpusDataset>> TextCorpusDataset::open(const std::string& path) {
    std::error_code ec;
    auto ds = std::shared_ptr<TextCorpusDataset>(new TextCorpusDataset());
    ds->m_path = path;
    if (fs::is_regular_file(path, ec)) {
        ds->m_files.push_back(path);
        ds->m_labels.push_back(-1);
        return ds;
    }
    if (!fs::is_directory(path, ec)) return makeError(ErrorCode::Io, "the text file or folder does not exist", path);
    std::vector<std::string> subdirs;
    for (const auto& e : fs::directory_iterator(path, ec))
        if (e.is_directory(ec)) subdirs.push_back(e.path().filename().string());
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& sd : subdirs) {
        auto files = textFilesUnder(fs::path(path) / sd, true);
        if (files.empty()) continue;
        ds->m_classes.push_back(sd);
        for (auto& f : files) {
            ds->m_files.push_back(std::move(f));
            ds->m_labels.push_back(static_cast<int64_t>(ds->m_classes.size()) - 1);
        }
    }
    if (ds->m_files.empty()) {
        ds->m_files = textFilesUnder(path, false);
        ds->m_labels.assign(ds->m_files.size(), -1);
    }
    if (ds->m_files.empty()) return makeError(ErrorCode::Invalid, "the folder holds no .txt or .md files", path);
    return ds;
}

Result<Sample> TextCorpusDataset::sample(int64_t index) const {
    if (index < 0 || index >= size())
        return makeError(ErrorCode::Invalid, "sample index " + std::to_string(index) + " is out of range", name());
    auto text = readUtf8File(m_files[static_cast<size_t>(index)]);
    if (!text) return text.error().withContext(name() + ": sample " + std::to_string(index));
    Sample s;
    s.inputs.push_back(Tensor::fromStrings({1}, {std::move(*text)}));
    s.label = m_labels[static_cast<size_t>(index)];
    return s;
}

Result<int64_t> TextCorpusDataset::label(int64_t index) const {
    if (index < 0 || index >= size())
        return makeError(ErrorCode::Invalid, "sample index " + std::to_string(index) + " is out of range", name());
    return m_labels[static_cast<size_t>(index)];
}

}  // namespace by
