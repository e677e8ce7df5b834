#pragma once
// build-model: turns a trained-weights folder (config.json + .npy, from scripts/train/) into model
// files written by the project's own exporters.
#include <string>
#include <vector>

namespace by::cli {
int buildModelCommand(const std::vector<std::string>& args);
}  // namespace by::cli
