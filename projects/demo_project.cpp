#include "projects/demo_project.h"

#include <algorithm>

#include <filesystem>

namespace by {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> splitTags(const char* tags) {
    std::vector<std::string> out;
    std::string cur;
    for (const char* p = tags; *p; ++p) {
        if (*p == ',') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += *p;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

constexpr const char* kDemoNote =
    "Demo project. Real, trained models from the asset cache: the three PaddleOCR v4 models (text "
    "detection, direction classification, recognition with attention blocks; ONNX), the Silero "
    "voice-activity detector (ONNX) and three MediaPipe vision models (face detection, hand "
    "landmarks, selfie segmentation; TFLite), two small image classifiers trained here with fixed "
    "seeds (an MNIST digit CNN and a Fashion-MNIST clothing CNN; ONNX written by Brickyard), a tiny "
    "GPT-2-layout language model trained here on e-mail text (GGUF, f32 and Q4_0), the "
    "MNIST and Fashion-MNIST datasets, rendered text lines for the recogniser and the e-mail text, and "
    "two neural 3D scenes of a duck trained here (a light field MLP and a baked MobileNeRF-form scene). Each model "
    "starts with its root variant \"original\"; compressed variants made from it appear beneath "
    "it, with their evaluations and benchmarks.";

// Datasets and baked scenes are folders, the rest files.
bool present(const std::string& cacheDir, const DemoAsset& d) {
    const fs::path p = fs::path(cacheDir) / d.relativePath;
    std::error_code ec;
    return d.kind == AssetKind::Dataset || d.kind == AssetKind::Scene ? fs::is_directory(p, ec) : fs::is_regular_file(p, ec);
}

void removeProjectFiles(const std::string& p) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(p + suffix, ec);
}

}  // namespace

const std::vector<DemoAsset>& demoAssets() {
    static const std::vector<DemoAsset> list = {
        {"models/ch_PP-OCRv4_det_infer.onnx", AssetKind::Model, "PP-OCRv4 text detector", "ocr,onnx"},
        {"models/ch_ppocr_mobile_v2.0_cls_infer.onnx", AssetKind::Model, "PP-OCR direction classifier",
         "ocr,onnx"},
        {"models/ch_PP-OCRv4_rec_infer.onnx", AssetKind::Model, "PP-OCRv4 text recognizer",
         "ocr,onnx,attention"},
        {"models/silero_vad_16k_op15.onnx", AssetKind::Model, "Silero voice activity detector", "audio,onnx"},
        {"models/face_detection_short_range.tflite", AssetKind::Model,
         "MediaPipe face detection (short range)", "vision,tflite"},
        {"models/hand_landmark_lite.tflite", AssetKind::Model, "MediaPipe hand landmarks (lite)",
         "vision,tflite"},
        {"models/selfie_segmentation.tflite", AssetKind::Model, "MediaPipe selfie segmentation",
         "vision,tflite"},
        // Trained by scripts/setup.sh (scripts/train/mnist_cnn.py) and written by brickyard-cli.
        {"models/mnist_cnn.onnx", AssetKind::Model, "MNIST digit classifier (CNN)", "vision,onnx,trained"},
        {"models/fashion_mnist_cnn.onnx", AssetKind::Model, "Fashion-MNIST clothing classifier (CNN)",
         "vision,onnx,trained"},
        // The tiny GPT (scripts/train/tiny_gpt.py), written as GGUF by brickyard-cli lm build.
        {"models/tiny_gpt_f32.gguf", AssetKind::Model, "Tiny GPT language model (f32)", "language,gguf,trained"},
        {"models/tiny_gpt_q4_0.gguf", AssetKind::Model, "Tiny GPT language model (Q4_0)", "language,gguf,trained"},
        {"data/mnist", AssetKind::Dataset, "MNIST handwritten digits", "vision,dataset"},
        {"data/fashion-mnist", AssetKind::Dataset, "Fashion-MNIST clothing images", "vision,dataset"},
        {"data/textlines", AssetKind::Dataset, "Rendered English text lines (OCR)", "ocr,dataset"},
        {"data/lm", AssetKind::Dataset, "SpamAssassin ham e-mail text (train/test)", "language,dataset"},
        // Neural 3D scenes of the assimp duck, trained by scripts/build_models.sh.
        {"models/light_field/duck/duck_nelf.onnx", AssetKind::Model, "Duck neural light field (NeLF MLP)", "3d,neural,onnx,trained", true},
        {"models/baked_nerf/duck", AssetKind::Scene, "Duck baked neural scene (MobileNeRF form)", "3d,neural,trained", true},
    };
    return list;
}

Result<Project> createDemoProject(const std::string& projectPath, const std::string& cacheDir) {
    // Check everything first, so a missing download leaves no half-made project behind.
    for (const auto& d : demoAssets()) {
        if (d.optional) continue;
        if (!present(cacheDir, d))
            return makeError(ErrorCode::Io,
                             "the demo asset " + (fs::path(cacheDir) / d.relativePath).string() +
                                 " is missing; run scripts/setup.sh to download the demo models and data",
                             projectPath);
    }

    auto created = Project::create(projectPath, "Brickyard demo");
    if (!created) return created.error();
    const std::string path = created->path();
    Status st = [&]() -> Status {
        Project& project = *created;
        for (const auto& d : demoAssets()) {
            if (d.optional && !present(cacheDir, d)) continue;
            NewAsset a;
            a.path = (fs::path(cacheDir) / d.relativePath).string();
            a.kind = d.kind;
            a.displayName = d.displayName;
            auto id = project.addAsset(a);
            if (!id) return id.error();
            BY_TRY(project.setAssetTags(*id, splitTags(d.tags)));
        }
        return project.transaction([&]() -> Status {
            auto dev = project.addDevice("This computer", DeviceKind::Local, "", "{\"role\": \"host\"}");
            if (!dev) return dev.error();
            auto note = project.addNote(NoteTarget::project(), kDemoNote);
            if (!note) return note.error();
            return {};
        });
    }();
    if (!st) {
        { Project dead = std::move(*created); }  // close before removing the files
        removeProjectFiles(path);
        Error e = st.error();
        e.message = "could not build the demo project: " + e.message;
        return e;
    }
    return created;
}

Result<int> addMissingDemoAssets(Project& project, const std::string& cacheDir) {
    auto have = project.assets();
    if (!have) return have.error();
    int added = 0;
    for (const auto& d : demoAssets()) {
        const bool inProject = std::any_of(have->begin(), have->end(), [&](const Asset& a) { return a.displayName == d.displayName; });
        if (inProject || !present(cacheDir, d)) continue;
        const fs::path p = fs::path(cacheDir) / d.relativePath;
        NewAsset a;
        a.path = p.string();
        a.kind = d.kind;
        a.displayName = d.displayName;
        auto id = project.addAsset(a);
        if (!id) return id.error();
        BY_TRY(project.setAssetTags(*id, splitTags(d.tags)));
        ++added;
    }
    return added;
}

}  // namespace by
