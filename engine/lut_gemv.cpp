#include "engine/lut_gemv.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/thread_pool.h"

namespace by {
namespace {

size_t byteIndex(const BinaryCodedMatrix& w, int64_t plane, int64_t row, int64_t chunk) {
    return size_t(((plane * w.rowBlocks() + row / 32) * w.chunks() + chunk) * 16 + (row % 32) % 16);
}

// The 16 signed sums of 4 activations: entry idx takes +x[i] where bit i of idx is set.
void chunkTable(const float* x4, float* t) {
    for (int idx = 0; idx < 16; ++idx) {
        float s = 0.f;
        for (int i = 0; i < 4; ++i) s += (idx >> i & 1) ? x4[i] : -x4[i];
        t[idx] = s;
    }
}

// Activations padded with zeros to whole groups.
std::vector<float> padded(const BinaryCodedMatrix& w, const float* x) {
    std::vector<float> xp(size_t(w.groups() * w.groupSize), 0.f);
    std::copy(x, x + w.cols, xp.begin());
    return xp;
}

void portableRows(const BinaryCodedMatrix& w, const std::vector<float>& tables, int64_t r0, int64_t r1, float* y) {
    const int64_t cpg = w.groupSize / 4;
    for (int64_t n = r0; n < r1; ++n) {
        float acc = 0.f;
        for (int64_t p = 0; p < w.planes; ++p)
            for (int64_t g = 0; g < w.groups(); ++g) {
                float s = 0.f;
                for (int64_t c = g * cpg; c < (g + 1) * cpg; ++c) {
                    const uint8_t b = w.bits[byteIndex(w, p, n, c)];
                    const int idx = (n % 32) < 16 ? (b & 0x0F) : (b >> 4);
                    s += tables[size_t(c * 16 + idx)];
                }
                acc += w.alphaAt(p, n, g) * s;
            }
        y[n] = acc;
    }
}

bool hasAvx2() {
    static const bool v = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }();
    return v;
}

// One block of 32 rows: int8 tables looked up with a byte shuffle, summed in int16 per group,
// then scaled to f32 by (table scale of the group) x (alpha of the row).
__attribute__((target("avx2,fma"))) void avx2Block(const BinaryCodedMatrix& w, const int8_t* qt, const float* qscale,
                                                   int64_t rb, float* out32) {
    const int64_t cpg = w.groupSize / 4, groups = w.groups(), chunks = w.chunks();
    const __m128i mask = _mm_set1_epi8(0x0F);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t p = 0; p < w.planes; ++p) {
        const uint8_t* bits = w.bits.data() + size_t((p * w.rowBlocks() + rb) * chunks * 16);
        for (int64_t g = 0; g < groups; ++g) {
            __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
            for (int64_t c = g * cpg; c < (g + 1) * cpg; ++c) {
                const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bits + c * 16));
                const __m128i lo = _mm_and_si128(b, mask);
                const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
                const __m256i idx = _mm256_set_m128i(hi, lo);
                const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qt + c * 16)));
                const __m256i r = _mm256_shuffle_epi8(tab, idx);
                a0 = _mm256_add_epi16(a0, _mm256_cvtepi8_epi16(_mm256_castsi256_si128(r)));
                a1 = _mm256_add_epi16(a1, _mm256_cvtepi8_epi16(_mm256_extracti128_si256(r, 1)));
            }
            const float* al = &w.alpha[size_t((p * groups + g) * w.rowBlocks() * 32 + rb * 32)];
            const __m256 qs = _mm256_set1_ps(qscale[g]);
            const __m256i parts[4] = {_mm256_cvtepi16_epi32(_mm256_castsi256_si128(a0)),
                                      _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a0, 1)),
                                      _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a1)),
                                      _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a1, 1))};
            for (int k = 0; k < 4; ++k)
                acc[k] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(parts[k]), qs), _mm256_loadu_ps(al + k * 8), acc[k]);
        }
    }
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(out32 + k * 8, acc[k]);
}

// Solves the symmetric system A x = b (n x n, row-major) by Gaussian elimination with partial
// pivoting; false when it is singular (two planes with the same signs, say).
bool solveSmall(std::vector<double> a, std::vector<double> b, int64_t n, std::vector<double>& x) {
    for (int64_t c = 0; c < n; ++c) {
        int64_t piv = c;
        for (int64_t r = c + 1; r < n; ++r)
            if (std::abs(a[size_t(r * n + c)]) > std::abs(a[size_t(piv * n + c)])) piv = r;
        if (std::abs(a[size_t(piv * n + c)]) < 1e-9 * std::max(1.0, std::abs(a[0]))) return false;
        if (piv != c) {
            for (int64_t k = 0; k < n; ++k) std::swap(a[size_t(c * n + k)], a[size_t(piv * n + k)]);
            std::swap(b[size_t(c)], b[size_t(piv)]);
        }
        for (int64_t r = c + 1; r < n; ++r) {
            const double f = a[size_t(r * n + c)] / a[size_t(c * n + c)];
            for (int64_t k = c; k < n; ++k) a[size_t(r * n + k)] -= f * a[size_t(c * n + k)];
            b[size_t(r)] -= f * b[size_t(c)];
        }
    }
    x.assign(size_t(n), 0.0);
    for (int64_t c = n - 1; c >= 0; --c) {
        double s = b[size_t(c)];
        for (int64_t k = c + 1; k < n; ++k) s -= a[size_t(c * n + k)] * x[size_t(k)];
        x[size_t(c)] = s / a[size_t(c * n + c)];
    }
    return true;
}

// Alternating least squares on one row's group (see binaryCode). `w` is the row. Codes are the
// sign combinations as bit masks (bit p set = plane p is +1).
void refineGroup(BinaryCodedMatrix& m, const float* w, int64_t n, int64_t g, int iterations) {
    const int64_t P = m.planes, k0 = g * m.groupSize, k1 = std::min(m.cols, k0 + m.groupSize), len = k1 - k0;
    const int64_t combos = int64_t(1) << P;
    std::vector<uint32_t> code(static_cast<size_t>(len), 0);
    std::vector<double> alpha(static_cast<size_t>(P));
    for (int64_t p = 0; p < P; ++p) {
        alpha[size_t(p)] = m.alphaAt(p, n, g);
        for (int64_t k = 0; k < len; ++k)
            if (m.sign(p, n, k0 + k)) code[size_t(k)] |= 1u << p;
    }
    std::vector<double> value(static_cast<size_t>(combos));
    auto values = [&](const std::vector<double>& a) {
        for (int64_t c = 0; c < combos; ++c) {
            double v = 0;
            for (int64_t p = 0; p < P; ++p) v += (c >> p & 1) ? a[size_t(p)] : -a[size_t(p)];
            value[size_t(c)] = v;
        }
    };
    auto error = [&](const std::vector<uint32_t>& cd) {
        double e = 0;
        for (int64_t k = 0; k < len; ++k) {
            const double d = double(w[k0 + k]) - value[cd[size_t(k)]];
            e += d * d;
        }
        return e;
    };
    values(alpha);
    double best = error(code);
    std::vector<double> a(static_cast<size_t>(P * P)), b(static_cast<size_t>(P)), solved;
    std::vector<uint32_t> nextCode(static_cast<size_t>(len));
    for (int it = 0; it < iterations; ++it) {
        // Scales given the signs: (S^T S) alpha = S^T w, S [len, P] of +-1.
        std::fill(a.begin(), a.end(), 0.0);
        std::fill(b.begin(), b.end(), 0.0);
        for (int64_t k = 0; k < len; ++k) {
            const uint32_t c = code[size_t(k)];
            for (int64_t p = 0; p < P; ++p) {
                const double sp = (c >> p & 1) ? 1.0 : -1.0;
                b[size_t(p)] += sp * double(w[k0 + k]);
                for (int64_t q = 0; q < P; ++q) a[size_t(p * P + q)] += sp * ((c >> q & 1) ? 1.0 : -1.0);
            }
        }
        std::vector<double> nextAlpha = alpha;
        // Rounded to the f32 the matrix stores, so the error compared below is the one it will have.
        if (solveSmall(a, b, P, solved))
            for (int64_t p = 0; p < P; ++p) nextAlpha[size_t(p)] = double(float(solved[size_t(p)]));
        values(nextAlpha);
        // Signs given the scales: the nearest of the 2^P reachable values.
        for (int64_t k = 0; k < len; ++k) {
            const double x = w[k0 + k];
            uint32_t bestC = 0;
            double bestD = std::abs(x - value[0]);
            for (int64_t c = 1; c < combos; ++c) {
                const double d = std::abs(x - value[size_t(c)]);
                if (d < bestD) {
                    bestD = d;
                    bestC = uint32_t(c);
                }
            }
            nextCode[size_t(k)] = bestC;
        }
        const double e = error(nextCode);
        if (!(e < best)) break;  // converged (or rounding would make it worse): keep what we have
        best = e;
        alpha = nextAlpha;
        code = nextCode;
    }
    for (int64_t p = 0; p < P; ++p) {
        m.alphaAt(p, n, g) = float(alpha[size_t(p)]);
        for (int64_t k = 0; k < len; ++k) m.setSign(p, n, k0 + k, code[size_t(k)] >> p & 1);
    }
}

}  // namespace

bool BinaryCodedMatrix::sign(int64_t plane, int64_t row, int64_t col) const {
    const uint8_t b = bits[byteIndex(*this, plane, row, col / 4)];
    const int nib = (row % 32) < 16 ? (b & 0x0F) : (b >> 4);
    return (nib >> (col % 4)) & 1;
}

void BinaryCodedMatrix::setSign(int64_t plane, int64_t row, int64_t col, bool positive) {
    uint8_t& b = bits[byteIndex(*this, plane, row, col / 4)];
    const int shift = int(col % 4) + ((row % 32) < 16 ? 0 : 4);
    b = uint8_t(positive ? (b | (1 << shift)) : (b & ~(1 << shift)));
}

std::vector<float> BinaryCodedMatrix::dequantize() const {
    std::vector<float> w(size_t(rows * cols), 0.f);
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t n = 0; n < rows; ++n)
            for (int64_t k = 0; k < cols; ++k)
                w[size_t(n * cols + k)] += alphaAt(p, n, k / groupSize) * (sign(p, n, k) ? 1.f : -1.f);
    return w;
}

Result<BinaryCodedMatrix> binaryCode(const float* w, int64_t rows, int64_t cols, int64_t planes, int64_t groupSize, int iterations) {
    if (rows <= 0 || cols <= 0) return makeError(ErrorCode::Invalid, "binary coding needs a non-empty matrix");
    if (planes < 1 || planes > 8)
        return makeError(ErrorCode::Invalid, "binary coding takes 1 to 8 bit planes, not " + std::to_string(planes));
    if (groupSize <= 0 || groupSize % 4)
        return makeError(ErrorCode::Invalid, "binary coding group size " + std::to_string(groupSize) + " is not a positive multiple of 4");
    if (iterations < 0)
        return makeError(ErrorCode::Invalid, "binary coding takes a non-negative number of refinement iterations, not " + std::to_string(iterations));
    BinaryCodedMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.planes = planes;
    m.groupSize = groupSize;
    m.bits.assign(size_t(planes * m.rowBlocks() * m.chunks() * 16), 0);
    m.alpha.assign(size_t(planes * m.groups() * m.rowBlocks() * 32), 0.f);
    std::vector<float> r(w, w + rows * cols);
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t n = 0; n < rows; ++n)
            for (int64_t g = 0; g < m.groups(); ++g) {
                const int64_t k0 = g * groupSize, k1 = std::min(cols, k0 + groupSize);
                double s = 0;
                for (int64_t k = k0; k < k1; ++k) s += std::abs(r[size_t(n * cols + k)]);
                const float a = float(s / double(k1 - k0));
                m.alphaAt(p, n, g) = a;
                for (int64_t k = k0; k < k1; ++k) {
                    float& v = r[size_t(n * cols + k)];
                    const bool pos = v >= 0.f;
                    m.setSign(p, n, k, pos);
                    v -= pos ? a : -a;
                }
                // Padding columns past `cols` read zero activations, so their bits do not matter.
            }
    if (iterations > 0)
        for (int64_t n = 0; n < rows; ++n)
            for (int64_t g = 0; g < m.groups(); ++g) refineGroup(m, w + n * cols, n, g, iterations);
    return m;
}

void lutGemvPortable(const BinaryCodedMatrix& w, const float* x, float* y) {
    const std::vector<float> xp = padded(w, x);
    std::vector<float> tables(size_t(w.chunks() * 16));
    for (int64_t c = 0; c < w.chunks(); ++c) chunkTable(xp.data() + c * 4, tables.data() + c * 16);
    portableRows(w, tables, 0, w.rows, y);
}

void lutGemv(const BinaryCodedMatrix& w, const float* x, float* y, ThreadPool* pool) {
    if (!hasAvx2() || w.groupSize > 1024) {
        lutGemvPortable(w, x, y);
        return;
    }
    const std::vector<float> xp = padded(w, x);
    const int64_t cpg = w.groupSize / 4;
    std::vector<int8_t> qt(size_t(w.chunks() * 16));
    std::vector<float> qscale(size_t(w.groups()));
    float t[16];
    for (int64_t g = 0; g < w.groups(); ++g) {
        float mx = 0.f;
        for (int64_t c = g * cpg; c < (g + 1) * cpg; ++c) {
            const float* x4 = xp.data() + c * 4;
            mx = std::max(mx, std::abs(x4[0]) + std::abs(x4[1]) + std::abs(x4[2]) + std::abs(x4[3]));
        }
        const float s = mx > 0 ? mx / 127.f : 1.f;
        qscale[size_t(g)] = s;
        for (int64_t c = g * cpg; c < (g + 1) * cpg; ++c) {
            chunkTable(xp.data() + c * 4, t);
            for (int i = 0; i < 16; ++i) qt[size_t(c * 16 + i)] = int8_t(std::lrint(t[i] / s));
        }
    }
    auto blocks = [&](int64_t b, int64_t e) {
        float out[32];
        for (int64_t rb = b; rb < e; ++rb) {
            avx2Block(w, qt.data(), qscale.data(), rb, out);
            const int64_t n0 = rb * 32, n = std::min<int64_t>(32, w.rows - n0);
            std::copy(out, out + n, y + n0);
        }
    };
    if (pool && w.rowBlocks() > 4) pool->parallelFor(w.rowBlocks(), 2, blocks);
    else blocks(0, w.rowBlocks());
}

const char* lutGemvKernelName() { return hasAvx2() ? "avx2-shuffle" : "portable"; }

}  // namespace by
