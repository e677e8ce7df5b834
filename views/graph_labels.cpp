#include "views/graph_labels.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <unordered_map>

#include "views/graph_layout.h"

namespace by {

GraphIndex::GraphIndex(const Graph& g) {
    const int nv = static_cast<int>(g.values.size());
    const int nn = static_cast<int>(g.nodes.size());
    producer.assign(nv, -1);
    consumerStart.assign(nv + 1, 0);
    constant.assign(nv, nullptr);
    constantOp.assign(nn, 0);
    for (int n = 0; n < nn; ++n) {
        const Node& node = g.nodes[n];
        for (int v : node.outputs)
            if (v >= 0 && v < nv && producer[v] < 0) producer[v] = n;
        for (int v : node.inputs)
            if (v >= 0 && v < nv) ++consumerStart[v + 1];
        if (node.opType == "Constant" && node.inputs.empty()) constantOp[n] = 1;
    }
    for (int v = 0; v < nv; ++v) consumerStart[v + 1] += consumerStart[v];
    consumers.resize(consumerStart[nv]);
    std::vector<int> fill(consumerStart.begin(), consumerStart.end() - 1);
    for (int n = 0; n < nn; ++n)
        for (int v : g.nodes[n].inputs)
            if (v >= 0 && v < nv) consumers[fill[v]++] = n;
    for (int v = 0; v < nv; ++v) {
        const Value& val = g.values[v];
        if (val.data) {
            constant[v] = &*val.data;
        } else if (producer[v] >= 0 && constantOp[producer[v]]) {
            const Attribute* a = g.nodes[producer[v]].attr("value");
            if (a && a->kind == Attribute::Kind::Tensor) constant[v] = &a->t;
        }
    }
}

size_t textColumns(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

std::string formatCount(int64_t n) {
    char buf[32];
    const double d = static_cast<double>(n);
    if (n < 1000) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    else if (n < 1000000) std::snprintf(buf, sizeof buf, "%.3gK", d / 1e3);
    else if (n < 1000000000) std::snprintf(buf, sizeof buf, "%.3gM", d / 1e6);
    else std::snprintf(buf, sizeof buf, "%.3gB", d / 1e9);
    return buf;
}

std::string shapeLabel(const Value& v) {
    if (!v.shape) {
        if (v.data) return shapeToString(v.data->shape());
        return {};
    }
    return dimShapeToString(*v.shape);
}

std::string constantSummary(const Tensor& t) {
    if (t.numel() == 1 && t.dtype() != DType::String) {
        if (auto f = t.toFloats(); f && f->size() == 1) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "= %g", static_cast<double>((*f)[0]));
            return buf;
        }
    }
    return shapeToString(t.shape());
}

namespace {

std::string normalizedOp(std::string_view op) {
    std::string s;
    s.reserve(op.size());
    for (char c : op)
        if (c != '_') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool has(const std::string& s, const char* sub) { return s.find(sub) != std::string::npos; }

const std::unordered_map<std::string, OpCategory>& exactCategories() {
    static const std::unordered_map<std::string, OpCategory> map = [] {
        std::unordered_map<std::string, OpCategory> m;
        auto put = [&](OpCategory c, std::initializer_list<const char*> names) {
            for (const char* n : names) m.emplace(n, c);
        };
        put(OpCategory::MatMul, {"matmul", "gemm", "fullyconnected", "einsum", "matmulinteger", "qlinearmatmul",
                                 "batchmatmul", "dense", "matmulnbits", "linear"});
        put(OpCategory::Activation,
            {"relu", "leakyrelu", "prelu", "relu6", "relun1to1", "relu0to1", "sigmoid", "logistic", "tanh", "gelu",
             "fastgelu", "biasgelu", "quickgelu", "hardsigmoid", "hardswish", "swish", "silu", "elu", "selu", "celu",
             "softplus", "softsign", "mish", "erf", "thresholdedrelu", "clip", "shrink"});
        put(OpCategory::Elementwise,
            {"add", "sub", "mul", "div", "pow", "sqrt", "rsqrt", "exp", "log", "abs", "neg", "reciprocal", "floor",
             "ceil", "round", "max", "min", "mean", "sum", "mod", "equal", "greater", "less", "greaterorequal",
             "lessorequal", "not", "and", "or", "xor", "sign", "sin", "cos", "squareddifference", "square",
             "maximum", "minimum", "floordiv", "floormod", "cast", "bitshift", "isnan", "isinf", "addn", "biasadd",
             "logicaland", "logicalor", "logicalnot", "notequal", "dequantizeandcast"});
        put(OpCategory::Shape,
            {"reshape", "transpose", "concat", "concatenation", "gather", "gatherelements", "gathernd", "scatter",
             "scatterelements", "scatternd", "slice", "stridedslice", "split", "splitv", "squeeze", "unsqueeze",
             "flatten", "shape", "size", "expand", "tile", "pad", "padv2", "mirrorpad", "resize", "resizebilinear",
             "resizenearestneighbor", "upsample", "depthtospace", "spacetodepth", "identity", "constantofshape",
             "range", "pack", "unpack", "expanddims", "broadcastto", "trilu", "onehot", "topk", "nonzero",
             "compress", "reversesequence", "gridsample"});
        put(OpCategory::Pooling, {"argmax", "argmin", "globalaveragepool", "globalmaxpool", "globallppool", "maxpool",
                                  "averagepool", "lppool", "maxroipool", "roialign"});
        put(OpCategory::ControlFlow, {"if", "loop", "scan", "where", "while", "select", "selectv2", "call"});
        put(OpCategory::Quantize, {"quantizelinear", "dequantizelinear", "dynamicquantizelinear", "quantize",
                                   "dequantize", "fakequant", "requantize"});
        put(OpCategory::Other, {"constant", "randomnormal", "randomnormallike", "randomuniform"});
        return m;
    }();
    return map;
}

}  // namespace

OpCategory opCategory(std::string_view opType) {
    const std::string s = normalizedOp(opType);
    const auto& map = exactCategories();
    if (auto it = map.find(s); it != map.end()) return it->second;
    if (has(s, "attention") || has(s, "softmax")) return OpCategory::Attention;
    if (has(s, "quant")) return OpCategory::Quantize;
    if (has(s, "conv")) return OpCategory::Conv;
    if (has(s, "matmul") || has(s, "gemm")) return OpCategory::MatMul;
    if (has(s, "norm") || s == "lrn") return OpCategory::Norm;
    if (has(s, "pool") || s.rfind("reduce", 0) == 0) return OpCategory::Pooling;
    if (has(s, "relu") || has(s, "gelu") || has(s, "sigmoid") || has(s, "swish")) return OpCategory::Activation;
    if (s.rfind("sequence", 0) == 0 || s.rfind("optional", 0) == 0) return OpCategory::ControlFlow;
    return OpCategory::Other;
}

const char* opCategoryName(OpCategory c) {
    switch (c) {
    case OpCategory::Conv: return "conv";
    case OpCategory::MatMul: return "matmul";
    case OpCategory::Norm: return "norm";
    case OpCategory::Activation: return "activation";
    case OpCategory::Elementwise: return "elementwise";
    case OpCategory::Shape: return "shape";
    case OpCategory::Pooling: return "pooling";
    case OpCategory::Attention: return "attention";
    case OpCategory::Quantize: return "quantize";
    case OpCategory::ControlFlow: return "control flow";
    case OpCategory::Other: return "other";
    case OpCategory::Input: return "input";
    case OpCategory::Output: return "output";
    case OpCategory::Group: return "group";
    case OpCategory::Count: break;
    }
    return "?";
}

std::string inputRoleName(std::string_view opType, size_t index) {
    struct Roles {
        const char* op;
        std::initializer_list<const char*> names;
    };
    static const Roles table[] = {
        {"Conv", {"X", "W", "B"}},
        {"ConvTranspose", {"X", "W", "B"}},
        {"CONV_2D", {"X", "W", "B"}},
        {"DEPTHWISE_CONV_2D", {"X", "W", "B"}},
        {"TRANSPOSE_CONV", {"shape", "W", "X", "B"}},
        {"FULLY_CONNECTED", {"X", "W", "B"}},
        {"Gemm", {"A", "B", "C"}},
        {"MatMul", {"A", "B"}},
        {"BatchNormalization", {"X", "scale", "B", "mean", "var"}},
        {"LayerNormalization", {"X", "scale", "B"}},
        {"InstanceNormalization", {"X", "scale", "B"}},
        {"GroupNormalization", {"X", "scale", "B"}},
        {"Add", {"A", "B"}},
        {"Sub", {"A", "B"}},
        {"Mul", {"A", "B"}},
        {"Div", {"A", "B"}},
        {"Pow", {"X", "Y"}},
        {"PRelu", {"X", "slope"}},
        {"Reshape", {"data", "shape"}},
        {"Gather", {"data", "indices"}},
        {"Slice", {"data", "starts", "ends", "axes", "steps"}},
        {"Resize", {"X", "roi", "scales", "sizes"}},
        {"Pad", {"data", "pads", "value", "axes"}},
        {"Clip", {"X", "min", "max"}},
        {"Expand", {"X", "shape"}},
        {"Unsqueeze", {"data", "axes"}},
        {"Squeeze", {"data", "axes"}},
        {"QuantizeLinear", {"x", "scale", "zp"}},
        {"DequantizeLinear", {"x", "scale", "zp"}},
    };
    for (const auto& r : table) {
        if (opType == r.op && index < r.names.size()) return r.names.begin()[index];
    }
    return "in" + std::to_string(index);
}

namespace {

std::string joinInts(const std::vector<int64_t>& v, const char* sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += sep;
        s += std::to_string(v[i]);
    }
    return s;
}

bool allEqual(const std::vector<int64_t>& v, int64_t x) {
    return std::all_of(v.begin(), v.end(), [&](int64_t e) { return e == x; });
}

// "2" when every entry is 2, else "2×1".
std::string compactInts(const std::vector<int64_t>& v) {
    if (!v.empty() && allEqual(v, v[0])) return std::to_string(v[0]);
    return joinInts(v, "\xC3\x97");
}

}  // namespace

std::string keyAttributes(const Node& n) {
    std::string out;
    auto add = [&](const std::string& part) {
        if (part.empty()) return;
        if (!out.empty()) out += "  ";
        out += part;
    };
    std::vector<int64_t> k = n.attrInts("kernel_shape");
    if (k.empty()) {
        const int64_t fh = n.attrInt("filter_height", 0), fw = n.attrInt("filter_width", 0);
        if (fh > 0 && fw > 0) k = {fh, fw};
    }
    if (!k.empty()) add("k " + joinInts(k, "\xC3\x97"));
    std::vector<int64_t> s = n.attrInts("strides");
    if (s.empty()) {
        const int64_t sh = n.attrInt("stride_h", 0), sw = n.attrInt("stride_w", 0);
        if (sh > 0 && sw > 0) s = {sh, sw};
    }
    if (!s.empty() && !allEqual(s, 1)) add("s " + compactInts(s));
    const std::vector<int64_t> d = n.attrInts("dilations");
    if (!d.empty() && !allEqual(d, 1)) add("d " + compactInts(d));
    const int64_t g = n.attrInt("group", 1);
    if (g != 1) add("g " + std::to_string(g));
    const std::vector<int64_t> perm = n.attrInts("perm");
    if (!perm.empty()) add("perm " + joinInts(perm, ","));
    if (n.attr("axis")) add("axis " + std::to_string(n.attrInt("axis", 0)));
    const std::vector<int64_t> axes = n.attrInts("axes");
    if (!axes.empty()) add("axes " + joinInts(axes, ","));
    if (const Attribute* a = n.attr("to"); a && a->kind == Attribute::Kind::Int) add("to " + std::to_string(a->i));
    const std::string act = n.attrString("fused_activation_function");
    if (!act.empty() && act != "NONE") add(act);
    return out;
}

}  // namespace by
