#pragma once
#include <string>
#include <vector>

namespace by::cli {
// `brickyard-cli project <sub> ...`; returns the process exit status.
int projectCommand(const std::vector<std::string>& args);
}  // namespace by::cli
