#pragma once
// A camera path through key views (the viewport's bookmarks): eye and target follow uniform
// Catmull-Rom splines through the keys (ends clamped), field of view is interpolated linearly, and the up vector is the normalised blend of the two keys' (Y up for
// views that share it). Sampling is uniform in key index, so every stretch between two keys gets
// the same number of frames.
#include <string>
#include <vector>

#include "engine/camera.h"

namespace by {

struct CameraKey {
    std::string name;
    Camera camera;
};

// t in [0, 1] over the whole path; a single key gives that key; no key gives a default camera.
Camera cameraOnPath(const std::vector<CameraKey>& keys, float t);
// `frames` cameras evenly spaced along the path, first and last exactly on the first and last key.
std::vector<Camera> sampleCameraPath(const std::vector<CameraKey>& keys, int frames);

}  // namespace by
