#include "app/gui/graph_canvas.h"

#include <QElapsedTimer>
#include <QFontMetricsF>
#include <QGestureEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QNativeGestureEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPinchGesture>
#include <QToolTip>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <atomic>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "engine/progress.h"
#include "views/graph_layout.h"
#include "views/graph_view.h"

namespace {

QColor toQColor(by::Color c) { return QColor(c.r, c.g, c.b, c.a); }

constexpr double kBodyFontPx = 10.0;  // matches the views' body text size at zoom 1

}  // namespace

struct GraphCanvas::LayoutJob {
    std::shared_ptr<const by::Model> model;
    by::LayoutOptions options;
    by::Progress progress;
    std::optional<by::Result<by::GraphLayout>> result;
    double seconds = 0;
    uint64_t generation = 0;

    explicit LayoutJob(by::Progress::Callback cb) : progress(std::move(cb)) {}
};

GraphCanvas::GraphCanvas(QWidget* parent)
    : QWidget(parent), m_drawList(std::make_unique<by::DrawList>()), m_view(std::make_unique<by::GraphView>()) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(200, 150);
    grabGesture(Qt::PinchGesture);
    m_watcher = new QFutureWatcher<void>(this);
    connect(m_watcher, &QFutureWatcher<void>::finished, this, &GraphCanvas::onLayoutDone);
}

GraphCanvas::~GraphCanvas() {
    if (m_job) m_job->progress.cancel();
    for (auto& f : m_futures) f.waitForFinished();
}

// ------------------------------------------------------------------ model and layout

void GraphCanvas::setModel(std::shared_ptr<const by::Model> model) {
    m_model = std::move(model);
    m_collapsed.clear();
    m_scopes = m_model ? by::scopeTree(m_model->graph).paths() : std::vector<std::string>{};
    m_view->setLayout(nullptr);
    m_view->setNodeMarks({});
    m_view->clearSelection();
    m_fitPending = true;
    m_pendingCenterNode = -1;
    if (m_lastSelectedNode != -1 || m_lastSelectedValue != -1) emitSelection();
    startLayout();
}

std::vector<std::string> GraphCanvas::scopes() const { return m_scopes; }

void GraphCanvas::setCollapsedScopes(const std::set<std::string>& scopes) {
    if (scopes == m_collapsed) return;
    m_collapsed = scopes;
    startLayout();
}

void GraphCanvas::startLayout() {
    if (m_job) m_job->progress.cancel();
    m_job.reset();
    for (qsizetype i = m_futures.size(); i-- > 0;)
        if (m_futures[i].isFinished()) m_futures.removeAt(i);
    const uint64_t generation = ++m_generation;
    if (!m_model) {
        m_running = false;
        update();
        return;
    }
    // Progress arrives on the worker thread; forward it, thinned out, to the UI thread. The
    // destructor waits for every worker, so `this` outlives the callback.
    auto job = std::make_shared<LayoutJob>([this, generation](double f, const std::string&) {
        QMetaObject::invokeMethod(
            this,
            [this, generation, f] {
                if (generation != m_generation || std::abs(f - m_lastProgress) < 0.02) return;
                m_lastProgress = f;
                emit layoutProgress(f);
            },
            Qt::QueuedConnection);
    });
    job->model = m_model;
    job->generation = generation;
    job->options.collapsedScopes = m_collapsed;
    QFont body = font();
    body.setPixelSize(static_cast<int>(kBodyFontPx));
    const QString sample = QStringLiteral("Conv_12 W [64,3,3,3] k 3x3 /model/layers.0");
    // Names are mostly letters and digits, wider than this mixed sample on average.
    job->options.charWidth = static_cast<float>(1.1 * QFontMetricsF(body).horizontalAdvance(sample) / sample.size());
    m_job = job;
    m_lastProgress = -1;
    m_running = true;
    const int nodes = static_cast<int>(m_model->graph.nodes.size());
    emit statusMessage(tr("Laying out %1 nodes\u2026").arg(nodes));
    QFuture<void> future = QtConcurrent::run([job] {
        QElapsedTimer timer;
        timer.start();
        job->result.emplace(by::layoutGraph(job->model->graph, job->options, &job->progress));
        job->seconds = static_cast<double>(timer.nsecsElapsed()) * 1e-9;
    });
    m_futures.push_back(future);
    m_watcher->setFuture(future);
    update();
}

void GraphCanvas::onLayoutDone() {
    if (!m_job || !m_job->result || m_job->generation != m_generation) return;
    auto job = std::move(m_job);
    m_running = false;
    auto& result = *job->result;
    if (!result.ok()) {
        if (result.error().code != by::ErrorCode::Cancelled) emit statusMessage(QString::fromStdString(result.error().what()));
        update();
        return;
    }
    auto layout = std::make_shared<const by::GraphLayout>(std::move(result.value()));
    std::shared_ptr<const by::Graph> graph(job->model, &job->model->graph);
    m_view->setViewportSize(static_cast<float>(width()), static_cast<float>(height()));
    m_view->setLayout(layout, graph);
    m_scopes = layout->scopes.paths();
    if (m_fitPending) {
        m_view->showStart();
        m_fitPending = false;
    }
    if (m_pendingCenterNode >= 0) {
        const int u = layout->layoutNodeOf(m_pendingCenterNode);
        m_view->centerOnLayoutNode(u, false);
        m_view->selectLayoutNode(u);
        m_lastSelectedNode = m_view->selectedGraphNode();
        m_lastSelectedValue = m_view->selectedValue();
        m_pendingCenterNode = -1;
    }
    if (!m_search.isEmpty()) m_view->setSearch(m_search.toStdString());
    emitSelection();
    const int boxes = static_cast<int>(layout->nodes.size());
    emit layoutProgress(1.0);
    emit layoutFinished(boxes, job->seconds);
    emit statusMessage(tr("Laid out %1 boxes in %2 s").arg(boxes).arg(job->seconds, 0, 'f', 2));
    update();
}

// ------------------------------------------------------------------ navigation API

void GraphCanvas::setSearchText(const QString& text) {
    m_search = text;
    const int matches = m_view->setSearch(text.toStdString());
    if (text.isEmpty()) {
        emit statusMessage(QString());
    } else if (matches == 0) {
        emit statusMessage(tr("No match for \u201c%1\u201d").arg(text));
    } else {
        m_view->findNext();
        emitSelection();
        emit statusMessage(tr("%1 matches for \u201c%2\u201d").arg(matches).arg(text));
    }
    update();
}

void GraphCanvas::findNext() {
    if (m_view->findNext() < 0) return;
    emitSelection();
    emit statusMessage(tr("Match %1 of %2").arg(m_view->currentMatch() + 1).arg(m_view->searchMatches().size()));
    update();
}

void GraphCanvas::findPrevious() {
    if (m_view->findPrevious() < 0) return;
    emitSelection();
    emit statusMessage(tr("Match %1 of %2").arg(m_view->currentMatch() + 1).arg(m_view->searchMatches().size()));
    update();
}

void GraphCanvas::fitToView() {
    m_view->fitToView();
    update();
}

void GraphCanvas::centerOnNode(int nodeIndex) {
    const by::GraphLayout* layout = m_view->layout();
    if (!layout || m_running) {
        m_pendingCenterNode = nodeIndex;
        return;
    }
    const int u = layout->layoutNodeOf(nodeIndex);
    if (u < 0) return;
    m_view->centerOnLayoutNode(u);
    m_view->selectLayoutNode(u);
    // Programmatic: remember the selection without echoing it back as a signal.
    m_lastSelectedNode = m_view->selectedGraphNode();
    m_lastSelectedValue = m_view->selectedValue();
    update();
}

void GraphCanvas::setNodeMarks(const std::vector<QColor>& byGraphNode) {
    std::vector<by::Color> marks;
    marks.reserve(byGraphNode.size());
    for (const QColor& c : byGraphNode)
        marks.push_back(c.isValid() ? by::Color{uint8_t(c.red()), uint8_t(c.green()), uint8_t(c.blue()), uint8_t(c.alpha())} : by::Color{0, 0, 0, 0});
    m_view->setNodeMarks(std::move(marks));
    update();
}

void GraphCanvas::selectNode(int nodeIndex) {
    const by::GraphLayout* layout = m_view->layout();
    if (nodeIndex < 0 || !layout) m_view->clearSelection();
    else m_view->selectLayoutNode(layout->layoutNodeOf(nodeIndex));
    emitSelection();
    update();
}

int GraphCanvas::selectedNode() const { return m_view->selectedGraphNode(); }

void GraphCanvas::emitSelection() {
    const int node = m_view->selectedGraphNode();
    const int value = m_view->selectedValue();
    if (node != m_lastSelectedNode) {
        m_lastSelectedNode = node;
        emit nodeSelected(node);
    }
    if (value != m_lastSelectedValue) {
        m_lastSelectedValue = value;
        if (value >= 0 || node < 0) emit valueSelected(value);
    }
}

void GraphCanvas::toggleScopeAt(QPointF pos) {
    const by::GraphLayout* layout = m_view->layout();
    if (!layout || m_running) return;
    const by::HitResult hit = m_view->hitTest({static_cast<float>(pos.x()), static_cast<float>(pos.y())});
    if (hit.kind != by::HitResult::Kind::Node) return;
    const by::LayoutNode& n = layout->nodes[hit.layoutNode];
    std::string scope;
    if (n.kind == by::LayoutNodeKind::Group) {
        scope = layout->scopes.scopes[n.scope].path;
        m_collapsed.erase(scope);
        emit statusMessage(tr("Expanded %1").arg(QString::fromStdString(scope)));
    } else if (n.kind == by::LayoutNodeKind::Op && m_model) {
        scope = by::scopePathOf(m_model->graph.nodes[n.node].name);
        if (scope.empty()) return;
        m_collapsed.insert(scope);
        emit statusMessage(tr("Collapsed %1").arg(QString::fromStdString(scope)));
    } else {
        return;
    }
    m_pendingCenterNode = n.node;
    startLayout();
}

void GraphCanvas::panBy(double dx, double dy) {
    m_view->panBy(static_cast<float>(dx), static_cast<float>(dy));
    update();
}

void GraphCanvas::setZoom(double zoom) {
    if (m_view->zoom() <= 0) return;
    zoomAround(QPointF(width() * 0.5, height() * 0.5), zoom / m_view->zoom());
}

void GraphCanvas::zoomAround(QPointF pos, double factor) {
    m_view->zoomAt({static_cast<float>(pos.x()), static_cast<float>(pos.y())}, static_cast<float>(factor));
    update();
}

// ------------------------------------------------------------------ painting

void GraphCanvas::paintEvent(QPaintEvent*) {
    QPainter p(this);
    m_view->setViewportSize(static_cast<float>(width()), static_cast<float>(height()));
    m_view->buildDrawList(*m_drawList);
    const by::DrawList& dl = *m_drawList;
    p.fillRect(rect(), toQColor(dl.background));
    if (!m_view->layout()) {
        p.setPen(QColor(0x6E, 0x76, 0x83));
        QString text = !m_model ? tr("No model") : (m_running ? tr("Laying out the graph\u2026") : tr("Nothing to show"));
        if (m_running && m_lastProgress >= 0) text += QStringLiteral(" %1%").arg(static_cast<int>(m_lastProgress * 100));
        p.drawText(rect(), Qt::AlignCenter, text);
        return;
    }
    const bool smooth = dl.lod != by::LevelOfDetail::Overview;
    p.setRenderHint(QPainter::Antialiasing, smooth);

    // Edges under boxes.
    QVector<QPointF> pts;
    for (const auto& line : dl.lines) {
        pts.resize(line.count);
        for (uint32_t i = 0; i < line.count; ++i) pts[i] = QPointF(dl.points[line.first + i].x, dl.points[line.first + i].y);
        QPen pen(toQColor(line.color), line.width);
        pen.setJoinStyle(Qt::RoundJoin);
        pen.setCapStyle(Qt::RoundCap);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        p.drawPolyline(pts.constData(), static_cast<int>(pts.size()));
        if (line.arrow && line.count >= 2) {
            const QPointF tip = pts[line.count - 1];
            QPointF dir = tip - pts[line.count - 2];
            const double len = std::hypot(dir.x(), dir.y());
            if (len > 0.01) {
                dir /= len;
                const QPointF normal(-dir.y(), dir.x());
                const double size = 4.0 + line.width * 1.5;
                const QPointF head[3] = {tip, tip - dir * size * 1.6 + normal * size * 0.75, tip - dir * size * 1.6 - normal * size * 0.75};
                p.setPen(Qt::NoPen);
                p.setBrush(toQColor(line.color));
                p.drawPolygon(head, 3);
            }
        }
    }

    for (const auto& r : dl.rects) {
        const QRectF qr(r.rect.x, r.rect.y, r.rect.w, r.rect.h);
        const QColor fill = toQColor(r.fill);
        if (r.radius <= 0.5f || !smooth) {
            if (r.strokeWidth > 0) {
                p.setPen(QPen(toQColor(r.stroke), r.strokeWidth));
                p.setBrush(fill.alpha() ? QBrush(fill) : Qt::NoBrush);
                p.drawRect(qr);
            } else if (fill.alpha()) {
                p.fillRect(qr, fill);
            }
            continue;
        }
        if (r.strokeWidth > 0) p.setPen(QPen(toQColor(r.stroke), r.strokeWidth));
        else p.setPen(Qt::NoPen);
        p.setBrush(fill.alpha() ? QBrush(fill) : Qt::NoBrush);
        p.drawRoundedRect(qr, r.radius, r.radius);
        // Square off the corners that should not be round (title bands round only the top).
        if (r.corners == 0x3 && r.strokeWidth <= 0) {
            p.fillRect(QRectF(qr.x(), qr.y() + r.radius, qr.width(), qr.height() - r.radius), fill);
        }
    }

    // Text last. Fonts and metrics are cached per pixel size and weight.
    struct FontEntry {
        QFont font;
        QFontMetricsF metrics;
    };
    std::unordered_map<int, FontEntry> fonts;
    const QFont base = font();
    for (const auto& t : dl.texts) {
        const int px = std::max(1, static_cast<int>(std::lround(t.size)));
        const int key = px * 2 + (t.bold ? 1 : 0);
        auto it = fonts.find(key);
        if (it == fonts.end()) {
            QFont f = base;
            f.setPixelSize(px);
            f.setBold(t.bold);
            it = fonts.emplace(key, FontEntry{f, QFontMetricsF(f)}).first;
        }
        p.setFont(it->second.font);
        p.setPen(toQColor(t.color));
        QString s = QString::fromUtf8(t.text.data(), static_cast<qsizetype>(t.text.size()));
        const QFontMetricsF& fm = it->second.metrics;
        if (t.maxWidth > 0) s = fm.elidedText(s, Qt::ElideRight, t.maxWidth);
        const double w = fm.horizontalAdvance(s);
        double x = t.pos.x;
        if (t.anchor == by::TextAnchor::Center) x -= w * 0.5;
        else if (t.anchor == by::TextAnchor::Right) x -= w;
        const double baseline = t.pos.y + (fm.ascent() - fm.descent()) * 0.5;
        p.drawText(QPointF(x, baseline), s);
    }
}

void GraphCanvas::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    m_view->setViewportSize(static_cast<float>(width()), static_cast<float>(height()));
    if (m_fitPending && m_view->layout()) m_view->showStart();
}

// ------------------------------------------------------------------ input

void GraphCanvas::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton || event->button() == Qt::MiddleButton) {
        m_dragging = true;
        m_dragMoved = false;
        m_dragStart = event->position();
        m_lastPos = event->position();
        QToolTip::hideText();
    }
    QWidget::mousePressEvent(event);
}

void GraphCanvas::mouseMoveEvent(QMouseEvent* event) {
    const QPointF pos = event->position();
    if (m_dragging) {
        if (!m_dragMoved && (pos - m_dragStart).manhattanLength() > 3) {
            m_dragMoved = true;
            setCursor(Qt::ClosedHandCursor);
        }
        if (m_dragMoved) {
            m_view->panBy(static_cast<float>(pos.x() - m_lastPos.x()), static_cast<float>(pos.y() - m_lastPos.y()));
            m_lastPos = pos;
            update();
        }
        return;
    }
    const by::HitResult hit = m_view->hitTest({static_cast<float>(pos.x()), static_cast<float>(pos.y())});
    if (m_view->setHover(hit)) {
        const std::string tip = m_view->tooltip(hit);
        if (tip.empty()) QToolTip::hideText();
        else QToolTip::showText(event->globalPosition().toPoint(), QString::fromStdString(tip), this);
        update();
    }
}

void GraphCanvas::mouseReleaseEvent(QMouseEvent* event) {
    if (!m_dragging) return;
    m_dragging = false;
    unsetCursor();
    if (!m_dragMoved && event->button() == Qt::LeftButton) {
        const QPointF pos = event->position();
        m_view->select(m_view->hitTest({static_cast<float>(pos.x()), static_cast<float>(pos.y())}));
        emitSelection();
        update();
    }
}

void GraphCanvas::mouseDoubleClickEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) toggleScopeAt(event->position());
}

void GraphCanvas::wheelEvent(QWheelEvent* event) {
    const QPoint pixels = event->pixelDelta();
    if (!pixels.isNull() && !(event->modifiers() & Qt::ControlModifier)) {
        // Touchpads scroll in pixels: pan, and zoom with Ctrl (or pinch).
        m_view->panBy(static_cast<float>(pixels.x()), static_cast<float>(pixels.y()));
        update();
    } else {
        const double steps = event->angleDelta().y() / 120.0;
        if (steps != 0) zoomAround(event->position(), std::pow(1.2, steps));
    }
    event->accept();
}

void GraphCanvas::keyPressEvent(QKeyEvent* event) {
    const float step = 80.0f;
    const QPointF center(width() * 0.5, height() * 0.5);
    switch (event->key()) {
    case Qt::Key_Left: m_view->panBy(step, 0); break;
    case Qt::Key_Right: m_view->panBy(-step, 0); break;
    case Qt::Key_Up: m_view->panBy(0, step); break;
    case Qt::Key_Down: m_view->panBy(0, -step); break;
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomAround(center, 1.25); return;
    case Qt::Key_Minus: zoomAround(center, 1 / 1.25); return;
    case Qt::Key_0: fitToView(); return;
    case Qt::Key_F3:
        if (event->modifiers() & Qt::ShiftModifier) findPrevious();
        else findNext();
        return;
    case Qt::Key_Escape:
        m_view->clearSelection();
        emitSelection();
        break;
    default: QWidget::keyPressEvent(event); return;
    }
    update();
}

void GraphCanvas::leaveEvent(QEvent* event) {
    if (m_view->setHover({})) update();
    QWidget::leaveEvent(event);
}

bool GraphCanvas::event(QEvent* event) {
    if (event->type() == QEvent::Gesture) {
        auto* ge = static_cast<QGestureEvent*>(event);
        if (auto* pinch = static_cast<QPinchGesture*>(ge->gesture(Qt::PinchGesture))) {
            if (pinch->changeFlags() & QPinchGesture::ScaleFactorChanged)
                zoomAround(mapFromGlobal(pinch->centerPoint().toPoint()), pinch->scaleFactor());
            return true;
        }
    } else if (event->type() == QEvent::NativeGesture) {
        auto* ng = static_cast<QNativeGestureEvent*>(event);
        if (ng->gestureType() == Qt::ZoomNativeGesture) {
            zoomAround(ng->position(), 1.0 + ng->value());
            return true;
        }
    }
    return QWidget::event(event);
}
