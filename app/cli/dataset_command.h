#pragma once
// dataset: look at a dataset through the same openDataset() the evaluators use.
#include <string>
#include <vector>

namespace by::cli {
int datasetCommand(const std::vector<std::string>& args);
}  // namespace by::cli
