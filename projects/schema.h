#pragma once
// The project file's schema: a fixed SQLite application_id that marks a file as a Brickyard
// project, and an ordered list of migrations. PRAGMA user_version holds the version of the last
// migration applied; version N is reached by applying migrations 1..N in order, each in its own
// transaction, so an interrupted upgrade leaves the file at the last complete version.
//
// Rules for adding a migration: append, never edit a released one; bump nothing else (the
// current version is the last entry's); add a test that migrates a file from the previous
// version with data in it.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"

namespace by {

class Database;

namespace schema {

// 'BYRD' in the header's application_id field (offset 68), so `file` and other tools can tell a
// project from any other SQLite database.
inline constexpr int32_t kApplicationId = 0x42595244;

struct Migration {
    int version;          // user_version after this migration
    const char* summary;  // one line, shown when upgrading
    const char* sql;      // statements run inside the migration's transaction
};

const std::vector<Migration>& migrations();
int latestVersion();

// Creates the full current schema in an empty database and stamps application_id and
// user_version, in one transaction.
Status createSchema(Database& db);

// Brings a project from `fromVersion` to latestVersion(). Each step is atomic; the foreign key
// check at the end of each step makes a migration that orphans rows fail rather than commit.
Status migrate(Database& db, int fromVersion);

}  // namespace schema
}  // namespace by
