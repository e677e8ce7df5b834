#include "app/cli/gvideo_command.h"

#include <stb_image_write.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "engine/splat_baker.h"
#include "engine/splat_sequence.h"
#include "importers/gaussian_video.h"
#include "importers/mesh_importer.h"
#include "importers/ply_sequence.h"
#include "importers/ply_table.h"
#include "importers/splat_io.h"
#include "renderers/splat_reference.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

void printHelp() {
    std::puts(
        "usage: brickyard-cli gvideo <animate|encode|render|info> ...\n"
        "\n"
        "Gaussian video: a sequence of 3D Gaussian splat frames, as PLY files or in the 2D-video form\n"
        "(every attribute quantized into the pixels of video frames, docs/gaussian_video.md).\n"
        "\n"
        "  gvideo animate SCENE -o DIR [--frames N] [--samples N] [--turn DEG] [--twist DEG] [--wave A]\n"
        "      turn a scene (a mesh, a point cloud or a splat PLY) into N moving frames DIR/frame_0000.ply...\n"
        "      (meshes are baked into --samples Gaussians, default 50000; default 60 frames)\n"
        "  gvideo encode SEQ -o OUT [--codec libx264|ffv1] [--crf N] [--preset P] [--keyint N]\n"
        "                [--size WxH] [--no-psnr] [--cpu]\n"
        "      write the 2D-video form of a PLY sequence (a folder or a pattern like f_%04d.ply) into the\n"
        "      folder OUT; prints its size against the PLY files and, per frame, the PSNR of the decoded\n"
        "      frame's render against the raw frame's render (default 640x360, Vulkan unless --cpu)\n"
        "  gvideo render IN (--frame K | --frames A:B) -o OUT.png [--size WxH] [--camera SPEC] [--cpu]\n"
        "      render frames of a Gaussian video (its folder or manifest.json) or of a PLY sequence;\n"
        "      with --frames OUT needs a %d (frame_%03d.png)\n"
        "  gvideo info IN\n"
        "      frames, Gaussians, grid, streams and sizes of a Gaussian video");
}

bool parseInt(const std::string& s, long lo, long hi, int& out) {
    char* e = nullptr;
    const long v = std::strtol(s.c_str(), &e, 10);
    if (s.empty() || *e || v < lo || v > hi) return false;
    out = static_cast<int>(v);
    return true;
}

std::string megabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MB", static_cast<double>(bytes) / 1e6);
    return buf;
}

// Frames the cloud from the front, widened so that any turn about the vertical axis through its
// centre stays in the picture (the animation turns the scene about that axis).
Camera sequenceCamera(const SplatCloud& first, float aspect) {
    Bounds b = first.bounds();
    const Vec3 c = b.center(), s = b.size();
    const float r = 0.5f * std::sqrt(s.x * s.x + s.z * s.z);
    b.min.x = c.x - r, b.max.x = c.x + r, b.min.z = c.z - r, b.max.z = c.z + r;
    return Camera::frame(b, aspect);
}

// Renders with Vulkan, or the CPU reference when asked to (or when there is no Vulkan device).
class FrameRenderer {
public:
    Status init(bool cpu) {
        if (cpu) return {};
        auto ctx = VulkanContext::create();
        if (!ctx) return makeError(ctx.error().code, ctx.error().what() + " (use --cpu for the CPU reference renderer)");
        m_device = (*ctx)->deviceName();
        auto r = SplatRenderer::create(*ctx);
        if (!r) return std::move(r.error());
        m_renderer = std::move(*r);
        m_ctx = *ctx;
        return {};
    }
    Result<Image> render(const SplatCloud& cloud, const RenderView& view) {
        if (!m_renderer) return renderSplatsReference(cloud, view);
        BY_TRY(m_renderer->setSplats(cloud));
        return m_renderer->render(view);
    }
    const std::string& device() const { return m_device; }

private:
    std::shared_ptr<VulkanContext> m_ctx;
    std::unique_ptr<SplatRenderer> m_renderer;
    std::string m_device = "CPU reference";
};

Result<SplatCloud> loadBaseCloud(const std::string& in, size_t samples) {
    std::string ext = fs::path(in).extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ext == ".splat") {
        auto s = readDotSplat(in);
        if (!s) return std::move(s.error());
        return std::move(s->splats);
    }
    if (ext == ".ply" && isSplatPly(in)) {
        auto s = readSplatPly(in);
        if (!s) return std::move(s.error());
        for (const auto& w : s->warnings) std::fprintf(stderr, "warning: %s: %s\n", in.c_str(), w.c_str());
        return std::move(s->splats);
    }
    auto header = ext == ".ply" ? readPlyHeader(in) : Result<PlyTable>(makeError(ErrorCode::Format, ""));
    if (header.ok() && !header->hasFaces) {
        auto pc = readPointCloudPly(in);
        if (!pc) return std::move(pc.error());
        return bakePointCloud(pc->positions, pc->colors, pc->normals);
    }
    auto scene = loadMeshScene(in);
    if (!scene) return std::move(scene.error());
    return bakeMeshSurfaces(scene->meshes, samples, 1);
}

int animate(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"-o", "--output", "--frames", "--samples", "--turn", "--twist", "--wave"}, {});
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("gvideo animate needs exactly one SCENE file");
    auto out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return usageError("gvideo animate needs -o DIR");
    int frames = 60, samples = 50000;
    if (auto f = a.get("--frames"); f && !parseInt(*f, 1, 100000, frames)) return usageError("--frames must be a count between 1 and 100000");
    if (auto s = a.get("--samples"); s && !parseInt(*s, 1, 100000000, samples))
        return usageError("--samples must be a count between 1 and 100000000");
    SplatMotion motion;
    for (auto [key, field] : {std::pair{"--turn", &motion.turnDeg}, std::pair{"--twist", &motion.twistDeg},
                              std::pair{"--wave", &motion.waveAmplitude}})
        if (auto v = a.get(key)) {
            char* e = nullptr;
            *field = std::strtof(v->c_str(), &e);
            if (v->empty() || *e || !std::isfinite(*field)) return usageError(std::string(key) + " must be a number");
        }
    auto base = loadBaseCloud(a.positional[0], static_cast<size_t>(samples));
    if (!base) return inputError(base.error().what());
    std::error_code ec;
    fs::create_directories(*out, ec);
    if (ec) return inputError("cannot create " + *out + ": " + ec.message());
    uint64_t bytes = 0;
    for (int k = 0; k < frames; ++k) {
        const SplatCloud frame = animateSplats(*base, static_cast<float>(k) / static_cast<float>(frames), motion);
        char name[32];
        std::snprintf(name, sizeof name, "frame_%04d.ply", k);
        const std::string path = (fs::path(*out) / name).string();
        if (auto s = writeSplatPly(frame, path); !s) return inputError(s.error().what());
        bytes += fs::file_size(path, ec);
    }
    std::printf("wrote %d frames of %zu Gaussians (SH degree %d) from %s into %s/frame_%%04d.ply, %s\n", frames, base->size(),
                base->shDegree, a.positional[0].c_str(), out->c_str(), megabytes(bytes).c_str());
    return 0;
}

int encode(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"-o", "--output", "--codec", "--crf", "--preset", "--keyint", "--size", "--fps"}, {"--no-psnr", "--cpu"});
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("gvideo encode needs exactly one PLY sequence (a folder or a %d pattern)");
    auto out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return usageError("gvideo encode needs -o OUT_DIR");
    GaussianVideoOptions o;
    if (auto c = a.get("--codec")) o.codec = *c;
    if (o.codec != "libx264" && o.codec != "ffv1") return usageError("--codec must be libx264 or ffv1");
    if (auto c = a.get("--crf"); c && !parseInt(*c, 0, 51, o.crf)) return usageError("--crf must be within 0..51");
    if (auto p = a.get("--preset")) o.preset = *p;
    if (auto k = a.get("--keyint"); k && !parseInt(*k, 1, 10000, o.keyframeInterval)) return usageError("--keyint must be within 1..10000");
    RenderView view;
    view.width = 640, view.height = 360;
    if (auto s = a.get("--size"); s && !parseSize(*s, view.width, view.height)) return usageError("--size must look like 640x360");
    double fps = 30;
    if (auto f = a.get("--fps")) {
        fps = std::atof(f->c_str());
        if (!(fps > 0 && fps <= 1000)) return usageError("--fps must be within 0..1000");
    }
    auto src = PlySequenceSource::open(a.positional[0], fps);
    if (!src) return inputError(src.error().what());
    const auto t0 = std::chrono::steady_clock::now();
    const bool tty = isatty(2);
    auto info = writeGaussianVideo(**src, *out, o, [&](int k, int total) {
        if (tty) std::fprintf(stderr, "\rencoding %d/%d", k + 1, total);
    });
    if (tty) std::fputc('\n', stderr);
    if (!info) return inputError(info.error().what());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const uint64_t raw = (*src)->totalBytes();
    std::printf("%s: %d frames x %zu Gaussians (SH degree %d) -> %s, grid %dx%d, %s%s, %.1f s\n", a.positional[0].c_str(), info->frames,
                info->splats, info->shDegree, out->c_str(), info->width, info->height, o.codec.c_str(),
                o.codec == "libx264" ? (" crf " + std::to_string(o.crf) + " (position high byte lossless)").c_str() : " (lossless)", secs);
    for (const auto& st : info->streams)
        std::printf("  %-12s %s\n", st.name.c_str(), st.file.empty() ? "constant (no video)" : (st.file + "  " + megabytes(st.bytes)).c_str());
    std::printf("size: %s against %s of PLY frames: %.1fx smaller (%.1f%%)\n",
                megabytes(info->totalBytes).c_str(), megabytes(raw).c_str(),
                static_cast<double>(raw) / static_cast<double>(info->totalBytes),
                100.0 * static_cast<double>(info->totalBytes) / static_cast<double>(raw));
    if (a.has("--no-psnr")) return 0;

    auto dec = GaussianVideoReader::open(*out);
    if (!dec) return inputError(dec.error().what());
    FrameRenderer fr;
    if (auto s = fr.init(a.has("--cpu")); !s) return inputError(s.error().what());
    if (auto s = (*src)->seek(0); !s) return inputError(s.error().what());
    double sum = 0, worst = INFINITY;
    for (int k = 0; k < info->frames; ++k) {
        auto rawFrame = (*src)->read();
        if (!rawFrame) return inputError(rawFrame.error().what());
        auto decFrame = (*dec)->read();
        if (!decFrame) return inputError(decFrame.error().what());
        if (k == 0) view.camera = sequenceCamera(*rawFrame, view.aspect());
        auto ri = fr.render(*rawFrame, view);
        if (!ri) return inputError(ri.error().what());
        auto di = fr.render(*decFrame, view);
        if (!di) return inputError(di.error().what());
        const double p = psnr(*ri, *di);
        sum += std::isinf(p) ? 99.0 : p;
        worst = std::min(worst, p);
        std::printf("frame %4d  PSNR %.2f dB\n", k, p);
    }
    std::printf("PSNR of decoded against raw renders (%dx%d, %s): mean %.2f dB, worst %.2f dB\n", view.width, view.height, fr.device().c_str(),
                sum / info->frames, worst);
    return 0;
}

int render(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"-o", "--output", "--frame", "--frames", "--size", "--camera"}, {"--cpu"});
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("gvideo render needs exactly one Gaussian video or PLY sequence");
    auto out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return usageError("gvideo render needs -o OUT.png");
    RenderView view;
    if (auto s = a.get("--size"); s && !parseSize(*s, view.width, view.height)) return usageError("--size must look like 1280x720");
    auto src = openSplatSequence(a.positional[0]);
    if (!src) return inputError(src.error().what());
    const int n = (*src)->frameCount();
    int first = 0, last = 0;
    const bool range = a.get("--frames").has_value();
    if (auto f = a.get("--frame")) {
        if (!parseInt(*f, 0, 1 << 30, first)) return usageError("--frame must be a frame index");
        last = first;
    } else if (auto fr = a.get("--frames")) {
        const size_t colon = fr->find(':');
        if (colon == std::string::npos || !parseInt(fr->substr(0, colon), 0, 1 << 30, first) ||
            !parseInt(fr->substr(colon + 1), 0, 1 << 30, last) || last < first)
            return usageError("--frames must look like 0:59 (first:last)");
        if (out->find('%') == std::string::npos) return usageError("with --frames, -o needs a %d for the frame number (frame_%03d.png)");
    } else {
        return usageError("gvideo render needs --frame K or --frames A:B");
    }
    if (last >= n)
        return inputError((*src)->describe() + ": frame " + std::to_string(last) +
                          " does not exist (the sequence has " + std::to_string(n) + " frames)");
    FrameRenderer fr;
    if (auto s = fr.init(a.has("--cpu")); !s) return inputError(s.error().what());
    // The camera frames the first frame, so every rendered frame shares it.
    auto firstFrame = (*src)->read();
    if (!firstFrame) return inputError(firstFrame.error().what());
    view.camera = sequenceCamera(*firstFrame, view.aspect());
    if (auto c = a.get("--camera")) {
        auto cam = parseCamera(*c, view.camera);
        if (!cam) return usageError("--camera: " + cam.error().message);
        view.camera = *cam;
    }
    if (auto s = (*src)->seek(first); !s) return inputError(s.error().what());
    for (int k = first; k <= last; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        auto cloud = (*src)->read();
        if (!cloud) return inputError(cloud.error().what());
        const auto t1 = std::chrono::steady_clock::now();
        auto img = fr.render(*cloud, view);
        if (!img) return inputError(img.error().what());
        const auto t2 = std::chrono::steady_clock::now();
        std::string path = *out;
        if (range) {
            char buf[4096];
            std::snprintf(buf, sizeof buf, out->c_str(), k);
            path = buf;
        }
        if (!stbi_write_png(path.c_str(), img->width, img->height, 4, img->rgba.data(), img->width * 4)) return inputError("could not write " + path);
        std::printf("frame %d: %zu Gaussians, read %.1f ms, render %.1f ms on %s -> %s\n", k, cloud->size(),
                    std::chrono::duration<double, std::milli>(t1 - t0).count(), std::chrono::duration<double, std::milli>(t2 - t1).count(),
                    fr.device().c_str(), path.c_str());
    }
    return 0;
}

int info(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {}, {});
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("gvideo info needs exactly one Gaussian video");
    auto r = GaussianVideoReader::open(a.positional[0]);
    if (!r) return inputError(r.error().what());
    const GaussianVideoInfo& i = (*r)->info();
    std::printf("%s: %d frames at %g fps, %zu Gaussians (SH degree %d), grid %dx%d, codec %s, %s\n", a.positional[0].c_str(), i.frames, i.fps,
                i.splats, i.shDegree, i.width, i.height, i.codec.c_str(), megabytes(i.totalBytes).c_str());
    for (const auto& st : i.streams)
        std::printf("  %-12s %s\n", st.name.c_str(), st.file.empty() ? "constant (no video)" : (st.file + "  " + megabytes(st.bytes)).c_str());
    return 0;
}

}  // namespace

int gvideoCommand(const std::vector<std::string>& argv) {
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
        printHelp();
        return argv.empty() ? 2 : 0;
    }
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    for (const auto& r : rest)
        if (r == "--help" || r == "-h") {
            printHelp();
            return 0;
        }
    if (argv[0] == "animate") return animate(rest);
    if (argv[0] == "encode") return encode(rest);
    if (argv[0] == "render") return render(rest);
    if (argv[0] == "info") return info(rest);
    return usageError("unknown gvideo action '" + argv[0] + "' (animate, encode, render, info)");
}

}  // namespace by::cli
