#pragma once
// One evaluation as a person asks for it (a model, a dataset spec, a few options), shared by the
// CLI's `eval` verb and the GUI's evaluation panel: opening the dataset, choosing the
// preprocessing a model needs when nobody says, printing the report, and recording it in a project.
#include <cstdint>
#include <optional>
#include <string>

#include "engine/evaluation.h"
#include "engine/graph.h"
#include "engine/progress.h"

namespace by {
class Project;
}

namespace by::cli {

struct EvalRequest {
    std::string modelPath;
    std::string dataSpec;  // "mnist:DIR", "fashion-mnist:DIR", "images:DIR", a folder, ...
    std::string split;  // "train" or "test" for sets that have both; "" = test there, the only set elsewhere
    EvalTask task = EvalTask::Auto;
    int64_t batchSize = 64;
    int64_t limit = 0;
    int threads = 0;
    int64_t context = 0;  // language models: tokens per perplexity chunk; 0 = 256 (capped by the model)
    std::string normalize;     // "scale=1/255,mean=0.5,std=0.5"; "" = the model's or a default
    std::string alphabetPath;  // CTC character list (one per line); "" = ppocr_keys_v1.txt beside the model
    std::string inputName, outputName;
    std::string baseModelPath;  // language models: the original to compare with (KL, top-1 agreement)
};

// "scale=1/255,mean=0.1307,std=0.3081" or "scale=0.0039215,mean=0.5:0.5:0.5,std=0.5:0.5:0.5".
Result<Normalization> parseNormalization(const std::string& text);
std::string normalizationToString(const Normalization& n);

// Runs the whole evaluation: opens the dataset, fills in defaults, calls evaluate().
Result<EvalReport> runEvaluation(const Model& model, const EvalRequest& request, const Progress* progress = nullptr);

// Human-readable report (several lines) and the full report as JSON.
std::string reportText(const EvalReport& report);
std::string reportJson(const EvalReport& report, const EvalRequest& request);

// Records the report under `variantId`: quality metrics as evaluations (the main one carries the
// full JSON report), latency and memory as benchmarks on this machine. One transaction.
Status storeReport(Project& project, int64_t variantId, const EvalReport& report, const EvalRequest& request);

}  // namespace by::cli
