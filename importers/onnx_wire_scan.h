#pragma once
// The bounds-checked walk over a serialized ONNX ModelProto that runs before the protobuf parse:
// it names the innermost field a truncated or corrupt file breaks in ("graph.node[12].attribute[0]
// .t.raw_data at byte 1234 of 5000: needs 4096 bytes but only 800 remain"), and records where each
// raw_data payload lies in the file, so the importer can leave weights in the mapped file.
#include "engine/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace by::onnx_wire {

struct RawWindow {
    size_t offset = 0; // from the start of the file
    size_t size = 0;
};
// Keyed by the field path of the TensorProto that holds the raw_data: "graph.initializer[3]",
// "graph.node[12].attribute[0].t", "graph.node[5].attribute[1].g.node[0].attribute[0].tensors[2]".
// Only tensors reachable through graph/node/attribute fields are indexed.
using RawIndex = std::unordered_map<std::string, RawWindow>;

// Checks every length in the file against the bytes really there (size must fit an int).
Status scanModel(const uint8_t* data, size_t size, RawIndex& out);

// Does `head` (the first bytes of a file) start like a serialized ModelProto? Known fields with
// the right wire types, a sane ir_version, and a graph whose first field is a GraphProto field.
bool looksLikeModelProto(std::string_view head);

// Messages nested deeper than this are refused (protobuf's own default recursion limit).
constexpr int kMaxNesting = 100;

} // namespace by::onnx_wire
