#include "projects/asset_locator.h"

#include <filesystem>
#include <vector>

#include "projects/content_hash.h"

namespace by {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxSearchDepth = 12;
constexpr size_t kMaxSearchEntries = 200000;

bool isFolderAsset(const Asset& a) {
    return a.format == "folder";
}

// Size of a file, or of every regular file below a folder; -1 when it cannot be read.
int64_t contentSize(const fs::path& p) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        int64_t total = 0;
        fs::recursive_directory_iterator it(p, fs::directory_options::follow_directory_symlink, ec), end;
        if (ec) return -1;
        for (; it != end; it.increment(ec)) {
            if (ec || it.depth() > 64) return -1;
            std::error_code fec;
            if (it->is_regular_file(fec)) total += static_cast<int64_t>(it->file_size(fec));
        }
        return total;
    }
    const auto n = fs::file_size(p, ec);
    return ec ? -1 : static_cast<int64_t>(n);
}

bool pathExists(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
}

}  // namespace

std::optional<std::string> findByContent(const Asset& asset, const std::string& root) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return std::nullopt;
    const bool folder = isFolderAsset(asset);
    const std::string folderName = fs::path(asset.absolutePath).filename().string();
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) return std::nullopt;
    size_t seen = 0;
    for (; it != end && seen < kMaxSearchEntries; it.increment(ec), ++seen) {
        if (ec) return std::nullopt;
        if (it.depth() >= kMaxSearchDepth) {
            it.disable_recursion_pending();
            continue;
        }
        std::error_code fec;
        if (folder) {
            if (!it->is_directory(fec) || it->path().filename() != folderName) continue;
            auto h = hashFolder(it->path().string());
            if (h && h->sha256 == asset.contentHash) return it->path().string();
        } else {
            if (!it->is_regular_file(fec)) continue;
            if (static_cast<int64_t>(it->file_size(fec)) != asset.sizeBytes || fec) continue;
            auto h = hashFile(it->path().string());
            if (h && h->sha256 == asset.contentHash) return it->path().string();
        }
    }
    return std::nullopt;
}

AssetLocation locateAsset(const Asset& asset, const std::string& projectFolder) {
    std::vector<fs::path> places;
    if (!asset.relativePath.empty())
        places.push_back((fs::path(projectFolder) / asset.relativePath).lexically_normal());
    if (!asset.absolutePath.empty()) places.push_back(fs::path(asset.absolutePath));

    for (const auto& p : places) {
        if (!pathExists(p)) continue;
        AssetLocation loc;
        loc.path = p.string();
        const int64_t size = contentSize(p);
        if (size == asset.sizeBytes) {
            loc.status = AssetStatus::Present;
        } else {
            loc.status = AssetStatus::Changed;
            loc.message = "'" + asset.displayName + "' at " + loc.path + " has changed since it was added (" +
                          std::to_string(size) + " bytes now, " + std::to_string(asset.sizeBytes) + " then)";
        }
        return loc;
    }

    if (auto found = findByContent(asset, projectFolder)) {
        AssetLocation loc;
        loc.status = AssetStatus::Relocated;
        loc.path = *found;
        loc.message = "'" + asset.displayName +
                      "' was not at its recorded place; the same content was found at " + *found;
        return loc;
    }

    AssetLocation loc;
    loc.status = AssetStatus::Missing;
    loc.path = places.empty() ? std::string() : places.front().string();
    loc.message = "'" + asset.displayName + "' is missing: it is not at " +
                  (places.empty() ? std::string("any recorded place") : places.front().string()) +
                  (places.size() > 1 ? " nor at " + places.back().string() : std::string()) +
                  ", and no file with its content is in the project folder";
    return loc;
}

}  // namespace by
