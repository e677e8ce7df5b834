#pragma once
// SHA-256 content hashes for project assets, computed with OpenSSL's libcrypto and streamed, so a
// multi-gigabyte model never sits in memory. Symbolic links are followed: an asset is its bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/error.h"

namespace by {

struct ContentHash {
    std::string sha256;     // 64 lowercase hex digits
    int64_t sizeBytes = 0;  // bytes hashed (for a folder: of all its files)
};

// SHA-256 of a file's bytes.
Result<ContentHash> hashFile(const std::string& path);

// A folder's hash covers the relative path, size and SHA-256 of every regular file below it, in
// byte order of the paths, so renaming, adding or changing any file changes it while the
// folder's own location does not. Empty folders inside contribute nothing.
Result<ContentHash> hashFolder(const std::string& path);

// hashFile or hashFolder, whichever the path is.
Result<ContentHash> hashContent(const std::string& path);

// SHA-256 of bytes in memory, as hex (used for folder manifests and in tests).
std::string sha256Hex(std::string_view bytes);

}  // namespace by
