#pragma once
// Vulkan 3D Gaussian splat renderer. Per frame: a compute pass projects every Gaussian (2D conic,
// footprint ellipse, SH colour for the view direction) while a worker thread radix-sorts the
// splats by depth on the CPU. Then one of two methods draws them:
//  - Tiles (default): the host bins the sorted splats into 8x8-pixel tiles and a compute pass
//    composites each pixel's list front to back, stopping once the pixel is opaque;
//  - Quads: one instanced draw of rectangles around the footprints, blended back to front with
//    premultiplied alpha by the fixed-function blender into an RGBA8, RGBA16F or RGBA32F target.
// On a CPU device (lavapipe) the tiles are several times faster: rasterising and blending millions
// of small overlapping quads is per-primitive work that the early stop skips.
// renderSplatsReference() is the CPU twin of both.
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

class VulkanContext;

struct SplatFrameTimes {
    double sortMs = 0;      // CPU depth + radix sort (overlaps the projection pass)
    double binMs = 0;       // host binning into tiles (Tiles method)
    size_t tileEntries = 0; // splat-tile pairs (Tiles method)
    double renderMs = 0;    // projection, sort and drawing, until the device finished
    double readbackMs = 0;  // copying the image out of the device and converting it to RGBA8
    double totalMs = 0;     // whole render() call
};

// How splats reach the image. For the quads, the colour target they blend into: RGBA8 is the
// fastest on a CPU device, the float targets round less over many layers. The tests hold every
// method to the CPU reference.
enum class SplatMethod { Tiles, QuadsRgba8, QuadsRgba16f, QuadsRgba32f };
const char* splatMethodName(SplatMethod m);

// An opaque image already in the view (a mesh render) that the splats are composited over with
// depth: per pixel its colour and the view-axis distance of its surface (+infinity where there is
// none). A splat whose centre lies at or beyond that distance is hidden at that pixel; the ones in
// front blend over the surface colour. Both the size of the view.
struct SplatUnderlay {
    const Image* color = nullptr;
    const std::vector<float>* viewDepth = nullptr;
};

class SplatRenderer {
public:
    // Tiles: the tile shader shares each splat's data across a subgroup by shuffles where the
    // device has them (resources/shaders/splat_tiles_shared.comp); `subgroupSharing` false keeps
    // the plain one (splat_tiles.comp), for comparisons. Both give the same image.
    static Result<std::unique_ptr<SplatRenderer>> create(std::shared_ptr<VulkanContext> ctx,
                                                         SplatMethod method = SplatMethod::Tiles, bool subgroupSharing = true);
    bool sharesAcrossSubgroups() const;
    ~SplatRenderer();
    Status setSplats(const SplatCloud& cloud);
    // With an underlay (Tiles method only), the splats are composited over it instead of the
    // background.
    Result<Image> render(const RenderView& view, const SplatUnderlay* underlay = nullptr);
    const SplatFrameTimes& lastTimes() const;
    // Caps the SH degree used for colour (0: view-independent DC only); -1 uses the cloud's degree.
    void setMaxShDegree(int degree);
    size_t splatCount() const;
    SplatMethod method() const;

private:
    SplatRenderer();
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace by
