#include "engine/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/mapped_file.h"
#include "engine/quant_blocks.h"

namespace by {

int64_t shapeNumel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) {
        if (d < 0) return -1;
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
        n *= d;
    }
    return n;
}

std::string shapeToString(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) out += ",";
        out += std::to_string(s[i]);
    }
    return out + "]";
}

namespace {
class OwnedStorage final : public Storage {
public:
    explicit OwnedStorage(std::vector<uint8_t> b) : m_bytes(std::move(b)) {}
    const uint8_t* data() const override { return m_bytes.data(); }
    uint8_t* mutableData() override { return m_bytes.data(); }
    size_t size() const override { return m_bytes.size(); }
    bool isMapped() const override { return false; }

private:
    std::vector<uint8_t> m_bytes;
};

// Heap bytes left uninitialised: for outputs a kernel overwrites completely, so large
// intermediates cost neither a memset nor the page faults of zeroing.
class RawStorage final : public Storage {
public:
    explicit RawStorage(size_t n) : m_bytes(new uint8_t[n ? n : 1]), m_size(n) {}
    const uint8_t* data() const override { return m_bytes.get(); }
    uint8_t* mutableData() override { return m_bytes.get(); }
    size_t size() const override { return m_size; }
    bool isMapped() const override { return false; }

private:
    std::unique_ptr<uint8_t[]> m_bytes;
    size_t m_size;
};

class MappedStorage final : public Storage {
public:
    explicit MappedStorage(std::shared_ptr<const MappedFile> f) : m_file(std::move(f)) {}
    const uint8_t* data() const override { return m_file->data(); }
    uint8_t* mutableData() override { return nullptr; }
    size_t size() const override { return m_file->size(); }
    bool isMapped() const override { return true; }

private:
    std::shared_ptr<const MappedFile> m_file;
};

constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;  // 1 TiB: anything larger is a corrupt header

Result<int64_t> checkedBytes(DType dtype, const Shape& shape) {
    for (int64_t d : shape)
        if (d < 0) return makeError(ErrorCode::Invalid, "negative dimension in shape " + shapeToString(shape));
    const int64_t n = shapeNumel(shape);
    if (n < 0) return makeError(ErrorCode::Invalid, "shape " + shapeToString(shape) + " overflows");
    if (dtype == DType::String) return int64_t(0);
    const int64_t b = dtypeStorageBytes(dtype, n);
    if (b < 0)
        return makeError(ErrorCode::Invalid, std::string("shape ") + shapeToString(shape) +
                                                 " is not a whole number of " + dtypeName(dtype) + " blocks");
    if (b > kMaxTensorBytes)
        return makeError(ErrorCode::Invalid, "shape " + shapeToString(shape) + " is absurdly large (" +
                                                 std::to_string(b) + " bytes)");
    return b;
}
}  // namespace

Result<Tensor> Tensor::zeros(DType dtype, const Shape& shape) {
    auto b = checkedBytes(dtype, shape);
    if (!b) return b.error();
    return fromBytes(dtype, shape, std::vector<uint8_t>(static_cast<size_t>(*b), 0));
}

Result<Tensor> Tensor::uninitialized(DType dtype, const Shape& shape) {
    if (dtype == DType::String) return zeros(dtype, shape);
    auto b = checkedBytes(dtype, shape);
    if (!b) return b.error();
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = shape;
    t.m_nbytes = static_cast<size_t>(*b);
    t.m_storage = std::make_shared<RawStorage>(t.m_nbytes);
    return t;
}

Result<Tensor> Tensor::fromBytes(DType dtype, const Shape& shape, std::vector<uint8_t> bytes) {
    auto b = checkedBytes(dtype, shape);
    if (!b) return b.error();
    if (static_cast<int64_t>(bytes.size()) != *b)
        return makeError(ErrorCode::Invalid, "tensor " + shapeToString(shape) + " of " + dtypeName(dtype) +
                                                 " needs " + std::to_string(*b) + " bytes, got " +
                                                 std::to_string(bytes.size()));
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = shape;
    t.m_nbytes = bytes.size();
    t.m_storage = std::make_shared<OwnedStorage>(std::move(bytes));
    if (dtype == DType::String)
        t.m_strings = std::make_shared<std::vector<std::string>>(static_cast<size_t>(shapeNumel(shape)));
    return t;
}

Result<Tensor> Tensor::fromMapped(std::shared_ptr<const MappedFile> file, size_t offset, DType dtype,
                                  const Shape& shape) {
    auto b = checkedBytes(dtype, shape);
    if (!b) return b.error();
    if (offset > file->size() || static_cast<uint64_t>(*b) > file->size() - offset)
        return makeError(ErrorCode::Format, "tensor data [" + std::to_string(offset) + ", " +
                                                std::to_string(offset + static_cast<uint64_t>(*b)) +
                                                ") lies past the end of the file (" +
                                                std::to_string(file->size()) + " bytes)");
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = shape;
    t.m_nbytes = static_cast<size_t>(*b);
    t.m_storage = std::make_shared<MappedStorage>(std::move(file));
    t.m_offset = offset;
    return t;
}

Tensor Tensor::fromFloats(const Shape& shape, const std::vector<float>& v) {
    BY_ASSERT(shapeNumel(shape) == static_cast<int64_t>(v.size()), "fromFloats: size mismatch");
    std::vector<uint8_t> b(v.size() * 4);
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return std::move(fromBytes(DType::F32, shape, std::move(b))).value();
}

Tensor Tensor::fromInt64s(const Shape& shape, const std::vector<int64_t>& v) {
    BY_ASSERT(shapeNumel(shape) == static_cast<int64_t>(v.size()), "fromInt64s: size mismatch");
    std::vector<uint8_t> b(v.size() * 8);
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return std::move(fromBytes(DType::I64, shape, std::move(b))).value();
}

Tensor Tensor::fromStrings(const Shape& shape, std::vector<std::string> v) {
    BY_ASSERT(shapeNumel(shape) == static_cast<int64_t>(v.size()), "fromStrings: size mismatch");
    Tensor t = std::move(fromBytes(DType::String, shape, {})).value();
    t.m_strings = std::make_shared<std::vector<std::string>>(std::move(v));
    return t;
}

const std::vector<std::string>& Tensor::strings() const {
    static const std::vector<std::string> kEmpty;
    return m_strings ? *m_strings : kEmpty;
}

uint8_t* Tensor::mutableRawData() {
    if (!m_storage) return nullptr;
    if (m_storage->isMapped() || m_storage.use_count() > 1) {
        std::vector<uint8_t> copy(rawData(), rawData() + m_nbytes);
        m_storage = std::make_shared<OwnedStorage>(std::move(copy));
        m_offset = 0;
    }
    return m_storage->mutableData() + m_offset;
}

Result<Tensor> Tensor::reshaped(const Shape& shape) const {
    if (shapeNumel(shape) != numel())
        return makeError(ErrorCode::Invalid, "cannot reshape " + shapeToString(m_shape) + " to " +
                                                 shapeToString(shape));
    Tensor t = *this;
    t.m_shape = shape;
    return t;
}

bool Tensor::sameContent(const Tensor& o) const {
    if (m_dtype != o.m_dtype || m_shape != o.m_shape || m_nbytes != o.m_nbytes) return false;
    if (m_dtype == DType::String) return strings() == o.strings();
    if (m_nbytes && std::memcmp(rawData(), o.rawData(), m_nbytes) != 0) return false;
    const bool q1 = m_quant != nullptr, q2 = o.m_quant != nullptr;
    if (q1 != q2) return false;
    if (q1 && (m_quant->groupSize != o.m_quant->groupSize || m_quant->scales != o.m_quant->scales ||
               m_quant->zeros != o.m_quant->zeros))
        return false;
    return true;
}

Result<std::vector<float>> Tensor::toFloats() const {
    const int64_t n = numel();
    if (n < 0) return makeError(ErrorCode::Invalid, "tensor has an invalid shape");
    std::vector<float> out(static_cast<size_t>(n));
    const uint8_t* p = rawData();
    auto cast = [&](auto tag) {
        using T = decltype(tag);
        for (int64_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, p + i * sizeof(T), sizeof(T));
            out[static_cast<size_t>(i)] = static_cast<float>(v);
        }
    };
    switch (m_dtype) {
    case DType::F32: if (n) std::memcpy(out.data(), p, static_cast<size_t>(n) * 4); break;
    case DType::F64: cast(double{}); break;
    case DType::F16:
        for (int64_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + i * 2, 2);
            out[static_cast<size_t>(i)] = halfToFloat(h);
        }
        break;
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + i * 2, 2);
            out[static_cast<size_t>(i)] = bf16ToFloat(h);
        }
        break;
    case DType::I8: cast(int8_t{}); break;
    case DType::U8: cast(uint8_t{}); break;
    case DType::Bool: cast(uint8_t{}); break;
    case DType::I16: cast(int16_t{}); break;
    case DType::U16: cast(uint16_t{}); break;
    case DType::I32: cast(int32_t{}); break;
    case DType::U32: cast(uint32_t{}); break;
    case DType::I64: cast(int64_t{}); break;
    case DType::U64: cast(uint64_t{}); break;
    case DType::Int4:
    case DType::UInt4:
    case DType::Int2:
    case DType::Bit1: {
        const int bits = m_dtype == DType::Int2 ? 2 : m_dtype == DType::Bit1 ? 1 : 4;
        for (int64_t i = 0; i < n; ++i)
            out[static_cast<size_t>(i)] = static_cast<float>(unpackLowBit(p, i, bits, m_dtype == DType::Int4 ||
                                                                                        m_dtype == DType::Int2));
        if (m_dtype == DType::Bit1)  // 1-bit codes are signs: 0 -> -1, 1 -> +1
            for (auto& v : out) v = v > 0 ? 1.f : -1.f;
        if (m_quant && m_quant->groupSize > 0) {
            const auto& q = *m_quant;
            for (int64_t i = 0; i < n; ++i) {
                const auto g = static_cast<size_t>(i / q.groupSize);
                if (g >= q.scales.size()) return makeError(ErrorCode::Invalid, "quant scales are too few for the tensor");
                const float z = q.zeros.empty() ? 0.f : q.zeros[g];
                out[static_cast<size_t>(i)] = (out[static_cast<size_t>(i)] - z) * q.scales[g];
            }
        }
        break;
    }
    default:
        if (dtypeInfo(m_dtype).isBlockQuant) {
            BY_TRY(dequantizeBlocks(m_dtype, p, n, out.data()));
            break;
        }
        return makeError(ErrorCode::Unsupported, std::string("cannot read ") + dtypeName(m_dtype) + " values as numbers");
    }
    return out;
}

Result<TensorStats> computeStats(const Tensor& t, int bins) {
    auto vals = t.toFloats();
    if (!vals) return vals.error();
    TensorStats s;
    s.count = static_cast<int64_t>(vals->size());
    s.histogram.assign(static_cast<size_t>(std::max(bins, 1)), 0);
    double mn = std::numeric_limits<double>::infinity(), mx = -mn, sum = 0, sum2 = 0;
    int64_t zeros = 0, finite = 0;
    for (float v : *vals) {
        if (std::isnan(v)) { ++s.nanCount; continue; }
        if (std::isinf(v)) { ++s.infCount; continue; }
        ++finite;
        mn = std::min(mn, double(v));
        mx = std::max(mx, double(v));
        sum += v;
        sum2 += double(v) * v;
        if (v == 0.f) ++zeros;
    }
    if (finite == 0) return s;
    s.min = mn;
    s.max = mx;
    s.mean = sum / finite;
    s.stddev = std::sqrt(std::max(0.0, sum2 / finite - s.mean * s.mean));
    s.sparsity = double(zeros) / double(s.count);
    const double w = (mx - mn) / s.histogram.size();
    for (float v : *vals) {
        if (!std::isfinite(v)) continue;
        size_t b = w > 0 ? static_cast<size_t>((v - mn) / w) : 0;
        if (b >= s.histogram.size()) b = s.histogram.size() - 1;
        ++s.histogram[b];
    }
    return s;
}

}  // namespace by
