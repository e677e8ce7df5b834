// Frame time of the baked neural scene renderer (MobileNeRF form: meshes + feature textures + a
// 16-wide MLP per fragment) at 1280x720 (or --size) against the named baseline, the neural light
// field of the same duck (a 128-wide MLP per pixel, light_field_bench), in the same run on the same
// Vulkan device and from the same camera. Also prints the baked scene's CPU reference time and
// GPU-vs-CPU PSNR, and each form's mean PSNR on the held-out ground-truth views.
// Usage: baked_nerf_bench [--frames N] [--size WxH] [--no-cpu] [BAKED_DIR [LIGHT_FIELD.onnx]]
#include "bench/bench_util.h"
#include "importers/baked_nerf_importer.h"
#include "importers/image_folder_reader.h"
#include "importers/importer_registry.h"
#include "renderers/baked_nerf_reference.h"
#include "renderers/baked_nerf_renderer.h"
#include "renderers/light_field_renderer.h"
#include "renderers/vulkan_context.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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
        for (int k = 0; k < 3; ++k)
            img.rgba[i * 4 + k] = c[k * plane + i];
        img.rgba[i * 4 + 3] = 255;
    }
    return img;
}

// Median render-only and render+readback milliseconds of `frames` frames after one warm-up.
template <class R>
bool timeFrames(R& r, const RenderView& view, int frames, double& renderMs, double& totalMs, Image& last) {
    if (!r.render(view)) return false;
    std::vector<double> t, rt;
    for (int f = 0; f < frames; ++f) {
        const double t0 = bench::nowMs();
        auto im = r.render(view);
        if (!im) return false;
        t.push_back(bench::nowMs() - t0);
        rt.push_back(r.lastTimes().renderMs);
        last = std::move(*im);
    }
    renderMs = bench::median(rt);
    totalMs = bench::median(t);
    return true;
}

} // namespace

int main(int argc, char** argv) {
    int frames = 5;
    int width = 1280, height = 720;
    bool cpu = true;
    const char* home = std::getenv("HOME");
    const char* cache = std::getenv("BRICKYARD_CACHE");
    const std::string models =
        std::string(cache ? cache : std::string(home ? home : ".") + "/.cache/brickyard") + "/models";
    std::string bakedPath = models + "/baked_nerf/duck", lfPath = models + "/light_field/duck/duck_nelf.onnx";
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--frames") && i + 1 < argc)
            frames = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--no-cpu"))
            cpu = false;
        else if (!std::strcmp(argv[i], "--size") && i + 1 < argc) {
            if (std::sscanf(argv[++i], "%dx%d", &width, &height) != 2 || width < 1 || height < 1 ||
                width > 16384 || height > 16384) {
                std::fprintf(stderr, "baked_nerf_bench: --size must look like 1280x720\n");
                return 2;
            }
        } else
            (positional++ == 0 ? bakedPath : lfPath) = argv[i];
    }
    bench::printMachine("baked_nerf_bench: baked neural scene (MobileNeRF form) frames vs the neural light "
                        "field of the same duck");
    auto nerf = loadBakedNerf(bakedPath);
    if (!nerf) {
        std::fprintf(stderr, "baked_nerf_bench: %s (scripts/build_models.sh makes it)\n",
                     nerf.error().what().c_str());
        return 1;
    }
    auto model = loadModel(lfPath);
    if (!model) {
        std::fprintf(stderr, "baked_nerf_bench: %s (scripts/build_models.sh trains it)\n",
                     model.error().what().c_str());
        return 1;
    }
    auto mlp = extractLightField(*model);
    if (!mlp) {
        std::fprintf(stderr, "baked_nerf_bench: %s\n", mlp.error().what().c_str());
        return 1;
    }
    auto ctx = VulkanContext::create();
    if (!ctx) {
        std::fprintf(stderr, "baked_nerf_bench: %s\n", ctx.error().what().c_str());
        return 1;
    }
    const std::string dev = (*ctx)->deviceName();
    auto br = BakedNerfRenderer::create(*ctx);
    auto lr = LightFieldRenderer::create(*ctx);
    if (!br || !lr) {
        std::fprintf(stderr, "baked_nerf_bench: %s\n", (!br ? br.error() : lr.error()).what().c_str());
        return 1;
    }
    if (auto s = (*br)->setScene(*nerf); !s) return 1;
    if (auto s = (*lr)->setModel(*mlp); !s) return 1;
    size_t texels = 0;
    for (const auto& s : nerf->shapes)
        texels += static_cast<size_t>(s.features[0]->width) * s.features[0]->height;
    std::printf("# baked: %s, %zu shapes, %zu triangles, %zu texels x 8 features, MLP %lld parameters\n",
                bakedPath.c_str(), nerf->shapes.size(), nerf->triangleCount(), texels,
                static_cast<long long>(nerf->parameterCount()));
    std::printf("# light field: %s, %zu layers, %lld parameters, %lld multiply-adds per ray\n",
                lfPath.c_str(), mlp->layers.size(), static_cast<long long>(mlp->parameterCount()),
                static_cast<long long>(mlp->macsPerRay()));

    // One camera for both: the light field's own default view (its first held-out pose).
    RenderView view;
    view.width = width, view.height = height;
    view.camera = Camera::frame(nerf->bounds(), view.aspect());
    if (auto cam = parseCamera(mlp->defaultCamera, view.camera)) view.camera = *cam;
    double bRender = 0, bTotal = 0, lRender = 0, lTotal = 0;
    Image bImg, lImg;
    if (!timeFrames(**br, view, frames, bRender, bTotal, bImg) ||
        !timeFrames(**lr, view, frames, lRender, lTotal, lImg)) {
        std::fprintf(stderr, "baked_nerf_bench: a frame failed to render\n");
        return 1;
    }
    std::printf("# %dx%d, median of %d frames, camera %s\n", width, height, frames,
                mlp->defaultCamera.c_str());
    std::printf("%-34s %10s %8s %13s %8s  %s\n", "renderer", "render ms", "fps", "+readback ms", "fps",
                "device");
    std::printf("%-34s %10.1f %8.2f %13.1f %8.2f  %s\n", "baked mesh + MLP shader (Vulkan)", bRender,
                1000.0 / bRender, bTotal, 1000.0 / bTotal, dev.c_str());
    std::printf("%-34s %10.1f %8.2f %13.1f %8.2f  %s\n", "light field, per pixel (Vulkan)", lRender,
                1000.0 / lRender, lTotal, 1000.0 / lTotal, dev.c_str());
    std::printf("# baked is %.1fx faster to render than the light field (%.1fx with readback)\n",
                lRender / bRender, lTotal / bTotal);
    if (cpu) {
        const double t0 = bench::nowMs();
        Image ref = renderBakedNerfReference(*nerf, view);
        const double ms = bench::nowMs() - t0;
        std::printf("%-34s %10.1f %8.2f %13s %8s  CPU, one thread (GPU vs CPU PSNR %.1f dB)\n",
                    "baked, CPU reference", ms, 1000.0 / ms, "-", "-", psnr(bImg, ref));
    }

    // Held-out views: both learned forms against the mesh renderer's ground truth, each at its size.
    const std::filesystem::path dir = std::filesystem::path(lfPath).parent_path();
    std::ifstream in(dir / "poses.json");
    const auto poses = nlohmann::json::parse(in, nullptr, false);
    if (!in || poses.is_discarded() || !poses.contains("views")) return 0;
    double sb = 0, sl = 0;
    int n = 0;
    for (const auto& v : poses["views"]) {
        if (v["split"] != "test") continue;
        auto gt = loadRgba((dir / v["file"].get<std::string>()).string());
        if (!gt) continue;
        RenderView hv;
        hv.width = gt->width, hv.height = gt->height;
        auto c = parseCamera(v["camera"].get<std::string>(), Camera::frame(nerf->bounds(), 1.0f));
        if (!c) continue;
        hv.camera = *c;
        auto a = (*br)->render(hv);
        auto b = (*lr)->render(hv);
        if (!a || !b) return 1;
        sb += psnr(*a, *gt);
        sl += psnr(*b, *gt);
        ++n;
    }
    if (n)
        std::printf("# held-out views: %d, mean PSNR vs the mesh renderer: baked %.2f dB, light field %.2f "
                    "dB (Vulkan device %s)\n",
                    n, sb / n, sl / n, dev.c_str());
    return 0;
}
