#pragma once
// Verbs that work on one model file: inspect and convert.
#include <string>
#include <vector>

namespace by::cli {
int inspectCommand(const std::vector<std::string>& args);
int convertCommand(const std::vector<std::string>& args);
}  // namespace by::cli
