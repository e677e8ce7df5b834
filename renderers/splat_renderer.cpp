#include "renderers/splat_renderer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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

struct TilePush {
    Vec4 background;
    uint32_t size[4];   // width, height, tiles across, tiles in all
    uint32_t flags[4];  // x: 1 when the pixels buffer holds an underlay (colour, then view depth)
};

constexpr int kTile = 8;          // pixels per tile side; splat_tiles.comp's local size
constexpr size_t kProjVec4s = 4;  // vec4s per projected splat (splat_project.comp)

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

bool isQuads(SplatMethod m) { return m != SplatMethod::Tiles; }

}  // namespace

const char* splatMethodName(SplatMethod m) {
    switch (m) {
    case SplatMethod::Tiles: return "tiles (compute, front to back)";
    case SplatMethod::QuadsRgba8: return "quads into RGBA8";
    case SplatMethod::QuadsRgba16f: return "quads into RGBA16F";
    case SplatMethod::QuadsRgba32f: return "quads into RGBA32F";
    }
    return "?";
}

struct SplatRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    SplatMethod method = SplatMethod::Tiles;
    bool sharedTiles = false;
    int maxShDegree = -1;
    VkDescriptorSetLayout projectSetLayout = VK_NULL_HANDLE, drawSetLayout = VK_NULL_HANDLE;
    VkPipelineLayout projectLayout = VK_NULL_HANDLE, drawLayout = VK_NULL_HANDLE;
    VkPipeline projectPipeline = VK_NULL_HANDLE, drawPipeline = VK_NULL_HANDLE, tilePipeline = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkDescriptorSet projectSet = VK_NULL_HANDLE, drawSet = VK_NULL_HANDLE, tileSet = VK_NULL_HANDLE;
    GpuBuffer positions, covariances, sh, projected, order;
    // Tiles method: per-tile ranges, the splat lists and the RGBA8 pixels, grown as needed.
    GpuBuffer ranges, list, pixels;
    SplatCloud cloud;  // positions kept for the CPU sort
    std::unique_ptr<OffscreenTarget> target;
    SplatFrameTimes times;
    std::vector<uint16_t> rects;  // per splat: tile x0, y0, x1, y1 (x0 > x1: no tile)
    std::vector<uint32_t> counts;
    uint32_t busyTiles = 0;

    void releaseBuffers() {
        for (GpuBuffer* b : {&positions, &covariances, &sh, &projected, &order, &ranges, &list, &pixels}) ctx->destroy(*b);
        if (pool) vkDestroyDescriptorPool(ctx->device(), pool, nullptr);
        pool = VK_NULL_HANDLE;
    }
    ~Impl() {
        if (!ctx) return;
        VkDevice d = ctx->device();
        vkDeviceWaitIdle(d);
        releaseBuffers();
        target.reset();
        for (VkPipeline p : {projectPipeline, drawPipeline, tilePipeline})
            if (p) vkDestroyPipeline(d, p, nullptr);
        for (VkPipelineLayout l : {projectLayout, drawLayout})
            if (l) vkDestroyPipelineLayout(d, l, nullptr);
        for (VkDescriptorSetLayout l : {projectSetLayout, drawSetLayout})
            if (l) vkDestroyDescriptorSetLayout(d, l, nullptr);
    }

    // Grows a host-visible storage buffer to at least `bytes` (contents not kept).
    Status ensure(GpuBuffer& b, size_t bytes, bool& changed) {
        if (b.buffer && b.size >= bytes) return {};
        ctx->destroy(b);
        auto r = ctx->createBuffer(std::max<size_t>(bytes, 64) + bytes / 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
        if (!r) return std::move(r.error());
        b = *r;
        changed = true;
        return {};
    }

    void writeTileSet() { writeStorageBuffers(*ctx, tileSet, {projected.buffer, ranges.buffer, list.buffer, pixels.buffer}); }

    // Front-to-back lists of the splats whose footprint box touches each tile: a counting sort by
    // tile over the depth order, so each list keeps that order. Reads the projection on the host.
    // With `under` (colour words then depth floats, 2 * width * height words) every pixel starts
    // as the underlay instead of the background.
    Status binTiles(const std::vector<uint32_t>& sorted, int width, int height, int tilesX, int tilesY, uint32_t background,
                    const std::vector<uint32_t>* under = nullptr) {
        const size_t n = cloud.size();
        const float* proj = static_cast<const float*>(projected.mapped);
        rects.resize(n * 4);
        const float inv = 1.0f / kTile;
        for (size_t i = 0; i < n; ++i) {  // in index order: the projected buffer is read sequentially
            const float* g = proj + i * kProjVec4s * 4;
            uint16_t* r = &rects[i * 4];
            if (!(g[11] > 0)) {  // minor ratio 0: culled
                r[0] = 1, r[2] = 0;
                continue;
            }
            const float cx = g[0], cy = g[1], hw = g[12], hh = g[13];
            r[0] = static_cast<uint16_t>(std::clamp(static_cast<int>((cx - hw) * inv), 0, tilesX - 1));
            r[1] = static_cast<uint16_t>(std::clamp(static_cast<int>((cy - hh) * inv), 0, tilesY - 1));
            r[2] = static_cast<uint16_t>(std::clamp(static_cast<int>((cx + hw) * inv), 0, tilesX - 1));
            r[3] = static_cast<uint16_t>(std::clamp(static_cast<int>((cy + hh) * inv), 0, tilesY - 1));
            if (cx + hw < 0 || cy + hh < 0 || cx - hw > static_cast<float>(width) || cy - hh > static_cast<float>(height))
                r[0] = 1, r[2] = 0;
        }
        const size_t tiles = static_cast<size_t>(tilesX) * tilesY;
        counts.assign(tiles + 1, 0);
        size_t total = 0;
        for (size_t i = 0; i < n; ++i) {
            const uint16_t* r = &rects[i * 4];
            if (r[0] > r[2]) continue;
            for (int y = r[1]; y <= r[3]; ++y)
                for (int x = r[0]; x <= r[2]; ++x) ++counts[static_cast<size_t>(y) * tilesX + x + 1];
            total += static_cast<size_t>(r[2] - r[0] + 1) * (r[3] - r[1] + 1);
        }
        for (size_t t = 0; t < tiles; ++t) counts[t + 1] += counts[t];
        bool changed = false;
        BY_TRY(ensure(ranges, (2 * tiles + 1) * sizeof(uint32_t), changed));
        BY_TRY(ensure(list, std::max<size_t>(total, 1) * sizeof(uint32_t), changed));
        BY_TRY(ensure(pixels, static_cast<size_t>(width) * height * 4 * (under ? 2 : 1), changed));
        if (changed) writeTileSet();
        if (under) std::memcpy(pixels.mapped, under->data(), under->size() * sizeof(uint32_t));
        std::memcpy(ranges.mapped, counts.data(), (tiles + 1) * sizeof(uint32_t));
        // Busy tiles are dispatched; the rest of the image is the background, written here.
        uint32_t* busy = static_cast<uint32_t*>(ranges.mapped) + tiles + 1;
        uint32_t* px = static_cast<uint32_t*>(pixels.mapped);
        busyTiles = 0;
        for (size_t t = 0; t < tiles; ++t) {
            if (counts[t + 1] > counts[t]) {
                busy[busyTiles++] = static_cast<uint32_t>(t);
                continue;
            }
            if (under) continue;  // the underlay is already there
            const int tx = static_cast<int>(t % static_cast<size_t>(tilesX)) * kTile, ty = static_cast<int>(t / static_cast<size_t>(tilesX)) * kTile;
            for (int y = ty; y < std::min(ty + kTile, height); ++y)
                std::fill(px + static_cast<size_t>(y) * width + tx, px + static_cast<size_t>(y) * width + std::min(tx + kTile, width), background);
        }
        uint32_t* out = static_cast<uint32_t*>(list.mapped);
        // counts[t] is now the next free slot of tile t; walk near to far.
        for (size_t k = sorted.size(); k-- > 0;) {
            const uint32_t idx = sorted[k];
            const uint16_t* r = &rects[static_cast<size_t>(idx) * 4];
            if (r[0] > r[2]) continue;
            for (int y = r[1]; y <= r[3]; ++y)
                for (int x = r[0]; x <= r[2]; ++x) out[counts[static_cast<size_t>(y) * tilesX + x]++] = idx;
        }
        times.tileEntries = total;
        return {};
    }
};

SplatRenderer::SplatRenderer() : m(std::make_unique<Impl>()) {}
SplatRenderer::~SplatRenderer() = default;
const SplatFrameTimes& SplatRenderer::lastTimes() const { return m->times; }
void SplatRenderer::setMaxShDegree(int degree) { m->maxShDegree = degree; }
size_t SplatRenderer::splatCount() const { return m->cloud.size(); }
SplatMethod SplatRenderer::method() const { return m->method; }

bool SplatRenderer::sharesAcrossSubgroups() const { return m->sharedTiles; }

Result<std::unique_ptr<SplatRenderer>> SplatRenderer::create(std::shared_ptr<VulkanContext> ctx, SplatMethod method, bool subgroupSharing) {
    std::unique_ptr<SplatRenderer> r(new SplatRenderer());
    Impl& s = *r->m;
    s.ctx = ctx;
    s.method = method;
    auto psl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4);
    if (!psl) return std::move(psl.error());
    s.projectSetLayout = *psl;
    auto dsl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2);
    if (!dsl) return std::move(dsl.error());
    s.drawSetLayout = *dsl;
    // The tile pass has the same shape (4 storage buffers, a push block) as the projection.
    auto pl = createPipelineLayout(*ctx, s.projectSetLayout, sizeof(ProjectPush));
    if (!pl) return std::move(pl.error());
    s.projectLayout = *pl;
    auto dl = createPipelineLayout(*ctx, s.drawSetLayout, 16);
    if (!dl) return std::move(dl.error());
    s.drawLayout = *dl;
    auto cp = createComputePipeline(*ctx, shaders::k_splat_project_comp, sizeof shaders::k_splat_project_comp, s.projectLayout);
    if (!cp) return std::move(cp.error());
    s.projectPipeline = *cp;
    if (!isQuads(method)) {
        // Splat data shared across a subgroup where shuffles and votes exist (several times faster
        // on a CPU device); the plain tile shader elsewhere. Both give the same image.
        const bool shared = subgroupSharing && ctx->hasComputeSubgroupShuffle() && ctx->hasComputeSubgroupVote();
        s.sharedTiles = shared;
        auto tp = shared ? createComputePipeline(*ctx, shaders::k_splat_tiles_shared_comp, sizeof shaders::k_splat_tiles_shared_comp, s.projectLayout)
                         : createComputePipeline(*ctx, shaders::k_splat_tiles_comp, sizeof shaders::k_splat_tiles_comp, s.projectLayout);
        if (!tp) return std::move(tp.error());
        s.tilePipeline = *tp;
        return r;
    }
    GraphicsPipelineDesc d;
    d.vert = shaders::k_splat_vert, d.vertBytes = sizeof shaders::k_splat_vert;
    d.frag = shaders::k_splat_frag, d.fragBytes = sizeof shaders::k_splat_frag;
    d.layout = s.drawLayout;
    const VkFormat format = method == SplatMethod::QuadsRgba32f   ? VK_FORMAT_R32G32B32A32_SFLOAT
                            : method == SplatMethod::QuadsRgba16f ? VK_FORMAT_R16G16B16A16_SFLOAT
                                                                  : VK_FORMAT_R8G8B8A8_UNORM;
    d.colorFormat = format;
    d.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP;
    d.depth = false;
    d.premultipliedBlend = true;
    auto gp = createGraphicsPipeline(*ctx, d);
    if (!gp) return std::move(gp.error());
    s.drawPipeline = *gp;
    s.target = std::make_unique<OffscreenTarget>(ctx, format);
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
    BY_TRY(mk(s.projected, n * kProjVec4s * 16));
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

    VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 10};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.maxSets = 3;
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &ps;
    if (vkCreateDescriptorPool(s.ctx->device(), &pci, nullptr, &s.pool) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "creating a descriptor pool failed", "Vulkan");
    VkDescriptorSetLayout layouts[3] = {s.projectSetLayout, s.drawSetLayout, s.projectSetLayout};
    VkDescriptorSet sets[3];
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = s.pool;
    ai.descriptorSetCount = 3;
    ai.pSetLayouts = layouts;
    if (vkAllocateDescriptorSets(s.ctx->device(), &ai, sets) != VK_SUCCESS)
        return makeError(ErrorCode::Internal, "allocating descriptor sets failed", "Vulkan");
    s.projectSet = sets[0], s.drawSet = sets[1], s.tileSet = sets[2];
    writeStorageBuffers(*s.ctx, s.projectSet, {s.positions.buffer, s.covariances.buffer, s.sh.buffer, s.projected.buffer});
    writeStorageBuffers(*s.ctx, s.drawSet, {s.projected.buffer, s.order.buffer});
    return {};
}

Result<Image> SplatRenderer::render(const RenderView& view, const SplatUnderlay* underlay) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    if (view.width <= 0 || view.height <= 0 || view.width > 16384 || view.height > 16384)
        return makeError(ErrorCode::Invalid,
                         "image size " + std::to_string(view.width) + "x" + std::to_string(view.height) + " is out of range (1..16384)");
    std::vector<uint32_t> under;
    if (underlay) {
        if (isQuads(s.method))
            return makeError(ErrorCode::Unsupported, "compositing splats over a mesh needs the tile method", "splat renderer");
        const size_t px = static_cast<size_t>(view.width) * view.height;
        if (!underlay->color || !underlay->viewDepth || underlay->color->width != view.width || underlay->color->height != view.height ||
            underlay->color->rgba.size() != px * 4 || underlay->viewDepth->size() != px)
            return makeError(ErrorCode::Invalid, "the underlay's colour or depth does not match the view size", "splat renderer");
        under.resize(px * 2);
        std::memcpy(under.data(), underlay->color->rgba.data(), px * 4);
        std::memcpy(under.data() + px, underlay->viewDepth->data(), px * 4);
        if (s.cloud.size() == 0) {
            s.times = SplatFrameTimes{};
            s.times.totalMs = s.times.renderMs = msSince(t0);
            return *underlay->color;
        }
    }
    if (isQuads(s.method)) BY_TRY(s.target->resize(static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height)));
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
        const int degree = s.maxShDegree < 0 ? s.cloud.shDegree : std::min(s.maxShDegree, s.cloud.shDegree);
        push.shInfo[0] = degree, push.shInfo[1] = shCoeffCount(s.cloud.shDegree), push.shInfo[2] = push.shInfo[3] = 0;
        vkCmdBindPipeline(projectCmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.projectPipeline);
        vkCmdBindDescriptorSets(projectCmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.projectLayout, 0, 1, &s.projectSet, 0, nullptr);
        vkCmdPushConstants(projectCmd, s.projectLayout, VK_SHADER_STAGE_ALL, 0, sizeof push, &push);
        vkCmdDispatch(projectCmd, (n + 255) / 256, 1, 1);
        // The tile method reads the projection on the host to bin it.
        VkMemoryBarrier hb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        hb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        hb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(projectCmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &hb, 0, nullptr, 0,
                             nullptr);
        auto fence = s.ctx->submit(projectCmd);
        if (!fence) {
            sortDone.wait();
            return std::move(fence.error());
        }
        projectFence = *fence;
    }
    s.times.sortMs = sortDone.get();

    if (!isQuads(s.method)) {
        const int tilesX = (view.width + kTile - 1) / kTile, tilesY = (view.height + kTile - 1) / kTile;
        if (projectFence) BY_TRY(s.ctx->waitAndFree(projectFence, projectCmd));
        const auto tb = std::chrono::steady_clock::now();
        if (n == 0) {  // no cloud (and no descriptor sets): the background alone
            Image img;
            img.width = view.width, img.height = view.height;
            img.rgba.resize(static_cast<size_t>(view.width) * view.height * 4);
            const uint8_t bg[4] = {toByte(view.background.x), toByte(view.background.y), toByte(view.background.z), toByte(view.background.w)};
            for (size_t i = 0; i < img.rgba.size(); i += 4) std::memcpy(&img.rgba[i], bg, 4);
            s.times = SplatFrameTimes{};
            s.times.totalMs = s.times.renderMs = msSince(t0);
            return img;
        }
        const uint8_t bg[4] = {toByte(view.background.x), toByte(view.background.y), toByte(view.background.z), toByte(view.background.w)};
        uint32_t bgWord;
        std::memcpy(&bgWord, bg, 4);
        BY_TRY(s.binTiles(sorted, view.width, view.height, tilesX, tilesY, bgWord, underlay ? &under : nullptr));
        s.times.binMs = msSince(tb);
        auto c = s.ctx->beginCommands();
        if (!c) return std::move(c.error());
        VkCommandBuffer cmd = *c;
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_HOST_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
        TilePush tp{view.background,
                    {static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height), static_cast<uint32_t>(tilesX),
                     static_cast<uint32_t>(tilesX * tilesY)},
                    {underlay ? 1u : 0u, 0, 0, 0}};
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.tilePipeline);
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.projectLayout, 0, 1, &s.tileSet, 0, nullptr);
        vkCmdPushConstants(cmd, s.projectLayout, VK_SHADER_STAGE_ALL, 0, sizeof tp, &tp);
        if (s.busyTiles > 0) vkCmdDispatch(cmd, s.busyTiles, 1, 1);
        VkMemoryBarrier rb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        rb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        rb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &rb, 0, nullptr, 0, nullptr);
        BY_TRY(s.ctx->submitAndWait(cmd));
        s.times.renderMs = msSince(t0);
        // The pixels are already RGBA8 in host-visible memory: readback is one copy.
        const auto tr = std::chrono::steady_clock::now();
        Image img;
        img.width = view.width, img.height = view.height;
        img.rgba.resize(static_cast<size_t>(view.width) * view.height * 4);
        std::memcpy(img.rgba.data(), s.pixels.mapped, img.rgba.size());
        s.times.readbackMs = msSince(tr);
        s.times.totalMs = msSince(t0);
        return img;
    }

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
        vkCmdDraw(cmd, 4, n, 0, 0);
    }
    s.target->endRendering(cmd);
    if (projectFence) BY_TRY(s.ctx->waitAndFree(projectFence, projectCmd));
    BY_TRY(s.ctx->submitAndWait(cmd));
    s.times.renderMs = msSince(t0);
    // The copy out goes in its own submission so render and readback times can be told apart.
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

}  // namespace by
