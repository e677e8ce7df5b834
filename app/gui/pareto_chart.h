#pragma once
// Size against quality of every variant of a model, drawn with QPainter: weights on x (log scale
// when they span more than a factor of ten), the quality metric on y. Points on the Pareto front
// (nothing else both smaller and better, cli::paretoFront) are filled and joined by a step line;
// the two variants being compared are ringed. Clicking a point selects that variant.
#include <QString>
#include <QWidget>
#include <cstdint>
#include <vector>

class ParetoChart : public QWidget {
    Q_OBJECT
public:
    struct Point {
        int64_t variantId = 0;
        QString label;
        double sizeBytes = 0;
        double quality = 0;  // a fraction (0.98) for accuracies
    };

    explicit ParetoChart(QWidget* parent = nullptr);

    void setPoints(std::vector<Point> points, const QString& qualityName);
    void setCompared(int64_t a, int64_t b);  // ringed; 0 for none
    const std::vector<Point>& points() const { return m_points; }
    const std::vector<bool>& front() const { return m_front; }
    QString qualityName() const { return m_qualityName; }
    // Where point `i` is drawn, in widget coordinates (for tests and tooltips).
    QPointF pointPosition(size_t i) const;

    QSize sizeHint() const override { return {360, 220}; }
    QSize minimumSizeHint() const override { return {200, 140}; }

signals:
    void variantClicked(int64_t variantId);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    QRectF plotRect() const;
    int pointAt(QPointF pos) const;
    double xOf(double size) const;
    double yOf(double quality) const;

    std::vector<Point> m_points;
    std::vector<bool> m_front;
    QString m_qualityName;
    int64_t m_a = 0, m_b = 0;
    double m_minX = 0, m_maxX = 1, m_minY = 0, m_maxY = 1;
    bool m_logX = false;
};
