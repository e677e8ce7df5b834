#include "engine/splat_compress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace by {
namespace {

// A cloud of `n` splats with SH degree 2, random attributes.
SplatCloud randomCloud(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    SplatCloud c;
    c.shDegree = 2;
    for (size_t i = 0; i < n; ++i) {
        c.positions.push_back({u(rng) * 5, u(rng) * 5, u(rng) * 5});
        c.logScales.push_back({u(rng) - 3, u(rng) - 3, u(rng) - 3});
        c.rotations.push_back({u(rng), u(rng), u(rng), u(rng) + 2});
        c.opacityLogits.push_back(u(rng) * 4);
        for (int k = 0; k < 27; ++k) c.sh.push_back(u(rng));
    }
    return c;
}

TEST(SplatCompress, PrunesByOpacityThenKeepsTheLargestContributions) {
    const SplatCloud in = randomCloud(1000, 1);
    SplatCompression c;
    c.minOpacity = 0.5f;
    SplatCompressionReport rep;
    auto out = compressSplats(in, c, &rep);
    ASSERT_TRUE(out.ok()) << out.error().what();
    size_t opaque = 0;
    for (float l : in.opacityLogits) opaque += sigmoid(l) >= 0.5f;
    EXPECT_EQ(out->size(), opaque);
    EXPECT_EQ(rep.splatsBefore, 1000u);
    for (float l : out->opacityLogits) EXPECT_GE(sigmoid(l), 0.5f);

    c.keep = 0.25;
    auto quarter = compressSplats(in, c, &rep);
    ASSERT_TRUE(quarter.ok());
    EXPECT_EQ(quarter->size(), static_cast<size_t>(std::llround(0.25 * double(opaque))));
    // Every kept splat contributes at least as much as every dropped (opaque) one.
    auto contribution = [](const SplatCloud& s, size_t i) {
        float v[3] = {s.logScales[i].x, s.logScales[i].y, s.logScales[i].z};
        std::sort(v, v + 3);
        return sigmoid(s.opacityLogits[i]) * std::exp(v[1] + v[2]);
    };
    float keptMin = INFINITY;
    for (size_t i = 0; i < quarter->size(); ++i) keptMin = std::min(keptMin, contribution(*quarter, i));
    size_t above = 0;
    for (size_t i = 0; i < in.size(); ++i)
        if (sigmoid(in.opacityLogits[i]) >= 0.5f && contribution(in, i) >= keptMin) ++above;
    EXPECT_EQ(above, quarter->size());
}

TEST(SplatCompress, DropsShBandsKeepingTheLowOnes) {
    const SplatCloud in = randomCloud(50, 2);
    SplatCompression c;
    c.shDegree = 1;
    auto out = compressSplats(in, c);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->shDegree, 1);
    ASSERT_EQ(out->sh.size(), 50u * 4 * 3);
    for (size_t i = 0; i < 50; ++i)
        for (int k = 0; k < 12; ++k) EXPECT_EQ(out->shOf(i)[k], in.shOf(i)[k]);
}

TEST(SplatCompress, QuantizationErrorIsAtMostHalfAStep) {
    const SplatCloud in = randomCloud(500, 3);
    SplatCompression c;
    c.bits = SplatBits{12, 8, 8, 6, 8, 4};
    auto out = compressSplats(in, c);
    ASSERT_TRUE(out.ok());
    auto check = [&](auto get, int bits, const char* what) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < in.size(); ++i) lo = std::min(lo, get(in, i)), hi = std::max(hi, get(in, i));
        const float step = (hi - lo) / float((1 << bits) - 1);
        std::set<float> distinct;
        for (size_t i = 0; i < in.size(); ++i) {
            EXPECT_LE(std::fabs(get(*out, i) - get(in, i)), 0.5f * step * 1.001f + 1e-6f) << what << " splat " << i;
            distinct.insert(get(*out, i));
        }
        EXPECT_LE(distinct.size(), size_t(1) << bits) << what;
    };
    check([](const SplatCloud& s, size_t i) { return s.positions[i].y; }, 12, "position y");
    check([](const SplatCloud& s, size_t i) { return s.logScales[i].z; }, 8, "scale z");
    check([](const SplatCloud& s, size_t i) { return s.opacityLogits[i]; }, 6, "opacity");
    check([](const SplatCloud& s, size_t i) { return s.shOf(i)[1]; }, 8, "DC green");
    check([](const SplatCloud& s, size_t i) { return s.shOf(i)[20]; }, 4, "higher SH");
}

TEST(SplatCompress, BadSettingsAreRefusedNamingThem) {
    const SplatCloud in = randomCloud(10, 4);
    SplatCompression c;
    c.bits.position = 1;
    auto r = compressSplats(in, c);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("position bits"), std::string::npos) << r.error().what();
    c = {};
    c.keep = 0;
    EXPECT_FALSE(compressSplats(in, c).ok());
    c = {};
    c.shDegree = 4;
    EXPECT_FALSE(compressSplats(in, c).ok());
    c = {};
    c.minOpacity = 0.999f;  // every logit is below 4
    r = compressSplats(in, c);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("removes every splat"), std::string::npos) << r.error().what();
}

}  // namespace
}  // namespace by
