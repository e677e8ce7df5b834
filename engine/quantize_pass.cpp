// Weight quantization passes: int8 (DequantizeLinear in front of the original op) and group-wise
// 2/3/4/8-bit as com.microsoft MatMulNBits (packing as ops_quant.cpp reads it: elements along K,
// lowest bits first, blocks of `group`, one scale and one packed zero point per block).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <map>
#include <queue>
#include <set>

#include "engine/compression_internal.h"
#include "engine/lut_gemv.h"

namespace by::compression {

namespace {

int addFloatValue(Graph& g, const std::string& base, const Shape& shape) {
    Value v;
    v.name = freshName(g, base);
    v.dtype = DType::F32;
    if (!shape.empty()) v.shape = toDimShape(shape);
    return g.addValue(std::move(v));
}

// A Gemm or MatMul that a packed matrix product (MatMulNBits, BinaryCodedMatMul) replaces: Gemm's
// bias as an N-vector when it has one, or why the node cannot be replaced (`skip`).
struct PackedBias {
    std::optional<Tensor> bias;
    std::string skip;
};

Result<PackedBias> packedProductBias(const Graph& g, const Node& node, int64_t N, const std::string& op) {
    PackedBias r;
    if (node.opType != "Gemm") return r;
    if (node.attrInt("transA", 0) != 0) {
        r.skip = "Gemm with transA=1 has no " + op + " form";
        return r;
    }
    if (node.attrFloat("alpha", 1.0) != 1.0) {
        r.skip = "Gemm alpha is not 1";
        return r;
    }
    if (node.inputs.size() > 2 && node.inputs[2] >= 0) {
        const Tensor* c = constantOf(g, node.inputs[2]);
        if (!c || c->dtype() != DType::F32 || c->numel() != N || node.attrFloat("beta", 1.0) != 1.0) {
            r.skip = "its bias is not a constant f32 vector of N values";
            return r;
        }
        auto b = c->reshaped({N});
        if (!b) return b.error();
        r.bias = std::move(*b);
    }
    return r;
}

}  // namespace

Status quantizeInt8(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset,
                    std::vector<LayerReport>& out) {
    std::map<int, int> dequantized;  // original weight value -> its dequantized value (shared weights)
    for (int n : nodes) {
        LayerReport row = newRow(g, n, s);
        auto lw = layerWeight(g, n);
        if (!lw.weight) {
            row.applied = false;
            row.note = "skipped: " + lw.reason;
            out.push_back(row);
            continue;
        }
        const LayerWeight& w = *lw.weight;
        const int64_t numel = w.tensor.numel();
        row.paramsBefore = row.paramsAfter = numel;
        row.bytesBefore = bytesOf(w.tensor);
        if (auto it = dequantized.find(w.valueId); it != dequantized.end()) {
            setInput(g, n, 1, it->second);
            row.detail = "shared";
            row.bytesAfter = 0;
            row.note = "shares its quantized weights with an earlier layer";
            out.push_back(row);
            continue;
        }
        // Channel of flat element i: rows of N for [N, K]-stored weights, columns for [K, N].
        const int64_t C = s.perChannel ? w.N : 1;
        auto channel = [&](int64_t i) -> size_t {
            if (!s.perChannel) return 0;
            return size_t(w.transposed ? i % w.N : i / w.K);
        };
        const float* p = w.tensor.data<float>();
        std::vector<float> scale(size_t(C), 0.f);
        for (int64_t i = 0; i < numel; ++i) scale[channel(i)] = std::max(scale[channel(i)], std::fabs(p[i]));
        for (float& x : scale) x = x > 0 ? x / 127.f : 1.f;
        std::vector<uint8_t> q(static_cast<size_t>(numel));
        std::vector<float> orig(p, p + numel), deq(static_cast<size_t>(numel));
        for (int64_t i = 0; i < numel; ++i) {
            const float sc = scale[channel(i)];
            const float v = std::clamp(std::nearbyint(p[i] / sc), -127.f, 127.f);
            q[size_t(i)] = uint8_t(int8_t(v));
            deq[size_t(i)] = v * sc;
        }
        row.relError = relativeError(orig, deq);
        row.sparsity = zeroFraction(deq);
        row.detail = s.perChannel ? "int8 per-channel" : "int8 per-tensor";

        const std::string base = g.values[size_t(w.valueId)].name.empty() ? row.layer + "_weight" : g.values[size_t(w.valueId)].name;
        const Shape shape = w.tensor.shape();
        auto qt = Tensor::fromBytes(DType::I8, shape, std::move(q));
        if (!qt) return qt.error();
        const int qId = addWeight(g, base + "_int8", std::move(*qt));
        int outId = -1;
        if (opset >= 13 || (!s.perChannel && opset >= 10)) {
            const int sId = addWeight(g, base + "_scale", s.perChannel ? Tensor::fromFloats({C}, scale) : Tensor::fromFloats({}, scale));
            outId = addFloatValue(g, base + "_dequantized", shape);
            Node dq;
            dq.name = row.layer + "_weight_dequantize";
            dq.opType = "DequantizeLinear";
            dq.inputs = {qId, sId};
            dq.outputs = {outId};
            if (s.perChannel) dq.setAttr("axis", Attribute::ofInt(w.transposed ? 1 : 0));
            g.addNode(std::move(dq));
        } else {
            // DequantizeLinear has no axis before opset 13 (and does not exist before 10): the same
            // arithmetic as Cast then Mul by a scale shaped to broadcast along the channel axis.
            Shape sShape;
            if (s.perChannel) {
                if (w.transposed) sShape = {C};
                else {
                    sShape.assign(shape.size(), 1);
                    sShape[0] = C;
                }
            }
            const int sId = addWeight(g, base + "_scale", Tensor::fromFloats(sShape, scale));
            const int castId = addFloatValue(g, base + "_as_float", shape);
            Node cast;
            cast.name = row.layer + "_weight_cast";
            cast.opType = "Cast";
            cast.inputs = {qId};
            cast.outputs = {castId};
            cast.setAttr("to", Attribute::ofInt(1));  // TensorProto FLOAT
            g.addNode(std::move(cast));
            outId = addFloatValue(g, base + "_dequantized", shape);
            Node mul;
            mul.name = row.layer + "_weight_scale";
            mul.opType = "Mul";
            mul.inputs = {castId, sId};
            mul.outputs = {outId};
            g.addNode(std::move(mul));
            row.note = "opset " + std::to_string(opset) + " has no per-axis DequantizeLinear: written as Cast and Mul";
        }
        setInput(g, n, 1, outId);
        dequantized[w.valueId] = outId;
        row.bytesAfter = numel + C * 4;
        out.push_back(row);
    }
    return {};
}

// Adds X * C to the output of node `n` (about to become MatMulNBits), where C [K, N] is zero but at
// the flat indices `idx` (k * N + n) with f16 values `val`: ConstantOfShape and ScatterElements
// build C at run time from the sparse side tensors, a MatMul applies it and an Add sums it in.
Status addOutlierCorrection(Graph& g, int n, const std::string& base, int64_t K, int64_t N, const std::vector<int64_t>& idx,
                            const std::vector<uint16_t>& val) {
    const std::string layer = nodeLabel(g, n);
    const int x = g.nodes[size_t(n)].inputs[0];
    const int y = g.nodes[size_t(n)].outputs[0];
    std::vector<uint8_t> bytes(val.size() * 2);
    std::memcpy(bytes.data(), val.data(), bytes.size());
    auto vt = Tensor::fromBytes(DType::F16, {int64_t(val.size())}, std::move(bytes));
    if (!vt) return vt.error();
    const int valId = addWeight(g, base + "_outlier_values", std::move(*vt));
    const int idxId = addWeight(g, base + "_outlier_indices", Tensor::fromInt64s({int64_t(idx.size())}, idx));
    const int flatShape = addWeight(g, base + "_outlier_numel", Tensor::fromInt64s({1}, {K * N}));
    const int matShape = addWeight(g, base + "_outlier_shape", Tensor::fromInt64s({2}, {K, N}));
    auto value = [&](const std::string& name) {
        Value v;
        v.name = freshName(g, name);
        v.dtype = DType::F32;
        return g.addValue(std::move(v));
    };
    auto node = [&](const std::string& op, const std::string& name, std::vector<int> in, int out) -> Node& {
        Node nd;
        nd.name = freshName(g, name);
        nd.opType = op;
        nd.inputs = std::move(in);
        nd.outputs = {out};
        g.addNode(std::move(nd));
        return g.nodes.back();
    };
    const int zeros = value(base + "_outlier_zeros"), vals = value(base + "_outlier_values_f32"), flat = value(base + "_outlier_flat"),
              dense = value(base + "_outlier_dense"), corr = value(layer + "_outlier_correction"), main = value(layer + "_quantized_out");
    node("ConstantOfShape", layer + "_outlier_zeros", {flatShape}, zeros).setAttr("value", Attribute::ofTensor(Tensor::fromFloats({1}, {0.f})));
    node("Cast", layer + "_outlier_cast", {valId}, vals).setAttr("to", Attribute::ofInt(1));
    node("ScatterElements", layer + "_outlier_scatter", {zeros, idxId, vals}, flat).setAttr("axis", Attribute::ofInt(0));
    node("Reshape", layer + "_outlier_reshape", {flat, matShape}, dense);
    node("MatMul", layer + "_outlier_matmul", {x, dense}, corr);
    g.nodes[size_t(n)].outputs[0] = main;
    node("Add", layer + "_outlier_add", {main, corr}, y);
    return {};
}

namespace {

// sqrt(E[x_k^2]) of each layer's input along its last axis (the K of its weight) on the step's
// calibration samples: how strongly input k drives the outputs, for ranking outliers.
Result<std::map<int, std::vector<double>>> inputChannelRms(const Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset,
                                                          const Dataset& data) {
    std::map<int, std::vector<int>> readers;  // input value -> layers
    std::map<int, std::vector<double>> sums;
    std::map<int, int64_t> rows;
    for (int n : nodes) {
        const Node& node = g.nodes[size_t(n)];
        if (node.inputs.empty() || node.inputs[0] < 0) continue;
        if (node.opType == "Gemm" && node.attrInt("transA", 0) != 0) continue;
        auto lw = layerWeight(g, n);
        if (!lw.weight) continue;
        readers[node.inputs[0]].push_back(n);
        sums[n].assign(size_t(lw.weight->K), 0.0);
        rows[n] = 0;
    }
    std::set<int> wanted;
    for (const auto& [v, ns] : readers) wanted.insert(v);
    auto feed = [&](int v, const Tensor& t) {
        auto it = readers.find(v);
        if (it == readers.end() || t.dtype() != DType::F32 || t.rank() < 1) return;
        const int64_t K = t.shape().back();
        const float* x = t.data<float>();
        for (int n : it->second) {
            std::vector<double>& acc = sums[n];
            if (int64_t(acc.size()) != K) continue;
            const int64_t m = t.numel() / std::max<int64_t>(K, 1);
            for (int64_t r = 0; r < m; ++r)
                for (int64_t k = 0; k < K; ++k) acc[size_t(k)] += double(x[r * K + k]) * double(x[r * K + k]);
            rows[n] += m;
        }
    };
    if (!wanted.empty()) BY_TRY(forEachCalibrationActivation(g, opset, s.activations, data, wanted, feed));
    std::map<int, std::vector<double>> rms;
    for (auto& [n, acc] : sums) {
        if (rows[n] == 0) continue;  // its input never reached: ranked by magnitude
        for (double& a : acc) a = std::sqrt(a / double(rows[n]));
        rms[n] = std::move(acc);
    }
    return rms;
}

// The greedy data-aware outlier choice of quantizeNBits. `steps` is the number of quantization
// steps a group's range is divided into; symmetric groups span [-amax, amax], asymmetric ones
// [min(lo, 0), max(hi, 0)] as the packing below computes them.
void chooseOutliersOnData(const std::vector<float>& W, int64_t N, int64_t K, int64_t group, int steps, bool symmetric,
                          const std::vector<double>& rms, int64_t count, std::vector<char>& isOutlier) {
    struct Group {
        std::vector<int64_t> order;  // flat indices, ascending by value (symmetric: by |value|)
        size_t lo = 0, hi = 0;       // kept weights are order[lo, hi)
        double energy = 0;           // sum of E[x_k^2] over kept weights
    };
    const int64_t blocks = (K + group - 1) / group;
    std::vector<Group> groups(size_t(N * blocks));
    auto key = [&](int64_t i) { return symmetric ? std::fabs(double(W[size_t(i)])) : double(W[size_t(i)]); };
    auto e2 = [&](int64_t i) { return rms[size_t(i % K)] * rms[size_t(i % K)]; };
    for (int64_t r = 0; r < N; ++r)
        for (int64_t b = 0; b < blocks; ++b) {
            Group& gr = groups[size_t(r * blocks + b)];
            for (int64_t k = b * group; k < std::min(K, (b + 1) * group); ++k) {
                gr.order.push_back(r * K + k);
                gr.energy += e2(r * K + k);
            }
            std::sort(gr.order.begin(), gr.order.end(), [&](int64_t a, int64_t c) { return key(a) != key(c) ? key(a) < key(c) : a < c; });
            gr.hi = gr.order.size();
        }
    auto span = [&](const Group& gr, size_t lo, size_t hi) {
        if (lo >= hi) return 0.0;
        if (symmetric) return 2.0 * std::fabs(double(W[size_t(gr.order[hi - 1])]));
        return std::max(0.0, double(W[size_t(gr.order[hi - 1])])) - std::min(0.0, double(W[size_t(gr.order[lo])]));
    };
    // The better of removing the group's largest or (asymmetric) smallest kept weight.
    struct Candidate {
        double gain = -1;
        bool top = true;
    };
    auto best = [&](const Group& gr) {
        Candidate c;
        if (gr.lo >= gr.hi) return c;
        const double step = span(gr, gr.lo, gr.hi) / steps;
        for (bool top : {true, false}) {
            if (!top && symmetric) break;
            const int64_t i = top ? gr.order[gr.hi - 1] : gr.order[gr.lo];
            const double after = span(gr, top ? gr.lo : gr.lo + 1, top ? gr.hi - 1 : gr.hi) / steps;
            const double gain = ((gr.energy - e2(i)) * (step * step - after * after) + e2(i) * step * step) / 12.0;
            if (gain > c.gain) c = {gain, top};
        }
        return c;
    };
    using Entry = std::pair<double, int64_t>;  // gain, group
    std::priority_queue<Entry> heap;
    std::vector<Candidate> cand(groups.size());
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        cand[gi] = best(groups[gi]);
        if (cand[gi].gain >= 0) heap.push({cand[gi].gain, -int64_t(gi)});  // ties: the lower group first
    }
    for (int64_t taken = 0; taken < count && !heap.empty();) {
        const auto [gain, neg] = heap.top();
        heap.pop();
        const size_t gi = size_t(-neg);
        if (gain != cand[gi].gain) continue;  // stale
        Group& gr = groups[gi];
        const int64_t i = cand[gi].top ? gr.order[--gr.hi] : gr.order[gr.lo++];
        isOutlier[size_t(i)] = 1;
        gr.energy -= e2(i);
        ++taken;
        cand[gi] = best(gr);
        if (cand[gi].gain >= 0) heap.push({cand[gi].gain, neg});
    }
}

}  // namespace

Status quantizeNBits(Graph& g, const CompressStep& s, const std::vector<int>& nodes, int64_t opset, const std::shared_ptr<const Dataset>& data,
                     std::vector<LayerReport>& out) {
    std::map<int, std::vector<double>> channelRms;
    if (s.criterion == PruneCriterion::Activation && s.outliers > 0) {
        if (!data) return makeError(ErrorCode::Invalid, "ranking outliers by activation needs calibration data");
        auto r = inputChannelRms(g, s, nodes, opset, *data);
        if (!r) return r.error();
        channelRms = std::move(*r);
    }
    for (int n : nodes) {
        LayerReport row = newRow(g, n, s);
        auto skip = [&](const std::string& why) {
            row.applied = false;
            row.note = "skipped: " + why;
            out.push_back(row);
        };
        auto lw = layerWeight(g, n);
        if (!lw.weight) {
            skip(lw.reason);
            continue;
        }
        const LayerWeight& w = *lw.weight;
        const Node& node = g.nodes[size_t(n)];
        auto form = packedProductBias(g, node, w.N, "MatMulNBits");
        if (!form) return form.error();
        if (!form->skip.empty()) {
            skip(form->skip);
            continue;
        }
        std::optional<Tensor> bias = std::move(form->bias);
        const int64_t N = w.N, K = w.K, group = s.group;
        const int store = s.bits == 3 ? 4 : s.bits;  // 3-bit levels live in 4-bit containers
        const int levels = 1 << s.bits;
        const int64_t blocks = (K + group - 1) / group, blob = group * store / 8;
        const int64_t zeroRow = (blocks * store + 7) / 8;
        const std::vector<float> W = w.rows();
        std::vector<float> deq(W.size());
        // Outliers leave the groups' ranges (so the other weights get finer steps) and are added
        // back exactly, up to f16 rounding. By magnitude: the largest |w| of the layer. On data:
        // greedily, the weight at the end of a group's range whose removal lowers the layer's
        // expected output error most, sum_k E[x_k^2] (w_rk - q(w_rk))^2 with each rounding error
        // taken as step^2 / 12: the group's input energy times the step it saves, plus its own.
        std::vector<char> isOutlier(W.size(), 0);
        const int64_t outlierCount = int64_t(std::floor(s.outliers * double(W.size())));
        const auto rmsIt = channelRms.find(n);
        const bool byActivation = rmsIt != channelRms.end();
        if (outlierCount > 0 && byActivation)
            chooseOutliersOnData(W, N, K, group, s.symmetric ? (levels / 2 - 1) * 2 : levels - 1, s.symmetric, rmsIt->second, outlierCount,
                                 isOutlier);
        else if (outlierCount > 0) {
            std::vector<int64_t> order(W.size());
            std::iota(order.begin(), order.end(), int64_t(0));
            std::nth_element(order.begin(), order.begin() + (outlierCount - 1), order.end(), [&](int64_t a, int64_t b) {
                const float ma = std::fabs(W[size_t(a)]), mb = std::fabs(W[size_t(b)]);
                return ma != mb ? ma > mb : a < b;
            });
            for (int64_t i = 0; i < outlierCount; ++i) isOutlier[size_t(order[size_t(i)])] = 1;
        }
        std::vector<uint8_t> packed(size_t(N * blocks * blob), 0), zeros(size_t(N * zeroRow), 0);
        std::vector<float> scales(size_t(N * blocks));
        auto put = [](uint8_t* base, int64_t index, int bits, int v) {
            const int64_t bit = index * bits;
            base[bit >> 3] = uint8_t(base[bit >> 3] | (v << (bit & 7)));
        };
        for (int64_t r = 0; r < N; ++r) {
            for (int64_t b = 0; b < blocks; ++b) {
                const int64_t k0 = b * group, k1 = std::min(K, k0 + group);
                const float* x = W.data() + r * K;
                float lo = 0, hi = 0, amax = 0;
                for (int64_t k = k0; k < k1; ++k) {
                    if (isOutlier[size_t(r * K + k)]) continue;
                    lo = std::min(lo, x[k]);
                    hi = std::max(hi, x[k]);
                    amax = std::max(amax, std::fabs(x[k]));
                }
                float scale;
                int zero, qmin, qmax;
                if (s.symmetric) {
                    const int half = levels / 2 - 1;  // symmetric levels -half..half around the default zero
                    zero = 1 << (store - 1);
                    scale = amax > 0 ? amax / float(half) : 1.f;
                    qmin = zero - half;
                    qmax = zero + half;
                } else {
                    scale = hi > lo ? (hi - lo) / float(levels - 1) : 1.f;
                    zero = std::clamp(int(std::nearbyint(-lo / scale)), 0, levels - 1);
                    qmin = 0;
                    qmax = levels - 1;
                    put(zeros.data() + r * zeroRow, b, store, zero);
                }
                scales[size_t(r * blocks + b)] = scale;
                uint8_t* dst = packed.data() + (r * blocks + b) * blob;
                for (int64_t j = 0; j < group; ++j) {
                    const int64_t k = k0 + j;
                    int q = zero;  // padding past K decodes to 0
                    if (k < k1) {
                        q = std::clamp(int(std::nearbyint(x[k] / scale)) + zero, qmin, qmax);
                        deq[size_t(r * K + k)] = float(q - zero) * scale;
                    }
                    put(dst, j, store, q);
                }
            }
        }
        // The correction at the outliers, in f16, as flat indices into the [K, N] product weight.
        std::vector<int64_t> outIdx;
        std::vector<uint16_t> outVal;
        for (int64_t k = 0; k < K; ++k)
            for (int64_t r = 0; r < N; ++r) {
                const size_t i = size_t(r * K + k);
                if (!isOutlier[i]) continue;
                const uint16_t h = floatToHalf(W[i] - deq[i]);
                outIdx.push_back(k * N + r);
                outVal.push_back(h);
                deq[i] += halfToFloat(h);
            }
        row.relError = relativeError(W, deq);
        row.sparsity = zeroFraction(deq);
        row.paramsBefore = row.paramsAfter = N * K;
        row.bytesBefore = bytesOf(w.tensor);
        row.detail = std::to_string(s.bits) + "-bit g" + std::to_string(group) + (s.symmetric ? " symmetric" : "");
        if (s.bits == 3) row.note = "3-bit levels stored in 4-bit containers";
        if (!outIdx.empty()) row.detail += " + " + std::to_string(outIdx.size()) + " f16 outliers" + (byActivation ? " (chosen on data)" : "");

        const std::string base = g.values[size_t(w.valueId)].name.empty() ? row.layer + "_weight" : g.values[size_t(w.valueId)].name;
        auto bt = Tensor::fromBytes(DType::U8, {N, blocks, blob}, std::move(packed));
        if (!bt) return bt.error();
        row.bytesAfter = int64_t(bt->nbytes()) + int64_t(scales.size()) * 4;
        const int bId = addWeight(g, base + "_q" + std::to_string(s.bits), std::move(*bt));
        const int sId = addWeight(g, base + "_scales", Tensor::fromFloats({N * blocks}, scales));
        int zId = -1;
        if (!s.symmetric) {
            row.bytesAfter += int64_t(zeros.size());
            auto zt = Tensor::fromBytes(DType::U8, {N * zeroRow}, std::move(zeros));
            if (!zt) return zt.error();
            zId = addWeight(g, base + "_zero_points", std::move(*zt));
        }
        int biasId = -1;
        if (bias) biasId = addWeight(g, base + "_bias", std::move(*bias));
        if (!outIdx.empty()) {
            BY_TRY(addOutlierCorrection(g, n, base, K, N, outIdx, outVal));
            row.bytesAfter += int64_t(outIdx.size()) * (8 + 2) + 16 + 8;  // indices, f16 values, two shape constants
        }
        Node& nd = g.nodes[size_t(n)];
        const int a = nd.inputs[0];
        nd.opType = "MatMulNBits";
        nd.domain = "com.microsoft";
        nd.attributes.clear();
        nd.setAttr("K", Attribute::ofInt(K));
        nd.setAttr("N", Attribute::ofInt(N));
        nd.setAttr("bits", Attribute::ofInt(store));
        nd.setAttr("block_size", Attribute::ofInt(group));
        nd.inputs = {a, bId, sId, zId};
        if (biasId >= 0) {
            nd.inputs.push_back(-1);  // g_idx
            nd.inputs.push_back(biasId);
        } else if (zId < 0) {
            nd.inputs.pop_back();
        }
        out.push_back(row);
    }
    return {};
}

Status quantizeBcq(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out) {
    for (int n : nodes) {
        LayerReport row = newRow(g, n, s);
        auto skip = [&](const std::string& why) {
            row.applied = false;
            row.note = "skipped: " + why;
            out.push_back(row);
        };
        auto lw = layerWeight(g, n);
        if (!lw.weight) {
            skip(lw.reason);
            continue;
        }
        const LayerWeight& w = *lw.weight;
        const Node& node = g.nodes[size_t(n)];
        auto form = packedProductBias(g, node, w.N, "BinaryCodedMatMul");
        if (!form) return form.error();
        if (!form->skip.empty()) {
            skip(form->skip);
            continue;
        }
        std::optional<Tensor> bias = std::move(form->bias);
        const std::vector<float> W = w.rows();
        auto coded = binaryCode(W.data(), w.N, w.K, s.bits, s.group, s.iterations);
        if (!coded) return coded.error();
        BinaryCodedMatrix& m = *coded;
        row.relError = relativeError(W, m.dequantize());
        row.paramsBefore = row.paramsAfter = w.N * w.K;
        row.bytesBefore = bytesOf(w.tensor);
        row.bytesAfter = m.storageBytes();  // what the two tensors below hold, padding rows included
        row.detail = std::to_string(s.bits) + "-bit bcq g" + std::to_string(s.group);
        row.note = s.iterations > 0 ? std::to_string(s.iterations) + " least-squares rounds" : "greedy coding";
        if (m.rows % 32) row.note += "; rows padded to " + std::to_string(m.rowBlocks() * 32);

        const std::string base = g.values[size_t(w.valueId)].name.empty() ? row.layer + "_weight" : g.values[size_t(w.valueId)].name;
        auto bt = Tensor::fromBytes(DType::U8, {m.planes, m.rowBlocks(), m.chunks(), 16}, std::move(m.bits));
        if (!bt) return bt.error();
        const int bId = addWeight(g, base + "_bcq" + std::to_string(s.bits), std::move(*bt));
        const int sId = addWeight(g, base + "_bcq_scales", Tensor::fromFloats({m.planes, m.groups(), m.rowBlocks() * 32}, m.alpha));
        int biasId = -1;
        if (bias) biasId = addWeight(g, base + "_bias", std::move(*bias));
        Node& nd = g.nodes[size_t(n)];
        const int a = nd.inputs[0];
        nd.opType = "BinaryCodedMatMul";
        nd.domain = "com.brickyard";
        nd.attributes.clear();
        nd.setAttr("K", Attribute::ofInt(w.K));
        nd.setAttr("N", Attribute::ofInt(w.N));
        nd.setAttr("planes", Attribute::ofInt(s.bits));
        nd.setAttr("group_size", Attribute::ofInt(s.group));
        nd.inputs = {a, bId, sId};
        if (biasId >= 0) nd.inputs.push_back(biasId);
        out.push_back(row);
    }
    return {};
}

}  // namespace by::compression
