#pragma once
// The interaction model of the graph canvas, free of any toolkit: a layout, a viewport and its
// transform (pan, zoom at cursor, fit, centre on node), selection, hover, search, hit testing, and
// a DrawList of plain shapes in screen pixels for the visible region only. A uniform grid over
// the layout keeps hit tests and DrawList building proportional to what is on screen.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "views/graph_layout.h"

namespace by {

struct Color {
    uint8_t r = 0, g = 0, b = 0, a = 255;
    bool operator==(const Color&) const = default;
};

enum class TextAnchor { Left, Center, Right };

struct DrawRect {
    RectF rect;  // screen pixels
    Color fill;
    Color stroke;
    float strokeWidth = 1.0f;  // 0: no outline
    float radius = 0.0f;
    uint8_t corners = 0xF;  // rounded corners: 1 top-left, 2 top-right, 4 bottom-right, 8 bottom-left
};

// A polyline is DrawList::points[first, first + count).
struct DrawPolyline {
    uint32_t first = 0;
    uint32_t count = 0;
    Color color;
    float width = 1.0f;
    bool arrow = false;  // arrow head at the last point
};

// Text vertically centred on `pos`; `anchor` says which horizontal side `pos` is on.
struct DrawText {
    PointF pos;
    std::string text;
    float size = 11.0f;  // pixel size
    Color color;
    TextAnchor anchor = TextAnchor::Left;
    bool bold = false;
    float maxWidth = 0.0f;  // elide beyond this many pixels; 0 = no limit
};

enum class LevelOfDetail {
    Overview,  // boxes only (binned to pixels when tiny), straight edges, no text
    Boxes,     // boxes with titles, routed edges
    Full,      // everything: attributes, weights, shapes on edges, arrow heads
};

struct DrawList {
    Color background;
    std::vector<DrawRect> rects;  // painted first, in order
    std::vector<PointF> points;
    std::vector<DrawPolyline> lines;  // painted before rects (edges under boxes)
    std::vector<DrawText> texts;      // painted last
    LevelOfDetail lod = LevelOfDetail::Full;
    int visibleNodes = 0;
    int visibleEdges = 0;
    void clear();
};

struct HitResult {
    enum class Kind { None, Node, Edge };
    Kind kind = Kind::None;
    int layoutNode = -1;
    int edge = -1;        // layout edge
    int graphNode = -1;   // for Op nodes; first member for groups
    int value = -1;       // for edges and input/output boxes
};

Color categoryColor(OpCategory c);

class GraphView {
public:
    GraphView();
    ~GraphView();
    GraphView(const GraphView&) = delete;
    GraphView& operator=(const GraphView&) = delete;

    // Takes the layout (and optionally the graph it was made from, for tooltips); keeps the
    // transform, clears hover and maps the selection by graph node where possible.
    void setLayout(std::shared_ptr<const GraphLayout> layout, std::shared_ptr<const Graph> graph = nullptr);
    const GraphLayout* layout() const { return m_layout.get(); }
    const Graph* graph() const { return m_graph.get(); }

    // --- viewport and transform: screen = world * zoom + offset
    void setViewportSize(float width, float height);
    float viewportWidth() const { return m_viewW; }
    float viewportHeight() const { return m_viewH; }
    float zoom() const { return m_zoom; }
    PointF offset() const { return m_offset; }
    void setTransform(float zoom, PointF offset);
    PointF worldToScreen(PointF w) const { return {w.x * m_zoom + m_offset.x, w.y * m_zoom + m_offset.y}; }
    PointF screenToWorld(PointF s) const { return {(s.x - m_offset.x) / m_zoom, (s.y - m_offset.y) / m_zoom}; }
    RectF visibleWorldRect() const;

    void panBy(float dx, float dy);  // screen pixels
    // Multiplies the zoom by `factor`, keeping the world point under `screenPos` in place.
    void zoomAt(PointF screenPos, float factor);
    // Whole layout visible with a margin; zoom capped at 1.5 so small graphs are not huge.
    void fitToView();
    // The first view of a new layout: the whole graph when it fits at a zoom where boxes keep
    // their labels; otherwise the graph's entry (its top) at a readable zoom, since a long
    // chain fitted whole is only a thin line.
    void showStart();
    // Puts the node's centre in the middle of the viewport; raises the zoom to readable if needed.
    void centerOnLayoutNode(int layoutNode, bool ensureReadable = true);
    float minZoom() const;
    float maxZoom() const { return 8.0f; }

    // --- selection and hover (layout node / edge indices, -1 for none)
    void select(const HitResult& hit);
    void selectLayoutNode(int layoutNode);
    void clearSelection();
    int selectedLayoutNode() const { return m_selNode; }
    int selectedEdge() const { return m_selEdge; }
    int selectedGraphNode() const;   // -1 unless an Op box is selected
    int selectedValue() const;       // value of the selected edge or input/output box, else -1
    // Returns true when the hover changed (the canvas then repaints).
    bool setHover(const HitResult& hit);
    int hoveredLayoutNode() const { return m_hoverNode; }
    int hoveredEdge() const { return m_hoverEdge; }

    // --- hit testing, in screen pixels; nodes win over edges
    HitResult hitTest(PointF screenPos, float edgeTolerancePx = 4.0f) const;

    // --- search: case-insensitive substring over op types and node names (and group scopes)
    // Returns how many layout nodes match, in layout order (top to bottom, left to right).
    int setSearch(const std::string& text);
    const std::string& searchText() const { return m_lastSearch; }
    const std::vector<int>& searchMatches() const { return m_matches; }  // layout nodes
    int currentMatch() const { return m_currentMatch; }                  // index into matches, -1 none
    // Moves to the next/previous match (wrapping), selects and centres it; returns its layout node.
    int findNext();
    int findPrevious();

    // --- marks: a colour per graph node (alpha 0: none), e.g. what a compression changed. A
    // marked box gets a body of that colour and a thick border of a darker one; a group box takes
    // the mark of its first marked member. Kept across layouts of the same graph.
    void setNodeMarks(std::vector<Color> byGraphNode);
    Color layoutNodeMark(int layoutNode) const;  // alpha 0 when unmarked

    // --- drawing
    LevelOfDetail levelOfDetail() const;
    void buildDrawList(DrawList& out) const;
    // A few lines describing a node or edge for a tooltip; empty when nothing is hit.
    std::string tooltip(const HitResult& hit) const;

private:
    void buildIndex();
    template <class F>
    void forEachCell(const RectF& r, F&& f) const;
    // Calls f(item) once for every node (id < nodes) and edge (id - nodes) in cells touching r.
    template <class F>
    void query(const RectF& r, F&& f) const;
    float fitZoom() const;
    RectF toScreen(const RectF& r) const;
    void emitNode(DrawList& out, int n, LevelOfDetail lod) const;
    void emitEdge(DrawList& out, int e, LevelOfDetail lod, const RectF& view) const;
    float edgeDistance(int e, PointF world) const;

    std::shared_ptr<const GraphLayout> m_layout;
    std::shared_ptr<const Graph> m_graph;
    float m_viewW = 800, m_viewH = 600;
    float m_zoom = 1.0f;
    PointF m_offset;
    int m_selNode = -1, m_selEdge = -1;
    int m_hoverNode = -1, m_hoverEdge = -1;
    std::string m_lastSearch;
    std::vector<int> m_matches;
    std::vector<uint8_t> m_isMatch;
    std::vector<Color> m_nodeMarks;    // per graph node
    std::vector<Color> m_layoutMarks;  // per layout node, derived from m_nodeMarks
    void buildLayoutMarks();
    int m_currentMatch = -1;

    // Spatial grid: cell -> [begin, end) in m_cellItems; items are node indices, or the node
    // count + edge indices.
    float m_cellSize = 256.0f;
    float m_gridX = 0, m_gridY = 0;
    int m_gridW = 0, m_gridH = 0;
    std::vector<uint32_t> m_cellStart;
    std::vector<uint32_t> m_cellItems;
    mutable std::vector<uint32_t> m_stamp;  // per item, for de-duplication in queries
    mutable uint32_t m_stampValue = 0;
    std::vector<RectF> m_edgeBounds;

    // Scratch reused by buildDrawList (the view is used from one thread).
    mutable std::vector<int> m_visibleNodes;
    mutable std::vector<DrawPolyline> m_lateLines;
    mutable std::vector<uint8_t> m_bins;
    mutable int m_binW = 0, m_binH = 0;
};

}  // namespace by
