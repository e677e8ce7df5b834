#include "app/gui/compare_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <map>
#include <set>

#include "app/cli/compare_command.h"
#include "app/gui/display_format.h"
#include "app/gui/graph_canvas.h"
#include "app/gui/histogram_widget.h"
#include "app/gui/job_manager.h"
#include "app/gui/pareto_chart.h"
#include "projects/project.h"

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// One colour per kind of change, light enough for black text.
QColor changeColour(by::LayerChange c) {
    switch (c) {
    case by::kLayerRemoved: return {244, 199, 195};
    case by::kLayerAdded: return {200, 230, 201};
    case by::kLayerFactorised: return {225, 190, 231};
    case by::kLayerSliced: return {255, 224, 178};
    case by::kLayerRetyped: return {187, 222, 251};
    case by::kLayerSparsified: return {255, 249, 196};
    case by::kLayerModified: return {224, 224, 224};
    case by::kLayerUnchanged: break;
    }
    return {};
}

// The legend under the graph: one swatch per colour of changeColour.
QString legendHtml() {
    QString html;
    for (by::LayerChange c : {by::kLayerRemoved, by::kLayerAdded, by::kLayerFactorised, by::kLayerSliced, by::kLayerRetyped,
                              by::kLayerSparsified, by::kLayerModified}) {
        const QColor col = changeColour(c);
        html += QStringLiteral("<span style=\"background-color:%1; color:black;\">&nbsp;%2&nbsp;</span> ")
                    .arg(col.name(), QString::fromLatin1(by::layerChangeName(c)));
    }
    return html;
}

// What the compare job hands back: the diff and both models, for the graph tab.
struct CompareOutcome {
    by::ModelDiff diff;
    std::shared_ptr<const by::Model> a, b;
};

QString metricValue(const std::string& name, double v, const std::string& unit) {
    if (unit == "bytes") return display::bytes(int64_t(v));
    if (!unit.empty()) return QString::number(v, 'g', 4) + QLatin1Char(' ') + qs(unit);
    if (name == "perplexity" || name == "kl_divergence") return QString::number(v, 'g', 4);
    return display::percent(v);
}

}  // namespace

ComparePanel::ComparePanel(JobManager* jobs, QWidget* parent) : QWidget(parent), m_jobs(jobs) {
    setObjectName(QStringLiteral("comparePanel"));
    auto* pick = new QHBoxLayout;
    m_a = new QComboBox(this);
    m_a->setObjectName(QStringLiteral("compareA"));
    m_b = new QComboBox(this);
    m_b->setObjectName(QStringLiteral("compareB"));
    for (QComboBox* c : {m_a, m_b}) {
        c->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        c->setMinimumContentsLength(18);
        connect(c, &QComboBox::currentIndexChanged, this, [this]() {
            if (!m_filling) startCompare();
        });
    }
    pick->addWidget(new QLabel(tr("A"), this));
    pick->addWidget(m_a, 1);
    pick->addWidget(new QLabel(tr("B"), this));
    pick->addWidget(m_b, 1);
    m_message = new QLabel(this);
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);

    m_results = new QTableWidget(0, 3, this);
    m_results->setObjectName(QStringLiteral("compareResults"));
    m_results->setHorizontalHeaderLabels({tr("A"), tr("B"), tr("B vs A")});
    m_results->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_results->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_results->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);

    m_table = new QTableWidget(0, ColumnCount, this);
    m_table->setObjectName(QStringLiteral("compareTable"));
    m_table->setHorizontalHeaderLabels(
        {tr("Layer"), tr("Op"), tr("Change"), tr("Before"), tr("After"), tr("Params"), tr("Bytes"), tr("Rel. error"), tr("Zeros")});
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);
    m_table->horizontalHeader()->setStretchLastSection(true);
    connect(m_table, &QTableWidget::currentCellChanged, this, [this](int row) { showLayer(row); });

    m_layerTitle = new QLabel(tr("Select a layer to see its weights before and after."), this);
    m_histBefore = new HistogramWidget(this);
    m_histBefore->setObjectName(QStringLiteral("histogramBefore"));
    m_histAfter = new HistogramWidget(this);
    m_histAfter->setObjectName(QStringLiteral("histogramAfter"));
    m_pareto = new ParetoChart(this);
    m_pareto->setObjectName(QStringLiteral("paretoChart"));
    connect(m_pareto, &ParetoChart::variantClicked, this, [this](int64_t id) {
        const int i = m_b->findData(QVariant::fromValue<qlonglong>(id));
        if (i >= 0) m_b->setCurrentIndex(i);
    });

    m_graph = new GraphCanvas(this);
    m_graph->setObjectName(QStringLiteral("compareGraph"));
    m_graphPick = new QComboBox(this);
    m_graphPick->setObjectName(QStringLiteral("compareGraphSide"));
    m_graphPick->addItems({tr("graph of A"), tr("graph of B")});
    m_graphPick->setCurrentIndex(m_graphSide);
    connect(m_graphPick, &QComboBox::currentIndexChanged, this, [this](int i) { showGraphOf(i); });
    connect(m_graph, &GraphCanvas::nodeSelected, this, [this](int node) {
        if (m_syncing || !m_diff || node < 0) return;
        for (int r = 0; r < int(m_diff->layers.size()); ++r) {
            const by::LayerDiff& l = m_diff->layers[size_t(r)];
            if ((m_graphSide == 0 ? l.nodeBefore : l.nodeAfter) != node) continue;
            m_syncing = true;
            selectLayer(r);
            m_syncing = false;
            return;
        }
    });
    auto* legend = new QLabel(legendHtml(), this);
    legend->setTextFormat(Qt::RichText);
    legend->setWordWrap(true);
    auto* graphPage = new QWidget(this);
    auto* graphLayout = new QVBoxLayout(graphPage);
    graphLayout->setContentsMargins(0, 0, 0, 0);
    auto* graphBar = new QHBoxLayout;
    graphBar->addWidget(m_graphPick);
    graphBar->addWidget(legend, 1);
    graphLayout->addLayout(graphBar);
    graphLayout->addWidget(m_graph, 1);

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("compareTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_table, tr("Layers"));
    m_tabs->addTab(graphPage, tr("Graph"));

    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addLayout(pick);
    leftLayout->addWidget(m_message);
    leftLayout->addWidget(m_tabs, 1);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_results, 2);
    rightLayout->addWidget(m_layerTitle);
    auto* hists = new QHBoxLayout;
    auto* hb = new QVBoxLayout;
    hb->addWidget(new QLabel(tr("before (A)"), this));
    hb->addWidget(m_histBefore);
    auto* ha = new QVBoxLayout;
    ha->addWidget(new QLabel(tr("after (B)"), this));
    ha->addWidget(m_histAfter);
    hists->addLayout(hb);
    hists->addLayout(ha);
    rightLayout->addLayout(hists);
    rightLayout->addWidget(m_pareto, 3);

    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);
    setEnabled(false);
    showMessage(tr("Open a project to compare its variants."), false);
}

ComparePanel::~ComparePanel() {
    if (m_job && m_jobs) m_jobs->cancel(m_job);
}

void ComparePanel::setProject(by::Project* project) {
    m_project = project;
    m_diff.reset();
    m_models[0].reset();
    m_models[1].reset();
    fillGraph();
    ++m_generation;
    if (m_job) m_jobs->cancel(m_job);
    m_job = 0;
    setEnabled(project != nullptr);
    refresh();
}

void ComparePanel::refresh() {
    fillCombos();
    fillResults();
    fillPareto();
    if (!m_diff) fillTable();
}

int64_t ComparePanel::variantA() const { return m_a->currentData().toLongLong(); }
int64_t ComparePanel::variantB() const { return m_b->currentData().toLongLong(); }

QString ComparePanel::messageText() const { return m_message->text(); }

void ComparePanel::showMessage(const QString& text, bool error) {
    m_message->setText(text);
    m_message->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
}

void ComparePanel::fillCombos() {
    m_filling = true;
    const int64_t a = variantA(), b = variantB();
    m_a->clear();
    m_b->clear();
    if (m_project) {
        auto assets = m_project->assets();
        auto vars = m_project->variants();
        if (!assets || !vars) {
            showMessage(qs((assets ? vars.error() : assets.error()).what()), true);
        } else {
            std::map<int64_t, QString> names;
            for (const auto& as : *assets) names[as.id] = qs(as.displayName);
            for (const auto& v : *vars) {
                const QString text = tr("%1 / %2 (#%3)").arg(names[v.assetId], qs(v.name)).arg(v.id);
                m_a->addItem(text, QVariant::fromValue<qlonglong>(v.id));
                m_b->addItem(text, QVariant::fromValue<qlonglong>(v.id));
            }
        }
    }
    auto restore = [](QComboBox* c, int64_t id) {
        const int i = c->findData(QVariant::fromValue<qlonglong>(id));
        if (i >= 0) c->setCurrentIndex(i);
    };
    restore(m_a, a);
    restore(m_b, b);
    m_filling = false;
}

bool ComparePanel::compare(int64_t a, int64_t b) {
    const int ia = m_a->findData(QVariant::fromValue<qlonglong>(a));
    const int ib = m_b->findData(QVariant::fromValue<qlonglong>(b));
    if (ia < 0 || ib < 0) return false;
    m_filling = true;
    m_a->setCurrentIndex(ia);
    m_b->setCurrentIndex(ib);
    m_filling = false;
    startCompare();
    return true;
}

void ComparePanel::startCompare() {
    if (!m_project) return;
    const int64_t a = variantA(), b = variantB();
    if (m_job) m_jobs->cancel(m_job);
    m_job = 0;
    const int generation = ++m_generation;
    m_diff.reset();
    m_models[0].reset();
    m_models[1].reset();
    fillTable();
    fillGraph();
    fillResults();
    fillPareto();
    if (a <= 0 || b <= 0) return;
    if (a == b) {
        showMessage(tr("A and B are the same variant: pick two to compare."), false);
        return;
    }
    showMessage(tr("Comparing..."), false);
    // The worker opens the project file itself: a Project is used from one thread at a time.
    const std::string path = m_project->path();
    std::function<by::Result<CompareOutcome>(const by::Progress&)> work = [path, a, b](const by::Progress&) -> by::Result<CompareOutcome> {
        auto project = by::Project::open(path);
        if (!project) return project.error();
        auto ma = by::cli::loadVariantModel(*project, a);
        if (!ma) return by::makeError(ma.error().code, "variant " + std::to_string(a) + ": " + ma.error().what());
        auto mb = by::cli::loadVariantModel(*project, b);
        if (!mb) return by::makeError(mb.error().code, "variant " + std::to_string(b) + ": " + mb.error().what());
        auto d = by::diffModels(*ma, *mb);
        if (!d) return d.error();
        return CompareOutcome{std::move(*d), std::make_shared<const by::Model>(std::move(*ma)), std::make_shared<const by::Model>(std::move(*mb))};
    };
    m_job = m_jobs->run<CompareOutcome>(tr("Compare variants %1 and %2").arg(a).arg(b), std::move(work),
                                       [this, generation](by::Result<CompareOutcome> r) {
                                           if (generation != m_generation) return;  // a newer request replaced it
                                           m_job = 0;
                                           if (!r) {
                                               if (r.error().code == by::ErrorCode::Cancelled) return;
                                               const QString s = qs(r.error().what());
                                               showMessage(s, true);
                                               emit errorOccurred(s);
                                               return;
                                           }
                                           m_diff = std::make_unique<by::ModelDiff>(std::move(r->diff));
                                           m_models[0] = std::move(r->a);
                                           m_models[1] = std::move(r->b);
                                           if (!m_diff->related())
                                               showMessage(tr("No layer of A has a counterpart of the same name in B: these look like two "
                                                              "unrelated models."),
                                                           true);
                                           else
                                               showMessage(tr("%1 layers matched, %2 changed, %3 removed, %4 added (%5 s).")
                                                               .arg(m_diff->matched)
                                                               .arg(m_diff->changed)
                                                               .arg(m_diff->removed)
                                                               .arg(m_diff->added)
                                                               .arg(m_diff->seconds, 0, 'f', 2),
                                                           false);
                                           fillTable();
                                           fillGraph();
                                           fillResults();
                                           if (m_table->rowCount() > 0) selectLayer(0);
                                       });
}

void ComparePanel::fillTable() {
    m_table->clearContents();
    m_table->setRowCount(0);
    m_histBefore->clear();
    m_histAfter->clear();
    if (!m_diff) return;
    m_table->setRowCount(int(m_diff->layers.size()));
    for (int r = 0; r < int(m_diff->layers.size()); ++r) {
        const by::LayerDiff& l = m_diff->layers[size_t(r)];
        QString op = qs(l.opBefore.empty() ? l.opAfter : l.opBefore);
        if (!l.opBefore.empty() && !l.opAfter.empty() && l.opAfter != l.opBefore) op += QStringLiteral(" → ") + qs(l.opAfter);
        const QString error = l.relError ? QString::number(*l.relError, 'f', 4) : QStringLiteral("-");
        const QString zeros = (l.opBefore.empty() ? QStringLiteral("-") : display::percent(l.sparsityBefore)) + QStringLiteral(" → ") +
                              (l.opAfter.empty() ? QStringLiteral("-") : display::percent(l.sparsityAfter));
        const QStringList cells = {qs(l.layer),
                                   op,
                                   qs(by::layerChangeLabel(l.changes)),
                                   l.opBefore.empty() ? QStringLiteral("-") : qs(l.storageBefore),
                                   l.opAfter.empty() ? QStringLiteral("-") : qs(l.storageAfter),
                                   display::compactCount(l.paramsBefore) + QStringLiteral(" → ") + display::compactCount(l.paramsAfter),
                                   display::bytes(l.bytesBefore) + QStringLiteral(" → ") + display::bytes(l.bytesAfter),
                                   error,
                                   zeros};
        const QColor bg = changeColour(l.primary());
        for (int c = 0; c < ColumnCount; ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setData(ChangeRole, QVariant::fromValue<uint>(l.changes));
            if (bg.isValid()) {
                item->setBackground(bg);
                item->setForeground(QColor(Qt::black));
            }
            if (!l.note.empty()) item->setToolTip(qs(l.note));
            m_table->setItem(r, c, item);
        }
    }
    m_table->resizeColumnsToContents();
}

void ComparePanel::selectLayer(int row) {
    if (row < 0 || row >= m_table->rowCount()) return;
    m_table->setCurrentCell(row, 0);
    showLayer(row);
}

void ComparePanel::showGraphOf(int side) {
    side = side == 0 ? 0 : 1;
    if (m_graphPick->currentIndex() != side) {
        m_graphPick->setCurrentIndex(side);  // comes back here through the signal
        return;
    }
    if (side == m_graphSide && m_graph->model() == m_models[side]) return;
    m_graphSide = side;
    fillGraph();
}

void ComparePanel::fillGraph() {
    const std::shared_ptr<const by::Model>& model = m_models[m_graphSide];
    if (m_graph->model() != model) m_graph->setModel(model);
    if (!model || !m_diff) return;
    const std::vector<uint32_t>& changes = m_graphSide == 0 ? m_diff->nodeChangesBefore : m_diff->nodeChangesAfter;
    std::vector<QColor> marks(model->graph.nodes.size());
    for (size_t n = 0; n < marks.size() && n < changes.size(); ++n) marks[n] = changeColour(by::primaryChange(changes[n]));
    m_graph->setNodeMarks(marks);
    const int row = m_table->currentRow();
    if (row >= 0 && row < int(m_diff->layers.size())) {
        const by::LayerDiff& l = m_diff->layers[size_t(row)];
        const int node = m_graphSide == 0 ? l.nodeBefore : l.nodeAfter;
        if (node >= 0) m_graph->centerOnNode(node);
    }
}

void ComparePanel::showLayer(int row) {
    if (!m_diff || row < 0 || row >= int(m_diff->layers.size())) {
        m_histBefore->clear();
        m_histAfter->clear();
        return;
    }
    const by::LayerDiff& l = m_diff->layers[size_t(row)];
    if (!m_syncing && m_graph->model()) {
        const int node = m_graphSide == 0 ? l.nodeBefore : l.nodeAfter;
        m_syncing = true;
        if (node >= 0) m_graph->centerOnNode(node);
        m_syncing = false;
    }
    m_layerTitle->setText(tr("%1: %2, weights in [%3, %4]")
                              .arg(qs(l.layer), qs(by::layerChangeLabel(l.changes)), display::number(l.histLo), display::number(l.histHi)));
    if (l.histBefore.empty() || l.opBefore.empty()) m_histBefore->clear();
    else m_histBefore->setHistogram(l.histBefore, l.histLo, l.histHi);
    if (l.histAfter.empty() || l.opAfter.empty()) m_histAfter->clear();
    else m_histAfter->setHistogram(l.histAfter, l.histLo, l.histHi);
}

void ComparePanel::fillResults() {
    m_results->setRowCount(0);
    if (!m_project) return;
    const int64_t ids[2] = {variantA(), variantB()};
    if (ids[0] <= 0 || ids[1] <= 0) return;
    std::optional<by::Variant> vars[2];
    std::optional<by::cli::VariantMetrics> metrics[2];
    for (int s = 0; s < 2; ++s) {
        if (auto v = m_project->variant(ids[s])) vars[s] = *v;
        if (auto m = by::cli::variantMetrics(*m_project, ids[s])) metrics[s] = *m;
    }
    struct Row {
        QString name;
        std::optional<double> v[2];
        std::string unit;  // "bytes", "ms", "" (a fraction)
        std::string metric;
    };
    std::vector<Row> rows;
    Row weights{tr("weights"), {}, "bytes", ""};
    Row params{tr("parameters"), {}, "count", ""};
    if (m_diff) {
        weights.v[0] = double(m_diff->bytesBefore);
        weights.v[1] = double(m_diff->bytesAfter);
        params.v[0] = double(m_diff->paramsBefore);
        params.v[1] = double(m_diff->paramsAfter);
    }
    Row file{tr("recorded size"), {}, "bytes", ""};
    for (int s = 0; s < 2; ++s)
        if (vars[s] && vars[s]->sizeBytes > 0) file.v[s] = double(vars[s]->sizeBytes);
    rows.push_back(weights);
    rows.push_back(params);
    rows.push_back(file);
    std::set<std::string> quality;
    std::map<std::string, std::string> bench;
    for (int s = 0; s < 2; ++s)
        if (metrics[s]) {
            for (const auto& [k, v] : metrics[s]->quality) quality.insert(k);
            for (const auto& [k, v] : metrics[s]->benchmarks) bench[k] = v.second;
        }
    for (const auto& k : quality) {
        Row r{qs(k), {}, "", k};
        for (int s = 0; s < 2; ++s)
            if (metrics[s])
                if (auto it = metrics[s]->quality.find(k); it != metrics[s]->quality.end()) r.v[s] = it->second;
        rows.push_back(r);
    }
    for (const auto& [k, unit] : bench) {
        if (k == "model_size") continue;  // the weights row says it
        Row r{qs(k), {}, unit, k};
        for (int s = 0; s < 2; ++s)
            if (metrics[s])
                if (auto it = metrics[s]->benchmarks.find(k); it != metrics[s]->benchmarks.end()) r.v[s] = it->second.first;
        rows.push_back(r);
    }
    m_results->setRowCount(int(rows.size()));
    QStringList names;
    for (int i = 0; i < int(rows.size()); ++i) {
        const Row& r = rows[size_t(i)];
        names << r.name;
        for (int s = 0; s < 2; ++s) {
            QString text = QStringLiteral("-");
            if (r.v[s]) text = r.unit == "count" ? display::compactCount(int64_t(*r.v[s])) : metricValue(r.metric, *r.v[s], r.unit);
            m_results->setItem(i, s, new QTableWidgetItem(text));
        }
        QString delta = QStringLiteral("-");
        if (r.v[0] && r.v[1]) {
            if (r.unit.empty() && r.metric != "perplexity" && r.metric != "kl_divergence")
                delta = QString::asprintf("%+.2f points", 100 * (*r.v[1] - *r.v[0]));
            else if (*r.v[1] > 0)
                delta = QString::asprintf("%.2fx", *r.v[0] / *r.v[1]);
        }
        m_results->setItem(i, 2, new QTableWidgetItem(delta));
    }
    m_results->setVerticalHeaderLabels(names);
}

void ComparePanel::fillPareto() {
    std::vector<ParetoChart::Point> points;
    QString metricName;
    if (m_project && variantA() > 0) {
        auto a = m_project->variant(variantA());
        auto vars = a ? m_project->variants(a->assetId) : by::Result<std::vector<by::Variant>>(a.error());
        if (vars) {
            for (const auto& v : *vars) {
                auto m = by::cli::variantMetrics(*m_project, v.id);
                if (!m) continue;
                auto h = m->headline();
                if (!h) continue;
                if (metricName.isEmpty()) metricName = qs(h->first);
                if (qs(h->first) != metricName) continue;  // one quality axis per chart
                double size = double(v.sizeBytes);
                if (auto it = m->benchmarks.find("model_size"); it != m->benchmarks.end()) size = it->second.first;
                if (size <= 0) continue;
                points.push_back({v.id, qs(v.name), size, h->second});
            }
        }
    }
    m_pareto->setPoints(std::move(points), metricName);
    m_pareto->setCompared(variantA(), variantB());
}
