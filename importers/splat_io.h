#pragma once
// 3D Gaussian Splatting files in and out.
//  - PLY in the layout of the 3DGS reference code: x y z nx ny nz f_dc_0..2 f_rest_0..(3*(K-1)-1)
//    opacity scale_0..2 rot_0..3, binary little-endian or ascii. The number of f_rest properties
//    gives the SH degree (0, 9, 24, 45 -> degree 0..3).
//  - .splat (the web viewers' packed format): 32 bytes a splat, float position[3], float
//    scale[3] (linear), uint8 rgba (colour and sigmoid opacity), uint8 quaternion (w x y z,
//    mapped from [-1, 1] to 0..255). Degree 0 only.
// Splats that cannot be drawn (a NaN or infinity anywhere, a zero scale, a zero quaternion) are
// dropped and counted in one warning each; a file with nothing left is an error.
#include <string>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

Result<Scene> readSplatPly(const std::string& path);
Result<Scene> readDotSplat(const std::string& path);
// Writes binary little-endian PLY atomically.
Status writeSplatPly(const SplatCloud& cloud, const std::string& path);

// True when the PLY header declares the 3DGS Gaussian properties (scale_0 and rot_0).
bool isSplatPly(const std::string& path);

}  // namespace by
