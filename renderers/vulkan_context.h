#pragma once
// A headless Vulkan device for offscreen rendering: instance, the best physical device (a discrete
// GPU, else an integrated one, else a CPU implementation such as lavapipe), one queue that does
// graphics, compute and transfer, a command pool, and helpers for buffers, images and one-shot
// command buffers. No window system: everything renders to images that are read back.
#include <vulkan/vulkan.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

struct GpuBuffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    void* mapped = nullptr;  // buffers are host-visible and stay mapped
};

struct GpuImage {
    VkImage image = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkImageView view = VK_NULL_HANDLE;
    VkFormat format = VK_FORMAT_UNDEFINED;
    uint32_t width = 0, height = 0;
};

class VulkanContext {
public:
    // Fails with one sentence when there is no Vulkan loader, no device, or no device with
    // Vulkan 1.3 (dynamic rendering) and a graphics+compute queue.
    static Result<std::shared_ptr<VulkanContext>> create();
    ~VulkanContext();
    VulkanContext(const VulkanContext&) = delete;
    VulkanContext& operator=(const VulkanContext&) = delete;

    VkDevice device() const { return m_device; }
    VkQueue queue() const { return m_queue; }
    const std::string& deviceName() const { return m_deviceName; }
    bool isCpuDevice() const { return m_cpuDevice; }
    // Subgroup size and whether compute shaders may shuffle values between its invocations.
    uint32_t subgroupSize() const { return m_subgroupSize; }
    bool hasComputeSubgroupShuffle() const { return m_subgroupShuffle; }
    bool hasComputeSubgroupVote() const { return m_subgroupVote; }

    Result<GpuBuffer> createBuffer(VkDeviceSize size, VkBufferUsageFlags usage);
    void destroy(GpuBuffer& b);
    Result<GpuImage> createImage(uint32_t w, uint32_t h, VkFormat format, VkImageUsageFlags usage, VkImageAspectFlags aspect);
    void destroy(GpuImage& img);
    // An RGBA8 texture, sampled in shaders (layout SHADER_READ_ONLY_OPTIMAL).
    Result<GpuImage> uploadTexture(const Image& image);
    Result<VkShaderModule> createShader(const uint32_t* words, size_t bytes);

    Result<VkCommandBuffer> beginCommands();
    // Submits, waits for completion and frees the command buffer.
    Status submitAndWait(VkCommandBuffer cmd);
    // Submits and returns a fence to wait on later with waitAndFree().
    Result<VkFence> submit(VkCommandBuffer cmd);
    Status waitAndFree(VkFence fence, VkCommandBuffer cmd);

    // Records a layout transition with a full barrier (simple and correct; not the fastest).
    static void transition(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, VkImageLayout from,
                           VkImageLayout to);

private:
    VulkanContext() = default;
    Result<uint32_t> memoryType(uint32_t typeBits, VkMemoryPropertyFlags props) const;

    VkInstance m_instance = VK_NULL_HANDLE;
    VkPhysicalDevice m_physical = VK_NULL_HANDLE;
    VkDevice m_device = VK_NULL_HANDLE;
    VkQueue m_queue = VK_NULL_HANDLE;
    uint32_t m_queueFamily = 0;
    VkCommandPool m_pool = VK_NULL_HANDLE;
    std::string m_deviceName;
    bool m_cpuDevice = false;
    uint32_t m_subgroupSize = 0;
    bool m_subgroupShuffle = false;
    bool m_subgroupVote = false;
};

// Colour + depth images of one size with a host-visible readback buffer.
class OffscreenTarget {
public:
    OffscreenTarget(std::shared_ptr<VulkanContext> ctx, VkFormat colorFormat) : m_ctx(std::move(ctx)), m_format(colorFormat) {}
    ~OffscreenTarget();
    Status resize(uint32_t w, uint32_t h);  // no-op when the size is unchanged

    // Records: colour/depth into attachment layouts, vkCmdBeginRendering with clears.
    void beginRendering(VkCommandBuffer cmd, const float clear[4], bool withDepth);
    // Records: end rendering, colour image copied into the readback buffer.
    void endRenderingAndCopy(VkCommandBuffer cmd) {
        endRendering(cmd);
        recordCopy(cmd);
    }
    // The two halves of endRenderingAndCopy(), so that a renderer can time drawing apart from
    // the copy out (recordCopy() may go in a later command buffer).
    void endRendering(VkCommandBuffer cmd);
    void recordCopy(VkCommandBuffer cmd);
    // After the commands completed: the readback buffer as RGBA8 (float formats rounded).
    Image readback() const;

    // Records: `pixels` (RGBA8, width*height*4 bytes, an RGBA8 target only) copied into the colour
    // image, then vkCmdBeginRendering that keeps it (no clear, no depth): drawing over an image.
    void beginRenderingOver(VkCommandBuffer cmd, VkBuffer pixels);
    // Depth readback, after rendering withDepth: records the depth image's copy into a host buffer
    // (created on first use), then depthReadback() gives the D32 values (0 near .. 1 far) row by row.
    Status recordDepthCopy(VkCommandBuffer cmd);
    std::vector<float> depthReadback() const;

    uint32_t width() const { return m_color.width; }
    uint32_t height() const { return m_color.height; }
    VkFormat format() const { return m_format; }

private:
    void release();
    std::shared_ptr<VulkanContext> m_ctx;
    VkFormat m_format;
    GpuImage m_color, m_depth;
    GpuBuffer m_readback, m_depthReadback;
};

constexpr VkFormat kDepthFormat = VK_FORMAT_D32_SFLOAT;

}  // namespace by
