// Frame times of the Vulkan renderers at 1280x720 against their CPU references (the named
// baseline): a 1M-triangle mesh and Gaussian splat clouds of 10k to 1M baked from the real
// Collada duck (the scaling of frame time with splat count). Each frame is timed twice: render
// (until the device finished drawing) and render + readback (the image copied out as RGBA8, what a
// viewport shows). Usage: render_bench [--frames N] [--no-cpu]
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_util.h"
#include "engine/splat_baker.h"
#include "importers/mesh_importer.h"
#include "renderers/mesh_reference.h"
#include "renderers/mesh_renderer.h"
#include "renderers/splat_reference.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"

using namespace by;

namespace {

// Copies of the duck on a grid until the mesh holds at least `triangles` triangles.
std::vector<Mesh> duckGrid(const Mesh& duck, size_t triangles) {
    const size_t copies = (triangles + duck.triangleCount() - 1) / duck.triangleCount();
    const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(copies))));
    const Vec3 size = duck.bounds().size();
    std::vector<Mesh> out;
    for (size_t c = 0; c < copies; ++c) {
        Mesh m = duck;
        const Vec3 off{(static_cast<float>(c % side) - side / 2.0f) * size.x * 1.1f,
                       (static_cast<float>(c / side) - side / 2.0f) * size.y * 1.1f, 0};
        for (Vec3& p : m.positions) p = p + off;
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int frames = 7;
    bool cpu = true;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--frames") && i + 1 < argc) frames = std::atoi(argv[++i]);
        if (!std::strcmp(argv[i], "--no-cpu")) cpu = false;
    }
    bench::printMachine("render_bench: offscreen frames at 1280x720, Vulkan vs CPU reference");
    auto ctx = VulkanContext::create();
    if (!ctx) {
        std::fprintf(stderr, "render_bench: %s\n", ctx.error().what().c_str());
        return 1;
    }
    const std::string dev = (*ctx)->deviceName();
    std::printf("# Vulkan device: %s\n", dev.c_str());
    auto duck = loadMeshScene("/usr/share/assimp/models/Collada/duck.dae");
    if (!duck) {
        std::fprintf(stderr, "render_bench: %s (scripts/setup.sh installs assimp-testmodels)\n", duck.error().what().c_str());
        return 1;
    }
    RenderView view;
    view.width = 1280, view.height = 720;
    std::printf("%-34s %9s %10s %8s %12s %8s %11s %8s  %s\n", "scene", "items", "render ms", "fps", "+readback ms", "fps",
                "CPU ref ms", "speedup", "device");

    // renderMs: until the device finished drawing; totalMs: with the image copied out as RGBA8.
    auto report = [&](const std::string& name, size_t items, std::vector<double> renderMs, std::vector<double> totalMs, double cpuMs) {
        const double r = bench::median(renderMs), t = bench::median(totalMs);
        char cpuCol[32] = "-", speed[32] = "-";
        if (cpuMs > 0) {
            std::snprintf(cpuCol, sizeof cpuCol, "%.1f", cpuMs);
            std::snprintf(speed, sizeof speed, "%.1fx", cpuMs / t);
        }
        std::printf("%-34s %9zu %10.1f %8.1f %12.1f %8.1f %11s %8s  %s\n", name.c_str(), items, r, 1000.0 / r, t, 1000.0 / t, cpuCol,
                    speed, dev.c_str());
        std::fflush(stdout);
    };

    {  // mesh
        std::vector<Mesh> meshes = duckGrid(duck->meshes[0], 1000000);
        size_t tris = 0;
        Bounds b;
        for (const Mesh& m : meshes) tris += m.triangleCount(), b.add(m.bounds());
        view.camera = Camera::frame(b, view.aspect());
        auto r = MeshRenderer::create(*ctx);
        if (!r || !(*r)->setMeshes(meshes).ok()) return 1;
        double c = 0;
        if (cpu) {
            const double t0 = bench::nowMs();
            (void)renderMeshesReference(meshes, view);
            c = bench::nowMs() - t0;
        }
        // The culling pre-pass against drawing every triangle, alternating frame by frame on the
        // same views so both see the same machine load.
        const Camera start = view.camera;
        std::vector<double> t[2], rt[2];
        uint64_t drawn = 0;
        std::vector<double> cullMs;
        using Culling = MeshRenderer::Culling;
        for (Culling mode : {Culling::Off, Culling::Auto}) {
            (*r)->setCulling(mode);
            (void)(*r)->render(view);  // warm-up
        }
        for (int f = 0; f < frames; ++f) {
            view.camera.orbit(2, 0);
            for (int on = 0; on < 2; ++on) {
                (*r)->setCulling(on == 1 ? Culling::Auto : Culling::Off);
                const double t0 = bench::nowMs();
                if (!(*r)->render(view)) return 1;
                t[on].push_back(bench::nowMs() - t0);
                rt[on].push_back((*r)->lastTimes().renderMs);
                if (on) drawn = (*r)->drawnTriangles(), cullMs.push_back((*r)->lastTimes().cullMs);
            }
        }
        view.camera = start;
        const std::string name = "mesh (duck x " + std::to_string(meshes.size()) + ", " + std::to_string((*r)->drawCount()) + " draw)";
        report(name + ", all", tris, rt[0], t[0], c);
        report(name + ", culled", tris, rt[1], t[1], c);
        std::printf("#   culling pre-pass (%s, %.1f ms of the frame): %llu of %zu triangles drawn; frame %.2fx faster (medians, same run)\n",
                    (*ctx)->isCpuDevice() ? "on the host" : "compute pass", bench::median(cullMs), (unsigned long long)drawn, tris,
                    bench::median(t[0]) / bench::median(t[1]));
    }

    SplatCloud base = bakeMeshSurfaces(duck->meshes, 100000, 1);
    auto sr = SplatRenderer::create(*ctx);
    if (!sr) return 1;
    for (size_t n : {size_t(10000), size_t(30000), size_t(100000), size_t(300000), size_t(1000000)}) {
        SplatCloud cloud = replicateJittered(base, n, 0.01f * length(base.bounds().size()), 3);
        if (n < base.size()) {  // a random-looking subset still covering the whole duck
            SplatCloud sub;
            sub.shDegree = base.shDegree;
            for (size_t i = 0; i < n; ++i) sub.append(base, i * (base.size() / n));
            cloud = std::move(sub);
        }
        if (!(*sr)->setSplats(cloud).ok()) return 1;
        view.camera = Camera::frame(cloud.bounds(), view.aspect());
        view.camera.orbit(30, 15);
        (void)(*sr)->render(view);
        std::vector<double> t, rt, sortMs, binMs;
        for (int f = 0; f < frames; ++f) {
            view.camera.orbit(2, 0);
            const double t0 = bench::nowMs();
            if (!(*sr)->render(view)) return 1;
            t.push_back(bench::nowMs() - t0);
            rt.push_back((*sr)->lastTimes().renderMs);
            sortMs.push_back((*sr)->lastTimes().sortMs);
            binMs.push_back((*sr)->lastTimes().binMs);
        }
        std::fprintf(stderr, "  %zu splats: sort %.1f ms, bin %.1f ms, %.1f tile entries per splat\n", n, bench::median(sortMs),
                     bench::median(binMs), static_cast<double>((*sr)->lastTimes().tileEntries) / static_cast<double>(n));
        double c = 0;
        if (cpu) {
            const double t0 = bench::nowMs();
            (void)renderSplatsReference(cloud, view);
            c = bench::nowMs() - t0;
        }
        const std::string name = "splats (baked duck), sort " + std::to_string(static_cast<int>(bench::median(sortMs) + 0.5)) + " ms";
        report(name, n, rt, t, c);
    }
    // The same 100k cloud by the quads (the fixed-function path) and by the tile shader without
    // subgroup sharing, for comparison with the tiles above.
    auto compare = [&](const std::string& name, SplatMethod method, bool sharing) -> bool {
        auto qr = SplatRenderer::create(*ctx, method, sharing);
        SplatCloud cloud = base;
        if (!qr || !(*qr)->setSplats(cloud).ok()) return false;
        view.camera = Camera::frame(cloud.bounds(), view.aspect());
        view.camera.orbit(30, 15);
        (void)(*qr)->render(view);
        std::vector<double> t, rt;
        for (int f = 0; f < frames; ++f) {
            view.camera.orbit(2, 0);
            const double t0 = bench::nowMs();
            if (!(*qr)->render(view)) return false;
            t.push_back(bench::nowMs() - t0);
            rt.push_back((*qr)->lastTimes().renderMs);
        }
        report(name, cloud.size(), rt, t, 0);
        return true;
    };
    if (!compare("splats, quads into RGBA8", SplatMethod::QuadsRgba8, true)) return 1;
    if (!compare("splats, tiles, no subgroup sharing", SplatMethod::Tiles, false)) return 1;
    std::printf("# %d frames each (median), camera orbiting 2 degrees a frame; CPU reference: one frame, single thread;\n"
                "# speedup = CPU reference / (render + readback); splats by %s unless named\n", frames,
                splatMethodName(SplatMethod::Tiles));
    std::printf("# goals on lavapipe, 2 cores: 100k splats >= 10 fps, 1M splats >= 2 fps, 1M-triangle mesh >= 20 fps\n");
    return 0;
}
