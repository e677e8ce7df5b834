#include "app/cli/args.h"

#include <cstdlib>

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

bool parseSize(const std::string& s, int& w, int& h) {
    const size_t x = s.find('x');
    if (x == std::string::npos) return false;
    char* e1 = nullptr;
    char* e2 = nullptr;
    const long a = std::strtol(s.substr(0, x).c_str(), &e1, 10);
    const long b = std::strtol(s.substr(x + 1).c_str(), &e2, 10);
    if (*e1 || *e2 || a < 1 || b < 1 || a > 16384 || b > 16384) return false;
    w = static_cast<int>(a), h = static_cast<int>(b);
    return true;
}

}  // namespace by::cli
