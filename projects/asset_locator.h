#pragma once
// Finding an asset again after the project folder or the asset itself moved. Pure file-system
// logic, no database: Project::resolveAssetPath() is the way in.
#include <optional>
#include <string>

#include "projects/project_records.h"

namespace by {

// Tries, in order: the relative path against `projectFolder`, the recorded absolute path, then a
// bounded search of `projectFolder` for the same content. Never fails; see AssetStatus.
AssetLocation locateAsset(const Asset& asset, const std::string& projectFolder);

// Searches below `root` (bounded in depth and entries) for a file with the asset's size and
// SHA-256, or a folder with the asset's folder name and hash. Only candidates of the right size
// or name are hashed, so a search is cheap unless the folder holds many same-sized files.
std::optional<std::string> findByContent(const Asset& asset, const std::string& root);

}  // namespace by
