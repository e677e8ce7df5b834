#pragma once
// Camera bookmarks as a small JSON file, the input of a camera-path video:
// {"format": "brickyard-camera-bookmarks", "version": 1,
//  "bookmarks": [{"name": "view 1", "eye": [x, y, z], "target": [x, y, z], "up": [x, y, z],
//                 "fov": 45, "near": 0.01, "far": 100}, ...]}
// "up", "fov", "near" and "far" are optional (Y up, 45 degrees, the default planes).
#include <string>
#include <vector>

#include "engine/camera_path.h"
#include "engine/error.h"

namespace by {

Result<std::vector<CameraKey>> readCameraBookmarks(const std::string& path);
Status writeCameraBookmarks(const std::vector<CameraKey>& keys, const std::string& path);

}  // namespace by
