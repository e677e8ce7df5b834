#pragma once
// Vulkan neural light field renderer: evaluates a ray -> colour MLP (light_field_mlp.h) per pixel
// in one compute dispatch (resources/shaders/light_field.comp), weights in a storage buffer,
// writing RGBA8. renderLightFieldReference() (the executor on the same rays) is its CPU twin.
#include <memory>

#include "engine/error.h"
#include "renderers/light_field_mlp.h"
#include "renderers/render_types.h"

namespace by {

class VulkanContext;

struct LightFieldFrameTimes {
    double renderMs = 0;    // recording and the dispatch, until the device finished
    double readbackMs = 0;  // copying the pixels out
    double totalMs = 0;
};

class LightFieldRenderer {
public:
    // Shuffles: weights shared across a subgroup by shuffles (light_field.comp), which needs
    // subgroups of a multiple of 4 invocations with shuffles in compute; Plain: every invocation
    // loads its own (light_field_plain.comp), for any device; Auto: Shuffles where possible.
    enum class Kernel { Auto, Shuffles, Plain };
    static Result<std::unique_ptr<LightFieldRenderer>> create(std::shared_ptr<VulkanContext> ctx, Kernel kernel = Kernel::Auto);
    Kernel kernel() const;  // the one in use (never Auto)
    ~LightFieldRenderer();
    // Uploads the MLP (replacing an earlier one).
    Status setModel(const LightFieldMlp& mlp);
    // The light field has no background: every pixel is the MLP's colour (alpha 1 for RGB models).
    Result<Image> render(const RenderView& view);
    const LightFieldFrameTimes& lastTimes() const;

private:
    LightFieldRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace by
