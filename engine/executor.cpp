#include "engine/executor.h"

#include <algorithm>
#include <chrono>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "engine/elementwise_fusion.h"
#include "engine/op_registry.h"
#include "engine/thread_pool.h"

namespace by {

namespace {

std::string nodeLabel(int index, const Node& n) {
    return "node " + std::to_string(index) + " (" + n.opType + (n.name.empty() ? "" : " '" + n.name + "'") + ")";
}

// A value usable without running anything: an initializer, or the output of a Constant node
// (importers put the tensor into the value). Data that shape inference folded from declared
// shapes is not trusted at run time: its producer runs.
bool isConstValue(const Value& v, bool hasProducer) { return v.data && v.data->valid() && !(v.folded && hasProducer); }

struct GraphPlan {
    const Graph* graph = nullptr;
    std::vector<int> producer;                 // per value, node index or -1
    std::vector<char> constant;                // per value
    std::vector<int> order;                    // node indices in execution order
    std::vector<const OpKernel*> kernels;      // per node index
    std::vector<char> skip;                    // per node: every output is a constant
    std::vector<Tensor> folded;                // per value: computed once at plan time (invalid if not)
    std::vector<std::shared_ptr<const void>> prepared;  // per node: what its kernel's prepare built
    std::vector<std::vector<int>> release;     // per step, values dead after it
    std::vector<int> outerIds;                 // values of this graph bound from outer scopes
    std::set<std::string> outerNames;          // names this graph (or its subgraphs) take from outside
    std::vector<std::vector<int>> implicitIn;  // per node: values of this graph its subgraphs read
    std::vector<FusedChain> chains;            // element-wise chains (top-level graph only)
    std::vector<int> chainOfHead;              // per node: chain it heads, or -1
    std::vector<int> chainOfMember;            // per node: chain it was absorbed into, or -1
};

}  // namespace

struct Executor::Impl {
    std::shared_ptr<const Graph> graph;
    int64_t opset = 0;
    std::unique_ptr<ThreadPool> pool;
    std::unordered_map<const Graph*, std::unique_ptr<GraphPlan>> plans;
    std::vector<ExecutorIo> inputs, outputs;

    bool fuse = true;

    Status plan(const Graph& g, bool topLevel);
    void planFusion(GraphPlan& p, const Graph& g) const;
    void foldConstants(GraphPlan& p, const Graph& g) const;
    void prepareKernels(GraphPlan& p, const Graph& g) const;

    struct Frame {
        const GraphPlan* plan = nullptr;
        const Frame* parent = nullptr;
        std::vector<Tensor> slots;
        std::vector<char> set;

        const Tensor* get(int id) const {
            const auto i = static_cast<size_t>(id);
            if (set[i]) return &slots[i];
            if (plan->constant[i]) return plan->folded[i].valid() ? &plan->folded[i] : &*plan->graph->values[i].data;
            return nullptr;
        }
        const Tensor* lookup(const std::string& name) const {
            const int id = plan->graph->findValue(name);
            if (id >= 0)
                if (const Tensor* t = get(id)) return t;
            return parent ? parent->lookup(name) : nullptr;
        }
    };

    struct RunState {
        const RunOptions* opts = nullptr;
        std::vector<char> captureWanted;  // per top-level value
        bool captureAll = false;
        bool captureStopped = false;
        int64_t liveBytes = 0;
        RunStats stats;
    };

    Result<std::vector<Tensor>> runGraph(const GraphPlan& p, Frame& frame, RunState& rs, bool topLevel) const;
};

namespace {

// Names used inside `g` (recursively) that `g` does not define itself.
void collectOuterNames(const Graph& g, std::set<std::string>& out);

std::vector<char> definedValues(const Graph& g) {
    std::vector<char> def(g.values.size(), 0);
    for (int i : g.inputs)
        if (i >= 0 && static_cast<size_t>(i) < def.size()) def[static_cast<size_t>(i)] = 1;
    for (size_t v = 0; v < g.values.size(); ++v)
        if (g.values[v].data && g.values[v].data->valid()) def[v] = 1;
    for (const Node& n : g.nodes)
        for (int o : n.outputs)
            if (o >= 0 && static_cast<size_t>(o) < def.size()) def[static_cast<size_t>(o)] = 1;
    return def;
}

void subgraphsOf(const Node& n, std::vector<const Graph*>& out) {
    for (const auto& [k, a] : n.attributes) {
        if (a.g) out.push_back(a.g.get());
        for (const auto& g : a.graphs)
            if (g) out.push_back(g.get());
    }
}

void collectOuterNames(const Graph& g, std::set<std::string>& out) {
    const auto def = definedValues(g);
    auto use = [&](int id) {
        if (id >= 0 && static_cast<size_t>(id) < def.size() && !def[static_cast<size_t>(id)])
            out.insert(g.values[static_cast<size_t>(id)].name);
    };
    for (const Node& n : g.nodes) {
        for (int i : n.inputs) use(i);
        std::vector<const Graph*> subs;
        subgraphsOf(n, subs);
        for (const Graph* s : subs) {
            std::set<std::string> inner;
            collectOuterNames(*s, inner);
            for (const auto& name : inner) {
                const int id = g.findValue(name);
                if (id < 0) out.insert(name);
                else use(id);
            }
        }
    }
    for (int o : g.outputs) use(o);
}

}  // namespace

Status Executor::Impl::plan(const Graph& g, bool topLevel) {
    if (plans.count(&g)) return {};
    auto p = std::make_unique<GraphPlan>();
    p->graph = &g;
    const size_t nv = g.values.size(), nn = g.nodes.size();
    p->producer.assign(nv, -1);
    for (size_t ni = 0; ni < nn; ++ni)
        for (int o : g.nodes[ni].outputs) {
            if (o < 0) continue;
            if (static_cast<size_t>(o) >= nv) return makeError(ErrorCode::Format, "output index out of range", nodeLabel(int(ni), g.nodes[ni]));
            if (p->producer[static_cast<size_t>(o)] >= 0)
                return makeError(ErrorCode::Format, "value '" + g.values[static_cast<size_t>(o)].name + "' is produced twice",
                                 nodeLabel(int(ni), g.nodes[ni]));
            p->producer[static_cast<size_t>(o)] = static_cast<int>(ni);
        }
    p->constant.assign(nv, 0);
    for (size_t v = 0; v < nv; ++v) p->constant[v] = isConstValue(g.values[v], p->producer[v] >= 0);
    std::vector<char> isInput(nv, 0);
    for (int i : g.inputs) {
        if (i < 0 || static_cast<size_t>(i) >= nv) return makeError(ErrorCode::Format, "graph input index out of range");
        isInput[static_cast<size_t>(i)] = 1;
    }

    // Outer-scope values: read but neither produced, given, nor constant.
    auto isOuter = [&](int id) {
        const auto i = static_cast<size_t>(id);
        return p->producer[i] < 0 && !isInput[i] && !p->constant[i];
    };
    std::set<int> outerIds;
    p->implicitIn.assign(nn, {});
    const auto& reg = OpRegistry::instance();
    p->kernels.assign(nn, nullptr);
    p->skip.assign(nn, 0);
    for (size_t ni = 0; ni < nn; ++ni) {
        const Node& n = g.nodes[ni];
        const std::string label = nodeLabel(int(ni), n);
        for (int i : n.inputs) {
            if (i < 0) continue;
            if (static_cast<size_t>(i) >= nv) return makeError(ErrorCode::Format, "input index out of range", label);
            if (isOuter(i)) outerIds.insert(i);
        }
        bool allConst = !n.outputs.empty();
        for (int o : n.outputs)
            if (o >= 0 && !p->constant[static_cast<size_t>(o)]) allConst = false;
        p->skip[ni] = allConst;
        if (allConst) continue;

        const OpKernel* k = reg.find(n.domain, n.opType);
        if (!k)
            return makeError(ErrorCode::Unsupported,
                             "operator " + (n.domain.empty() || n.domain == "ai.onnx" ? std::string() : n.domain + ".") +
                                 n.opType + " is not supported by the CPU executor",
                             label);
        if (k->check) {
            auto st = k->check(n, g, opset);
            if (!st) return st.error().withContext(label);
        }
        p->kernels[ni] = k;

        std::vector<const Graph*> subs;
        subgraphsOf(n, subs);
        std::set<int> implicit;
        for (const Graph* s : subs) {
            auto st = plan(*s, false);
            if (!st) {
                std::string which;
                for (const auto& [key, a] : n.attributes)
                    if (a.g.get() == s) which = key;
                return st.error().withContext(label + (which.empty() ? "" : " attribute '" + which + "'"));
            }
            for (const auto& name : plans.at(s)->outerNames) {
                const int id = g.findValue(name);
                if (id < 0) {
                    p->outerNames.insert(name);
                    continue;
                }
                implicit.insert(id);
                if (isOuter(id)) outerIds.insert(id);
            }
        }
        p->implicitIn[ni].assign(implicit.begin(), implicit.end());
    }
    foldConstants(*p, g);
    prepareKernels(*p, g);
    for (int o : g.outputs) {
        if (o < 0 || static_cast<size_t>(o) >= nv) return makeError(ErrorCode::Format, "graph output index out of range");
        if (isOuter(o)) outerIds.insert(o);
    }
    if (topLevel && !outerIds.empty()) {
        const std::string name = g.values[static_cast<size_t>(*outerIds.begin())].name;
        return makeError(ErrorCode::Format, "value '" + name + "' is used but no node produces it and it is neither an input nor a constant");
    }
    p->outerIds.assign(outerIds.begin(), outerIds.end());
    for (int id : p->outerIds) p->outerNames.insert(g.values[static_cast<size_t>(id)].name);

    // Kahn's algorithm over explicit and implicit inputs, lowest node index first.
    std::vector<int> indeg(nn, 0);
    std::vector<std::vector<int>> succ(nn);
    for (size_t ni = 0; ni < nn; ++ni) {
        std::set<int> preds;
        auto dep = [&](int v) {
            if (v >= 0 && p->producer[static_cast<size_t>(v)] >= 0 && !p->constant[static_cast<size_t>(v)])
                preds.insert(p->producer[static_cast<size_t>(v)]);
        };
        if (!p->skip[ni]) {
            for (int v : g.nodes[ni].inputs) dep(v);
            for (int v : p->implicitIn[ni]) dep(v);
        }
        for (int pr : preds) {
            succ[static_cast<size_t>(pr)].push_back(static_cast<int>(ni));
            ++indeg[ni];
        }
    }
    std::priority_queue<int, std::vector<int>, std::greater<>> ready;
    for (size_t i = 0; i < nn; ++i)
        if (indeg[i] == 0) ready.push(static_cast<int>(i));
    while (!ready.empty()) {
        const int cur = ready.top();
        ready.pop();
        p->order.push_back(cur);
        for (int s : succ[static_cast<size_t>(cur)])
            if (--indeg[static_cast<size_t>(s)] == 0) ready.push(s);
    }
    if (p->order.size() != nn) {
        for (size_t i = 0; i < nn; ++i)
            if (indeg[i] > 0) return makeError(ErrorCode::Format, "the graph has a cycle", nodeLabel(int(i), g.nodes[i]));
    }

    // Last use of each value; graph outputs live to the end.
    std::vector<int> lastUse(nv, -1);
    std::vector<char> keep(nv, 0);
    for (int o : g.outputs) keep[static_cast<size_t>(o)] = 1;
    for (size_t step = 0; step < p->order.size(); ++step) {
        const int ni = p->order[step];
        if (p->skip[static_cast<size_t>(ni)]) continue;
        const Node& n = g.nodes[static_cast<size_t>(ni)];
        for (int v : n.inputs)
            if (v >= 0) lastUse[static_cast<size_t>(v)] = static_cast<int>(step);
        for (int v : p->implicitIn[static_cast<size_t>(ni)]) lastUse[static_cast<size_t>(v)] = static_cast<int>(step);
        for (int v : n.outputs)
            if (v >= 0 && lastUse[static_cast<size_t>(v)] < 0) lastUse[static_cast<size_t>(v)] = static_cast<int>(step);
    }
    p->release.assign(p->order.size(), {});
    for (size_t v = 0; v < nv; ++v)
        if (lastUse[v] >= 0 && !keep[v] && !p->constant[v]) p->release[static_cast<size_t>(lastUse[v])].push_back(static_cast<int>(v));
    if (topLevel && fuse) planFusion(*p, g);

    plans.emplace(&g, std::move(p));
    return {};
}

// Chains run as one pass. Values the chains must not swallow: graph outputs and whatever a
// subgraph reads.
void Executor::Impl::planFusion(GraphPlan& p, const Graph& g) const {
    const size_t nv = g.values.size(), nn = g.nodes.size();
    std::vector<char> pinned(nv, 0);
    for (int o : g.outputs) pinned[static_cast<size_t>(o)] = 1;
    for (const auto& implicit : p.implicitIn)
        for (int v : implicit) pinned[static_cast<size_t>(v)] = 1;
    auto constOf = [&](int v) -> const Tensor* {
        const auto i = static_cast<size_t>(v);
        if (!p.constant[i]) return nullptr;
        return p.folded[i].valid() ? &p.folded[i] : &*g.values[i].data;
    };
    p.chains = planElementwiseChains(g, opset, p.order, p.skip, pinned, constOf);
    p.chainOfHead.assign(nn, -1);
    p.chainOfMember.assign(nn, -1);
    for (size_t c = 0; c < p.chains.size(); ++c) {
        p.chainOfHead[static_cast<size_t>(p.chains[c].head)] = static_cast<int>(c);
        for (int m : p.chains[c].absorbed) p.chainOfMember[static_cast<size_t>(m)] = static_cast<int>(c);
    }
}

// Nodes whose inputs are all constants (weights, Constant outputs, earlier folded results) run
// once here instead of on every run(): dequantising int8/fp16 weights, transposing or reshaping
// them, shape arithmetic. Random ops, ops with subgraphs and results much larger than their inputs
// (Expand, Tile, ConstantOfShape of a big shape) are left to run time. A kernel that fails here
// is simply not folded: run() reports its error in context.
void Executor::Impl::foldConstants(GraphPlan& p, const Graph& g) const {
    static const std::set<std::string> kNondeterministic = {"RandomNormal", "RandomNormalLike", "RandomUniform",
                                                            "RandomUniformLike", "Bernoulli", "Multinomial", "Dropout"};
    p.folded.resize(g.values.size());
    auto constTensor = [&](int v) -> const Tensor* {
        const auto i = static_cast<size_t>(v);
        if (!p.constant[i]) return nullptr;
        return p.folded[i].valid() ? &p.folded[i] : &*g.values[i].data;
    };
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
            const Node& n = g.nodes[ni];
            if (p.skip[ni] || !p.kernels[ni] || !p.implicitIn[ni].empty() || n.outputs.empty()) continue;
            if (kNondeterministic.count(n.opType)) continue;
            std::vector<const Graph*> subs;
            subgraphsOf(n, subs);
            if (!subs.empty()) continue;
            KernelContext ctx{n, g, opset, {}, {}, nullptr, {}};
            bool allConst = true;
            int64_t inBytes = 0;
            for (int v : n.inputs) {
                if (v < 0) {
                    ctx.inputs.push_back(nullptr);
                    continue;
                }
                const Tensor* t = constTensor(v);
                if (!t) {
                    allConst = false;
                    break;
                }
                inBytes += static_cast<int64_t>(t->nbytes());
                ctx.inputs.push_back(t);
            }
            if (!allConst) continue;
            ctx.outputs.resize(n.outputs.size());
            if (!p.kernels[ni]->run(ctx)) continue;
            int64_t outBytes = 0;
            bool complete = true;
            for (size_t oi = 0; oi < n.outputs.size(); ++oi) {
                if (n.outputs[oi] >= 0 && !ctx.outputs[oi].valid()) complete = false;
                outBytes += static_cast<int64_t>(ctx.outputs[oi].nbytes());
            }
            if (!complete || outBytes > 4 * inBytes + (int64_t(1) << 16)) continue;
            for (size_t oi = 0; oi < n.outputs.size(); ++oi) {
                const int v = n.outputs[oi];
                if (v < 0) continue;
                p.folded[static_cast<size_t>(v)] = std::move(ctx.outputs[oi]);
                p.constant[static_cast<size_t>(v)] = 1;
            }
            p.skip[ni] = 1;
            changed = true;
        }
    }
}

// Kernels with a prepare function see the node's constant inputs once (after folding, so
// dequantised or transposed weights count as constants) and keep what they build for every run.
void Executor::Impl::prepareKernels(GraphPlan& p, const Graph& g) const {
    p.prepared.assign(g.nodes.size(), nullptr);
    for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
        const OpKernel* k = p.kernels[ni];
        if (p.skip[ni] || !k || !k->prepare) continue;
        const Node& n = g.nodes[ni];
        KernelContext ctx{n, g, opset, {}, {}, nullptr, {}};
        for (int v : n.inputs) {
            const auto i = static_cast<size_t>(v);
            ctx.inputs.push_back(v >= 0 && p.constant[i] ? (p.folded[i].valid() ? &p.folded[i] : &*g.values[i].data) : nullptr);
        }
        p.prepared[ni] = k->prepare(ctx);
    }
}

Result<std::vector<Tensor>> Executor::Impl::runGraph(const GraphPlan& p, Frame& frame, RunState& rs, bool topLevel) const {
    const Graph& g = *p.graph;
    const RunOptions& opts = *rs.opts;
    for (int id : p.outerIds) {
        const std::string& name = g.values[static_cast<size_t>(id)].name;
        const Tensor* t = frame.parent ? frame.parent->lookup(name) : nullptr;
        if (!t) return makeError(ErrorCode::Invalid, "value '" + name + "' from an outer scope is not available");
        frame.slots[static_cast<size_t>(id)] = *t;
        frame.set[static_cast<size_t>(id)] = 1;
    }

    auto capture = [&](int ni, const Node& n) {
        if (!topLevel || !opts.capture || rs.captureStopped) return;
        for (size_t oi = 0; oi < n.outputs.size(); ++oi) {
            const int v = n.outputs[oi];
            if (v < 0 || !(rs.captureAll || rs.captureWanted[static_cast<size_t>(v)])) continue;
            const Tensor* t = frame.get(v);
            if (!t) continue;
            const int64_t bytes = static_cast<int64_t>(t->nbytes());
            if (opts.captureByteCap > 0 && rs.stats.capturedBytes + bytes > opts.captureByteCap) {
                rs.captureStopped = true;
                rs.stats.captureTruncated = true;
                return;
            }
            rs.stats.capturedBytes += bytes;
            ++rs.stats.capturedValues;
            opts.capture(ni, static_cast<int>(oi), *t);
        }
    };

    // Fused chains run unless this run captures values (it must see every intermediate one);
    // a chain that does not apply to this run's shapes falls back to its nodes.
    const bool fused = topLevel && !p.chains.empty() && !opts.capture;
    std::vector<char> chainFellBack(p.chains.size(), 0);

    const size_t total = p.order.size();
    for (size_t step = 0; step < total; ++step) {
        const int ni = p.order[step];
        const Node& n = g.nodes[static_cast<size_t>(ni)];
        if (p.skip[static_cast<size_t>(ni)]) {
            capture(ni, n);
            continue;
        }
        if (fused) {
            const int member = p.chainOfMember[static_cast<size_t>(ni)];
            if (member >= 0 && !chainFellBack[static_cast<size_t>(member)]) {
                ++rs.stats.nodesRun;
                for (int v : p.release[step]) {
                    auto& slot = frame.slots[static_cast<size_t>(v)];
                    if (frame.set[static_cast<size_t>(v)] && p.producer[static_cast<size_t>(v)] >= 0)
                        rs.liveBytes -= static_cast<int64_t>(slot.nbytes());
                    slot = Tensor();
                    frame.set[static_cast<size_t>(v)] = 0;
                }
                continue;
            }
        }
        if (opts.progress && opts.progress->cancelled()) return makeError(ErrorCode::Cancelled, "the run was cancelled");
        const auto t0 = std::chrono::steady_clock::now();

        KernelContext ctx{n, g, opset, {}, {}, pool.get(), {}};
        ctx.prepared = p.prepared[static_cast<size_t>(ni)].get();
        ctx.inputs.reserve(n.inputs.size());
        for (int v : n.inputs) {
            if (v < 0) {
                ctx.inputs.push_back(nullptr);
                continue;
            }
            const Tensor* t = frame.get(v);
            if (!t)
                return makeError(ErrorCode::Internal, "input '" + g.values[static_cast<size_t>(v)].name + "' has no value",
                                 nodeLabel(ni, n));
            ctx.inputs.push_back(t);
        }
        ctx.outputs.resize(n.outputs.size());
        ctx.runSubgraph = [&](const Graph& sub, std::vector<Tensor> args) -> Result<std::vector<Tensor>> {
            auto it = plans.find(&sub);
            if (it == plans.end()) return makeError(ErrorCode::Internal, "subgraph was not planned");
            const GraphPlan& sp = *it->second;
            if (args.size() > sub.inputs.size())
                return makeError(ErrorCode::Invalid, "subgraph takes " + std::to_string(sub.inputs.size()) + " inputs, got " +
                                                         std::to_string(args.size()));
            Frame child;
            child.plan = &sp;
            child.parent = &frame;
            child.slots.resize(sub.values.size());
            child.set.assign(sub.values.size(), 0);
            for (size_t i = 0; i < args.size(); ++i) {
                const auto id = static_cast<size_t>(sub.inputs[i]);
                child.slots[id] = std::move(args[i]);
                child.set[id] = child.slots[id].valid();
            }
            return runGraph(sp, child, rs, false);
        };
        const int chain = fused ? p.chainOfHead[static_cast<size_t>(ni)] : -1;
        if (chain >= 0) ctx.epilogue = &p.chains[static_cast<size_t>(chain)];
        auto st = p.kernels[static_cast<size_t>(ni)]->run(ctx);
        if (!st) return st.error().withContext(nodeLabel(ni, n));
        for (size_t oi = 0; oi < n.outputs.size(); ++oi) {
            int v = n.outputs[oi];
            if (v < 0) continue;
            if (!ctx.outputs[oi].valid())
                return makeError(ErrorCode::Internal, "the kernel did not produce output " + std::to_string(oi), nodeLabel(ni, n));
            if (chain >= 0) {
                const FusedChain& fc = p.chains[static_cast<size_t>(chain)];
                if (ctx.epilogueDone || applyFusedChain(fc, ctx.outputs[oi], pool.get())) {
                    v = fc.finalValue;
                    ++rs.stats.fusedChains;
                } else {
                    chainFellBack[static_cast<size_t>(chain)] = 1;
                }
            }
            frame.slots[static_cast<size_t>(v)] = std::move(ctx.outputs[oi]);
            frame.set[static_cast<size_t>(v)] = 1;
            if (topLevel) rs.liveBytes += static_cast<int64_t>(frame.slots[static_cast<size_t>(v)].nbytes());
        }
        if (topLevel) {
            rs.stats.peakLiveBytes = std::max(rs.stats.peakLiveBytes, rs.liveBytes);
            ++rs.stats.nodesRun;
            if (opts.profile)
                rs.stats.nodeSeconds[static_cast<size_t>(ni)] =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        capture(ni, n);
        for (int v : p.release[step]) {
            auto& slot = frame.slots[static_cast<size_t>(v)];
            if (topLevel && frame.set[static_cast<size_t>(v)] && p.producer[static_cast<size_t>(v)] >= 0)
                rs.liveBytes -= static_cast<int64_t>(slot.nbytes());
            slot = Tensor();
            frame.set[static_cast<size_t>(v)] = 0;
        }
        if (topLevel && opts.progress && total > 0) opts.progress->report(double(step + 1) / double(total), "running");
    }

    std::vector<Tensor> outs;
    outs.reserve(g.outputs.size());
    for (int o : g.outputs) {
        const Tensor* t = frame.get(o);
        if (!t) return makeError(ErrorCode::Internal, "graph output '" + g.values[static_cast<size_t>(o)].name + "' was not computed");
        outs.push_back(*t);
    }
    return outs;
}

int64_t onnxOpsetOf(const Model& model) {
    for (const auto& [d, v] : model.opsets)
        if (d.empty() || d == "ai.onnx") return v;
    return 0;
}

Executor::Executor(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;
Executor::~Executor() = default;

Result<Executor> Executor::create(const Model& model, const ExecutorOptions& opts) {
    return create(model.graph, onnxOpsetOf(model), opts);
}

Result<Executor> Executor::create(const Graph& graph, int64_t onnxOpset, const ExecutorOptions& opts) {
    auto impl = std::make_unique<Impl>();
    impl->graph = std::make_shared<const Graph>(graph);
    impl->opset = onnxOpset;
    impl->fuse = opts.fuseElementwise;
    BY_TRY(impl->plan(*impl->graph, true));
    for (int i : impl->graph->inputs) {
        const Value& v = impl->graph->values[static_cast<size_t>(i)];
        impl->inputs.push_back({v.name, v.dtype, v.shape});
    }
    for (int o : impl->graph->outputs) {
        const Value& v = impl->graph->values[static_cast<size_t>(o)];
        impl->outputs.push_back({v.name, v.data ? v.data->dtype() : v.dtype, v.shape});
    }
    impl->pool = std::make_unique<ThreadPool>(opts.threads);
    return Executor(std::move(impl));
}

const std::vector<ExecutorIo>& Executor::inputs() const { return m_impl->inputs; }
const std::vector<ExecutorIo>& Executor::outputs() const { return m_impl->outputs; }
int Executor::threadCount() const { return m_impl->pool->threadCount(); }
int64_t Executor::opset() const { return m_impl->opset; }
int64_t Executor::preparedNodeCount() const {
    int64_t n = 0;
    for (const auto& [graph, plan] : m_impl->plans)
        for (const auto& prepared : plan->prepared) n += prepared != nullptr;
    return n;
}

Result<std::vector<Tensor>> Executor::run(const std::map<std::string, Tensor>& inputs, const RunOptions& opts) const {
    const auto start = std::chrono::steady_clock::now();
    const Graph& g = *m_impl->graph;
    const GraphPlan& p = *m_impl->plans.at(&g);

    Impl::Frame frame;
    frame.plan = &p;
    frame.slots.resize(g.values.size());
    frame.set.assign(g.values.size(), 0);

    std::string names;
    for (const auto& io : m_impl->inputs) names += (names.empty() ? "" : ", ") + io.name;
    for (const auto& [name, t] : inputs) {
        const int id = g.findValue(name);
        if (id < 0 || std::find(g.inputs.begin(), g.inputs.end(), id) == g.inputs.end())
            return makeError(ErrorCode::Invalid, "the model has no input '" + name + "' (its inputs: " + names + ")");
    }
    for (const auto& io : m_impl->inputs) {
        auto it = inputs.find(io.name);
        if (it == inputs.end()) return makeError(ErrorCode::Invalid, "input '" + io.name + "' is missing (the model's inputs: " + names + ")");
        const Tensor& t = it->second;
        if (!t.valid()) return makeError(ErrorCode::Invalid, "input '" + io.name + "' is an empty tensor");
        if (io.dtype != DType::Undefined && t.dtype() != io.dtype)
            return makeError(ErrorCode::Invalid, "input '" + io.name + "' must be " + dtypeName(io.dtype) + ", not " +
                                                     dtypeName(t.dtype()));
        if (io.shape) {
            const DimShape& ds = *io.shape;
            bool ok = static_cast<int64_t>(ds.size()) == t.rank();
            for (size_t d = 0; ok && d < ds.size(); ++d)
                if (ds[d].known() && ds[d].value != t.shape()[d]) ok = false;
            if (!ok)
                return makeError(ErrorCode::Invalid, "input '" + io.name + "' has shape " + shapeToString(t.shape()) +
                                                         " but the model expects " + dimShapeToString(ds));
        }
        const int id = g.findValue(io.name);
        frame.slots[static_cast<size_t>(id)] = t;
        frame.set[static_cast<size_t>(id)] = 1;
    }

    Impl::RunState rs;
    rs.opts = &opts;
    if (opts.capture) {
        rs.captureWanted.assign(g.values.size(), 0);
        rs.captureAll = opts.captureValues.empty();
        for (const auto& name : opts.captureValues) {
            const int id = g.findValue(name);
            if (id < 0 || p.producer[static_cast<size_t>(id)] < 0)
                return makeError(ErrorCode::Invalid, "cannot capture '" + name + "': it is not a node output of the graph");
            rs.captureWanted[static_cast<size_t>(id)] = 1;
        }
    }
    if (opts.profile) rs.stats.nodeSeconds.assign(g.nodes.size(), 0.0);
    auto outs = m_impl->runGraph(p, frame, rs, true);
    rs.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (opts.stats) *opts.stats = std::move(rs.stats);
    return outs;
}

}  // namespace by
