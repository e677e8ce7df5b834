#include "app/cli/render_command.h"

#include <stb_image_write.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "engine/splat_baker.h"
#include "importers/mesh_importer.h"
#include "importers/ply_table.h"
#include "importers/splat_io.h"
#include "renderers/mesh_reference.h"
#include "renderers/mesh_renderer.h"
#include "renderers/splat_reference.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

void printRenderHelp() {
    std::puts(
        "usage: brickyard-cli render SCENE [--camera SPEC] [--size WxH] [--cpu] -o OUT.png\n"
        "\n"
        "Renders a mesh (glTF/glb, OBJ, PLY, FBX, Collada, ...) or 3D Gaussian splats (3DGS .ply, .splat)\n"
        "offscreen with Vulkan and writes a PNG.\n"
        "  --camera SPEC   eye=x,y,z,target=x,y,z,up=x,y,z,fov=deg (any subset); default: the whole\n"
        "                  scene framed from the front, looking down -Z with Y up\n"
        "  --orbit Y,P     turn the camera around its target by yaw and pitch degrees\n"
        "  --size WxH      image size (default 1280x720)\n"
        "  --cpu           use the CPU reference renderer instead of Vulkan\n"
        "  -o, --output    the PNG to write");
}

bool parseSize(const std::string& s, int& w, int& h) {
    const size_t x = s.find('x');
    if (x == std::string::npos) return false;
    char* e1 = nullptr;
    char* e2 = nullptr;
    const long a = std::strtol(s.substr(0, x).c_str(), &e1, 10);
    const long b = std::strtol(s.substr(x + 1).c_str(), &e2, 10);
    if (*e1 || *e2 || a < 1 || b < 1 || a > 16384 || b > 16384) return false;
    w = static_cast<int>(a), h = static_cast<int>(b);
    return true;
}

}  // namespace

int renderCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--camera", "--size", "-o", "--output", "--orbit"}, {"--help", "-h", "--cpu"});
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

    auto scene = loadScene(a.positional[0]);
    if (!scene) return inputError(scene.error().what());
    for (const auto& w : scene->warnings) std::fprintf(stderr, "warning: %s: %s\n", a.positional[0].c_str(), w.c_str());
    const bool splats = scene->meshes.empty();
    view.camera = Camera::frame(scene->bounds(), view.aspect());
    if (auto c = a.get("--camera")) {
        auto cam = parseCamera(*c, view.camera);
        if (!cam) return usageError("--camera: " + cam.error().message);
        view.camera = *cam;
    }
    if (auto o = a.get("--orbit")) {
        float yaw = 0, pitch = 0;
        if (std::sscanf(o->c_str(), "%f,%f", &yaw, &pitch) != 2) return usageError("--orbit must look like 30,15 (yaw,pitch degrees)");
        view.camera.orbit(yaw, pitch);
    }

    const auto t0 = std::chrono::steady_clock::now();
    Image img;
    std::string device = "CPU reference";
    if (a.has("--cpu")) {
        img = splats ? renderSplatsReference(scene->splats, view) : renderMeshesReference(scene->meshes, view);
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
                splats ? (std::to_string(scene->splats.size()) + " Gaussians").c_str()
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
