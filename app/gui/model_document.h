#pragma once
// One open model in the central tabs: a summary header (format, nodes, parameters, weight size,
// inputs and outputs with shapes), a find/fit/collapse toolbar and the graph canvas. The model is
// shared read-only with the canvas's layout worker and the inspector.
#include "engine/graph.h"

#include <QString>
#include <QWidget>
#include <memory>

class GraphCanvas;
class QLabel;
class QLineEdit;
class QToolButton;

class ModelDocument : public QWidget {
    Q_OBJECT
public:
    ModelDocument(std::shared_ptr<const by::Model> model, const QString& path, QWidget* parent = nullptr);

    std::shared_ptr<const by::Model> model() const { return m_model; }
    const QString& path() const { return m_path; }
    QString title() const;
    // The header's plain text, one line per row (for tests and the window title tooltip).
    QString summaryText() const;
    GraphCanvas* canvas() const { return m_canvas; }
    bool isLaidOut() const { return m_laidOut; }
    int selectedNode() const;
    // Selects and centres a node (-1 clears). Before the first layout the request is kept and
    // applied when the layout lands.
    void selectNode(int nodeIndex);

    // Set when the model came from a project, so edits can be recorded against it.
    void setProjectAsset(int64_t assetId) { m_assetId = assetId; }
    int64_t projectAsset() const { return m_assetId; }

    void focusSearch();
    void findNext();
    void findPrevious();
    void fitToView();
    void zoomIn();
    void zoomOut();
    void collapseAllScopes();
    void expandAllScopes();

signals:
    void nodeSelected(int nodeIndex);
    void valueSelected(int valueIndex);
    void statusMessage(const QString& message);
    void layoutProgress(double fraction);
    void layoutFinished(int nodeCount, double seconds);

private:
    QWidget* buildHeader();
    void zoomBy(int steps);

    std::shared_ptr<const by::Model> m_model;
    QString m_path;
    GraphCanvas* m_canvas = nullptr;
    QLabel* m_titleLabel = nullptr;
    QLabel* m_statsLabel = nullptr;
    QLabel* m_ioLabel = nullptr;
    QLineEdit* m_search = nullptr;
    QToolButton* m_collapseButton = nullptr;
    bool m_laidOut = false;
    int m_pendingSelect = -1;
    int64_t m_assetId = 0;
};
