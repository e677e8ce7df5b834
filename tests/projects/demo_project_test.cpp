#include "projects/demo_project.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

TEST(DemoProject, HoldsTheCachedModelsAndMnist) {
    for (const auto& d : demoAssets())
        by::test::asset(d.relativePath);  // fails loudly if not fetched
    const std::string path = by::test::tempDir() + "/demo.byproj";
    auto p = createDemoProject(path, by::test::cacheDir());
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->name(), "Brickyard demo");

    auto assets = p->assets();
    ASSERT_TRUE(assets.ok());
    // 15 downloaded or trained by setup, and the two 3D scenes build_models.sh trains.
    ASSERT_EQ(assets->size(), 17u);
    int models = 0, onnx = 0, tflite = 0, gguf = 0, scenes = 0;
    for (const auto& a : *assets) {
        EXPECT_EQ(p->resolveAssetPath(a).status, AssetStatus::Present) << a.displayName;
        EXPECT_FALSE(a.tags.empty()) << a.displayName;
        EXPECT_EQ(a.contentHash.size(), 64u);
        scenes += a.kind == AssetKind::Scene;
        if (a.kind != AssetKind::Model) continue;
        ++models;
        onnx += a.format == "onnx";
        tflite += a.format == "tflite";
        gguf += a.format == "gguf";
        auto root = p->rootVariant(a.id);
        ASSERT_TRUE(root.ok()) << a.displayName;
        EXPECT_EQ(root->name, "original");
        EXPECT_EQ(root->sizeBytes, static_cast<int64_t>(fs::file_size(a.absolutePath))) << a.displayName;
        EXPECT_EQ(root->sizeBytes, a.sizeBytes);
        EXPECT_EQ(p->variants(a.id)->size(), 1u);
    }
    EXPECT_EQ(models, 12);
    EXPECT_EQ(scenes, 1);
    EXPECT_EQ(onnx, 7);
    EXPECT_EQ(tflite, 3);
    EXPECT_EQ(gguf, 2);

    const Asset& mnist = (*assets)[assets->size() - 6];
    EXPECT_EQ(mnist.kind, AssetKind::Dataset);
    EXPECT_EQ(mnist.format, "folder");
    EXPECT_EQ(mnist.displayName, "MNIST handwritten digits");
    EXPECT_GT(mnist.sizeBytes, 50'000'000);
    const Asset& fashion = (*assets)[assets->size() - 5];
    EXPECT_EQ(fashion.kind, AssetKind::Dataset);
    EXPECT_EQ(fashion.displayName, "Fashion-MNIST clothing images");
    EXPECT_EQ(p->assetsWithTag("trained")->size(), 6u);
    EXPECT_EQ(p->assetsWithTag("3d")->size(), 2u);
    EXPECT_EQ(p->variants()->size(), 12u);

    auto notes = p->notes(NoteTarget::project());
    ASSERT_EQ(notes->size(), 1u);
    EXPECT_NE(notes->front().text.find("MNIST"), std::string::npos);
    ASSERT_EQ(p->devices()->size(), 1u);
    EXPECT_EQ(p->devices()->front().kind, DeviceKind::Local);
    EXPECT_EQ(p->assetsWithTag("ocr")->size(), 4u);  // three models and the rendered text lines

    // The layer that can load models fills in parameter counts afterwards.
    const int64_t root = p->rootVariant(assets->front().id)->id;
    ASSERT_TRUE(p->setVariantParameterCount(root, 1'000'000).ok());

    // And the whole thing is an ordinary project file.
    { Project closed = std::move(*p); }
    auto again = Project::open(path);
    ASSERT_TRUE(again.ok()) << again.error().what();
    EXPECT_EQ(again->counts()->assets, 17);
    EXPECT_EQ(again->variant(root)->parameterCount, 1'000'000);
}

TEST(DemoProject, MissingCacheNamesTheFileAndTheFix) {
    const std::string dir = by::test::tempDir();
    const std::string emptyCache = dir + "/cache";
    fs::create_directories(emptyCache);
    auto p = createDemoProject(dir + "/demo.byproj", emptyCache);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, ErrorCode::Io);
    EXPECT_NE(p.error().message.find(emptyCache + "/" + demoAssets().front().relativePath), std::string::npos)
        << p.error().what();
    EXPECT_NE(p.error().message.find("scripts/setup.sh"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir + "/demo.byproj"));
}

TEST(DemoProject, PartlyFilledCacheNamesTheFirstMissingFile) {
    const std::string dir = by::test::tempDir();
    const std::string cache = dir + "/cache";
    // Every model, but no MNIST.
    for (const auto& d : demoAssets()) {
        if (d.kind != AssetKind::Model) continue;
        if (d.optional) continue;
        fs::create_directories(fs::path(cache + "/" + d.relativePath).parent_path());
        fs::create_symlink(by::test::asset(d.relativePath), cache + "/" + d.relativePath);
    }
    auto p = createDemoProject(dir + "/demo.byproj", cache);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find("data/mnist"), std::string::npos) << p.error().what();
    EXPECT_FALSE(fs::exists(dir + "/demo.byproj"));
}

// The trained 3D scenes are optional: a cache without them still gives a demo, without them.
TEST(DemoProject, TrainedScenesAreAddedOnlyWhenPresent) {
    const std::string dir = by::test::tempDir();
    const std::string cache = dir + "/cache";
    size_t required = 0;
    for (const auto& d : demoAssets()) {
        if (d.optional) continue;
        ++required;
        fs::create_directories(fs::path(cache + "/" + d.relativePath).parent_path());
        fs::create_symlink(by::test::asset(d.relativePath), cache + "/" + d.relativePath);
    }
    ASSERT_LT(required, demoAssets().size());
    auto p = createDemoProject(dir + "/demo.byproj", cache);
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->assets()->size(), required);
    EXPECT_TRUE(p->assetsWithTag("3d")->empty());
}

TEST(DemoProject, RefusesToOverwriteAProject) {
    const std::string path = by::test::tempDir() + "/demo.byproj";
    { ASSERT_TRUE(Project::create(path, "mine").ok()); }
    auto p = createDemoProject(path, by::test::cacheDir());
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find("already exists"), std::string::npos) << p.error().what();
    EXPECT_EQ(Project::open(path)->name(), "mine");
}

}  // namespace
}  // namespace by

namespace by {
namespace {

TEST(DemoProject, AnOlderDemoGetsTheNewAssets) {
    for (const auto& d : demoAssets()) by::test::asset(d.relativePath);
    const std::string path = by::test::tempDir() + "/old_demo.byproj";
    auto p = Project::create(path, "Brickyard demo");
    ASSERT_TRUE(p.ok());
    // An older demo: only the first model.
    ASSERT_TRUE(p->addAsset((fs::path(by::test::cacheDir()) / demoAssets().front().relativePath).string(), AssetKind::Model,
                            demoAssets().front().displayName)
                    .ok());
    auto added = addMissingDemoAssets(*p, by::test::cacheDir());
    ASSERT_TRUE(added.ok()) << added.error().what();
    EXPECT_EQ(*added, int(demoAssets().size()) - 1);
    EXPECT_EQ(p->assets()->size(), demoAssets().size());
    EXPECT_EQ(p->assetsWithTag("trained")->size(), 6u);
    // Up to date: nothing more to add.
    auto again = addMissingDemoAssets(*p, by::test::cacheDir());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0);
}

}  // namespace
}  // namespace by
