#include "importers/atomic_writer.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace by {

Result<std::unique_ptr<AtomicWriter>> AtomicWriter::open(const std::string& path) {
    std::unique_ptr<AtomicWriter> w(new AtomicWriter());
    w->m_path = path;
    w->m_tmp = path + ".tmp-by-" + std::to_string(::getpid());
    w->m_file = std::fopen(w->m_tmp.c_str(), "wb");
    if (!w->m_file)
        return makeError(ErrorCode::Io, std::string("cannot create file: ") + std::strerror(errno), path);
    // A large stdio buffer: exporters write many small header fields, then big tensor blocks.
    std::setvbuf(w->m_file, nullptr, _IOFBF, 1 << 20);
    return w;
}

AtomicWriter::~AtomicWriter() {
    if (m_file) std::fclose(m_file);
    if (!m_committed && !m_tmp.empty()) std::remove(m_tmp.c_str());
}

Error AtomicWriter::ioError(const std::string& what) const {
    return makeError(ErrorCode::Io, what + ": " + std::strerror(errno), m_path);
}

Status AtomicWriter::write(const void* data, size_t n) {
    if (!m_file) return makeError(ErrorCode::Internal, "write after commit", m_path);
    if (n && std::fwrite(data, 1, n, m_file) != n) return ioError("write failed (disk full?)");
    m_written += n;
    return {};
}

Status AtomicWriter::writeZeros(size_t n) {
    static const char kZeros[4096] = {};
    while (n > 0) {
        const size_t k = n < sizeof(kZeros) ? n : sizeof(kZeros);
        BY_TRY(write(kZeros, k));
        n -= k;
    }
    return {};
}

Status AtomicWriter::commit() {
    if (!m_file) return makeError(ErrorCode::Internal, "commit called twice", m_path);
    const bool flushed = std::fflush(m_file) == 0;
    const bool closed = std::fclose(m_file) == 0;
    m_file = nullptr;
    if (!flushed || !closed) return ioError("write failed (disk full?)");
    if (std::rename(m_tmp.c_str(), m_path.c_str()) != 0) return ioError("cannot replace file");
    m_committed = true;
    return {};
}

}  // namespace by
