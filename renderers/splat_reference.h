#pragma once
// CPU reference for the Gaussian splat renderer: the same projection (splat_projection.h), the
// same back-to-front order, and per-pixel Gaussian falloff blended over the background in float.
#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

Image renderSplatsReference(const SplatCloud& cloud, const RenderView& view);

}  // namespace by
