#include "engine/graph.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <set>
#include <sstream>

namespace by {

std::string dimShapeToString(const DimShape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) out += ",";
        out += s[i].known() ? std::to_string(s[i].value) : (s[i].param.empty() ? "?" : s[i].param);
    }
    return out + "]";
}

DimShape toDimShape(const Shape& s) {
    DimShape d;
    d.reserve(s.size());
    for (auto v : s) d.push_back(Dim::of(v));
    return d;
}

const char* attributeKindName(Attribute::Kind k) {
    switch (k) {
    case Attribute::Kind::Int: return "int";
    case Attribute::Kind::Float: return "float";
    case Attribute::Kind::String: return "string";
    case Attribute::Kind::Tensor: return "tensor";
    case Attribute::Kind::Graph: return "graph";
    case Attribute::Kind::Ints: return "ints";
    case Attribute::Kind::Floats: return "floats";
    case Attribute::Kind::Strings: return "strings";
    case Attribute::Kind::Tensors: return "tensors";
    case Attribute::Kind::Graphs: return "graphs";
    }
    return "?";
}

namespace {
template <class V, class F>
std::string listToString(const V& v, size_t maxItems, F f) {
    std::string out = "[";
    for (size_t i = 0; i < v.size() && i < maxItems; ++i) {
        if (i) out += ",";
        out += f(v[i]);
    }
    if (v.size() > maxItems) out += ",... (" + std::to_string(v.size()) + ")";
    return out + "]";
}
std::string fmtDouble(double d) {
    std::ostringstream os;
    os << d;
    return os.str();
}
}  // namespace

std::string Attribute::toString(size_t maxItems) const {
    switch (kind) {
    case Kind::Int: return std::to_string(i);
    case Kind::Float: return fmtDouble(f);
    case Kind::String: return "\"" + s + "\"";
    case Kind::Tensor: return std::string("tensor ") + dtypeName(t.dtype()) + shapeToString(t.shape());
    case Kind::Graph: return "graph " + (g ? g->name : std::string("?"));
    case Kind::Ints: return listToString(ints, maxItems, [](int64_t v) { return std::to_string(v); });
    case Kind::Floats: return listToString(floats, maxItems, fmtDouble);
    case Kind::Strings: return listToString(strings, maxItems, [](const std::string& v) { return "\"" + v + "\""; });
    case Kind::Tensors: return std::to_string(tensors.size()) + " tensors";
    case Kind::Graphs: return std::to_string(graphs.size()) + " graphs";
    }
    return "?";
}

bool Attribute::operator==(const Attribute& o) const {
    if (kind != o.kind) return false;
    switch (kind) {
    case Kind::Int: return i == o.i;
    case Kind::Float: return f == o.f || (std::isnan(f) && std::isnan(o.f));
    case Kind::String: return s == o.s;
    case Kind::Tensor: return t.sameContent(o.t);
    case Kind::Ints: return ints == o.ints;
    case Kind::Floats: return floats == o.floats;
    case Kind::Strings: return strings == o.strings;
    case Kind::Tensors:
        if (tensors.size() != o.tensors.size()) return false;
        for (size_t k = 0; k < tensors.size(); ++k)
            if (!tensors[k].sameContent(o.tensors[k])) return false;
        return true;
    case Kind::Graph: return (g == nullptr) == (o.g == nullptr);  // structure compared by callers
    case Kind::Graphs: return graphs.size() == o.graphs.size();
    }
    return false;
}

const Attribute* Node::attr(const std::string& key) const {
    for (const auto& [k, a] : attributes)
        if (k == key) return &a;
    return nullptr;
}
int64_t Node::attrInt(const std::string& key, int64_t def) const {
    const auto* a = attr(key);
    return a && a->kind == Attribute::Kind::Int ? a->i : def;
}
double Node::attrFloat(const std::string& key, double def) const {
    const auto* a = attr(key);
    return a && a->kind == Attribute::Kind::Float ? a->f : def;
}
std::vector<int64_t> Node::attrInts(const std::string& key) const {
    const auto* a = attr(key);
    return a && a->kind == Attribute::Kind::Ints ? a->ints : std::vector<int64_t>{};
}
std::string Node::attrString(const std::string& key, const std::string& def) const {
    const auto* a = attr(key);
    return a && a->kind == Attribute::Kind::String ? a->s : def;
}
void Node::setAttr(const std::string& key, Attribute a) {
    for (auto& [k, v] : attributes)
        if (k == key) {
            v = std::move(a);
            return;
        }
    attributes.emplace_back(key, std::move(a));
}

int Graph::valueId(const std::string& n) {
    if (!n.empty()) {
        auto it = m_index.find(n);
        if (it != m_index.end()) return it->second;
    }
    Value v;
    v.name = n;
    return addValue(std::move(v));
}

int Graph::findValue(const std::string& n) const {
    auto it = m_index.find(n);
    return it == m_index.end() ? -1 : it->second;
}

int Graph::addValue(Value v) {
    const int id = static_cast<int>(values.size());
    if (!v.name.empty()) {
        BY_ASSERT(m_index.find(v.name) == m_index.end(), "addValue: duplicate value name");
        m_index[v.name] = id;
    }
    values.push_back(std::move(v));
    return id;
}

int Graph::addNode(Node n) {
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
}

int Graph::addInitializer(const std::string& n, Tensor t) {
    const int id = valueId(n);
    auto& v = values[static_cast<size_t>(id)];
    v.dtype = t.dtype();
    v.shape = toDimShape(t.shape());
    v.data = std::move(t);
    return id;
}

void Graph::rebuildIndex() {
    m_index.clear();
    for (size_t i = 0; i < values.size(); ++i)
        if (!values[i].name.empty()) m_index[values[i].name] = static_cast<int>(i);
}

Status Graph::rebuildLinks() {
    for (auto& v : values) {
        v.producer = -1;
        v.consumers.clear();
    }
    const int nv = static_cast<int>(values.size());
    for (size_t ni = 0; ni < nodes.size(); ++ni) {
        const auto& n = nodes[ni];
        auto where = [&] { return "node " + std::to_string(ni) + " (" + n.opType + (n.name.empty() ? "" : " '" + n.name + "'") + ")"; };
        for (int in : n.inputs) {
            if (in < -1 || in >= nv) return makeError(ErrorCode::Format, "input index " + std::to_string(in) + " is out of range", where());
            if (in >= 0) {
                auto& c = values[static_cast<size_t>(in)].consumers;
                if (c.empty() || c.back() != static_cast<int>(ni)) c.push_back(static_cast<int>(ni));
            }
        }
        for (int out : n.outputs) {
            if (out < -1 || out >= nv) return makeError(ErrorCode::Format, "output index " + std::to_string(out) + " is out of range", where());
            if (out < 0) continue;
            auto& v = values[static_cast<size_t>(out)];
            if (v.producer >= 0)
                return makeError(ErrorCode::Format, "value '" + v.name + "' is produced twice (also by node " + std::to_string(v.producer) + ")", where());
            v.producer = static_cast<int>(ni);
        }
    }
    return {};
}

Result<std::vector<int>> Graph::topologicalOrder() const {
    const size_t n = nodes.size();
    std::vector<int> producer(values.size(), -1);
    for (size_t ni = 0; ni < n; ++ni)
        for (int out : nodes[ni].outputs)
            if (out >= 0 && static_cast<size_t>(out) < values.size()) producer[static_cast<size_t>(out)] = static_cast<int>(ni);
    std::vector<int> indeg(n, 0);
    std::vector<std::vector<int>> succ(n);
    for (size_t ni = 0; ni < n; ++ni) {
        std::set<int> preds;
        for (int in : nodes[ni].inputs)
            if (in >= 0 && static_cast<size_t>(in) < values.size() && producer[static_cast<size_t>(in)] >= 0)
                preds.insert(producer[static_cast<size_t>(in)]);
        for (int p : preds) {
            succ[static_cast<size_t>(p)].push_back(static_cast<int>(ni));
            ++indeg[ni];
        }
    }
    // Kahn's algorithm, smallest index first so file order is kept where the graph allows it.
    std::vector<int> order;
    order.reserve(n);
    std::vector<int> ready;
    for (size_t i = 0; i < n; ++i)
        if (indeg[i] == 0) ready.push_back(static_cast<int>(i));
    std::make_heap(ready.begin(), ready.end(), std::greater<>());
    while (!ready.empty()) {
        std::pop_heap(ready.begin(), ready.end(), std::greater<>());
        const int cur = ready.back();
        ready.pop_back();
        order.push_back(cur);
        for (int s : succ[static_cast<size_t>(cur)])
            if (--indeg[static_cast<size_t>(s)] == 0) {
                ready.push_back(s);
                std::push_heap(ready.begin(), ready.end(), std::greater<>());
            }
    }
    if (order.size() != n) {
        for (size_t i = 0; i < n; ++i)
            if (indeg[i] > 0)
                return makeError(ErrorCode::Format, "the graph has a cycle through node " + std::to_string(i) + " (" +
                                                        nodes[i].opType + (nodes[i].name.empty() ? "" : " '" + nodes[i].name + "'") + ")",
                                 name.empty() ? std::string() : "graph '" + name + "'");
    }
    return order;
}

Status Graph::validate() const {
    Graph copy;  // rebuildLinks mutates; checking on a shallow copy keeps validate() const
    copy.values.resize(values.size());
    copy.nodes.reserve(nodes.size());
    for (const auto& nd : nodes) {
        Node n;
        n.opType = nd.opType;
        n.name = nd.name;
        n.inputs = nd.inputs;
        n.outputs = nd.outputs;
        copy.nodes.push_back(std::move(n));
    }
    for (size_t i = 0; i < values.size(); ++i) copy.values[i].name = values[i].name;
    BY_TRY(copy.rebuildLinks());
    auto order = topologicalOrder();
    if (!order) return order.error();
    for (int io : inputs)
        if (io < 0 || static_cast<size_t>(io) >= values.size()) return makeError(ErrorCode::Format, "graph input index out of range");
    for (int io : outputs)
        if (io < 0 || static_cast<size_t>(io) >= values.size()) return makeError(ErrorCode::Format, "graph output index out of range");
    for (size_t ni = 0; ni < nodes.size(); ++ni)
        for (const auto& [k, a] : nodes[ni].attributes) {
            auto check = [&](const std::shared_ptr<Graph>& g) -> Status {
                if (!g) return {};
                auto st = g->validate();
                if (!st) st.error().withContext("node " + std::to_string(ni) + " (" + nodes[ni].opType + ") attribute '" + k + "'");
                return st;
            };
            BY_TRY(check(a.g));
            for (const auto& g : a.graphs) BY_TRY(check(g));
        }
    return {};
}

namespace {
void walkGraphs(const Graph& g, const std::function<void(const Graph&)>& f) {
    f(g);
    for (const auto& n : g.nodes)
        for (const auto& [k, a] : n.attributes) {
            if (a.g) walkGraphs(*a.g, f);
            for (const auto& sg : a.graphs)
                if (sg) walkGraphs(*sg, f);
        }
}
}  // namespace

int64_t Graph::parameterCount() const {
    int64_t total = 0;
    walkGraphs(*this, [&](const Graph& g) {
        for (const auto& v : g.values)
            if (v.data && !v.folded && v.data->dtype() != DType::String)
                total += std::max<int64_t>(0, v.data->numel());
    });
    return total;
}

int64_t Graph::weightBytes() const {
    int64_t total = 0;
    walkGraphs(*this, [&](const Graph& g) {
        for (const auto& v : g.values)
            if (v.data && !v.folded) total += static_cast<int64_t>(v.data->nbytes());
    });
    return total;
}

size_t Graph::nodeCountRecursive() const {
    size_t total = 0;
    walkGraphs(*this, [&](const Graph& g) { total += g.nodes.size(); });
    return total;
}

std::map<std::string, int64_t> Graph::opHistogram() const {
    std::map<std::string, int64_t> h;
    walkGraphs(*this, [&](const Graph& g) {
        for (const auto& n : g.nodes) ++h[n.domain.empty() || n.domain == "ai.onnx" ? n.opType : n.domain + "." + n.opType];
    });
    return h;
}

size_t MetaValue::arraySize() const {
    if (type != Type::Array) return 0;
    return ints.size() + floats.size() + strings.size() + items.size();
}

const char* metaTypeName(MetaValue::Type t) {
    switch (t) {
    case MetaValue::Type::U8: return "u8";
    case MetaValue::Type::I8: return "i8";
    case MetaValue::Type::U16: return "u16";
    case MetaValue::Type::I16: return "i16";
    case MetaValue::Type::U32: return "u32";
    case MetaValue::Type::I32: return "i32";
    case MetaValue::Type::F32: return "f32";
    case MetaValue::Type::Bool: return "bool";
    case MetaValue::Type::String: return "string";
    case MetaValue::Type::Array: return "array";
    case MetaValue::Type::U64: return "u64";
    case MetaValue::Type::I64: return "i64";
    case MetaValue::Type::F64: return "f64";
    }
    return "?";
}

std::string MetaValue::toString(size_t maxItems) const {
    switch (type) {
    case Type::String: return s;
    case Type::Bool: return i ? "true" : "false";
    case Type::F32:
    case Type::F64: return fmtDouble(f);
    case Type::U64: return std::to_string(static_cast<uint64_t>(i));
    case Type::Array: {
        std::string out = std::string(metaTypeName(arrayType)) + "[" + std::to_string(arraySize()) + "] ";
        if (!strings.empty()) out += listToString(strings, maxItems, [](const std::string& v) { return "\"" + v + "\""; });
        else if (!ints.empty()) out += listToString(ints, maxItems, [](int64_t v) { return std::to_string(v); });
        else if (!floats.empty()) out += listToString(floats, maxItems, fmtDouble);
        else if (!items.empty()) out += listToString(items, maxItems, [](const MetaValue& v) { return v.toString(4); });
        else out += "[]";
        return out;
    }
    default: return std::to_string(i);
    }
}

const MetaValue* Model::meta(const std::string& key) const {
    for (const auto& [k, v] : metadata)
        if (k == key) return &v;
    return nullptr;
}

ModelSummary summarize(const Model& m) {
    ModelSummary s;
    s.format = m.format;
    s.nodes = static_cast<int64_t>(m.graph.nodeCountRecursive());
    s.values = static_cast<int64_t>(m.graph.values.size());
    s.parameters = m.graph.parameterCount();
    s.weightBytes = m.graph.weightBytes();
    s.ops = m.graph.opHistogram();
    walkGraphs(m.graph, [&](const Graph& g) {
        for (const auto& v : g.values)
            if (v.data && !v.folded) {
                ++s.tensorsWithData;
                s.dtypeBytes[dtypeName(v.data->dtype())] += static_cast<int64_t>(v.data->nbytes());
            }
    });
    return s;
}

}  // namespace by
