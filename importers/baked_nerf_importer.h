#pragma once
// MobileNeRF scenes (engine/baked_nerf.h), in the layout its training code exports for its web
// viewer: one folder holding
//   mlp.json                  {"obj_num": N, "0_weights": [[...]], "0_bias": [...], "1_weights": ...}
//                             k_weights is [in][out] (each row one input), k_bias [out], layers
//                             0, 1, ... until a k_weights is missing; the first takes 11 inputs
//   shapeI.obj                (I = 0..N-1) triangles or quads with texture coordinates
//   shapeI.pngfeat0.png       RGBA8 features 0-3 (alpha stored as a/2 + 128)
//   shapeI.pngfeat1.png       RGBA8 features 4-7, the same size
// OBJ files go through Assimp, PNGs through stb_image. Any missing or undecodable file, a layer
// whose sizes do not chain, or a shape without texture coordinates is refused with one sentence
// naming the file.
#include "engine/baked_nerf.h"
#include "engine/error.h"

#include <string>

namespace by {

// `path`: the scene folder or its mlp.json. `directions`: how the view direction enters the MLP,
// which the files do not record: YUpToZUp for MobileNeRF's synthetic and unbounded scenes (the
// default), AsIs for its forward-facing ones.
Result<BakedNerf> loadBakedNerf(const std::string& path,
                                BakedNerfDirections directions = BakedNerfDirections::YUpToZUp);

// Whether `path` names a baked scene to hand to loadBakedNerf(): a file called mlp.json, or a
// folder that holds one. Cheap: looks at names only.
bool isBakedNerfPath(const std::string& path);

} // namespace by
