#include "engine/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace by {
namespace {

TEST(ClassificationMetrics, TopKAndConfusionOnHandComputedScores) {
    ClassificationMetrics m(6);
    // Sample 0: label 2, arg-max 2. Sample 1: label 0, arg-max 5, label ranks 2nd.
    // Sample 2: label 1, label is the lowest score (rank 6): neither top-1 nor top-5.
    const std::vector<float> s = {
        0.1f, 0.0f, 0.9f, 0.2f, 0.3f, 0.1f,  //
        0.5f, 0.1f, 0.2f, 0.3f, 0.0f, 0.8f,  //
        0.6f, -1.f, 0.5f, 0.4f, 0.3f, 0.2f,
    };
    const std::vector<int64_t> labels = {2, 0, 1};
    ASSERT_TRUE(m.add(s.data(), 3, 6, labels.data()).ok());
    EXPECT_EQ(m.count(), 3);
    EXPECT_NEAR(m.top1(), 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(m.top5(), 2.0 / 3.0, 1e-12);
    EXPECT_EQ(m.confusionAt(2, 2), 1);
    EXPECT_EQ(m.confusionAt(0, 5), 1);
    EXPECT_EQ(m.confusionAt(1, 0), 1);
    const auto recall = m.recallPerClass();
    EXPECT_DOUBLE_EQ(recall[2], 1.0);
    EXPECT_DOUBLE_EQ(recall[0], 0.0);
    EXPECT_TRUE(std::isnan(recall[3]));
    const auto precision = m.precisionPerClass();
    EXPECT_DOUBLE_EQ(precision[2], 1.0);
    EXPECT_DOUBLE_EQ(precision[5], 0.0);
}

TEST(ClassificationMetrics, MergeEqualsOneAccumulator) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    std::uniform_int_distribution<int64_t> cls(0, 9);
    std::vector<float> s(200 * 10);
    std::vector<int64_t> labels(200);
    for (auto& v : s) v = nd(rng);
    for (auto& l : labels) l = cls(rng);
    ClassificationMetrics all(10), a(10), b(10);
    ASSERT_TRUE(all.add(s.data(), 200, 10, labels.data()).ok());
    ASSERT_TRUE(a.add(s.data(), 120, 10, labels.data()).ok());
    ASSERT_TRUE(b.add(s.data() + 1200, 80, 10, labels.data() + 120).ok());
    a.merge(b);
    EXPECT_EQ(a.count(), 200);
    EXPECT_EQ(a.top1(), all.top1());
    EXPECT_EQ(a.top5(), all.top5());
    EXPECT_EQ(a.confusion(), all.confusion());
    // Random scores: top-1 near 10%, top-5 near 50%.
    EXPECT_GT(all.top5(), all.top1());
}

TEST(ClassificationMetrics, BadLabelsAndShapesAreErrors) {
    ClassificationMetrics m(3);
    const std::vector<float> s = {0.f, 1.f, 2.f};
    const std::vector<int64_t> bad = {3};
    auto r = m.add(s.data(), 1, 3, bad.data());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("label 3"), std::string::npos);
    auto r2 = m.add(s.data(), 1, 2, bad.data());
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.error().message.find("2 scores"), std::string::npos);
    const std::vector<float> nan = {0.f, NAN, 1.f};
    const std::vector<int64_t> ok = {0};
    EXPECT_FALSE(m.add(nan.data(), 1, 3, ok.data()).ok());
    EXPECT_EQ(m.count(), 0);
}

TEST(Ctc, GreedyDecodeMergesRepeatsAndDropsBlanks) {
    // Classes: 0 blank, 1 'a', 2 'b'. Best path: a a blank a b b blank -> "aab".
    const int64_t path[] = {1, 1, 0, 1, 2, 2, 0};
    std::vector<float> p(7 * 3, 0.1f);
    for (int t = 0; t < 7; ++t) p[size_t(t * 3 + path[t])] = 0.8f;
    EXPECT_EQ(ctcGreedyDecode(p.data(), 7, 3), (std::vector<int64_t>{1, 1, 2}));
}

TEST(TextAccuracy, EditDistanceAndUtf8) {
    EXPECT_EQ(editDistance(U"kitten", U"sitting"), 3);
    EXPECT_EQ(editDistance(U"", U"abc"), 3);
    EXPECT_EQ(utf8ToU32("h\xC3\xA9llo \xE4\xB8\xAD"), U"h\u00e9llo \u4e2d");
    EXPECT_EQ(u32ToUtf8(U"h\u00e9llo \u4e2d"), "h\xC3\xA9llo \xE4\xB8\xAD");
    EXPECT_EQ(utf8ToU32("a\xFF"), U"a\uFFFD");
    TextAccuracy t;
    t.add("hello", "hello");
    t.add("wor1d", "world");
    t.add("", "abc");
    EXPECT_EQ(t.lines(), 3);
    EXPECT_EQ(t.exactLines(), 1);
    EXPECT_EQ(t.referenceChars(), 13);
    EXPECT_EQ(t.charErrors(), 4);
    EXPECT_NEAR(t.charAccuracy(), 1.0 - 4.0 / 13.0, 1e-12);
    EXPECT_NEAR(t.lineAccuracy(), 1.0 / 3.0, 1e-12);
}

TEST(Latency, PercentilesInterpolate) {
    std::vector<double> s;
    for (int i = 100; i >= 1; --i) s.push_back(i * 1e-3);
    const auto l = summarizeLatency(s);
    EXPECT_EQ(l.samples, 100);
    EXPECT_NEAR(l.p50, 0.0505, 1e-12);
    EXPECT_NEAR(l.p95, 0.09505, 1e-12);
    EXPECT_DOUBLE_EQ(l.min, 0.001);
    EXPECT_DOUBLE_EQ(l.max, 0.1);
    EXPECT_NEAR(l.mean, 0.0505, 1e-12);
    EXPECT_EQ(summarizeLatency({}).samples, 0);
}

TEST(Memory, PeakResidentGrowsWithATouchedBuffer) {
    const int64_t before = peakResidentBytes();
    ASSERT_GT(before, 0);
    std::vector<char> big(size_t(64) << 20, 1);
    volatile char sink = big[big.size() / 2];
    (void)sink;
    EXPECT_GE(currentResidentBytes(), int64_t(64) << 20);
    EXPECT_GE(peakResidentBytes(), before);
    EXPECT_GE(peakResidentBytes(), int64_t(64) << 20);
}

}  // namespace
}  // namespace by
