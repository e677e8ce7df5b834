// Pruning passes: unstructured magnitude (per layer or one global threshold), N:M along the
// input dimension, and structured Conv filter pruning that slices every consumer of the removed
// channels so the smaller model still runs.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "engine/compression_internal.h"

namespace by::compression {

namespace {

std::string weightBase(const Graph& g, int valueId, const std::string& layer) {
    const std::string& n = g.values[size_t(valueId)].name;
    return n.empty() ? layer + "_weight" : n;
}

// Magnitude below which weights are removed, and how many weights exactly at it go too, so that
// exactly `count` of `mags` are removed.
struct Threshold {
    float value = 0;
    int64_t ties = 0;
};
Threshold thresholdFor(std::vector<float> mags, int64_t count) {
    Threshold t;
    if (count <= 0) {
        t.value = -1;
        return t;
    }
    std::nth_element(mags.begin(), mags.begin() + (count - 1), mags.end());
    t.value = mags[size_t(count - 1)];
    const int64_t below = std::count_if(mags.begin(), mags.end(), [&](float m) { return m < t.value; });
    t.ties = count - below;
    return t;
}

void applyThreshold(std::vector<float>& w, Threshold& t) {
    for (float& x : w) {
        const float m = std::fabs(x);
        if (m < t.value) x = 0;
        else if (m == t.value && t.ties > 0) {
            x = 0;
            --t.ties;
        }
    }
}

Status replaceWeight(Graph& g, int node, const LayerWeight& w, const std::string& layer, const std::string& suffix,
                     const std::vector<float>& rows) {
    auto t = w.fromRows(rows);
    if (!t) return t.error();
    setInput(g, node, 1, addWeight(g, weightBase(g, w.valueId, layer) + suffix, std::move(*t)));
    return {};
}

}  // namespace

Status pruneMagnitude(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out) {
    struct Item {
        int node;
        LayerWeight w;
        LayerReport row;
    };
    std::vector<Item> items;
    for (int n : nodes) {
        LayerReport row = newRow(g, n, s);
        auto lw = layerWeight(g, n);
        if (!lw.weight) {
            row.applied = false;
            row.note = "skipped: " + lw.reason;
            out.push_back(row);
            continue;
        }
        items.push_back({n, std::move(*lw.weight), row});
    }
    Threshold global;
    if (s.global) {
        std::vector<float> all;
        for (const auto& it : items) {
            const float* p = it.w.tensor.data<float>();
            for (int64_t i = 0; i < it.w.tensor.numel(); ++i) all.push_back(std::fabs(p[i]));
        }
        global = thresholdFor(std::move(all), int64_t(std::floor(s.sparsity * double(all.size()))));
    }
    for (auto& it : items) {
        const std::vector<float> W = it.w.rows();
        std::vector<float> P = W;
        if (s.global) {
            applyThreshold(P, global);
        } else {
            std::vector<float> mags(W.size());
            std::transform(W.begin(), W.end(), mags.begin(), [](float x) { return std::fabs(x); });
            Threshold t = thresholdFor(std::move(mags), int64_t(std::floor(s.sparsity * double(W.size()))));
            applyThreshold(P, t);
        }
        BY_TRY(replaceWeight(g, it.node, it.w, it.row.layer, "_pruned", P));
        LayerReport& row = it.row;
        row.paramsBefore = row.paramsAfter = int64_t(W.size());
        row.bytesBefore = row.bytesAfter = bytesOf(it.w.tensor);
        row.relError = relativeError(W, P);
        row.sparsity = zeroFraction(P);
        row.detail = s.global ? "global magnitude" : "per-layer magnitude";
        row.note = "dense storage: zeros do not shrink the file";
        out.push_back(row);
    }
    return {};
}

Status pruneNM(Graph& g, const CompressStep& s, const std::vector<int>& nodes, std::vector<LayerReport>& out) {
    for (int n : nodes) {
        LayerReport row = newRow(g, n, s);
        auto lw = layerWeight(g, n);
        if (!lw.weight || lw.weight->K % s.m != 0) {
            row.applied = false;
            row.note = "skipped: " + (lw.weight ? "its input dimension K = " + std::to_string(lw.weight->K) +
                                                      " is not a multiple of " + std::to_string(s.m)
                                                : lw.reason);
            out.push_back(row);
            continue;
        }
        const LayerWeight& w = *lw.weight;
        const std::vector<float> W = w.rows();
        std::vector<float> P = W;
        std::vector<int> idx(size_t(s.m));
        for (int64_t g0 = 0; g0 < int64_t(W.size()); g0 += s.m) {
            std::iota(idx.begin(), idx.end(), 0);
            // Largest magnitudes first; the earlier position wins a tie so the result is reproducible.
            std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return std::fabs(W[size_t(g0 + a)]) > std::fabs(W[size_t(g0 + b)]); });
            for (int j = s.n; j < s.m; ++j) P[size_t(g0 + idx[size_t(j)])] = 0;
        }
        BY_TRY(replaceWeight(g, n, w, row.layer, "_" + std::to_string(s.n) + "_" + std::to_string(s.m), P));
        row.paramsBefore = row.paramsAfter = int64_t(W.size());
        row.bytesBefore = row.bytesAfter = bytesOf(w.tensor);
        row.relError = relativeError(W, P);
        row.sparsity = zeroFraction(P);
        row.detail = std::to_string(s.n) + ":" + std::to_string(s.m);
        row.note = "dense storage: zeros do not shrink the file";
        out.push_back(row);
    }
    return {};
}

namespace {

// Everything that reads the channels of one Conv output and must drop the same channels.
struct ChannelPlan {
    std::vector<int> convs;                          // Conv nodes reading the channels as input channels
    std::vector<std::pair<int, int64_t>> linears;    // Gemm/MatMul after Flatten: node, elements per channel
    std::vector<int> batchNorms;
    std::vector<int> values;                         // values whose channel count changes
    // Where the next layers read the channels: (value, reading node, elements per channel of the
    // reader's input: 1 for a Conv, the flattened map size for a Flatten+Gemm).
    struct Reader {
        int value, node;
        int64_t per;
    };
    std::vector<Reader> readers;
};

bool isPassThrough(const std::string& op) {
    static const std::set<std::string> ops = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
                                              "Elu", "Selu", "Softplus", "MaxPool", "AveragePool", "GlobalAveragePool",
                                              "GlobalMaxPool", "Dropout", "Identity", "LpPool"};
    return ops.count(op) > 0;
}

bool usedBeyond(const Graph& g, const Node& n) {
    for (size_t o = 1; o < n.outputs.size(); ++o)
        if (n.outputs[o] >= 0 && !g.values[size_t(n.outputs[o])].consumers.empty()) return true;
    return false;
}

bool traceChannels(const Graph& g, int value, int64_t M, ChannelPlan& plan, std::string& why) {
    if (std::find(g.outputs.begin(), g.outputs.end(), value) != g.outputs.end()) {
        why = "its channels reach a graph output";
        return false;
    }
    plan.values.push_back(value);
    for (int c : g.values[size_t(value)].consumers) {
        const Node& n = g.nodes[size_t(c)];
        const std::string label = n.opType + " '" + nodeLabel(g, c) + "'";
        for (size_t i = 1; i < n.inputs.size(); ++i)
            if (n.inputs[i] == value) {
                why = "its output is a secondary input of " + label;
                return false;
            }
        if (!n.domain.empty()) {
            why = "its output feeds " + label + ", which cannot drop channels";
            return false;
        }
        if (isPassThrough(n.opType)) {
            if (usedBeyond(g, n)) {
                why = label + " has a second output in use";
                return false;
            }
            if (!traceChannels(g, n.outputs[0], M, plan, why)) return false;
        } else if (n.opType == "BatchNormalization") {
            for (size_t i = 1; i <= 4; ++i) {
                const Tensor* t = i < n.inputs.size() ? constantOf(g, n.inputs[i]) : nullptr;
                if (!t || t->dtype() != DType::F32 || t->numel() != M) {
                    why = label + " has parameters that are not constant f32 vectors of " + std::to_string(M);
                    return false;
                }
            }
            if (usedBeyond(g, n)) {
                why = label + " has running statistics outputs in use";
                return false;
            }
            plan.batchNorms.push_back(c);
            if (!traceChannels(g, n.outputs[0], M, plan, why)) return false;
        } else if (n.opType == "Conv") {
            auto w = layerWeight(g, c);
            if (n.attrInt("group", 1) != 1 || !w.weight || w.weight->tensor.shape()[1] != M) {
                why = "the next " + label + " is grouped or has weights that cannot be sliced";
                return false;
            }
            if (std::find(plan.convs.begin(), plan.convs.end(), c) == plan.convs.end()) plan.convs.push_back(c);
            plan.readers.push_back({value, c, 1});
        } else if (n.opType == "Flatten" && n.attrInt("axis", 1) == 1) {
            const int flat = n.outputs[0];
            if (std::find(g.outputs.begin(), g.outputs.end(), flat) != g.outputs.end()) {
                why = "its flattened channels reach a graph output";
                return false;
            }
            plan.values.push_back(flat);
            for (int lc : g.values[size_t(flat)].consumers) {
                const Node& l = g.nodes[size_t(lc)];
                auto w = layerWeight(g, lc);
                const bool ok = (l.opType == "Gemm" || l.opType == "MatMul") && l.inputs[0] == flat &&
                                l.attrInt("transA", 0) == 0 && w.weight && w.weight->K % M == 0;
                if (!ok) {
                    why = "the flattened channels feed " + l.opType + " '" + nodeLabel(g, lc) + "', which cannot be sliced";
                    return false;
                }
                plan.linears.emplace_back(lc, w.weight->K / M);
                plan.readers.push_back({value, lc, w.weight->K / M});
            }
        } else {
            why = "its output feeds " + label + ", which cannot drop channels";
            return false;
        }
    }
    return true;
}


// Scores of the M channels of a Conv on calibration data (larger: more important).
//   activation  mean |a_c| where the next layers read channel c;
//   beta        the size of the change removing channel c makes in the next layers' outputs,
//               estimated as sqrt(E[a_c^2]) * ||W_next[:, c]||_F summed over the readers: exact
//               in expectation when the channel's values at different positions are uncorrelated,
//               and cheap (one calibration run, no per-channel re-evaluation).
Result<std::vector<double>> channelScores(const Graph& g, const CompressStep& s, int conv, const ChannelPlan& plan, int64_t M, int64_t opset,
                                          const Dataset& data) {
    std::vector<int> values;
    for (const auto& r : plan.readers) values.push_back(r.value);
    if (values.empty()) values.push_back(g.nodes[size_t(conv)].outputs[0]);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    std::map<int, ChannelStats> stats;
    BY_TRY(collectChannelStats(g, opset, s.activations, data, values, 1, stats));
    std::vector<double> score(size_t(M), 0.0);
    for (int v : values)
        if (int64_t(stats[v].absSum.size()) != M)
            return makeError(ErrorCode::Internal, "calibration saw no " + std::to_string(M) + "-channel activations of '" + nodeLabel(g, conv) + "'");
    if (s.criterion == PruneCriterion::Activation) {
        for (int v : values)
            for (int64_t c = 0; c < M; ++c) score[size_t(c)] += stats[v].meanAbs(size_t(c)) / double(values.size());
        return score;
    }
    if (plan.readers.empty()) {
        for (int64_t c = 0; c < M; ++c) score[size_t(c)] = stats[values[0]].rms(size_t(c));
        return score;
    }
    for (const auto& r : plan.readers) {
        auto lw = layerWeight(g, r.node);
        const auto W = lw.weight->rows();  // [N][K], K = M * per * (kernel size for a Conv)
        const int64_t N = lw.weight->N, K = lw.weight->K;
        const int64_t span = K / M;  // weights per input channel in a row
        for (int64_t c = 0; c < M; ++c) {
            double sq = 0;
            for (int64_t n = 0; n < N; ++n)
                for (int64_t k = c * span; k < (c + 1) * span; ++k) sq += double(W[size_t(n * K + k)]) * W[size_t(n * K + k)];
            score[size_t(c)] += stats[r.value].rms(size_t(c)) * std::sqrt(sq);
        }
    }
    return score;
}

}  // namespace

Status pruneChannels(Graph& g, const CompressStep& s, const std::vector<int>& nodesIn, int64_t opset, std::shared_ptr<const Dataset> data,
                     std::vector<LayerReport>& out) {
    if (s.criterion != PruneCriterion::Weight && !data)
        return makeError(ErrorCode::Invalid, std::string("the ") + pruneCriterionName(s.criterion, s.norm) + " criterion needs calibration data");
    // Front to back, so a Conv whose inputs were sliced by its producer is pruned on the sliced weights.
    auto order = g.topologicalOrder();
    if (!order) return order.error();
    std::vector<int> position(g.nodes.size());
    for (size_t i = 0; i < order->size(); ++i) position[size_t((*order)[i])] = int(i);
    std::vector<int> nodes = nodesIn;
    std::sort(nodes.begin(), nodes.end(), [&](int a, int b) { return position[size_t(a)] < position[size_t(b)]; });

    for (int n : nodes) {
        BY_TRY(g.rebuildLinks());
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
        if (g.nodes[size_t(n)].attrInt("group", 1) != 1) {
            skip("grouped convolution");
            continue;
        }
        const LayerWeight w = *lw.weight;
        const int64_t M = w.N, K = w.K;
        ChannelPlan plan;
        std::string why;
        if (!traceChannels(g, g.nodes[size_t(n)].outputs[0], M, plan, why)) {
            skip(why);
            continue;
        }
        const int64_t drop = std::min<int64_t>(M - 1, int64_t(std::floor(s.sparsity * double(M))));
        if (drop <= 0) {
            skip("removing " + std::to_string(s.sparsity) + " of " + std::to_string(M) + " filters removes none");
            continue;
        }
        const std::vector<float> W = w.rows();
        std::vector<std::pair<double, int64_t>> norms;
        double total = 0;
        for (int64_t m = 0; m < M; ++m) {
            double acc = 0, sq = 0;
            for (int64_t k = 0; k < K; ++k) {
                const double x = W[size_t(m * K + k)];
                acc += s.norm == 1 ? std::fabs(x) : x * x;
                sq += x * x;
            }
            norms.emplace_back(acc, m);
            total += sq;
        }
        if (s.criterion != PruneCriterion::Weight) {
            auto sc = channelScores(g, s, n, plan, M, opset, *data);
            if (!sc) return sc.error();
            for (int64_t m = 0; m < M; ++m) norms[size_t(m)].first = (*sc)[size_t(m)];
        }
        std::stable_sort(norms.begin(), norms.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<int64_t> keep;
        double removed = 0;
        for (size_t i = 0; i < norms.size(); ++i) {
            if (int64_t(i) >= drop) keep.push_back(norms[i].second);
            else
                for (int64_t k = 0; k < K; ++k) removed += double(W[size_t(norms[i].second * K + k)]) * W[size_t(norms[i].second * K + k)];
        }
        std::sort(keep.begin(), keep.end());
        row.relError = total > 0 ? std::sqrt(removed / total) : 0;

        int64_t before = 0, after = 0;
        auto replace = [&](int node, size_t input, const Tensor& oldT, Tensor newT, const std::string& suffix) {
            before += oldT.numel();
            after += newT.numel();
            const int vid = g.nodes[size_t(node)].inputs[input];
            const std::string base = g.values[size_t(vid)].name.empty() ? nodeLabel(g, node) + "_in" + std::to_string(input)
                                                                        : g.values[size_t(vid)].name;
            setInput(g, node, input, addWeight(g, base + suffix, std::move(newT)));
        };
        // The Conv's own filters and bias.
        replace(n, 1, w.tensor, sliceAxis(w.tensor, 0, keep), "_pruned");
        if (g.nodes[size_t(n)].inputs.size() > 2 && g.nodes[size_t(n)].inputs[2] >= 0) {
            const Tensor* b = constantOf(g, g.nodes[size_t(n)].inputs[2]);
            if (b && b->dtype() == DType::F32 && b->numel() == M) {
                const Tensor bt = *b;
                replace(n, 2, bt, sliceAxis(bt, 0, keep), "_pruned");
            }
        }
        std::string also;
        for (int bn : plan.batchNorms) {
            for (size_t i = 1; i <= 4; ++i) {
                const Tensor t = *constantOf(g, g.nodes[size_t(bn)].inputs[i]);
                replace(bn, i, t, sliceAxis(t, 0, keep), "_pruned");
            }
            also += " " + nodeLabel(g, bn);
        }
        for (int c : plan.convs) {
            const Tensor t = *constantOf(g, g.nodes[size_t(c)].inputs[1]);
            replace(c, 1, t, sliceAxis(t, 1, keep), "_inputs_pruned");
            also += " " + nodeLabel(g, c);
        }
        for (const auto& [l, per] : plan.linears) {
            auto lwl = layerWeight(g, l);
            const Tensor t = lwl.weight->tensor;
            // Channel c of the flattened input is columns [c*per, (c+1)*per) of the product's K axis.
            replace(l, 1, t, sliceAxis(t, lwl.weight->transposed ? 0 : 1, keep, per), "_inputs_pruned");
            also += " " + nodeLabel(g, l);
        }
        for (int v : plan.values) g.values[size_t(v)].shape.reset();  // channel counts changed
        row.paramsBefore = before;
        row.paramsAfter = after;
        row.bytesBefore = before * 4;
        row.bytesAfter = after * 4;
        row.detail = std::to_string(keep.size()) + "/" + std::to_string(M) + " filters (" +
                     (s.criterion == PruneCriterion::Weight ? "L" + std::to_string(s.norm) : pruneCriterionName(s.criterion, s.norm)) + ")";
        if (!also.empty()) row.note = "also sliced:" + also;
        out.push_back(row);
    }
    return {};
}

}  // namespace by::compression
