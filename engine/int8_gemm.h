#pragma once
// Exact 8-bit integer matrix products for quantized models (MatMulInteger, QLinearMatMul,
// ConvInteger, QLinearConv):
//
//   C[m, n] = sum_k (A[m, k] - aZero[m]) * (B[k, n] - bZero[n])      (int32)
//
// A and B may each be signed or unsigned bytes. Internally A is shifted to unsigned and B to
// signed so the inner loop is one u8 x s8 -> i32 dot product of 4 consecutive k (vpdpbusd with
// AVX-512 VNNI or AVX-VNNI where the CPU has it, AVX2 16-bit multiply-add otherwise, portable C++
// as the last resort), and the zero points are folded in afterwards from row and column sums, so
// every path gives the same exact result. B is packed into column panels first (see
// PackedInt8Matrix; callers with constant B can pack it once), A into row panels on every call.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/error.h"

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

// B (usually constant weights) shifted to signed bytes and laid out for the micro-kernels: panels
// of 32 columns, each [K/4][32 columns][4 consecutive k], zero-padded to whole panels and to K a
// multiple of 4. Its zero points and column sums are folded in once, so a caller that keeps one
// skips the O(K * N) repacking on every product. The layout is the same for every kernel.
struct PackedInt8Matrix {
    int64_t K = 0, N = 0;
    int64_t Kp = 0;      // K rounded up to a multiple of 4
    int64_t panels = 0;  // ceil(N / 32)
    std::vector<int8_t> data;      // panels * Kp * 32 bytes
    std::vector<int32_t> zero;     // effective zero point per column (after the shift), padded
    std::vector<int32_t> colTerm;  // column sum - K * zero, per column, padded
    bool empty() const { return panels == 0; }
};

// Packs args.B (with its zero points) for int8GemmPacked; the A and C fields are not read.
PackedInt8Matrix packInt8B(const Int8GemmArgs& args, ThreadPool* pool = nullptr);

// C = (A - aZero) * (B - bZero) with B taken from `b` (args.B, args.bZero... are not read).
// Fails when args.K or args.N differ from the packed matrix.
Status int8GemmPacked(const Int8GemmArgs& args, const PackedInt8Matrix& b, ThreadPool* pool = nullptr);

// Called for each finished block of C (rows [row0, row0 + rows), columns [col0, col0 + cols)),
// on the thread that computed it, while that block is still in cache: requantization or a
// conversion to the caller's layout runs here instead of in a second pass over C. Blocks never
// overlap, so the callback may write its own output without locking.
using Int8Epilogue = std::function<void(int64_t row0, int64_t rows, int64_t col0, int64_t cols)>;
Status int8GemmPacked(const Int8GemmArgs& args, const PackedInt8Matrix& b, const Int8Epilogue& epilogue,
                      ThreadPool* pool = nullptr);

// A (usually constant weights, as the left operand) shifted to unsigned bytes and laid out in
// panels of 8 rows, [K/4][8 rows][4 consecutive k], with its zero points and row sums folded in.
struct PackedInt8Rows {
    int64_t M = 0, K = 0, Kp = 0, panels = 0;
    std::unique_ptr<uint8_t[]> data;  // panels * Kp * 8 bytes
    std::vector<int32_t> zero, rowSum;
    bool empty() const { return panels == 0; }
};

// Packs args.A (with its zero points) for int8GemmPackedA; the B and C fields are not read.
PackedInt8Rows packInt8A(const Int8GemmArgs& args, ThreadPool* pool = nullptr);

// C = (A - aZero) * (B - bZero) with A taken from `a` (args.A, args.aZero... are not read) and B
// packed on this call; `epilogue` as for int8GemmPacked (may be empty). Fails when args.M or
// args.K differ from the packed rows.
Status int8GemmPackedA(const Int8GemmArgs& args, const PackedInt8Rows& a, const Int8Epilogue& epilogue, ThreadPool* pool = nullptr);

// Which inner loop int8Gemm uses on this CPU: "avx512-vnni", "avx-vnni", "avx2" or "portable".
const char* int8GemmKernelName();

// The portable path only, for tests and as a benchmark baseline.
void int8GemmReference(const Int8GemmArgs& args);

// Every kernel this CPU can run, best first (tests run each one against the definition).
std::vector<const char*> int8GemmAvailableKernels();
// int8Gemm forced onto one named kernel; false when the name is unknown or this CPU lacks it.
bool int8GemmWithKernel(const Int8GemmArgs& args, const char* kernel, ThreadPool* pool = nullptr);

}  // namespace by
