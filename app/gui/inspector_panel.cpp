#include "app/gui/inspector_panel.h"

#include "app/gui/display_format.h"
#include "app/gui/histogram_widget.h"

#include <QFileInfo>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

namespace {
using StatsPtr = std::shared_ptr<const by::Result<by::TensorStats>>;

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QLabel* makeLabel(const QString& text, QWidget* parent, bool selectable = true) {
    auto* l = new QLabel(text, parent);
    l->setTextFormat(Qt::PlainText);
    if (selectable) l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    l->setWordWrap(true);
    return l;
}

QTableWidget* makeTable(const QStringList& headers, QWidget* parent) {
    auto* t = new QTableWidget(0, headers.size(), parent);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 6);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setAlternatingRowColors(true);
    t->setWordWrap(false);
    t->setShowGrid(false);
    t->setTextElideMode(Qt::ElideMiddle);
    t->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    t->horizontalHeader()->setHighlightSections(false);
    t->horizontalHeader()->setStretchLastSection(true);
    for (int c = 0; c + 1 < headers.size(); ++c)
        t->horizontalHeader()->setSectionResizeMode(c, QHeaderView::Interactive);
    return t;
}

void addRow(QTableWidget* t, const QStringList& cells, const QString& tooltip = {}) {
    const int r = t->rowCount();
    t->insertRow(r);
    for (int c = 0; c < cells.size(); ++c) {
        auto* item = new QTableWidgetItem(cells[c]);
        item->setToolTip(tooltip.isEmpty() ? cells[c] : tooltip);
        t->setItem(r, c, item);
    }
}

// Tables live inside the scrolling inspector: size them to their rows (up to a cap) instead of
// nesting a second scroll area.
void fitTable(QTableWidget* t, int maxRows = 14) {
    const int rows = std::min(t->rowCount(), maxRows);
    const int h = t->horizontalHeader()->sizeHint().height() +
                  rows * t->verticalHeader()->defaultSectionSize() + 2 * t->frameWidth() + 2;
    t->setFixedHeight(h);
    t->setVerticalScrollBarPolicy(t->rowCount() > maxRows ? Qt::ScrollBarAsNeeded : Qt::ScrollBarAlwaysOff);
    // First column wide enough for typical names, the rest share the width.
    if (t->columnCount() > 1) {
        t->resizeColumnToContents(0);
        t->setColumnWidth(0, std::clamp(t->columnWidth(0), 60, 170));
    }
    if (t->columnCount() > 2) {
        t->resizeColumnToContents(1);
        t->setColumnWidth(1, std::clamp(t->columnWidth(1), 50, 90));
    }
}

// The tensor behind an input: the value itself when it carries data, else the data input of a
// single dequantize/cast step in front of it (TFLite fp16 and int8 models store weights that way).
int weightSource(const by::Graph& g, int valueId) {
    if (valueId < 0 || valueId >= int(g.values.size())) return -1;
    const by::Value& v = g.values[valueId];
    if (v.data) return valueId;
    if (v.producer < 0 || v.producer >= int(g.nodes.size())) return -1;
    const by::Node& p = g.nodes[v.producer];
    const QString op = QString::fromStdString(p.opType).toLower();
    if (!op.contains(QLatin1String("dequantize")) && op != QLatin1String("cast") &&
        !op.endsWith(QLatin1String("identity")))
        return -1;
    if (p.inputs.empty()) return -1;
    const int src = p.inputs.front();
    return src >= 0 && src < int(g.values.size()) && g.values[src].data ? src : -1;
}

QString valueName(const by::Value& v, int index) {
    return v.name.empty() ? QStringLiteral("#%1").arg(index) : qs(v.name);
}
} // namespace

struct InspectorPanel::WeightCard {
    int valueIndex = -1;
    bool pending = false;
    QPointer<QGroupBox> box;
    QPointer<QLabel> stats;
    QPointer<HistogramWidget> histogram;
};

InspectorPanel::InspectorPanel(QWidget* parent) : QScrollArea(parent) {
    setObjectName(QStringLiteral("inspector"));
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    showOverview();
}

InspectorPanel::~InspectorPanel() = default;

void InspectorPanel::setModel(std::shared_ptr<const by::Model> model) {
    if (model == m_model) return;
    m_model = std::move(model);
    m_statsCache.clear();
    m_inFlight.clear();
    ++m_generation;
    showOverview();
}

QString InspectorPanel::shownOpType() const {
    if (!m_model || m_node < 0 || m_node >= int(m_model->graph.nodes.size())) return {};
    return qs(m_model->graph.nodes[m_node].opType);
}

QList<HistogramWidget*> InspectorPanel::histograms() const {
    QList<HistogramWidget*> out;
    for (const auto& c : m_cards)
        if (c->histogram) out << c->histogram.data();
    return out;
}

void InspectorPanel::resetContent() {
    m_cards.clear();
    m_pending = 0;
    m_content = new QWidget;
    m_layout = new QVBoxLayout(m_content);
    m_layout->setContentsMargins(10, 8, 10, 8);
    m_layout->setSpacing(6);
    m_title = new QLabel(m_content);
    m_title->setObjectName(QStringLiteral("inspectorTitle"));
    QFont f = m_title->font();
    f.setPointSizeF(f.pointSizeF() * 1.35);
    f.setBold(true);
    m_title->setFont(f);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_layout->addWidget(m_title);
    setWidget(m_content); // deletes the previous content
}

QWidget* InspectorPanel::addSection(const QString& title) {
    auto* label = new QLabel(title, m_content);
    QFont f = label->font();
    f.setBold(true);
    label->setFont(f);
    label->setContentsMargins(0, 8, 0, 0);
    m_layout->addWidget(label);
    return label;
}

void InspectorPanel::showOverview() {
    m_node = -1;
    m_value = -1;
    resetContent();
    if (!m_model) {
        m_title->setText(tr("Nothing selected"));
        auto* hint =
            makeLabel(tr("Open a model (Ctrl+O) or a project (Ctrl+Shift+O). Click a node in the graph to "
                         "see its attributes, inputs, outputs and weights here."),
                      m_content, false);
        hint->setForegroundRole(QPalette::PlaceholderText);
        m_layout->addWidget(hint);
        m_layout->addStretch(1);
        return;
    }
    const by::Model& m = *m_model;
    const QString file = m.sourcePath.empty() ? qs(m.name) : QFileInfo(qs(m.sourcePath)).fileName();
    m_title->setText(file.isEmpty() ? tr("Model") : file);
    m_title->setToolTip(qs(m.sourcePath));

    const by::ModelSummary s = by::summarize(m);
    auto* props = makeTable({tr("Property"), tr("Value")}, m_content);
    props->setObjectName(QStringLiteral("modelProperties"));
    addRow(props, {tr("Format"), display::formatName(m.format)});
    if (!m.producer.empty())
        addRow(props,
               {tr("Producer"), qs(m.producer + (m.producerVersion.empty() ? "" : " " + m.producerVersion))});
    if (m.irVersion) addRow(props, {tr("IR version"), QString::number(m.irVersion)});
    if (!m.opsets.empty()) {
        QStringList sets;
        for (const auto& [domain, version] : m.opsets)
            sets << QStringLiteral("%1 %2")
                        .arg(domain.empty() ? QStringLiteral("ai.onnx") : qs(domain))
                        .arg(version);
        addRow(props, {tr("Opsets"), sets.join(QStringLiteral(", "))});
    }
    if (!m.graph.name.empty()) addRow(props, {tr("Graph"), qs(m.graph.name)});
    addRow(props, {tr("Nodes"), display::count(s.nodes)});
    addRow(props, {tr("Parameters"), display::count(s.parameters)});
    addRow(props,
           {tr("Weights"), tr("%1 in %2 tensors").arg(display::bytes(s.weightBytes)).arg(s.tensorsWithData)});
    for (const auto& [dtype, bytes] : s.dtypeBytes)
        addRow(props, {tr("  %1").arg(qs(dtype)), display::bytes(bytes)});
    addSection(tr("Model"));
    m_layout->addWidget(props);
    fitTable(props, 16);

    auto addValues = [&](const QString& title, const std::vector<int>& ids) {
        if (ids.empty()) return;
        addSection(title);
        auto* t = makeTable({tr("Name"), tr("Type"), tr("Shape")}, m_content);
        for (int id : ids) {
            const by::Value& v = m.graph.values[id];
            addRow(t, {valueName(v, id), display::dtype(v.dtype), display::shape(v.shape)});
        }
        m_layout->addWidget(t);
        fitTable(t, 8);
    };
    addValues(tr("Inputs"), m.graph.inputs);
    addValues(tr("Outputs"), m.graph.outputs);

    if (!s.ops.empty()) {
        std::vector<std::pair<std::string, int64_t>> ops(s.ops.begin(), s.ops.end());
        std::stable_sort(ops.begin(), ops.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        addSection(tr("Operators (%1 types)").arg(ops.size()));
        auto* t = makeTable({tr("Op type"), tr("Count")}, m_content);
        t->setObjectName(QStringLiteral("operatorTable"));
        for (const auto& [op, n] : ops)
            addRow(t, {qs(op), display::count(n)});
        m_layout->addWidget(t);
        fitTable(t, 12);
        t->setColumnWidth(0, 170);
    }
    if (!m.metadata.empty()) {
        addSection(tr("Metadata"));
        auto* t = makeTable({tr("Key"), tr("Value")}, m_content);
        for (const auto& [k, v] : m.metadata)
            addRow(t, {qs(k), qs(v.toString())});
        m_layout->addWidget(t);
        fitTable(t, 10);
    }
    if (!m.warnings.empty()) {
        addSection(tr("Warnings while loading"));
        for (const auto& w : m.warnings)
            m_layout->addWidget(makeLabel(qs(w), m_content));
    }
    m_layout->addStretch(1);
}

void InspectorPanel::showNode(int nodeIndex) {
    if (!m_model || nodeIndex < 0 || nodeIndex >= int(m_model->graph.nodes.size())) {
        showOverview();
        return;
    }
    if (nodeIndex == m_node) return; // already shown (a programmatic select echoed by the canvas)
    const by::Graph& g = m_model->graph;
    const by::Node& n = g.nodes[nodeIndex];
    resetContent();
    m_node = nodeIndex;
    m_value = -1;
    m_title->setText(qs(n.opType));

    auto* ident = makeTable({tr("Property"), tr("Value")}, m_content);
    ident->setObjectName(QStringLiteral("nodeProperties"));
    addRow(ident, {tr("Name"), n.name.empty() ? tr("(unnamed)") : qs(n.name)});
    addRow(ident, {tr("Domain"), n.domain.empty() ? QStringLiteral("ai.onnx") : qs(n.domain)});
    addRow(ident, {tr("Index"), QString::number(nodeIndex)});
    if (!n.docString.empty()) addRow(ident, {tr("Doc"), qs(n.docString)});
    m_layout->addWidget(ident);
    fitTable(ident);

    if (!n.attributes.empty()) {
        addSection(tr("Attributes"));
        auto* t = makeTable({tr("Name"), tr("Kind"), tr("Value")}, m_content);
        t->setObjectName(QStringLiteral("attributeTable"));
        for (const auto& [key, a] : n.attributes)
            addRow(t, {qs(key), QString::fromLatin1(by::attributeKindName(a.kind)), qs(a.toString(64))});
        m_layout->addWidget(t);
        fitTable(t);
    }

    std::vector<int> weights;
    auto addValues = [&](const QString& title, const std::vector<int>& ids, bool collectWeights) {
        if (ids.empty()) return;
        addSection(title);
        auto* t = makeTable({tr("Name"), tr("Type"), tr("Shape")}, m_content);
        for (int id : ids) {
            if (id < 0 || id >= int(g.values.size())) {
                addRow(t, {tr("(none)"), QString(), QString()});
                continue;
            }
            const by::Value& v = g.values[id];
            const by::DType dt = v.data ? v.data->dtype() : v.dtype;
            const std::optional<by::DimShape> shape =
                v.data ? std::optional(by::toDimShape(v.data->shape())) : v.shape;
            addRow(t, {valueName(v, id), display::dtype(dt), display::shape(shape)});
            const int source = collectWeights ? weightSource(g, id) : (v.data ? id : -1);
            if (source >= 0) {
                QFont f = t->font();
                f.setItalic(true);
                t->item(t->rowCount() - 1, 0)->setFont(f);
                t->item(t->rowCount() - 1, 0)
                    ->setToolTip(
                        source == id
                            ? tr("%1 (constant data)").arg(valueName(v, id))
                            : tr("%1 (from %2)").arg(valueName(v, id), valueName(g.values[source], source)));
                if (collectWeights && std::find(weights.begin(), weights.end(), source) == weights.end())
                    weights.push_back(source);
            }
        }
        m_layout->addWidget(t);
        fitTable(t, 10);
    };
    addValues(tr("Inputs"), n.inputs, true);
    addValues(tr("Outputs"), n.outputs, false);

    if (!weights.empty()) {
        addSection(weights.size() == 1 ? tr("Weight") : tr("Weights (%1)").arg(weights.size()));
        for (size_t i = 0; i < weights.size() && int(i) < kMaxWeightCards; ++i)
            addWeightCard(weights[i]);
        if (int(weights.size()) > kMaxWeightCards)
            m_layout->addWidget(
                makeLabel(tr("%1 more not shown.").arg(weights.size() - kMaxWeightCards), m_content, false));
    }
    m_layout->addStretch(1);
}

void InspectorPanel::showValue(int valueIndex) {
    if (!m_model || valueIndex < 0 || valueIndex >= int(m_model->graph.values.size())) {
        showOverview();
        return;
    }
    if (valueIndex == m_value) return;
    const by::Graph& g = m_model->graph;
    const by::Value& v = g.values[valueIndex];
    resetContent();
    m_node = -1;
    m_value = valueIndex;
    m_title->setText(valueName(v, valueIndex));

    auto* props = makeTable({tr("Property"), tr("Value")}, m_content);
    addRow(props, {tr("Type"), display::dtype(v.data ? v.data->dtype() : v.dtype)});
    addRow(props,
           {tr("Shape"), display::shape(v.data ? std::optional(by::toDimShape(v.data->shape())) : v.shape)});
    if (v.producer >= 0 && v.producer < int(g.nodes.size()))
        addRow(props, {tr("Produced by"), QStringLiteral("%1 %2").arg(qs(g.nodes[v.producer].opType),
                                                                      qs(g.nodes[v.producer].name))});
    else
        addRow(props, {tr("Produced by"), v.data ? tr("initializer") : tr("graph input")});
    QStringList consumers;
    for (int c : v.consumers)
        if (c >= 0 && c < int(g.nodes.size())) consumers << qs(g.nodes[c].opType);
    addRow(props, {tr("Consumers"), consumers.isEmpty() ? tr("none") : consumers.join(QStringLiteral(", "))});
    if (!v.docString.empty()) addRow(props, {tr("Doc"), qs(v.docString)});
    m_layout->addWidget(props);
    fitTable(props);
    if (v.data) {
        addSection(tr("Data"));
        addWeightCard(valueIndex);
    }
    m_layout->addStretch(1);
}

void InspectorPanel::addWeightCard(int valueIndex) {
    const by::Value& v = m_model->graph.values[valueIndex];
    const by::Tensor& t = *v.data;

    auto card = std::make_unique<WeightCard>();
    card->valueIndex = valueIndex;
    // Tensor names can be very long: a group box would widen the dock to fit its title.
    const QString title = fontMetrics().elidedText(valueName(v, valueIndex), Qt::ElideMiddle, 250);
    auto* box = new QGroupBox(title, m_content);
    box->setObjectName(QStringLiteral("weightCard"));
    box->setToolTip(valueName(v, valueIndex));
    auto* grid = new QVBoxLayout(box);
    grid->setContentsMargins(8, 6, 8, 8);
    grid->setSpacing(4);
    const QString header =
        tr("%1  %2  ·  %3 values  ·  %4%5")
            .arg(display::dtype(t.dtype()), QString::fromStdString(by::shapeToString(t.shape())),
                 display::count(t.numel()), display::bytes(int64_t(t.nbytes())),
                 v.folded ? tr("  ·  folded constant") : QString());
    grid->addWidget(makeLabel(header, box));
    card->stats = makeLabel(tr("Computing statistics..."), box);
    card->stats->setTextFormat(Qt::RichText);
    grid->addWidget(card->stats);
    card->histogram = new HistogramWidget(box);
    grid->addWidget(card->histogram);
    card->box = box;
    m_layout->addWidget(box);

    auto cached = m_statsCache.find(valueIndex);
    if (cached != m_statsCache.end()) {
        applyStats(*card, *cached->second);
    } else if (t.numel() <= kSyncStatsLimit) {
        auto stats = std::make_shared<const by::Result<by::TensorStats>>(by::computeStats(t, kHistogramBins));
        m_statsCache[valueIndex] = stats;
        applyStats(*card, *stats);
    } else {
        card->pending = true;
        ++m_pending;
        // Only one worker per tensor: clicking away and back waits for the first one.
        if (!m_inFlight.count(valueIndex)) {
            m_inFlight.insert(valueIndex);
            auto model = m_model;
            const int generation = m_generation;
            auto* watcher = new QFutureWatcher<StatsPtr>(this);
            connect(watcher, &QFutureWatcher<StatsPtr>::finished, this,
                    [this, watcher, valueIndex, generation]() {
                        watcher->deleteLater();
                        if (generation != m_generation) return;
                        m_inFlight.erase(valueIndex);
                        StatsPtr stats = watcher->result();
                        m_statsCache[valueIndex] = stats;
                        for (auto& c : m_cards) {
                            if (c->valueIndex != valueIndex || !c->pending) continue;
                            c->pending = false;
                            --m_pending;
                            applyStats(*c, *stats);
                        }
                        emit statsReady();
                    });
            watcher->setFuture(QtConcurrent::run([model, valueIndex]() -> StatsPtr {
                return std::make_shared<const by::Result<by::TensorStats>>(
                    by::computeStats(*model->graph.values[valueIndex].data, kHistogramBins));
            }));
        }
    }
    m_cards.push_back(std::move(card));
}

void InspectorPanel::applyStats(WeightCard& card, const by::Result<by::TensorStats>& stats) {
    if (!card.stats || !card.histogram) return;
    if (!stats.ok()) {
        card.stats->setTextFormat(Qt::PlainText);
        card.stats->setText(tr("No statistics: %1").arg(QString::fromStdString(stats.error().message)));
        card.histogram->hide();
        return;
    }
    const by::TensorStats& s = *stats;
    QString extra;
    if (s.nanCount || s.infCount)
        extra = tr("<tr><td>NaN</td><td align='right'>%1</td><td>&nbsp;&nbsp;Inf</td><td "
                   "align='right'>%2</td></tr>")
                    .arg(s.nanCount)
                    .arg(s.infCount);
    card.stats->setText(
        tr("<table cellspacing='0' cellpadding='1'>"
           "<tr><td>min</td><td align='right'>%1</td><td>&nbsp;&nbsp;max</td><td align='right'>%2</td></tr>"
           "<tr><td>mean</td><td align='right'>%3</td><td>&nbsp;&nbsp;std</td><td align='right'>%4</td></tr>"
           "<tr><td>sparsity</td><td align='right'>%5</td><td>&nbsp;&nbsp;count</td><td "
           "align='right'>%6</td></tr>%7"
           "</table>")
            .arg(display::number(s.min), display::number(s.max), display::number(s.mean),
                 display::number(s.stddev), display::percent(s.sparsity), display::count(s.count), extra));
    card.histogram->setHistogram(s.histogram, s.min, s.max);
}
