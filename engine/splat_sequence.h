#pragma once
// A Gaussian video: a sequence of splat frames with the same Gaussians in every frame (Gaussian i of
// frame k is Gaussian i of frame 0, moved). Frames are read one at a time so a long sequence never
// has to fit in memory; where they come from (a folder of 3DGS PLY files, the 2D-video form) is the
// importers' business. Also the motion that turns one baked scene into a sequence.
#include <cstddef>
#include <string>

#include "engine/error.h"
#include "engine/scene.h"

namespace by {

class SplatFrameSource {
public:
    virtual ~SplatFrameSource() = default;
    virtual int frameCount() const = 0;
    virtual size_t splatCount() const = 0;
    virtual int shDegree() const = 0;
    virtual double fps() const = 0;
    // Index of the frame the next read() returns.
    virtual int position() const = 0;
    // Makes the next read() return frame `frame` (0 <= frame < frameCount()).
    virtual Status seek(int frame) = 0;
    // The frame at position(), then advances; an error past the last frame or on a broken frame.
    virtual Result<SplatCloud> read() = 0;
    // Where the frames come from, for messages ("PLY sequence frames/%04d.ply").
    virtual std::string describe() const = 0;
};

// A motion for a baked scene, periodic over one sequence: the whole cloud turns about the vertical
// axis through its centre, twists (the turn grows with height and swings back and forth) and a
// travelling wave lifts it. Amounts are relative to the cloud's size so any scene moves alike.
struct SplatMotion {
    float turnDeg = 360.0f;       // turn about +Y over the whole sequence
    float twistDeg = 40.0f;       // extra turn between bottom and top at the swing's peak
    float waveAmplitude = 0.04f;  // vertical wave height, fraction of the cloud's largest extent
    float waveCount = 1.5f;       // wave crests across the cloud's x extent
};

// Frame at `phase` (0..1 over the sequence) of `base` moved by `motion`: positions and rotations
// change (Gaussians turn with the surface), scales, opacities and colours stay.
SplatCloud animateSplats(const SplatCloud& base, float phase, const SplatMotion& motion = {});

}  // namespace by
