#include "importers/tflite_sparsity.h"

#include <cstring>

namespace by::tflite {

namespace {
constexpr size_t kMaxLevels = 16;
constexpr int64_t kMaxPositions = int64_t(1) << 40;

std::string listToString(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i)
        s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

struct Level {
    bool sparse = false;
    int64_t size = 0; // positions along this level (dense size, or the dimension's extent when sparse)
    std::vector<int64_t> segments;
    std::vector<int64_t> indices;
};

// SparseIndexVector union tag -> element width (Int32Vector, Uint16Vector, Uint8Vector).
size_t indexWidth(int64_t tag) {
    return tag == 1 ? 4 : tag == 2 ? 2 : tag == 3 ? 1 : 0;
}
} // namespace

Result<DensifyResult> densify(FbBuffer& fb, const FbTable& sp, const Shape& shape, size_t elemSize,
                              std::span<const uint8_t> values, int64_t maxDenseBytes) {
    auto bad = [](std::string m) { return makeError(ErrorCode::Format, std::move(m)); };
    const FbVector travVec = sp.vector(sparsity::traversalOrder, 4);
    const FbVector blockVec = sp.vector(sparsity::blockMap, 4);
    const FbVector dimsVec = sp.vector(sparsity::dimMetadata, 4);
    if (fb.failed()) return bad(fb.error());
    const size_t n = shape.size(), k = blockVec.size(), total = n + k;
    if (total == 0 || total > kMaxLevels)
        return bad("sparse tensor has " + std::to_string(total) +
                   " dimensions to traverse (field SparsityParameters.block_map)");
    if (travVec.size() != total)
        return bad("SparsityParameters.traversal_order has " + std::to_string(travVec.size()) +
                   " entries, expected " + std::to_string(total));
    if (dimsVec.size() != total)
        return bad("SparsityParameters.dim_metadata has " + std::to_string(dimsVec.size()) +
                   " entries, expected " + std::to_string(total));
    const std::vector<int64_t> trav = travVec.ints();
    const std::vector<int64_t> blockMap = blockVec.ints();

    std::vector<bool> seen(total, false);
    for (size_t i = 0; i < total; ++i) {
        const int64_t t = trav[i];
        if (t < 0 || static_cast<size_t>(t) >= total || seen[static_cast<size_t>(t)])
            return bad("SparsityParameters.traversal_order " + listToString(trav) + " is not a permutation");
        seen[static_cast<size_t>(t)] = true;
        if ((i < n) != (static_cast<size_t>(t) < n))
            return makeError(ErrorCode::Unsupported, "SparsityParameters.traversal_order " +
                                                         listToString(trav) +
                                                         " does not traverse block dimensions last");
    }
    std::vector<int> blockOf(n, -1);
    for (size_t b = 0; b < k; ++b) {
        const int64_t d = blockMap[b];
        if (d < 0 || static_cast<size_t>(d) >= n || blockOf[static_cast<size_t>(d)] >= 0)
            return bad("SparsityParameters.block_map " + listToString(blockMap) +
                       " names a dimension twice or out of range");
        blockOf[static_cast<size_t>(d)] = static_cast<int>(b);
    }

    std::vector<Level> levels(total);
    std::string formats;
    for (size_t i = 0; i < total; ++i) {
        const FbTable dm = dimsVec.table(i, "DimensionMetadata");
        const int64_t format = dm.i8(dimmeta::format);
        Level& L = levels[i];
        if (format == 0) {
            L.size = dm.i32(dimmeta::denseSize);
        } else if (format == 1) {
            L.sparse = true;
            const size_t sw = indexWidth(dm.u8(dimmeta::arraySegmentsType));
            const size_t iw = indexWidth(dm.u8(dimmeta::arrayIndicesType));
            if (!sw || !iw)
                return bad("DimensionMetadata " + std::to_string(i) +
                           " has no usable array_segments/array_indices type");
            L.segments = dm.table(dimmeta::arraySegments, "SparseIndexVector")
                             .vector(dimmeta::values, sw)
                             .ints(sw == 4);
            L.indices = dm.table(dimmeta::arrayIndices, "SparseIndexVector")
                            .vector(dimmeta::values, iw)
                            .ints(iw == 4);
        } else {
            return bad("DimensionMetadata " + std::to_string(i) + " has unknown format " +
                       std::to_string(format));
        }
        if (fb.failed()) return bad(fb.error());
        formats += std::string(i ? "," : "") + (L.sparse ? "SPARSE_CSR" : "DENSE");
    }

    // Block sizes come from the (dense) block levels; the original levels then span shape / block.
    std::vector<int64_t> blockSize(k, 0);
    for (size_t i = n; i < total; ++i) {
        const size_t b = static_cast<size_t>(trav[i]) - n;
        if (levels[i].sparse || levels[i].size <= 0)
            return bad("block dimension " + std::to_string(b) + " must be dense with a positive size");
        blockSize[b] = levels[i].size;
    }
    std::vector<int64_t> outer(n);
    for (size_t d = 0; d < n; ++d) {
        if (shape[d] < 0) return bad("sparse tensor has a negative dimension in " + shapeToString(shape));
        outer[d] = shape[d];
        if (blockOf[d] >= 0) {
            const int64_t bs = blockSize[static_cast<size_t>(blockOf[d])];
            if (outer[d] % bs != 0)
                return bad("dimension " + std::to_string(d) + " of " + shapeToString(shape) +
                           " is not a multiple of its block size " + std::to_string(bs));
            outer[d] /= bs;
        }
    }

    int64_t count = 1; // positions at the current level
    for (size_t i = 0; i < total; ++i) {
        Level& L = levels[i];
        const int64_t extent = static_cast<size_t>(trav[i]) < n ? outer[static_cast<size_t>(trav[i])]
                                                                : blockSize[static_cast<size_t>(trav[i]) - n];
        const std::string where = "DimensionMetadata " + std::to_string(i);
        if (!L.sparse) {
            if (L.size != extent)
                return bad(where + ": dense_size " + std::to_string(L.size) +
                           " does not match the dimension's extent " + std::to_string(extent));
            if (L.size != 0 && count > kMaxPositions / L.size)
                return bad(where + ": the traversal is absurdly large");
            count *= L.size;
            continue;
        }
        L.size = extent;
        if (static_cast<int64_t>(L.segments.size()) != count + 1)
            return bad(where + ": array_segments has " + std::to_string(L.segments.size()) +
                       " entries, expected " + std::to_string(count + 1));
        for (size_t s = 0; s < L.segments.size(); ++s)
            if (L.segments[s] < 0 || (s && L.segments[s] < L.segments[s - 1]) ||
                L.segments[s] > static_cast<int64_t>(L.indices.size()))
                return bad(where + ": array_segments is not a non-decreasing list within array_indices");
        for (int64_t ix : L.indices)
            if (ix < 0 || ix >= extent)
                return bad(where + ": array_indices holds " + std::to_string(ix) + ", outside [0, " +
                           std::to_string(extent) + ")");
        count = L.segments.back();
    }

    if (elemSize == 0 || values.size() % elemSize != 0)
        return bad("the sparse buffer holds " + std::to_string(values.size()) +
                   " bytes, not a whole number of elements");
    const int64_t stored = static_cast<int64_t>(values.size() / elemSize);
    if (count != stored)
        return bad("the sparse buffer holds " + std::to_string(stored) +
                   " values but its metadata describes " + std::to_string(count));
    const int64_t numel = shapeNumel(shape);
    if (numel < 0 || numel > maxDenseBytes / static_cast<int64_t>(elemSize))
        return makeError(ErrorCode::Unsupported, "sparse tensor " + shapeToString(shape) +
                                                     " is too large to expand (limit " +
                                                     std::to_string(maxDenseBytes) + " bytes)");

    std::vector<int64_t> stride(n, 1);
    for (size_t d = n; d-- > 1;)
        stride[d - 1] = stride[d] * shape[d];

    DensifyResult r;
    r.bytes.assign(static_cast<size_t>(numel) * elemSize, 0);
    std::vector<int64_t> idx(total, 0), orig(n, 0);
    int64_t src = 0;
    auto visit = [&](auto&& self, size_t level, int64_t prev) -> void {
        if (level == total) {
            for (size_t i = 0; i < n; ++i)
                orig[static_cast<size_t>(trav[i])] = idx[i];
            for (size_t i = n; i < total; ++i) {
                const size_t b = static_cast<size_t>(trav[i]) - n;
                const size_t d = static_cast<size_t>(blockMap[b]);
                orig[d] = orig[d] * blockSize[b] + idx[i];
            }
            int64_t flat = 0;
            for (size_t d = 0; d < n; ++d)
                flat += orig[d] * stride[d];
            std::memcpy(r.bytes.data() + flat * static_cast<int64_t>(elemSize),
                        values.data() + src * static_cast<int64_t>(elemSize), elemSize);
            ++src;
            return;
        }
        const Level& L = levels[level];
        if (!L.sparse) {
            for (int64_t j = 0; j < L.size; ++j) {
                idx[level] = j;
                self(self, level + 1, prev * L.size + j);
            }
        } else {
            const size_t p = static_cast<size_t>(prev);
            for (int64_t j = L.segments[p]; j < L.segments[p + 1]; ++j) {
                idx[level] = L.indices[static_cast<size_t>(j)];
                self(self, level + 1, j);
            }
        }
    };
    if (numel > 0) visit(visit, 0, 0); // extents are then all positive, so no level is visited in vain

    r.summary = "sparse in file: " + std::to_string(stored) + " of " + std::to_string(numel) +
                " values stored, traversal_order=" + listToString(trav) +
                (k ? ", block_map=" + listToString(blockMap) : std::string()) + ", formats=[" + formats + "]";
    return r;
}

} // namespace by::tflite
