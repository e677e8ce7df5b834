#include "importers/gzip_file.h"

#include <zlib.h>

#include <cstring>

#include "engine/mapped_file.h"

namespace by {

bool isGzip(const uint8_t* bytes, size_t size) { return size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

Result<std::vector<uint8_t>> readFileMaybeGzip(const std::string& path, uint64_t maxBytes) {
    auto file = MappedFile::open(path);
    if (!file) return file.error();
    const uint8_t* in = (*file)->data();
    const size_t inSize = (*file)->size();
    if (!isGzip(in, inSize)) {
        if (inSize > maxBytes)
            return makeError(ErrorCode::Invalid,
                             "the file holds " + std::to_string(inSize) + " bytes, more than the limit of " +
                                 std::to_string(maxBytes),
                             path);
        return std::vector<uint8_t>(in, in + inSize);
    }

    z_stream zs;
    std::memset(&zs, 0, sizeof(zs));
    // 16 + MAX_WBITS: expect a gzip header; inflate handles concatenated members via reset below.
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return makeError(ErrorCode::Internal, "zlib could not start a decompressor", path);
    std::vector<uint8_t> out;
    out.reserve(std::min<uint64_t>(maxBytes, static_cast<uint64_t>(inSize) * 4));
    zs.next_in = const_cast<Bytef*>(in);
    zs.avail_in = static_cast<uInt>(std::min<size_t>(inSize, UINT32_MAX));
    size_t fed = zs.avail_in;
    std::vector<uint8_t> chunk(1 << 20);
    int rc = Z_OK;
    Result<std::vector<uint8_t>> result = std::vector<uint8_t>{};
    while (true) {
        zs.next_out = chunk.data();
        zs.avail_out = static_cast<uInt>(chunk.size());
        rc = inflate(&zs, Z_NO_FLUSH);
        const size_t produced = chunk.size() - zs.avail_out;
        if (out.size() + produced > maxBytes) {
            result = makeError(ErrorCode::Invalid,
                               "the gzip stream inflates past the limit of " + std::to_string(maxBytes) + " bytes",
                               path);
            break;
        }
        out.insert(out.end(), chunk.data(), chunk.data() + produced);
        if (zs.avail_in == 0 && fed < inSize) {  // files over 4 GiB arrive in pieces
            const size_t more = std::min<size_t>(inSize - fed, UINT32_MAX);
            zs.next_in = const_cast<Bytef*>(in + fed);
            zs.avail_in = static_cast<uInt>(more);
            fed += more;
        }
        if (rc == Z_STREAM_END) {
            const size_t consumed = fed - zs.avail_in;
            if (consumed == inSize) {
                result = std::move(out);
                break;
            }
            // Another gzip member follows (gzip allows concatenation).
            if (inflateReset(&zs) != Z_OK) {
                result = makeError(ErrorCode::Internal, "zlib could not reset", path);
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && fed == inSize) {
            result = makeError(ErrorCode::Format,
                               "the gzip stream is truncated: it ends at byte " + std::to_string(inSize) +
                                   " before its end marker",
                               path);
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            const size_t consumed = fed - zs.avail_in;
            result = makeError(ErrorCode::Format,
                               std::string("the gzip stream is corrupt near byte ") + std::to_string(consumed) + " (" +
                                   (zs.msg ? zs.msg : "inflate failed") + ")",
                               path);
            break;
        }
    }
    inflateEnd(&zs);
    return result;
}

}  // namespace by
