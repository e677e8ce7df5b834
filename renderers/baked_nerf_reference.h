#pragma once
// CPU reference for the baked neural scene renderer: the mesh reference's rasteriser (pixel
// centres, perspective-correct interpolation, near-plane clipping, LESS depth test, both faces),
// nearest feature sampling and the MLP of engine/baked_nerf.h per covered pixel. Slow and simple:
// what the Vulkan image is checked against.
#include "engine/baked_nerf.h"
#include "renderers/render_types.h"

namespace by {

Image renderBakedNerfReference(const BakedNerf& nerf, const RenderView& view);

} // namespace by
