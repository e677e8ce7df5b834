#include "app/cli/cli_output.h"

#include <cstdio>
#include <cstdlib>

namespace by::cli {

std::string humanBytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

std::string humanCount(int64_t n) {
    char buf[64];
    if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", static_cast<double>(n) / 1e9);
    else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fM", static_cast<double>(n) / 1e6);
    else if (n >= 10'000) std::snprintf(buf, sizeof buf, "%.1fK", static_cast<double>(n) / 1e3);
    else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

std::string assetCacheDir() {
    if (const char* c = std::getenv("BRICKYARD_CACHE"); c && *c) return c;
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/tmp") + "/.cache/brickyard";
}

}  // namespace by::cli
