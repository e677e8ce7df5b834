#include "engine/splat_compress.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace by {

uint32_t UniformQuantizer::code(float v) const {
    if (levels == 0 || !(hi > lo)) return 0;
    const float t = (v - lo) / (hi - lo) * static_cast<float>(levels);
    return static_cast<uint32_t>(std::clamp(std::lround(t), 0L, static_cast<long>(levels)));
}

float UniformQuantizer::value(uint32_t q) const {
    if (levels == 0 || !(hi > lo)) return lo;
    return lo + (hi - lo) * static_cast<float>(q) / static_cast<float>(levels);
}

namespace {

// Quantizes one channel (`at(i)` is splat i's value) in place, over its own range.
template <class At>
void quantizeChannel(size_t count, int bits, At at) {
    if (bits == 0 || count == 0) return;
    UniformQuantizer q;
    q.lo = q.hi = at(0);
    for (size_t i = 0; i < count; ++i) {
        q.lo = std::min(q.lo, at(i));
        q.hi = std::max(q.hi, at(i));
    }
    q.levels = (1u << bits) - 1;
    for (size_t i = 0; i < count; ++i) at(i) = q.value(q.code(at(i)));
}


Status checkBits(int bits, const char* what) {
    if (bits != 0 && (bits < 2 || bits > 16))
        return makeError(ErrorCode::Invalid, std::string(what) + " bits must be 0 (keep f32) or 2..16, not " + std::to_string(bits),
                         "splat compression");
    return {};
}

}  // namespace

Result<SplatCloud> compressSplats(const SplatCloud& in, const SplatCompression& c, SplatCompressionReport* report) {
    if (!(c.minOpacity >= 0.0f && c.minOpacity < 1.0f))
        return makeError(ErrorCode::Invalid, "the opacity threshold must be in [0, 1)", "splat compression");
    if (!(c.keep > 0.0 && c.keep <= 1.0))
        return makeError(ErrorCode::Invalid, "the kept fraction must be in (0, 1]", "splat compression");
    if (c.shDegree < -1 || c.shDegree > 3)
        return makeError(ErrorCode::Invalid, "the SH degree must be 0..3 (or -1 to keep it), not " + std::to_string(c.shDegree),
                         "splat compression");
    BY_TRY(checkBits(c.bits.position, "position"));
    BY_TRY(checkBits(c.bits.scale, "scale"));
    BY_TRY(checkBits(c.bits.rotation, "rotation"));
    BY_TRY(checkBits(c.bits.opacity, "opacity"));
    BY_TRY(checkBits(c.bits.dc, "colour (SH DC)"));
    BY_TRY(checkBits(c.bits.sh, "higher SH"));

    const size_t n = in.size();
    std::vector<size_t> order;
    order.reserve(n);
    for (size_t i = 0; i < n; ++i)
        if (sigmoid(in.opacityLogits[i]) >= c.minOpacity) order.push_back(i);
    if (c.keep < 1.0 && !order.empty()) {
        // Contribution: opacity times the area spanned by the two largest axes.
        auto contribution = [&](size_t i) {
            float s[3] = {in.logScales[i].x, in.logScales[i].y, in.logScales[i].z};
            std::sort(s, s + 3);
            return sigmoid(in.opacityLogits[i]) * std::exp(s[1] + s[2]);
        };
        const size_t kept = std::max<size_t>(1, static_cast<size_t>(std::llround(c.keep * static_cast<double>(order.size()))));
        std::vector<float> score(n, 0.0f);
        for (size_t i : order) score[i] = contribution(i);
        std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept - 1), order.end(),
                         [&](size_t a, size_t b) { return score[a] > score[b] || (score[a] == score[b] && a < b); });
        order.resize(kept);
        std::sort(order.begin(), order.end());  // keep the file order
    }
    if (order.empty())
        return makeError(ErrorCode::Invalid, "pruning at opacity " + std::to_string(c.minOpacity) + " removes every splat",
                         "splat compression");

    SplatCloud out;
    out.shDegree = c.shDegree < 0 ? in.shDegree : std::min(c.shDegree, in.shDegree);
    out.reserve(order.size());
    const size_t keepCoeffs = static_cast<size_t>(out.coeffsPerSplat()) * 3;
    for (size_t i : order) {
        out.positions.push_back(in.positions[i]);
        out.logScales.push_back(in.logScales[i]);
        out.rotations.push_back(in.rotations[i]);
        out.opacityLogits.push_back(in.opacityLogits[i]);
        out.sh.insert(out.sh.end(), in.shOf(i), in.shOf(i) + keepCoeffs);  // the lowest bands come first
    }

    // Rotations are normalised first so every component lies in [-1, 1].
    for (auto& q : out.rotations) {
        const float len = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
        if (len > 0) q = Quat{q.w / len, q.x / len, q.y / len, q.z / len};
    }
    const size_t m = out.size();
    forEachSplatChannel(out, c.bits, [&](int bits, auto at) { quantizeChannel(m, bits, at); });
    if (report) {
        report->splatsBefore = n;
        report->splatsAfter = m;
        report->shBefore = in.shDegree;
        report->shAfter = out.shDegree;
    }
    return out;
}

}  // namespace by
