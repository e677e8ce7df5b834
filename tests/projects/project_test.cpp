#include "projects/project.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sqlite3.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "projects/content_hash.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

const char* kClsModel = "models/ch_ppocr_mobile_v2.0_cls_infer.onnx";
const char* kVadModel = "models/silero_vad_16k_op15.onnx";

void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Project createProject(const std::string& path, const std::string& name = "test") {
    auto p = Project::create(path, name);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().what());
    return std::move(p).value();
}

// ---- creating and opening ------------------------------------------------------------------

TEST(Project, CreateThenReopenKeepsNameAndVersion) {
    const std::string path = by::test::tempDir() + "/first.byproj";
    {
        auto p = createProject(path, "  My project ");
        EXPECT_EQ(p.name(), "My project");
        EXPECT_EQ(p.path(), path);
        EXPECT_EQ(p.schemaVersion(), 2);
        EXPECT_FALSE(p.createdAt().empty());
        ASSERT_TRUE(p.setName("Renamed").ok());
    }
    auto p = Project::open(path);
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->name(), "Renamed");
    EXPECT_EQ(p->schemaVersion(), 2);
    auto c = p->counts();
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->assets, 0);
    EXPECT_EQ(c->notes, 0);
}

TEST(Project, EmptyNameBecomesFileStem) {
    auto p = createProject(by::test::tempDir() + "/Street signs.byproj", "");
    EXPECT_EQ(p.name(), "Street signs");
    EXPECT_FALSE(p.setName("   ").ok());
}

TEST(Project, CreateRefusesToOverwriteAndMissingFolders) {
    const std::string dir = by::test::tempDir();
    writeFile(dir + "/taken.byproj", "precious");
    auto a = Project::create(dir + "/taken.byproj", "x");
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().message.find("already exists"), std::string::npos) << a.error().what();
    std::ifstream in(dir + "/taken.byproj");
    std::string kept((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(kept, "precious");

    auto b = Project::create(dir + "/no/such/folder/p.byproj", "x");
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("folder"), std::string::npos) << b.error().what();
    EXPECT_FALSE(fs::exists(dir + "/no"));
}

// Each wrong file gets one clear sentence, never a crash and never a silently "repaired" file.
TEST(Project, RefusesFilesThatAreNotProjects) {
    const std::string dir = by::test::tempDir();

    auto missing = Project::open(dir + "/nothing.byproj");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::Io);
    EXPECT_NE(missing.error().message.find("no such project file"), std::string::npos);

    writeFile(dir + "/empty.byproj", "");
    auto empty = Project::open(dir + "/empty.byproj");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, ErrorCode::Format);
    EXPECT_NE(empty.error().message.find("empty"), std::string::npos) << empty.error().what();
    EXPECT_EQ(fs::file_size(dir + "/empty.byproj"), 0u);

    std::mt19937 rng(7);
    std::string noise(8192, '\0');
    for (auto& c : noise)
        c = static_cast<char>(rng());
    writeFile(dir + "/noise.byproj", noise);
    auto random = Project::open(dir + "/noise.byproj");
    ASSERT_FALSE(random.ok());
    EXPECT_EQ(random.error().code, ErrorCode::Format);
    EXPECT_NE(random.error().message.find("not an SQLite database"), std::string::npos)
        << random.error().what();

    writeFile(dir + "/short.byproj", "SQLite");
    EXPECT_FALSE(Project::open(dir + "/short.byproj").ok());

    // A valid SQLite header followed by garbage.
    std::string damaged = std::string("SQLite format 3\0", 16) + noise;
    writeFile(dir + "/damaged.byproj", damaged);
    auto bad = Project::open(dir + "/damaged.byproj");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Format) << bad.error().what();

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/foreign.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES('Ada');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    const auto foreignSize = fs::file_size(dir + "/foreign.db");
    auto foreign = Project::open(dir + "/foreign.db");
    ASSERT_FALSE(foreign.ok());
    EXPECT_EQ(foreign.error().code, ErrorCode::Format);
    EXPECT_NE(foreign.error().message.find("not a Brickyard project"), std::string::npos)
        << foreign.error().what();
    EXPECT_EQ(fs::file_size(dir + "/foreign.db"), foreignSize);
    EXPECT_FALSE(fs::exists(dir + "/foreign.db-wal"));

    fs::create_directories(dir + "/folder.byproj");
    auto folder = Project::open(dir + "/folder.byproj");
    ASSERT_FALSE(folder.ok());
    EXPECT_NE(folder.error().message.find("folder"), std::string::npos);

    // Every message is one sentence naming the file.
    for (const auto* r : {&empty, &random, &foreign}) {
        EXPECT_EQ(r->error().what().find('\n'), std::string::npos);
        EXPECT_NE(r->error().what().find(dir), std::string::npos);
    }
}

TEST(Project, RefusesNewerSchemaVersion) {
    const std::string path = by::test::tempDir() + "/future.byproj";
    { createProject(path); }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto p = Project::open(path);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, ErrorCode::Unsupported);
    EXPECT_NE(p.error().message.find("newer Brickyard"), std::string::npos) << p.error().what();
    EXPECT_NE(p.error().message.find("99"), std::string::npos);
}

// ---- assets ---------------------------------------------------------------------------------

TEST(Project, AssetInsideFolderIsStoredRelative) {
    const std::string dir = by::test::tempDir();
    fs::create_directories(dir + "/models");
    fs::copy_file(by::test::asset(kClsModel), dir + "/models/cls.onnx");
    auto p = createProject(dir + "/p.byproj");
    auto inside = p.addAsset(dir + "/models/cls.onnx", AssetKind::Model, "Direction classifier");
    ASSERT_TRUE(inside.ok()) << inside.error().what();
    auto outside = p.addAsset(by::test::asset(kVadModel), AssetKind::Model);
    ASSERT_TRUE(outside.ok()) << outside.error().what();

    auto a = p.asset(*inside);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->relativePath, "models/cls.onnx");
    EXPECT_EQ(a->absolutePath, dir + "/models/cls.onnx");
    EXPECT_EQ(a->displayName, "Direction classifier");
    EXPECT_EQ(a->kind, AssetKind::Model);
    EXPECT_EQ(a->format, "onnx");
    EXPECT_EQ(a->sizeBytes, static_cast<int64_t>(fs::file_size(dir + "/models/cls.onnx")));
    EXPECT_EQ(a->contentHash, hashFile(by::test::asset(kClsModel))->sha256);
    EXPECT_FALSE(a->addedAt.empty());

    auto b = p.asset(*outside);
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(b->relativePath.empty());
    EXPECT_EQ(b->absolutePath, by::test::asset(kVadModel));
    EXPECT_EQ(b->displayName, "silero_vad_16k_op15.onnx");

    auto all = p.assets();
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].id, *inside);
    EXPECT_EQ((*all)[1].id, *outside);
}

TEST(Project, SameContentTwiceIsOneAsset) {
    const std::string dir = by::test::tempDir();
    fs::copy_file(by::test::asset(kClsModel), dir + "/copy-with-another-name.onnx");
    auto p = createProject(dir + "/p.byproj");
    auto first = p.addAsset(by::test::asset(kClsModel), AssetKind::Model, "first");
    ASSERT_TRUE(first.ok()) << first.error().what();
    auto again = p.addAsset(by::test::asset(kClsModel), AssetKind::Model, "again");
    auto copy = p.addAsset(dir + "/copy-with-another-name.onnx", AssetKind::Other, "copy");
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE(copy.ok());
    EXPECT_EQ(*again, *first);
    EXPECT_EQ(*copy, *first);
    auto c = p.counts();
    EXPECT_EQ(c->assets, 1);
    EXPECT_EQ(c->variants, 1);  // no second root variant either
    EXPECT_EQ(p.asset(*first)->displayName, "first");
}

TEST(Project, ModelAssetGetsRootVariant) {
    auto p = createProject(by::test::tempDir() + "/p.byproj");
    NewAsset na;
    na.path = by::test::asset(kClsModel);
    na.kind = AssetKind::Model;
    na.parameterCount = 1234;
    auto id = p.addAsset(na);
    ASSERT_TRUE(id.ok()) << id.error().what();
    auto root = p.rootVariant(*id);
    ASSERT_TRUE(root.ok()) << root.error().what();
    EXPECT_EQ(root->name, "original");
    EXPECT_FALSE(root->parentId.has_value());
    EXPECT_EQ(root->recipeJson, "{}");
    EXPECT_EQ(root->sizeBytes, static_cast<int64_t>(fs::file_size(na.path)));
    EXPECT_EQ(root->parameterCount, 1234);
    ASSERT_TRUE(p.setVariantParameterCount(root->id, 5678).ok());
    EXPECT_EQ(p.variant(root->id)->parameterCount, 5678);
    EXPECT_FALSE(p.setVariantParameterCount(root->id, -1).ok());
    EXPECT_FALSE(p.setVariantParameterCount(9999, 1).ok());

    // Non-model assets have no variants.
    const std::string txt = by::test::tempDir() + "/labels.txt";
    writeFile(txt, "cat\ndog\n");
    auto other = p.addAsset(txt, AssetKind::Other);
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(p.asset(*other)->format, "txt");
    EXPECT_TRUE(p.variants(*other)->empty());
    EXPECT_FALSE(p.rootVariant(*other).ok());
}

TEST(Project, FolderAssetIsHashedAsAWhole) {
    const std::string dir = by::test::tempDir();
    fs::create_directories(dir + "/digits/train");
    writeFile(dir + "/digits/train/a.bin", std::string(100, 'a'));
    writeFile(dir + "/digits/labels.txt", "0 1 2");
    auto p = createProject(dir + "/p.byproj");
    auto id = p.addAsset(dir + "/digits", AssetKind::Dataset, "Digits");
    ASSERT_TRUE(id.ok()) << id.error().what();
    auto a = p.asset(*id);
    EXPECT_EQ(a->format, "folder");
    EXPECT_EQ(a->sizeBytes, 105);
    EXPECT_EQ(a->relativePath, "digits");
    EXPECT_EQ(p.resolveAssetPath(*a).status, AssetStatus::Present);
}

TEST(Project, RefusesBadAssets) {
    const std::string dir = by::test::tempDir();
    auto p = createProject(dir + "/p.byproj");
    auto missing = p.addAsset(dir + "/nope.onnx", AssetKind::Model);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::Io);
    EXPECT_FALSE(p.addAsset(dir + "/p.byproj", AssetKind::Other).ok());
    EXPECT_FALSE(p.addAsset(dir, AssetKind::Dataset).ok());
    EXPECT_FALSE(p.addAsset("", AssetKind::Other).ok());
    EXPECT_EQ(p.counts()->assets, 0);
}

TEST(Project, TagsAndRemoval) {
    const std::string dir = by::test::tempDir();
    auto p = createProject(dir + "/p.byproj");
    auto cls = p.addAsset(by::test::asset(kClsModel), AssetKind::Model);
    auto vad = p.addAsset(by::test::asset(kVadModel), AssetKind::Model);
    ASSERT_TRUE(cls.ok() && vad.ok());
    ASSERT_TRUE(p.setAssetTags(*cls, {"ocr", " onnx ", "ocr"}).ok());
    ASSERT_TRUE(p.setAssetTags(*vad, {"audio", "onnx"}).ok());
    EXPECT_EQ(p.asset(*cls)->tags, (std::vector<std::string>{"ocr", "onnx"}));
    EXPECT_EQ(p.assetsWithTag("onnx")->size(), 2u);
    ASSERT_EQ(p.assetsWithTag("audio")->size(), 1u);
    EXPECT_EQ(p.assetsWithTag("audio")->front().id, *vad);
    EXPECT_FALSE(p.setAssetTags(*cls, {""}).ok());
    EXPECT_FALSE(p.setAssetTags(12345, {"x"}).ok());
    EXPECT_EQ(p.asset(*cls)->tags.size(), 2u);  // the refused call changed nothing

    auto root = p.rootVariant(*cls);
    ASSERT_TRUE(root.ok());
    ASSERT_TRUE(p.addEvaluation(root->id, std::nullopt, "accuracy", 0.9).ok());
    ASSERT_TRUE(p.addNote(NoteTarget::of(NoteTargetKind::Asset, *cls), "keep an eye on this one").ok());
    ASSERT_TRUE(p.addNote(NoteTarget::of(NoteTargetKind::Variant, root->id), "baseline").ok());
    ASSERT_TRUE(p.addNote(NoteTarget::project(), "project-wide").ok());

    ASSERT_TRUE(p.removeAsset(*cls).ok());
    auto c = p.counts();
    EXPECT_EQ(c->assets, 1);
    EXPECT_EQ(c->variants, 1);
    EXPECT_EQ(c->evaluations, 0);
    EXPECT_EQ(c->notes, 1);  // notes about the asset and its variant went with them
    EXPECT_EQ(p.assetsWithTag("ocr")->size(), 0u);
    EXPECT_FALSE(p.removeAsset(*cls).ok());
}

// ---- variants -------------------------------------------------------------------------------

TEST(Project, VariantTree) {
    auto p = createProject(by::test::tempDir() + "/p.byproj");
    auto cls = p.addAsset(by::test::asset(kClsModel), AssetKind::Model);
    auto vad = p.addAsset(by::test::asset(kVadModel), AssetKind::Model);
    ASSERT_TRUE(cls.ok() && vad.ok());
    const int64_t root = p.rootVariant(*cls)->id;
    auto int8 = p.addVariant(*cls, root, "int8", R"({"pass":"quantize","bits":8})", 150000, 100);
    ASSERT_TRUE(int8.ok()) << int8.error().what();
    auto pruned =
        p.addVariant(*cls, *int8, "int8 + prune 50%", R"({"pass":"prune","sparsity":0.5})", 90000, 50);
    ASSERT_TRUE(pruned.ok());
    auto fp16 = p.addVariant(*cls, root, "fp16", "", 290000, 100);
    ASSERT_TRUE(fp16.ok());
    EXPECT_EQ(p.variant(*fp16)->recipeJson, "{}");

    auto vs = p.variants(*cls);
    ASSERT_TRUE(vs.ok());
    ASSERT_EQ(vs->size(), 4u);
    EXPECT_EQ((*vs)[0].id, root);
    EXPECT_EQ((*vs)[1].parentId, root);
    EXPECT_EQ((*vs)[2].parentId, *int8);
    EXPECT_EQ((*vs)[2].recipeJson, R"({"pass":"prune","sparsity":0.5})");
    EXPECT_EQ(p.variants()->size(), 5u);

    // A parent from another asset, a missing asset, bad JSON, bad numbers: refused, nothing added.
    const int64_t vadRoot = p.rootVariant(*vad)->id;
    auto cross = p.addVariant(*cls, vadRoot, "x", "{}", 1, 1);
    ASSERT_FALSE(cross.ok());
    EXPECT_NE(cross.error().message.find("belongs to asset"), std::string::npos) << cross.error().what();
    EXPECT_FALSE(p.addVariant(999, std::nullopt, "x", "{}", 1, 1).ok());
    auto json = p.addVariant(*cls, root, "x", "{not json", 1, 1);
    ASSERT_FALSE(json.ok());
    EXPECT_NE(json.error().message.find("not valid JSON"), std::string::npos);
    EXPECT_FALSE(p.addVariant(*cls, root, "  ", "{}", 1, 1).ok());
    EXPECT_FALSE(p.addVariant(*cls, root, "x", "{}", -1, 1).ok());
    EXPECT_FALSE(p.addVariant(*cls, 424242, "x", "{}", 1, 1).ok());
    EXPECT_FALSE(p.variants(777).ok());
    EXPECT_EQ(p.variants()->size(), 5u);

    // Renaming.
    ASSERT_TRUE(p.renameVariant(*fp16, " half precision ").ok());
    EXPECT_EQ(p.variant(*fp16)->name, "half precision");
    EXPECT_FALSE(p.renameVariant(*fp16, "").ok());
    EXPECT_FALSE(p.renameVariant(31337, "x").ok());
    ASSERT_TRUE(p.renameAsset(*cls, "Classifier").ok());
    EXPECT_EQ(p.asset(*cls)->displayName, "Classifier");
    EXPECT_FALSE(p.renameAsset(*cls, " ").ok());
    EXPECT_FALSE(p.renameAsset(31337, "x").ok());

    // Removing a variant removes its descendants and their results.
    ASSERT_TRUE(p.addBenchmark(*pruned, std::nullopt, "latency", 3.5, "ms").ok());
    ASSERT_TRUE(p.removeVariant(*int8).ok());
    vs = p.variants(*cls);
    ASSERT_EQ(vs->size(), 2u);
    EXPECT_EQ(p.counts()->benchmarks, 0);
}

// ---- results --------------------------------------------------------------------------------

TEST(Project, EvaluationsBenchmarksDevicesDeploymentsNotes) {
    auto p = createProject(by::test::tempDir() + "/p.byproj");
    auto model = p.addAsset(by::test::asset(kClsModel), AssetKind::Model);
    const std::string data = by::test::tempDir() + "/set";
    fs::create_directories(data);
    writeFile(data + "/x.bin", "12345");
    auto dataset = p.addAsset(data, AssetKind::Dataset);
    ASSERT_TRUE(model.ok() && dataset.ok());
    const int64_t v = p.rootVariant(*model)->id;

    auto e = p.addEvaluation(v, *dataset, "top1", 0.875, R"({"samples": 1000})");
    ASSERT_TRUE(e.ok()) << e.error().what();
    ASSERT_TRUE(p.addEvaluation(v, std::nullopt, "loss", 0.3).ok());
    EXPECT_FALSE(p.addEvaluation(v, 999, "top1", 0.5).ok());
    EXPECT_FALSE(p.addEvaluation(v, std::nullopt, "", 0.5).ok());
    EXPECT_FALSE(p.addEvaluation(v, std::nullopt, "top1", std::nan("")).ok());
    EXPECT_FALSE(p.addEvaluation(v, std::nullopt, "top1", 0.5, "[unclosed").ok());
    auto evals = p.evaluations(v);
    ASSERT_TRUE(evals.ok());
    ASSERT_EQ(evals->size(), 2u);
    EXPECT_EQ((*evals)[0].metric, "top1");
    EXPECT_DOUBLE_EQ((*evals)[0].value, 0.875);
    EXPECT_EQ((*evals)[0].datasetAssetId, *dataset);
    EXPECT_EQ((*evals)[0].detailsJson, R"({"samples": 1000})");
    EXPECT_FALSE((*evals)[1].datasetAssetId.has_value());
    EXPECT_EQ((*evals)[1].detailsJson, "{}");

    auto phone = p.addDevice("Pixel 7", DeviceKind::Adb, "28071FDH2000AB", R"({"abi": "arm64-v8a"})");
    auto pi = p.addDevice("Raspberry Pi 5", DeviceKind::Ssh, "pi@192.168.1.20");
    ASSERT_TRUE(phone.ok() && pi.ok());
    EXPECT_FALSE(p.addDevice("", DeviceKind::Local, "").ok());
    auto devs = p.devices();
    ASSERT_EQ(devs->size(), 2u);
    EXPECT_EQ((*devs)[0].kind, DeviceKind::Adb);
    EXPECT_EQ((*devs)[1].address, "pi@192.168.1.20");

    ASSERT_TRUE(p.addBenchmark(v, *phone, "latency_p50", 4.2, "ms", R"({"threads": 4})").ok());
    ASSERT_TRUE(p.addBenchmark(v, std::nullopt, "peak_memory", 12.5, "MiB").ok());
    EXPECT_FALSE(p.addBenchmark(v, 999, "latency", 1, "ms").ok());
    auto bench = p.benchmarks(v);
    ASSERT_EQ(bench->size(), 2u);
    EXPECT_EQ((*bench)[0].deviceId, *phone);
    EXPECT_EQ((*bench)[0].unit, "ms");

    auto dep = p.addDeployment(v, *pi);
    ASSERT_TRUE(dep.ok());
    ASSERT_TRUE(p.updateDeployment(*dep, DeploymentStatus::Running, "copying model\n").ok());
    ASSERT_TRUE(p.updateDeployment(*dep, DeploymentStatus::Succeeded, "started\n").ok());
    EXPECT_FALSE(p.updateDeployment(999, DeploymentStatus::Failed).ok());
    EXPECT_FALSE(p.addDeployment(v, 999).ok());
    auto deps = p.deployments(v);
    ASSERT_EQ(deps->size(), 1u);
    EXPECT_EQ((*deps)[0].status, DeploymentStatus::Succeeded);
    EXPECT_EQ((*deps)[0].log, "copying model\nstarted\n");

    ASSERT_TRUE(p.addNote(NoteTarget::project(), "Goal: under 5 ms on the phone.").ok());
    ASSERT_TRUE(p.addNote(NoteTarget::of(NoteTargetKind::Device, *phone), "needs USB debugging on").ok());
    ASSERT_TRUE(p.addNote(NoteTarget::of(NoteTargetKind::Variant, v), "reference").ok());
    EXPECT_FALSE(p.addNote(NoteTarget::of(NoteTargetKind::Variant, 999), "x").ok());
    EXPECT_FALSE(p.addNote(NoteTarget{NoteTargetKind::Asset, std::nullopt}, "x").ok());
    EXPECT_FALSE(p.addNote(NoteTarget::project(), " ").ok());
    EXPECT_EQ(p.notes()->size(), 3u);
    auto projectNotes = p.notes(NoteTarget::project());
    ASSERT_EQ(projectNotes->size(), 1u);
    EXPECT_EQ(projectNotes->front().text, "Goal: under 5 ms on the phone.");
    auto deviceNotes = p.notes(NoteTarget::of(NoteTargetKind::Device, *phone));
    ASSERT_EQ(deviceNotes->size(), 1u);
    EXPECT_EQ(deviceNotes->front().target.id, *phone);

    // Notes can be taken back.
    const int64_t reference = p.notes(NoteTarget::of(NoteTargetKind::Variant, v))->front().id;
    ASSERT_TRUE(p.removeNote(reference).ok());
    EXPECT_FALSE(p.removeNote(reference).ok());
    ASSERT_TRUE(p.addNote(NoteTarget::of(NoteTargetKind::Variant, v), "reference again").ok());

    auto c = p.counts();
    EXPECT_EQ(c->evaluations, 2);
    EXPECT_EQ(c->benchmarks, 2);
    EXPECT_EQ(c->devices, 2);
    EXPECT_EQ(c->deployments, 1);
    EXPECT_EQ(c->notes, 3);
}

TEST(Project, TransactionIsAllOrNothing) {
    auto p = createProject(by::test::tempDir() + "/p.byproj");
    auto model = p.addAsset(by::test::asset(kClsModel), AssetKind::Model);
    ASSERT_TRUE(model.ok());
    const int64_t root = p.rootVariant(*model)->id;
    Status st = p.transaction([&]() -> Status {
        for (int i = 0; i < 5; ++i) {
            auto v = p.addVariant(*model, root, "v" + std::to_string(i), "{}", 1, 1);
            if (!v) return v.error();
        }
        return makeError(ErrorCode::Cancelled, "stopped by the user");
    });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::Cancelled);
    EXPECT_EQ(p.variants(*model)->size(), 1u);

    // A failing step inside a committed transaction is undone alone.
    st = p.transaction([&]() -> Status {
        EXPECT_TRUE(p.addVariant(*model, root, "kept", "{}", 1, 1).ok());
        EXPECT_FALSE(p.addVariant(*model, root, "refused", "{bad", 1, 1).ok());
        return {};
    });
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(p.variants(*model)->size(), 2u);
}

TEST(Project, TwoConnectionsSeeEachOthersCommits) {
    const std::string path = by::test::tempDir() + "/shared.byproj";
    auto a = createProject(path);
    auto b = Project::open(path);
    ASSERT_TRUE(b.ok()) << b.error().what();
    ASSERT_TRUE(a.addNote(NoteTarget::project(), "from a").ok());
    ASSERT_TRUE(b->addNote(NoteTarget::project(), "from b").ok());
    EXPECT_EQ(a.notes()->size(), 2u);
    EXPECT_EQ(b->notes()->size(), 2u);
}

// ---- moving things around -------------------------------------------------------------------

TEST(Project, MovedProjectFolderStillResolvesAssets) {
    const std::string root = by::test::tempDir();
    const std::string before = root + "/before";
    fs::create_directories(before + "/models");
    fs::copy_file(by::test::asset(kClsModel), before + "/models/cls.onnx");
    int64_t inside = 0, outside = 0;
    {
        auto p = createProject(before + "/work.byproj");
        inside = p.addAsset(before + "/models/cls.onnx", AssetKind::Model).value();
        outside = p.addAsset(by::test::asset(kVadModel), AssetKind::Model).value();
    }
    const std::string after = root + "/elsewhere/after";
    fs::create_directories(root + "/elsewhere");
    fs::rename(before, after);

    auto p = Project::open(after + "/work.byproj");
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->folder(), after);
    auto in = p->resolveAssetPath(p->asset(inside).value());
    EXPECT_EQ(in.status, AssetStatus::Present) << in.message;
    EXPECT_EQ(in.path, after + "/models/cls.onnx");
    auto out = p->resolveAssetPath(p->asset(outside).value());
    EXPECT_EQ(out.status, AssetStatus::Present);
    EXPECT_EQ(out.path, by::test::asset(kVadModel));
}

TEST(Project, RelocatedChangedAndMissingAssetsAreStatusesNotFailures) {
    const std::string dir = by::test::tempDir();
    fs::create_directories(dir + "/models");
    fs::copy_file(by::test::asset(kClsModel), dir + "/models/cls.onnx");
    fs::copy_file(by::test::asset(kVadModel), dir + "/models/vad.onnx");
    writeFile(dir + "/notes.txt", "some notes");
    auto p = createProject(dir + "/p.byproj");
    const int64_t cls = p.addAsset(dir + "/models/cls.onnx", AssetKind::Model).value();
    const int64_t vad = p.addAsset(dir + "/models/vad.onnx", AssetKind::Model).value();
    const int64_t txt = p.addAsset(dir + "/notes.txt", AssetKind::Other).value();

    // Moved within the project folder (and renamed): found by content.
    fs::create_directories(dir + "/archive/2024");
    fs::rename(dir + "/models/cls.onnx", dir + "/archive/2024/classifier.onnx");
    // Deleted.
    fs::remove(dir + "/models/vad.onnx");
    // Edited in place.
    writeFile(dir + "/notes.txt", "some notes, and more");

    auto relocated = p.resolveAssetPath(p.asset(cls).value());
    EXPECT_EQ(relocated.status, AssetStatus::Relocated);
    EXPECT_EQ(relocated.path, dir + "/archive/2024/classifier.onnx");
    EXPECT_FALSE(relocated.message.empty());

    auto missing = p.resolveAssetPath(p.asset(vad).value());
    EXPECT_EQ(missing.status, AssetStatus::Missing);
    EXPECT_NE(missing.message.find("missing"), std::string::npos) << missing.message;
    EXPECT_NE(missing.message.find("vad.onnx"), std::string::npos) << missing.message;

    auto changed = p.resolveAssetPath(p.asset(txt).value());
    EXPECT_EQ(changed.status, AssetStatus::Changed);

    // The project itself is unaffected, and a relocated asset can be relinked.
    EXPECT_EQ(p.assets()->size(), 3u);
    EXPECT_FALSE(p.relinkAsset(cls, dir + "/notes.txt").ok());
    ASSERT_TRUE(p.relinkAsset(cls, dir + "/archive/2024/classifier.onnx").ok());
    auto a = p.asset(cls).value();
    EXPECT_EQ(a.relativePath, "archive/2024/classifier.onnx");
    EXPECT_EQ(p.resolveAssetPath(a).status, AssetStatus::Present);
}

// ---- crash safety ---------------------------------------------------------------------------

// Reads one line from a pipe, waiting at most a few seconds.
bool waitForLine(int fd) {
    char c;
    for (int i = 0; i < 10000; ++i) {
        const ssize_t n = ::read(fd, &c, 1);
        if (n == 1 && c == '\n') return true;
        if (n == 0) return false;
    }
    return false;
}

TEST(Project, KilledMidTransactionKeepsOnlyCommittedData) {
    const std::string path = by::test::tempDir() + "/crash.byproj";
    int64_t model = 0;
    {
        auto p = createProject(path);
        model = p.addAsset(by::test::asset(kClsModel), AssetKind::Model).value();
    }
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(fds[0]);
        auto p = Project::open(path);
        if (!p) ::_exit(3);
        const int64_t root = p->rootVariant(model).value().id;
        if (!p->addVariant(model, root, "committed", "{}", 1, 1)) ::_exit(4);
        if (!p->addNote(NoteTarget::project(), "committed note")) ::_exit(5);
        (void)p->transaction([&]() -> Status {
            for (int i = 0; i < 200; ++i)
                (void)p->addVariant(model, root, "uncommitted", "{}", 1, 1);
            (void)p->addNote(NoteTarget::project(), "uncommitted note");
            (void)p->setName("uncommitted name");
            // Tell the parent we are inside the open transaction, then wait to be killed.
            (void)!::write(fds[1], "in\n", 3);
            ::pause();
            return {};
        });
        ::_exit(6);
    }
    ::close(fds[1]);
    ASSERT_TRUE(waitForLine(fds[0])) << "the child never reached its transaction";
    ::close(fds[0]);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));

    auto p = Project::open(path);
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->name(), "test");
    auto vs = p->variants(model);
    ASSERT_TRUE(vs.ok());
    ASSERT_EQ(vs->size(), 2u);
    EXPECT_EQ((*vs)[1].name, "committed");
    auto notes = p->notes();
    ASSERT_EQ(notes->size(), 1u);
    EXPECT_EQ(notes->front().text, "committed note");
    // The file still takes writes.
    EXPECT_TRUE(p->addNote(NoteTarget::project(), "after the crash").ok());
}

// Kills a writer at random moments while it commits batches: every batch is all there or not
// at all, and the file is never damaged.
TEST(Project, KilledAtRandomMomentsNeverLosesAtomicity) {
    const std::string path = by::test::tempDir() + "/hammer.byproj";
    int64_t model = 0;
    {
        auto p = createProject(path);
        model = p.addAsset(by::test::asset(kClsModel), AssetKind::Model).value();
    }
    constexpr int kBatch = 7;
    std::mt19937 rng(12345);
    size_t committed = 0;
    for (int round = 0; round < 6; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            auto p = Project::open(path);
            if (!p) ::_exit(3);
            const int64_t root = p->rootVariant(model).value().id;
            for (int b = 0;; ++b) {
                Status st = p->transaction([&]() -> Status {
                    for (int i = 0; i < kBatch; ++i) {
                        auto v = p->addVariant(model, root, "batch " + std::to_string(b), "{}", 1, 1);
                        if (!v) return v.error();
                        auto n = p->addNote(NoteTarget::of(NoteTargetKind::Variant, *v), "n");
                        if (!n) return n.error();
                    }
                    return {};
                });
                if (st && b == 0) (void)!::write(fds[1], "committed\n", 10);
            }
        }
        ::close(fds[1]);
        ASSERT_TRUE(waitForLine(fds[0])) << "round " << round << ": the writer never committed";
        ::close(fds[0]);
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30000));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);

        auto p = Project::open(path);
        ASSERT_TRUE(p.ok()) << "round " << round << ": " << p.error().what();
        auto vs = p->variants(model);
        ASSERT_TRUE(vs.ok());
        EXPECT_EQ((vs->size() - 1) % kBatch, 0u) << "round " << round << ": a batch was half written";
        EXPECT_GT(vs->size() - 1, committed) << "round " << round << ": a committed batch was lost";
        committed = vs->size() - 1;
        EXPECT_EQ(p->notes()->size(), committed);
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

}  // namespace
}  // namespace by
