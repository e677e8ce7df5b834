#include "projects/schema.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sqlite3.h>
#include <string>
#include <vector>

#include "projects/project.h"
#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

// The version 1 schema exactly as a version-1 build of Brickyard wrote it, typed out here rather
// than taken from schema.cpp, so a later edit of the migration list cannot quietly change what
// "an old project file" means to this test.
const char* kHandMadeV1 = R"(
PRAGMA application_id = 1113150020;
CREATE TABLE project_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE assets (id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('model', 'dataset', 'scene', 'other')),
  display_name TEXT NOT NULL, relative_path TEXT, absolute_path TEXT NOT NULL,
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0), content_hash TEXT NOT NULL UNIQUE,
  format TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE variants (id INTEGER PRIMARY KEY,
  asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
  parent_id INTEGER REFERENCES variants(id) ON DELETE CASCADE,
  name TEXT NOT NULL, recipe TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  size_bytes INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
  parameter_count INTEGER NOT NULL DEFAULT 0 CHECK (parameter_count >= 0));
CREATE TABLE devices (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('adb', 'ssh', 'agent', 'local')),
  address TEXT NOT NULL DEFAULT '', properties TEXT NOT NULL DEFAULT '{}',
  added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE evaluations (id INTEGER PRIMARY KEY,
  variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
  dataset_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  metric TEXT NOT NULL, value REAL NOT NULL, details TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE benchmarks (id INTEGER PRIMARY KEY,
  variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
  device_id INTEGER REFERENCES devices(id) ON DELETE SET NULL,
  metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE deployments (id INTEGER PRIMARY KEY,
  variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
  device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), log TEXT NOT NULL DEFAULT '');
CREATE TABLE notes (id INTEGER PRIMARY KEY,
  target_kind TEXT NOT NULL CHECK (target_kind IN
    ('project', 'asset', 'variant', 'evaluation', 'benchmark', 'device', 'deployment')),
  target_id INTEGER, text TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  CHECK ((target_kind = 'project') = (target_id IS NULL)));
CREATE TRIGGER assets_drop_notes AFTER DELETE ON assets BEGIN
  DELETE FROM notes WHERE target_kind = 'asset' AND target_id = OLD.id; END;
CREATE TRIGGER variants_drop_notes AFTER DELETE ON variants BEGIN
  DELETE FROM notes WHERE target_kind = 'variant' AND target_id = OLD.id; END;
CREATE TRIGGER evaluations_drop_notes AFTER DELETE ON evaluations BEGIN
  DELETE FROM notes WHERE target_kind = 'evaluation' AND target_id = OLD.id; END;
CREATE TRIGGER benchmarks_drop_notes AFTER DELETE ON benchmarks BEGIN
  DELETE FROM notes WHERE target_kind = 'benchmark' AND target_id = OLD.id; END;
CREATE TRIGGER devices_drop_notes AFTER DELETE ON devices BEGIN
  DELETE FROM notes WHERE target_kind = 'device' AND target_id = OLD.id; END;
CREATE TRIGGER deployments_drop_notes AFTER DELETE ON deployments BEGIN
  DELETE FROM notes WHERE target_kind = 'deployment' AND target_id = OLD.id; END;
PRAGMA user_version = 1;
)";

// Data a version-1 user would have had.
const char* kV1Data = R"(
INSERT INTO project_meta VALUES ('name', 'Old project'), ('created_at', '2024-03-01T10:00:00.000Z');
INSERT INTO assets (id, kind, display_name, relative_path, absolute_path, size_bytes, content_hash, format,
                    added_at)
  VALUES (1, 'model', 'Detector', 'models/det.onnx', '/old/place/models/det.onnx', 4700000,
          'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'onnx',
          '2024-03-01T10:01:00.000Z'),
         (2, 'dataset', 'Digits', NULL, '/data/digits', 1000,
          'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'folder',
          '2024-03-01T10:02:00.000Z');
INSERT INTO variants (id, asset_id, parent_id, name, recipe, size_bytes, parameter_count)
  VALUES (1, 1, NULL, 'original', '{}', 4700000, 1200000),
         (2, 1, 1, 'int8', '{"pass":"quantize","bits":8}', 1200000, 1200000);
INSERT INTO devices (id, name, kind, address) VALUES (1, 'Phone', 'adb', 'ABC123');
INSERT INTO evaluations (variant_id, dataset_asset_id, metric, value) VALUES (2, 2, 'top1', 0.91);
INSERT INTO benchmarks (variant_id, device_id, metric, value, unit) VALUES (2, 1, 'latency', 3.1, 'ms');
INSERT INTO deployments (variant_id, device_id, status, log) VALUES (2, 1, 'succeeded', 'ok');
INSERT INTO notes (target_kind, target_id, text) VALUES ('project', NULL, 'from the old days'),
                                                        ('variant', 2, 'fastest so far');
)";

void execOrFail(sqlite3* db, const char* sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    ASSERT_EQ(rc, SQLITE_OK) << (msg ? msg : "");
    sqlite3_free(msg);
}

void makeV1File(const std::string& path, const char* extraSql = nullptr) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    // One transaction, as an old build would have written it (and fast: one sync, not dozens).
    execOrFail(db, "BEGIN");
    execOrFail(db, kHandMadeV1);
    execOrFail(db, kV1Data);
    execOrFail(db, "COMMIT");
    // Foreign keys are off in a raw connection, so extraSql can plant rows a migration must catch.
    if (extraSql) execOrFail(db, extraSql);
    sqlite3_close(db);
}

int64_t pragmaInt(const std::string& path, const char* pragma) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, pragma, -1, &st, nullptr), SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

std::string pragmaText(const std::string& path, const char* pragma) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, pragma, -1, &st, nullptr), SQLITE_OK);
    std::string v;
    if (sqlite3_step(st) == SQLITE_ROW) v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

// Tables, indexes and triggers with each table's columns and foreign keys: the schema's shape,
// independent of how the CREATE statements were spelled.
std::map<std::string, std::string> schemaShape(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::map<std::string, std::string> shape;
    auto rows = [&](const std::string& sql) {
        std::vector<std::vector<std::string>> out;
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
        while (sqlite3_step(st) == SQLITE_ROW) {
            std::vector<std::string> r;
            for (int i = 0; i < sqlite3_column_count(st); ++i) {
                const auto* t = sqlite3_column_text(st, i);
                r.push_back(t ? reinterpret_cast<const char*>(t) : "NULL");
            }
            out.push_back(r);
        }
        sqlite3_finalize(st);
        return out;
    };
    for (const auto& obj :
         rows("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")) {
        std::string desc = obj[0] + " on " + obj[2];
        if (obj[0] == "table") {
            for (const auto& c : rows("PRAGMA table_info(" + obj[1] + ")"))
                desc += " | " + c[1] + " " + c[2] + " notnull=" + c[3] + " default=" + c[4] + " pk=" + c[5];
            for (const auto& f : rows("PRAGMA foreign_key_list(" + obj[1] + ")"))
                desc += " | fk " + f[3] + "->" + f[2] + "." + f[4] + " on delete " + f[6];
        } else if (obj[0] == "index") {
            for (const auto& c : rows("PRAGMA index_info(" + obj[1] + ")"))
                desc += " | " + c[2];
        }
        shape[obj[0] + " " + obj[1]] = desc;
    }
    sqlite3_close(db);
    return shape;
}

TEST(Schema, MigrationsAreOrderedAndContiguous) {
    const auto& ms = schema::migrations();
    ASSERT_FALSE(ms.empty());
    for (size_t i = 0; i < ms.size(); ++i) {
        EXPECT_EQ(ms[i].version, static_cast<int>(i) + 1);
        EXPECT_NE(std::string(ms[i].summary), "");
    }
    EXPECT_EQ(schema::latestVersion(), ms.back().version);
    EXPECT_GE(schema::latestVersion(), 2);
}

TEST(Schema, NewProjectIsMarkedVersionedAndLogged) {
    const std::string path = by::test::tempDir() + "/fresh.byproj";
    { ASSERT_TRUE(Project::create(path, "fresh").ok()); }
    EXPECT_EQ(pragmaInt(path, "PRAGMA application_id"), schema::kApplicationId);
    EXPECT_EQ(pragmaInt(path, "PRAGMA user_version"), schema::latestVersion());
    EXPECT_EQ(pragmaText(path, "PRAGMA journal_mode"), "wal");
    // The hand-made file uses the same constant.
    EXPECT_EQ(schema::kApplicationId, 1113150020);
}

TEST(Schema, MigratesHandMadeVersion1KeepingData) {
    const std::string dir = by::test::tempDir();
    const std::string path = dir + "/old.byproj";
    makeV1File(path);
    ASSERT_EQ(pragmaInt(path, "PRAGMA user_version"), 1);

    auto p = Project::open(path);
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->schemaVersion(), schema::latestVersion());
    EXPECT_EQ(p->name(), "Old project");
    EXPECT_EQ(p->createdAt(), "2024-03-01T10:00:00.000Z");

    auto assets = p->assets();
    ASSERT_TRUE(assets.ok()) << assets.error().what();
    ASSERT_EQ(assets->size(), 2u);
    EXPECT_EQ((*assets)[0].displayName, "Detector");
    EXPECT_EQ((*assets)[0].relativePath, "models/det.onnx");
    EXPECT_EQ((*assets)[0].sizeBytes, 4700000);
    EXPECT_TRUE((*assets)[0].tags.empty());
    EXPECT_EQ((*assets)[1].kind, AssetKind::Dataset);
    EXPECT_TRUE((*assets)[1].relativePath.empty());

    auto vs = p->variants(1);
    ASSERT_EQ(vs->size(), 2u);
    EXPECT_EQ((*vs)[1].recipeJson, R"({"pass":"quantize","bits":8})");
    EXPECT_EQ((*vs)[1].parentId, 1);
    EXPECT_EQ((*vs)[1].parameterCount, 1200000);
    auto evals = p->evaluations(2);
    ASSERT_EQ(evals->size(), 1u);
    EXPECT_DOUBLE_EQ(evals->front().value, 0.91);
    EXPECT_EQ(p->benchmarks(2)->front().unit, "ms");
    EXPECT_EQ(p->deployments(2)->front().status, DeploymentStatus::Succeeded);
    EXPECT_EQ(p->devices()->front().kind, DeviceKind::Adb);
    EXPECT_EQ(p->notes()->size(), 2u);

    // What version 2 added works on the migrated file.
    ASSERT_TRUE(p->setAssetTags(1, {"ocr", "detector"}).ok());
    EXPECT_EQ(p->assetsWithTag("ocr")->size(), 1u);

    // And the file on disk now says version 2 and has the new indexes.
    const auto shape = schemaShape(path);
    EXPECT_TRUE(shape.count("table asset_tags"));
    EXPECT_TRUE(shape.count("index variants_by_asset"));
    EXPECT_TRUE(shape.count("index notes_by_target"));
    EXPECT_EQ(pragmaInt(path, "PRAGMA user_version"), schema::latestVersion());
    EXPECT_EQ(pragmaText(path, "PRAGMA journal_mode"), "wal");
}

TEST(Schema, MigratedFileHasTheSameShapeAsANewOne) {
    const std::string dir = by::test::tempDir();
    makeV1File(dir + "/old.byproj");
    { ASSERT_TRUE(Project::open(dir + "/old.byproj").ok()); }
    { ASSERT_TRUE(Project::create(dir + "/new.byproj", "new").ok()); }
    const auto migrated = schemaShape(dir + "/old.byproj");
    const auto fresh = schemaShape(dir + "/new.byproj");
    EXPECT_EQ(migrated, fresh);
    EXPECT_GT(fresh.size(), 20u);
}

TEST(Schema, CascadesAndTriggersWorkAfterMigration) {
    const std::string path = by::test::tempDir() + "/old.byproj";
    makeV1File(path);
    auto p = Project::open(path);
    ASSERT_TRUE(p.ok()) << p.error().what();
    ASSERT_TRUE(p->removeAsset(1).ok());
    auto c = p->counts();
    EXPECT_EQ(c->variants, 0);
    EXPECT_EQ(c->evaluations, 0);
    EXPECT_EQ(c->benchmarks, 0);
    EXPECT_EQ(c->deployments, 0);
    EXPECT_EQ(c->devices, 1);
    EXPECT_EQ(c->notes, 1);  // the note on variant 2 went with it
}

// A file whose data breaks a rule the migration checks stays at its old version, untouched.
TEST(Schema, FailedMigrationLeavesTheFileAtItsVersion) {
    const std::string path = by::test::tempDir() + "/orphan.byproj";
    // A variant pointing at an asset that does not exist (possible in a connection without
    // PRAGMA foreign_keys, which is off by default in SQLite).
    makeV1File(path, "INSERT INTO variants (id, asset_id, name) VALUES (50, 99, 'orphan');");
    auto p = Project::open(path);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find("schema version 2"), std::string::npos) << p.error().what();
    EXPECT_EQ(p.error().what().find('\n'), std::string::npos);
    EXPECT_EQ(pragmaInt(path, "PRAGMA user_version"), 1);
    const auto shape = schemaShape(path);
    EXPECT_FALSE(shape.count("table asset_tags"));
}

TEST(Schema, RefusesAProjectFromTheFuture) {
    const std::string path = by::test::tempDir() + "/future.byproj";
    makeV1File(path, "PRAGMA user_version = 42;");
    auto p = Project::open(path);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, ErrorCode::Unsupported);
    EXPECT_NE(p.error().message.find("newer Brickyard"), std::string::npos) << p.error().what();
    EXPECT_NE(p.error().message.find("42"), std::string::npos);
    EXPECT_EQ(pragmaInt(path, "PRAGMA user_version"), 42);
}

TEST(Schema, RefusesAMarkedFileWithoutTables) {
    const std::string path = by::test::tempDir() + "/hollow.byproj";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    execOrFail(db, "PRAGMA application_id = 1113150020; CREATE TABLE x(y);");
    sqlite3_close(db);
    auto p = Project::open(path);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, ErrorCode::Format);
    EXPECT_NE(p.error().message.find("damaged"), std::string::npos) << p.error().what();
}

}  // namespace
}  // namespace by
