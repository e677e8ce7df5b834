#pragma once
// Activation ranges for static int8 quantization. A RangeObserver watches one tensor over the
// calibration batches in two passes: the first finds its minimum and maximum, the second fills a
// histogram of equal bins over [min, max]. From these it gives the range to quantize with:
//
//   min-max     the observed extremes: nothing is clipped, so one outlier widens every step.
//   percentile  each tail clipped where the histogram's cumulative count leaves (100 - p)% of the
//               values outside (p = 99.99 keeps all but 1 in 10,000 on each side).
//   MSE         the clip that minimises the expected squared error of uint8 quantization on the
//               histogram: values inside the range cost a rounding error of step^2 / 12, values
//               outside cost their distance to the nearest end. The upper end is searched first
//               (with the lower at the minimum), then the lower end with that upper end.
//
// Every range contains 0 (so zero, ReLU's floor and padding are exact), as uint8Params requires.
#include <cstdint>
#include <vector>

namespace by {

enum class CalibrationMethod { MinMax, Percentile, Mse };
const char* calibrationMethodName(CalibrationMethod m);  // "minmax", "percentile", "mse"

struct ActivationRange {
    float lo = 0.f, hi = 0.f;
};

// uint8 affine quantization of a range: x ~ (q - zero) * scale, q in [0, 255].
struct ActivationQuant {
    float scale = 1.f;
    int32_t zero = 0;
};
ActivationQuant uint8Params(ActivationRange r);

class RangeObserver {
public:
    static constexpr int kBins = 2048;

    // Pass 1: running minimum and maximum (NaN and infinities are ignored).
    void observeRange(const float* x, int64_t n);
    // Pass 2: starts the histogram over the range of pass 1, then adds values to it.
    void beginHistogram(int bins = kBins);
    void observeHistogram(const float* x, int64_t n);

    bool seen() const { return m_count > 0; }
    int64_t count() const { return m_count; }
    const std::vector<double>& histogram() const { return m_hist; }

    ActivationRange minMax() const;
    // p in (50, 100]: the percentage of values kept inside the range on each side.
    ActivationRange percentile(double p) const;
    ActivationRange mse() const;
    ActivationRange range(CalibrationMethod m, double percentile = 99.99) const;

    // Expected squared error per value of quantizing the histogram to uint8 with range r.
    double expectedError(ActivationRange r) const;

private:
    double binWidth() const;
    float m_min = 0.f, m_max = 0.f;
    int64_t m_count = 0;
    std::vector<double> m_hist;
};

}  // namespace by
