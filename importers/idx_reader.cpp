#include "importers/idx_reader.h"

#include <algorithm>
#include <cstring>

#include "engine/mapped_file.h"
#include "importers/gzip_file.h"

namespace by {

namespace {

struct IdxType {
    uint8_t code;
    DType dtype;
    int bytes;
};
constexpr IdxType kTypes[] = {
    {0x08, DType::U8, 1}, {0x09, DType::I8, 1},  {0x0B, DType::I16, 2},
    {0x0C, DType::I32, 4}, {0x0D, DType::F32, 4}, {0x0E, DType::F64, 8},
};

uint32_t readBe32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

Error formatError(const std::string& what, size_t offset, const std::string& msg) {
    return makeError(ErrorCode::Format, msg, what + " at byte " + std::to_string(offset));
}

}  // namespace

namespace {

struct IdxLayout {
    const IdxType* type = nullptr;
    Shape shape;
    size_t header = 0;     // bytes before the data
    uint64_t dataBytes = 0;
};

// Checks the magic, the header and that the dimensions describe exactly the bytes present.
Result<IdxLayout> parseIdxLayout(const uint8_t* data, size_t size, const std::string& what) {
    if (size < 4) return formatError(what, size, "the file ends inside the 4-byte IDX magic");
    if (data[0] != 0 || data[1] != 0)
        return formatError(what, 0, "this is not an IDX file: the magic must start with two zero bytes");
    const IdxType* type = nullptr;
    for (const auto& t : kTypes)
        if (t.code == data[2]) type = &t;
    if (!type) return formatError(what, 2, "unknown IDX element type 0x" + [&] {
                                                 char b[8];
                                                 std::snprintf(b, sizeof(b), "%02x", data[2]);
                                                 return std::string(b);
                                             }());
    const int rank = data[3];
    if (rank == 0) return formatError(what, 3, "the IDX rank is zero");
    const size_t header = 4 + 4 * static_cast<size_t>(rank);
    if (size < header)
        return formatError(what, size,
                           "the file ends inside the header of " + std::to_string(rank) + " dimensions (" +
                               std::to_string(header) + " bytes)");
    Shape shape;
    bool anyZero = false;
    for (int d = 0; d < rank; ++d) {
        shape.push_back(readBe32(data + 4 + 4 * d));
        anyZero = anyZero || shape.back() == 0;
    }
    // Multiply only while the product still fits in what the file holds, so absurd dimensions
    // (4 x 2^32 - 1) are reported instead of overflowing.
    const uint64_t available = (size - header) / static_cast<uint64_t>(type->bytes);
    uint64_t elems = anyZero ? 0 : 1;
    bool tooBig = false;
    for (int d = 0; d < rank && !anyZero && !tooBig; ++d) {
        const uint64_t dim = static_cast<uint64_t>(shape[static_cast<size_t>(d)]);
        if (elems > available / dim) tooBig = true;
        else elems *= dim;
    }
    const uint64_t needBytes = elems * static_cast<uint64_t>(type->bytes);
    if (tooBig || elems > available)
        return formatError(what, size,
                           "the dimensions " + shapeToString(shape) + " need " +
                               (tooBig ? std::string("more bytes than the file holds")
                                       : std::to_string(header + needBytes) + " bytes but the file ends"));
    if (header + needBytes != size)
        return formatError(what, header + needBytes,
                           std::to_string(size - header - needBytes) +
                               " bytes follow the data that the dimensions describe");
    return IdxLayout{type, std::move(shape), header, needBytes};
}

}  // namespace

Result<Tensor> parseIdx(const uint8_t* data, size_t size, const std::string& what) {
    auto layout = parseIdxLayout(data, size, what);
    if (!layout) return layout.error();
    const IdxType* type = layout->type;
    const size_t header = layout->header;
    std::vector<uint8_t> bytes(data + header, data + header + layout->dataBytes);
    if (type->bytes > 1)  // big-endian on disk
        for (size_t i = 0; i < bytes.size(); i += static_cast<size_t>(type->bytes))
            std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                         bytes.begin() + static_cast<std::ptrdiff_t>(i) + type->bytes);
    auto t = Tensor::fromBytes(type->dtype, layout->shape, std::move(bytes));
    if (!t) return t.error().withContext(what);
    return t;
}

Result<Tensor> readIdx(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file) return file.error();
    std::shared_ptr<const MappedFile> mapped = std::move(*file);
    if (!isGzip(mapped->data(), mapped->size())) {
        auto layout = parseIdxLayout(mapped->data(), mapped->size(), path);
        if (!layout) return layout.error();
        // Single-byte elements need no byte swapping: use the mapped pages in place, as the
        // engine does for model weights.
        if (layout->type->bytes == 1) {
            auto t = Tensor::fromMapped(mapped, layout->header, layout->type->dtype, layout->shape);
            if (!t) return t.error().withContext(path);
            return t;
        }
        return parseIdx(mapped->data(), mapped->size(), path);
    }
    auto bytes = readFileMaybeGzip(path);
    if (!bytes) return bytes.error();
    return parseIdx(bytes->data(), bytes->size(), path);
}

Result<std::shared_ptr<TensorDataset>> readIdxImageDataset(const std::string& imagesPath,
                                                           const std::string& labelsPath, std::string name,
                                                           std::vector<std::string> classNames) {
    auto images = readIdx(imagesPath);
    if (!images) return images.error();
    auto labels = readIdx(labelsPath);
    if (!labels) return labels.error();
    if (images->dtype() != DType::U8 || images->rank() != 3)
        return makeError(ErrorCode::Invalid,
                         "expected u8 images [N,H,W], found " + std::string(dtypeName(images->dtype())) + " " +
                             shapeToString(images->shape()),
                         imagesPath);
    if (labels->dtype() != DType::U8 || labels->rank() != 1)
        return makeError(ErrorCode::Invalid,
                         "expected u8 labels [N], found " + std::string(dtypeName(labels->dtype())) + " " +
                             shapeToString(labels->shape()),
                         labelsPath);
    const int64_t n = images->shape()[0];
    if (labels->shape()[0] != n)
        return makeError(ErrorCode::Invalid,
                         "the label file holds " + std::to_string(labels->shape()[0]) +
                             " labels but the image file " + imagesPath + " holds " + std::to_string(n) + " images",
                         labelsPath);
    std::vector<int64_t> lab(static_cast<size_t>(n));
    const uint8_t* lp = labels->data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
        lab[static_cast<size_t>(i)] = lp[i];
        if (lp[i] >= classNames.size())
            return makeError(ErrorCode::Invalid,
                             "label " + std::to_string(lp[i]) + " is not below the " +
                                 std::to_string(classNames.size()) + " classes",
                             labelsPath + " at byte " + std::to_string(8 + i));
    }
    // Images become [N,1,H,W]: one channel, so samples come out in the NCHW layout models take.
    auto withChannel = images->reshaped({n, 1, images->shape()[1], images->shape()[2]});
    if (!withChannel) return withChannel.error();
    auto ds = TensorDataset::create(std::move(name), std::move(*withChannel), std::move(lab), std::move(classNames));
    if (!ds) return ds.error();
    return ds;
}

}  // namespace by
