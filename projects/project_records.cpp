#include "projects/project_records.h"

#include <array>
#include <utility>

namespace by {

namespace {
template <class E, size_t N>
const char* nameOf(const std::array<std::pair<E, const char*>, N>& table, E v) {
    for (const auto& [e, n] : table)
        if (e == v) return n;
    return "unknown";
}

template <class E, size_t N>
std::optional<E> parse(const std::array<std::pair<E, const char*>, N>& table, std::string_view s) {
    for (const auto& [e, n] : table)
        if (s == n) return e;
    return std::nullopt;
}

constexpr std::array<std::pair<AssetKind, const char*>, 4> kAssetKinds{{
    {AssetKind::Model, "model"},
    {AssetKind::Dataset, "dataset"},
    {AssetKind::Scene, "scene"},
    {AssetKind::Other, "other"},
}};
constexpr std::array<std::pair<DeviceKind, const char*>, 4> kDeviceKinds{{
    {DeviceKind::Adb, "adb"},
    {DeviceKind::Ssh, "ssh"},
    {DeviceKind::Agent, "agent"},
    {DeviceKind::Local, "local"},
}};
constexpr std::array<std::pair<DeploymentStatus, const char*>, 5> kDeploymentStatuses{{
    {DeploymentStatus::Pending, "pending"},
    {DeploymentStatus::Running, "running"},
    {DeploymentStatus::Succeeded, "succeeded"},
    {DeploymentStatus::Failed, "failed"},
    {DeploymentStatus::Cancelled, "cancelled"},
}};
constexpr std::array<std::pair<NoteTargetKind, const char*>, 7> kNoteTargets{{
    {NoteTargetKind::Project, "project"},
    {NoteTargetKind::Asset, "asset"},
    {NoteTargetKind::Variant, "variant"},
    {NoteTargetKind::Evaluation, "evaluation"},
    {NoteTargetKind::Benchmark, "benchmark"},
    {NoteTargetKind::Device, "device"},
    {NoteTargetKind::Deployment, "deployment"},
}};
constexpr std::array<std::pair<AssetStatus, const char*>, 4> kAssetStatuses{{
    {AssetStatus::Present, "present"},
    {AssetStatus::Relocated, "relocated"},
    {AssetStatus::Changed, "changed"},
    {AssetStatus::Missing, "missing"},
}};
}  // namespace

const char* assetKindName(AssetKind k) {
    return nameOf(kAssetKinds, k);
}
const char* deviceKindName(DeviceKind k) {
    return nameOf(kDeviceKinds, k);
}
const char* deploymentStatusName(DeploymentStatus s) {
    return nameOf(kDeploymentStatuses, s);
}
const char* noteTargetKindName(NoteTargetKind k) {
    return nameOf(kNoteTargets, k);
}
const char* assetStatusName(AssetStatus s) {
    return nameOf(kAssetStatuses, s);
}

std::optional<AssetKind> parseAssetKind(std::string_view s) {
    return parse(kAssetKinds, s);
}
std::optional<DeviceKind> parseDeviceKind(std::string_view s) {
    return parse(kDeviceKinds, s);
}
std::optional<DeploymentStatus> parseDeploymentStatus(std::string_view s) {
    return parse(kDeploymentStatuses, s);
}
std::optional<NoteTargetKind> parseNoteTargetKind(std::string_view s) {
    return parse(kNoteTargets, s);
}

}  // namespace by
