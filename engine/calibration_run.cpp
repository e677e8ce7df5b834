// Running a graph over calibration samples and handing chosen activations to a pass: what static
// quantization (activation ranges) and data-aware low-rank (input second moments) both need.
#include <algorithm>
#include <map>
#include <set>

#include "engine/compression_internal.h"
#include "engine/executor.h"

namespace by::compression {

Status forEachCalibrationActivation(const Graph& g, int64_t opset, const ActivationCalibration& act, const Dataset& data,
                                    const std::set<int>& wanted, const std::function<void(int, const Tensor&)>& feed,
                                    int64_t* used) {
    auto exec = Executor::create(g, opset, ExecutorOptions{});
    if (!exec) return exec.error().withContext("calibration");
    const size_t modelInputs = exec->inputs().size();
    // A model of several inputs (a language model's token and position ids) calibrates on a dataset
    // whose samples hold one tensor per model input, in order: run one sample at a time, as stored.
    const bool perSample = modelInputs > 1 && data.inputShapes().size() == modelInputs;
    if (modelInputs != 1 && !perSample)
        return makeError(ErrorCode::Unsupported, "calibration feeds the data to one model input, but the model has " +
                                                     std::to_string(modelInputs) + " and the data's samples have " +
                                                     std::to_string(data.inputShapes().size()));
    const std::string inputName = exec->inputs()[0].name;
    const int inputId = g.findValue(inputName);
    std::vector<std::string> captureNames;
    for (int v : wanted)
        if (v != inputId) captureNames.push_back(g.values[size_t(v)].name);
    const int64_t n = std::min<int64_t>(act.samples, data.size());
    if (n <= 0) return makeError(ErrorCode::Invalid, "the calibration data '" + act.data + "' has no samples");
    if (used) *used = n;
    auto captureOptions = [&] {
        RunOptions ro;
        if (!captureNames.empty()) {
            ro.captureValues = captureNames;
            ro.capture = [&](int nodeIndex, int outputIndex, const Tensor& t) {
                const int v = g.nodes[size_t(nodeIndex)].outputs[size_t(outputIndex)];
                if (wanted.count(v)) feed(v, t);
            };
        }
        return ro;
    };
    if (perSample) {
        for (int64_t i = 0; i < n; ++i) {
            auto sample = data.sample(i);
            if (!sample) return sample.error().withContext("calibration data");
            std::map<std::string, Tensor> in;
            for (size_t k = 0; k < modelInputs; ++k) in[exec->inputs()[k].name] = sample->inputs[k];
            if (wanted.count(inputId)) feed(inputId, sample->inputs[0]);
            auto out = exec->run(in, captureOptions());
            if (!out) return out.error().withContext("calibration run");
        }
        return {};
    }
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
    std::shared_ptr<const Dataset> borrowed(&data, [](const Dataset*) {});
    SubsetDataset subset(borrowed, idx);
    BatchOptions bo;
    bo.batchSize = std::min<int64_t>(n, 64);
    bo.normalize = act.normalize;
    BatchIterator it(subset, bo);
    while (auto b = it.next()) {
        if (!*b) return b->error().withContext("calibration data");
        Batch& batch = b->value();
        if (batch.inputs.empty()) return makeError(ErrorCode::Invalid, "the calibration data has no inputs");
        if (wanted.count(inputId)) feed(inputId, batch.inputs[0]);
        auto out = exec->run({{inputName, batch.inputs[0]}}, captureOptions());
        if (!out) return out.error().withContext("calibration run");
    }
    return {};
}

}  // namespace by::compression
