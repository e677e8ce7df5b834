#pragma once
// CPU reference rasteriser for the mesh renderer: the same world-space attributes, perspective-
// correct interpolation at pixel centres, LESS depth test, bilinear texture sampling with
// wrap-around, and the shading of mesh_shading.h. Slow and simple on purpose: it is what the
// Vulkan image is checked against, and the baseline the benchmark names.
#include <vector>

#include "engine/scene.h"
#include "renderers/render_types.h"

namespace by {

// viewDepth (optional): per pixel, the view-axis distance of the nearest surface (+infinity where
// none), for compositing splats over the meshes.
Image renderMeshesReference(const std::vector<Mesh>& meshes, const RenderView& view, std::vector<float>* viewDepth = nullptr);

}  // namespace by
