#include "importers/camera_bookmarks.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace by {

namespace {

using json = nlohmann::json;
constexpr const char* kFormat = "brickyard-camera-bookmarks";

bool readVec3(const json& j, const char* key, Vec3& out) {
    if (!j.contains(key)) return false;
    const json& a = j.at(key);
    if (!a.is_array() || a.size() != 3) return false;
    for (int k = 0; k < 3; ++k) {
        if (!a[static_cast<size_t>(k)].is_number()) return false;
        const float v = a[static_cast<size_t>(k)].get<float>();
        if (!std::isfinite(v)) return false;
        out[k] = v;
    }
    return true;
}

}  // namespace

Result<std::vector<CameraKey>> readCameraBookmarks(const std::string& path) {
    const std::string where = "reading " + path;
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot open the file", where);
    std::stringstream ss;
    ss << in.rdbuf();
    const json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return makeError(ErrorCode::Format, "not a JSON object", where);
    if (j.value("format", std::string()) != kFormat)
        return makeError(ErrorCode::Format, std::string("not a camera bookmarks file (\"format\" is not \"") + kFormat + "\")", where);
    if (!j.contains("bookmarks") || !j.at("bookmarks").is_array()) return makeError(ErrorCode::Format, "no \"bookmarks\" list", where);
    std::vector<CameraKey> keys;
    for (const json& b : j.at("bookmarks")) {
        const std::string at = "bookmark " + std::to_string(keys.size() + 1);
        if (!b.is_object()) return makeError(ErrorCode::Format, at + " is not an object", where);
        CameraKey k;
        k.name = b.contains("name") && b.at("name").is_string() ? b.at("name").get<std::string>() : "view " + std::to_string(keys.size() + 1);
        if (!readVec3(b, "eye", k.camera.eye) || !readVec3(b, "target", k.camera.target))
            return makeError(ErrorCode::Format, at + " needs \"eye\" and \"target\" as three finite numbers each", where);
        if (b.contains("up") && !readVec3(b, "up", k.camera.up)) return makeError(ErrorCode::Format, at + ": \"up\" must be three numbers", where);
        auto number = [&](const char* key, float& v, float lo, float hi) -> bool {
            if (!b.contains(key)) return true;
            if (!b.at(key).is_number()) return false;
            v = b.at(key).get<float>();
            return v > lo && v < hi;
        };
        if (!number("fov", k.camera.fovYDeg, 0.0f, 180.0f)) return makeError(ErrorCode::Format, at + ": \"fov\" must be between 0 and 180 degrees", where);
        if (!number("near", k.camera.nearPlane, 0.0f, 1e30f) || !number("far", k.camera.farPlane, k.camera.nearPlane, 1e30f))
            return makeError(ErrorCode::Format, at + ": \"near\" and \"far\" must be positive with near < far", where);
        if (length(k.camera.eye - k.camera.target) <= 0) return makeError(ErrorCode::Format, at + ": eye and target are the same point", where);
        keys.push_back(std::move(k));
    }
    if (keys.empty()) return makeError(ErrorCode::Format, "the bookmarks list is empty", where);
    return keys;
}

Status writeCameraBookmarks(const std::vector<CameraKey>& keys, const std::string& path) {
    json list = json::array();
    for (const CameraKey& k : keys) {
        const Camera& c = k.camera;
        list.push_back({{"name", k.name},
                        {"eye", {c.eye.x, c.eye.y, c.eye.z}},
                        {"target", {c.target.x, c.target.y, c.target.z}},
                        {"up", {c.up.x, c.up.y, c.up.z}},
                        {"fov", c.fovYDeg},
                        {"near", c.nearPlane},
                        {"far", c.farPlane}});
    }
    const json j = {{"format", kFormat}, {"version", 1}, {"bookmarks", list}};
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return makeError(ErrorCode::Io, "cannot create the file", "writing " + path);
    out << j.dump(2) << "\n";
    if (!out) return makeError(ErrorCode::Io, "writing failed", "writing " + path);
    return {};
}

}  // namespace by
