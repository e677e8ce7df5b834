#pragma once
// Turns real geometry into 3D Gaussians, since no Gaussian-splat capture is available to us:
//  - a coloured point cloud: one Gaussian per point, sized by the distance to its nearest
//    neighbours (as 3DGS initialises from SfM points) and flattened along the normal when there is one;
//  - a textured mesh: Gaussians sampled over the surface by area, coloured by the texture.
// Colours become the SH DC term; higher SH coefficients are zero (the capture has no view dependence).
#include <cstdint>
#include <vector>

#include "engine/scene.h"

namespace by {

struct BakeOptions {
    int shDegree = 3;        // degree of the written cloud (3 gives the standard 45 f_rest layout)
    float opacity = 0.9f;    // opacity of every Gaussian
    float flatten = 0.25f;   // scale along the normal relative to the tangent scale
    float sizeFactor = 1.0f; // multiplies the neighbour-distance scale
};

// colors: RGB in 0..1, one per position; normals: empty or one per position.
SplatCloud bakePointCloud(const std::vector<Vec3>& positions, const std::vector<Vec3>& colors,
                          const std::vector<Vec3>& normals, const BakeOptions& opts = {});

// `samples` Gaussians spread over all meshes by triangle area, fixed seed.
SplatCloud bakeMeshSurfaces(const std::vector<Mesh>& meshes, size_t samples, uint64_t seed,
                            const BakeOptions& opts = {});

// Bilinear sample of an RGBA8 image at (u, v) with wrap-around addressing (v = 0 at the top row),
// returned as 0..1 floats. Shared with the CPU reference renderer so both sample alike.
Vec4 sampleBilinear(const Image& img, float u, float v);

// A cloud of `count` Gaussians made by cycling over `base` and jittering positions by up to
// `jitter` (scene units), fixed seed: big test clouds with the statistics of a real one.
SplatCloud replicateJittered(const SplatCloud& base, size_t count, float jitter, uint64_t seed);

// Quaternion (w, x, y, z) rotating +Z onto the unit vector n.
Quat rotationFromZ(Vec3 n);

}  // namespace by
