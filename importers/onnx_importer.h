#pragma once
// ONNX (.onnx, a protobuf ModelProto) to and from the graph IR. makeOnnxImporter() and
// makeOnnxExporter() are declared in importer.h; this header states what the mapping promises and
// shares the few helpers both directions need.
//
// What an imported model looks like:
// - Every NodeProto becomes one Node, in file order, unknown ops included. Constant nodes stay
//   nodes with their attribute (value, value_float(s), value_int(s), value_string(s)) AND their
//   output Value carries the same tensor in `data`, sharing its storage. That is what lets
//   parameterCount()/weightBytes() count the weights of exporters that keep them in Constant
//   nodes (PaddlePaddle, spox). A pass that rewrites such a value should keep the attribute in
//   step; the exporter writes the Value's data into the node when the two differ.
// - Initializers are Values with `data` and no producer. They are never in Graph::inputs, even
//   when an IR < 4 file lists them there (the exporter lists them again for IR < 4).
// - raw_data stays a window of the memory-mapped file (no copy) when it sits at the alignment of
//   its element type, so Tensor::data<T>() is always a valid T*; misaligned payloads (protobuf
//   puts them at any byte) are copied once. Typed fields (float_data, int32_data, ...) are
//   converted into owned storage. External data is mapped the same way from the file named by
//   `location`, which must stay inside the model's directory.
// - Value order in each graph: runtime inputs, initializers, sparse initializers, values first
//   named by nodes (in node order), values only in value_info, then values only named as outputs.
//   Initializers keep the dtype and shape of their tensor even when value_info says otherwise.
// - Subgraphs (If/Loop/Scan bodies) become Attribute::g / graphs; names a subgraph takes from an
//   outer scope become plain values of the subgraph without producer.
// - Sparse tensors (sparse_initializer, SPARSE_TENSOR attributes, Constant sparse_value) are made
//   dense. TYPE_PROTO attributes, model-local functions and training info have no IR form: they
//   are dropped with a warning in Model::warnings.
// - Non-tensor value types (sequence, map, optional) and tensor types with neither element type
//   nor shape set nothing: the value keeps dtype Undefined and an unknown shape (a Constant's
//   output keeps the type of its tensor).
#include "engine/tensor.h"
#include "importers/importer.h"

#include <cstdint>

namespace by {

// ONNX TensorProto.DataType code <-> DType. Undefined / -1 when the other side has no equivalent.
DType dtypeFromOnnx(int32_t code);
int32_t dtypeToOnnx(DType t);

// The tensor a Constant node's attributes describe (value, value_float, value_ints, ...); an
// invalid Tensor when it has none of them.
Tensor constantNodeTensor(const Node& n);
bool isConstantNode(const Node& n);

} // namespace by
