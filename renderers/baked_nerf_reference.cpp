#include "renderers/baked_nerf_reference.h"

#include "renderers/reference_raster.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace by {

namespace {

const uint8_t* texel(const Image& img, float u, float v) {
    const int x = nearestTexel(u, img.width), y = nearestTexel(v, img.height);
    return img.rgba.data() + (static_cast<size_t>(y) * img.width + x) * 4;
}

} // namespace

Image renderBakedNerfReference(const BakedNerf& nerf, const RenderView& view) {
    const int W = view.width, H = view.height;
    Image img = raster::backgroundImage(view);
    if (!nerf.validate().ok()) return img;
    std::vector<float> depth(static_cast<size_t>(W) * H, 1.0f);
    const Mat4 vp = view.camera.viewProjection(view.aspect());
    const Vec3 eye = view.camera.eye;
    for (const BakedNerfShape& s : nerf.shapes) {
        const Image& f0 = *s.features[0];
        const Image& f1 = *s.features[1];
        auto shade = [&](const raster::Fragment& f) {
            float feat[BakedNerf::kFeatures];
            // A discarded fragment writes no depth either: what is behind stays visible.
            if (!decodeBakedNerfFeatures(texel(f0, f.uv.x, f.uv.y), texel(f1, f.uv.x, f.uv.y), feat)) return false;
            const Vec3 c = evalBakedNerfMlp(nerf, feat, normalize(f.world - eye));
            img.rgba[f.pixel * 4 + 0] = toByte(c.x);
            img.rgba[f.pixel * 4 + 1] = toByte(c.y);
            img.rgba[f.pixel * 4 + 2] = toByte(c.z);
            img.rgba[f.pixel * 4 + 3] = 255;
            return true;
        };
        for (size_t t = 0; t + 2 < s.indices.size(); t += 3) {
            std::array<raster::Vertex, 3> tri;
            for (int k = 0; k < 3; ++k) {
                const uint32_t i = s.indices[t + static_cast<size_t>(k)];
                const Vec3 p = s.positions[i];
                tri[static_cast<size_t>(k)] = {vp * Vec4{p.x, p.y, p.z, 1}, p, Vec3{}, s.uvs[i]};
            }
            // MobileNeRF draws both sides.
            raster::triangle(tri, W, H, false, depth, shade);
        }
    }
    return img;
}

} // namespace by
