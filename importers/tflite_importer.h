#pragma once
// TensorFlow Lite flatbuffers (.tflite, file identifier "TFL3") into the IR.
//
// What lands where:
// - Subgraph 0 is Model::graph. Every TFLite tensor becomes the value with the same index (names
//   made unique with a "#<index>" suffix where the file repeats one); tensors with a non-empty buffer
//   carry data as a zero-copy window of the mapped file. Sparse constants (SparsityParameters) are
//   expanded to dense owned tensors; their Value::docString says how they were stored.
// - Operators become nodes in file order: builtin ops keep TFLite's names ("CONV_2D") with domain
//   "tflite"; custom ops use their custom_code as op type with domain "tflite.custom" and keep their
//   raw custom_options bytes as a U8 tensor attribute "custom_options". Decoded builtin options become
//   attributes named like the schema fields (padding and activations as strings: "SAME",
//   "RELU6"); an options table the importer does not decode is kept as "options_type" (the union tag).
// - Subgraphs called by IF / WHILE / CALL_ONCE / CALL are attached to the calling node as Graph
//   attributes ("then_subgraph", "else_subgraph", "cond_subgraph", "body_subgraph", "init_subgraph",
//   "callee_subgraph") next to the integer index attributes. A subgraph no operator calls is listed in
//   Model::metadata "tflite.unreferenced_subgraphs" and in a warning.
// - Quantization lives in Value::docString as "quantization: scale=... zero_point=..." (lists in
//   brackets when per-axis, plus "quantized_dimension=" and "min=/max=" when present). INT4 constants
//   quantized per tensor or along dimension 0 also get QuantParams so Tensor::toFloats dequantizes.
// - Model::metadata: "tflite.schema_version", "tflite.description", "tflite.metadata.<name>" (text
//   buffers as text, binary ones as a byte count), "tflite.signature.<key>", "tflite.subgraphs".
#include "importers/importer.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace by {

class TfliteImporter final : public Importer {
public:
    std::string name() const override { return "tflite"; }
    std::vector<std::string> extensions() const override { return {".tflite"}; }
    // 95 when bytes 4..7 are "TFL3", 20 for a .tflite name alone, else 0.
    int probe(std::string_view head, const std::string& path) const override;
    Result<Model> load(const std::string& path, const LoadOptions& opts) const override;
};

} // namespace by
