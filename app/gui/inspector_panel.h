#pragma once
// The right dock: what is selected in the current model. With no selection it shows the model
// itself (format, producer, opsets, operator counts, metadata); for a node its op type, name,
// domain, attributes and inputs/outputs; for every input that carries weights a card with shape,
// dtype, size, statistics and a histogram. Statistics of large tensors are computed on a worker
// thread and cached per model, so clicking around a big model never stalls the window.
#include "engine/graph.h"
#include "engine/tensor.h"

#include <QPointer>
#include <QScrollArea>
#include <QString>
#include <map>
#include <memory>
#include <set>
#include <vector>

class HistogramWidget;
class QLabel;
class QVBoxLayout;
class QWidget;

class InspectorPanel : public QScrollArea {
    Q_OBJECT
public:
    explicit InspectorPanel(QWidget* parent = nullptr);
    ~InspectorPanel() override;

    // The model whose selections will be shown (nullptr: nothing open). Shows its overview.
    void setModel(std::shared_ptr<const by::Model> model);
    const by::Model* model() const { return m_model.get(); }

    void showOverview();
    void showNode(int nodeIndex);   // index into model->graph.nodes; -1 shows the overview
    void showValue(int valueIndex); // index into model->graph.values

    int shownNode() const { return m_node; }
    int shownValue() const { return m_value; }
    // The op type heading of the node shown ("" when none).
    QString shownOpType() const;
    QList<HistogramWidget*> histograms() const;
    // Statistics still being computed for the current selection.
    int pendingStats() const { return m_pending; }

    // Tensors with more elements than this get their statistics on a worker thread.
    static constexpr int64_t kSyncStatsLimit = 1 << 16;
    static constexpr int kHistogramBins = 64;
    static constexpr int kMaxWeightCards = 8;

signals:
    void statsReady();

private:
    struct WeightCard;
    void resetContent();
    QWidget* addSection(const QString& title);
    void addWeightCard(int valueIndex);
    void applyStats(WeightCard& card, const by::Result<by::TensorStats>& stats);

    std::shared_ptr<const by::Model> m_model;
    QWidget* m_content = nullptr;
    QVBoxLayout* m_layout = nullptr;
    QLabel* m_title = nullptr;
    int m_node = -1;
    int m_value = -1;
    int m_generation = 0;
    int m_pending = 0;
    std::vector<std::unique_ptr<WeightCard>> m_cards;
    // value index -> statistics, valid for m_model only.
    std::map<int, std::shared_ptr<const by::Result<by::TensorStats>>> m_statsCache;
    std::set<int> m_inFlight;
};
