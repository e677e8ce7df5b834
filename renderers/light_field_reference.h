#pragma once
// CPU reference for the light-field renderer: the same rays (lightFieldRays()), run through the
// engine's executor in batches, so the Vulkan image is checked against the model as the engine
// runs any other ONNX graph, not against a second copy of the shader's loops.
#include "engine/error.h"
#include "engine/executor.h"
#include "renderers/render_types.h"

namespace by {

// `executor` must run a light field (input [N,6] rays, output [N,3|4] colours in 0..1);
// `batchRays` rays go through it at a time.
Result<Image> renderLightFieldReference(const Executor& executor, const RenderView& view, size_t batchRays = 65536);

}  // namespace by
