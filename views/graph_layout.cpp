#include "views/graph_layout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "views/graph_labels.h"

namespace by {

namespace {

constexpr float kTitleCharScale = 1.25f;  // the title font is a little larger and bold
constexpr int kMaxDummies = 8'000'000;

Error cancelledError() { return makeError(ErrorCode::Cancelled, "layout was cancelled", "graph layout"); }

// Sorted CSR adjacency built from (from, to) pairs.
struct Adjacency {
    std::vector<int> start;
    std::vector<int> items;
    void build(int n, const std::vector<std::pair<int, int>>& pairs, bool byFirst) {
        start.assign(n + 1, 0);
        for (const auto& p : pairs) ++start[(byFirst ? p.first : p.second) + 1];
        for (int i = 0; i < n; ++i) start[i + 1] += start[i];
        items.resize(pairs.size());
        std::vector<int> fill(start.begin(), start.end() - 1);
        for (const auto& p : pairs) {
            if (byFirst) items[fill[p.first]++] = p.second;
            else items[fill[p.second]++] = p.first;
        }
    }
    int begin(int v) const { return start[v]; }
    int end(int v) const { return start[v + 1]; }
    int count(int v) const { return start[v + 1] - start[v]; }
};

class LayoutBuilder {
public:
    LayoutBuilder(const Graph& g, const LayoutOptions& o, const Progress* p)
        : m_g(g), m_opt(o), m_progress(p), m_index(g) {}

    Result<GraphLayout> run(bool naive) {
        report(0.0, "building boxes");
        BY_TRY(buildUnits());
        if (cancelled()) return cancelledError();
        report(0.1, "layering");
        assignLayers();
        if (!naive) reduceSlack();
        compactLayers();
        if (naive) return finishNaive();
        report(0.15, "routing long edges");
        BY_TRY(buildProperGraph());
        if (cancelled()) return cancelledError();
        report(0.2, "reducing crossings");
        if (!orderLayers()) return cancelledError();
        report(0.6, "placing boxes");
        if (!placeX()) return cancelledError();
        report(0.9, "routing edges");
        placeY();
        route();
        finish();
        report(1.0, "done");
        return std::move(m_out);
    }

private:
    bool cancelled() const { return m_progress && m_progress->cancelled(); }
    void report(double f, const char* stage) const {
        if (m_progress) m_progress->report(f, stage);
    }

    // ---------------------------------------------------------------- boxes and edges
    int addUnit(LayoutNode n) {
        m_out.nodes.push_back(std::move(n));
        return static_cast<int>(m_out.nodes.size()) - 1;
    }

    void sizeBox(LayoutNode& n) const {
        size_t body = textColumns(n.subtitle);
        for (const auto& l : n.lines) body = std::max(body, textColumns(l));
        const float w = std::max(static_cast<float>(textColumns(n.title)) * m_opt.charWidth * kTitleCharScale,
                                 static_cast<float>(body) * m_opt.charWidth) +
                        2 * m_out.padding + 4;
        n.rect.w = std::clamp(w, m_opt.minNodeWidth, m_opt.maxNodeWidth);
        const size_t bodyLines = n.lines.size() + (n.subtitle.empty() ? 0 : 1);
        n.rect.h = m_out.titleHeight + (bodyLines ? static_cast<float>(bodyLines) * m_out.lineHeight + m_out.padding : 0.0f);
    }

    void labelOp(LayoutNode& u, int n) const {
        const Node& node = m_g.nodes[n];
        u.title = node.opType.empty() ? std::string("?") : node.opType;
        // The name's last component; when that only repeats the op type ("/conv2/Conv"), the
        // component before it says more.
        std::string_view name = node.name;
        if (size_t slash = name.find_last_of('/'); slash != std::string_view::npos && slash + 1 < name.size()) {
            std::string_view last = name.substr(slash + 1);
            if (!node.opType.empty() && last.substr(0, node.opType.size()) == node.opType && slash > 0) {
                const size_t prev = name.find_last_of('/', slash - 1);
                last = name.substr(prev == std::string_view::npos ? 0 : prev + 1);
            }
            name = last;
        }
        u.subtitle = std::string(name);
        if (u.subtitle.empty() && !node.outputs.empty() && node.outputs[0] >= 0) u.subtitle = m_g.values[node.outputs[0]].name;
        if (std::string attrs = keyAttributes(node); !attrs.empty()) u.lines.push_back(std::move(attrs));
        int weights = 0, hidden = 0;
        for (size_t i = 0; i < node.inputs.size(); ++i) {
            const int v = node.inputs[i];
            if (v < 0 || !m_index.constant[v]) continue;
            const Tensor* t = m_index.constant[v];
            if (t->dtype() != DType::String) u.params += std::max<int64_t>(0, t->numel());
            if (m_opt.showConstantsAsNodes) continue;
            if (weights < m_opt.maxWeightLines) {
                u.lines.push_back(inputRoleName(node.opType, i) + " " + constantSummary(*t));
                ++weights;
            } else {
                ++hidden;
            }
        }
        if (hidden) u.lines.push_back("+" + std::to_string(hidden) + " more");
        if (!node.outputs.empty() && node.outputs[0] >= 0) {
            std::string shape = shapeLabel(m_g.values[node.outputs[0]]);
            if (!shape.empty()) u.lines.push_back("\xE2\x86\x92 " + shape);
        }
        u.category = opCategory(node.opType);
    }

    Status topoOrder(std::vector<int>& order) const {
        const int nn = static_cast<int>(m_g.nodes.size());
        std::vector<int> indeg(nn, 0);
        for (int n = 0; n < nn; ++n)
            for (int v : m_g.nodes[n].inputs)
                if (v >= 0 && v < static_cast<int>(m_index.producer.size()) && m_index.producer[v] >= 0) ++indeg[n];
        // Smallest index first keeps the file order when it is already topological.
        std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
        for (int n = 0; n < nn; ++n)
            if (indeg[n] == 0) ready.push(n);
        order.clear();
        order.reserve(nn);
        while (!ready.empty()) {
            const int n = ready.top();
            ready.pop();
            order.push_back(n);
            for (int v : m_g.nodes[n].outputs) {
                if (v < 0 || v >= static_cast<int>(m_index.producer.size()) || m_index.producer[v] != n) continue;
                for (int i = m_index.consumerStart[v]; i < m_index.consumerStart[v + 1]; ++i)
                    if (--indeg[m_index.consumers[i]] == 0) ready.push(m_index.consumers[i]);
            }
        }
        if (static_cast<int>(order.size()) != nn) {
            for (int n = 0; n < nn; ++n)
                if (indeg[n] > 0)
                    return makeError(ErrorCode::Invalid, "the graph has a cycle through node " + std::to_string(n) + " (" +
                                                             m_g.nodes[n].opType + " '" + m_g.nodes[n].name + "')",
                                     "graph layout");
        }
        return {};
    }

    Status buildUnits() {
        const int nn = static_cast<int>(m_g.nodes.size());
        const int nv = static_cast<int>(m_g.values.size());
        m_out.lineHeight = m_opt.lineHeight;
        m_out.titleHeight = std::round(m_opt.lineHeight * 1.45f);
        m_out.padding = std::round(m_opt.lineHeight * 0.4f);
        for (const Node& n : m_g.nodes) {
            for (int v : n.inputs)
                if (v >= nv || v < -1)
                    return makeError(ErrorCode::Invalid, "node '" + n.name + "' reads value " + std::to_string(v) + " which does not exist",
                                     "graph layout");
            for (int v : n.outputs)
                if (v >= nv || v < -1)
                    return makeError(ErrorCode::Invalid, "node '" + n.name + "' writes value " + std::to_string(v) + " which does not exist",
                                     "graph layout");
        }
        std::vector<int> scopeOfNode = buildScopeTree(m_g, m_index, m_out.scopes);
        const auto& scopes = m_out.scopes.scopes;

        // Outermost collapsed scope of each scope, -1 when none is collapsed.
        std::vector<int> collapsedRoot(scopes.size(), -1);
        if (!m_opt.collapsedScopes.empty()) {
            for (size_t s = 1; s < scopes.size(); ++s) {
                const int p = scopes[s].parent;
                if (p > 0 && collapsedRoot[p] >= 0) collapsedRoot[s] = collapsedRoot[p];
                else if (m_opt.collapsedScopes.count(scopes[s].path)) collapsedRoot[s] = static_cast<int>(s);
            }
        }

        std::vector<int> order;
        BY_TRY(topoOrder(order));

        m_out.nodeOfGraphNode.assign(nn, -1);
        std::vector<int> inputUnit(nv, -1), outputUnit(nv, -1), constUnit(nv, -1);
        std::vector<int> groupUnit(scopes.size(), -1);
        if (m_opt.showGraphInputs) {
            for (int v : m_g.inputs) {
                if (v < 0 || v >= nv || m_index.constant[v] || inputUnit[v] >= 0) continue;
                LayoutNode u;
                u.kind = LayoutNodeKind::Input;
                u.category = OpCategory::Input;
                u.value = v;
                u.opCount = 0;
                u.title = m_g.values[v].name;
                if (std::string s = shapeLabel(m_g.values[v]); !s.empty()) u.lines.push_back(std::move(s));
                sizeBox(u);
                inputUnit[v] = addUnit(std::move(u));
            }
        }
        for (int n : order) {
            const Node& node = m_g.nodes[n];
            if (m_index.constantOp[n] && !m_opt.showConstantsAsNodes) continue;
            const int root = collapsedRoot[scopeOfNode[n]];
            if (root >= 0) {
                if (groupUnit[root] < 0) {
                    LayoutNode u;
                    u.kind = LayoutNodeKind::Group;
                    u.category = OpCategory::Group;
                    u.node = n;
                    u.scope = root;
                    u.title = scopes[root].name;
                    u.subtitle = scopes[root].path;
                    u.opCount = scopes[root].opCount;
                    u.params = scopes[root].params;
                    u.lines.push_back(std::to_string(u.opCount) + (u.opCount == 1 ? " op" : " ops") +
                                      (u.params ? ", " + formatCount(u.params) + " params" : std::string()));
                    sizeBox(u);
                    groupUnit[root] = addUnit(std::move(u));
                }
                m_out.nodeOfGraphNode[n] = groupUnit[root];
                continue;
            }
            if (m_opt.showConstantsAsNodes) {
                for (int v : node.inputs) {
                    if (v < 0 || !m_g.values[v].data || m_index.producer[v] >= 0 || constUnit[v] >= 0) continue;
                    LayoutNode u;
                    u.kind = LayoutNodeKind::Constant;
                    u.category = OpCategory::Other;
                    u.value = v;
                    u.opCount = 0;
                    u.title = m_g.values[v].name;
                    u.lines.push_back(shapeToString(m_g.values[v].data->shape()));
                    sizeBox(u);
                    constUnit[v] = addUnit(std::move(u));
                }
            }
            LayoutNode u;
            u.kind = LayoutNodeKind::Op;
            u.node = n;
            labelOp(u, n);
            sizeBox(u);
            m_out.nodeOfGraphNode[n] = addUnit(std::move(u));
        }
        if (m_opt.showGraphOutputs) {
            for (int v : m_g.outputs) {
                if (v < 0 || v >= nv || outputUnit[v] >= 0) continue;
                LayoutNode u;
                u.kind = LayoutNodeKind::Output;
                u.category = OpCategory::Output;
                u.value = v;
                u.opCount = 0;
                u.title = m_g.values[v].name;
                if (std::string s = shapeLabel(m_g.values[v]); !s.empty()) u.lines.push_back(std::move(s));
                sizeBox(u);
                outputUnit[v] = addUnit(std::move(u));
            }
        }
        if (cancelled()) return cancelledError();

        // Edges, grouped by value so that each value's edges from one source are contiguous.
        const int nu = static_cast<int>(m_out.nodes.size());
        std::vector<int> stamp(nu, -1);
        std::unordered_set<uint64_t> groupPairs;
        const bool groups = !m_opt.collapsedScopes.empty();
        for (int v = 0; v < nv; ++v) {
            int src = -1;
            if (m_index.producer[v] >= 0) src = m_out.nodeOfGraphNode[m_index.producer[v]];
            else if (inputUnit[v] >= 0) src = inputUnit[v];
            else if (constUnit[v] >= 0) src = constUnit[v];
            if (src < 0) continue;
            bool labelled = false;
            auto addEdge = [&](int dst) {
                if (dst < 0 || dst == src || stamp[dst] == v) return;
                stamp[dst] = v;
                if (groups && (m_out.nodes[src].kind == LayoutNodeKind::Group || m_out.nodes[dst].kind == LayoutNodeKind::Group)) {
                    const uint64_t key = static_cast<uint64_t>(src) * static_cast<uint64_t>(nu) + static_cast<uint64_t>(dst);
                    if (!groupPairs.insert(key).second) return;
                }
                LayoutEdge e;
                e.from = src;
                e.to = dst;
                e.value = v;
                e.reversed = src > dst;
                if (!labelled) {
                    e.label = shapeLabel(m_g.values[v]);
                    e.labelled = !e.label.empty();
                    labelled = true;
                }
                m_out.edges.push_back(std::move(e));
            };
            for (int i = m_index.consumerStart[v]; i < m_index.consumerStart[v + 1]; ++i)
                addEdge(m_out.nodeOfGraphNode[m_index.consumers[i]]);
            addEdge(outputUnit[v]);
        }
        // Reversed edges first leave their value's run; keep normal edges of a value contiguous.
        std::stable_partition(m_out.edges.begin(), m_out.edges.end(), [](const LayoutEdge& e) { return !e.reversed; });
        return {};
    }

    // ---------------------------------------------------------------- layering
    // Unit index order is a topological order of the oriented edges (top = smaller index).
    int top(const LayoutEdge& e) const { return std::min(e.from, e.to); }
    int bottom(const LayoutEdge& e) const { return std::max(e.from, e.to); }

    void assignLayers() {
        const int nu = static_cast<int>(m_out.nodes.size());
        std::vector<std::pair<int, int>> pairs;
        pairs.reserve(m_out.edges.size());
        for (const auto& e : m_out.edges) pairs.emplace_back(top(e), bottom(e));
        m_down.build(nu, pairs, true);
        m_up.build(nu, pairs, false);
        m_layer.assign(nu, 0);
        for (int u = 0; u < nu; ++u)
            for (int i = m_down.begin(u); i < m_down.end(u); ++i)
                m_layer[m_down.items[i]] = std::max(m_layer[m_down.items[i]], m_layer[u] + 1);
    }

    // Moving a box down by one shortens its out-edges and lengthens its in-edges; do it where
    // that wins (sources such as graph inputs go next to their first consumer), and the mirror
    // image upwards.
    void reduceSlack() {
        const int nu = static_cast<int>(m_out.nodes.size());
        for (int u = nu - 1; u >= 0; --u) {
            const int outs = m_down.count(u), ins = m_up.count(u);
            if (outs == 0 || outs <= ins) continue;
            int lo = std::numeric_limits<int>::max();
            for (int i = m_down.begin(u); i < m_down.end(u); ++i) lo = std::min(lo, m_layer[m_down.items[i]]);
            m_layer[u] = std::max(m_layer[u], lo - 1);
        }
        for (int u = 0; u < nu; ++u) {
            const int outs = m_down.count(u), ins = m_up.count(u);
            if (ins == 0 || ins <= outs) continue;
            int hi = -1;
            for (int i = m_up.begin(u); i < m_up.end(u); ++i) hi = std::max(hi, m_layer[m_up.items[i]]);
            m_layer[u] = std::min(m_layer[u], hi + 1);
        }
    }

    void compactLayers() {
        int maxLayer = 0;
        for (int l : m_layer) maxLayer = std::max(maxLayer, l);
        std::vector<int> remap(maxLayer + 1, 0);
        for (int l : m_layer) remap[l] = 1;
        int next = 0;
        for (int& r : remap) r = r ? next++ : -1;
        for (int& l : m_layer) l = remap[l];
        m_layerCount = m_out.nodes.empty() ? 0 : next;
    }

    // ---------------------------------------------------------------- proper layered graph
    Status buildProperGraph() {
        const int nu = static_cast<int>(m_out.nodes.size());
        m_vLayer = m_layer;
        m_vWidth.resize(nu);
        m_vKey.resize(nu);
        for (int u = 0; u < nu; ++u) {
            m_vWidth[u] = m_out.nodes[u].rect.w;
            m_vKey[u] = u;
        }
        const int ne = static_cast<int>(m_out.edges.size());
        m_pathStart.assign(ne + 1, 0);
        m_pathVerts.clear();
        m_segments.clear();
        m_busStart.assign(ne, 0);
        m_chains.clear();
        m_busEnd.assign(ne, 0);
        std::vector<int> trunk;
        int e = 0;
        while (e < ne) {
            int end = e + 1;
            const LayoutEdge& first = m_out.edges[e];
            if (!first.reversed)
                while (end < ne && !m_out.edges[end].reversed && m_out.edges[end].value == first.value &&
                       m_out.edges[end].from == first.from)
                    ++end;
            const int t = top(first);
            const int lt = m_layer[t];
            int maxL = lt;
            for (int i = e; i < end; ++i) maxL = std::max(maxL, m_layer[bottom(m_out.edges[i])]);
            trunk.clear();
            if (maxL - lt >= 2) m_chains.emplace_back(static_cast<int>(m_vLayer.size()), static_cast<int>(m_vLayer.size()) + maxL - lt - 2);
            for (int l = lt + 1; l < maxL; ++l) {
                const int d = static_cast<int>(m_vLayer.size());
                m_vLayer.push_back(l);
                m_vWidth.push_back(m_opt.dummyWidth);
                m_vKey.push_back(t);
                m_segments.emplace_back(trunk.empty() ? t : trunk.back(), d);
                trunk.push_back(d);
            }
            if (static_cast<int>(m_vLayer.size()) - nu > kMaxDummies)
                return makeError(ErrorCode::Unsupported, "the graph is too deep and wide to lay out (over " +
                                                             std::to_string(kMaxDummies) + " edge bends)",
                                 "graph layout");
            for (int i = e; i < end; ++i) {
                m_busStart[i] = e;
                m_busEnd[i] = end;
                const int b = bottom(m_out.edges[i]);
                const int span = m_layer[b] - lt;
                m_pathVerts.push_back(t);
                for (int k = 0; k < span - 1; ++k) m_pathVerts.push_back(trunk[k]);
                m_pathVerts.push_back(b);
                m_pathStart[i + 1] = static_cast<int>(m_pathVerts.size());
                m_segments.emplace_back(span >= 2 ? trunk[span - 2] : t, b);
            }
            e = end;
        }
        const int nvtx = static_cast<int>(m_vLayer.size());
        m_out.dummyCount = nvtx - nu;
        m_vDown.build(nvtx, m_segments, true);
        m_vUp.build(nvtx, m_segments, false);
        m_byLayer.assign(m_layerCount, {});
        for (int v = 0; v < nvtx; ++v) m_byLayer[m_vLayer[v]].push_back(v);
        m_pos.assign(nvtx, 0);
        return {};
    }

    // ---------------------------------------------------------------- crossing reduction
    void sortLayerBy(int l, const Adjacency& ref, std::vector<std::pair<double, int>>& keyed) {
        auto& layer = m_byLayer[l];
        keyed.clear();
        for (int v : layer) {
            const int b = ref.begin(v), en = ref.end(v);
            double bary;
            if (b == en) {
                bary = -1;  // filled below from the current position
            } else {
                double sum = 0;
                for (int i = b; i < en; ++i) sum += m_pos[ref.items[i]];
                bary = sum / (en - b);
            }
            keyed.emplace_back(bary, v);
        }
        // Vertices without neighbours on the reference side keep their relative place: give them
        // the barycenter of the nearest vertex on their left that has one.
        double last = -1;
        for (size_t i = 0; i < keyed.size(); ++i) {
            if (keyed[i].first < 0) keyed[i].first = last < 0 ? 0 : last;
            else last = keyed[i].first;
        }
        std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 0; i < keyed.size(); ++i) {
            layer[i] = keyed[i].second;
            m_pos[layer[i]] = static_cast<int>(i);
        }
    }

    int64_t crossingsBetween(int l, std::vector<int>& tree, std::vector<int>& lower) const {
        const auto& upper = m_byLayer[l];
        const int n = static_cast<int>(m_byLayer[l + 1].size());
        tree.assign(n + 1, 0);
        int64_t crossings = 0;
        int inserted = 0;
        for (int v : upper) {
            lower.clear();
            for (int i = m_vDown.begin(v); i < m_vDown.end(v); ++i) lower.push_back(m_pos[m_vDown.items[i]]);
            std::sort(lower.begin(), lower.end());
            for (int p : lower) {
                int le = 0;  // inserted so far at positions <= p
                for (int i = p + 1; i > 0; i -= i & -i) le += tree[i];
                crossings += inserted - le;
            }
            for (int p : lower) {
                for (int i = p + 1; i <= n; i += i & -i) ++tree[i];
                ++inserted;
            }
        }
        return crossings;
    }

    int64_t totalCrossings() const {
        std::vector<int> tree, lower;
        int64_t total = 0;
        for (int l = 0; l + 1 < m_layerCount; ++l) total += crossingsBetween(l, tree, lower);
        return total;
    }

    bool orderLayers() {
        if (m_layerCount == 0) return true;
        std::vector<std::pair<double, int>> keyed;
        // Initial order: layer 0 by unit order (file order), then one barycenter pass downwards
        // where ties keep unit order.
        for (auto& layer : m_byLayer)
            std::stable_sort(layer.begin(), layer.end(), [&](int a, int b) { return m_vKey[a] < m_vKey[b]; });
        for (int l = 0; l < m_layerCount; ++l)
            for (size_t i = 0; i < m_byLayer[l].size(); ++i) m_pos[m_byLayer[l][i]] = static_cast<int>(i);
        for (int l = 1; l < m_layerCount; ++l) sortLayerBy(l, m_vUp, keyed);
        int64_t best = totalCrossings();
        std::vector<std::vector<int>> bestOrder = m_byLayer;
        const int sweeps = std::max(0, m_opt.crossingSweeps);
        for (int s = 0; s < sweeps && best > 0; ++s) {
            if (cancelled()) return false;
            if (s % 2 == 0) {
                for (int l = m_layerCount - 2; l >= 0; --l) sortLayerBy(l, m_vDown, keyed);
            } else {
                for (int l = 1; l < m_layerCount; ++l) sortLayerBy(l, m_vUp, keyed);
            }
            const int64_t c = totalCrossings();
            if (c < best) {
                best = c;
                bestOrder = m_byLayer;
            }
            report(0.2 + 0.4 * (s + 1) / (sweeps + 1), "reducing crossings");
        }
        m_byLayer = std::move(bestOrder);
        for (auto& layer : m_byLayer)
            for (size_t i = 0; i < layer.size(); ++i) m_pos[layer[i]] = static_cast<int>(i);
        m_out.crossings = best;
        return true;
    }

    // ---------------------------------------------------------------- x placement
    bool isDummy(int v) const { return v >= static_cast<int>(m_out.nodes.size()); }

    float separation(int a, int b) const {
        const bool da = isDummy(a), db = isDummy(b);
        const float gap = (!da && !db) ? m_opt.nodeSpacing : (da && db ? m_opt.nodeSpacing * 0.25f : m_opt.nodeSpacing * 0.5f);
        return (m_vWidth[a] + m_vWidth[b]) * 0.5f + gap;
    }

    static float median(std::vector<float>& xs) {
        const size_t n = xs.size();
        std::nth_element(xs.begin(), xs.begin() + n / 2, xs.end());
        const float hi = xs[n / 2];
        if (n % 2) return hi;
        const float lo = *std::max_element(xs.begin(), xs.begin() + n / 2);
        return (lo + hi) * 0.5f;
    }

    // Pulls each vertex of layer `l` towards the median of its neighbours (upper, lower or both)
    // under the order and spacing constraints: a weighted isotonic regression solved exactly by
    // pool-adjacent-violators on x_i minus the cumulative minimum spacing.
    void placeLayer(int l, int mode) {
        const auto& layer = m_byLayer[l];
        const int n = static_cast<int>(layer.size());
        if (n == 0) return;
        m_target.resize(n);
        m_weight.resize(n);
        m_offsetSum.resize(n);
        for (int i = 0; i < n; ++i) {
            const int v = layer[i];
            float want = 0;
            int sides = 0;
            auto pull = [&](const Adjacency& adj) {
                if (adj.count(v) == 0) return;
                m_xs.clear();
                for (int k = adj.begin(v); k < adj.end(v); ++k) m_xs.push_back(m_x[adj.items[k]]);
                want += median(m_xs);
                ++sides;
            };
            if (mode <= 0) pull(m_vUp);
            if (mode >= 0) pull(m_vDown);
            if (sides == 0) {
                m_target[i] = m_x[v];
                m_weight[i] = 0.02f;
            } else {
                m_target[i] = want / static_cast<float>(sides);
                const bool chain = m_vUp.count(v) <= 1 && m_vDown.count(v) <= 1;
                m_weight[i] = isDummy(v) ? 8.0f : (chain ? 2.0f : 1.0f);
            }
            m_offsetSum[i] = i == 0 ? 0.0f : m_offsetSum[i - 1] + separation(layer[i - 1], v);
        }
        // PAV on y_i = x_i - offset_i with y non-decreasing.
        m_blockStart.clear();
        m_blockW.clear();
        m_blockWY.clear();
        for (int i = 0; i < n; ++i) {
            double w = m_weight[i];
            double wy = w * (m_target[i] - m_offsetSum[i]);
            int start = i;
            while (!m_blockStart.empty() && m_blockWY.back() / m_blockW.back() > wy / w) {
                w += m_blockW.back();
                wy += m_blockWY.back();
                start = m_blockStart.back();
                m_blockStart.pop_back();
                m_blockW.pop_back();
                m_blockWY.pop_back();
            }
            m_blockStart.push_back(start);
            m_blockW.push_back(w);
            m_blockWY.push_back(wy);
        }
        for (size_t b = 0; b < m_blockStart.size(); ++b) {
            const int from = m_blockStart[b];
            const int to = b + 1 < m_blockStart.size() ? m_blockStart[b + 1] : n;
            const float y = static_cast<float>(m_blockWY[b] / m_blockW[b]);
            for (int i = from; i < to; ++i) m_x[layer[i]] = y + m_offsetSum[i];
        }
    }

    // Median pulls leave long edges gently curved; move each dummy of a chain onto the chain's
    // median x wherever its neighbours in the layer leave room, so long edges run straight.
    void straightenChains() {
        std::vector<float> xs;
        for (int round = 0; round < 2; ++round) {
            for (const auto& [first, last] : m_chains) {
                xs.assign(m_x.begin() + first, m_x.begin() + last + 1);
                std::nth_element(xs.begin(), xs.begin() + xs.size() / 2, xs.end());
                const float target = xs[xs.size() / 2];
                for (int d = first; d <= last; ++d) {
                    const auto& layer = m_byLayer[m_vLayer[d]];
                    const int p = m_pos[d];
                    float lo = -std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::max();
                    if (p > 0) lo = m_x[layer[p - 1]] + separation(layer[p - 1], d);
                    if (p + 1 < static_cast<int>(layer.size())) hi = m_x[layer[p + 1]] - separation(d, layer[p + 1]);
                    if (lo <= hi) m_x[d] = std::clamp(target, lo, hi);
                }
            }
        }
    }

    bool placeX() {
        const int nvtx = static_cast<int>(m_vLayer.size());
        m_x.assign(nvtx, 0);
        for (const auto& layer : m_byLayer) {
            float x = 0;
            for (size_t i = 0; i < layer.size(); ++i) {
                if (i) x += separation(layer[i - 1], layer[i]);
                m_x[layer[i]] = x;
            }
            const float mid = x * 0.5f;
            for (int v : layer) m_x[v] -= mid;
        }
        const int sweeps = std::max(0, m_opt.placementSweeps);
        for (int s = 0; s < sweeps; ++s) {
            if (cancelled()) return false;
            if (s % 2 == 0) {
                for (int l = 1; l < m_layerCount; ++l) placeLayer(l, -1);
            } else {
                for (int l = m_layerCount - 2; l >= 0; --l) placeLayer(l, 1);
            }
            report(0.6 + 0.3 * (s + 1) / std::max(1, sweeps + 1), "placing boxes");
        }
        for (int l = 0; l < m_layerCount; ++l) placeLayer(l, 0);
        straightenChains();
        float minX = std::numeric_limits<float>::max();
        for (int v = 0; v < nvtx; ++v) minX = std::min(minX, m_x[v] - m_vWidth[v] * 0.5f);
        if (nvtx) for (float& x : m_x) x -= minX;
        return true;
    }

    // ---------------------------------------------------------------- y, routing, result
    void placeY() {
        m_out.layerY.assign(m_layerCount, 0);
        m_out.layerHeight.assign(m_layerCount, 0);
        for (size_t u = 0; u < m_out.nodes.size(); ++u)
            m_out.layerHeight[m_layer[u]] = std::max(m_out.layerHeight[m_layer[u]], m_out.nodes[u].rect.h);
        float y = 0;
        for (int l = 0; l < m_layerCount; ++l) {
            m_out.layerY[l] = y;
            y += m_out.layerHeight[l] + m_opt.layerSpacing;
        }
        m_out.layers.assign(m_layerCount, {});
        for (int l = 0; l < m_layerCount; ++l) {
            for (int v : m_byLayer[l]) {
                if (isDummy(v)) continue;
                LayoutNode& n = m_out.nodes[v];
                n.layer = l;
                n.order = static_cast<int>(m_out.layers[l].size());
                n.rect.x = m_x[v] - n.rect.w * 0.5f;
                n.rect.y = m_out.layerY[l] + (m_out.layerHeight[l] - n.rect.h) * 0.5f;
                m_out.layers[l].push_back(v);
            }
        }
    }

    // Port offset of slot `i` out of `n` along a box of width `w`.
    static float portOffset(int i, int n, float w) {
        if (n <= 1) return 0;
        const float span = std::min(w * 0.7f, 14.0f * static_cast<float>(n - 1));
        return -span * 0.5f + span * static_cast<float>(i) / static_cast<float>(n - 1);
    }

    void route() {
        const int nu = static_cast<int>(m_out.nodes.size());
        const int ne = static_cast<int>(m_out.edges.size());
        // Out ports: one per distinct value leaving a box at its bottom, in first-seen order.
        std::vector<int> outSlot(ne, 0), outCount(nu, 0), lastValue(nu, -1);
        for (int e = 0; e < ne; ++e) {
            const int t = top(m_out.edges[e]);
            if (lastValue[t] != m_out.edges[e].value || m_out.edges[e].reversed) {
                lastValue[t] = m_out.edges[e].value;
                ++outCount[t];
            }
            outSlot[e] = outCount[t] - 1;
        }
        // In ports: edges arriving at a box's top, ordered by where they come from.
        std::vector<std::vector<std::pair<float, int>>> incoming(nu);
        for (int e = 0; e < ne; ++e) {
            const int b = bottom(m_out.edges[e]);
            const int prev = m_pathVerts[m_pathStart[e + 1] - 2];
            incoming[b].emplace_back(m_x[prev], e);
        }
        std::vector<float> inX(ne, 0);
        for (int u = 0; u < nu; ++u) {
            auto& in = incoming[u];
            std::sort(in.begin(), in.end());
            const RectF& r = m_out.nodes[u].rect;
            for (size_t i = 0; i < in.size(); ++i)
                inX[in[i].second] = r.centerX() + portOffset(static_cast<int>(i), static_cast<int>(in.size()), r.w);
        }
        for (int e = 0; e < ne; ++e) {
            LayoutEdge& edge = m_out.edges[e];
            const LayoutNode& t = m_out.nodes[top(edge)];
            const LayoutNode& b = m_out.nodes[bottom(edge)];
            auto& pts = edge.points;
            pts.clear();
            pts.reserve(2 + 2 * (m_pathStart[e + 1] - m_pathStart[e] - 2));
            pts.push_back({t.rect.centerX() + portOffset(outSlot[e], outCount[top(edge)], t.rect.w), t.rect.bottom()});
            for (int k = m_pathStart[e] + 1; k < m_pathStart[e + 1] - 1; ++k) {
                const int d = m_pathVerts[k];
                const int l = m_vLayer[d];
                pts.push_back({m_x[d], m_out.layerY[l]});
                if (m_out.layerHeight[l] > 0) pts.push_back({m_x[d], m_out.layerY[l] + m_out.layerHeight[l]});
            }
            pts.push_back({inX[e], b.rect.y});
            if (edge.reversed) std::reverse(pts.begin(), pts.end());
        }
        // Buses: the longest edge of each keeps its whole route, the others keep only what
        // follows the part they share with it.
        for (int e = 0; e < ne;) {
            const int end = m_busEnd[e];
            if (end - e > 1) {
                int owner = e;
                for (int i = e; i < end; ++i)
                    if (m_pathStart[i + 1] - m_pathStart[i] > m_pathStart[owner + 1] - m_pathStart[owner]) owner = i;
                for (int i = e; i < end; ++i) {
                    if (i == owner) continue;
                    int shared = 1;  // the start point
                    for (int k = m_pathStart[i] + 1; k < m_pathStart[i + 1] - 1; ++k)
                        shared += m_out.layerHeight[m_vLayer[m_pathVerts[k]]] > 0 ? 2 : 1;
                    if (shared <= 1) continue;
                    auto& pts = m_out.edges[i].points;
                    pts.erase(pts.begin(), pts.begin() + (shared - 1));
                    m_out.edges[i].trunk = owner;
                    m_out.edges[i].trunkPoints = shared;
                }
            }
            e = end;
        }
    }

    void computeBounds() {
        float x0 = std::numeric_limits<float>::max(), y0 = x0, x1 = -x0, y1 = -x0;
        for (const auto& n : m_out.nodes) {
            x0 = std::min(x0, n.rect.x);
            y0 = std::min(y0, n.rect.y);
            x1 = std::max(x1, n.rect.right());
            y1 = std::max(y1, n.rect.bottom());
        }
        for (const auto& e : m_out.edges)
            for (const auto& p : e.points) {
                x0 = std::min(x0, p.x);
                x1 = std::max(x1, p.x);
            }
        m_out.bounds = m_out.nodes.empty() ? RectF{} : RectF{x0, y0, x1 - x0, y1 - y0};
    }

    void finish() { computeBounds(); }

    // Baseline: longest-path layers, boxes packed left to right in unit order, straight edges.
    Result<GraphLayout> finishNaive() {
        const int nu = static_cast<int>(m_out.nodes.size());
        m_byLayer.assign(m_layerCount, {});
        for (int u = 0; u < nu; ++u) m_byLayer[m_layer[u]].push_back(u);
        m_vWidth.resize(nu);
        for (int u = 0; u < nu; ++u) m_vWidth[u] = m_out.nodes[u].rect.w;
        m_x.assign(nu, 0);
        for (const auto& layer : m_byLayer) {
            float x = m_vWidth.empty() || layer.empty() ? 0 : m_vWidth[layer[0]] * 0.5f;
            for (size_t i = 0; i < layer.size(); ++i) {
                if (i) x += separation(layer[i - 1], layer[i]);
                m_x[layer[i]] = x;
            }
        }
        placeY();
        for (auto& e : m_out.edges) {
            const LayoutNode& a = m_out.nodes[e.from];
            const LayoutNode& b = m_out.nodes[e.to];
            e.points = {{a.rect.centerX(), a.rect.bottom()}, {b.rect.centerX(), b.rect.y}};
        }
        computeBounds();
        return std::move(m_out);
    }

    const Graph& m_g;
    const LayoutOptions& m_opt;
    const Progress* m_progress;
    GraphIndex m_index;
    GraphLayout m_out;

    Adjacency m_down, m_up;  // unit level, oriented
    std::vector<int> m_layer;
    int m_layerCount = 0;

    // Proper layered graph: units then dummies.
    std::vector<int> m_vLayer, m_vKey;
    std::vector<float> m_vWidth;
    std::vector<std::pair<int, int>> m_segments;
    Adjacency m_vDown, m_vUp;
    std::vector<int> m_pathStart, m_pathVerts;  // per edge: vertices from top to bottom
    std::vector<int> m_busStart, m_busEnd;      // per edge: the run of edges sharing its route
    std::vector<std::pair<int, int>> m_chains;  // dummy id ranges [first, last] of one trunk
    std::vector<std::vector<int>> m_byLayer;
    std::vector<int> m_pos;
    std::vector<float> m_x;

    // Scratch for placeLayer.
    std::vector<float> m_target, m_weight, m_offsetSum, m_xs;
    std::vector<int> m_blockStart;
    std::vector<double> m_blockW, m_blockWY;
};

}  // namespace

std::vector<PointF> edgeRoute(const GraphLayout& layout, int e) {
    const LayoutEdge& edge = layout.edges[e];
    if (edge.trunk < 0) return edge.points;
    const auto& trunk = layout.edges[edge.trunk].points;
    std::vector<PointF> out(trunk.begin(), trunk.begin() + std::min<size_t>(edge.trunkPoints, trunk.size()));
    out.insert(out.end(), edge.points.begin() + (edge.points.empty() ? 0 : 1), edge.points.end());
    return out;
}

Result<GraphLayout> layoutGraph(const Graph& graph, const LayoutOptions& options, const Progress* progress) {
    LayoutBuilder b(graph, options, progress);
    return b.run(false);
}

Result<GraphLayout> layoutGraphNaive(const Graph& graph, const LayoutOptions& options) {
    LayoutBuilder b(graph, options, nullptr);
    return b.run(true);
}

}  // namespace by
