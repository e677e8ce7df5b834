#include "renderers/overlay_renderer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "renderers/pipeline.h"
#include "renderers/render_types.h"
#include "renderers/shaders.h"
#include "renderers/vulkan_context.h"

namespace by {

struct OverlayRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkSampler sampler = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkDescriptorSet set = VK_NULL_HANDLE;
    GpuImage atlas;
    GpuBuffer vertices, indices, base;
    std::unique_ptr<OffscreenTarget> target;
    double ms = 0;

    ~Impl() {
        if (!ctx) return;
        VkDevice d = ctx->device();
        vkDeviceWaitIdle(d);
        target.reset();
        for (GpuBuffer* b : {&vertices, &indices, &base}) ctx->destroy(*b);
        ctx->destroy(atlas);
        if (pool) vkDestroyDescriptorPool(d, pool, nullptr);
        if (sampler) vkDestroySampler(d, sampler, nullptr);
        if (pipeline) vkDestroyPipeline(d, pipeline, nullptr);
        if (layout) vkDestroyPipelineLayout(d, layout, nullptr);
        if (setLayout) vkDestroyDescriptorSetLayout(d, setLayout, nullptr);
    }

    // Grows a host-visible buffer to at least `bytes` (contents not kept).
    Status ensure(GpuBuffer& b, size_t bytes, VkBufferUsageFlags usage) {
        if (b.buffer && b.size >= bytes) return {};
        ctx->destroy(b);
        auto r = ctx->createBuffer(std::max<size_t>(bytes, 256) + bytes / 2, usage);
        if (!r) return std::move(r.error());
        b = *r;
        return {};
    }
};

OverlayRenderer::OverlayRenderer() : m(std::make_unique<Impl>()) {}
OverlayRenderer::~OverlayRenderer() = default;
double OverlayRenderer::lastMs() const { return m->ms; }

Result<std::unique_ptr<OverlayRenderer>> OverlayRenderer::create(std::shared_ptr<VulkanContext> ctx) {
    std::unique_ptr<OverlayRenderer> r(new OverlayRenderer());
    Impl& s = *r->m;
    s.ctx = ctx;
    auto sl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1);
    if (!sl) return std::move(sl.error());
    s.setLayout = *sl;
    auto pl = createPipelineLayout(*ctx, s.setLayout, 16);
    if (!pl) return std::move(pl.error());
    s.layout = *pl;
    GraphicsPipelineDesc d;
    d.vert = shaders::k_overlay_vert, d.vertBytes = sizeof shaders::k_overlay_vert;
    d.frag = shaders::k_overlay_frag, d.fragBytes = sizeof shaders::k_overlay_frag;
    d.bindings = {{0, sizeof(OverlayVertex), VK_VERTEX_INPUT_RATE_VERTEX}};
    d.attributes = {{0, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(OverlayVertex, x)},
                    {1, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(OverlayVertex, u)},
                    {2, 0, VK_FORMAT_R8G8B8A8_UNORM, offsetof(OverlayVertex, rgba)}};
    d.layout = s.layout;
    d.depth = false;
    d.alphaBlend = true;
    auto p = createGraphicsPipeline(*ctx, d);
    if (!p) return std::move(p.error());
    s.pipeline = *p;
    // Nearest texel: the font atlas is drawn 1:1, and the CPU reference samples the same texel.
    VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    sci.magFilter = sci.minFilter = VK_FILTER_NEAREST;
    sci.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
    if (vkCreateSampler(ctx->device(), &sci, nullptr, &s.sampler) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating the overlay sampler failed", "Vulkan");
    auto set = createSingleSet(*ctx, s.setLayout, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, &s.pool);
    if (!set) return std::move(set.error());
    s.set = *set;
    s.target = std::make_unique<OffscreenTarget>(ctx, VK_FORMAT_R8G8B8A8_UNORM);
    // Until an atlas is set, every draw samples white: plain coloured shapes still show.
    Image white;
    white.width = white.height = 1;
    white.rgba = {255, 255, 255, 255};
    BY_TRY(r->setAtlas(white));
    return r;
}

Status OverlayRenderer::setAtlas(const Image& atlas) {
    Impl& s = *m;
    if (atlas.empty() || atlas.rgba.size() != static_cast<size_t>(atlas.width) * atlas.height * 4)
        return makeError(ErrorCode::Invalid, "the overlay atlas is empty or its pixel count does not match its size", "overlay");
    vkDeviceWaitIdle(s.ctx->device());
    auto t = s.ctx->uploadTexture(atlas);
    if (!t) return std::move(t.error());
    s.ctx->destroy(s.atlas);
    s.atlas = *t;
    VkDescriptorImageInfo ii{s.sampler, s.atlas.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = s.set;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    w.pImageInfo = &ii;
    vkUpdateDescriptorSets(s.ctx->device(), 1, &w, 0, nullptr);
    return {};
}

Result<Image> OverlayRenderer::composite(const Image& base, const OverlayDrawData& draw) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    if (base.empty() || base.rgba.size() != static_cast<size_t>(base.width) * base.height * 4)
        return makeError(ErrorCode::Invalid, "the image under the overlay is empty or its pixel count does not match its size", "overlay");
    for (uint32_t i : draw.indices)
        if (i >= draw.vertices.size()) return makeError(ErrorCode::Invalid, "an overlay index points past the vertices", "overlay");
    for (const OverlayDrawCmd& c : draw.cmds)
        if (static_cast<size_t>(c.firstIndex) + c.indexCount > draw.indices.size())
            return makeError(ErrorCode::Invalid, "an overlay draw runs past the indices", "overlay");
    BY_TRY(s.target->resize(static_cast<uint32_t>(base.width), static_cast<uint32_t>(base.height)));
    BY_TRY(s.ensure(s.base, base.rgba.size(), VK_BUFFER_USAGE_TRANSFER_SRC_BIT));
    std::memcpy(s.base.mapped, base.rgba.data(), base.rgba.size());
    if (!draw.empty()) {
        BY_TRY(s.ensure(s.vertices, draw.vertices.size() * sizeof(OverlayVertex), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT));
        BY_TRY(s.ensure(s.indices, draw.indices.size() * sizeof(uint32_t), VK_BUFFER_USAGE_INDEX_BUFFER_BIT));
        std::memcpy(s.vertices.mapped, draw.vertices.data(), draw.vertices.size() * sizeof(OverlayVertex));
        std::memcpy(s.indices.mapped, draw.indices.data(), draw.indices.size() * sizeof(uint32_t));
    }
    auto c = s.ctx->beginCommands();
    if (!c) return std::move(c.error());
    VkCommandBuffer cmd = *c;
    s.target->beginRenderingOver(cmd, s.base.buffer);
    if (!draw.empty()) {
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s.pipeline);
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s.layout, 0, 1, &s.set, 0, nullptr);
        const float vp[4] = {static_cast<float>(base.width), static_cast<float>(base.height), 0, 0};
        vkCmdPushConstants(cmd, s.layout, VK_SHADER_STAGE_ALL, 0, sizeof vp, vp);
        VkDeviceSize off = 0;
        vkCmdBindVertexBuffers(cmd, 0, 1, &s.vertices.buffer, &off);
        vkCmdBindIndexBuffer(cmd, s.indices.buffer, 0, VK_INDEX_TYPE_UINT32);
        for (const OverlayDrawCmd& dc : draw.cmds) {
            const int x0 = std::clamp(static_cast<int>(dc.clip[0]), 0, base.width);
            const int y0 = std::clamp(static_cast<int>(dc.clip[1]), 0, base.height);
            const int x1 = std::clamp(static_cast<int>(std::ceil(dc.clip[2])), 0, base.width);
            const int y1 = std::clamp(static_cast<int>(std::ceil(dc.clip[3])), 0, base.height);
            if (x1 <= x0 || y1 <= y0 || dc.indexCount == 0) continue;
            VkRect2D sc{{x0, y0}, {static_cast<uint32_t>(x1 - x0), static_cast<uint32_t>(y1 - y0)}};
            vkCmdSetScissor(cmd, 0, 1, &sc);
            vkCmdDrawIndexed(cmd, dc.indexCount, 1, dc.firstIndex, 0, 0);
        }
    }
    s.target->endRenderingAndCopy(cmd);
    BY_TRY(s.ctx->submitAndWait(cmd));
    Image img = s.target->readback();
    s.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return img;
}

Image compositeOverlayReference(const Image& base, const Image& atlas, const OverlayDrawData& draw) {
    const int W = base.width, H = base.height;
    std::vector<float> acc(base.rgba.size());
    for (size_t i = 0; i < acc.size(); ++i) acc[i] = base.rgba[i] / 255.0f;
    auto texel = [&](float u, float v, int ch) {
        if (atlas.empty()) return 1.0f;
        const int x = std::clamp(static_cast<int>(std::floor(u * atlas.width)), 0, atlas.width - 1);
        const int y = std::clamp(static_cast<int>(std::floor(v * atlas.height)), 0, atlas.height - 1);
        return atlas.rgba[(static_cast<size_t>(y) * atlas.width + x) * 4 + ch] / 255.0f;
    };
    for (const OverlayDrawCmd& dc : draw.cmds) {
        const int cx0 = std::clamp(static_cast<int>(dc.clip[0]), 0, W), cy0 = std::clamp(static_cast<int>(dc.clip[1]), 0, H);
        const int cx1 = std::clamp(static_cast<int>(std::ceil(dc.clip[2])), 0, W);
        const int cy1 = std::clamp(static_cast<int>(std::ceil(dc.clip[3])), 0, H);
        for (uint32_t t = dc.firstIndex; t + 3 <= dc.firstIndex + dc.indexCount && t + 3 <= draw.indices.size(); t += 3) {
            const OverlayVertex* v[3] = {&draw.vertices[draw.indices[t]], &draw.vertices[draw.indices[t + 1]], &draw.vertices[draw.indices[t + 2]]};
            float area = (v[1]->x - v[0]->x) * (v[2]->y - v[0]->y) - (v[1]->y - v[0]->y) * (v[2]->x - v[0]->x);
            if (area == 0) continue;
            if (area < 0) std::swap(v[1], v[2]), area = -area;
            // Top-left rule (image y down): an edge owns its pixels when it is a top edge
            // (horizontal, going right) or a left edge (going up on screen).
            bool owns[3];
            for (int e = 0; e < 3; ++e) {
                const OverlayVertex* a = v[(e + 1) % 3];
                const OverlayVertex* b = v[(e + 2) % 3];
                const float dx = b->x - a->x, dy = b->y - a->y;
                owns[e] = (dy == 0 && dx > 0) || dy < 0;
            }
            const int x0 = std::max(cx0, static_cast<int>(std::floor(std::min({v[0]->x, v[1]->x, v[2]->x}))));
            const int x1 = std::min(cx1 - 1, static_cast<int>(std::ceil(std::max({v[0]->x, v[1]->x, v[2]->x}))));
            const int y0 = std::max(cy0, static_cast<int>(std::floor(std::min({v[0]->y, v[1]->y, v[2]->y}))));
            const int y1 = std::min(cy1 - 1, static_cast<int>(std::ceil(std::max({v[0]->y, v[1]->y, v[2]->y}))));
            for (int y = y0; y <= y1; ++y)
                for (int x = x0; x <= x1; ++x) {
                    const float px = x + 0.5f, py = y + 0.5f;
                    float w[3];
                    bool inside = true;
                    for (int e = 0; e < 3; ++e) {
                        const OverlayVertex* a = v[(e + 1) % 3];
                        const OverlayVertex* b = v[(e + 2) % 3];
                        w[e] = (b->x - a->x) * (py - a->y) - (b->y - a->y) * (px - a->x);
                        if (w[e] < 0 || (w[e] == 0 && !owns[e])) inside = false;
                    }
                    if (!inside) continue;
                    for (float& k : w) k /= area;
                    const float u = w[0] * v[0]->u + w[1] * v[1]->u + w[2] * v[2]->u;
                    const float vv = w[0] * v[0]->v + w[1] * v[1]->v + w[2] * v[2]->v;
                    float col[4];
                    for (int ch = 0; ch < 4; ++ch) {
                        float c = 0;
                        for (int k = 0; k < 3; ++k) c += w[k] * static_cast<float>((v[k]->rgba >> (8 * ch)) & 0xff) / 255.0f;
                        col[ch] = c * texel(u, vv, ch);
                    }
                    float* d = &acc[(static_cast<size_t>(y) * W + x) * 4];
                    const float a = col[3];
                    for (int ch = 0; ch < 3; ++ch) d[ch] = col[ch] * a + d[ch] * (1 - a);
                    d[3] = a + d[3] * (1 - a);
                }
        }
    }
    Image out;
    out.width = W, out.height = H;
    out.rgba.resize(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) out.rgba[i] = toByte(acc[i]);
    return out;
}

}  // namespace by
