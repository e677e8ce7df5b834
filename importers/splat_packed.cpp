#include "importers/splat_packed.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "importers/atomic_writer.h"

namespace by {

namespace {

constexpr char kMagic[8] = {'B', 'Y', 'S', 'P', 'L', 'A', 'T', '1'};

size_t packedBytes(size_t count, int bits) { return (count * static_cast<size_t>(bits) + 7) / 8; }

}  // namespace

Result<uint64_t> writeSplatPacked(const SplatCloud& cloud, const SplatBits& bits, const std::string& path) {
    for (int b : {bits.position, bits.scale, bits.rotation, bits.opacity, bits.dc, bits.sh})
        if (b != 0 && (b < 2 || b > 16)) return makeError(ErrorCode::Invalid, "bit widths must be 0 or 2..16", path);
    const size_t n = cloud.size();
    if (n == 0 || n > 0xFFFFFFFFu) return makeError(ErrorCode::Invalid, "cannot pack " + std::to_string(n) + " splats", path);
    std::vector<uint8_t> buf(kMagic, kMagic + 8);
    auto put = [&](const void* p, size_t k) { buf.insert(buf.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + k); };
    const uint32_t count = static_cast<uint32_t>(n);
    put(&count, 4);
    const uint8_t head[8] = {static_cast<uint8_t>(cloud.shDegree), static_cast<uint8_t>(bits.position), static_cast<uint8_t>(bits.scale),
                             static_cast<uint8_t>(bits.rotation), static_cast<uint8_t>(bits.opacity), static_cast<uint8_t>(bits.dc),
                             static_cast<uint8_t>(bits.sh), 0};
    put(head, 8);
    forEachSplatChannel(cloud, bits, [&](int b, auto at) {
        if (b == 0) {
            for (size_t i = 0; i < n; ++i) put(&at(i), 4);
            return;
        }
        UniformQuantizer q;
        q.lo = q.hi = at(0);
        for (size_t i = 0; i < n; ++i) {
            q.lo = std::min(q.lo, at(i));
            q.hi = std::max(q.hi, at(i));
        }
        q.levels = (1u << b) - 1;
        put(&q.lo, 4);
        put(&q.hi, 4);
        std::vector<uint8_t> packed(packedBytes(n, b), 0);
        for (size_t i = 0; i < n; ++i) {
            const uint32_t code = q.code(at(i));
            for (int bit = 0; bit < b; ++bit)
                if (code >> bit & 1u) {
                    const size_t pos = i * static_cast<size_t>(b) + static_cast<size_t>(bit);
                    packed[pos / 8] = static_cast<uint8_t>(packed[pos / 8] | (1u << (pos % 8)));
                }
        }
        put(packed.data(), packed.size());
    });
    auto w = AtomicWriter::open(path);
    if (!w) return w.error();
    BY_TRY((*w)->write(buf.data(), buf.size()));
    BY_TRY((*w)->commit());
    return static_cast<uint64_t>(buf.size());
}

Result<Scene> readSplatPacked(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return makeError(ErrorCode::Io, "cannot open the file", path);
    const std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = 0;
    auto need = [&](size_t k, const std::string& what) -> Status {
        if (data.size() - at < k)
            return makeError(ErrorCode::Format, "the file ends inside " + what + " (byte " + std::to_string(at) + " of " +
                                                    std::to_string(data.size()) + ")", path);
        return {};
    };
    BY_TRY(need(20, "the header"));
    if (std::memcmp(data.data(), kMagic, 8) != 0) return makeError(ErrorCode::Format, "not a packed splat file (no BYSPLAT1 magic)", path);
    uint32_t count;
    std::memcpy(&count, data.data() + 8, 4);
    const uint8_t* h = data.data() + 12;
    if (h[0] > 3) return makeError(ErrorCode::Format, "SH degree " + std::to_string(h[0]) + " is not 0..3", path);
    SplatBits bits{h[1], h[2], h[3], h[4], h[5], h[6]};
    for (int b : {bits.position, bits.scale, bits.rotation, bits.opacity, bits.dc, bits.sh})
        if (b != 0 && (b < 2 || b > 16)) return makeError(ErrorCode::Format, "bit width " + std::to_string(b) + " is not 0 or 2..16", path);
    if (count == 0) return makeError(ErrorCode::Format, "the file holds no splats", path);
    at = 20;
    Scene scene;
    SplatCloud& c = scene.splats;
    c.shDegree = h[0];
    const size_t n = count;
    // Every channel takes at least ceil(n * 2 / 8) bytes: refuse a count the file cannot hold
    // before allocating for it.
    if (n / 4 > data.size()) return makeError(ErrorCode::Format, std::to_string(n) + " splats cannot fit in the file", path);
    c.positions.resize(n);
    c.logScales.resize(n);
    c.rotations.resize(n);
    c.opacityLogits.resize(n);
    c.sh.resize(n * static_cast<size_t>(c.coeffsPerSplat()) * 3);
    Status status;
    int channel = 0;
    forEachSplatChannel(c, bits, [&](int b, auto slot) {
        if (!status) return;
        const std::string what = "channel " + std::to_string(channel++);
        if (b == 0) {
            status = need(n * 4, what);
            if (!status) return;
            for (size_t i = 0; i < n; ++i, at += 4) std::memcpy(&slot(i), data.data() + at, 4);
            return;
        }
        status = need(8 + packedBytes(n, b), what);
        if (!status) return;
        UniformQuantizer q;
        std::memcpy(&q.lo, data.data() + at, 4);
        std::memcpy(&q.hi, data.data() + at + 4, 4);
        q.levels = (1u << b) - 1;
        at += 8;
        const uint8_t* p = data.data() + at;
        for (size_t i = 0; i < n; ++i) {
            uint32_t code = 0;
            for (int bit = 0; bit < b; ++bit) {
                const size_t pos = i * static_cast<size_t>(b) + static_cast<size_t>(bit);
                code |= static_cast<uint32_t>(p[pos / 8] >> (pos % 8) & 1u) << bit;
            }
            slot(i) = q.value(code);
        }
        at += packedBytes(n, b);
    });
    if (!status) return status.error();
    if (at != data.size())
        return makeError(ErrorCode::Format, std::to_string(data.size() - at) + " bytes follow the last channel", path);
    return scene;
}

}  // namespace by
