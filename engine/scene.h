#pragma once
// 3D scene data shared by the importers, the renderers and the views: triangle meshes with a
// base-colour material, and clouds of 3D Gaussians (the 3D Gaussian Splatting parameterisation).
// Pure data and the math that belongs to it; no file formats and no GPU here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/math3d.h"

namespace by {

// An 8-bit RGBA image, rows top to bottom.
struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgba;  // width * height * 4

    bool empty() const { return width <= 0 || height <= 0; }
};

struct Material {
    Vec4 baseColor{1, 1, 1, 1};              // linear factor multiplied with the texture
    std::shared_ptr<const Image> baseColorTexture;  // null: untextured
    std::string textureName;                 // where the texture came from (file or "*0" embedded)
    // Back faces (clockwise on screen) are drawn only when true. glTF says so per material (its
    // default is single-sided); formats that do not say are drawn double-sided, which is always
    // correct, only slower.
    bool doubleSided = true;
};

// A triangle mesh in world space (node transforms already applied by the importer).
struct Mesh {
    std::string name;
    std::vector<Vec3> positions;
    std::vector<Vec3> normals;   // one per position, unit length
    std::vector<Vec2> uvs;       // empty or one per position
    std::vector<uint32_t> indices;  // three per triangle
    Material material;

    size_t triangleCount() const { return indices.size() / 3; }
    Bounds bounds() const;
};

// Number of SH coefficients per colour channel for a degree (1, 4, 9, 16).
constexpr int shCoeffCount(int degree) { return (degree + 1) * (degree + 1); }

// Gaussians in the 3DGS parameterisation: log scales, unit quaternions (w, x, y, z), opacity as a
// logit, spherical-harmonics colour. SH coefficients are stored per splat as
// [coefficient][rgb], shCoeffCount(shDegree) * 3 floats; coefficient 0 is the DC term.
struct SplatCloud {
    int shDegree = 0;
    std::vector<Vec3> positions;
    std::vector<Vec3> logScales;
    std::vector<Quat> rotations;  // need not be normalised; rot_0..rot_3 = (w, x, y, z)
    std::vector<float> opacityLogits;
    std::vector<float> sh;

    size_t size() const { return positions.size(); }
    int coeffsPerSplat() const { return shCoeffCount(shDegree); }
    const float* shOf(size_t i) const { return sh.data() + i * coeffsPerSplat() * 3; }
    void reserve(size_t n);
    // Appends splat i of `other` (same or lower SH degree; missing coefficients are zero).
    void append(const SplatCloud& other, size_t i);
    Bounds bounds() const;
};

// The zeroth SH basis constant: colour = 0.5 + kShC0 * f_dc.
constexpr float kShC0 = 0.28209479177387814f;

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// View-dependent colour of one splat for a unit direction from the camera to the splat:
// the 3DGS convention, 0.5 added and negative channels clamped to zero.
Vec3 evalSh(int degree, const float* coeffs, Vec3 dir);

// The 3D covariance R S S^T R^T as its upper triangle (xx, xy, xz, yy, yz, zz).
void covariance3d(Vec3 logScale, Quat rotation, float out[6]);

struct Scene {
    std::vector<Mesh> meshes;
    SplatCloud splats;
    std::vector<std::string> warnings;  // things dropped or substituted while loading

    bool empty() const { return meshes.empty() && splats.size() == 0; }
    size_t triangleCount() const;
    Bounds bounds() const;
};

}  // namespace by
