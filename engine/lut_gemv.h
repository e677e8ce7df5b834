#pragma once
// Binary-coded weights and their lookup-table matrix-vector product.
//
// A binary-coded matrix approximates W [N, K] as a sum of `planes` sign matrices, each scaled per
// row and per group of `groupSize` columns:
//
//   W[n, k] ~= sum_p alpha[p][n][k / groupSize] * s_p[n, k],   s_p in {-1, +1}
//
// The product y = W x never multiplies weights: for every 4 consecutive activations the 16
// possible signed sums are tabulated once (shared by all rows and planes), and each row then
// looks up one table entry per 4 weights, using the 4 sign bits as the index. Tables are
// quantized to int8 per group so 32 rows are looked up at once with one byte shuffle (AVX2);
// a portable path does the same with float tables.
#include <cstdint>
#include <vector>

#include "engine/error.h"

namespace by {

class ThreadPool;

struct BinaryCodedMatrix {
    int64_t rows = 0, cols = 0, planes = 0, groupSize = 0;
    // Sign bits, bit set = +1. Layout [plane][row block of 32][chunk of 4 columns][16 bytes]:
    // byte j holds row j's 4 bits in its low nibble and row j + 16's in its high nibble.
    std::vector<uint8_t> bits;
    // Scales, [plane][group][row], rows padded to whole blocks of 32 (padding is 0).
    std::vector<float> alpha;

    int64_t groups() const { return groupSize ? (cols + groupSize - 1) / groupSize : 0; }
    int64_t rowBlocks() const { return (rows + 31) / 32; }
    int64_t chunks() const { return groups() * groupSize / 4; }
    // Bytes held (bits + scales): what a model stores.
    int64_t storageBytes() const { return int64_t(bits.size()) + int64_t(alpha.size() * sizeof(float)); }

    float& alphaAt(int64_t plane, int64_t row, int64_t group) { return alpha[size_t((plane * groups() + group) * rowBlocks() * 32 + row)]; }
    float alphaAt(int64_t plane, int64_t row, int64_t group) const { return alpha[size_t((plane * groups() + group) * rowBlocks() * 32 + row)]; }
    bool sign(int64_t plane, int64_t row, int64_t col) const;  // true = +1
    void setSign(int64_t plane, int64_t row, int64_t col, bool positive);
    // The approximated W, row-major [rows, cols].
    std::vector<float> dequantize() const;
};

// Binary coding of W [rows, cols]. It starts greedy: each plane takes the sign of what the previous
// planes left and, per row and group, the mean absolute residual as its scale. Then `iterations`
// rounds of alternating least squares refine each row's group: with the signs fixed, the planes'
// scales are the least-squares solution of a planes x planes system; with the scales fixed, each
// weight takes the best of the 2^planes sign combinations. Neither half can raise the group's
// squared error (a round that would, through rounding, is dropped), so the result is never worse
// than greedy. groupSize must be a positive multiple of 4; planes in [1, 8]; iterations >= 0.
Result<BinaryCodedMatrix> binaryCode(const float* w, int64_t rows, int64_t cols, int64_t planes, int64_t groupSize,
                                     int iterations = 0);

// y[rows] = W x[cols] with the lookup tables. Uses AVX2 where the CPU has it and groupSize allows
// (a multiple of 4 up to 1024), else the portable float-table path.
void lutGemv(const BinaryCodedMatrix& w, const float* x, float* y, ThreadPool* pool = nullptr);
// The portable float-table path only (tests, benchmark baseline).
void lutGemvPortable(const BinaryCodedMatrix& w, const float* x, float* y);
const char* lutGemvKernelName();

}  // namespace by
