#pragma once
// Streams a file into a temporary beside its target and renames it into place on commit(), so a
// failed export never leaves half a file behind, and a model still mapped from the target keeps
// reading the old bytes (the rename swaps the directory entry, not the mapped inode).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/error.h"

namespace by {

class AtomicWriter {
public:
    static Result<std::unique_ptr<AtomicWriter>> open(const std::string& path);
    ~AtomicWriter();  // removes the temporary unless commit() succeeded
    AtomicWriter(const AtomicWriter&) = delete;
    AtomicWriter& operator=(const AtomicWriter&) = delete;

    Status write(const void* data, size_t n);
    Status writeZeros(size_t n);
    uint64_t written() const { return m_written; }
    // Flushes, closes and renames the temporary over the target.
    Status commit();

private:
    AtomicWriter() = default;
    Error ioError(const std::string& what) const;

    std::string m_path;
    std::string m_tmp;
    std::FILE* m_file = nullptr;
    uint64_t m_written = 0;
    bool m_committed = false;
};

}  // namespace by
