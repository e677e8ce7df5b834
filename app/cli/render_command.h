#pragma once
// `brickyard-cli render SCENE [--camera eye=x,y,z,target=x,y,z,fov=deg] [--size WxH] [--cpu] -o OUT.png`
// renders a mesh file (through Assimp) or a Gaussian splat file (.ply in the 3DGS layout, .splat)
// headless with Vulkan; with no camera it frames the whole scene from the front (down -Z, Y up).
// `brickyard-cli bake IN -o OUT.ply [--samples N]` turns a coloured point cloud PLY or a textured
// mesh into 3D Gaussians in the standard 3DGS PLY layout.
#include <string>
#include <vector>

namespace by::cli {
int renderCommand(const std::vector<std::string>& args);
int bakeCommand(const std::vector<std::string>& args);
// `brickyard-cli splat-compress IN -o OUT.bysplat|OUT.ply` prunes and quantizes splats and compares renders.
int splatCompressCommand(const std::vector<std::string>& args);
}  // namespace by::cli
