#include "renderers/vulkan_context.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace by {

namespace {

Error vkError(const std::string& what, VkResult r) {
    return makeError(ErrorCode::Internal, what + " failed (VkResult " + std::to_string(static_cast<int>(r)) + ")", "Vulkan");
}

int deviceRank(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

}  // namespace

Result<std::shared_ptr<VulkanContext>> VulkanContext::create() {
    std::shared_ptr<VulkanContext> c(new VulkanContext());
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "Brickyard";
    app.apiVersion = VK_API_VERSION_1_3;
    VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pApplicationInfo = &app;
    VkResult r = vkCreateInstance(&ici, nullptr, &c->m_instance);
    if (r != VK_SUCCESS)
        return makeError(ErrorCode::Unsupported,
                         "no Vulkan driver could be loaded (install mesa-vulkan-drivers for the CPU renderer lavapipe)", "Vulkan");
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(c->m_instance, &n, nullptr);
    std::vector<VkPhysicalDevice> devs(n);
    if (n) vkEnumeratePhysicalDevices(c->m_instance, &n, devs.data());
    if (n == 0) return makeError(ErrorCode::Unsupported, "no Vulkan device found (install mesa-vulkan-drivers for lavapipe)", "Vulkan");
    int bestRank = -1;
    std::string rejected;
    for (VkPhysicalDevice d : devs) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(d, &p);
        if (p.apiVersion < VK_API_VERSION_1_3) {
            rejected += std::string(rejected.empty() ? "" : ", ") + p.deviceName + " (Vulkan " +
                        std::to_string(VK_API_VERSION_MAJOR(p.apiVersion)) + "." + std::to_string(VK_API_VERSION_MINOR(p.apiVersion)) + ")";
            continue;
        }
        uint32_t qn = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(d, &qn, nullptr);
        std::vector<VkQueueFamilyProperties> qs(qn);
        vkGetPhysicalDeviceQueueFamilyProperties(d, &qn, qs.data());
        for (uint32_t q = 0; q < qn; ++q) {
            const VkQueueFlags need = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
            if ((qs[q].queueFlags & need) != need) continue;
            const int rank = deviceRank(p.deviceType);
            if (rank > bestRank) {
                bestRank = rank;
                c->m_physical = d;
                c->m_queueFamily = q;
                c->m_deviceName = p.deviceName;
                c->m_cpuDevice = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
            }
            break;
        }
    }
    if (!c->m_physical)
        return makeError(ErrorCode::Unsupported,
                         "no Vulkan 1.3 device with a graphics and compute queue" + (rejected.empty() ? std::string() : " (found " + rejected + ")"),
                         "Vulkan");
    {
        VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
        VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
        p2.pNext = &sg;
        vkGetPhysicalDeviceProperties2(c->m_physical, &p2);
        const bool compute = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
        c->m_subgroupSize = sg.subgroupSize;
        c->m_subgroupShuffle = compute && (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
        c->m_subgroupVote = compute && (sg.supportedOperations & VK_SUBGROUP_FEATURE_VOTE_BIT) != 0;
    }
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = c->m_queueFamily;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;
    VkPhysicalDeviceVulkan13Features f13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    f13.dynamicRendering = VK_TRUE;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &f13;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    r = vkCreateDevice(c->m_physical, &dci, nullptr, &c->m_device);
    if (r != VK_SUCCESS) return vkError("creating the device on " + c->m_deviceName, r);
    vkGetDeviceQueue(c->m_device, c->m_queueFamily, 0, &c->m_queue);
    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = c->m_queueFamily;
    r = vkCreateCommandPool(c->m_device, &pci, nullptr, &c->m_pool);
    if (r != VK_SUCCESS) return vkError("creating a command pool", r);
    return c;
}

VulkanContext::~VulkanContext() {
    if (m_device) {
        vkDeviceWaitIdle(m_device);
        if (m_pool) vkDestroyCommandPool(m_device, m_pool, nullptr);
        vkDestroyDevice(m_device, nullptr);
    }
    if (m_instance) vkDestroyInstance(m_instance, nullptr);
}

Result<uint32_t> VulkanContext::memoryType(uint32_t typeBits, VkMemoryPropertyFlags props) const {
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(m_physical, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
        if ((typeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & props) == props) return i;
    return makeError(ErrorCode::Unsupported, "no suitable memory type on " + m_deviceName, "Vulkan");
}

Result<GpuBuffer> VulkanContext::createBuffer(VkDeviceSize size, VkBufferUsageFlags usage) {
    GpuBuffer b;
    b.size = std::max<VkDeviceSize>(size, 16);
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = b.size;
    bci.usage = usage;
    VkResult r = vkCreateBuffer(m_device, &bci, nullptr, &b.buffer);
    if (r != VK_SUCCESS) return vkError("creating a buffer", r);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(m_device, b.buffer, &req);
    auto type = memoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!type) {
        destroy(b);
        return std::move(type.error());
    }
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = *type;
    r = vkAllocateMemory(m_device, &mai, nullptr, &b.memory);
    if (r != VK_SUCCESS) {
        destroy(b);
        return makeError(ErrorCode::Internal, "out of memory allocating a " + std::to_string(size >> 20) + " MiB buffer", "Vulkan");
    }
    vkBindBufferMemory(m_device, b.buffer, b.memory, 0);
    vkMapMemory(m_device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
    return b;
}

void VulkanContext::destroy(GpuBuffer& b) {
    if (b.buffer) vkDestroyBuffer(m_device, b.buffer, nullptr);
    if (b.memory) vkFreeMemory(m_device, b.memory, nullptr);
    b = GpuBuffer{};
}

Result<GpuImage> VulkanContext::createImage(uint32_t w, uint32_t h, VkFormat format, VkImageUsageFlags usage,
                                            VkImageAspectFlags aspect) {
    GpuImage img;
    img.width = w, img.height = h, img.format = format;
    VkImageCreateInfo ici{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.imageType = VK_IMAGE_TYPE_2D;
    ici.format = format;
    ici.extent = {w, h, 1};
    ici.mipLevels = 1;
    ici.arrayLayers = 1;
    ici.samples = VK_SAMPLE_COUNT_1_BIT;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = usage;
    ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    VkResult r = vkCreateImage(m_device, &ici, nullptr, &img.image);
    if (r != VK_SUCCESS) return vkError("creating a " + std::to_string(w) + "x" + std::to_string(h) + " image", r);
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(m_device, img.image, &req);
    auto type = memoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!type) type = memoryType(req.memoryTypeBits, 0);
    if (!type) {
        destroy(img);
        return std::move(type.error());
    }
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = *type;
    r = vkAllocateMemory(m_device, &mai, nullptr, &img.memory);
    if (r != VK_SUCCESS) {
        destroy(img);
        return vkError("allocating image memory", r);
    }
    vkBindImageMemory(m_device, img.image, img.memory, 0);
    VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vci.image = img.image;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = format;
    vci.subresourceRange = {aspect, 0, 1, 0, 1};
    r = vkCreateImageView(m_device, &vci, nullptr, &img.view);
    if (r != VK_SUCCESS) {
        destroy(img);
        return vkError("creating an image view", r);
    }
    return img;
}

void VulkanContext::destroy(GpuImage& img) {
    if (img.view) vkDestroyImageView(m_device, img.view, nullptr);
    if (img.image) vkDestroyImage(m_device, img.image, nullptr);
    if (img.memory) vkFreeMemory(m_device, img.memory, nullptr);
    img = GpuImage{};
}

Result<GpuImage> VulkanContext::uploadTexture(const Image& image) {
    const uint32_t w = static_cast<uint32_t>(image.width), h = static_cast<uint32_t>(image.height);
    auto img = createImage(w, h, VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                           VK_IMAGE_ASPECT_COLOR_BIT);
    if (!img) return img;
    auto staging = createBuffer(image.rgba.size(), VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
    if (!staging) {
        destroy(*img);
        return std::move(staging.error());
    }
    std::memcpy(staging->mapped, image.rgba.data(), image.rgba.size());
    auto cmd = beginCommands();
    if (!cmd) {
        destroy(*staging), destroy(*img);
        return std::move(cmd.error());
    }
    transition(*cmd, img->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
    VkBufferImageCopy copy{};
    copy.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    copy.imageExtent = {w, h, 1};
    vkCmdCopyBufferToImage(*cmd, staging->buffer, img->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
    transition(*cmd, img->image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
               VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
    Status s = submitAndWait(*cmd);
    destroy(*staging);
    if (!s) {
        destroy(*img);
        return std::move(s.error());
    }
    return img;
}

Result<VkShaderModule> VulkanContext::createShader(const uint32_t* words, size_t bytes) {
    VkShaderModuleCreateInfo sci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    sci.codeSize = bytes;
    sci.pCode = words;
    VkShaderModule m = VK_NULL_HANDLE;
    VkResult r = vkCreateShaderModule(m_device, &sci, nullptr, &m);
    if (r != VK_SUCCESS) return vkError("creating a shader module", r);
    return m;
}

Result<VkCommandBuffer> VulkanContext::beginCommands() {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = m_pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkResult r = vkAllocateCommandBuffers(m_device, &ai, &cmd);
    if (r != VK_SUCCESS) return vkError("allocating a command buffer", r);
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vkBeginCommandBuffer(cmd, &bi);
    return cmd;
}

Result<VkFence> VulkanContext::submit(VkCommandBuffer cmd) {
    vkEndCommandBuffer(cmd);
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence = VK_NULL_HANDLE;
    vkCreateFence(m_device, &fci, nullptr, &fence);
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    VkResult r = vkQueueSubmit(m_queue, 1, &si, fence);
    if (r != VK_SUCCESS) {
        vkDestroyFence(m_device, fence, nullptr);
        vkFreeCommandBuffers(m_device, m_pool, 1, &cmd);
        return vkError("submitting commands", r);
    }
    return fence;
}

Status VulkanContext::waitAndFree(VkFence fence, VkCommandBuffer cmd) {
    VkResult r = vkWaitForFences(m_device, 1, &fence, VK_TRUE, UINT64_MAX);
    vkDestroyFence(m_device, fence, nullptr);
    vkFreeCommandBuffers(m_device, m_pool, 1, &cmd);
    if (r != VK_SUCCESS) return vkError("waiting for the device", r);
    return {};
}

Status VulkanContext::submitAndWait(VkCommandBuffer cmd) {
    auto fence = submit(cmd);
    if (!fence) return std::move(fence.error());
    return waitAndFree(*fence, cmd);
}

void VulkanContext::transition(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, VkImageLayout from,
                               VkImageLayout to) {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
    b.oldLayout = from;
    b.newLayout = to;
    b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = {aspect, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0, nullptr, 0,
                         nullptr, 1, &b);
}

OffscreenTarget::~OffscreenTarget() { release(); }

void OffscreenTarget::release() {
    m_ctx->destroy(m_color);
    m_ctx->destroy(m_depth);
    m_ctx->destroy(m_readback);
    m_ctx->destroy(m_depthReadback);
}

static size_t bytesPerPixel(VkFormat f) {
    return f == VK_FORMAT_R32G32B32A32_SFLOAT ? 16 : (f == VK_FORMAT_R16G16B16A16_SFLOAT ? 8 : 4);
}

// IEEE half to float (normals, subnormals, infinities; NaN becomes infinity, clamped away anyway).
static float halfToFloat(uint16_t h) {
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                     : (e == 31 ? INFINITY : std::ldexp(static_cast<float>(m | 0x400), e - 25));
    return (h & 0x8000) ? -v : v;
}

Status OffscreenTarget::resize(uint32_t w, uint32_t h) {
    if (w == 0 || h == 0 || w > 16384 || h > 16384)
        return makeError(ErrorCode::Invalid, "image size " + std::to_string(w) + "x" + std::to_string(h) + " is out of range (1..16384)");
    if (w == m_color.width && h == m_color.height && m_color.image) return {};
    release();
    auto c = m_ctx->createImage(w, h, m_format,
                                VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                                VK_IMAGE_ASPECT_COLOR_BIT);
    if (!c) return std::move(c.error());
    m_color = *c;
    auto d = m_ctx->createImage(w, h, kDepthFormat, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                VK_IMAGE_ASPECT_DEPTH_BIT);
    if (!d) return std::move(d.error());
    m_depth = *d;
    auto b = m_ctx->createBuffer(static_cast<VkDeviceSize>(w) * h * bytesPerPixel(m_format), VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    if (!b) return std::move(b.error());
    m_readback = *b;
    return {};
}

void OffscreenTarget::beginRendering(VkCommandBuffer cmd, const float clear[4], bool withDepth) {
    VulkanContext::transition(cmd, m_color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                              VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
    if (withDepth)
        VulkanContext::transition(cmd, m_depth.image, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                                  VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL);
    VkRenderingAttachmentInfo color{VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO};
    color.imageView = m_color.view;
    color.imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
    std::memcpy(color.clearValue.color.float32, clear, 4 * sizeof(float));
    VkRenderingAttachmentInfo depth{VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO};
    depth.imageView = m_depth.view;
    depth.imageLayout = VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL;
    depth.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    depth.storeOp = VK_ATTACHMENT_STORE_OP_STORE;  // recordDepthCopy() may read it
    depth.clearValue.depthStencil = {1.0f, 0};
    VkRenderingInfo ri{VK_STRUCTURE_TYPE_RENDERING_INFO};
    ri.renderArea = {{0, 0}, {m_color.width, m_color.height}};
    ri.layerCount = 1;
    ri.colorAttachmentCount = 1;
    ri.pColorAttachments = &color;
    ri.pDepthAttachment = withDepth ? &depth : nullptr;
    vkCmdBeginRendering(cmd, &ri);
    VkViewport vp{0, 0, static_cast<float>(m_color.width), static_cast<float>(m_color.height), 0, 1};
    VkRect2D sc{{0, 0}, {m_color.width, m_color.height}};
    vkCmdSetViewport(cmd, 0, 1, &vp);
    vkCmdSetScissor(cmd, 0, 1, &sc);
}

void OffscreenTarget::endRendering(VkCommandBuffer cmd) { vkCmdEndRendering(cmd); }

void OffscreenTarget::beginRenderingOver(VkCommandBuffer cmd, VkBuffer pixels) {
    VulkanContext::transition(cmd, m_color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                              VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
    VkBufferImageCopy copy{};
    copy.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    copy.imageExtent = {m_color.width, m_color.height, 1};
    vkCmdCopyBufferToImage(cmd, pixels, m_color.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
    VulkanContext::transition(cmd, m_color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                              VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
    VkRenderingAttachmentInfo color{VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO};
    color.imageView = m_color.view;
    color.imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    color.loadOp = VK_ATTACHMENT_LOAD_OP_LOAD;
    color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
    VkRenderingInfo ri{VK_STRUCTURE_TYPE_RENDERING_INFO};
    ri.renderArea = {{0, 0}, {m_color.width, m_color.height}};
    ri.layerCount = 1;
    ri.colorAttachmentCount = 1;
    ri.pColorAttachments = &color;
    vkCmdBeginRendering(cmd, &ri);
    VkViewport vp{0, 0, static_cast<float>(m_color.width), static_cast<float>(m_color.height), 0, 1};
    vkCmdSetViewport(cmd, 0, 1, &vp);
}

Status OffscreenTarget::recordDepthCopy(VkCommandBuffer cmd) {
    const VkDeviceSize bytes = static_cast<VkDeviceSize>(m_depth.width) * m_depth.height * sizeof(float);
    if (m_depthReadback.size != bytes) {
        m_ctx->destroy(m_depthReadback);
        auto b = m_ctx->createBuffer(bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT);
        if (!b) return std::move(b.error());
        m_depthReadback = *b;
    }
    VulkanContext::transition(cmd, m_depth.image, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
                              VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    VkBufferImageCopy copy{};
    copy.imageSubresource = {VK_IMAGE_ASPECT_DEPTH_BIT, 0, 0, 1};
    copy.imageExtent = {m_depth.width, m_depth.height, 1};
    vkCmdCopyImageToBuffer(cmd, m_depth.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, m_depthReadback.buffer, 1, &copy);
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
    return {};
}

std::vector<float> OffscreenTarget::depthReadback() const {
    std::vector<float> d(static_cast<size_t>(m_depth.width) * m_depth.height);
    if (m_depthReadback.mapped) std::memcpy(d.data(), m_depthReadback.mapped, d.size() * sizeof(float));
    return d;
}

void OffscreenTarget::recordCopy(VkCommandBuffer cmd) {
    VulkanContext::transition(cmd, m_color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                              VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    VkBufferImageCopy copy{};
    copy.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    copy.imageExtent = {m_color.width, m_color.height, 1};
    vkCmdCopyImageToBuffer(cmd, m_color.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, m_readback.buffer, 1, &copy);
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

Image OffscreenTarget::readback() const {
    Image img;
    img.width = static_cast<int>(m_color.width);
    img.height = static_cast<int>(m_color.height);
    const size_t n = static_cast<size_t>(img.width) * img.height * 4;
    img.rgba.resize(n);
    if (m_format == VK_FORMAT_R32G32B32A32_SFLOAT) {
        const float* f = static_cast<const float*>(m_readback.mapped);
        for (size_t i = 0; i < n; ++i) img.rgba[i] = static_cast<uint8_t>(std::lround(std::clamp(f[i], 0.0f, 1.0f) * 255.0f));
    } else if (m_format == VK_FORMAT_R16G16B16A16_SFLOAT) {
        // Only finite values in 0..1 matter: a table over the 64k half values is cheaper than math.
        static const std::vector<uint8_t> lut = [] {
            std::vector<uint8_t> t(65536);
            for (uint32_t h = 0; h < 65536; ++h)
                t[h] = static_cast<uint8_t>(std::lround(std::clamp(halfToFloat(static_cast<uint16_t>(h)), 0.0f, 1.0f) * 255.0f));
            return t;
        }();
        const uint16_t* f = static_cast<const uint16_t*>(m_readback.mapped);
        for (size_t i = 0; i < n; ++i) img.rgba[i] = lut[f[i]];
    } else {
        std::memcpy(img.rgba.data(), m_readback.mapped, n);
    }
    return img;
}

}  // namespace by
