#include "app/gui/confusion_matrix_widget.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <algorithm>

ConfusionMatrixWidget::ConfusionMatrixWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void ConfusionMatrixWidget::setMatrix(std::vector<int64_t> counts, int classes, QStringList names) {
    if (classes <= 0 || counts.size() != size_t(classes) * size_t(classes)) {
        clear();
        return;
    }
    m_counts = std::move(counts);
    m_classes = classes;
    m_names = std::move(names);
    m_rowTotals.assign(size_t(classes), 0);
    for (int t = 0; t < classes; ++t)
        for (int p = 0; p < classes; ++p) m_rowTotals[size_t(t)] += count(t, p);
    update();
}

void ConfusionMatrixWidget::clear() {
    m_counts.clear();
    m_rowTotals.clear();
    m_classes = 0;
    m_names.clear();
    update();
}

QRectF ConfusionMatrixWidget::gridRect() const {
    const QFontMetrics fm(font());
    int label = 0;
    for (const auto& n : m_names) label = std::max(label, fm.horizontalAdvance(n));
    label = std::min(label, 90) + 8;
    const qreal top = fm.height() + 6, left = label;
    const qreal side = std::max<qreal>(10, std::min(width() - left - 6, height() - top - label));
    return {left, top, side, side};
}

void ConfusionMatrixWidget::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    if (!m_classes) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("No classification result yet"));
        return;
    }
    const QRectF g = gridRect();
    const qreal cell = g.width() / m_classes;
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRectF(g.left(), 0, g.width(), g.top() - 2), Qt::AlignCenter, tr("predicted \u2192"));
    for (int t = 0; t < m_classes; ++t) {
        const int64_t total = std::max<int64_t>(1, m_rowTotals[size_t(t)]);
        for (int c = 0; c < m_classes; ++c) {
            const double frac = double(count(t, c)) / double(total);
            // Diagonal in blue, confusions in red, both fading to the base colour at zero.
            const QColor hot = t == c ? QColor(40, 110, 200) : QColor(210, 60, 40);
            const QColor base = palette().color(QPalette::Base);
            const double k = t == c ? frac : std::min(1.0, frac * 4);  // small confusions stay visible
            const QColor col(int(base.red() + (hot.red() - base.red()) * k), int(base.green() + (hot.green() - base.green()) * k),
                             int(base.blue() + (hot.blue() - base.blue()) * k));
            const QRectF r(g.left() + c * cell, g.top() + t * cell, cell, cell);
            p.fillRect(r, col);
            if (cell >= 26) {
                p.setPen(k > 0.55 ? Qt::white : palette().color(QPalette::Text));
                p.drawText(r, Qt::AlignCenter, QString::number(count(t, c)));
            }
        }
    }
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(g);
    p.setPen(palette().color(QPalette::Text));
    if (cell >= QFontMetrics(font()).height()) {
        for (int i = 0; i < m_classes; ++i) {
            const QString name = i < m_names.size() ? m_names[i] : QString::number(i);
            const QFontMetrics fm(font());
            p.drawText(QRectF(0, g.top() + i * cell, g.left() - 4, cell), Qt::AlignRight | Qt::AlignVCenter,
                       fm.elidedText(name, Qt::ElideRight, int(g.left() - 6)));
            p.save();
            p.translate(g.left() + (i + 0.5) * cell, g.bottom() + 4);
            p.rotate(90);
            p.drawText(QRectF(0, -cell / 2, g.left(), cell), Qt::AlignLeft | Qt::AlignVCenter,
                       fm.elidedText(name, Qt::ElideRight, int(g.left() - 6)));
            p.restore();
        }
    }
}

void ConfusionMatrixWidget::mouseMoveEvent(QMouseEvent* e) {
    if (!m_classes) return;
    const QRectF g = gridRect();
    if (!g.contains(e->position())) {
        QToolTip::hideText();
        return;
    }
    const qreal cell = g.width() / m_classes;
    const int c = std::clamp(int((e->position().x() - g.left()) / cell), 0, m_classes - 1);
    const int t = std::clamp(int((e->position().y() - g.top()) / cell), 0, m_classes - 1);
    auto name = [&](int i) { return i < m_names.size() ? m_names[i] : QString::number(i); };
    const int64_t total = m_rowTotals[size_t(t)];
    QToolTip::showText(e->globalPosition().toPoint(),
                       tr("true %1, predicted %2: %3 of %4 (%5%)")
                           .arg(name(t), name(c))
                           .arg(count(t, c))
                           .arg(total)
                           .arg(total ? 100.0 * double(count(t, c)) / double(total) : 0.0, 0, 'f', 1),
                       this);
}
