#pragma once
// Uniform error reporting for the verbs: one sentence on stderr, prefixed with the tool's name.
#include <cstdint>
#include <string>

namespace by::cli {
int usageError(const std::string& message);  // prints, returns 2
int inputError(const std::string& message);  // prints, returns 1

std::string humanBytes(double bytes);  // "10.3 MiB"
std::string humanCount(int64_t n);     // "2.69M"

// The asset cache scripts/setup.sh fills: BRICKYARD_CACHE, else ~/.cache/brickyard.
std::string assetCacheDir();
}  // namespace by::cli
