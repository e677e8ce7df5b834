#pragma once
// Compression of a Gaussian-splat cloud: pruning (by opacity, and by contribution - opacity times
// the area of the Gaussian's two largest axes - keeping a fraction), dropping spherical-harmonics
// bands, and uniform quantization of each attribute group to a number of bits. The returned cloud
// holds the dequantized values, so rendering it shows exactly what the quantization costs;
// importers/splat_packed.h stores it at those bit widths.
#include <cstdint>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

// Attribute groups with their own bit width (0 = keep f32).
struct SplatBits {
    int position = 0, scale = 0, rotation = 0, opacity = 0, dc = 0, sh = 0;
};

struct SplatCompression {
    float minOpacity = 0.0f;   // drop splats whose opacity (after the sigmoid) is below this, in [0, 1)
    double keep = 1.0;         // then keep this fraction (0, 1] with the largest contribution
    int shDegree = -1;         // highest SH degree kept (-1: all)
    SplatBits bits;            // each 0 or 2..16
};

struct SplatCompressionReport {
    size_t splatsBefore = 0, splatsAfter = 0;
    int shBefore = 0, shAfter = 0;
};

// Invalid, naming the setting, for out-of-range options or a cloud left empty by pruning.
Result<SplatCloud> compressSplats(const SplatCloud& in, const SplatCompression& c, SplatCompressionReport* report = nullptr);

// Visits every attribute channel of `c` in a fixed order - position x y z, log-scale x y z,
// rotation w x y z, opacity logit, SH coefficients [coefficient][rgb] - as fn(bits, at), where
// `bits` is the group's width in `bits` and at(i) is splat i's value (a reference). The packed
// file (importers/splat_packed.h) stores the channels in this order.
template <class Cloud, class Fn>
void forEachSplatChannel(Cloud& c, const SplatBits& bits, Fn fn) {
    auto vec = [](auto& v, int k) -> auto& { return k == 0 ? v.x : k == 1 ? v.y : v.z; };
    for (int k = 0; k < 3; ++k) fn(bits.position, [&, k](size_t i) -> auto& { return vec(c.positions[i], k); });
    for (int k = 0; k < 3; ++k) fn(bits.scale, [&, k](size_t i) -> auto& { return vec(c.logScales[i], k); });
    for (int k = 0; k < 4; ++k)
        fn(bits.rotation, [&, k](size_t i) -> auto& {
            auto& q = c.rotations[i];
            return k == 0 ? q.w : k == 1 ? q.x : k == 2 ? q.y : q.z;
        });
    fn(bits.opacity, [&](size_t i) -> auto& { return c.opacityLogits[i]; });
    const size_t stride = static_cast<size_t>(c.coeffsPerSplat()) * 3;
    for (size_t k = 0; k < stride; ++k) fn(k < 3 ? bits.dc : bits.sh, [&, k, stride](size_t i) -> auto& { return c.sh[i * stride + k]; });
}

// Uniform quantization shared with the packed file format: `levels` = 2^bits - 1 steps over
// [lo, hi]; code() gives the integer, value() maps it back.
struct UniformQuantizer {
    float lo = 0, hi = 0;
    uint32_t levels = 0;
    uint32_t code(float v) const;
    float value(uint32_t q) const;
};

}  // namespace by
