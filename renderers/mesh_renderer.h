#pragma once
// Vulkan mesh renderer: draws triangle meshes with per-vertex normals and base-colour textures
// into an offscreen RGBA8 image (renderMeshesReference() is its CPU twin).
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

class VulkanContext;

class MeshRenderer {
public:
    static Result<std::unique_ptr<MeshRenderer>> create(std::shared_ptr<VulkanContext> ctx);
    ~MeshRenderer();
    // Uploads the meshes (replacing earlier ones).
    Status setMeshes(const std::vector<Mesh>& meshes);
    Result<Image> render(const RenderView& view);

private:
    MeshRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace by
