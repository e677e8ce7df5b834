#pragma once
// Renders a whole Scene, meshes and Gaussian splats together, into one image: the meshes first
// (colour and depth), then the splats composited over them with depth, so a splat behind a
// surface is hidden there and one in front blends over it (SplatUnderlay). A scene of only
// meshes or only splats takes the single renderer's path. renderSceneReference() is its CPU twin.
#include <memory>

#include "engine/error.h"
#include "engine/scene.h"
#include "renderers/mesh_renderer.h"
#include "renderers/render_types.h"
#include "renderers/splat_renderer.h"

namespace by {

class VulkanContext;

class SceneRenderer {
public:
    static Result<std::unique_ptr<SceneRenderer>> create(std::shared_ptr<VulkanContext> ctx);
    ~SceneRenderer();
    // Uploads the scene's meshes and splats (replacing earlier ones).
    Status setScene(const Scene& scene);
    // Replaces only the splats (a Gaussian video's next frame).
    Status setSplats(const SplatCloud& cloud);
    Result<Image> render(const RenderView& view);
    void setMaxShDegree(int degree);
    double lastMs() const;
    size_t splatCount() const;
    size_t meshDraws() const;

private:
    SceneRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

Image renderSceneReference(const Scene& scene, const RenderView& view);

}  // namespace by
