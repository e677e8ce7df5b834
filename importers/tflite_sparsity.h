#pragma once
// Expands TFLite's sparse constant tensors (SparsityParameters: a traversal order over the original
// and block dimensions, each level DENSE or SPARSE_CSR with segment/index arrays) into dense
// row-major bytes, so the IR only ever carries dense weights. Used by the TFLite importer.
#include "engine/error.h"
#include "engine/tensor.h"
#include "importers/tflite_schema.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace by::tflite {

struct DensifyResult {
    std::vector<uint8_t> bytes; // dense, row-major, numel * elemSize
    std::string summary;        // "sparse in file: 1234 of 5678 values stored, traversal_order=[..]"
};

// `sparsity` is the tensor's SparsityParameters table, `shape` its dense shape, `values` the stored
// (non-zero) elements of `elemSize` bytes each. Fails with a Format error naming the broken field, or
// Unsupported when the dense tensor would exceed `maxDenseBytes`.
Result<DensifyResult> densify(FbBuffer& fb, const FbTable& sparsity, const Shape& shape, size_t elemSize,
                              std::span<const uint8_t> values, int64_t maxDenseBytes);

} // namespace by::tflite
