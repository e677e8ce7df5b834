#pragma once
// Vulkan 3D Gaussian splat renderer. Per frame: a compute pass projects every Gaussian (2D conic,
// 3-sigma radius, SH colour for the view direction) while a worker thread radix-sorts the splats
// far to near on the CPU; then one instanced draw of screen-aligned quads blends them back to
// front with premultiplied alpha into a float image. renderSplatsReference() is its CPU twin.
#include <memory>

#include "engine/error.h"
#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

class VulkanContext;

struct SplatFrameTimes {
    double sortMs = 0;    // CPU depth + radix sort (overlaps the projection pass)
    double totalMs = 0;   // whole render() call including readback
};

class SplatRenderer {
public:
    static Result<std::unique_ptr<SplatRenderer>> create(std::shared_ptr<VulkanContext> ctx);
    ~SplatRenderer();
    Status setSplats(const SplatCloud& cloud);
    Result<Image> render(const RenderView& view);
    const SplatFrameTimes& lastTimes() const;

private:
    SplatRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace by
