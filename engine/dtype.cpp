#include "engine/dtype.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstring>

namespace by {

namespace {
// Order must follow the DType enum.
constexpr std::array<DTypeInfo, static_cast<size_t>(DType::Count_)> kInfo = {{
    {"undefined", 1, 0, false, false, false, false},
    {"f32", 1, 4, true, false, false, false},
    {"f16", 1, 2, true, false, false, false},
    {"bf16", 1, 2, true, false, false, false},
    {"f64", 1, 8, true, false, false, false},
    {"i8", 1, 1, false, true, false, false},
    {"u8", 1, 1, false, true, false, false},
    {"i16", 1, 2, false, true, false, false},
    {"u16", 1, 2, false, true, false, false},
    {"i32", 1, 4, false, true, false, false},
    {"u32", 1, 4, false, true, false, false},
    {"i64", 1, 8, false, true, false, false},
    {"u64", 1, 8, false, true, false, false},
    {"bool", 1, 1, false, false, false, false},
    {"string", 1, 0, false, false, false, false},
    {"complex64", 1, 8, false, false, false, false},
    {"complex128", 1, 16, false, false, false, false},
    {"f8e4m3", 1, 1, true, false, false, false},
    {"f8e5m2", 1, 1, true, false, false, false},
    {"int4", 2, 1, false, true, false, true},
    {"uint4", 2, 1, false, true, false, true},
    {"int2", 4, 1, false, true, false, true},
    {"bit1", 8, 1, false, true, false, true},
    {"q4_0", 32, 18, false, false, true, false},
    {"q4_1", 32, 20, false, false, true, false},
    {"q5_0", 32, 22, false, false, true, false},
    {"q5_1", 32, 24, false, false, true, false},
    {"q8_0", 32, 34, false, false, true, false},
    {"q8_1", 32, 36, false, false, true, false},
    {"q2_k", 256, 84, false, false, true, false},
    {"q3_k", 256, 110, false, false, true, false},
    {"q4_k", 256, 144, false, false, true, false},
    {"q5_k", 256, 176, false, false, true, false},
    {"q6_k", 256, 210, false, false, true, false},
    {"q8_k", 256, 292, false, false, true, false},
    {"iq2_xxs", 256, 66, false, false, true, false},
    {"iq2_xs", 256, 74, false, false, true, false},
    {"iq3_xxs", 256, 98, false, false, true, false},
    {"iq1_s", 256, 50, false, false, true, false},
    {"iq4_nl", 32, 18, false, false, true, false},
    {"iq3_s", 256, 110, false, false, true, false},
    {"iq2_s", 256, 82, false, false, true, false},
    {"iq4_xs", 256, 136, false, false, true, false},
    {"iq1_m", 256, 56, false, false, true, false},
    {"tq1_0", 256, 54, false, false, true, false},
    {"tq2_0", 256, 66, false, false, true, false},
}};
}  // namespace

const DTypeInfo& dtypeInfo(DType t) {
    auto i = static_cast<size_t>(t);
    if (i >= kInfo.size()) return kInfo[0];
    return kInfo[i];
}

DType dtypeFromName(std::string_view name) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (size_t i = 0; i < kInfo.size(); ++i)
        if (lower == kInfo[i].name) return static_cast<DType>(i);
    return DType::Undefined;
}

int64_t dtypeStorageBytes(DType t, int64_t numel) {
    const auto& info = dtypeInfo(t);
    if (numel < 0 || info.blockBytes == 0) return -1;
    if (info.isPacked) return (numel + info.blockElems - 1) / info.blockElems * info.blockBytes;
    if (numel % info.blockElems != 0) return -1;
    const int64_t blocks = numel / info.blockElems;
    if (blocks > INT64_MAX / info.blockBytes) return -1;
    return blocks * info.blockBytes;
}

double dtypeBitsPerElement(DType t) {
    const auto& info = dtypeInfo(t);
    return 8.0 * static_cast<double>(info.blockBytes) / static_cast<double>(info.blockElems);
}

float halfToFloat(uint16_t h) {
    const uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToHalf(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
    if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (absx < 0x38800000u) {                                              // subnormal or zero
        if (absx < 0x33000000u) return static_cast<uint16_t>(sign);
        const uint32_t e = absx >> 23;
        const uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        const uint32_t s = 126 - e;  // shift that maps the mantissa onto units of 2^-24
        uint32_t r = m >> s;
        const uint32_t rem = m & ((1u << s) - 1);
        const uint32_t mid = 1u << (s - 1);
        if (rem > mid || (rem == mid && (r & 1u))) ++r;  // round to nearest even
        return static_cast<uint16_t>(sign | r);
    }
    uint32_t r = absx - 0x38000000u;  // rebias exponent 127 -> 15
    const uint32_t rem = r & 0x1fffu;
    r >>= 13;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
}

float bf16ToFloat(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToBf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    const uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace by
