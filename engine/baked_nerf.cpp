#include "engine/baked_nerf.h"

#include <algorithm>
#include <cmath>

namespace by {

size_t BakedNerf::triangleCount() const {
    size_t n = 0;
    for (const BakedNerfShape& s : shapes)
        n += s.triangleCount();
    return n;
}

int64_t BakedNerf::parameterCount() const {
    int64_t n = 0;
    for (const BakedNerfLayer& l : layers)
        n += static_cast<int64_t>(l.weights.size() + l.bias.size());
    return n;
}

Bounds BakedNerf::bounds() const {
    Bounds b;
    for (const BakedNerfShape& s : shapes)
        for (const Vec3& p : s.positions)
            b.add(p);
    return b;
}

Status BakedNerf::validate() const {
    if (layers.empty() || layers.size() > static_cast<size_t>(kMaxLayers))
        return makeError(ErrorCode::Invalid, "the MLP has " + std::to_string(layers.size()) +
                                                 " layers; 1 to " + std::to_string(kMaxLayers) +
                                                 " are supported");
    int width = kInputWidth;
    for (size_t i = 0; i < layers.size(); ++i) {
        const BakedNerfLayer& l = layers[i];
        const std::string which = "layer " + std::to_string(i);
        if (l.in != width)
            return makeError(ErrorCode::Invalid, which + " takes " + std::to_string(l.in) +
                                                     " inputs but the previous stage gives " +
                                                     std::to_string(width) +
                                                     (i == 0 ? " (8 features + 3 view direction)" : ""));
        if (l.out < 1 || l.out > kMaxWidth)
            return makeError(ErrorCode::Unsupported, which + " is " + std::to_string(l.out) +
                                                         " wide; at most " + std::to_string(kMaxWidth) +
                                                         " is supported");
        if (l.weights.size() != static_cast<size_t>(l.in) * l.out ||
            l.bias.size() != static_cast<size_t>(l.out))
            return makeError(ErrorCode::Invalid, which + "'s weights or bias do not match its " +
                                                     std::to_string(l.in) + "x" + std::to_string(l.out) +
                                                     " shape");
        for (float w : l.weights)
            if (!std::isfinite(w))
                return makeError(ErrorCode::Invalid, which + " has a weight that is not a finite number");
        for (float w : l.bias)
            if (!std::isfinite(w))
                return makeError(ErrorCode::Invalid, which + " has a bias that is not a finite number");
        width = l.out;
    }
    if (width != 3)
        return makeError(ErrorCode::Invalid,
                         "the MLP's last layer gives " + std::to_string(width) + " values, not RGB (3)");
    if (shapes.empty()) return makeError(ErrorCode::Invalid, "the scene has no shapes");
    for (const BakedNerfShape& s : shapes) {
        if (s.uvs.size() != s.positions.size())
            return makeError(ErrorCode::Invalid, s.name + " has " + std::to_string(s.uvs.size()) +
                                                     " texture coordinates for " +
                                                     std::to_string(s.positions.size()) + " vertices");
        if (s.indices.size() % 3 != 0)
            return makeError(ErrorCode::Invalid, s.name + "'s index count is not a multiple of 3");
        for (uint32_t i : s.indices)
            if (i >= s.positions.size())
                return makeError(ErrorCode::Invalid, s.name + " has a triangle index past its vertices");
        for (int k = 0; k < 2; ++k)
            if (!s.features[k] || s.features[k]->empty() ||
                s.features[k]->rgba.size() !=
                    static_cast<size_t>(s.features[k]->width) * s.features[k]->height * 4)
                return makeError(ErrorCode::Invalid, s.name + " has no feature image " + std::to_string(k));
        if (s.features[0]->width != s.features[1]->width || s.features[0]->height != s.features[1]->height)
            return makeError(ErrorCode::Invalid, s.name + "'s two feature images differ in size (" +
                                                     std::to_string(s.features[0]->width) + "x" +
                                                     std::to_string(s.features[0]->height) + " and " +
                                                     std::to_string(s.features[1]->width) + "x" +
                                                     std::to_string(s.features[1]->height) + ")");
    }
    return {};
}

bool decodeBakedNerfFeatures(const uint8_t texel0[4], const uint8_t texel1[4], float f[8]) {
    for (int c = 0; c < 3; ++c) {
        f[c] = texel0[c] / 255.0f;
        f[4 + c] = texel1[c] / 255.0f;
    }
    f[3] = texel0[3] / 255.0f * 2.0f - 1.0f;
    f[7] = texel1[3] / 255.0f * 2.0f - 1.0f;
    return texel0[0] != 0;
}

Vec3 evalBakedNerfMlp(const BakedNerf& nerf, const float features[8], Vec3 viewDir) {
    float a[BakedNerf::kMaxWidth], b[BakedNerf::kMaxWidth];
    for (int i = 0; i < BakedNerf::kFeatures; ++i)
        a[i] = features[i];
    a[8] = viewDir.x;
    if (nerf.directions == BakedNerfDirections::YUpToZUp)
        a[9] = -viewDir.z, a[10] = viewDir.y;
    else
        a[9] = viewDir.y, a[10] = viewDir.z;
    int width = BakedNerf::kInputWidth;
    for (size_t li = 0; li < nerf.layers.size(); ++li) {
        const BakedNerfLayer& l = nerf.layers[li];
        const bool last = li + 1 == nerf.layers.size();
        for (int o = 0; o < l.out; ++o) {
            float acc = l.bias[static_cast<size_t>(o)];
            const float* w = l.weights.data() + static_cast<size_t>(o) * l.in;
            for (int i = 0; i < l.in; ++i)
                acc += w[i] * a[i];
            b[o] = last ? 1.0f / (1.0f + std::exp(-acc)) : std::max(acc, 0.0f);
        }
        width = l.out;
        std::copy(b, b + width, a);
    }
    return {a[0], a[1], a[2]};
}

int nearestTexel(float u, int size) {
    const float t = std::floor(u * static_cast<float>(size));
    if (!(t >= 0.0f)) return 0; // also NaN
    return t >= static_cast<float>(size) ? size - 1 : static_cast<int>(t);
}

} // namespace by
