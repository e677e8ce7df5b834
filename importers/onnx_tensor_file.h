#pragma once
// A standalone serialized ONNX TensorProto (the input_N.pb / output_N.pb files of the ONNX test
// suites, or what onnx.numpy_helper writes) read into a Tensor. Raw and typed data fields are both
// accepted; external data is not (such a file has no model directory to resolve it against).
#include <string>

#include "engine/error.h"
#include "engine/tensor.h"

namespace by {

Result<Tensor> readOnnxTensorFile(const std::string& path);
// Same, from bytes already in memory; `what` names them in errors.
Result<Tensor> parseOnnxTensor(const void* data, size_t size, const std::string& what = "tensor");
// The TensorProto's name field (empty when unset or unreadable).
std::string onnxTensorFileName(const std::string& path);

}  // namespace by
