#include "importers/mesh_importer.h"

#include <assimp/material.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>
#include <stb_image.h>

#include <algorithm>
#include <assimp/Importer.hpp>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "importers/ply_table.h"
#include "importers/splat_io.h"
#include "importers/splat_packed.h"

namespace by {

namespace {

namespace fs = std::filesystem;

std::shared_ptr<const Image> decodeImage(const unsigned char* bytes, int n) {
    int w = 0, h = 0, comp = 0;
    unsigned char* px = stbi_load_from_memory(bytes, n, &w, &h, &comp, 4);
    if (!px) return nullptr;
    auto img = std::make_shared<Image>();
    img->width = w;
    img->height = h;
    img->rgba.assign(px, px + static_cast<size_t>(w) * h * 4);
    stbi_image_free(px);
    return img;
}

std::shared_ptr<const Image> loadImageFile(const fs::path& p) {
    int w = 0, h = 0, comp = 0;
    unsigned char* px = stbi_load(p.string().c_str(), &w, &h, &comp, 4);
    if (!px) return nullptr;
    auto img = std::make_shared<Image>();
    img->width = w;
    img->height = h;
    img->rgba.assign(px, px + static_cast<size_t>(w) * h * 4);
    stbi_image_free(px);
    return img;
}

class TextureCache {
public:
    TextureCache(const aiScene* scene, fs::path dir, std::vector<std::string>& warnings)
        : m_scene(scene), m_dir(std::move(dir)), m_warnings(warnings) {}

    std::shared_ptr<const Image> get(const std::string& ref) {
        auto it = m_cache.find(ref);
        if (it != m_cache.end()) return it->second;
        auto img = load(ref);
        m_cache[ref] = img;
        return img;
    }

private:
    std::shared_ptr<const Image> load(const std::string& ref) {
        if (const aiTexture* t = m_scene->GetEmbeddedTexture(ref.c_str())) {
            if (t->mHeight == 0) {  // compressed (PNG, JPEG, ...) bytes, mWidth long
                auto img = decodeImage(reinterpret_cast<const unsigned char*>(t->pcData), static_cast<int>(t->mWidth));
                if (!img) m_warnings.push_back("embedded texture '" + ref + "' could not be decoded: " + stbi_failure_reason() + "; using the base colour");
                return img;
            }
            auto img = std::make_shared<Image>();
            img->width = static_cast<int>(t->mWidth);
            img->height = static_cast<int>(t->mHeight);
            img->rgba.resize(static_cast<size_t>(img->width) * img->height * 4);
            for (size_t i = 0; i < static_cast<size_t>(img->width) * img->height; ++i) {
                const aiTexel& x = t->pcData[i];
                img->rgba[i * 4 + 0] = x.r, img->rgba[i * 4 + 1] = x.g, img->rgba[i * 4 + 2] = x.b, img->rgba[i * 4 + 3] = x.a;
            }
            return img;
        }
        std::string rel = ref;
        std::replace(rel.begin(), rel.end(), '\\', '/');
        for (const fs::path& cand : {m_dir / rel, m_dir / fs::path(rel).filename()}) {
            std::error_code ec;
            if (fs::is_regular_file(cand, ec)) {
                auto img = loadImageFile(cand);
                if (!img)
                    m_warnings.push_back("texture '" + cand.string() + "' could not be decoded: " + stbi_failure_reason() +
                                         "; using the base colour");
                return img;
            }
        }
        m_warnings.push_back("texture '" + ref + "' not found beside the model; using the base colour");
        return nullptr;
    }

    const aiScene* m_scene;
    fs::path m_dir;
    std::vector<std::string>& m_warnings;
    std::map<std::string, std::shared_ptr<const Image>> m_cache;
};

// singleSidedDefault: the file format's default when a material does not say (glTF: single-sided).
Material convertMaterial(const aiMaterial* m, TextureCache& textures, bool singleSidedDefault) {
    Material out;
    int twoSided = 0;
    if (m->Get(AI_MATKEY_TWOSIDED, twoSided) == AI_SUCCESS)
        out.doubleSided = twoSided != 0;
    else
        out.doubleSided = !singleSidedDefault;
    aiColor4D c;
    if (m->Get(AI_MATKEY_BASE_COLOR, c) == AI_SUCCESS || m->Get(AI_MATKEY_COLOR_DIFFUSE, c) == AI_SUCCESS)
        out.baseColor = {c.r, c.g, c.b, c.a};
    for (aiTextureType type : {aiTextureType_BASE_COLOR, aiTextureType_DIFFUSE}) {
        aiString path;
        if (m->GetTextureCount(type) > 0 && m->GetTexture(type, 0, &path) == AI_SUCCESS && path.length > 0) {
            out.textureName = path.C_Str();
            out.baseColorTexture = textures.get(out.textureName);
            break;
        }
    }
    if (!std::isfinite(out.baseColor.x + out.baseColor.y + out.baseColor.z + out.baseColor.w)) out.baseColor = {1, 1, 1, 1};
    return out;
}

}  // namespace

Result<Scene> loadMeshScene(const std::string& path) {
    const std::string where = "loading " + path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return makeError(ErrorCode::Io, "no such file", where);
    Assimp::Importer importer;
    // Points and lines are split off by SortByPType and then removed: the renderers draw triangles.
    importer.SetPropertyInteger(AI_CONFIG_PP_SBP_REMOVE, aiPrimitiveType_POINT | aiPrimitiveType_LINE);
    const unsigned flags = aiProcess_Triangulate | aiProcess_GenSmoothNormals | aiProcess_JoinIdenticalVertices |
                           aiProcess_PreTransformVertices | aiProcess_SortByPType | aiProcess_FlipUVs;
    const aiScene* as = importer.ReadFile(path, flags);
    if (!as) return makeError(ErrorCode::Format, std::string("Assimp could not read the file: ") + importer.GetErrorString(), where);
    Scene scene;
    TextureCache textures(as, fs::path(path).parent_path(), scene.warnings);
    std::string ext = fs::path(path).extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const bool gltf = ext == ".gltf" || ext == ".glb";
    size_t badTriangles = 0;
    for (unsigned mi = 0; mi < as->mNumMeshes; ++mi) {
        const aiMesh* am = as->mMeshes[mi];
        if (!(am->mPrimitiveTypes & aiPrimitiveType_TRIANGLE) || am->mNumFaces == 0) continue;
        Mesh m;
        m.name = am->mName.length ? am->mName.C_Str() : "mesh " + std::to_string(mi);
        m.positions.resize(am->mNumVertices);
        m.normals.resize(am->mNumVertices);
        std::vector<bool> bad(am->mNumVertices, false);
        for (unsigned v = 0; v < am->mNumVertices; ++v) {
            const aiVector3D& p = am->mVertices[v];
            m.positions[v] = {p.x, p.y, p.z};
            Vec3 n{0, 0, 1};
            if (am->mNormals) n = normalize(Vec3{am->mNormals[v].x, am->mNormals[v].y, am->mNormals[v].z});
            if (!isFinite(n) || length(n) == 0) n = {0, 0, 1};
            m.normals[v] = n;
            bad[v] = !isFinite(m.positions[v]);
        }
        if (am->mTextureCoords[0]) {
            m.uvs.resize(am->mNumVertices);
            for (unsigned v = 0; v < am->mNumVertices; ++v) {
                const aiVector3D& t = am->mTextureCoords[0][v];
                m.uvs[v] = {std::isfinite(t.x) ? t.x : 0.0f, std::isfinite(t.y) ? t.y : 0.0f};
            }
        }
        m.indices.reserve(am->mNumFaces * 3);
        for (unsigned f = 0; f < am->mNumFaces; ++f) {
            const aiFace& face = am->mFaces[f];
            if (face.mNumIndices != 3) continue;
            bool ok = true;
            for (int k = 0; k < 3; ++k) ok = ok && face.mIndices[k] < am->mNumVertices && !bad[face.mIndices[k]];
            if (!ok) {
                ++badTriangles;
                continue;
            }
            m.indices.insert(m.indices.end(), face.mIndices, face.mIndices + 3);
        }
        if (m.indices.empty()) continue;
        if (am->mMaterialIndex < as->mNumMaterials) m.material = convertMaterial(as->mMaterials[am->mMaterialIndex], textures, gltf);
        if (m.material.baseColorTexture && m.uvs.empty()) {
            scene.warnings.push_back("mesh '" + m.name + "' has a texture but no texture coordinates; using the base colour");
            m.material.baseColorTexture = nullptr;
        }
        scene.meshes.push_back(std::move(m));
    }
    if (badTriangles)
        scene.warnings.push_back("dropped " + std::to_string(badTriangles) + " triangles with NaN or infinite vertices");
    if (scene.meshes.empty())
        return makeError(ErrorCode::Invalid, "the file holds no triangles to draw (a point cloud can be baked into splats with 'brickyard-cli bake')", where);
    return scene;
}

Result<Scene> loadScene(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ext == ".splat") return readDotSplat(path);
    if (ext == ".bysplat") return readSplatPacked(path);
    if (ext == ".ply") {
        // Assimp's PLY reader loops forever on some malformed headers (one without end_header,
        // for instance): check the header with our own bounded parser first.
        auto header = readPlyHeader(path);
        if (!header) return std::move(header.error());
        if (header->column("scale_0") >= 0 && header->column("rot_0") >= 0) return readSplatPly(path);
    }
    return loadMeshScene(path);
}

}  // namespace by
