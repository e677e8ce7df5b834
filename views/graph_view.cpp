#include "views/graph_view.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "views/graph_labels.h"

namespace by {

namespace {

constexpr Color rgb(uint32_t hex, uint8_t a = 255) {
    return Color{static_cast<uint8_t>(hex >> 16), static_cast<uint8_t>(hex >> 8), static_cast<uint8_t>(hex), a};
}

Color darker(Color c, float f = 0.72f) {
    return Color{static_cast<uint8_t>(c.r * f), static_cast<uint8_t>(c.g * f), static_cast<uint8_t>(c.b * f), c.a};
}

Color mix(Color a, Color b, float t) {
    auto m = [&](uint8_t x, uint8_t y) { return static_cast<uint8_t>(x + (y - x) * t + 0.5f); };
    return Color{m(a.r, b.r), m(a.g, b.g), m(a.b, b.b), 255};
}

const Color kBackground = rgb(0xF4F5F7);
const Color kBody = rgb(0xFFFFFF);
const Color kTitleText = rgb(0xFFFFFF);
const Color kSubtitleText = rgb(0x23272E);
const Color kLineText = rgb(0x5B6270);
const Color kEdge = rgb(0x8C95A3);
const Color kEdgeLabel = rgb(0x6E7683);
const Color kSelect = rgb(0xE8452C);
const Color kHover = rgb(0x2F7BE0);
const Color kMatch = rgb(0xF5B301);

// World-unit font sizes; the layout's line height (14 by default) leaves room for them.
constexpr float kTitleFont = 11.5f;
constexpr float kBodyFont = 10.0f;
constexpr float kEdgeFont = 9.0f;
constexpr float kFullZoom = 0.7f;
constexpr float kBoxesZoom = 0.35f;
constexpr float kMinTitlePx = 6.0f;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

float segmentDistance(PointF p, PointF a, PointF b) {
    const float dx = b.x - a.x, dy = b.y - a.y;
    const float len2 = dx * dx + dy * dy;
    float t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0f;
    t = std::clamp(t, 0.0f, 1.0f);
    const float qx = a.x + t * dx - p.x, qy = a.y + t * dy - p.y;
    return std::sqrt(qx * qx + qy * qy);
}

}  // namespace

Color categoryColor(OpCategory c) {
    switch (c) {
    case OpCategory::Conv: return rgb(0x3A78D4);
    case OpCategory::MatMul: return rgb(0x7A4CC6);
    case OpCategory::Norm: return rgb(0x2E9965);
    case OpCategory::Activation: return rgb(0xE07B27);
    case OpCategory::Elementwise: return rgb(0x5F7388);
    case OpCategory::Shape: return rgb(0x8E969F);
    case OpCategory::Pooling: return rgb(0x1E9FB2);
    case OpCategory::Attention: return rgb(0xD1436A);
    case OpCategory::Quantize: return rgb(0xB08F12);
    case OpCategory::ControlFlow: return rgb(0x9B5330);
    case OpCategory::Other: return rgb(0xA2A7AE);
    case OpCategory::Input: return rgb(0x39424E);
    case OpCategory::Output: return rgb(0x39424E);
    case OpCategory::Group: return rgb(0x4F6D8F);
    case OpCategory::Count: break;
    }
    return rgb(0xA2A7AE);
}

void DrawList::clear() {
    rects.clear();
    points.clear();
    lines.clear();
    texts.clear();
    visibleNodes = 0;
    visibleEdges = 0;
}

GraphView::GraphView() = default;
GraphView::~GraphView() = default;

void GraphView::setLayout(std::shared_ptr<const GraphLayout> layout, std::shared_ptr<const Graph> graph) {
    const int selectedGraph = selectedGraphNode();
    const int selectedVal = selectedValue();
    m_layout = std::move(layout);
    m_graph = std::move(graph);
    m_selNode = m_selEdge = m_hoverNode = m_hoverEdge = -1;
    buildIndex();
    if (!m_layout) return;
    if (selectedGraph >= 0) {
        m_selNode = m_layout->layoutNodeOf(selectedGraph);
    } else if (selectedVal >= 0) {
        for (size_t e = 0; e < m_layout->edges.size(); ++e)
            if (m_layout->edges[e].value == selectedVal) {
                m_selEdge = static_cast<int>(e);
                break;
            }
    }
    setSearch(m_lastSearch);
    buildLayoutMarks();
}

void GraphView::setNodeMarks(std::vector<Color> byGraphNode) {
    m_nodeMarks = std::move(byGraphNode);
    buildLayoutMarks();
}

void GraphView::buildLayoutMarks() {
    m_layoutMarks.clear();
    if (!m_layout || m_nodeMarks.empty()) return;
    m_layoutMarks.assign(m_layout->nodes.size(), Color{0, 0, 0, 0});
    for (size_t n = 0; n < m_nodeMarks.size(); ++n) {
        if (m_nodeMarks[n].a == 0) continue;
        const int u = m_layout->layoutNodeOf(static_cast<int>(n));
        if (u >= 0 && u < static_cast<int>(m_layoutMarks.size()) && m_layoutMarks[size_t(u)].a == 0) m_layoutMarks[size_t(u)] = m_nodeMarks[n];
    }
}

Color GraphView::layoutNodeMark(int layoutNode) const {
    if (layoutNode < 0 || layoutNode >= static_cast<int>(m_layoutMarks.size())) return Color{0, 0, 0, 0};
    return m_layoutMarks[size_t(layoutNode)];
}

// ------------------------------------------------------------------ spatial index

void GraphView::buildIndex() {
    m_cellStart.clear();
    m_cellItems.clear();
    m_edgeBounds.clear();
    m_gridW = m_gridH = 0;
    if (!m_layout) return;
    const auto& nodes = m_layout->nodes;
    const auto& edges = m_layout->edges;
    const RectF b = m_layout->bounds;
    const size_t items = nodes.size() + edges.size();
    const float area = std::max(1.0f, b.w * b.h);
    m_cellSize = std::clamp(std::sqrt(area / std::max<float>(1.0f, static_cast<float>(nodes.size()) / 4.0f)), 128.0f, 4096.0f);
    m_gridX = b.x - 1;
    m_gridY = b.y - 1;
    m_gridW = std::max(1, static_cast<int>(std::ceil((b.w + 2) / m_cellSize)));
    m_gridH = std::max(1, static_cast<int>(std::ceil((b.h + 2) / m_cellSize)));
    // Keep the table bounded for extreme aspect ratios.
    while (static_cast<int64_t>(m_gridW) * m_gridH > 4'000'000) {
        m_cellSize *= 2;
        m_gridW = std::max(1, static_cast<int>(std::ceil((b.w + 2) / m_cellSize)));
        m_gridH = std::max(1, static_cast<int>(std::ceil((b.h + 2) / m_cellSize)));
    }
    m_edgeBounds.resize(edges.size());
    for (size_t e = 0; e < edges.size(); ++e) {
        float x0 = std::numeric_limits<float>::max(), y0 = x0, x1 = -x0, y1 = -x0;
        for (const auto& p : edges[e].points) {
            x0 = std::min(x0, p.x), y0 = std::min(y0, p.y);
            x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
        }
        m_edgeBounds[e] = edges[e].points.empty() ? RectF{} : RectF{x0, y0, x1 - x0, y1 - y0};
    }
    const size_t cells = static_cast<size_t>(m_gridW) * m_gridH;
    m_cellStart.assign(cells + 1, 0);
    // Two passes (count, fill) over the same enumeration.
    auto enumerate = [&](auto&& put) {
        for (size_t n = 0; n < nodes.size(); ++n)
            forEachCell(nodes[n].rect, [&](size_t c) { put(c, static_cast<uint32_t>(n)); });
        for (size_t e = 0; e < edges.size(); ++e) {
            const auto& pts = edges[e].points;
            const auto id = static_cast<uint32_t>(nodes.size() + e);
            size_t lastCell = std::numeric_limits<size_t>::max();
            for (size_t i = 0; i + 1 < pts.size(); ++i) {
                const RectF seg{std::min(pts[i].x, pts[i + 1].x), std::min(pts[i].y, pts[i + 1].y),
                                std::abs(pts[i + 1].x - pts[i].x), std::abs(pts[i + 1].y - pts[i].y)};
                forEachCell(seg, [&](size_t c) {
                    if (c != lastCell) put(c, id);
                    lastCell = c;
                });
            }
        }
    };
    enumerate([&](size_t c, uint32_t) { ++m_cellStart[c + 1]; });
    for (size_t c = 0; c < cells; ++c) m_cellStart[c + 1] += m_cellStart[c];
    m_cellItems.resize(m_cellStart[cells]);
    std::vector<uint32_t> fill(m_cellStart.begin(), m_cellStart.end() - 1);
    enumerate([&](size_t c, uint32_t id) { m_cellItems[fill[c]++] = id; });
    m_stamp.assign(items, 0);
    m_stampValue = 0;
}

template <class F>
void GraphView::forEachCell(const RectF& r, F&& f) const {
    if (m_gridW == 0) return;
    const int cx0 = std::clamp(static_cast<int>((r.x - m_gridX) / m_cellSize), 0, m_gridW - 1);
    const int cy0 = std::clamp(static_cast<int>((r.y - m_gridY) / m_cellSize), 0, m_gridH - 1);
    const int cx1 = std::clamp(static_cast<int>((r.right() - m_gridX) / m_cellSize), 0, m_gridW - 1);
    const int cy1 = std::clamp(static_cast<int>((r.bottom() - m_gridY) / m_cellSize), 0, m_gridH - 1);
    for (int cy = cy0; cy <= cy1; ++cy)
        for (int cx = cx0; cx <= cx1; ++cx) f(static_cast<size_t>(cy) * m_gridW + cx);
}

template <class F>
void GraphView::query(const RectF& r, F&& f) const {
    if (!m_layout || m_gridW == 0) return;
    if (++m_stampValue == 0) {
        std::fill(m_stamp.begin(), m_stamp.end(), 0);
        m_stampValue = 1;
    }
    forEachCell(r, [&](size_t c) {
        for (uint32_t i = m_cellStart[c]; i < m_cellStart[c + 1]; ++i) {
            const uint32_t id = m_cellItems[i];
            if (m_stamp[id] == m_stampValue) continue;
            m_stamp[id] = m_stampValue;
            f(id);
        }
    });
}

// ------------------------------------------------------------------ transform

void GraphView::setViewportSize(float width, float height) {
    m_viewW = std::max(1.0f, width);
    m_viewH = std::max(1.0f, height);
}

void GraphView::setTransform(float zoom, PointF offset) {
    m_zoom = std::clamp(zoom, minZoom(), maxZoom());
    m_offset = offset;
}

RectF GraphView::visibleWorldRect() const {
    const PointF a = screenToWorld({0, 0});
    return RectF{a.x, a.y, m_viewW / m_zoom, m_viewH / m_zoom};
}

void GraphView::panBy(float dx, float dy) {
    m_offset.x += dx;
    m_offset.y += dy;
}

void GraphView::zoomAt(PointF s, float factor) {
    const PointF w = screenToWorld(s);
    m_zoom = std::clamp(m_zoom * factor, minZoom(), maxZoom());
    m_offset = {s.x - w.x * m_zoom, s.y - w.y * m_zoom};
}

float GraphView::fitZoom() const {
    if (!m_layout || m_layout->nodes.empty()) return 1.0f;
    const RectF b = m_layout->bounds;
    const float margin = 24.0f;
    const float zx = (m_viewW - 2 * margin) / std::max(1.0f, b.w);
    const float zy = (m_viewH - 2 * margin) / std::max(1.0f, b.h);
    return std::max(1e-5f, std::min({zx, zy, 1.5f}));
}

float GraphView::minZoom() const { return std::min(0.05f, fitZoom() * 0.5f); }

void GraphView::fitToView() {
    if (!m_layout || m_layout->nodes.empty()) {
        m_zoom = 1.0f;
        m_offset = {0, 0};
        return;
    }
    const RectF b = m_layout->bounds;
    m_zoom = fitZoom();
    m_offset = {m_viewW * 0.5f - b.centerX() * m_zoom, m_viewH * 0.5f - b.centerY() * m_zoom};
}

void GraphView::showStart() {
    fitToView();
    if (!m_layout || m_layout->nodes.empty() || m_zoom >= kFullZoom) return;
    const RectF b = m_layout->bounds;
    m_zoom = 1.0f;
    // Centre horizontally on the boxes of the top band (the inputs and first ops), not on the
    // whole graph, whose width is set by side branches further down.
    const float band = b.y + m_viewH / m_zoom;
    float lo = b.right(), hi = b.x;
    for (const auto& n : m_layout->nodes)
        if (n.rect.y <= band) {
            lo = std::min(lo, n.rect.x);
            hi = std::max(hi, n.rect.right());
        }
    const float cx = hi > lo ? 0.5f * (lo + hi) : b.centerX();
    const float margin = 24.0f;
    m_offset = {m_viewW * 0.5f - cx * m_zoom, margin - b.y * m_zoom};
}

void GraphView::centerOnLayoutNode(int n, bool ensureReadable) {
    if (!m_layout || n < 0 || n >= static_cast<int>(m_layout->nodes.size())) return;
    if (ensureReadable && m_zoom < kFullZoom) m_zoom = 1.0f;
    const RectF& r = m_layout->nodes[n].rect;
    m_offset = {m_viewW * 0.5f - r.centerX() * m_zoom, m_viewH * 0.5f - r.centerY() * m_zoom};
}

// ------------------------------------------------------------------ selection, hover

void GraphView::select(const HitResult& hit) {
    m_selNode = hit.kind == HitResult::Kind::Node ? hit.layoutNode : -1;
    m_selEdge = hit.kind == HitResult::Kind::Edge ? hit.edge : -1;
}

void GraphView::selectLayoutNode(int n) {
    m_selEdge = -1;
    m_selNode = (m_layout && n >= 0 && n < static_cast<int>(m_layout->nodes.size())) ? n : -1;
}

void GraphView::clearSelection() { m_selNode = m_selEdge = -1; }

int GraphView::selectedGraphNode() const {
    if (!m_layout || m_selNode < 0) return -1;
    const LayoutNode& n = m_layout->nodes[m_selNode];
    return n.kind == LayoutNodeKind::Op ? n.node : -1;
}

int GraphView::selectedValue() const {
    if (!m_layout) return -1;
    if (m_selEdge >= 0) return m_layout->edges[m_selEdge].value;
    if (m_selNode >= 0) return m_layout->nodes[m_selNode].value;
    return -1;
}

bool GraphView::setHover(const HitResult& hit) {
    const int n = hit.kind == HitResult::Kind::Node ? hit.layoutNode : -1;
    const int e = hit.kind == HitResult::Kind::Edge ? hit.edge : -1;
    if (n == m_hoverNode && e == m_hoverEdge) return false;
    m_hoverNode = n;
    m_hoverEdge = e;
    return true;
}

// ------------------------------------------------------------------ hit testing

float GraphView::edgeDistance(int e, PointF w) const {
    const auto& pts = m_layout->edges[e].points;
    float best = std::numeric_limits<float>::max();
    for (size_t i = 0; i + 1 < pts.size(); ++i) best = std::min(best, segmentDistance(w, pts[i], pts[i + 1]));
    return best;
}

HitResult GraphView::hitTest(PointF s, float tolerancePx) const {
    HitResult hit;
    if (!m_layout) return hit;
    const PointF w = screenToWorld(s);
    const auto nodeCount = static_cast<uint32_t>(m_layout->nodes.size());
    const float tol = tolerancePx / m_zoom;
    float bestEdge = tol;
    query(RectF{w.x - tol, w.y - tol, 2 * tol, 2 * tol}, [&](uint32_t id) {
        if (id < nodeCount) {
            // Boxes smaller than a few pixels are drawn as dots of that size: hit them as such.
            RectF r = m_layout->nodes[id].rect;
            const float minSide = 4.0f / m_zoom;
            if (r.w < minSide) r = RectF{r.centerX() - minSide / 2, r.y, minSide, r.h};
            if (r.h < minSide) r = RectF{r.x, r.centerY() - minSide / 2, r.w, minSide};
            if (r.contains(w)) {
                hit.kind = HitResult::Kind::Node;
                hit.layoutNode = static_cast<int>(id);
            }
            return;
        }
        const int e = static_cast<int>(id - nodeCount);
        if (hit.kind == HitResult::Kind::Node || !m_edgeBounds[e].intersects(RectF{w.x - tol, w.y - tol, 2 * tol, 2 * tol}))
            return;
        const float d = edgeDistance(e, w);
        if (d <= bestEdge) {
            bestEdge = d;
            hit.kind = HitResult::Kind::Edge;
            hit.edge = e;
        }
    });
    if (hit.kind == HitResult::Kind::Node) {
        hit.edge = -1;
        const LayoutNode& n = m_layout->nodes[hit.layoutNode];
        hit.graphNode = n.node;
        hit.value = n.value;
    } else if (hit.kind == HitResult::Kind::Edge) {
        hit.value = m_layout->edges[hit.edge].value;
    }
    return hit;
}

// ------------------------------------------------------------------ search

int GraphView::setSearch(const std::string& text) {
    m_lastSearch = text;
    m_matches.clear();
    m_currentMatch = -1;
    if (!m_layout) return 0;
    m_isMatch.assign(m_layout->nodes.size(), 0);
    if (text.empty()) return 0;
    const std::string needle = lower(text);
    auto matches = [&](std::string_view hay) { return !hay.empty() && lower(hay).find(needle) != std::string::npos; };
    if (m_graph) {
        for (size_t n = 0; n < m_graph->nodes.size(); ++n) {
            const int u = m_layout->layoutNodeOf(static_cast<int>(n));
            if (u < 0 || m_isMatch[u]) continue;
            const Node& node = m_graph->nodes[n];
            if (matches(node.opType) || matches(node.name)) m_isMatch[u] = 1;
        }
    }
    for (size_t u = 0; u < m_layout->nodes.size(); ++u) {
        const LayoutNode& n = m_layout->nodes[u];
        if (!m_isMatch[u] && (matches(n.title) || (n.kind != LayoutNodeKind::Op && matches(n.subtitle)) ||
                              (!m_graph && matches(n.subtitle))))
            m_isMatch[u] = 1;
    }
    for (const auto& layer : m_layout->layers)
        for (int u : layer)
            if (m_isMatch[u]) m_matches.push_back(u);
    return static_cast<int>(m_matches.size());
}

int GraphView::findNext() {
    if (m_matches.empty()) return -1;
    m_currentMatch = (m_currentMatch + 1) % static_cast<int>(m_matches.size());
    selectLayoutNode(m_matches[m_currentMatch]);
    centerOnLayoutNode(m_matches[m_currentMatch]);
    return m_matches[m_currentMatch];
}

int GraphView::findPrevious() {
    if (m_matches.empty()) return -1;
    const int n = static_cast<int>(m_matches.size());
    m_currentMatch = m_currentMatch < 0 ? n - 1 : (m_currentMatch + n - 1) % n;
    selectLayoutNode(m_matches[m_currentMatch]);
    centerOnLayoutNode(m_matches[m_currentMatch]);
    return m_matches[m_currentMatch];
}

// ------------------------------------------------------------------ drawing

LevelOfDetail GraphView::levelOfDetail() const {
    if (m_zoom >= kFullZoom) return LevelOfDetail::Full;
    if (m_zoom >= kBoxesZoom) return LevelOfDetail::Boxes;
    return LevelOfDetail::Overview;
}

RectF GraphView::toScreen(const RectF& r) const {
    return RectF{r.x * m_zoom + m_offset.x, r.y * m_zoom + m_offset.y, r.w * m_zoom, r.h * m_zoom};
}

void GraphView::emitNode(DrawList& out, int u, LevelOfDetail lod) const {
    const LayoutNode& n = m_layout->nodes[u];
    const RectF r = toScreen(n.rect);
    const Color cat = categoryColor(n.category);
    const bool selected = u == m_selNode;
    const bool hovered = u == m_hoverNode;
    const bool match = !m_isMatch.empty() && m_isMatch[u];
    const Color mark = layoutNodeMark(u);
    const bool marked = mark.a != 0;
    Color stroke = darker(cat);
    float strokeWidth = 1.0f;
    if (marked) stroke = darker(mark, 0.55f), strokeWidth = 3.0f;
    if (match) stroke = kMatch, strokeWidth = 3.0f;
    if (hovered) stroke = kHover, strokeWidth = 2.0f;
    if (selected) stroke = kSelect, strokeWidth = 3.0f;
    ++out.visibleNodes;

    if (lod == LevelOfDetail::Overview) {
        // Sub-pixel boxes would vanish: grow them to a visible dot, and draw one per 2x2 px cell.
        RectF q = r;
        if (q.w < 2 || q.h < 2) {
            const int cx = static_cast<int>(r.centerX() * 0.5f), cy = static_cast<int>(r.centerY() * 0.5f);
            if (cx >= 0 && cy >= 0 && cx < m_binW && cy < m_binH) {
                uint8_t& bin = m_bins[static_cast<size_t>(cy) * m_binW + cx];
                if (bin && !selected && !match && !marked) return;
                bin = 1;
            }
            q = RectF{r.centerX() - 1.5f, r.centerY() - 1.5f, 3, 3};
        }
        const bool emphasised = selected || match;
        out.rects.push_back(DrawRect{q, emphasised ? stroke : (marked ? darker(mark, 0.8f) : cat), stroke, emphasised ? 2.0f : 0.0f, 0.0f, 0xF});
        return;
    }

    const float radius = std::max(1.0f, 4.0f * m_zoom);
    const float titleH = m_layout->titleHeight * m_zoom;
    if (n.kind == LayoutNodeKind::Group) {
        // A second box peeking out behind says "more inside".
        const float d = std::max(2.0f, 4.0f * m_zoom);
        out.rects.push_back(DrawRect{RectF{r.x + d, r.y + d, r.w, r.h}, rgb(0xDCE3EC), darker(cat), 1.0f, radius, 0xF});
    }
    const bool hasBody = r.h > titleH + 0.5f;
    // Without body text a white body reads as a hole: tint it instead.
    const Color body = marked ? mark : lod == LevelOfDetail::Full ? kBody : mix(cat, kBody, 0.82f);
    if (hasBody) out.rects.push_back(DrawRect{r, body, stroke, strokeWidth, radius, 0xF});
    out.rects.push_back(DrawRect{RectF{r.x, r.y, r.w, hasBody ? titleH : r.h}, cat, hasBody ? cat : stroke,
                                 hasBody ? 0.0f : strokeWidth, radius, static_cast<uint8_t>(hasBody ? 0x3 : 0xF)});
    if (hasBody && strokeWidth > 1.0f) {
        // Keep the highlight visible over the title band.
        out.rects.push_back(DrawRect{r, Color{0, 0, 0, 0}, stroke, strokeWidth, radius, 0xF});
    }

    const float pad = m_layout->padding * m_zoom;
    // Zoomed out, the title grows to fill its band so the op type stays readable a while longer.
    const float titlePx = lod == LevelOfDetail::Full ? kTitleFont * m_zoom : std::max(kTitleFont * m_zoom, titleH * 0.78f);
    if (titlePx < kMinTitlePx) return;
    out.texts.push_back(DrawText{PointF{r.centerX(), r.y + titleH * 0.5f}, n.title, titlePx, kTitleText,
                                 TextAnchor::Center, true, r.w - pad});
    if (lod != LevelOfDetail::Full) return;
    const float lineH = m_layout->lineHeight * m_zoom;
    float y = r.y + titleH + pad * 0.5f + lineH * 0.5f;
    const float bodyPx = kBodyFont * m_zoom;
    if (!n.subtitle.empty()) {
        out.texts.push_back(DrawText{PointF{r.x + pad, y}, n.subtitle, bodyPx, kSubtitleText, TextAnchor::Left, false,
                                     r.w - 2 * pad});
        y += lineH;
    }
    for (const auto& line : n.lines) {
        out.texts.push_back(DrawText{PointF{r.x + pad, y}, line, bodyPx, kLineText, TextAnchor::Left, false, r.w - 2 * pad});
        y += lineH;
    }
}

void GraphView::emitEdge(DrawList& out, int e, LevelOfDetail lod, const RectF& view) const {
    const LayoutEdge& edge = m_layout->edges[e];
    if (edge.points.size() < 2) return;
    const bool selected = e == m_selEdge;
    const bool hovered = e == m_hoverEdge;
    const Color color = selected ? kSelect : (hovered ? kHover : kEdge);
    const float width = selected || hovered ? 2.5f : std::clamp(1.3f * std::sqrt(m_zoom), 0.8f, 1.6f);
    auto& sink = (selected || hovered) ? m_lateLines : out.lines;
    DrawPolyline line;
    line.color = color;
    line.width = width;
    const bool overview = lod == LevelOfDetail::Overview;
    if (overview && !selected && !hovered) {
        // Edges shorter than a box at this zoom add nothing the boxes do not show.
        const RectF& b = m_edgeBounds[e];
        if ((b.w + b.h) * m_zoom < 3.0f) return;
    }
    // Zoomed out, bends closer than a couple of pixels merge so routes become a few straight strokes.
    const float minStep = overview ? 2.5f : 0.0f;
    // Long routes (a bus down a deep graph) have thousands of points: emit only the runs of
    // segments that touch the view.
    auto emitRoute = [&](const std::vector<PointF>& pts, size_t from, size_t to, bool arrowAtEnd) {
        size_t i = from;
        while (i + 1 < to) {
            auto segVisible = [&](size_t k) {
                const PointF a = pts[k], b = pts[k + 1];
                return RectF{std::min(a.x, b.x), std::min(a.y, b.y), std::abs(b.x - a.x), std::abs(b.y - a.y)}.intersects(view);
            };
            if (!segVisible(i)) {
                ++i;
                continue;
            }
            line.first = static_cast<uint32_t>(out.points.size());
            out.points.push_back(worldToScreen(pts[i]));
            while (i + 1 < to && segVisible(i)) {
                const PointF p = worldToScreen(pts[++i]);
                const PointF& last = out.points.back();
                const bool runEnds = i + 1 >= to || !segVisible(i);
                if (minStep > 0 && !runEnds && std::abs(p.x - last.x) + std::abs(p.y - last.y) < minStep) continue;
                out.points.push_back(p);
            }
            line.count = static_cast<uint32_t>(out.points.size()) - line.first;
            line.arrow = arrowAtEnd && lod == LevelOfDetail::Full && i + 1 == to;
            sink.push_back(line);
        }
    };
    if ((selected || hovered) && edge.trunk >= 0) {
        const auto& trunk = m_layout->edges[edge.trunk].points;
        emitRoute(trunk, 0, std::min<size_t>(edge.trunkPoints, trunk.size()), false);
    }
    emitRoute(edge.points, 0, edge.points.size(), true);
    ++out.visibleEdges;
    if (lod == LevelOfDetail::Full && edge.labelled && edge.trunk < 0 && view.contains(edge.points.front())) {
        const PointF p = worldToScreen(edge.points.front());
        out.texts.push_back(DrawText{PointF{p.x + 4.0f, p.y + 7.0f * m_zoom}, edge.label, kEdgeFont * m_zoom, kEdgeLabel,
                                     TextAnchor::Left, false, 0.0f});
    }
}

void GraphView::buildDrawList(DrawList& out) const {
    out.clear();
    out.background = kBackground;
    out.lod = levelOfDetail();
    if (!m_layout) return;
    const LevelOfDetail lod = out.lod;
    if (lod == LevelOfDetail::Overview) {
        m_binW = static_cast<int>(m_viewW * 0.5f) + 1;
        m_binH = static_cast<int>(m_viewH * 0.5f) + 1;
        m_bins.assign(static_cast<size_t>(m_binW) * m_binH, 0);
    }
    m_lateLines.clear();
    // Margin so that strokes and arrow heads of items just outside are not cut.
    const float margin = 8.0f / m_zoom;
    RectF view = visibleWorldRect();
    view = RectF{view.x - margin, view.y - margin, view.w + 2 * margin, view.h + 2 * margin};
    const auto nodeCount = static_cast<uint32_t>(m_layout->nodes.size());
    m_visibleNodes.clear();
    query(view, [&](uint32_t id) {
        if (id < nodeCount) {
            if (m_layout->nodes[id].rect.intersects(view)) m_visibleNodes.push_back(static_cast<int>(id));
            return;
        }
        const int e = static_cast<int>(id - nodeCount);
        if (m_edgeBounds[e].intersects(view)) emitEdge(out, e, lod, view);
    });
    out.lines.insert(out.lines.end(), m_lateLines.begin(), m_lateLines.end());
    // Draw in a stable order (layout order) so repaints do not shuffle overlapping strokes.
    std::sort(m_visibleNodes.begin(), m_visibleNodes.end());
    for (int u : m_visibleNodes)
        if (u != m_selNode) emitNode(out, u, lod);
    if (m_selNode >= 0 && m_layout->nodes[m_selNode].rect.intersects(view)) emitNode(out, m_selNode, lod);
}

// ------------------------------------------------------------------ tooltip

std::string GraphView::tooltip(const HitResult& hit) const {
    if (!m_layout) return {};
    auto valueLine = [&](int v) {
        if (!m_graph || v < 0 || v >= static_cast<int>(m_graph->values.size())) return std::string("?");
        const Value& val = m_graph->values[v];
        std::string s = val.name.empty() ? "(unnamed)" : val.name;
        std::string shape = shapeLabel(val);
        if (val.dtype != DType::Undefined) s += std::string(" ") + dtypeName(val.dtype);
        if (!shape.empty()) s += " " + shape;
        if (val.data) s += " (constant)";
        return s;
    };
    if (hit.kind == HitResult::Kind::Edge) {
        const LayoutEdge& e = m_layout->edges[hit.edge];
        std::string s = valueLine(e.value);
        s += "\n" + m_layout->nodes[e.from].title + " \xE2\x86\x92 " + m_layout->nodes[e.to].title;
        return s;
    }
    if (hit.kind != HitResult::Kind::Node) return {};
    const LayoutNode& n = m_layout->nodes[hit.layoutNode];
    std::string s;
    switch (n.kind) {
    case LayoutNodeKind::Group:
        s = "Scope " + n.subtitle + "\n" + std::to_string(n.opCount) + " ops, " + formatCount(n.params) +
            " parameters\nDouble-click to expand";
        return s;
    case LayoutNodeKind::Input: return "Graph input\n" + valueLine(n.value);
    case LayoutNodeKind::Output: return "Graph output\n" + valueLine(n.value);
    case LayoutNodeKind::Constant: return "Constant\n" + valueLine(n.value);
    case LayoutNodeKind::Op: break;
    }
    if (!m_graph || n.node < 0 || n.node >= static_cast<int>(m_graph->nodes.size())) return n.title + "\n" + n.subtitle;
    const Node& node = m_graph->nodes[n.node];
    s = node.opType + (node.domain.empty() ? "" : " (" + node.domain + ")") + "  " + node.name;
    s += "\ncategory: " + std::string(opCategoryName(n.category));
    for (size_t i = 0; i < node.inputs.size(); ++i)
        if (node.inputs[i] >= 0) s += "\nin  " + inputRoleName(node.opType, i) + ": " + valueLine(node.inputs[i]);
    for (int v : node.outputs)
        if (v >= 0) s += "\nout " + valueLine(v);
    size_t shown = 0;
    for (const auto& [key, attr] : node.attributes) {
        if (++shown > 12) {
            s += "\n...";
            break;
        }
        s += "\n" + key + " = " + attr.toString(8);
    }
    if (n.params) s += "\nparameters: " + formatCount(n.params);
    return s;
}

}  // namespace by
