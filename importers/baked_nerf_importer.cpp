#include "importers/baked_nerf_importer.h"

#include "importers/mesh_importer.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stb_image.h>

namespace by {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A [in][out] or [out] array of numbers from mlp.json; `what` names it in the error.
Result<std::vector<std::vector<float>>> readMatrix(const json& j, const std::string& what) {
    if (!j.is_array() || j.empty())
        return makeError(ErrorCode::Format, what + " is not a non-empty array of rows");
    std::vector<std::vector<float>> rows;
    size_t width = 0;
    for (size_t r = 0; r < j.size(); ++r) {
        const json& row = j[r];
        if (!row.is_array() || row.empty())
            return makeError(ErrorCode::Format,
                             what + " row " + std::to_string(r) + " is not an array of numbers");
        if (r == 0) width = row.size();
        if (row.size() != width)
            return makeError(ErrorCode::Format, what + " row " + std::to_string(r) + " has " +
                                                    std::to_string(row.size()) + " values where row 0 has " +
                                                    std::to_string(width));
        std::vector<float> v;
        v.reserve(row.size());
        for (const json& x : row) {
            if (!x.is_number())
                return makeError(ErrorCode::Format, what + " row " + std::to_string(r) +
                                                        " holds something that is not a number");
            v.push_back(x.get<float>());
        }
        rows.push_back(std::move(v));
    }
    return rows;
}

Result<std::vector<float>> readVector(const json& j, const std::string& what) {
    if (!j.is_array() || j.empty())
        return makeError(ErrorCode::Format, what + " is not a non-empty array of numbers");
    std::vector<float> v;
    for (const json& x : j) {
        if (!x.is_number())
            return makeError(ErrorCode::Format, what + " holds something that is not a number");
        v.push_back(x.get<float>());
    }
    return v;
}

Result<std::vector<BakedNerfLayer>> readMlp(const json& doc) {
    std::vector<BakedNerfLayer> layers;
    for (int k = 0;; ++k) {
        const std::string wk = std::to_string(k) + "_weights", bk = std::to_string(k) + "_bias";
        if (!doc.contains(wk)) {
            if (doc.contains(bk)) return makeError(ErrorCode::Format, "it has " + bk + " but no " + wk);
            break;
        }
        if (k >= BakedNerf::kMaxLayers)
            return makeError(ErrorCode::Unsupported,
                             "the MLP has more than " + std::to_string(BakedNerf::kMaxLayers) + " layers");
        if (!doc.contains(bk)) return makeError(ErrorCode::Format, "it has " + wk + " but no " + bk);
        auto w = readMatrix(doc[wk], wk);
        if (!w) return std::move(w.error());
        auto b = readVector(doc[bk], bk);
        if (!b) return std::move(b.error());
        BakedNerfLayer l;
        l.in = static_cast<int>(w->size());
        l.out = static_cast<int>((*w)[0].size());
        if (b->size() != static_cast<size_t>(l.out))
            return makeError(ErrorCode::Invalid, wk + " has " + std::to_string(l.out) +
                                                     " outputs per row but " + bk + " has " +
                                                     std::to_string(b->size()) + " values");
        const int expectIn = layers.empty() ? BakedNerf::kInputWidth : layers.back().out;
        if (l.in != expectIn)
            return makeError(
                ErrorCode::Invalid,
                wk + " has " + std::to_string(l.in) + " rows (inputs) but " +
                    (layers.empty() ? std::string("the first layer takes 11 (8 features + 3 view direction)")
                                    : "the layer before gives " + std::to_string(expectIn)));
        if (l.out > BakedNerf::kMaxWidth)
            return makeError(ErrorCode::Unsupported, wk + " is " + std::to_string(l.out) + " wide; at most " +
                                                         std::to_string(BakedNerf::kMaxWidth) +
                                                         " is supported");
        // Stored [in][out]; the renderers want [out][in] rows.
        l.weights.resize(static_cast<size_t>(l.in) * l.out);
        for (int i = 0; i < l.in; ++i)
            for (int o = 0; o < l.out; ++o)
                l.weights[static_cast<size_t>(o) * l.in + i] =
                    (*w)[static_cast<size_t>(i)][static_cast<size_t>(o)];
        l.bias = std::move(*b);
        layers.push_back(std::move(l));
    }
    if (layers.empty()) return makeError(ErrorCode::Format, "it holds no 0_weights (the MLP's first layer)");
    if (layers.back().out != 3)
        return makeError(ErrorCode::Invalid, "the MLP's last layer (" + std::to_string(layers.size() - 1) +
                                                 "_weights) gives " + std::to_string(layers.back().out) +
                                                 " values, not RGB (3)");
    return layers;
}

Result<std::shared_ptr<const Image>> readFeatureImage(const fs::path& p) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
        return makeError(ErrorCode::Io, "the feature image " + p.filename().string() + " is missing",
                         p.string());
    int w = 0, h = 0, comp = 0;
    unsigned char* px = stbi_load(p.string().c_str(), &w, &h, &comp, 4);
    if (!px)
        return makeError(ErrorCode::Format,
                         std::string("the feature image ") + p.filename().string() +
                             " cannot be decoded: " + stbi_failure_reason(),
                         p.string());
    if (comp != 4) {
        stbi_image_free(px);
        return makeError(ErrorCode::Format,
                         "the feature image " + p.filename().string() + " has " + std::to_string(comp) +
                             " channels; MobileNeRF feature images are RGBA",
                         p.string());
    }
    auto img = std::make_shared<Image>();
    img->width = w;
    img->height = h;
    img->rgba.assign(px, px + static_cast<size_t>(w) * h * 4);
    stbi_image_free(px);
    return std::shared_ptr<const Image>(std::move(img));
}

Result<BakedNerfShape> readShape(const fs::path& dir, int i) {
    BakedNerfShape s;
    s.name = "shape" + std::to_string(i);
    const fs::path obj = dir / (s.name + ".obj");
    std::error_code ec;
    if (!fs::is_regular_file(obj, ec))
        return makeError(ErrorCode::Io, "the mesh " + obj.filename().string() + " is missing", obj.string());
    auto scene = loadMeshScene(obj.string());
    if (!scene) return std::move(scene.error());
    for (const Mesh& m : scene->meshes) {
        if (m.uvs.size() != m.positions.size())
            return makeError(ErrorCode::Format,
                             "the mesh " + obj.filename().string() +
                                 " has no texture coordinates (vt) for its faces",
                             obj.string());
        const uint32_t base = static_cast<uint32_t>(s.positions.size());
        s.positions.insert(s.positions.end(), m.positions.begin(), m.positions.end());
        s.uvs.insert(s.uvs.end(), m.uvs.begin(), m.uvs.end());
        for (uint32_t k : m.indices)
            s.indices.push_back(base + k);
    }
    if (s.indices.empty())
        return makeError(ErrorCode::Format, "the mesh " + obj.filename().string() + " holds no faces",
                         obj.string());
    for (int k = 0; k < 2; ++k) {
        auto img = readFeatureImage(dir / (s.name + ".pngfeat" + std::to_string(k) + ".png"));
        if (!img) return std::move(img.error());
        s.features[k] = std::move(*img);
    }
    if (s.features[0]->width != s.features[1]->width || s.features[0]->height != s.features[1]->height)
        return makeError(ErrorCode::Format,
                         s.name + ".pngfeat0.png and " + s.name + ".pngfeat1.png differ in size",
                         dir.string());
    return s;
}

} // namespace

bool isBakedNerfPath(const std::string& path) {
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec)) return fs::is_regular_file(p / "mlp.json", ec);
    return p.filename() == "mlp.json";
}

Result<BakedNerf> loadBakedNerf(const std::string& path, BakedNerfDirections directions) {
    std::error_code ec;
    fs::path p(path);
    const fs::path mlpPath = fs::is_directory(p, ec) ? p / "mlp.json" : p;
    const fs::path dir = mlpPath.parent_path().empty() ? fs::path(".") : mlpPath.parent_path();
    const std::string where = "loading " + mlpPath.string();
    if (!fs::is_regular_file(mlpPath, ec)) return makeError(ErrorCode::Io, "mlp.json is missing", where);
    std::ifstream in(mlpPath, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return makeError(ErrorCode::Io, "mlp.json cannot be read", where);
    json doc = json::parse(text.str(), nullptr, false);
    if (doc.is_discarded()) return makeError(ErrorCode::Format, "mlp.json is not valid JSON", where);
    if (!doc.is_object()) return makeError(ErrorCode::Format, "mlp.json is not a JSON object", where);
    if (!doc.contains("obj_num") || !doc["obj_num"].is_number_integer())
        return makeError(ErrorCode::Format,
                         "mlp.json has no integer obj_num (the number of shapeI.obj meshes)", where);
    const int64_t n = doc["obj_num"].get<int64_t>();
    if (n < 1 || n > 4096)
        return makeError(ErrorCode::Format,
                         "mlp.json's obj_num " + std::to_string(n) + " is not between 1 and 4096", where);
    BakedNerf nerf;
    nerf.directions = directions;
    auto layers = readMlp(doc);
    if (!layers) return std::move(layers.error().withContext(where));
    nerf.layers = std::move(*layers);
    for (int i = 0; i < static_cast<int>(n); ++i) {
        auto s = readShape(dir, i);
        if (!s) return std::move(s.error().withContext(where));
        nerf.shapes.push_back(std::move(*s));
    }
    if (auto st = nerf.validate(); !st) return std::move(st.error().withContext(where));
    return nerf;
}

} // namespace by
