#include "projects/project.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "engine/mapped_file.h"
#include "projects/asset_locator.h"
#include "projects/content_hash.h"
#include "projects/schema.h"

namespace by {

namespace fs = std::filesystem;

namespace {

fs::path absoluteNormal(const std::string& p) {
    std::error_code ec;
    fs::path a = fs::absolute(p, ec);
    if (ec) a = fs::path(p);
    return a.lexically_normal();
}

void removeProjectFiles(const fs::path& p) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(p.string() + suffix, ec);
}

std::string guessFormat(const fs::path& p, bool isFolder) {
    if (isFolder) return "folder";
    std::string ext = p.extension().string();
    if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

// Tags come back from SQL joined by the unit separator, which a tag cannot contain.
constexpr char kTagSeparator = '\x1f';

std::vector<std::string> splitTags(const std::string& joined) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < joined.size()) {
        size_t end = joined.find(kTagSeparator, start);
        if (end == std::string::npos) end = joined.size();
        if (end > start) out.push_back(joined.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

constexpr const char* kAssetColumns =
    "a.id, a.kind, a.display_name, a.relative_path, a.absolute_path, a.size_bytes, a.content_hash, a.format, "
    "a.added_at, (SELECT group_concat(tag, char(31)) FROM "
    "(SELECT tag FROM asset_tags t WHERE t.asset_id = a.id ORDER BY tag))";

Asset readAsset(const Statement& st) {
    Asset a;
    a.id = st.getInt(0);
    a.kind = parseAssetKind(st.getText(1)).value_or(AssetKind::Other);
    a.displayName = st.getText(2);
    a.relativePath = st.getText(3);
    a.absolutePath = st.getText(4);
    a.sizeBytes = st.getInt(5);
    a.contentHash = st.getText(6);
    a.format = st.getText(7);
    a.addedAt = st.getText(8);
    a.tags = splitTags(st.getText(9));
    return a;
}

constexpr const char* kVariantColumns =
    "id, asset_id, parent_id, name, recipe, created_at, size_bytes, parameter_count";

Variant readVariant(const Statement& st) {
    Variant v;
    v.id = st.getInt(0);
    v.assetId = st.getInt(1);
    v.parentId = st.getOptionalInt(2);
    v.name = st.getText(3);
    v.recipeJson = st.getText(4);
    v.createdAt = st.getText(5);
    v.sizeBytes = st.getInt(6);
    v.parameterCount = st.getInt(7);
    return v;
}

}  // namespace

// ---- opening ---------------------------------------------------------------------------------

Result<Project> Project::create(const std::string& path, const std::string& name) {
    if (path.empty()) return makeError(ErrorCode::Invalid, "no project file name was given");
    const fs::path abs = absoluteNormal(path);
    std::error_code ec;
    if (fs::exists(abs, ec))
        return makeError(ErrorCode::Io,
                         "a file with this name already exists (open it, or choose another name)",
                         abs.string());
    if (!fs::is_directory(abs.parent_path(), ec))
        return makeError(ErrorCode::Io, "the folder for the new project does not exist", abs.string());

    const std::string projectName = trim(name).empty() ? abs.stem().string() : trim(name);
    Status st;
    {
        auto db = Database::open(abs.string(), Database::Mode::CreateNew);
        if (!db) {
            removeProjectFiles(abs);
            return db.error();
        }
        Project p(std::move(*db), abs.string());
        st = [&]() -> Status {
            BY_TRY(p.m_db.useWriteAheadLog());
            auto tx = Transaction::begin(p.m_db);
            if (!tx) return tx.error();
            BY_TRY(schema::createSchema(p.m_db));
            auto ins =
                Statement::prepare(p.m_db, "INSERT INTO project_meta (key, value) VALUES ('name', ?1), "
                                           "('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
            if (!ins) return ins.error();
            BY_TRY(ins->bind(1, projectName).run());
            BY_TRY(tx->commit());
            // Move the new schema from the log into the main file, so the file alone is a project
            // even if this process dies before closing it.
            return p.m_db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        }();
        if (st) st = p.loadMeta();
        if (st) {
            p.m_schemaVersion = schema::latestVersion();
            return p;
        }
    }  // the connection closes here, before its files are removed
    removeProjectFiles(abs);
    Error e = st.error();
    e.message = "could not create the project: " + e.message;
    e.context = abs.string();
    return e;
}

Result<Project> Project::open(const std::string& path) {
    if (path.empty()) return makeError(ErrorCode::Invalid, "no project file name was given");
    const fs::path abs = absoluteNormal(path);
    const std::string where = abs.string();
    std::error_code ec;
    if (!fs::exists(abs, ec)) return makeError(ErrorCode::Io, "no such project file", where);
    if (fs::is_directory(abs, ec)) return makeError(ErrorCode::Io, "is a folder, not a project file", where);

    auto head = readFileHead(where, 100);
    if (!head) return head.error();
    if (head->empty())
        return makeError(ErrorCode::Format, "the file is empty, so it is not a Brickyard project", where);
    static const std::string kSqliteMagic("SQLite format 3\0", 16);
    if (head->size() < kSqliteMagic.size() || head->compare(0, kSqliteMagic.size(), kSqliteMagic) != 0)
        return makeError(ErrorCode::Format, "not a Brickyard project (the file is not an SQLite database)",
                         where);

    auto db = Database::open(where, Database::Mode::OpenExisting);
    if (!db) return db.error();
    auto appId = db->queryInt("PRAGMA application_id");
    if (!appId)
        return makeError(ErrorCode::Format,
                         "not a Brickyard project, or a damaged one (" + appId.error().message + ")", where);
    if (*appId != schema::kApplicationId)
        return makeError(ErrorCode::Format, "this SQLite database is not a Brickyard project", where);
    auto version = db->queryInt("PRAGMA user_version");
    if (!version) return version.error();
    const int latest = schema::latestVersion();
    if (*version > latest)
        return makeError(ErrorCode::Unsupported,
                         "this project was saved by a newer Brickyard (project schema version " +
                             std::to_string(*version) + "; this version reads up to " +
                             std::to_string(latest) + "): update Brickyard to open it",
                         where);
    if (*version < 1)
        return makeError(ErrorCode::Format,
                         "the project file is damaged: it is marked as a project but holds no tables", where);
    {
        auto check = Statement::prepare(*db, "PRAGMA quick_check(1)");
        if (!check) return check.error();
        auto row = check->step();
        if (!row)
            return makeError(ErrorCode::Format, "the project file is damaged (" + row.error().message + ")",
                             where);
        if (*row && check->getText(0) != "ok")
            return makeError(ErrorCode::Format, "the project file is damaged (" + check->getText(0) + ")",
                             where);
    }
    BY_TRY(db->useWriteAheadLog());
    if (*version < latest) {
        if (auto st = schema::migrate(*db, static_cast<int>(*version)); !st) {
            Error e = st.error();
            e.context = where;
            return e;
        }
    }
    Project p(std::move(*db), where);
    p.m_schemaVersion = latest;
    BY_TRY(p.loadMeta());
    return p;
}

Status Project::loadMeta() {
    auto st =
        Statement::prepare(m_db, "SELECT key, value FROM project_meta WHERE key IN ('name', 'created_at')");
    if (!st) return wrap(st.error());
    m_name = fs::path(m_path).stem().string();
    while (true) {
        auto row = st->step();
        if (!row) return wrap(row.error());
        if (!*row) return {};
        (st->getText(0) == "name" ? m_name : m_createdAt) = st->getText(1);
    }
}

std::string Project::folder() const {
    return fs::path(m_path).parent_path().string();
}

Status Project::setName(const std::string& name) {
    const std::string n = trim(name);
    if (n.empty()) return wrap(makeError(ErrorCode::Invalid, "a project name cannot be empty"));
    auto st =
        Statement::prepare(m_db, "INSERT OR REPLACE INTO project_meta (key, value) VALUES ('name', ?1)");
    if (!st) return wrap(st.error());
    if (auto r = st->bind(1, n).run(); !r) return wrap(r.error());
    m_name = n;
    return {};
}

Result<ProjectCounts> Project::counts() {
    auto st =
        Statement::prepare(m_db, "SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM variants), "
                                 "(SELECT count(*) FROM evaluations), (SELECT count(*) FROM benchmarks), "
                                 "(SELECT count(*) FROM devices), (SELECT count(*) FROM deployments), "
                                 "(SELECT count(*) FROM notes)");
    if (!st) return wrap(st.error());
    auto row = st->step();
    if (!row) return wrap(row.error());
    ProjectCounts c;
    c.assets = st->getInt(0);
    c.variants = st->getInt(1);
    c.evaluations = st->getInt(2);
    c.benchmarks = st->getInt(3);
    c.devices = st->getInt(4);
    c.deployments = st->getInt(5);
    c.notes = st->getInt(6);
    return c;
}

Status Project::transaction(const std::function<Status()>& body) {
    auto tx = Transaction::begin(m_db);
    if (!tx) return wrap(tx.error());
    Status st = body();
    if (!st) {
        tx->rollback();
        return st;
    }
    if (auto c = tx->commit(); !c) return wrap(c.error());
    return {};
}

// ---- helpers ---------------------------------------------------------------------------------

Error Project::wrap(Error e) const {
    if (e.context.empty())
        e.context = m_path;
    else if (e.context.find(m_path) == std::string::npos)
        e.context = m_path + ": " + e.context;
    return e;
}

Status Project::requireRow(const char* table, const char* what, int64_t id) {
    auto st = Statement::prepare(m_db, std::string("SELECT 1 FROM ") + table + " WHERE id = ?1");
    if (!st) return wrap(st.error());
    auto row = st->bind(1, id).step();
    if (!row) return wrap(row.error());
    if (!*row)
        return wrap(
            makeError(ErrorCode::Invalid, std::string("no ") + what + " with id " + std::to_string(id)));
    return {};
}

Status Project::checkJson(const std::string& json, const char* what) {
    auto st = Statement::prepare(m_db, "SELECT json_valid(?1)");
    if (!st) return wrap(st.error());
    auto row = st->bind(1, json).step();
    if (!row) return wrap(row.error());
    if (!*row || st->getInt(0) != 1)
        return wrap(makeError(ErrorCode::Invalid, std::string(what) + " is not valid JSON"));
    return {};
}

// ---- assets ----------------------------------------------------------------------------------

Result<int64_t> Project::addAsset(const std::string& path, AssetKind kind, const std::string& displayName) {
    NewAsset a;
    a.path = path;
    a.kind = kind;
    a.displayName = displayName;
    return addAsset(a);
}

Result<int64_t> Project::addAsset(const NewAsset& in) {
    if (in.path.empty()) return wrap(makeError(ErrorCode::Invalid, "no asset path was given"));
    if (in.parameterCount < 0)
        return wrap(makeError(ErrorCode::Invalid, "a parameter count cannot be negative"));
    const fs::path abs = absoluteNormal(in.path);
    std::error_code ec;
    if (!fs::exists(abs, ec)) return makeError(ErrorCode::Io, "no such file or folder", abs.string());
    const fs::path projectFolder = fs::path(folder());
    if (abs == fs::path(m_path) || abs == projectFolder)
        return wrap(makeError(ErrorCode::Invalid, "a project cannot hold itself as an asset", abs.string()));

    // Hash before taking the write lock: hashing a large model takes seconds.
    auto hash = hashContent(abs.string());
    if (!hash) return hash.error();

    const bool isFolder = fs::is_directory(abs, ec);
    std::string relative;
    const fs::path rel = abs.lexically_relative(projectFolder);
    if (!rel.empty() && rel != "." && *rel.begin() != "..") relative = rel.generic_string();
    const std::string format = in.format.empty() ? guessFormat(abs, isFolder) : in.format;
    const std::string name = trim(in.displayName).empty() ? abs.filename().string() : trim(in.displayName);

    int64_t id = 0;
    Status st = transaction([&]() -> Status {
        auto find = Statement::prepare(m_db, "SELECT id FROM assets WHERE content_hash = ?1");
        if (!find) return find.error();
        auto row = find->bind(1, hash->sha256).step();
        if (!row) return row.error();
        if (*row) {
            id = find->getInt(0);
            return {};
        }
        auto ins =
            Statement::prepare(m_db, "INSERT INTO assets (kind, display_name, relative_path, absolute_path, "
                                     "size_bytes, content_hash, format) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        if (!ins) return ins.error();
        ins->bind(1, assetKindName(in.kind)).bind(2, name).bind(4, abs.string()).bind(5, hash->sizeBytes);
        ins->bind(6, hash->sha256).bind(7, format);
        if (relative.empty())
            ins->bindNull(3);
        else
            ins->bind(3, relative);
        BY_TRY(ins->run());
        id = m_db.lastInsertId();
        if (in.kind == AssetKind::Model) {
            auto root = addVariant(id, std::nullopt, "original", "{}", hash->sizeBytes, in.parameterCount);
            if (!root) return root.error();
        }
        return {};
    });
    if (!st) return wrap(st.error());
    return id;
}

Result<std::vector<Asset>> Project::assets() {
    auto st =
        Statement::prepare(m_db, std::string("SELECT ") + kAssetColumns + " FROM assets a ORDER BY a.id");
    if (!st) return wrap(st.error());
    auto r = collectRows<Asset>(*st, readAsset);
    if (!r) return wrap(r.error());
    return r;
}

Result<Asset> Project::asset(int64_t id) {
    auto st =
        Statement::prepare(m_db, std::string("SELECT ") + kAssetColumns + " FROM assets a WHERE a.id = ?1");
    if (!st) return wrap(st.error());
    auto row = st->bind(1, id).step();
    if (!row) return wrap(row.error());
    if (!*row) return wrap(makeError(ErrorCode::Invalid, "no asset with id " + std::to_string(id)));
    return readAsset(*st);
}

Result<std::vector<Asset>> Project::assetsWithTag(const std::string& tag) {
    auto st =
        Statement::prepare(m_db, std::string("SELECT ") + kAssetColumns +
                                     " FROM assets a WHERE a.id IN (SELECT asset_id FROM asset_tags WHERE "
                                     "tag = ?1) ORDER BY a.id");
    if (!st) return wrap(st.error());
    st->bind(1, trim(tag));
    auto r = collectRows<Asset>(*st, readAsset);
    if (!r) return wrap(r.error());
    return r;
}

Status Project::removeAsset(int64_t id) {
    return transaction([&]() -> Status {
        BY_TRY(requireRow("assets", "asset", id));
        auto st = Statement::prepare(m_db, "DELETE FROM assets WHERE id = ?1");
        if (!st) return wrap(st.error());
        if (auto r = st->bind(1, id).run(); !r) return wrap(r.error());
        return {};
    });
}

Status Project::renameAsset(int64_t id, const std::string& displayName) {
    const std::string n = trim(displayName);
    if (n.empty()) return wrap(makeError(ErrorCode::Invalid, "an asset name cannot be empty"));
    auto st = Statement::prepare(m_db, "UPDATE assets SET display_name = ?1 WHERE id = ?2");
    if (!st) return wrap(st.error());
    if (auto r = st->bind(1, n).bind(2, id).run(); !r) return wrap(r.error());
    if (m_db.changes() == 0) return wrap(makeError(ErrorCode::Invalid, "no asset with id " + std::to_string(id)));
    return {};
}

Status Project::setAssetTags(int64_t id, const std::vector<std::string>& tags) {
    std::set<std::string> clean;
    for (const auto& t : tags) {
        const std::string c = trim(t);
        if (c.empty()) return wrap(makeError(ErrorCode::Invalid, "an asset tag cannot be empty"));
        if (std::any_of(c.begin(), c.end(), [](unsigned char ch) { return ch < 0x20; }))
            return wrap(makeError(ErrorCode::Invalid, "an asset tag cannot contain control characters"));
        clean.insert(c);
    }
    return transaction([&]() -> Status {
        BY_TRY(requireRow("assets", "asset", id));
        auto del = Statement::prepare(m_db, "DELETE FROM asset_tags WHERE asset_id = ?1");
        if (!del) return wrap(del.error());
        if (auto r = del->bind(1, id).run(); !r) return wrap(r.error());
        auto ins = Statement::prepare(m_db, "INSERT INTO asset_tags (asset_id, tag) VALUES (?1, ?2)");
        if (!ins) return wrap(ins.error());
        for (const auto& t : clean) {
            BY_TRY(ins->reset());
            if (auto r = ins->bind(1, id).bind(2, t).run(); !r) return wrap(r.error());
        }
        return {};
    });
}

AssetLocation Project::resolveAssetPath(const Asset& asset) const {
    return locateAsset(asset, folder());
}

Status Project::relinkAsset(int64_t id, const std::string& newPath) {
    auto a = asset(id);
    if (!a) return a.error();
    const fs::path abs = absoluteNormal(newPath);
    auto hash = hashContent(abs.string());
    if (!hash) return hash.error();
    if (hash->sha256 != a->contentHash)
        return wrap(
            makeError(ErrorCode::Invalid,
                      "'" + abs.string() + "' does not have the content of asset '" + a->displayName + "'"));
    std::string relative;
    const fs::path rel = abs.lexically_relative(fs::path(folder()));
    if (!rel.empty() && rel != "." && *rel.begin() != "..") relative = rel.generic_string();
    auto st =
        Statement::prepare(m_db, "UPDATE assets SET relative_path = ?1, absolute_path = ?2 WHERE id = ?3");
    if (!st) return wrap(st.error());
    if (relative.empty())
        st->bindNull(1);
    else
        st->bind(1, relative);
    if (auto r = st->bind(2, abs.string()).bind(3, id).run(); !r) return wrap(r.error());
    return {};
}

// ---- variants --------------------------------------------------------------------------------

Result<int64_t> Project::addVariant(int64_t assetId, std::optional<int64_t> parentId, const std::string& name,
                                    const std::string& recipeJson, int64_t sizeBytes,
                                    int64_t parameterCount) {
    const std::string n = trim(name);
    if (n.empty()) return wrap(makeError(ErrorCode::Invalid, "a variant name cannot be empty"));
    if (sizeBytes < 0) return wrap(makeError(ErrorCode::Invalid, "a variant size cannot be negative"));
    if (parameterCount < 0)
        return wrap(makeError(ErrorCode::Invalid, "a parameter count cannot be negative"));
    const std::string recipe = trim(recipeJson).empty() ? std::string("{}") : recipeJson;
    BY_TRY(checkJson(recipe, "the variant recipe"));

    int64_t id = 0;
    Status st = transaction([&]() -> Status {
        BY_TRY(requireRow("assets", "asset", assetId));
        if (parentId) {
            auto p = Statement::prepare(m_db, "SELECT asset_id FROM variants WHERE id = ?1");
            if (!p) return p.error();
            auto row = p->bind(1, *parentId).step();
            if (!row) return row.error();
            if (!*row)
                return makeError(ErrorCode::Invalid, "no variant with id " + std::to_string(*parentId));
            if (p->getInt(0) != assetId)
                return makeError(ErrorCode::Invalid, "variant " + std::to_string(*parentId) +
                                                         " belongs to asset " + std::to_string(p->getInt(0)) +
                                                         ", not to asset " + std::to_string(assetId));
        }
        auto ins =
            Statement::prepare(m_db, "INSERT INTO variants (asset_id, parent_id, name, recipe, size_bytes, "
                                     "parameter_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        if (!ins) return ins.error();
        BY_TRY(ins->bind(1, assetId)
                   .bind(2, parentId)
                   .bind(3, n)
                   .bind(4, recipe)
                   .bind(5, sizeBytes)
                   .bind(6, parameterCount)
                   .run());
        id = m_db.lastInsertId();
        return {};
    });
    if (!st) return wrap(st.error());
    return id;
}

Result<std::vector<Variant>> Project::variants(std::optional<int64_t> assetId) {
    // A parent always exists when its child is inserted, so it has the smaller id.
    std::string sql = std::string("SELECT ") + kVariantColumns + " FROM variants";
    if (assetId) {
        BY_TRY(requireRow("assets", "asset", *assetId));
        sql += " WHERE asset_id = ?1";
    }
    sql += " ORDER BY id";
    auto st = Statement::prepare(m_db, sql);
    if (!st) return wrap(st.error());
    if (assetId) st->bind(1, *assetId);
    auto r = collectRows<Variant>(*st, readVariant);
    if (!r) return wrap(r.error());
    return r;
}

Result<Variant> Project::variant(int64_t id) {
    auto st =
        Statement::prepare(m_db, std::string("SELECT ") + kVariantColumns + " FROM variants WHERE id = ?1");
    if (!st) return wrap(st.error());
    auto row = st->bind(1, id).step();
    if (!row) return wrap(row.error());
    if (!*row) return wrap(makeError(ErrorCode::Invalid, "no variant with id " + std::to_string(id)));
    return readVariant(*st);
}

Result<Variant> Project::rootVariant(int64_t assetId) {
    BY_TRY(requireRow("assets", "asset", assetId));
    auto st =
        Statement::prepare(m_db, std::string("SELECT ") + kVariantColumns +
                                     " FROM variants WHERE asset_id = ?1 AND parent_id IS NULL ORDER BY id "
                                     "LIMIT 1");
    if (!st) return wrap(st.error());
    auto row = st->bind(1, assetId).step();
    if (!row) return wrap(row.error());
    if (!*row)
        return wrap(makeError(ErrorCode::Invalid, "asset " + std::to_string(assetId) + " has no variants"));
    return readVariant(*st);
}

Status Project::setVariantParameterCount(int64_t variantId, int64_t parameterCount) {
    if (parameterCount < 0)
        return wrap(makeError(ErrorCode::Invalid, "a parameter count cannot be negative"));
    auto st = Statement::prepare(m_db, "UPDATE variants SET parameter_count = ?1 WHERE id = ?2");
    if (!st) return wrap(st.error());
    if (auto r = st->bind(1, parameterCount).bind(2, variantId).run(); !r) return wrap(r.error());
    if (m_db.changes() == 0)
        return wrap(makeError(ErrorCode::Invalid, "no variant with id " + std::to_string(variantId)));
    return {};
}

Status Project::renameVariant(int64_t id, const std::string& name) {
    const std::string n = trim(name);
    if (n.empty()) return wrap(makeError(ErrorCode::Invalid, "a variant name cannot be empty"));
    auto st = Statement::prepare(m_db, "UPDATE variants SET name = ?1 WHERE id = ?2");
    if (!st) return wrap(st.error());
    if (auto r = st->bind(1, n).bind(2, id).run(); !r) return wrap(r.error());
    if (m_db.changes() == 0) return wrap(makeError(ErrorCode::Invalid, "no variant with id " + std::to_string(id)));
    return {};
}

Status Project::removeVariant(int64_t id) {
    return transaction([&]() -> Status {
        BY_TRY(requireRow("variants", "variant", id));
        auto st = Statement::prepare(m_db, "DELETE FROM variants WHERE id = ?1");
        if (!st) return wrap(st.error());
        if (auto r = st->bind(1, id).run(); !r) return wrap(r.error());
        return {};
    });
}

}  // namespace by
