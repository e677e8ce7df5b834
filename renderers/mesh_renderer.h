#pragma once
// Vulkan mesh renderer: draws triangle meshes with per-vertex normals and base-colour textures
// into an offscreen RGBA8 image (renderMeshesReference() is its CPU twin). Meshes are static, so
// setMeshes() merges all meshes that share a material into one vertex and index buffer (and one
// texture upload): a scene of hundreds of meshes is a handful of draws.
// Before drawing, the triangles the rasteriser would drop anyway (outside the view, back faces of
// single-sided materials, boxes holding no pixel centre) are dropped and the rest kept in their
// order, so the image is the same: on a GPU by a compute pass (resources/shaders/mesh_cull.comp),
// on a CPU device (lavapipe) by the host, where a plain loop is several times cheaper than the
// same work as a compute shader and the rasteriser's serial front end is what the frame waits on.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

class VulkanContext;

struct MeshFrameTimes {
    double renderMs = 0;    // recording, culling and drawing, until the device finished
    double cullMs = 0;      // of which culling on the host (0 when the device culls)
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
    // Auto (the default): on the host for a CPU device, in a compute pass on a GPU. Off draws
    // every triangle (for comparisons); Host and Device force one way (tests run both).
    enum class Culling { Off, Auto, Host, Device };
    void setCulling(Culling mode);
    // Triangles the last render() drew after culling (all of them with culling off).
    uint64_t drawnTriangles() const;
    size_t drawCount() const;  // draws per frame (one per distinct material)

private:
    MeshRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace by
