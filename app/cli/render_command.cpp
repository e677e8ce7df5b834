#include "app/cli/render_command.h"

#include <stb_image_write.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "app/cli/path_video.h"
#include "importers/baked_nerf_importer.h"
#include "importers/camera_bookmarks.h"
#include "engine/splat_baker.h"
#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/mesh_importer.h"
#include "importers/ply_table.h"
#include "importers/splat_io.h"
#include "importers/splat_packed.h"
#include "engine/splat_compress.h"
#include "renderers/baked_nerf_reference.h"
#include "renderers/baked_nerf_renderer.h"
#include "renderers/light_field_reference.h"
#include "renderers/light_field_renderer.h"
#include "renderers/mesh_reference.h"
#include "renderers/mesh_renderer.h"
#include "renderers/splat_reference.h"
#include "renderers/scene_renderer.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

void printRenderHelp() {
    std::puts(
        "usage: brickyard-cli render SCENE [--add FILE]... [--camera SPEC] [--size WxH] [--cpu] -o OUT.png\n"
        "       brickyard-cli render SCENE [--add FILE]... --path BOOKMARKS.json [--frames N] [--fps F] -o OUT.mp4\n"
        "\n"
        "Renders a mesh (glTF/glb, OBJ, PLY, FBX, Collada, ...), 3D Gaussian splats (3DGS .ply, .splat)\n"
        "or a neural light field (an .onnx MLP from [N,6] rays to [N,3] colours, docs/light_field.md)\n"
        "or a baked neural scene (a MobileNeRF folder or its mlp.json, docs/baked_nerf.md)\n"
        "offscreen with Vulkan and writes a PNG, or a camera path through bookmarks as an H.264 video.\n"
        "  --add FILE      add another file's meshes or splats to the scene (repeatable): meshes and\n"
        "                  splats are drawn in one image, the splats depth-tested against the meshes\n"
        "  --path FILE     camera bookmarks JSON (the viewport's Export, docs in importers/camera_bookmarks.h):\n"
        "                  a smooth path through them is rendered to OUT.mp4 (or .mkv)\n"
        "  --frames N      frames of the path video (default 90); --fps F its rate (default 30)\n"
        "  --camera SPEC   eye=x,y,z,target=x,y,z,up=x,y,z,fov=deg (any subset); default: the whole\n"
        "                  scene framed from the front, looking down -Z with Y up\n"
        "  --orbit Y,P     turn the camera around its target by yaw and pitch degrees\n"
        "  --size WxH      image size (default 1280x720)\n"
        "  --forward-facing  a baked scene from MobileNeRF's forward-facing recipe: its MLP takes the\n"
        "                  view direction as it is, not swapped from Y-up to Z-up\n"
        "  --cpu           use the CPU reference renderer instead of Vulkan (for a light field:\n"
        "                  the engine's executor on the same rays)\n"
        "  -o, --output    the PNG to write");
}

std::string lowerExtension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return ext;
}

// --camera, then --orbit on top of it; the usage sentence when one of them is malformed.
std::optional<std::string> applyCameraArgs(const Args& a, Camera& camera) {
    if (auto c = a.get("--camera")) {
        auto cam = parseCamera(*c, camera);
        if (!cam) return "--camera: " + cam.error().message;
        camera = *cam;
    }
    if (auto o = a.get("--orbit")) {
        float yaw = 0, pitch = 0;
        if (std::sscanf(o->c_str(), "%f,%f", &yaw, &pitch) != 2) return std::string("--orbit must look like 30,15 (yaw,pitch degrees)");
        camera.orbit(yaw, pitch);
    }
    return std::nullopt;
}

// A model file: rendered as a light field when its graph is one (light_field_mlp.h), refused
// with the extraction's sentence otherwise.
int renderLightField(const Args& a, const std::string& path, RenderView view, const std::string& out) {
    auto model = loadModel(path);
    if (!model) return inputError(model.error().what());
    if (!looksLikeLightField(*model))
        return inputError(path + ": this model is not a light field (one f32 input of [N,6] rays, one output of [N,3] or [N,4] colours)");
    auto mlp = extractLightField(*model);
    if (!mlp) return inputError(path + ": " + mlp.error().what());
    if (!mlp->defaultCamera.empty()) {
        auto cam = parseCamera(mlp->defaultCamera, view.camera);
        if (!cam) return inputError(path + ": its brickyard.light_field.camera metadata: " + cam.error().message);
        view.camera = *cam;
    }
    if (auto e = applyCameraArgs(a, view.camera)) return usageError(*e);
    const auto t0 = std::chrono::steady_clock::now();
    Image img;
    std::string device = "CPU reference (executor)";
    if (a.has("--cpu")) {
        auto ex = Executor::create(*model);
        if (!ex) return inputError(path + ": " + ex.error().what());
        auto im = renderLightFieldReference(*ex, view);
        if (!im) return inputError(path + ": " + im.error().what());
        img = std::move(*im);
    } else {
        auto ctx = VulkanContext::create();
        if (!ctx) return inputError(ctx.error().what() + " (use --cpu for the CPU reference renderer)");
        device = (*ctx)->deviceName();
        auto r = LightFieldRenderer::create(*ctx);
        if (!r) return inputError(r.error().what());
        if (auto s = (*r)->setModel(*mlp); !s) return inputError(s.error().what());
        auto im = (*r)->render(view);
        if (!im) return inputError(im.error().what());
        img = std::move(*im);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!stbi_write_png(out.c_str(), img.width, img.height, 4, img.rgba.data(), img.width * 4)) return inputError("could not write " + out);
    const Vec3 e = view.camera.eye, t = view.camera.target;
    std::printf("%s: light field, %zu features, %zu layers, %lld parameters, %dx%d in %.0f ms on %s\n"
                "camera: eye=%g,%g,%g,target=%g,%g,%g,fov=%g\nwrote %s\n",
                path.c_str(), static_cast<size_t>(mlp->featureCount()), mlp->layers.size(), static_cast<long long>(mlp->parameterCount()),
                img.width, img.height, ms, device.c_str(), e.x, e.y, e.z, t.x, t.y, t.z, view.camera.fovYDeg, out.c_str());
    return 0;
}

// A MobileNeRF scene (folder or mlp.json): meshes + feature textures + the small MLP per fragment.
int renderBakedNerf(const Args& a, const std::string& path, RenderView view, const std::string& out) {
    auto nerf = loadBakedNerf(path, a.has("--forward-facing") ? BakedNerfDirections::AsIs : BakedNerfDirections::YUpToZUp);
    if (!nerf) return inputError(nerf.error().what());
    view.camera = Camera::frame(nerf->bounds(), view.aspect());
    if (auto e = applyCameraArgs(a, view.camera)) return usageError(*e);
    const auto t0 = std::chrono::steady_clock::now();
    Image img;
    std::string device = "CPU reference";
    if (a.has("--cpu")) {
        img = renderBakedNerfReference(*nerf, view);
    } else {
        auto ctx = VulkanContext::create();
        if (!ctx) return inputError(ctx.error().what() + " (use --cpu for the CPU reference renderer)");
        device = (*ctx)->deviceName();
        auto r = BakedNerfRenderer::create(*ctx);
        if (!r) return inputError(r.error().what());
        if (auto s = (*r)->setScene(*nerf); !s) return inputError(path + ": " + s.error().what());
        auto im = (*r)->render(view);
        if (!im) return inputError(im.error().what());
        img = std::move(*im);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!stbi_write_png(out.c_str(), img.width, img.height, 4, img.rgba.data(), img.width * 4)) return inputError("could not write " + out);
    const Vec3 e = view.camera.eye, t = view.camera.target;
    std::printf("%s: baked neural scene, %zu shapes, %zu triangles, %zu MLP layers (%lld parameters), %dx%d in %.0f ms on %s\n"
                "camera: eye=%g,%g,%g,target=%g,%g,%g,fov=%g\nwrote %s\n",
                path.c_str(), nerf->shapes.size(), nerf->triangleCount(), nerf->layers.size(), static_cast<long long>(nerf->parameterCount()),
                img.width, img.height, ms, device.c_str(), e.x, e.y, e.z, t.x, t.y, t.z, view.camera.fovYDeg, out.c_str());
    return 0;
}

}  // namespace

int renderCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--camera", "--size", "-o", "--output", "--orbit", "--add", "--path", "--frames", "--fps"},
                             {"--help", "-h", "--cpu", "--forward-facing"});
    if (a.has("--help") || a.has("-h")) {
        printRenderHelp();
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("render needs exactly one SCENE file");
    auto out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return usageError("render needs -o OUT.png");
    RenderView view;
    if (auto s = a.get("--size"); s && !parseSize(*s, view.width, view.height))
        return usageError("--size must look like 1280x720 (1..16384 each way)");
    if (lowerExtension(a.positional[0]) == ".onnx") return renderLightField(a, a.positional[0], view, *out);
    if (isBakedNerfPath(a.positional[0])) return renderBakedNerf(a, a.positional[0], view, *out);

    auto scene = loadScene(a.positional[0]);
    if (!scene) return inputError(scene.error().what());
    for (const auto& w : scene->warnings) std::fprintf(stderr, "warning: %s: %s\n", a.positional[0].c_str(), w.c_str());
    for (const std::string& extra : a.getAll("--add")) {
        auto more = loadScene(extra);
        if (!more) return inputError(more.error().what());
        for (const auto& w : more->warnings) std::fprintf(stderr, "warning: %s: %s\n", extra.c_str(), w.c_str());
        for (Mesh& m : more->meshes) scene->meshes.push_back(std::move(m));
        if (more->splats.size() > 0) {
            if (scene->splats.size() == 0) {
                scene->splats = std::move(more->splats);
            } else {
                if (more->splats.shDegree > scene->splats.shDegree)
                    return usageError("--add " + extra + ": add the splats with the higher SH degree first");
                for (size_t i = 0; i < more->splats.size(); ++i) scene->splats.append(more->splats, i);
            }
        }
    }
    const bool splats = scene->meshes.empty();
    const bool mixed = !scene->meshes.empty() && scene->splats.size() > 0;
    view.camera = Camera::frame(scene->bounds(), view.aspect());
    if (auto p = a.get("--path")) {
        int frames = 90;
        double fps = 30;
        if (auto f = a.get("--frames")) {
            char* e = nullptr;
            const long v = std::strtol(f->c_str(), &e, 10);
            if (*e || v < 2 || v > 100000) return usageError("--frames must be a count between 2 and 100000");
            frames = static_cast<int>(v);
        }
        if (auto f = a.get("--fps")) {
            char* e = nullptr;
            fps = std::strtod(f->c_str(), &e);
            if (*e || !(fps > 0 && fps <= 1000)) return usageError("--fps must be a rate between 0 and 1000");
        }
        auto keys = readCameraBookmarks(*p);
        if (!keys) return inputError(keys.error().what());
        if (keys->size() < 2) return inputError(*p + ": a camera path needs at least two bookmarks");
        std::unique_ptr<SceneRenderer> renderer;
        std::shared_ptr<VulkanContext> ctx;
        std::string device = "CPU reference";
        if (!a.has("--cpu")) {
            auto c = VulkanContext::create();
            if (!c) return inputError(c.error().what() + " (use --cpu for the CPU reference renderer)");
            ctx = *c;
            device = ctx->deviceName();
            auto r = SceneRenderer::create(ctx);
            if (!r) return inputError(r.error().what());
            renderer = std::move(*r);
            if (auto st = renderer->setScene(*scene); !st) return inputError(st.error().what());
        }
        VideoFileOptions vo;
        vo.fps = fps;
        const bool tty = isatty(fileno(stderr));
        auto rep = writePathVideo(renderer.get(), *scene, *keys, frames, view, *out, vo, [&](int f, int n) {
            if (tty) std::fprintf(stderr, "\rframe %d/%d", f + 1, n);
            return true;
        });
        if (tty) std::fprintf(stderr, "\n");
        if (!rep) return inputError(rep.error().what());
        std::printf("%s: %d frames through %zu bookmarks, %dx%d at %g fps on %s, %.1f ms a frame to render, %.1f s in all\nwrote %s\n",
                    a.positional[0].c_str(), rep->frames, keys->size(), view.width & ~1, view.height & ~1, fps, device.c_str(),
                    rep->renderMs / rep->frames, rep->totalMs / 1000.0, out->c_str());
        return 0;
    }
    if (auto e = applyCameraArgs(a, view.camera)) return usageError(*e);

    const auto t0 = std::chrono::steady_clock::now();
    Image img;
    std::string device = "CPU reference";
    if (a.has("--cpu")) {
        img = renderSceneReference(*scene, view);
    } else if (mixed) {
        auto ctx = VulkanContext::create();
        if (!ctx) return inputError(ctx.error().what() + " (use --cpu for the CPU reference renderer)");
        device = (*ctx)->deviceName();
        auto r = SceneRenderer::create(*ctx);
        if (!r) return inputError(r.error().what());
        if (auto s = (*r)->setScene(*scene); !s) return inputError(s.error().what());
        auto im = (*r)->render(view);
        if (!im) return inputError(im.error().what());
        img = std::move(*im);
    } else {
        auto ctx = VulkanContext::create();
        if (!ctx) return inputError(ctx.error().what() + " (use --cpu for the CPU reference renderer)");
        device = (*ctx)->deviceName();
        if (splats) {
            auto r = SplatRenderer::create(*ctx);
            if (!r) return inputError(r.error().what());
            if (auto s = (*r)->setSplats(scene->splats); !s) return inputError(s.error().what());
            auto im = (*r)->render(view);
            if (!im) return inputError(im.error().what());
            img = std::move(*im);
        } else {
            auto r = MeshRenderer::create(*ctx);
            if (!r) return inputError(r.error().what());
            if (auto s = (*r)->setMeshes(scene->meshes); !s) return inputError(s.error().what());
            auto im = (*r)->render(view);
            if (!im) return inputError(im.error().what());
            img = std::move(*im);
        }
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!stbi_write_png(out->c_str(), img.width, img.height, 4, img.rgba.data(), img.width * 4))
        return inputError("could not write " + *out);
    const Vec3 e = view.camera.eye, t = view.camera.target;
    std::printf("%s: %s, %dx%d in %.0f ms on %s\ncamera: eye=%g,%g,%g,target=%g,%g,%g,fov=%g\nwrote %s\n",
                a.positional[0].c_str(),
                mixed    ? (std::to_string(scene->meshes.size()) + " meshes, " + std::to_string(scene->triangleCount()) + " triangles and " +
                            std::to_string(scene->splats.size()) + " Gaussians")
                               .c_str()
                : splats ? (std::to_string(scene->splats.size()) + " Gaussians").c_str()
                         : (std::to_string(scene->meshes.size()) + " meshes, " + std::to_string(scene->triangleCount()) + " triangles").c_str(),
                img.width, img.height, ms, device.c_str(), e.x, e.y, e.z, t.x, t.y, t.z, view.camera.fovYDeg, out->c_str());
    return 0;
}

int bakeCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"-o", "--output", "--samples"}, {"--help", "-h"});
    if (a.has("--help") || a.has("-h")) {
        std::puts(
            "usage: brickyard-cli bake IN -o OUT.ply [--samples N]\n"
            "\n"
            "Turns real geometry into 3D Gaussians written in the standard 3DGS PLY layout:\n"
            "a coloured point-cloud PLY gives one Gaussian per point; a mesh gives N Gaussians\n"
            "(default 200000) sampled over its surface and coloured by its texture.");
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("bake needs exactly one input file");
    auto out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return usageError("bake needs -o OUT.ply");
    size_t samples = 200000;
    if (auto s = a.get("--samples")) {
        char* e = nullptr;
        const long long v = std::strtoll(s->c_str(), &e, 10);
        if (*e || v < 1 || v > 100000000) return usageError("--samples must be a count between 1 and 100000000");
        samples = static_cast<size_t>(v);
    }
    const std::string in = a.positional[0];
    SplatCloud cloud;
    std::string ext = fs::path(in).extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto header = ext == ".ply" ? readPlyHeader(in) : Result<PlyTable>(makeError(ErrorCode::Format, ""));
    if (header.ok() && !header->hasFaces) {
        auto pc = readPointCloudPly(in);
        if (!pc) return inputError(pc.error().what());
        for (const auto& w : pc->warnings) std::fprintf(stderr, "warning: %s: %s\n", in.c_str(), w.c_str());
        cloud = bakePointCloud(pc->positions, pc->colors, pc->normals);
    } else {
        auto scene = loadMeshScene(in);
        if (!scene) return inputError(scene.error().what());
        for (const auto& w : scene->warnings) std::fprintf(stderr, "warning: %s: %s\n", in.c_str(), w.c_str());
        cloud = bakeMeshSurfaces(scene->meshes, samples, 1);
    }
    if (auto s = writeSplatPly(cloud, *out); !s) return inputError(s.error().what());
    std::printf("baked %zu Gaussians (SH degree %d) from %s into %s\n", cloud.size(), cloud.shDegree, in.c_str(), out->c_str());
    return 0;
}

}  // namespace by::cli

namespace by::cli {

namespace {

// Renders `cloud` on `renderer` (Vulkan) or the CPU reference when it is null; the frame time of
// the median of three draws.
Result<std::pair<Image, double>> drawSplats(SplatRenderer* renderer, const SplatCloud& cloud, const RenderView& view) {
    std::vector<double> ms;
    Image img;
    for (int k = 0; k < (renderer ? 3 : 1); ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        if (renderer) {
            auto im = renderer->render(view);
            if (!im) return im.error();
            img = std::move(*im);
        } else {
            img = renderSplatsReference(cloud, view);
        }
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return std::make_pair(std::move(img), ms[ms.size() / 2]);
}

bool parseBits(const std::string& s, SplatBits& b) {
    int v[6] = {0, 0, 0, 0, 0, 0};
    int k = 0;
    size_t at = 0;
    while (at <= s.size() && k < 6) {
        const size_t e = std::min(s.find(',', at), s.size());
        char* end = nullptr;
        const long x = std::strtol(s.substr(at, e - at).c_str(), &end, 10);
        if (e == at || *end) return false;
        v[k++] = static_cast<int>(x);
        at = e + 1;
        if (e == s.size()) break;
    }
    if (k != 6 || at <= s.size()) return false;
    b = SplatBits{v[0], v[1], v[2], v[3], v[4], v[5]};
    return true;
}

}  // namespace

int splatCompressCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"-o", "--output", "--min-opacity", "--keep", "--sh-degree", "--bits", "--size"},
                             {"--help", "-h", "--cpu"});
    if (a.has("--help") || a.has("-h")) {
        std::printf(
            "usage: brickyard-cli splat-compress IN -o OUT.bysplat|OUT.ply [options]\n"
            "Prunes and quantizes a Gaussian-splat scene, writes it, and prints its size and how its\n"
            "renders compare with the original's (PSNR, SSIM, frame time) from three views.\n"
            "  --min-opacity F  drop splats less opaque than F (0..1)\n"
            "  --keep F         then keep the fraction F with the largest contribution (opacity x area)\n"
            "  --sh-degree N    keep spherical harmonics up to degree N (0..3)\n"
            "  --bits P,S,R,O,DC,SH  bits for position, scale, rotation, opacity, SH DC, higher SH\n"
            "                   (0 keeps f32; 2..16). A .bysplat file stores them packed; a .ply\n"
            "                   stores the quantized values as f32\n"
            "  --size WxH       size of the comparison renders (default 640x360)\n"
            "  --cpu            compare with the CPU reference renderer instead of Vulkan\n");
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("splat-compress needs exactly one IN scene");
    auto out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return usageError("splat-compress needs -o OUT.bysplat or OUT.ply");
    const std::string ext = fs::path(*out).extension().string();
    if (ext != ".bysplat" && ext != ".ply") return usageError("the output must end in .bysplat or .ply, not '" + ext + "'");
    if (fs::exists(*out) && fs::exists(a.positional[0]) && fs::equivalent(*out, a.positional[0]))
        return usageError("the output would overwrite the input " + a.positional[0]);
    SplatCompression c;
    auto number = [&](const char* key, double& v) -> bool {
        auto s = a.get(key);
        if (!s) return true;
        char* e = nullptr;
        v = std::strtod(s->c_str(), &e);
        return !s->empty() && !*e;
    };
    double minOpacity = 0, keep = 1, sh = -1;
    if (!number("--min-opacity", minOpacity) || !number("--keep", keep) || !number("--sh-degree", sh))
        return usageError("--min-opacity, --keep and --sh-degree take numbers");
    c.minOpacity = static_cast<float>(minOpacity);
    c.keep = keep;
    c.shDegree = static_cast<int>(sh);
    if (auto b = a.get("--bits"); b && !parseBits(*b, c.bits))
        return usageError("--bits needs six comma-separated widths, e.g. 16,8,8,8,8,4");
    RenderView view;
    view.width = 640;
    view.height = 360;
    if (auto s = a.get("--size"); s && !parseSize(*s, view.width, view.height))
        return usageError("--size must look like 640x360 (1..16384 each way)");

    auto scene = loadScene(a.positional[0]);
    if (!scene) return inputError(scene.error().what());
    if (scene->splats.size() == 0) return inputError(a.positional[0] + ": the scene holds no Gaussian splats");
    for (const auto& w : scene->warnings) std::fprintf(stderr, "warning: %s: %s\n", a.positional[0].c_str(), w.c_str());
    SplatCompressionReport rep;
    auto packed = compressSplats(scene->splats, c, &rep);
    if (!packed) return inputError(a.positional[0] + ": " + packed.error().what());
    uint64_t written = 0;
    if (ext == ".bysplat") {
        auto w = writeSplatPacked(*packed, c.bits, *out);
        if (!w) return inputError(w.error().what());
        written = *w;
    } else {
        if (auto st = writeSplatPly(*packed, *out); !st) return inputError(st.error().what());
        written = fs::file_size(*out);
    }
    const uint64_t before = fs::file_size(a.positional[0]);
    std::printf("splats %zu -> %zu (SH degree %d -> %d)\n", rep.splatsBefore, rep.splatsAfter, rep.shBefore, rep.shAfter);
    std::printf("size   %.2f MiB -> %.2f MiB (%.1fx smaller)\n", before / 1048576.0, written / 1048576.0,
                static_cast<double>(before) / static_cast<double>(std::max<uint64_t>(written, 1)));

    // The comparison renders the file that was written, read back, so its numbers are the file's.
    auto back = loadScene(*out);
    if (!back) return inputError("reading back " + *out + ": " + back.error().what());
    std::shared_ptr<VulkanContext> ctx;
    std::unique_ptr<SplatRenderer> original, compressed;
    std::string device = "CPU reference";
    if (!a.has("--cpu")) {
        auto made = VulkanContext::create();
        if (!made) return inputError(made.error().what() + " (use --cpu for the CPU reference renderer)");
        ctx = std::move(*made);
        device = ctx->deviceName();
        auto r0 = SplatRenderer::create(ctx), r1 = SplatRenderer::create(ctx);
        if (!r0 || !r1) return inputError((!r0 ? r0.error() : r1.error()).what());
        original = std::move(*r0);
        compressed = std::move(*r1);
        if (auto s = original->setSplats(scene->splats); !s) return inputError(s.error().what());
        if (auto s = compressed->setSplats(back->splats); !s) return inputError(s.error().what());
    }
    const Camera front = Camera::frame(scene->bounds(), view.aspect());
    std::printf("%-14s %9s %7s %22s\n", "view", "PSNR", "SSIM", "frame ms (orig -> new)");
    const std::pair<const char*, std::pair<float, float>> views[] = {{"front", {0, 0}}, {"orbit 60,15", {60, 15}}, {"orbit -120,30", {-120, 30}}};
    for (const auto& [name, orbit] : views) {
        view.camera = front;
        view.camera.orbit(orbit.first, orbit.second);
        auto x = drawSplats(original.get(), scene->splats, view);
        auto y = drawSplats(compressed.get(), back->splats, view);
        if (!x || !y) return inputError((!x ? x.error() : y.error()).what());
        std::printf("%-14s %6.2f dB %7.4f %10.1f -> %.1f\n", name, psnr(x->first, y->first), ssim(x->first, y->first), x->second,
                    y->second);
    }
    std::printf("renders %dx%d on %s\nwrote %s\n", view.width, view.height, device.c_str(), out->c_str());
    return 0;
}

}  // namespace by::cli
