#include "engine/int8_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/thread_pool.h"

// GCC 12 warns inside its own AVX-512 headers (_mm256_undefined_* is self-initialised on purpose).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace by {
namespace {

// K is padded to a multiple of this so every inner loop runs on whole vectors; padding is zero
// and adds nothing to products or sums.
constexpr int64_t kKAlign = 64;

struct Packed {
    int64_t Kp = 0;
    std::vector<uint8_t> a;  // M x Kp, unsigned
    std::vector<int8_t> bt;  // N x Kp, signed, B transposed
    std::vector<int32_t> aZero, bZero;  // effective zero points after the shifts, per row / column
    std::vector<int32_t> rowSum, colSum;
};

int32_t readByte(const void* p, int64_t i, bool isSigned) {
    return isSigned ? int32_t(static_cast<const int8_t*>(p)[i]) : int32_t(static_cast<const uint8_t*>(p)[i]);
}

Packed pack(const Int8GemmArgs& g, ThreadPool* pool) {
    Packed p;
    p.Kp = (g.K + kKAlign - 1) / kKAlign * kKAlign;
    p.a.assign(size_t(g.M * p.Kp), 0);
    p.bt.assign(size_t(g.N * p.Kp), 0);
    p.rowSum.assign(size_t(g.M), 0);
    p.colSum.assign(size_t(g.N), 0);
    p.aZero.resize(size_t(g.M));
    p.bZero.resize(size_t(g.N));
    // A signed: a = au - 128, so (a - za) = (au - (za + 128)).
    const int32_t aShift = g.aSigned ? 128 : 0;
    // B unsigned: b = bs + 128, so (b - zb) = (bs - (zb - 128)).
    const int32_t bShift = g.bSigned ? 0 : -128;
    for (int64_t m = 0; m < g.M; ++m)
        p.aZero[size_t(m)] = (g.aZero ? g.aZero[g.aZeroPerRow ? m : 0] : 0) + aShift;
    for (int64_t n = 0; n < g.N; ++n)
        p.bZero[size_t(n)] = (g.bZero ? g.bZero[g.bZeroPerColumn ? n : 0] : 0) + bShift;
    auto rows = [&](int64_t b, int64_t e) {
        for (int64_t m = b; m < e; ++m) {
            uint8_t* dst = p.a.data() + m * p.Kp;
            int32_t s = 0;
            for (int64_t k = 0; k < g.K; ++k) {
                const int32_t v = readByte(g.A, m * g.lda + k, g.aSigned) + aShift;
                dst[k] = uint8_t(v);
                s += v;
            }
            p.rowSum[size_t(m)] = s;
        }
    };
    if (pool && g.M * g.K > 65536) pool->parallelFor(g.M, 16, rows);
    else rows(0, g.M);
    // Transpose B in cache-friendly tiles: read rows of B, write columns of Bt.
    auto cols = [&](int64_t b, int64_t e) {
        for (int64_t k = 0; k < g.K; ++k)
            for (int64_t n = b; n < e; ++n) {
                const int32_t v = readByte(g.B, k * g.ldb + n, g.bSigned) - (g.bSigned ? 0 : 128);
                p.bt[size_t(n * p.Kp + k)] = int8_t(v);
                p.colSum[size_t(n)] += v;
            }
    };
    if (pool && g.N * g.K > 65536) pool->parallelFor(g.N, 64, cols);
    else cols(0, g.N);
    return p;
}

// Dot products of MR packed rows of A with NR packed rows of Bt, portable.
void dotsPortable(const uint8_t* a, const int8_t* b, int64_t Kp, int64_t mr, int64_t nr, int64_t lda, int64_t ldb,
                  int32_t* out /* mr x nr */) {
    for (int64_t i = 0; i < mr; ++i)
        for (int64_t j = 0; j < nr; ++j) {
            const uint8_t* x = a + i * lda;
            const int8_t* y = b + j * ldb;
            int32_t s = 0;
            for (int64_t k = 0; k < Kp; ++k) s += int32_t(x[k]) * int32_t(y[k]);
            out[i * nr + j] = s;
        }
}

__attribute__((target("avx2"))) inline int32_t hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// AVX2: widen to 16 bits and multiply-add pairs (exact: |u8 * s8| * 2 < 2^31).
template <int MR, int NR>
__attribute__((target("avx2"))) void dotsAvx2(const uint8_t* a, const int8_t* b, int64_t Kp, int64_t lda, int64_t ldb,
                                              int32_t* out) {
    __m256i acc[MR][NR];
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_si256();
    for (int64_t k = 0; k < Kp; k += 16) {
        __m256i bv[NR];
        for (int j = 0; j < NR; ++j)
            bv[j] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j * ldb + k)));
        for (int i = 0; i < MR; ++i) {
            const __m256i av = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i * lda + k)));
            for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(av, bv[j]));
        }
    }
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) out[i * NR + j] = hsum256(acc[i][j]);
}

// AVX-512 VNNI: vpdpbusd multiplies 64 u8 x s8 pairs and accumulates groups of four into i32
// lanes without saturation.
template <int MR, int NR>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void dotsVnni(const uint8_t* a, const int8_t* b, int64_t Kp,
                                                                      int64_t lda, int64_t ldb, int32_t* out) {
    __m512i acc[MR][NR];
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_si512();
    for (int64_t k = 0; k < Kp; k += 64) {
        __m512i bv[NR];
        for (int j = 0; j < NR; ++j) bv[j] = _mm512_loadu_si512(b + j * ldb + k);
        for (int i = 0; i < MR; ++i) {
            const __m512i av = _mm512_loadu_si512(a + i * lda + k);
            for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, bv[j]);
        }
    }
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) {
            const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(acc[i][j]), _mm512_extracti64x4_epi64(acc[i][j], 1));
            out[i * NR + j] = hsum256(h);
        }
}

enum class Path { Portable, Avx2, Vnni };

Path detectPath() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni"))
        return Path::Vnni;
    if (__builtin_cpu_supports("avx2")) return Path::Avx2;
    return Path::Portable;
}

Path path() {
    static const Path p = detectPath();
    return p;
}

constexpr int kMR = 4, kNR = 4;

// One MR x NR tile of raw dot products, any tile size up to 4 x 4.
void tile(Path path, const uint8_t* a, const int8_t* b, int64_t Kp, int64_t mr, int64_t nr, int32_t* out) {
    if (path == Path::Portable || mr != kMR || nr != kNR) {
        // Edge tiles: run full-size rows one at a time through the vector kernels.
        if (path == Path::Portable) {
            dotsPortable(a, b, Kp, mr, nr, Kp, Kp, out);
            return;
        }
        for (int64_t i = 0; i < mr; ++i)
            for (int64_t j = 0; j < nr; ++j) {
                int32_t v;
                if (path == Path::Vnni) dotsVnni<1, 1>(a + i * Kp, b + j * Kp, Kp, Kp, Kp, &v);
                else dotsAvx2<1, 1>(a + i * Kp, b + j * Kp, Kp, Kp, Kp, &v);
                out[i * nr + j] = v;
            }
        return;
    }
    if (path == Path::Vnni) dotsVnni<kMR, kNR>(a, b, Kp, Kp, Kp, out);
    else dotsAvx2<kMR, kNR>(a, b, Kp, Kp, Kp, out);
}

void run(const Int8GemmArgs& g, ThreadPool* pool, Path path) {
    if (g.M <= 0 || g.N <= 0) return;
    if (g.K <= 0) {
        for (int64_t m = 0; m < g.M; ++m) std::fill(g.C + m * g.ldc, g.C + m * g.ldc + g.N, 0);
        return;
    }
    const Packed p = pack(g, pool);
    const int64_t mTiles = (g.M + kMR - 1) / kMR, nTiles = (g.N + kNR - 1) / kNR;
    const int64_t K = g.K;
    auto work = [&](int64_t b, int64_t e) {
        int32_t t[kMR * kNR];
        for (int64_t idx = b; idx < e; ++idx) {
            // Column tiles outermost within a task so one B panel stays in cache across row tiles.
            const int64_t nt = idx / mTiles, mt = idx % mTiles;
            const int64_t m0 = mt * kMR, n0 = nt * kNR;
            const int64_t mr = std::min<int64_t>(kMR, g.M - m0), nr = std::min<int64_t>(kNR, g.N - n0);
            tile(path, p.a.data() + m0 * p.Kp, p.bt.data() + n0 * p.Kp, p.Kp, mr, nr, t);
            for (int64_t i = 0; i < mr; ++i) {
                const int64_t m = m0 + i;
                const int32_t za = p.aZero[size_t(m)], rs = p.rowSum[size_t(m)];
                for (int64_t j = 0; j < nr; ++j) {
                    const int64_t n = n0 + j;
                    const int32_t zb = p.bZero[size_t(n)];
                    g.C[m * g.ldc + n] = t[i * nr + j] - za * p.colSum[size_t(n)] - zb * rs + int32_t(K) * za * zb;
                }
            }
        }
    };
    const int64_t tiles = mTiles * nTiles;
    if (pool && tiles > 1 && g.M * g.N * g.K > 1 << 16) pool->parallelFor(tiles, std::max<int64_t>(1, tiles / 64), work);
    else work(0, tiles);
}

}  // namespace

void int8Gemm(const Int8GemmArgs& args, ThreadPool* pool) { run(args, pool, path()); }

void int8GemmReference(const Int8GemmArgs& args) { run(args, nullptr, Path::Portable); }

const char* int8GemmKernelName() {
    switch (path()) {
    case Path::Vnni: return "avx512-vnni";
    case Path::Avx2: return "avx2";
    default: return "portable";
    }
}

}  // namespace by
