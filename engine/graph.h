#pragma once
// The model graph IR shared by every importer, view and pass. Values are referenced by index;
// a node's missing optional input is -1. Constants (initializers, Constant nodes folded by an
// importer when it chooses to) are values that carry a Tensor.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"

namespace by {

class Graph;

// One dimension of a value's shape: a number, or a named symbol ("batch"), or unknown.
struct Dim {
    int64_t value = -1;  // -1 when not a known number
    std::string param;   // symbolic name, if any
    bool known() const { return value >= 0; }
    static Dim of(int64_t v) { return Dim{v, {}}; }
    static Dim sym(std::string s) { return Dim{-1, std::move(s)}; }
    bool operator==(const Dim&) const = default;
};
using DimShape = std::vector<Dim>;
std::string dimShapeToString(const DimShape& s);  // "[N,3,48,?]"
DimShape toDimShape(const Shape& s);

struct Attribute {
    enum class Kind { Int, Float, String, Tensor, Graph, Ints, Floats, Strings, Tensors, Graphs };
    Kind kind = Kind::Int;
    int64_t i = 0;
    double f = 0;
    std::string s;
    by::Tensor t;
    std::shared_ptr<by::Graph> g;
    std::vector<int64_t> ints;
    std::vector<double> floats;
    std::vector<std::string> strings;
    std::vector<by::Tensor> tensors;
    std::vector<std::shared_ptr<by::Graph>> graphs;

    static Attribute ofInt(int64_t v) { Attribute a; a.kind = Kind::Int; a.i = v; return a; }
    static Attribute ofFloat(double v) { Attribute a; a.kind = Kind::Float; a.f = v; return a; }
    static Attribute ofString(std::string v) { Attribute a; a.kind = Kind::String; a.s = std::move(v); return a; }
    static Attribute ofInts(std::vector<int64_t> v) { Attribute a; a.kind = Kind::Ints; a.ints = std::move(v); return a; }
    static Attribute ofFloats(std::vector<double> v) { Attribute a; a.kind = Kind::Floats; a.floats = std::move(v); return a; }
    static Attribute ofTensor(by::Tensor v) { Attribute a; a.kind = Kind::Tensor; a.t = std::move(v); return a; }
    // Human-readable value for inspectors: "[1,1]", "0.5", "\"same\"".
    std::string toString(size_t maxItems = 16) const;
    bool operator==(const Attribute& o) const;
};
const char* attributeKindName(Attribute::Kind k);

struct Value {
    std::string name;
    DType dtype = DType::Undefined;
    std::optional<DimShape> shape;  // nullopt: unknown rank
    std::optional<Tensor> data;     // set for initializers and constants
    int producer = -1;              // node index, -1 for graph inputs and initializers
    std::vector<int> consumers;     // node indices (filled by Graph::rebuildLinks)
    std::string docString;
    // The data was computed from shapes (shape inference's constant folding), not loaded from the
    // file: it is not a weight, so parameter and byte counts skip it.
    bool folded = false;
};

struct Node {
    std::string name;
    std::string opType;
    std::string domain;  // "" = default ONNX domain
    std::vector<int> inputs;
    std::vector<int> outputs;
    std::vector<std::pair<std::string, Attribute>> attributes;  // in file order
    std::string docString;

    const Attribute* attr(const std::string& key) const;
    int64_t attrInt(const std::string& key, int64_t def) const;
    double attrFloat(const std::string& key, double def) const;
    std::vector<int64_t> attrInts(const std::string& key) const;
    std::string attrString(const std::string& key, const std::string& def = {}) const;
    void setAttr(const std::string& key, Attribute a);
};

class Graph {
public:
    std::string name;
    std::vector<Value> values;
    std::vector<Node> nodes;
    std::vector<int> inputs;   // value indices of runtime inputs (initializers excluded)
    std::vector<int> outputs;  // value indices
    std::string docString;

    // Index of the value named `n`, adding an empty one if none exists. Names are unique.
    int valueId(const std::string& n);
    int findValue(const std::string& n) const;  // -1 when absent
    int addValue(Value v);                      // asserts the name is new (empty names allowed)
    int addNode(Node n);                        // returns the node index
    int addInitializer(const std::string& n, Tensor t);

    // Recomputes producer/consumer links; fails when a value is produced twice or an index is
    // out of range.
    Status rebuildLinks();
    // Node indices in dependency order; fails naming a node on a cycle.
    Result<std::vector<int>> topologicalOrder() const;
    // Checks indices, single producers and acyclicity, recursively into subgraphs.
    Status validate() const;

    // Values that carry data, counted once each, including inside subgraphs; folded values are
    // not weights and are skipped.
    int64_t parameterCount() const;
    int64_t weightBytes() const;
    size_t nodeCountRecursive() const;
    // op type -> count (recursively into subgraphs)
    std::map<std::string, int64_t> opHistogram() const;

    // Rebuilds the name index after `values` was edited directly.
    void rebuildIndex();

private:
    std::map<std::string, int> m_index;
};

// Typed metadata entry, rich enough to round-trip GGUF key/values exactly.
struct MetaValue {
    enum class Type : uint8_t { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 };
    Type type = Type::String;
    Type arrayType = Type::U8;  // element type when type == Array
    int64_t i = 0;              // all integer types and bool (u64 stored bit-for-bit)
    double f = 0;
    std::string s;
    std::vector<int64_t> ints;         // integer arrays
    std::vector<double> floats;        // float arrays
    std::vector<std::string> strings;  // string arrays
    std::vector<MetaValue> items;      // arrays of arrays

    static MetaValue ofString(std::string v) { MetaValue m; m.type = Type::String; m.s = std::move(v); return m; }
    static MetaValue ofInt(Type t, int64_t v) { MetaValue m; m.type = t; m.i = v; return m; }
    static MetaValue ofFloat(Type t, double v) { MetaValue m; m.type = t; m.f = v; return m; }
    size_t arraySize() const;
    std::string toString(size_t maxItems = 8) const;
    bool operator==(const MetaValue&) const = default;
};
const char* metaTypeName(MetaValue::Type t);

struct Model {
    std::string format;      // "onnx", "tflite", "gguf", "safetensors"
    std::string sourcePath;  // where it was loaded from ("" when built in memory)
    std::string name;
    std::string producer;
    std::string producerVersion;
    std::string domain;
    std::string docString;
    int64_t irVersion = 0;
    int64_t modelVersion = 0;
    std::vector<std::pair<std::string, int64_t>> opsets;  // domain -> version
    std::vector<std::pair<std::string, MetaValue>> metadata;
    Graph graph;
    std::vector<std::string> warnings;  // non-fatal problems found while loading

    const MetaValue* meta(const std::string& key) const;
};

struct ModelSummary {
    std::string format;
    int64_t nodes = 0;
    int64_t values = 0;
    int64_t parameters = 0;
    int64_t weightBytes = 0;
    int64_t tensorsWithData = 0;
    std::map<std::string, int64_t> ops;
    std::map<std::string, int64_t> dtypeBytes;  // dtype name -> bytes of weights in it
};
ModelSummary summarize(const Model& m);

}  // namespace by
