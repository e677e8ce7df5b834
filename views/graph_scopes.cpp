// Scope paths from node names, and the scope tree the graph view collapses and expands.
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "views/graph_labels.h"
#include "views/graph_layout.h"

namespace by {

namespace {

bool allDigits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Splits one '/'-free part on '.', gluing an all-digit piece to the piece before it, so that
// "model.layers.3.attn" gives {"model", "layers.3", "attn"}.
void splitDotted(std::string_view part, std::vector<std::string>& out) {
    size_t start = 0;
    while (start <= part.size()) {
        size_t dot = part.find('.', start);
        if (dot == std::string_view::npos) dot = part.size();
        std::string_view piece = part.substr(start, dot - start);
        if (!piece.empty()) {
            if (allDigits(piece) && !out.empty() && !allDigits(out.back())) {
                out.back() += '.';
                out.back() += piece;
            } else {
                out.emplace_back(piece);
            }
        }
        start = dot + 1;
    }
}

}  // namespace

std::vector<std::string> scopeComponents(std::string_view name) {
    // TFLite tensor names list fused ops after ';': the first one names the scope.
    if (size_t semi = name.find(';'); semi != std::string_view::npos) name = name.substr(0, semi);
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= name.size()) {
        size_t slash = name.find('/', start);
        if (slash == std::string_view::npos) slash = name.size();
        if (slash > start) parts.push_back(name.substr(start, slash - start));
        start = slash + 1;
    }
    std::vector<std::string> out;
    if (parts.size() >= 2) {
        for (size_t i = 0; i + 1 < parts.size(); ++i) splitDotted(parts[i], out);
        return out;
    }
    if (parts.size() == 1) {
        splitDotted(parts[0], out);
        if (!out.empty()) out.pop_back();  // the op's own name
    }
    return out;
}

std::string scopePathOf(std::string_view nodeName) {
    std::string path;
    for (const auto& c : scopeComponents(nodeName)) {
        if (!path.empty()) path += '/';
        path += c;
    }
    return path;
}

int ScopeTree::find(std::string_view path) const {
    for (size_t i = 0; i < scopes.size(); ++i)
        if (scopes[i].path == path) return static_cast<int>(i);
    return -1;
}

std::vector<std::string> ScopeTree::paths() const {
    std::vector<std::string> out;
    if (scopes.empty()) return out;
    out.reserve(scopes.size());
    std::vector<int> stack(scopes[0].children.rbegin(), scopes[0].children.rend());
    while (!stack.empty()) {
        const int s = stack.back();
        stack.pop_back();
        out.push_back(scopes[s].path);
        for (auto it = scopes[s].children.rbegin(); it != scopes[s].children.rend(); ++it) stack.push_back(*it);
    }
    return out;
}

// Builds the tree and returns, per node, its innermost scope (0 = root).
std::vector<int> buildScopeTree(const Graph& graph, const GraphIndex& index, ScopeTree& tree) {
    tree.scopes.clear();
    tree.scopes.push_back(ScopeInfo{});
    std::unordered_map<std::string, int> byPath;
    std::vector<int> scopeOfNode(graph.nodes.size(), 0);
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
        int cur = 0;
        std::string path;
        for (auto& comp : scopeComponents(graph.nodes[n].name)) {
            if (!path.empty()) path += '/';
            path += comp;
            auto [it, inserted] = byPath.emplace(path, 0);
            if (inserted) {
                ScopeInfo s;
                s.path = path;
                s.name = std::move(comp);
                s.parent = cur;
                s.depth = tree.scopes[cur].depth + 1;
                it->second = static_cast<int>(tree.scopes.size());
                tree.scopes[cur].children.push_back(it->second);
                tree.scopes.push_back(std::move(s));
            }
            cur = it->second;
        }
        scopeOfNode[n] = cur;
        if (!index.constantOp[n]) ++tree.scopes[cur].opCount;
    }
    // Children come after parents, so one backwards pass sums counts upwards.
    for (size_t s = tree.scopes.size(); s-- > 1;) tree.scopes[tree.scopes[s].parent].opCount += tree.scopes[s].opCount;

    // Parameters: a constant counts once in every scope that holds at least one of its consumers.
    std::vector<int> stamp(tree.scopes.size(), -1);
    for (size_t v = 0; v < graph.values.size(); ++v) {
        const Tensor* t = index.constant[v];
        if (!t || t->dtype() == DType::String) continue;
        const int64_t numel = std::max<int64_t>(0, t->numel());
        for (int i = index.consumerStart[v]; i < index.consumerStart[v + 1]; ++i) {
            for (int s = scopeOfNode[index.consumers[i]]; s >= 0 && stamp[s] != static_cast<int>(v);
                 s = tree.scopes[s].parent) {
                stamp[s] = static_cast<int>(v);
                tree.scopes[s].params += numel;
            }
        }
    }
    return scopeOfNode;
}

ScopeTree scopeTree(const Graph& graph) {
    ScopeTree tree;
    GraphIndex index(graph);
    buildScopeTree(graph, index, tree);
    return tree;
}

}  // namespace by
