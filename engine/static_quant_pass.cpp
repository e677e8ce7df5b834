// Static int8 quantization: calibrate activation ranges on a dataset, then rewrite the layers to
// integer operators that read and write uint8 activations.
//
// The rewrite walks the nodes in dependency order and keeps, for every f32 value that now also
// exists in uint8, its quantized twin (value, scale, zero point). A quantized layer reads its
// input's twin, or a QuantizeLinear of the f32 value when there is none yet; MaxPool, Flatten,
// Reshape and friends whose input has a twin run on the bytes and give their output the same
// scale and zero point (they only move or select values). An f32 value whose producer was
// replaced gets a DequantizeLinear only if something still reads it in f32 (a graph output, an
// op that stays f32), so consecutive int8 layers hand bytes to each other directly.
//
// Layers: Conv -> QLinearConv; Gemm -> com.microsoft QGemm (ONNX has no quantized Gemm with a bias;
// this is the form ONNX Runtime's quantizer writes), with float output when nothing after it is
// quantized; MatMul with a constant right side -> QLinearMatMul. A Relu that is the only reader of
// a layer's output is folded in: the layer's output range is the Relu's (from 0), so the clamp
// at the uint8 zero point is the Relu. Weights are symmetric int8 per output channel (or per
// tensor), biases int32 with scale x_scale * w_scale.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "engine/compression_internal.h"
#include "engine/executor.h"

namespace by::compression {

namespace {

const std::set<std::string> kPassThrough = {"MaxPool", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity"};

struct QInfo {
    int value = -1;
    ActivationQuant p;
};

struct Layer {
    int node = -1;
    int input = -1;   // f32 activation value
    int output = -1;  // f32 value the quantized layer replaces (the Relu's output when folded)
    int relu = -1;    // folded Relu node, or -1
    LayerWeight weight;
    std::optional<Tensor> bias;  // f32, N values
};

int newValue(Graph& g, const std::string& base, DType t, const std::optional<DimShape>& shape) {
    Value v;
    v.name = freshName(g, base);
    v.dtype = t;
    v.shape = shape;
    return g.addValue(std::move(v));
}

int scalarF32(Graph& g, const std::string& base, float v) { return addWeight(g, base, Tensor::fromFloats({}, {v})); }

Result<int> byteConst(Graph& g, const std::string& base, DType t, const Shape& shape, std::vector<uint8_t> bytes) {
    auto tt = Tensor::fromBytes(t, shape, std::move(bytes));
    if (!tt) return tt.error();
    return addWeight(g, base, std::move(*tt));
}

Result<int> int32Const(Graph& g, const std::string& base, const std::vector<int32_t>& v) {
    std::vector<uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    auto t = Tensor::fromBytes(DType::I32, {int64_t(v.size())}, std::move(bytes));
    if (!t) return t.error();
    return addWeight(g, base, std::move(*t));
}

// The layer `n` in a form the rewrite handles, or why not.
std::optional<Layer> describe(const Graph& g, int n, std::string& why) {
    const Node& node = g.nodes[size_t(n)];
    auto lw = layerWeight(g, n);
    if (!lw.weight) {
        why = lw.reason;
        return std::nullopt;
    }
    Layer L;
    L.node = n;
    L.input = node.inputs[0];
    L.weight = *lw.weight;
    if (node.opType == "Gemm") {
        if (node.attrInt("transA", 0) != 0) {
            why = "Gemm with transA=1 has no quantized form here";
            return std::nullopt;
        }
        if (node.attrFloat("alpha", 1.0) != 1.0 || node.attrFloat("beta", 1.0) != 1.0) {
            why = "Gemm alpha or beta is not 1";
            return std::nullopt;
        }
    }
    if (node.opType == "MatMul" && g.values[size_t(L.input)].shape && g.values[size_t(L.input)].shape->size() < 2) {
        why = "its input is a vector";
        return std::nullopt;
    }
    const size_t biasInput = 2;
    if ((node.opType == "Conv" || node.opType == "Gemm") && node.inputs.size() > biasInput && node.inputs[biasInput] >= 0) {
        const Tensor* b = constantOf(g, node.inputs[biasInput]);
        if (!b || b->dtype() != DType::F32 || b->numel() != L.weight.N) {
            why = "its bias is not a constant f32 vector of one value per output";
            return std::nullopt;
        }
        L.bias = *b;
    }
    L.output = node.outputs[0];
    const Value& y = g.values[size_t(L.output)];
    const bool isGraphOutput = std::find(g.outputs.begin(), g.outputs.end(), L.output) != g.outputs.end();
    if (y.consumers.size() == 1 && !isGraphOutput) {
        const Node& c = g.nodes[size_t(y.consumers[0])];
        if (c.opType == "Relu" && c.domain.empty() && c.outputs.size() == 1) {
            L.relu = y.consumers[0];
            L.output = c.outputs[0];
        }
    }
    return L;
}

struct QuantWeight {
    std::vector<uint8_t> q;     // int8 bytes in the stored layout
    std::vector<float> scale;   // per output channel (size 1 per tensor)
    double relError = 0, sparsity = 0;
};

QuantWeight quantizeWeight(const LayerWeight& w, bool perChannel) {
    QuantWeight r;
    const int64_t numel = w.tensor.numel(), C = perChannel ? w.N : 1;
    auto channel = [&](int64_t i) -> size_t {
        if (!perChannel) return 0;
        return size_t(w.transposed ? i % w.N : i / w.K);
    };
    const float* p = w.tensor.data<float>();
    r.scale.assign(size_t(C), 0.f);
    for (int64_t i = 0; i < numel; ++i) r.scale[channel(i)] = std::max(r.scale[channel(i)], std::fabs(p[i]));
    for (float& x : r.scale) x = x > 0 ? x / 127.f : 1.f;
    r.q.resize(size_t(numel));
    std::vector<float> orig(p, p + numel), deq(static_cast<size_t>(numel));
    for (int64_t i = 0; i < numel; ++i) {
        const float sc = r.scale[channel(i)];
        const float v = std::clamp(std::nearbyint(p[i] / sc), -127.f, 127.f);
        r.q[size_t(i)] = uint8_t(int8_t(v));
        deq[size_t(i)] = v * sc;
    }
    r.relError = relativeError(orig, deq);
    r.sparsity = zeroFraction(deq);
    return r;
}

// Runs the f32 graph over the calibration samples, feeding every value in `wanted` to its
// observer: once for the ranges, and once more for the histograms when the method needs them.
Status calibrate(const Graph& g, int64_t opset, const CompressStep& s, const Dataset& data, const std::set<int>& wanted,
                 std::map<int, RangeObserver>& obs, int64_t& used) {
    const bool histogram = s.activations.method != CalibrationMethod::MinMax;
    for (int pass = 0; pass < (histogram ? 2 : 1); ++pass) {
        if (pass == 1)
            for (auto& [v, o] : obs) o.beginHistogram();
        auto feed = [&](int v, const Tensor& t) {
            if (t.dtype() != DType::F32) return;
            RangeObserver& o = obs[v];
            if (pass == 0) o.observeRange(t.data<float>(), t.numel());
            else o.observeHistogram(t.data<float>(), t.numel());
        };
        BY_TRY(forEachCalibrationActivation(g, opset, s.activations, data, wanted, feed, &used));
    }
    return {};
}

}  // namespace

Status quantizeStatic(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset, std::shared_ptr<const Dataset> data,
                      std::vector<LayerReport>& out) {
    BY_TRY(g.rebuildLinks());
    const ActivationCalibration& act = s.activations;
    // 1. Which layers, and which activations they need ranges for.
    std::map<int, Layer> layers;
    std::vector<LayerReport> skipped;
    for (int n : nodes) {
        std::string why;
        auto L = describe(g, n, why);
        if (!L) {
            LayerReport row;
            row.layer = nodeLabel(g, n);
            row.opType = g.nodes[size_t(n)].opType;
            row.method = compressMethodName(s.method);
            row.applied = false;
            row.note = "skipped: " + why;
            skipped.push_back(row);
            continue;
        }
        layers.emplace(n, std::move(*L));
    }
    if (layers.empty()) {
        out.insert(out.end(), skipped.begin(), skipped.end());
        return {};
    }
    std::set<int> wanted;
    for (const auto& [n, L] : layers) {
        wanted.insert(L.input);
        wanted.insert(L.output);
    }
    // 2. Calibration on the f32 graph as it is now.
    std::map<int, RangeObserver> obs;
    int64_t used = 0;
    BY_TRY(calibrate(g, opset, s, *data, wanted, obs, used));
    auto paramsOf = [&](int v) {
        auto it = obs.find(v);
        return it == obs.end() ? ActivationQuant{} : uint8Params(it->second.range(act.method, act.percentile));
    };

    // 3. Rewrite in dependency order.
    auto order = g.topologicalOrder();
    if (!order) return order.error();
    const size_t originalNodes = g.nodes.size();
    std::vector<char> removed(originalNodes, 0);
    std::map<int, QInfo> twin;      // f32 value -> its uint8 twin
    std::set<int> replaced;         // f32 values whose producer is gone
    std::vector<LayerReport> rows;
    auto u8Scalar = [&](const std::string& base, int32_t z) { return byteConst(g, base, DType::U8, {}, {uint8_t(z)}); };

    auto quantizedInput = [&](int x, const std::string& base) -> Result<QInfo> {
        if (auto it = twin.find(x); it != twin.end()) return it->second;
        QInfo q;
        q.p = paramsOf(x);
        q.value = newValue(g, base + "_quantized", DType::U8, g.values[size_t(x)].shape);
        const int sId = scalarF32(g, base + "_scale", q.p.scale);
        auto zId = u8Scalar(base + "_zero_point", q.p.zero);
        if (!zId) return zId.error();
        Node qn;
        qn.name = freshName(g, base + "_quantize");
        qn.opType = "QuantizeLinear";
        qn.inputs = {x, sId, *zId};
        qn.outputs = {q.value};
        g.addNode(std::move(qn));
        twin[x] = q;
        return q;
    };
    // Will the value be read by something that takes bytes (a layer or a pass-through op)?
    auto readInInt8 = [&](int v) {
        for (int c : g.values[size_t(v)].consumers) {
            if (size_t(c) >= originalNodes) continue;
            if (layers.count(c) && g.nodes[size_t(c)].inputs[0] == v) return true;
            if (kPassThrough.count(g.nodes[size_t(c)].opType) && g.nodes[size_t(c)].inputs[0] == v) return true;
        }
        return false;
    };

    for (int n : *order) {
        if (size_t(n) >= originalNodes || removed[size_t(n)]) continue;
        const Node node = g.nodes[size_t(n)];
        if (auto li = layers.find(n); li != layers.end()) {
            const Layer& L = li->second;
            const std::string label = nodeLabel(g, n);
            auto qx = quantizedInput(L.input, g.values[size_t(L.input)].name.empty() ? label + "_input" : g.values[size_t(L.input)].name);
            if (!qx) return qx.error();
            const QuantWeight qw = quantizeWeight(L.weight, s.perChannel);
            const int64_t C = int64_t(qw.scale.size());
            const Shape wShape = L.weight.tensor.shape();
            auto wId = byteConst(g, label + "_weight_int8", DType::I8, wShape, qw.q);
            if (!wId) return wId.error();
            const int wsId = addWeight(g, label + "_weight_scale", s.perChannel ? Tensor::fromFloats({C}, qw.scale) : Tensor::fromFloats({}, qw.scale));
            auto wzId = s.perChannel ? byteConst(g, label + "_weight_zero_point", DType::I8, {C}, std::vector<uint8_t>(size_t(C), 0))
                                     : byteConst(g, label + "_weight_zero_point", DType::I8, {}, {0});
            if (!wzId) return wzId.error();
            int biasId = -1;
            if (L.bias) {
                const float* b = L.bias->data<float>();
                std::vector<int32_t> bq(size_t(L.weight.N));
                for (int64_t m = 0; m < L.weight.N; ++m) {
                    const double sc = double(qx->p.scale) * double(qw.scale[s.perChannel ? size_t(m) : 0]);
                    const double v = std::nearbyint(double(b[m]) / sc);
                    bq[size_t(m)] = int32_t(std::clamp(v, double(std::numeric_limits<int32_t>::min()), double(std::numeric_limits<int32_t>::max())));
                }
                auto id = int32Const(g, label + "_bias_int32", bq);
                if (!id) return id.error();
                biasId = *id;
            }
            const bool floatOut = node.opType == "Gemm" && !readInInt8(L.output);
            QInfo qy;
            qy.p = paramsOf(L.output);
            int sy = -1, zy = -1;
            if (!floatOut) {
                sy = scalarF32(g, label + "_output_scale", qy.p.scale);
                auto z = u8Scalar(label + "_output_zero_point", qy.p.zero);
                if (!z) return z.error();
                zy = *z;
                qy.value = newValue(g, g.values[size_t(L.output)].name + "_quantized", DType::U8, g.values[size_t(L.output)].shape);
            }
            const int sx = scalarF32(g, label + "_input_scale", qx->p.scale);
            auto zx = u8Scalar(label + "_input_zero_point", qx->p.zero);
            if (!zx) return zx.error();
            Node q;
            q.name = label + "_quantized";
            q.outputs = {floatOut ? L.output : qy.value};
            if (node.opType == "Conv") {
                q.opType = "QLinearConv";
                q.inputs = {qx->value, sx, *zx, *wId, wsId, *wzId, sy, zy};
                if (biasId >= 0) q.inputs.push_back(biasId);
                for (const auto& [k, a] : node.attributes) q.setAttr(k, a);
            } else if (node.opType == "Gemm") {
                q.opType = "QGemm";
                q.domain = "com.microsoft";
                q.inputs = {qx->value, sx, *zx, *wId, wsId, *wzId, biasId};
                if (!floatOut) {
                    q.inputs.push_back(sy);
                    q.inputs.push_back(zy);
                }
                q.setAttr("transB", Attribute::ofInt(node.attrInt("transB", 0)));
            } else {
                q.opType = "QLinearMatMul";
                q.inputs = {qx->value, sx, *zx, *wId, wsId, *wzId, sy, zy};
            }
            g.addNode(std::move(q));
            removed[size_t(n)] = 1;
            if (L.relu >= 0) removed[size_t(L.relu)] = 1;
            if (!floatOut) {
                twin[L.output] = qy;
                replaced.insert(L.output);
            }

            LayerReport row;
            row.layer = label;
            row.opType = node.opType;
            row.method = compressMethodName(s.method);
            row.detail = std::string("int8 static ") + calibrationMethodName(act.method) + (s.perChannel ? " per-channel" : " per-tensor") +
                         (L.relu >= 0 ? " +Relu" : "") + (floatOut ? " f32 out" : "");
            row.paramsBefore = row.paramsAfter = L.weight.tensor.numel();
            row.bytesBefore = bytesOf(L.weight.tensor) + (L.bias ? bytesOf(*L.bias) : 0);
            row.bytesAfter = L.weight.tensor.numel() + C * 5 + (L.bias ? L.weight.N * 4 : 0);
            row.relError = qw.relError;
            row.sparsity = qw.sparsity;
            char buf[160];
            if (floatOut)
                std::snprintf(buf, sizeof buf, "input scale %.4g zero %d; f32 output; %lld calibration samples", double(qx->p.scale),
                              int(qx->p.zero), (long long)used);
            else
                std::snprintf(buf, sizeof buf, "input scale %.4g zero %d; output scale %.4g zero %d; %lld calibration samples",
                              double(qx->p.scale), int(qx->p.zero), double(qy.p.scale), int(qy.p.zero), (long long)used);
            row.note = buf;
            rows.push_back(row);
            continue;
        }
        if (kPassThrough.count(node.opType) && node.domain.empty() && !node.inputs.empty() && twin.count(node.inputs[0]) &&
            !node.outputs.empty() && node.outputs[0] >= 0 && std::all_of(node.outputs.begin() + 1, node.outputs.end(), [](int o) { return o < 0; })) {
            const QInfo in = twin[node.inputs[0]];
            Node copy = node;
            copy.name = freshName(g, node.name.empty() ? node.opType + "_int8" : node.name + "_int8");
            copy.inputs[0] = in.value;
            QInfo o;
            o.p = in.p;
            o.value = newValue(g, g.values[size_t(node.outputs[0])].name + "_quantized", DType::U8, g.values[size_t(node.outputs[0])].shape);
            copy.outputs = {o.value};
            g.addNode(std::move(copy));
            removed[size_t(n)] = 1;
            twin[node.outputs[0]] = o;
            replaced.insert(node.outputs[0]);
        }
    }

    // 4. f32 values still read in f32 come back through DequantizeLinear.
    const std::set<int> graphOutputs(g.outputs.begin(), g.outputs.end());
    for (int v : replaced) {
        bool needed = graphOutputs.count(v) > 0;
        for (int c : g.values[size_t(v)].consumers)
            if (size_t(c) < originalNodes && !removed[size_t(c)]) needed = true;
        if (!needed) continue;
        const QInfo& q = twin[v];
        const std::string base = g.values[size_t(v)].name;
        const int sId = scalarF32(g, base + "_dequant_scale", q.p.scale);
        auto zId = u8Scalar(base + "_dequant_zero_point", q.p.zero);
        if (!zId) return zId.error();
        Node dq;
        dq.name = freshName(g, base + "_dequantize");
        dq.opType = "DequantizeLinear";
        dq.inputs = {q.value, sId, *zId};
        dq.outputs = {v};
        g.addNode(std::move(dq));
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (i >= originalNodes || !removed[i]) kept.push_back(std::move(g.nodes[i]));
    g.nodes = std::move(kept);
    BY_TRY(g.rebuildLinks());
    out.insert(out.end(), rows.begin(), rows.end());
    out.insert(out.end(), skipped.begin(), skipped.end());
    return {};
}

}  // namespace by::compression
