#include "renderers/baked_nerf_renderer.h"

#include "renderers/pipeline.h"
#include "renderers/shaders.h"
#include "renderers/vulkan_context.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace by {

namespace {

struct BakedPush {
    Mat4 viewProj;
    Vec4 eye;
};
static_assert(sizeof(BakedPush) == 80);

// The head of the shader's Mlp buffer: layer count, direction frame, then in/out widths and data
// offsets per layer.
constexpr size_t kMlpHeaderInts = 2 + 3 * BakedNerf::kMaxLayers;
static_assert(kMlpHeaderInts == 26, "baked_nerf_mlp16.frag skips 26 header words");
// The uniform-block view of the buffer (Vulkan guarantees uniform ranges of 16 KB).
constexpr size_t kUniformBytes = 16384;

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct GpuShape {
    GpuBuffer vertices, indices;
    uint32_t indexCount = 0;
    GpuImage features[2];
    VkDescriptorSet set = VK_NULL_HANDLE;
};

} // namespace

struct BakedNerfRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;   // any MLP within the limits
    VkPipeline pipeline16 = VK_NULL_HANDLE; // MobileNeRF's own 11 -> 16 -> 16 -> 3
    VkPipeline bound = VK_NULL_HANDLE;      // the one setScene() chose
    VkSampler sampler = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    GpuBuffer mlp;
    std::vector<GpuShape> shapes;
    std::unique_ptr<OffscreenTarget> target;
    BakedNerfFrameTimes times;

    void releaseScene() {
        for (GpuShape& g : shapes) {
            ctx->destroy(g.vertices);
            ctx->destroy(g.indices);
            ctx->destroy(g.features[0]);
            ctx->destroy(g.features[1]);
        }
        shapes.clear();
        ctx->destroy(mlp);
        if (pool) vkDestroyDescriptorPool(ctx->device(), pool, nullptr);
        pool = VK_NULL_HANDLE;
    }
    ~Impl() {
        if (!ctx) return;
        vkDeviceWaitIdle(ctx->device());
        releaseScene();
        target.reset();
        VkDevice d = ctx->device();
        if (sampler) vkDestroySampler(d, sampler, nullptr);
        if (pipeline) vkDestroyPipeline(d, pipeline, nullptr);
        if (pipeline16) vkDestroyPipeline(d, pipeline16, nullptr);
        if (layout) vkDestroyPipelineLayout(d, layout, nullptr);
        if (setLayout) vkDestroyDescriptorSetLayout(d, setLayout, nullptr);
    }
};

BakedNerfRenderer::BakedNerfRenderer() : m(std::make_unique<Impl>()) {}
BakedNerfRenderer::~BakedNerfRenderer() = default;

Result<std::unique_ptr<BakedNerfRenderer>> BakedNerfRenderer::create(std::shared_ptr<VulkanContext> ctx) {
    std::unique_ptr<BakedNerfRenderer> r(new BakedNerfRenderer());
    Impl& s = *r->m;
    s.ctx = ctx;
    // Two feature textures and the MLP's weights: two types, so not pipeline.h's one-type layout.
    VkDescriptorSetLayoutBinding b[4] = {
        {0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr},
        {1, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr},
        {2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr},
        {3, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr}};
    VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    lci.bindingCount = 4;
    lci.pBindings = b;
    if (vkCreateDescriptorSetLayout(ctx->device(), &lci, nullptr, &s.setLayout) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a descriptor set layout failed", "Vulkan");
    auto pl = createPipelineLayout(*ctx, s.setLayout, sizeof(BakedPush));
    if (!pl) return std::move(pl.error());
    s.layout = *pl;
    GraphicsPipelineDesc d;
    d.vert = shaders::k_baked_nerf_vert, d.vertBytes = sizeof shaders::k_baked_nerf_vert;
    d.frag = shaders::k_baked_nerf_frag, d.fragBytes = sizeof shaders::k_baked_nerf_frag;
    d.bindings = {{0, 5 * sizeof(float), VK_VERTEX_INPUT_RATE_VERTEX}};
    d.attributes = {{0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
                    {1, 0, VK_FORMAT_R32G32_SFLOAT, 3 * sizeof(float)}};
    d.layout = s.layout;
    d.colorFormat = VK_FORMAT_R8G8B8A8_UNORM;
    // MobileNeRF's surfaces are thin sheets seen from both sides: nothing is culled.
    d.cullBackFaces = false;
    auto p = createGraphicsPipeline(*ctx, d);
    if (!p) return std::move(p.error());
    s.pipeline = *p;
    d.frag = shaders::k_baked_nerf_mlp16_frag, d.fragBytes = sizeof shaders::k_baked_nerf_mlp16_frag;
    auto p16 = createGraphicsPipeline(*ctx, d);
    if (!p16) return std::move(p16.error());
    s.pipeline16 = *p16;
    // Nearest and clamp-to-edge, as the MobileNeRF viewer samples its feature textures: features
    // of neighbouring texels may belong to different patches, so they must not be blended.
    VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    sci.magFilter = sci.minFilter = VK_FILTER_NEAREST;
    sci.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
    sci.maxLod = 0.0f;
    if (vkCreateSampler(ctx->device(), &sci, nullptr, &s.sampler) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a texture sampler failed", "Vulkan");
    s.target = std::make_unique<OffscreenTarget>(ctx, VK_FORMAT_R8G8B8A8_UNORM);
    return r;
}

Status BakedNerfRenderer::setScene(const BakedNerf& nerf) {
    Impl& s = *m;
    BY_TRY(nerf.validate());
    vkDeviceWaitIdle(s.ctx->device());
    s.releaseScene();
    const auto& L = nerf.layers;
    const bool mlp16 = L.size() == 3 && L[0].in == 11 && L[0].out == 16 && L[1].out == 16 && L[2].out == 3;
    s.bound = mlp16 ? s.pipeline16 : s.pipeline;

    // The MLP: a header of ints, then each layer's weights [out][in] and bias [out] as floats.
    std::vector<float> data;
    int32_t header[kMlpHeaderInts] = {};
    header[0] = static_cast<int32_t>(nerf.layers.size());
    header[1] = nerf.directions == BakedNerfDirections::YUpToZUp ? 1 : 0;
    for (size_t l = 0; l < nerf.layers.size(); ++l) {
        const BakedNerfLayer& layer = nerf.layers[l];
        header[2 + l] = layer.in;
        header[2 + BakedNerf::kMaxLayers + l] = layer.out;
        header[2 + 2 * BakedNerf::kMaxLayers + l] = static_cast<int32_t>(data.size());
        data.insert(data.end(), layer.weights.begin(), layer.weights.end());
        data.insert(data.end(), layer.bias.begin(), layer.bias.end());
    }
    // At least 16 KB: the specialised shader reads the first 16 KB as a uniform block.
    const size_t bytes = sizeof header + data.size() * sizeof(float);
    auto mb = s.ctx->createBuffer(std::max<size_t>(bytes, kUniformBytes),
                                  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT);
    if (!mb) return std::move(mb.error());
    s.mlp = *mb;
    std::memcpy(s.mlp.mapped, header, sizeof header);
    std::memcpy(static_cast<char*>(s.mlp.mapped) + sizeof header, data.data(), data.size() * sizeof(float));

    const uint32_t n = static_cast<uint32_t>(nerf.shapes.size());
    VkDescriptorPoolSize ps[3] = {{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 2 * n},
                                  {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, n},
                                  {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, n}};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.maxSets = n;
    pci.poolSizeCount = 3;
    pci.pPoolSizes = ps;
    if (vkCreateDescriptorPool(s.ctx->device(), &pci, nullptr, &s.pool) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a descriptor pool failed", "Vulkan");
    for (const BakedNerfShape& shape : nerf.shapes) {
        if (shape.positions.size() > UINT32_MAX || shape.indices.size() > UINT32_MAX)
            return makeError(ErrorCode::Invalid, shape.name + " holds more than 4G vertices or indices",
                             "baked scene renderer");
        s.shapes.emplace_back();
        GpuShape& g = s.shapes.back();
        auto vb = s.ctx->createBuffer(shape.positions.size() * 5 * sizeof(float),
                                      VK_BUFFER_USAGE_VERTEX_BUFFER_BIT);
        if (!vb) return std::move(vb.error());
        g.vertices = *vb;
        auto ib =
            s.ctx->createBuffer(shape.indices.size() * sizeof(uint32_t), VK_BUFFER_USAGE_INDEX_BUFFER_BIT);
        if (!ib) return std::move(ib.error());
        g.indices = *ib;
        float* v = static_cast<float*>(g.vertices.mapped);
        for (size_t i = 0; i < shape.positions.size(); ++i) {
            const Vec3 p = shape.positions[i];
            const Vec2 uv = shape.uvs[i];
            const float row[5] = {p.x, p.y, p.z, uv.x, uv.y};
            std::memcpy(v + i * 5, row, sizeof row);
        }
        std::memcpy(g.indices.mapped, shape.indices.data(), shape.indices.size() * sizeof(uint32_t));
        g.indexCount = static_cast<uint32_t>(shape.indices.size());
        for (int k = 0; k < 2; ++k) {
            auto t = s.ctx->uploadTexture(*shape.features[k]);
            if (!t) return std::move(t.error());
            g.features[k] = *t;
        }
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = s.pool;
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &s.setLayout;
        if (vkAllocateDescriptorSets(s.ctx->device(), &ai, &g.set) != VK_SUCCESS)
            return makeError(ErrorCode::Internal, "allocating a descriptor set failed", "Vulkan");
        VkDescriptorImageInfo ii[2] = {
            {s.sampler, g.features[0].view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
            {s.sampler, g.features[1].view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}};
        VkDescriptorBufferInfo bi{s.mlp.buffer, 0, VK_WHOLE_SIZE};
        VkDescriptorBufferInfo ui{s.mlp.buffer, 0, kUniformBytes};
        VkWriteDescriptorSet w[4] = {};
        for (uint32_t k = 0; k < 4; ++k) {
            w[k].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
            w[k].dstSet = g.set;
            w[k].dstBinding = k;
            w[k].descriptorCount = 1;
            w[k].descriptorType = k < 2    ? VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER
                                  : k == 2 ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                                           : VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
            if (k < 2)
                w[k].pImageInfo = &ii[k];
            else
                w[k].pBufferInfo = k == 2 ? &bi : &ui;
        }
        vkUpdateDescriptorSets(s.ctx->device(), 4, w, 0, nullptr);
    }
    return {};
}

const BakedNerfFrameTimes& BakedNerfRenderer::lastTimes() const {
    return m->times;
}

Result<Image> BakedNerfRenderer::render(const RenderView& view) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    BY_TRY(s.target->resize(static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height)));
    auto cmdr = s.ctx->beginCommands();
    if (!cmdr) return std::move(cmdr.error());
    VkCommandBuffer cmd = *cmdr;
    const float clear[4] = {view.background.x, view.background.y, view.background.z, view.background.w};
    s.target->beginRendering(cmd, clear, true);
    BakedPush push;
    push.viewProj = view.camera.viewProjection(view.aspect());
    push.eye = {view.camera.eye.x, view.camera.eye.y, view.camera.eye.z, 1};
    if (!s.shapes.empty()) {
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s.bound);
        vkCmdPushConstants(cmd, s.layout, VK_SHADER_STAGE_ALL, 0, sizeof push, &push);
    }
    for (const GpuShape& g : s.shapes) {
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s.layout, 0, 1, &g.set, 0, nullptr);
        VkDeviceSize off = 0;
        vkCmdBindVertexBuffers(cmd, 0, 1, &g.vertices.buffer, &off);
        vkCmdBindIndexBuffer(cmd, g.indices.buffer, 0, VK_INDEX_TYPE_UINT32);
        vkCmdDrawIndexed(cmd, g.indexCount, 1, 0, 0, 0);
    }
    s.target->endRendering(cmd);
    BY_TRY(s.ctx->submitAndWait(cmd));
    s.times.renderMs = msSince(t0);
    const auto tr = std::chrono::steady_clock::now();
    auto cc = s.ctx->beginCommands();
    if (!cc) return std::move(cc.error());
    s.target->recordCopy(*cc);
    BY_TRY(s.ctx->submitAndWait(*cc));
    Image img = s.target->readback();
    s.times.readbackMs = msSince(tr);
    s.times.totalMs = msSince(t0);
    return img;
}

} // namespace by
