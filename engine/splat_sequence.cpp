#include "engine/splat_sequence.h"

#include <cmath>

namespace by {

namespace {

constexpr float kPi = 3.14159265358979f;

// q1 * q2 (apply q2 first), both (w, x, y, z).
Quat mul(Quat a, Quat b) {
    return {a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z, a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
            a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x, a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w};
}

}  // namespace

SplatCloud animateSplats(const SplatCloud& base, float phase, const SplatMotion& motion) {
    SplatCloud out = base;
    const Bounds b = base.bounds();
    if (b.empty()) return out;
    const Vec3 c = b.center(), size = b.size();
    const float extent = std::fmax(size.x, std::fmax(size.y, size.z));
    const float height = size.y > 0 ? size.y : 1.0f;
    const float width = size.x > 0 ? size.x : 1.0f;
    const float swing = std::sin(2 * kPi * phase);
    const float turn = motion.turnDeg * phase * kPi / 180.0f;
    for (size_t i = 0; i < out.size(); ++i) {
        Vec3 p = base.positions[i] - c;
        const float h = p.y / height;  // -0.5 .. 0.5
        const float angle = turn + motion.twistDeg * kPi / 180.0f * h * swing;
        const float cs = std::cos(angle), sn = std::sin(angle);
        // The wave is applied in the cloud's own frame, before the turn, so it travels over the surface.
        p.y += motion.waveAmplitude * extent * std::sin(2 * kPi * (motion.waveCount * (p.x / width) - phase));
        out.positions[i] = Vec3{cs * p.x + sn * p.z, p.y, -sn * p.x + cs * p.z} + c;
        const Quat turnQ{std::cos(angle / 2), 0, std::sin(angle / 2), 0};
        out.rotations[i] = mul(turnQ, base.rotations[i]);
    }
    return out;
}

}  // namespace by
