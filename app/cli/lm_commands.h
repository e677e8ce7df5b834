#pragma once
// Language-model verbs: tokenize, lm build, generate, perplexity.
#include <string>
#include <vector>

namespace by::cli {
int tokenizeCommand(const std::vector<std::string>& args);
int lmCommand(const std::vector<std::string>& args);
int generateCommand(const std::vector<std::string>& args);
int perplexityCommand(const std::vector<std::string>& args);
}  // namespace by::cli
