#pragma once
// Bit packing for the project's low-bit types and decoding of ggml block types.
#include <cstdint>

#include "engine/dtype.h"
#include "engine/error.h"

namespace by {

// Reads element i of a little-endian low-bit packed array (`bits` = 1, 2 or 4).
inline int unpackLowBit(const uint8_t* p, int64_t i, int bits, bool isSigned) {
    const int64_t per = 8 / bits;
    const int shift = static_cast<int>(i % per) * bits;
    int v = (p[i / per] >> shift) & ((1 << bits) - 1);
    if (isSigned && (v & (1 << (bits - 1)))) v -= (1 << bits);
    return v;
}

inline void packLowBit(uint8_t* p, int64_t i, int bits, int value) {
    const int64_t per = 8 / bits;
    const int shift = static_cast<int>(i % per) * bits;
    const uint8_t mask = static_cast<uint8_t>(((1 << bits) - 1) << shift);
    p[i / per] = static_cast<uint8_t>((p[i / per] & ~mask) | ((value << shift) & mask));
}

// Decodes `n` elements (a multiple of the block size) of a ggml block type into f32.
// Unsupported for block types the engine does not decode yet.
Status dequantizeBlocks(DType t, const uint8_t* src, int64_t n, float* dst);

// Encodes f32 rows into Q8_0 / Q4_0 / Q6_K blocks with the reference rounding of ggml (the bytes
// llama-quantize writes without an importance matrix).
Status quantizeBlocks(DType t, const float* src, int64_t n, uint8_t* dst);

}  // namespace by
