#include "engine/splat_baker.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <unordered_map>

namespace by {

namespace {

float logit(float p) { return std::log(p / (1.0f - p)); }

// Uniform grid over the points for nearest-neighbour distances.
class PointGrid {
public:
    PointGrid(const std::vector<Vec3>& pts, float cell) : m_pts(pts), m_cell(cell) {
        for (size_t i = 0; i < pts.size(); ++i) m_cells[key(cellOf(pts[i]))].push_back(static_cast<uint32_t>(i));
    }
    // Mean distance to the k nearest other points found in the 27 surrounding cells (0 if none).
    float meanNearest(size_t i, int k) const {
        const auto c = cellOf(m_pts[i]);
        float best[8];
        int n = 0;
        for (int dx = -1; dx <= 1; ++dx)
            for (int dy = -1; dy <= 1; ++dy)
                for (int dz = -1; dz <= 1; ++dz) {
                    auto it = m_cells.find(key({c[0] + dx, c[1] + dy, c[2] + dz}));
                    if (it == m_cells.end()) continue;
                    for (uint32_t j : it->second) {
                        if (j == i) continue;
                        const Vec3 d = m_pts[j] - m_pts[i];
                        const float dist2 = dot(d, d);
                        if (dist2 == 0) continue;
                        if (n < k) {
                            best[n++] = dist2;
                            std::push_heap(best, best + n);
                        } else if (dist2 < best[0]) {
                            std::pop_heap(best, best + n);
                            best[n - 1] = dist2;
                            std::push_heap(best, best + n);
                        }
                    }
                }
        if (n == 0) return 0;
        float s = 0;
        for (int j = 0; j < n; ++j) s += std::sqrt(best[j]);
        return s / n;
    }

private:
    std::array<int, 3> cellOf(Vec3 p) const {
        return {static_cast<int>(std::floor(p.x / m_cell)), static_cast<int>(std::floor(p.y / m_cell)),
                static_cast<int>(std::floor(p.z / m_cell))};
    }
    static uint64_t key(std::array<int, 3> c) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(c[0]) & 0x1fffff) << 42) |
               (static_cast<uint64_t>(static_cast<uint32_t>(c[1]) & 0x1fffff) << 21) |
               (static_cast<uint64_t>(static_cast<uint32_t>(c[2]) & 0x1fffff));
    }
    const std::vector<Vec3>& m_pts;
    float m_cell;
    std::unordered_map<uint64_t, std::vector<uint32_t>> m_cells;
};

void pushSplat(SplatCloud& c, Vec3 p, Vec3 color, Vec3 normal, float tangentScale, const BakeOptions& o) {
    const bool hasNormal = length(normal) > 0.5f;
    const float s = std::log(std::max(tangentScale * o.sizeFactor, 1e-7f));
    c.positions.push_back(p);
    c.logScales.push_back(hasNormal ? Vec3{s, s, s + std::log(o.flatten)} : Vec3{s, s, s});
    c.rotations.push_back(hasNormal ? rotationFromZ(normal) : Quat{});
    c.opacityLogits.push_back(logit(o.opacity));
    const size_t base = c.sh.size();
    c.sh.resize(base + static_cast<size_t>(c.coeffsPerSplat()) * 3, 0.0f);
    c.sh[base + 0] = (color.x - 0.5f) / kShC0;
    c.sh[base + 1] = (color.y - 0.5f) / kShC0;
    c.sh[base + 2] = (color.z - 0.5f) / kShC0;
}

}  // namespace

Quat rotationFromZ(Vec3 n) {
    n = normalize(n);
    const Vec3 z{0, 0, 1};
    const float d = dot(z, n);
    if (d < -0.999999f) return {0, 1, 0, 0};  // half turn about X
    const Vec3 a = cross(z, n);
    const float w = 1.0f + d;
    const float len = std::sqrt(w * w + dot(a, a));
    return {w / len, a.x / len, a.y / len, a.z / len};
}

SplatCloud bakePointCloud(const std::vector<Vec3>& positions, const std::vector<Vec3>& colors,
                          const std::vector<Vec3>& normals, const BakeOptions& opts) {
    SplatCloud c;
    c.shDegree = opts.shDegree;
    if (positions.empty()) return c;
    Bounds b;
    for (const Vec3& p : positions) b.add(p);
    const Vec3 sz = b.size();
    // Cell size from the mean spacing of points spread over the box's largest face.
    const float area = std::max({sz.x * sz.y, sz.y * sz.z, sz.x * sz.z, 1e-12f});
    const float spacing = std::sqrt(area / static_cast<float>(positions.size()));
    const float cell = std::max(spacing * 3.0f, 1e-6f);
    PointGrid grid(positions, cell);
    c.reserve(positions.size());
    for (size_t i = 0; i < positions.size(); ++i) {
        float d = grid.meanNearest(i, 3);
        if (d == 0) d = spacing;
        // A Gaussian's sigma at half the neighbour distance makes neighbours overlap without blurring.
        pushSplat(c, positions[i], colors[i], normals.empty() ? Vec3{} : normals[i], 0.5f * d, opts);
    }
    return c;
}

Vec4 sampleBilinear(const Image& img, float u, float v) {
    const float x = u * img.width - 0.5f, y = v * img.height - 0.5f;
    const float fx = std::floor(x), fy = std::floor(y);
    const float tx = x - fx, ty = y - fy;
    auto wrap = [](long i, int n) { return static_cast<int>(((i % n) + n) % n); };
    const int x0 = wrap(static_cast<long>(fx), img.width), x1 = wrap(static_cast<long>(fx) + 1, img.width);
    const int y0 = wrap(static_cast<long>(fy), img.height), y1 = wrap(static_cast<long>(fy) + 1, img.height);
    auto px = [&](int xi, int yi, int ch) { return img.rgba[(static_cast<size_t>(yi) * img.width + xi) * 4 + ch] / 255.0f; };
    float out[4];
    for (int ch = 0; ch < 4; ++ch) {
        const float a = px(x0, y0, ch) * (1 - tx) + px(x1, y0, ch) * tx;
        const float bb = px(x0, y1, ch) * (1 - tx) + px(x1, y1, ch) * tx;
        out[ch] = a * (1 - ty) + bb * ty;
    }
    return {out[0], out[1], out[2], out[3]};
}

SplatCloud bakeMeshSurfaces(const std::vector<Mesh>& meshes, size_t samples, uint64_t seed, const BakeOptions& opts) {
    SplatCloud c;
    c.shDegree = opts.shDegree;
    struct Tri {
        const Mesh* mesh;
        size_t first;
    };
    std::vector<Tri> tris;
    std::vector<double> cumulative;
    double total = 0;
    for (const Mesh& m : meshes)
        for (size_t t = 0; t + 2 < m.indices.size(); t += 3) {
            const Vec3 a = m.positions[m.indices[t]], b = m.positions[m.indices[t + 1]], cc = m.positions[m.indices[t + 2]];
            const double area = 0.5 * length(cross(b - a, cc - a));
            if (!(area > 0)) continue;
            total += area;
            tris.push_back({&m, t});
            cumulative.push_back(total);
        }
    if (tris.empty() || samples == 0) return c;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> pick(0.0, total);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    const float scale = 0.6f * static_cast<float>(std::sqrt(total / static_cast<double>(samples)));
    c.reserve(samples);
    for (size_t s = 0; s < samples; ++s) {
        const size_t ti = static_cast<size_t>(std::lower_bound(cumulative.begin(), cumulative.end(), pick(rng)) - cumulative.begin());
        const Tri& t = tris[std::min(ti, tris.size() - 1)];
        const Mesh& m = *t.mesh;
        float r1 = unit(rng), r2 = unit(rng);
        if (r1 + r2 > 1) r1 = 1 - r1, r2 = 1 - r2;
        const float w0 = 1 - r1 - r2;
        const uint32_t i0 = m.indices[t.first], i1 = m.indices[t.first + 1], i2 = m.indices[t.first + 2];
        const Vec3 p = m.positions[i0] * w0 + m.positions[i1] * r1 + m.positions[i2] * r2;
        const Vec3 n = normalize(m.normals[i0] * w0 + m.normals[i1] * r1 + m.normals[i2] * r2);
        Vec4 col = m.material.baseColor;
        if (m.material.baseColorTexture && !m.uvs.empty()) {
            const float u = m.uvs[i0].x * w0 + m.uvs[i1].x * r1 + m.uvs[i2].x * r2;
            const float v = m.uvs[i0].y * w0 + m.uvs[i1].y * r1 + m.uvs[i2].y * r2;
            const Vec4 tex = sampleBilinear(*m.material.baseColorTexture, u, v);
            col = {col.x * tex.x, col.y * tex.y, col.z * tex.z, col.w * tex.w};
        }
        pushSplat(c, p, {col.x, col.y, col.z}, n, scale, opts);
    }
    return c;
}

SplatCloud replicateJittered(const SplatCloud& base, size_t count, float jitter, uint64_t seed) {
    SplatCloud c;
    c.shDegree = base.shDegree;
    if (base.size() == 0) return c;
    c.reserve(count);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> j(-jitter, jitter);
    for (size_t i = 0; i < count; ++i) {
        const size_t src = i % base.size();
        c.append(base, src);
        if (i >= base.size()) c.positions.back() = c.positions.back() + Vec3{j(rng), j(rng), j(rng)};
    }
    return c;
}

}  // namespace by
