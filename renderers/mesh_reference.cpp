#include "renderers/mesh_reference.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/splat_baker.h"
#include "renderers/mesh_shading.h"
#include "renderers/reference_raster.h"

namespace by {

double psnr(const Image& a, const Image& b) {
    if (a.width != b.width || a.height != b.height || a.rgba.size() != b.rgba.size()) return -1;
    double se = 0;
    size_t n = 0;
    for (size_t i = 0; i < a.rgba.size(); i += 4)
        for (int c = 0; c < 3; ++c) {
            const double d = static_cast<double>(a.rgba[i + c]) - b.rgba[i + c];
            se += d * d;
            ++n;
        }
    if (se == 0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(255.0 * 255.0 / (se / static_cast<double>(n)));
}

double ssim(const Image& a, const Image& b) {
    if (a.width != b.width || a.height != b.height || a.rgba.size() != b.rgba.size()) return -1;
    const int w = a.width, h = a.height;
    auto luma = [](const Image& im) {
        std::vector<double> y(im.rgba.size() / 4);
        for (size_t i = 0; i < y.size(); ++i)
            y[i] = 0.299 * im.rgba[4 * i] + 0.587 * im.rgba[4 * i + 1] + 0.114 * im.rgba[4 * i + 2];
        return y;
    };
    const auto ya = luma(a), yb = luma(b);
    constexpr int kWin = 8, kStep = 4;
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    double sum = 0;
    int64_t windows = 0;
    for (int y0 = 0; y0 + kWin <= h; y0 += kStep)
        for (int x0 = 0; x0 + kWin <= w; x0 += kStep) {
            double ma = 0, mb = 0, va = 0, vb = 0, cov = 0;
            for (int y = y0; y < y0 + kWin; ++y)
                for (int x = x0; x < x0 + kWin; ++x) {
                    ma += ya[static_cast<size_t>(y) * w + x];
                    mb += yb[static_cast<size_t>(y) * w + x];
                }
            const double n = kWin * kWin;
            ma /= n;
            mb /= n;
            for (int y = y0; y < y0 + kWin; ++y)
                for (int x = x0; x < x0 + kWin; ++x) {
                    const double da = ya[static_cast<size_t>(y) * w + x] - ma, db = yb[static_cast<size_t>(y) * w + x] - mb;
                    va += da * da;
                    vb += db * db;
                    cov += da * db;
                }
            va /= n - 1;
            vb /= n - 1;
            cov /= n - 1;
            sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            ++windows;
        }
    if (windows == 0) return psnr(a, b) == std::numeric_limits<double>::infinity() ? 1.0 : 0.0;
    return sum / static_cast<double>(windows);
}

Image renderMeshesReference(const std::vector<Mesh>& meshes, const RenderView& view, std::vector<float>* viewDepth) {
    const int W = view.width, H = view.height;
    Image img = raster::backgroundImage(view);
    std::vector<float> depth(static_cast<size_t>(W) * H, 1.0f);
    const Mat4 vp = view.camera.viewProjection(view.aspect());
    const Vec3 eye = view.camera.eye;
    const Vec3 light = meshLightDirection(view.camera);
    for (const Mesh& m : meshes) {
        const Image* tex = m.material.baseColorTexture && !m.uvs.empty() ? m.material.baseColorTexture.get() : nullptr;
        auto shade = [&](const raster::Fragment& f) {
            Vec4 base = m.material.baseColor;
            if (tex) {
                const Vec4 tc = sampleBilinear(*tex, f.uv.x, f.uv.y);
                base = {base.x * tc.x, base.y * tc.y, base.z * tc.z, base.w * tc.w};
            }
            const Vec3 c = shadeMesh(f.normal, f.world, eye, light, base);
            img.rgba[f.pixel * 4 + 0] = toByte(c.x);
            img.rgba[f.pixel * 4 + 1] = toByte(c.y);
            img.rgba[f.pixel * 4 + 2] = toByte(c.z);
            img.rgba[f.pixel * 4 + 3] = 255;
            return true;
        };
        for (size_t t = 0; t + 2 < m.indices.size(); t += 3) {
            std::array<raster::Vertex, 3> tri;
            for (int k = 0; k < 3; ++k) {
                const uint32_t i = m.indices[t + static_cast<size_t>(k)];
                const Vec3 p = m.positions[i];
                tri[static_cast<size_t>(k)] = {vp * Vec4{p.x, p.y, p.z, 1}, p, m.normals[i], m.uvs.empty() ? Vec2{} : m.uvs[i]};
            }
            raster::triangle(tri, W, H, !m.material.doubleSided, depth, shade);
        }
    }
    if (viewDepth) {
        viewDepth->resize(depth.size());
        for (size_t i = 0; i < depth.size(); ++i) (*viewDepth)[i] = viewDepthFromNdc(view.camera, depth[i]);
    }
    return img;
}

}  // namespace by
