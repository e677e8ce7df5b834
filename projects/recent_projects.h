#pragma once
// The "recently opened projects" list: a small JSON settings file, most recent first, without
// duplicates, at most kMaxEntries, and without projects that no longer exist. The file is only a
// convenience, so a damaged one is reported by entries() and replaced by the next add().
#include <cstddef>
#include <string>
#include <vector>

#include "engine/error.h"

namespace by {

class RecentProjects {
public:
    static constexpr size_t kMaxEntries = 10;

    // `settingsFile` is the JSON file to keep the list in (tests pass a temporary one).
    explicit RecentProjects(std::string settingsFile) : m_file(std::move(settingsFile)) {}
    // $XDG_CONFIG_HOME/brickyard/recent.json, else ~/.config/brickyard/recent.json.
    static std::string defaultFile();

    // Absolute paths, most recent first. Entries whose file is gone are dropped, and the file
    // is rewritten without them. No file yet: an empty list.
    Result<std::vector<std::string>> entries() const;
    // Puts `projectPath` first (moving it up if already listed) and trims the list.
    Status add(const std::string& projectPath) const;
    Status remove(const std::string& projectPath) const;
    Status clear() const;

    const std::string& file() const { return m_file; }

private:
    Result<std::vector<std::string>> read() const;
    Status write(const std::vector<std::string>& paths) const;
    std::string m_file;
};

}  // namespace by
