#include "engine/sparse24.h"

// GCC 12 reports the AVX-512 intrinsics' internal pass-through operands as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <string>

#include "engine/thread_pool.h"

namespace by {

std::optional<Sparse24Weights> packSparse24(const float* w, int64_t K, int64_t N, bool kMajor) {
    if (K <= 0 || N <= 0 || K % 4 != 0) return std::nullopt;
    constexpr int64_t B = Sparse24Weights::kBlock;
    Sparse24Weights s;
    s.K = K, s.N = N, s.groups = K / 4, s.blocks = (N + B - 1) / B;
    s.values.assign(static_cast<size_t>(s.blocks * s.groups * 2 * B), 0.0f);
    s.positions.assign(static_cast<size_t>(s.blocks * s.groups * B), uint8_t(1 << 2));  // empty: positions 0, 1
    auto at = [&](int64_t k, int64_t n) { return kMajor ? w[k * N + n] : w[n * K + k]; };
    for (int64_t n = 0; n < N; ++n) {
        const int64_t b = n / B, lane = n % B;
        for (int64_t g = 0; g < s.groups; ++g) {
            float v[2] = {0, 0};
            int p[2] = {0, 1};
            int kept = 0;
            for (int j = 0; j < 4; ++j) {
                const float x = at(4 * g + j, n);
                if (x == 0.0f) continue;  // NaN is kept (and counts)
                if (kept == 2) return std::nullopt;
                v[kept] = x, p[kept] = j, ++kept;
            }
            if (kept == 1) p[1] = (p[0] + 1) & 3;  // a zero value; the position only has to be valid
            const size_t bg = static_cast<size_t>(b * s.groups + g);
            s.values[(bg * 2 + 0) * B + static_cast<size_t>(lane)] = v[0];
            s.values[(bg * 2 + 1) * B + static_cast<size_t>(lane)] = v[1];
            s.positions[bg * B + static_cast<size_t>(lane)] = static_cast<uint8_t>(p[0] | (p[1] << 2));
        }
    }
    return s;
}

namespace {

constexpr int64_t kB = Sparse24Weights::kBlock;

void blockScalar(const Sparse24Weights& w, int64_t b, const float* A, int64_t M, int64_t lda, float* C, int64_t ldc,
                 float alpha, bool accumulate) {
    const int64_t n0 = b * kB, nn = std::min(kB, w.N - n0);
    const float* v = w.values.data() + b * w.groups * 2 * kB;
    const uint8_t* p = w.positions.data() + b * w.groups * kB;
    for (int64_t m = 0; m < M; ++m) {
        float acc[kB] = {};
        const float* a = A + m * lda;
        for (int64_t g = 0; g < w.groups; ++g)
            for (int64_t l = 0; l < kB; ++l) {
                const uint8_t q = p[g * kB + l];
                acc[l] += v[(g * 2) * kB + l] * a[4 * g + (q & 3)] + v[(g * 2 + 1) * kB + l] * a[4 * g + ((q >> 2) & 3)];
            }
        float* c = C + m * ldc + n0;
        for (int64_t l = 0; l < nn; ++l) c[l] = (accumulate ? c[l] : 0.0f) + alpha * acc[l];
    }
}

template <int R>
__attribute__((target("avx2,fma"))) void rowsAvx2(const Sparse24Weights& w, int64_t b, const float* A, int64_t lda,
                                                  float* C, int64_t ldc, float alpha, bool accumulate) {
    const float* v = w.values.data() + b * w.groups * 2 * kB;
    const uint8_t* p = w.positions.data() + b * w.groups * kB;
    __m256 lo[R], hi[R];
    for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
    const __m256i three = _mm256_set1_epi32(3);
    for (int64_t g = 0; g < w.groups; ++g) {
        const __m256 v0l = _mm256_loadu_ps(v + g * 32), v0h = _mm256_loadu_ps(v + g * 32 + 8);
        const __m256 v1l = _mm256_loadu_ps(v + g * 32 + 16), v1h = _mm256_loadu_ps(v + g * 32 + 24);
        const __m256i ql = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + g * kB)));
        const __m256i qh = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + g * kB + 8)));
        const __m256i i0l = _mm256_and_si256(ql, three), i1l = _mm256_and_si256(_mm256_srli_epi32(ql, 2), three);
        const __m256i i0h = _mm256_and_si256(qh, three), i1h = _mm256_and_si256(_mm256_srli_epi32(qh, 2), three);
        for (int r = 0; r < R; ++r) {
            // The group's four activations in both 128-bit lanes: permutevar picks within a lane.
            const __m256 x = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(A + r * lda + 4 * g));
            lo[r] = _mm256_fmadd_ps(v0l, _mm256_permutevar_ps(x, i0l), lo[r]);
            hi[r] = _mm256_fmadd_ps(v0h, _mm256_permutevar_ps(x, i0h), hi[r]);
            lo[r] = _mm256_fmadd_ps(v1l, _mm256_permutevar_ps(x, i1l), lo[r]);
            hi[r] = _mm256_fmadd_ps(v1h, _mm256_permutevar_ps(x, i1h), hi[r]);
        }
    }
    const int64_t n0 = b * kB, nn = std::min(kB, w.N - n0);
    for (int r = 0; r < R; ++r) {
        alignas(32) float out[kB];
        _mm256_store_ps(out, lo[r]);
        _mm256_store_ps(out + 8, hi[r]);
        float* c = C + r * ldc + n0;
        for (int64_t l = 0; l < nn; ++l) c[l] = (accumulate ? c[l] : 0.0f) + alpha * out[l];
    }
}

template <int R>
__attribute__((target("avx512f"))) void rowsAvx512(const Sparse24Weights& w, int64_t b, const float* A, int64_t lda,
                                                   float* C, int64_t ldc, float alpha, bool accumulate) {
    const float* v = w.values.data() + b * w.groups * 2 * kB;
    const uint8_t* p = w.positions.data() + b * w.groups * kB;
    __m512 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    const __m512i three = _mm512_set1_epi32(3);
    for (int64_t g = 0; g < w.groups; ++g) {
        const __m512 v0 = _mm512_loadu_ps(v + g * 32), v1 = _mm512_loadu_ps(v + g * 32 + 16);
        const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + g * kB)));
        const __m512i i0 = _mm512_and_si512(q, three), i1 = _mm512_and_si512(_mm512_srli_epi32(q, 2), three);
        for (int r = 0; r < R; ++r) {
            // The group's four activations repeated over the register: lanes 0-3 hold them.
            const __m512 x = _mm512_broadcast_f32x4(_mm_loadu_ps(A + r * lda + 4 * g));
            acc[r] = _mm512_fmadd_ps(v0, _mm512_permutexvar_ps(i0, x), acc[r]);
            acc[r] = _mm512_fmadd_ps(v1, _mm512_permutexvar_ps(i1, x), acc[r]);
        }
    }
    const int64_t n0 = b * kB, nn = std::min(kB, w.N - n0);
    const __mmask16 mask = static_cast<__mmask16>((1u << nn) - 1u);
    const __m512 va = _mm512_set1_ps(alpha);
    for (int r = 0; r < R; ++r) {
        float* c = C + r * ldc + n0;
        __m512 out = _mm512_mul_ps(acc[r], va);
        if (accumulate) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask, c));
        _mm512_mask_storeu_ps(c, mask, out);
    }
}

enum class Isa { Scalar, Avx2, Avx512 };

Isa bestIsa() {
    static const Isa isa = __builtin_cpu_supports("avx512f")                                    ? Isa::Avx512
                           : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? Isa::Avx2
                                                                                                : Isa::Scalar;
    return isa;
}

void block(Isa isa, const Sparse24Weights& w, int64_t b, const float* A, int64_t M, int64_t lda, float* C, int64_t ldc,
           float alpha, bool accumulate) {
    if (isa == Isa::Scalar) return blockScalar(w, b, A, M, lda, C, ldc, alpha, accumulate);
    int64_t m = 0;
    // Four rows share each loaded group of weights; the rest one by one.
    for (; m + 4 <= M; m += 4) {
        if (isa == Isa::Avx512)
            rowsAvx512<4>(w, b, A + m * lda, lda, C + m * ldc, ldc, alpha, accumulate);
        else
            rowsAvx2<4>(w, b, A + m * lda, lda, C + m * ldc, ldc, alpha, accumulate);
    }
    for (; m < M; ++m) {
        if (isa == Isa::Avx512)
            rowsAvx512<1>(w, b, A + m * lda, lda, C + m * ldc, ldc, alpha, accumulate);
        else
            rowsAvx2<1>(w, b, A + m * lda, lda, C + m * ldc, ldc, alpha, accumulate);
    }
}

}  // namespace

void sparse24Gemm(const Sparse24Weights& w, const float* A, int64_t M, int64_t lda, float* C, int64_t ldc, float alpha,
                  bool accumulate, ThreadPool* pool) {
    if (M <= 0 || w.blocks == 0) return;
    const Isa isa = bestIsa();
    auto run = [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) block(isa, w, b, A, M, lda, C, ldc, alpha, accumulate);
    };
    // About 32k weight groups x rows per task: enough work to pay for handing it to a thread.
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, w.groups * kB * M));
    if (pool && w.blocks > grain)
        pool->parallelFor(w.blocks, grain, run);
    else
        run(0, w.blocks);
}

std::vector<const char*> sparse24AvailableKernels() {
    std::vector<const char*> k;
    if (bestIsa() == Isa::Avx512) k.push_back("avx512");
    if (bestIsa() != Isa::Scalar) k.push_back("avx2");
    k.push_back("scalar");
    return k;
}

bool sparse24GemmWithKernel(const char* kernel, const Sparse24Weights& w, const float* A, int64_t M, int64_t lda, float* C,
                            int64_t ldc, float alpha, bool accumulate) {
    const std::string name = kernel ? kernel : "";
    Isa isa;
    if (name == "avx512" && bestIsa() == Isa::Avx512)
        isa = Isa::Avx512;
    else if (name == "avx2" && bestIsa() != Isa::Scalar)
        isa = Isa::Avx2;
    else if (name == "scalar")
        isa = Isa::Scalar;
    else
        return false;
    for (int64_t b = 0; b < w.blocks; ++b) block(isa, w, b, A, M, lda, C, ldc, alpha, accumulate);
    return true;
}

int64_t sparse24MaxRows() {
    // Measured with kernel_bench against OpenBLAS split over the pool: with AVX-512 the sparse
    // product stays ahead up to about 128 rows (0.6-0.7x of the dense time at 64); the AVX2
    // kernel needs twice the permutes per group; plain C loops only pay where weights dominate.
    switch (bestIsa()) {
    case Isa::Avx512: return 64;
    case Isa::Avx2: return 16;
    case Isa::Scalar: return 1;
    }
    return 1;
}

}  // namespace by
