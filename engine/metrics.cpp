#include "engine/metrics.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numeric>

namespace by {

ClassificationMetrics::ClassificationMetrics(int64_t classes)
    : m_classes(std::max<int64_t>(classes, 1)), m_confusion(size_t(m_classes * m_classes), 0) {}

Status ClassificationMetrics::add(const float* scores, int64_t n, int64_t c, const int64_t* labels) {
    if (c != m_classes)
        return makeError(ErrorCode::Invalid, "the model gives " + std::to_string(c) + " scores per sample but the dataset has " +
                                                 std::to_string(m_classes) + " classes");
    for (int64_t i = 0; i < n; ++i) {
        const float* row = scores + i * c;
        const int64_t label = labels[i];
        if (label < 0 || label >= c)
            return makeError(ErrorCode::Invalid, "sample " + std::to_string(m_count + i) + " has label " +
                                                     std::to_string(label) + ", outside the " + std::to_string(c) +
                                                     " classes");
        int64_t best = 0;
        for (int64_t j = 0; j < c; ++j) {
            if (std::isnan(row[j]))
                return makeError(ErrorCode::Invalid,
                                 "the model's output for sample " + std::to_string(m_count + i) + " contains NaN");
            if (row[j] > row[best]) best = j;
        }
        // Top-1 follows the arg-max (first maximum), as the confusion matrix does; top-5 counts
        // the classes scoring strictly higher than the label.
        int64_t higher = 0;
        for (int64_t j = 0; j < c; ++j) higher += row[j] > row[label];
        m_top1 += best == label;
        m_top5 += higher < 5;
        ++m_confusion[size_t(label * m_classes + best)];
    }
    m_count += n;
    return {};
}

Status ClassificationMetrics::add(const Tensor& scores, const std::vector<int64_t>& labels) {
    if (scores.dtype() != DType::F32 || scores.rank() != 2)
        return makeError(ErrorCode::Invalid, "classifier output must be f32 [N, classes], got " + std::string(dtypeName(scores.dtype())) +
                                                 " " + shapeToString(scores.shape()));
    if (scores.shape()[0] != int64_t(labels.size()))
        return makeError(ErrorCode::Invalid, "the model gave " + std::to_string(scores.shape()[0]) + " results for a batch of " +
                                                 std::to_string(labels.size()) + " samples");
    return add(scores.data<float>(), scores.shape()[0], scores.shape()[1], labels.data());
}

void ClassificationMetrics::merge(const ClassificationMetrics& o) {
    BY_ASSERT(o.m_classes == m_classes, "merging metrics over different class counts");
    m_count += o.m_count;
    m_top1 += o.m_top1;
    m_top5 += o.m_top5;
    for (size_t i = 0; i < m_confusion.size(); ++i) m_confusion[i] += o.m_confusion[i];
}

double ClassificationMetrics::top1() const { return m_count ? double(m_top1) / double(m_count) : 0.0; }
double ClassificationMetrics::top5() const { return m_count ? double(m_top5) / double(m_count) : 0.0; }

std::vector<double> ClassificationMetrics::recallPerClass() const {
    std::vector<double> r(static_cast<size_t>(m_classes));
    for (int64_t t = 0; t < m_classes; ++t) {
        int64_t total = 0;
        for (int64_t p = 0; p < m_classes; ++p) total += confusionAt(t, p);
        r[size_t(t)] = total ? double(confusionAt(t, t)) / double(total) : std::numeric_limits<double>::quiet_NaN();
    }
    return r;
}

std::vector<double> ClassificationMetrics::precisionPerClass() const {
    std::vector<double> r(static_cast<size_t>(m_classes));
    for (int64_t p = 0; p < m_classes; ++p) {
        int64_t total = 0;
        for (int64_t t = 0; t < m_classes; ++t) total += confusionAt(t, p);
        r[size_t(p)] = total ? double(confusionAt(p, p)) / double(total) : std::numeric_limits<double>::quiet_NaN();
    }
    return r;
}

std::vector<int64_t> ctcGreedyDecode(const float* probs, int64_t steps, int64_t classes, int64_t blank) {
    std::vector<int64_t> out;
    int64_t prev = -1;
    for (int64_t t = 0; t < steps; ++t) {
        const float* row = probs + t * classes;
        const int64_t best = std::max_element(row, row + classes) - row;
        if (best != blank && best != prev) out.push_back(best);
        prev = best;
    }
    return out;
}

int64_t editDistance(const std::u32string& a, const std::u32string& b) {
    std::vector<int64_t> prev(b.size() + 1), cur(b.size() + 1);
    std::iota(prev.begin(), prev.end(), 0);
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = int64_t(i);
        for (size_t j = 1; j <= b.size(); ++j) {
            const int64_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({sub, prev[j] + 1, cur[j - 1] + 1});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::u32string utf8ToU32(const std::string& s) {
    std::u32string out;
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + size_t(len) > s.size()) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        char32_t cp = len == 1 ? c : c & (0x7F >> len);
        bool ok = true;
        for (int k = 1; k < len; ++k) {
            const unsigned char cc = static_cast<unsigned char>(s[i + size_t(k)]);
            if ((cc & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (!ok) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += size_t(len);
    }
    return out;
}

std::string u32ToUtf8(const std::u32string& s) {
    std::string out;
    for (char32_t cp : s) {
        if (cp < 0x80) {
            out.push_back(char(cp));
        } else if (cp < 0x800) {
            out.push_back(char(0xC0 | (cp >> 6)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(char(0xE0 | (cp >> 12)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(char(0xF0 | (cp >> 18)));
            out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        }
    }
    return out;
}

void TextAccuracy::add(const std::string& predicted, const std::string& reference) {
    const std::u32string p = utf8ToU32(predicted), r = utf8ToU32(reference);
    ++m_lines;
    m_exact += p == r;
    m_refChars += int64_t(r.size());
    m_errors += editDistance(p, r);
}

double TextAccuracy::lineAccuracy() const { return m_lines ? double(m_exact) / double(m_lines) : 0.0; }

double TextAccuracy::charAccuracy() const {
    if (m_refChars == 0) return m_errors == 0 && m_lines > 0 ? 1.0 : 0.0;
    return std::max(0.0, 1.0 - double(m_errors) / double(m_refChars));
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    q = std::clamp(q, 0.0, 1.0);
    const double pos = q * double(v.size() - 1);
    const size_t lo = size_t(std::floor(pos));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    const double f = pos - double(lo);
    return v[lo] * (1.0 - f) + v[hi] * f;
}

LatencySummary summarizeLatency(std::vector<double> s) {
    LatencySummary r;
    r.samples = int64_t(s.size());
    if (s.empty()) return r;
    std::sort(s.begin(), s.end());
    r.min = s.front();
    r.max = s.back();
    r.mean = std::accumulate(s.begin(), s.end(), 0.0) / double(s.size());
    r.p50 = percentile(s, 0.5);
    r.p95 = percentile(s, 0.95);
    return r;
}

namespace {
int64_t statusField(const char* key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::string k = std::string(key) + ":";
    while (std::getline(f, line)) {
        if (line.rfind(k, 0) == 0) {
            long long kb = 0;
            if (std::sscanf(line.c_str() + k.size(), "%lld", &kb) == 1) return int64_t(kb) * 1024;
        }
    }
    return 0;
}
}  // namespace

int64_t peakResidentBytes() {
    if (const int64_t hwm = statusField("VmHWM")) return hwm;
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) == 0) return int64_t(u.ru_maxrss) * 1024;
    return 0;
}

int64_t currentResidentBytes() { return statusField("VmRSS"); }

}  // namespace by
