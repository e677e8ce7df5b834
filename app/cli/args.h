#pragma once
// Tiny argument splitter shared by the verbs: positional arguments, --flag and --key VALUE
// (or --key=VALUE). Verbs declare which options take a value so "--json FILE" is not ambiguous.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace by::cli {

struct Args {
    std::vector<std::string> positional;
    std::set<std::string> flags;
    std::multimap<std::string, std::string> options;
    std::string error;  // set when parsing failed (unknown option, missing value)

    bool has(const std::string& flag) const { return flags.count(flag) > 0; }
    std::optional<std::string> get(const std::string& key) const;
    std::vector<std::string> getAll(const std::string& key) const;
};

// `valued` lists options that take a value; `known` lists boolean flags. Anything else starting
// with "--" is an error.
Args parseArgs(const std::vector<std::string>& argv, const std::set<std::string>& valued,
               const std::set<std::string>& known);

// "1280x720" -> 1280, 720 (each 1..16384); false for anything else.
bool parseSize(const std::string& s, int& w, int& h);

}  // namespace by::cli
