#pragma once
// Evaluation metrics: classification accuracy and confusion, CTC decoding and text accuracy for
// OCR recognisers, latency percentiles and the process's peak memory. Accumulators take raw model
// outputs batch by batch so an evaluation never holds a whole dataset's logits.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"

namespace by {

// Top-k accuracy and a confusion matrix over `classes` classes.
class ClassificationMetrics {
public:
    explicit ClassificationMetrics(int64_t classes);

    // scores: [N, C] (logits or probabilities; only their order matters), labels: N class ids.
    // A label outside [0, C) or a score row with NaN is an Invalid error naming the sample.
    Status add(const float* scores, int64_t n, int64_t c, const int64_t* labels);
    Status add(const Tensor& scores, const std::vector<int64_t>& labels);
    void merge(const ClassificationMetrics& other);

    int64_t classes() const { return m_classes; }
    int64_t count() const { return m_count; }
    double top1() const;  // fraction in [0, 1]
    double top5() const;
    // Row = true class, column = predicted class; count() entries in all.
    const std::vector<int64_t>& confusion() const { return m_confusion; }
    int64_t confusionAt(int64_t truth, int64_t predicted) const { return m_confusion[truth * m_classes + predicted]; }
    std::vector<double> recallPerClass() const;     // NaN for a class with no samples
    std::vector<double> precisionPerClass() const;  // NaN for a class never predicted

private:
    int64_t m_classes;
    int64_t m_count = 0;
    int64_t m_top1 = 0;
    int64_t m_top5 = 0;
    std::vector<int64_t> m_confusion;
};

// Greedy (best path) CTC decoding of one sequence: the arg-max class per time step, repeats
// merged, blanks dropped. probs: [T, C].
std::vector<int64_t> ctcGreedyDecode(const float* probs, int64_t steps, int64_t classes, int64_t blank = 0);

// Levenshtein distance between two code-point sequences.
int64_t editDistance(const std::u32string& a, const std::u32string& b);
std::u32string utf8ToU32(const std::string& s);  // invalid bytes become U+FFFD
std::string u32ToUtf8(const std::u32string& s);

// Line and character accuracy of recognised text against references.
class TextAccuracy {
public:
    void add(const std::string& predicted, const std::string& reference);
    int64_t lines() const { return m_lines; }
    int64_t exactLines() const { return m_exact; }
    int64_t referenceChars() const { return m_refChars; }
    int64_t charErrors() const { return m_errors; }
    double lineAccuracy() const;  // exact matches / lines
    // 1 - (edit distance summed over lines) / (reference characters), floored at 0.
    double charAccuracy() const;

private:
    int64_t m_lines = 0, m_exact = 0, m_refChars = 0, m_errors = 0;
};

struct LatencySummary {
    int64_t samples = 0;
    double p50 = 0, p95 = 0, mean = 0, min = 0, max = 0;  // seconds
};
// Percentiles by linear interpolation between closest ranks. Empty input gives samples = 0.
LatencySummary summarizeLatency(std::vector<double> seconds);
// Value at fraction q in [0, 1] of the sorted samples, interpolated.
double percentile(std::vector<double> values, double q);

// Peak resident set size of this process so far, in bytes (0 where the OS does not say).
int64_t peakResidentBytes();
// Current resident set size in bytes (0 where unknown).
int64_t currentResidentBytes();

}  // namespace by
