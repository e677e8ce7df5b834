#include "renderers/mesh_renderer.h"

#include <chrono>
#include <cstring>

#include "renderers/mesh_shading.h"
#include "renderers/pipeline.h"
#include "renderers/shaders.h"
#include "renderers/vulkan_context.h"

namespace by {

namespace {

struct MeshPush {
    Mat4 viewProj;
    Vec4 eye;
    Vec4 baseColor;
    Vec4 light;  // xyz direction, w: textured
};
static_assert(sizeof(MeshPush) == 112);

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct GpuMesh {
    GpuBuffer vertices, indices;
    uint32_t indexCount = 0;
    GpuImage texture;  // empty: use the white texture
    VkDescriptorSet set = VK_NULL_HANDLE;
    Vec4 baseColor;
    bool textured = false;
    bool doubleSided = true;
};

}  // namespace

struct MeshRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;      // double-sided materials
    VkPipeline cullPipeline = VK_NULL_HANDLE;  // single-sided: back faces never reach the rasteriser
    VkSampler sampler = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    GpuImage white;
    std::vector<GpuMesh> meshes;
    std::unique_ptr<OffscreenTarget> target;
    MeshFrameTimes times;

    void releaseMeshes() {
        for (GpuMesh& g : meshes) {
            ctx->destroy(g.vertices);
            ctx->destroy(g.indices);
            ctx->destroy(g.texture);
        }
        meshes.clear();
        if (pool) vkDestroyDescriptorPool(ctx->device(), pool, nullptr);
        pool = VK_NULL_HANDLE;
    }
    ~Impl() {
        if (!ctx) return;
        vkDeviceWaitIdle(ctx->device());
        releaseMeshes();
        target.reset();
        ctx->destroy(white);
        VkDevice d = ctx->device();
        if (sampler) vkDestroySampler(d, sampler, nullptr);
        if (pipeline) vkDestroyPipeline(d, pipeline, nullptr);
        if (cullPipeline) vkDestroyPipeline(d, cullPipeline, nullptr);
        if (layout) vkDestroyPipelineLayout(d, layout, nullptr);
        if (setLayout) vkDestroyDescriptorSetLayout(d, setLayout, nullptr);
    }
};

MeshRenderer::MeshRenderer() : m(std::make_unique<Impl>()) {}
MeshRenderer::~MeshRenderer() = default;

Result<std::unique_ptr<MeshRenderer>> MeshRenderer::create(std::shared_ptr<VulkanContext> ctx) {
    std::unique_ptr<MeshRenderer> r(new MeshRenderer());
    Impl& s = *r->m;
    s.ctx = ctx;
    auto sl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1);
    if (!sl) return std::move(sl.error());
    s.setLayout = *sl;
    auto pl = createPipelineLayout(*ctx, s.setLayout, sizeof(MeshPush));
    if (!pl) return std::move(pl.error());
    s.layout = *pl;
    GraphicsPipelineDesc d;
    d.vert = shaders::k_mesh_vert, d.vertBytes = sizeof shaders::k_mesh_vert;
    d.frag = shaders::k_mesh_frag, d.fragBytes = sizeof shaders::k_mesh_frag;
    d.bindings = {{0, 8 * sizeof(float), VK_VERTEX_INPUT_RATE_VERTEX}};
    d.attributes = {{0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
                    {1, 0, VK_FORMAT_R32G32B32_SFLOAT, 3 * sizeof(float)},
                    {2, 0, VK_FORMAT_R32G32_SFLOAT, 6 * sizeof(float)}};
    d.layout = s.layout;
    d.colorFormat = VK_FORMAT_R8G8B8A8_UNORM;
    auto p = createGraphicsPipeline(*ctx, d);
    if (!p) return std::move(p.error());
    s.pipeline = *p;
    d.cullBackFaces = true;
    auto pc = createGraphicsPipeline(*ctx, d);
    if (!pc) return std::move(pc.error());
    s.cullPipeline = *pc;
    // Bilinear, wrap-around, no mipmaps: what sampleBilinear() in the reference does.
    VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    sci.magFilter = sci.minFilter = VK_FILTER_LINEAR;
    sci.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_REPEAT;
    sci.maxLod = 0.0f;
    if (vkCreateSampler(ctx->device(), &sci, nullptr, &s.sampler) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a texture sampler failed", "Vulkan");
    Image white;
    white.width = white.height = 1;
    white.rgba = {255, 255, 255, 255};
    auto w = ctx->uploadTexture(white);
    if (!w) return std::move(w.error());
    s.white = *w;
    s.target = std::make_unique<OffscreenTarget>(ctx, VK_FORMAT_R8G8B8A8_UNORM);
    return r;
}

Status MeshRenderer::setMeshes(const std::vector<Mesh>& meshes) {
    Impl& s = *m;
    vkDeviceWaitIdle(s.ctx->device());
    s.releaseMeshes();
    if (meshes.empty()) return {};
    // Group meshes by material: same texture image (by identity) and the same base colour.
    struct Group {
        const Image* texture = nullptr;
        Vec4 baseColor;
        bool doubleSided = true;
        std::vector<const Mesh*> members;
        size_t vertices = 0, indices = 0;
    };
    std::vector<Group> groups;
    for (const Mesh& mesh : meshes) {
        const bool textured = mesh.material.baseColorTexture && !mesh.uvs.empty() && !mesh.material.baseColorTexture->empty();
        const Image* tex = textured ? mesh.material.baseColorTexture.get() : nullptr;
        const Vec4 c = mesh.material.baseColor;
        Group* g = nullptr;
        for (Group& cand : groups)
            if (cand.texture == tex && cand.doubleSided == mesh.material.doubleSided && cand.baseColor.x == c.x && cand.baseColor.y == c.y && cand.baseColor.z == c.z &&
                cand.baseColor.w == c.w)
                g = &cand;
        if (!g) {
            groups.push_back(Group{tex, c, mesh.material.doubleSided, {}, 0, 0});
            g = &groups.back();
        }
        g->members.push_back(&mesh);
        g->vertices += mesh.positions.size();
        g->indices += mesh.indices.size();
    }
    VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, static_cast<uint32_t>(groups.size())};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.maxSets = static_cast<uint32_t>(groups.size());
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &ps;
    if (vkCreateDescriptorPool(s.ctx->device(), &pci, nullptr, &s.pool) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a descriptor pool failed", "Vulkan");
    for (const Group& grp : groups) {
        if (grp.vertices > UINT32_MAX || grp.indices > UINT32_MAX)
            return makeError(ErrorCode::Invalid, "a material holds more than 4G vertices or indices", "mesh renderer");
        GpuMesh g;
        auto vb = s.ctx->createBuffer(grp.vertices * 8 * sizeof(float), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT);
        if (!vb) return std::move(vb.error());
        g.vertices = *vb;
        auto ib = s.ctx->createBuffer(grp.indices * sizeof(uint32_t), VK_BUFFER_USAGE_INDEX_BUFFER_BIT);
        if (!ib) {
            s.ctx->destroy(g.vertices);
            return std::move(ib.error());
        }
        g.indices = *ib;
        float* v = static_cast<float*>(g.vertices.mapped);
        uint32_t* idx = static_cast<uint32_t*>(g.indices.mapped);
        uint32_t base = 0;
        for (const Mesh* mesh : grp.members) {
            const size_t nv = mesh->positions.size();
            for (size_t i = 0; i < nv; ++i) {
                const Vec3 p = mesh->positions[i], n = mesh->normals[i];
                const Vec2 uv = mesh->uvs.empty() ? Vec2{} : mesh->uvs[i];
                const float row[8] = {p.x, p.y, p.z, n.x, n.y, n.z, uv.x, uv.y};
                std::memcpy(v, row, sizeof row);
                v += 8;
            }
            for (uint32_t k : mesh->indices) *idx++ = base + k;
            base += static_cast<uint32_t>(nv);
        }
        g.indexCount = static_cast<uint32_t>(grp.indices);
        g.baseColor = grp.baseColor;
        g.doubleSided = grp.doubleSided;
        if (grp.texture) {
            auto t = s.ctx->uploadTexture(*grp.texture);
            if (!t) {
                s.meshes.push_back(g);
                return std::move(t.error());
            }
            g.texture = *t;
            g.textured = true;
        }
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = s.pool;
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &s.setLayout;
        vkAllocateDescriptorSets(s.ctx->device(), &ai, &g.set);
        VkDescriptorImageInfo ii{s.sampler, g.textured ? g.texture.view : s.white.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
        VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w.dstSet = g.set;
        w.descriptorCount = 1;
        w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
        w.pImageInfo = &ii;
        vkUpdateDescriptorSets(s.ctx->device(), 1, &w, 0, nullptr);
        s.meshes.push_back(g);
    }
    return {};
}

const MeshFrameTimes& MeshRenderer::lastTimes() const { return m->times; }
size_t MeshRenderer::drawCount() const { return m->meshes.size(); }

Result<Image> MeshRenderer::render(const RenderView& view, std::vector<float>* viewDepth) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    BY_TRY(s.target->resize(static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height)));
    auto cmdr = s.ctx->beginCommands();
    if (!cmdr) return std::move(cmdr.error());
    VkCommandBuffer cmd = *cmdr;
    const float clear[4] = {view.background.x, view.background.y, view.background.z, view.background.w};
    s.target->beginRendering(cmd, clear, true);
    VkPipeline bound = VK_NULL_HANDLE;
    MeshPush push;
    push.viewProj = view.camera.viewProjection(view.aspect());
    push.eye = {view.camera.eye.x, view.camera.eye.y, view.camera.eye.z, 1};
    const Vec3 light = meshLightDirection(view.camera);
    for (const GpuMesh& g : s.meshes) {
        VkPipeline want = g.doubleSided ? s.pipeline : s.cullPipeline;
        if (want != bound) vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, bound = want);
        push.baseColor = g.baseColor;
        push.light = {light.x, light.y, light.z, g.textured ? 1.0f : 0.0f};
        vkCmdPushConstants(cmd, s.layout, VK_SHADER_STAGE_ALL, 0, sizeof push, &push);
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
    if (viewDepth) BY_TRY(s.target->recordDepthCopy(*cc));
    BY_TRY(s.ctx->submitAndWait(*cc));
    Image img = s.target->readback();
    if (viewDepth) {
        *viewDepth = s.target->depthReadback();
        for (float& d : *viewDepth) d = viewDepthFromNdc(view.camera, d);
    }
    s.times.readbackMs = msSince(tr);
    s.times.totalMs = msSince(t0);
    return img;
}

}  // namespace by
