#include "renderers/baked_nerf_reference.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace by {

namespace {

struct ClipVertex {
    Vec4 clip;
    Vec3 world;
    Vec2 uv;
};

ClipVertex lerp(const ClipVertex& a, const ClipVertex& b, float t) {
    auto l = [t](float x, float y) { return x + (y - x) * t; };
    return {{l(a.clip.x, b.clip.x), l(a.clip.y, b.clip.y), l(a.clip.z, b.clip.z), l(a.clip.w, b.clip.w)},
            a.world + (b.world - a.world) * t,
            {l(a.uv.x, b.uv.x), l(a.uv.y, b.uv.y)}};
}

// Clips a triangle against the near plane (z >= 0 in Vulkan clip space), as the GPU does.
int clipNear(const std::array<ClipVertex, 3>& in, std::array<ClipVertex, 4>& out) {
    int n = 0;
    for (int i = 0; i < 3; ++i) {
        const ClipVertex& a = in[static_cast<size_t>(i)];
        const ClipVertex& b = in[static_cast<size_t>((i + 1) % 3)];
        const bool ina = a.clip.z >= 0, inb = b.clip.z >= 0;
        if (ina) out[static_cast<size_t>(n++)] = a;
        if (ina != inb) out[static_cast<size_t>(n++)] = lerp(a, b, a.clip.z / (a.clip.z - b.clip.z));
    }
    return n;
}

const uint8_t* texel(const Image& img, float u, float v) {
    const int x = nearestTexel(u, img.width), y = nearestTexel(v, img.height);
    return img.rgba.data() + (static_cast<size_t>(y) * img.width + x) * 4;
}

} // namespace

Image renderBakedNerfReference(const BakedNerf& nerf, const RenderView& view) {
    const int W = view.width, H = view.height;
    Image img;
    img.width = W, img.height = H;
    img.rgba.resize(static_cast<size_t>(W) * H * 4);
    for (size_t i = 0; i < img.rgba.size(); i += 4) {
        img.rgba[i] = toByte(view.background.x), img.rgba[i + 1] = toByte(view.background.y);
        img.rgba[i + 2] = toByte(view.background.z), img.rgba[i + 3] = toByte(view.background.w);
    }
    if (!nerf.validate().ok()) return img;
    std::vector<float> depth(static_cast<size_t>(W) * H, 1.0f);
    const Mat4 vp = view.camera.viewProjection(view.aspect());
    const Vec3 eye = view.camera.eye;
    for (const BakedNerfShape& s : nerf.shapes) {
        const Image& f0 = *s.features[0];
        const Image& f1 = *s.features[1];
        for (size_t t = 0; t + 2 < s.indices.size(); t += 3) {
            std::array<ClipVertex, 3> tri;
            for (int k = 0; k < 3; ++k) {
                const uint32_t i = s.indices[t + static_cast<size_t>(k)];
                const Vec3 p = s.positions[i];
                tri[static_cast<size_t>(k)] = {vp * Vec4{p.x, p.y, p.z, 1}, p, s.uvs[i]};
            }
            std::array<ClipVertex, 4> poly;
            const int n = clipNear(tri, poly);
            for (int f = 1; f + 1 < n; ++f) {
                const ClipVertex* v[3] = {&poly[0], &poly[static_cast<size_t>(f)],
                                          &poly[static_cast<size_t>(f + 1)]};
                float sx[3], sy[3], sz[3], iw[3];
                bool ok = true;
                for (int k = 0; k < 3; ++k) {
                    const Vec4 c = v[k]->clip;
                    if (!(c.w > 0)) ok = false;
                    iw[k] = 1.0f / c.w;
                    sx[k] = (c.x * iw[k] * 0.5f + 0.5f) * W;
                    sy[k] = (c.y * iw[k] * 0.5f + 0.5f) * H;
                    sz[k] = c.z * iw[k];
                }
                if (!ok) continue;
                const float area = (sx[1] - sx[0]) * (sy[2] - sy[0]) - (sy[1] - sy[0]) * (sx[2] - sx[0]);
                if (area == 0 || !std::isfinite(area)) continue;
                const int x0 = std::max(0, static_cast<int>(std::floor(std::min({sx[0], sx[1], sx[2]}))));
                const int x1 = std::min(W - 1, static_cast<int>(std::ceil(std::max({sx[0], sx[1], sx[2]}))));
                const int y0 = std::max(0, static_cast<int>(std::floor(std::min({sy[0], sy[1], sy[2]}))));
                const int y1 = std::min(H - 1, static_cast<int>(std::ceil(std::max({sy[0], sy[1], sy[2]}))));
                const float inv = 1.0f / area;
                for (int y = y0; y <= y1; ++y)
                    for (int x = x0; x <= x1; ++x) {
                        const float px = x + 0.5f, py = y + 0.5f;
                        // Barycentrics from edge functions; sign-normalised so either winding works.
                        const float b0 = ((sx[1] - px) * (sy[2] - py) - (sy[1] - py) * (sx[2] - px)) * inv;
                        const float b1 = ((sx[2] - px) * (sy[0] - py) - (sy[2] - py) * (sx[0] - px)) * inv;
                        const float b2 = 1.0f - b0 - b1;
                        if (b0 < 0 || b1 < 0 || b2 < 0) continue;
                        const float z = b0 * sz[0] + b1 * sz[1] + b2 * sz[2];
                        const size_t pi = static_cast<size_t>(y) * W + x;
                        if (!(z < depth[pi]) || z > 1.0f) continue;
                        float w0 = b0 * iw[0], w1 = b1 * iw[1], w2 = b2 * iw[2];
                        const float sc = 1.0f / (w0 + w1 + w2);
                        w0 *= sc, w1 *= sc, w2 *= sc;
                        const float u = v[0]->uv.x * w0 + v[1]->uv.x * w1 + v[2]->uv.x * w2;
                        const float vv = v[0]->uv.y * w0 + v[1]->uv.y * w1 + v[2]->uv.y * w2;
                        float feat[BakedNerf::kFeatures];
                        // A discarded fragment writes no depth either: what is behind stays visible.
                        if (!decodeBakedNerfFeatures(texel(f0, u, vv), texel(f1, u, vv), feat)) continue;
                        depth[pi] = z;
                        const Vec3 world = v[0]->world * w0 + v[1]->world * w1 + v[2]->world * w2;
                        const Vec3 c = evalBakedNerfMlp(nerf, feat, normalize(world - eye));
                        img.rgba[pi * 4 + 0] = toByte(c.x);
                        img.rgba[pi * 4 + 1] = toByte(c.y);
                        img.rgba[pi * 4 + 2] = toByte(c.z);
                        img.rgba[pi * 4 + 3] = 255;
                    }
            }
        }
    }
    return img;
}

} // namespace by
