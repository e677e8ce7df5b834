#include "app/gui/model_document.h"

#include "app/gui/display_format.h"
#include "app/gui/graph_canvas.h"

#include <QAction>
#include <QApplication>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>
#include <set>
#include <utility>

namespace {
QString joinSignatures(const by::Graph& g, const std::vector<int>& ids, int limit) {
    QStringList parts;
    for (int id : ids) {
        if (id < 0 || id >= int(g.values.size())) continue;
        if (parts.size() == limit) {
            parts << QObject::tr("+%1 more").arg(int(ids.size()) - limit);
            break;
        }
        parts << display::valueSignature(g.values[id]);
    }
    return parts.isEmpty() ? QObject::tr("none") : parts.join(QStringLiteral(";  "));
}

QToolButton* toolButton(QWidget* parent, const QString& text, const QString& tip,
                        QStyle::StandardPixmap icon = QStyle::SP_CustomBase) {
    auto* b = new QToolButton(parent);
    b->setText(text);
    b->setToolTip(tip);
    b->setAutoRaise(true);
    if (icon != QStyle::SP_CustomBase) {
        b->setIcon(parent->style()->standardIcon(icon));
        b->setToolButtonStyle(Qt::ToolButtonIconOnly);
    } else {
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
    }
    return b;
}
} // namespace

ModelDocument::ModelDocument(std::shared_ptr<const by::Model> model, const QString& path, QWidget* parent)
    : QWidget(parent), m_model(std::move(model)), m_path(path) {
    setObjectName(QStringLiteral("modelDocument"));
    m_canvas = new GraphCanvas(this);
    m_canvas->setObjectName(QStringLiteral("graphCanvas"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(buildHeader());
    auto* line = new QFrame(this);
    line->setFrameShape(QFrame::HLine);
    line->setFrameShadow(QFrame::Plain);
    line->setForegroundRole(QPalette::Mid);
    layout->addWidget(line);
    layout->addWidget(m_canvas, 1);

    connect(m_canvas, &GraphCanvas::nodeSelected, this, &ModelDocument::nodeSelected);
    connect(m_canvas, &GraphCanvas::valueSelected, this, &ModelDocument::valueSelected);
    connect(m_canvas, &GraphCanvas::statusMessage, this, &ModelDocument::statusMessage);
    connect(m_canvas, &GraphCanvas::layoutProgress, this, &ModelDocument::layoutProgress);
    connect(m_canvas, &GraphCanvas::layoutFinished, this, [this](int nodes, double seconds) {
        m_laidOut = true;
        m_collapseButton->setEnabled(!m_canvas->scopes().empty());
        if (m_pendingSelect >= 0) {
            const int node = std::exchange(m_pendingSelect, -1);
            m_canvas->selectNode(node);
            m_canvas->centerOnNode(node);
        }
        emit layoutFinished(nodes, seconds);
    });
    m_canvas->setModel(m_model);
}

QWidget* ModelDocument::buildHeader() {
    auto* header = new QWidget(this);
    header->setObjectName(QStringLiteral("documentHeader"));
    header->setAutoFillBackground(true);
    QPalette pal = header->palette();
    pal.setColor(QPalette::Window, pal.color(QPalette::Base));
    header->setPalette(pal);

    const by::Model& m = *m_model;
    const by::ModelSummary s = by::summarize(m);

    m_titleLabel = new QLabel(header);
    m_titleLabel->setObjectName(QStringLiteral("documentTitle"));
    QFont tf = m_titleLabel->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.25);
    tf.setBold(true);
    m_titleLabel->setFont(tf);
    m_titleLabel->setText(title());
    m_titleLabel->setToolTip(m_path);

    m_statsLabel = new QLabel(header);
    m_statsLabel->setObjectName(QStringLiteral("documentStats"));
    m_statsLabel->setText(tr("%1  ·  %2 nodes  ·  %3 parameters  ·  %4 weights")
                              .arg(display::formatName(m.format), display::count(s.nodes),
                                   display::compactCount(s.parameters), display::bytes(s.weightBytes)));
    m_statsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Clipped rather than widening the window when the tab is narrow.
    m_statsLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_statsLabel->setMinimumWidth(40);

    m_ioLabel = new QLabel(header);
    m_ioLabel->setObjectName(QStringLiteral("documentIo"));
    m_ioLabel->setTextFormat(Qt::PlainText);
    m_ioLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_ioLabel->setText(
        tr("Inputs: %1\nOutputs: %2")
            .arg(joinSignatures(m.graph, m.graph.inputs, 4), joinSignatures(m.graph, m.graph.outputs, 4)));
    m_ioLabel->setForegroundRole(QPalette::PlaceholderText);
    // Long symbolic shapes are clipped on a narrow tab; the full text is in the tooltip.
    m_ioLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
    m_ioLabel->setToolTip(m_ioLabel->text());

    m_search = new QLineEdit(header);
    m_search->setObjectName(QStringLiteral("documentSearch"));
    m_search->setPlaceholderText(tr("Find op type or node name"));
    m_search->setClearButtonEnabled(true);
    m_search->setMinimumWidth(150);
    m_search->setMaximumWidth(280);
    connect(m_search, &QLineEdit::textChanged, m_canvas, &GraphCanvas::setSearchText);
    connect(m_search, &QLineEdit::returnPressed, this, [this]() {
        if (QApplication::keyboardModifiers() & Qt::ShiftModifier)
            findPrevious();
        else
            findNext();
    });
    auto* escape = new QAction(m_search);
    escape->setShortcut(Qt::Key_Escape);
    escape->setShortcutContext(Qt::WidgetShortcut);
    connect(escape, &QAction::triggered, this, [this]() {
        m_search->clear();
        m_canvas->setFocus();
    });
    m_search->addAction(escape);

    auto* prev = toolButton(header, tr("Previous"), tr("Previous match (Shift+F3)"), QStyle::SP_ArrowUp);
    auto* next = toolButton(header, tr("Next"), tr("Next match (F3)"), QStyle::SP_ArrowDown);
    auto* fit = toolButton(header, tr("Fit"), tr("Fit the whole graph in view (Ctrl+0)"));
    m_collapseButton = toolButton(header, tr("Collapse"), tr("Collapse every scope into one box"));
    auto* expand = toolButton(header, tr("Expand"), tr("Expand every scope"));
    m_collapseButton->setEnabled(false);
    connect(prev, &QToolButton::clicked, this, &ModelDocument::findPrevious);
    connect(next, &QToolButton::clicked, this, &ModelDocument::findNext);
    connect(fit, &QToolButton::clicked, this, &ModelDocument::fitToView);
    connect(m_collapseButton, &QToolButton::clicked, this, &ModelDocument::collapseAllScopes);
    connect(expand, &QToolButton::clicked, this, &ModelDocument::expandAllScopes);

    // Title and figures get the full width; the find/fit tools sit beside the inputs and
    // outputs, which are the first thing to give way (clipped, full text in the tooltip).
    auto* titleRow = new QHBoxLayout;
    titleRow->setSpacing(12);
    titleRow->addWidget(m_titleLabel);
    titleRow->addWidget(m_statsLabel, 1, Qt::AlignBottom);

    auto* tools = new QHBoxLayout;
    tools->setSpacing(4);
    tools->addWidget(m_search);
    tools->addWidget(prev);
    tools->addWidget(next);
    auto* sep = new QFrame(header);
    sep->setFrameShape(QFrame::VLine);
    sep->setForegroundRole(QPalette::Mid);
    tools->addWidget(sep);
    tools->addWidget(fit);
    tools->addWidget(m_collapseButton);
    tools->addWidget(expand);

    auto* lower = new QHBoxLayout;
    lower->setSpacing(12);
    lower->addWidget(m_ioLabel, 1);
    lower->addLayout(tools);

    auto* v = new QVBoxLayout(header);
    v->setContentsMargins(10, 6, 8, 6);
    v->setSpacing(4);
    v->addLayout(titleRow);
    v->addLayout(lower);
    return header;
}

QString ModelDocument::title() const {
    if (!m_path.isEmpty()) return QFileInfo(m_path).fileName();
    return m_model->name.empty() ? tr("Untitled model") : QString::fromStdString(m_model->name);
}

QString ModelDocument::summaryText() const {
    return m_titleLabel->text() + QLatin1Char('\n') + m_statsLabel->text() + QLatin1Char('\n') +
           m_ioLabel->text();
}

int ModelDocument::selectedNode() const {
    return m_laidOut ? m_canvas->selectedNode() : m_pendingSelect;
}

void ModelDocument::selectNode(int nodeIndex) {
    if (!m_laidOut) {
        m_pendingSelect = nodeIndex;
        return;
    }
    m_canvas->selectNode(nodeIndex);
    if (nodeIndex >= 0) m_canvas->centerOnNode(nodeIndex);
}

void ModelDocument::focusSearch() {
    m_search->setFocus(Qt::ShortcutFocusReason);
    m_search->selectAll();
}

void ModelDocument::findNext() {
    if (m_search->text().isEmpty()) {
        focusSearch();
        return;
    }
    m_canvas->findNext();
}

void ModelDocument::findPrevious() {
    if (m_search->text().isEmpty()) {
        focusSearch();
        return;
    }
    m_canvas->findPrevious();
}

void ModelDocument::fitToView() {
    m_canvas->fitToView();
}

void ModelDocument::zoomIn() {
    zoomBy(1);
}
void ModelDocument::zoomOut() {
    zoomBy(-1);
}

void ModelDocument::zoomBy(int steps) {
    // The canvas zooms at the cursor on a wheel turn; a turn at its centre is "zoom the view".
    const QPointF centre(m_canvas->width() / 2.0, m_canvas->height() / 2.0);
    QWheelEvent wheel(centre, m_canvas->mapToGlobal(centre), QPoint(), QPoint(0, 120 * steps), Qt::NoButton,
                      Qt::ControlModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(m_canvas, &wheel);
}

void ModelDocument::collapseAllScopes() {
    const std::vector<std::string> scopes = m_canvas->scopes();
    m_canvas->setCollapsedScopes(std::set<std::string>(scopes.begin(), scopes.end()));
}

void ModelDocument::expandAllScopes() {
    m_canvas->setCollapsedScopes({});
}
