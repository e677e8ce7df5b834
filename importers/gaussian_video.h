#pragma once
// The 2D-video form of a Gaussian video (docs/gaussian_video.md): every Gaussian attribute is
// quantized per frame to 8 bits (positions to 16 bits, kept as a high-byte and a low-byte image)
// and written as the pixels of video frames, one video per attribute group, with the Gaussians
// laid out once on a 2-D grid in Morton order so that neighbouring pixels hold neighbouring
// Gaussians and the codec finds smooth images. A JSON manifest holds the layout and each frame's
// value ranges. Written and read with FFmpeg (libavcodec/libavformat); reading is streaming, one
// frame at a time, with seeking to any frame.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/splat_sequence.h"

namespace by {

struct GaussianVideoOptions {
    std::string codec = "libx264";  // "libx264" (lossy, crf) or "ffv1" (lossless)
    int crf = 18;                   // libx264 quality for the 8-bit images (0 best .. 51)
    int rotationCrfOffset = 6;      // the rotation images use crf - this (they matter most on screen)
    std::string preset = "medium";  // libx264 preset
    int keyframeInterval = 30;      // a seek decodes at most this many frames
};

struct GaussianVideoStream {
    std::string name;                 // "position_hi", "scale", "sh_0", ...
    std::string file;                 // relative to the manifest; empty when constant
    std::vector<int> channels;        // indices into the channel list, one per plane
    int part = 0;                     // 0: 8-bit value, 1: high byte, 2: low byte of a 16-bit value
    uint64_t bytes = 0;
};

struct GaussianVideoInfo {
    int frames = 0;
    size_t splats = 0;
    int shDegree = 0;
    double fps = 30;
    int width = 0, height = 0;        // the grid (image size of every stream)
    std::string codec;
    std::vector<std::string> channels;  // x y z scale_0..2 rot_x rot_y rot_z opacity sh_<k>_<rgb>...
    std::vector<int> channelBits;       // 16 for positions, 8 otherwise
    std::vector<GaussianVideoStream> streams;
    std::vector<std::vector<std::pair<float, float>>> ranges;  // [frame][channel] = (min, max)
    uint64_t totalBytes = 0;          // video files + manifest
};

// The order in which Gaussians fill the grid: order[slot] = index of the Gaussian in the frame.
// Morton (Z-order) of the positions inside their bounding box, so nearby Gaussians sit together.
std::vector<uint32_t> mortonOrder(const std::vector<Vec3>& positions);
// Pixel (x, y) of grid slot `slot` in a grid `width` wide: 16x16 blocks in rows, Z-order inside a block.
void gridPixel(size_t slot, int width, int& x, int& y);

using GaussianVideoProgress = std::function<void(int frame, int frames)>;

// Encodes every frame of `source` into `outDir` (created if needed): manifest.json and one video
// per attribute group that is not constant. Reads the source twice (ranges, then pixels).
Result<GaussianVideoInfo> writeGaussianVideo(SplatFrameSource& source, const std::string& outDir,
                                             const GaussianVideoOptions& options = {},
                                             const GaussianVideoProgress& progress = {});

// Streams a Gaussian video back. Frames come out with their Gaussians in grid order
// (mortonOrder of the first frame), not in the order of the original files.
class GaussianVideoReader : public SplatFrameSource {
public:
    // `path`: the manifest (.json) or the folder holding manifest.json.
    static Result<std::unique_ptr<GaussianVideoReader>> open(const std::string& path);
    ~GaussianVideoReader() override;

    int frameCount() const override;
    size_t splatCount() const override;
    int shDegree() const override;
    double fps() const override;
    int position() const override;
    Status seek(int frame) override;
    Result<SplatCloud> read() override;
    std::string describe() const override;

    const GaussianVideoInfo& info() const;

private:
    GaussianVideoReader();
    struct Impl;
    std::unique_ptr<Impl> m;
};

// True when `path` is a Gaussian video manifest or a folder holding one.
bool isGaussianVideo(const std::string& path);

// A Gaussian video or a PLY sequence (folder or %d pattern), whichever `path` is.
Result<std::unique_ptr<SplatFrameSource>> openSplatSequence(const std::string& path, double fps = 30.0);

}  // namespace by
