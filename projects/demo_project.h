#pragma once
// The demo project: a new project holding the real models (downloaded, and the two classifiers
// trained by scripts/setup.sh) and the MNIST / Fashion-MNIST datasets that scripts/setup.sh puts
// in the asset cache, so a first-time user has something to open.
#include <string>
#include <vector>

#include "engine/error.h"
#include "projects/project.h"

namespace by {

struct DemoAsset {
    const char* relativePath;  // below the cache folder
    AssetKind kind;
    const char* displayName;
    const char* tags;  // comma separated
    // Made by scripts/build_models.sh rather than downloaded: added when present, and their
    // absence does not stop the demo.
    bool optional = false;
};

// What the demo holds, in the order it is added.
const std::vector<DemoAsset>& demoAssets();

// Creates `projectPath` and adds every demo asset from `cacheDir` (models/*.onnx, models/*.tflite,
// data/mnist, data/fashion-mnist; the trained 3D scenes when present), each model with its root variant "original" (parameter count 0: projects/ cannot
// load models; the caller may fill it in with Project::setVariantParameterCount), a "This
// computer" device and a note describing the project. If any demo file is missing nothing is
// created and the error names the file and says to run scripts/setup.sh. A failure half way
// removes the half-made project file.
Result<Project> createDemoProject(const std::string& projectPath, const std::string& cacheDir);

// Brings a demo project made by an older Brickyard up to date: adds every demo asset it does not
// hold yet (matched by display name) whose file is in the cache, with its tags. Returns how many
// were added; files missing from the cache are skipped, not errors.
Result<int> addMissingDemoAssets(Project& project, const std::string& cacheDir);

}  // namespace by
