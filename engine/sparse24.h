#pragma once
// 2:4 structured-sparse weights for few-row products (GEMV and small batches).
//
// A weight matrix in which every aligned group of four along K holds at most two non-zeros (what
// PruneNM 2:4 writes) stays dense in the model file: any runtime reads it. At plan time the
// executor repacks such a constant into the two kept values and their two 2-bit positions per
// group, which halves the bytes a one-row product streams (4 + 4 + 1 bytes per group of four
// weights instead of 16), and multiplies with it when A has few rows: there the dense product is
// bound by reading the weights, and the sparse one does half the multiplications. With many rows
// the dense GEMM's blocking wins, so callers keep the dense path above sparse24MaxRows().
#include <cstdint>
#include <optional>
#include <vector>

namespace by {

class ThreadPool;

struct Sparse24Weights {
    static constexpr int64_t kBlock = 16;  // outputs per block (one 512-bit register of f32)
    int64_t K = 0, N = 0;                  // K % 4 == 0
    int64_t groups = 0;                    // K / 4
    int64_t blocks = 0;                    // ceil(N / kBlock); outputs past N are zero
    // [block][group][2][kBlock]: the first and second kept value of each output's group.
    std::vector<float> values;
    // [block][group][kBlock]: position of the first kept value in bits 0-1, the second in 2-3.
    std::vector<uint8_t> positions;
    size_t bytes() const { return values.size() * sizeof(float) + positions.size(); }
};

// Packs W when every group of four along K has at most two non-zeros; nullopt otherwise (also when
// K is not a multiple of 4). `kMajor`: W is [K][N] (MatMul's B); else [N][K] (Gemm's B with transB).
std::optional<Sparse24Weights> packSparse24(const float* w, int64_t K, int64_t N, bool kMajor);

// C[m][n] = (accumulate ? C[m][n] : 0) + alpha * sum_k A[m][k] W[k][n] for m < M. Outputs are split
// over `pool` (may be null).
void sparse24Gemm(const Sparse24Weights& w, const float* A, int64_t M, int64_t lda, float* C, int64_t ldc, float alpha,
                  bool accumulate, ThreadPool* pool);

// The kernels this CPU can run ("avx512", "avx2", "scalar"), best first; the product forced onto
// one of them (false when the name is unknown or this CPU lacks it), for tests.
std::vector<const char*> sparse24AvailableKernels();
bool sparse24GemmWithKernel(const char* kernel, const Sparse24Weights& w, const float* A, int64_t M, int64_t lda, float* C,
                            int64_t ldc, float alpha, bool accumulate);

// Rows of A up to which the sparse product beats the dense GEMM on this machine's kernels.
int64_t sparse24MaxRows();

}  // namespace by
