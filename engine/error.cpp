#include "engine/error.h"

namespace by {

const char* errorCodeName(ErrorCode code) {
    switch (code) {
    case ErrorCode::Io: return "io";
    case ErrorCode::Format: return "format";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::Invalid: return "invalid";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::Database: return "database";
    case ErrorCode::Internal: return "internal";
    }
    return "unknown";
}

Error& Error::withContext(const std::string& outer) {
    if (outer.empty()) return *this;
    context = context.empty() ? outer : outer + ": " + context;
    return *this;
}

std::string Error::what() const {
    return context.empty() ? message : context + ": " + message;
}

void assertFail(const char* expr, const char* file, int line, const char* msg) {
    std::fprintf(stderr, "Brickyard internal error: %s (%s) at %s:%d\n", msg, expr, file, line);
    std::abort();
}

}  // namespace by
