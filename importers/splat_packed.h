#pragma once
// Brickyard's packed Gaussian-splat file (.bysplat): each attribute channel stored on its own,
// either as raw f32 or as unsigned codes of a fixed bit width over the channel's [lo, hi] range
// (engine/splat_compress.h quantizes the same way), bit-packed. Little-endian:
//   "BYSPLAT1", u32 count, u8 SH degree, u8 bits x 6 (position, scale, rotation, opacity, SH DC,
//   higher SH; 0 = f32), u8 0
//   then per channel - position x y z, log-scale x y z, rotation w x y z, opacity logit, SH
//   coefficients [coefficient][rgb] - either count f32, or f32 lo, f32 hi and ceil(count*bits/8)
//   bytes of codes, least significant bit first.
#include <string>

#include "engine/error.h"
#include "engine/scene.h"
#include "engine/splat_compress.h"

namespace by {

// Writes atomically; the bytes written are returned.
Result<uint64_t> writeSplatPacked(const SplatCloud& cloud, const SplatBits& bits, const std::string& path);
// Fails naming the file and what is wrong (bad magic, a bit width out of range, truncation).
Result<Scene> readSplatPacked(const std::string& path);

}  // namespace by
