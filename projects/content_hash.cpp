#include "projects/content_hash.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <openssl/evp.h>
#include <unistd.h>
#include <vector>

namespace by {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 1 << 20;

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string toHex(const unsigned char* d, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string s(static_cast<size_t>(n) * 2, '0');
    for (unsigned i = 0; i < n; ++i) {
        s[2 * i] = digits[d[i] >> 4];
        s[2 * i + 1] = digits[d[i] & 15];
    }
    return s;
}

Result<MdCtx> newSha256(const std::string& path) {
    MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        return makeError(ErrorCode::Internal, "OpenSSL could not start a SHA-256 digest", path);
    return ctx;
}

Result<std::string> finish(EVP_MD_CTX* ctx, const std::string& path) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx, digest, &len) != 1)
        return makeError(ErrorCode::Internal, "OpenSSL could not finish a SHA-256 digest", path);
    return toHex(digest, len);
}

}  // namespace

std::string sha256Hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    // One-shot EVP_Digest cannot fail for SHA-256 on valid input short of memory exhaustion.
    const int ok = EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
    BY_ASSERT(ok == 1, "EVP_Digest(SHA-256) failed");
    return toHex(digest, len);
}

Result<ContentHash> hashFile(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0)
        return makeError(ErrorCode::Io, std::string("cannot read the file: ") + std::strerror(errno), path);
    auto ctx = newSha256(path);
    if (!ctx) return ctx.error();
    std::vector<unsigned char> buf(kChunk);
    ContentHash h;
    while (true) {
        const ssize_t n = ::read(f.fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EISDIR) return makeError(ErrorCode::Io, "is a folder, not a file", path);
            return makeError(ErrorCode::Io, std::string("read error: ") + std::strerror(errno), path);
        }
        if (n == 0) break;
        if (EVP_DigestUpdate(ctx->get(), buf.data(), static_cast<size_t>(n)) != 1)
            return makeError(ErrorCode::Internal, "OpenSSL could not update a SHA-256 digest", path);
        h.sizeBytes += n;
    }
    auto hex = finish(ctx->get(), path);
    if (!hex) return hex.error();
    h.sha256 = std::move(*hex);
    return h;
}

Result<ContentHash> hashFolder(const std::string& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return makeError(ErrorCode::Io, "no such folder", path);
    std::vector<std::string> files;
    fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink, ec), end;
    if (ec) return makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(), path);
    for (; it != end; it.increment(ec)) {
        if (ec) return makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(), path);
        if (it.depth() > 64)
            return makeError(ErrorCode::Invalid, "folder nesting is too deep (a link loop?)", path);
        std::error_code fec;
        if (it->is_regular_file(fec)) files.push_back(fs::relative(it->path(), path, fec).generic_string());
    }
    std::sort(files.begin(), files.end());

    auto ctx = newSha256(path);
    if (!ctx) return ctx.error();
    ContentHash h;
    for (const auto& rel : files) {
        auto fh = hashFile((fs::path(path) / rel).string());
        if (!fh) return fh.error();
        // One manifest line per file; a NUL cannot occur in a path, so lines cannot be forged.
        const std::string line = rel + '\0' + std::to_string(fh->sizeBytes) + '\0' + fh->sha256 + '\n';
        if (EVP_DigestUpdate(ctx->get(), line.data(), line.size()) != 1)
            return makeError(ErrorCode::Internal, "OpenSSL could not update a SHA-256 digest", path);
        h.sizeBytes += fh->sizeBytes;
    }
    auto hex = finish(ctx->get(), path);
    if (!hex) return hex.error();
    h.sha256 = std::move(*hex);
    return h;
}

Result<ContentHash> hashContent(const std::string& path) {
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) return makeError(ErrorCode::Io, "no such file or folder", path);
    if (fs::is_directory(st)) return hashFolder(path);
    return hashFile(path);
}

}  // namespace by
