#pragma once
// Exact 8-bit integer matrix products for quantized models (MatMulInteger, QLinearMatMul,
// ConvInteger, QLinearConv):
//
//   C[m, n] = sum_k (A[m, k] - aZero[m]) * (B[k, n] - bZero[n])      (int32)
//
// A and B may each be signed or unsigned bytes. Internally A is shifted to unsigned and B to
// signed so the inner loop is one u8 x s8 -> i32 dot product (AVX-512 VNNI where the CPU has it,
// AVX2 16-bit multiply-add otherwise, portable C++ as the last resort), and the zero points are
// folded in afterwards from row and column sums, so every path gives the same exact result.
#include <cstdint>

namespace by {

class ThreadPool;

struct Int8GemmArgs {
    int64_t M = 0, N = 0, K = 0;
    const void* A = nullptr;  // M x K, row stride lda (elements)
    int64_t lda = 0;
    bool aSigned = false;
    const void* B = nullptr;  // K x N, row stride ldb
    int64_t ldb = 0;
    bool bSigned = false;
    // Zero points: one value (stride 0) or one per row of A / per column of B.
    const int32_t* aZero = nullptr;  // nullptr = 0
    bool aZeroPerRow = false;
    const int32_t* bZero = nullptr;
    bool bZeroPerColumn = false;
    int32_t* C = nullptr;  // M x N, row stride ldc
    int64_t ldc = 0;
};

void int8Gemm(const Int8GemmArgs& args, ThreadPool* pool = nullptr);

// Which inner loop int8Gemm uses on this CPU: "avx512-vnni", "avx2" or "portable".
const char* int8GemmKernelName();

// The portable path only, for tests and as a benchmark baseline.
void int8GemmReference(const Int8GemmArgs& args);

}  // namespace by
