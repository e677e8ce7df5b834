#pragma once
// Model evaluation on a dataset: runs the executor batch by batch and gathers quality (accuracy
// and confusion for classifiers, CTC text accuracy for sequence recognisers), latency percentiles,
// peak memory and model size into one report. The CLI's `eval` verb and the GUI's evaluation
// panel both call evaluate(); storing the report in a project is the caller's business.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/dataset.h"
#include "engine/error.h"
#include "engine/graph.h"
#include "engine/metrics.h"
#include "engine/progress.h"

namespace by {

enum class EvalTask {
    Auto,            // classification when the output is [N, classes], CTC when it is [N, T, classes]
    Classification,  // output [N, C] scores; dataset labels are class ids
    LanguageModel,   // a GPT-style model scored on text: perplexity, llama-perplexity chunking
    Ctc,             // output [N, T, C] per-step scores; dataset class names are the reference texts;
                     // greedy decoding, leading and trailing spaces of the reading dropped
};

struct EvalOptions {
    EvalTask task = EvalTask::Auto;
    int64_t batchSize = 64;
    int64_t limit = 0;  // evaluate the first `limit` samples only; 0 = all
    int threads = 0;    // executor threads; 0 = one per core
    std::string inputName;   // model input fed with the samples; "" = the only runtime input
    std::string outputName;  // output scored; "" = the first output
    std::optional<Normalization> normalize;  // applied to the dataset's numeric inputs
    // CTC: alphabet[i] is the text of class i + 1 (class 0 is the blank).
    std::vector<std::string> ctcAlphabet;
    // CTC image preprocessing: resize to this height keeping the aspect ratio, then pad with
    // `ctcPadValue` (after normalisation) on the right to ctcWidth.
    int64_t ctcHeight = 48, ctcWidth = 320;
    float ctcPadValue = 0.f;
    const Progress* progress = nullptr;
    int64_t keepExamples = 16;  // misrecognised samples kept in the report, for a person to look at
};

struct EvalExample {
    int64_t index = 0;  // dataset index
    std::string expected, predicted;
};

struct LanguageModelScore {
    double perplexity = 0;
    double meanNll = 0;         // nats per scored token
    int64_t tokens = 0;         // tokens in the text
    int64_t scored = 0;         // predictions scored
    int64_t chunks = 0;
    int64_t context = 0;
    double tokensPerSecond = 0; // tokens evaluated (whole chunks) per second
    // Against the original model (a base was given): mean KL(base || this) per scored token, in
    // nats, and how often both models' most likely next token agree.
    bool hasBase = false;
    double meanKl = 0;
    double top1Agreement = 0;
};

struct EvalReport {
    EvalTask task = EvalTask::Classification;
    std::string datasetName;
    int64_t samples = 0;
    std::vector<std::string> classNames;
    std::optional<ClassificationMetrics> classification;
    std::optional<TextAccuracy> text;
    std::optional<LanguageModelScore> language;
    LatencySummary batchLatency;  // seconds per executor run (one batch)
    double secondsPerSample = 0;  // median batch time / batch size
    int64_t batchSize = 0;
    int64_t peakResidentBytes = 0;  // process peak while evaluating
    int64_t peakTensorBytes = 0;    // largest live intermediate tensors in one run
    int64_t modelWeightBytes = 0;
    int64_t modelParameters = 0;
    std::vector<EvalExample> mistakes;
};

Result<EvalReport> evaluate(const Model& model, const Dataset& data, const EvalOptions& options);

// Bilinear resize of one f32 CHW image (align-corners off, as image libraries resize).
std::vector<float> resizeBilinear(const float* src, int64_t channels, int64_t h, int64_t w, int64_t outH, int64_t outW);

const char* evalTaskName(EvalTask t);

}  // namespace by
