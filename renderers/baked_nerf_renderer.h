#pragma once
// Vulkan renderer for baked neural scenes in the MobileNeRF form (engine/baked_nerf.h): one
// graphics pipeline rasterises the meshes with a depth test, and the fragment shader
// (resources/shaders/baked_nerf.frag) samples the two feature textures, discards empty texels and
// runs the small MLP per fragment, writing RGBA8. renderBakedNerfReference() is its CPU twin.
#include "engine/baked_nerf.h"
#include "engine/error.h"
#include "renderers/render_types.h"

#include <memory>

namespace by {

class VulkanContext;

struct BakedNerfFrameTimes {
    double renderMs = 0;   // recording and drawing, until the device finished
    double readbackMs = 0; // copying the image out of the device
    double totalMs = 0;
};

class BakedNerfRenderer {
public:
    static Result<std::unique_ptr<BakedNerfRenderer>> create(std::shared_ptr<VulkanContext> ctx);
    ~BakedNerfRenderer();
    // Uploads the shapes, feature textures and MLP (replacing an earlier scene); refuses a scene
    // that fails BakedNerf::validate().
    Status setScene(const BakedNerf& nerf);
    // Pixels no surface covers keep view.background.
    Result<Image> render(const RenderView& view);
    const BakedNerfFrameTimes& lastTimes() const;

private:
    BakedNerfRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

} // namespace by
