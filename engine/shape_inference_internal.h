#pragma once
// Internal to the shape inference pass (shape_inference*.cpp): the per-node context that op rules
// read inputs and attributes from and write outputs to, dimension arithmetic, and the small
// tensors the constant folder works on. Not part of the engine's public API.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/shape_inference.h"

namespace by::shape_inference {

// One element of a folded tensor: a number, a named dimension ("N", from Shape of a symbolic
// input) or unknown.
struct FoldElem {
    bool known = false;
    int64_t i = 0;    // integer and bool dtypes
    double f = 0;     // float dtypes
    std::string sym;  // set when !known and the element is a named dimension

    static FoldElem ofInt(int64_t v) { FoldElem e; e.known = true; e.i = v; return e; }
    static FoldElem ofFloat(double v) { FoldElem e; e.known = true; e.f = v; return e; }
    static FoldElem ofDim(const Dim& d);
    static FoldElem unknown() { return FoldElem{}; }
    bool operator==(const FoldElem&) const = default;
};

// A small tensor of known shape whose elements may be partly known.
struct FoldValue {
    DType dtype = DType::I64;
    Shape shape;
    std::vector<FoldElem> elems;  // row-major, shapeNumel(shape) of them

    bool isFloat() const;
    bool fullyKnown() const;
    int64_t numel() const { return static_cast<int64_t>(elems.size()); }
};

bool isFloatType(DType t);
bool isIntegerLike(DType t);  // plain integers and bool (exactly representable in int64)
// Reads a plain numeric tensor (at most maxElems elements); nullopt for other dtypes or when larger.
std::optional<FoldValue> foldFromTensor(const Tensor& t, int64_t maxElems);
// A fully known fold as a tensor of its dtype; nullopt when not fully known or not representable.
std::optional<Tensor> foldToTensor(const FoldValue& v);
// Converts one element to `to` with Cast semantics (float -> int truncates toward zero).
FoldElem castElem(const FoldElem& e, DType from, DType to);

// Dimension arithmetic that keeps symbols where the result is certain.
Dim dimMul(const Dim& a, const Dim& b);
Dim dimProduct(const DimShape& s, size_t begin, size_t end);  // product of s[begin, end)
Dim dimAdd(const Dim& a, int64_t c);
bool dimsConflict(const Dim& a, const Dim& b);  // both numbers and different
// Dimension from a folded shape element (Reshape's target, Expand's shape...).
Dim dimFromElem(const FoldElem& e);
// Ceil/floor division on non-negative numerators with positive divisors.
inline int64_t ceilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The elements one axis of Slice keeps: start, start+step, ... (count of them), with ONNX's
// clamping of starts and ends; nullopt when step is 0.
struct SliceRange {
    int64_t start = 0;
    int64_t step = 1;
    int64_t count = 0;
};
std::optional<SliceRange> sliceRange(int64_t dim, int64_t start, int64_t end, int64_t step);

class NodeContext;

// Multidirectional (numpy) broadcast of the given shapes. Known dimensions other than 1 must
// agree; a conflict warns through ctx (when given) and yields nullopt.
std::optional<DimShape> broadcastShapes(const std::vector<const DimShape*>& shapes, NodeContext* ctx);

// Reshape target resolution shared by ONNX Reshape, TFLite RESHAPE and the folder: `target`
// elements may be numbers, symbols or unknown; 0 copies the input dimension unless allowZero;
// one -1 is inferred from the element count (cancelling matching symbols).
std::optional<DimShape> resolveReshape(const DimShape* input, const std::vector<FoldElem>& target, bool allowZero,
                                       NodeContext& ctx);

// numpy matmul shape (1-D operands promoted and dropped again, batch dims broadcast).
std::optional<DimShape> matmulShape(NodeContext& c, const DimShape* a, const DimShape* b);
// Concatenation along `axis` (may be negative); a null entry is an input of unknown shape.
std::optional<DimShape> concatShapes(NodeContext& c, const std::vector<const DimShape*>& shapes, int64_t axis,
                                     const char* field);

class NodeContext {
public:
    NodeContext(Graph& g, int nodeIndex, const std::string& where, const ShapeInferenceOptions& opts,
                ShapeInferenceResult& result, std::map<int, FoldValue>& folds);

    const Node& node() const { return m_node; }
    const ShapeInferenceOptions& options() const { return m_opts; }
    Graph& graph() { return m_g; }

    // Inputs. An input is absent when its index is past the list, -1, or out of range.
    size_t inputCount() const { return m_node.inputs.size(); }
    bool hasInput(size_t i) const;
    const Value* input(size_t i) const;
    DType inType(size_t i) const;
    const DimShape* inShape(size_t i) const;  // nullptr when the rank is unknown
    int64_t inRank(size_t i) const;           // -1 when unknown
    // Constant or partially known small tensor feeding input i.
    const FoldValue* inFold(size_t i);
    // Every element known and integer-like (or float holding integers when allowFloat).
    std::optional<std::vector<int64_t>> inInts(size_t i);
    std::optional<std::vector<double>> inFloats(size_t i);
    // Absent, or a known tensor with no elements (Resize's unused roi/scales).
    bool inIsEmpty(size_t i);

    // Attributes: absent -> def; present with an unexpected kind -> warning and nullopt.
    bool has(const char* key) const { return m_node.attr(key) != nullptr; }
    std::optional<int64_t> attrInt(const char* key, int64_t def);
    std::optional<double> attrFloat(const char* key, double def);
    std::optional<std::string> attrString(const char* key, const std::string& def);
    std::optional<std::vector<int64_t>> attrInts(const char* key, std::vector<int64_t> def = {});
    const Attribute* attr(const char* key) const { return m_node.attr(key); }

    // Outputs. Merges with any declared shape (see shape_inference.h).
    size_t outputCount() const { return m_node.outputs.size(); }
    bool hasOutput(size_t i) const;
    void setOutput(size_t i, DType dtype, std::optional<DimShape> shape);
    void setOutputType(size_t i, DType dtype) { setOutput(i, dtype, std::nullopt); }
    // A folded value: sets dtype and shape, remembers the elements for later nodes and stores a
    // fully known result as the value's (folded) data.
    void setOutputFold(size_t i, FoldValue v);

    void warn(const std::string& field, const std::string& message);
    // Axis in [-rank, rank) normalised to [0, rank); warns naming `field` and returns nullopt
    // when out of range.
    std::optional<int64_t> normAxis(int64_t axis, int64_t rank, const char* field);
    std::optional<std::vector<int64_t>> normAxes(const std::vector<int64_t>& axes, int64_t rank, const char* field,
                                                 bool unique = true);

private:
    Graph& m_g;
    const Node& m_node;
    std::string m_where;
    const ShapeInferenceOptions& m_opts;
    ShapeInferenceResult& m_result;
    std::map<int, FoldValue>& m_folds;
};

// Small helpers the op rules share.
inline std::optional<DimShape> shapeOf(NodeContext& c, size_t i) {
    const DimShape* s = c.inShape(i);
    return s ? std::optional<DimShape>(*s) : std::nullopt;
}
inline DimShape unknownDims(size_t rank) { return DimShape(rank, Dim{}); }
// The dtype of the first input that has one, from input `first` on.
DType firstKnownType(NodeContext& c, size_t first);
// Integer list from an input (newer opsets) or else an attribute (older ones). `present` says
// whether either source exists; nullopt with present == true means "given but not known".
std::optional<std::vector<int64_t>> intsFromInputOrAttr(NodeContext& c, size_t input, const char* key,
                                                        bool& present);
// A shape-valued input (Expand, ConstantOfShape): numbers, symbols or unknown per element; only
// the length when the values are not known.
std::optional<std::vector<Dim>> shapeInput(NodeContext& c, size_t i);

using Rule = void (*)(NodeContext&);
// Op type -> rule, per domain family.
const std::map<std::string, Rule>& onnxRules();
void addOnnxLayoutRules(std::map<std::string, Rule>& rules);  // shape_inference_onnx_layout.cpp
const std::map<std::string, Rule>& tfliteRules();
// Evaluates the node when its inputs are known enough; true when it set every output.
bool foldNode(NodeContext& ctx);

}  // namespace by::shape_inference
