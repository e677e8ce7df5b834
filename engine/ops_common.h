#pragma once
// Helpers shared by the kernel files (ops_*.cpp). Internal to the executor: nothing outside
// engine/ops_*.cpp and executor.cpp includes this.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/error.h"
#include "engine/op_registry.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace by::ops {

inline Error invalid(std::string msg) { return makeError(ErrorCode::Invalid, std::move(msg)); }
inline Error unsupported(std::string msg) { return makeError(ErrorCode::Unsupported, std::move(msg)); }

// Bytes of one element for plain (non-packed, non-block, non-string) types; 0 otherwise.
size_t elementSize(DType t);
// A zero-filled tensor; fails only for absurd shapes.
Result<Tensor> allocate(DType t, const Shape& shape);
// Unspecified contents: only for outputs the kernel writes in full.
inline Result<Tensor> allocateUninit(DType t, const Shape& shape) { return Tensor::uninitialized(t, shape); }
std::vector<int64_t> contiguousStrides(const Shape& s);
// An integer tensor (any integer width) as int64 values.
Result<std::vector<int64_t>> readInts(const Tensor& t, const char* what);
// A numeric tensor read as doubles (scalars for Clip bounds, fill values...).
Result<std::vector<double>> readDoubles(const Tensor& t, const char* what);
// axis in [-rank, rank) -> [0, rank)
Result<int64_t> normalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");
// numpy-style broadcast of two shapes
Result<Shape> broadcastShapes(const Shape& a, const Shape& b);
std::string dtypeList(std::initializer_list<DType> types);

// Declared dtype of a node input (Undefined when not known before running).
DType declaredInputType(const Node& node, const Graph& graph, size_t input);
// Plan-time check: a declared dtype of input `input` must be one of `types`.
Status requireDeclared(const Node& node, const Graph& graph, size_t input, std::initializer_list<DType> types);
// Run-time check of an input's dtype.
Status requireType(const Tensor& t, std::initializer_list<DType> types, const char* what);

// Row-major BLAS sgemm: C = alpha * op(A) * op(B) + beta * C, split over the pool by
// sgemmRowMajor (engine/quant_matmul.h).
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool* pool = nullptr);
inline void sgemmRowMajor(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C, ThreadPool* pool = nullptr) {
    sgemm(false, false, M, N, K, 1.f, A, K, B, N, 0.f, C, N, pool);
}

// Runs fn(begin, end) over [0, n): on the pool when there is one and the range is worth it.
inline void parallelFor(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (!pool || n <= grain) {
        fn(0, n);
        return;
    }
    pool->parallelFor(n, grain, fn);
}

// Type dispatch: calls f(T{}) for the C++ type of t and returns true, or returns false.
template <class F>
bool visitFloat(DType t, F&& f) {
    switch (t) {
    case DType::F32: f(float{}); return true;
    case DType::F64: f(double{}); return true;
    default: return false;
    }
}

template <class F>
bool visitInteger(DType t, F&& f) {
    switch (t) {
    case DType::I8: f(int8_t{}); return true;
    case DType::U8: f(uint8_t{}); return true;
    case DType::I16: f(int16_t{}); return true;
    case DType::U16: f(uint16_t{}); return true;
    case DType::I32: f(int32_t{}); return true;
    case DType::U32: f(uint32_t{}); return true;
    case DType::I64: f(int64_t{}); return true;
    case DType::U64: f(uint64_t{}); return true;
    default: return false;
    }
}

template <class F>
bool visitNumeric(DType t, F&& f) {
    return visitFloat(t, f) || visitInteger(t, f);
}

// Numeric types plus Bool (read as uint8_t 0/1).
template <class F>
bool visitAll(DType t, F&& f) {
    if (t == DType::Bool) {
        f(bool{});
        return true;
    }
    return visitNumeric(t, f);
}

template <class T>
constexpr DType dtypeOf() {
    if constexpr (std::is_same_v<T, float>) return DType::F32;
    else if constexpr (std::is_same_v<T, double>) return DType::F64;
    else if constexpr (std::is_same_v<T, int8_t>) return DType::I8;
    else if constexpr (std::is_same_v<T, uint8_t>) return DType::U8;
    else if constexpr (std::is_same_v<T, int16_t>) return DType::I16;
    else if constexpr (std::is_same_v<T, uint16_t>) return DType::U16;
    else if constexpr (std::is_same_v<T, int32_t>) return DType::I32;
    else if constexpr (std::is_same_v<T, uint32_t>) return DType::U32;
    else if constexpr (std::is_same_v<T, int64_t>) return DType::I64;
    else if constexpr (std::is_same_v<T, uint64_t>) return DType::U64;
    else if constexpr (std::is_same_v<T, bool>) return DType::Bool;
    else return DType::Undefined;
}

inline const std::vector<DType>& numericTypes() {
    static const std::vector<DType> v = {DType::F32, DType::F64, DType::I8,  DType::U8,  DType::I16,
                                         DType::U16, DType::I32, DType::U32, DType::I64, DType::U64};
    return v;
}

// Walks an N-d index in row-major order: next() advances one element and returns the first
// dimension that changed (so callers can update offsets incrementally).
struct Odometer {
    Shape shape;
    std::vector<int64_t> index;
    explicit Odometer(Shape s) : shape(std::move(s)), index(shape.size(), 0) {}
    void seek(int64_t flat) {
        for (size_t d = shape.size(); d-- > 0;) {
            const int64_t n = shape[d];
            index[d] = n ? flat % n : 0;
            flat = n ? flat / n : 0;
        }
    }
    void next() {
        for (size_t d = shape.size(); d-- > 0;) {
            if (++index[d] < shape[d]) return;
            index[d] = 0;
        }
    }
};

// Attribute or input: before `inputSinceOpset` the value is an ints attribute, after it the
// optional input number `input`. Returns nullopt when neither is given.
Result<std::optional<std::vector<int64_t>>> intsFromAttrOrInput(const KernelContext& ctx, const char* attr, size_t input);

// Broadcast plan for an elementwise op with several inputs: output shape plus per-input element
// strides (0 on broadcast dimensions), with adjacent dimensions merged where possible.
struct BroadcastPlan {
    Shape outShape;
    Shape dims;                                // merged iteration dims
    std::vector<std::vector<int64_t>> strides;  // per input, per merged dim
    int64_t numel = 0;
};
Result<BroadcastPlan> planBroadcast(const std::vector<const Shape*>& shapes);

// Calls f(outBegin, count, offsets) for runs along the innermost merged dimension covering the
// flat output range [begin, end); offsets are the element offsets of each input at the run start
// and stepsInner their strides along it.
template <class F>
void forEachRun(const BroadcastPlan& p, int64_t begin, int64_t end, F&& f) {
    const size_t r = p.dims.size();
    const size_t k = p.strides.size();
    std::vector<int64_t> off(k, 0), inner(k, 0);
    if (r == 0) {
        if (begin < end) f(begin, int64_t(1), off.data(), inner.data());
        return;
    }
    for (size_t i = 0; i < k; ++i) inner[i] = p.strides[i][r - 1];
    const int64_t last = p.dims[r - 1];
    Odometer od(p.dims);
    od.seek(begin);
    int64_t pos = begin;
    while (pos < end) {
        for (size_t i = 0; i < k; ++i) {
            int64_t o = 0;
            for (size_t d = 0; d < r; ++d) o += od.index[d] * p.strides[i][d];
            off[i] = o;
        }
        const int64_t run = std::min(last - od.index[r - 1], end - pos);
        f(pos, run, off.data(), inner.data());
        pos += run;
        od.index[r - 1] += run - 1;
        od.next();
    }
}

}  // namespace by::ops
