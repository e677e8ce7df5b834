// ONNX import: a bounds-checked wire scan of the mapped file (onnx_wire_scan.h: precise errors for
// truncated or corrupt files, and the file offset of every raw_data so weights stay mapped), then
// a protobuf parse, then the mapping into the IR that onnx_importer.h describes.
#include "importers/onnx_importer.h"

#include "engine/mapped_file.h"
#include "importers/onnx_wire_scan.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <google/protobuf/io/coded_stream.h>
#include <map>
#include <onnx/onnx-ml.pb.h>
#include <unordered_map>
#include <unordered_set>

namespace by {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian: this host would need swaps");

namespace {

namespace pb = google::protobuf;
namespace fs = std::filesystem;

using onnx_wire::kMaxNesting;
using onnx_wire::RawIndex;
constexpr int64_t kMaxElements = int64_t(1) << 50;       // keeps byte counts far from overflow
constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;    // same bound as Tensor: larger is corrupt
constexpr int64_t kMaxDensifiedBytes = int64_t(1) << 30; // sparse tensors made dense up to 1 GiB

struct OnnxType {
    int32_t code;
    DType dtype;
    const char* name;
};
constexpr OnnxType kOnnxTypes[] = {
    {0, DType::Undefined, "UNDEFINED"},
    {1, DType::F32, "FLOAT"},
    {2, DType::U8, "UINT8"},
    {3, DType::I8, "INT8"},
    {4, DType::U16, "UINT16"},
    {5, DType::I16, "INT16"},
    {6, DType::I32, "INT32"},
    {7, DType::I64, "INT64"},
    {8, DType::String, "STRING"},
    {9, DType::Bool, "BOOL"},
    {10, DType::F16, "FLOAT16"},
    {11, DType::F64, "DOUBLE"},
    {12, DType::U32, "UINT32"},
    {13, DType::U64, "UINT64"},
    {14, DType::Complex64, "COMPLEX64"},
    {15, DType::Complex128, "COMPLEX128"},
    {16, DType::BF16, "BFLOAT16"},
    {17, DType::F8E4M3, "FLOAT8E4M3FN"},
    {18, DType::Undefined, "FLOAT8E4M3FNUZ"},
    {19, DType::F8E5M2, "FLOAT8E5M2"},
    {20, DType::Undefined, "FLOAT8E5M2FNUZ"},
    {21, DType::UInt4, "UINT4"},
    {22, DType::Int4, "INT4"},
    {23, DType::Undefined, "FLOAT4E2M1"},
};

const OnnxType* onnxType(int32_t code) {
    for (const auto& t : kOnnxTypes)
        if (t.code == code) return &t;
    return nullptr;
}

// An Error for a tensor/value type code the IR cannot hold; `field` names where it was read.
Error typeError(int32_t code, const std::string& field) {
    if (const auto* t = onnxType(code); t && code != 0)
        return makeError(ErrorCode::Unsupported,
                         field + " " + std::to_string(code) + " (" + t->name + ") is not supported");
    if (code == 0) return makeError(ErrorCode::Format, field + " is missing (0 = UNDEFINED)");
    return makeError(ErrorCode::Unsupported,
                     field + " " + std::to_string(code) + " is not a known ONNX tensor type");
}

std::string inQuotes(const std::string& s) {
    return "'" + s + "'";
}

std::string nodeLabel(int index, const std::string& op, const std::string& name) {
    return "node " + std::to_string(index) + " (" + op + (name.empty() ? "" : " '" + name + "'") + ")";
}

// ---------------------------------------------------------------------------------------------
// Conversion of the parsed ModelProto into the IR.

class OnnxReader {
public:
    OnnxReader(const std::string& path, const LoadOptions& opts) : m_path(path), m_opts(opts) {
        m_fileName = fs::path(path).filename().string();
        m_dir = fs::path(path).parent_path();
        if (m_dir.empty()) m_dir = ".";
    }

    Result<Model> read() {
        auto r = readModel();
        if (!r) r.error().withContext("loading " + m_fileName);
        return r;
    }

private:
    Result<Model> readModel() {
        auto mf = MappedFile::open(m_path);
        if (!mf) return mf.error();
        m_file = *mf;
        if (m_file->size() == 0) return makeError(ErrorCode::Format, "the file is empty");
        if (m_file->size() > static_cast<size_t>(INT_MAX))
            return makeError(
                ErrorCode::Unsupported,
                "the file is " + std::to_string(m_file->size()) +
                    " bytes; a protobuf message is limited to 2 GiB (larger ONNX models keep their "
                    "weights in external data files)");
        report(0.0, "reading ONNX protobuf");
        BY_TRY(onnx_wire::scanModel(m_file->data(), m_file->size(), m_raw));

        onnx::ModelProto mp;
        {
            pb::io::CodedInputStream in(m_file->data(), static_cast<int>(m_file->size()));
            in.SetTotalBytesLimit(INT_MAX);
            if (!mp.ParseFromCodedStream(&in))
                return makeError(ErrorCode::Format,
                                 "the protobuf parser rejected the file: it is not a valid ONNX ModelProto");
        }
        if (!mp.has_graph())
            return makeError(ErrorCode::Format,
                             "ModelProto has no graph (field 7): this is not an ONNX model");

        Model m;
        m.format = "onnx";
        m.irVersion = mp.ir_version();
        m.producer = mp.producer_name();
        m.producerVersion = mp.producer_version();
        m.domain = mp.domain();
        m.modelVersion = mp.model_version();
        m.docString = mp.doc_string();
        for (const auto& o : mp.opset_import())
            m.opsets.emplace_back(o.domain(), o.version());
        for (const auto& p : mp.metadata_props())
            m.metadata.emplace_back(p.key(), MetaValue::ofString(p.value()));
        m_totalNodes = std::max(1, mp.graph().node_size());
        BY_TRY(convertGraph(mp.graph(), m.graph, "graph", 0));
        if (mp.functions_size() > 0)
            m_warnings.push_back(
                std::to_string(mp.functions_size()) +
                " model-local function(s) are not imported; nodes calling them are kept as they are");
        if (mp.training_info_size() > 0) m_warnings.push_back("training_info is not imported");
        if (m_skippedExternal > 0)
            m_warnings.push_back(
                std::to_string(m_skippedExternal) +
                " initializer(s) with external data were not loaded (loadExternalData is off)");
        m.warnings = std::move(m_warnings);
        report(1.0, "done");
        return m;
    }

    void report(double f, const char* stage) const {
        if (m_opts.progress) m_opts.progress->report(f, stage);
    }

    Status convertGraph(const onnx::GraphProto& gp, Graph& g, const std::string& key, int depth) {
        if (depth > kMaxNesting) return makeError(ErrorCode::Format, "subgraphs are nested too deeply");
        g.name = gp.name();
        g.docString = gp.doc_string();

        std::unordered_set<std::string_view> initNames;
        for (const auto& t : gp.initializer())
            initNames.insert(t.name());
        for (const auto& s : gp.sparse_initializer())
            initNames.insert(s.values().name());
        std::unordered_map<std::string_view, const onnx::ValueInfoProto*> initInputs;

        for (const auto& in : gp.input()) {
            if (initNames.count(in.name())) {
                initInputs.emplace(in.name(), &in);
                continue;
            }
            const int id = g.valueId(in.name());
            BY_TRY(withContext(applyValueInfo(in, g.values[static_cast<size_t>(id)]),
                               "input " + inQuotes(in.name())));
            g.inputs.push_back(id);
        }

        std::vector<char> isInit;
        auto markInit = [&](int id) {
            if (isInit.size() <= static_cast<size_t>(id)) isInit.resize(static_cast<size_t>(id) + 1, 0);
            isInit[static_cast<size_t>(id)] = 1;
        };
        auto initDoc = [&](const std::string& name, const std::string& doc) {
            if (!doc.empty()) return doc;
            auto it = initInputs.find(name);
            return it == initInputs.end() ? std::string() : it->second->doc_string();
        };
        for (int i = 0; i < gp.initializer_size(); ++i) {
            const auto& tp = gp.initializer(i);
            bool skipped = false;
            auto t = convertTensor(tp, key + ".initializer[" + std::to_string(i) + "]", &skipped);
            if (!t)
                return t.error().withContext("initializer " + std::to_string(i) + " " + inQuotes(tp.name()));
            const int id = g.valueId(tp.name());
            Value& v = g.values[static_cast<size_t>(id)];
            if (skipped) {
                v.dtype = dtypeFromOnnx(tp.data_type());
                v.shape = toDimShape(Shape(tp.dims().begin(), tp.dims().end()));
            } else {
                v.dtype = t->dtype();
                v.shape = toDimShape(t->shape());
                v.data = std::move(*t);
            }
            v.docString = initDoc(tp.name(), tp.doc_string());
            markInit(id);
        }
        for (int i = 0; i < gp.sparse_initializer_size(); ++i) {
            const auto& sp = gp.sparse_initializer(i);
            const std::string label =
                "sparse_initializer " + std::to_string(i) + " " + inQuotes(sp.values().name());
            auto t = densify(sp, key + ".sparse_initializer[" + std::to_string(i) + "]");
            if (!t && t.error().code != ErrorCode::Unsupported) return t.error().withContext(label);
            const int id = g.valueId(sp.values().name());
            Value& v = g.values[static_cast<size_t>(id)];
            if (t) {
                v.dtype = t->dtype();
                v.shape = toDimShape(t->shape());
                v.data = std::move(*t);
            } else {
                m_warnings.push_back(label + " was not loaded: " + t.error().message);
            }
            v.docString = initDoc(sp.values().name(), sp.values().doc_string());
            markInit(id);
        }

        auto ref = [&](const std::string& name) { return name.empty() ? -1 : g.valueId(name); };
        for (int ni = 0; ni < gp.node_size(); ++ni) {
            const auto& np = gp.node(ni);
            if (depth == 0 && (ni & 255) == 255) {
                if (m_opts.progress && m_opts.progress->cancelled())
                    return makeError(ErrorCode::Cancelled, "import cancelled");
                report(0.1 + 0.85 * ni / m_totalNodes, "converting nodes");
            }
            Node n;
            n.name = np.name();
            n.opType = np.op_type();
            n.domain = np.domain();
            n.docString = np.doc_string();
            n.inputs.reserve(static_cast<size_t>(np.input_size()));
            for (const auto& s : np.input())
                n.inputs.push_back(ref(s));
            n.outputs.reserve(static_cast<size_t>(np.output_size()));
            for (const auto& s : np.output())
                n.outputs.push_back(ref(s));
            const std::string nkey = key + ".node[" + std::to_string(ni) + "]";
            for (int ai = 0; ai < np.attribute_size(); ++ai) {
                auto st = convertAttribute(np.attribute(ai), nkey + ".attribute[" + std::to_string(ai) + "]",
                                           n, ni, depth);
                if (!st) return st.error().withContext(nodeLabel(ni, n.opType, n.name));
            }
            if (isConstantNode(n)) {
                for (auto& [k, a] : n.attributes)
                    if (k == "sparse_value" && a.kind == Attribute::Kind::Tensor) k = "value";
                Tensor t = constantNodeTensor(n);
                if (t.valid() && !n.outputs.empty() && n.outputs[0] >= 0) {
                    Value& v = g.values[static_cast<size_t>(n.outputs[0])];
                    v.dtype = t.dtype();
                    v.shape = toDimShape(t.shape());
                    v.data = std::move(t);
                }
            }
            g.addNode(std::move(n));
        }

        auto initializer = [&](int id) {
            return static_cast<size_t>(id) < isInit.size() && isInit[static_cast<size_t>(id)];
        };
        for (const auto& vi : gp.value_info()) {
            const int id = g.valueId(vi.name());
            if (initializer(id)) continue;
            BY_TRY(withContext(applyValueInfo(vi, g.values[static_cast<size_t>(id)]),
                               "value_info " + inQuotes(vi.name())));
        }
        for (const auto& out : gp.output()) {
            const int id = g.valueId(out.name());
            if (!initializer(id))
                BY_TRY(withContext(applyValueInfo(out, g.values[static_cast<size_t>(id)]),
                                   "output " + inQuotes(out.name())));
            g.outputs.push_back(id);
        }

        BY_TRY(g.rebuildLinks());
        auto order = g.topologicalOrder();
        if (!order) return order.error();
        return {};
    }

    static Status withContext(Status st, const std::string& where) {
        if (!st) st.error().withContext(where);
        return st;
    }

    Status applyValueInfo(const onnx::ValueInfoProto& vi, Value& v) {
        if (!vi.doc_string().empty()) v.docString = vi.doc_string();
        if (!vi.has_type()) return {};
        const auto& type = vi.type();
        const onnx::TypeProto_Tensor* tt = nullptr;
        if (type.has_tensor_type()) tt = &type.tensor_type();
        if (!tt) {
            // Sequences, maps and optionals have no IR type (nothing is set); sparse tensors read as dense.
            if (type.has_sparse_tensor_type()) {
                const auto& st = type.sparse_tensor_type();
                return applyTensorType(st.elem_type(), st.has_shape() ? &st.shape() : nullptr, v);
            }
            return {};
        }
        return applyTensorType(tt->elem_type(), tt->has_shape() ? &tt->shape() : nullptr, v);
    }

    // A type that says nothing (no element type, no shape; or not a tensor) leaves the value as it
    // is, like a missing type: a Constant's output keeps the type of its tensor either way, which
    // keeps import(export(m)) equal to m.
    static Status applyTensorType(int32_t elem, const onnx::TensorShapeProto* shape, Value& v) {
        const DType dt = dtypeFromOnnx(elem);
        if (dt == DType::Undefined && elem != 0) return typeError(elem, "elem_type");
        if (dt == DType::Undefined && !shape) return {};
        v.dtype = dt;
        if (!shape) {
            v.shape.reset();
            return {};
        }
        DimShape dims;
        dims.reserve(static_cast<size_t>(shape->dim_size()));
        for (const auto& d : shape->dim()) {
            if (d.has_dim_value() && d.dim_value() >= 0)
                dims.push_back(Dim::of(d.dim_value()));
            else if (d.has_dim_param())
                dims.push_back(Dim::sym(d.dim_param()));
            else
                dims.push_back(Dim{});
        }
        v.shape = std::move(dims);
        return {};
    }

    Status convertAttribute(const onnx::AttributeProto& ap, const std::string& key, Node& n, int ni,
                            int depth) {
        using AP = onnx::AttributeProto;
        const std::string where = "attribute " + inQuotes(ap.name());
        int type = ap.type();
        if (type == AP::UNDEFINED) {
            // Files from before attribute types were mandatory: the set field tells.
            if (ap.has_f())
                type = AP::FLOAT;
            else if (ap.has_i())
                type = AP::INT;
            else if (ap.has_s())
                type = AP::STRING;
            else if (ap.has_t())
                type = AP::TENSOR;
            else if (ap.has_g())
                type = AP::GRAPH;
            else if (ap.has_sparse_tensor())
                type = AP::SPARSE_TENSOR;
            else if (ap.floats_size())
                type = AP::FLOATS;
            else if (ap.ints_size())
                type = AP::INTS;
            else if (ap.strings_size())
                type = AP::STRINGS;
            else if (ap.tensors_size())
                type = AP::TENSORS;
            else if (ap.graphs_size())
                type = AP::GRAPHS;
            else if (ap.sparse_tensors_size())
                type = AP::SPARSE_TENSORS;
            else
                return makeError(ErrorCode::Format, "type is UNDEFINED and no value field is set", where);
        }
        Attribute a;
        switch (type) {
        case AP::FLOAT:
            a = Attribute::ofFloat(ap.f());
            break;
        case AP::INT:
            a = Attribute::ofInt(ap.i());
            break;
        case AP::STRING:
            a = Attribute::ofString(ap.s());
            break;
        case AP::TENSOR: {
            auto t = convertTensor(ap.t(), key + ".t", nullptr);
            if (!t) return t.error().withContext(where + " (tensor)");
            a = Attribute::ofTensor(std::move(*t));
            break;
        }
        case AP::GRAPH: {
            a.kind = Attribute::Kind::Graph;
            a.g = std::make_shared<Graph>();
            BY_TRY(withContext(convertGraph(ap.g(), *a.g, key + ".g", depth + 1), where));
            break;
        }
        case AP::SPARSE_TENSOR: {
            auto t = densify(ap.sparse_tensor(), key + ".sparse_tensor");
            if (!t) {
                if (t.error().code != ErrorCode::Unsupported) return t.error().withContext(where);
                m_warnings.push_back(nodeLabel(ni, n.opType, n.name) + " " + where +
                                     " was dropped: " + t.error().message);
                return {};
            }
            a = Attribute::ofTensor(std::move(*t));
            break;
        }
        case AP::FLOATS:
            a.kind = Attribute::Kind::Floats;
            a.floats.assign(ap.floats().begin(), ap.floats().end());
            break;
        case AP::INTS:
            a = Attribute::ofInts(std::vector<int64_t>(ap.ints().begin(), ap.ints().end()));
            break;
        case AP::STRINGS:
            a.kind = Attribute::Kind::Strings;
            a.strings.assign(ap.strings().begin(), ap.strings().end());
            break;
        case AP::TENSORS:
            a.kind = Attribute::Kind::Tensors;
            for (int i = 0; i < ap.tensors_size(); ++i) {
                auto t = convertTensor(ap.tensors(i), key + ".tensors[" + std::to_string(i) + "]", nullptr);
                if (!t) return t.error().withContext(where + " tensor " + std::to_string(i));
                a.tensors.push_back(std::move(*t));
            }
            break;
        case AP::GRAPHS:
            a.kind = Attribute::Kind::Graphs;
            for (int i = 0; i < ap.graphs_size(); ++i) {
                auto g = std::make_shared<Graph>();
                BY_TRY(withContext(
                    convertGraph(ap.graphs(i), *g, key + ".graphs[" + std::to_string(i) + "]", depth + 1),
                    where + " graph " + std::to_string(i)));
                a.graphs.push_back(std::move(g));
            }
            break;
        case AP::SPARSE_TENSORS:
            a.kind = Attribute::Kind::Tensors;
            for (int i = 0; i < ap.sparse_tensors_size(); ++i) {
                auto t = densify(ap.sparse_tensors(i), key + ".sparse_tensors[" + std::to_string(i) + "]");
                if (!t) return t.error().withContext(where + " sparse tensor " + std::to_string(i));
                a.tensors.push_back(std::move(*t));
            }
            break;
        case AP::TYPE_PROTO:
        case AP::TYPE_PROTOS:
            m_warnings.push_back(nodeLabel(ni, n.opType, n.name) + " " + where +
                                 " holds a type, which the model graph cannot represent; it was dropped");
            return {};
        default:
            return makeError(ErrorCode::Unsupported, "unknown attribute type " + std::to_string(type), where);
        }
        n.attributes.emplace_back(ap.name(), std::move(a));
        return {};
    }

    // Checks dims and type; on success *bytes holds the storage size.
    static Status checkDims(int32_t code, DType dt, const Shape& shape, int64_t* numel, int64_t* bytes) {
        if (dt == DType::Undefined) return typeError(code, "data_type");
        for (size_t i = 0; i < shape.size(); ++i)
            if (shape[i] < 0)
                return makeError(ErrorCode::Format, "dims[" + std::to_string(i) + "] is negative (" +
                                                        std::to_string(shape[i]) + ")");
        *numel = shapeNumel(shape);
        *bytes = 0;
        if (*numel < 0 || *numel > kMaxElements)
            return makeError(ErrorCode::Format,
                             "dims " + shapeToString(shape) + " are absurd: the element count overflows");
        if (dt != DType::String) *bytes = dtypeStorageBytes(dt, *numel);
        if (*bytes < 0 || *bytes > kMaxTensorBytes)
            return makeError(ErrorCode::Format,
                             "dims " + shapeToString(shape) + " are absurd: " + std::to_string(*numel) +
                                 " elements of " + dtypeName(dt) + " (" + std::to_string(*bytes) + " bytes)");
        return {};
    }

    // `skipped` non-null: external data may be left unloaded when the options say so.
    Result<Tensor> convertTensor(const onnx::TensorProto& tp, const std::string& key, bool* skipped) {
        const int32_t code = tp.data_type();
        const DType dt = dtypeFromOnnx(code);
        const Shape shape(tp.dims().begin(), tp.dims().end());
        int64_t numel = 0, bytes = 0;
        BY_TRY(checkDims(code, dt, shape, &numel, &bytes));
        if (tp.has_segment())
            return makeError(ErrorCode::Unsupported, "segmented tensors (field segment) are not supported");
        if (tp.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
            return externalTensor(tp, dt, shape, bytes, skipped);
        if (dt == DType::String) {
            if (tp.string_data_size() != numel)
                return makeError(ErrorCode::Format, "string_data holds " +
                                                        std::to_string(tp.string_data_size()) +
                                                        " strings but dims " + shapeToString(shape) +
                                                        " need " + std::to_string(numel));
            return Tensor::fromStrings(
                shape, std::vector<std::string>(tp.string_data().begin(), tp.string_data().end()));
        }
        if (tp.has_raw_data()) {
            const std::string& raw = tp.raw_data();
            if (static_cast<int64_t>(raw.size()) != bytes)
                return makeError(ErrorCode::Format, "raw_data holds " + std::to_string(raw.size()) +
                                                        " bytes but dims " + shapeToString(shape) + " of " +
                                                        dtypeName(dt) + " need " + std::to_string(bytes));
            // Keep the weights in the mapped file when the scan found this very payload there.
            auto it = m_raw.find(key);
            if (it != m_raw.end() && it->second.size == raw.size() &&
                (raw.empty() || std::memcmp(m_file->data() + it->second.offset, raw.data(), raw.size()) == 0))
                return mappedOrCopied(m_file, it->second.offset, dt, shape);
            return Tensor::fromBytes(dt, shape, std::vector<uint8_t>(raw.begin(), raw.end()));
        }
        return typedTensor(tp, dt, shape, numel, bytes);
    }

    // A window of the mapped file when the bytes sit at the element type's natural alignment
    // (page-aligned mapping + aligned offset), so data<T>() is a valid T*; protobuf places
    // raw_data at any byte, and a misaligned payload is copied into owned (aligned) storage.
    static Result<Tensor> mappedOrCopied(const std::shared_ptr<const MappedFile>& file, size_t offset,
                                         DType dt, const Shape& shape) {
        const int64_t unit = dtypeInfo(dt).blockBytes;
        const size_t align = static_cast<size_t>(std::clamp<int64_t>(unit & -unit, 1, 8));
        if (offset % align == 0) return Tensor::fromMapped(file, offset, dt, shape);
        auto window = Tensor::fromMapped(file, offset, dt, shape); // checks the range
        if (!window) return window.error();
        return Tensor::fromBytes(
            dt, shape, std::vector<uint8_t>(window->rawData(), window->rawData() + window->nbytes()));
    }

    static Result<Tensor> typedTensor(const onnx::TensorProto& tp, DType dt, const Shape& shape,
                                      int64_t numel, int64_t bytes) {
        auto mismatch = [&](const char* field, int64_t have, int64_t want) {
            if (have == 0 && tp.float_data_size() + tp.int32_data_size() + tp.int64_data_size() +
                                     tp.double_data_size() + tp.uint64_data_size() ==
                                 0)
                return makeError(ErrorCode::Format, "the tensor has no data: dims " + shapeToString(shape) +
                                                        " of " + dtypeName(dt) + " need " +
                                                        std::to_string(want) + " values in " + field +
                                                        " or raw_data, and both are empty");
            return makeError(ErrorCode::Format, std::string(field) + " holds " + std::to_string(have) +
                                                    " values but dims " + shapeToString(shape) + " of " +
                                                    dtypeName(dt) + " need " + std::to_string(want));
        };
        if (numel == 0) return Tensor::fromBytes(dt, shape, {});
        std::vector<uint8_t> out;
        auto copyAll = [&](const auto& field) {
            out.resize(static_cast<size_t>(bytes));
            std::memcpy(out.data(), field.data(), out.size());
        };
        auto narrow = [&](const auto& field, size_t width) {
            out.resize(static_cast<size_t>(bytes));
            uint8_t* p = out.data();
            for (const auto v : field) {
                const uint64_t u = static_cast<uint64_t>(v);
                std::memcpy(p, &u, width); // little-endian: the low bytes come first
                p += width;
            }
        };
        switch (dt) {
        case DType::F32:
        case DType::Complex64: {
            const int64_t want = dt == DType::F32 ? numel : 2 * numel;
            if (tp.float_data_size() != want) return mismatch("float_data", tp.float_data_size(), want);
            copyAll(tp.float_data());
            break;
        }
        case DType::F64:
        case DType::Complex128: {
            const int64_t want = dt == DType::F64 ? numel : 2 * numel;
            if (tp.double_data_size() != want) return mismatch("double_data", tp.double_data_size(), want);
            copyAll(tp.double_data());
            break;
        }
        case DType::I64:
            if (tp.int64_data_size() != numel) return mismatch("int64_data", tp.int64_data_size(), numel);
            copyAll(tp.int64_data());
            break;
        case DType::U64:
        case DType::U32:
            if (tp.uint64_data_size() != numel) return mismatch("uint64_data", tp.uint64_data_size(), numel);
            if (dt == DType::U64)
                copyAll(tp.uint64_data());
            else
                narrow(tp.uint64_data(), 4);
            break;
        case DType::I32:
            if (tp.int32_data_size() != numel) return mismatch("int32_data", tp.int32_data_size(), numel);
            copyAll(tp.int32_data());
            break;
        case DType::I16:
        case DType::U16:
        case DType::F16:
        case DType::BF16:
            if (tp.int32_data_size() != numel) return mismatch("int32_data", tp.int32_data_size(), numel);
            narrow(tp.int32_data(), 2);
            break;
        case DType::I8:
        case DType::U8:
        case DType::F8E4M3:
        case DType::F8E5M2:
            if (tp.int32_data_size() != numel) return mismatch("int32_data", tp.int32_data_size(), numel);
            narrow(tp.int32_data(), 1);
            break;
        case DType::Bool:
            if (tp.int32_data_size() != numel) return mismatch("int32_data", tp.int32_data_size(), numel);
            out.resize(static_cast<size_t>(bytes));
            for (int64_t i = 0; i < numel; ++i)
                out[static_cast<size_t>(i)] = tp.int32_data(static_cast<int>(i)) != 0;
            break;
        case DType::Int4:
        case DType::UInt4: // two 4-bit values per int32_data entry, low nibble first
            if (tp.int32_data_size() != bytes) return mismatch("int32_data", tp.int32_data_size(), bytes);
            narrow(tp.int32_data(), 1);
            break;
        default:
            return makeError(ErrorCode::Unsupported,
                             std::string("typed data fields for ") + dtypeName(dt) + " are not supported");
        }
        return Tensor::fromBytes(dt, shape, std::move(out));
    }

    static bool parseUnsigned(const std::string& s, uint64_t* v) {
        if (s.empty()) return false;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
        return r.ec == std::errc() && r.ptr == s.data() + s.size();
    }

    Result<Tensor> externalTensor(const onnx::TensorProto& tp, DType dt, const Shape& shape, int64_t bytes,
                                  bool* skipped) {
        if (dt == DType::String)
            return makeError(ErrorCode::Format, "string tensors cannot keep their data externally");
        std::string location;
        uint64_t offset = 0, length = 0;
        bool hasLength = false;
        for (const auto& kv : tp.external_data()) {
            if (kv.key() == "location")
                location = kv.value();
            else if (kv.key() == "offset") {
                if (!parseUnsigned(kv.value(), &offset))
                    return makeError(ErrorCode::Format,
                                     "external_data offset " + inQuotes(kv.value()) + " is not a number");
            } else if (kv.key() == "length") {
                if (!parseUnsigned(kv.value(), &length))
                    return makeError(ErrorCode::Format,
                                     "external_data length " + inQuotes(kv.value()) + " is not a number");
                hasLength = true;
            }
        }
        if (location.empty()) return makeError(ErrorCode::Format, "external_data has no location");
        if (hasLength && length != static_cast<uint64_t>(bytes))
            return makeError(ErrorCode::Format, "external_data length " + std::to_string(length) +
                                                    " does not match dims " + shapeToString(shape) + " of " +
                                                    dtypeName(dt) + " (" + std::to_string(bytes) + " bytes)");
        if (skipped && !m_opts.loadExternalData) {
            *skipped = true;
            ++m_skippedExternal;
            return Tensor();
        }
        auto file = externalFile(location);
        if (!file) return file.error();
        const uint64_t size = (*file)->size();
        if (offset > size || static_cast<uint64_t>(bytes) > size - offset)
            return makeError(ErrorCode::Format, "external_data [" + std::to_string(offset) + ", " +
                                                    std::to_string(offset + static_cast<uint64_t>(bytes)) +
                                                    ") lies past the end of " + inQuotes(location) + " (" +
                                                    std::to_string(size) + " bytes)");
        return mappedOrCopied(*file, static_cast<size_t>(offset), dt, shape);
    }

    Result<std::shared_ptr<const MappedFile>> externalFile(const std::string& location) {
        if (auto it = m_external.find(location); it != m_external.end()) return it->second;
        const fs::path loc(location);
        if (loc.is_absolute() || location.find('\0') != std::string::npos)
            return makeError(ErrorCode::Invalid, "external_data location " + inQuotes(location) +
                                                     " is not a relative path inside the model's directory");
        std::error_code ec;
        const fs::path base = fs::weakly_canonical(m_dir, ec);
        if (ec) return makeError(ErrorCode::Io, "cannot resolve the model's directory: " + ec.message());
        const fs::path full = fs::weakly_canonical(base / loc, ec);
        if (ec)
            return makeError(ErrorCode::Io, "cannot resolve external_data location " + inQuotes(location) +
                                                ": " + ec.message());
        const fs::path rel = full.lexically_relative(base);
        if (rel.empty() || *rel.begin() == ".." || rel == ".")
            return makeError(ErrorCode::Invalid, "external_data location " + inQuotes(location) +
                                                     " escapes the model's directory");
        if (!fs::exists(full, ec))
            return makeError(ErrorCode::Io, "external_data location " + inQuotes(location) +
                                                " does not exist in the model's directory");
        if (!fs::is_regular_file(full, ec))
            return makeError(ErrorCode::Io,
                             "external_data location " + inQuotes(location) + " is not a regular file");
        auto mf = MappedFile::open(full.string());
        if (!mf)
            return makeError(ErrorCode::Io, "cannot open external_data location " + inQuotes(location) +
                                                ": " + mf.error().message);
        std::shared_ptr<const MappedFile> f = *mf;
        m_external.emplace(location, f);
        return f;
    }

    // Sparse (values at indices) to dense. Unsupported when the dense tensor would be too large.
    Result<Tensor> densify(const onnx::SparseTensorProto& sp, const std::string& key) {
        auto values = convertTensor(sp.values(), key + ".values", nullptr);
        if (!values) return values.error().withContext("values");
        auto indices = convertTensor(sp.indices(), key + ".indices", nullptr);
        if (!indices) return indices.error().withContext("indices");
        const DType dt = values->dtype();
        if (dt == DType::String || dtypeInfo(dt).isPacked)
            return makeError(ErrorCode::Unsupported,
                             std::string("sparse ") + dtypeName(dt) + " tensors cannot be made dense");
        const Shape shape(sp.dims().begin(), sp.dims().end());
        int64_t numel = 0, bytes = 0;
        BY_TRY(checkDims(sp.values().data_type(), dt, shape, &numel, &bytes));
        if (bytes > kMaxDensifiedBytes)
            return makeError(ErrorCode::Unsupported,
                             "the dense form would take " + std::to_string(bytes) + " bytes");
        if (values->rank() != 1)
            return makeError(ErrorCode::Format, "values must be 1-D, not " + shapeToString(values->shape()));
        const int64_t nnz = values->numel();
        const int64_t rank = static_cast<int64_t>(shape.size());
        if (indices->dtype() != DType::I64) return makeError(ErrorCode::Format, "indices must be int64");
        const bool linear = indices->shape() == Shape{nnz};
        if (!linear && indices->shape() != Shape{nnz, rank})
            return makeError(ErrorCode::Format, "indices shape " + shapeToString(indices->shape()) +
                                                    " fits neither [" + std::to_string(nnz) + "] nor [" +
                                                    std::to_string(nnz) + "," + std::to_string(rank) + "]");
        const int64_t esize = dtypeStorageBytes(dt, 1);
        std::vector<uint8_t> out(static_cast<size_t>(bytes), 0);
        const auto* idx = indices->data<int64_t>();
        for (int64_t k = 0; k < nnz; ++k) {
            int64_t li = 0;
            if (linear) {
                li = idx[k];
            } else {
                for (int64_t d = 0; d < rank; ++d) {
                    const int64_t c = idx[k * rank + d];
                    if (c < 0 || c >= shape[static_cast<size_t>(d)]) {
                        li = -1;
                        break;
                    }
                    li = li * shape[static_cast<size_t>(d)] + c;
                }
            }
            if (li < 0 || li >= numel)
                return makeError(ErrorCode::Format,
                                 "index " + std::to_string(k) + " lies outside dims " + shapeToString(shape));
            std::memcpy(out.data() + li * esize, values->rawData() + k * esize, static_cast<size_t>(esize));
        }
        return Tensor::fromBytes(dt, shape, std::move(out));
    }

    std::string m_path;
    std::string m_fileName;
    fs::path m_dir;
    LoadOptions m_opts;
    std::shared_ptr<const MappedFile> m_file;
    RawIndex m_raw;
    std::map<std::string, std::shared_ptr<const MappedFile>> m_external;
    std::vector<std::string> m_warnings;
    int64_t m_skippedExternal = 0;
    int m_totalNodes = 1;
};

std::string lowerExtension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    for (auto& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

class OnnxImporter final : public Importer {
public:
    std::string name() const override { return "onnx"; }
    std::vector<std::string> extensions() const override { return {".onnx"}; }
    int probe(std::string_view head, const std::string& path) const override {
        const bool ext = lowerExtension(path) == ".onnx";
        const bool plausible = onnx_wire::looksLikeModelProto(head);
        if (plausible) return ext ? 90 : 40;
        // A .onnx file that does not look right still goes to this importer, which says what is
        // wrong with it (more use than "not a recognised format"); real magic elsewhere wins.
        return ext ? 10 : 0;
    }
    Result<Model> load(const std::string& path, const LoadOptions& opts) const override {
        return OnnxReader(path, opts).read();
    }
};

} // namespace

DType dtypeFromOnnx(int32_t code) {
    const auto* t = onnxType(code);
    return t ? t->dtype : DType::Undefined;
}

int32_t dtypeToOnnx(DType dt) {
    if (dt == DType::Undefined) return 0;
    for (const auto& t : kOnnxTypes)
        if (t.dtype == dt) return t.code;
    return -1;
}

bool isConstantNode(const Node& n) {
    return n.opType == "Constant" && (n.domain.empty() || n.domain == "ai.onnx");
}

Tensor constantNodeTensor(const Node& n) {
    for (const auto& [k, a] : n.attributes) {
        using K = Attribute::Kind;
        if ((k == "value" || k == "sparse_value") && a.kind == K::Tensor) return a.t;
        if (k == "value_float" && a.kind == K::Float)
            return Tensor::fromFloats({}, {static_cast<float>(a.f)});
        if (k == "value_floats" && a.kind == K::Floats) {
            std::vector<float> v(a.floats.begin(), a.floats.end());
            return Tensor::fromFloats({static_cast<int64_t>(v.size())}, v);
        }
        if (k == "value_int" && a.kind == K::Int) return Tensor::fromInt64s({}, {a.i});
        if (k == "value_ints" && a.kind == K::Ints)
            return Tensor::fromInt64s({static_cast<int64_t>(a.ints.size())}, a.ints);
        if (k == "value_string" && a.kind == K::String) return Tensor::fromStrings({}, {a.s});
        if (k == "value_strings" && a.kind == K::Strings)
            return Tensor::fromStrings({static_cast<int64_t>(a.strings.size())}, a.strings);
    }
    return Tensor();
}

std::unique_ptr<Importer> makeOnnxImporter() {
    return std::make_unique<OnnxImporter>();
}

} // namespace by
