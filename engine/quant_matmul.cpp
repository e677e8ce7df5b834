#include "engine/quant_matmul.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "engine/thread_pool.h"

namespace by {

namespace {

// Activations quantized like ggml's Q8_0 but with an f32 scale: 32 values, x ~= d * q.
struct ActBlock {
    float d;
    int8_t q[32];
};

constexpr int64_t kQ8Bytes = 34;  // f16 d + 32 x int8
constexpr int64_t kQ4Bytes = 18;  // f16 d + 16 bytes of nibbles (low nibbles: 0..15, high: 16..31)

float f16At(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return halfToFloat(h);
}

void quantizeActRow(const float* x, int64_t K, ActBlock* out) {
    for (int64_t b = 0; b < K / 32; ++b) {
        const float* v = x + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(v[i]));
        const float d = amax / 127.0f;
        const float id = d ? 1.0f / d : 0.0f;
        out[b].d = d;
        // Round half to even (the default FP mode), as the AVX2 quantizer's cvtps does.
        for (int i = 0; i < 32; ++i) out[b].q[i] = static_cast<int8_t>(std::nearbyint(v[i] * id));
    }
}

// ---- scalar reference kernels ----

float dotQ8Scalar(const uint8_t* w, const ActBlock* a, int64_t nb) {
    float sum = 0;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = w + b * kQ8Bytes;
        const auto* q = reinterpret_cast<const int8_t*>(blk + 2);
        int32_t s = 0;
        for (int i = 0; i < 32; ++i) s += static_cast<int32_t>(q[i]) * a[b].q[i];
        sum += f16At(blk) * a[b].d * static_cast<float>(s);
    }
    return sum;
}

float dotQ4Scalar(const uint8_t* w, const ActBlock* a, int64_t nb) {
    float sum = 0;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = w + b * kQ4Bytes;
        const uint8_t* qs = blk + 2;
        int32_t s = 0;
        for (int i = 0; i < 16; ++i) {
            s += ((qs[i] & 0x0F) - 8) * a[b].q[i];
            s += ((qs[i] >> 4) - 8) * a[b].q[i + 16];
        }
        sum += f16At(blk) * a[b].d * static_cast<float>(s);
    }
    return sum;
}

float dotF32Scalar(const float* a, const float* b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

// ---- AVX2 kernels ----

#define BY_AVX2 __attribute__((target("avx2,fma,f16c")))

BY_AVX2 inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Signed int8 x int8 dot of 32 lanes as 8 int32 sums, via the unsigned-by-signed maddubs with
// the sign moved onto the second operand (|x| * sign(x) * w). Safe from saturation because the
// quantizers keep values in [-127, 127].
BY_AVX2 inline __m256 dotI8x32(__m256i x, __m256i w) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sw = _mm256_sign_epi8(w, x);
    const __m256i p16 = _mm256_maddubs_epi16(ax, sw);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

BY_AVX2 inline float halfAvx(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

BY_AVX2 float dotQ8Avx2(const uint8_t* w, const ActBlock* a, int64_t nb) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = w + b * kQ8Bytes;
        const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
        const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].q));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(halfAvx(blk) * a[b].d), dotI8x32(qx, qw), acc);
    }
    return hsum256(acc);
}

BY_AVX2 float dotQ4Avx2(const uint8_t* w, const ActBlock* a, int64_t nb) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = w + b * kQ4Bytes;
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
        // Low nibbles are elements 0..15, high nibbles 16..31.
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
        const __m256i qw = _mm256_sub_epi8(_mm256_and_si256(both, low), eight);
        const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].q));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(halfAvx(blk) * a[b].d), dotI8x32(qx, qw), acc);
    }
    return hsum256(acc);
}

BY_AVX2 float dotF32Avx2(const float* a, const float* b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

BY_AVX2 void axpyAvx2(float a, const float* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * x[i];
}

// The same kernels with AVX512-VNNI's vpdpbusd (u8 x s8 -> i32 in one instruction) on 256-bit
// registers, for CPUs that have it.
#define BY_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))


// Weight block b of a Q8_0 / Q4_0 row as 32 signed bytes, and its scale.
template <bool Q4>
BY_AVX2 inline __m256i loadWeights(const uint8_t* blk) {
    if constexpr (Q4) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
        return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0F)), _mm256_set1_epi8(8));
    } else {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    }
}

// One weight row against four activation rows (consecutive, nb blocks each): each weight block
// is loaded and unpacked once for the four. Prompt-sized products spend their time here.
template <bool Q4>
BY_AVX2 void dot4Avx2(const uint8_t* w, const ActBlock* a, int64_t nb, float* out) {
    constexpr int64_t bytes = Q4 ? kQ4Bytes : kQ8Bytes;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = w + b * bytes;
        const __m256i qw = loadWeights<Q4>(blk);
        const float dw = halfAvx(blk);
        for (int r = 0; r < 4; ++r) {
            const ActBlock& ab = a[r * nb + b];
            const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.q));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw * ab.d), dotI8x32(qx, qw), acc[r]);
        }
    }
    for (int r = 0; r < 4; ++r) out[r] = hsum256(acc[r]);
}

// VNNI kernels take the activations biased to unsigned bytes (q + 128, stored as q ^ 0x80) so
// vpdpbusd multiplies them with the signed weights directly; starting each block's sum at
// -128 * sum(w) removes the bias. One weight block is loaded and unpacked once for R rows.
template <bool Q4>
BY_VNNI inline __m256i biasCorrection(__m256i qw) {
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(static_cast<char>(0x80)), qw));
}

template <bool Q4, int R>
BY_VNNI void dotRowsVnni(const uint8_t* w, const ActBlock* a, int64_t nb, float* out) {
    constexpr int64_t bytes = Q4 ? kQ4Bytes : kQ8Bytes;
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = w + b * bytes;
        const __m256i qw = loadWeights<Q4>(blk);
        const __m256i neg = biasCorrection<Q4>(qw);
        const float dw = halfAvx(blk);
        for (int r = 0; r < R; ++r) {
            const ActBlock& ab = a[r * nb + b];
            const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.q));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw * ab.d), _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(neg, u, qw)), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) out[r] = hsum256(acc[r]);
}

// Two weight rows against four activation rows: eight sums per pass over the blocks.
template <bool Q4>
BY_VNNI void dot2x4Vnni(const uint8_t* w0, const uint8_t* w1, const ActBlock* a, int64_t nb, float* out) {
    constexpr int64_t bytes = Q4 ? kQ4Bytes : kQ8Bytes;
    __m256 acc0[4], acc1[4];
    for (int r = 0; r < 4; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* b0 = w0 + b * bytes;
        const uint8_t* b1 = w1 + b * bytes;
        const __m256i q0 = loadWeights<Q4>(b0), q1 = loadWeights<Q4>(b1);
        const __m256i n0 = biasCorrection<Q4>(q0), n1 = biasCorrection<Q4>(q1);
        const float d0 = halfAvx(b0), d1 = halfAvx(b1);
        for (int r = 0; r < 4; ++r) {
            const ActBlock& ab = a[r * nb + b];
            const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.q));
            acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * ab.d), _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(n0, u, q0)), acc0[r]);
            acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(d1 * ab.d), _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(n1, u, q1)), acc1[r]);
        }
    }
    for (int r = 0; r < 4; ++r) {
        out[r] = hsum256(acc0[r]);
        out[4 + r] = hsum256(acc1[r]);
    }
}

template <bool Q4>
BY_VNNI float dot1Vnni(const uint8_t* w, const ActBlock* a, int64_t nb) {
    float r;
    dotRowsVnni<Q4, 1>(w, a, nb, &r);
    return r;
}

template <bool Q4>
void dot4Scalar(const uint8_t* w, const ActBlock* a, int64_t nb, float* out) {
    for (int r = 0; r < 4; ++r) out[r] = Q4 ? dotQ4Scalar(w, a + r * nb, nb) : dotQ8Scalar(w, a + r * nb, nb);
}

BY_AVX2 void quantizeActRowAvx2(const float* x, int64_t K, ActBlock* out, bool biased) {
    const __m256i bias = _mm256_set1_epi8(biased ? static_cast<char>(0x80) : 0);
    const __m256 signMask = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < K / 32; ++b) {
        const float* v = x + b * 32;
        __m256 x0 = _mm256_loadu_ps(v), x1 = _mm256_loadu_ps(v + 8), x2 = _mm256_loadu_ps(v + 16), x3 = _mm256_loadu_ps(v + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signMask, x0), _mm256_andnot_ps(signMask, x1)),
                                 _mm256_max_ps(_mm256_andnot_ps(signMask, x2), _mm256_andnot_ps(signMask, x3)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f;
        const float id = d ? 1.0f / d : 0.0f;
        out[b].d = d;
        const __m256 vid = _mm256_set1_ps(id);
        const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(x0, vid)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(x1, vid));
        const __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(x2, vid)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(x3, vid));
        // packs interleave 128-bit lanes; the permute puts the 32 bytes back in order.
        const __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
        const __m256i p = _mm256_packs_epi16(p01, p23);
        const __m256i ordered = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].q), _mm256_xor_si256(ordered, bias));
    }
}

// exp(x) for 8 lanes: 2^n * p(r) with r = x - n ln2 and a degree-6 polynomial (about 1 ulp over
// the clamped range).
BY_AVX2 inline __m256 expAvx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

BY_AVX2 void geluAvx2(float* x, int64_t n) {
    const __m256 c = _mm256_set1_ps(0.7978845608028654f), k = _mm256_set1_ps(0.044715f), half = _mm256_set1_ps(0.5f),
                 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 y = _mm256_mul_ps(c, _mm256_fmadd_ps(_mm256_mul_ps(k, v), _mm256_mul_ps(v, v), v));
        // tanh(y) = 1 - 2 / (exp(2y) + 1): saturates cleanly to +-1 at the clamp.
        const __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(expAvx2(_mm256_mul_ps(two, y)), one)));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, t)));
    }
    for (; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::tanh(0.7978845608028654f * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

bool detectVnni() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

bool detectAvx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

const bool g_avx2 = detectAvx2();
const bool g_vnni = detectVnni();

void runParallel(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (pool && pool->threadCount() > 1 && n > grain) pool->parallelFor(n, grain, fn);
    else fn(0, n);
}

}  // namespace

bool cpuHasAvx2Kernels() { return g_avx2; }
bool cpuHasVnniKernels() { return g_vnni; }

void geluTanhInPlace(float* x, int64_t n) {
    if (g_avx2) {
        geluAvx2(x, n);
        return;
    }
    for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::tanh(0.7978845608028654f * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

void sgemmRowMajor(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                   int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool* pool) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? 0.f : beta * C[i * ldc + j];
        return;
    }
    static std::once_flag single;
    std::call_once(single, [] { openblas_set_num_threads(1); });
    auto call = [&](int64_t m, int64_t n, const float* a, const float* b, float* c) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
                    static_cast<blasint>(n), static_cast<blasint>(K), alpha, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb),
                    beta, c, static_cast<blasint>(ldc));
    };
    const int64_t parts = pool ? pool->threadCount() : 1;
    if (parts < 2 || double(M) * double(N) * double(K) < double(1 << 20)) {
        call(M, N, A, B, C);
    } else if (N >= 32 * parts) {
        const int64_t slice = ((N + parts - 1) / parts + 15) / 16 * 16;
        pool->parallelFor((N + slice - 1) / slice, 1, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) {
                const int64_t n0 = p * slice, n = std::min(N, n0 + slice) - n0;
                call(M, n, A, transB ? B + n0 * ldb : B + n0, C + n0);
            }
        });
    } else if (M >= 8 * parts) {
        const int64_t slice = (M + parts - 1) / parts;
        pool->parallelFor((M + slice - 1) / slice, 1, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) {
                const int64_t m0 = p * slice, m = std::min(M, m0 + slice) - m0;
                call(m, N, transA ? A + m0 : A + m0 * lda, B, C + m0 * ldc);
            }
        });
    } else {
        call(M, N, A, B, C);
    }
}

void setBlasThreads(int threads) { openblas_set_num_threads(threads); }

float dotF32(const float* a, const float* b, int64_t n) { return g_avx2 ? dotF32Avx2(a, b, n) : dotF32Scalar(a, b, n); }

void axpyF32(float a, const float* x, float* y, int64_t n) {
    if (g_avx2) {
        axpyAvx2(a, x, y, n);
        return;
    }
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

Status matmulRows(const float* x, int64_t M, int64_t K, DType wtype, const uint8_t* w, int64_t N, const float* bias, float* y,
                  ThreadPool* pool, KernelPath path) {
    const bool simd = g_avx2 && path == KernelPath::Auto;
    if (wtype == DType::F32) {
        const auto* wf = reinterpret_cast<const float*>(w);
        if (M > 1 && path == KernelPath::Auto) {
            sgemmRowMajor(false, true, M, N, K, 1.0f, x, K, wf, K, 0.0f, y, N, pool);
            if (bias)
                for (int64_t m = 0; m < M; ++m)
                    for (int64_t n = 0; n < N; ++n) y[m * N + n] += bias[n];
            return {};
        }
        runParallel(pool, N, 64, [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; ++n)
                for (int64_t m = 0; m < M; ++m) {
                    const float d = simd ? dotF32Avx2(x + m * K, wf + n * K, K) : dotF32Scalar(x + m * K, wf + n * K, K);
                    y[m * N + n] = d + (bias ? bias[n] : 0.0f);
                }
        });
        return {};
    }
    if (wtype != DType::Q8_0 && wtype != DType::Q4_0)
        return makeError(ErrorCode::Unsupported, std::string("no matmul kernel for weights of type ") + dtypeName(wtype), "matmulRows");
    if (K % 32 != 0)
        return makeError(ErrorCode::Invalid, "row length " + std::to_string(K) + " is not a multiple of 32", "matmulRows");
    const int64_t nb = K / 32;
    std::vector<ActBlock> act(static_cast<size_t>(M * nb));
    runParallel(pool, M, 16, [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            if (simd) quantizeActRowAvx2(x + m * K, K, act.data() + m * nb, g_vnni);
            else quantizeActRow(x + m * K, K, act.data() + m * nb);
        }
    });
    const bool q8 = wtype == DType::Q8_0;
    const int64_t rowBytes = nb * (q8 ? kQ8Bytes : kQ4Bytes);
    if (simd && g_vnni) {
        auto dot1 = q8 ? dot1Vnni<false> : dot1Vnni<true>;
        auto dot4 = q8 ? dotRowsVnni<false, 4> : dotRowsVnni<true, 4>;
        auto dot2x4 = q8 ? dot2x4Vnni<false> : dot2x4Vnni<true>;
        // Activation rows in panels of 16 so a panel stays in L1 while this thread's weight
        // rows stream past it.
        constexpr int64_t kPanel = 16;
        runParallel(pool, (N + 1) / 2, 16, [&](int64_t h0, int64_t h1) {
            const int64_t n0 = 2 * h0, n1 = std::min(N, 2 * h1);
            float r8[8];
            for (int64_t p0 = 0; p0 < M; p0 += kPanel) {
                const int64_t p1 = std::min(M, p0 + kPanel);
                for (int64_t n = n0; n < n1; n += 2) {
                    const bool pair = n + 1 < n1;
                    const uint8_t* w0 = w + n * rowBytes;
                    const float b0 = bias ? bias[n] : 0.0f, b1 = bias && pair ? bias[n + 1] : 0.0f;
                    int64_t m = p0;
                    for (; m + 4 <= p1; m += 4) {
                        if (pair) {
                            dot2x4(w0, w0 + rowBytes, act.data() + m * nb, nb, r8);
                            for (int r = 0; r < 4; ++r) {
                                y[(m + r) * N + n] = r8[r] + b0;
                                y[(m + r) * N + n + 1] = r8[4 + r] + b1;
                            }
                        } else {
                            dot4(w0, act.data() + m * nb, nb, r8);
                            for (int r = 0; r < 4; ++r) y[(m + r) * N + n] = r8[r] + b0;
                        }
                    }
                    for (; m < p1; ++m) {
                        y[m * N + n] = dot1(w0, act.data() + m * nb, nb) + b0;
                        if (pair) y[m * N + n + 1] = dot1(w0 + rowBytes, act.data() + m * nb, nb) + b1;
                    }
                }
            }
        });
        return {};
    }
    auto dot = q8 ? (simd ? dotQ8Avx2 : dotQ8Scalar) : (simd ? dotQ4Avx2 : dotQ4Scalar);
    auto dot4 = q8 ? (simd ? dot4Avx2<false> : dot4Scalar<false>) : (simd ? dot4Avx2<true> : dot4Scalar<true>);
    constexpr int64_t kPanel = 16;
    runParallel(pool, N, 32, [&](int64_t n0, int64_t n1) {
        float r4[4];
        for (int64_t p0 = 0; p0 < M; p0 += kPanel) {
            const int64_t p1 = std::min(M, p0 + kPanel);
            for (int64_t n = n0; n < n1; ++n) {
                const uint8_t* row = w + n * rowBytes;
                const float bn = bias ? bias[n] : 0.0f;
                int64_t m = p0;
                for (; m + 4 <= p1; m += 4) {
                    dot4(row, act.data() + m * nb, nb, r4);
                    for (int r = 0; r < 4; ++r) y[(m + r) * N + n] = r4[r] + bn;
                }
                for (; m < p1; ++m) y[m * N + n] = dot(row, act.data() + m * nb, nb) + bn;
            }
        }
    });
    return {};
}

// ---- prompt-sized products on repacked weights (AVX512-VNNI) ----

namespace {

// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own undefined-vector
// placeholders (the masked forms' pass-through operand); nothing here reads uninitialised data.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define BY_VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

// R activation rows (biased unsigned bytes, ActBlock layout) against one 32-output panel.
template <int R>
BY_VNNI512 void panelRows(const ActBlock* act, int64_t nb, const int8_t* q, const float* scale, const int32_t* corr, float* out,
                          int64_t ldo, int64_t cols, const float* bias) {
    __m512 accf[R][2];
    for (int r = 0; r < R; ++r) accf[r][0] = accf[r][1] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const int8_t* wq = q + b * 1024;
        __m512i acci[R][2];
        const __m512i c0 = _mm512_loadu_si512(corr + b * 32), c1 = _mm512_loadu_si512(corr + b * 32 + 16);
        for (int r = 0; r < R; ++r) {
            acci[r][0] = c0;
            acci[r][1] = c1;
        }
        for (int g = 0; g < 8; ++g) {
            const __m512i w0 = _mm512_loadu_si512(wq + g * 128), w1 = _mm512_loadu_si512(wq + g * 128 + 64);
            for (int r = 0; r < R; ++r) {
                int32_t four;
                std::memcpy(&four, act[r * nb + b].q + 4 * g, 4);
                const __m512i a = _mm512_set1_epi32(four);
                acci[r][0] = _mm512_dpbusd_epi32(acci[r][0], a, w0);
                acci[r][1] = _mm512_dpbusd_epi32(acci[r][1], a, w1);
            }
        }
        const __m512 s0 = _mm512_loadu_ps(scale + b * 32), s1 = _mm512_loadu_ps(scale + b * 32 + 16);
        for (int r = 0; r < R; ++r) {
            const __m512 da = _mm512_set1_ps(act[r * nb + b].d);
            accf[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acci[r][0]), _mm512_mul_ps(s0, da), accf[r][0]);
            accf[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acci[r][1]), _mm512_mul_ps(s1, da), accf[r][1]);
        }
    }
    const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1);
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    for (int r = 0; r < R; ++r) {
        _mm512_mask_storeu_ps(out + r * ldo, m0, _mm512_add_ps(accf[r][0], b0));
        _mm512_mask_storeu_ps(out + r * ldo + 16, m1, _mm512_add_ps(accf[r][1], b1));
    }
}

}  // namespace

PackedBlockWeights packBlockWeights(DType wtype, const uint8_t* w, int64_t N, int64_t K, ThreadPool* pool) {
    PackedBlockWeights p;
    if (!g_vnni || !g_avx2 || (wtype != DType::Q8_0 && wtype != DType::Q4_0) || K % 32 != 0 || N <= 0) return p;
    const bool q8 = wtype == DType::Q8_0;
    const int64_t nb = K / 32, rowBytes = nb * (q8 ? kQ8Bytes : kQ4Bytes);
    p.N = N;
    p.K = K;
    p.blocks = nb;
    p.panels = (N + 31) / 32;
    p.q.assign(static_cast<size_t>(p.panels * nb * 1024), 0);
    p.scale.assign(static_cast<size_t>(p.panels * nb * 32), 0.0f);
    p.corr.assign(static_cast<size_t>(p.panels * nb * 32), 0);
    runParallel(pool, p.panels, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t panel = p0; panel < p1; ++panel)
            for (int64_t c = 0; c < 32 && panel * 32 + c < N; ++c) {
                const uint8_t* row = w + (panel * 32 + c) * rowBytes;
                for (int64_t b = 0; b < nb; ++b) {
                    const uint8_t* blk = row + b * (q8 ? kQ8Bytes : kQ4Bytes);
                    int8_t v[32];
                    for (int i = 0; i < 32; ++i) {
                        if (q8) v[i] = static_cast<int8_t>(blk[2 + i]);
                        else v[i] = static_cast<int8_t>((i < 16 ? (blk[2 + i] & 0x0F) : (blk[2 + i - 16] >> 4)) - 8);
                    }
                    const int64_t base = panel * nb + b;
                    int32_t sum = 0;
                    for (int i = 0; i < 32; ++i) {
                        p.q[static_cast<size_t>(base * 1024 + (i / 4) * 128 + c * 4 + i % 4)] = v[i];
                        sum += v[i];
                    }
                    p.scale[static_cast<size_t>(base * 32 + c)] = f16At(blk);
                    p.corr[static_cast<size_t>(base * 32 + c)] = -128 * sum;
                }
            }
    });
    return p;
}

Status matmulRowsPacked(const float* x, int64_t M, const PackedBlockWeights& w, const float* bias, float* y, ThreadPool* pool) {
    if (w.empty()) return makeError(ErrorCode::Invalid, "the weights are not packed", "matmulRowsPacked");
    const int64_t nb = w.blocks, N = w.N, K = w.K;
    std::vector<ActBlock> act(static_cast<size_t>(M * nb));
    runParallel(pool, M, 16, [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) quantizeActRowAvx2(x + m * K, K, act.data() + m * nb, true);
    });
    // Tasks are (panel, slab of 64 rows): a panel's weights stay in L1/L2 while its rows pass.
    constexpr int64_t kSlab = 60;  // a multiple of the 6-row micro-kernel
    const int64_t slabs = (M + kSlab - 1) / kSlab;
    runParallel(pool, w.panels * slabs, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t panel = t % w.panels, slab = t / w.panels;
            const int64_t cols = std::min<int64_t>(32, N - panel * 32);
            const int8_t* q = w.q.data() + panel * nb * 1024;
            const float* sc = w.scale.data() + panel * nb * 32;
            const int32_t* co = w.corr.data() + panel * nb * 32;
            const float* bp = bias ? bias + panel * 32 : nullptr;
            const int64_t r1 = std::min(M, (slab + 1) * kSlab);
            int64_t r = slab * kSlab;
            for (; r + 6 <= r1; r += 6) panelRows<6>(act.data() + r * nb, nb, q, sc, co, y + r * N + panel * 32, N, cols, bp);
            for (; r + 4 <= r1; r += 4) panelRows<4>(act.data() + r * nb, nb, q, sc, co, y + r * N + panel * 32, N, cols, bp);
            for (; r < r1; ++r) panelRows<1>(act.data() + r * nb, nb, q, sc, co, y + r * N + panel * 32, N, cols, bp);
        }
    });
    return {};
}

}  // namespace by
