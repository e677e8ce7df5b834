#include "engine/quant_blocks.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/tensor.h"

using namespace by;

// Each block below is laid out by hand from the ggml block format and the expected values are
// worked out on paper from that layout, not by running another decoder.
namespace {

void putHalf(std::vector<uint8_t>& b, size_t at, float f) {
    const uint16_t h = floatToHalf(f);
    std::memcpy(&b[at], &h, 2);
}

std::vector<float> decode(DType t, const std::vector<uint8_t>& block) {
    const auto& info = dtypeInfo(t);
    EXPECT_EQ(static_cast<int64_t>(block.size()), info.blockBytes);
    std::vector<float> out(static_cast<size_t>(info.blockElems));
    auto st = dequantizeBlocks(t, block.data(), info.blockElems, out.data());
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().what());
    return out;
}

}  // namespace

TEST(QuantBlocks, Q8_1) {
    std::vector<uint8_t> b(36, 0);
    putHalf(b, 0, 2.0f);
    putHalf(b, 2, 99.0f);  // s: the sum, not used to decode
    b[4] = static_cast<uint8_t>(-3);
    b[35] = 5;
    const auto y = decode(DType::Q8_1, b);
    EXPECT_EQ(y[0], -6.0f);
    EXPECT_EQ(y[1], 0.0f);
    EXPECT_EQ(y[31], 10.0f);
}

TEST(QuantBlocks, Iq4Nl) {
    std::vector<uint8_t> b(18, 0);
    putHalf(b, 0, 0.5f);
    b[2] = 0xF0;  // element 0: level 0 (-127), element 16: level 15 (113)
    b[5] = 0x78;  // element 3: level 8 (1), element 19: level 7 (-10)
    const auto y = decode(DType::IQ4_NL, b);
    EXPECT_EQ(y[0], -63.5f);
    EXPECT_EQ(y[16], 56.5f);
    EXPECT_EQ(y[3], 0.5f);
    EXPECT_EQ(y[19], -5.0f);
    EXPECT_EQ(y[1], -63.5f);  // index 0 everywhere else
}

TEST(QuantBlocks, Iq4Xs) {
    std::vector<uint8_t> b(136, 0);
    putHalf(b, 0, 1.0f);
    // sub-block 0: 6-bit scale 33 (low 4 bits 1, top 2 bits 2) -> 1; sub-block 1: 30 (14, 1) -> -2;
    // the others 0 -> -32.
    const uint16_t scalesH = 2 | (1 << 2);
    std::memcpy(&b[2], &scalesH, 2);
    b[4] = 0xE1;
    b[8] = 0x9F;   // element 0: level 15 (113), element 16: level 9 (13)
    b[24] = 0x00;  // sub-block 1, elements 32 and 48: level 0 (-127)
    const auto y = decode(DType::IQ4_XS, b);
    EXPECT_EQ(y[0], 113.0f);
    EXPECT_EQ(y[16], 13.0f);
    EXPECT_EQ(y[32], 254.0f);
    EXPECT_EQ(y[48], 254.0f);
    EXPECT_EQ(y[64], -32.0f * -127.0f);
}

TEST(QuantBlocks, Q2K) {
    std::vector<uint8_t> b(84, 0);  // scales[16], qs[64], d, dmin
    b[0] = 0x21;   // sub-block 0: scale 1, min 2
    b[1] = 0x13;   // sub-block 1: scale 3, min 1
    b[2] = 0x11;   // sub-block 2: scale 1, min 1
    b[8] = 0x0F;   // sub-block 8: scale 15, min 0
    b[16] = 0xE4;  // qs[0]: 2-bit fields 0, 1, 2, 3 (for elements 0, 32, 64, 96)
    b[32] = 0x03;  // qs[16]: element 16 -> 3
    b[48] = 0x02;  // qs[32]: element 128 -> 2
    putHalf(b, 80, 0.5f);
    putHalf(b, 82, 0.25f);
    const auto y = decode(DType::Q2_K, b);
    EXPECT_EQ(y[0], 0.5f * 1 * 0 - 0.25f * 2);
    EXPECT_EQ(y[1], -0.5f);
    EXPECT_EQ(y[16], 0.5f * 3 * 3 - 0.25f * 1);
    EXPECT_EQ(y[32], 0.5f * 1 * 1 - 0.25f * 1);
    EXPECT_EQ(y[128], 0.5f * 15 * 2);
    EXPECT_EQ(y[255], 0.0f);
}

TEST(QuantBlocks, Q3K) {
    std::vector<uint8_t> b(110, 0);  // hmask[32], qs[64], scales[12], d
    // 6-bit scales (bias 32): #0 = 33 -> 1, #1 = 30 -> -2, #9 = 40 -> 8, the rest 0 -> -32.
    b[96 + 0] = 0x01;         // #0 low 4 bits
    b[96 + 1] = 0x8E;         // #1 low 4 bits (14) | #9 low 4 bits (8) << 4
    b[96 + 8] = 0x02;         // #0 top 2 bits in bits 0-1
    b[96 + 9] = 0x01 | 0x20;  // #1 top bits (1) in bits 0-1, #9 top bits (2) in bits 4-5
    b[0] = 0x01;              // hmask[0] bit 0: element 0 has its high bit set
    b[16] = 0x10;             // hmask[16] bit 4: element 144 has its high bit set (element 16 not)
    b[32 + 0] = 0x03;         // element 0 low bits 3
    b[32 + 16] = 0x02;        // element 16 low bits 2
    b[32 + 48] = 0x01;        // element 144 (second half, qs[48]) low bits 1
    putHalf(b, 108, 0.5f);
    const auto y = decode(DType::Q3_K, b);
    EXPECT_EQ(y[0], 0.5f * 1 * 3);             // high bit set: no -4
    EXPECT_EQ(y[1], 0.5f * 1 * (0 - 4));
    EXPECT_EQ(y[16], 0.5f * -2 * (2 - 4));
    EXPECT_EQ(y[144], 0.5f * 8 * 1);
    EXPECT_EQ(y[32], 0.5f * -32 * (0 - 4));    // sub-block 2: scale 0 - 32
}

TEST(QuantBlocks, Q4K) {
    std::vector<uint8_t> b(144, 0);  // d, dmin, scales[12], qs[128]
    putHalf(b, 0, 1.0f);
    putHalf(b, 2, 0.5f);
    uint8_t* s = &b[4];
    s[0] = 3;            // sub-block 0 scale
    s[4] = 2;            // sub-block 0 min
    s[1] = 5 | 0x40;     // sub-block 1 scale 5; bits 6-7 = top bits of sub-block 5's scale (1)
    s[5] = 1 | 0x80;     // sub-block 1 min 1; bits 6-7 = top bits of sub-block 5's min (2)
    s[9] = 0x72;         // sub-block 5: scale low 4 bits 2, min low 4 bits 7 -> scale 18, min 39
    b[16] = 0x9A;        // qs[0]: element 0 -> 10, element 32 -> 9
    b[16 + 64] = 0x30;   // qs[64]: element 128 -> 0, element 160 -> 3
    const auto y = decode(DType::Q4_K, b);
    EXPECT_EQ(y[0], 3 * 10 - 0.5f * 2);
    EXPECT_EQ(y[32], 5 * 9 - 0.5f * 1);
    EXPECT_EQ(y[160], 18 * 3 - 0.5f * 39);
    EXPECT_EQ(y[128], 0.0f);  // sub-block 4: scale 0, min 0
    EXPECT_EQ(y[1], -1.0f);
}

TEST(QuantBlocks, Q5K) {
    std::vector<uint8_t> b(176, 0);  // d, dmin, scales[12], qh[32], qs[128]
    putHalf(b, 0, 1.0f);
    putHalf(b, 2, 0.5f);
    uint8_t* s = &b[4];
    s[0] = 3;
    s[4] = 2;
    s[1] = 5 | 0x40;
    s[5] = 1 | 0x80;
    s[9] = 0x72;
    b[16] = 0x21;        // qh[0]: bit 0 (element 0) and bit 5 (element 160) add 16
    b[48] = 0x9A;
    b[48 + 64] = 0x30;
    const auto y = decode(DType::Q5_K, b);
    EXPECT_EQ(y[0], 3 * (10 + 16) - 0.5f * 2);
    EXPECT_EQ(y[32], 5 * 9 - 0.5f * 1);
    EXPECT_EQ(y[160], 18 * (3 + 16) - 0.5f * 39);
    EXPECT_EQ(y[1], -1.0f);
}

TEST(QuantBlocks, Q6K) {
    std::vector<uint8_t> b(210, 0);  // ql[128], qh[64], scales[16], d
    b[0] = 0x5F;    // ql[0]: element 0 low 4 bits 15, element 64 low 4 bits 5
    b[128] = 0x9E;  // qh[0]: 2-bit fields 2 (el. 0), 3 (el. 32), 1 (el. 64), 2 (el. 96)
    b[64] = 0x01;   // ql[64]: element 128 low 4 bits 1
    b[160] = 0x02;  // qh[32]: element 128 high bits 2
    auto* sc = reinterpret_cast<int8_t*>(&b[192]);
    sc[0] = 2;
    sc[2] = -3;
    sc[4] = 4;
    sc[6] = 1;
    sc[8] = 10;
    putHalf(b, 208, 0.5f);
    const auto y = decode(DType::Q6_K, b);
    EXPECT_EQ(y[0], 0.5f * 2 * ((15 | 2 << 4) - 32));
    EXPECT_EQ(y[32], 0.5f * -3 * ((0 | 3 << 4) - 32));
    EXPECT_EQ(y[64], 0.5f * 4 * ((5 | 1 << 4) - 32));
    EXPECT_EQ(y[96], 0.5f * 1 * ((0 | 2 << 4) - 32));
    EXPECT_EQ(y[128], 0.5f * 10 * ((1 | 2 << 4) - 32));
    EXPECT_EQ(y[16], 0.0f);  // sub-block 1: scale 0
}

TEST(QuantBlocks, Q8K) {
    std::vector<uint8_t> b(292, 0);  // d (f32), qs[256], bsums[16]
    const float d = 0.25f;
    std::memcpy(&b[0], &d, 4);
    b[4] = static_cast<uint8_t>(-128);
    b[4 + 255] = 127;
    b[260] = 0xFF;  // bsums: not used to decode
    const auto y = decode(DType::Q8_K, b);
    EXPECT_EQ(y[0], -32.0f);
    EXPECT_EQ(y[255], 31.75f);
    EXPECT_EQ(y[1], 0.0f);
}

TEST(QuantBlocks, Tq2_0) {
    std::vector<uint8_t> b(66, 0);  // qs[64] (2-bit codes 0,1,2 = -1,0,1), d
    b[0] = 0x92;  // codes 2, 0, 1, 2 for elements 0, 32, 64, 96
    putHalf(b, 64, 2.0f);
    const auto y = decode(DType::TQ2_0, b);
    EXPECT_EQ(y[0], 2.0f);
    EXPECT_EQ(y[32], -2.0f);
    EXPECT_EQ(y[64], 0.0f);
    EXPECT_EQ(y[96], 2.0f);
    EXPECT_EQ(y[128], -2.0f);
}

TEST(QuantBlocks, KQuantTensorsGiveHistograms) {
    std::vector<uint8_t> bytes(2 * 144, 0);
    putHalf(bytes, 0, 1.0f);
    bytes[4] = 1;     // sub-block 0 scale 1
    bytes[16] = 0x0F;
    auto t = Tensor::fromBytes(DType::Q4_K, {2, 256}, bytes);
    ASSERT_TRUE(t.ok());
    auto stats = computeStats(*t, 4);
    ASSERT_TRUE(stats.ok()) << stats.error().what();
    EXPECT_EQ(stats->count, 512);
    EXPECT_EQ(stats->max, 15.0);
}

TEST(QuantBlocks, UndecodedTypesSayUnsupported) {
    std::vector<uint8_t> b(66, 0);
    std::vector<float> y(256);
    auto st = dequantizeBlocks(DType::IQ2_XXS, b.data(), 256, y.data());
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::Unsupported);
    EXPECT_NE(st.error().message.find("iq2_xxs"), std::string::npos);
}
