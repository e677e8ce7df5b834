#pragma once
// CPU reference for the Gaussian splat renderer: the same projection (splat_projection.h), the
// same back-to-front order, and per-pixel Gaussian falloff blended over the background in float.
#include "engine/scene.h"
#include "renderers/render_types.h"
#include "renderers/splat_renderer.h"

namespace by {

// With an underlay: blended over its colour, splats at or behind its depth hidden per pixel.
Image renderSplatsReference(const SplatCloud& cloud, const RenderView& view, const SplatUnderlay* underlay = nullptr);

}  // namespace by
