#include "app/gui/histogram_widget.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <algorithm>
#include <cmath>

namespace {
QString compactNumber(double v) {
    if (v == 0) return QStringLiteral("0");
    const double a = std::abs(v);
    if (a >= 1e4 || a < 1e-3) return QString::number(v, 'e', 1);
    return QString::number(v, 'g', 3);
}
} // namespace

HistogramWidget::HistogramWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setMinimumHeight(110);
    setToolTip(tr("Double-click to switch between linear and log counts"));
}

void HistogramWidget::setHistogram(std::vector<int64_t> bins, double min, double max) {
    m_bins = std::move(bins);
    m_min = min;
    m_max = max;
    update();
}

void HistogramWidget::clear() {
    m_bins.clear();
    update();
}

void HistogramWidget::setLogScale(bool on) {
    if (m_log == on) return;
    m_log = on;
    update();
}

QRectF HistogramWidget::plotRect() const {
    const int labelH = fontMetrics().height() + 4;
    return QRectF(6, 6, width() - 12, height() - 12 - labelH);
}

int HistogramWidget::binAt(QPointF pos) const {
    const QRectF r = plotRect();
    if (m_bins.empty() || !r.contains(pos)) return -1;
    const int i = static_cast<int>((pos.x() - r.left()) / r.width() * m_bins.size());
    return std::clamp(i, 0, static_cast<int>(m_bins.size()) - 1);
}

void HistogramWidget::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    p.setPen(pal.color(QPalette::Mid));
    p.drawRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5));

    const QRectF r = plotRect();
    if (m_bins.empty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("Computing histogram..."));
        return;
    }

    const int64_t peak = *std::max_element(m_bins.begin(), m_bins.end());
    auto heightOf = [&](int64_t c) -> double {
        if (c <= 0 || peak <= 0) return 0.0;
        if (m_log) return std::log1p(double(c)) / std::log1p(double(peak));
        return double(c) / double(peak);
    };

    // Grid lines at quarters keep the shape readable without axis numbers.
    p.setPen(QPen(pal.color(QPalette::Midlight), 1, Qt::DotLine));
    for (int q = 1; q < 4; ++q) {
        const double y = r.bottom() - r.height() * q / 4.0;
        p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y));
    }

    const double bw = r.width() / m_bins.size();
    const QColor fill(0x3d, 0x7e, 0xd8);
    QLinearGradient grad(r.topLeft(), r.bottomLeft());
    grad.setColorAt(0, fill.lighter(115));
    grad.setColorAt(1, fill.darker(110));
    p.setPen(Qt::NoPen);
    p.setBrush(grad);
    for (size_t i = 0; i < m_bins.size(); ++i) {
        const double h = heightOf(m_bins[i]) * r.height();
        if (h <= 0) continue;
        // Very thin bins would vanish: give every non-empty bin at least one pixel.
        const double hh = std::max(h, 1.0);
        p.drawRect(QRectF(r.left() + i * bw, r.bottom() - hh, std::max(bw - (bw > 3 ? 1.0 : 0.0), 0.8), hh));
    }

    // Where zero falls, when it is inside the range: the usual centre of weight distributions.
    if (m_min < 0 && m_max > 0) {
        const double x = r.left() + (0 - m_min) / (m_max - m_min) * r.width();
        p.setPen(QPen(QColor(0xd0, 0x50, 0x30), 1, Qt::DashLine));
        p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));
    }

    p.setPen(pal.color(QPalette::Text));
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.9);
    p.setFont(f);
    const QRectF labels(r.left(), r.bottom() + 2, r.width(), height() - r.bottom() - 2);
    p.drawText(labels, Qt::AlignLeft | Qt::AlignVCenter, compactNumber(m_min));
    p.drawText(labels, Qt::AlignRight | Qt::AlignVCenter, compactNumber(m_max));
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(labels, Qt::AlignHCenter | Qt::AlignVCenter, m_log ? tr("log count") : tr("count"));
}

void HistogramWidget::mouseDoubleClickEvent(QMouseEvent*) {
    setLogScale(!m_log);
}

void HistogramWidget::mouseMoveEvent(QMouseEvent* event) {
    const int i = binAt(event->position());
    if (i < 0) return;
    const double w = (m_max - m_min) / m_bins.size();
    const double lo = m_min + i * w;
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("[%1, %2): %3 values").arg(compactNumber(lo), compactNumber(lo + w)).arg(m_bins[i]),
                       this);
}
