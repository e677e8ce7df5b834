#pragma once
// Matrix products of activations with weight matrices stored row by row ([N, K], one output per
// row, the layout of PyTorch Linear and ggml): f32, and ggml Q8_0 / Q4_0 blocks. The low-bit paths
// quantize the activations to int8 blocks of 32 and use integer dot products, so the weights are
// never expanded to f32. AVX2 kernels are chosen at run time when the CPU has them
// (__builtin_cpu_supports), with AVX512-VNNI dot products where present; the scalar kernels are the reference and the fallback.
#include <cstdint>
#include <vector>

#include "engine/dtype.h"
#include "engine/error.h"

namespace by {

class ThreadPool;

enum class KernelPath { Auto, Scalar };

// True when the AVX2/FMA/F16C kernels run on this CPU.
bool cpuHasAvx2Kernels();
// True when the integer dot products use AVX512-VNNI.
bool cpuHasVnniKernels();

// y[m, n] = sum_k x[m, k] * W[n, k] (+ bias[n] when bias is not null), for m < M, n < N.
// `w` holds N rows of K elements of `wtype` (F32, Q8_0 or Q4_0; K a multiple of 32 for blocks).
// Unsupported for other weight types, Invalid for a K the blocks cannot split.
Status matmulRows(const float* x, int64_t M, int64_t K, DType wtype, const uint8_t* w, int64_t N, const float* bias,
                  float* y, ThreadPool* pool, KernelPath path = KernelPath::Auto);

// Q8_0 / Q4_0 weight rows repacked for prompt-sized products on CPUs with AVX512-VNNI: panels of
// 32 output rows, each block of 32 k as [8 groups of 4 k][32 outputs][4 k] signed bytes (Q4_0
// nibbles widened to bytes), with the 32 block scales as f32 and -128 * the block's weight sum
// (the correction for activations biased to unsigned bytes). One vpdpbusd then adds 4 k of one
// activation row into 16 outputs at once, and the float work (convert, scale, accumulate) is paid
// once per block and 16 outputs instead of once per block and output.
struct PackedBlockWeights {
    int64_t N = 0, K = 0, blocks = 0, panels = 0;
    std::vector<int8_t> q;       // panels * blocks * 1024
    std::vector<float> scale;    // panels * blocks * 32
    std::vector<int32_t> corr;   // panels * blocks * 32
    bool empty() const { return panels == 0; }
};

// Empty when this CPU lacks AVX512-VNNI, the type is not Q8_0/Q4_0 or K is not a multiple of 32.
PackedBlockWeights packBlockWeights(DType wtype, const uint8_t* w, int64_t N, int64_t K, ThreadPool* pool = nullptr);

// matmulRows for packed weights: the activations are quantized to int8 blocks of 32 exactly as
// matmulRows does, so the two agree up to the order of float additions.
Status matmulRowsPacked(const float* x, int64_t M, const PackedBlockWeights& w, const float* bias, float* y, ThreadPool* pool);

// Row-major C = alpha * op(A) op(B) + beta * C through BLAS (op = transpose when the flag is set).
// OpenBLAS runs single-threaded; a product worth splitting is cut into column (or row) slices,
// one per pool thread: OpenBLAS's own workers would spin between calls and take the cores from the
// pool's other work. Also the thread count BLAS uses.
void sgemmRowMajor(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                   int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool* pool = nullptr);
void setBlasThreads(int threads);

// Dot product of two f32 vectors (the attention kernels use it).
float dotF32(const float* a, const float* b, int64_t n);
// GPT-2's tanh GELU over n elements in place (a vectorised exp where AVX2 is available).
void geluTanhInPlace(float* x, int64_t n);
// y += a * x over n elements.
void axpyF32(float a, const float* x, float* y, int64_t n);

}  // namespace by
