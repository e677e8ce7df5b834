#pragma once
// A thin owner of one SQLite connection, with prepared statements and RAII transactions.
// Internal to projects/: the rest of the program sees Project, never SQLite.
//
// A connection is used from one thread at a time; a Project is not shared between threads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace by {

class Database {
public:
    enum class Mode { OpenExisting, CreateNew };
    // Opens with foreign keys on and a busy timeout. OpenExisting never creates a file; nothing
    // is written until the caller decides the file is really one of ours.
    static Result<Database> open(const std::string& path, Mode mode);

    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    sqlite3* handle() const { return m_db; }
    const std::string& path() const { return m_path; }

    // Write-ahead logging with a full sync on commit: a killed process or a power cut loses at
    // most the transaction in flight, never the file. The journal mode stays in the file; the
    // sync level is per connection, so every open calls this.
    Status useWriteAheadLog();

    // Runs one or more statements without results.
    Status exec(std::string_view sql);
    // A single integer from a query or pragma ("PRAGMA user_version").
    Result<int64_t> queryInt(const std::string& sql);
    bool inTransaction() const;
    int64_t lastInsertId() const;
    int changes() const;

    // An Error{Database} for the connection's last failure: "<what>: <sqlite message>".
    Error lastError(const std::string& what) const;

private:
    Database() = default;
    sqlite3* m_db = nullptr;
    std::string m_path;
};

// A prepared statement. Bind indices are 1-based like SQLite's; columns are 0-based.
class Statement {
public:
    static Result<Statement> prepare(Database& db, std::string_view sql);

    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    Statement& bind(int i, int64_t v);
    Statement& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
    Statement& bind(int i, double v);
    Statement& bind(int i, std::string_view v);
    Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Statement& bind(int i, std::optional<int64_t> v);
    Statement& bindNull(int i);

    // true: a row is ready; false: done. Errors carry the connection's message.
    Result<bool> step();
    // Steps to completion, for statements without rows.
    Status run();
    Status reset();

    bool isNull(int col) const;
    int64_t getInt(int col) const;
    double getDouble(int col) const;
    std::string getText(int col) const;
    std::optional<int64_t> getOptionalInt(int col) const;

private:
    Statement() = default;
    Database* m_db = nullptr;
    sqlite3_stmt* m_stmt = nullptr;
    Status m_bindError;  // the first failed bind, reported by step()
};

// Reads every remaining row of `st` through `read(const Statement&) -> T`.
template <class T, class Read>
Result<std::vector<T>> collectRows(Statement& st, Read read) {
    std::vector<T> out;
    while (true) {
        auto row = st.step();
        if (!row) return row.error();
        if (!*row) return out;
        out.push_back(read(st));
    }
}

// Begins a write transaction (BEGIN IMMEDIATE, so the write lock is taken up front and a busy
// database is reported at the start, not half way). Inside another transaction it becomes a
// savepoint, so functions that each want atomicity compose into one larger atomic change.
// Rolls back on destruction unless commit() succeeded.
class Transaction {
public:
    static Result<Transaction> begin(Database& db);

    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    Status commit();
    void rollback();

private:
    Transaction(Database& db, std::string savepoint) : m_db(&db), m_savepoint(std::move(savepoint)) {}
    Database* m_db = nullptr;
    std::string m_savepoint;  // empty for an outermost transaction
    bool m_done = false;
};

}  // namespace by
