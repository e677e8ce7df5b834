#include "renderers/mesh_renderer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/thread_pool.h"
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

struct CullPush {
    Mat4 viewProj;
    float viewport[4];  // width, height
    uint32_t info[4];   // triangles, cull back faces
};
static_assert(sizeof(CullPush) == 96);

constexpr uint32_t kCullSegment = 256 * 16;  // triangles per workgroup (mesh_cull.comp)
constexpr uint32_t kDrawWords = 5;           // a VkDrawIndexedIndirectCommand

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
    // The culling pre-pass: survivors per segment and one indirect draw per segment.
    GpuBuffer kept, draws;
    uint32_t segments = 0;
    VkDescriptorPool cullPool = VK_NULL_HANDLE;
    VkDescriptorSet cullSet = VK_NULL_HANDLE;
    // For culling on the host (CPU devices only): positions and indices, and scratch for the
    // projected vertices.
    std::vector<Vec3> hostPositions;
    std::vector<uint32_t> hostIndices;
};

// mesh_cull.comp's tests on the host: writes the surviving triangles' indices, in order, to `out`
// and returns how many indices it wrote. Vertices are projected once each, then the triangles
// are tested in a few chunks in parallel (each writes at its own input offset and the chunks are
// closed up in order afterwards).
// The projected vertex the triangle tests read: one 12-byte record per vertex, so a triangle's
// three corners cost three cache lines, not nine.
struct ScreenVertex {
    float x, y;
    uint32_t ok;  // in front of the eye, finite and within +-1e6 px (else its triangles are kept)
};

// floor() by integer conversion: std::floor is a library call without SSE4.1. Valid for |v| < 2^31.
inline int fastFloor(float v) {
    const int i = static_cast<int>(v);
    return i - (v < static_cast<float>(i));
}

uint32_t cullOnHost(const GpuMesh& g, const Mat4& m, float width, float height, std::vector<ScreenVertex>& scratch, ThreadPool& pool,
                    uint32_t* out) {
    const int64_t nv = int64_t(g.hostPositions.size());
    scratch.resize(size_t(nv));
    ScreenVertex* sv = scratch.data();
    pool.parallelFor(nv, 32768, [&](int64_t begin, int64_t end) {
        const Vec3* p = g.hostPositions.data();
        for (int64_t i = begin; i < end; ++i) {
            const float x = m.m[0][0] * p[i].x + m.m[1][0] * p[i].y + m.m[2][0] * p[i].z + m.m[3][0];
            const float y = m.m[0][1] * p[i].x + m.m[1][1] * p[i].y + m.m[2][1] * p[i].z + m.m[3][1];
            const float w = m.m[0][3] * p[i].x + m.m[1][3] * p[i].y + m.m[2][3] * p[i].z + m.m[3][3];
            const float inv = 1.0f / w;
            const float sx = (x * inv * 0.5f + 0.5f) * width, sy = (y * inv * 0.5f + 0.5f) * height;
            // NaN fails every comparison, so it is not ok either.
            const bool ok = w > 0 && sx > -1e6f && sx < 1e6f && sy > -1e6f && sy < 1e6f;
            // Not ok: zeros, so that the branch-free tests below only ever see small finite values.
            sv[i] = ok ? ScreenVertex{sx, sy, 1u} : ScreenVertex{0.0f, 0.0f, 0u};
        }
    });
    const bool back = !g.doubleSided;
    const float slack = 1.0f / 64.0f;
    const uint32_t* idx = g.hostIndices.data();
    const int64_t triangles = int64_t(g.hostIndices.size() / 3);
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(pool.threadCount() * 2, triangles / 65536));
    std::vector<uint32_t> counts(size_t(chunks), 0);
    pool.parallelFor(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t t0 = triangles * c / chunks, t1 = triangles * (c + 1) / chunks;
            uint32_t* dst = out + t0 * 3;
            uint32_t n = 0;
            for (int64_t t = t0; t < t1; ++t) {
                const uint32_t a = idx[3 * t], b = idx[3 * t + 1], cc = idx[3 * t + 2];
                const ScreenVertex va = sv[a], vb = sv[b], vc = sv[cc];
                // Branch-free: the outcome is unpredictable triangle by triangle, and a wrong
                // guess costs more than every test together. Vertices not `ok` keep the triangle.
                const float lx = std::min(va.x, std::min(vb.x, vc.x)), hx = std::max(va.x, std::max(vb.x, vc.x));
                const float ly = std::min(va.y, std::min(vb.y, vc.y)), hy = std::max(va.y, std::max(vb.y, vc.y));
                const bool outside = (lx > width) | (hx < 0) | (ly > height) | (hy < 0);
                // A pixel centre i + 0.5 inside the widened box on both axes, or no sample:
                // ceil(lo - 0.5) > floor(hi - 0.5) written with floors only.
                const bool noCentre = (-fastFloor(0.5f - lx + slack) > fastFloor(hx + slack - 0.5f)) | (-fastFloor(0.5f - ly + slack) > fastFloor(hy + slack - 0.5f));
                const float area = (vb.x - va.x) * (vc.y - va.y) - (vb.y - va.y) * (vc.x - va.x);
                const float extent =
                    std::max(std::max(std::fabs(vb.x - va.x), std::fabs(vc.x - va.x)), std::max(std::fabs(vb.y - va.y), std::fabs(vc.y - va.y)));
                const bool backFacing = back & (area > 1e-3f * std::max(1.0f, extent));
                const bool drop = (va.ok & vb.ok & vc.ok) & (outside | noCentre | backFacing);
                dst[n] = a, dst[n + 1] = b, dst[n + 2] = cc;
                n += drop ? 0 : 3;
            }
            counts[size_t(c)] = n;
        }
    });
    uint32_t n = counts[0];
    for (int64_t c = 1; c < chunks; ++c) {
        const int64_t t0 = triangles * c / chunks;
        if (counts[size_t(c)] > 0) std::memmove(out + n, out + t0 * 3, counts[size_t(c)] * sizeof(uint32_t));
        n += counts[size_t(c)];
    }
    return n;
}

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
    VkDescriptorSetLayout cullSetLayout = VK_NULL_HANDLE;
    VkPipelineLayout cullLayout = VK_NULL_HANDLE;
    VkPipeline cullCompute = VK_NULL_HANDLE;
    MeshRenderer::Culling culling = MeshRenderer::Culling::Auto;
    uint64_t drawn = 0;
    std::vector<ScreenVertex> scratch;
    std::unique_ptr<ThreadPool> hostPool;  // for culling on the host, made on first use

    void releaseMeshes() {
        for (GpuMesh& g : meshes) {
            ctx->destroy(g.vertices);
            ctx->destroy(g.indices);
            ctx->destroy(g.texture);
            ctx->destroy(g.kept);
            ctx->destroy(g.draws);
            if (g.cullPool) vkDestroyDescriptorPool(ctx->device(), g.cullPool, nullptr);
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
        if (cullCompute) vkDestroyPipeline(d, cullCompute, nullptr);
        if (cullLayout) vkDestroyPipelineLayout(d, cullLayout, nullptr);
        if (cullSetLayout) vkDestroyDescriptorSetLayout(d, cullSetLayout, nullptr);
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
    auto csl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4);
    if (!csl) return std::move(csl.error());
    s.cullSetLayout = *csl;
    auto cpl = createPipelineLayout(*ctx, s.cullSetLayout, sizeof(CullPush));
    if (!cpl) return std::move(cpl.error());
    s.cullLayout = *cpl;
    auto cc = createComputePipeline(*ctx, shaders::k_mesh_cull_comp, sizeof shaders::k_mesh_cull_comp, s.cullLayout);
    if (!cc) return std::move(cc.error());
    s.cullCompute = *cc;
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
        auto vb = s.ctx->createBuffer(grp.vertices * 8 * sizeof(float), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
        if (!vb) return std::move(vb.error());
        g.vertices = *vb;
        auto ib = s.ctx->createBuffer(grp.indices * sizeof(uint32_t), VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
        if (!ib) {
            s.ctx->destroy(g.vertices);
            return std::move(ib.error());
        }
        g.indices = *ib;
        g.segments = static_cast<uint32_t>((grp.indices / 3 + kCullSegment - 1) / kCullSegment);
        auto kb = s.ctx->createBuffer(std::max<size_t>(grp.indices, 3) * sizeof(uint32_t), VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
        auto db = kb ? s.ctx->createBuffer(std::max<uint32_t>(g.segments, 1) * kDrawWords * sizeof(uint32_t),
                                           VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT)
                     : Result<GpuBuffer>(kb.error());
        if (kb) g.kept = *kb;
        if (db) g.draws = *db;
        if (!kb || !db) {
            s.meshes.push_back(g);  // released with the others
            return std::move(kb ? db.error() : kb.error());
        }
        auto cs = createSingleSet(*s.ctx, s.cullSetLayout, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4, &g.cullPool);
        if (!cs) {
            s.meshes.push_back(g);
            return std::move(cs.error());
        }
        g.cullSet = *cs;
        writeStorageBuffers(*s.ctx, g.cullSet, {g.vertices.buffer, g.indices.buffer, g.kept.buffer, g.draws.buffer});
        float* v = static_cast<float*>(g.vertices.mapped);
        uint32_t* idx = static_cast<uint32_t*>(g.indices.mapped);
        uint32_t base = 0;
        const bool keepOnHost = s.ctx->isCpuDevice();
        if (keepOnHost) {
            g.hostPositions.reserve(grp.vertices);
            g.hostIndices.reserve(grp.indices);
        }
        for (const Mesh* mesh : grp.members) {
            const size_t nv = mesh->positions.size();
            if (keepOnHost) {
                g.hostPositions.insert(g.hostPositions.end(), mesh->positions.begin(), mesh->positions.end());
                for (uint32_t k : mesh->indices) g.hostIndices.push_back(base + k);
            }
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
void MeshRenderer::setCulling(Culling mode) { m->culling = mode; }
uint64_t MeshRenderer::drawnTriangles() const { return m->drawn; }
size_t MeshRenderer::drawCount() const { return m->meshes.size(); }

Result<Image> MeshRenderer::render(const RenderView& view, std::vector<float>* viewDepth) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    BY_TRY(s.target->resize(static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height)));
    auto cmdr = s.ctx->beginCommands();
    if (!cmdr) return std::move(cmdr.error());
    VkCommandBuffer cmd = *cmdr;
    const Mat4 viewProj = view.camera.viewProjection(view.aspect());
    Culling mode = s.culling;
    if (mode == Culling::Auto) mode = s.ctx->isCpuDevice() ? Culling::Host : Culling::Device;
    if (mode == Culling::Host && !s.ctx->isCpuDevice()) mode = Culling::Device;  // no host copy kept
    if (s.meshes.empty()) mode = Culling::Off;
    std::vector<uint32_t> hostKept(mode == Culling::Host ? s.meshes.size() : 0);
    s.times.cullMs = 0;
    if (mode == Culling::Host) {
        const auto tc = std::chrono::steady_clock::now();
        if (!s.hostPool) s.hostPool = std::make_unique<ThreadPool>(0);
        for (size_t i = 0; i < s.meshes.size(); ++i)
            hostKept[i] = cullOnHost(s.meshes[i], viewProj, float(view.width), float(view.height), s.scratch, *s.hostPool,
                                     static_cast<uint32_t*>(s.meshes[i].kept.mapped));
        s.times.cullMs = msSince(tc);
        VkMemoryBarrier hb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        hb.srcAccessMask = VK_ACCESS_HOST_WRITE_BIT;
        hb.dstAccessMask = VK_ACCESS_INDEX_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_VERTEX_INPUT_BIT, 0, 1, &hb, 0, nullptr, 0, nullptr);
    }
    const bool cull = mode == Culling::Device;
    if (cull) {
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.cullCompute);
        for (const GpuMesh& g : s.meshes) {
            if (g.segments == 0) continue;
            CullPush cp{viewProj, {float(view.width), float(view.height), 0, 0}, {g.indexCount / 3, g.doubleSided ? 0u : 1u, 0, 0}};
            vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.cullLayout, 0, 1, &g.cullSet, 0, nullptr);
            vkCmdPushConstants(cmd, s.cullLayout, VK_SHADER_STAGE_ALL, 0, sizeof cp, &cp);
            vkCmdDispatch(cmd, g.segments, 1, 1);
        }
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_INDIRECT_COMMAND_READ_BIT | VK_ACCESS_INDEX_READ_BIT | VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT | VK_PIPELINE_STAGE_VERTEX_INPUT_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0,
                             nullptr, 0, nullptr);
    }
    const float clear[4] = {view.background.x, view.background.y, view.background.z, view.background.w};
    s.target->beginRendering(cmd, clear, true);
    VkPipeline bound = VK_NULL_HANDLE;
    MeshPush push;
    push.viewProj = viewProj;
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
        if (mode == Culling::Host) {
            const size_t gi = size_t(&g - s.meshes.data());
            vkCmdBindIndexBuffer(cmd, g.kept.buffer, 0, VK_INDEX_TYPE_UINT32);
            if (hostKept[gi] > 0) vkCmdDrawIndexed(cmd, hostKept[gi], 1, 0, 0, 0);
        } else if (cull) {
            // One draw per segment, in order: the survivors keep the full draw's sequence.
            vkCmdBindIndexBuffer(cmd, g.kept.buffer, 0, VK_INDEX_TYPE_UINT32);
            for (uint32_t seg = 0; seg < g.segments; ++seg)
                vkCmdDrawIndexedIndirect(cmd, g.draws.buffer, VkDeviceSize(seg) * kDrawWords * sizeof(uint32_t), 1, 0);
        } else {
            vkCmdBindIndexBuffer(cmd, g.indices.buffer, 0, VK_INDEX_TYPE_UINT32);
            vkCmdDrawIndexed(cmd, g.indexCount, 1, 0, 0, 0);
        }
    }
    s.target->endRendering(cmd);
    BY_TRY(s.ctx->submitAndWait(cmd));
    s.drawn = 0;
    for (const GpuMesh& g : s.meshes) {
        if (mode == Culling::Host) {
            s.drawn += hostKept[size_t(&g - s.meshes.data())] / 3;
            continue;
        }
        if (!cull) {
            s.drawn += g.indexCount / 3;
            continue;
        }
        const uint32_t* d = static_cast<const uint32_t*>(g.draws.mapped);
        for (uint32_t seg = 0; seg < g.segments; ++seg) s.drawn += d[seg * kDrawWords] / 3;
    }
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
