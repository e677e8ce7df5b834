#pragma once
// Draws a 2D overlay (the viewport's ImGui widgets) over an already rendered image with Vulkan:
// the image is copied into an RGBA8 target, then indexed triangles with a colour per vertex and
// one texture (the font atlas) are blended over it with straight alpha, each draw clipped to its
// rectangle. The draw data is a plain copy of ImGui's (views/viewport_overlay.cpp converts it),
// so this library stays free of ImGui. compositeOverlayReference() is its CPU twin.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

class VulkanContext;

struct OverlayVertex {
    float x = 0, y = 0;  // pixels, top-left origin
    float u = 0, v = 0;  // atlas coordinates
    uint32_t rgba = 0;   // R in the low byte (ImGui's IM_COL32 layout)
};

struct OverlayDrawCmd {
    uint32_t firstIndex = 0;
    uint32_t indexCount = 0;
    float clip[4] = {0, 0, 0, 0};  // x0, y0, x1, y1 in pixels
};

struct OverlayDrawData {
    std::vector<OverlayVertex> vertices;
    std::vector<uint32_t> indices;  // into `vertices`
    std::vector<OverlayDrawCmd> cmds;
    bool empty() const { return cmds.empty(); }
};

class OverlayRenderer {
public:
    static Result<std::unique_ptr<OverlayRenderer>> create(std::shared_ptr<VulkanContext> ctx);
    ~OverlayRenderer();
    // The texture every draw samples (RGBA8; ImGui's font atlas with a white texel for shapes).
    Status setAtlas(const Image& atlas);
    // `base` with the overlay drawn over it, same size.
    Result<Image> composite(const Image& base, const OverlayDrawData& draw);
    double lastMs() const;

private:
    OverlayRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

// CPU reference: the same triangles, sampled at pixel centres with a top-left fill rule, nearest
// atlas texel, blended in float. Used by the tests to check the Vulkan overlay.
Image compositeOverlayReference(const Image& base, const Image& atlas, const OverlayDrawData& draw);

}  // namespace by
