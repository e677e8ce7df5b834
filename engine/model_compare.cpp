#include "engine/model_compare.h"

#include <cmath>
#include <cstring>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace by {

namespace {

using Diff = std::optional<std::string>;

std::string inQuotes(const std::string& s) {
    return "'" + s + "'";
}

std::string nodeLabel(const Node& n, size_t i) {
    return "node " + std::to_string(i) + " (" + (n.domain.empty() ? "" : n.domain + ".") + n.opType +
           (n.name.empty() ? "" : " '" + n.name + "'") + ")";
}

std::string join(const std::string& where, const std::string& what) {
    return where.empty() ? what : where + " > " + what;
}

template <class T> std::string listString(const std::vector<T>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size() && i < 8; ++i) {
        if (i) out += ",";
        if constexpr (std::is_same_v<T, std::string>)
            out += "\"" + v[i] + "\"";
        else
            out += std::to_string(v[i]);
    }
    if (v.size() > 8) out += ",... (" + std::to_string(v.size()) + ")";
    return out + "]";
}

bool sameDouble(double x, double y) {
    return x == y || (std::isnan(x) && std::isnan(y));
}

// Value references are compared through a key that does not depend on the value's index.
class ValueKeys {
public:
    explicit ValueKeys(const Graph& g) : m_g(g) {
        int unnamed = 0;
        m_unnamedRank.resize(g.values.size(), -1);
        for (size_t i = 0; i < g.values.size(); ++i)
            if (g.values[i].name.empty()) m_unnamedRank[i] = unnamed++;
    }
    std::string key(int idx) const {
        if (idx < 0) return "<none>";
        if (static_cast<size_t>(idx) >= m_g.values.size()) return "<bad index " + std::to_string(idx) + ">";
        const auto& v = m_g.values[static_cast<size_t>(idx)];
        return v.name.empty() ? "#" + std::to_string(m_unnamedRank[static_cast<size_t>(idx)])
                              : inQuotes(v.name);
    }

private:
    const Graph& m_g;
    std::vector<int> m_unnamedRank;
};

Diff compareRefs(const std::vector<int>& a, const std::vector<int>& b, const ValueKeys& ka,
                 const ValueKeys& kb, const std::string& what) {
    if (a.size() != b.size())
        return what + ": " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " entries";
    for (size_t i = 0; i < a.size(); ++i) {
        const std::string x = ka.key(a[i]), y = kb.key(b[i]);
        if (x != y) return what + " " + std::to_string(i) + ": " + x + " vs " + y;
    }
    return std::nullopt;
}

Diff compareTensors(const Tensor& a, const Tensor& b, bool data) {
    if (a.valid() != b.valid()) return std::string("one tensor is empty, the other is not");
    if (a.dtype() != b.dtype())
        return std::string("dtype ") + dtypeName(a.dtype()) + " vs " + dtypeName(b.dtype());
    if (a.shape() != b.shape())
        return "shape " + shapeToString(a.shape()) + " vs " + shapeToString(b.shape());
    if (a.dtype() == DType::String) {
        const auto &sa = a.strings(), &sb = b.strings();
        if (sa.size() != sb.size())
            return "string count " + std::to_string(sa.size()) + " vs " + std::to_string(sb.size());
        for (size_t i = 0; i < sa.size(); ++i)
            if (sa[i] != sb[i])
                return "string " + std::to_string(i) + ": \"" + sa[i] + "\" vs \"" + sb[i] + "\"";
        return std::nullopt;
    }
    if (a.nbytes() != b.nbytes())
        return "byte size " + std::to_string(a.nbytes()) + " vs " + std::to_string(b.nbytes());
    if (data && a.nbytes() && std::memcmp(a.rawData(), b.rawData(), a.nbytes()) != 0) {
        size_t i = 0;
        while (i < a.nbytes() && a.rawData()[i] == b.rawData()[i])
            ++i;
        return "bytes differ first at offset " + std::to_string(i) + " of " + std::to_string(a.nbytes());
    }
    const auto &qa = a.quant(), &qb = b.quant();
    if ((qa == nullptr) != (qb == nullptr))
        return std::string("one tensor has quantization scales, the other not");
    if (qa && (qa->groupSize != qb->groupSize || qa->scales != qb->scales || qa->zeros != qb->zeros))
        return std::string("quantization scales differ");
    return std::nullopt;
}

Diff compareGraphs(const Graph& a, const Graph& b, const ModelCompareOptions& o, const std::string& where);

Diff compareAttributes(const Attribute& a, const Attribute& b, const ModelCompareOptions& o,
                       const std::string& where) {
    using K = Attribute::Kind;
    if (a.kind != b.kind)
        return where + ": kind " + attributeKindName(a.kind) + " vs " + attributeKindName(b.kind);
    switch (a.kind) {
    case K::Int:
        if (a.i != b.i) return where + ": " + std::to_string(a.i) + " vs " + std::to_string(b.i);
        break;
    case K::Float:
        if (!sameDouble(a.f, b.f)) return where + ": " + a.toString() + " vs " + b.toString();
        break;
    case K::String:
        if (a.s != b.s) return where + ": " + a.toString() + " vs " + b.toString();
        break;
    case K::Ints:
        if (a.ints != b.ints) return where + ": ints " + listString(a.ints) + " vs " + listString(b.ints);
        break;
    case K::Floats:
        if (a.floats.size() != b.floats.size()) return where + ": " + a.toString() + " vs " + b.toString();
        for (size_t i = 0; i < a.floats.size(); ++i)
            if (!sameDouble(a.floats[i], b.floats[i]))
                return where + ": floats " + a.toString() + " vs " + b.toString();
        break;
    case K::Strings:
        if (a.strings != b.strings)
            return where + ": strings " + listString(a.strings) + " vs " + listString(b.strings);
        break;
    case K::Tensor:
        if (auto d = compareTensors(a.t, b.t, o.tensorData)) return where + ": tensor " + *d;
        break;
    case K::Tensors:
        if (a.tensors.size() != b.tensors.size())
            return where + ": " + std::to_string(a.tensors.size()) + " vs " +
                   std::to_string(b.tensors.size()) + " tensors";
        for (size_t i = 0; i < a.tensors.size(); ++i)
            if (auto d = compareTensors(a.tensors[i], b.tensors[i], o.tensorData))
                return where + ": tensor " + std::to_string(i) + ": " + *d;
        break;
    case K::Graph:
        if ((a.g == nullptr) != (b.g == nullptr)) return where + ": one graph is missing";
        if (a.g) return compareGraphs(*a.g, *b.g, o, where);
        break;
    case K::Graphs:
        if (a.graphs.size() != b.graphs.size())
            return where + ": " + std::to_string(a.graphs.size()) + " vs " + std::to_string(b.graphs.size()) +
                   " graphs";
        for (size_t i = 0; i < a.graphs.size(); ++i) {
            const auto &x = a.graphs[i], &y = b.graphs[i];
            if ((x == nullptr) != (y == nullptr))
                return where + ": graph " + std::to_string(i) + " is missing in one";
            if (x)
                if (auto d = compareGraphs(*x, *y, o, where + " > graph " + std::to_string(i))) return d;
        }
        break;
    }
    return std::nullopt;
}

Diff compareValues(const Value& a, const Value& b, const ModelCompareOptions& o, const std::string& where) {
    if (o.valueTypes) {
        if (a.dtype != b.dtype) return where + ": dtype " + dtypeName(a.dtype) + " vs " + dtypeName(b.dtype);
        if (a.shape.has_value() != b.shape.has_value())
            return where + ": shape " + (a.shape ? dimShapeToString(*a.shape) : "unknown") + " vs " +
                   (b.shape ? dimShapeToString(*b.shape) : "unknown");
        if (a.shape && *a.shape != *b.shape)
            return where + ": shape " + dimShapeToString(*a.shape) + " vs " + dimShapeToString(*b.shape);
    }
    // Folded data was computed from the graph, not stored in it: derived, like producer links.
    const bool da = a.data.has_value() && !a.folded, db = b.data.has_value() && !b.folded;
    if (da != db) return where + ": " + (da ? "first" : "second") + " carries data, the other does not";
    if (da)
        if (auto d = compareTensors(*a.data, *b.data, o.tensorData)) return where + ": data " + *d;
    if (o.docStrings && a.docString != b.docString) return where + ": doc string differs";
    return std::nullopt;
}

Diff compareGraphs(const Graph& a, const Graph& b, const ModelCompareOptions& o, const std::string& outer) {
    const std::string where = join(outer, "graph " + inQuotes(a.name));
    if (a.name != b.name) return join(outer, "graph name " + inQuotes(a.name) + " vs " + inQuotes(b.name));
    if (o.docStrings && a.docString != b.docString) return where + ": doc string differs";

    const ValueKeys ka(a), kb(b);
    if (auto d = compareRefs(a.inputs, b.inputs, ka, kb, where + ": input")) return d;
    if (auto d = compareRefs(a.outputs, b.outputs, ka, kb, where + ": output")) return d;

    std::unordered_map<std::string, size_t> bNamed;
    std::vector<size_t> aUnnamed, bUnnamed;
    for (size_t i = 0; i < b.values.size(); ++i) {
        if (b.values[i].name.empty())
            bUnnamed.push_back(i);
        else
            bNamed.emplace(b.values[i].name, i);
    }
    size_t aNamedCount = 0;
    for (size_t i = 0; i < a.values.size(); ++i) {
        const auto& va = a.values[i];
        if (va.name.empty()) {
            aUnnamed.push_back(i);
            continue;
        }
        ++aNamedCount;
        auto it = bNamed.find(va.name);
        if (it == bNamed.end()) return where + ": value " + inQuotes(va.name) + " is missing from the second";
        if (auto d = compareValues(va, b.values[it->second], o, where + " > value " + inQuotes(va.name)))
            return d;
    }
    if (aNamedCount != bNamed.size()) {
        for (const auto& vb : b.values)
            if (!vb.name.empty() && a.findValue(vb.name) < 0)
                return where + ": value " + inQuotes(vb.name) + " is missing from the first";
        return where + ": " + std::to_string(aNamedCount) + " vs " + std::to_string(bNamed.size()) +
               " named values";
    }
    if (aUnnamed.size() != bUnnamed.size())
        return where + ": " + std::to_string(aUnnamed.size()) + " vs " + std::to_string(bUnnamed.size()) +
               " unnamed values";
    for (size_t k = 0; k < aUnnamed.size(); ++k)
        if (auto d = compareValues(a.values[aUnnamed[k]], b.values[bUnnamed[k]], o,
                                   where + " > unnamed value #" + std::to_string(k)))
            return d;

    if (a.nodes.size() != b.nodes.size())
        return where + ": " + std::to_string(a.nodes.size()) + " vs " + std::to_string(b.nodes.size()) +
               " nodes";
    for (size_t i = 0; i < a.nodes.size(); ++i) {
        const Node &na = a.nodes[i], &nb = b.nodes[i];
        const std::string nw = where + " > " + nodeLabel(na, i);
        if (na.opType != nb.opType || na.domain != nb.domain)
            return nw + ": op " + nodeLabel(na, i) + " vs " + nodeLabel(nb, i);
        if (na.name != nb.name) return nw + ": name " + inQuotes(na.name) + " vs " + inQuotes(nb.name);
        if (o.docStrings && na.docString != nb.docString) return nw + ": doc string differs";
        if (auto d = compareRefs(na.inputs, nb.inputs, ka, kb, nw + ": input")) return d;
        if (auto d = compareRefs(na.outputs, nb.outputs, ka, kb, nw + ": output")) return d;
        if (na.attributes.size() != nb.attributes.size())
            return nw + ": " + std::to_string(na.attributes.size()) + " vs " +
                   std::to_string(nb.attributes.size()) + " attributes";
        for (size_t k = 0; k < na.attributes.size(); ++k) {
            const auto& [keyA, attA] = na.attributes[k];
            const auto& [keyB, attB] = nb.attributes[k];
            if (keyA != keyB)
                return nw + ": attribute " + std::to_string(k) + " is " + inQuotes(keyA) + " vs " +
                       inQuotes(keyB);
            if (auto d = compareAttributes(attA, attB, o, nw + " > attribute " + inQuotes(keyA))) return d;
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> firstDifference(const Tensor& a, const Tensor& b, bool compareData) {
    return compareTensors(a, b, compareData);
}

std::optional<std::string> firstDifference(const Graph& a, const Graph& b, const ModelCompareOptions& opts) {
    return compareGraphs(a, b, opts, "");
}

std::optional<std::string> firstDifference(const Model& a, const Model& b, const ModelCompareOptions& o) {
    auto field = [](const char* what, const std::string& x, const std::string& y) -> Diff {
        if (x != y) return std::string("model ") + what + " " + inQuotes(x) + " vs " + inQuotes(y);
        return std::nullopt;
    };
    auto number = [](const char* what, int64_t x, int64_t y) -> Diff {
        if (x != y)
            return std::string("model ") + what + " " + std::to_string(x) + " vs " + std::to_string(y);
        return std::nullopt;
    };
    if (o.modelFields) {
        if (auto d = field("name", a.name, b.name)) return d;
        if (auto d = field("producer", a.producer, b.producer)) return d;
        if (auto d = field("producer version", a.producerVersion, b.producerVersion)) return d;
        if (auto d = field("domain", a.domain, b.domain)) return d;
        if (auto d = number("IR version", a.irVersion, b.irVersion)) return d;
        if (auto d = number("version", a.modelVersion, b.modelVersion)) return d;
        if (a.opsets.size() != b.opsets.size())
            return "model opsets: " + std::to_string(a.opsets.size()) + " vs " +
                   std::to_string(b.opsets.size()) + " entries";
        for (size_t i = 0; i < a.opsets.size(); ++i)
            if (a.opsets[i] != b.opsets[i])
                return "model opset " + std::to_string(i) + ": " + inQuotes(a.opsets[i].first) + " " +
                       std::to_string(a.opsets[i].second) + " vs " + inQuotes(b.opsets[i].first) + " " +
                       std::to_string(b.opsets[i].second);
    }
    if (o.docStrings && a.docString != b.docString) return std::string("model doc string differs");
    if (o.metadata) {
        if (a.metadata.size() != b.metadata.size())
            return "metadata: " + std::to_string(a.metadata.size()) + " vs " +
                   std::to_string(b.metadata.size()) + " entries";
        for (size_t i = 0; i < a.metadata.size(); ++i) {
            const auto& [ka, va] = a.metadata[i];
            const auto& [kb, vb] = b.metadata[i];
            if (ka != kb)
                return "metadata entry " + std::to_string(i) + ": key " + inQuotes(ka) + " vs " +
                       inQuotes(kb);
            if (!(va == vb))
                return "metadata " + inQuotes(ka) + ": " + metaTypeName(va.type) + " " + va.toString() +
                       " vs " + metaTypeName(vb.type) + " " + vb.toString();
        }
    }
    return compareGraphs(a.graph, b.graph, o, "");
}

} // namespace by
