#pragma once
// `brickyard-cli compare A B [--project P] [--json]`: the per-layer diff of two models
// (engine/variant_diff.h) with totals and, for variants of a project, their recorded results side
// by side. Also the pieces the GUI's Compare view shares: a variant's model made available again,
// its latest results, and the size/quality Pareto front of a model's variants.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/variant_diff.h"

namespace by {
class Project;
}

namespace by::cli {

int compareCommand(const std::vector<std::string>& args);

// A variant's model: the file Apply wrote for it (its "file: PATH" note) when that still exists,
// the asset's file for a root, else its parent's model with its recorded recipe applied again.
Result<Model> loadVariantModel(Project& project, int64_t variantId);

// The latest value of every evaluation metric and benchmark recorded for a variant.
struct VariantMetrics {
    std::map<std::string, double> quality;  // top1, char_accuracy, perplexity, ...
    std::map<std::string, std::pair<double, std::string>> benchmarks;  // time_per_sample -> (0.42, "ms")
    // The quality metric charts use (top1, else char_accuracy, else line_accuracy, else
    // top1_agreement), or nullopt when the variant has none of them.
    std::optional<std::pair<std::string, double>> headline() const;
};
Result<VariantMetrics> variantMetrics(Project& project, int64_t variantId);

// Points (size, quality) -> true for those on the front: no other point is at most as large and
// strictly better, or strictly smaller and at least as good. Smaller size and higher quality win.
std::vector<bool> paretoFront(const std::vector<std::pair<double, double>>& sizeQuality);

// The diff as JSON text (what --json prints, without the metrics).
std::string diffToJson(const ModelDiff& diff, int indent = 2);

}  // namespace by::cli
