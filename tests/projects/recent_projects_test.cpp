#include "projects/recent_projects.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

std::string touch(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << "x";
    return path;
}

std::string readAll(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(RecentProjects, EmptyWithoutAFile) {
    RecentProjects r(by::test::tempDir() + "/config/brickyard/recent.json");
    auto e = r.entries();
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(e->empty());
    EXPECT_FALSE(fs::exists(r.file()));
}

TEST(RecentProjects, MostRecentFirstWithoutDuplicates) {
    const std::string dir = by::test::tempDir();
    RecentProjects r(dir + "/config/recent.json");  // the folder is created on first write
    const auto a = touch(dir + "/a.byproj"), b = touch(dir + "/b.byproj"), c = touch(dir + "/c.byproj");
    ASSERT_TRUE(r.add(a).ok());
    ASSERT_TRUE(r.add(b).ok());
    ASSERT_TRUE(r.add(c).ok());
    ASSERT_TRUE(r.add(a).ok());
    ASSERT_TRUE(r.add(dir + "/./sub/../b.byproj").ok());  // the same file, spelled differently
    auto e = r.entries();
    ASSERT_TRUE(e.ok()) << e.error().what();
    EXPECT_EQ(*e, (std::vector<std::string>{b, a, c}));

    // Another instance reading the same file sees the same list.
    EXPECT_EQ(*RecentProjects(r.file()).entries(), *e);
}

TEST(RecentProjects, KeepsAtMostTen) {
    const std::string dir = by::test::tempDir();
    RecentProjects r(dir + "/recent.json");
    for (int i = 0; i < 15; ++i)
        ASSERT_TRUE(r.add(touch(dir + "/p" + std::to_string(i) + ".byproj")).ok());
    auto e = r.entries();
    ASSERT_EQ(e->size(), RecentProjects::kMaxEntries);
    EXPECT_EQ(e->front(), dir + "/p14.byproj");
    EXPECT_EQ(e->back(), dir + "/p5.byproj");
}

TEST(RecentProjects, StoresAbsolutePaths) {
    const std::string dir = by::test::tempDir();
    touch(dir + "/rel.byproj");
    const auto old = fs::current_path();
    fs::current_path(dir);
    RecentProjects r(dir + "/recent.json");
    ASSERT_TRUE(r.add("rel.byproj").ok());
    fs::current_path(old);
    EXPECT_EQ(r.entries()->front(), dir + "/rel.byproj");
}

TEST(RecentProjects, PrunesMissingFilesOnRead) {
    const std::string dir = by::test::tempDir();
    RecentProjects r(dir + "/recent.json");
    const auto a = touch(dir + "/a.byproj"), b = touch(dir + "/b.byproj");
    ASSERT_TRUE(r.add(a).ok());
    ASSERT_TRUE(r.add(b).ok());
    fs::remove(a);
    auto e = r.entries();
    EXPECT_EQ(*e, (std::vector<std::string>{b}));
    EXPECT_EQ(readAll(r.file()).find("a.byproj"), std::string::npos);  // and the file was rewritten
}

TEST(RecentProjects, RemoveAndClear) {
    const std::string dir = by::test::tempDir();
    RecentProjects r(dir + "/recent.json");
    const auto a = touch(dir + "/a.byproj"), b = touch(dir + "/b.byproj");
    ASSERT_TRUE(r.add(a).ok());
    ASSERT_TRUE(r.add(b).ok());
    ASSERT_TRUE(r.remove(a).ok());
    EXPECT_EQ(*r.entries(), (std::vector<std::string>{b}));
    ASSERT_TRUE(r.clear().ok());
    EXPECT_TRUE(r.entries()->empty());
}

TEST(RecentProjects, AwkwardPathsRoundTrip) {
    const std::string dir = by::test::tempDir();
    RecentProjects r(dir + "/recent.json");
    const auto p = touch(dir + "/quote\" back\\slash tab\t ünïcødé 模型/p.byproj");
    ASSERT_TRUE(r.add(p).ok());
    auto e = r.entries();
    ASSERT_TRUE(e.ok()) << e.error().what();
    ASSERT_EQ(e->size(), 1u);
    EXPECT_EQ(e->front(), p);
}

TEST(RecentProjects, ReadsEscapesWrittenByOtherTools) {
    const std::string dir = by::test::tempDir();
    const auto p = touch(dir + "/caf\xc3\xa9/\xf0\x9f\x98\x80.byproj");
    std::ofstream(dir + "/recent.json")
        << "{\"recent\":[\"" << dir
        << "\\/caf\\u00e9\\/\\ud83d\\ude00.byproj\"],\"window\":{\"w\":800,\"h\":[1,2.5e3,"
           "true,null]},\"version\":1}";
    RecentProjects r(dir + "/recent.json");
    auto e = r.entries();
    ASSERT_TRUE(e.ok()) << e.error().what();
    ASSERT_EQ(e->size(), 1u);
    EXPECT_EQ(e->front(), p);
}

TEST(RecentProjects, DamagedFileIsReportedThenReplaced) {
    const std::string dir = by::test::tempDir();
    for (const char* bad : {"", "not json", "{\"recent\": [1, 2]}", "{\"recent\": [\"/x\"", "[]"}) {
        std::ofstream(dir + "/recent.json", std::ios::trunc) << bad;
        RecentProjects r(dir + "/recent.json");
        auto e = r.entries();
        ASSERT_FALSE(e.ok()) << "accepted: " << bad;
        EXPECT_EQ(e.error().code, ErrorCode::Format);
        EXPECT_NE(e.error().message.find("damaged"), std::string::npos);
        const auto a = touch(dir + "/a.byproj");
        ASSERT_TRUE(r.add(a).ok());
        EXPECT_EQ(*r.entries(), (std::vector<std::string>{a}));
    }
}

TEST(RecentProjects, DefaultFileFollowsXdgConfigHome) {
    const char* old = std::getenv("XDG_CONFIG_HOME");
    const bool hadOld = old != nullptr;
    const std::string saved = old ? old : "";
    ::setenv("XDG_CONFIG_HOME", "/somewhere/config", 1);
    EXPECT_EQ(RecentProjects::defaultFile(), "/somewhere/config/brickyard/recent.json");
    ::unsetenv("XDG_CONFIG_HOME");
    if (const char* home = std::getenv("HOME")) {
        EXPECT_EQ(RecentProjects::defaultFile(), std::string(home) + "/.config/brickyard/recent.json");
    }
    if (hadOld) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace by
