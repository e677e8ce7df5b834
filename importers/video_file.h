#pragma once
// Ordinary video files of rendered images (a camera path through a scene): RGBA8 frames in,
// H.264 (libx264, yuv420p, the format every player takes) in an MP4 or Matroska container out,
// chosen by the file's extension. probeVideo() decodes a file back, frame by frame, to count its
// frames (and so proves that it plays).
#include <memory>
#include <string>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

struct VideoFileOptions {
    double fps = 30;
    int crf = 20;                   // libx264 quality (0 best .. 51)
    std::string preset = "medium";
};

class VideoFileWriter {
public:
    // Width and height must be even (4:2:0 chroma); fails with one sentence otherwise.
    static Result<std::unique_ptr<VideoFileWriter>> open(const std::string& path, int width, int height,
                                                         const VideoFileOptions& options = {});
    ~VideoFileWriter();
    Status write(const Image& frame);  // same size as opened
    Status finish();                   // flushes the encoder and writes the trailer
    int framesWritten() const;

private:
    VideoFileWriter();
    struct Impl;
    std::unique_ptr<Impl> m;
};

struct VideoFileInfo {
    int width = 0, height = 0;
    int frames = 0;        // frames decoded
    double fps = 0;
    std::string codec;
};

Result<VideoFileInfo> probeVideo(const std::string& path);

}  // namespace by
