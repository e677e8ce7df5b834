#include "engine/elementwise_fusion.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "engine/ops_common.h"
#include "engine/thread_pool.h"

namespace by {

namespace {

constexpr int kMaxRegs = 16;
constexpr int64_t kSegment = 256;  // floats per register: 16 registers stay within 16 KiB

struct OpInfo {
    FusedOp op;
    int arity;
};

std::optional<OpInfo> fusable(const Node& n) {
    if (!n.domain.empty() && n.domain != "ai.onnx") return std::nullopt;
    static const std::map<std::string, OpInfo> kOps = {
        {"Add", {FusedOp::Add, 2}},         {"Sub", {FusedOp::Sub, 2}},
        {"Mul", {FusedOp::Mul, 2}},         {"Div", {FusedOp::Div, 2}},
        {"Relu", {FusedOp::Relu, 1}},       {"Sigmoid", {FusedOp::Sigmoid, 1}},
        {"Tanh", {FusedOp::Tanh, 1}},       {"HardSigmoid", {FusedOp::HardSigmoid, 1}},
        {"HardSwish", {FusedOp::HardSwish, 1}}, {"LeakyRelu", {FusedOp::LeakyRelu, 1}},
        {"Clip", {FusedOp::Clip, 1}},       {"Erf", {FusedOp::Erf, 1}},
        {"Exp", {FusedOp::Exp, 1}},         {"Neg", {FusedOp::Neg, 1}},
        {"Abs", {FusedOp::Abs, 1}},         {"Sqrt", {FusedOp::Sqrt, 1}},
    };
    auto it = kOps.find(n.opType);
    if (it == kOps.end()) return std::nullopt;
    return it->second;
}

// Nodes whose kernels always return a newly allocated output, so the chain may overwrite it.
bool headOp(const Node& n) {
    if (fusable(n)) return true;
    if (!n.domain.empty() && n.domain != "ai.onnx") return false;
    static const std::set<std::string> kHeads = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
                                                 "InstanceNormalization", "LayerNormalization"};
    return kHeads.count(n.opType) > 0;
}

int singleOutput(const Node& n) {
    int out = -1;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
        if (n.outputs[i] < 0) continue;
        if (i != 0) return -1;
        out = n.outputs[i];
    }
    return out;
}

// A constant the program can read: f32, and at most one axis longer than 1.
bool usableConst(const Tensor* t) {
    if (!t || !t->valid() || t->dtype() != DType::F32 || t->numel() < 1) return false;
    int longAxes = 0;
    for (int64_t d : t->shape()) longAxes += d > 1;
    return longAxes <= 1;
}

struct Builder {
    int64_t opset;
    const std::function<const Tensor*(int)>& constOf;
    FusedChain chain;
    std::map<int, int> regOf;  // value -> register

    bool operand(int v, FusedOperand& out) {
        if (auto it = regOf.find(v); it != regOf.end()) {
            out.kind = FusedOperand::Kind::Reg;
            out.reg = it->second;
            return true;
        }
        const Tensor* t = v >= 0 ? constOf(v) : nullptr;
        if (!usableConst(t)) return false;
        out.kind = FusedOperand::Kind::Const;
        out.konst = static_cast<int>(chain.consts.size());
        chain.consts.push_back(*t);
        return true;
    }

    // Scalar bound of Clip: an input (opset >= 11) or the attribute; false when not a constant.
    bool clipBound(const Node& n, size_t input, const char* attr, float def, float& out) {
        out = def;
        if (opset > 0 && opset < 11) {
            out = static_cast<float>(n.attrFloat(attr, def));
            return true;
        }
        if (input < n.inputs.size() && n.inputs[input] >= 0) {
            const Tensor* t = constOf(n.inputs[input]);
            if (!t || t->numel() != 1) return false;
            auto v = ops::readDoubles(*t, attr);
            if (!v) return false;
            out = static_cast<float>((*v)[0]);
            return true;
        }
        if (n.attr(attr)) out = static_cast<float>(n.attrFloat(attr, def));
        return true;
    }

    bool add(const Node& n, int dst) {
        const auto info = fusable(n);
        if (!info) return false;
        FusedInstr in;
        in.op = info->op;
        in.dst = dst;
        if (info->arity == 2) {
            if (n.inputs.size() != 2 || !operand(n.inputs[0], in.a) || !operand(n.inputs[1], in.b)) return false;
            if (in.a.kind != FusedOperand::Kind::Reg && in.b.kind != FusedOperand::Kind::Reg) return false;
        } else {
            if (n.inputs.empty() || !regOf.count(n.inputs[0])) return false;
            in.a.kind = FusedOperand::Kind::Reg;
            in.a.reg = regOf.at(n.inputs[0]);
            if (info->op == FusedOp::Clip) {
                if (!clipBound(n, 1, "min", -INFINITY, in.p0) || !clipBound(n, 2, "max", INFINITY, in.p1)) return false;
            } else if (info->arity == 1 && n.inputs.size() != 1) {
                return false;
            }
            if (info->op == FusedOp::HardSigmoid) {
                in.p0 = static_cast<float>(n.attrFloat("alpha", 0.2));
                in.p1 = static_cast<float>(n.attrFloat("beta", 0.5));
            }
            if (info->op == FusedOp::LeakyRelu) in.p0 = static_cast<float>(n.attrFloat("alpha", 0.01));
        }
        chain.code.push_back(in);
        return true;
    }
};

}  // namespace

std::vector<FusedChain> planElementwiseChains(const Graph& g, int64_t opset, const std::vector<int>& order,
                                              const std::vector<char>& skip, const std::vector<char>& pinned,
                                              const std::function<const Tensor*(int)>& constOf) {
    const size_t nv = g.values.size(), nn = g.nodes.size();
    std::vector<std::vector<int>> consumers(nv);
    for (size_t ni = 0; ni < nn; ++ni) {
        if (skip[ni]) continue;
        for (int v : g.nodes[ni].inputs)
            if (v >= 0 && static_cast<size_t>(v) < nv) consumers[static_cast<size_t>(v)].push_back(static_cast<int>(ni));
    }
    std::vector<char> taken(nn, 0);
    std::vector<FusedChain> chains;
    for (int head : order) {
        const auto hi = static_cast<size_t>(head);
        const Node& h = g.nodes[hi];
        if (skip[hi] || taken[hi] || !headOp(h)) continue;
        const int v = singleOutput(h);
        if (v < 0) continue;

        // Grow: a node joins when each of its inputs is a chain value or a usable constant.
        std::vector<int> members;
        std::set<int> values = {v};
        std::set<int> memberSet;
        for (bool grew = true; grew && members.size() + 1 < kMaxRegs;) {
            grew = false;
            for (int u : std::vector<int>(values.begin(), values.end())) {
                for (int c : consumers[static_cast<size_t>(u)]) {
                    const auto ci = static_cast<size_t>(c);
                    if (memberSet.count(c) || taken[ci] || c == head) continue;
                    const Node& cn = g.nodes[ci];
                    const auto info = fusable(cn);
                    const int out = singleOutput(cn);
                    if (!info || out < 0 || static_cast<int>(cn.inputs.size()) < info->arity) continue;
                    bool ok = true;
                    for (size_t k = 0; k < cn.inputs.size() && ok; ++k) {
                        const int in = cn.inputs[k];
                        if (in < 0) continue;
                        if (k < static_cast<size_t>(info->arity)) ok = values.count(in) || usableConst(constOf(in));
                        else ok = constOf(in) != nullptr;  // Clip bounds
                    }
                    if (!ok) continue;
                    members.push_back(c);
                    memberSet.insert(c);
                    values.insert(out);
                    grew = true;
                    if (members.size() + 1 >= kMaxRegs) break;
                }
                if (grew) break;  // restart so members stay in dependency order
            }
        }

        // The longest prefix whose only value used outside it is its last node's output.
        for (size_t len = members.size(); len >= 1; --len) {
            std::set<int> inPrefix(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(len));
            const int last = singleOutput(g.nodes[static_cast<size_t>(members[len - 1])]);
            std::vector<int> vals = {v};
            for (size_t k = 0; k < len; ++k) vals.push_back(singleOutput(g.nodes[static_cast<size_t>(members[k])]));
            bool ok = true;
            for (int val : vals) {
                if (val == last) continue;
                if (pinned[static_cast<size_t>(val)]) ok = false;
                for (int c : consumers[static_cast<size_t>(val)])
                    if (!inPrefix.count(c)) ok = false;
                if (!ok) break;
            }
            if (!ok) continue;
            Builder b{opset, constOf, {}, {}};
            b.regOf[v] = 0;
            bool built = true;
            for (size_t k = 0; k < len && built; ++k) {
                const Node& n = g.nodes[static_cast<size_t>(members[k])];
                const int dst = k + 1 == len ? 0 : static_cast<int>(k) + 1;
                built = b.add(n, dst);
                b.regOf[singleOutput(n)] = dst;
            }
            if (!built) continue;
            b.chain.head = head;
            b.chain.absorbed.assign(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(len));
            b.chain.finalValue = last;
            b.chain.regs = static_cast<int>(len);
            taken[hi] = 1;
            for (int m : b.chain.absorbed) taken[static_cast<size_t>(m)] = 1;
            chains.push_back(std::move(b.chain));
            break;
        }
    }
    return chains;
}

namespace {

struct Arg {
    const float* p = nullptr;  // per element, or
    float v = 0;               // one value for the segment
};

template <class F>
__attribute__((always_inline)) inline void binary(float* z, Arg a, Arg b, int64_t n, F f) {
    if (a.p && b.p)
        for (int64_t i = 0; i < n; ++i) z[i] = f(a.p[i], b.p[i]);
    else if (a.p)
        for (int64_t i = 0; i < n; ++i) z[i] = f(a.p[i], b.v);
    else
        for (int64_t i = 0; i < n; ++i) z[i] = f(a.v, b.p[i]);
}

template <class F>
__attribute__((always_inline)) inline void unary(float* z, const float* x, int64_t n, F f) {
    for (int64_t i = 0; i < n; ++i) z[i] = f(x[i]);
}

// The same expressions as the stand-alone kernels in ops_elementwise.cpp, so fused and unfused
// runs give the same numbers.
__attribute__((always_inline)) inline void execute(const FusedInstr& in, float* z, Arg a, Arg b, int64_t n) {
    switch (in.op) {
        case FusedOp::Add: return binary(z, a, b, n, [](float x, float y) { return x + y; });
        case FusedOp::Sub: return binary(z, a, b, n, [](float x, float y) { return x - y; });
        case FusedOp::Mul: return binary(z, a, b, n, [](float x, float y) { return x * y; });
        case FusedOp::Div: return binary(z, a, b, n, [](float x, float y) { return x / y; });
        case FusedOp::Relu: return unary(z, a.p, n, [](float x) { return x > 0 ? x : 0.f; });
        case FusedOp::Sigmoid:
            return unary(z, a.p, n, [](float x) { return x >= 0 ? 1.f / (1.f + std::exp(-x)) : std::exp(x) / (1.f + std::exp(x)); });
        case FusedOp::Tanh: return unary(z, a.p, n, [](float x) { return std::tanh(x); });
        case FusedOp::HardSigmoid: {
            const float al = in.p0, be = in.p1;
            return unary(z, a.p, n, [al, be](float x) { return std::max(0.f, std::min(1.f, al * x + be)); });
        }
        case FusedOp::HardSwish:
            return unary(z, a.p, n, [](float x) { return x * std::max(0.f, std::min(1.f, x / 6.f + 0.5f)); });
        case FusedOp::LeakyRelu: {
            const float al = in.p0;
            return unary(z, a.p, n, [al](float x) { return x >= 0 ? x : al * x; });
        }
        case FusedOp::Clip: {
            const float lo = in.p0, hi = in.p1;
            return unary(z, a.p, n, [lo, hi](float x) {
                x = x < lo ? lo : x;
                return x > hi ? hi : x;
            });
        }
        case FusedOp::Erf: return unary(z, a.p, n, [](float x) { return std::erf(x); });
        case FusedOp::Exp: return unary(z, a.p, n, [](float x) { return std::exp(x); });
        case FusedOp::Neg: return unary(z, a.p, n, [](float x) { return -x; });
        case FusedOp::Abs: return unary(z, a.p, n, [](float x) { return std::abs(x); });
        case FusedOp::Sqrt: return unary(z, a.p, n, [](float x) { return std::sqrt(x); });
    }
}

}  // namespace

bool fusedLayout(const FusedChain& c, const Shape& s, FusedLayout& layout) {
    const auto rank = static_cast<int64_t>(s.size());
    layout = FusedLayout{};
    layout.isVector.assign(c.consts.size(), 0);
    // Every vector constant must run along the same axis, with the output's length there; any
    // other shape would broadcast the output, which the original nodes handle.
    for (size_t k = 0; k < c.consts.size(); ++k) {
        const Tensor& kt = c.consts[k];
        if (kt.rank() > rank) return false;
        if (kt.numel() == 1) continue;
        const int64_t offset = rank - kt.rank();
        int64_t axis = -1;
        for (int64_t d = 0; d < kt.rank(); ++d)
            if (kt.shape()[static_cast<size_t>(d)] > 1) axis = offset + d;
        if (axis < 0 || s[static_cast<size_t>(axis)] != kt.numel()) return false;
        int64_t in = 1;
        for (int64_t d = axis + 1; d < rank; ++d) in *= s[static_cast<size_t>(d)];
        if (layout.inner && (in != layout.inner || kt.numel() != layout.length)) return false;
        layout.inner = in;
        layout.length = kt.numel();
        layout.isVector[k] = 1;
    }
    return c.regs <= kMaxRegs;
}

// Built for x86-64-v3 (AVX2+FMA) and for the baseline; the loader picks one. ("arch=haswell"
// clones are only picked on Intel Haswell-family CPUs: the resolver tests the model, not features.)
__attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast"))) void runFusedRange(const FusedChain& c, const FusedLayout& layout,
                                                                            float* data, int64_t begin, int64_t end) {
    alignas(64) float regs[kMaxRegs][kSegment];
    const int64_t inner = layout.inner, length = layout.length;
    for (int64_t at = begin; at < end;) {
        int64_t n = std::min(kSegment, end - at);
        int64_t channel = 0, along = 0;
        if (inner > 1) {
            n = std::min(n, inner - at % inner);
            channel = (at / inner) % length;
        } else if (inner == 1) {
            along = at % length;
            n = std::min(n, length - along);
        }
        auto arg = [&](const FusedOperand& o) {
            Arg r;
            if (o.kind == FusedOperand::Kind::Reg) {
                r.p = o.reg == 0 ? data + at : regs[o.reg];
            } else if (o.kind == FusedOperand::Kind::Const) {
                const float* k = c.consts[static_cast<size_t>(o.konst)].data<float>();
                if (!layout.isVector[static_cast<size_t>(o.konst)]) r.v = k[0];
                else if (inner > 1) r.v = k[channel];
                else r.p = k + along;
            }
            return r;
        };
        for (const FusedInstr& in : c.code) execute(in, in.dst == 0 ? data + at : regs[in.dst], arg(in.a), arg(in.b), n);
        at += n;
    }
}

bool applyFusedChain(const FusedChain& c, Tensor& t, ThreadPool* pool) {
    if (!t.valid() || t.dtype() != DType::F32) return false;
    FusedLayout layout;
    if (!fusedLayout(c, t.shape(), layout)) return false;
    const int64_t total = t.numel();
    if (total == 0) return true;
    if (t.isMapped() || !t.exclusivelyOwned()) {
        auto copy = Tensor::uninitialized(DType::F32, t.shape());
        if (!copy) return false;
        std::memcpy(copy->mutableRawData(), t.rawData(), t.nbytes());
        t = std::move(*copy);
    }
    float* data = t.mutableData<float>();
    ops::parallelFor(pool, total, 16384, [&](int64_t begin, int64_t end) { runFusedRange(c, layout, data, begin, end); });
    return true;
}

}  // namespace by
