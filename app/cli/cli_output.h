#pragma once
// Uniform error reporting for the verbs: one sentence on stderr, prefixed with the tool's name.
#include <string>

namespace by::cli {
int usageError(const std::string& message);  // prints, returns 2
int inputError(const std::string& message);  // prints, returns 1
}  // namespace by::cli
