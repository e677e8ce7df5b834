#pragma once
// Reads a trained-model folder written by scripts/train/mnist_cnn.py: config.json (layer list,
// input/output names and shape, class names, the accuracy measured at training time) and one
// .npy file per parameter. The result is a SequentialSpec for engine/model_builder.h.
#include <string>

#include "engine/model_builder.h"

namespace by {

struct TrainedModelInfo {
    SequentialSpec spec;
    std::string dataset;        // "mnist", "fashion-mnist"
    double testAccuracy = -1;   // fraction in [0,1] measured by the training framework; -1 if absent
    int64_t testSamples = 0;
    float inputScale = 1.0f;    // the model expects pixel * scale (then (x - mean) / std)
    float inputMean = 0.0f;
    float inputStd = 1.0f;
};

// Fails (Io) when config.json or a named .npy is missing, (Format) naming the JSON field when the
// config is malformed.
Result<TrainedModelInfo> readTrainedModelDir(const std::string& dir);

}  // namespace by
