// Scene loading: meshes through Assimp on the assimp-testmodels corpus, 3DGS PLY and .splat
// files, and deliberately broken files (truncated, NaNs, zero-size Gaussians, missing textures).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/camera.h"
#include "engine/splat_baker.h"
#include "importers/mesh_importer.h"
#include "importers/ply_table.h"
#include "importers/splat_io.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

std::string model(const std::string& rel) {
    const std::string p = "/usr/share/assimp/models/" + rel;
    if (!fs::exists(p)) ADD_FAILURE() << "test model missing: " << p << " (scripts/setup.sh installs assimp-testmodels)";
    return p;
}

bool anyWarningContains(const std::vector<std::string>& w, const std::string& s) {
    for (const auto& x : w)
        if (x.find(s) != std::string::npos) return true;
    return false;
}

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(MeshImporter, GlbWithEmbeddedTexture) {
    auto s = loadMeshScene(model("glTF2/BoxTextured-glTF-Binary/BoxTextured.glb"));
    ASSERT_TRUE(s.ok()) << s.error().what();
    ASSERT_EQ(s->meshes.size(), 1u);
    const Mesh& m = s->meshes[0];
    EXPECT_EQ(m.triangleCount(), 12u);
    EXPECT_EQ(m.uvs.size(), m.positions.size());
    ASSERT_TRUE(m.material.baseColorTexture);
    EXPECT_GT(m.material.baseColorTexture->width, 16);
    const Bounds b = m.bounds();
    EXPECT_NEAR(b.size().x, 1.0f, 1e-4);
    EXPECT_NEAR(b.size().y, 1.0f, 1e-4);
    for (const Vec3& n : m.normals) EXPECT_NEAR(length(n), 1.0f, 1e-4);
    EXPECT_TRUE(s->warnings.empty());
}

TEST(MeshImporter, FacingFollowsTheFile) {
    // glTF materials are single-sided unless "doubleSided": true; boxTexcoords.gltf says true.
    auto single = loadMeshScene(model("glTF2/BoxTextured-glTF-Binary/BoxTextured.glb"));
    ASSERT_TRUE(single.ok()) << single.error().what();
    for (const Mesh& m : single->meshes) EXPECT_FALSE(m.material.doubleSided) << m.name;
    auto two = loadMeshScene(model("glTF2/BoxTexcoords-glTF/boxTexcoords.gltf"));
    ASSERT_TRUE(two.ok()) << two.error().what();
    ASSERT_FALSE(two->meshes.empty());
    for (const Mesh& m : two->meshes) EXPECT_TRUE(m.material.doubleSided) << m.name;
    // OBJ has no facing flag: drawn double-sided, which is never wrong.
    auto obj = loadMeshScene(model("OBJ/spider.obj"));
    ASSERT_TRUE(obj.ok()) << obj.error().what();
    for (const Mesh& m : obj->meshes) EXPECT_TRUE(m.material.doubleSided) << m.name;
}

TEST(MeshImporter, ExternalTexturesAcrossFormats) {
    // glTF with a .png beside it, Collada with a .tga, OBJ with a .jpg.
    for (const char* rel : {"glTF2/BoxTextured-glTF/BoxTextured.gltf", "Collada/duck.dae", "OBJ/spider.obj"}) {
        auto s = loadMeshScene(model(rel));
        ASSERT_TRUE(s.ok()) << rel << ": " << s.error().what();
        bool textured = false;
        for (const Mesh& m : s->meshes) textured = textured || m.material.baseColorTexture != nullptr;
        EXPECT_TRUE(textured) << rel;
        EXPECT_GT(s->triangleCount(), 10u) << rel;
    }
}

TEST(MeshImporter, FbxAndPlyAndManyMeshes) {
    auto fbx = loadMeshScene(model("FBX/box.fbx"));
    ASSERT_TRUE(fbx.ok()) << fbx.error().what();
    EXPECT_EQ(fbx->triangleCount(), 12u);
    auto ply = loadScene(model("PLY/Wuson.ply"));
    ASSERT_TRUE(ply.ok()) << ply.error().what();
    EXPECT_GT(ply->triangleCount(), 1000u);
    auto engine = loadMeshScene(model("glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb"));
    ASSERT_TRUE(engine.ok()) << engine.error().what();
    EXPECT_GT(engine->meshes.size(), 10u);
}

TEST(MeshImporter, MissingTextureIsAWarning) {
    const std::string dir = test::tempDir();
    const std::string src = model("glTF2/BoxTextured-glTF/");
    fs::copy_file(src + "BoxTextured.gltf", dir + "/BoxTextured.gltf");
    fs::copy_file(src + "BoxTextured0.bin", dir + "/BoxTextured0.bin");
    auto s = loadMeshScene(dir + "/BoxTextured.gltf");
    ASSERT_TRUE(s.ok()) << s.error().what();
    ASSERT_EQ(s->meshes.size(), 1u);
    EXPECT_FALSE(s->meshes[0].material.baseColorTexture);
    EXPECT_TRUE(anyWarningContains(s->warnings, "CesiumLogoFlat.png")) << (s->warnings.empty() ? "" : s->warnings[0]);
}

TEST(MeshImporter, BrokenFilesGiveOneError) {
    const std::string dir = test::tempDir();
    std::string glb;
    {
        std::ifstream in(model("glTF2/BoxTextured-glTF-Binary/BoxTextured.glb"), std::ios::binary);
        glb.assign(std::istreambuf_iterator<char>(in), {});
    }
    writeBytes(dir + "/cut.glb", glb.substr(0, glb.size() / 3));
    auto cut = loadScene(dir + "/cut.glb");
    ASSERT_FALSE(cut.ok());
    EXPECT_NE(cut.error().what().find("cut.glb"), std::string::npos);
    auto missing = loadScene(dir + "/nothing.obj");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::Io);
    // A real asset with infinite vertex values loads or fails with a message, never crashes.
    auto inf = loadScene(model("glTF2/BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb"));
    if (inf.ok()) {
        for (const Mesh& m : inf->meshes)
            for (uint32_t i : m.indices) EXPECT_TRUE(isFinite(m.positions[i]));
    } else {
        EXPECT_FALSE(inf.error().what().empty());
    }
}

TEST(PointCloud, CorruptPondLoadsWithWarnings) {
    // pond.0.ply as shipped is damaged: its vertex data is 69 bytes short of the 70,051 rows the
    // header declares and rows drift out of alignment after the first few hundred (NaNs, 1e38s).
    // The reader keeps the plausible rows and says what it dropped.
    auto pc = readPointCloudPly(model("PLY/pond.0.ply"));
    ASSERT_TRUE(pc.ok()) << pc.error().what();
    EXPECT_TRUE(anyWarningContains(pc->warnings, "70048 of 70051 vertices are complete"));
    EXPECT_TRUE(anyWarningContains(pc->warnings, "not unit length"));
    EXPECT_GT(pc->positions.size(), 600u);
    EXPECT_EQ(pc->normals.size(), pc->positions.size());
    for (const Vec3& p : pc->positions) ASSERT_LT(length(p), 100.0f);
    float maxc = 0, minc = 1;
    for (const Vec3& c : pc->colors) maxc = std::max({maxc, c.x, c.y, c.z}), minc = std::min({minc, c.x, c.y, c.z});
    EXPECT_LE(maxc, 1.0f);
    EXPECT_GT(maxc - minc, 0.2f);  // real colours, not a constant
}

class SplatFiles : public ::testing::Test {
protected:
    // The textured Collada duck sampled into Gaussians coloured by its texture.
    static SplatCloud bakedDuck(size_t n = 20000) {
        auto s = loadMeshScene(model("Collada/duck.dae"));
        EXPECT_TRUE(s.ok());
        return bakeMeshSurfaces(s->meshes, n, 7);
    }
};

TEST_F(SplatFiles, BakeWriteReadRoundTrip) {
    SplatCloud c = bakedDuck();
    ASSERT_EQ(c.size(), 20000u);
    ASSERT_EQ(c.shDegree, 3);
    // Give a few splats view-dependent colour so the f_rest order is checked too.
    for (size_t i = 0; i < 100; ++i)
        for (int k = 3; k < 48; ++k) c.sh[i * 48 + k] = 0.01f * static_cast<float>((k * 7 + i) % 13) - 0.06f;
    const std::string path = test::tempDir() + "/duck_splats.ply";
    ASSERT_TRUE(writeSplatPly(c, path).ok());
    auto header = readPlyHeader(path);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->names.size(), 62u);  // the standard 3DGS layout
    EXPECT_TRUE(isSplatPly(path));
    auto back = readSplatPly(path);
    ASSERT_TRUE(back.ok()) << back.error().what();
    const SplatCloud& r = back->splats;
    ASSERT_EQ(r.size(), c.size());
    EXPECT_EQ(r.shDegree, 3);
    EXPECT_TRUE(back->warnings.empty());
    for (size_t i = 0; i < c.size(); i += 997) {
        EXPECT_EQ(r.positions[i].x, c.positions[i].x);
        EXPECT_EQ(r.logScales[i].z, c.logScales[i].z);
        EXPECT_EQ(r.rotations[i].w, c.rotations[i].w);
        EXPECT_EQ(r.opacityLogits[i], c.opacityLogits[i]);
    }
    for (size_t k = 0; k < 48 * 100; ++k) ASSERT_EQ(r.sh[k], c.sh[k]) << k;
    // Baked Gaussians are flattened along the surface normals and small against the model.
    const Bounds b = c.bounds();
    const float extent = length(b.size());
    for (size_t i = 0; i < c.size(); i += 1001) {
        EXPECT_LT(c.logScales[i].z, c.logScales[i].x);
        EXPECT_LT(std::exp(c.logScales[i].x), extent * 0.05f);
    }
}

TEST_F(SplatFiles, TruncatedNanAndZeroSizeAreWarnings) {
    SplatCloud c = bakedDuck(1000);
    c.positions.resize(1000), c.logScales.resize(1000), c.rotations.resize(1000), c.opacityLogits.resize(1000);
    c.sh.resize(1000 * 48);
    c.positions[3].y = NAN;
    c.sh[10 * 48 + 20] = INFINITY;
    c.logScales[20] = {-INFINITY, -INFINITY, -INFINITY};
    c.logScales[21] = {-40, -50, -45};
    c.rotations[30] = {0, 0, 0, 0};
    const std::string dir = test::tempDir();
    ASSERT_TRUE(writeSplatPly(c, dir + "/bad.ply").ok());
    auto r = readSplatPly(dir + "/bad.ply");
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->splats.size(), 995u);
    EXPECT_TRUE(anyWarningContains(r->warnings, "dropped 2 of 1000 Gaussians with NaN"));
    EXPECT_TRUE(anyWarningContains(r->warnings, "dropped 2 of 1000 Gaussians with zero size"));
    EXPECT_TRUE(anyWarningContains(r->warnings, "dropped 1 of 1000 Gaussians with a zero rotation"));

    // Cut in the middle of splat 501: 500 complete rows remain (one of them the NaN at row 3, ...).
    const auto size = fs::file_size(dir + "/bad.ply");
    fs::resize_file(dir + "/bad.ply", size - 499 * 62 * 4 - 100);
    auto t = readSplatPly(dir + "/bad.ply");
    ASSERT_TRUE(t.ok()) << t.error().what();
    EXPECT_TRUE(anyWarningContains(t->warnings, "500 of 1000")) << t->warnings[0];
    EXPECT_EQ(t->splats.size(), 495u);
    // A texture-coloured bake has many distinct colours.
    float lo = 1e9f, hi = -1e9f;
    for (size_t i = 0; i < c.size(); ++i) lo = std::min(lo, c.sh[i * 48]), hi = std::max(hi, c.sh[i * 48]);
    EXPECT_GT(hi - lo, 0.5f);

    // Cut inside the header: one clear error.
    fs::resize_file(dir + "/bad.ply", 200);
    auto h = readSplatPly(dir + "/bad.ply");
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().what().find("end_header"), std::string::npos) << h.error().what();
}

TEST_F(SplatFiles, AsciiAndHandMadeHeaders) {
    const std::string dir = test::tempDir();
    writeBytes(dir + "/two.ply",
               "ply\r\nformat ascii 1.0\r\ncomment two Gaussians\r\nelement vertex 2\r\n"
               "property float x\r\nproperty float y\r\nproperty float z\r\n"
               "property float f_dc_0\r\nproperty float f_dc_1\r\nproperty float f_dc_2\r\nproperty float opacity\r\n"
               "property float scale_0\r\nproperty float scale_1\r\nproperty float scale_2\r\n"
               "property float rot_0\r\nproperty float rot_1\r\nproperty float rot_2\r\nproperty float rot_3\r\nend_header\r\n"
               "1 2 3 0.5 0 -0.5 2 -1 -2 -3 1 0 0 0\r\n4 5 6 0 0 0 -1 -1 -1 -1 0 1 0 0\r\n");
    auto s = readSplatPly(dir + "/two.ply");
    ASSERT_TRUE(s.ok()) << s.error().what();
    ASSERT_EQ(s->splats.size(), 2u);
    EXPECT_EQ(s->splats.shDegree, 0);
    EXPECT_FLOAT_EQ(s->splats.positions[1].z, 6.0f);
    EXPECT_FLOAT_EQ(s->splats.sh[2], -0.5f);
    EXPECT_FLOAT_EQ(s->splats.logScales[0].z, -3.0f);

    writeBytes(dir + "/be.ply", "ply\nformat binary_big_endian 1.0\nelement vertex 1\nproperty float x\nend_header\n0000");
    auto be = readSplatPly(dir + "/be.ply");
    ASSERT_FALSE(be.ok());
    EXPECT_EQ(be.error().code, ErrorCode::Unsupported);

    writeBytes(dir + "/huge.ply", "ply\nformat binary_little_endian 1.0\nelement vertex 99999999999\nproperty float x\n"
                                  "property float y\nproperty float z\nend_header\n123456789012");
    auto huge = readPointCloudPly(dir + "/huge.ply");
    ASSERT_TRUE(huge.ok()) << huge.error().what();  // the one complete point, with a warning
    EXPECT_EQ(huge->positions.size(), 1u);
    EXPECT_TRUE(anyWarningContains(huge->warnings, "truncated"));

    // No end_header: one error (Assimp alone would never return on this file).
    writeBytes(dir + "/noend.ply", "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n");
    auto noend = loadScene(dir + "/noend.ply");
    ASSERT_FALSE(noend.ok());
    EXPECT_NE(noend.error().what().find("end_header"), std::string::npos);
    writeBytes(dir + "/junk.ply", "this is not a ply file at all");
    EXPECT_FALSE(loadScene(dir + "/junk.ply").ok());

    auto cloud = readSplatPly(model("PLY/pond.0.ply"));
    ASSERT_FALSE(cloud.ok());
    EXPECT_NE(cloud.error().message.find("bake"), std::string::npos);
}

TEST_F(SplatFiles, DotSplatReader) {
    std::string bytes;
    auto put = [&](float x, float y, float z, float s, uint8_t r, uint8_t g, uint8_t b, uint8_t a) {
        float f[6] = {x, y, z, s, s * 2, s};
        bytes.append(reinterpret_cast<const char*>(f), sizeof f);
        const uint8_t tail[8] = {r, g, b, a, 255, 128, 128, 128};  // identity-ish rotation (w = 1)
        bytes.append(reinterpret_cast<const char*>(tail), 8);
    };
    put(0, 0, 0, 0.1f, 255, 0, 0, 200);
    put(1, 0, 0, 0.0f, 0, 255, 0, 255);  // zero-size
    put(2, 0, 0, 0.2f, 0, 0, 255, 255);
    bytes += "abcde";  // truncated tail
    const std::string path = test::tempDir() + "/three.splat";
    writeBytes(path, bytes);
    auto s = loadScene(path);
    ASSERT_TRUE(s.ok()) << s.error().what();
    ASSERT_EQ(s->splats.size(), 2u);
    EXPECT_TRUE(anyWarningContains(s->warnings, "5 trailing bytes"));
    EXPECT_TRUE(anyWarningContains(s->warnings, "zero size"));
    // Colour round trip through the DC term, opacity through the logit.
    const Vec3 c = evalSh(0, s->splats.shOf(0), {0, 0, 1});
    EXPECT_NEAR(c.x, 1.0f, 1e-5);
    EXPECT_NEAR(c.y, 0.0f, 1e-5);
    EXPECT_NEAR(sigmoid(s->splats.opacityLogits[0]), 200 / 255.0f, 1e-5);
    EXPECT_NEAR(std::exp(s->splats.logScales[1].y), 0.4f, 1e-6);
}

TEST(SceneMath, CovarianceAndCameraFraming) {
    float cov[6];
    covariance3d({std::log(2.0f), std::log(3.0f), std::log(0.5f)}, Quat{1, 0, 0, 0}, cov);
    EXPECT_NEAR(cov[0], 4.0f, 1e-5);
    EXPECT_NEAR(cov[3], 9.0f, 1e-5);
    EXPECT_NEAR(cov[5], 0.25f, 1e-6);
    EXPECT_NEAR(cov[1], 0.0f, 1e-6);
    // 90 degrees about Z swaps the x and y variances.
    const float h = std::sqrt(0.5f);
    covariance3d({std::log(2.0f), std::log(3.0f), std::log(0.5f)}, Quat{h, 0, 0, h}, cov);
    EXPECT_NEAR(cov[0], 9.0f, 1e-4);
    EXPECT_NEAR(cov[3], 4.0f, 1e-4);

    Bounds b;
    b.add(Vec3{-1, 0, -3});
    b.add(Vec3{3, 2, 1});
    const Camera cam = Camera::frame(b, 16.0f / 9.0f);
    EXPECT_GT(cam.eye.z, b.max.z);
    EXPECT_FLOAT_EQ(cam.eye.x, 1.0f);
    const Mat4 vp = cam.viewProjection(16.0f / 9.0f);
    Vec4 c = vp * Vec4{1, 1, -1, 1};
    EXPECT_NEAR(c.x / c.w, 0.0f, 1e-5);
    EXPECT_NEAR(c.y / c.w, 0.0f, 1e-5);
    float maxAbs = 0;
    for (int i = 0; i < 8; ++i) {
        const Vec3 p{i & 1 ? b.max.x : b.min.x, i & 2 ? b.max.y : b.min.y, i & 4 ? b.max.z : b.min.z};
        Vec4 q = vp * Vec4{p.x, p.y, p.z, 1};
        ASSERT_GT(q.w, 0);
        maxAbs = std::max({maxAbs, std::fabs(q.x / q.w), std::fabs(q.y / q.w)});
        EXPECT_GT(q.z / q.w, 0.0f);
        EXPECT_LT(q.z / q.w, 1.0f);
    }
    EXPECT_LT(maxAbs, 1.0f);   // everything inside the image
    EXPECT_GT(maxAbs, 0.75f);  // and it fills it
    // +Y in the world is up in the image (negative NDC y in Vulkan).
    Vec4 top = vp * Vec4{1, 2, 1, 1};
    EXPECT_LT(top.y / top.w, 0.0f);

    auto parsed = parseCamera("eye=0,0,10,target=0,1,0,fov=30", cam);
    ASSERT_TRUE(parsed.ok()) << parsed.error().what();
    EXPECT_FLOAT_EQ(parsed->eye.z, 10.0f);
    EXPECT_FLOAT_EQ(parsed->target.y, 1.0f);
    EXPECT_FLOAT_EQ(parsed->fovYDeg, 30.0f);
    EXPECT_FALSE(parseCamera("eye=0,0", cam).ok());
    EXPECT_FALSE(parseCamera("fov=abc", cam).ok());
    EXPECT_FALSE(parseCamera("zoom=3", cam).ok());
}

}  // namespace
}  // namespace by
