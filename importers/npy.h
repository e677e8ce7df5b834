#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0) to and from Tensors: the container for
// model inputs and outputs on the command line. Little- and big-endian data and Fortran order are
// read (and converted to the engine's little-endian C order); writing always gives version 1.0,
// little-endian, C order. Types: float16/32/64, int8..int64, uint8..uint64, bool.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"

namespace by {

Result<Tensor> readNpy(const std::string& path);
Result<Tensor> parseNpy(const uint8_t* data, size_t size, const std::string& what = "npy");
Status writeNpy(const std::string& path, const Tensor& t);
Result<std::vector<uint8_t>> encodeNpy(const Tensor& t);

// numpy's descr for a dtype ("<f4"), empty when .npy cannot hold it.
std::string npyDescr(DType t);

}  // namespace by
