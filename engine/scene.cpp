#include "engine/scene.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace by {

Bounds Mesh::bounds() const {
    Bounds b;
    for (const Vec3& p : positions) b.add(p);
    return b;
}

void SplatCloud::reserve(size_t n) {
    positions.reserve(n);
    logScales.reserve(n);
    rotations.reserve(n);
    opacityLogits.reserve(n);
    sh.reserve(n * coeffsPerSplat() * 3);
}

void SplatCloud::append(const SplatCloud& other, size_t i) {
    BY_ASSERT(other.shDegree <= shDegree, "appending a splat with more SH coefficients than the cloud holds");
    positions.push_back(other.positions[i]);
    logScales.push_back(other.logScales[i]);
    rotations.push_back(other.rotations[i]);
    opacityLogits.push_back(other.opacityLogits[i]);
    const int n = other.coeffsPerSplat() * 3;
    const float* src = other.shOf(i);
    sh.insert(sh.end(), src, src + n);
    sh.resize(sh.size() + (coeffsPerSplat() * 3 - n), 0.0f);
}

Bounds SplatCloud::bounds() const {
    Bounds b;
    for (const Vec3& p : positions) b.add(p);
    return b;
}

Vec3 evalSh(int degree, const float* c, Vec3 dir) {
    // Real SH basis constants, in the order 3DGS stores its coefficients.
    constexpr float C1 = 0.4886025119029199f;
    constexpr float C2[5] = {1.0925484305920792f, -1.0925484305920792f, 0.31539156525252005f,
                             -1.0925484305920792f, 0.5462742152960396f};
    constexpr float C3[7] = {-0.5900435899266435f, 2.890611442640554f, -0.4570457994644658f, 0.3731763325901154f,
                             -0.4570457994644658f, 1.445305721320277f, -0.5900435899266435f};
    float basis[16];
    basis[0] = kShC0;
    int n = 1;
    if (degree > 0) {
        const float x = dir.x, y = dir.y, z = dir.z;
        basis[1] = -C1 * y;
        basis[2] = C1 * z;
        basis[3] = -C1 * x;
        n = 4;
        if (degree > 1) {
            const float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
            basis[4] = C2[0] * xy;
            basis[5] = C2[1] * yz;
            basis[6] = C2[2] * (2.0f * zz - xx - yy);
            basis[7] = C2[3] * xz;
            basis[8] = C2[4] * (xx - yy);
            n = 9;
            if (degree > 2) {
                basis[9] = C3[0] * y * (3.0f * xx - yy);
                basis[10] = C3[1] * xy * z;
                basis[11] = C3[2] * y * (4.0f * zz - xx - yy);
                basis[12] = C3[3] * z * (2.0f * zz - 3.0f * xx - 3.0f * yy);
                basis[13] = C3[4] * x * (4.0f * zz - xx - yy);
                basis[14] = C3[5] * z * (xx - yy);
                basis[15] = C3[6] * x * (xx - 3.0f * yy);
                n = 16;
            }
        }
    }
    float r = 0.5f, g = 0.5f, b = 0.5f;
    for (int k = 0; k < n; ++k) {
        r += basis[k] * c[k * 3 + 0];
        g += basis[k] * c[k * 3 + 1];
        b += basis[k] * c[k * 3 + 2];
    }
    return {std::max(r, 0.0f), std::max(g, 0.0f), std::max(b, 0.0f)};
}

void covariance3d(Vec3 logScale, Quat q, float out[6]) {
    const float len = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
    const float inv = len > 0 ? 1.0f / len : 0.0f;
    const float r = len > 0 ? q.w * inv : 1.0f, x = q.x * inv, y = q.y * inv, z = q.z * inv;
    const float R[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - r * z), 2 * (x * z + r * y)},
                           {2 * (x * y + r * z), 1 - 2 * (x * x + z * z), 2 * (y * z - r * x)},
                           {2 * (x * z - r * y), 2 * (y * z + r * x), 1 - 2 * (x * x + y * y)}};
    const float s[3] = {std::exp(logScale.x), std::exp(logScale.y), std::exp(logScale.z)};
    float M[3][3];  // R * S
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) M[i][j] = R[i][j] * s[j];
    auto sigma = [&](int i, int j) { return M[i][0] * M[j][0] + M[i][1] * M[j][1] + M[i][2] * M[j][2]; };
    out[0] = sigma(0, 0);
    out[1] = sigma(0, 1);
    out[2] = sigma(0, 2);
    out[3] = sigma(1, 1);
    out[4] = sigma(1, 2);
    out[5] = sigma(2, 2);
}

size_t Scene::triangleCount() const {
    size_t n = 0;
    for (const Mesh& m : meshes) n += m.triangleCount();
    return n;
}

Bounds Scene::bounds() const {
    Bounds b;
    for (const Mesh& m : meshes) b.add(m.bounds());
    b.add(splats.bounds());
    return b;
}

}  // namespace by
