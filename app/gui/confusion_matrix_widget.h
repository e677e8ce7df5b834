#pragma once
// A confusion matrix as a heat map (rows: true class, columns: predicted), row-normalised so each
// class's recall reads along the diagonal whatever its sample count. Hovering a cell shows the
// counts; class names label the axes when there is room.
#include <QStringList>
#include <QWidget>
#include <cstdint>
#include <vector>

class ConfusionMatrixWidget : public QWidget {
    Q_OBJECT
public:
    explicit ConfusionMatrixWidget(QWidget* parent = nullptr);

    // counts: classes x classes, row-major.
    void setMatrix(std::vector<int64_t> counts, int classes, QStringList names);
    void clear();
    bool hasData() const { return m_classes > 0; }
    int classes() const { return m_classes; }
    int64_t count(int truth, int predicted) const { return m_counts[size_t(truth * m_classes + predicted)]; }

    QSize sizeHint() const override { return {320, 320}; }
    QSize minimumSizeHint() const override { return {160, 160}; }

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    QRectF gridRect() const;
    std::vector<int64_t> m_counts;
    std::vector<int64_t> m_rowTotals;
    int m_classes = 0;
    QStringList m_names;
};
