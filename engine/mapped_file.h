#pragma once
// A read-only memory map of a whole file. Pages are only read from disk when touched, which is
// what lets a 1 GiB weights file open in milliseconds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine/error.h"

namespace by {

class MappedFile {
public:
    static Result<std::shared_ptr<MappedFile>> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return m_data; }
    size_t size() const { return m_size; }
    std::span<const uint8_t> bytes() const { return {m_data, m_size}; }
    const std::string& path() const { return m_path; }

private:
    MappedFile() = default;
    const uint8_t* m_data = nullptr;
    size_t m_size = 0;
    std::string m_path;
};

// Reads up to `n` leading bytes of a file (for format probing without mapping it).
Result<std::string> readFileHead(const std::string& path, size_t n);
Result<std::string> readWholeFile(const std::string& path);
Status writeWholeFile(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace by
