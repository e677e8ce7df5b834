#pragma once
// `brickyard-cli gvideo animate|encode|render|info`: Gaussian video from the command line.
//  - animate SCENE -o DIR --frames N   moves a baked scene into a PLY sequence (DIR/frame_0000.ply ...)
//  - encode SEQ -o OUT                 writes the 2D-video form of a PLY sequence (folder or %d
//                                      pattern), prints its size against the raw sequence and the
//                                      per-frame PSNR of the decoded frames' renders against the raw ones
//  - render IN --frame K -o OUT.png    renders one frame (or --frames A:B with a %d in OUT) of a
//                                      Gaussian video or a PLY sequence
//  - info IN                           frames, Gaussians, grid and streams of a Gaussian video
#include <string>
#include <vector>

namespace by::cli {
int gvideoCommand(const std::vector<std::string>& args);
}  // namespace by::cli
