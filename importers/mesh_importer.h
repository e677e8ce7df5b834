#pragma once
// Triangle meshes through Assimp (glTF/glb, OBJ, PLY, FBX, Collada and the rest Assimp reads).
// Node transforms are baked into world-space vertices, polygons are triangulated, missing normals
// are generated. Base-colour textures are decoded (embedded or beside the file); a texture that
// cannot be found or decoded is a warning and the mesh keeps its base colour.
#include <string>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

Result<Scene> loadMeshScene(const std::string& path);

// Any scene file: .splat and 3DGS .ply go to the splat readers, everything else to Assimp.
Result<Scene> loadScene(const std::string& path);

}  // namespace by
