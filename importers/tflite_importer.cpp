#include "importers/tflite_importer.h"

#include "engine/mapped_file.h"
#include "importers/tflite_schema.h"
#include "importers/tflite_sparsity.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace by {

using namespace tflite;

namespace {

constexpr size_t kMaxRank = 32;
constexpr int kMaxSubgraphDepth = 32;
// Subgraphs may be shared by several callers; the IR walks them once per caller, so the expanded
// node count is what bounds the work of every later pass.
constexpr int64_t kMaxExpandedNodes = 2'000'000;
constexpr int64_t kMaxDenseSparseBytes = int64_t(256) << 20;

std::string lowerExtension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            static const char* kHex = "0123456789abcdef";
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

template <class V> std::string joinNumbers(const V& v, bool brackets) {
    std::ostringstream os;
    os.precision(9);
    if (brackets) os << '[';
    for (size_t i = 0; i < v.size(); ++i)
        os << (i ? "," : "") << v[i];
    if (brackets) os << ']';
    return os.str();
}

void appendDoc(std::string& doc, const std::string& part) {
    if (part.empty()) return;
    if (!doc.empty()) doc += "; ";
    doc += part;
}

Attribute graphAttribute(std::shared_ptr<Graph> g) {
    Attribute a;
    a.kind = Attribute::Kind::Graph;
    a.g = std::move(g);
    return a;
}

class Loader {
public:
    Loader(const std::string& path, std::shared_ptr<const MappedFile> file, const LoadOptions& opts)
        : m_fileName(std::filesystem::path(path).filename().string()), m_file(std::move(file)),
          m_fb(m_file->bytes()), m_opts(opts) {}

    Result<Model> run();

private:
    Error error(ErrorCode code, std::string message, const std::string& where = {}) const {
        return makeError(code, std::move(message),
                         "loading " + m_fileName + (where.empty() ? "" : ": " + where));
    }
    Error readError(const std::string& where) const { return error(ErrorCode::Format, m_fb.error(), where); }
    Error fromEngine(Error e, const std::string& where) const {
        e.context = "loading " + m_fileName + ": " + where + (e.context.empty() ? "" : ": " + e.context);
        return e;
    }

    Status readOperatorCodes();
    Result<std::shared_ptr<Graph>> buildSubgraph(size_t index, int depth);
    Status readTensor(const FbTable& t, size_t ti, Graph& g, const std::string& sgWhere);
    Status readOperator(const FbTable& o, size_t oi, Graph& g, size_t tensorCount, const std::string& sgWhere,
                        int depth, int64_t& expanded);
    Status decodeOptions(const FbTable& o, Node& node, int depth, int64_t& expanded,
                         const std::string& where);
    Result<std::span<const uint8_t>> bufferBytes(int64_t index, const std::string& where, const char* field);
    Status readModelMetadata();
    std::string subgraphLabel(size_t index);
    Status tick();

    std::string m_fileName;
    std::shared_ptr<const MappedFile> m_file;
    FbBuffer m_fb;
    const LoadOptions& m_opts;
    Model m_model;
    FbTable m_root;
    FbVector m_buffers;
    FbVector m_subgraphs;

    struct OpCode {
        int builtin = 0;
        std::string custom;
    };
    std::vector<OpCode> m_opcodes;

    enum class Visit : uint8_t { None, Active, Done };
    std::vector<Visit> m_visit;
    std::vector<std::shared_ptr<Graph>> m_graphs;
    std::vector<int64_t> m_expanded; // nodes of each built subgraph, counting called subgraphs per call
    int64_t m_duplicateNames = 0;
    size_t m_work = 0;      // tensors and operators read so far, called subgraphs included
    size_t m_workTotal = 0; // tensors and operators of subgraph 0, for progress
};

Status Loader::tick() {
    ++m_work;
    if (!m_opts.progress || (m_work & 255) != 0) return {};
    if (m_opts.progress->cancelled()) return error(ErrorCode::Cancelled, "cancelled");
    const double done = m_workTotal ? static_cast<double>(m_work) / static_cast<double>(m_workTotal) : 0.0;
    m_opts.progress->report(std::min(done, 0.99), "reading tensors and operators");
    return {};
}

std::string Loader::subgraphLabel(size_t index) {
    std::string label = "subgraph " + std::to_string(index);
    const FbTable sg = m_subgraphs.table(index, "SubGraph");
    const std::string_view name = sg.string(subgraph::name);
    if (!name.empty()) label += " '" + printable(name) + "'";
    return label;
}

Status Loader::readOperatorCodes() {
    const FbVector codes = m_root.vector(model::operatorCodes, 4);
    if (m_fb.failed()) return readError("operator codes");
    m_opcodes.reserve(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) {
        const FbTable c = codes.table(i, "OperatorCode");
        OpCode oc;
        // Codes above 127 only fit builtin_code; older files only set the deprecated int8 field.
        oc.builtin = static_cast<int>(
            std::max<int64_t>(c.i8(opcode::deprecatedBuiltinCode), c.i32(opcode::builtinCode)));
        oc.custom = std::string(c.string(opcode::customCode));
        if (m_fb.failed()) return readError("operator code " + std::to_string(i));
        m_opcodes.push_back(std::move(oc));
    }
    return {};
}

Result<std::span<const uint8_t>> Loader::bufferBytes(int64_t index, const std::string& where,
                                                     const char* field) {
    if (index < 0 || static_cast<size_t>(index) >= m_buffers.size())
        return error(ErrorCode::Format,
                     "refers to buffer " + std::to_string(index) + ", but the model has " +
                         std::to_string(m_buffers.size()) + " buffers (field " + field + ")",
                     where);
    const FbTable b = m_buffers.table(static_cast<size_t>(index), "Buffer");
    const uint64_t offset = b.u64(buffer::offset);
    const uint64_t size = b.u64(buffer::size);
    const FbVector data = b.vector(buffer::data, 1);
    if (m_fb.failed()) return readError(where + ", buffer " + std::to_string(index));
    // offset > 1 means the bytes were appended after the flatbuffer (models over 2 GiB).
    if (offset > 1) {
        if (!m_fb.inside(offset, size))
            return error(ErrorCode::Format,
                         "buffer " + std::to_string(index) + " lies at [" + std::to_string(offset) + ", " +
                             std::to_string(offset + size) + "), past the end of the file (" +
                             std::to_string(m_fb.size()) + " bytes) (field Buffer.offset)",
                         where);
        return std::span<const uint8_t>(m_fb.data() + offset, static_cast<size_t>(size));
    }
    return data.bytes();
}

Status Loader::readTensor(const FbTable& t, size_t ti, Graph& g, const std::string& sgWhere) {
    const std::string rawName(t.string(tensor::name));
    const std::string where =
        sgWhere + ", tensor " + std::to_string(ti) + (rawName.empty() ? "" : " '" + printable(rawName) + "'");
    const bool shapePresent = t.has(tensor::shape);
    const FbVector shapeVec = t.vector(tensor::shape, 4);
    const int type = static_cast<int>(t.i8(tensor::type));
    const int64_t bufferIndex = t.u32(tensor::buffer);
    const FbTable q = t.table(tensor::quantization, "QuantizationParameters");
    const FbTable sp = t.table(tensor::sparsity, "SparsityParameters");
    const bool isVariable = t.boolean(tensor::isVariable);
    const FbVector sigVec = t.vector(tensor::shapeSignature, 4);
    if (m_fb.failed()) return readError(where);

    if (shapeVec.size() > kMaxRank)
        return error(ErrorCode::Format,
                     "rank " + std::to_string(shapeVec.size()) + " is absurd (field Tensor.shape)", where);
    Shape shape;
    DimShape dims;
    for (size_t d = 0; d < shapeVec.size(); ++d) {
        const int64_t v = shapeVec.at<int32_t>(d);
        if (v < -1)
            return error(ErrorCode::Format,
                         "dimension " + std::to_string(d) + " is " + std::to_string(v) +
                             " (field Tensor.shape)",
                         where);
        shape.push_back(v);
        dims.push_back(v >= 0 ? Dim::of(v) : Dim{});
    }

    Value v;
    v.name = rawName.empty() ? "tensor_" + std::to_string(ti) : rawName;
    if (g.findValue(v.name) >= 0) {
        ++m_duplicateNames;
        const std::string base = v.name + "#" + std::to_string(ti);
        v.name = base;
        for (int k = 2; g.findValue(v.name) >= 0; ++k)
            v.name = base + "_" + std::to_string(k);
    }
    v.dtype = dtypeFromTensorType(type);
    if (shapePresent) v.shape = std::move(dims);
    if (v.dtype == DType::Undefined) appendDoc(v.docString, "type " + tensorTypeName(type));
    if (isVariable) appendDoc(v.docString, "variable");
    if (!sigVec.empty()) {
        const std::vector<int64_t> sig = sigVec.ints();
        if (sig != shape) appendDoc(v.docString, "shape_signature=" + joinNumbers(sig, true));
    }

    std::vector<double> scales, mins, maxs;
    std::vector<int64_t> zeros;
    int64_t qdim = 0;
    if (q.present()) {
        scales = q.vector(quant::scale, 4).floats();
        zeros = q.vector(quant::zeroPoint, 8).ints();
        mins = q.vector(quant::min, 4).floats();
        maxs = q.vector(quant::max, 4).floats();
        qdim = q.i32(quant::quantizedDimension);
        const int64_t details = q.u8(quant::detailsType);
        if (m_fb.failed()) return readError(where);
        if (!scales.empty() || !zeros.empty() || !mins.empty() || !maxs.empty() || details) {
            const bool perAxis = scales.size() > 1 || zeros.size() > 1;
            std::string s = "quantization:";
            if (!scales.empty()) s += " scale=" + joinNumbers(scales, perAxis);
            if (!zeros.empty()) s += " zero_point=" + joinNumbers(zeros, perAxis);
            if (perAxis) s += " quantized_dimension=" + std::to_string(qdim);
            if (!mins.empty()) s += " min=" + joinNumbers(mins, mins.size() > 1);
            if (!maxs.empty()) s += " max=" + joinNumbers(maxs, maxs.size() > 1);
            if (details) s += " details_type=" + std::to_string(details);
            appendDoc(v.docString, s);
        }
    }

    // Buffer 0 is the conventional empty buffer; a model without any buffers has no constants.
    if (bufferIndex != 0 || !m_buffers.empty()) {
        auto bytes = bufferBytes(bufferIndex, where, tensor::buffer.name);
        if (!bytes) return bytes.error();
        if (!bytes->empty()) {
            if (v.dtype == DType::Undefined)
                return error(ErrorCode::Unsupported,
                             "constant data of type " + tensorTypeName(type) + " is not supported", where);
            if (!shapePresent && !sp.present()) shape.clear(); // a constant without a shape is a scalar
            for (int64_t d : shape)
                if (d < 0)
                    return error(ErrorCode::Format,
                                 "a constant has an unknown dimension in " + shapeToString(shape) +
                                     " (field Tensor.shape)",
                                 where);
            const int64_t numel = shapeNumel(shape);
            if (numel < 0)
                return error(ErrorCode::Format,
                             "shape " + shapeToString(shape) + " overflows (field Tensor.shape)", where);
            const std::string bufWhere = "buffer " + std::to_string(bufferIndex);
            if (v.dtype == DType::String) {
                // int32 count, int32 offsets[count + 1] from the buffer start, then the bytes.
                const auto& b = *bytes;
                auto rd = [&](size_t pos) {
                    int32_t x = -1;
                    if (pos + 4 <= b.size()) std::memcpy(&x, b.data() + pos, 4);
                    return static_cast<int64_t>(x);
                };
                const int64_t count = rd(0);
                if (count != numel || static_cast<uint64_t>(count) > (b.size() / 4))
                    return error(ErrorCode::Format,
                                 bufWhere + " holds a string table of " + std::to_string(count) +
                                     " entries for shape " + shapeToString(shape),
                                 where);
                std::vector<std::string> strs;
                strs.reserve(static_cast<size_t>(count));
                for (int64_t i = 0; i < count; ++i) {
                    const int64_t a = rd(static_cast<size_t>(4 + 4 * i)),
                                  e = rd(static_cast<size_t>(8 + 4 * i));
                    if (a < 0 || e < a || e > static_cast<int64_t>(b.size()))
                        return error(ErrorCode::Format,
                                     bufWhere + ": string " + std::to_string(i) +
                                         " has offsets outside the buffer",
                                     where);
                    strs.emplace_back(reinterpret_cast<const char*>(b.data()) + a,
                                      static_cast<size_t>(e - a));
                }
                v.data = Tensor::fromStrings(shape, std::move(strs));
            } else if (sp.present()) {
                const auto& info = dtypeInfo(v.dtype);
                if (info.blockElems != 1 || info.isPacked)
                    return error(ErrorCode::Unsupported,
                                 std::string("sparse ") + dtypeName(v.dtype) + " constants are not supported",
                                 where);
                auto dense = densify(m_fb, sp, shape, static_cast<size_t>(info.blockBytes), *bytes,
                                     kMaxDenseSparseBytes);
                if (!dense) return fromEngine(dense.error(), where);
                auto tensor = Tensor::fromBytes(v.dtype, shape, std::move(dense->bytes));
                if (!tensor) return fromEngine(tensor.error(), where);
                v.data = std::move(*tensor);
                appendDoc(v.docString, dense->summary);
            } else {
                const int64_t need = dtypeStorageBytes(v.dtype, numel);
                if (need < 0 || need != static_cast<int64_t>(bytes->size()))
                    return error(ErrorCode::Format,
                                 bufWhere + " holds " + std::to_string(bytes->size()) + " bytes, but " +
                                     dtypeName(v.dtype) + " " + shapeToString(shape) + " needs " +
                                     (need < 0 ? std::string("an impossible size") : std::to_string(need)),
                                 where);
                const auto offset = static_cast<size_t>(bytes->data() - m_file->data());
                auto tensor = Tensor::fromMapped(m_file, offset, v.dtype, shape);
                if (!tensor) return fromEngine(tensor.error(), where);
                if (v.dtype == DType::Int4 && !scales.empty()) {
                    // Packed types dequantize through QuantParams, which groups along the flat order:
                    // per-tensor, or per-axis along dimension 0.
                    auto qp = std::make_shared<QuantParams>();
                    const bool perTensor = scales.size() == 1;
                    if (perTensor || (qdim == 0 && !shape.empty() &&
                                      shape[0] == static_cast<int64_t>(scales.size()) && shape[0] > 0)) {
                        qp->groupSize = perTensor ? std::max<int64_t>(numel, 1) : numel / shape[0];
                        for (double s : scales)
                            qp->scales.push_back(static_cast<float>(s));
                        if (zeros.size() == scales.size() &&
                            std::any_of(zeros.begin(), zeros.end(), [](int64_t z) { return z != 0; }))
                            for (int64_t z : zeros)
                                qp->zeros.push_back(static_cast<float>(z));
                        tensor->setQuant(std::move(qp));
                    }
                }
                v.data = std::move(*tensor);
            }
        }
    }
    g.addValue(std::move(v));
    return {};
}

Status Loader::decodeOptions(const FbTable& o, Node& node, int depth, int64_t& expanded,
                             const std::string& where) {
    const int type = static_cast<int>(o.u8(op::builtinOptionsType));
    if (type == 0) return {};
    const FbTable opts = o.table(op::builtinOptions, "BuiltinOptions");
    if (m_fb.failed()) return readError(where);
    const OptionsSpec* spec = builtinOptionsSpec(type);
    if (!spec) {
        node.setAttr("options_type", Attribute::ofInt(type));
        return {};
    }
    for (size_t i = 0; i < spec->fields.size(); ++i) {
        const OptionField& f = spec->fields[i];
        const Field field{static_cast<uint16_t>(i), f.name};
        if (f.onlyIfSet && !opts.has(field)) continue;
        switch (f.kind) {
        case OptionKind::Int8:
            node.setAttr(f.name, Attribute::ofInt(opts.i8(field, static_cast<int8_t>(f.def))));
            break;
        case OptionKind::Int32:
            node.setAttr(f.name, Attribute::ofInt(opts.i32(field, static_cast<int32_t>(f.def))));
            break;
        case OptionKind::UInt32:
            node.setAttr(f.name, Attribute::ofInt(opts.u32(field, static_cast<uint32_t>(f.def))));
            break;
        case OptionKind::Int64:
            node.setAttr(f.name, Attribute::ofInt(opts.i64(field, static_cast<int64_t>(f.def))));
            break;
        case OptionKind::Bool:
            node.setAttr(f.name, Attribute::ofInt(opts.boolean(field, f.def != 0) ? 1 : 0));
            break;
        case OptionKind::Float:
            node.setAttr(f.name, Attribute::ofFloat(opts.f32(field, static_cast<float>(f.def))));
            break;
        case OptionKind::Ints:
            node.setAttr(f.name, Attribute::ofInts(opts.vector(field, 4).ints()));
            break;
        case OptionKind::Floats:
            node.setAttr(f.name, Attribute::ofFloats(opts.vector(field, 4).floats()));
            break;
        case OptionKind::String:
            node.setAttr(f.name, Attribute::ofString(printable(opts.string(field))));
            break;
        case OptionKind::Padding:
            node.setAttr(f.name, Attribute::ofString(paddingName(static_cast<int>(opts.i8(field)))));
            break;
        case OptionKind::Activation:
            node.setAttr(f.name, Attribute::ofString(activationName(static_cast<int>(opts.i8(field)))));
            break;
        case OptionKind::TensorType:
            node.setAttr(f.name, Attribute::ofString(tensorTypeName(
                                     static_cast<int>(opts.i8(field, static_cast<int8_t>(f.def))))));
            break;
        case OptionKind::Enum: {
            const int64_t e = opts.i8(field, static_cast<int8_t>(f.def));
            node.setAttr(f.name, Attribute::ofString(
                                     e >= 0 && e < f.nameCount ? f.names[e] : "VALUE_" + std::to_string(e)));
            break;
        }
        case OptionKind::Subgraph: {
            const int64_t s = opts.i32(field, static_cast<int32_t>(f.def));
            if (m_fb.failed()) return readError(where);
            if (s < 0 || static_cast<size_t>(s) >= m_subgraphs.size())
                return error(ErrorCode::Format,
                             "calls subgraph " + std::to_string(s) + ", but the model has " +
                                 std::to_string(m_subgraphs.size()) + " subgraphs (field " + spec->name +
                                 "." + f.name + ")",
                             where);
            node.setAttr(f.name, Attribute::ofInt(s));
            auto sub = buildSubgraph(static_cast<size_t>(s), depth + 1);
            if (!sub) return sub.error();
            expanded += m_expanded[static_cast<size_t>(s)];
            if (expanded > kMaxExpandedNodes)
                return error(ErrorCode::Unsupported,
                             "the called subgraphs expand to more than " + std::to_string(kMaxExpandedNodes) +
                                 " operators",
                             where);
            node.setAttr(f.graphAttr, graphAttribute(*sub));
            break;
        }
        }
    }
    if (m_fb.failed()) return readError(where);
    return {};
}

Status Loader::readOperator(const FbTable& o, size_t oi, Graph& g, size_t tensorCount,
                            const std::string& sgWhere, int depth, int64_t& expanded) {
    std::string where = sgWhere + ", operator " + std::to_string(oi);
    const int64_t codeIndex = o.u32(op::opcodeIndex);
    if (m_fb.failed()) return readError(where);
    if (codeIndex < 0 || static_cast<size_t>(codeIndex) >= m_opcodes.size())
        return error(ErrorCode::Format,
                     "opcode_index " + std::to_string(codeIndex) + " is out of range (the model has " +
                         std::to_string(m_opcodes.size()) + " operator codes) (field Operator.opcode_index)",
                     where);
    const OpCode& code = m_opcodes[static_cast<size_t>(codeIndex)];
    Node node;
    if (code.builtin == kBuiltinCustom) {
        node.opType = code.custom.empty() ? "CUSTOM" : printable(code.custom);
        node.domain = "tflite.custom";
    } else {
        node.opType = builtinOperatorName(code.builtin);
        node.domain = "tflite";
    }
    where += " (" + node.opType + ")";

    const FbVector ins = o.vector(op::inputs, 4);
    const FbVector outs = o.vector(op::outputs, 4);
    if (m_fb.failed()) return readError(where);
    auto indices = [&](const FbVector& vec, const char* what, const char* field,
                       std::vector<int>& out) -> Status {
        out.reserve(vec.size());
        for (size_t k = 0; k < vec.size(); ++k) {
            const int32_t ti = vec.at<int32_t>(k);
            if (ti < -1 || (ti >= 0 && static_cast<size_t>(ti) >= tensorCount))
                return error(ErrorCode::Format,
                             std::string(what) + " " + std::to_string(k) + " refers to tensor " +
                                 std::to_string(ti) + ", but the subgraph has " +
                                 std::to_string(tensorCount) + " tensors (field " + field + ")",
                             where);
            out.push_back(ti);
        }
        return {};
    };
    BY_TRY(indices(ins, "input", "Operator.inputs", node.inputs));
    BY_TRY(indices(outs, "output", "Operator.outputs", node.outputs));

    BY_TRY(decodeOptions(o, node, depth, expanded, where));

    const int64_t options2 = o.u8(op::builtinOptions2Type);
    if (options2) node.setAttr("options2_type", Attribute::ofInt(options2));
    const FbVector custom = o.vector(op::customOptions, 1);
    const uint64_t largeOffset = o.u64(op::largeCustomOptionsOffset);
    const uint64_t largeSize = o.u64(op::largeCustomOptionsSize);
    const int64_t customFormat = o.i8(op::customOptionsFormat);
    const FbVector mutating = o.vector(op::mutatingVariableInputs, 1);
    const FbVector intermediates = o.vector(op::intermediates, 4);
    if (m_fb.failed()) return readError(where);
    uint64_t customPos = custom.dataPosition(), customLen = custom.size();
    if (custom.empty() && largeOffset > 1) {
        if (!m_fb.inside(largeOffset, largeSize))
            return error(ErrorCode::Format,
                         "custom options at [" + std::to_string(largeOffset) + ", +" +
                             std::to_string(largeSize) +
                             ") lie past the end of the file (field Operator.large_custom_options_offset)",
                         where);
        customPos = largeOffset;
        customLen = largeSize;
    }
    if (customLen > 0) {
        auto t = Tensor::fromMapped(m_file, static_cast<size_t>(customPos), DType::U8,
                                    {static_cast<int64_t>(customLen)});
        if (!t) return fromEngine(t.error(), where);
        node.setAttr("custom_options", Attribute::ofTensor(std::move(*t)));
        if (customFormat != 0) node.setAttr("custom_options_format", Attribute::ofInt(customFormat));
    }
    if (std::any_of(mutating.bytes().begin(), mutating.bytes().end(), [](uint8_t b) { return b != 0; })) {
        std::vector<int64_t> flags;
        for (uint8_t b : mutating.bytes())
            flags.push_back(b != 0);
        node.setAttr("mutating_variable_inputs", Attribute::ofInts(std::move(flags)));
    }
    if (!intermediates.empty()) node.setAttr("intermediates", Attribute::ofInts(intermediates.ints()));
    g.addNode(std::move(node));
    ++expanded;
    return {};
}

Result<std::shared_ptr<Graph>> Loader::buildSubgraph(size_t index, int depth) {
    const std::string sgWhere = subgraphLabel(index);
    if (m_fb.failed()) return readError(sgWhere);
    if (m_visit[index] == Visit::Done) return m_graphs[index];
    if (m_visit[index] == Visit::Active)
        return error(ErrorCode::Format, "calls itself (directly or through the subgraphs it calls)", sgWhere);
    if (depth > kMaxSubgraphDepth)
        return error(ErrorCode::Unsupported,
                     "subgraphs nest deeper than " + std::to_string(kMaxSubgraphDepth) + " levels", sgWhere);
    m_visit[index] = Visit::Active;

    const FbTable sg = m_subgraphs.table(index, "SubGraph");
    const FbVector tensors = sg.vector(subgraph::tensors, 4);
    const FbVector inputs = sg.vector(subgraph::inputs, 4);
    const FbVector outputs = sg.vector(subgraph::outputs, 4);
    const FbVector operators = sg.vector(subgraph::operators, 4);
    auto g = std::make_shared<Graph>();
    g->name = std::string(sg.string(subgraph::name));
    if (m_fb.failed()) return readError(sgWhere);
    if (depth == 0) m_workTotal = tensors.size() + operators.size();

    g->values.reserve(tensors.size());
    for (size_t ti = 0; ti < tensors.size(); ++ti) {
        const FbTable t = tensors.table(ti, "Tensor");
        if (m_fb.failed()) return readError(sgWhere + ", tensor " + std::to_string(ti));
        BY_TRY(readTensor(t, ti, *g, sgWhere));
        BY_TRY(tick());
    }
    auto ioList = [&](const FbVector& vec, const char* field, std::vector<int>& out) -> Status {
        for (size_t k = 0; k < vec.size(); ++k) {
            const int32_t ti = vec.at<int32_t>(k);
            if (ti < 0 || static_cast<size_t>(ti) >= tensors.size())
                return error(ErrorCode::Format,
                             std::string(field) + "[" + std::to_string(k) + "] refers to tensor " +
                                 std::to_string(ti) + ", but the subgraph has " +
                                 std::to_string(tensors.size()) + " tensors",
                             sgWhere);
            out.push_back(ti);
        }
        return {};
    };
    BY_TRY(ioList(inputs, "SubGraph.inputs", g->inputs));
    BY_TRY(ioList(outputs, "SubGraph.outputs", g->outputs));

    int64_t expanded = 0;
    g->nodes.reserve(operators.size());
    for (size_t oi = 0; oi < operators.size(); ++oi) {
        const FbTable o = operators.table(oi, "Operator");
        if (m_fb.failed()) return readError(sgWhere + ", operator " + std::to_string(oi));
        BY_TRY(readOperator(o, oi, *g, tensors.size(), sgWhere, depth, expanded));
        BY_TRY(tick());
    }
    if (auto st = g->rebuildLinks(); !st) return fromEngine(st.error(), sgWhere);
    if (auto order = g->topologicalOrder(); !order) return fromEngine(order.error(), sgWhere);

    m_visit[index] = Visit::Done;
    m_graphs[index] = g;
    m_expanded[index] = expanded;
    return g;
}

Status Loader::readModelMetadata() {
    const int64_t version = m_root.u32(model::version);
    const std::string description(m_root.string(model::description));
    if (m_fb.failed()) return readError("model header");
    m_model.irVersion = version;
    m_model.opsets.emplace_back("tflite", version);
    m_model.metadata.emplace_back("tflite.schema_version", MetaValue::ofInt(MetaValue::Type::U32, version));
    if (!description.empty()) {
        m_model.docString = printable(description);
        m_model.metadata.emplace_back("tflite.description", MetaValue::ofString(m_model.docString));
    }

    const FbVector metas = m_root.vector(model::metadata, 4);
    if (m_fb.failed()) return readError("model metadata");
    for (size_t i = 0; i < metas.size(); ++i) {
        const FbTable md = metas.table(i, "Metadata");
        const std::string name = printable(md.string(metadata::name));
        const int64_t b = md.u32(metadata::buffer);
        const std::string where = "metadata " + std::to_string(i) + " '" + name + "'";
        if (m_fb.failed()) return readError(where);
        auto bytes = bufferBytes(b, where, metadata::buffer.name);
        if (!bytes) return bytes.error();
        std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
        while (!text.empty() && text.back() == '\0')
            text.remove_suffix(1);
        const bool isText =
            !text.empty() && text.size() <= 4096 && std::all_of(text.begin(), text.end(), [](char c) {
                return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t';
            });
        m_model.metadata.emplace_back(
            "tflite.metadata." + name,
            MetaValue::ofString(isText ? std::string(text)
                                       : std::to_string(bytes->size()) + " bytes (binary)"));
    }

    const FbVector sigs = m_root.vector(model::signatureDefs, 4);
    if (m_fb.failed()) return readError("signature defs");
    for (size_t i = 0; i < sigs.size(); ++i) {
        const FbTable s = sigs.table(i, "SignatureDef");
        const std::string key = printable(s.string(signature::key));
        const int64_t sgIndex = s.u32(signature::subgraphIndex);
        std::string text = "subgraph " + std::to_string(sgIndex);
        for (const auto& [field, label] :
             {std::pair{signature::inputs, "inputs"}, std::pair{signature::outputs, "outputs"}}) {
            const FbVector maps = s.vector(field, 4);
            text += std::string("; ") + label + ":";
            for (size_t k = 0; k < maps.size(); ++k) {
                const FbTable m = maps.table(k, "TensorMap");
                text += (k ? ", " : " ") + printable(m.string(signature::tensorName)) + "=tensor " +
                        std::to_string(m.u32(signature::tensorIndex));
            }
        }
        if (m_fb.failed()) return readError("signature " + std::to_string(i));
        m_model.metadata.emplace_back("tflite.signature." + (key.empty() ? std::to_string(i) : key),
                                      MetaValue::ofString(text));
    }
    return {};
}

Result<Model> Loader::run() {
    const size_t size = m_fb.size();
    if (size < 8)
        return error(ErrorCode::Format,
                     "the file is too short (" + std::to_string(size) + " bytes) to be a TFLite model");
    const std::string_view ident(reinterpret_cast<const char*>(m_fb.data()) + 4, 4);
    if (ident != "TFL3")
        return error(ErrorCode::Format, "the file identifier is '" + printable(ident) +
                                            "', not 'TFL3': not a TFLite flatbuffer");
    if (m_opts.progress) m_opts.progress->report(0.0, "reading the model");

    m_root = FbTable::root(m_fb, "Model");
    if (m_fb.failed()) return readError("model header");
    m_model.format = "tflite";
    m_model.name = std::filesystem::path(m_fileName).stem().string();
    m_buffers = m_root.vector(model::buffers, 4);
    m_subgraphs = m_root.vector(model::subgraphs, 4);
    if (m_fb.failed()) return readError("model header");
    BY_TRY(readModelMetadata());
    BY_TRY(readOperatorCodes());
    if (m_subgraphs.empty())
        return error(ErrorCode::Format, "the model has no subgraphs (field Model.subgraphs)");

    m_visit.assign(m_subgraphs.size(), Visit::None);
    m_graphs.assign(m_subgraphs.size(), nullptr);
    m_expanded.assign(m_subgraphs.size(), 0);
    auto main = buildSubgraph(0, 0);
    if (!main) return main.error();
    m_model.graph = std::move(**main);
    m_graphs[0].reset();

    if (m_duplicateNames)
        m_model.warnings.push_back(std::to_string(m_duplicateNames) +
                                   " tensor names were repeated; later tensors got a '#<index>' suffix");
    if (m_subgraphs.size() > 1) {
        MetaValue names;
        names.type = MetaValue::Type::Array;
        names.arrayType = MetaValue::Type::String;
        std::string unreferenced;
        for (size_t i = 0; i < m_subgraphs.size(); ++i) {
            const std::string label = subgraphLabel(i);
            names.strings.push_back(label);
            if (m_visit[i] != Visit::None) continue;
            if (!unreferenced.empty()) unreferenced += ", ";
            unreferenced += label;
            m_model.warnings.push_back(
                label +
                " is not called by any operator reachable from subgraph 0; it is not part of the graph");
        }
        if (m_fb.failed()) return readError("subgraph names");
        m_model.metadata.emplace_back("tflite.subgraphs", std::move(names));
        if (!unreferenced.empty())
            m_model.metadata.emplace_back("tflite.unreferenced_subgraphs", MetaValue::ofString(unreferenced));
    }
    if (auto st = m_model.graph.validate(); !st) return fromEngine(st.error(), "subgraph 0");
    if (m_opts.progress) m_opts.progress->report(1.0, "done");
    return std::move(m_model);
}

} // namespace

int TfliteImporter::probe(std::string_view head, const std::string& path) const {
    if (head.size() >= 8 && head.substr(4, 4) == "TFL3") return 95;
    if (lowerExtension(path) == ".tflite") return 20;
    return 0;
}

Result<Model> TfliteImporter::load(const std::string& path, const LoadOptions& opts) const {
    auto file = MappedFile::open(path);
    if (!file) {
        Error e = file.error();
        e.withContext("loading " + std::filesystem::path(path).filename().string());
        return e;
    }
    Loader loader(path, std::move(*file), opts);
    return loader.run();
}

std::unique_ptr<Importer> makeTfliteImporter() {
    return std::make_unique<TfliteImporter>();
}

} // namespace by
