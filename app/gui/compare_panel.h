#pragma once
// The Compare dock: two variants of the open project side by side. Picking A and B (or clicking
// a point of the Pareto chart, which sets B) starts a job that makes both models available
// (a variant without a file of its own is made again from its parent and recipe) and diffs them
// per layer (engine/variant_diff.h). The dock shows the diff table coloured by what happened to
// each layer, the recorded results of both (size, quality, latency) side by side, the weight
// histograms of the selected layer before and after over one shared range, and the size/quality
// Pareto chart of every variant of A's model. Its Graph tab draws A's or B's graph with every
// node coloured as its layer in the table (removed nodes in A, added ones in B); selecting a row
// centres the graph on the layer and clicking a box selects its row.
#include <QPointer>
#include <QString>
#include <QWidget>
#include <cstdint>
#include <memory>
#include <optional>

#include "engine/variant_diff.h"

class GraphCanvas;
class HistogramWidget;
class JobManager;
class ParetoChart;
class QComboBox;
class QLabel;
class QTabWidget;
class QTableWidget;

namespace by {
class Project;
}

class ComparePanel : public QWidget {
    Q_OBJECT
public:
    enum Column { LayerCol, OpCol, ChangeCol, BeforeCol, AfterCol, ParamsCol, BytesCol, ErrorCol, ZerosCol, ColumnCount };
    static constexpr int ChangeRole = 0x0200;  // the row's LayerChange bits

    explicit ComparePanel(JobManager* jobs, QWidget* parent = nullptr);
    ~ComparePanel() override;

    void setProject(by::Project* project);
    // Re-reads variants and results (after the project changed).
    void refresh();
    // Compares variant `a` with variant `b` (ids of the open project); false when either is not
    // one of its variants.
    bool compare(int64_t a, int64_t b);
    int64_t variantA() const;
    int64_t variantB() const;

    // ---- state, for tests and screenshots ----
    bool isComparing() const { return m_job != 0; }
    const by::ModelDiff* diff() const { return m_diff.get(); }
    QTableWidget* table() const { return m_table; }
    QTableWidget* resultsTable() const { return m_results; }
    ParetoChart* pareto() const { return m_pareto; }
    GraphCanvas* graphCanvas() const { return m_graph; }
    QTabWidget* tabs() const { return m_tabs; }
    // Which variant's graph the Graph tab shows (0: A, 1: B), coloured by what changed.
    void showGraphOf(int side);
    int graphSide() const { return m_graphSide; }
    HistogramWidget* histogramBefore() const { return m_histBefore; }
    HistogramWidget* histogramAfter() const { return m_histAfter; }
    QString messageText() const;
    void selectLayer(int row);

signals:
    void info(const QString& message);
    void errorOccurred(const QString& sentence);

private:
    void fillCombos();
    void fillResults();
    void fillPareto();
    void fillTable();
    void showLayer(int row);
    void startCompare();
    void showMessage(const QString& text, bool error);
    void fillGraph();

    JobManager* m_jobs;
    by::Project* m_project = nullptr;
    QComboBox* m_a = nullptr;
    QComboBox* m_b = nullptr;
    QLabel* m_message = nullptr;
    QTableWidget* m_results = nullptr;
    QTableWidget* m_table = nullptr;
    QLabel* m_layerTitle = nullptr;
    HistogramWidget* m_histBefore = nullptr;
    HistogramWidget* m_histAfter = nullptr;
    ParetoChart* m_pareto = nullptr;
    QTabWidget* m_tabs = nullptr;
    GraphCanvas* m_graph = nullptr;
    QComboBox* m_graphPick = nullptr;
    int m_graphSide = 1;
    bool m_syncing = false;  // a table row and a graph node selecting each other
    std::unique_ptr<by::ModelDiff> m_diff;
    std::shared_ptr<const by::Model> m_models[2];
    int m_job = 0;
    int m_generation = 0;
    bool m_filling = false;
};
