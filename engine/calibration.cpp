#include "engine/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace by {

const char* calibrationMethodName(CalibrationMethod m) {
    switch (m) {
    case CalibrationMethod::MinMax: return "minmax";
    case CalibrationMethod::Percentile: return "percentile";
    case CalibrationMethod::Mse: return "mse";
    }
    return "?";
}

ActivationQuant uint8Params(ActivationRange r) {
    const float lo = std::min(r.lo, 0.f), hi = std::max(r.hi, 0.f);
    ActivationQuant p;
    if (!(hi > lo)) return p;  // all zeros: any scale represents them exactly
    p.scale = (hi - lo) / 255.f;
    p.zero = int32_t(std::clamp(std::nearbyint(-lo / p.scale), 0.f, 255.f));
    return p;
}

void RangeObserver::observeRange(const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        if (!std::isfinite(v)) continue;
        if (m_count == 0) m_min = m_max = v;
        m_min = std::min(m_min, v);
        m_max = std::max(m_max, v);
        ++m_count;
    }
}

void RangeObserver::beginHistogram(int bins) { m_hist.assign(size_t(std::max(bins, 1)), 0.0); }

double RangeObserver::binWidth() const {
    return m_hist.empty() ? 0.0 : (double(m_max) - double(m_min)) / double(m_hist.size());
}

void RangeObserver::observeHistogram(const float* x, int64_t n) {
    if (m_hist.empty()) beginHistogram();
    const double w = binWidth();
    const int64_t last = int64_t(m_hist.size()) - 1;
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        if (!std::isfinite(v)) continue;
        const int64_t b = w > 0 ? std::clamp<int64_t>(int64_t((double(v) - m_min) / w), 0, last) : 0;
        m_hist[size_t(b)] += 1.0;
    }
}

ActivationRange RangeObserver::minMax() const { return {std::min(m_min, 0.f), std::max(m_max, 0.f)}; }

ActivationRange RangeObserver::percentile(double p) const {
    ActivationRange r = minMax();
    double total = 0;
    for (double c : m_hist) total += c;
    if (total <= 0 || p >= 100.0) return r;
    const double outside = total * (100.0 - std::clamp(p, 50.0, 100.0)) / 100.0;
    const double w = binWidth();
    const size_t nb = m_hist.size();
    // Upper end: the top edge of the first bin (from the top) where more than `outside` values lie above or in it.
    double acc = 0;
    for (size_t b = nb; b-- > 0;) {
        acc += m_hist[b];
        if (acc > outside) {
            r.hi = std::max(0.f, float(m_min + w * double(b + 1)));
            break;
        }
    }
    acc = 0;
    for (size_t b = 0; b < nb; ++b) {
        acc += m_hist[b];
        if (acc > outside) {
            r.lo = std::min(0.f, float(m_min + w * double(b)));
            break;
        }
    }
    return r;
}

double RangeObserver::expectedError(ActivationRange r) const {
    double total = 0, err = 0;
    const ActivationQuant q = uint8Params(r);
    // The grid actually representable once the zero point is rounded.
    const double qlo = (0.0 - q.zero) * q.scale, qhi = (255.0 - q.zero) * q.scale;
    const double w = binWidth(), inside = double(q.scale) * double(q.scale) / 12.0;
    for (size_t b = 0; b < m_hist.size(); ++b) {
        const double c = m_hist[b];
        if (c == 0) continue;
        const double x = m_min + w * (double(b) + 0.5);
        total += c;
        if (x < qlo) err += c * (qlo - x) * (qlo - x);
        else if (x > qhi) err += c * (x - qhi) * (x - qhi);
        else err += c * inside;
    }
    return total > 0 ? err / total : 0.0;
}

ActivationRange RangeObserver::mse() const {
    ActivationRange best = minMax();
    if (m_hist.empty() || !(best.hi > best.lo)) return best;
    const double w = binWidth();
    const size_t nb = m_hist.size();
    double bestErr = expectedError(best);
    // Candidate ends are bin edges; the search stays on the side of 0 each end belongs to.
    for (size_t b = nb; b >= 1; --b) {
        const float hi = float(m_min + w * double(b));
        if (hi <= 0.f) break;
        const ActivationRange r{best.lo, hi};
        const double e = expectedError(r);
        if (e < bestErr) {
            bestErr = e;
            best.hi = hi;
        }
    }
    const float hiFixed = best.hi;
    for (size_t b = 0; b < nb; ++b) {
        const float lo = float(m_min + w * double(b));
        if (lo >= 0.f) break;
        const ActivationRange r{lo, hiFixed};
        const double e = expectedError(r);
        if (e < bestErr) {
            bestErr = e;
            best.lo = lo;
        }
    }
    return best;
}

ActivationRange RangeObserver::range(CalibrationMethod m, double p) const {
    switch (m) {
    case CalibrationMethod::MinMax: return minMax();
    case CalibrationMethod::Percentile: return percentile(p);
    case CalibrationMethod::Mse: return mse();
    }
    return minMax();
}

}  // namespace by
