#pragma once
// Vulkan mesh renderer: draws triangle meshes with per-vertex normals and base-colour textures
// into an offscreen RGBA8 image (renderMeshesReference() is its CPU twin). Meshes are static, so
// setMeshes() merges all meshes that share a material into one vertex and index buffer (and one
// texture upload): a scene of hundreds of meshes is a handful of draws.
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

class VulkanContext;

struct MeshFrameTimes {
    double renderMs = 0;    // recording and drawing, until the device finished
    double readbackMs = 0;  // copying the image out of the device
    double totalMs = 0;
};

class MeshRenderer {
public:
    static Result<std::unique_ptr<MeshRenderer>> create(std::shared_ptr<VulkanContext> ctx);
    ~MeshRenderer();
    // Uploads the meshes (replacing earlier ones).
    Status setMeshes(const std::vector<Mesh>& meshes);
    // viewDepth (optional): per pixel, the view-axis distance of the nearest surface (+infinity
    // where none), read back from the depth buffer for compositing splats over the meshes.
    Result<Image> render(const RenderView& view, std::vector<float>* viewDepth = nullptr);
    const MeshFrameTimes& lastTimes() const;
    size_t drawCount() const;  // draws per frame (one per distinct material)

private:
    MeshRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace by
