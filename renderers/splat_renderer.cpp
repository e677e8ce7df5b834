#include "renderers/splat_renderer.h"

#include <chrono>
#include <cstring>
#include <future>

#include "renderers/pipeline.h"
#include "renderers/shaders.h"
#include "renderers/splat_projection.h"
#include "renderers/vulkan_context.h"

namespace by {

namespace {

struct ProjectPush {
    Mat4 view;
    Vec4 eye;
    Vec4 focal;   // fx, fy, width, height
    Vec4 params;  // tanHalfX, tanHalfY, near, count
    int32_t shInfo[4];
};
static_assert(sizeof(ProjectPush) == 128);

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct SplatRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    VkDescriptorSetLayout projectSetLayout = VK_NULL_HANDLE, drawSetLayout = VK_NULL_HANDLE;
    VkPipelineLayout projectLayout = VK_NULL_HANDLE, drawLayout = VK_NULL_HANDLE;
    VkPipeline projectPipeline = VK_NULL_HANDLE, drawPipeline = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkDescriptorSet projectSet = VK_NULL_HANDLE, drawSet = VK_NULL_HANDLE;
    GpuBuffer positions, covariances, sh, projected, order;
    SplatCloud cloud;  // positions kept for the CPU sort
    std::unique_ptr<OffscreenTarget> target;
    SplatFrameTimes times;

    void releaseBuffers() {
        for (GpuBuffer* b : {&positions, &covariances, &sh, &projected, &order}) ctx->destroy(*b);
        if (pool) vkDestroyDescriptorPool(ctx->device(), pool, nullptr);
        pool = VK_NULL_HANDLE;
    }
    ~Impl() {
        if (!ctx) return;
        VkDevice d = ctx->device();
        vkDeviceWaitIdle(d);
        releaseBuffers();
        target.reset();
        for (VkPipeline p : {projectPipeline, drawPipeline})
            if (p) vkDestroyPipeline(d, p, nullptr);
        for (VkPipelineLayout l : {projectLayout, drawLayout})
            if (l) vkDestroyPipelineLayout(d, l, nullptr);
        for (VkDescriptorSetLayout l : {projectSetLayout, drawSetLayout})
            if (l) vkDestroyDescriptorSetLayout(d, l, nullptr);
    }
};

SplatRenderer::SplatRenderer() : m(std::make_unique<Impl>()) {}
SplatRenderer::~SplatRenderer() = default;
const SplatFrameTimes& SplatRenderer::lastTimes() const { return m->times; }

Result<std::unique_ptr<SplatRenderer>> SplatRenderer::create(std::shared_ptr<VulkanContext> ctx) {
    std::unique_ptr<SplatRenderer> r(new SplatRenderer());
    Impl& s = *r->m;
    s.ctx = ctx;
    auto psl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4);
    if (!psl) return std::move(psl.error());
    s.projectSetLayout = *psl;
    auto dsl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2);
    if (!dsl) return std::move(dsl.error());
    s.drawSetLayout = *dsl;
    auto pl = createPipelineLayout(*ctx, s.projectSetLayout, sizeof(ProjectPush));
    if (!pl) return std::move(pl.error());
    s.projectLayout = *pl;
    auto dl = createPipelineLayout(*ctx, s.drawSetLayout, 16);
    if (!dl) return std::move(dl.error());
    s.drawLayout = *dl;
    auto cp = createComputePipeline(*ctx, shaders::k_splat_project_comp, sizeof shaders::k_splat_project_comp, s.projectLayout);
    if (!cp) return std::move(cp.error());
    s.projectPipeline = *cp;
    GraphicsPipelineDesc d;
    d.vert = shaders::k_splat_vert, d.vertBytes = sizeof shaders::k_splat_vert;
    d.frag = shaders::k_splat_frag, d.fragBytes = sizeof shaders::k_splat_frag;
    d.layout = s.drawLayout;
    // Float accumulation: thousands of 8-bit blend steps would round visibly.
    d.colorFormat = VK_FORMAT_R32G32B32A32_SFLOAT;
    d.depth = false;
    d.premultipliedBlend = true;
    auto gp = createGraphicsPipeline(*ctx, d);
    if (!gp) return std::move(gp.error());
    s.drawPipeline = *gp;
    s.target = std::make_unique<OffscreenTarget>(ctx, VK_FORMAT_R32G32B32A32_SFLOAT);
    return r;
}

Status SplatRenderer::setSplats(const SplatCloud& cloud) {
    Impl& s = *m;
    vkDeviceWaitIdle(s.ctx->device());
    s.releaseBuffers();
    s.cloud = SplatCloud{};
    const size_t n = cloud.size();
    if (n == 0) return {};
    const VkBufferUsageFlags ssbo = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    auto mk = [&](GpuBuffer& b, size_t bytes) -> Status {
        auto r = s.ctx->createBuffer(bytes, ssbo);
        if (!r) return std::move(r.error());
        b = *r;
        return {};
    };
    BY_TRY(mk(s.positions, n * 16));
    BY_TRY(mk(s.covariances, n * 6 * sizeof(float)));
    BY_TRY(mk(s.sh, cloud.sh.size() * sizeof(float)));
    BY_TRY(mk(s.projected, n * 3 * 16));
    BY_TRY(mk(s.order, n * sizeof(uint32_t)));
    float* pos = static_cast<float*>(s.positions.mapped);
    float* cov = static_cast<float*>(s.covariances.mapped);
    for (size_t i = 0; i < n; ++i) {
        const Vec3 p = cloud.positions[i];
        pos[i * 4 + 0] = p.x, pos[i * 4 + 1] = p.y, pos[i * 4 + 2] = p.z;
        pos[i * 4 + 3] = sigmoid(cloud.opacityLogits[i]);
        covariance3d(cloud.logScales[i], cloud.rotations[i], cov + i * 6);
    }
    std::memcpy(s.sh.mapped, cloud.sh.data(), cloud.sh.size() * sizeof(float));
    s.cloud.shDegree = cloud.shDegree;
    s.cloud.positions = cloud.positions;

    VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 6};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.maxSets = 2;
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &ps;
    if (vkCreateDescriptorPool(s.ctx->device(), &pci, nullptr, &s.pool) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a descriptor pool failed", "Vulkan");
    VkDescriptorSetLayout layouts[2] = {s.projectSetLayout, s.drawSetLayout};
    VkDescriptorSet sets[2];
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = s.pool;
    ai.descriptorSetCount = 2;
    ai.pSetLayouts = layouts;
    if (vkAllocateDescriptorSets(s.ctx->device(), &ai, sets) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "allocating descriptor sets failed", "Vulkan");
    s.projectSet = sets[0], s.drawSet = sets[1];
    VkDescriptorBufferInfo infos[6] = {{s.positions.buffer, 0, VK_WHOLE_SIZE}, {s.covariances.buffer, 0, VK_WHOLE_SIZE},
                                       {s.sh.buffer, 0, VK_WHOLE_SIZE},        {s.projected.buffer, 0, VK_WHOLE_SIZE},
                                       {s.projected.buffer, 0, VK_WHOLE_SIZE}, {s.order.buffer, 0, VK_WHOLE_SIZE}};
    VkWriteDescriptorSet w[6];
    for (uint32_t i = 0; i < 6; ++i) {
        w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w[i].dstSet = i < 4 ? s.projectSet : s.drawSet;
        w[i].dstBinding = i < 4 ? i : i - 4;
        w[i].descriptorCount = 1;
        w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        w[i].pBufferInfo = &infos[i];
    }
    vkUpdateDescriptorSets(s.ctx->device(), 6, w, 0, nullptr);
    return {};
}

Result<Image> SplatRenderer::render(const RenderView& view) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    BY_TRY(s.target->resize(static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height)));
    const SplatFrame f = SplatFrame::from(view);
    const uint32_t n = static_cast<uint32_t>(s.cloud.size());
    // The sort runs on a worker thread while the device projects the splats.
    std::vector<uint32_t> sorted;
    std::future<double> sortDone = std::async(std::launch::async, [&] {
        const auto ts = std::chrono::steady_clock::now();
        std::vector<float> depths;
        splatDepths(s.cloud, f, depths);
        sortBackToFront(depths, sorted);
        return msSince(ts);
    });
    VkFence projectFence = VK_NULL_HANDLE;
    VkCommandBuffer projectCmd = VK_NULL_HANDLE;
    if (n > 0) {
        auto c = s.ctx->beginCommands();
        if (!c) {
            sortDone.wait();
            return std::move(c.error());
        }
        projectCmd = *c;
        ProjectPush push;
        push.view = f.view;
        push.eye = {f.eye.x, f.eye.y, f.eye.z, 1};
        push.focal = {f.fx, f.fy, f.width, f.height};
        push.params = {f.tanHalfX, f.tanHalfY, f.nearPlane, static_cast<float>(n)};
        push.shInfo[0] = s.cloud.shDegree, push.shInfo[1] = shCoeffCount(s.cloud.shDegree), push.shInfo[2] = push.shInfo[3] = 0;
        vkCmdBindPipeline(projectCmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.projectPipeline);
        vkCmdBindDescriptorSets(projectCmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.projectLayout, 0, 1, &s.projectSet, 0, nullptr);
        vkCmdPushConstants(projectCmd, s.projectLayout, VK_SHADER_STAGE_ALL, 0, sizeof push, &push);
        vkCmdDispatch(projectCmd, (n + 255) / 256, 1, 1);
        auto fence = s.ctx->submit(projectCmd);
        if (!fence) {
            sortDone.wait();
            return std::move(fence.error());
        }
        projectFence = *fence;
    }
    s.times.sortMs = sortDone.get();
    if (n > 0) std::memcpy(s.order.mapped, sorted.data(), n * sizeof(uint32_t));

    auto c = s.ctx->beginCommands();
    if (!c) return std::move(c.error());
    VkCommandBuffer cmd = *c;
    // The projection pass's writes must be visible to the vertex shader.
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_VERTEX_SHADER_BIT,
                         0, 1, &mb, 0, nullptr, 0, nullptr);
    const float clear[4] = {view.background.x, view.background.y, view.background.z, view.background.w};
    s.target->beginRendering(cmd, clear, false);
    if (n > 0) {
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s.drawPipeline);
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s.drawLayout, 0, 1, &s.drawSet, 0, nullptr);
        const float vp[4] = {f.width, f.height, 0, 0};
        vkCmdPushConstants(cmd, s.drawLayout, VK_SHADER_STAGE_ALL, 0, sizeof vp, vp);
        vkCmdDraw(cmd, 6, n, 0, 0);
    }
    s.target->endRenderingAndCopy(cmd);
    if (projectFence) BY_TRY(s.ctx->waitAndFree(projectFence, projectCmd));
    BY_TRY(s.ctx->submitAndWait(cmd));
    Image img = s.target->readback();
    s.times.totalMs = msSince(t0);
    return img;
}

}  // namespace by
