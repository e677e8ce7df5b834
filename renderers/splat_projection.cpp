#include "renderers/splat_projection.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace by {

SplatFrame SplatFrame::from(const RenderView& v) {
    SplatFrame f;
    f.view = v.camera.view();
    f.eye = v.camera.eye;
    f.fx = f.fy = v.camera.focalPixels(v.height);
    f.width = static_cast<float>(v.width);
    f.height = static_cast<float>(v.height);
    f.tanHalfY = std::tan(v.camera.fovYDeg * 3.14159265358979f / 360.0f);
    f.tanHalfX = f.tanHalfY * v.aspect();
    f.nearPlane = v.camera.nearPlane;
    return f;
}

ProjectedSplat projectSplat(const SplatFrame& f, Vec3 p, const float cov[6], float opacity, const float* sh, int degree) {
    ProjectedSplat out;
    const Vec4 t = f.view * Vec4{p.x, p.y, p.z, 1};
    const float tz = -t.z;
    if (tz <= f.nearPlane) return out;
    const float limX = 1.3f * f.tanHalfX, limY = 1.3f * f.tanHalfY;
    const float tx = std::clamp(t.x / tz, -limX, limX) * tz;
    const float ty = std::clamp(t.y / tz, -limY, limY) * tz;
    // Rows of J (third row zero): image y points down, the camera looks down -Z.
    const float J[2][3] = {{f.fx / tz, 0, f.fx * tx / (tz * tz)}, {0, -f.fy / tz, -f.fy * ty / (tz * tz)}};
    float W[3][3];  // rotation part of the view matrix, row-major
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) W[r][c] = f.view.m[c][r];
    float T[2][3];
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) T[r][c] = J[r][0] * W[0][c] + J[r][1] * W[1][c] + J[r][2] * W[2][c];
    const float S[3][3] = {{cov[0], cov[1], cov[2]}, {cov[1], cov[3], cov[4]}, {cov[2], cov[4], cov[5]}};
    float TS[2][3];
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) TS[r][c] = T[r][0] * S[0][c] + T[r][1] * S[1][c] + T[r][2] * S[2][c];
    auto C = [&](int r, int c) { return TS[r][0] * T[c][0] + TS[r][1] * T[c][1] + TS[r][2] * T[c][2]; };
    // 0.3 px^2 low-pass keeps every splat at least about a pixel wide (as in 3DGS).
    const float a = C(0, 0) + 0.3f, b = C(0, 1), c = C(1, 1) + 0.3f;
    const float det = a * c - b * b;
    if (!(det > 0)) return out;
    // k^2 = min(9, 2 ln(255 op)): beyond it the splat is under 3 sigma or alpha 1/255.
    if (!(opacity * 255.0f > 1.0f)) return out;
    const float k2 = std::min(9.0f, 2.0f * std::log(255.0f * opacity));
    const float mid = 0.5f * (a + c);
    const float disc = std::sqrt(std::max(0.0f, mid * mid - det));
    const float l1 = mid + disc, l2 = std::max(mid - disc, 1e-6f);
    // Eigenvector of the larger eigenvalue; (1, 0) when the ellipse is already axis-aligned.
    float vx = b, vy = l1 - a;
    if (std::fabs(b) < 1e-9f) vx = a >= c ? 1.0f : 0.0f, vy = a >= c ? 0.0f : 1.0f;
    const float vl = std::sqrt(vx * vx + vy * vy);
    vx /= vl, vy /= vl;
    const float major = std::sqrt(k2 * l1);
    const float halfW = std::sqrt(k2 * a), halfH = std::sqrt(k2 * c);
    const float cx = f.fx * t.x / tz + 0.5f * f.width;
    const float cy = -f.fy * t.y / tz + 0.5f * f.height;
    if (cx + halfW < 0 || cx - halfW > f.width || cy + halfH < 0 || cy - halfH > f.height) return out;
    out.cx = cx, out.cy = cy, out.depth = tz, out.radius = major;
    out.axisX = vx * major, out.axisY = vy * major;
    out.minorRatio = std::sqrt(l2 / l1);
    out.halfW = halfW, out.halfH = halfH;
    out.conicA = c / det, out.conicB = -b / det, out.conicC = a / det;
    out.opacity = opacity;
    out.color = evalSh(degree, sh, normalize(p - f.eye));
    return out;
}

void splatDepths(const SplatCloud& cloud, const SplatFrame& f, std::vector<float>& depths) {
    depths.resize(cloud.size());
    const float r0 = f.view.m[0][2], r1 = f.view.m[1][2], r2 = f.view.m[2][2], r3 = f.view.m[3][2];
    for (size_t i = 0; i < cloud.size(); ++i) {
        const Vec3 p = cloud.positions[i];
        depths[i] = -(r0 * p.x + r1 * p.y + r2 * p.z + r3);
    }
}

void sortBackToFront(const std::vector<float>& depths, std::vector<uint32_t>& order) {
    const size_t n = depths.size();
    std::vector<uint32_t> keys(n), keys2(n), tmp(n);
    order.resize(n);
    for (size_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, &depths[i], 4);
        u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // ascending float order as unsigned
        keys[i] = ~u;                                      // descending: far first
        order[i] = static_cast<uint32_t>(i);
    }
    for (int pass = 0; pass < 4; ++pass) {
        const int shift = pass * 8;
        size_t count[257] = {};
        for (size_t i = 0; i < n; ++i) ++count[((keys[i] >> shift) & 0xff) + 1];
        for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
        for (size_t i = 0; i < n; ++i) {
            const size_t dst = count[(keys[i] >> shift) & 0xff]++;
            keys2[dst] = keys[i];
            tmp[dst] = order[i];
        }
        keys.swap(keys2);
        order.swap(tmp);
    }
}

}  // namespace by
