#include "importers/splat_packed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "tests/test_support.h"

namespace by {
namespace {

SplatCloud smallCloud(size_t n) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    SplatCloud c;
    c.shDegree = 1;
    for (size_t i = 0; i < n; ++i) {
        c.positions.push_back({u(rng), u(rng) * 2, u(rng) * 3});
        c.logScales.push_back({u(rng) - 4, u(rng) - 4, u(rng) - 4});
        c.rotations.push_back({1.f, u(rng) * 0.3f, u(rng) * 0.3f, u(rng) * 0.3f});
        c.opacityLogits.push_back(u(rng) * 3);
        for (int k = 0; k < 12; ++k) c.sh.push_back(u(rng));
    }
    return c;
}

TEST(SplatPacked, RoundTripsTheQuantizedValuesAtTheirBitWidths) {
    SplatCompression c;
    c.bits = SplatBits{16, 8, 8, 8, 8, 4};
    auto q = compressSplats(smallCloud(301), c);
    ASSERT_TRUE(q.ok());
    const std::string path = test::tempDir() + "/s.bysplat";
    auto bytes = writeSplatPacked(*q, c.bits, path);
    ASSERT_TRUE(bytes.ok()) << bytes.error().what();
    EXPECT_EQ(*bytes, std::filesystem::file_size(path));
    // Header, then per channel lo/hi and the packed codes.
    const uint64_t want = 20 + 3 * (8 + (301 * 16 + 7) / 8) + 3 * (8 + 301) + 4 * (8 + 301) + (8 + 301) + 3 * (8 + 301) +
                          9 * (8 + (301 * 4 + 7) / 8);
    EXPECT_EQ(*bytes, want);
    auto back = readSplatPacked(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    const SplatCloud& b = back->splats;
    ASSERT_EQ(b.size(), q->size());
    EXPECT_EQ(b.shDegree, 1);
    for (size_t i = 0; i < b.size(); ++i) {
        EXPECT_NEAR(b.positions[i].z, q->positions[i].z, 1e-5f);
        EXPECT_NEAR(b.rotations[i].x, q->rotations[i].x, 1e-5f);
        EXPECT_NEAR(b.opacityLogits[i], q->opacityLogits[i], 1e-5f);
        for (int k = 0; k < 12; ++k) EXPECT_NEAR(b.shOf(i)[k], q->shOf(i)[k], 1e-5f);
    }
}

TEST(SplatPacked, BrokenFilesAreOneClearError) {
    const std::string dir = test::tempDir();
    SplatBits bits{16, 0, 8, 8, 8, 8};
    ASSERT_TRUE(writeSplatPacked(smallCloud(40), bits, dir + "/ok.bysplat").ok());
    std::ifstream in(dir + "/ok.bysplat", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir + "/short.bysplat", std::ios::binary) << all.substr(0, all.size() - 7);
    auto r = readSplatPacked(dir + "/short.bysplat");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("ends inside channel"), std::string::npos) << r.error().what();
    EXPECT_NE(r.error().what().find("short.bysplat"), std::string::npos) << r.error().what();
    std::string bad = all;
    bad[0] = 'X';
    std::ofstream(dir + "/magic.bysplat", std::ios::binary) << bad;
    r = readSplatPacked(dir + "/magic.bysplat");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("BYSPLAT1"), std::string::npos);
    bad = all;
    bad[13] = 1;  // position bits 1
    std::ofstream(dir + "/bits.bysplat", std::ios::binary) << bad;
    EXPECT_FALSE(readSplatPacked(dir + "/bits.bysplat").ok());
    bad = all;
    bad[8] = bad[9] = bad[10] = static_cast<char>(0xFF);  // an absurd count
    std::ofstream(dir + "/count.bysplat", std::ios::binary) << bad;
    r = readSplatPacked(dir + "/count.bysplat");
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(readSplatPacked(dir + "/missing.bysplat").ok());
}

}  // namespace
}  // namespace by
