#pragma once
// A Gaussian video stored as one 3DGS PLY file a frame. The frames are named either
//  - by a printf-style pattern with one integer conversion ("frames/f_%04d.ply"), counted from the
//    first index that exists (0 or 1) up to the last consecutive one, or
//  - by a folder: every *.ply in it, ordered by the last number in the name.
// Every frame must hold the same number of Gaussians at the same SH degree (they are the same
// Gaussians, moved); a gap in the numbering, a differing count, a truncated file or a frame with
// dropped (NaN, zero-size) Gaussians is refused with the frame and the file named.
#include <memory>
#include <string>
#include <vector>

#include "engine/splat_sequence.h"

namespace by {

// The frame files of a folder or pattern, in order; an error when there are none or one is missing.
Result<std::vector<std::string>> listPlySequence(const std::string& folderOrPattern);

class PlySequenceSource : public SplatFrameSource {
public:
    // Reads frame 0's header (count, degree) and every other frame's header so a differing count
    // is reported before any frame is used.
    static Result<std::unique_ptr<PlySequenceSource>> open(const std::string& folderOrPattern, double fps = 30.0);

    int frameCount() const override { return static_cast<int>(m_files.size()); }
    size_t splatCount() const override { return m_splats; }
    int shDegree() const override { return m_degree; }
    double fps() const override { return m_fps; }
    int position() const override { return m_next; }
    Status seek(int frame) override;
    Result<SplatCloud> read() override;
    std::string describe() const override { return "PLY sequence " + m_spec; }

    const std::vector<std::string>& files() const { return m_files; }
    // Sum of the frame files' sizes in bytes (what the 2D-video form is compared against).
    uint64_t totalBytes() const;

private:
    PlySequenceSource() = default;
    std::string m_spec;
    std::vector<std::string> m_files;
    size_t m_splats = 0;
    int m_degree = 0;
    double m_fps = 30.0;
    int m_next = 0;
};

}  // namespace by
