#pragma once
// `brickyard-cli eval MODEL --data SPEC [...]`: evaluates a model on a dataset (accuracy and
// confusion for classifiers, CTC text accuracy for recognisers, latency, memory, size) and, with
// --project, records the result under the model's variant.
#include <string>
#include <vector>

namespace by::cli {
int evalCommand(const std::vector<std::string>& args);
}  // namespace by::cli
