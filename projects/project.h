#pragma once
// A Brickyard project: one SQLite file (*.byproj) holding the assets a person works on (models,
// datasets, scenes), the variants made from them, and what was measured and deployed.
//
// Contract:
// - The file is marked with schema::kApplicationId and versioned with PRAGMA user_version.
//   open() upgrades older files in place (each step atomic) and refuses, with one sentence,
//   anything else: an empty file, a non-SQLite file, another program's database, a project
//   written by a newer Brickyard.
// - Every change is one transaction (write-ahead log, full sync): a crash or a kill at any moment
//   leaves the file with every committed change and none of the one in flight. transaction()
//   groups several changes into one.
// - Assets inside the project's folder are stored relative to it, so the folder can be moved or
//   copied as a whole; resolveAssetPath() finds an asset again and reports, never fails.
// - A Project is used from one thread at a time; several processes may open the same file (a
//   writer waits up to a few seconds for another's transaction, then reports the file busy).
// - No method throws or aborts on bad input: errors come back as Result/Status.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "projects/database.h"
#include "projects/project_records.h"

namespace by {

inline constexpr const char* kProjectExtension = ".byproj";

struct NewAsset {
    std::string path;  // a file, or a folder (datasets)
    AssetKind kind = AssetKind::Other;
    std::string displayName;     // empty: the file or folder name
    std::string format;          // empty: from the extension ("folder" for a folder)
    int64_t parameterCount = 0;  // models: recorded on the root variant
};

class Project {
public:
    // Creates a new project file; refuses to overwrite an existing file. An empty name becomes
    // the file's stem.
    static Result<Project> create(const std::string& path, const std::string& name);
    static Result<Project> open(const std::string& path);

    Project(Project&&) noexcept = default;
    Project& operator=(Project&&) noexcept = default;
    Project(const Project&) = delete;
    Project& operator=(const Project&) = delete;

    const std::string& path() const { return m_path; }  // absolute
    std::string folder() const;                         // the folder relative asset paths start from
    int schemaVersion() const { return m_schemaVersion; }
    const std::string& name() const { return m_name; }
    const std::string& createdAt() const { return m_createdAt; }  // UTC, ISO 8601
    Status setName(const std::string& name);
    Result<ProjectCounts> counts();

    // Runs `body` as one atomic change: if it returns an error (or the process dies before it
    // returns) none of the changes it made are kept. May nest.
    Status transaction(const std::function<Status()>& body);

    // ---- assets ----
    // Hashes the content (SHA-256, streamed). Content already in the project returns the
    // existing asset's id and changes nothing. A model asset also gets its root variant
    // "original", with the asset's size and `parameterCount`.
    Result<int64_t> addAsset(const NewAsset& asset);
    Result<int64_t> addAsset(const std::string& path, AssetKind kind, const std::string& displayName = {});
    Result<std::vector<Asset>> assets();  // in the order they were added
    Result<Asset> asset(int64_t id);
    Result<std::vector<Asset>> assetsWithTag(const std::string& tag);
    // Removes the asset with its variants, their results and every note about them.
    Status removeAsset(int64_t id);
    Status renameAsset(int64_t id, const std::string& displayName);
    // Replaces the asset's tags (trimmed, de-duplicated; empty tags are refused).
    Status setAssetTags(int64_t id, const std::vector<std::string>& tags);

    // Where the asset is now: relative to this project's current folder first, then the
    // absolute path it was added from, then a search of the project folder for the same content.
    AssetLocation resolveAssetPath(const Asset& asset) const;
    // Points an asset at a new place after checking it has the same content.
    Status relinkAsset(int64_t id, const std::string& newPath);

    // ---- variants ----
    // `parentId` must be a variant of the same asset; none makes a root.
    Result<int64_t> addVariant(int64_t assetId, std::optional<int64_t> parentId, const std::string& name,
                               const std::string& recipeJson, int64_t sizeBytes, int64_t parameterCount);
    // Parents always come before their children. None: the variants of every asset.
    Result<std::vector<Variant>> variants(std::optional<int64_t> assetId = std::nullopt);
    Result<Variant> variant(int64_t id);
    // The first root variant of an asset (the one addAsset made for a model).
    Result<Variant> rootVariant(int64_t assetId);
    // For the layer that can load models (projects/ cannot): fills in a counted parameter total.
    Status setVariantParameterCount(int64_t variantId, int64_t parameterCount);
    Status renameVariant(int64_t id, const std::string& name);
    Status removeVariant(int64_t id);  // with its descendants and their results

    // ---- results, devices, deployments, notes ----
    Result<int64_t> addEvaluation(int64_t variantId, std::optional<int64_t> datasetAssetId,
                                  const std::string& metric, double value,
                                  const std::string& detailsJson = "{}");
    Result<std::vector<Evaluation>> evaluations(std::optional<int64_t> variantId = std::nullopt);

    Result<int64_t> addBenchmark(int64_t variantId, std::optional<int64_t> deviceId,
                                 const std::string& metric, double value, const std::string& unit,
                                 const std::string& detailsJson = "{}");
    Result<std::vector<Benchmark>> benchmarks(std::optional<int64_t> variantId = std::nullopt);

    Result<int64_t> addDevice(const std::string& name, DeviceKind kind, const std::string& address,
                              const std::string& propertiesJson = "{}");
    Result<std::vector<Device>> devices();

    Result<int64_t> addDeployment(int64_t variantId, int64_t deviceId,
                                  DeploymentStatus status = DeploymentStatus::Pending,
                                  const std::string& log = {});
    // Sets the status and appends to the log.
    Status updateDeployment(int64_t id, DeploymentStatus status, const std::string& appendLog = {});
    Result<std::vector<Deployment>> deployments(std::optional<int64_t> variantId = std::nullopt);

    Result<int64_t> addNote(const NoteTarget& target, const std::string& text);
    // None: every note in the project, oldest first.
    Result<std::vector<Note>> notes(std::optional<NoteTarget> target = std::nullopt);
    Status removeNote(int64_t id);

private:
    Project(Database db, std::string path) : m_db(std::move(db)), m_path(std::move(path)) {}
    Status loadMeta();
    Status requireRow(const char* table, const char* what, int64_t id);
    Status checkJson(const std::string& json, const char* what);
    Error wrap(Error e) const;  // adds the project file's name as context

    Database m_db;
    std::string m_path;
    std::string m_name;
    std::string m_createdAt;
    int m_schemaVersion = 0;
};

}  // namespace by
