#include "engine/dtype.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace by;

TEST(DType, HalfRoundTripsEveryFiniteHalf) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const auto hh = static_cast<uint16_t>(h);
        const float f = halfToFloat(hh);
        if (std::isnan(f)) continue;
        ASSERT_EQ(floatToHalf(f), hh) << "half bits " << h;
    }
}

TEST(DType, HalfRoundsToNearestEven) {
    EXPECT_EQ(halfToFloat(floatToHalf(1.0f + 1.0f / 4096)), 1.0f);  // below half an ulp
    EXPECT_EQ(floatToHalf(65520.f), 0x7c00);                         // rounds to inf
    EXPECT_EQ(halfToFloat(floatToHalf(5.9604645e-08f)), 5.9604645e-08f);  // smallest subnormal
}

TEST(DType, Bf16Conversion) {
    EXPECT_EQ(bf16ToFloat(floatToBf16(1.5f)), 1.5f);
    EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
}

TEST(DType, StorageBytesForBlockAndPackedTypes) {
    EXPECT_EQ(dtypeStorageBytes(DType::F32, 10), 40);
    EXPECT_EQ(dtypeStorageBytes(DType::Q4_0, 64), 36);
    EXPECT_EQ(dtypeStorageBytes(DType::Q4_0, 33), -1);
    EXPECT_EQ(dtypeStorageBytes(DType::Q6_K, 512), 420);
    EXPECT_EQ(dtypeStorageBytes(DType::Int4, 5), 3);
    EXPECT_EQ(dtypeStorageBytes(DType::Bit1, 9), 2);
    EXPECT_DOUBLE_EQ(dtypeBitsPerElement(DType::Q4_0), 4.5);
    EXPECT_EQ(dtypeFromName("Q8_0"), DType::Q8_0);
    EXPECT_EQ(dtypeFromName("nope"), DType::Undefined);
}
