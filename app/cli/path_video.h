#pragma once
// Renders a camera path through bookmarks into a video file: shared by `brickyard-cli render
// --path` and the viewport's "Export path video" button.
#include <functional>
#include <string>
#include <vector>

#include "engine/camera_path.h"
#include "engine/error.h"
#include "importers/video_file.h"
#include "renderers/render_types.h"

namespace by {

class SceneRenderer;

struct PathVideoReport {
    int frames = 0;
    double renderMs = 0;  // all frames, rendering only
    double totalMs = 0;   // rendering and encoding
};

// `view` gives the size (made even by dropping a row/column if needed) and the background; its
// camera is replaced frame by frame. `renderer` null: the CPU reference renders `scene`.
// `progress(frame, frames)` may return false to cancel (the partial file is removed).
Result<PathVideoReport> writePathVideo(SceneRenderer* renderer, const Scene& scene, const std::vector<CameraKey>& keys, int frames,
                                       RenderView view, const std::string& out, const VideoFileOptions& options = {},
                                       const std::function<bool(int, int)>& progress = {});

}  // namespace by
