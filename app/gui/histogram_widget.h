#pragma once
// A small bar chart of a tensor's value histogram (equal-width bins over [min, max]), drawn with
// QPainter. Counts can be shown on a log scale, which is what makes the long tails of weight
// distributions visible.
#include <QWidget>
#include <cstdint>
#include <vector>

class HistogramWidget : public QWidget {
    Q_OBJECT
public:
    explicit HistogramWidget(QWidget* parent = nullptr);

    void setHistogram(std::vector<int64_t> bins, double min, double max);
    void clear();
    bool hasData() const { return !m_bins.empty(); }
    const std::vector<int64_t>& bins() const { return m_bins; }

    void setLogScale(bool on);
    bool logScale() const { return m_log; }

    QSize sizeHint() const override { return {280, 120}; }
    QSize minimumSizeHint() const override { return {160, 80}; }

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    QRectF plotRect() const;
    int binAt(QPointF pos) const;

    std::vector<int64_t> m_bins;
    double m_min = 0, m_max = 0;
    bool m_log = false;
};
