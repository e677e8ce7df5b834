// Per-layer diff of two models (see variant_diff.h). Each side is read by a LayerReader that
// finds every layer's constants (through chains of nodes that only compute on constants), and
// rebuilds the f32 weight the layer applies as rows [N][K] (one row per output channel), so the
// two sides compare element by element whatever storage each uses.
#include "engine/variant_diff.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "engine/compression_internal.h"
#include "engine/executor.h"
#include "engine/lut_gemv.h"

namespace by {

LayerChange primaryChange(uint32_t c) {
    for (LayerChange k : {kLayerRemoved, kLayerAdded, kLayerFactorised, kLayerSliced, kLayerRetyped, kLayerSparsified, kLayerModified})
        if (c & k) return k;
    return kLayerUnchanged;
}

const char* layerChangeName(LayerChange c) {
    switch (c) {
    case kLayerUnchanged: return "unchanged";
    case kLayerRemoved: return "removed";
    case kLayerAdded: return "added";
    case kLayerRetyped: return "re-typed";
    case kLayerFactorised: return "factorised";
    case kLayerSliced: return "sliced";
    case kLayerSparsified: return "sparsified";
    case kLayerModified: return "modified";
    }
    return "?";
}

std::string layerChangeLabel(uint32_t changes) {
    std::string s;
    for (LayerChange k : {kLayerRemoved, kLayerAdded, kLayerFactorised, kLayerSliced, kLayerRetyped, kLayerSparsified, kLayerModified})
        if (changes & k) s += (s.empty() ? "" : ", ") + std::string(layerChangeName(k));
    return s.empty() ? layerChangeName(kLayerUnchanged) : s;
}

namespace {

using compression::constantOf;

bool isWeightDType(DType t) { return t != DType::I64 && t != DType::Bool && t != DType::String && t != DType::Undefined; }
bool isQLinear(const std::string& op) { return op == "QLinearConv" || op == "QLinearMatMul" || op == "QGemm"; }
bool isMatrixOp(const std::string& op) { return op == "Conv" || op == "Gemm" || op == "MatMul"; }

// The weight a layer applies, as rows [N][K].
struct Effective {
    std::vector<float> rows;
    int64_t N = 0, K = 0;
    Shape shape;          // in the layout of the (unfactorised) operator
    std::string storage;  // "int8 via DequantizeLinear"
};

struct LayerView {
    int node = -1;  // -1: a free initializer
    std::string key, label, op;
    std::optional<Effective> weight;
    std::string failure;  // why `weight` is missing
    bool factorised = false;
    int64_t params = 0, bytes = 0;
};

class LayerReader {
public:
    LayerReader(const Graph& g, int64_t opset) : m_g(g), m_opset(opset), m_derived(g.values.size(), -1) {}

    std::vector<LayerView> layers() {
        std::vector<LayerView> out;
        std::map<std::string, int> unnamed;
        std::set<int> absorbed;
        // Low-rank first halves belong to the layer they feed.
        for (size_t n = 0; n < m_g.nodes.size(); ++n)
            if (int first = lowRankFirst(int(n)); first >= 0) absorbed.insert(first);
        for (size_t n = 0; n < m_g.nodes.size(); ++n) {
            const Node& node = m_g.nodes[n];
            std::string label = node.name.empty() ? node.opType + "#" + std::to_string(unnamed[node.opType]++) : node.name;
            if (absorbed.count(int(n)) || !isLayer(int(n))) continue;
            LayerView v;
            v.node = int(n);
            v.label = label;
            v.op = node.opType;
            v.key = label;
            const std::string suffix = "_quantized";
            if (isQLinear(node.opType) && label.size() > suffix.size() && label.ends_with(suffix))
                v.key = label.substr(0, label.size() - suffix.size());
            count(v);
            out.push_back(std::move(v));
        }
        // Weights no node reads (weights-only models such as GGUF files).
        std::set<int> read;
        for (const auto& node : m_g.nodes)
            for (int i : node.inputs) read.insert(i);
        for (size_t v = 0; v < m_g.values.size(); ++v) {
            const Value& val = m_g.values[v];
            if (!val.data || val.folded || read.count(int(v)) || !isWeightDType(val.data->dtype()) || val.data->numel() < 2) continue;
            LayerView lv;
            lv.key = lv.label = val.name;
            lv.params = val.data->numel();
            lv.bytes = int64_t(val.data->nbytes());
            auto f = val.data->toFloats();
            if (f) {
                Effective e;
                e.rows = std::move(*f);
                e.N = 1;
                e.K = int64_t(e.rows.size());
                e.shape = val.data->shape();
                e.storage = dtypeName(val.data->dtype());
                lv.weight = std::move(e);
            } else {
                lv.failure = f.error().message;
            }
            out.push_back(std::move(lv));
        }
        return out;
    }

    // Every node's label (its name, or "Conv#3" for the 4th unnamed Conv) as layers() gives them,
    // and for each first half of a low-rank pair the node it feeds (else -1).
    std::vector<std::string> nodeLabels() const {
        std::vector<std::string> out;
        std::map<std::string, int> unnamed;
        for (const auto& node : m_g.nodes) out.push_back(node.name.empty() ? node.opType + "#" + std::to_string(unnamed[node.opType]++) : node.name);
        return out;
    }
    std::vector<int> absorbedInto() const {
        std::vector<int> out(m_g.nodes.size(), -1);
        for (size_t n = 0; n < m_g.nodes.size(); ++n)
            if (int first = lowRankFirst(int(n)); first >= 0) out[size_t(first)] = int(n);
        return out;
    }

    // Fills in the layer's weight (the slow part: dequantizing, multiplying factors).
    void readWeight(LayerView& v) {
        if (v.node < 0 || v.weight || !v.failure.empty()) return;
        auto w = effective(v.node, v.factorised);
        if (w) v.weight = std::move(*w);
        else v.failure = w.error().message;
    }

private:
    // True when `v` is a constant or computed from constants only.
    bool derived(int v, int depth = 0) {
        if (v < 0 || v >= int(m_g.values.size())) return false;
        int& memo = m_derived[size_t(v)];
        if (memo >= 0) return memo == 1;
        bool ok = constantOf(m_g, v) != nullptr;
        if (!ok && depth < 8) {
            const int p = m_g.values[size_t(v)].producer;
            if (p >= 0) {
                const Node& n = m_g.nodes[size_t(p)];
                ok = !n.inputs.empty() && !hasSubgraph(n);
                for (int i : n.inputs)
                    if (i >= 0 && !derived(i, depth + 1)) ok = false;
            }
        }
        memo = ok ? 1 : 0;
        return ok;
    }

    static bool hasSubgraph(const Node& n) {
        for (const auto& [k, a] : n.attributes)
            if (a.g || !a.graphs.empty()) return true;
        return false;
    }

    // The constants a derived value is computed from.
    void leaves(int v, std::set<int>& out, int depth = 0) const {
        if (v < 0) return;
        if (constantOf(m_g, v) || depth > 8) {
            out.insert(v);
            return;
        }
        const int p = m_g.values[size_t(v)].producer;
        if (p < 0) return;
        for (int i : m_g.nodes[size_t(p)].inputs) leaves(i, out, depth + 1);
    }

    const Tensor* leafTensor(int v) const { return constantOf(m_g, v); }

    // The largest constant behind an input (the weight behind a DequantizeLinear), or nullptr.
    const Tensor* mainLeaf(int v) const {
        std::set<int> ls;
        leaves(v, ls);
        const Tensor* best = nullptr;
        for (int l : ls)
            if (const Tensor* t = leafTensor(l); t && isWeightDType(t->dtype()) && (!best || t->numel() > best->numel())) best = t;
        return best;
    }

    bool isLayer(int n) {
        const Node& node = m_g.nodes[size_t(n)];
        if (node.opType == "Constant" || node.inputs.empty()) return false;
        bool runtime = false, weight = false;
        for (int i : node.inputs) {
            if (i < 0) continue;
            if (!derived(i)) {
                runtime = true;
                continue;
            }
            if (const Tensor* t = mainLeaf(i); t && t->numel() >= 2) weight = true;
        }
        return runtime && weight;
    }

    // Index of the node computing the first factor of a low-rank pair ending at `n`, or -1.
    int lowRankFirst(int n) const {
        const Node& node = m_g.nodes[size_t(n)];
        if (!isMatrixOp(node.opType) || node.inputs.empty() || node.inputs[0] < 0 || node.name.empty()) return -1;
        const int p = m_g.values[size_t(node.inputs[0])].producer;
        if (p < 0) return -1;
        const Node& f = m_g.nodes[size_t(p)];
        if (f.name != node.name + "_low_rank" || (f.opType != "Conv" && f.opType != "MatMul") || f.inputs.size() < 2) return -1;
        return p;
    }

    // Parameters and bytes: every weight-typed constant the layer reads, scales and zero points
    // in bytes only.
    void count(LayerView& v) {
        const Node& node = m_g.nodes[size_t(v.node)];
        std::set<int> all;
        std::vector<std::pair<int, int>> inputs;  // (node, input index)
        for (size_t i = 0; i < node.inputs.size(); ++i) inputs.push_back({v.node, int(i)});
        if (int first = lowRankFirst(v.node); first >= 0) {
            v.factorised = true;
            for (size_t i = 1; i < m_g.nodes[size_t(first)].inputs.size(); ++i) inputs.push_back({first, int(i)});
        }
        for (auto [n, i] : inputs) {
            const int id = m_g.nodes[size_t(n)].inputs[size_t(i)];
            if (id < 0 || !derived(id)) continue;
            std::set<int> ls;
            leaves(id, ls);
            for (int l : ls)
                if (const Tensor* t = leafTensor(l); t && isWeightDType(t->dtype()) && !m_g.values[size_t(l)].folded) all.insert(l);
            const Tensor* main = mainLeaf(id);
            if (!main) continue;
            const std::string& op = m_g.nodes[size_t(n)].opType;
            if (isQLinear(op)) {
                const bool bias = (op == "QLinearConv" && i == 8) || (op == "QGemm" && i == 6);
                if (i == 3 || bias) v.params += main->numel();
            } else if (op == "MatMulNBits") {
                if (i == 1) v.params += node.attrInt("N", 0) * node.attrInt("K", 0);
                if (i == 5) v.params += main->numel();
            } else if (op == "BinaryCodedMatMul") {
                if (i == 1) v.params += node.attrInt("N", 0) * node.attrInt("K", 0);
                if (i == 3) v.params += main->numel();
            } else if (main->numel() >= 2) {
                v.params += main->numel();
            }
        }
        for (int l : all) v.bytes += int64_t(leafTensor(l)->nbytes());
    }

    // The f32 value of a derived input: its constant, or the constant nodes in front of it run
    // by the executor (DequantizeLinear, Cast and Mul: whatever the file uses).
    Result<Tensor> value(int v, std::string& via, int depth = 0) {
        if (const Tensor* t = constantOf(m_g, v)) {
            if (t->dtype() == DType::F32) return *t;
            auto f = t->toFloats();
            if (!f) return f.error();
            return Tensor::fromFloats(t->shape(), *f);
        }
        const int p = m_g.values[size_t(v)].producer;
        if (p < 0 || depth > 8) return makeError(ErrorCode::Unsupported, "weight '" + m_g.values[size_t(v)].name + "' is not a constant");
        const Node& node = m_g.nodes[size_t(p)];
        Graph mini;
        Node copy = node;
        for (size_t i = 0; i < node.inputs.size(); ++i) {
            const int in = node.inputs[i];
            if (in < 0) continue;
            Tensor t;
            if (const Tensor* c = constantOf(m_g, in)) t = *c;
            else {
                auto r = value(in, via, depth + 1);
                if (!r) return r.error();
                t = std::move(*r);
            }
            const std::string name = "in" + std::to_string(i);
            copy.inputs[i] = mini.addInitializer(name, std::move(t));
        }
        copy.outputs.clear();
        int want = -1;
        for (size_t o = 0; o < node.outputs.size(); ++o) {
            Value out;
            out.name = "out" + std::to_string(o);
            const int id = mini.addValue(std::move(out));
            copy.outputs.push_back(id);
            if (node.outputs[o] == v) want = id;
        }
        mini.addNode(std::move(copy));
        mini.outputs = {want};
        BY_TRY(mini.rebuildLinks());
        ExecutorOptions eo;
        eo.threads = 1;
        eo.fuseElementwise = false;
        auto ex = Executor::create(mini, m_opset, eo);
        if (!ex) return ex.error();
        auto r = ex->run({});
        if (!r) return r.error();
        if (r->size() != 1) return makeError(ErrorCode::Internal, "a weight chain gave no value");
        via = via.empty() ? node.opType : via + " + " + node.opType;
        Tensor t = std::move((*r)[0]);
        if (t.dtype() == DType::F32) return t;
        auto f = t.toFloats();
        if (!f) return f.error();
        return Tensor::fromFloats(t.shape(), *f);
    }

    std::string storageOf(int v, const std::string& via) const {
        const Tensor* main = mainLeaf(v);
        std::string s = main ? dtypeName(main->dtype()) : "?";
        if (!via.empty()) s += " via " + via;
        return s;
    }

    // Rows [N][K] of a matrix op's weight in stored layout.
    static Effective rowsOf(const Node& node, const Tensor& t) {
        Effective e;
        e.shape = t.shape();
        const float* p = t.data<float>();
        const int64_t numel = t.numel();
        const Shape& s = t.shape();
        const bool transposed = (node.opType == "MatMul" || (node.opType == "Gemm" && node.attrInt("transB", 0) == 0)) && s.size() == 2;
        if (node.opType == "Conv" && !s.empty() && s[0] > 0) {
            e.N = s[0];
            e.K = numel / s[0];
        } else if (transposed) {
            e.N = s[1];
            e.K = s[0];
        } else if ((node.opType == "Gemm") && s.size() == 2) {
            e.N = s[0];
            e.K = s[1];
        } else {
            e.N = 1;
            e.K = numel;
        }
        e.rows.resize(size_t(numel));
        if (!transposed) std::copy(p, p + numel, e.rows.begin());
        else
            for (int64_t k = 0; k < e.K; ++k)
                for (int64_t n = 0; n < e.N; ++n) e.rows[size_t(n * e.K + k)] = p[k * e.N + n];
        return e;
    }

    Result<Effective> matrixWeight(int n) {
        const Node& node = m_g.nodes[size_t(n)];
        std::string via;
        auto t = value(node.inputs[1], via);
        if (!t) return t.error();
        Effective e = rowsOf(node, *t);
        e.storage = storageOf(node.inputs[1], via);
        return e;
    }

    Result<Effective> effective(int n, bool factorised) {
        const Node& node = m_g.nodes[size_t(n)];
        const std::string& op = node.opType;
        if (factorised) {
            const int f = lowRankFirst(n);
            auto a = matrixWeight(f);  // [r][K]
            if (!a) return a.error();
            auto b = matrixWeight(n);  // [N][r]
            if (!b) return b.error();
            if (a->N != b->K) return makeError(ErrorCode::Invalid, "the low-rank factors of '" + node.name + "' do not chain");
            Effective e;
            e.N = b->N;
            e.K = a->K;
            const int64_t r = a->N;
            e.rows.assign(size_t(e.N * e.K), 0.f);
            for (int64_t i = 0; i < e.N; ++i)
                for (int64_t j = 0; j < r; ++j) {
                    const float x = b->rows[size_t(i * r + j)];
                    const float* src = a->rows.data() + j * e.K;
                    float* dst = e.rows.data() + i * e.K;
                    for (int64_t k = 0; k < e.K; ++k) dst[k] += x * src[k];
                }
            if (op == "Conv") {
                e.shape = a->shape;
                e.shape[0] = e.N;
            } else {
                e.shape = {e.K, e.N};
            }
            e.storage = a->storage + " rank " + std::to_string(r) + " (" + m_g.nodes[size_t(f)].opType + " + " + op + ")";
            return e;
        }
        if (isMatrixOp(op) && node.inputs.size() >= 2 && derived(node.inputs[1])) return matrixWeight(n);
        if (op == "MatMulNBits") return nbits(node);
        if (op == "BinaryCodedMatMul") return binaryCoded(node);
        if (isQLinear(op)) return qlinear(node);
        // Any other layer: its largest weight input, flat.
        int best = -1;
        int64_t bestNumel = 0;
        for (int i : node.inputs)
            if (i >= 0 && derived(i))
                if (const Tensor* t = mainLeaf(i); t && t->numel() > bestNumel) {
                    best = i;
                    bestNumel = t->numel();
                }
        if (best < 0) return makeError(ErrorCode::Unsupported, op + " has no weight input");
        std::string via;
        auto t = value(best, via);
        if (!t) return t.error();
        Effective e;
        e.shape = t->shape();
        e.N = 1;
        e.K = t->numel();
        e.rows.assign(t->data<float>(), t->data<float>() + t->numel());
        e.storage = storageOf(best, via);
        return e;
    }

    // com.microsoft MatMulNBits: packed [N, blocks, blob] levels, lowest bits first, a scale per
    // block and optional packed zero points (default: the middle level).
    Result<Effective> nbits(const Node& node) {
        const int64_t N = node.attrInt("N", 0), K = node.attrInt("K", 0), bits = node.attrInt("bits", 4), bs = node.attrInt("block_size", 0);
        auto bad = [&](const std::string& why) { return makeError(ErrorCode::Invalid, "MatMulNBits '" + node.name + "': " + why); };
        if (N <= 0 || K <= 0 || bs <= 0 || (bits != 2 && bits != 4 && bits != 8)) return bad("unsupported attributes");
        if (node.inputs.size() < 3) return bad("missing scales");
        const Tensor* q = constantOf(m_g, node.inputs[1]);
        const Tensor* sc = constantOf(m_g, node.inputs[2]);
        const Tensor* zp = node.inputs.size() > 3 && node.inputs[3] >= 0 ? constantOf(m_g, node.inputs[3]) : nullptr;
        const int64_t blocks = (K + bs - 1) / bs, blob = bs * bits / 8, zeroRow = (blocks * bits + 7) / 8;
        if (!q || q->dtype() != DType::U8 || int64_t(q->nbytes()) < N * blocks * blob) return bad("packed weights are not constant bytes of the stated size");
        if (!sc) return bad("scales are not constant");
        auto scales = sc->toFloats();
        if (!scales || int64_t(scales->size()) < N * blocks) return bad("wrong number of scales");
        if (zp && (zp->dtype() != DType::U8 || int64_t(zp->nbytes()) < N * zeroRow)) return bad("zero points are not packed bytes");
        const uint8_t* qb = q->rawData();
        const uint8_t* zb = zp ? zp->rawData() : nullptr;
        const int mask = (1 << bits) - 1;
        Effective e;
        e.N = N;
        e.K = K;
        e.shape = {K, N};
        e.rows.resize(size_t(N * K));
        for (int64_t r = 0; r < N; ++r)
            for (int64_t b = 0; b < blocks; ++b) {
                const int64_t zbit = b * bits;
                const int zero = zb ? (zb[r * zeroRow + (zbit >> 3)] >> (zbit & 7)) & mask : 1 << (bits - 1);
                const float s = (*scales)[size_t(r * blocks + b)];
                const uint8_t* blk = qb + (r * blocks + b) * blob;
                for (int64_t j = 0; j < bs && b * bs + j < K; ++j) {
                    const int64_t bit = j * bits;
                    const int level = (blk[bit >> 3] >> (bit & 7)) & mask;
                    e.rows[size_t(r * K + b * bs + j)] = float(level - zero) * s;
                }
            }
        e.storage = std::to_string(bits) + "-bit g" + std::to_string(bs) + " MatMulNBits";
        return e;
    }

    // com.brickyard BinaryCodedMatMul: sign planes and scales in the BinaryCodedMatrix layout.
    Result<Effective> binaryCoded(const Node& node) {
        auto bad = [&](const std::string& why) { return makeError(ErrorCode::Invalid, "BinaryCodedMatMul '" + node.name + "': " + why); };
        BinaryCodedMatrix m;
        m.rows = node.attrInt("N", 0);
        m.cols = node.attrInt("K", 0);
        m.planes = node.attrInt("planes", 0);
        m.groupSize = node.attrInt("group_size", 0);
        if (m.rows <= 0 || m.cols <= 0 || m.planes < 1 || m.planes > 8 || m.groupSize <= 0 || m.groupSize % 4) return bad("unsupported attributes");
        if (node.inputs.size() < 3) return bad("missing scales");
        const Tensor* bits = constantOf(m_g, node.inputs[1]);
        const Tensor* scales = constantOf(m_g, node.inputs[2]);
        if (!bits || bits->dtype() != DType::U8 || bits->numel() != m.planes * m.rowBlocks() * m.chunks() * 16)
            return bad("sign bits are not constant bytes of the stated size");
        if (!scales || scales->dtype() != DType::F32 || scales->numel() != m.planes * m.groups() * m.rowBlocks() * 32)
            return bad("scales are not constant f32 of the stated size");
        m.bits.assign(bits->data<uint8_t>(), bits->data<uint8_t>() + bits->numel());
        m.alpha.assign(scales->data<float>(), scales->data<float>() + scales->numel());
        Effective e;
        e.N = m.rows;
        e.K = m.cols;
        e.shape = {m.cols, m.rows};
        e.rows = m.dequantize();
        e.storage = std::to_string(m.planes) + "-bit bcq g" + std::to_string(m.groupSize) + " BinaryCodedMatMul";
        return e;
    }

    // QLinearConv / QLinearMatMul / com.microsoft QGemm: int8 weight, scale and zero point
    // (inputs 3, 4, 5), per tensor or per output channel.
    Result<Effective> qlinear(const Node& node) {
        auto bad = [&](const std::string& why) { return makeError(ErrorCode::Invalid, node.opType + " '" + node.name + "': " + why); };
        if (node.inputs.size() < 6) return bad("missing weight inputs");
        const Tensor* w = constantOf(m_g, node.inputs[3]);
        const Tensor* s = constantOf(m_g, node.inputs[4]);
        const Tensor* z = node.inputs[5] >= 0 ? constantOf(m_g, node.inputs[5]) : nullptr;
        if (!w || !s) return bad("the weight is not constant");
        auto wf = w->toFloats();
        auto sf = s->toFloats();
        if (!wf || !sf) return bad("unreadable weight");
        std::vector<float> zf;
        if (z) {
            auto r = z->toFloats();
            if (!r) return bad("unreadable zero point");
            zf = *r;
        }
        const Shape& shape = w->shape();
        const int64_t numel = w->numel(), C = int64_t(sf->size());
        const bool lastAxis = shape.size() == 2 && (node.opType == "QLinearMatMul" || (node.opType == "QGemm" && node.attrInt("transB", 0) == 0));
        if (C != 1 && (shape.empty() || (lastAxis ? shape[1] : shape[0]) != C)) return bad("the scales do not match the output channels");
        if (!zf.empty() && int64_t(zf.size()) != C) return bad("the zero points do not match the scales");
        std::vector<float> deq(static_cast<size_t>(numel));
        for (int64_t i = 0; i < numel; ++i) {
            const size_t c = C == 1 ? 0 : size_t(lastAxis ? i % C : i / (numel / C));
            deq[size_t(i)] = ((*wf)[size_t(i)] - (zf.empty() ? 0.f : zf[c])) * (*sf)[c];
        }
        Node as = node;
        as.opType = node.opType == "QLinearConv" ? "Conv" : node.opType == "QGemm" ? "Gemm" : "MatMul";
        Effective e = rowsOf(as, Tensor::fromFloats(shape, deq));
        e.storage = std::string(dtypeName(w->dtype())) + " " + node.opType;
        return e;
    }

    const Graph& m_g;
    int64_t m_opset;
    std::vector<int> m_derived;
};

std::string describe(const LayerView& v) {
    if (!v.weight) return v.failure.empty() ? "-" : "unreadable";
    return v.weight->storage + " " + shapeToString(v.weight->shape);
}

void histograms(const Effective* a, const Effective* b, int bins, LayerDiff& d) {
    if (bins <= 0 || (!a && !b)) return;
    double lo = INFINITY, hi = -INFINITY;
    for (const Effective* e : {a, b})
        if (e)
            for (float x : e->rows)
                if (std::isfinite(x)) {
                    lo = std::min(lo, double(x));
                    hi = std::max(hi, double(x));
                }
    if (!(lo <= hi)) return;
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    d.histLo = lo;
    d.histHi = hi;
    auto fill = [&](const Effective* e, std::vector<int64_t>& h) {
        h.assign(size_t(bins), 0);
        if (!e) return;
        const double scale = double(bins) / (hi - lo);
        for (float x : e->rows)
            if (std::isfinite(x)) h[size_t(std::clamp(int((double(x) - lo) * scale), 0, bins - 1))]++;
    };
    fill(a, d.histBefore);
    fill(b, d.histAfter);
}

}  // namespace

namespace {

void markNodes(const LayerReader& ra, const LayerReader& rb, const Graph& a, const Graph& b, ModelDiff& diff) {
    const std::vector<std::string> na = ra.nodeLabels(), nb = rb.nodeLabels();
    std::map<std::string, int> inA, inB;
    for (size_t i = 0; i < na.size(); ++i) inA.emplace(na[i], int(i));
    for (size_t i = 0; i < nb.size(); ++i) inB.emplace(nb[i], int(i));
    diff.nodeChangesBefore.assign(a.nodes.size(), kLayerUnchanged);
    diff.nodeChangesAfter.assign(b.nodes.size(), kLayerUnchanged);
    std::vector<bool> doneA(a.nodes.size(), false), doneB(b.nodes.size(), false);
    for (const LayerDiff& l : diff.layers) {
        if (l.nodeBefore >= 0) diff.nodeChangesBefore[size_t(l.nodeBefore)] = l.changes, doneA[size_t(l.nodeBefore)] = true;
        if (l.nodeAfter >= 0) diff.nodeChangesAfter[size_t(l.nodeAfter)] = l.changes, doneB[size_t(l.nodeAfter)] = true;
    }
    auto absorb = [](const std::vector<int>& into, std::vector<uint32_t>& marks, std::vector<bool>& done) {
        for (size_t n = 0; n < into.size(); ++n)
            if (into[n] >= 0 && !done[n]) marks[n] = marks[size_t(into[n])], done[n] = true;
    };
    absorb(ra.absorbedInto(), diff.nodeChangesBefore, doneA);
    absorb(rb.absorbedInto(), diff.nodeChangesAfter, doneB);
    for (size_t n = 0; n < na.size(); ++n)
        if (!doneA[n] && !inB.count(na[n])) diff.nodeChangesBefore[n] = kLayerRemoved;
    for (size_t n = 0; n < nb.size(); ++n)
        if (!doneB[n] && !inA.count(nb[n])) diff.nodeChangesAfter[n] = kLayerAdded;
}

}  // namespace

Result<ModelDiff> diffModels(const Model& a, const Model& b, const VariantDiffOptions& opts) {
    const auto t0 = std::chrono::steady_clock::now();
    LayerReader ra(a.graph, onnxOpsetOf(a)), rb(b.graph, onnxOpsetOf(b));
    std::vector<LayerView> la = ra.layers(), lb = rb.layers();
    if (la.empty()) return makeError(ErrorCode::Invalid, "the first model has no layer with weights to compare");
    if (lb.empty()) return makeError(ErrorCode::Invalid, "the second model has no layer with weights to compare");
    std::map<std::string, size_t> byKey;
    for (size_t i = 0; i < lb.size(); ++i) byKey.emplace(lb[i].key, i);
    std::vector<bool> used(lb.size(), false);

    ModelDiff diff;
    diff.paramsBefore = a.graph.parameterCount();
    diff.paramsAfter = b.graph.parameterCount();
    diff.bytesBefore = a.graph.weightBytes();
    diff.bytesAfter = b.graph.weightBytes();
    diff.nodesBefore = int64_t(a.graph.nodes.size());
    diff.nodesAfter = int64_t(b.graph.nodes.size());

    auto side = [](LayerReader& r, LayerView& v, bool before, LayerDiff& d) {
        r.readWeight(v);
        (before ? d.opBefore : d.opAfter) = v.op.empty() ? "weight" : v.op;
        (before ? d.storageBefore : d.storageAfter) = describe(v);
        (before ? d.paramsBefore : d.paramsAfter) = v.params;
        (before ? d.bytesBefore : d.bytesAfter) = v.bytes;
        if (v.weight) {
            (before ? d.shapeBefore : d.shapeAfter) = v.weight->shape;
            (before ? d.sparsityBefore : d.sparsityAfter) = compression::zeroFraction(v.weight->rows);
        }
        if (!v.failure.empty()) d.note = (before ? "first model: " : "second model: ") + v.failure;
    };

    for (auto& va : la) {
        LayerDiff d;
        d.layer = va.label;
        d.nodeBefore = va.node;
        side(ra, va, true, d);
        auto it = byKey.find(va.key);
        if (it == byKey.end() || used[it->second]) {
            d.changes = kLayerRemoved;
            histograms(va.weight ? &*va.weight : nullptr, nullptr, opts.histogramBins, d);
            ++diff.removed;
            diff.layers.push_back(std::move(d));
            continue;
        }
        used[it->second] = true;
        LayerView& vb = lb[it->second];
        d.nodeAfter = vb.node;
        side(rb, vb, false, d);
        ++diff.matched;
        const Effective* ea = va.weight ? &*va.weight : nullptr;
        const Effective* eb = vb.weight ? &*vb.weight : nullptr;
        auto kind = [](const std::string& storage) {
            // Storage without the rank: two low-rank variants of different rank are not re-typed.
            const auto pos = storage.find(" rank ");
            return pos == std::string::npos ? storage : storage.substr(0, pos);
        };
        if (va.op != vb.op || (ea && eb && kind(ea->storage) != kind(eb->storage))) d.changes |= kLayerRetyped;
        if (va.factorised != vb.factorised || (ea && eb && va.factorised && ea->storage != eb->storage)) d.changes |= kLayerFactorised;
        if (ea && eb) {
            if (ea->N != eb->N || ea->K != eb->K) {
                d.changes |= kLayerSliced;
                d.note = "weight " + shapeToString(ea->shape) + " became " + shapeToString(eb->shape) + ": no element-wise error";
            } else {
                d.relError = compression::relativeError(ea->rows, eb->rows);
            }
            // Zeros that rounding to a coarser type makes are part of the re-typing, not pruning.
            if (!(d.changes & kLayerRetyped) && d.sparsityAfter > d.sparsityBefore + opts.sparsityStep) d.changes |= kLayerSparsified;
            if (d.changes == kLayerUnchanged && ((d.relError && *d.relError > 0) || d.bytesBefore != d.bytesAfter || d.paramsBefore != d.paramsAfter))
                d.changes |= kLayerModified;
        } else if (d.bytesBefore != d.bytesAfter || va.op != vb.op) {
            d.changes |= kLayerModified;
        }
        if (d.changes != kLayerUnchanged) ++diff.changed;
        histograms(ea, eb, opts.histogramBins, d);
        diff.layers.push_back(std::move(d));
    }
    for (size_t i = 0; i < lb.size(); ++i) {
        if (used[i]) continue;
        LayerDiff d;
        d.layer = lb[i].label;
        d.nodeAfter = lb[i].node;
        side(rb, lb[i], false, d);
        d.changes = kLayerAdded;
        histograms(nullptr, lb[i].weight ? &*lb[i].weight : nullptr, opts.histogramBins, d);
        ++diff.added;
        diff.layers.push_back(std::move(d));
    }
    markNodes(ra, rb, a.graph, b.graph, diff);
    diff.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return diff;
}

}  // namespace by
