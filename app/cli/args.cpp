#include "app/cli/args.h"

namespace by::cli {

std::optional<std::string> Args::get(const std::string& key) const {
    auto it = options.find(key);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> Args::getAll(const std::string& key) const {
    std::vector<std::string> out;
    auto [a, b] = options.equal_range(key);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
}

Args parseArgs(const std::vector<std::string>& argv, const std::set<std::string>& valued,
               const std::set<std::string>& known) {
    Args a;
    bool onlyPositional = false;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& s = argv[i];
        if (onlyPositional || s.size() < 2 || s[0] != '-' || s == "-") {
            a.positional.push_back(s);
            continue;
        }
        if (s == "--") {
            onlyPositional = true;
            continue;
        }
        std::string key = s, value;
        bool hasValue = false;
        if (auto eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0) {
            key = s.substr(0, eq);
            value = s.substr(eq + 1);
            hasValue = true;
        }
        if (valued.count(key)) {
            if (!hasValue) {
                if (i + 1 >= argv.size()) {
                    a.error = "option " + key + " needs a value";
                    return a;
                }
                value = argv[++i];
            }
            a.options.emplace(key, value);
        } else if (known.count(key) && !hasValue) {
            a.flags.insert(key);
        } else {
            a.error = "unknown option " + key;
            return a;
        }
    }
    return a;
}

}  // namespace by::cli
