#include "importers/splat_io.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "engine/mapped_file.h"
#include "importers/atomic_writer.h"
#include "importers/ply_table.h"

namespace by {

namespace {

// Smallest log scale kept: exp(-30) is ~1e-13, far below any scene unit; such Gaussians are
// invisible and only turn into NaNs once their covariance is inverted.
constexpr float kMinLogScale = -30.0f;

struct DropCounts {
    size_t nonFinite = 0;
    size_t zeroScale = 0;
    size_t zeroRotation = 0;
};

// Checks one splat; returns false (and counts why) when it must be dropped.
bool acceptSplat(Vec3 p, Vec3 s, Quat q, float opacity, const float* sh, int nsh, DropCounts& d) {
    bool finite = isFinite(p) && isFinite(Vec3{s.x, s.y, s.z}) && std::isfinite(opacity) && std::isfinite(q.w) &&
                  std::isfinite(q.x) && std::isfinite(q.y) && std::isfinite(q.z);
    for (int i = 0; i < nsh && finite; ++i) finite = std::isfinite(sh[i]);
    // -inf log scale means a zero scale, not a broken value: count it as zero-size.
    if (!finite && isFinite(p) && (std::isinf(s.x) || std::isinf(s.y) || std::isinf(s.z)) &&
        s.x < 0 && s.y < 0 && s.z < 0 && !std::isnan(s.x + s.y + s.z)) {
        ++d.zeroScale;
        return false;
    }
    if (!finite) {
        ++d.nonFinite;
        return false;
    }
    if (s.x < kMinLogScale && s.y < kMinLogScale && s.z < kMinLogScale) {
        ++d.zeroScale;
        return false;
    }
    if (q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z < 1e-12f) {
        ++d.zeroRotation;
        return false;
    }
    return true;
}

void reportDrops(const DropCounts& d, size_t total, std::vector<std::string>& warnings) {
    auto note = [&](size_t n, const char* why) {
        if (n) warnings.push_back("dropped " + std::to_string(n) + " of " + std::to_string(total) + " Gaussians " + why);
    };
    note(d.nonFinite, "with NaN or infinite values");
    note(d.zeroScale, "with zero size (all scales ~0)");
    note(d.zeroRotation, "with a zero rotation quaternion");
}

}  // namespace

bool isSplatPly(const std::string& path) {
    auto t = readPlyHeader(path);
    return t.ok() && t->column("scale_0") >= 0 && t->column("rot_0") >= 0;
}

Result<Scene> readSplatPly(const std::string& path) {
    const std::string where = "reading " + path;
    auto tr = readPlyVertices(path);
    if (!tr) return std::move(tr.error());
    const PlyTable& t = *tr;
    auto col = [&](const std::string& n) { return t.column(n); };
    const char* required[] = {"x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1",
                              "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"};
    for (const char* r : required)
        if (col(r) < 0)
            return makeError(ErrorCode::Format,
                             std::string("not a 3D Gaussian splat PLY: the vertex element has no '") + r +
                                 "' property (a plain point cloud can be turned into splats with 'brickyard-cli bake')",
                             where);
    int rest = 0;
    while (col("f_rest_" + std::to_string(rest)) >= 0) ++rest;
    Scene scene;
    scene.warnings = t.warnings;
    int degree = 0;
    if (rest >= 45) degree = 3;
    else if (rest >= 24) degree = 2;
    else if (rest >= 9) degree = 1;
    const int usedRest = shCoeffCount(degree) * 3 - 3;
    if (rest != usedRest)
        scene.warnings.push_back(std::to_string(rest) + " f_rest properties do not match an SH degree; using degree " +
                                 std::to_string(degree) + " (" + std::to_string(usedRest) + " of them)");
    const int restPerChannel = usedRest / 3;
    // f_rest is stored channel-major (all red coefficients, then green, then blue).
    std::vector<int> restCol(static_cast<size_t>(usedRest));
    for (int i = 0; i < usedRest; ++i) restCol[static_cast<size_t>(i)] = col("f_rest_" + std::to_string(i));
    const int cx = col("x"), cy = col("y"), cz = col("z"), cop = col("opacity");
    const int cdc[3] = {col("f_dc_0"), col("f_dc_1"), col("f_dc_2")};
    const int cs[3] = {col("scale_0"), col("scale_1"), col("scale_2")};
    const int cr[4] = {col("rot_0"), col("rot_1"), col("rot_2"), col("rot_3")};

    SplatCloud& c = scene.splats;
    c.shDegree = degree;
    c.reserve(t.rows);
    const int nsh = shCoeffCount(degree) * 3;
    std::vector<float> sh(static_cast<size_t>(nsh));
    DropCounts drops;
    for (size_t r = 0; r < t.rows; ++r) {
        const Vec3 p{t.at(r, cx), t.at(r, cy), t.at(r, cz)};
        const Vec3 s{t.at(r, cs[0]), t.at(r, cs[1]), t.at(r, cs[2])};
        const Quat q{t.at(r, cr[0]), t.at(r, cr[1]), t.at(r, cr[2]), t.at(r, cr[3])};
        const float op = t.at(r, cop);
        for (int ch = 0; ch < 3; ++ch) sh[static_cast<size_t>(ch)] = t.at(r, cdc[ch]);
        for (int k = 1; k <= restPerChannel; ++k)
            for (int ch = 0; ch < 3; ++ch)
                sh[static_cast<size_t>(k * 3 + ch)] = t.at(r, restCol[static_cast<size_t>(ch * restPerChannel + k - 1)]);
        if (!acceptSplat(p, s, q, op, sh.data(), nsh, drops)) continue;
        c.positions.push_back(p);
        c.logScales.push_back(s);
        c.rotations.push_back(q);
        c.opacityLogits.push_back(op);
        c.sh.insert(c.sh.end(), sh.begin(), sh.end());
    }
    reportDrops(drops, t.rows, scene.warnings);
    if (c.size() == 0) return makeError(ErrorCode::Invalid, "no drawable Gaussians in the file", where);
    return scene;
}

Result<Scene> readDotSplat(const std::string& path) {
    const std::string where = "reading " + path;
    auto file = MappedFile::open(path);
    if (!file) return std::move(file.error());
    const size_t size = (*file)->size();
    const uint8_t* data = (*file)->data();
    Scene scene;
    const size_t n = size / 32;
    if (size % 32)
        scene.warnings.push_back("file is truncated: " + std::to_string(size % 32) +
                                 " trailing bytes do not make a whole 32-byte splat and were ignored");
    if (n == 0) return makeError(ErrorCode::Format, "a .splat file needs at least one 32-byte splat", where);
    SplatCloud& c = scene.splats;
    c.shDegree = 0;
    c.reserve(n);
    DropCounts drops;
    for (size_t i = 0; i < n; ++i) {
        const uint8_t* p = data + i * 32;
        float f[6];
        std::memcpy(f, p, sizeof f);
        const uint8_t* rgba = p + 24;
        const uint8_t* rot = p + 28;
        const Vec3 pos{f[0], f[1], f[2]};
        // Linear scales: log of zero is -inf, which the check below counts as zero-size.
        const Vec3 s{std::log(f[3]), std::log(f[4]), std::log(f[5])};
        const Quat q{(rot[0] - 128.0f) / 128.0f, (rot[1] - 128.0f) / 128.0f, (rot[2] - 128.0f) / 128.0f,
                     (rot[3] - 128.0f) / 128.0f};
        // Alpha 0 or 255 would be an infinite logit; keep them just inside.
        const float a = std::min(std::max(rgba[3] / 255.0f, 0.5f / 255.0f), 254.5f / 255.0f);
        const float op = std::log(a / (1.0f - a));
        float sh[3];
        for (int ch = 0; ch < 3; ++ch) sh[ch] = (rgba[ch] / 255.0f - 0.5f) / kShC0;
        if (!acceptSplat(pos, s, q, op, sh, 3, drops)) continue;
        c.positions.push_back(pos);
        c.logScales.push_back(s);
        c.rotations.push_back(q);
        c.opacityLogits.push_back(op);
        c.sh.insert(c.sh.end(), sh, sh + 3);
    }
    reportDrops(drops, n, scene.warnings);
    if (c.size() == 0) return makeError(ErrorCode::Invalid, "no drawable Gaussians in the file", where);
    return scene;
}

Status writeSplatPly(const SplatCloud& c, const std::string& path) {
    const int rest = c.coeffsPerSplat() * 3 - 3;
    std::ostringstream h;
    h << "ply\nformat binary_little_endian 1.0\nelement vertex " << c.size() << "\n";
    for (const char* n : {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"}) h << "property float " << n << "\n";
    for (int i = 0; i < rest; ++i) h << "property float f_rest_" << i << "\n";
    for (const char* n : {"opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"})
        h << "property float " << n << "\n";
    h << "end_header\n";
    auto w = AtomicWriter::open(path);
    if (!w) return std::move(w.error());
    const std::string header = h.str();
    BY_TRY((*w)->write(header.data(), header.size()));
    const int perChannel = rest / 3;
    std::vector<float> row(static_cast<size_t>(17 + rest));
    std::vector<float> block;
    block.reserve(row.size() * 4096);
    for (size_t i = 0; i < c.size(); ++i) {
        const float* sh = c.shOf(i);
        size_t k = 0;
        row[k++] = c.positions[i].x, row[k++] = c.positions[i].y, row[k++] = c.positions[i].z;
        row[k++] = 0, row[k++] = 0, row[k++] = 0;
        row[k++] = sh[0], row[k++] = sh[1], row[k++] = sh[2];
        for (int ch = 0; ch < 3; ++ch)
            for (int j = 1; j <= perChannel; ++j) row[k++] = sh[j * 3 + ch];
        row[k++] = c.opacityLogits[i];
        row[k++] = c.logScales[i].x, row[k++] = c.logScales[i].y, row[k++] = c.logScales[i].z;
        row[k++] = c.rotations[i].w, row[k++] = c.rotations[i].x, row[k++] = c.rotations[i].y, row[k++] = c.rotations[i].z;
        block.insert(block.end(), row.begin(), row.end());
        if (block.size() >= row.size() * 4096) {
            BY_TRY((*w)->write(block.data(), block.size() * sizeof(float)));
            block.clear();
        }
    }
    BY_TRY((*w)->write(block.data(), block.size() * sizeof(float)));
    return (*w)->commit();
}

}  // namespace by
