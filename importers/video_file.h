#pragma once
// Writing video files with FFmpeg, for both kinds the project makes: ordinary videos of rendered
// images (a camera path through a scene: RGBA8 frames in, H.264 yuv420p, the format every player
// takes, in MP4 or Matroska) and the attribute images of a Gaussian video (gray or 4:4:4 planes of
// data, full range, lossless or near it; importers/gaussian_video.cpp). probeVideo() decodes a
// file back, frame by frame, to count its frames (and so proves that it plays).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

struct VideoFileOptions {
    double fps = 30;
    int crf = 20;                   // libx264 quality (0 best .. 51)
    std::string preset = "medium";
};

enum class VideoPixels { Gray8, Yuv444p, Yuv420p };

struct VideoEncoderSettings {
    std::string container;  // "mp4" or "matroska"; empty: from the extension (.mkv Matroska, else MP4)
    std::string codec = "libx264";
    VideoPixels pixels = VideoPixels::Yuv420p;
    double fps = 30;
    int keyframeInterval = 60;
    bool fullRange = false;  // planes of data (JPEG range), not studio-range video
    std::vector<std::pair<std::string, std::string>> codecOptions;  // {"crf", "20"}, {"preset", "medium"}, ...
};

class VideoFileWriter {
public:
    // H.264 yuv420p from RGBA frames. Width and height must be even (4:2:0 chroma).
    static Result<std::unique_ptr<VideoFileWriter>> open(const std::string& path, int width, int height,
                                                         const VideoFileOptions& options = {});
    static Result<std::unique_ptr<VideoFileWriter>> open(const std::string& path, int width, int height,
                                                         const VideoEncoderSettings& settings);
    ~VideoFileWriter();
    Status write(const Image& frame);  // same size as opened; converted to the encoder's pixels
    // One width*height byte image per plane (1 for Gray8, 3 for Yuv444p), written as they are.
    Status writePlanes(const std::vector<std::vector<uint8_t>>& planes);
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
