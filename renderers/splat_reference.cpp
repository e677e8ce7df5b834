#include "renderers/splat_reference.h"

#include <algorithm>
#include <cmath>

#include "renderers/splat_projection.h"

namespace by {

Image renderSplatsReference(const SplatCloud& cloud, const RenderView& view, const SplatUnderlay* underlay) {
    const int W = view.width, H = view.height;
    const SplatFrame f = SplatFrame::from(view);
    std::vector<float> depths;
    std::vector<uint32_t> order;
    splatDepths(cloud, f, depths);
    sortBackToFront(depths, order);
    std::vector<float> acc(static_cast<size_t>(W) * H * 4);
    for (size_t i = 0; i < acc.size(); i += 4) {
        acc[i] = view.background.x, acc[i + 1] = view.background.y, acc[i + 2] = view.background.z, acc[i + 3] = view.background.w;
    }
    const bool under = underlay && underlay->color && underlay->viewDepth && underlay->color->rgba.size() == acc.size() &&
                       underlay->viewDepth->size() * 4 == acc.size();
    if (under)
        for (size_t i = 0; i < acc.size(); ++i) acc[i] = underlay->color->rgba[i] / 255.0f;
    for (uint32_t idx : order) {
        float cov[6];
        covariance3d(cloud.logScales[idx], cloud.rotations[idx], cov);
        const ProjectedSplat s = projectSplat(f, cloud.positions[idx], cov, sigmoid(cloud.opacityLogits[idx]),
                                              cloud.shOf(idx), cloud.shDegree);
        if (s.radius <= 0) continue;
        // Pixel centres inside the footprint ellipse (its bounding box, then the power test); the
        // GPU's oriented rectangle holds the same ellipse.
        const int x0 = std::max(0, static_cast<int>(std::ceil(s.cx - s.halfW - 0.5f)));
        const int x1 = std::min(W - 1, static_cast<int>(std::floor(s.cx + s.halfW - 0.5f)));
        const int y0 = std::max(0, static_cast<int>(std::ceil(s.cy - s.halfH - 0.5f)));
        const int y1 = std::min(H - 1, static_cast<int>(std::floor(s.cy + s.halfH - 0.5f)));
        for (int y = y0; y <= y1; ++y) {
            const float dy = y + 0.5f - s.cy;
            for (int x = x0; x <= x1; ++x) {
                const float dx = x + 0.5f - s.cx;
                const float power = -0.5f * (s.conicA * dx * dx + s.conicC * dy * dy) - s.conicB * dx * dy;
                if (power > 0 || power < kSplatMinPower) continue;
                if (under && s.depth >= (*underlay->viewDepth)[static_cast<size_t>(y) * W + x]) continue;
                const float alpha = std::min(0.99f, s.opacity * std::exp(power));
                if (alpha < 1.0f / 255.0f) continue;
                float* px = &acc[(static_cast<size_t>(y) * W + x) * 4];
                px[0] = s.color.x * alpha + (1 - alpha) * px[0];
                px[1] = s.color.y * alpha + (1 - alpha) * px[1];
                px[2] = s.color.z * alpha + (1 - alpha) * px[2];
                px[3] = alpha + (1 - alpha) * px[3];
            }
        }
    }
    Image img;
    img.width = W, img.height = H;
    img.rgba.resize(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) img.rgba[i] = toByte(acc[i]);
    return img;
}

}  // namespace by
