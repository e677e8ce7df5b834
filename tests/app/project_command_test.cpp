// `brickyard-cli project ...`, run as the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "projects/demo_project.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kClsModel = "models/ch_ppocr_mobile_v2.0_cls_infer.onnx";
const char* kFaceModel = "models/face_detection_short_range.tflite";

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

struct CliRun {
    int status = -1;
    std::string out;  // stdout only
    std::string err;  // stderr only
};

// Runs brickyard-cli with stdout and stderr kept apart, so JSON output can be parsed.
CliRun cli(const std::string& args) {
    static int n = 0;
    const std::string errFile = by::test::tempDir() + "/stderr" + std::to_string(n++) + ".txt";
    CliRun r;
    std::string out;
    // runCommand adds 2>&1 after the command; the subshell keeps this stderr in its own file.
    r.status = by::test::runCommand(
        "(" + quote(by::test::cliPath()) + " " + args + " 2>" + quote(errFile) + ")", &out);
    r.out = out;
    std::ifstream in(errFile);
    r.err.assign(std::istreambuf_iterator<char>(in), {});
    return r;
}

json parse(const CliRun& r) {
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out << "\nstderr: " << r.err;
    return j;
}

// One sentence, prefixed with the tool's name, on one line.
void expectOneSentence(const CliRun& r) {
    EXPECT_EQ(r.err.rfind("brickyard-cli: ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST(ProjectCommand, CreateAddListVariantsInfo) {
    const std::string dir = by::test::tempDir();
    const std::string proj = dir + "/work.byproj";
    const std::string onnx = by::test::asset(kClsModel);
    const std::string tflite = by::test::asset(kFaceModel);

    CliRun r = cli("project create " + quote(proj) + " --name 'Edge work'");
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Edge work"), std::string::npos);
    ASSERT_TRUE(fs::exists(proj));

    // Models are loaded to count their parameters; the kind comes from the file.
    r = cli("project add " + quote(proj) + " " + quote(onnx));
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("added asset 1"), std::string::npos) << r.out;
    r = cli("project add " + quote(proj) + " " + quote(tflite) + " --name 'Face detector'");
    ASSERT_EQ(r.status, 0) << r.out << r.err;

    // A dataset folder inside the project folder.
    fs::create_directories(dir + "/digits");
    std::ofstream(dir + "/digits/labels.txt") << "0123456789";
    r = cli("project add " + quote(proj) + " " + quote(dir + "/digits") + " --kind dataset");
    ASSERT_EQ(r.status, 0) << r.out << r.err;

    r = cli("project list " + quote(proj) + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    json list = parse(r);
    EXPECT_EQ(list["project"], "Edge work");
    ASSERT_EQ(list["assets"].size(), 3u);
    const json& cls = list["assets"][0];
    EXPECT_EQ(cls["id"], 1);
    EXPECT_EQ(cls["kind"], "model");
    EXPECT_EQ(cls["format"], "onnx");
    EXPECT_EQ(cls["name"], "ch_ppocr_mobile_v2.0_cls_infer.onnx");
    EXPECT_EQ(cls["size_bytes"], static_cast<int64_t>(fs::file_size(onnx)));
    EXPECT_EQ(cls["status"], "present");
    EXPECT_EQ(cls["content_hash"].get<std::string>().size(), 64u);
    EXPECT_TRUE(cls["relative_path"].is_null());
    EXPECT_EQ(list["assets"][1]["name"], "Face detector");
    EXPECT_EQ(list["assets"][1]["format"], "tflite");
    EXPECT_EQ(list["assets"][2]["kind"], "dataset");
    EXPECT_EQ(list["assets"][2]["relative_path"], "digits");

    r = cli("project list " + quote(proj));
    ASSERT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("Face detector"), std::string::npos);

    r = cli("project variants " + quote(proj) + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    json vars = parse(r);
    ASSERT_EQ(vars["variants"].size(), 2u);  // one root per model, none for the dataset
    for (const auto& v : vars["variants"]) {
        EXPECT_EQ(v["name"], "original");
        EXPECT_TRUE(v["parent_id"].is_null());
        EXPECT_EQ(v["depth"], 0);
        EXPECT_EQ(v["recipe"], json::object());
        EXPECT_GT(v["parameter_count"].get<int64_t>(), 0) << "the importer's parameter count was not stored";
    }
    EXPECT_EQ(vars["variants"][0]["size_bytes"], static_cast<int64_t>(fs::file_size(onnx)));
    EXPECT_EQ(vars["variants"][1]["size_bytes"], static_cast<int64_t>(fs::file_size(tflite)));

    r = cli("project variants " + quote(proj) + " 2 --json");
    ASSERT_EQ(r.status, 0) << r.err;
    json one = parse(r);
    ASSERT_EQ(one["variants"].size(), 1u);
    EXPECT_EQ(one["variants"][0]["asset_id"], 2);
    EXPECT_EQ(one["asset_id"], 2);

    r = cli("project variants " + quote(proj));
    ASSERT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("original"), std::string::npos);

    r = cli("project info " + quote(proj) + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    json info = parse(r);
    EXPECT_EQ(info["name"], "Edge work");
    EXPECT_EQ(info["path"], proj);
    EXPECT_EQ(info["schema_version"], 2);
    EXPECT_EQ(info["counts"]["assets"], 3);
    EXPECT_EQ(info["counts"]["variants"], 2);
}

TEST(ProjectCommand, SameContentTwiceIsOneAsset) {
    const std::string dir = by::test::tempDir();
    const std::string proj = dir + "/p.byproj";
    const std::string copy = dir + "/renamed.onnx";
    fs::copy_file(by::test::asset(kClsModel), copy);
    ASSERT_EQ(cli("project create " + quote(proj)).status, 0);
    ASSERT_EQ(cli("project add " + quote(proj) + " " + quote(by::test::asset(kClsModel))).status, 0);
    CliRun r = cli("project add " + quote(proj) + " " + quote(copy));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("already in the project"), std::string::npos) << r.out;
    EXPECT_EQ(parse(cli("project info " + quote(proj) + " --json"))["counts"]["assets"], 1);
}

TEST(ProjectCommand, ModelThatDoesNotLoadIsNotAdded) {
    const std::string dir = by::test::tempDir();
    const std::string proj = dir + "/p.byproj";
    ASSERT_EQ(cli("project create " + quote(proj)).status, 0);
    std::ofstream(dir + "/broken.onnx") << "this is not a protobuf at all";
    CliRun r = cli("project add " + quote(proj) + " " + quote(dir + "/broken.onnx"));
    EXPECT_EQ(r.status, 1);
    expectOneSentence(r);
    EXPECT_NE(r.err.find("broken.onnx"), std::string::npos) << r.err;

    std::ofstream(dir + "/notes.txt") << "hello";
    r = cli("project add " + quote(proj) + " " + quote(dir + "/notes.txt") + " --kind model");
    EXPECT_EQ(r.status, 1);
    expectOneSentence(r);
    EXPECT_EQ(parse(cli("project info " + quote(proj) + " --json"))["counts"]["assets"], 0);

    // Without --kind a text file is simply "other".
    ASSERT_EQ(cli("project add " + quote(proj) + " " + quote(dir + "/notes.txt")).status, 0);
    json list = parse(cli("project list " + quote(proj) + " --json"));
    ASSERT_EQ(list["assets"].size(), 1u);
    EXPECT_EQ(list["assets"][0]["kind"], "other");
}

TEST(ProjectCommand, BadInputAndBadUsage) {
    const std::string dir = by::test::tempDir();
    std::ofstream(dir + "/random.byproj") << "definitely not SQLite, just some text that goes on";

    CliRun r = cli("project list " + quote(dir + "/random.byproj"));
    EXPECT_EQ(r.status, 1);
    expectOneSentence(r);
    EXPECT_NE(r.err.find("not a Brickyard project"), std::string::npos) << r.err;

    r = cli("project info " + quote(dir + "/missing.byproj"));
    EXPECT_EQ(r.status, 1);
    expectOneSentence(r);

    ASSERT_EQ(cli("project create " + quote(dir + "/p.byproj")).status, 0);
    r = cli("project create " + quote(dir + "/p.byproj"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("already exists"), std::string::npos);
    r = cli("project variants " + quote(dir + "/p.byproj") + " 42");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no asset with id 42"), std::string::npos) << r.err;
    r = cli("project add " + quote(dir + "/p.byproj") + " " + quote(dir + "/nope.onnx"));
    EXPECT_EQ(r.status, 1);
    expectOneSentence(r);

    EXPECT_EQ(cli("project").status, 2);
    EXPECT_EQ(cli("project frobnicate x").status, 2);
    EXPECT_EQ(cli("project list").status, 2);
    EXPECT_EQ(cli("project list a b").status, 2);
    EXPECT_EQ(cli("project create " + quote(dir + "/q.byproj") + " --json").status, 2);
    EXPECT_EQ(cli("project variants " + quote(dir + "/p.byproj") + " first").status, 2);
    EXPECT_EQ(cli("project add " + quote(dir + "/p.byproj") + " x --kind banana").status, 2);
    EXPECT_EQ(cli("project create " + quote(dir + "/r.byproj") + " --name").status, 2);
    EXPECT_FALSE(fs::exists(dir + "/q.byproj"));
    EXPECT_EQ(cli("project --help").status, 0);
}

TEST(ProjectCommand, DemoNeedsTheCache) {
    const std::string dir = by::test::tempDir();
    fs::create_directories(dir + "/empty-cache");
    CliRun r = cli("project demo " + quote(dir + "/demo.byproj") + " --cache " + quote(dir + "/empty-cache"));
    EXPECT_EQ(r.status, 1);
    expectOneSentence(r);
    EXPECT_NE(r.err.find("scripts/setup.sh"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/demo.byproj"));
}

TEST(ProjectCommand, DemoProject) {
    const std::string dir = by::test::tempDir();
    const std::string proj = dir + "/demo.byproj";
    by::test::asset(kClsModel);  // fails loudly when the cache was never filled
    CliRun r = cli("project demo " + quote(proj) + " --cache " + quote(by::test::cacheDir()));
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    json info = parse(cli("project info " + quote(proj) + " --json"));
    size_t models = 0;
    for (const auto& d : by::demoAssets()) models += d.kind == by::AssetKind::Model;
    // seven downloaded, four trained by scripts/setup.sh (two CNNs, the tiny GPT twice), and the
    // duck light field trained by scripts/build_models.sh
    EXPECT_EQ(models, 12u);
    EXPECT_EQ(info["counts"]["assets"], by::demoAssets().size());
    EXPECT_EQ(info["counts"]["variants"], models);
    EXPECT_EQ(info["counts"]["notes"], 1);
    json vars = parse(cli("project variants " + quote(proj) + " --json"));
    ASSERT_EQ(vars["variants"].size(), models);
    for (const auto& v : vars["variants"])
        EXPECT_GT(v["parameter_count"].get<int64_t>(), 0) << "variant " << v["id"] << " was not counted";
}

}  // namespace
