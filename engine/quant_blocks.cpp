#include "engine/quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace by {

namespace {
float rdHalf(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return halfToFloat(h);
}
void wrHalf(uint8_t* p, float f) {
    const uint16_t h = floatToHalf(f);
    std::memcpy(p, &h, 2);
}
}  // namespace

Status dequantizeBlocks(DType t, const uint8_t* src, int64_t n, float* dst) {
    const auto& info = dtypeInfo(t);
    if (!info.isBlockQuant || n % info.blockElems != 0)
        return makeError(ErrorCode::Invalid, std::string("element count is not a whole number of ") + info.name + " blocks");
    const int64_t nb = n / info.blockElems;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = src + b * info.blockBytes;
        float* y = dst + b * info.blockElems;
        switch (t) {
        case DType::Q4_0: {
            const float d = rdHalf(blk);
            const uint8_t* qs = blk + 2;
            for (int j = 0; j < 16; ++j) {
                y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
                y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
            }
            break;
        }
        case DType::Q4_1: {
            const float d = rdHalf(blk), m = rdHalf(blk + 2);
            const uint8_t* qs = blk + 4;
            for (int j = 0; j < 16; ++j) {
                y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
                y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
            }
            break;
        }
        case DType::Q5_0:
        case DType::Q5_1: {
            const bool one = t == DType::Q5_1;
            const float d = rdHalf(blk), m = one ? rdHalf(blk + 2) : 0.f;
            uint32_t qh;
            std::memcpy(&qh, blk + (one ? 4 : 2), 4);
            const uint8_t* qs = blk + (one ? 8 : 6);
            for (int j = 0; j < 16; ++j) {
                const int xh0 = static_cast<int>(((qh >> j) << 4) & 0x10);
                const int xh1 = static_cast<int>((qh >> (j + 12)) & 0x10);
                const int x0 = ((qs[j] & 0x0F) | xh0) - (one ? 0 : 16);
                const int x1 = ((qs[j] >> 4) | xh1) - (one ? 0 : 16);
                y[j] = static_cast<float>(x0) * d + m;
                y[j + 16] = static_cast<float>(x1) * d + m;
            }
            break;
        }
        case DType::Q8_0: {
            const float d = rdHalf(blk);
            const auto* qs = reinterpret_cast<const int8_t*>(blk + 2);
            for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
            break;
        }
        default:
            return makeError(ErrorCode::Unsupported, std::string("decoding ") + info.name + " blocks is not supported yet");
        }
    }
    return {};
}

Status quantizeBlocks(DType t, const float* src, int64_t n, uint8_t* dst) {
    const auto& info = dtypeInfo(t);
    if (n % info.blockElems != 0)
        return makeError(ErrorCode::Invalid, std::string("element count is not a multiple of the ") + info.name + " block size");
    const int64_t nb = n / info.blockElems;
    for (int64_t b = 0; b < nb; ++b) {
        const float* x = src + b * 32;
        uint8_t* blk = dst + b * info.blockBytes;
        if (t == DType::Q8_0) {
            float amax = 0.f;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
            const float d = amax / 127.f;
            const float id = d ? 1.0f / d : 0.0f;
            wrHalf(blk, d);
            auto* qs = reinterpret_cast<int8_t*>(blk + 2);
            for (int j = 0; j < 32; ++j) qs[j] = static_cast<int8_t>(std::lround(x[j] * id));
        } else if (t == DType::Q4_0) {
            float amax = 0.f, max = 0.f;
            for (int j = 0; j < 32; ++j) {
                if (amax < std::fabs(x[j])) {
                    amax = std::fabs(x[j]);
                    max = x[j];
                }
            }
            const float d = max / -8.f;
            const float id = d ? 1.0f / d : 0.0f;
            wrHalf(blk, d);
            uint8_t* qs = blk + 2;
            for (int j = 0; j < 16; ++j) {
                const float x0 = x[j] * id, x1 = x[16 + j] * id;
                const auto q0 = static_cast<uint8_t>(std::min(15, static_cast<int>(x0 + 8.5f)));
                const auto q1 = static_cast<uint8_t>(std::min(15, static_cast<int>(x1 + 8.5f)));
                qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
            }
        } else {
            return makeError(ErrorCode::Unsupported, std::string("encoding ") + info.name + " blocks is not supported");
        }
    }
    return {};
}

}  // namespace by
