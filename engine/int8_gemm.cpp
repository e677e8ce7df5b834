#include "engine/int8_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "engine/thread_pool.h"

// GCC 12 warns inside its own AVX-512 headers (_mm256_undefined_* is self-initialised on purpose).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace by {
namespace {

// Layout shared by every kernel. A is packed in panels of kMR rows, [K/4][kMR rows][4 k] (u8);
// B in panels of kNR columns, [K/4][kNR columns][4 k] (s8). One step of the inner loop takes 4
// consecutive k: a 4-byte group of A broadcast against kNR 4-byte groups of B.
constexpr int64_t kMR = 8, kNR = 32;
// K is cut into blocks of this many (a multiple of 4) so the B micro-panel in use (kKC x kNR
// bytes) stays in L1 while a block of A rows streams from L2.
constexpr int64_t kKC = 512;

int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

enum class Path { Portable, Avx2, AvxVnni, Vnni };
constexpr Path kAllPaths[] = {Path::Vnni, Path::AvxVnni, Path::Avx2, Path::Portable};  // best first

bool supported(Path p) {
    __builtin_cpu_init();
    switch (p) {
    case Path::Vnni:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    case Path::AvxVnni: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case Path::Avx2: return __builtin_cpu_supports("avx2");
    default: return true;
    }
}

Path bestPath() {
    static const Path best = [] {
        for (Path p : kAllPaths)
            if (supported(p)) return p;
        return Path::Portable;
    }();
    return best;
}

const char* pathName(Path p) {
    switch (p) {
    case Path::Vnni: return "avx512-vnni";
    case Path::AvxVnni: return "avx-vnni";
    case Path::Avx2: return "avx2";
    default: return "portable";
    }
}

void parallel(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (pool && n > grain) pool->parallelFor(n, grain, fn);
    else if (n > 0) fn(0, n);
}

// ---- packing ------------------------------------------------------------------------------------

// Four rows of 16 bytes interleaved into 16 groups of 4 (column-major within a group): SSE2 only,
// so every x86-64 CPU runs it. `flip` (0x80 or 0) turns unsigned bytes into signed ones.
inline void interleave4x16(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3, uint8_t flip,
                           uint8_t* dst) {
    const __m128i f = _mm_set1_epi8(char(flip));
    const __m128i a = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0)), f);
    const __m128i b = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r1)), f);
    const __m128i c = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r2)), f);
    const __m128i d = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r3)), f);
    const __m128i abLo = _mm_unpacklo_epi8(a, b), abHi = _mm_unpackhi_epi8(a, b);
    const __m128i cdLo = _mm_unpacklo_epi8(c, d), cdHi = _mm_unpackhi_epi8(c, d);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi16(abLo, cdLo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), _mm_unpackhi_epi16(abLo, cdLo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 32), _mm_unpacklo_epi16(abHi, cdHi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 48), _mm_unpackhi_epi16(abHi, cdHi));
}

// Column sums of a packed panel [Kp/4][kNR][4]. Portable: the compiler vectorises the loop over
// columns.
void columnSumsPortable(const int8_t* panel, int64_t Kp, int32_t* colSum) {
    int32_t s[kNR] = {};
    for (int64_t k4 = 0; k4 < Kp / 4; ++k4) {
        const int8_t* p = panel + k4 * kNR * 4;
        for (int64_t c = 0; c < kNR; ++c) s[c] += int32_t(p[c * 4]) + int32_t(p[c * 4 + 1]) + int32_t(p[c * 4 + 2]) + int32_t(p[c * 4 + 3]);
    }
    std::copy(s, s + kNR, colSum);
}

// AVX2: each column's 4 bytes summed by two multiply-adds against ones (u8 1 x s8 pairs into
// 16 bits, exact for |sum| <= 256; then 16-bit pairs into 32 bits).
__attribute__((target("avx2"))) void columnSumsAvx2(const int8_t* panel, int64_t Kp, int32_t* colSum) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int64_t k4 = 0; k4 < Kp / 4; ++k4)
        for (int q = 0; q < 4; ++q) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + k4 * kNR * 4 + q * 32));
            acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, v), ones16));
        }
    for (int q = 0; q < 4; ++q) _mm256_storeu_si256(reinterpret_cast<__m256i*>(colSum + q * 8), acc[q]);
}

void columnSums(const int8_t* panel, int64_t Kp, int32_t* colSum) {
    static const bool avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }();
    if (avx2) columnSumsAvx2(panel, Kp, colSum);
    else columnSumsPortable(panel, Kp, colSum);
}

// One panel of B: columns [n0, n0 + kNR) of K rows into [Kp/4][kNR][4], zero-padded, with
// column sums of the stored (signed) values.
void packBPanel(const Int8GemmArgs& g, int64_t Kp, int64_t n0, int8_t* dst, int32_t* colSum) {
    const auto* B = static_cast<const uint8_t*>(g.B);
    const uint8_t flip = g.bSigned ? 0 : 0x80;
    const int64_t nc = std::min(kNR, g.N - n0);
    uint8_t* out = reinterpret_cast<uint8_t*>(dst);
    alignas(16) uint8_t tmp[4][kNR];
    for (int64_t k = 0; k < Kp; k += 4) {
        const uint8_t* rows[4];
        for (int r = 0; r < 4; ++r) {
            if (k + r >= g.K) {
                // Padding rows must read as zero after the flip.
                std::memset(tmp[r], flip, kNR);
                rows[r] = tmp[r];
            } else if (nc < kNR) {
                std::memcpy(tmp[r], B + (k + r) * g.ldb + n0, size_t(nc));
                std::memset(tmp[r] + nc, flip, size_t(kNR - nc));
                rows[r] = tmp[r];
            } else {
                rows[r] = B + (k + r) * g.ldb + n0;
            }
        }
        for (int64_t c = 0; c < kNR; c += 16)
            interleave4x16(rows[0] + c, rows[1] + c, rows[2] + c, rows[3] + c, flip, out + (k / 4) * kNR * 4 + c * 4);
    }
    columnSums(dst, Kp, colSum);
}

PackedInt8Matrix packB(const Int8GemmArgs& g, ThreadPool* pool) {
    PackedInt8Matrix p;
    p.K = g.K;
    p.N = g.N;
    p.Kp = roundUp(std::max<int64_t>(g.K, 1), 4);
    p.panels = (g.N + kNR - 1) / kNR;
    const int64_t Np = p.panels * kNR;
    p.data.resize(size_t(p.panels * p.Kp * kNR));
    p.zero.assign(size_t(Np), 0);
    p.colTerm.assign(size_t(Np), 0);
    // B unsigned: b = bs + 128, so (b - zb) = (bs - (zb - 128)).
    const int32_t shift = g.bSigned ? 0 : -128;
    for (int64_t n = 0; n < g.N; ++n) p.zero[size_t(n)] = (g.bZero ? g.bZero[g.bZeroPerColumn ? n : 0] : 0) + shift;
    parallel(pool, p.panels, std::max<int64_t>(1, 16384 / std::max<int64_t>(p.Kp, 1)), [&](int64_t b, int64_t e) {
        for (int64_t jp = b; jp < e; ++jp) {
            int32_t* cs = p.colTerm.data() + jp * kNR;
            packBPanel(g, p.Kp, jp * kNR, p.data.data() + jp * p.Kp * kNR, cs);
            for (int64_t c = 0; c < kNR; ++c)
                cs[c] = int32_t(uint32_t(cs[c]) - uint32_t(g.K) * uint32_t(p.zero[size_t(jp * kNR + c)]));
        }
    });
    return p;
}

using PackedA = PackedInt8Rows;
static_assert(kMR == 8, "PackedInt8Rows documents panels of 8 rows");

PackedA packA(const Int8GemmArgs& g, int64_t Kp, ThreadPool* pool) {
    PackedA p;
    p.M = g.M;
    p.K = g.K;
    p.Kp = Kp;
    p.panels = (g.M + kMR - 1) / kMR;
    p.data.reset(new uint8_t[size_t(p.panels * Kp * kMR)]);
    p.zero.resize(size_t(g.M));
    p.rowSum.resize(size_t(g.M));
    // A signed: a = au - 128, so (a - za) = (au - (za + 128)).
    const int32_t shift = g.aSigned ? 128 : 0;
    for (int64_t m = 0; m < g.M; ++m) p.zero[size_t(m)] = (g.aZero ? g.aZero[g.aZeroPerRow ? m : 0] : 0) + shift;
    const auto* A = static_cast<const uint8_t*>(g.A);
    const uint32_t flip = g.aSigned ? 0x80808080u : 0u;
    parallel(pool, p.panels, std::max<int64_t>(1, 8192 / Kp), [&](int64_t b, int64_t e) {
        std::vector<uint8_t> row(static_cast<size_t>(Kp));
        for (int64_t ip = b; ip < e; ++ip) {
            uint8_t* dst = p.data.get() + ip * Kp * kMR;
            for (int64_t i = 0; i < kMR; ++i) {
                const int64_t m = ip * kMR + i;
                if (m >= g.M) {
                    for (int64_t k4 = 0; k4 < Kp / 4; ++k4) std::memset(dst + (k4 * kMR + i) * 4, 0, 4);
                    continue;
                }
                // Shift to unsigned and pad with (shifted) zeros, then scatter 4-byte groups.
                std::memcpy(row.data(), A + m * g.lda, size_t(g.K));
                int32_t s = 0;
                for (int64_t k = 0; k < g.K; ++k) {
                    row[size_t(k)] = uint8_t(row[size_t(k)] ^ uint8_t(flip));
                    s += row[size_t(k)];
                }
                std::fill(row.begin() + g.K, row.end(), uint8_t(0));
                p.rowSum[size_t(m)] = s;
                for (int64_t k4 = 0; k4 < Kp / 4; ++k4) std::memcpy(dst + (k4 * kMR + i) * 4, row.data() + k4 * 4, 4);
            }
        }
    });
    return p;
}

// What a micro-kernel needs to finish a tile: C = acc - za[m] * colTerm[n] - rowSum[m] * zb[n]
// on the last K block (wrapping 32-bit arithmetic: the exact result fits, intermediates may not).
struct Tile {
    int32_t* c = nullptr;
    int64_t ldc = 0;
    int64_t rows = 0, cols = 0;  // valid part of the kMR x kNR tile
    bool accumulate = false;     // add to what C holds (a later K block)
    bool finish = false;         // apply the zero-point terms (the last K block)
    const int32_t* za = nullptr;  // per row of the tile
    const int32_t* rowSum = nullptr;
    const int32_t* zb = nullptr;  // per column of the panel (kNR, padded)
    const int32_t* colTerm = nullptr;
};

inline int32_t finishValue(int32_t acc, int32_t za, int32_t rs, int32_t zb, int32_t ct) {
    return int32_t(uint32_t(acc) - uint32_t(za) * uint32_t(ct) - uint32_t(rs) * uint32_t(zb));
}

// Portable: the same blocked loops, scalar.
void kernelPortable(const uint8_t* a, const int8_t* b, int64_t k4n, const Tile& t) {
    // Unsigned sums wrap like the vector lanes do, so a K large enough to overflow the partial
    // sums still gives the exact (in-range) result.
    uint32_t acc[kMR][kNR] = {};
    for (int64_t k4 = 0; k4 < k4n; ++k4) {
        const uint8_t* ak = a + k4 * kMR * 4;
        const int8_t* bk = b + k4 * kNR * 4;
        for (int64_t i = 0; i < t.rows; ++i) {
            const uint32_t a0 = ak[i * 4], a1 = ak[i * 4 + 1], a2 = ak[i * 4 + 2], a3 = ak[i * 4 + 3];
            // A fixed-length loop over the columns, so the compiler can vectorise it.
            for (int64_t j = 0; j < kNR; ++j)
                acc[i][j] += a0 * uint32_t(int32_t(bk[j * 4])) + a1 * uint32_t(int32_t(bk[j * 4 + 1])) +
                             a2 * uint32_t(int32_t(bk[j * 4 + 2])) + a3 * uint32_t(int32_t(bk[j * 4 + 3]));
        }
    }
    for (int64_t i = 0; i < t.rows; ++i)
        for (int64_t j = 0; j < t.cols; ++j) {
            int32_t v = int32_t(acc[i][j]);
            int32_t* c = t.c + i * t.ldc + j;
            if (t.accumulate) v = int32_t(uint32_t(v) + uint32_t(*c));
            if (t.finish) v = finishValue(v, t.za[i], t.rowSum[i], t.zb[j], t.colTerm[j]);
            *c = v;
        }
}

// AVX2 without VNNI: bytes widened to 16 bits and multiplied in pairs (vpmaddwd; exact, unlike
// the saturating vpmaddubsw). Works on 8 columns at a time to fit the 16 ymm registers.
template <int MR>
__attribute__((target("avx2"))) void kernelAvx2(const uint8_t* a, const int8_t* b, int64_t k4n, const Tile& t,
                                                int64_t rowOffset) {
    for (int64_t oct = 0; oct < kNR / 8; ++oct) {
        if (oct * 8 >= t.cols) break;
        __m256i acc[MR][2];
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
        const int8_t* bp = b + oct * 32;
        const uint8_t* ap = a + rowOffset * 4;
        for (int64_t k4 = 0; k4 < k4n; ++k4) {
            // 4 columns x 4 k per 16 bytes: [c0k0 c0k1 c0k2 c0k3 c1k0 ...].
            const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bp + k4 * kNR * 4)));
            const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bp + k4 * kNR * 4 + 16)));
#pragma GCC unroll 8
            for (int i = 0; i < MR; ++i) {
                int32_t a4;
                std::memcpy(&a4, ap + (k4 * kMR + i) * 4, 4);
                const __m256i av = _mm256_cvtepu8_epi16(_mm_set1_epi32(a4));
                acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(av, b0));
                acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(av, b1));
            }
        }
        const int64_t j0 = oct * 8, nc = std::min<int64_t>(8, t.cols - j0);
        const __m256i zb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.zb + j0));
        const __m256i ct = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.colTerm + j0));
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            // acc[i][0] holds columns 0,0,1,1 | 2,2,3,3 (two partial sums each); hadd then
            // reorder the 64-bit pairs to get columns 0..7 in order.
            __m256i v = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][0], acc[i][1]), 0xD8);
            int32_t* c = t.c + (rowOffset + i) * t.ldc + j0;
            alignas(32) int32_t buf[8] = {};
            if (t.accumulate) {
                std::memcpy(buf, c, size_t(nc) * 4);
                v = _mm256_add_epi32(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(buf)));
            }
            if (t.finish) {
                v = _mm256_sub_epi32(v, _mm256_mullo_epi32(_mm256_set1_epi32(t.za[rowOffset + i]), ct));
                v = _mm256_sub_epi32(v, _mm256_mullo_epi32(_mm256_set1_epi32(t.rowSum[rowOffset + i]), zb));
            }
            if (nc == 8) {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), v);
            } else {
                _mm256_store_si256(reinterpret_cast<__m256i*>(buf), v);
                std::memcpy(c, buf, size_t(nc) * 4);
            }
        }
    }
}

void tileAvx2(const uint8_t* a, const int8_t* b, int64_t k4n, const Tile& t) {
    for (int64_t r = 0; r < t.rows; r += 4) {
        switch (std::min<int64_t>(4, t.rows - r)) {
        case 4: kernelAvx2<4>(a, b, k4n, t, r); break;
        case 3: kernelAvx2<3>(a, b, k4n, t, r); break;
        case 2: kernelAvx2<2>(a, b, k4n, t, r); break;
        default: kernelAvx2<1>(a, b, k4n, t, r); break;
        }
    }
}

// AVX-VNNI (256-bit vpdpbusd, on CPUs without AVX-512): the same 4-byte steps, 16 columns per
// pass (2 ymm) so MR = 6 rows of accumulators fit the 16 registers.
template <int MR>
__attribute__((target("avx2,avxvnni"))) void kernelAvxVnni(const uint8_t* a, const int8_t* b, int64_t k4n, const Tile& t,
                                                           int64_t rowOffset) {
    for (int64_t half = 0; half < 2; ++half) {
        if (half * 16 >= t.cols) break;
        __m256i acc[MR][2];
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
        const int8_t* bp = b + half * 64;
        const uint8_t* ap = a + rowOffset * 4;
        for (int64_t k4 = 0; k4 < k4n; ++k4) {
            const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + k4 * kNR * 4));
            const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + k4 * kNR * 4 + 32));
#pragma GCC unroll 6
            for (int i = 0; i < MR; ++i) {
                int32_t a4;
                std::memcpy(&a4, ap + (k4 * kMR + i) * 4, 4);
                const __m256i av = _mm256_set1_epi32(a4);
                acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], av, b0);
                acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], av, b1);
            }
        }
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
            const int64_t j0 = half * 16 + h * 8, nc = std::min<int64_t>(8, t.cols - j0);
            if (nc <= 0) break;
            const __m256i zb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.zb + j0));
            const __m256i ct = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.colTerm + j0));
            for (int i = 0; i < MR; ++i) {
                __m256i v = acc[i][h];
                int32_t* c = t.c + (rowOffset + i) * t.ldc + j0;
                alignas(32) int32_t buf[8] = {};
                if (t.accumulate) {
                    std::memcpy(buf, c, size_t(nc) * 4);
                    v = _mm256_add_epi32(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(buf)));
                }
                if (t.finish) {
                    v = _mm256_sub_epi32(v, _mm256_mullo_epi32(_mm256_set1_epi32(t.za[rowOffset + i]), ct));
                    v = _mm256_sub_epi32(v, _mm256_mullo_epi32(_mm256_set1_epi32(t.rowSum[rowOffset + i]), zb));
                }
                if (nc == 8) {
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), v);
                } else {
                    _mm256_store_si256(reinterpret_cast<__m256i*>(buf), v);
                    std::memcpy(c, buf, size_t(nc) * 4);
                }
            }
        }
    }
}

void tileAvxVnni(const uint8_t* a, const int8_t* b, int64_t k4n, const Tile& t) {
    for (int64_t r = 0; r < t.rows; r += 6) {
        switch (std::min<int64_t>(6, t.rows - r)) {
        case 6: kernelAvxVnni<6>(a, b, k4n, t, r); break;
        case 5: kernelAvxVnni<5>(a, b, k4n, t, r); break;
        case 4: kernelAvxVnni<4>(a, b, k4n, t, r); break;
        case 3: kernelAvxVnni<3>(a, b, k4n, t, r); break;
        case 2: kernelAvxVnni<2>(a, b, k4n, t, r); break;
        default: kernelAvxVnni<1>(a, b, k4n, t, r); break;
        }
    }
}

// AVX-512 VNNI: vpdpbusd multiplies 64 u8 x s8 pairs and adds each group of four into an i32
// lane without saturation, so one instruction does 4 k for 16 columns. MR rows x 32 columns
// of accumulators (16 zmm for MR = 8); each step broadcasts 4 bytes of A per row.
template <int MR>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void kernelVnni(const uint8_t* a, const int8_t* b, int64_t k4n,
                                                                        const Tile& t) {
    __m512i acc[MR][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
    for (int64_t k4 = 0; k4 < k4n; ++k4) {
        const __m512i b0 = _mm512_loadu_si512(b + k4 * kNR * 4);
        const __m512i b1 = _mm512_loadu_si512(b + k4 * kNR * 4 + 64);
        const uint8_t* ak = a + k4 * kMR * 4;
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            int32_t a4;
            std::memcpy(&a4, ak + i * 4, 4);
            const __m512i av = _mm512_set1_epi32(a4);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], av, b0);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], av, b1);
        }
    }
    const __mmask16 m0 = t.cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << t.cols) - 1);
    const __mmask16 m1 = t.cols >= 32 ? __mmask16(0xFFFF) : t.cols <= 16 ? __mmask16(0) : __mmask16((1u << (t.cols - 16)) - 1);
    const __mmask16 masks[2] = {m0, m1};
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
        const __m512i zb = _mm512_loadu_si512(t.zb + h * 16);
        const __m512i ct = _mm512_loadu_si512(t.colTerm + h * 16);
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            int32_t* c = t.c + i * t.ldc + h * 16;
            __m512i v = acc[i][h];
            if (t.accumulate) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(masks[h], c));
            if (t.finish) {
                v = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_set1_epi32(t.za[i]), ct));
                v = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_set1_epi32(t.rowSum[i]), zb));
            }
            _mm512_mask_storeu_epi32(c, masks[h], v);
        }
    }
}

void tileVnni(const uint8_t* a, const int8_t* b, int64_t k4n, const Tile& t) {
    switch (t.rows) {
    case 8: kernelVnni<8>(a, b, k4n, t); break;
    case 7: kernelVnni<7>(a, b, k4n, t); break;
    case 6: kernelVnni<6>(a, b, k4n, t); break;
    case 5: kernelVnni<5>(a, b, k4n, t); break;
    case 4: kernelVnni<4>(a, b, k4n, t); break;
    case 3: kernelVnni<3>(a, b, k4n, t); break;
    case 2: kernelVnni<2>(a, b, k4n, t); break;
    default: kernelVnni<1>(a, b, k4n, t); break;
    }
}

void computePacked(const Int8GemmArgs& g, const PackedInt8Matrix& pb, ThreadPool* pool, Path path,
                   const Int8Epilogue* epilogue = nullptr, const PackedA* prepackedA = nullptr) {
    if (g.M <= 0 || g.N <= 0) return;
    if (g.K <= 0) {
        for (int64_t m = 0; m < g.M; ++m) std::fill(g.C + m * g.ldc, g.C + m * g.ldc + g.N, 0);
        return;
    }
    PackedA local;
    if (!prepackedA) local = packA(g, pb.Kp, pool);
    const PackedA& pa = prepackedA ? *prepackedA : local;
    auto tileFn = path == Path::Vnni      ? tileVnni
                  : path == Path::AvxVnni ? tileAvxVnni
                  : path == Path::Avx2    ? tileAvx2
                                          : kernelPortable;
    const int64_t kBlocks = (pb.Kp + kKC - 1) / kKC;
    // Work items: one column panel x a block of row panels. Rows are split only as far as needed
    // to give every thread several items, so each item reuses its B micro-panel across many rows.
    const int64_t threads = pool ? pool->threadCount() : 1;
    const int64_t want = threads > 1 ? threads * 4 : 1;
    const int64_t rowSplits = std::clamp<int64_t>((want + pb.panels - 1) / pb.panels, 1, pa.panels);
    const int64_t panelsPerSplit = (pa.panels + rowSplits - 1) / rowSplits;
    const int64_t items = pb.panels * rowSplits;
    auto work = [&](int64_t b, int64_t e) {
        for (int64_t item = b; item < e; ++item) {
            const int64_t jp = item / rowSplits, split = item % rowSplits;
            const int64_t ip0 = split * panelsPerSplit, ip1 = std::min(pa.panels, ip0 + panelsPerSplit);
            const int64_t n0 = jp * kNR;
            for (int64_t kb = 0; kb < kBlocks; ++kb) {
                const int64_t k0 = kb * kKC, k1 = std::min(pb.Kp, k0 + kKC);
                const int8_t* bp = pb.data.data() + jp * pb.Kp * kNR + k0 * kNR;
                for (int64_t ip = ip0; ip < ip1; ++ip) {
                    const int64_t m0 = ip * kMR;
                    Tile t;
                    t.c = g.C + m0 * g.ldc + n0;
                    t.ldc = g.ldc;
                    t.rows = std::min(kMR, g.M - m0);
                    t.cols = std::min(kNR, g.N - n0);
                    t.accumulate = kb > 0;
                    t.finish = kb + 1 == kBlocks;
                    t.za = pa.zero.data() + m0;
                    t.rowSum = pa.rowSum.data() + m0;
                    t.zb = pb.zero.data() + n0;
                    t.colTerm = pb.colTerm.data() + n0;
                    tileFn(pa.data.get() + ip * pb.Kp * kMR + k0 * kMR, bp, (k1 - k0) / 4, t);
                    if (t.finish && epilogue) (*epilogue)(m0, t.rows, n0, t.cols);
                }
            }
        }
    };
    if (pool && items > 1 && g.M * g.N * g.K > (1 << 16)) pool->parallelFor(items, 1, work);
    else work(0, items);
}

void run(const Int8GemmArgs& g, ThreadPool* pool, Path path) {
    if (g.M <= 0 || g.N <= 0) return;
    if (g.K <= 0) {
        for (int64_t m = 0; m < g.M; ++m) std::fill(g.C + m * g.ldc, g.C + m * g.ldc + g.N, 0);
        return;
    }
    const PackedInt8Matrix pb = packB(g, pool);
    computePacked(g, pb, pool, path);
}

}  // namespace

void int8Gemm(const Int8GemmArgs& args, ThreadPool* pool) { run(args, pool, bestPath()); }

void int8GemmReference(const Int8GemmArgs& args) { run(args, nullptr, Path::Portable); }

PackedInt8Matrix packInt8B(const Int8GemmArgs& args, ThreadPool* pool) {
    if (args.N <= 0) return {};
    return packB(args, pool);
}

Status int8GemmPacked(const Int8GemmArgs& args, const PackedInt8Matrix& b, ThreadPool* pool) {
    if (args.K != b.K || args.N != b.N)
        return makeError(ErrorCode::Invalid, "int8 GEMM of K = " + std::to_string(args.K) + ", N = " + std::to_string(args.N) +
                                                 " was given B packed as K = " + std::to_string(b.K) + ", N = " + std::to_string(b.N));
    computePacked(args, b, pool, bestPath());
    return {};
}

Status int8GemmPacked(const Int8GemmArgs& args, const PackedInt8Matrix& b, const Int8Epilogue& epilogue, ThreadPool* pool) {
    if (args.K != b.K || args.N != b.N)
        return makeError(ErrorCode::Invalid, "int8 GEMM of K = " + std::to_string(args.K) + ", N = " + std::to_string(args.N) +
                                                 " was given B packed as K = " + std::to_string(b.K) + ", N = " + std::to_string(b.N));
    if (args.M > 0 && args.N > 0 && args.K <= 0) {
        computePacked(args, b, pool, bestPath());
        if (epilogue) epilogue(0, args.M, 0, args.N);
        return {};
    }
    computePacked(args, b, pool, bestPath(), epilogue ? &epilogue : nullptr);
    return {};
}

PackedInt8Rows packInt8A(const Int8GemmArgs& args, ThreadPool* pool) {
    if (args.M <= 0) return {};
    return packA(args, roundUp(std::max<int64_t>(args.K, 1), 4), pool);
}

Status int8GemmPackedA(const Int8GemmArgs& args, const PackedInt8Rows& a, const Int8Epilogue& epilogue, ThreadPool* pool) {
    if (args.M != a.M || args.K != a.K)
        return makeError(ErrorCode::Invalid, "int8 GEMM of M = " + std::to_string(args.M) + ", K = " + std::to_string(args.K) +
                                                 " was given A packed as M = " + std::to_string(a.M) + ", K = " + std::to_string(a.K));
    if (args.M <= 0 || args.N <= 0) return {};
    const PackedInt8Matrix pb = packB(args, pool);
    if (args.K <= 0) {
        computePacked(args, pb, pool, bestPath());
        if (epilogue) epilogue(0, args.M, 0, args.N);
        return {};
    }
    computePacked(args, pb, pool, bestPath(), epilogue ? &epilogue : nullptr, &a);
    return {};
}

const char* int8GemmKernelName() { return pathName(bestPath()); }

std::vector<const char*> int8GemmAvailableKernels() {
    std::vector<const char*> names;
    for (Path p : kAllPaths)
        if (supported(p)) names.push_back(pathName(p));
    return names;
}

bool int8GemmWithKernel(const Int8GemmArgs& args, const char* kernel, ThreadPool* pool) {
    for (Path p : kAllPaths)
        if (std::string(kernel) == pathName(p)) {
            if (!supported(p)) return false;
            run(args, pool, p);
            return true;
        }
    return false;
}

}  // namespace by
