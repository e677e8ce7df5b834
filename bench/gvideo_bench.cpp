// Gaussian video playback at 1280x720: a 50k-splat sequence (Gaussians baked from the real Collada
// duck, animated) written as PLY frames and in the 2D-video form, then timed as decode alone,
// render alone (upload + draw + readback, frames already in memory), and decode + render the way
// the player runs them (decoding ahead on its thread while the main thread renders), plus the
// sizes against the raw PLY sequence. Goal (issue 5): decode + render >= 24 fps on lavapipe.
// Usage: gvideo_bench [--frames N] [--splats N] [--codec libx264|ffv1] [--crf N] [--keep DIR]
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <string>

#include "bench/bench_util.h"
#include "engine/splat_baker.h"
#include "engine/splat_sequence.h"
#include "importers/gaussian_video.h"
#include "importers/mesh_importer.h"
#include "importers/ply_sequence.h"
#include "importers/splat_io.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"
#include "views/splat_video_player.h"
#include "engine/blas_kernels.h"

using namespace by;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    by::useBestBlasKernels(argv);
    int frames = 30;
    size_t splats = 50000;
    GaussianVideoOptions opts;
    std::string keep;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--frames") && i + 1 < argc) frames = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--splats") && i + 1 < argc) splats = static_cast<size_t>(std::atoll(argv[++i]));
        else if (!std::strcmp(argv[i], "--codec") && i + 1 < argc) opts.codec = argv[++i];
        else if (!std::strcmp(argv[i], "--crf") && i + 1 < argc) opts.crf = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--keep") && i + 1 < argc) keep = argv[++i];
    }
    bench::printMachine("gvideo_bench: Gaussian video decode and render at 1280x720");
    auto ctx = VulkanContext::create();
    if (!ctx) {
        std::fprintf(stderr, "gvideo_bench: %s\n", ctx.error().what().c_str());
        return 1;
    }
    const std::string dev = (*ctx)->deviceName();
    std::printf("# Vulkan device: %s\n", dev.c_str());
    auto duck = loadMeshScene("/usr/share/assimp/models/Collada/duck.dae");
    if (!duck) {
        std::fprintf(stderr, "gvideo_bench: %s (scripts/setup.sh installs assimp-testmodels)\n", duck.error().what().c_str());
        return 1;
    }
    const fs::path dir = keep.empty() ? fs::temp_directory_path() / ("gvideo_bench_" + std::to_string(::getpid())) : fs::path(keep);
    fs::create_directories(dir / "ply");
    const SplatCloud base = bakeMeshSurfaces(duck->meshes, splats, 1);
    for (int k = 0; k < frames; ++k) {
        char name[32];
        std::snprintf(name, sizeof name, "frame_%04d.ply", k);
        if (!writeSplatPly(animateSplats(base, static_cast<float>(k) / static_cast<float>(frames)), (dir / "ply" / name).string())) return 1;
    }
    auto seq = PlySequenceSource::open((dir / "ply").string());
    if (!seq) {
        std::fprintf(stderr, "gvideo_bench: %s\n", seq.error().what().c_str());
        return 1;
    }
    const double te0 = bench::nowMs();
    auto info = writeGaussianVideo(**seq, (dir / "video").string(), opts);
    if (!info) {
        std::fprintf(stderr, "gvideo_bench: %s\n", info.error().what().c_str());
        return 1;
    }
    const double encodeMs = bench::nowMs() - te0;
    const uint64_t raw = (*seq)->totalBytes();
    // The same Gaussians as a degree-0 PLY (17 floats a splat): what the sequence costs without the
    // 45 zero SH coefficients the baked PLY carries.
    const uint64_t raw0 = static_cast<uint64_t>(frames) * splats * 17 * 4;
    std::printf("sequence: %d frames x %zu Gaussians (SH degree %d), grid %dx%d, %s%s, encoded in %.1f s\n", frames, splats, base.shDegree,
                info->width, info->height, opts.codec.c_str(), opts.codec == "libx264" ? (" crf " + std::to_string(opts.crf)).c_str() : "",
                encodeMs / 1000);
    std::printf("size: video %.2f MB, PLY sequence %.2f MB (%.1fx smaller), as degree-0 float32 %.2f MB (%.1fx smaller)\n",
                static_cast<double>(info->totalBytes) / 1e6, static_cast<double>(raw) / 1e6,
                static_cast<double>(raw) / static_cast<double>(info->totalBytes), static_cast<double>(raw0) / 1e6,
                static_cast<double>(raw0) / static_cast<double>(info->totalBytes));

    RenderView view;
    view.width = 1280, view.height = 720;
    {
        auto first = (*seq)->seek(0);
        (void)first;
        auto f0 = (*seq)->read();
        if (!f0) return 1;
        Bounds b = f0->bounds();
        const Vec3 c = b.center(), s = b.size();
        const float r = 0.5f * std::sqrt(s.x * s.x + s.z * s.z);
        b.min.x = c.x - r, b.max.x = c.x + r, b.min.z = c.z - r, b.max.z = c.z + r;
        view.camera = Camera::frame(b, view.aspect());
    }

    // Decode alone, twice over the sequence (the second pass without first-open costs).
    std::vector<double> decodeMs;
    std::vector<SplatCloud> kept;
    {
        auto rd = GaussianVideoReader::open((dir / "video").string());
        if (!rd) {
            std::fprintf(stderr, "gvideo_bench: %s\n", rd.error().what().c_str());
            return 1;
        }
        for (int pass = 0; pass < 2; ++pass) {
            if (!(*rd)->seek(0)) return 1;
            for (int k = 0; k < frames; ++k) {
                const double t0 = bench::nowMs();
                auto f = (*rd)->read();
                if (!f) {
                    std::fprintf(stderr, "gvideo_bench: %s\n", f.error().what().c_str());
                    return 1;
                }
                if (pass == 1) decodeMs.push_back(bench::nowMs() - t0);
                if (pass == 1 && k < 8) kept.push_back(std::move(*f));
            }
        }
    }
    std::vector<double> plyMs;
    if (!(*seq)->seek(0)) return 1;
    for (int k = 0; k < std::min(frames, 8); ++k) {
        const double t0 = bench::nowMs();
        if (!(*seq)->read()) return 1;
        plyMs.push_back(bench::nowMs() - t0);
    }

    // Render alone: upload (setSplats) + draw + readback of frames already decoded.
    auto sr = SplatRenderer::create(*ctx);
    if (!sr) return 1;
    std::vector<double> renderMs, uploadMs;
    for (int k = 0; k < frames; ++k) {
        const SplatCloud& f = kept[static_cast<size_t>(k) % kept.size()];
        const double t0 = bench::nowMs();
        if (!(*sr)->setSplats(f)) return 1;
        const double t1 = bench::nowMs();
        if (!(*sr)->render(view)) return 1;
        if (k > 0) renderMs.push_back(bench::nowMs() - t0), uploadMs.push_back(t1 - t0);
    }

    // Decode + render through the player: decoding ahead on its thread while this thread renders.
    double playMs = 0;
    int late = 0;
    {
        auto rd = GaussianVideoReader::open((dir / "video").string());
        if (!rd) return 1;
        SplatVideoPlayer player(std::move(*rd), 3);
        player.play();
        if (!player.waitForNext(30)) return 1;
        player.advance(0);
        const double t0 = bench::nowMs();
        int shown = 0;
        while (shown < frames) {
            auto cur = player.currentFrame();
            if (!cur || !(*sr)->setSplats(*cur) || !(*sr)->render(view)) {
                std::fprintf(stderr, "gvideo_bench: player: %s\n", player.error().c_str());
                return 1;
            }
            ++shown;
            if (shown == frames) break;
            // As fast as frames come: wait for the next, then step exactly one frame.
            if (!player.waitForNext(30)) return 1;
            if (!player.advance(1.0 / player.fps())) return 1;
        }
        playMs = bench::nowMs() - t0;
        late = player.lateFrames();
    }
    const double dec = bench::median(decodeMs), ren = bench::median(renderMs);
    std::printf("%-44s %10s %8s  %s\n", "stage (50k-splat frames at 1280x720)", "ms/frame", "fps", "device");
    std::printf("%-44s %10.1f %8.1f  %s\n", "read PLY frame (baseline)", bench::median(plyMs), 1000 / bench::median(plyMs), "CPU");
    std::printf("%-44s %10.1f %8.1f  %s\n", "decode (2D video -> Gaussians)", dec, 1000 / dec, "CPU, 1 thread");
    std::printf("%-44s %10.1f %8.1f  %s\n", "render (upload + draw + readback)", ren, 1000 / ren, dev.c_str());
    std::printf("%-44s %10.1f %8s  %s\n", "  of which upload (setSplats)", bench::median(uploadMs), "", dev.c_str());
    std::printf("%-44s %10.1f %8.1f  %s\n", "decode + render, player (decode ahead)", playMs / frames, 1000.0 * frames / playMs, dev.c_str());
    std::printf("# %d frames, medians except the player row (whole run / frames, %d late waits); goal: decode + render >= 24 fps\n", frames, late);
    if (keep.empty()) fs::remove_all(dir);
    return 0;
}
