#pragma once
// A baked neural scene in the MobileNeRF form: textured triangle meshes whose two RGBA8 feature
// textures hold 8 learned features per texel, and one small MLP that turns the 8 features of a
// surface point plus the viewing direction into its colour. Drawn by rasterising the meshes and
// running the MLP per fragment (renderers/baked_nerf_renderer.h); read from a MobileNeRF export
// by importers/baked_nerf_importer.h. Pure data and the per-fragment math; no files, no GPU.
//
// The per-fragment rule, the one MobileNeRF's published viewer applies:
//   texels are sampled nearest (no filtering: features are not colours and do not interpolate);
//   the fragment is discarded when feature 0 (red byte of feature texture 0) is 0 (empty space);
//   features 0-2, 4-6 are byte/255; features 3 and 7 (the alpha bytes) were stored as a/2 + 128
//   so that no texel is ever transparent to an alpha test, and decode as 2*byte/255 - 1;
//   the MLP input is [8 features, view direction] with the direction in the MLP's frame: for
//   MobileNeRF's synthetic and unbounded (360) scenes (x, -z, y) of the mesh frame's unit vector
//   from the eye to the point (its export wrote the Z-up training frame's points as Y-up OBJ
//   vertices), for its forward-facing scenes (x, y, z) unchanged (their vertices were written as
//   they are); the files do not say which, so the caller does (BakedNerf::directions); hidden layers are
//   ReLU, the output is a sigmoid, RGB in 0..1 that is written as it is (no sRGB conversion: it was fitted to
//   8-bit image values).
#include "engine/error.h"
#include "engine/scene.h"

#include <memory>
#include <string>
#include <vector>

namespace by {

struct BakedNerfShape {
    std::string name;                         // e.g. "shape0"
    std::vector<Vec3> positions;              // mesh frame
    std::vector<Vec2> uvs;                    // one per position; (0,0) = top-left texel corner, v down
    std::vector<uint32_t> indices;            // three per triangle
    std::shared_ptr<const Image> features[2]; // same size; RGBA = features 0-3 and 4-7

    size_t triangleCount() const { return indices.size() / 3; }
};

struct BakedNerfLayer {
    int in = 0, out = 0;
    std::vector<float> weights; // [out][in], row-major
    std::vector<float> bias;    // [out]
};

// How the view direction enters the MLP (see above).
enum class BakedNerfDirections { YUpToZUp, AsIs };

struct BakedNerf {
    static constexpr int kFeatures = 8;
    static constexpr int kInputWidth = kFeatures + 3; // features + view direction
    static constexpr int kMaxWidth = 64;              // widest layer the shader holds
    static constexpr int kMaxLayers = 8;

    std::vector<BakedNerfShape> shapes;
    std::vector<BakedNerfLayer> layers; // ReLU after each but the last; sigmoid after the last (3 wide)
    BakedNerfDirections directions = BakedNerfDirections::YUpToZUp;

    size_t triangleCount() const;
    int64_t parameterCount() const;
    Bounds bounds() const;
    // Checks the invariants the renderers rely on (layer chain 11 -> ... -> 3, widths within
    // kMaxWidth, indices in range, UVs per vertex, two same-size feature images per shape):
    // one sentence naming the shape or layer that breaks them.
    Status validate() const;
};

// The 8 decoded features of two RGBA8 texels (see the rule above), and whether the point is
// solid (feature 0's byte is non-zero).
bool decodeBakedNerfFeatures(const uint8_t texel0[4], const uint8_t texel1[4], float features[8]);

// The MLP on one fragment: `viewDir` is the unit vector from the eye to the point in the mesh
// frame. Returns RGB in 0..1. Written in the fragment shader's order of operations
// (resources/shaders/baked_nerf.frag is its twin).
Vec3 evalBakedNerfMlp(const BakedNerf& nerf, const float features[8], Vec3 viewDir);

// The texel that nearest sampling at coordinate u (0..1 across the row) picks in a row of `size`
// texels with clamp-to-edge addressing (the MobileNeRF viewer's): floor(u * size), clamped.
int nearestTexel(float u, int size);

} // namespace by
