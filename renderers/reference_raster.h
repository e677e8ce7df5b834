#pragma once
// The CPU references' triangle rasteriser, one for every renderer that draws triangles (meshes,
// baked neural scenes): the near-plane clip the GPU does, Vulkan's facing test, pixel centres
// covered by edge functions, the depth test, and perspective-correct attributes. What a
// fragment becomes is the caller's.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "engine/math3d.h"
#include "renderers/render_types.h"

namespace by::raster {

struct Vertex {
    Vec4 clip;
    Vec3 world, normal;
    Vec2 uv;
};

struct Fragment {
    size_t pixel = 0;  // y * width + x
    float z = 0;       // depth in 0..1
    Vec3 world, normal;
    Vec2 uv;
};

// An image of the view's size filled with its background.
inline Image backgroundImage(const RenderView& view) {
    Image img;
    img.width = view.width, img.height = view.height;
    img.rgba.resize(static_cast<size_t>(view.width) * view.height * 4);
    for (size_t i = 0; i < img.rgba.size(); i += 4) {
        img.rgba[i] = toByte(view.background.x), img.rgba[i + 1] = toByte(view.background.y);
        img.rgba[i + 2] = toByte(view.background.z), img.rgba[i + 3] = toByte(view.background.w);
    }
    return img;
}

inline Vertex lerp(const Vertex& a, const Vertex& b, float t) {
    auto l = [t](float x, float y) { return x + (y - x) * t; };
    return {{l(a.clip.x, b.clip.x), l(a.clip.y, b.clip.y), l(a.clip.z, b.clip.z), l(a.clip.w, b.clip.w)},
            a.world + (b.world - a.world) * t,
            a.normal + (b.normal - a.normal) * t,
            {l(a.uv.x, b.uv.x), l(a.uv.y, b.uv.y)}};
}

// Clips a triangle against the near plane (z >= 0 in Vulkan clip space), as the GPU does.
inline int clipNear(const std::array<Vertex, 3>& in, std::array<Vertex, 4>& out) {
    int n = 0;
    for (int i = 0; i < 3; ++i) {
        const Vertex& a = in[static_cast<size_t>(i)];
        const Vertex& b = in[static_cast<size_t>((i + 1) % 3)];
        const bool ina = a.clip.z >= 0, inb = b.clip.z >= 0;
        if (ina) out[static_cast<size_t>(n++)] = a;
        if (ina != inb) out[static_cast<size_t>(n++)] = lerp(a, b, a.clip.z / (a.clip.z - b.clip.z));
    }
    return n;
}

// Draws one triangle into a W x H depth buffer (1 = far). `shade(fragment)` runs for each
// covered pixel centre that passes the depth test; it returns whether the fragment is kept (a
// discarded one writes no depth, so what is behind stays visible).
template <class Shade>
void triangle(const std::array<Vertex, 3>& tri, int W, int H, bool cullBackFaces, std::vector<float>& depth, Shade&& shade) {
    std::array<Vertex, 4> poly;
    const int n = clipNear(tri, poly);
    for (int f = 1; f + 1 < n; ++f) {
        const Vertex* v[3] = {&poly[0], &poly[static_cast<size_t>(f)], &poly[static_cast<size_t>(f + 1)]};
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
        // Vulkan's facing test in framebuffer coordinates (y down): counter-clockwise front
        // faces have a negative `area` here.
        if (cullBackFaces && area > 0) continue;
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
                Fragment fr;
                fr.z = b0 * sz[0] + b1 * sz[1] + b2 * sz[2];
                fr.pixel = static_cast<size_t>(y) * W + x;
                if (!(fr.z < depth[fr.pixel]) || fr.z > 1.0f) continue;
                // Perspective-correct weights.
                float w0 = b0 * iw[0], w1 = b1 * iw[1], w2 = b2 * iw[2];
                const float s = 1.0f / (w0 + w1 + w2);
                w0 *= s, w1 *= s, w2 *= s;
                fr.world = v[0]->world * w0 + v[1]->world * w1 + v[2]->world * w2;
                fr.normal = v[0]->normal * w0 + v[1]->normal * w1 + v[2]->normal * w2;
                fr.uv = {v[0]->uv.x * w0 + v[1]->uv.x * w1 + v[2]->uv.x * w2, v[0]->uv.y * w0 + v[1]->uv.y * w1 + v[2]->uv.y * w2};
                if (shade(fr)) depth[fr.pixel] = fr.z;
            }
    }
}

}  // namespace by::raster
