#include "app/cli/path_video.h"

#include <chrono>
#include <filesystem>

#include "renderers/scene_renderer.h"

namespace by {

Result<PathVideoReport> writePathVideo(SceneRenderer* renderer, const Scene& scene, const std::vector<CameraKey>& keys, int frames,
                                       RenderView view, const std::string& out, const VideoFileOptions& options,
                                       const std::function<bool(int, int)>& progress) {
    if (keys.size() < 2) return makeError(ErrorCode::Invalid, "a camera path needs at least two bookmarks", "writing " + out);
    if (frames < 2 || frames > 100000) return makeError(ErrorCode::Invalid, "a camera path needs 2 to 100000 frames", "writing " + out);
    view.width &= ~1, view.height &= ~1;  // 4:2:0 video wants even sizes
    const auto t0 = std::chrono::steady_clock::now();
    auto writer = VideoFileWriter::open(out, view.width, view.height, options);
    if (!writer) return std::move(writer.error());
    PathVideoReport rep;
    const std::vector<Camera> cams = sampleCameraPath(keys, frames);
    for (int f = 0; f < frames; ++f) {
        if (progress && !progress(f, frames)) {
            (*writer).reset();
            std::error_code ec;
            std::filesystem::remove(out, ec);
            return makeError(ErrorCode::Cancelled, "cancelled at frame " + std::to_string(f), "writing " + out);
        }
        view.camera = cams[static_cast<size_t>(f)];
        const auto tr = std::chrono::steady_clock::now();
        Image img;
        if (renderer) {
            auto im = renderer->render(view);
            if (!im) return std::move(im.error());
            img = std::move(*im);
        } else {
            img = renderSceneReference(scene, view);
        }
        rep.renderMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tr).count();
        BY_TRY((*writer)->write(img));
    }
    BY_TRY((*writer)->finish());
    rep.frames = (*writer)->framesWritten();
    rep.totalMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace by
