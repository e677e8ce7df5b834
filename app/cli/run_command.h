#pragma once
// `brickyard-cli run MODEL --input NAME=FILE ... [-o OUT.npy|DIR] [--threads N]`: runs a model on
// the CPU executor. Inputs are .npy files or serialized ONNX TensorProto (.pb) files; outputs are
// written as .npy (one file, or NAME.npy per output in a directory) and summarised on stdout.
#include <string>
#include <vector>

namespace by::cli {
int runCommand(const std::vector<std::string>& args);
}  // namespace by::cli
