#include "projects/database.h"

#include <atomic>
#include <sqlite3.h>

namespace by {

namespace {
constexpr int kBusyTimeoutMs = 5000;

std::string sqliteMessage(sqlite3* db, int rc) {
    if (db) return sqlite3_errmsg(db);
    return sqlite3_errstr(rc);
}
}  // namespace

// ---- Database ----------------------------------------------------------------------------------

Result<Database> Database::open(const std::string& path, Mode mode) {
    Database d;
    d.m_path = path;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (mode == Mode::CreateNew) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &d.m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        Error e = makeError(ErrorCode::Database,
                            std::string("cannot open the file: ") + sqliteMessage(d.m_db, rc), path);
        return e;  // the destructor closes the half-open handle
    }
    sqlite3_extended_result_codes(d.m_db, 1);
    sqlite3_busy_timeout(d.m_db, kBusyTimeoutMs);
    // Foreign keys are per connection and off by default in SQLite.
    BY_TRY(d.exec("PRAGMA foreign_keys = ON"));
    return d;
}

Database::Database(Database&& other) noexcept : m_db(other.m_db), m_path(std::move(other.m_path)) {
    other.m_db = nullptr;
}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        if (m_db) sqlite3_close_v2(m_db);
        m_db = other.m_db;
        m_path = std::move(other.m_path);
        other.m_db = nullptr;
    }
    return *this;
}

Database::~Database() {
    if (m_db) sqlite3_close_v2(m_db);
}

Status Database::useWriteAheadLog() {
    auto st = Statement::prepare(*this, "PRAGMA journal_mode = WAL");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    const std::string mode = *row ? st->getText(0) : std::string();
    if (mode != "wal")
        return makeError(ErrorCode::Database,
                         "the file system does not support write-ahead logging (journal mode stayed '" +
                             mode + "')",
                         m_path);
    return exec("PRAGMA synchronous = FULL");
}

Status Database::exec(std::string_view sql) {
    char* msg = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        std::string m = msg ? msg : sqlite3_errstr(rc);
        sqlite3_free(msg);
        return makeError(ErrorCode::Database, m, m_path);
    }
    return {};
}

Result<int64_t> Database::queryInt(const std::string& sql) {
    auto st = Statement::prepare(*this, sql);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return makeError(ErrorCode::Database, "query returned no row: " + sql, m_path);
    return st->getInt(0);
}

bool Database::inTransaction() const {
    return sqlite3_get_autocommit(m_db) == 0;
}
int64_t Database::lastInsertId() const {
    return sqlite3_last_insert_rowid(m_db);
}
int Database::changes() const {
    return sqlite3_changes(m_db);
}

Error Database::lastError(const std::string& what) const {
    return makeError(ErrorCode::Database, what + ": " + sqlite3_errmsg(m_db), m_path);
}

// ---- Statement ---------------------------------------------------------------------------------

Result<Statement> Statement::prepare(Database& db, std::string_view sql) {
    Statement s;
    s.m_db = &db;
    const int rc =
        sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), 0, &s.m_stmt, nullptr);
    if (rc != SQLITE_OK) return db.lastError("cannot prepare a query");
    return s;
}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_stmt(other.m_stmt), m_bindError(std::move(other.m_bindError)) {
    other.m_stmt = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        if (m_stmt) sqlite3_finalize(m_stmt);
        m_db = other.m_db;
        m_stmt = other.m_stmt;
        m_bindError = std::move(other.m_bindError);
        other.m_stmt = nullptr;
    }
    return *this;
}

Statement::~Statement() {
    if (m_stmt) sqlite3_finalize(m_stmt);
}

namespace {
void noteBind(Status& first, int rc, Database* db) {
    if (rc != SQLITE_OK && first.ok()) first = db->lastError("cannot bind a query parameter");
}
}  // namespace

Statement& Statement::bind(int i, int64_t v) {
    noteBind(m_bindError, sqlite3_bind_int64(m_stmt, i, v), m_db);
    return *this;
}

Statement& Statement::bind(int i, double v) {
    noteBind(m_bindError, sqlite3_bind_double(m_stmt, i, v), m_db);
    return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
    noteBind(m_bindError, sqlite3_bind_text64(m_stmt, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
             m_db);
    return *this;
}

Statement& Statement::bind(int i, std::optional<int64_t> v) {
    return v ? bind(i, *v) : bindNull(i);
}

Statement& Statement::bindNull(int i) {
    noteBind(m_bindError, sqlite3_bind_null(m_stmt, i), m_db);
    return *this;
}

Result<bool> Statement::step() {
    if (!m_bindError.ok()) return m_bindError.error();
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Error e = m_db->lastError("the project database refused a change");
    sqlite3_reset(m_stmt);
    return e;
}

Status Statement::run() {
    while (true) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) return {};
    }
}

Status Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
    m_bindError = {};
    return {};
}

bool Statement::isNull(int col) const {
    return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}
int64_t Statement::getInt(int col) const {
    return sqlite3_column_int64(m_stmt, col);
}
double Statement::getDouble(int col) const {
    return sqlite3_column_double(m_stmt, col);
}

std::string Statement::getText(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
    if (!p) return {};
    return std::string(p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)));
}

std::optional<int64_t> Statement::getOptionalInt(int col) const {
    if (isNull(col)) return std::nullopt;
    return getInt(col);
}

// ---- Transaction -------------------------------------------------------------------------------

Result<Transaction> Transaction::begin(Database& db) {
    if (db.inTransaction()) {
        static std::atomic<uint64_t> counter{0};
        std::string name = "by_sp_" + std::to_string(counter.fetch_add(1));
        BY_TRY(db.exec("SAVEPOINT " + name));
        return Transaction(db, std::move(name));
    }
    if (auto st = db.exec("BEGIN IMMEDIATE"); !st) {
        Error e = st.error();
        e.message = "cannot start a change (another program may be writing to the project): " + e.message;
        return e;
    }
    return Transaction(db, {});
}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(other.m_db), m_savepoint(std::move(other.m_savepoint)), m_done(other.m_done) {
    other.m_db = nullptr;
    other.m_done = true;
}

Transaction::~Transaction() {
    rollback();
}

Status Transaction::commit() {
    BY_ASSERT(m_db && !m_done, "commit() on a finished transaction");
    Status st = m_savepoint.empty() ? m_db->exec("COMMIT") : m_db->exec("RELEASE " + m_savepoint);
    if (!st) {
        rollback();
        Error e = st.error();
        e.message = "could not save the change: " + e.message;
        return e;
    }
    m_done = true;
    return {};
}

void Transaction::rollback() {
    if (!m_db || m_done) return;
    m_done = true;
    // SQLite may already have rolled back by itself after an I/O or full-disk error; then there is
    // nothing left to undo and the error from these statements is meaningless.
    if (m_savepoint.empty()) {
        if (m_db->inTransaction()) (void)m_db->exec("ROLLBACK");
    } else {
        (void)m_db->exec("ROLLBACK TO " + m_savepoint);
        (void)m_db->exec("RELEASE " + m_savepoint);
    }
}

}  // namespace by
