#pragma once
// The rows a project holds, as plain values. Ids are SQLite row ids: positive, stable for the
// life of the project file, never reused while the row exists. JSON fields are stored as text
// and checked to be valid JSON on the way in; projects/ does not interpret them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace by {

enum class AssetKind { Model, Dataset, Scene, Other };
enum class DeviceKind { Adb, Ssh, Agent, Local };
enum class DeploymentStatus { Pending, Running, Succeeded, Failed, Cancelled };
enum class NoteTargetKind { Project, Asset, Variant, Evaluation, Benchmark, Device, Deployment };

// Names as stored in the file and shown in the CLI: "model", "adb", "succeeded", "variant".
const char* assetKindName(AssetKind k);
const char* deviceKindName(DeviceKind k);
const char* deploymentStatusName(DeploymentStatus s);
const char* noteTargetKindName(NoteTargetKind k);
std::optional<AssetKind> parseAssetKind(std::string_view s);
std::optional<DeviceKind> parseDeviceKind(std::string_view s);
std::optional<DeploymentStatus> parseDeploymentStatus(std::string_view s);
std::optional<NoteTargetKind> parseNoteTargetKind(std::string_view s);

struct Asset {
    int64_t id = 0;
    AssetKind kind = AssetKind::Other;
    std::string displayName;
    std::string relativePath;  // against the project's folder; empty when the asset lives outside it
    std::string absolutePath;  // where it was when added
    int64_t sizeBytes = 0;
    std::string contentHash;        // SHA-256 hex (see content_hash.h; folders hash their manifest)
    std::string format;             // "onnx", "tflite", "folder", ... ("" when unknown)
    std::string addedAt;            // UTC, ISO 8601
    std::vector<std::string> tags;  // sorted
};

// Where an asset is now. Resolution never fails: a missing asset is a status, not an error.
enum class AssetStatus {
    Present,    // at its recorded place (relative to the project, else its absolute path)
    Relocated,  // not there, but a file with the same content was found inside the project folder
    Changed,    // at its recorded place, but its size differs from the recorded one
    Missing,    // nowhere to be found
};
const char* assetStatusName(AssetStatus s);  // "present", "relocated", "changed", "missing"

struct AssetLocation {
    AssetStatus status = AssetStatus::Missing;
    std::string path;     // the resolved path; for Missing, the place it was expected
    std::string message;  // one sentence for anything but Present
};

struct Variant {
    int64_t id = 0;
    int64_t assetId = 0;
    std::optional<int64_t> parentId;  // none for a root (the asset as imported)
    std::string name;
    std::string recipeJson;  // how it was made from its parent ("{}" for a root)
    std::string createdAt;
    int64_t sizeBytes = 0;
    int64_t parameterCount = 0;  // 0 when not (yet) counted
};

struct Evaluation {
    int64_t id = 0;
    int64_t variantId = 0;
    std::optional<int64_t> datasetAssetId;
    std::string metric;
    double value = 0;
    std::string detailsJson;
    std::string createdAt;
};

struct Benchmark {
    int64_t id = 0;
    int64_t variantId = 0;
    std::optional<int64_t> deviceId;  // none: measured on this computer outside any device
    std::string metric;
    double value = 0;
    std::string unit;
    std::string detailsJson;
    std::string createdAt;
};

struct Device {
    int64_t id = 0;
    std::string name;
    DeviceKind kind = DeviceKind::Local;
    std::string address;  // adb serial, ssh host, agent URL; empty for local
    std::string propertiesJson;
    std::string addedAt;
};

struct Deployment {
    int64_t id = 0;
    int64_t variantId = 0;
    int64_t deviceId = 0;
    DeploymentStatus status = DeploymentStatus::Pending;
    std::string createdAt;
    std::string log;
};

// What a note is about. The project itself has no id.
struct NoteTarget {
    NoteTargetKind kind = NoteTargetKind::Project;
    std::optional<int64_t> id;

    static NoteTarget project() { return {}; }
    static NoteTarget of(NoteTargetKind k, int64_t id) { return {k, id}; }
};

struct Note {
    int64_t id = 0;
    NoteTarget target;
    std::string text;
    std::string createdAt;
};

struct ProjectCounts {
    int64_t assets = 0;
    int64_t variants = 0;
    int64_t evaluations = 0;
    int64_t benchmarks = 0;
    int64_t devices = 0;
    int64_t deployments = 0;
    int64_t notes = 0;
};

}  // namespace by
