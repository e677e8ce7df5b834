#include "renderers/light_field_renderer.h"

#include <chrono>
#include <cstring>

#include "renderers/pipeline.h"
#include "renderers/shaders.h"
#include "renderers/vulkan_context.h"

namespace by {

namespace {

struct Push {
    Vec4 eye, right, up, fwd;
    uint32_t info[4];  // width, height, features (a multiple of 4), layers | 256 for RGBA
};
static_assert(sizeof(Push) == 80);

constexpr int kLocal = 8;  // light_field.comp's local size in x and y

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct LightFieldRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkDescriptorSet set = VK_NULL_HANDLE;
    LightFieldRenderer::Kernel kernel = LightFieldRenderer::Kernel::Shuffles;
    GpuBuffer net, weights, pixels;
    uint32_t features = 0, layers = 0;
    bool rgba = false;
    LightFieldFrameTimes times;

    ~Impl() {
        if (!ctx) return;
        VkDevice d = ctx->device();
        vkDeviceWaitIdle(d);
        for (GpuBuffer* b : {&net, &weights, &pixels}) ctx->destroy(*b);
        if (pool) vkDestroyDescriptorPool(d, pool, nullptr);
        if (pipeline) vkDestroyPipeline(d, pipeline, nullptr);
        if (layout) vkDestroyPipelineLayout(d, layout, nullptr);
        if (setLayout) vkDestroyDescriptorSetLayout(d, setLayout, nullptr);
    }

    void writeSet() { writeStorageBuffers(*ctx, set, {net.buffer, weights.buffer, pixels.buffer}); }

    Status replace(GpuBuffer& b, size_t bytes) {
        ctx->destroy(b);
        auto r = ctx->createBuffer(std::max<size_t>(bytes, 64), VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
        if (!r) return std::move(r.error());
        b = *r;
        return {};
    }
};

LightFieldRenderer::LightFieldRenderer() : m(std::make_unique<Impl>()) {}
LightFieldRenderer::~LightFieldRenderer() = default;
const LightFieldFrameTimes& LightFieldRenderer::lastTimes() const { return m->times; }
LightFieldRenderer::Kernel LightFieldRenderer::kernel() const { return m->kernel; }

Result<std::unique_ptr<LightFieldRenderer>> LightFieldRenderer::create(std::shared_ptr<VulkanContext> ctx, Kernel kernel) {
    // light_field.comp shares weight loads across a subgroup by shuffles, in groups of 4 vec4s.
    const bool shuffles = ctx->hasComputeSubgroupShuffle() && ctx->subgroupSize() >= 4 && ctx->subgroupSize() % 4 == 0;
    if (kernel == Kernel::Auto) kernel = shuffles ? Kernel::Shuffles : Kernel::Plain;
    if (kernel == Kernel::Shuffles && !shuffles)
        return makeError(ErrorCode::Unsupported,
                         "the light-field renderer needs subgroup shuffles in compute shaders on subgroups of a multiple of 4 invocations; " +
                             ctx->deviceName() + " has subgroups of " + std::to_string(ctx->subgroupSize()) +
                             (ctx->hasComputeSubgroupShuffle() ? "" : " without shuffles"),
                         "Vulkan");
    std::unique_ptr<LightFieldRenderer> r(new LightFieldRenderer());
    Impl& s = *r->m;
    s.ctx = ctx;
    auto sl = createSetLayout(*ctx, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3);
    if (!sl) return std::move(sl.error());
    s.setLayout = *sl;
    auto pl = createPipelineLayout(*ctx, s.setLayout, sizeof(Push));
    if (!pl) return std::move(pl.error());
    s.layout = *pl;
    s.kernel = kernel;
    auto cp = kernel == Kernel::Shuffles ? createComputePipeline(*ctx, shaders::k_light_field_comp, sizeof shaders::k_light_field_comp, s.layout)
                                         : createComputePipeline(*ctx, shaders::k_light_field_plain_comp, sizeof shaders::k_light_field_plain_comp, s.layout);
    if (!cp) return std::move(cp.error());
    s.pipeline = *cp;
    auto set = createSingleSet(*ctx, s.setLayout, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3, &s.pool);
    if (!set) return std::move(set.error());
    s.set = *set;
    return r;
}

Status LightFieldRenderer::setModel(const LightFieldMlp& mlp) {
    Impl& s = *m;
    if (mlp.layers.empty() || mlp.featureCount() == 0) return makeError(ErrorCode::Invalid, "the light field has no layers");
    vkDeviceWaitIdle(s.ctx->device());
    // light_field.comp's layout: widths padded to multiples of 4 with zero weights (a padded
    // feature is 0; a padded output feeds only zero weights), offsets counted in vec4s.
    auto pad4 = [](int n) { return (n + 3) / 4 * 4; };
    std::vector<float> w;
    const int features = pad4(mlp.featureCount());
    for (int k = 0; k < features; ++k) {
        const bool real = k < mlp.featureCount();
        for (int i = 0; i < LightFieldMlp::kRayWidth; ++i) w.push_back(real ? mlp.featureWeights[static_cast<size_t>(k) * 6 + i] : 0.0f);
        w.push_back(real ? mlp.featureOffsets[static_cast<size_t>(k)] : 0.0f);
        w.push_back(real ? static_cast<float>(static_cast<int>(mlp.featureFns[static_cast<size_t>(k)])) : 0.0f);
    }
    std::vector<int32_t> net;
    for (const LightFieldLayer& L : mlp.layers) {
        const int in = pad4(L.in), out = pad4(L.out);
        net.push_back(in / 4);
        net.push_back(out / 4);
        net.push_back(static_cast<int32_t>(L.activation));
        net.push_back(static_cast<int32_t>(w.size() / 4));
        // [out/4][in/4][4 rows][4 inputs]: the 4 rows of one output vec4 side by side for each
        // input vec4, the order in which the shader's subgroup loads them.
        for (int o4 = 0; o4 < out; o4 += 4)
            for (int i4 = 0; i4 < in; i4 += 4)
                for (int o = o4; o < o4 + 4; ++o)
                    for (int i = i4; i < i4 + 4; ++i)
                        w.push_back(o < L.out && i < L.in ? L.weights[static_cast<size_t>(o) * L.in + i] : 0.0f);
        net.push_back(static_cast<int32_t>(w.size() / 4));
        for (int o = 0; o < out; ++o) w.push_back(o < L.out ? L.bias[static_cast<size_t>(o)] : 0.0f);
    }
    BY_TRY(s.replace(s.net, net.size() * sizeof(int32_t)));
    BY_TRY(s.replace(s.weights, w.size() * sizeof(float)));
    std::memcpy(s.net.mapped, net.data(), net.size() * sizeof(int32_t));
    std::memcpy(s.weights.mapped, w.data(), w.size() * sizeof(float));
    if (!s.pixels.buffer) BY_TRY(s.replace(s.pixels, 64));
    s.writeSet();
    s.features = static_cast<uint32_t>(features);
    s.layers = static_cast<uint32_t>(mlp.layers.size());
    s.rgba = mlp.outputChannels() == 4;
    return {};
}

Result<Image> LightFieldRenderer::render(const RenderView& view) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    if (view.width <= 0 || view.height <= 0 || view.width > 16384 || view.height > 16384)
        return makeError(ErrorCode::Invalid,
                         "image size " + std::to_string(view.width) + "x" + std::to_string(view.height) + " is out of range (1..16384)");
    if (s.layers == 0) return makeError(ErrorCode::Invalid, "no light field was set before rendering");
    const size_t bytes = static_cast<size_t>(view.width) * view.height * 4;
    if (s.pixels.size < bytes) {
        vkDeviceWaitIdle(s.ctx->device());
        BY_TRY(s.replace(s.pixels, bytes));
        s.writeSet();
    }
    const Camera& c = view.camera;
    const Vec3 fwd = normalize(c.target - c.eye);
    Vec3 side = normalize(cross(fwd, c.up));
    if (length(side) == 0) side = normalize(cross(fwd, Vec3{0, 0, 1}));
    const Vec3 up = cross(side, fwd);
    const float inv = 1.0f / c.focalPixels(view.height);
    Push push{{c.eye.x, c.eye.y, c.eye.z, 1},
              {side.x * inv, side.y * inv, side.z * inv, 0},
              {up.x * inv, up.y * inv, up.z * inv, 0},
              {fwd.x, fwd.y, fwd.z, 0},
              {static_cast<uint32_t>(view.width), static_cast<uint32_t>(view.height), s.features, s.layers | (s.rgba ? 256u : 0u)}};
    auto cb = s.ctx->beginCommands();
    if (!cb) return std::move(cb.error());
    VkCommandBuffer cmd = *cb;
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.layout, 0, 1, &s.set, 0, nullptr);
    vkCmdPushConstants(cmd, s.layout, VK_SHADER_STAGE_ALL, 0, sizeof push, &push);
    vkCmdDispatch(cmd, static_cast<uint32_t>((view.width + kLocal - 1) / kLocal), static_cast<uint32_t>((view.height + kLocal - 1) / kLocal), 1);
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
    img.rgba.resize(bytes);
    std::memcpy(img.rgba.data(), s.pixels.mapped, bytes);
    s.times.readbackMs = msSince(tr);
    s.times.totalMs = msSince(t0);
    return img;
}

}  // namespace by
