#include "importers/tflite_schema.h"

#include <array>
#include <limits>

namespace by::tflite {

// ---- Reader ----

namespace {
std::string atByte(uint64_t pos) {
    return " at byte " + std::to_string(pos);
}
} // namespace

FbTable FbTable::at(FbBuffer& buf, uint64_t pos, const char* type) {
    int32_t soffset = 0;
    if (!buf.read(pos, soffset)) {
        buf.fail(std::string(type) + " table" + atByte(pos) + " lies past the end of the file (" +
                 std::to_string(buf.size()) + " bytes)");
        return {};
    }
    const int64_t vtable = static_cast<int64_t>(pos) - soffset;
    uint16_t vtSize = 0, objSize = 0;
    if (vtable < 0 || !buf.read(static_cast<uint64_t>(vtable), vtSize) ||
        !buf.read(static_cast<uint64_t>(vtable) + 2, objSize)) {
        buf.fail(std::string(type) + " table" + atByte(pos) + " points to a vtable outside the file");
        return {};
    }
    if (vtSize < 4 || (vtSize & 1) || !buf.inside(static_cast<uint64_t>(vtable), vtSize)) {
        buf.fail(std::string(type) + " table" + atByte(pos) + " has a broken vtable (size " +
                 std::to_string(vtSize) + ")");
        return {};
    }
    if (objSize < 4 || !buf.inside(pos, objSize)) {
        buf.fail(std::string(type) + " table" + atByte(pos) + " claims " + std::to_string(objSize) +
                 " bytes, past the end of the file");
        return {};
    }
    FbTable t;
    t.m_buf = &buf;
    t.m_type = type;
    t.m_pos = pos;
    t.m_vtable = static_cast<uint64_t>(vtable);
    t.m_vtableSize = vtSize;
    t.m_objectSize = objSize;
    return t;
}

FbTable FbTable::root(FbBuffer& buf, const char* type) {
    uint32_t root = 0;
    if (!buf.read(0, root)) {
        buf.fail("the file is too short to hold a root offset");
        return {};
    }
    return at(buf, root, type);
}

std::string FbTable::where(Field f) const {
    return std::string(f.name) + " (" + m_type + " table" + atByte(m_pos) + ")";
}

bool FbTable::has(Field f) const {
    if (!m_buf) return false;
    const uint32_t slotPos = 4u + 2u * f.slot;
    if (slotPos + 2 > m_vtableSize) return false;
    uint16_t off = 0;
    m_buf->read(m_vtable + slotPos, off);
    return off != 0;
}

uint64_t FbTable::fieldPos(Field f, size_t width) const {
    if (!m_buf) return 0;
    const uint32_t slotPos = 4u + 2u * f.slot;
    if (slotPos + 2 > m_vtableSize) return 0;
    uint16_t off = 0;
    if (!m_buf->read(m_vtable + slotPos, off) || off == 0) return 0;
    if (off + width > m_objectSize) {
        m_buf->fail(where(f) + ": field offset " + std::to_string(off) + " lies outside its table");
        return 0;
    }
    return m_pos + off;
}

uint64_t FbTable::target(Field f) const {
    const uint64_t p = fieldPos(f, 4);
    if (!p) return 0;
    uint32_t rel = 0;
    m_buf->read(p, rel);
    const uint64_t t = p + rel;
    if (rel == 0 || !m_buf->inside(t, 4)) {
        m_buf->fail(where(f) + ": offset " + std::to_string(rel) + " points past the end of the file (" +
                    std::to_string(m_buf->size()) + " bytes)");
        return 0;
    }
    return t;
}

std::string_view FbTable::string(Field f) const {
    const uint64_t t = target(f);
    if (!t) return {};
    const FbVector v = readVectorAt(*m_buf, t, 1, f.name);
    const auto b = v.bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

FbVector FbTable::vector(Field f, size_t elemSize) const {
    const uint64_t t = target(f);
    if (!t) return {};
    return readVectorAt(*m_buf, t, elemSize, f.name);
}

FbTable FbTable::table(Field f, const char* type) const {
    const uint64_t t = target(f);
    if (!t) return {};
    return at(*m_buf, t, type);
}

FbVector readVectorAt(FbBuffer& buf, uint64_t pos, size_t elemSize, const char* what) {
    uint32_t n = 0;
    if (!buf.read(pos, n)) {
        buf.fail(std::string(what) + ": vector" + atByte(pos) + " lies past the end of the file");
        return {};
    }
    const uint64_t bytes = uint64_t(n) * elemSize;
    if (!buf.inside(pos + 4, bytes)) {
        buf.fail(std::string(what) + ": vector" + atByte(pos) + " of " + std::to_string(n) +
                 " elements runs past the end of the file (" + std::to_string(buf.size()) + " bytes)");
        return {};
    }
    FbVector v;
    v.m_buf = &buf;
    v.m_data = pos + 4;
    v.m_size = n;
    v.m_elemSize = elemSize;
    v.m_what = what;
    return v;
}

std::span<const uint8_t> FbVector::bytes() const {
    if (!m_buf || m_size == 0) return {};
    return {m_buf->data() + m_data, m_size * m_elemSize};
}

FbTable FbVector::table(size_t i, const char* type) const {
    if (!m_buf || i >= m_size) return {};
    const uint64_t p = m_data + i * m_elemSize;
    uint32_t rel = 0;
    m_buf->read(p, rel);
    if (rel == 0) {
        m_buf->fail(std::string(m_what) + "[" + std::to_string(i) + "]: null table offset" + atByte(p));
        return {};
    }
    return FbTable::at(*m_buf, p + rel, type);
}

std::string_view FbVector::string(size_t i) const {
    if (!m_buf || i >= m_size) return {};
    const uint64_t p = m_data + i * m_elemSize;
    uint32_t rel = 0;
    m_buf->read(p, rel);
    const FbVector s = readVectorAt(*m_buf, p + rel, 1, m_what);
    const auto b = s.bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::vector<int64_t> FbVector::ints(bool isSigned) const {
    std::vector<int64_t> out;
    out.reserve(m_size);
    for (size_t i = 0; i < m_size; ++i) {
        switch (m_elemSize) {
        case 1:
            out.push_back(isSigned ? int64_t(at<int8_t>(i)) : int64_t(at<uint8_t>(i)));
            break;
        case 2:
            out.push_back(isSigned ? int64_t(at<int16_t>(i)) : int64_t(at<uint16_t>(i)));
            break;
        case 4:
            out.push_back(isSigned ? int64_t(at<int32_t>(i)) : int64_t(at<uint32_t>(i)));
            break;
        default:
            out.push_back(at<int64_t>(i));
            break;
        }
    }
    return out;
}

std::vector<double> FbVector::floats() const {
    std::vector<double> out;
    out.reserve(m_size);
    for (size_t i = 0; i < m_size; ++i)
        out.push_back(m_elemSize == 8 ? at<double>(i) : double(at<float>(i)));
    return out;
}

// ---- Enums ----

DType dtypeFromTensorType(int type) {
    switch (type) {
    case 0:
        return DType::F32;
    case 1:
        return DType::F16;
    case 2:
        return DType::I32;
    case 3:
        return DType::U8;
    case 4:
        return DType::I64;
    case 5:
        return DType::String;
    case 6:
        return DType::Bool;
    case 7:
        return DType::I16;
    case 8:
        return DType::Complex64;
    case 9:
        return DType::I8;
    case 10:
        return DType::F64;
    case 11:
        return DType::Complex128;
    case 12:
        return DType::U64;
    case 15:
        return DType::U32;
    case 16:
        return DType::U16;
    case 17:
        return DType::Int4;
    case 18:
        return DType::BF16;
    default:
        return DType::Undefined; // RESOURCE, VARIANT, unknown
    }
}

std::string tensorTypeName(int type) {
    static constexpr std::array<const char*, 19> kNames = {
        "FLOAT32", "FLOAT16",   "INT32",  "UINT8",   "INT64",      "STRING", "BOOL",
        "INT16",   "COMPLEX64", "INT8",   "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE",
        "VARIANT", "UINT32",    "UINT16", "INT4",    "BFLOAT16"};
    if (type >= 0 && static_cast<size_t>(type) < kNames.size()) return kNames[static_cast<size_t>(type)];
    return "TYPE_" + std::to_string(type);
}

std::string builtinOperatorName(int code) {
    // BuiltinOperator: the name of code n is kNames[n].
    // clang-format off
    static constexpr std::array<const char*, 210> kNames = {
        /*   0 */ "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
        /*   6 */ "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
        /*  11 */ "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC",
        /*  15 */ "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
        /*  23 */ "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS",
        /*  30 */ "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
        /*  35 */ "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND",
        /*  39 */ "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
        /*  45 */ "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
        /*  51 */ "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM",
        /*  58 */ "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN",
        /*  67 */ "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
        /*  74 */ "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
        /*  82 */ "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK",
        /*  89 */ "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
        /*  96 */ "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
        /* 102 */ "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
        /* 111 */ "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
        /* 117 */ "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
        /* 122 */ "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
        /* 127 */ "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
        /* 132 */ "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
        /* 139 */ "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
        /* 144 */ "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE",
        /* 148 */ "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1",
        /* 153 */ "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
        /* 157 */ "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
        /* 162 */ "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY",
        /* 166 */ "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
        /* 170 */ "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE",
        /* 173 */ "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND",
        /* 177 */ "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
        /* 181 */ "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER",
        /* 185 */ "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT",
        /* 189 */ "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE", "STABLEHLO_CONVERT",
        /* 193 */ "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD",
        /* 196 */ "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
        /* 200 */ "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
        /* 204 */ "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE",
        /* 207 */ "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
    };
    // clang-format on
    if (code >= 0 && static_cast<size_t>(code) < kNames.size()) return kNames[static_cast<size_t>(code)];
    return "BUILTIN_" + std::to_string(code);
}

std::string paddingName(int v) {
    if (v == 0) return "SAME";
    if (v == 1) return "VALID";
    return "PADDING_" + std::to_string(v);
}

std::string activationName(int v) {
    static constexpr std::array<const char*, 6> kNames = {"NONE",  "RELU", "RELU_N1_TO_1",
                                                          "RELU6", "TANH", "SIGN_BIT"};
    if (v >= 0 && static_cast<size_t>(v) < kNames.size()) return kNames[static_cast<size_t>(v)];
    return "ACTIVATION_" + std::to_string(v);
}

// ---- Builtin options ----

namespace {
constexpr const char* kMirrorPadModes[] = {"REFLECT", "SYMMETRIC"};
constexpr const char* kWeightsFormats[] = {"DEFAULT", "SHUFFLED4x16INT8"};
constexpr const char* kLstmKernelTypes[] = {"FULL", "BASIC"};
constexpr const char* kLshTypes[] = {"UNKNOWN", "SPARSE", "DENSE"};
constexpr const char* kCombiners[] = {"SUM", "MEAN", "SQRTN"};

OptionField i32(const char* n, double def = 0) {
    return {n, OptionKind::Int32, def};
}
OptionField i64(const char* n) {
    return {n, OptionKind::Int64};
}
OptionField boolean(const char* n, bool def = false) {
    return {n, OptionKind::Bool, def ? 1.0 : 0.0};
}
OptionField f32(const char* n, double def = 0) {
    return {n, OptionKind::Float, def};
}
OptionField ints(const char* n) {
    return {n, OptionKind::Ints};
}
OptionField floats(const char* n) {
    return {n, OptionKind::Floats};
}
OptionField str(const char* n) {
    return {n, OptionKind::String};
}
OptionField padding() {
    return {"padding", OptionKind::Padding};
}
OptionField act() {
    return {"fused_activation_function", OptionKind::Activation};
}
OptionField ttype(const char* n, double def = 0) {
    return {n, OptionKind::TensorType, def};
}
template <size_t N> OptionField enumeration(const char* n, const char* const (&names)[N]) {
    return {n, OptionKind::Enum, 0, names, static_cast<int>(N)};
}
OptionField subgraphIndex(const char* n, const char* graphAttr) {
    OptionField f{n, OptionKind::Subgraph};
    f.graphAttr = graphAttr;
    return f;
}
OptionField rare(OptionField f) {
    f.onlyIfSet = true;
    return f;
}

std::vector<OptionsSpec> makeSpecs() {
    const auto asym = rare(boolean("asymmetric_quantize_inputs"));
    const auto biasType = rare(ttype("quantized_bias_type"));
    return {
        {1,
         "Conv2DOptions",
         {padding(), i32("stride_w"), i32("stride_h"), act(), i32("dilation_w_factor", 1),
          i32("dilation_h_factor", 1), biasType}},
        {2,
         "DepthwiseConv2DOptions",
         {padding(), i32("stride_w"), i32("stride_h"), i32("depth_multiplier"), act(),
          i32("dilation_w_factor", 1), i32("dilation_h_factor", 1)}},
        {3,
         "ConcatEmbeddingsOptions",
         {i32("num_channels"), ints("num_columns_per_channel"), ints("embedding_dim_per_channel")}},
        {4, "LSHProjectionOptions", {enumeration("type", kLshTypes)}},
        {5,
         "Pool2DOptions",
         {padding(), i32("stride_w"), i32("stride_h"), i32("filter_width"), i32("filter_height"), act()}},
        {6, "SVDFOptions", {i32("rank"), act(), asym}},
        {7, "RNNOptions", {act(), asym}},
        {8,
         "FullyConnectedOptions",
         {act(), enumeration("weights_format", kWeightsFormats), boolean("keep_num_dims"), asym, biasType}},
        {9, "SoftmaxOptions", {f32("beta")}},
        {10, "ConcatenationOptions", {i32("axis"), act()}},
        {11, "AddOptions", {act(), rare(boolean("pot_scale_int16", true))}},
        {12, "L2NormOptions", {act()}},
        {13, "LocalResponseNormalizationOptions", {i32("radius"), f32("bias"), f32("alpha"), f32("beta")}},
        {14,
         "LSTMOptions",
         {act(), f32("cell_clip"), f32("proj_clip"), enumeration("kernel_type", kLstmKernelTypes), asym}},
        {15,
         "ResizeBilinearOptions",
         {rare(i32("new_height")), rare(i32("new_width")), boolean("align_corners"),
          boolean("half_pixel_centers")}},
        {16, "CallOptions", {subgraphIndex("subgraph", "callee_subgraph")}},
        {17, "ReshapeOptions", {ints("new_shape")}},
        {18, "SkipGramOptions", {i32("ngram_size"), i32("max_skip_size"), boolean("include_all_ngrams")}},
        {19, "SpaceToDepthOptions", {i32("block_size")}},
        {20, "EmbeddingLookupSparseOptions", {enumeration("combiner", kCombiners)}},
        {21, "MulOptions", {act()}},
        {22, "PadOptions", {}},
        {23, "GatherOptions", {i32("axis"), i32("batch_dims")}},
        {24, "BatchToSpaceNDOptions", {}},
        {25, "SpaceToBatchNDOptions", {}},
        {26, "TransposeOptions", {}},
        {27, "ReducerOptions", {boolean("keep_dims")}},
        {28, "SubOptions", {act(), rare(boolean("pot_scale_int16", true))}},
        {29, "DivOptions", {act()}},
        {30, "SqueezeOptions", {ints("squeeze_dims")}},
        {31, "SequenceRNNOptions", {boolean("time_major"), act(), asym}},
        {32,
         "StridedSliceOptions",
         {i32("begin_mask"), i32("end_mask"), i32("ellipsis_mask"), i32("new_axis_mask"),
          i32("shrink_axis_mask"), rare(boolean("offset"))}},
        {33, "ExpOptions", {}},
        {34, "TopKV2Options", {}},
        {35, "SplitOptions", {i32("num_splits")}},
        {36, "LogSoftmaxOptions", {}},
        {37, "CastOptions", {ttype("in_data_type"), ttype("out_data_type")}},
        {38, "DequantizeOptions", {}},
        {39, "MaximumMinimumOptions", {}},
        {40, "ArgMaxOptions", {ttype("output_type")}},
        {41, "LessOptions", {}},
        {42, "NegOptions", {}},
        {43, "PadV2Options", {}},
        {44, "GreaterOptions", {}},
        {45, "GreaterEqualOptions", {}},
        {46, "LessEqualOptions", {}},
        {47, "SelectOptions", {}},
        {48, "SliceOptions", {}},
        {49, "TransposeConvOptions", {padding(), i32("stride_w"), i32("stride_h"), act(), biasType}},
        {50, "SparseToDenseOptions", {boolean("validate_indices")}},
        {51, "TileOptions", {}},
        {52, "ExpandDimsOptions", {}},
        {53, "EqualOptions", {}},
        {54, "NotEqualOptions", {}},
        {55, "ShapeOptions", {ttype("out_type")}},
        {56, "PowOptions", {}},
        {57, "ArgMinOptions", {ttype("output_type")}},
        {58, "FakeQuantOptions", {f32("min"), f32("max"), i32("num_bits"), boolean("narrow_range")}},
        {59, "PackOptions", {i32("values_count"), i32("axis")}},
        {60, "LogicalOrOptions", {}},
        {61, "OneHotOptions", {i32("axis")}},
        {62, "LogicalAndOptions", {}},
        {63, "LogicalNotOptions", {}},
        {64, "UnpackOptions", {i32("num"), i32("axis")}},
        {65, "FloorDivOptions", {}},
        {66, "SquareOptions", {}},
        {67, "ZerosLikeOptions", {}},
        {68, "FillOptions", {}},
        {69,
         "BidirectionalSequenceLSTMOptions",
         {act(), f32("cell_clip"), f32("proj_clip"), boolean("merge_outputs"), boolean("time_major", true),
          asym}},
        {70,
         "BidirectionalSequenceRNNOptions",
         {boolean("time_major"), act(), boolean("merge_outputs"), asym}},
        {71,
         "UnidirectionalSequenceLSTMOptions",
         {act(), f32("cell_clip"), f32("proj_clip"), boolean("time_major"), asym,
          rare(boolean("diagonal_recurrent_tensors"))}},
        {72, "FloorModOptions", {}},
        {73, "RangeOptions", {}},
        {74, "ResizeNearestNeighborOptions", {boolean("align_corners"), boolean("half_pixel_centers")}},
        {75, "LeakyReluOptions", {f32("alpha")}},
        {76, "SquaredDifferenceOptions", {}},
        {77, "MirrorPadOptions", {enumeration("mode", kMirrorPadModes)}},
        {78, "AbsOptions", {}},
        {79, "SplitVOptions", {i32("num_splits")}},
        {80, "UniqueOptions", {ttype("idx_out_type", 2)}},
        {81, "ReverseV2Options", {}},
        {82, "AddNOptions", {}},
        {83, "GatherNdOptions", {}},
        {84, "CosOptions", {}},
        {85, "WhereOptions", {}},
        {86, "RankOptions", {}},
        {87, "ReverseSequenceOptions", {i32("seq_dim"), i32("batch_dim")}},
        {88, "MatrixDiagOptions", {}},
        {89, "QuantizeOptions", {}},
        {90, "MatrixSetDiagOptions", {}},
        {91, "HardSwishOptions", {}},
        {92,
         "IfOptions",
         {subgraphIndex("then_subgraph_index", "then_subgraph"),
          subgraphIndex("else_subgraph_index", "else_subgraph")}},
        {93,
         "WhileOptions",
         {subgraphIndex("cond_subgraph_index", "cond_subgraph"),
          subgraphIndex("body_subgraph_index", "body_subgraph")}},
        {94, "DepthToSpaceOptions", {i32("block_size")}},
        {95, "NonMaxSuppressionV4Options", {}},
        {96, "NonMaxSuppressionV5Options", {}},
        {97, "ScatterNdOptions", {}},
        {98, "SelectV2Options", {}},
        {99, "DensifyOptions", {}},
        {100, "SegmentSumOptions", {}},
        {101, "BatchMatMulOptions", {boolean("adj_x"), boolean("adj_y"), asym}},
        {102, "CumsumOptions", {boolean("exclusive"), boolean("reverse")}},
        {103, "CallOnceOptions", {subgraphIndex("init_subgraph_index", "init_subgraph")}},
        {104, "BroadcastToOptions", {}},
        {105, "Rfft2dOptions", {}},
        {106,
         "Conv3DOptions",
         {padding(), i32("stride_d"), i32("stride_w"), i32("stride_h"), act(), i32("dilation_d_factor", 1),
          i32("dilation_w_factor", 1), i32("dilation_h_factor", 1)}},
        {107, "HashtableOptions", {i32("table_id"), ttype("key_dtype"), ttype("value_dtype")}},
        {108, "HashtableFindOptions", {}},
        {109, "HashtableImportOptions", {}},
        {110, "HashtableSizeOptions", {}},
        {111, "VarHandleOptions", {str("container"), str("shared_name")}},
        {112, "ReadVariableOptions", {}},
        {113, "AssignVariableOptions", {}},
        {114, "RandomOptions", {i64("seed"), i64("seed2")}},
        {115, "BucketizeOptions", {floats("boundaries")}},
        {116, "GeluOptions", {boolean("approximate")}},
        {117, "DynamicUpdateSliceOptions", {}},
        {118, "UnsortedSegmentProdOptions", {}},
        {119, "UnsortedSegmentMaxOptions", {}},
        {120, "UnsortedSegmentMinOptions", {}},
        {121, "UnsortedSegmentSumOptions", {}},
        {122, "ATan2Options", {}},
        {123, "SignOptions", {}},
        {124, "BitcastOptions", {}},
        {125, "BitwiseXorOptions", {}},
        {126, "RightShiftOptions", {}},
    };
}
} // namespace

const OptionsSpec* builtinOptionsSpec(int type) {
    static const std::vector<OptionsSpec> kSpecs = makeSpecs();
    static const std::vector<const OptionsSpec*> kByType = [] {
        std::vector<const OptionsSpec*> v;
        for (const auto& s : kSpecs) {
            if (static_cast<size_t>(s.type) >= v.size()) v.resize(static_cast<size_t>(s.type) + 1, nullptr);
            v[static_cast<size_t>(s.type)] = &s;
        }
        return v;
    }();
    if (type <= 0 || static_cast<size_t>(type) >= kByType.size()) return nullptr;
    return kByType[static_cast<size_t>(type)];
}

} // namespace by::tflite
