#pragma once
// The model graph canvas: paints a by::DrawList built by by::GraphView with QPainter, on demand
// only (no repaint loop). Layout runs on a worker thread; setting a new model cancels the old one.
//
// Mouse: drag pans, wheel zooms at the cursor (touchpad scrolling pans, pinch zooms), click
// selects a box or an edge, double-click on a group box expands it and on an op collapses the
// op's innermost scope, hovering shows a tooltip. Keys: arrows pan, +/- zoom, 0 fits,
// F3 / Shift+F3 next / previous search match, Esc clears the selection.
#include <QColor>
#include <QFuture>
#include <QFutureWatcher>
#include <QList>
#include <QPointF>
#include <QString>
#include <QWidget>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace by {
class GraphView;
struct DrawList;
}  // namespace by

class GraphCanvas : public QWidget {
    Q_OBJECT
public:
    explicit GraphCanvas(QWidget* parent = nullptr);
    ~GraphCanvas() override;

    // Starts a background layout of `model` (nullptr clears the canvas). Any running layout is
    // cancelled; layoutFinished fires when the new one is on screen.
    void setModel(std::shared_ptr<const by::Model> model);
    std::shared_ptr<const by::Model> model() const { return m_model; }

    // Case-insensitive substring over op types and node names; jumps to the first match.
    void setSearchText(const QString& text);
    void findNext();
    void findPrevious();
    void fitToView();
    // Index into model->graph.nodes; a node hidden in a collapsed scope centres on its group.
    // Also selects it, without emitting nodeSelected (the caller already knows). Called while a
    // layout runs, it applies when the layout is shown.
    void centerOnNode(int nodeIndex);

    // Scopes (as listed by scopes()) to draw as one group box each; relayouts in the background.
    void setCollapsedScopes(const std::set<std::string>& scopes);
    std::set<std::string> collapsedScopes() const { return m_collapsed; }
    // Every scope path of the current model in tree order, parents before children
    // ("model", "model/layers.0", "model/layers.0/attn", ...). Available right after setModel.
    std::vector<std::string> scopes() const;

    // A colour per graph node of the current model (invalid or transparent: unmarked), drawn as
    // the box's body and border; cleared by setModel. Used by the Compare dock for what changed.
    void setNodeMarks(const std::vector<QColor>& byGraphNode);

    // Programmatic selection (-1 clears); emits nodeSelected when it changes.
    void selectNode(int nodeIndex);
    int selectedNode() const;
    bool isLayoutRunning() const { return m_running; }
    // Pans by screen pixels, as a drag would.
    void panBy(double dx, double dy);
    // Sets the zoom (1 = layout units are pixels), keeping the viewport centre in place.
    void setZoom(double zoom);
    // For tests and tools: the interaction model shown; its layout() is null until one finished.
    const by::GraphView* view() const { return m_view.get(); }

signals:
    void nodeSelected(int nodeIndex);  // index into model->graph.nodes, -1 for none
    void valueSelected(int valueIndex);
    void layoutProgress(double fraction);
    void layoutFinished(int nodeCount, double seconds);  // boxes placed, seconds on the worker
    void statusMessage(const QString& message);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;
    bool event(QEvent* event) override;

private:
    struct LayoutJob;
    void startLayout();
    void onLayoutDone();
    void emitSelection();
    void toggleScopeAt(QPointF pos);
    void zoomAround(QPointF pos, double factor);

    std::unique_ptr<by::DrawList> m_drawList;
    QList<QFuture<void>> m_futures;  // every layout still running, waited for on destruction
    uint64_t m_generation = 0;

    std::shared_ptr<const by::Model> m_model;
    std::set<std::string> m_collapsed;
    std::vector<std::string> m_scopes;
    std::unique_ptr<by::GraphView> m_view;
    std::shared_ptr<LayoutJob> m_job;
    QFutureWatcher<void>* m_watcher = nullptr;
    bool m_running = false;
    bool m_fitPending = true;
    int m_pendingCenterNode = -1;
    double m_lastProgress = -1;
    QString m_search;
    bool m_dragging = false;
    bool m_dragMoved = false;
    QPointF m_dragStart;
    QPointF m_lastPos;
    int m_lastSelectedNode = -1;
    int m_lastSelectedValue = -1;
};
