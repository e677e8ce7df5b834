// ONNX export: the IR back into a ModelProto, the inverse of the mapping onnx_importer.h states,
// so that import(export(m)) is structurally equal to m. Weights are written inline as little-endian
// raw_data; a model whose protobuf would pass 2 GiB is refused (Unsupported).
#include "engine/mapped_file.h"
#include "importers/onnx_importer.h"

#include <climits>
#include <filesystem>
#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx-ml.pb.h>
#include <unordered_set>

namespace by {

namespace {

constexpr int64_t kDefaultIrVersion = 8;
constexpr int64_t kDefaultOpset = 17;
constexpr size_t kMaxProtoBytes = static_cast<size_t>(INT_MAX);

std::string inQuotes(const std::string& s) {
    return "'" + s + "'";
}

std::string nodeLabel(size_t index, const Node& n) {
    return "node " + std::to_string(index) + " (" + n.opType + (n.name.empty() ? "" : " '" + n.name + "'") +
           ")";
}

Status writeTensor(const Tensor& t, onnx::TensorProto* tp) {
    if (!t.valid()) return makeError(ErrorCode::Invalid, "the tensor is empty (no dtype)");
    const int32_t code = dtypeToOnnx(t.dtype());
    if (code <= 0)
        return makeError(ErrorCode::Unsupported,
                         std::string("ONNX has no tensor type for ") + dtypeName(t.dtype()));
    if (t.quant())
        return makeError(ErrorCode::Unsupported, std::string("ONNX cannot store the group scales of a ") +
                                                     dtypeName(t.dtype()) +
                                                     " tensor (export a dequantized model)");
    for (int64_t d : t.shape())
        tp->add_dims(d);
    tp->set_data_type(code);
    if (t.dtype() == DType::String) {
        for (const auto& s : t.strings())
            tp->add_string_data(s);
        return {};
    }
    if (t.nbytes() > 0 && !t.rawData()) return makeError(ErrorCode::Invalid, "the tensor has no storage");
    tp->set_raw_data(reinterpret_cast<const char*>(t.rawData()), t.nbytes());
    return {};
}

void writeType(const Value& v, onnx::ValueInfoProto* vi) {
    if (v.dtype == DType::Undefined && !v.shape) return;
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(std::max(0, dtypeToOnnx(v.dtype)));
    if (!v.shape) return;
    auto* shape = tt->mutable_shape();
    for (const auto& d : *v.shape) {
        auto* dim = shape->add_dim();
        if (d.known())
            dim->set_dim_value(d.value);
        else if (!d.param.empty())
            dim->set_dim_param(d.param);
    }
}

class GraphWriter {
public:
    explicit GraphWriter(int64_t irVersion) : m_irVersion(irVersion) {}

    Status write(const Graph& g, onnx::GraphProto* gp, int depth) {
        if (depth > 60) return makeError(ErrorCode::Invalid, "subgraphs are nested too deeply");
        gp->set_name(g.name);
        if (!g.docString.empty()) gp->set_doc_string(g.docString);

        const size_t nv = g.values.size();
        for (size_t ni = 0; ni < g.nodes.size(); ++ni)
            for (int r : g.nodes[ni].inputs)
                if (r < -1 || r >= static_cast<int>(nv))
                    return makeError(ErrorCode::Invalid,
                                     "input index " + std::to_string(r) + " is out of range",
                                     nodeLabel(ni, g.nodes[ni]));
        for (size_t ni = 0; ni < g.nodes.size(); ++ni)
            for (int r : g.nodes[ni].outputs)
                if (r < -1 || r >= static_cast<int>(nv))
                    return makeError(ErrorCode::Invalid,
                                     "output index " + std::to_string(r) + " is out of range",
                                     nodeLabel(ni, g.nodes[ni]));
        for (int r : g.inputs)
            if (r < 0 || r >= static_cast<int>(nv))
                return makeError(ErrorCode::Invalid, "a graph input index is out of range");
        for (int r : g.outputs)
            if (r < 0 || r >= static_cast<int>(nv))
                return makeError(ErrorCode::Invalid, "a graph output index is out of range");

        // ONNX names every value; in-memory graphs may leave some unnamed.
        std::vector<std::string> names(nv);
        for (size_t i = 0; i < nv; ++i) {
            names[i] = g.values[i].name;
            if (!names[i].empty()) continue;
            std::string n = "unnamed_" + std::to_string(i);
            while (g.findValue(n) >= 0)
                n += "_";
            names[i] = n;
        }
        auto name = [&](int r) { return r < 0 ? std::string() : names[static_cast<size_t>(r)]; };

        std::vector<int> producer(nv, -1);
        std::vector<char> referenced(nv, 0), listed(nv, 0);
        for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
            for (int r : g.nodes[ni].outputs)
                if (r >= 0)
                    producer[static_cast<size_t>(r)] = static_cast<int>(ni),
                    referenced[static_cast<size_t>(r)] = 1;
            for (int r : g.nodes[ni].inputs)
                if (r >= 0) referenced[static_cast<size_t>(r)] = 1;
        }
        for (int r : g.inputs)
            listed[static_cast<size_t>(r)] = 1;
        for (int r : g.outputs)
            listed[static_cast<size_t>(r)] = 1;
        // Data on a value no node produces is an initializer; data on a Constant's output lives in
        // the node; data on any other node's output has no ONNX form and is not written.
        auto isInitializer = [&](size_t i) {
            return g.values[i].data && g.values[i].data->valid() && !g.values[i].folded && producer[i] < 0;
        };

        for (int r : g.inputs) {
            auto* vi = gp->add_input();
            vi->set_name(name(r));
            writeValueInfo(g.values[static_cast<size_t>(r)], vi);
        }
        if (m_irVersion < 4) { // IR 3 requires every initializer to be a graph input as well
            std::unordered_set<int> inputs(g.inputs.begin(), g.inputs.end());
            for (size_t i = 0; i < nv; ++i)
                if (isInitializer(i) && !inputs.count(static_cast<int>(i))) {
                    auto* vi = gp->add_input();
                    vi->set_name(names[i]);
                    writeValueInfo(g.values[i], vi);
                }
        }
        for (size_t i = 0; i < nv; ++i) {
            if (!isInitializer(i)) continue;
            auto* tp = gp->add_initializer();
            tp->set_name(names[i]);
            if (!g.values[i].docString.empty()) tp->set_doc_string(g.values[i].docString);
            auto st = writeTensor(*g.values[i].data, tp);
            if (!st) return st.error().withContext("initializer " + inQuotes(names[i]));
        }

        for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
            const Node& n = g.nodes[ni];
            auto* np = gp->add_node();
            for (int r : n.inputs)
                np->add_input(name(r));
            for (int r : n.outputs)
                np->add_output(name(r));
            if (!n.name.empty()) np->set_name(n.name);
            np->set_op_type(n.opType);
            if (!n.domain.empty()) np->set_domain(n.domain);
            if (!n.docString.empty()) np->set_doc_string(n.docString);
            auto st = writeAttributes(g, n, np, depth);
            if (!st) return st.error().withContext(nodeLabel(ni, n));
        }

        for (size_t i = 0; i < nv; ++i) {
            if (listed[i] || isInitializer(i)) continue;
            const Value& v = g.values[i];
            bool write = false;
            if (v.data && producer[i] >= 0 && isConstantNode(g.nodes[static_cast<size_t>(producer[i])])) {
                // The importer takes a Constant's type from its tensor; only a different one needs saying.
                write = v.dtype != v.data->dtype() || !v.shape || *v.shape != toDimShape(v.data->shape()) ||
                        !v.docString.empty();
            } else {
                write = v.dtype != DType::Undefined || v.shape || !v.docString.empty() ||
                        (!referenced[i] && !v.name.empty());
            }
            if (!write) continue;
            auto* vi = gp->add_value_info();
            vi->set_name(names[i]);
            writeValueInfo(v, vi);
        }
        for (int r : g.outputs) {
            auto* vi = gp->add_output();
            vi->set_name(name(r));
            writeValueInfo(g.values[static_cast<size_t>(r)], vi);
        }
        return {};
    }

private:
    static void writeValueInfo(const Value& v, onnx::ValueInfoProto* vi) {
        writeType(v, vi);
        if (!v.docString.empty()) vi->set_doc_string(v.docString);
    }

    Status writeAttributes(const Graph& g, const Node& n, onnx::NodeProto* np, int depth) {
        // A Constant whose output data was edited after import: the data wins over the attribute.
        const Tensor* replaced = nullptr;
        if (isConstantNode(n) && !n.outputs.empty() && n.outputs[0] >= 0) {
            const Value& out = g.values[static_cast<size_t>(n.outputs[0])];
            if (out.data && out.data->valid() && !out.folded && !out.data->sameContent(constantNodeTensor(n)))
                replaced = &*out.data;
        }
        for (const auto& [key, a] : n.attributes) {
            if (replaced && (key == "value" || key.rfind("value_", 0) == 0 || key == "sparse_value"))
                continue;
            auto st = writeAttribute(key, a, np->add_attribute(), depth);
            if (!st) return st.error().withContext("attribute " + inQuotes(key));
        }
        if (replaced) {
            auto* ap = np->add_attribute();
            ap->set_name("value");
            ap->set_type(onnx::AttributeProto::TENSOR);
            auto st = writeTensor(*replaced, ap->mutable_t());
            if (!st) return st.error().withContext("attribute 'value'");
        }
        return {};
    }

    Status writeAttribute(const std::string& key, const Attribute& a, onnx::AttributeProto* ap, int depth) {
        using K = Attribute::Kind;
        using AP = onnx::AttributeProto;
        ap->set_name(key);
        switch (a.kind) {
        case K::Int:
            ap->set_type(AP::INT);
            ap->set_i(a.i);
            break;
        case K::Float:
            ap->set_type(AP::FLOAT);
            ap->set_f(static_cast<float>(a.f));
            break;
        case K::String:
            ap->set_type(AP::STRING);
            ap->set_s(a.s);
            break;
        case K::Tensor:
            ap->set_type(AP::TENSOR);
            BY_TRY(writeTensor(a.t, ap->mutable_t()));
            break;
        case K::Graph:
            ap->set_type(AP::GRAPH);
            if (!a.g) return makeError(ErrorCode::Invalid, "the graph attribute is empty");
            BY_TRY(write(*a.g, ap->mutable_g(), depth + 1));
            break;
        case K::Ints:
            ap->set_type(AP::INTS);
            ap->mutable_ints()->Add(a.ints.begin(), a.ints.end());
            break;
        case K::Floats:
            ap->set_type(AP::FLOATS);
            ap->mutable_floats()->Reserve(static_cast<int>(a.floats.size()));
            for (double f : a.floats)
                ap->add_floats(static_cast<float>(f));
            break;
        case K::Strings:
            ap->set_type(AP::STRINGS);
            for (const auto& s : a.strings)
                ap->add_strings(s);
            break;
        case K::Tensors:
            ap->set_type(AP::TENSORS);
            for (size_t i = 0; i < a.tensors.size(); ++i) {
                auto st = writeTensor(a.tensors[i], ap->add_tensors());
                if (!st) return st.error().withContext("tensor " + std::to_string(i));
            }
            break;
        case K::Graphs:
            ap->set_type(AP::GRAPHS);
            for (size_t i = 0; i < a.graphs.size(); ++i) {
                if (!a.graphs[i])
                    return makeError(ErrorCode::Invalid, "graph " + std::to_string(i) + " is empty");
                auto st = write(*a.graphs[i], ap->add_graphs(), depth + 1);
                if (!st) return st.error().withContext("graph " + std::to_string(i));
            }
            break;
        }
        return {};
    }

    int64_t m_irVersion;
};

std::string metaText(const MetaValue& v) {
    return v.type == MetaValue::Type::String ? v.s : v.toString(SIZE_MAX);
}

class OnnxExporter final : public Exporter {
public:
    bool storesGraph() const override { return true; }
    std::string name() const override { return "onnx"; }
    std::vector<std::string> extensions() const override { return {".onnx"}; }

    Status save(const Model& model, const std::string& path) const override {
        auto st = saveImpl(model, path);
        if (!st) st.error().withContext("writing " + std::filesystem::path(path).filename().string());
        return st;
    }

private:
    static Status saveImpl(const Model& model, const std::string& path) {
        const int64_t weights = model.graph.weightBytes();
        if (weights >= static_cast<int64_t>(kMaxProtoBytes))
            return makeError(ErrorCode::Unsupported,
                             "the model holds " + std::to_string(weights) +
                                 " bytes of weights; an ONNX protobuf is limited to 2 GiB and "
                                 "writing external data is not supported");
        onnx::ModelProto mp;
        const int64_t ir = model.irVersion > 0 ? model.irVersion : kDefaultIrVersion;
        mp.set_ir_version(ir);
        if (!model.producer.empty()) mp.set_producer_name(model.producer);
        if (!model.producerVersion.empty()) mp.set_producer_version(model.producerVersion);
        if (!model.domain.empty()) mp.set_domain(model.domain);
        if (model.modelVersion != 0) mp.set_model_version(model.modelVersion);
        if (!model.docString.empty()) mp.set_doc_string(model.docString);
        for (const auto& [domain, version] : model.opsets) {
            auto* o = mp.add_opset_import();
            o->set_domain(domain);
            o->set_version(version);
        }
        if (model.opsets.empty()) {
            auto* o = mp.add_opset_import();
            o->set_domain("");
            o->set_version(kDefaultOpset);
        }
        for (const auto& [key, value] : model.metadata) {
            auto* p = mp.add_metadata_props();
            p->set_key(key);
            p->set_value(metaText(value));
        }
        BY_TRY(GraphWriter(ir).write(model.graph, mp.mutable_graph(), 0));

        const size_t size = mp.ByteSizeLong();
        if (size > kMaxProtoBytes)
            return makeError(ErrorCode::Unsupported, "the model would take " + std::to_string(size) +
                                                         " bytes; an ONNX protobuf is limited to 2 GiB");
        std::vector<uint8_t> bytes(size);
        if (!mp.SerializeToArray(bytes.data(), static_cast<int>(size)))
            return makeError(ErrorCode::Internal, "protobuf serialization failed");
        return writeWholeFile(path, bytes);
    }
};

} // namespace

std::unique_ptr<Exporter> makeOnnxExporter() {
    return std::make_unique<OnnxExporter>();
}

} // namespace by
