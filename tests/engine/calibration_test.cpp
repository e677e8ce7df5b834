// Calibration observers on distributions whose answer is known: a Gaussian bulk with one planted
// outlier, a one-sided (post-ReLU) distribution, and the uint8 parameters of a range.
#include "engine/calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace by {
namespace {

RangeObserver observe(const std::vector<float>& v) {
    RangeObserver o;
    // Two chunks, as calibration batches arrive.
    const size_t half = v.size() / 2;
    o.observeRange(v.data(), int64_t(half));
    o.observeRange(v.data() + half, int64_t(v.size() - half));
    o.beginHistogram();
    o.observeHistogram(v.data(), int64_t(half));
    o.observeHistogram(v.data() + half, int64_t(v.size() - half));
    return o;
}

std::vector<float> gaussianWithOutlier(float outlier) {
    std::mt19937 rng(7);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> v(200000);
    for (auto& x : v) x = d(rng);
    v[12345] = outlier;
    return v;
}

TEST(Calibration, PercentileClipsAPlantedOutlierAndMseLiesBetween) {
    const auto v = gaussianWithOutlier(60.f);
    const RangeObserver o = observe(v);
    ASSERT_EQ(o.count(), int64_t(v.size()));
    const ActivationRange mm = o.minMax(), pc = o.percentile(99.99), ms = o.mse();
    EXPECT_FLOAT_EQ(mm.hi, 60.f);
    EXPECT_LT(mm.lo, -3.5f);
    // 99.99% of a standard normal lies below 3.72: the clip sits near there, far below the outlier.
    EXPECT_GT(pc.hi, 3.0f);
    EXPECT_LT(pc.hi, 5.0f);
    EXPECT_LT(pc.lo, -3.0f);
    EXPECT_GT(pc.lo, -5.0f);
    // MSE weighs the outlier's clipping error against the rounding error of 200,000 values.
    EXPECT_GT(ms.hi, pc.hi);
    EXPECT_LT(ms.hi, mm.hi);
    // ...and by construction has the smallest expected error of the three.
    EXPECT_LE(o.expectedError(ms), o.expectedError(pc));
    EXPECT_LT(o.expectedError(ms), o.expectedError(mm));
}

TEST(Calibration, OneSidedDistributionKeepsZeroAsTheLowerEnd) {
    std::mt19937 rng(3);
    std::exponential_distribution<float> d(1.f);
    std::vector<float> v(100000);
    for (auto& x : v) x = d(rng);
    std::fill(v.begin(), v.begin() + 30000, 0.f);  // ReLU zeros
    const RangeObserver o = observe(v);
    for (CalibrationMethod m : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Mse}) {
        const ActivationRange r = o.range(m, 99.9);
        EXPECT_EQ(r.lo, 0.f) << calibrationMethodName(m);
        EXPECT_GT(r.hi, 2.f) << calibrationMethodName(m);
        EXPECT_EQ(uint8Params(r).zero, 0) << calibrationMethodName(m);
    }
    // The exponential's tail: 99.9% lies below ln(1000 * 0.7) ~ 6.55 (30% of the mass is the zeros).
    EXPECT_NEAR(o.percentile(99.9).hi, std::log(700.0), 0.3);
    EXPECT_LT(o.mse().hi, o.minMax().hi);
}

TEST(Calibration, Uint8ParametersCoverTheRangeAndZeroExactly) {
    const ActivationQuant p = uint8Params({-1.f, 3.f});
    EXPECT_FLOAT_EQ(p.scale, 4.f / 255.f);
    EXPECT_EQ(p.zero, 64);  // round(1 / (4/255)) = round(63.75)
    // A range that does not include 0 is widened to it.
    const ActivationQuant q = uint8Params({2.f, 5.f});
    EXPECT_FLOAT_EQ(q.scale, 5.f / 255.f);
    EXPECT_EQ(q.zero, 0);
    // Nothing observed: a harmless scale of 1.
    EXPECT_FLOAT_EQ(uint8Params({0.f, 0.f}).scale, 1.f);
    RangeObserver empty;
    EXPECT_FALSE(empty.seen());
    const float inf = INFINITY, nan = NAN;
    const float odd[] = {nan, inf, -inf, 1.5f};
    empty.observeRange(odd, 4);
    EXPECT_EQ(empty.count(), 1);
    EXPECT_FLOAT_EQ(empty.minMax().hi, 1.5f);
}

}  // namespace
}  // namespace by
