#pragma once
// IDX files (the MNIST container): a 4-byte magic (0, 0, element type, rank), `rank` big-endian
// u32 dimensions, then the elements in big-endian row-major order. Plain or gzipped.
#include <memory>
#include <string>
#include <vector>

#include "engine/dataset.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace by {

// Element types: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64 (converted to the
// engine's little-endian order). Fails (Format) on a bad magic, a header or data section cut
// short, or dimensions that need more bytes than the file holds - each naming `what` and the
// byte offset.
Result<Tensor> parseIdx(const uint8_t* data, size_t size, const std::string& what);
Result<Tensor> readIdx(const std::string& path);

// An image classification set from an IDX image file ([N,H,W] u8) and a label file ([N] u8):
// samples are U8 [1,H,W]. Fails when the counts differ or a label is not below classNames.size().
Result<std::shared_ptr<TensorDataset>> readIdxImageDataset(const std::string& imagesPath,
                                                           const std::string& labelsPath, std::string name,
                                                           std::vector<std::string> classNames);

}  // namespace by
