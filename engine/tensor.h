#pragma once
// A typed n-d array. Storage is shared and either owned (heap) or a window into a mapped file, so
// weights stay on disk until something reads them.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/error.h"

namespace by {

class MappedFile;
using Shape = std::vector<int64_t>;

int64_t shapeNumel(const Shape& s);  // 1 for a scalar; -1 on a negative dim or overflow
std::string shapeToString(const Shape& s);  // "[1,3,48,320]"

class Storage {
public:
    virtual ~Storage() = default;
    virtual const uint8_t* data() const = 0;
    virtual uint8_t* mutableData() = 0;  // nullptr for read-only (mapped) storage
    virtual size_t size() const = 0;
    virtual bool isMapped() const = 0;
};

// Per-group scales for packed low-bit weights: element i of the flattened tensor belongs to
// group i / groupSize; value = (q - zero) * scale.
struct QuantParams {
    int64_t groupSize = 0;
    std::vector<float> scales;
    std::vector<float> zeros;  // empty: symmetric
};

class Tensor {
public:
    Tensor() = default;

    // Zero-filled owned tensor; fails (Invalid) when the shape is negative or too large.
    static Result<Tensor> zeros(DType dtype, const Shape& shape);
    // Owned bytes with unspecified contents, for a writer that fills every element (String
    // tensors are still default-constructed).
    static Result<Tensor> uninitialized(DType dtype, const Shape& shape);
    static Result<Tensor> fromBytes(DType dtype, const Shape& shape, std::vector<uint8_t> bytes);
    // A window [offset, offset+nbytes) of a mapped file; checks the range against the file size.
    static Result<Tensor> fromMapped(std::shared_ptr<const MappedFile> file, size_t offset, DType dtype,
                                     const Shape& shape);
    static Tensor fromFloats(const Shape& shape, const std::vector<float>& v);
    static Tensor fromInt64s(const Shape& shape, const std::vector<int64_t>& v);
    static Tensor fromStrings(const Shape& shape, std::vector<std::string> v);

    bool valid() const { return m_dtype != DType::Undefined; }
    DType dtype() const { return m_dtype; }
    const Shape& shape() const { return m_shape; }
    int64_t rank() const { return static_cast<int64_t>(m_shape.size()); }
    int64_t numel() const { return shapeNumel(m_shape); }
    size_t nbytes() const { return m_nbytes; }
    bool isMapped() const { return m_storage && m_storage->isMapped(); }
    // No other tensor shares the bytes, so writing them in place is invisible elsewhere.
    bool exclusivelyOwned() const { return m_storage && m_storage.use_count() == 1 && !m_strings; }

    const uint8_t* rawData() const { return m_storage ? m_storage->data() + m_offset : nullptr; }
    uint8_t* mutableRawData();  // copies mapped storage on first write
    std::span<const uint8_t> bytes() const { return {rawData(), m_nbytes}; }
    template <class T>
    const T* data() const { return reinterpret_cast<const T*>(rawData()); }
    template <class T>
    T* mutableData() { return reinterpret_cast<T*>(mutableRawData()); }

    const std::vector<std::string>& strings() const;  // String tensors only

    const std::shared_ptr<QuantParams>& quant() const { return m_quant; }
    void setQuant(std::shared_ptr<QuantParams> q) { m_quant = std::move(q); }

    // Values as f32 for statistics and display. Handles float, integer, packed types with scales
    // and the ggml block types the engine can decode; Unsupported otherwise.
    Result<std::vector<float>> toFloats() const;
    // Same element values, different shape (numel must match).
    Result<Tensor> reshaped(const Shape& shape) const;

    // Same dtype, shape and bytes (and strings / quant params).
    bool sameContent(const Tensor& other) const;

private:
    DType m_dtype = DType::Undefined;
    Shape m_shape;
    size_t m_nbytes = 0;
    std::shared_ptr<Storage> m_storage;
    size_t m_offset = 0;
    std::shared_ptr<QuantParams> m_quant;
    std::shared_ptr<std::vector<std::string>> m_strings;
};

struct TensorStats {
    int64_t count = 0;
    double min = 0, max = 0, mean = 0, stddev = 0;
    double sparsity = 0;  // fraction of exact zeros
    int64_t nanCount = 0, infCount = 0;
    std::vector<int64_t> histogram;  // `bins` equal-width bins over [min, max]
};
Result<TensorStats> computeStats(const Tensor& t, int bins = 64);

}  // namespace by
