#include "importers/ply_sequence.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "importers/ply_table.h"
#include "importers/splat_io.h"

namespace by {

namespace {

namespace fs = std::filesystem;

// The last run of digits in a file name (without extension), -1 when there is none.
long long lastNumber(const std::string& stem) {
    size_t end = stem.size();
    while (end > 0 && !std::isdigit(static_cast<unsigned char>(stem[end - 1]))) --end;
    size_t begin = end;
    while (begin > 0 && std::isdigit(static_cast<unsigned char>(stem[begin - 1]))) --begin;
    if (begin == end || end - begin > 15) return -1;
    return std::stoll(stem.substr(begin, end - begin));
}

// True when `pattern` has exactly one integer conversion (%d, %04d, %5i) and no other '%'.
bool isFramePattern(const std::string& pattern) {
    int conversions = 0;
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '%') continue;
        if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
            ++i;
            continue;
        }
        size_t j = i + 1;
        while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j]))) ++j;
        if (j >= pattern.size() || (pattern[j] != 'd' && pattern[j] != 'i')) return false;
        ++conversions;
        i = j;
    }
    return conversions == 1;
}

std::string formatFrame(const std::string& pattern, long long k) {
    char buf[4096];
    std::snprintf(buf, sizeof buf, pattern.c_str(), static_cast<int>(k));
    return buf;
}

Result<std::vector<std::string>> listPattern(const std::string& pattern) {
    const std::string where = "reading the PLY sequence " + pattern;
    std::vector<std::string> files;
    long long first = fs::exists(formatFrame(pattern, 0)) ? 0 : (fs::exists(formatFrame(pattern, 1)) ? 1 : -1);
    if (first < 0)
        return makeError(ErrorCode::Io, "no first frame: neither " + formatFrame(pattern, 0) + " nor " + formatFrame(pattern, 1) + " exists", where);
    long long k = first;
    while (fs::exists(formatFrame(pattern, k))) files.push_back(formatFrame(pattern, k++));
    // A later frame after the gap means one is missing, not that the sequence ended.
    for (long long j = k + 1; j < k + 64; ++j)
        if (fs::exists(formatFrame(pattern, j)))
            return makeError(ErrorCode::Io, "frame " + std::to_string(k) + " is missing (" + formatFrame(pattern, k) + ") while " +
                                                formatFrame(pattern, j) + " exists", where);
    return files;
}

Result<std::vector<std::string>> listFolder(const std::string& dir) {
    const std::string where = "reading the PLY sequence " + dir;
    std::vector<std::pair<long long, std::string>> frames;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string ext = e.path().extension().string();
        for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (ext != ".ply" || !e.is_regular_file()) continue;
        const long long n = lastNumber(e.path().stem().string());
        if (n < 0) return makeError(ErrorCode::Invalid, "the file " + e.path().filename().string() + " has no frame number in its name", where);
        frames.emplace_back(n, e.path().string());
    }
    if (ec) return makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(), where);
    if (frames.empty()) return makeError(ErrorCode::Io, "the folder holds no .ply frames", where);
    std::sort(frames.begin(), frames.end());
    for (size_t i = 1; i < frames.size(); ++i) {
        if (frames[i].first == frames[i - 1].first)
            return makeError(ErrorCode::Invalid, "two files carry frame number " + std::to_string(frames[i].first) + ": " +
                                                     fs::path(frames[i - 1].second).filename().string() + " and " +
                                                     fs::path(frames[i].second).filename().string(), where);
        if (frames[i].first != frames[i - 1].first + 1)
            return makeError(ErrorCode::Io, "frame " + std::to_string(frames[i - 1].first + 1) + " is missing (the folder jumps from " +
                                                fs::path(frames[i - 1].second).filename().string() + " to " +
                                                fs::path(frames[i].second).filename().string() + ")", where);
    }
    std::vector<std::string> files;
    for (auto& f : frames) files.push_back(std::move(f.second));
    return files;
}

int degreeOf(const PlyTable& header) {
    int rest = 0;
    while (header.column("f_rest_" + std::to_string(rest)) >= 0) ++rest;
    return rest >= 45 ? 3 : rest >= 24 ? 2 : rest >= 9 ? 1 : 0;
}

}  // namespace

Result<std::vector<std::string>> listPlySequence(const std::string& spec) {
    if (fs::is_directory(spec)) return listFolder(spec);
    if (isFramePattern(spec)) return listPattern(spec);
    return makeError(ErrorCode::Io, "neither a folder nor a frame pattern with one %d (like frames/f_%04d.ply)",
                     "reading the PLY sequence " + spec);
}

Result<std::unique_ptr<PlySequenceSource>> PlySequenceSource::open(const std::string& spec, double fps) {
    auto files = listPlySequence(spec);
    if (!files) return std::move(files.error());
    std::unique_ptr<PlySequenceSource> s(new PlySequenceSource());
    s->m_spec = spec;
    s->m_files = std::move(*files);
    s->m_fps = fps;
    for (size_t k = 0; k < s->m_files.size(); ++k) {
        const std::string where = "reading the PLY sequence " + spec + ": frame " + std::to_string(k) + " (" + s->m_files[k] + ")";
        auto h = readPlyHeader(s->m_files[k]);
        if (!h) return std::move(h.error().withContext(where));
        if (h->column("scale_0") < 0 || h->column("rot_0") < 0)
            return makeError(ErrorCode::Format, "not a 3D Gaussian splat PLY (no scale_0/rot_0 properties)", where);
        const int degree = degreeOf(*h);
        if (k == 0) {
            s->m_splats = h->declaredRows;
            s->m_degree = degree;
        } else if (h->declaredRows != s->m_splats) {
            return makeError(ErrorCode::Invalid, "declares " + std::to_string(h->declaredRows) + " Gaussians but frame 0 has " +
                                                     std::to_string(s->m_splats) + "; every frame must hold the same Gaussians", where);
        } else if (degree != s->m_degree) {
            return makeError(ErrorCode::Invalid,
                             "has SH degree " + std::to_string(degree) + " but frame 0 has " +
                                 std::to_string(s->m_degree),
                             where);
        }
    }
    return s;
}

uint64_t PlySequenceSource::totalBytes() const {
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& f : m_files) total += fs::file_size(f, ec);
    return total;
}

Status PlySequenceSource::seek(int frame) {
    if (frame < 0 || frame >= frameCount())
        return makeError(ErrorCode::Invalid, "frame " + std::to_string(frame) + " is outside 0.." + std::to_string(frameCount() - 1), describe());
    m_next = frame;
    return {};
}

Result<SplatCloud> PlySequenceSource::read() {
    if (m_next >= frameCount())
        return makeError(ErrorCode::Invalid, "read past the last frame (" + std::to_string(frameCount()) + " frames)", describe());
    const int k = m_next;
    const std::string where = describe() + ": frame " + std::to_string(k) + " (" + m_files[static_cast<size_t>(k)] + ")";
    auto scene = readSplatPly(m_files[static_cast<size_t>(k)]);
    if (!scene) return std::move(scene.error().withContext(where));
    // A frame that lost Gaussians (cut short, or NaN rows dropped) no longer lines up with the others.
    for (const auto& w : scene->warnings)
        if (w.find("truncated") != std::string::npos || w.find("dropped") != std::string::npos)
            return makeError(ErrorCode::Format, w, where);
    if (scene->splats.size() != m_splats)
        return makeError(ErrorCode::Invalid, "holds " + std::to_string(scene->splats.size()) + " Gaussians but frame 0 has " +
                                                 std::to_string(m_splats), where);
    ++m_next;
    return std::move(scene->splats);
}

}  // namespace by
