#include "engine/shape_inference.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace by;

namespace {

// "[N,3,?,5]" -> DimShape: numbers, "?" for unknown, anything else a symbol.
DimShape dims(const std::string& text) {
    DimShape out;
    std::string s = text;
    if (!s.empty() && s.front() == '[') s = s.substr(1, s.size() - 2);
    if (s.empty()) return out;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t comma = s.find(',', pos);
        const std::string tok = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (tok == "?") out.push_back(Dim{});
        else if (!tok.empty() && (std::isdigit(static_cast<unsigned char>(tok[0])) != 0))
            out.push_back(Dim::of(std::stoll(tok)));
        else out.push_back(Dim::sym(tok));
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

Attribute ints(std::vector<int64_t> v) { return Attribute::ofInts(std::move(v)); }
Attribute i(int64_t v) { return Attribute::ofInt(v); }
Attribute str(std::string v) { return Attribute::ofString(std::move(v)); }

Tensor i64(std::vector<int64_t> v, Shape shape = {}) {
    if (shape.empty() && v.size() != 1) shape = {static_cast<int64_t>(v.size())};
    if (shape.empty()) return Tensor::fromInt64s({}, v);
    return Tensor::fromInt64s(shape, v);
}
Tensor vec64(std::vector<int64_t> v) { return Tensor::fromInt64s({static_cast<int64_t>(v.size())}, v); }
Tensor f32(std::vector<float> v, Shape shape) { return Tensor::fromFloats(shape, v); }
Tensor weights(Shape shape) { return std::move(Tensor::zeros(DType::F32, shape)).value(); }

struct Builder {
    Graph g;
    std::string domain;

    int input(const std::string& name, const std::string& shape, DType dt = DType::F32) {
        const int id = g.valueId(name);
        g.values[static_cast<size_t>(id)].dtype = dt;
        g.values[static_cast<size_t>(id)].shape = dims(shape);
        g.inputs.push_back(id);
        return id;
    }
    int inputUnknown(const std::string& name, DType dt = DType::F32) {
        const int id = g.valueId(name);
        g.values[static_cast<size_t>(id)].dtype = dt;
        g.inputs.push_back(id);
        return id;
    }
    void init(const std::string& name, Tensor t) { g.addInitializer(name, std::move(t)); }
    int node(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs,
             std::vector<std::pair<std::string, Attribute>> attrs = {}) {
        Node n;
        n.opType = op;
        n.domain = domain;
        n.name = op + "_" + std::to_string(g.nodes.size());
        for (const auto& s : ins) n.inputs.push_back(s.empty() ? -1 : g.valueId(s));
        for (const auto& s : outs) n.outputs.push_back(g.valueId(s));
        n.attributes = std::move(attrs);
        return g.addNode(std::move(n));
    }
    const Value& v(const std::string& name) const {
        const int id = g.findValue(name);
        EXPECT_GE(id, 0) << name;
        return g.values[static_cast<size_t>(id)];
    }
    std::string shape(const std::string& name) const {
        const Value& val = v(name);
        return val.shape ? dimShapeToString(*val.shape) : "unknown";
    }
    DType dtype(const std::string& name) const { return v(name).dtype; }
    ShapeInferenceResult run(ShapeInferenceOptions opts = {}) {
        EXPECT_TRUE(g.rebuildLinks().ok());
        auto r = inferShapes(g, opts);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
        return r.ok() ? *r : ShapeInferenceResult{};
    }
};

std::string joined(const std::vector<std::string>& w) {
    std::string s;
    for (const auto& x : w) s += x + "\n";
    return s;
}

bool anyWarningHas(const ShapeInferenceResult& r, const std::vector<std::string>& parts) {
    for (const auto& w : r.warnings) {
        bool all = true;
        for (const auto& p : parts) all = all && w.find(p) != std::string::npos;
        if (all) return true;
    }
    return false;
}

std::vector<int64_t> dataInts(const Value& v) {
    std::vector<int64_t> out;
    if (!v.data) return out;
    auto f = v.data->toFloats();
    for (float x : *f) out.push_back(static_cast<int64_t>(x));
    return out;
}

}  // namespace

// ---- elementwise and broadcast ----------------------------------------------------------------

TEST(ShapeInference, BroadcastKeepsSymbolicBatch) {
    Builder b;
    b.input("x", "[N,3,1,5]");
    b.input("y", "[4,1]");
    b.input("z", "[N,1]");
    b.input("w", "[1,M]");
    b.node("Add", {"x", "y"}, {"a"});
    b.node("Mul", {"z", "w"}, {"m"});
    b.node("Greater", {"x", "y"}, {"g"});
    b.node("Where", {"g", "x", "y"}, {"s"});
    b.node("Sum", {"x", "y", "x"}, {"sum"});
    auto r = b.run();
    EXPECT_EQ(b.shape("a"), "[N,3,4,5]");
    EXPECT_EQ(b.dtype("a"), DType::F32);
    EXPECT_EQ(b.shape("m"), "[N,M]");
    EXPECT_EQ(b.shape("g"), "[N,3,4,5]");
    EXPECT_EQ(b.dtype("g"), DType::Bool);
    EXPECT_EQ(b.shape("s"), "[N,3,4,5]");
    EXPECT_EQ(b.dtype("s"), DType::F32);
    EXPECT_EQ(b.shape("sum"), "[N,3,4,5]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, BroadcastSymbolAgainstNumberAndOne) {
    Builder b;
    b.input("x", "[N,8]");
    b.input("y", "[N,1]");
    b.input("z", "[5,1]");
    b.input("u", "[?,8]");
    b.node("Sub", {"x", "y"}, {"a"});
    b.node("Div", {"y", "z"}, {"c"});  // N must be 5 (or 1)
    b.node("Max", {"x", "u"}, {"d"});
    b.run();
    EXPECT_EQ(b.shape("a"), "[N,8]");
    EXPECT_EQ(b.shape("c"), "[5,1]");
    EXPECT_EQ(b.shape("d"), "[?,8]");
}

TEST(ShapeInference, BroadcastConflictWarns) {
    Builder b;
    b.input("x", "[2,3]");
    b.input("y", "[4]");
    b.node("Add", {"x", "y"}, {"a"});
    auto r = b.run();
    EXPECT_EQ(b.shape("a"), "unknown");
    EXPECT_EQ(b.dtype("a"), DType::F32);
    EXPECT_TRUE(anyWarningHas(r, {"node 0 (Add", "broadcast"})) << joined(r.warnings);
}

TEST(ShapeInference, UnaryOpsKeepShapeAndCastChangesType) {
    Builder b;
    b.input("x", "[N,C,7]");
    const char* ops[] = {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Erf", "Neg", "Abs", "HardSigmoid",
                         "HardSwish", "LeakyRelu", "Clip", "Softmax", "LogSoftmax", "Gelu", "Identity",
                         "InstanceNormalization", "Floor", "Ceil", "Round", "Reciprocal", "Sin", "Cos"};
    std::string prev = "x";
    int k = 0;
    for (const char* op : ops) {
        const std::string out = "u" + std::to_string(k++);
        b.node(op, {prev}, {out});
        prev = out;
    }
    b.node("Cast", {prev}, {"c"}, {{"to", i(7)}});
    b.node("Not", {"c"}, {"n"});
    b.node("Dropout", {"x"}, {"d", "mask"});
    b.node("BatchNormalization", {"x", "", "", "", ""}, {"bn"});
    b.node("LayerNormalization", {"x", "", ""}, {"ln", "mean", "istd"}, {{"axis", i(-1)}});
    b.node("IsNaN", {"x"}, {"nan"});
    auto r = b.run();
    EXPECT_EQ(b.shape(prev), "[N,C,7]");
    EXPECT_EQ(b.dtype(prev), DType::F32);
    EXPECT_EQ(b.shape("c"), "[N,C,7]");
    EXPECT_EQ(b.dtype("c"), DType::I64);
    EXPECT_EQ(b.shape("d"), "[N,C,7]");
    EXPECT_EQ(b.dtype("mask"), DType::Bool);
    EXPECT_EQ(b.shape("bn"), "[N,C,7]");
    EXPECT_EQ(b.shape("ln"), "[N,C,7]");
    EXPECT_EQ(b.shape("mean"), "[N,C,1]");
    EXPECT_EQ(b.dtype("nan"), DType::Bool);
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, QuantizeAndDequantizeTypes) {
    Builder b;
    b.input("x", "[1,4]");
    b.init("s", f32({0.5f}, {}));
    b.init("zp", Tensor::fromBytes(DType::I8, {}, {0}).value());
    b.node("QuantizeLinear", {"x", "s", "zp"}, {"q"});
    b.node("DequantizeLinear", {"q", "s", "zp"}, {"dq"});
    b.run();
    EXPECT_EQ(b.dtype("q"), DType::I8);
    EXPECT_EQ(b.shape("q"), "[1,4]");
    EXPECT_EQ(b.dtype("dq"), DType::F32);
}

// ---- convolution and pooling ------------------------------------------------------------------

TEST(ShapeInference, ConvPadsStridesDilationsGroups) {
    Builder b;
    b.input("x", "[N,3,224,224]");
    b.init("w", weights({64, 3, 7, 7}));
    b.node("Conv", {"x", "w"}, {"c1"}, {{"strides", ints({2, 2})}, {"pads", ints({3, 3, 3, 3})}});
    b.input("x2", "[1,8,32,32]");
    b.init("w2", weights({16, 8, 3, 3}));
    b.node("Conv", {"x2", "w2"}, {"c2"}, {{"dilations", ints({2, 2})}});
    b.input("x3", "[1,32,10,10]");
    b.init("w3", weights({32, 1, 3, 3}));
    b.node("Conv", {"x3", "w3"}, {"c3"}, {{"group", i(32)}, {"pads", ints({1, 1, 1, 1})}});
    b.input("x4", "[1,4,15,16]");
    b.init("w4", weights({6, 4, 3, 3}));
    b.node("Conv", {"x4", "w4"}, {"c4"}, {{"auto_pad", str("SAME_UPPER")}, {"strides", ints({2, 2})}});
    b.node("Conv", {"x4", "w4"}, {"c5"}, {{"auto_pad", str("VALID")}, {"strides", ints({2, 2})}});
    b.node("Conv", {"x4", "w4"}, {"c6"}, {{"kernel_shape", ints({3, 3})}, {"pads", ints({0, 1, 2, 1})}});
    b.input("x7", "[N,16,H,W]");
    b.init("w7", weights({16, 16, 3, 3}));
    b.node("Conv", {"x7", "w7"}, {"c7"}, {{"pads", ints({1, 1, 1, 1})}});
    b.node("Conv", {"x7", "w7"}, {"c8"}, {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}});
    b.input("x9", "[2,4,100]");
    b.init("w9", weights({8, 4, 5}));
    b.node("Conv", {"x9", "w9"}, {"c9"}, {{"strides", ints({3})}});
    auto r = b.run();
    EXPECT_EQ(b.shape("c1"), "[N,64,112,112]");
    EXPECT_EQ(b.shape("c2"), "[1,16,28,28]");
    EXPECT_EQ(b.shape("c3"), "[1,32,10,10]");
    EXPECT_EQ(b.shape("c4"), "[1,6,8,8]");
    EXPECT_EQ(b.shape("c5"), "[1,6,7,7]");
    EXPECT_EQ(b.shape("c6"), "[1,6,15,16]");
    EXPECT_EQ(b.shape("c7"), "[N,16,H,W]");  // 3x3, pad 1, stride 1 keeps the symbols
    EXPECT_EQ(b.shape("c8"), "[N,16,?,?]");
    EXPECT_EQ(b.shape("c9"), "[2,8,32]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, ConvChannelMismatchWarnsButInfers) {
    Builder b;
    b.input("x", "[1,5,8,8]");
    b.init("w", weights({4, 3, 3, 3}));
    b.node("Conv", {"x", "w"}, {"y"});
    auto r = b.run();
    EXPECT_EQ(b.shape("y"), "[1,4,6,6]");
    EXPECT_TRUE(anyWarningHas(r, {"node 0 (Conv", "input channels"})) << joined(r.warnings);
}

TEST(ShapeInference, ConvTranspose) {
    Builder b;
    b.input("x", "[1,16,8,8]");
    b.init("w", weights({16, 8, 4, 4}));
    b.node("ConvTranspose", {"x", "w"}, {"y1"}, {{"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}});
    b.node("ConvTranspose", {"x", "w"}, {"y2"},
           {{"strides", ints({2, 2})}, {"output_padding", ints({1, 0})}, {"group", i(2)}});
    b.node("ConvTranspose", {"x", "w"}, {"y3"}, {{"output_shape", ints({20, 21})}, {"strides", ints({2, 2})}});
    b.node("ConvTranspose", {"x", "w"}, {"y4"}, {{"auto_pad", str("SAME_UPPER")}, {"strides", ints({2, 2})}});
    auto r = b.run();
    EXPECT_EQ(b.shape("y1"), "[1,8,16,16]");
    EXPECT_EQ(b.shape("y2"), "[1,16,19,18]");
    EXPECT_EQ(b.shape("y3"), "[1,8,20,21]");
    EXPECT_EQ(b.shape("y4"), "[1,8,16,16]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, PoolsWithCeilModeAndPads) {
    Builder b;
    b.input("x", "[N,64,112,112]");
    b.node("MaxPool", {"x"}, {"p1", "idx"},
           {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}});
    b.input("x2", "[1,1,6,6]");
    b.node("MaxPool", {"x2"}, {"p2"}, {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}});
    b.node("MaxPool", {"x2"}, {"p3"},
           {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", i(1)}});
    b.input("x3", "[1,1,5,5]");
    // ceil would give 4, but the fourth window would start in the end padding: 3.
    b.node("AveragePool", {"x3"}, {"p4"},
           {{"kernel_shape", ints({2, 2})},
            {"strides", ints({2, 2})},
            {"pads", ints({1, 1, 1, 1})},
            {"ceil_mode", i(1)}});
    b.node("AveragePool", {"x3"}, {"p5"}, {{"kernel_shape", ints({3, 2})}, {"strides", ints({3, 2})}});
    b.node("MaxPool", {"x3"}, {"p6"},
           {{"kernel_shape", ints({2, 2})}, {"auto_pad", str("SAME_UPPER")}, {"strides", ints({2, 2})}});
    b.node("GlobalAveragePool", {"x"}, {"g"});
    b.node("GlobalMaxPool", {"x3"}, {"g2"});
    auto r = b.run();
    EXPECT_EQ(b.shape("p1"), "[N,64,56,56]");
    EXPECT_EQ(b.shape("idx"), "[N,64,56,56]");
    EXPECT_EQ(b.dtype("idx"), DType::I64);
    EXPECT_EQ(b.shape("p2"), "[1,1,2,2]");
    EXPECT_EQ(b.shape("p3"), "[1,1,3,3]");
    EXPECT_EQ(b.shape("p4"), "[1,1,3,3]");
    EXPECT_EQ(b.shape("p5"), "[1,1,1,2]");
    EXPECT_EQ(b.shape("p6"), "[1,1,3,3]");
    EXPECT_EQ(b.shape("g"), "[N,64,1,1]");
    EXPECT_EQ(b.shape("g2"), "[1,1,1,1]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

// ---- matrix products --------------------------------------------------------------------------

TEST(ShapeInference, GemmTransposes) {
    Builder b;
    b.input("a", "[N,512]");
    b.init("w", weights({1000, 512}));
    b.init("bias", weights({1000}));
    b.node("Gemm", {"a", "w", "bias"}, {"y"}, {{"transB", i(1)}});
    b.input("at", "[64,M]");
    b.init("w2", weights({64, 10}));
    b.node("Gemm", {"at", "w2"}, {"y2"}, {{"transA", i(1)}});
    auto r = b.run();
    EXPECT_EQ(b.shape("y"), "[N,1000]");
    EXPECT_EQ(b.shape("y2"), "[M,10]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, MatMulBatchedAndOneDimensional) {
    Builder b;
    b.input("a", "[2,1,3,4]");
    b.input("b", "[5,4,6]");
    b.input("v", "[4]");
    b.input("m", "[4,6]");
    b.input("m2", "[3,4]");
    b.input("s", "[B,T,64]");
    b.init("w", weights({64, 128}));
    b.node("MatMul", {"a", "b"}, {"y1"});
    b.node("MatMul", {"v", "m"}, {"y2"});
    b.node("MatMul", {"m2", "v"}, {"y3"});
    b.node("MatMul", {"v", "v"}, {"y4"});
    b.node("MatMul", {"s", "w"}, {"y5"});
    b.node("MatMul", {"m", "m"}, {"bad"});
    auto r = b.run();
    EXPECT_EQ(b.shape("y1"), "[2,5,3,6]");
    EXPECT_EQ(b.shape("y2"), "[6]");
    EXPECT_EQ(b.shape("y3"), "[3]");
    EXPECT_EQ(b.shape("y4"), "[]");
    EXPECT_EQ(b.shape("y5"), "[B,T,128]");
    EXPECT_EQ(b.shape("bad"), "unknown");
    EXPECT_TRUE(anyWarningHas(r, {"node 5 (MatMul", "inner dimensions"})) << joined(r.warnings);
}

// ---- layout -----------------------------------------------------------------------------------

TEST(ShapeInference, ReshapeWithZeroAndMinusOne) {
    Builder b;
    b.input("x", "[N,3,4,5]");
    b.init("s1", vec64({0, -1}));
    b.node("Reshape", {"x", "s1"}, {"r1"});
    b.input("y", "[4,6]");
    b.init("s2", vec64({2, -1}));
    b.node("Reshape", {"y", "s2"}, {"r2"});
    b.input("z", "[N,8,4]");
    b.init("s3", vec64({0, -1, 2}));
    b.node("Reshape", {"z", "s3"}, {"r3"});
    b.init("s4", vec64({-1, 32}));
    b.node("Reshape", {"z", "s4"}, {"r4"});  // -1 is N
    b.input("e", "[0,3]");
    b.init("s5", vec64({3, 0}));
    b.node("Reshape", {"e", "s5"}, {"r5"}, {{"allowzero", i(1)}});
    b.node("Reshape", {"y"}, {"r6"}, {{"shape", ints({3, 8})}});  // opset 1: attribute
    b.init("s7", vec64({4, 2}));
    b.node("Reshape", {"y", "s7"}, {"bad"});
    b.input("dyn", "[3]", DType::I64);
    b.node("Reshape", {"y", "dyn"}, {"r8"});
    auto r = b.run();
    EXPECT_EQ(b.shape("r1"), "[N,60]");
    EXPECT_EQ(b.shape("r2"), "[2,12]");
    EXPECT_EQ(b.shape("r3"), "[N,16,2]");
    EXPECT_EQ(b.shape("r4"), "[N,32]");
    EXPECT_EQ(b.shape("r5"), "[3,0]");
    EXPECT_EQ(b.shape("r6"), "[3,8]");
    EXPECT_EQ(b.shape("bad"), "unknown");
    EXPECT_EQ(b.shape("r8"), "[?,?,?]");
    EXPECT_TRUE(anyWarningHas(r, {"(Reshape", "cannot reshape [4,6]"})) << joined(r.warnings);
}

TEST(ShapeInference, FlattenSqueezeUnsqueezeTranspose) {
    Builder b;
    b.input("x", "[N,3,4,5]");
    b.node("Flatten", {"x"}, {"f1"});
    b.node("Flatten", {"x"}, {"f2"}, {{"axis", i(-1)}});
    b.node("Flatten", {"x"}, {"f3"}, {{"axis", i(0)}});
    b.input("o", "[1,3,1,5]");
    b.node("Squeeze", {"o"}, {"sq1"});
    b.node("Squeeze", {"o"}, {"sq2"}, {{"axes", ints({-2})}});  // opset < 13
    b.init("ax", vec64({0}));
    b.node("Squeeze", {"o", "ax"}, {"sq3"});  // opset >= 13
    b.node("Unsqueeze", {"x"}, {"un1"}, {{"axes", ints({0, -1})}});
    b.init("ax2", vec64({1}));
    b.node("Unsqueeze", {"x", "ax2"}, {"un2"});
    b.node("Transpose", {"x"}, {"t1"});
    b.node("Transpose", {"x"}, {"t2"}, {{"perm", ints({0, 2, 3, 1})}});
    b.input("u", "[N,1,?]");
    b.node("Squeeze", {"u"}, {"sq4"});  // cannot tell whether ? is 1
    auto r = b.run();
    EXPECT_EQ(b.shape("f1"), "[N,60]");
    EXPECT_EQ(b.shape("f2"), "[?,5]");
    EXPECT_EQ(b.shape("f3"), "[1,?]");
    EXPECT_EQ(b.shape("sq1"), "[3,5]");
    EXPECT_EQ(b.shape("sq2"), "[1,3,5]");
    EXPECT_EQ(b.shape("sq3"), "[3,1,5]");
    EXPECT_EQ(b.shape("un1"), "[1,N,3,4,5,1]");
    EXPECT_EQ(b.shape("un2"), "[N,1,3,4,5]");
    EXPECT_EQ(b.shape("t1"), "[5,4,3,N]");
    EXPECT_EQ(b.shape("t2"), "[N,4,5,3]");
    EXPECT_EQ(b.shape("sq4"), "unknown");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, ConcatAndSplit) {
    Builder b;
    b.input("a", "[N,3,8]");
    b.input("c", "[N,5,8]");
    b.node("Concat", {"a", "c"}, {"cat"}, {{"axis", i(1)}});
    b.node("Concat", {"a", "a"}, {"cat2"}, {{"axis", i(-1)}});
    b.input("x", "[N,5]");
    b.node("Split", {"x"}, {"s1", "s2"}, {{"axis", i(1)}, {"split", ints({2, 3})}});
    b.init("sp", vec64({4, 1}));
    b.node("Split", {"x", "sp"}, {"s3", "s4"}, {{"axis", i(-1)}});
    b.input("y", "[9,2]");
    b.node("Split", {"y"}, {"e1", "e2", "e3"});
    b.input("z", "[10]");
    b.node("Split", {"z"}, {"u1", "u2", "u3"}, {{"num_outputs", i(3)}});
    auto r = b.run();
    EXPECT_EQ(b.shape("cat"), "[N,8,8]");
    EXPECT_EQ(b.shape("cat2"), "[N,3,16]");
    EXPECT_EQ(b.shape("s1"), "[N,2]");
    EXPECT_EQ(b.shape("s2"), "[N,3]");
    EXPECT_EQ(b.shape("s3"), "[N,4]");
    EXPECT_EQ(b.shape("s4"), "[N,1]");
    EXPECT_EQ(b.shape("e3"), "[3,2]");
    EXPECT_EQ(b.shape("u1"), "[4]");
    EXPECT_EQ(b.shape("u2"), "[4]");
    EXPECT_EQ(b.shape("u3"), "[2]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, SliceNegativeStepsAndClamping) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    Builder b;
    b.input("x", "[10,N,6]");
    b.init("st1", vec64({-1}));
    b.init("en1", vec64({kMin}));
    b.init("ax0", vec64({0}));
    b.init("stepm1", vec64({-1}));
    b.node("Slice", {"x", "st1", "en1", "ax0", "stepm1"}, {"rev"});
    b.init("st2", vec64({8}));
    b.init("en2", vec64({1}));
    b.init("stepm3", vec64({-3}));
    b.node("Slice", {"x", "st2", "en2", "ax0", "stepm3"}, {"s2"});  // 8, 5, 2
    b.init("st3", vec64({2, -4}));
    b.init("en3", vec64({1000, kMax}));
    b.init("ax3", vec64({0, 2}));
    b.node("Slice", {"x", "st3", "en3", "ax3"}, {"s3"});
    b.init("z", vec64({0}));
    b.init("big", vec64({kMax}));
    b.init("ax1", vec64({1}));
    b.node("Slice", {"x", "z", "big", "ax1"}, {"s4"});  // the whole symbolic axis
    b.init("st5", vec64({1}));
    b.init("en5", vec64({3}));
    b.node("Slice", {"x", "st5", "en5", "ax1"}, {"s5"});
    b.node("Slice", {"x"}, {"s6"},
           {{"starts", ints({0, 1})}, {"ends", ints({3, 5})}, {"axes", ints({0, 2})}}); // opset 9
    b.input("dyn", "[1]", DType::I64);
    b.node("Slice", {"x", "dyn", "en5", "ax1"}, {"s7"});
    b.init("st8", vec64({5}));
    b.node("Slice", {"x", "st8", "en5", "ax0"}, {"empty"});
    auto r = b.run();
    EXPECT_EQ(b.shape("rev"), "[10,N,6]");
    EXPECT_EQ(b.shape("s2"), "[3,N,6]");
    EXPECT_EQ(b.shape("s3"), "[8,N,4]");
    EXPECT_EQ(b.shape("s4"), "[10,N,6]");
    EXPECT_EQ(b.shape("s5"), "[10,?,6]");
    EXPECT_EQ(b.shape("s6"), "[3,N,4]");
    EXPECT_EQ(b.shape("s7"), "[10,?,6]");
    EXPECT_EQ(b.shape("empty"), "[0,N,6]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, GatherAndGatherElements) {
    Builder b;
    b.input("x", "[N,5,7]");
    b.init("i0", i64({2}));
    b.node("Gather", {"x", "i0"}, {"g1"}, {{"axis", i(1)}});
    b.input("idx", "[2,3]", DType::I64);
    b.node("Gather", {"x", "idx"}, {"g2"});
    b.node("Gather", {"x", "idx"}, {"g3"}, {{"axis", i(-1)}});
    b.input("ge", "[N,5,2]", DType::I64);
    b.node("GatherElements", {"x", "ge"}, {"g4"}, {{"axis", i(2)}});
    auto r = b.run();
    EXPECT_EQ(b.shape("g1"), "[N,7]");
    EXPECT_EQ(b.shape("g2"), "[2,3,5,7]");
    EXPECT_EQ(b.shape("g3"), "[N,5,2,3]");
    EXPECT_EQ(b.shape("g4"), "[N,5,2]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, ReductionsAndArgMax) {
    Builder b;
    b.input("x", "[N,40,120]");
    b.node("ReduceMean", {"x"}, {"m1"}, {{"axes", ints({-1})}});
    b.node("ReduceMax", {"x"}, {"m2"}, {{"axes", ints({1, 2})}, {"keepdims", i(0)}});
    b.init("ax", vec64({1}));
    b.node("ReduceSum", {"x", "ax"}, {"m3"});  // opset 13: axes as input
    b.node("ReduceL2", {"x"}, {"m4"});
    b.node("ReduceProd", {"x"}, {"m5"}, {{"keepdims", i(0)}});
    b.init("none", Tensor::fromInt64s({0}, {}));
    b.node("ReduceSum", {"x", "none"}, {"m6"}, {{"noop_with_empty_axes", i(1)}});
    b.node("ArgMax", {"x"}, {"a1"}, {{"axis", i(1)}, {"keepdims", i(0)}});
    b.node("ArgMin", {"x"}, {"a2"}, {{"axis", i(-1)}});
    b.input("dynax", "[1]", DType::I64);
    b.node("ReduceMin", {"x", "dynax"}, {"m7"});
    auto r = b.run();
    EXPECT_EQ(b.shape("m1"), "[N,40,1]");
    EXPECT_EQ(b.shape("m2"), "[N]");
    EXPECT_EQ(b.shape("m3"), "[N,1,120]");
    EXPECT_EQ(b.shape("m4"), "[1,1,1]");
    EXPECT_EQ(b.shape("m5"), "[]");
    EXPECT_EQ(b.shape("m6"), "[N,40,120]");
    EXPECT_EQ(b.shape("a1"), "[N,120]");
    EXPECT_EQ(b.dtype("a1"), DType::I64);
    EXPECT_EQ(b.shape("a2"), "[N,40,1]");
    EXPECT_EQ(b.shape("m7"), "[?,?,?]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, ExpandTilePad) {
    Builder b;
    b.input("x", "[3,1]");
    b.init("es", vec64({2, 1, 6}));
    b.node("Expand", {"x", "es"}, {"e"});
    b.input("y", "[N,1,4]");
    b.init("es2", vec64({1, 5, 1}));
    b.node("Expand", {"y", "es2"}, {"e2"});
    b.input("t", "[3,4]");
    b.init("rep", vec64({2, 2}));
    b.node("Tile", {"t", "rep"}, {"tl"});
    b.input("img", "[1,3,4,4]");
    b.init("pads", vec64({0, 0, 1, 2, 0, 0, 1, 2}));
    b.node("Pad", {"img", "pads"}, {"p1"});
    b.node("Pad", {"img"}, {"p2"}, {{"pads", ints({0, 0, 2, 2, 0, 0, 2, 2})}});  // opset < 11
    b.init("crop", vec64({0, 0, -1, -1, 0, 0, -1, -1}));
    b.node("Pad", {"img", "crop"}, {"p3"});
    b.input("sym", "[N,C]");
    b.init("pz", vec64({0, 1, 0, 1}));
    b.node("Pad", {"sym", "pz"}, {"p4"});
    auto r = b.run();
    EXPECT_EQ(b.shape("e"), "[2,3,6]");
    EXPECT_EQ(b.shape("e2"), "[N,5,4]");
    EXPECT_EQ(b.shape("tl"), "[6,8]");
    EXPECT_EQ(b.shape("p1"), "[1,3,6,8]");
    EXPECT_EQ(b.shape("p2"), "[1,3,8,8]");
    EXPECT_EQ(b.shape("p3"), "[1,3,2,2]");
    EXPECT_EQ(b.shape("p4"), "[N,?]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, ResizeAndUpsample) {
    Builder b;
    b.input("x", "[1,3,20,30]");
    b.init("roi", f32({}, {0}));
    b.init("scales", f32({1, 1, 2, 2}, {4}));
    b.node("Resize", {"x", "roi", "scales"}, {"r1"});
    b.init("noscales", f32({}, {0}));
    b.init("sizes", vec64({1, 3, 64, 48}));
    b.node("Resize", {"x", "roi", "noscales", "sizes"}, {"r2"});
    b.node("Resize", {"x", "", "", "sizes"}, {"r3"});
    b.node("Resize", {"x", "scales"}, {"r4"});  // opset 10
    b.node("Upsample", {"x", "scales"}, {"u1"});  // opset 9
    b.node("Upsample", {"x"}, {"u2"}, {{"scales", Attribute::ofFloats({1, 1, 0.5, 0.5})}});  // opset 7
    b.init("s2", vec64({32, 32}));
    b.node("Resize", {"x", "", "", "s2"}, {"r5"},
           {{"axes", ints({2, 3})}, {"keep_aspect_ratio_policy", str("not_larger")}});
    b.input("sym", "[N,8,H,W]");
    b.node("Resize", {"sym", "roi", "scales"}, {"r6"});
    auto r = b.run();
    EXPECT_EQ(b.shape("r1"), "[1,3,40,60]");
    EXPECT_EQ(b.shape("r2"), "[1,3,64,48]");
    EXPECT_EQ(b.shape("r3"), "[1,3,64,48]");
    EXPECT_EQ(b.shape("r4"), "[1,3,40,60]");
    EXPECT_EQ(b.shape("u1"), "[1,3,40,60]");
    EXPECT_EQ(b.shape("u2"), "[1,3,10,15]");
    EXPECT_EQ(b.shape("r5"), "[1,3,21,32]");
    EXPECT_EQ(b.shape("r6"), "[N,8,?,?]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, DepthToSpaceAndSpaceToDepth) {
    Builder b;
    b.input("x", "[N,16,5,6]");
    b.node("DepthToSpace", {"x"}, {"d"}, {{"blocksize", i(2)}});
    b.node("SpaceToDepth", {"d"}, {"s"}, {{"blocksize", i(2)}});
    b.run();
    EXPECT_EQ(b.shape("d"), "[N,4,10,12]");
    EXPECT_EQ(b.shape("s"), "[N,16,5,6]");
}

// ---- constants and folding --------------------------------------------------------------------

TEST(ShapeInference, ConstantNodes) {
    Builder b;
    b.node("Constant", {}, {"c1"}, {{"value", Attribute::ofTensor(f32({1, 2, 3, 4, 5, 6}, {2, 3}))}});
    b.node("Constant", {}, {"c2"}, {{"value_ints", ints({4, 5})}});
    b.node("Constant", {}, {"c3"}, {{"value_float", Attribute::ofFloat(0.5)}});
    b.run();
    EXPECT_EQ(b.shape("c1"), "[2,3]");
    EXPECT_EQ(b.dtype("c1"), DType::F32);
    EXPECT_EQ(b.shape("c2"), "[2]");
    EXPECT_EQ(b.dtype("c2"), DType::I64);
    EXPECT_EQ(b.shape("c3"), "[]");
    // Constant nodes are the file's own data, not folded results.
    EXPECT_FALSE(b.v("c1").folded);
    EXPECT_FALSE(b.v("c1").data.has_value());
}

// The chain PyTorch exports for x.view(x.size(0), -1).
TEST(ShapeInference, PyTorchShapeGatherUnsqueezeConcatReshapeChain) {
    Builder b;
    b.input("x", "[N,64,7,7]");
    b.node("Shape", {"x"}, {"shape"});
    b.node("Constant", {}, {"zero"}, {{"value", Attribute::ofTensor(i64({0}))}});
    b.node("Gather", {"shape", "zero"}, {"batch"}, {{"axis", i(0)}});
    b.node("Unsqueeze", {"batch"}, {"batch1"}, {{"axes", ints({0})}});
    b.node("Constant", {}, {"minus1"}, {{"value", Attribute::ofTensor(vec64({-1}))}});
    b.node("Concat", {"batch1", "minus1"}, {"target"}, {{"axis", i(0)}});
    b.node("Reshape", {"x", "target"}, {"flat"});
    b.init("w", weights({10, 3136}));
    b.node("Gemm", {"flat", "w"}, {"logits"}, {{"transB", i(1)}});
    auto r = b.run();
    EXPECT_EQ(b.shape("shape"), "[4]");
    EXPECT_EQ(b.dtype("shape"), DType::I64);
    EXPECT_EQ(b.shape("batch"), "[]");
    EXPECT_EQ(b.shape("target"), "[2]");
    EXPECT_EQ(b.shape("flat"), "[N,3136]");
    EXPECT_EQ(b.shape("logits"), "[N,10]");
    // N is not a number, so nothing was stored as data.
    EXPECT_FALSE(b.v("target").data.has_value());
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, FoldedShapeChainStoresMarkedData) {
    Builder b;
    b.input("x", "[2,64,7,7]");
    b.init("w", weights({10, 3136}));
    b.node("Shape", {"x"}, {"shape"});
    b.node("Constant", {}, {"zero"}, {{"value", Attribute::ofTensor(i64({0}))}});
    b.node("Gather", {"shape", "zero"}, {"batch"}, {{"axis", i(0)}});
    b.node("Unsqueeze", {"batch"}, {"batch1"}, {{"axes", ints({0})}});
    b.node("Constant", {}, {"minus1"}, {{"value", Attribute::ofTensor(vec64({-1}))}});
    b.node("Concat", {"batch1", "minus1"}, {"target"}, {{"axis", i(0)}});
    b.node("Reshape", {"x", "target"}, {"flat"});
    b.node("Gemm", {"flat", "w"}, {"logits"}, {{"transB", i(1)}});
    const int64_t paramsBefore = b.g.parameterCount();
    const int64_t bytesBefore = b.g.weightBytes();
    auto r = b.run();
    EXPECT_EQ(b.shape("flat"), "[2,3136]");
    EXPECT_EQ(b.shape("logits"), "[2,10]");
    const Value& target = b.v("target");
    ASSERT_TRUE(target.data.has_value());
    EXPECT_TRUE(target.folded);
    EXPECT_EQ(dataInts(target), (std::vector<int64_t>{2, -1}));
    EXPECT_EQ(dataInts(b.v("shape")), (std::vector<int64_t>{2, 64, 7, 7}));
    EXPECT_TRUE(b.v("shape").folded);
    EXPECT_GE(r.foldedValues, 4);
    // Folded values are not weights.
    EXPECT_EQ(b.g.parameterCount(), paramsBefore);
    EXPECT_EQ(b.g.weightBytes(), bytesBefore);
    Model m;
    m.graph = b.g;
    const ModelSummary s = summarize(m);
    EXPECT_EQ(s.parameters, 31360);
    EXPECT_EQ(s.tensorsWithData, 1);
}

// The chain paddle2onnx writes: Shape -> Cast(float) -> Slice (opset 9 attributes) ->
// Cast(int64) -> Concat -> Reshape.
TEST(ShapeInference, PaddleCastSliceChain) {
    Builder b;
    b.input("x", "[1,120,1,40]");
    b.node("Shape", {"x"}, {"s"});
    b.node("Cast", {"s"}, {"sf"}, {{"to", i(6)}});
    b.node("Slice", {"sf"}, {"w"}, {{"axes", ints({0})}, {"starts", ints({3})}, {"ends", ints({4})}});
    b.node("Slice", {"s"}, {"nc"}, {{"axes", ints({0})}, {"starts", ints({0})}, {"ends", ints({2})}});
    b.node("Cast", {"w"}, {"wi"}, {{"to", i(7)}});
    b.node("Constant", {}, {"m1"}, {{"value", Attribute::ofTensor(vec64({-1}))}});
    b.node("Concat", {"nc", "m1"}, {"t1"}, {{"axis", i(0)}});
    b.node("Reshape", {"x", "t1"}, {"r1"});
    b.node("Constant", {}, {"c0"}, {{"value", Attribute::ofTensor(vec64({0}))}});
    b.node("Constant", {}, {"c8"}, {{"value", Attribute::ofTensor(vec64({8}))}});
    b.node("Concat", {"c0", "wi", "c8", "m1"}, {"t2"}, {{"axis", i(0)}});
    b.node("Reshape", {"r1", "t2"}, {"r2"});
    auto r = b.run();
    EXPECT_EQ(b.dtype("sf"), DType::I32);
    EXPECT_EQ(b.shape("r1"), "[1,120,40]");
    EXPECT_EQ(dataInts(b.v("t2")), (std::vector<int64_t>{0, 40, 8, -1}));
    EXPECT_EQ(b.shape("r2"), "[1,40,8,15]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInference, FoldingArithmeticConstantOfShapeRange) {
    Builder b;
    b.input("x", "[3,N,5]");
    b.node("Shape", {"x"}, {"s"});
    b.init("two", i64({2}));
    b.node("Mul", {"s", "two"}, {"s2"});
    b.init("ones", vec64({1, 1, 1}));
    b.node("Mul", {"s", "ones"}, {"s1"});  // keeps the symbol
    b.node("Reshape", {"x", "s1"}, {"same"});
    b.init("idx2", i64({2}));
    b.node("Gather", {"s", "idx2"}, {"five"});
    b.init("zero", i64({0}));
    b.init("one", i64({1}));
    b.node("Range", {"zero", "five", "one"}, {"range"});
    b.init("cs", vec64({2, 3}));
    b.node("ConstantOfShape", {"cs"}, {"filled"},
           {{"value", Attribute::ofTensor(Tensor::fromInt64s({1}, {7}))}});
    b.node("Div", {"five", "two"}, {"half"});
    b.node("Sub", {"five", "two"}, {"diff"});
    b.node("Equal", {"s", "ones"}, {"eq"});
    b.node("Where", {"eq", "ones", "s2"}, {"sel"});
    b.init("big", i64({100}));
    b.node("Range", {"zero", "big", "one"}, {"bigrange"});
    auto r = b.run();
    EXPECT_EQ(b.shape("s1"), "[3]");
    EXPECT_EQ(b.shape("same"), "[3,N,5]");
    EXPECT_EQ(b.shape("range"), "[5]");
    EXPECT_EQ(dataInts(b.v("range")), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(b.shape("filled"), "[2,3]");
    EXPECT_EQ(b.dtype("filled"), DType::I64);
    EXPECT_EQ(dataInts(b.v("filled")), (std::vector<int64_t>(6, 7)));
    EXPECT_EQ(dataInts(b.v("half")), (std::vector<int64_t>{2}));
    EXPECT_EQ(dataInts(b.v("diff")), (std::vector<int64_t>{3}));
    EXPECT_FALSE(b.v("sel").data.has_value());  // the middle element depends on N
    EXPECT_EQ(b.shape("bigrange"), "[100]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
    ShapeInferenceOptions noFold;
    noFold.foldConstants = false;
    noFold.resetNodeOutputs = true;
    b.run(noFold);
    EXPECT_FALSE(b.v("range").data.has_value());
    EXPECT_EQ(b.shape("range"), "[?]");  // its limit is no longer known
    EXPECT_EQ(b.shape("same"), "[?,?,?]");
}

TEST(ShapeInference, ShapeWithStartEndAndSize) {
    Builder b;
    b.input("x", "[N,3,H,W]");
    b.node("Shape", {"x"}, {"hw"}, {{"start", i(-2)}});
    b.node("Size", {"x"}, {"n"});
    b.node("Shape", {"x"}, {"first"}, {{"end", i(1)}});
    b.run();
    EXPECT_EQ(b.shape("hw"), "[2]");
    EXPECT_EQ(b.shape("n"), "[]");
    EXPECT_EQ(b.shape("first"), "[1]");
}

// ---- recurrent, control flow, data-dependent --------------------------------------------------

TEST(ShapeInference, RecurrentOutputs) {
    Builder b;
    b.input("x", "[T,N,10]");
    b.init("w", weights({2, 80, 10}));
    b.init("r", weights({2, 80, 20}));
    b.node("LSTM", {"x", "w", "r"}, {"y", "yh", "yc"},
           {{"hidden_size", i(20)}, {"direction", str("bidirectional")}});
    b.input("xb", "[N,T,10]");
    b.init("gw", weights({1, 48, 10}));
    b.init("gr", weights({1, 48, 16}));
    b.node("GRU", {"xb", "gw", "gr"}, {"gy", "gh"}, {{"layout", i(1)}});
    auto r = b.run();
    EXPECT_EQ(b.shape("y"), "[T,2,N,20]");
    EXPECT_EQ(b.shape("yh"), "[2,N,20]");
    EXPECT_EQ(b.shape("yc"), "[2,N,20]");
    EXPECT_EQ(b.shape("gy"), "[N,T,1,16]");
    EXPECT_EQ(b.shape("gh"), "[N,1,16]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

namespace {
std::shared_ptr<Graph> branch(const std::string& outer, const std::string& op, const std::string& shapeOfConst) {
    auto g = std::make_shared<Graph>();
    g->name = op;
    const int in = g->valueId(outer);  // outer-scope reference
    Node n;
    n.opType = op;
    n.inputs = {in};
    if (!shapeOfConst.empty()) {
        g->addInitializer("k", Tensor::zeros(DType::F32, [&] {
                                   Shape s;
                                   for (const auto& d : dims(shapeOfConst)) s.push_back(d.value);
                                   return s;
                               }()).value());
        n.inputs.push_back(g->findValue("k"));
    }
    n.outputs = {g->valueId("out")};
    g->addNode(std::move(n));
    g->outputs = {g->findValue("out")};
    return g;
}
}  // namespace

TEST(ShapeInference, IfMergesBranchesThatAgree) {
    Builder b;
    b.input("x", "[N,4]");
    b.input("cond", "[]", DType::Bool);
    Attribute thenA, elseA;
    thenA.kind = elseA.kind = Attribute::Kind::Graph;
    thenA.g = branch("x", "Relu", "");
    elseA.g = branch("x", "Sigmoid", "");
    b.node("If", {"cond"}, {"same"}, {{"then_branch", thenA}, {"else_branch", elseA}});
    Attribute t2 = thenA, e2 = elseA;
    t2.g = branch("x", "Relu", "");
    e2.g = branch("x", "Add", "[3,1]");  // broadcasts to [3,4]
    b.node("If", {"cond"}, {"differ"}, {{"then_branch", t2}, {"else_branch", e2}});
    auto r = b.run();
    EXPECT_EQ(b.shape("same"), "[N,4]");
    EXPECT_EQ(b.dtype("same"), DType::F32);
    EXPECT_EQ(b.shape("differ"), "[?,4]");
    EXPECT_EQ(dimShapeToString(*e2.g->values[static_cast<size_t>(e2.g->findValue("out"))].shape), "[3,4]");
}

TEST(ShapeInference, DataDependentOpsLeaveUnknownDims) {
    Builder b;
    b.input("x", "[N,100]");
    b.init("k", vec64({5}));
    b.node("TopK", {"x", "k"}, {"vals", "ids"});
    b.node("NonZero", {"x"}, {"nz"});
    b.node("Einsum", {"x", "x"}, {"es"}, {{"equation", str("ij,ij->i")}});
    b.node("SomeCustomOp", {"x"}, {"custom"});
    auto r = b.run();
    EXPECT_EQ(b.shape("vals"), "[N,5]");
    EXPECT_EQ(b.shape("ids"), "[N,5]");
    EXPECT_EQ(b.dtype("ids"), DType::I64);
    EXPECT_EQ(b.shape("nz"), "[2,?]");
    EXPECT_EQ(b.shape("es"), "unknown");
    EXPECT_EQ(b.dtype("es"), DType::F32);
    EXPECT_EQ(b.shape("custom"), "unknown");
    EXPECT_EQ(b.dtype("custom"), DType::Undefined);
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

// ---- declared shapes, options and failures ----------------------------------------------------

TEST(ShapeInference, DeclaredShapesWinAndConflictsWarn) {
    Builder b;
    b.input("x", "[N,10]");
    b.init("w", weights({10, 20}));
    b.node("MatMul", {"x", "w"}, {"y"});
    b.node("Relu", {"y"}, {"z"});
    b.node("Relu", {"x"}, {"u"});
    auto& vals = b.g.values;
    vals[static_cast<size_t>(b.g.findValue("y"))].shape = dims("[N,30]");   // contradicts
    vals[static_cast<size_t>(b.g.findValue("u"))].shape = dims("[?,?]");    // refined
    vals[static_cast<size_t>(b.g.findValue("z"))].shape = dims("[batch,?]");  // symbol kept
    auto r = b.run();
    EXPECT_EQ(b.shape("y"), "[N,30]");
    EXPECT_TRUE(anyWarningHas(r, {"node 0 (MatMul", "output 0 'y'", "[N,20]", "[N,30]", "keeping the declared"}))
        << joined(r.warnings);
    EXPECT_EQ(b.shape("u"), "[N,10]");
    EXPECT_EQ(b.shape("z"), "[batch,30]");
}

TEST(ShapeInference, ResetFollowsEditedInputs) {
    Builder b;
    b.input("x", "[1,3,32,32]");
    b.init("w", weights({8, 3, 3, 3}));
    b.node("Conv", {"x", "w"}, {"y"});
    b.node("Shape", {"y"}, {"s"});
    b.run();
    EXPECT_EQ(b.shape("y"), "[1,8,30,30]");
    EXPECT_EQ(dataInts(b.v("s")), (std::vector<int64_t>{1, 8, 30, 30}));
    b.g.values[static_cast<size_t>(b.g.findValue("x"))].shape = dims("[1,3,64,64]");
    auto stale = b.run();
    EXPECT_EQ(b.shape("y"), "[1,8,30,30]");
    EXPECT_FALSE(stale.warnings.empty());
    ShapeInferenceOptions reset;
    reset.resetNodeOutputs = true;
    auto fresh = b.run(reset);
    EXPECT_EQ(b.shape("y"), "[1,8,62,62]");
    EXPECT_EQ(dataInts(b.v("s")), (std::vector<int64_t>{1, 8, 62, 62}));
    EXPECT_TRUE(fresh.warnings.empty()) << joined(fresh.warnings);
    EXPECT_EQ(fresh.nodeOutputs, 2);
    EXPECT_EQ(fresh.outputsFullyKnown, 2);
}

TEST(ShapeInference, CycleIsAnError) {
    Builder b;
    b.input("x", "[1]");
    b.node("Add", {"x", "b"}, {"a"});
    b.node("Relu", {"a"}, {"b"});
    auto r = inferShapes(b.g);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("cycle"), std::string::npos);
}

TEST(ShapeInference, ModelOverloadReadsOpset) {
    Model m;
    m.opsets = {{"", 13}};
    Builder b;
    b.input("x", "[2,1,3]");
    b.init("ax", vec64({1}));
    b.node("Squeeze", {"x", "ax"}, {"y"});
    m.graph = b.g;
    auto r = inferShapes(m);
    ASSERT_TRUE(r.ok());
    const Value& y = m.graph.values[static_cast<size_t>(m.graph.findValue("y"))];
    EXPECT_EQ(dimShapeToString(*y.shape), "[2,3]");
}

TEST(ShapeInference, OldOpsetConcatDefaultsItsAxis) {
    Builder b;
    b.input("x", "[2,3]");
    b.node("Concat", {"x", "x"}, {"y"});
    ShapeInferenceOptions opset3;
    opset3.onnxOpset = 3;
    auto r = b.run(opset3);
    EXPECT_EQ(b.shape("y"), "[2,6]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
    ShapeInferenceOptions current;
    current.resetNodeOutputs = true;
    r = b.run(current);
    EXPECT_EQ(b.shape("y"), "unknown");
    EXPECT_TRUE(anyWarningHas(r, {"node 0 (Concat", "attribute 'axis'", "missing"})) << joined(r.warnings);
}

TEST(ShapeInference, MalformedAttributesWarnAndNeverCrash) {
    Builder b;
    b.input("x", "[1,3,8,8]");
    b.init("w", weights({4, 3, 3, 3}));
    b.node("Conv", {"x", "w"}, {"c1"}, {{"strides", Attribute::ofFloat(2.0)}});           // 0: wrong kind
    b.node("Conv", {"x", "w"}, {"c2"}, {{"strides", ints({-1, 2})}});                     // 1: negative
    b.node("Conv", {"x", "w"}, {"c3"}, {{"pads", ints({1, 1})}});                         // 2: wrong count
    b.node("Conv", {"x", "w"}, {"c4"}, {{"group", i(0)}});                                // 3: zero group
    b.node("Transpose", {"x"}, {"t"}, {{"perm", ints({0, 1, 2, 7})}});                    // 4: out of range
    b.node("Gather", {"x", "w"}, {"g"}, {{"axis", i(5)}});                                // 5: axis
    b.node("Concat", {"x", "x"}, {"cc"}, {{"axis", str("one")}});                         // 6: wrong kind
    b.init("twice", vec64({-1, -1}));
    b.node("Reshape", {"x", "twice"}, {"r"});                                             // 7: two -1
    b.node("Split", {"x"}, {"s1", "s2"}, {{"axis", i(1)}, {"split", ints({1, 1, 1})}});  // 8
    b.node("MaxPool", {"x"}, {"mp"});                                                     // 9: no kernel
    b.node("Cast", {"x"}, {"ca"}, {{"to", i(999)}});                                      // 10
    b.node("Squeeze", {"x"}, {"sq"}, {{"axes", ints({1})}});                              // 11: length 3
    b.node("Flatten", {"x"}, {"fl"}, {{"axis", i(9)}});                                   // 12
    b.node("AveragePool", {"x"}, {"ap"}, {{"kernel_shape", ints({20, 20})}});             // 13: too big
    b.init("zstep", vec64({0}));
    b.init("zs", vec64({0}));
    b.init("ze", vec64({4}));
    b.init("zax", vec64({2}));
    b.node("Slice", {"x", "zs", "ze", "zax", "zstep"}, {"sl"});                           // 14
    b.node("ReduceMean", {"x"}, {"rm"}, {{"axes", ints({4})}});                           // 15
    b.node("Resize", {"x", "", "", ""}, {"rs"});                                          // 16
    b.node("LSTM", {"x"}, {"ly"});                                                        // 17: rank 4
    b.node("Unsqueeze", {"x"}, {"us"}, {{"axes", ints({0, 0})}});                         // 18
    auto r = b.run();
    for (const char* out : {"c1", "c2", "c3", "c4", "t", "g", "cc", "r", "s1", "mp", "sq", "rm", "rs", "us", "ly"})
        EXPECT_EQ(b.shape(out), "unknown") << out;
    EXPECT_EQ(b.shape("fl"), "[?,?]");
    EXPECT_EQ(b.shape("ap"), "[1,3,?,?]");
    EXPECT_EQ(b.shape("sl"), "[1,3,?,8]");
    EXPECT_EQ(b.shape("ca"), "[1,3,8,8]");
    EXPECT_TRUE(anyWarningHas(r, {"node 0 (Conv 'Conv_0')", "attribute 'strides'", "expected ints"}))
        << joined(r.warnings);
    EXPECT_TRUE(anyWarningHas(r, {"node 1 (Conv", "attribute 'strides'", "positive"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 2 (Conv", "attribute 'pads'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 3 (Conv", "attribute 'group'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 4 (Transpose", "attribute 'perm'", "out of range"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 5 (Gather", "attribute 'axis'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 6 (Concat", "attribute 'axis'", "expected an int"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 7 (Reshape", "more than one -1"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 8 (Split", "split"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 9 (MaxPool", "attribute 'kernel_shape'", "missing"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 10 (Cast", "attribute 'to'", "999"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 11 (Squeeze", "axes", "length 3"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 12 (Flatten", "attribute 'axis'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 13 (AveragePool", "does not fit"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 14 (Slice", "step of 0"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 15 (ReduceMean", "axes", "out of range"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 16 (Resize", "neither scales nor sizes"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 17 (LSTM", "3-D"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 18 (Unsqueeze", "twice"}));
}

TEST(ShapeInference, OutOfRangeValueIndicesAreSkipped) {
    Builder b;
    b.input("x", "[2]");
    b.node("Relu", {"x"}, {"y"});
    b.g.nodes[0].inputs.push_back(12345);
    b.g.nodes[0].outputs.push_back(-1);
    auto r = inferShapes(b.g);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(b.shape("y"), "[2]");
}

// ---- TFLite -----------------------------------------------------------------------------------

TEST(ShapeInferenceTflite, ConvDepthwisePoolFullyConnected) {
    Builder b;
    b.domain = "tflite";
    b.input("x", "[1,224,224,3]");
    b.init("w", weights({32, 3, 3, 3}));
    b.init("bias", weights({32}));
    b.node("CONV_2D", {"x", "w", "bias"}, {"c1"},
           {{"padding", str("SAME")}, {"stride_w", i(2)}, {"stride_h", i(2)}});
    b.node("CONV_2D", {"x", "w", "bias"}, {"c2"},
           {{"padding", str("VALID")}, {"stride_w", i(2)}, {"stride_h", i(2)}});
    b.node("CONV_2D", {"x", "w", "bias"}, {"c3"},
           {{"padding", i(1)}, {"dilation_w_factor", i(2)}, {"dilation_h_factor", i(2)}});
    b.init("dw", weights({1, 3, 3, 32}));
    b.node("DEPTHWISE_CONV_2D", {"c1", "dw", "bias"}, {"d1"},
           {{"padding", str("SAME")}, {"depth_multiplier", i(1)}});
    b.node("DEPTHWISE_CONV_2D", {"c1", "dw", "bias"}, {"d2"},
           {{"padding", str("VALID")}, {"stride_w", i(2)}, {"stride_h", i(2)}});
    b.node("MAX_POOL_2D", {"d1"}, {"p1"},
           {{"padding", str("VALID")},
            {"filter_width", i(2)},
            {"filter_height", i(2)},
            {"stride_w", i(2)},
            {"stride_h", i(2)}});
    b.node("AVERAGE_POOL_2D", {"d1"}, {"p2"},
           {{"padding", str("SAME")},
            {"filter_width", i(3)},
            {"filter_height", i(3)},
            {"stride_w", i(2)},
            {"stride_h", i(2)}});
    b.input("f", "[1,7,7,64]");
    b.init("fw", weights({10, 3136}));
    b.node("FULLY_CONNECTED", {"f", "fw", ""}, {"fc1"});
    b.input("seq", "[N,5,16]");
    b.init("fw2", weights({8, 16}));
    b.node("FULLY_CONNECTED", {"seq", "fw2"}, {"fc2"}, {{"keep_num_dims", i(1)}});
    b.node("FULLY_CONNECTED", {"seq", "fw2"}, {"fc3"});
    auto r = b.run();
    EXPECT_EQ(b.shape("c1"), "[1,112,112,32]");
    EXPECT_EQ(b.shape("c2"), "[1,111,111,32]");
    EXPECT_EQ(b.shape("c3"), "[1,220,220,32]");
    EXPECT_EQ(b.shape("d1"), "[1,112,112,32]");
    EXPECT_EQ(b.shape("d2"), "[1,55,55,32]");
    EXPECT_EQ(b.shape("p1"), "[1,56,56,32]");
    EXPECT_EQ(b.shape("p2"), "[1,56,56,32]");
    EXPECT_EQ(b.shape("fc1"), "[1,10]");
    EXPECT_EQ(b.shape("fc2"), "[N,5,8]");
    EXPECT_EQ(b.shape("fc3"), "[?,8]");
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInferenceTflite, LayoutAndElementwiseOps) {
    Builder b;
    b.domain = "tflite";
    b.input("x", "[1,8,8,16]");
    b.node("RESHAPE", {"x"}, {"r1"}, {{"new_shape", ints({1, -1})}});
    b.init("rs", Tensor::fromBytes(DType::I32, {3}, [] {
                     std::vector<uint8_t> v(12);
                     const int32_t s[3] = {1, 64, -1};
                     std::memcpy(v.data(), s, 12);
                     return v;
                 }()).value());
    b.node("RESHAPE", {"x", "rs"}, {"r2"});
    b.node("CONCATENATION", {"x", "x"}, {"cat"}, {{"axis", i(3)}});
    b.input("b16", "[16]");
    b.node("ADD", {"x", "b16"}, {"add"});
    b.node("MUL", {"x", "b16"}, {"mul"});
    b.init("axes", vec64({1, 2}));
    b.node("MEAN", {"x", "axes"}, {"mean"}, {{"keep_dims", i(0)}});
    b.node("MEAN", {"x", "axes"}, {"mean2"}, {{"keep_dims", i(1)}});
    b.init("pads", Tensor::fromInt64s({4, 2}, {0, 0, 1, 1, 2, 2, 0, 0}));
    b.node("PAD", {"x", "pads"}, {"pad"});
    b.node("SOFTMAX", {"r1"}, {"sm"});
    for (const char* op : {"LOGISTIC", "RELU", "RELU6", "HARD_SWISH"}) b.node(op, {"x"}, {std::string("u_") + op});
    b.input("q", "[1,4]", DType::I8);
    b.node("DEQUANTIZE", {"q"}, {"dq"});
    b.init("size", vec64({16, 24}));
    b.node("RESIZE_BILINEAR", {"x", "size"}, {"rz"});
    b.init("perm", vec64({0, 3, 1, 2}));
    b.node("TRANSPOSE", {"x", "perm"}, {"tr"});
    b.init("oshape", vec64({1, 16, 16, 4}));
    b.init("tw", weights({4, 3, 3, 16}));
    b.node("TRANSPOSE_CONV", {"oshape", "tw", "x"}, {"tc"},
           {{"padding", str("SAME")}, {"stride_w", i(2)}, {"stride_h", i(2)}});
    b.node("TRANSPOSE_CONV", {"", "tw", "x"}, {"tc2"},
           {{"padding", str("SAME")}, {"stride_w", i(2)}, {"stride_h", i(2)}});
    b.init("sb", vec64({0, 1, 0, 0}));
    b.init("se", vec64({1, 7, 8, 16}));
    b.init("ss", vec64({1, 2, 1, 1}));
    b.node("STRIDED_SLICE", {"x", "sb", "se", "ss"}, {"ss1"}, {{"shrink_axis_mask", i(1)}, {"end_mask", i(4)}});
    b.init("sb2", vec64({0, -1}));
    b.init("se2", vec64({0, 0}));
    b.init("ss2", vec64({1, -1}));
    b.node("STRIDED_SLICE", {"x", "sb2", "se2", "ss2"}, {"ss2o"}, {{"begin_mask", i(1)}, {"end_mask", i(3)}});
    b.node("SQUEEZE", {"mean2"}, {"sq"}, {{"squeeze_dims", ints({1, 2})}});
    b.init("ed", i64({0}));
    b.node("EXPAND_DIMS", {"b16", "ed"}, {"ex"});
    b.node("LESS", {"x", "b16"}, {"lt"});
    auto r = b.run();
    EXPECT_EQ(b.shape("r1"), "[1,1024]");
    EXPECT_EQ(b.shape("r2"), "[1,64,16]");
    EXPECT_EQ(b.shape("cat"), "[1,8,8,32]");
    EXPECT_EQ(b.shape("add"), "[1,8,8,16]");
    EXPECT_EQ(b.shape("mul"), "[1,8,8,16]");
    EXPECT_EQ(b.shape("mean"), "[1,16]");
    EXPECT_EQ(b.shape("mean2"), "[1,1,1,16]");
    EXPECT_EQ(b.shape("pad"), "[1,10,12,16]");
    EXPECT_EQ(b.shape("sm"), "[1,1024]");
    EXPECT_EQ(b.shape("u_HARD_SWISH"), "[1,8,8,16]");
    EXPECT_EQ(b.shape("dq"), "[1,4]");
    EXPECT_EQ(b.dtype("dq"), DType::F32);
    EXPECT_EQ(b.shape("rz"), "[1,16,24,16]");
    EXPECT_EQ(b.shape("tr"), "[1,16,8,8]");
    EXPECT_EQ(b.shape("tc"), "[1,16,16,4]");
    EXPECT_EQ(b.shape("tc2"), "[1,16,16,4]");
    EXPECT_EQ(b.shape("ss1"), "[3,8,16]");
    EXPECT_EQ(b.shape("ss2o"), "[1,8,8,16]");
    EXPECT_EQ(b.shape("sq"), "[1,16]");
    EXPECT_EQ(b.shape("ex"), "[1,16]");
    EXPECT_EQ(b.dtype("lt"), DType::Bool);
    EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
}

TEST(ShapeInferenceTflite, MalformedOptionsWarn) {
    Builder b;
    b.domain = "tflite";
    b.input("x", "[1,8,8,3]");
    b.init("w", weights({4, 3, 3, 3}));
    b.node("CONV_2D", {"x", "w"}, {"c1"}, {{"padding", str("HALF")}});
    b.node("CONV_2D", {"x", "w"}, {"c2"}, {{"stride_w", i(0)}});
    b.node("MAX_POOL_2D", {"x"}, {"p"}, {{"filter_width", i(-2)}});
    b.node("CONV_2D", {"x"}, {"c3"}, {{"padding", Attribute::ofFloats({1.0})}});
    b.node("CONCATENATION", {"x", "x"}, {"cat"}, {{"axis", i(4)}});
    b.node("FULLY_CONNECTED", {"x", "w"}, {"fc"});
    auto r = b.run();
    for (const char* out : {"c1", "c2", "p", "c3", "cat", "fc"}) EXPECT_EQ(b.shape(out), "unknown") << out;
    EXPECT_TRUE(anyWarningHas(r, {"node 0 (tflite.CONV_2D", "attribute 'padding'", "HALF"})) << joined(r.warnings);
    EXPECT_TRUE(anyWarningHas(r, {"node 1 (tflite.CONV_2D", "attribute 'stride_w'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 2 (tflite.MAX_POOL_2D", "attribute 'filter_width'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 3 (tflite.CONV_2D", "attribute 'padding'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 4 (tflite.CONCATENATION", "attribute 'axis'"}));
    EXPECT_TRUE(anyWarningHas(r, {"node 5 (tflite.FULLY_CONNECTED", "input 1"}));
}
