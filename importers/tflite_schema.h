#pragma once
// TFLite's FlatBuffers schema, read by hand: a bounds-checked FlatBuffers reader, the field slots of
// the tables the importer reads, the enums it names, and the builtin operator / builtin options
// tables. No generated code and no schema file are needed.
//
// FlatBuffers facts this relies on: little endian; the root is a uoffset (u32) at byte 0; a table
// starts with an soffset (i32) to its vtable (vtable = table - soffset); a vtable is u16 vtable size,
// u16 object size, then one u16 field offset per slot (0 or past the end = absent, use the default);
// offset fields (tables, vectors, strings) hold a u32 relative to the field's own position; vectors
// and strings start with a u32 element count; a union is a u8 type field in one slot followed by an
// offset field in the next.
//
// Every read is checked against the buffer. The first failure is kept (sticky) and later reads return
// defaults, so callers read a whole record and check FbBuffer::failed() once at a point where they
// know the context (subgraph, operator, tensor) to name in the error.
#include "engine/dtype.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace by::tflite {

// One slot of a table: its position in the schema's declaration order and its name for errors.
struct Field {
    uint16_t slot;
    const char* name;
};

class FbBuffer {
public:
    explicit FbBuffer(std::span<const uint8_t> bytes) : m_bytes(bytes) {}
    size_t size() const { return m_bytes.size(); }
    const uint8_t* data() const { return m_bytes.data(); }

    bool failed() const { return !m_error.empty(); }
    const std::string& error() const { return m_error; }
    void fail(std::string message) {
        if (m_error.empty()) m_error = std::move(message);
    }

    // True when [pos, pos + n) lies inside the buffer (no overflow).
    bool inside(uint64_t pos, uint64_t n) const { return pos <= m_bytes.size() && n <= m_bytes.size() - pos; }
    // Reads a little-endian scalar; returns false (without failing) when out of range.
    template <class T> bool read(uint64_t pos, T& out) const {
        if (!inside(pos, sizeof(T))) return false;
        std::memcpy(&out, m_bytes.data() + pos, sizeof(T));
        return true;
    }

private:
    std::span<const uint8_t> m_bytes;
    std::string m_error;
};

class FbVector;

class FbTable {
public:
    FbTable() = default; // the absent table: every field reads as its default
    // The table at `pos`; fails the buffer (and returns an absent table) when its header or vtable
    // lies outside the buffer. `type` names the table in errors ("Operator").
    static FbTable at(FbBuffer& buf, uint64_t pos, const char* type);
    // The root table (uoffset at byte 0).
    static FbTable root(FbBuffer& buf, const char* type);

    bool present() const { return m_buf != nullptr; }
    uint64_t position() const { return m_pos; }
    const char* type() const { return m_type; }

    bool has(Field f) const;
    int64_t i8(Field f, int8_t def = 0) const { return scalar<int8_t>(f, def); }
    int64_t u8(Field f, uint8_t def = 0) const { return scalar<uint8_t>(f, def); }
    int64_t i16(Field f, int16_t def = 0) const { return scalar<int16_t>(f, def); }
    int64_t i32(Field f, int32_t def = 0) const { return scalar<int32_t>(f, def); }
    int64_t u32(Field f, uint32_t def = 0) const { return scalar<uint32_t>(f, def); }
    int64_t i64(Field f, int64_t def = 0) const { return scalar<int64_t>(f, def); }
    uint64_t u64(Field f, uint64_t def = 0) const { return scalar<uint64_t>(f, def); }
    bool boolean(Field f, bool def = false) const { return scalar<uint8_t>(f, def ? 1 : 0) != 0; }
    float f32(Field f, float def = 0) const { return scalar<float>(f, def); }

    std::string_view string(Field f) const;
    // A vector of `elemSize`-byte elements (4 for tables and strings); empty when absent.
    FbVector vector(Field f, size_t elemSize) const;
    FbTable table(Field f, const char* type) const;

private:
    template <class T> T scalar(Field f, T def) const {
        const uint64_t p = fieldPos(f, sizeof(T));
        T v = def;
        if (p && !m_buf->read(p, v)) return def;
        return v;
    }
    // Absolute position of a field of `width` bytes, 0 when absent; fails when it lies outside the
    // table's object.
    uint64_t fieldPos(Field f, size_t width) const;
    // Target of an offset field, 0 when absent or out of range (then the buffer has failed).
    uint64_t target(Field f) const;
    std::string where(Field f) const;

    FbBuffer* m_buf = nullptr;
    const char* m_type = "";
    uint64_t m_pos = 0;
    uint64_t m_vtable = 0;
    uint16_t m_vtableSize = 0;
    uint16_t m_objectSize = 0;
    friend class FbVector;
};

class FbVector {
public:
    FbVector() = default;
    size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    // Absolute position of element 0 in the buffer (the bytes of a [ubyte] vector start here).
    uint64_t dataPosition() const { return m_data; }
    std::span<const uint8_t> bytes() const;

    template <class T> T at(size_t i) const {
        T v{};
        if (m_buf && i < m_size && sizeof(T) <= m_elemSize) m_buf->read(m_data + i * m_elemSize, v);
        return v;
    }
    FbTable table(size_t i, const char* type) const;
    std::string_view string(size_t i) const;
    // All elements widened to int64 (for [int], [long], [uint]); `elemSize` must be 1, 2, 4 or 8.
    std::vector<int64_t> ints(bool isSigned = true) const;
    std::vector<double> floats() const; // [float]

private:
    friend FbVector readVectorAt(FbBuffer& buf, uint64_t pos, size_t elemSize, const char* what);
    FbBuffer* m_buf = nullptr;
    uint64_t m_data = 0;
    size_t m_size = 0;
    size_t m_elemSize = 0;
    const char* m_what = "";
};

// Reads the vector whose u32 length sits at absolute position `pos`; fails the buffer when it does
// not fit. `what` names it in errors.
FbVector readVectorAt(FbBuffer& buf, uint64_t pos, size_t elemSize, const char* what);

// ---- Field slots (declaration order in schema.fbs) ----

namespace model {
inline constexpr Field version{0, "Model.version"};
inline constexpr Field operatorCodes{1, "Model.operator_codes"};
inline constexpr Field subgraphs{2, "Model.subgraphs"};
inline constexpr Field description{3, "Model.description"};
inline constexpr Field buffers{4, "Model.buffers"};
inline constexpr Field metadataBuffer{5, "Model.metadata_buffer"};
inline constexpr Field metadata{6, "Model.metadata"};
inline constexpr Field signatureDefs{7, "Model.signature_defs"};
} // namespace model

namespace opcode {
inline constexpr Field deprecatedBuiltinCode{0, "OperatorCode.deprecated_builtin_code"};
inline constexpr Field customCode{1, "OperatorCode.custom_code"};
inline constexpr Field version{2, "OperatorCode.version"};
inline constexpr Field builtinCode{3, "OperatorCode.builtin_code"};
} // namespace opcode

namespace subgraph {
inline constexpr Field tensors{0, "SubGraph.tensors"};
inline constexpr Field inputs{1, "SubGraph.inputs"};
inline constexpr Field outputs{2, "SubGraph.outputs"};
inline constexpr Field operators{3, "SubGraph.operators"};
inline constexpr Field name{4, "SubGraph.name"};
} // namespace subgraph

namespace tensor {
inline constexpr Field shape{0, "Tensor.shape"};
inline constexpr Field type{1, "Tensor.type"};
inline constexpr Field buffer{2, "Tensor.buffer"};
inline constexpr Field name{3, "Tensor.name"};
inline constexpr Field quantization{4, "Tensor.quantization"};
inline constexpr Field isVariable{5, "Tensor.is_variable"};
inline constexpr Field sparsity{6, "Tensor.sparsity"};
inline constexpr Field shapeSignature{7, "Tensor.shape_signature"};
inline constexpr Field hasRank{8, "Tensor.has_rank"};
inline constexpr Field variantTensors{9, "Tensor.variant_tensors"};
} // namespace tensor

namespace quant {
inline constexpr Field min{0, "QuantizationParameters.min"};
inline constexpr Field max{1, "QuantizationParameters.max"};
inline constexpr Field scale{2, "QuantizationParameters.scale"};
inline constexpr Field zeroPoint{3, "QuantizationParameters.zero_point"};
inline constexpr Field detailsType{4, "QuantizationParameters.details_type"};
inline constexpr Field details{5, "QuantizationParameters.details"};
inline constexpr Field quantizedDimension{6, "QuantizationParameters.quantized_dimension"};
} // namespace quant

namespace sparsity {
inline constexpr Field traversalOrder{0, "SparsityParameters.traversal_order"};
inline constexpr Field blockMap{1, "SparsityParameters.block_map"};
inline constexpr Field dimMetadata{2, "SparsityParameters.dim_metadata"};
} // namespace sparsity

namespace dimmeta {
inline constexpr Field format{0, "DimensionMetadata.format"};
inline constexpr Field denseSize{1, "DimensionMetadata.dense_size"};
inline constexpr Field arraySegmentsType{2, "DimensionMetadata.array_segments_type"};
inline constexpr Field arraySegments{3, "DimensionMetadata.array_segments"};
inline constexpr Field arrayIndicesType{4, "DimensionMetadata.array_indices_type"};
inline constexpr Field arrayIndices{5, "DimensionMetadata.array_indices"};
// Int32Vector / Uint16Vector / Uint8Vector all have one field.
inline constexpr Field values{0, "SparseIndexVector.values"};
} // namespace dimmeta

namespace op {
inline constexpr Field opcodeIndex{0, "Operator.opcode_index"};
inline constexpr Field inputs{1, "Operator.inputs"};
inline constexpr Field outputs{2, "Operator.outputs"};
inline constexpr Field builtinOptionsType{3, "Operator.builtin_options_type"};
inline constexpr Field builtinOptions{4, "Operator.builtin_options"};
inline constexpr Field customOptions{5, "Operator.custom_options"};
inline constexpr Field customOptionsFormat{6, "Operator.custom_options_format"};
inline constexpr Field mutatingVariableInputs{7, "Operator.mutating_variable_inputs"};
inline constexpr Field intermediates{8, "Operator.intermediates"};
inline constexpr Field largeCustomOptionsOffset{9, "Operator.large_custom_options_offset"};
inline constexpr Field largeCustomOptionsSize{10, "Operator.large_custom_options_size"};
inline constexpr Field builtinOptions2Type{11, "Operator.builtin_options_2_type"};
inline constexpr Field builtinOptions2{12, "Operator.builtin_options_2"};
} // namespace op

namespace buffer {
inline constexpr Field data{0, "Buffer.data"};
inline constexpr Field offset{1, "Buffer.offset"};
inline constexpr Field size{2, "Buffer.size"};
} // namespace buffer

namespace metadata {
inline constexpr Field name{0, "Metadata.name"};
inline constexpr Field buffer{1, "Metadata.buffer"};
} // namespace metadata

namespace signature {
inline constexpr Field inputs{0, "SignatureDef.inputs"};
inline constexpr Field outputs{1, "SignatureDef.outputs"};
inline constexpr Field key{2, "SignatureDef.signature_key"};
inline constexpr Field subgraphIndex{4, "SignatureDef.subgraph_index"};
inline constexpr Field tensorName{0, "TensorMap.name"};
inline constexpr Field tensorIndex{1, "TensorMap.tensor_index"};
} // namespace signature

// ---- Enums ----

inline constexpr int kBuiltinCustom = 32;
inline constexpr int kBuiltinDensify = 124;

// TensorType -> engine dtype; Undefined for types without one (RESOURCE, VARIANT, unknown).
DType dtypeFromTensorType(int type);
// "FLOAT32", ..., or "TYPE_<n>" when unknown.
std::string tensorTypeName(int type);
// "CONV_2D", ..., or "BUILTIN_<n>" when the code is not in the table.
std::string builtinOperatorName(int code);
std::string paddingName(int v);    // SAME, VALID
std::string activationName(int v); // NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT

// ---- Builtin options (the BuiltinOptions union) ----

enum class OptionKind : uint8_t {
    Int8,
    Int32,
    UInt32,
    Int64,
    Bool,
    Float,
    Ints,   // [int]
    Floats, // [float]
    String,
    Padding,    // int8 enum -> string
    Activation, // int8 enum -> string
    TensorType, // int8 enum -> string
    Enum,       // int8 enum -> string from `names`
    Subgraph,   // int32/uint32 subgraph index; the importer also attaches that subgraph
};

struct OptionField {
    const char* name; // attribute name (the schema's field name)
    OptionKind kind;
    double def = 0;                     // schema default
    const char* const* names = nullptr; // Enum: value names
    int nameCount = 0;
    const char* graphAttr = nullptr; // Subgraph: name of the attribute holding the graph
    bool onlyIfSet = false;          // emitted only when the file sets it (rarely used, noisy defaults)
};

struct OptionsSpec {
    int type = 0;                    // BuiltinOptions union tag
    const char* name = "";           // "Conv2DOptions"
    std::vector<OptionField> fields; // in slot order
};

// The spec for a union tag, or nullptr when the importer does not decode that table.
const OptionsSpec* builtinOptionsSpec(int type);

} // namespace by::tflite
