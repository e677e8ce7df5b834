#include "app/gui/pareto_chart.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "app/cli/compare_command.h"
#include "app/gui/display_format.h"

ParetoChart::ParetoChart(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setMinimumHeight(160);
}

void ParetoChart::setPoints(std::vector<Point> points, const QString& qualityName) {
    m_points = std::move(points);
    m_qualityName = qualityName;
    std::vector<std::pair<double, double>> sq;
    for (const auto& p : m_points) sq.push_back({p.sizeBytes, p.quality});
    m_front = by::cli::paretoFront(sq);
    if (!m_points.empty()) {
        auto [xl, xh] = std::minmax_element(m_points.begin(), m_points.end(), [](const Point& a, const Point& b) { return a.sizeBytes < b.sizeBytes; });
        auto [yl, yh] = std::minmax_element(m_points.begin(), m_points.end(), [](const Point& a, const Point& b) { return a.quality < b.quality; });
        m_minX = std::max(1.0, xl->sizeBytes);
        m_maxX = std::max(m_minX, xh->sizeBytes);
        m_minY = yl->quality;
        m_maxY = yh->quality;
        m_logX = m_maxX > 10 * m_minX;
        // Room around the extremes so no point sits on the frame.
        const double padY = std::max(1e-3, (m_maxY - m_minY) * 0.12);
        // Accuracies stay within [0, 100%] even with the padding.
        const bool fraction = yh->quality <= 1.0 && yl->quality >= 0.0;
        m_minY -= padY;
        m_maxY += padY;
        if (fraction) {
            m_minY = std::max(0.0, m_minY);
            m_maxY = std::min(1.0, m_maxY);
        }
        if (m_logX) {
            m_minX /= 1.3;
            m_maxX *= 1.3;
        } else {
            const double padX = std::max(1.0, (m_maxX - m_minX) * 0.08);
            m_minX = std::max(0.0, m_minX - padX);
            m_maxX += padX;
        }
    }
    update();
}

void ParetoChart::setCompared(int64_t a, int64_t b) {
    m_a = a;
    m_b = b;
    update();
}

QRectF ParetoChart::plotRect() const {
    const int h = fontMetrics().height();
    return QRectF(8 + fontMetrics().horizontalAdvance(QStringLiteral("100.0%")), 8 + h, width() - 24 - fontMetrics().horizontalAdvance(QStringLiteral("100.0%")),
                  height() - 20 - 3 * h);
}

double ParetoChart::xOf(double size) const {
    const QRectF r = plotRect();
    double t;
    if (m_logX) t = (std::log(std::max(size, 1.0)) - std::log(m_minX)) / (std::log(m_maxX) - std::log(m_minX));
    else t = m_maxX > m_minX ? (size - m_minX) / (m_maxX - m_minX) : 0.5;
    return r.left() + t * r.width();
}

double ParetoChart::yOf(double q) const {
    const QRectF r = plotRect();
    const double t = m_maxY > m_minY ? (q - m_minY) / (m_maxY - m_minY) : 0.5;
    return r.bottom() - t * r.height();
}

QPointF ParetoChart::pointPosition(size_t i) const { return {xOf(m_points[i].sizeBytes), yOf(m_points[i].quality)}; }

int ParetoChart::pointAt(QPointF pos) const {
    int best = -1;
    double bestD = 9 * 9;
    for (size_t i = 0; i < m_points.size(); ++i) {
        const QPointF d = pointPosition(i) - pos;
        const double dd = d.x() * d.x() + d.y() * d.y();
        if (dd <= bestD) {
            best = int(i);
            bestD = dd;
        }
    }
    return best;
}

void ParetoChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    p.setPen(pal.color(QPalette::Mid));
    p.drawRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5));
    const QRectF r = plotRect();
    const int h = fontMetrics().height();
    if (m_points.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("No variant of this model has a recorded quality yet: evaluate variants to chart size against quality."));
        return;
    }
    // Axes and their end labels.
    p.setPen(pal.color(QPalette::Mid));
    p.drawLine(r.bottomLeft(), r.bottomRight());
    p.drawLine(r.bottomLeft(), r.topLeft());
    p.setPen(pal.color(QPalette::Text));
    p.drawText(QRectF(0, r.top() - h / 2.0, r.left() - 4, h), Qt::AlignRight | Qt::AlignVCenter, display::percent(m_maxY));
    p.drawText(QRectF(0, r.bottom() - h / 2.0, r.left() - 4, h), Qt::AlignRight | Qt::AlignVCenter, display::percent(m_minY));
    p.drawText(QRectF(r.left(), r.bottom() + 2, r.width() / 2, h), Qt::AlignLeft, display::bytes(int64_t(m_minX)));
    p.drawText(QRectF(r.center().x(), r.bottom() + 2, r.width() / 2, h), Qt::AlignRight, display::bytes(int64_t(m_maxX)));
    p.drawText(QRectF(r.left(), r.bottom() + 2 + h, r.width(), h), Qt::AlignCenter,
               m_logX ? tr("weights (log scale)") : tr("weights"));
    p.drawText(QRectF(r.left(), 2, r.width(), h), Qt::AlignLeft, m_qualityName);

    // The front as a step line from the smallest to the best.
    std::vector<size_t> front;
    for (size_t i = 0; i < m_points.size(); ++i)
        if (m_front[i]) front.push_back(i);
    std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return m_points[a].sizeBytes < m_points[b].sizeBytes; });
    const QColor frontColour(230, 120, 20);
    if (front.size() > 1) {
        QPainterPath path(pointPosition(front[0]));
        for (size_t k = 1; k < front.size(); ++k) {
            const QPointF q = pointPosition(front[k]);
            path.lineTo(q.x(), path.currentPosition().y());
            path.lineTo(q);
        }
        p.setPen(QPen(frontColour, 1.5, Qt::DashLine));
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
    }
    for (size_t i = 0; i < m_points.size(); ++i) {
        const QPointF c = pointPosition(i);
        if (m_front[i]) {
            p.setPen(QPen(frontColour.darker(130), 1));
            p.setBrush(frontColour);
        } else {
            p.setPen(QPen(pal.color(QPalette::Mid), 1.5));
            p.setBrush(pal.color(QPalette::Base));
        }
        p.drawEllipse(c, 4.5, 4.5);
        const int64_t id = m_points[i].variantId;
        if (id != 0 && (id == m_a || id == m_b)) {
            p.setPen(QPen(pal.color(QPalette::Highlight), 2));
            p.setBrush(Qt::NoBrush);
            p.drawEllipse(c, 8, 8);
            p.setPen(pal.color(QPalette::Text));
            p.drawText(c + QPointF(10, -6), id == m_a ? QStringLiteral("A") : QStringLiteral("B"));
        }
    }
}

void ParetoChart::mousePressEvent(QMouseEvent* event) {
    const int i = pointAt(event->position());
    if (i >= 0) emit variantClicked(m_points[size_t(i)].variantId);
}

void ParetoChart::mouseMoveEvent(QMouseEvent* event) {
    const int i = pointAt(event->position());
    if (i < 0) {
        QToolTip::hideText();
        return;
    }
    const Point& pt = m_points[size_t(i)];
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("%1\n%2 weights, %3 %4%5")
                           .arg(pt.label, display::bytes(int64_t(pt.sizeBytes)), m_qualityName, display::percent(pt.quality),
                                m_front[size_t(i)] ? tr("\non the Pareto front") : QString()),
                       this);
}
