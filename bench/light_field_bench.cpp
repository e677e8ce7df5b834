// Frame time of the Vulkan light-field renderer at 1280x720 (or --size) against its CPU reference (the named
// baseline: the engine's executor on the same rays, all cores), for the trained light field in the
// cache (scripts/train/light_field.py). Also prints the learned image's PSNR against each held-out
// ground-truth view, rendered at its own size.
// Usage: light_field_bench [--frames N] [--no-cpu] [--size WxH] [MODEL.onnx]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <fstream>

#include "bench/bench_util.h"
#include "engine/executor.h"
#include "importers/image_folder_reader.h"
#include "importers/importer_registry.h"
#include "renderers/light_field_reference.h"
#include "renderers/light_field_renderer.h"
#include "renderers/vulkan_context.h"

using namespace by;

namespace {

// A ground-truth PNG as RGBA8 (decodeImage gives U8 [3,H,W]).
Result<Image> loadRgba(const std::string& path) {
    auto t = decodeImage(path, ImageLayout{3, 0, 0});
    if (!t) return std::move(t.error());
    Image img;
    img.height = static_cast<int>(t->shape()[1]), img.width = static_cast<int>(t->shape()[2]);
    const size_t plane = static_cast<size_t>(img.width) * img.height;
    img.rgba.resize(plane * 4);
    const uint8_t* c = t->data<uint8_t>();
    for (size_t i = 0; i < plane; ++i) {
        for (int k = 0; k < 3; ++k) img.rgba[i * 4 + k] = c[k * plane + i];
        img.rgba[i * 4 + 3] = 255;
    }
    return img;
}

}  // namespace

int main(int argc, char** argv) {
    int frames = 5;
    int width = 1280, height = 720;
    bool cpu = true;
    const char* home = std::getenv("HOME");
    const char* cache = std::getenv("BRICKYARD_CACHE");
    std::string path = std::string(cache ? cache : std::string(home ? home : ".") + "/.cache/brickyard") + "/models/light_field/duck/duck_nelf.onnx";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--frames") && i + 1 < argc) frames = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--no-cpu")) cpu = false;
        else if (!std::strcmp(argv[i], "--size") && i + 1 < argc) {
            if (std::sscanf(argv[++i], "%dx%d", &width, &height) != 2 || width < 1 || height < 1 || width > 16384 || height > 16384) {
                std::fprintf(stderr, "light_field_bench: --size must look like 1280x720\n");
                return 2;
            }
        }
        else path = argv[i];
    }
    bench::printMachine("light_field_bench: neural light field frames, Vulkan vs CPU reference (executor)");
    auto model = loadModel(path);
    if (!model) {
        std::fprintf(stderr, "light_field_bench: %s (scripts/build_models.sh trains it)\n", model.error().what().c_str());
        return 1;
    }
    auto mlp = extractLightField(*model);
    if (!mlp) {
        std::fprintf(stderr, "light_field_bench: %s\n", mlp.error().what().c_str());
        return 1;
    }
    auto ctx = VulkanContext::create();
    if (!ctx) {
        std::fprintf(stderr, "light_field_bench: %s\n", ctx.error().what().c_str());
        return 1;
    }
    const std::string dev = (*ctx)->deviceName();
    auto r = LightFieldRenderer::create(*ctx);
    if (!r || !(*r)->setModel(*mlp)) return 1;
    auto ex = Executor::create(*model);
    if (!ex) return 1;
    std::printf("# model: %s, %d features, %zu layers, %lld parameters, %lld multiply-adds per ray\n", path.c_str(), mlp->featureCount(),
                mlp->layers.size(), static_cast<long long>(mlp->parameterCount()), static_cast<long long>(mlp->macsPerRay()));

    RenderView view;
    view.width = width, view.height = height;
    auto cam = parseCamera(mlp->defaultCamera, view.camera);
    if (cam) view.camera = *cam;
    (void)(*r)->render(view);  // warm-up
    std::vector<double> t, rt;
    Image gpu;
    for (int f = 0; f < frames; ++f) {
        const double t0 = bench::nowMs();
        auto im = (*r)->render(view);
        if (!im) return 1;
        t.push_back(bench::nowMs() - t0);
        rt.push_back((*r)->lastTimes().renderMs);
        gpu = std::move(*im);
    }
    std::printf("# %dx%d, median of %d frames\n", width, height, frames);
    std::printf("%-28s %10s %8s %13s %8s  %s\n", "renderer", "render ms", "fps", "+readback ms", "fps", "device");
    std::printf("%-28s %10.1f %8.2f %13.1f %8.2f  %s\n", "Vulkan compute (per pixel)", bench::median(rt), 1000.0 / bench::median(rt),
                bench::median(t), 1000.0 / bench::median(t), dev.c_str());
    if (cpu) {
        const double t0 = bench::nowMs();
        auto ref = renderLightFieldReference(*ex, view);
        const double ms = bench::nowMs() - t0;
        if (!ref) return 1;
        std::printf("%-28s %10.1f %8.2f %13s %8s  CPU, %d executor threads (GPU vs CPU PSNR %.1f dB; Vulkan device %s)\n",
                    "CPU reference (executor)", ms, 1000.0 / ms, "-", "-", ex->threadCount(), psnr(gpu, *ref), dev.c_str());
    }

    // Held-out views: the learned image against the mesh renderer's ground truth.
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::ifstream in(dir / "poses.json");
    if (!in) return 0;
    const auto poses = nlohmann::json::parse(in, nullptr, false);
    if (poses.is_discarded()) return 0;
    double sum = 0;
    int n = 0;
    for (const auto& v : poses["views"]) {
        if (v["split"] != "test") continue;
        auto gt = loadRgba((dir / v["file"].get<std::string>()).string());
        if (!gt) continue;
        RenderView hv;
        hv.width = gt->width, hv.height = gt->height;
        auto c = parseCamera(v["camera"].get<std::string>(), hv.camera);
        if (!c) continue;
        hv.camera = *c;
        auto im = (*r)->render(hv);
        if (!im) return 1;
        sum += psnr(*im, *gt);
        ++n;
    }
    if (n) std::printf("# held-out views: %d, mean PSNR of the light field vs the mesh renderer %.2f dB (Vulkan device %s)\n", n, sum / n, dev.c_str());
    return 0;
}
