#include "projects/schema.h"

#include "projects/database.h"

namespace by::schema {

namespace {

// Version 1: every table a project holds. Times are UTC ISO 8601 text with milliseconds, set by
// SQLite, so rows sort by time as text and read well in the sqlite3 shell.
constexpr const char* kV1 = R"sql(
CREATE TABLE project_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE assets (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('model', 'dataset', 'scene', 'other')),
    display_name  TEXT NOT NULL,
    relative_path TEXT,
    absolute_path TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL CHECK (size_bytes >= 0),
    content_hash  TEXT NOT NULL UNIQUE,
    format        TEXT NOT NULL DEFAULT '',
    added_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE variants (
    id              INTEGER PRIMARY KEY,
    asset_id        INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES variants(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    recipe          TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    size_bytes      INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    parameter_count INTEGER NOT NULL DEFAULT 0 CHECK (parameter_count >= 0)
);

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('adb', 'ssh', 'agent', 'local')),
    address    TEXT NOT NULL DEFAULT '',
    properties TEXT NOT NULL DEFAULT '{}',
    added_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE evaluations (
    id               INTEGER PRIMARY KEY,
    variant_id       INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    dataset_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    metric           TEXT NOT NULL,
    value            REAL NOT NULL,
    details          TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE benchmarks (
    id         INTEGER PRIMARY KEY,
    variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    device_id  INTEGER REFERENCES devices(id) ON DELETE SET NULL,
    metric     TEXT NOT NULL,
    value      REAL NOT NULL,
    unit       TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE deployments (
    id         INTEGER PRIMARY KEY,
    variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    device_id  INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    log        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    target_kind TEXT NOT NULL CHECK (target_kind IN
                    ('project', 'asset', 'variant', 'evaluation', 'benchmark', 'device', 'deployment')),
    target_id   INTEGER,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK ((target_kind = 'project') = (target_id IS NULL))
);

-- A note may point at any table, so no foreign key can remove it with its target: these do.
-- They also fire for rows removed by ON DELETE CASCADE.
CREATE TRIGGER assets_drop_notes AFTER DELETE ON assets BEGIN
    DELETE FROM notes WHERE target_kind = 'asset' AND target_id = OLD.id;
END;
CREATE TRIGGER variants_drop_notes AFTER DELETE ON variants BEGIN
    DELETE FROM notes WHERE target_kind = 'variant' AND target_id = OLD.id;
END;
CREATE TRIGGER evaluations_drop_notes AFTER DELETE ON evaluations BEGIN
    DELETE FROM notes WHERE target_kind = 'evaluation' AND target_id = OLD.id;
END;
CREATE TRIGGER benchmarks_drop_notes AFTER DELETE ON benchmarks BEGIN
    DELETE FROM notes WHERE target_kind = 'benchmark' AND target_id = OLD.id;
END;
CREATE TRIGGER devices_drop_notes AFTER DELETE ON devices BEGIN
    DELETE FROM notes WHERE target_kind = 'device' AND target_id = OLD.id;
END;
CREATE TRIGGER deployments_drop_notes AFTER DELETE ON deployments BEGIN
    DELETE FROM notes WHERE target_kind = 'deployment' AND target_id = OLD.id;
END;
)sql";

// Version 2: free-form tags on assets ("ocr", "audio", "int8 candidates"), and an index on every
// foreign-key column. Without those, each delete of a parent row scans every child table, and
// "variants of asset N" or "benchmarks of variant N" read the whole table.
constexpr const char* kV2 = R"sql(
CREATE TABLE asset_tags (
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    tag      TEXT NOT NULL CHECK (length(tag) > 0),
    PRIMARY KEY (asset_id, tag)
) WITHOUT ROWID;
CREATE INDEX asset_tags_by_tag ON asset_tags(tag);

CREATE INDEX variants_by_asset ON variants(asset_id);
CREATE INDEX variants_by_parent ON variants(parent_id);
CREATE INDEX evaluations_by_variant ON evaluations(variant_id);
CREATE INDEX evaluations_by_dataset ON evaluations(dataset_asset_id);
CREATE INDEX benchmarks_by_variant ON benchmarks(variant_id);
CREATE INDEX benchmarks_by_device ON benchmarks(device_id);
CREATE INDEX deployments_by_variant ON deployments(variant_id);
CREATE INDEX deployments_by_device ON deployments(device_id);
CREATE INDEX notes_by_target ON notes(target_kind, target_id);
)sql";

Status checkForeignKeys(Database& db, int version) {
    auto st = Statement::prepare(db, "PRAGMA foreign_key_check");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (*row)
        return makeError(ErrorCode::Database,
                         "upgrading to schema version " + std::to_string(version) + " left rows in table '" +
                             st->getText(0) + "' pointing at missing rows, so that step was rolled back",
                         db.path());
    return {};
}

Status applyMigration(Database& db, const Migration& m) {
    if (auto st = db.exec(m.sql); !st) {
        Error e = st.error();
        e.message = "upgrading to schema version " + std::to_string(m.version) + " failed: " + e.message;
        return e;
    }
    BY_TRY(db.exec("PRAGMA user_version = " + std::to_string(m.version)));
    return checkForeignKeys(db, m.version);
}

}  // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> list = {
        {1, "create the project tables", kV1},
        {2, "add asset tags and indexes on foreign-key columns", kV2},
    };
    return list;
}

int latestVersion() {
    return migrations().back().version;
}

Status createSchema(Database& db) {
    auto tx = Transaction::begin(db);
    if (!tx) return tx.error();
    for (const auto& m : migrations())
        BY_TRY(applyMigration(db, m));
    BY_TRY(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
    return tx->commit();
}

Status migrate(Database& db, int fromVersion) {
    for (const auto& m : migrations()) {
        if (m.version <= fromVersion) continue;
        auto tx = Transaction::begin(db);
        if (!tx) return tx.error();
        BY_TRY(applyMigration(db, m));
        BY_TRY(tx->commit());
    }
    return {};
}

}  // namespace by::schema
