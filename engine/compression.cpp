// Recipe validation, layer selection, the pass driver and the graph clean-up every pass shares.
#include "engine/compression.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "engine/compression_internal.h"
#include "engine/lm_quantize.h"

namespace by {

const char* compressMethodName(CompressMethod m) {
    switch (m) {
    case CompressMethod::QuantizeInt8: return "quantize_int8";
    case CompressMethod::QuantizeNBits: return "quantize_nbits";
    case CompressMethod::Prune: return "prune";
    case CompressMethod::PruneNM: return "prune_nm";
    case CompressMethod::PruneChannels: return "prune_channels";
    case CompressMethod::LowRank: return "low_rank";
    case CompressMethod::QuantizeGgml: return "quantize_ggml";
    case CompressMethod::PruneFfn: return "prune_ffn";
    case CompressMethod::PruneHeads: return "prune_heads";
    case CompressMethod::QuantizeBcq: return "quantize_bcq";
    case CompressMethod::Decompose: return "decompose";
    }
    return "?";
}

const char* pruneCriterionName(PruneCriterion c, int norm) {
    switch (c) {
    case PruneCriterion::Weight: return norm == 2 ? "l2" : "l1";
    case PruneCriterion::Activation: return "activation";
    case PruneCriterion::Beta: return "beta";
    }
    return "?";
}

namespace compression {

std::vector<float> LayerWeight::rows() const {
    const float* p = tensor.data<float>();
    std::vector<float> w(size_t(N * K));
    if (!transposed) {
        std::memcpy(w.data(), p, w.size() * sizeof(float));
    } else {
        for (int64_t k = 0; k < K; ++k)
            for (int64_t n = 0; n < N; ++n) w[size_t(n * K + k)] = p[k * N + n];
    }
    return w;
}

Result<Tensor> LayerWeight::fromRows(const std::vector<float>& w) const {
    if (!transposed) return Tensor::fromFloats(tensor.shape(), w);
    std::vector<float> t(w.size());
    for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) t[size_t(k * N + n)] = w[size_t(n * K + k)];
    return Tensor::fromFloats(tensor.shape(), t);
}

const Tensor* constantOf(const Graph& g, int valueId) {
    if (valueId < 0 || valueId >= int(g.values.size())) return nullptr;
    const Value& v = g.values[size_t(valueId)];
    if (v.data) return &*v.data;
    if (v.producer >= 0) {
        const Node& p = g.nodes[size_t(v.producer)];
        if (p.opType == "Constant" && p.domain.empty()) {
            const Attribute* a = p.attr("value");
            if (a && a->kind == Attribute::Kind::Tensor) return &a->t;
        }
    }
    return nullptr;
}

std::string nodeLabel(const Graph& g, int node) {
    const Node& n = g.nodes[size_t(node)];
    return n.name.empty() ? "#" + std::to_string(node) : n.name;
}

WeightOrReason layerWeight(const Graph& g, int node) {
    const Node& n = g.nodes[size_t(node)];
    WeightOrReason r;
    if (n.inputs.size() < 2 || n.inputs[1] < 0) {
        r.reason = "it has no weight input";
        return r;
    }
    const Tensor* t = constantOf(g, n.inputs[1]);
    if (!t) {
        r.reason = "its weight is computed at run time, not a constant";
        return r;
    }
    if (t->dtype() != DType::F32) {
        r.reason = std::string("its weight is ") + dtypeName(t->dtype()) + ", not f32";
        return r;
    }
    if (n.inputs[0] >= 0 && constantOf(g, n.inputs[0])) {
        r.reason = "both of its inputs are constants";
        return r;
    }
    LayerWeight w;
    w.node = node;
    w.valueId = n.inputs[1];
    w.tensor = *t;
    const Shape& s = t->shape();
    if (n.opType == "Conv") {
        if (s.size() < 3) {
            r.reason = "its weight " + shapeToString(s) + " is not a convolution kernel";
            return r;
        }
        w.N = s[0];
        w.K = t->numel() / std::max<int64_t>(1, s[0]);
    } else if (n.opType == "Gemm" || n.opType == "MatMul") {
        if (s.size() != 2) {
            r.reason = "its weight " + shapeToString(s) + " is not a matrix";
            return r;
        }
        const bool transB = n.opType == "Gemm" && n.attrInt("transB", 0) != 0;
        w.transposed = !transB;
        w.N = transB ? s[0] : s[1];
        w.K = transB ? s[1] : s[0];
    } else {
        r.reason = n.opType + " has no weight the passes handle";
        return r;
    }
    if (w.N <= 0 || w.K <= 0) {
        r.reason = "its weight is empty";
        return r;
    }
    r.weight = std::move(w);
    return r;
}

std::string freshName(const Graph& g, const std::string& base) {
    if (g.findValue(base) < 0) return base;
    for (int i = 1;; ++i) {
        std::string n = base + "_" + std::to_string(i);
        if (g.findValue(n) < 0) return n;
    }
}

int addWeight(Graph& g, const std::string& base, Tensor t) { return g.addInitializer(freshName(g, base), std::move(t)); }

void setInput(Graph& g, int node, size_t input, int valueId) {
    auto& ins = g.nodes[size_t(node)].inputs;
    if (ins.size() <= input) ins.resize(input + 1, -1);
    ins[input] = valueId;
}

double relativeError(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(a[i]) * double(a[i]);
    }
    return den > 0 ? std::sqrt(num / den) : 0.0;
}

double zeroFraction(const std::vector<float>& w) {
    if (w.empty()) return 0;
    return double(std::count(w.begin(), w.end(), 0.0f)) / double(w.size());
}

int64_t bytesOf(const Tensor& t) { return int64_t(t.nbytes()); }

int64_t chooseRank(const CompressStep& s, int64_t N, int64_t K, const std::vector<double>& sv) {
    const int64_t full = std::min(N, K);
    if (s.rank > 0) return s.rank;
    if (s.rankRatio > 0) return std::clamp<int64_t>(int64_t(std::ceil(s.rankRatio * double(full))), 1, full);
    if (s.paramCut > 0) return int64_t(std::floor((1.0 - s.paramCut) * double(N * K) / double(N + K)));
    double total = 0;
    for (double x : sv) total += x * x;
    double kept = 0;
    for (size_t r = 0; r < sv.size(); ++r) {
        kept += sv[r] * sv[r];
        if (kept >= s.energy * total) return int64_t(r) + 1;
    }
    return full;
}

}  // namespace compression

namespace {
using namespace compression;

std::string stepLabel(size_t index, const CompressStep& s) {
    return "step " + std::to_string(index + 1) + " (" + compressMethodName(s.method) + ")";
}

Error stepError(ErrorCode code, size_t index, const CompressStep& s, const std::string& message) {
    return makeError(code, stepLabel(index, s) + ": " + message);
}

bool inUnitInterval(double x) { return x > 0 && x < 1; }

std::vector<std::string> supportedOps(CompressMethod m) {
    switch (m) {
    case CompressMethod::QuantizeNBits:
    case CompressMethod::QuantizeBcq: return {"Gemm", "MatMul"};
    case CompressMethod::PruneChannels: return {"Conv"};
    case CompressMethod::PruneFfn:
    case CompressMethod::PruneHeads:
    case CompressMethod::Decompose: return {"Gemm", "MatMul"};
    default: return {"Conv", "Gemm", "MatMul"};
    }
}

std::string joinOps(const std::vector<std::string>& ops) {
    std::string s;
    for (size_t i = 0; i < ops.size(); ++i) s += (i ? (i + 1 == ops.size() ? " and " : ", ") : "") + ops[i];
    return s;
}

Status checkParameters(size_t i, const CompressStep& s) {
    auto bad = [&](const std::string& m) { return stepError(ErrorCode::Invalid, i, s, m); };
    switch (s.method) {
    case CompressMethod::QuantizeInt8: {
        if (s.bits != 8) return bad("int8 quantization has 8 bits, not " + std::to_string(s.bits));
        const ActivationCalibration& a = s.activations;
        if (!a.enabled) break;
        if (a.bits != 8)
            return stepError(ErrorCode::Unsupported, i, s, "activations are quantized to 8 bits, not " + std::to_string(a.bits));
        if (a.samples < 1) return bad("calibration needs at least one sample, not " + std::to_string(a.samples));
        if (a.data.empty()) return bad("static activation quantization needs calibration data (\"data\": \"mnist:DIR\")");
        if (a.method == CalibrationMethod::Percentile && !(a.percentile > 50 && a.percentile <= 100))
            return bad("the calibration percentile must be above 50 and at most 100, not " + std::to_string(a.percentile));
        break;
    }
    case CompressMethod::QuantizeNBits:
        if (s.bits < 2 || s.bits > 8) return bad("bits must be between 2 and 8, not " + std::to_string(s.bits));
        if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8)
            return stepError(ErrorCode::Unsupported, i, s,
                             std::to_string(s.bits) + "-bit weights are not supported (MatMulNBits stores 2, 3, 4 or 8 bits)");
        if (s.group < 16 || (s.group & (s.group - 1)) != 0)
            return bad("group " + std::to_string(s.group) + " must be a power of two of at least 16 (the MatMulNBits block size)");
        if (!(s.outliers >= 0 && s.outliers <= 0.1))
            return bad("outliers must be a fraction between 0 and 0.1 of each layer's weights, not " + std::to_string(s.outliers));
        if (s.criterion == PruneCriterion::Beta) return bad("outliers are ranked by magnitude or by activation, not by beta");
        if (s.criterion == PruneCriterion::Activation) {
            if (s.outliers <= 0) return bad("ranking outliers by activation needs an outlier fraction above 0");
            if (s.activations.data.empty())
                return bad("ranking outliers by activation needs calibration data (a \"calibration\" object in the recipe, --calib-data on the command line)");
            if (s.activations.samples < 1) return bad("calibration needs at least one sample, not " + std::to_string(s.activations.samples));
        }
        break;
    case CompressMethod::QuantizeBcq:
        if (s.bits < 1 || s.bits > 4) return bad("binary coding takes 1 to 4 bit planes, not " + std::to_string(s.bits));
        if (s.group < 4 || s.group % 4)
            return bad("group " + std::to_string(s.group) + " must be a positive multiple of 4 (the lookup tables cover 4 weights)");
        if (s.iterations < 0 || s.iterations > 100)
            return bad("iterations must be between 0 and 100, not " + std::to_string(s.iterations));
        break;
    case CompressMethod::Prune:
        if (!inUnitInterval(s.sparsity)) return bad("sparsity must be between 0 and 1 (exclusive), not " + std::to_string(s.sparsity));
        break;
    case CompressMethod::PruneNM:
        if (s.m < 2 || s.m > 64 || s.n < 1 || s.n >= s.m)
            return bad(std::to_string(s.n) + ":" + std::to_string(s.m) + " is not an N:M pattern (need 0 < N < M <= 64)");
        break;
    case CompressMethod::PruneChannels:
    case CompressMethod::PruneFfn:
    case CompressMethod::PruneHeads: {
        const char* what = s.method == CompressMethod::PruneChannels ? "filters" : s.method == CompressMethod::PruneFfn ? "neurons" : "heads";
        if (!inUnitInterval(s.sparsity))
            return bad(std::string("the fraction of ") + what + " removed must be between 0 and 1 (exclusive), not " + std::to_string(s.sparsity));
        if (s.norm != 1 && s.norm != 2) return bad("the filter norm must be 1 (L1) or 2 (L2), not " + std::to_string(s.norm));
        if (s.criterion == PruneCriterion::Beta && s.method != CompressMethod::PruneChannels)
            return bad("the beta criterion ranks Conv filters; rank neurons and heads by weight or activation");
        if (s.criterion != PruneCriterion::Weight) {
            const ActivationCalibration& a = s.activations;
            if (a.data.empty())
                return bad(std::string("the ") + pruneCriterionName(s.criterion, s.norm) + " criterion needs calibration data (a \"calibration\" object in the recipe, --calib-data on the command line)");
            if (a.samples < 1) return bad("calibration needs at least one sample, not " + std::to_string(a.samples));
        }
        break;
    }
    case CompressMethod::Decompose: {
        if (!inUnitInterval(s.sparsity))
            return bad("the fraction of each module's inner dimension removed must be between 0 and 1 (exclusive), not " + std::to_string(s.sparsity));
        if (s.modules != "ffn" && s.modules != "qk" && s.modules != "vo" && s.modules != "all")
            return bad("modules must be ffn, qk, vo or all, not '" + s.modules + "'");
        const ActivationCalibration& a = s.activations;
        if (a.data.empty())
            return bad("modular decomposition fits the modules on calibration data, and none is given (a \"calibration\" object in the recipe, --calib-data on the command line)");
        if (a.samples < 1) return bad("calibration needs at least one sample, not " + std::to_string(a.samples));
        break;
    }
    case CompressMethod::QuantizeGgml:
        if (s.ggmlType != DType::Q8_0 && s.ggmlType != DType::Q4_0)
            return stepError(ErrorCode::Unsupported, i, s, std::string("the block type must be q8_0 or q4_0, not ") + dtypeName(s.ggmlType));
        if (s.algorithm != "rtn" && s.algorithm != "gptq" && s.algorithm != "awq")
            return bad("the algorithm must be rtn, gptq or awq, not '" + s.algorithm + "'");
        if (s.group != 32)
            return bad(std::string(dtypeName(s.ggmlType)) + " blocks hold 32 weights, so group " + std::to_string(s.group) + " cannot be written");
        if (!(s.damp > 0 && s.damp < 1)) return bad("damp must be between 0 and 1 (exclusive), not " + std::to_string(s.damp));
        if (s.calibrationTokens < 2) return bad("calibration_tokens must be at least 2, not " + std::to_string(s.calibrationTokens));
        if (!s.layers.opTypes.empty()) return bad("language-model quantization selects tensors by name, not by op type");
        break;
    case CompressMethod::LowRank: {
        const int set = (s.rank != 0) + (s.rankRatio != 0) + (s.energy != 0) + (s.paramCut != 0);
        if (set != 1) return bad("give exactly one of rank, rank_ratio, energy or param_cut");
        if (s.rank < 0) return bad("rank must be positive, not " + std::to_string(s.rank));
        if (s.rankRatio != 0 && !inUnitInterval(s.rankRatio)) return bad("rank_ratio must be between 0 and 1 (exclusive), not " + std::to_string(s.rankRatio));
        if (s.energy != 0 && !inUnitInterval(s.energy)) return bad("energy must be between 0 and 1 (exclusive), not " + std::to_string(s.energy));
        if (s.paramCut != 0 && !inUnitInterval(s.paramCut)) return bad("param_cut must be between 0 and 1 (exclusive), not " + std::to_string(s.paramCut));
        if (s.activations.enabled) {
            if (s.activations.samples < 1) return bad("calibration needs at least one sample, not " + std::to_string(s.activations.samples));
            if (s.activations.data.empty()) return bad("data-aware low-rank needs calibration data (\"data\": \"mnist:DIR\")");
        }
        break;
    }
    }
    return {};
}

// The nodes a step touches. Explicitly named nodes must exist and be of a handled op type;
// named op types must be handled and present.
Result<std::vector<int>> selectNodes(const Graph& g, size_t i, const CompressStep& s) {
    const auto ops = supportedOps(s.method);
    auto handled = [&](const std::string& op) { return std::find(ops.begin(), ops.end(), op) != ops.end(); };
    auto refuseOp = [&](const std::string& op, const std::string& what) -> Error {
        if (s.method == CompressMethod::QuantizeNBits && op == "Conv")
            return stepError(ErrorCode::Unsupported, i, s,
                             "group-wise " + std::to_string(s.bits) + "-bit quantization of " + what +
                                 " is not supported (MatMulNBits is a matrix product; use int8 for Conv)");
        if (s.method == CompressMethod::QuantizeBcq && op == "Conv")
            return stepError(ErrorCode::Unsupported, i, s,
                             "binary coding of " + what + " is not supported (BinaryCodedMatMul is a matrix product; use int8 for Conv)");
        return stepError(ErrorCode::Invalid, i, s, what + " cannot be handled; this method works on " + joinOps(ops));
    };
    std::set<int> chosen;
    for (const auto& op : s.layers.opTypes) {
        if (!handled(op)) return refuseOp(op, op + " layers");
        bool any = false;
        for (size_t n = 0; n < g.nodes.size(); ++n)
            if (g.nodes[n].opType == op) {
                chosen.insert(int(n));
                any = true;
            }
        if (!any) return stepError(ErrorCode::Invalid, i, s, "the model has no " + op + " layer");
    }
    for (const auto& name : s.layers.names) {
        int found = -1;
        for (size_t n = 0; n < g.nodes.size(); ++n)
            if (g.nodes[n].name == name) found = int(n);
        if (found < 0) return stepError(ErrorCode::Invalid, i, s, "the model has no layer named '" + name + "'");
        const Node& n = g.nodes[size_t(found)];
        if (!handled(n.opType)) return refuseOp(n.opType, "layer '" + name + "' (" + n.opType + ")");
        auto w = layerWeight(g, found);
        if (!w.weight) return stepError(ErrorCode::Invalid, i, s, "layer '" + name + "' cannot be compressed: " + w.reason);
        chosen.insert(found);
    }
    if (s.layers.all())
        for (size_t n = 0; n < g.nodes.size(); ++n)
            if (handled(g.nodes[n].opType) && g.nodes[n].domain.empty()) chosen.insert(int(n));
    return std::vector<int>(chosen.begin(), chosen.end());
}

// Checks that depend on layer sizes (a rank must fit every selected layer).
Status checkAgainstLayers(const Graph& g, size_t i, const CompressStep& s, const std::vector<int>& nodes) {
    if (s.method != CompressMethod::LowRank || s.rank <= 0) return {};
    for (int n : nodes) {
        auto w = layerWeight(g, n);
        if (!w.weight) continue;
        const int64_t full = std::min(w.weight->N, w.weight->K);
        if (s.rank > full)
            return stepError(ErrorCode::Invalid, i, s,
                             "rank " + std::to_string(s.rank) + " is above min(K, N) = " + std::to_string(full) + " of " +
                                 g.nodes[size_t(n)].opType + " '" + nodeLabel(g, n) + "'");
    }
    return {};
}

// Names referenced inside subgraphs: outer values they read must survive the clean-up.
void subgraphNames(const Graph& g, std::set<std::string>& names) {
    for (const auto& n : g.nodes)
        for (const auto& [k, a] : n.attributes) {
            std::vector<const Graph*> subs;
            if (a.g) subs.push_back(a.g.get());
            for (const auto& sg : a.graphs) subs.push_back(sg.get());
            for (const Graph* sg : subs) {
                for (const auto& v : sg->values) names.insert(v.name);
                subgraphNames(*sg, names);
            }
        }
}

// Drops Constant nodes and initializers nothing reads any more (the weights a pass replaced),
// puts the nodes back in dependency order (ONNX files need it) and re-links.
Status finalizeGraph(Graph& g) {
    BY_TRY(g.rebuildLinks());
    std::set<int> outputs(g.outputs.begin(), g.outputs.end());
    std::vector<bool> dropNode(g.nodes.size(), false);
    for (size_t n = 0; n < g.nodes.size(); ++n) {
        const Node& node = g.nodes[n];
        if (node.opType != "Constant" || !node.domain.empty()) continue;
        bool used = false;
        for (int o : node.outputs)
            if (o >= 0 && (!g.values[size_t(o)].consumers.empty() || outputs.count(o))) used = true;
        dropNode[n] = !used;
    }
    std::vector<Node> kept;
    for (size_t n = 0; n < g.nodes.size(); ++n)
        if (!dropNode[n]) kept.push_back(std::move(g.nodes[n]));
    g.nodes = std::move(kept);

    std::set<std::string> inner;
    subgraphNames(g, inner);
    std::vector<bool> keep(g.values.size(), false);
    for (const auto& n : g.nodes) {
        for (int v : n.inputs)
            if (v >= 0) keep[size_t(v)] = true;
        for (int v : n.outputs)
            if (v >= 0) keep[size_t(v)] = true;
    }
    for (int v : g.inputs) keep[size_t(v)] = true;
    for (int v : g.outputs) keep[size_t(v)] = true;
    for (size_t v = 0; v < g.values.size(); ++v)
        if (!keep[v] && (!g.values[v].data || inner.count(g.values[v].name))) keep[v] = true;
    std::vector<int> remap(g.values.size(), -1);
    std::vector<Value> values;
    for (size_t v = 0; v < g.values.size(); ++v)
        if (keep[v]) {
            remap[v] = int(values.size());
            values.push_back(std::move(g.values[v]));
        }
    g.values = std::move(values);
    auto fix = [&](std::vector<int>& ids) {
        for (int& id : ids)
            if (id >= 0) id = remap[size_t(id)];
    };
    for (auto& n : g.nodes) {
        fix(n.inputs);
        fix(n.outputs);
    }
    fix(g.inputs);
    fix(g.outputs);
    g.rebuildIndex();
    BY_TRY(g.rebuildLinks());
    auto order = g.topologicalOrder();
    if (!order) return order.error();
    std::vector<Node> sorted;
    sorted.reserve(g.nodes.size());
    for (int n : *order) sorted.push_back(std::move(g.nodes[size_t(n)]));
    g.nodes = std::move(sorted);
    BY_TRY(g.rebuildLinks());
    return g.validate();
}

Status runStep(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset, std::vector<LayerReport>& out,
               std::shared_ptr<const Dataset> data = nullptr) {
    switch (s.method) {
    case CompressMethod::QuantizeInt8: return quantizeInt8(g, s, nodes, opset, out);
    case CompressMethod::QuantizeNBits: return quantizeNBits(g, s, nodes, opset, data, out);
    case CompressMethod::QuantizeBcq: return quantizeBcq(g, s, nodes, out);
    case CompressMethod::Prune: return pruneMagnitude(g, s, nodes, out);
    case CompressMethod::PruneNM: return pruneNM(g, s, nodes, out);
    case CompressMethod::PruneChannels: return pruneChannels(g, s, nodes, opset, data, out);
    case CompressMethod::PruneFfn: return pruneFfn(g, s, nodes, !s.layers.names.empty(), opset, data, out);
    case CompressMethod::PruneHeads: return pruneHeads(g, s, nodes, !s.layers.names.empty(), opset, data, out);
    case CompressMethod::LowRank: return lowRank(g, s, nodes, opset, data, out);
    case CompressMethod::Decompose: return decompose(g, s, nodes, !s.layers.names.empty(), opset, data, out);
    case CompressMethod::QuantizeGgml: break;  // whole-model step, see compress()
    }
    return makeError(ErrorCode::Internal, "unknown compression method");
}

bool usesCalibration(const CompressStep& s) {
    const bool structured = s.method == CompressMethod::PruneChannels || s.method == CompressMethod::PruneFfn || s.method == CompressMethod::PruneHeads;
    return (structured && s.criterion != PruneCriterion::Weight) || (s.method == CompressMethod::LowRank && s.activations.enabled) ||
           (s.method == CompressMethod::QuantizeNBits && s.criterion == PruneCriterion::Activation) || s.method == CompressMethod::Decompose;
}

int64_t defaultOpset(const Model& m) {
    for (const auto& [d, v] : m.opsets)
        if (d.empty() || d == "ai.onnx") return v;
    return 0;
}

Status checkVersion(const Recipe& r) {
    if (r.version < 1 || r.version > Recipe::kVersion)
        return makeError(ErrorCode::Unsupported, "recipe version " + std::to_string(r.version) +
                                                     " is not one this build reads (1 to " + std::to_string(Recipe::kVersion) + ")");
    if (r.steps.empty()) return makeError(ErrorCode::Invalid, "the recipe has no steps");
    return {};
}

LmQuantOptions lmOptions(const CompressStep& s, const CompressContext& ctx) {
    LmQuantOptions o;
    o.type = s.ggmlType;
    o.algorithm = s.algorithm == "gptq" ? LmQuantAlgorithm::Gptq : s.algorithm == "awq" ? LmQuantAlgorithm::Awq : LmQuantAlgorithm::Rtn;
    o.names = s.layers.names;
    o.damp = s.damp;
    o.maxCalibrationTokens = s.calibrationTokens;
    o.calibrationTokens = ctx.calibrationTokens;
    o.threads = ctx.threads;
    o.progress = ctx.progress;
    return o;
}

// Tensor names and block sizes of a QuantizeGgml step, checked without encoding anything.
Status checkGgmlStep(const Model& model, size_t i, const CompressStep& s) {
    if (!model.graph.nodes.empty())
        return stepError(ErrorCode::Unsupported, i, s, "ggml block quantization applies to weights-only language models (GGUF), not to a graph of operators");
    auto plan = planLmQuantization(model, s.ggmlType);
    if (!plan) return stepError(plan.error().code, i, s, plan.error().message);
    for (const auto& n : s.layers.names) {
        const auto it = std::find_if(plan->begin(), plan->end(), [&](const LmTensorPlan& p) { return p.name == n; });
        if (it == plan->end()) return stepError(ErrorCode::Invalid, i, s, "the model has no tensor named '" + n + "'");
        if (!it->quantize && it->from == it->to && it->note.rfind("already", 0) != 0)
            return stepError(ErrorCode::Invalid, i, s, "tensor '" + n + "' is " + it->note + ", which llama-quantize keeps unquantized");
    }
    return {};
}

}  // namespace

Status validateRecipe(const Model& model, const Recipe& recipe) {
    BY_TRY(checkVersion(recipe));
    for (size_t i = 0; i < recipe.steps.size(); ++i) {
        BY_TRY(checkParameters(i, recipe.steps[i]));
        if (recipe.steps[i].method == CompressMethod::QuantizeGgml) {
            BY_TRY(checkGgmlStep(model, i, recipe.steps[i]));
            continue;
        }
        auto nodes = selectNodes(model.graph, i, recipe.steps[i]);
        if (!nodes) return nodes.error();
        BY_TRY(checkAgainstLayers(model.graph, i, recipe.steps[i], *nodes));
    }
    return {};
}

Result<CompressResult> compress(const Model& model, const Recipe& recipe, const CompressContext& ctx) {
    BY_TRY(checkVersion(recipe));
    for (size_t i = 0; i < recipe.steps.size(); ++i) BY_TRY(checkParameters(i, recipe.steps[i]));
    CompressResult r;
    r.model = model;  // tensors share storage with the input; passes only ever add new tensors
    r.paramsBefore = model.graph.parameterCount();
    r.bytesBefore = model.graph.weightBytes();
    Graph& g = r.model.graph;
    BY_TRY(g.rebuildLinks());
    const int64_t opset = defaultOpset(model);
    for (size_t i = 0; i < recipe.steps.size(); ++i) {
        if (ctx.progress) {
            if (ctx.progress->cancelled()) return makeError(ErrorCode::Cancelled, "compression was cancelled");
            ctx.progress->report(double(i) / double(recipe.steps.size()), stepLabel(i, recipe.steps[i]));
        }
        const CompressStep& s = recipe.steps[i];
        if (s.method == CompressMethod::QuantizeGgml) {
            BY_TRY(checkGgmlStep(r.model, i, s));
            auto q = quantizeLanguageModel(r.model, lmOptions(s, ctx));
            if (!q) {
                Error e = q.error();
                e.message = stepLabel(i, s) + ": " + e.message;
                return e;
            }
            r.model = std::move(q->model);
            r.layers.insert(r.layers.end(), q->layers.begin(), q->layers.end());
            continue;  // a weights-only graph: no node clean-up (it would drop every tensor)
        }
        auto nodes = selectNodes(g, i, s);
        if (!nodes) return nodes.error();
        BY_TRY(checkAgainstLayers(g, i, s, *nodes));
        std::vector<LayerReport> rows;
        Status st;
        const bool staticQuant = s.method == CompressMethod::QuantizeInt8 && s.activations.enabled;
        std::shared_ptr<const Dataset> data;
        if (staticQuant || usesCalibration(s)) {
            if (!ctx.openDataset)
                return stepError(ErrorCode::Invalid, i, s, std::string(staticQuant ? "static activation quantization" : s.method == CompressMethod::LowRank ? "data-aware low-rank" : s.method == CompressMethod::QuantizeNBits ? "ranking outliers by activation" : s.method == CompressMethod::Decompose ? "modular decomposition" : "data-driven pruning") +
                                                               " needs calibration data, and nothing here can open '" + s.activations.data + "'");
            auto d = ctx.openDataset(s.activations.data, s.activations.split);
            if (!d) return stepError(d.error().code, i, s, "calibration data: " + d.error().message);
            data = *d;
        }
        if (staticQuant) st = quantizeStatic(g, s, *nodes, opset, data, rows);
        else st = runStep(g, s, *nodes, opset, rows, data);
        if (!st) {
            Error e = st.error();
            e.message = stepLabel(i, s) + ": " + e.message;
            return e;
        }
        r.layers.insert(r.layers.end(), rows.begin(), rows.end());
        BY_TRY(g.rebuildLinks());
        // Later steps look weights up through producers: keep the graph clean between steps.
        BY_TRY(finalizeGraph(g));
    }
    // Operators of extension domains the passes wrote need their domain among the opset imports.
    for (const char* domain : {"com.microsoft", "com.brickyard"}) {
        if (std::none_of(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.domain == domain; })) continue;
        bool has = false;
        for (const auto& [d, v] : r.model.opsets) has |= d == domain;
        if (!has) r.model.opsets.emplace_back(domain, 1);
    }
    r.model.sourcePath.clear();
    r.model.warnings.clear();
    r.paramsAfter = g.parameterCount();
    r.bytesAfter = g.weightBytes();
    if (ctx.progress) ctx.progress->report(1.0, "done");
    return r;
}

Result<LayerReport> previewLayer(const Model& model, const std::string& nodeName, const CompressStep& step) {
    CompressStep s = step;
    s.layers = LayerSelector{{}, {nodeName}};
    BY_TRY(checkParameters(0, s));
    if (s.method == CompressMethod::QuantizeGgml)
        return makeError(ErrorCode::Unsupported, "ggml block quantization has no per-layer preview; compress the model instead");
    if (s.method == CompressMethod::LowRank && s.activations.enabled)
        return makeError(ErrorCode::Unsupported,
                         "data-aware low-rank factorises on calibration data, which a layer preview does not run; compress the model instead");
    if (s.method == CompressMethod::Decompose)
        return makeError(ErrorCode::Unsupported, "modular decomposition fits the modules on calibration data, which a layer preview does not run; compress the model instead");
    if (usesCalibration(s))
        return makeError(ErrorCode::Unsupported, std::string("the ") + pruneCriterionName(s.criterion, s.norm) +
                                                     " criterion ranks on calibration data, which a layer preview does not run; compress the model instead");
    Graph g = model.graph;
    BY_TRY(g.rebuildLinks());
    auto nodes = selectNodes(g, 0, s);
    if (!nodes) return nodes.error();
    BY_TRY(checkAgainstLayers(g, 0, s, *nodes));
    std::vector<LayerReport> rows;
    // Channel pruning of one layer in isolation: its consumers are not sliced in a preview.
    if (s.method == CompressMethod::PruneChannels) {
        auto w = layerWeight(g, nodes->front());
        const int64_t N = w.weight->N, K = w.weight->K;
        const auto W = w.weight->rows();
        std::vector<std::pair<double, int64_t>> norms;
        for (int64_t n = 0; n < N; ++n) {
            double acc = 0;
            for (int64_t k = 0; k < K; ++k) {
                const double x = W[size_t(n * K + k)];
                acc += s.norm == 1 ? std::fabs(x) : x * x;
            }
            norms.emplace_back(acc, n);
        }
        std::sort(norms.begin(), norms.end());
        const int64_t drop = std::min<int64_t>(N - 1, int64_t(std::floor(s.sparsity * double(N))));
        std::vector<float> pruned = W;
        for (int64_t i = 0; i < drop; ++i)
            std::fill_n(pruned.begin() + norms[size_t(i)].second * K, K, 0.f);
        LayerReport row;
        row.layer = nodeName;
        row.opType = g.nodes[size_t(nodes->front())].opType;
        row.method = compressMethodName(s.method);
        row.detail = std::to_string(N - drop) + "/" + std::to_string(N) + " filters";
        row.paramsBefore = N * K;
        row.paramsAfter = (N - drop) * K;
        row.bytesBefore = row.paramsBefore * 4;
        row.bytesAfter = row.paramsAfter * 4;
        row.relError = relativeError(W, pruned);
        return row;
    }
    BY_TRY(runStep(g, s, *nodes, defaultOpset(model), rows));
    if (rows.empty()) return makeError(ErrorCode::Internal, "the pass reported nothing for '" + nodeName + "'");
    return rows.front();
}

}  // namespace by
