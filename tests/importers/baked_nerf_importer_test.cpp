// MobileNeRF scenes (mlp.json + shapeI.obj + shapeI.pngfeat{0,1}.png): a hand-made scene read back
// value for value, the baked duck in the cache (scripts/train/baked_nerf.py), and hand-broken
// folders that must be refused with one sentence naming the file or layer.
#include "importers/baked_nerf_importer.h"
#include "tests/test_support.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h> // its implementation is compiled in dataset_readers_test.cpp

namespace by {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// [in][out] weights with distinct values, so a transposition mistake shows.
json matrix(int in, int out, float scale) {
    json m = json::array();
    for (int i = 0; i < in; ++i) {
        json row = json::array();
        for (int o = 0; o < out; ++o)
            row.push_back(scale * static_cast<float>(i * 100 + o));
        m.push_back(row);
    }
    return m;
}

json mlp(int hidden = 4) {
    json j;
    j["obj_num"] = 1;
    j["0_weights"] = matrix(11, hidden, 0.001f);
    j["0_bias"] = json::array();
    for (int o = 0; o < hidden; ++o)
        j["0_bias"].push_back(0.1 * o);
    j["1_weights"] = matrix(hidden, 3, 0.01f);
    j["1_bias"] = {0.5, -0.5, 0.25};
    return j;
}

void writeText(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary) << s;
}

void writePng(const fs::path& p, int w, int h, uint8_t fill) {
    std::vector<uint8_t> px(static_cast<size_t>(w) * h * 4, fill);
    ASSERT_TRUE(stbi_write_png(p.string().c_str(), w, h, 4, px.data(), w * 4));
}

// A unit quad in the XY plane, two triangles, the whole texture mapped onto it (OBJ's v points up).
fs::path handMadeScene(const std::string& name, const json& j = mlp()) {
    const fs::path dir = fs::path(test::tempDir()) / name;
    fs::create_directories(dir);
    writeText(dir / "shape0.obj", "v -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf "
                                  "1/1 2/2 3/3\nf 1/1 3/3 4/4\n");
    writePng(dir / "shape0.pngfeat0.png", 4, 2, 200);
    writePng(dir / "shape0.pngfeat1.png", 4, 2, 100);
    writeText(dir / "mlp.json", j.dump());
    return dir;
}

std::string errorOf(const fs::path& p) {
    auto r = loadBakedNerf(p.string());
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().what();
}

TEST(BakedNerfImporter, ReadsAHandMadeSceneValueForValue) {
    const fs::path dir = handMadeScene("good");
    EXPECT_TRUE(isBakedNerfPath(dir.string()));
    EXPECT_TRUE(isBakedNerfPath((dir / "mlp.json").string()));
    EXPECT_FALSE(isBakedNerfPath((dir / "shape0.obj").string()));
    for (const fs::path& p : {dir, dir / "mlp.json"}) {
        auto r = loadBakedNerf(p.string());
        ASSERT_TRUE(r.ok()) << r.error().what();
        ASSERT_EQ(r->shapes.size(), 1u);
        const BakedNerfShape& s = r->shapes[0];
        EXPECT_EQ(s.triangleCount(), 2u);
        ASSERT_EQ(s.uvs.size(), s.positions.size());
        // OBJ's v is up; the loaded coordinate runs down the image rows: vt 0 1 is the top-left.
        for (size_t i = 0; i < s.positions.size(); ++i) {
            EXPECT_FLOAT_EQ(s.uvs[i].x, (s.positions[i].x + 1) / 2);
            EXPECT_FLOAT_EQ(s.uvs[i].y, (1 - s.positions[i].y) / 2);
        }
        EXPECT_EQ(s.features[0]->width, 4);
        EXPECT_EQ(s.features[1]->height, 2);
        EXPECT_EQ(s.features[0]->rgba[3], 200);
        EXPECT_EQ(s.features[1]->rgba[0], 100);
        ASSERT_EQ(r->layers.size(), 2u);
        EXPECT_EQ(r->layers[0].in, 11);
        EXPECT_EQ(r->layers[0].out, 4);
        EXPECT_EQ(r->layers[1].out, 3);
        // Stored [in][out]; held [out][in]: weight (o, i) = 0.001 * (i * 100 + o).
        EXPECT_FLOAT_EQ(r->layers[0].weights[2 * 11 + 7], 0.001f * 702.0f);
        EXPECT_FLOAT_EQ(r->layers[1].weights[1 * 4 + 3], 0.01f * 301.0f);
        EXPECT_FLOAT_EQ(r->layers[1].bias[1], -0.5f);
        EXPECT_EQ(r->parameterCount(), 11 * 4 + 4 + 4 * 3 + 3);
    }
}

TEST(BakedNerfImporter, RefusesMissingAndCorruptFilesNamingThem) {
    {
        const fs::path dir = handMadeScene("no_feat1");
        fs::remove(dir / "shape0.pngfeat1.png");
        const std::string e = errorOf(dir);
        EXPECT_NE(e.find("shape0.pngfeat1.png is missing"), std::string::npos) << e;
    }
    {
        const fs::path dir = handMadeScene("bad_png");
        writeText(dir / "shape0.pngfeat0.png", "\x89PNG\r\n\x1a\n truncated");
        const std::string e = errorOf(dir);
        EXPECT_NE(e.find("shape0.pngfeat0.png cannot be decoded"), std::string::npos) << e;
    }
    {
        const fs::path dir = handMadeScene("sizes");
        writePng(dir / "shape0.pngfeat1.png", 2, 2, 7);
        const std::string e = errorOf(dir);
        EXPECT_NE(e.find("differ in size"), std::string::npos) << e;
    }
    {
        const fs::path dir = handMadeScene("no_obj");
        fs::remove(dir / "shape0.obj");
        const std::string e = errorOf(dir);
        EXPECT_NE(e.find("shape0.obj is missing"), std::string::npos) << e;
    }
    {
        const fs::path dir = handMadeScene("no_uv");
        writeText(dir / "shape0.obj", "v -1 -1 0\nv 1 -1 0\nv 1 1 0\nf 1 2 3\n");
        const std::string e = errorOf(dir);
        EXPECT_NE(e.find("shape0.obj has no texture coordinates"), std::string::npos) << e;
    }
    {
        json j = mlp();
        j["obj_num"] = 2; // shape1.* do not exist
        const std::string e = errorOf(handMadeScene("two", j));
        EXPECT_NE(e.find("shape1.obj is missing"), std::string::npos) << e;
    }
    {
        const fs::path dir = fs::path(test::tempDir()) / "empty";
        fs::create_directories(dir);
        EXPECT_FALSE(isBakedNerfPath(dir.string()));
        const std::string e = errorOf(dir);
        EXPECT_NE(e.find("mlp.json is missing"), std::string::npos) << e;
    }
}

TEST(BakedNerfImporter, RefusesBrokenMlpJsonWithOneSentence) {
    {
        const fs::path dir = handMadeScene("not_json");
        writeText(dir / "mlp.json", "{\"obj_num\": 1, \"0_weights\": [[1, 2");
        EXPECT_NE(errorOf(dir).find("mlp.json is not valid JSON"), std::string::npos);
    }
    const std::pair<std::string, std::function<void(json&)>> cases[] = {
        {"no integer obj_num", [](json& j) { j.erase("obj_num"); }},
        {"obj_num 0 is not between", [](json& j) { j["obj_num"] = 0; }},
        // 10 inputs: the view direction's third component is missing.
        {"0_weights has 10 rows (inputs) but the first layer takes 11",
         [](json& j) { j["0_weights"] = matrix(10, 4, 1.0f); }},
        {"1_weights has 5 rows (inputs) but the layer before gives 4",
         [](json& j) { j["1_weights"] = matrix(5, 3, 1.0f); }},
        {"0_weights has 4 outputs per row but 0_bias has 3 values",
         [](json& j) {
             j["0_bias"] = {1, 2, 3};
         }},
        {"gives 4 values, not RGB (3)",
         [](json& j) {
             j["1_weights"] = matrix(4, 4, 1.0f), j["1_bias"] = {1, 2, 3, 4};
         }},
        {"0_weights row 3 has 3 values where row 0 has 4", [](json& j) { j["0_weights"][3].erase(0); }},
        {"1_bias holds something that is not a number", [](json& j) { j["1_bias"][2] = "x"; }},
        {"it has 1_weights but no 1_bias", [](json& j) { j.erase("1_bias"); }},
        {"holds no 0_weights",
         [](json& j) { j.erase("0_weights"), j.erase("0_bias"), j.erase("1_weights"), j.erase("1_bias"); }},
    };
    int k = 0;
    for (const auto& [needle, edit] : cases) {
        json j = mlp();
        edit(j);
        const std::string e = errorOf(handMadeScene("mlp" + std::to_string(k++), j));
        EXPECT_NE(e.find(needle), std::string::npos) << e;
        EXPECT_NE(e.find("mlp.json"), std::string::npos) << e;
    }
}

TEST(BakedNerfImporter, ReadsTheBakedDuck) {
    const std::string dir = test::cacheDir() + "/models/baked_nerf/duck";
    if (!fs::exists(dir + "/mlp.json"))
        GTEST_SKIP() << dir
                     << "/mlp.json is missing: run scripts/build_models.sh (after a build), which bakes it";
    auto r = loadBakedNerf(dir);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->shapes.size(), 1u);
    // The Collada duck: 84 triangles, 2051 quads and 8 pentagons, triangulated.
    EXPECT_EQ(r->triangleCount(), 4212u);
    ASSERT_EQ(r->layers.size(), 3u);
    EXPECT_EQ(r->layers[0].in, 11);
    EXPECT_EQ(r->layers[0].out, 16);
    EXPECT_EQ(r->layers[1].out, 16);
    EXPECT_EQ(r->layers[2].out, 3);
    std::ifstream in(dir + "/mlp.json");
    const json j = json::parse(in);
    EXPECT_FLOAT_EQ(r->layers[1].weights[5 * 16 + 9], j["1_weights"][9][5].get<float>());
    // The duck spans about 2 units around (0.13, 0.87, -0.04): the mesh renderer's framing of it.
    const Bounds b = r->bounds();
    EXPECT_NEAR(b.center().y, 0.87, 0.01);
    EXPECT_GT(b.size().x, 1.0f);
}

} // namespace
} // namespace by
