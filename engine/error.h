#pragma once
// Typed errors for bad input. Programmer errors use BY_ASSERT instead (on in release builds).
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace by {

enum class ErrorCode {
    Io,           // file missing, unreadable, mmap failed
    Format,       // bytes do not follow the format (bad magic, truncated, offsets out of range)
    Unsupported,  // valid but not handled (unknown op, dtype, version)
    Invalid,      // semantically wrong (cycle, shape mismatch, bad argument)
    Cancelled,
    Database,
    Internal,
};

const char* errorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;  // one sentence: what is wrong
    std::string context;  // where: "loading model.onnx: node 12 (Conv)"

    // Adds an outer context ("loading x.onnx") in front of the existing one.
    Error& withContext(const std::string& outer);
    // "context: message" - the sentence shown to a user.
    std::string what() const;
};

inline Error makeError(ErrorCode code, std::string message, std::string context = {}) {
    return Error{code, std::move(message), std::move(context)};
}

// A value or an Error. Minimal stand-in for std::expected (C++23).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::move(value)) {}
    Result(Error error) : m_v(std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { check(); return std::get<0>(m_v); }
    const T& value() const& { check(); return std::get<0>(m_v); }
    T&& value() && { check(); return std::get<0>(std::move(m_v)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        if (ok()) {
            std::fprintf(stderr, "Result::error() called on a value\n");
            std::abort();
        }
        return std::get<1>(m_v);
    }
    Error& error() {
        if (ok()) {
            std::fprintf(stderr, "Result::error() called on a value\n");
            std::abort();
        }
        return std::get<1>(m_v);
    }

private:
    void check() const {
        if (!ok()) {
            std::fprintf(stderr, "Result::value() called on an error: %s\n", std::get<1>(m_v).what().c_str());
            std::abort();
        }
    }
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_e(std::move(error)) {}
    bool ok() const { return !m_e.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *m_e; }
    Error& error() { return *m_e; }

private:
    std::optional<Error> m_e;
};

using Status = Result<void>;

[[noreturn]] void assertFail(const char* expr, const char* file, int line, const char* msg);

}  // namespace by

#define BY_ASSERT(cond, msg)                                                                         \
    do {                                                                                             \
        if (!(cond)) ::by::assertFail(#cond, __FILE__, __LINE__, msg);                               \
    } while (0)

// Propagates an error from an expression returning Result<T>/Status.
#define BY_TRY(expr)                                                                                 \
    do {                                                                                             \
        auto by_try_r_ = (expr);                                                                     \
        if (!by_try_r_.ok()) return std::move(by_try_r_.error());                                    \
    } while (0)
