#pragma once
// Building Vulkan pipelines for dynamic rendering with the few variations the renderers need.
#include <vulkan/vulkan.h>

#include <initializer_list>
#include <vector>

#include "renderers/vulkan_context.h"

namespace by {

struct GraphicsPipelineDesc {
    const uint32_t* vert = nullptr;
    size_t vertBytes = 0;
    const uint32_t* frag = nullptr;
    size_t fragBytes = 0;
    std::vector<VkVertexInputBindingDescription> bindings;
    std::vector<VkVertexInputAttributeDescription> attributes;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkFormat colorFormat = VK_FORMAT_R8G8B8A8_UNORM;
    bool depth = true;               // test and write LESS against kDepthFormat
    bool premultipliedBlend = false; // (ONE, ONE_MINUS_SRC_ALPHA)
    bool alphaBlend = false;         // straight alpha: colour (SRC_ALPHA, ONE_MINUS_SRC_ALPHA)
    VkPolygonMode polygonMode = VK_POLYGON_MODE_FILL;
    // Counter-clockwise triangles are front faces; back faces are dropped before rasterisation.
    bool cullBackFaces = false;
    VkPrimitiveTopology topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
};

Result<VkPipeline> createGraphicsPipeline(VulkanContext& ctx, const GraphicsPipelineDesc& d);
Result<VkPipeline> createComputePipeline(VulkanContext& ctx, const uint32_t* code, size_t bytes, VkPipelineLayout layout);

// A descriptor set layout of `count` bindings of one type, visible to all stages.
Result<VkDescriptorSetLayout> createSetLayout(VulkanContext& ctx, VkDescriptorType type, uint32_t count);
Result<VkPipelineLayout> createPipelineLayout(VulkanContext& ctx, VkDescriptorSetLayout set, uint32_t pushBytes);
// A pool holding exactly one set of `layout` (`count` descriptors of `type`), and that set. The
// caller owns (and destroys) *pool, also when allocating the set failed.
Result<VkDescriptorSet> createSingleSet(VulkanContext& ctx, VkDescriptorSetLayout layout, VkDescriptorType type, uint32_t count,
                                        VkDescriptorPool* pool);
// Points bindings 0, 1, ... of `set` at the whole of each buffer (storage buffers).
void writeStorageBuffers(VulkanContext& ctx, VkDescriptorSet set, std::initializer_list<VkBuffer> buffers);

}  // namespace by
