#include "engine/quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace by {

namespace {
float rdHalf(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return halfToFloat(h);
}
void wrHalf(uint8_t* p, float f) {
    const uint16_t h = floatToHalf(f);
    std::memcpy(p, &h, 2);
}

// The 16 non-uniform levels of IQ4_NL / IQ4_XS.
constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Q4_K / Q5_K: 8 sub-block scales and 8 mins, 6 bits each, packed into 12 bytes. Entries 0-3
// are the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); entries 4-7 take their low 4 bits
// from bytes 8-11 and their top 2 bits from the spare top bits of bytes 0-3 / 4-7.
void scaleMinK4(int j, const uint8_t* q, int& sc, int& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Q3_K: 16 sub-block scales, 6 bits each, in 12 bytes: low nibbles of bytes 0-7 then their high
// nibbles give the low 4 bits; bytes 8-11 hold the top 2 bits, scale k in byte 8 + k%4 at bit
// 2*(k/4). Stored with a bias of 32.
int scaleQ3K(int k, const uint8_t* s) {
    const int low = k < 8 ? (s[k] & 0x0F) : (s[k - 8] >> 4);
    const int high = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    return (low | (high << 4)) - 32;
}
}  // namespace

Status dequantizeBlocks(DType t, const uint8_t* src, int64_t n, float* dst) {
    const auto& info = dtypeInfo(t);
    if (!info.isBlockQuant || n % info.blockElems != 0)
        return makeError(ErrorCode::Invalid, std::string("element count is not a whole number of ") + info.name + " blocks");
    const int64_t nb = n / info.blockElems;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = src + b * info.blockBytes;
        float* y = dst + b * info.blockElems;
        switch (t) {
        case DType::Q4_0: {
            const float d = rdHalf(blk);
            const uint8_t* qs = blk + 2;
            for (int j = 0; j < 16; ++j) {
                y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
                y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
            }
            break;
        }
        case DType::Q4_1: {
            const float d = rdHalf(blk), m = rdHalf(blk + 2);
            const uint8_t* qs = blk + 4;
            for (int j = 0; j < 16; ++j) {
                y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
                y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
            }
            break;
        }
        case DType::Q5_0:
        case DType::Q5_1: {
            const bool one = t == DType::Q5_1;
            const float d = rdHalf(blk), m = one ? rdHalf(blk + 2) : 0.f;
            uint32_t qh;
            std::memcpy(&qh, blk + (one ? 4 : 2), 4);
            const uint8_t* qs = blk + (one ? 8 : 6);
            for (int j = 0; j < 16; ++j) {
                const int xh0 = static_cast<int>(((qh >> j) << 4) & 0x10);
                const int xh1 = static_cast<int>((qh >> (j + 12)) & 0x10);
                const int x0 = ((qs[j] & 0x0F) | xh0) - (one ? 0 : 16);
                const int x1 = ((qs[j] >> 4) | xh1) - (one ? 0 : 16);
                y[j] = static_cast<float>(x0) * d + m;
                y[j + 16] = static_cast<float>(x1) * d + m;
            }
            break;
        }
        case DType::Q8_0: {
            const float d = rdHalf(blk);
            const auto* qs = reinterpret_cast<const int8_t*>(blk + 2);
            for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
            break;
        }
        case DType::Q8_1: {  // d, s (= d * sum, unused here), 32 x int8
            const float d = rdHalf(blk);
            const auto* qs = reinterpret_cast<const int8_t*>(blk + 4);
            for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
            break;
        }
        case DType::IQ4_NL: {  // d, 16 bytes of 4-bit indices into the level table
            const float d = rdHalf(blk);
            const uint8_t* qs = blk + 2;
            for (int j = 0; j < 16; ++j) {
                y[j] = d * kIq4nlValues[qs[j] & 0x0F];
                y[j + 16] = d * kIq4nlValues[qs[j] >> 4];
            }
            break;
        }
        case DType::IQ4_XS: {  // d, scales_h (u16), scales_l[4], qs[128]: 8 sub-blocks of 32
            const float d = rdHalf(blk);
            uint16_t scalesH;
            std::memcpy(&scalesH, blk + 2, 2);
            const uint8_t* scalesL = blk + 4;
            const uint8_t* qs = blk + 8;
            for (int ib = 0; ib < 8; ++ib) {
                const int ls = ((scalesL[ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((scalesH >> (2 * ib)) & 3) << 4);
                const float dl = d * static_cast<float>(ls - 32);
                for (int j = 0; j < 16; ++j) {
                    y[ib * 32 + j] = dl * kIq4nlValues[qs[ib * 16 + j] & 0x0F];
                    y[ib * 32 + j + 16] = dl * kIq4nlValues[qs[ib * 16 + j] >> 4];
                }
            }
            break;
        }
        case DType::Q2_K: {  // scales[16] (4-bit scale | 4-bit min), qs[64], d, dmin
            const uint8_t* sc = blk;
            const uint8_t* q = blk + 16;
            const float d = rdHalf(blk + 80), dmin = rdHalf(blk + 82);
            int is = 0;
            for (int half = 0; half < 2; ++half, q += 32) {
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int part = 0; part < 2; ++part, ++is) {
                        const float dl = d * static_cast<float>(sc[is] & 0x0F);
                        const float ml = dmin * static_cast<float>(sc[is] >> 4);
                        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * part] >> shift) & 3) - ml;
                    }
                }
            }
            break;
        }
        case DType::Q3_K: {  // hmask[32], qs[64], scales[12], d
            const uint8_t* hm = blk;
            const uint8_t* q = blk + 32;
            const uint8_t* sc = blk + 96;
            const float d = rdHalf(blk + 108);
            int is = 0;
            uint8_t m = 1;
            for (int half = 0; half < 2; ++half, q += 32) {
                for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1)) {
                    for (int part = 0; part < 2; ++part, ++is) {
                        const float dl = d * static_cast<float>(scaleQ3K(is, sc));
                        for (int l = 0; l < 16; ++l) {
                            const int k = l + 16 * part;
                            const int v = ((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4);
                            *y++ = dl * static_cast<float>(v);
                        }
                    }
                }
            }
            break;
        }
        case DType::Q4_K:    // d, dmin, scales[12], qs[128]
        case DType::Q5_K: {  // d, dmin, scales[12], qh[32], qs[128]
            const bool five = t == DType::Q5_K;
            const float d = rdHalf(blk), dmin = rdHalf(blk + 2);
            const uint8_t* scales = blk + 4;
            const uint8_t* qh = blk + 16;
            const uint8_t* q = blk + (five ? 48 : 16);
            for (int j = 0; j < 4; ++j, q += 32) {  // 64 values per pair of sub-blocks
                int sc0, m0, sc1, m1;
                scaleMinK4(2 * j, scales, sc0, m0);
                scaleMinK4(2 * j + 1, scales, sc1, m1);
                const float d0 = d * static_cast<float>(sc0), mm0 = dmin * static_cast<float>(m0);
                const float d1 = d * static_cast<float>(sc1), mm1 = dmin * static_cast<float>(m1);
                const int bit0 = 2 * j, bit1 = 2 * j + 1;
                for (int l = 0; l < 32; ++l) {
                    const int h = five && ((qh[l] >> bit0) & 1) ? 16 : 0;
                    y[64 * j + l] = d0 * static_cast<float>((q[l] & 0x0F) + h) - mm0;
                }
                for (int l = 0; l < 32; ++l) {
                    const int h = five && ((qh[l] >> bit1) & 1) ? 16 : 0;
                    y[64 * j + 32 + l] = d1 * static_cast<float>((q[l] >> 4) + h) - mm1;
                }
            }
            break;
        }
        case DType::Q6_K: {  // ql[128], qh[64], scales[16] (int8), d
            const uint8_t* ql = blk;
            const uint8_t* qh = blk + 128;
            const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
            const float d = rdHalf(blk + 208);
            for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
                for (int l = 0; l < 32; ++l) {
                    const int is = l / 16;
                    const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
                    y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
                    y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
                    y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
                }
            }
            break;
        }
        case DType::Q8_K: {  // d (f32), qs[256] int8, bsums[16] (int16, unused here)
            float d;
            std::memcpy(&d, blk, 4);
            const auto* qs = reinterpret_cast<const int8_t*>(blk + 4);
            for (int j = 0; j < 256; ++j) y[j] = d * static_cast<float>(qs[j]);
            break;
        }
        case DType::TQ2_0: {  // qs[64] (2-bit codes 0..2 meaning -1..1), d
            const uint8_t* qs = blk;
            const float d = rdHalf(blk + 64);
            for (int j = 0; j < 64; j += 32)
                for (int l = 0; l < 4; ++l)
                    for (int m = 0; m < 32; ++m) *y++ = static_cast<float>(((qs[j + m] >> (2 * l)) & 3) - 1) * d;
            break;
        }
        default:
            return makeError(ErrorCode::Unsupported, std::string("decoding ") + info.name + " blocks is not supported yet");
        }
    }
    return {};
}

namespace {

// Round to nearest with ties to even through the float mantissa, as ggml's k-quant reference
// code does (its byte output depends on this exact rounding).
int nearestInt(float v) {
    const float shifted = v + 12582912.f;
    int32_t i;
    std::memcpy(&i, &shifted, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// Levels in [-nmax, nmax-1] for n values and their scale, chosen like ggml's make_qx_quants with
// weights x^2: a first guess from the extreme value, then 18 nudged scales, keeping the one with
// the best weighted least-squares fit. The float arithmetic and its order follow the reference so
// the bytes match.
[[maybe_unused]] float qxQuants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        std::fill(L, L + n, int8_t(0));
        return 0.f;
    }
    float iscale = -float(nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
        L[i] = int8_t(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * float(l);
        suml2 += w * float(l) * float(l);
    }
    float scale = suml2 != 0.f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(float(nmax) + 0.1f * float(is)) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * float(l);
            suml2 += w * float(l) * float(l);
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i]))));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// One Q6_K super-block of 256 values: 16 sub-blocks of 16 with an int8 scale each (relative to
// one f16 super-scale) and 6-bit levels split into low nibbles (ql) and 2-bit high parts (qh).
#if defined(__SSE2__)
// qxQuants(16, 32, ...) for four 16-value sub-blocks at once, one per SIMD lane. Each lane runs
// exactly the scalar arithmetic in the scalar order (products rounded to float, sums accumulated
// value by value), so the results are bit-identical; only the lanes run side by side.
// `xt` holds the four sub-blocks transposed: xt[i * 4 + lane] = value i of sub-block `lane`.
void qxQuants16x4(const float* xt, const float* x, int8_t* L, float* scales) {
    const int nmax = 32;
    alignas(16) float maxv[4], amaxv[4];
    for (int k = 0; k < 4; ++k) {
        maxv[k] = amaxv[k] = 0;
        for (int i = 0; i < 16; ++i) {
            const float ax = std::fabs(x[16 * k + i]);
            if (ax > amaxv[k]) {
                amaxv[k] = ax;
                maxv[k] = x[16 * k + i];
            }
        }
    }
    const __m128 vmax = _mm_load_ps(maxv);
    const __m128 magic = _mm_set1_ps(12582912.f), lo = _mm_set1_ps(-float(nmax)), hi = _mm_set1_ps(float(nmax - 1));
    auto sums = [&](__m128 iscale, __m128& sumlx, __m128& suml2) {
        sumlx = suml2 = _mm_setzero_ps();
        for (int i = 0; i < 16; ++i) {
            const __m128 xi = _mm_load_ps(xt + 4 * i);
            // nearest integer (ties to even) of iscale * x, as a float, then clamped
            __m128 l = _mm_sub_ps(_mm_add_ps(_mm_mul_ps(iscale, xi), magic), magic);
            l = _mm_min_ps(_mm_max_ps(l, lo), hi);
            const __m128 w = _mm_mul_ps(xi, xi);
            sumlx = _mm_add_ps(sumlx, _mm_mul_ps(_mm_mul_ps(w, xi), l));
            suml2 = _mm_add_ps(suml2, _mm_mul_ps(_mm_mul_ps(w, l), l));
        }
    };
    __m128 sumlx, suml2;
    sums(_mm_div_ps(_mm_set1_ps(-float(nmax)), vmax), sumlx, suml2);
    const __m128 zero = _mm_setzero_ps();
    __m128 scale = _mm_and_ps(_mm_cmpneq_ps(suml2, zero), _mm_div_ps(sumlx, suml2));
    __m128 best = _mm_mul_ps(scale, sumlx);
    __m128 bestIs = zero;  // 0: the first guess
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        const __m128 iscale = _mm_div_ps(_mm_set1_ps(-(float(nmax) + 0.1f * float(is))), vmax);
        sums(iscale, sumlx, suml2);
        const __m128 better = _mm_and_ps(_mm_cmpgt_ps(suml2, zero), _mm_cmpgt_ps(_mm_mul_ps(sumlx, sumlx), _mm_mul_ps(best, suml2)));
        const __m128 s2 = _mm_div_ps(sumlx, suml2);
        scale = _mm_or_ps(_mm_and_ps(better, s2), _mm_andnot_ps(better, scale));
        best = _mm_or_ps(_mm_and_ps(better, _mm_mul_ps(s2, sumlx)), _mm_andnot_ps(better, best));
        bestIs = _mm_or_ps(_mm_and_ps(better, _mm_set1_ps(float(is))), _mm_andnot_ps(better, bestIs));
    }
    alignas(16) float sc[4], bi[4];
    _mm_store_ps(sc, scale);
    _mm_store_ps(bi, bestIs);
    for (int k = 0; k < 4; ++k) {
        int8_t* Lk = L + 16 * k;
        const float* xk = x + 16 * k;
        if (amaxv[k] < 1e-15f) {
            std::fill(Lk, Lk + 16, int8_t(0));
            scales[k] = 0.f;
            continue;
        }
        const int is = int(bi[k]);
        const float iscale = is == 0 ? -float(nmax) / maxv[k] : -(float(nmax) + 0.1f * float(is)) / maxv[k];
        for (int i = 0; i < 16; ++i) Lk[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * xk[i]))));
        scales[k] = sc[k];
    }
}
#endif

void quantizeQ6K(const float* x, uint8_t* blk) {
    int8_t L[256];
    float scales[16];
#if defined(__SSE2__)
    for (int g = 0; g < 4; ++g) {
        alignas(16) float xt[64];
        for (int k = 0; k < 4; ++k)
            for (int i = 0; i < 16; ++i) xt[4 * i + k] = x[64 * g + 16 * k + i];
        qxQuants16x4(xt, x + 64 * g, L + 64 * g, scales + 4 * g);
    }
#else
    for (int ib = 0; ib < 16; ++ib) scales[ib] = qxQuants(16, 32, x + 16 * ib, L + 16 * ib);
#endif
    float maxScale = 0, maxAbsScale = 0;
    for (int ib = 0; ib < 16; ++ib) {
        const float sc = scales[ib];
        if (std::fabs(sc) > maxAbsScale) {
            maxAbsScale = std::fabs(sc);
            maxScale = sc;
        }
    }
    uint8_t* ql = blk;
    uint8_t* qh = blk + 128;
    auto* sc = reinterpret_cast<int8_t*>(blk + 192);
    if (maxAbsScale < 1e-15f) {
        std::memset(blk, 0, 210);
        wrHalf(blk + 208, 0.f);
        return;
    }
    const float iscale = -128.f / maxScale;
    wrHalf(blk + 208, 1 / iscale);
    for (int ib = 0; ib < 16; ++ib) sc[ib] = int8_t(std::min(127, nearestInt(iscale * scales[ib])));
    const float dAll = rdHalf(blk + 208);
    for (int j = 0; j < 16; ++j) {
        const float d = dAll * float(sc[j]);
        if (d == 0.f) continue;
        for (int i = 0; i < 16; ++i) L[16 * j + i] = int8_t(std::max(-32, std::min(31, nearestInt(x[16 * j + i] / d))) + 32);
    }
    for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; ++l) {
            const int a = L[j + l], b = L[j + l + 32], c = L[j + l + 64], e = L[j + l + 96];
            ql[l] = uint8_t((a & 0xF) | ((c & 0xF) << 4));
            ql[l + 32] = uint8_t((b & 0xF) | ((e & 0xF) << 4));
            qh[l] = uint8_t((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
        }
}

// max |x_j| over a 32-block (order-free, so SIMD gives the scalar result).
float blockAbsMax(const float* x) {
#if defined(__SSE2__)
    const __m128 absMask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m128 m = _mm_setzero_ps();
    for (int j = 0; j < 32; j += 4) m = _mm_max_ps(_mm_and_ps(_mm_loadu_ps(x + j), absMask), m);
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, m);
    return std::max(std::max(lanes[0], lanes[1]), std::max(lanes[2], lanes[3]));
#else
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    return amax;
#endif
}

// q_j = roundf(x_j * id) (halves away from zero) for a Q8_0 block. The product is rounded to
// float first, as in ggml; the rounding itself is done exactly in double (v + copysign(0.5, v)
// then truncation), which is what roundf computes, without a libm call per value.
void roundHalfAwayQ8(const float* x, float id, int8_t* q) {
#if defined(__SSE2__)
    const __m128 vid = _mm_set1_ps(id);
    const __m128d half = _mm_set1_pd(0.5), sign = _mm_set1_pd(-0.0);
    auto round2 = [&](__m128d v) { return _mm_cvttpd_epi32(_mm_add_pd(v, _mm_or_pd(half, _mm_and_pd(v, sign)))); };
    for (int j = 0; j < 32; j += 16) {
        __m128i i32[4];
        for (int k = 0; k < 4; ++k) {
            const __m128 v = _mm_mul_ps(_mm_loadu_ps(x + j + 4 * k), vid);
            const __m128i lo = round2(_mm_cvtps_pd(v)), hi = round2(_mm_cvtps_pd(_mm_movehl_ps(v, v)));
            i32[k] = _mm_unpacklo_epi64(lo, hi);
        }
        const __m128i i16a = _mm_packs_epi32(i32[0], i32[1]), i16b = _mm_packs_epi32(i32[2], i32[3]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + j), _mm_packs_epi16(i16a, i16b));
    }
#else
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(std::lround(x[j] * id));
#endif
}

// (int)(x_j * id + 8.5f) for a Q4_0 block: float multiply, float add, truncation, as ggml.
void truncatedLevelsQ4(const float* x, float id, int* q) {
#if defined(__SSE2__)
    const __m128 vid = _mm_set1_ps(id), off = _mm_set1_ps(8.5f);
    for (int j = 0; j < 32; j += 4)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + j), _mm_cvttps_epi32(_mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + j), vid), off)));
#else
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int>(x[j] * id + 8.5f);
#endif
}

}  // namespace

Status quantizeBlocks(DType t, const float* src, int64_t n, uint8_t* dst) {
    const auto& info = dtypeInfo(t);
    if (n % info.blockElems != 0)
        return makeError(ErrorCode::Invalid, std::string("element count is not a multiple of the ") + info.name + " block size");
    const int64_t nb = n / info.blockElems;
    if (t == DType::Q6_K) {
        for (int64_t b = 0; b < nb; ++b) quantizeQ6K(src + b * 256, dst + b * info.blockBytes);
        return {};
    }
    for (int64_t b = 0; b < nb; ++b) {
        const float* x = src + b * 32;
        uint8_t* blk = dst + b * info.blockBytes;
        if (t == DType::Q8_0) {
            const float amax = blockAbsMax(x);
            const float d = amax / 127.f;
            const float id = d ? 1.0f / d : 0.0f;
            wrHalf(blk, d);
            roundHalfAwayQ8(x, id, reinterpret_cast<int8_t*>(blk + 2));
        } else if (t == DType::Q4_0) {
            // ggml keeps the first element of largest magnitude (a strict '<' scan); with all
            // zeros its max stays +0, which makes d = -0.
            const float amax = blockAbsMax(x);
            float max = 0.f;
            if (amax > 0.f)
                for (int j = 0; j < 32; ++j)
                    if (std::fabs(x[j]) == amax) {
                        max = x[j];
                        break;
                    }
            const float d = max / -8.f;
            const float id = d ? 1.0f / d : 0.0f;
            wrHalf(blk, d);
            uint8_t* qs = blk + 2;
            int q[32];
            truncatedLevelsQ4(x, id, q);
            for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(std::min(15, q[j]) | (std::min(15, q[16 + j]) << 4));
        } else {
            return makeError(ErrorCode::Unsupported, std::string("encoding ") + info.name + " blocks is not supported");
        }
    }
    return {};
}

}  // namespace by
