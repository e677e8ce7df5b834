#include "app/gui/compression_panel.h"

#include "app/cli/compress_command.h"
#include "app/cli/recipe_json.h"
#include "app/gui/display_format.h"
#include "app/gui/job_manager.h"
#include "app/gui/model_document.h"
#include "app/gui/project_commands.h"
#include "importers/importer_registry.h"
#include "projects/project.h"

#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QSlider>
#include <QTableWidget>
#include <QTimer>
#include <QUndoStack>
#include <QVBoxLayout>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>

// What an Apply job hands back to the UI thread.
struct CompressOutcome {
    std::string path;
    int64_t fileBytes = 0;
    int64_t paramsAfter = 0;
    int64_t bytesBefore = 0, bytesAfter = 0;
    std::vector<by::LayerReport> layers;
    by::Recipe recipe;
};

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

// The preview debounce: long enough to merge the events of one slider drag step, short enough
// that the table still follows within the one-second budget.
constexpr int kPreviewDelayMs = 60;

struct PreviewResult {
    std::vector<by::LayerReport> rows;
    int64_t bytesBefore = 0, bytesAfter = 0;
    std::shared_ptr<const by::Model> compressed;  // whole-model previews: the model Apply would write
};

struct QualityResult {
    std::shared_ptr<const by::EvalReport> base;  // the original (from the cache when it was there)
    by::EvalReport variant;
    double seconds = 0;
};

// The figure a person reads first: name, value, and whether higher is better.
struct MainMetric {
    QString name;
    double value = 0;
    bool percent = true;
    bool higherIsBetter = true;
};

std::optional<MainMetric> mainMetric(const by::EvalReport& r) {
    if (r.classification) return MainMetric{QObject::tr("top-1"), 100.0 * r.classification->top1(), true, true};
    if (r.text) return MainMetric{QObject::tr("character accuracy"), 100.0 * r.text->charAccuracy(), true, true};
    if (r.language) return MainMetric{QObject::tr("perplexity"), r.language->perplexity, false, false};
    return std::nullopt;
}

QString formatMetric(const MainMetric& m) {
    return m.percent ? QStringLiteral("%1%").arg(m.value, 0, 'f', 2) : QString::number(m.value, 'g', 5);
}

QString sentenceOf(const by::Error& e) {
    QString s = qs(e.what());
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    if (!s.endsWith(QLatin1Char('.'))) s += QLatin1Char('.');
    return s;
}

// Steps that read calibration samples (the panel's data-driven methods).
bool needsCalibration(const by::CompressStep& s) {
    return s.criterion != by::PruneCriterion::Weight || s.activations.enabled;
}

} // namespace

CompressionPanel::CompressionPanel(JobManager* jobs, QWidget* parent) : QWidget(parent), m_jobs(jobs) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    m_title = new QLabel(this);
    m_title->setWordWrap(true);
    layout->addWidget(m_title);

    auto* form = new QFormLayout();
    m_method = new QComboBox(this);
    m_method->setObjectName(QStringLiteral("compressMethod"));
    m_method->addItem(tr("Quantize int8 (per channel)"), int(Method::Int8));
    m_method->addItem(tr("Quantize n-bit, group 32"), int(Method::NBitsG32));
    m_method->addItem(tr("Prune by magnitude"), int(Method::PruneMagnitude));
    m_method->addItem(tr("Prune 2:4"), int(Method::Prune24));
    m_method->addItem(tr("Low-rank (kept rank fraction)"), int(Method::LowRankFraction));
    m_method->addItem(tr("Low-rank (kept rank)"), int(Method::LowRankRank));
    m_method->addItem(tr("Binary-coded (sign planes, group 64)"), int(Method::BinaryCoded));
    m_method->insertSeparator(m_method->count());
    m_method->addItem(tr("Prune conv filters (L1 norm)"), int(Method::PruneFilters));
    m_method->addItem(tr("Prune conv filters (on data: Beta rank)"), int(Method::PruneFiltersData));
    m_method->addItem(tr("Prune FFN neurons"), int(Method::PruneFfn));
    m_method->addItem(tr("Prune attention heads"), int(Method::PruneHeads));
    m_method->addItem(tr("Low-rank, data-aware (kept rank fraction)"), int(Method::LowRankData));
    m_method->addItem(tr("Decompose FFN (Nyström + refit, on data)"), int(Method::DecomposeFfn));
    form->addRow(tr("Method"), m_method);

    auto* strengthRow = new QHBoxLayout();
    m_strength = new QSlider(Qt::Horizontal, this);
    m_strength->setObjectName(QStringLiteral("compressStrength"));
    m_strengthLabel = new QLabel(this);
    m_strengthLabel->setMinimumWidth(110);
    strengthRow->addWidget(m_strength, 1);
    strengthRow->addWidget(m_strengthLabel);
    form->addRow(tr("Strength"), strengthRow);

    m_scope = new QComboBox(this);
    m_scope->setObjectName(QStringLiteral("compressScope"));
    m_scope->addItem(tr("Whole model"), int(Scope::WholeModel));
    m_scope->addItem(tr("Selected layer"), int(Scope::SelectedLayer));
    form->addRow(tr("Scope"), m_scope);
    layout->addLayout(form);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("compressMessage"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);

    // Narrow enough for a side dock: the op type is in each layer's tooltip.
    m_table = new QTableWidget(0, 4, this);
    m_table->setObjectName(QStringLiteral("compressTable"));
    m_table->setHorizontalHeaderLabels(
        {tr("layer"), tr("rel. error"), tr("weights before → after"), tr("detail")});
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setWordWrap(false);
    layout->addWidget(m_table, 1);
    m_totals = new QLabel(this);
    layout->addWidget(m_totals);
    m_quality = new QLabel(this);
    m_quality->setObjectName(QStringLiteral("compressQuality"));
    m_quality->setWordWrap(true);
    m_quality->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_quality);

    auto* buttons = new QHBoxLayout();
    m_apply = new QPushButton(tr("Apply"), this);
    m_apply->setObjectName(QStringLiteral("compressApply"));
    m_apply->setToolTip(tr("Compress the model with this recipe and record it as a child variant."));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("compressCancel"));
    m_evaluate = new QPushButton(tr("Evaluate Variant"), this);
    m_evaluate->setObjectName(QStringLiteral("compressEvaluate"));
    m_evaluate->setToolTip(tr("Open the variant just written and evaluate it in the Evaluation panel."));
    buttons->addWidget(m_apply);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    buttons->addWidget(m_evaluate);
    layout->addLayout(buttons);

    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kPreviewDelayMs);
    connect(m_debounce, &QTimer::timeout, this, &CompressionPanel::startPreview);

    connect(m_method, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        updateStrengthRange();
        schedulePreview();
    });
    connect(m_strength, &QSlider::valueChanged, this, [this](int) {
        updateStrengthLabel();
        schedulePreview();
    });
    connect(m_scope, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this](int) { schedulePreview(); });
    connect(m_apply, &QPushButton::clicked, this, [this]() { apply(); });
    connect(m_cancel, &QPushButton::clicked, this, [this]() {
        if (m_applyJob) m_jobs->cancel(m_applyJob);
        cancelQualityCheck();
    });
    connect(m_evaluate, &QPushButton::clicked, this, [this]() {
        if (!m_lastVariantPath.isEmpty()) emit evaluateRequested(m_lastVariantPath);
    });

    updateStrengthRange();
    setDocument(nullptr);
}

// ---- controls --------------------------------------------------------------------------------------

CompressionPanel::Method CompressionPanel::method() const {
    return Method(m_method->currentData().toInt());
}
CompressionPanel::Scope CompressionPanel::scope() const {
    return Scope(m_scope->currentData().toInt());
}
int CompressionPanel::strength() const {
    return m_strength->value();
}

void CompressionPanel::setMethod(Method m) {
    m_method->setCurrentIndex(m_method->findData(int(m)));
}
void CompressionPanel::setStrength(int value) {
    m_strength->setValue(value);
}
void CompressionPanel::setScope(Scope s) {
    m_scope->setCurrentIndex(m_scope->findData(int(s)));
}

void CompressionPanel::updateStrengthRange() {
    const QSignalBlocker block(m_strength);
    switch (method()) {
    case Method::Int8:
    case Method::Prune24:
        // Fixed by the method: the slider shows it but cannot change it.
        m_strength->setRange(0, 0);
        m_strength->setEnabled(false);
        break;
    case Method::NBitsG32:
        m_strength->setRange(2, 4); // bits (3-bit levels live in 4-bit containers)
        m_strength->setValue(4);
        m_strength->setEnabled(true);
        break;
    case Method::PruneMagnitude:
        m_strength->setRange(5, 95); // percent of weights set to zero
        m_strength->setSingleStep(5);
        m_strength->setValue(50);
        m_strength->setEnabled(true);
        break;
    case Method::LowRankFraction:
    case Method::LowRankData:
        m_strength->setRange(5, 95); // percent of min(K, N) kept (1.0 would be no cut)
        m_strength->setSingleStep(5);
        m_strength->setValue(50);
        m_strength->setEnabled(true);
        break;
    case Method::PruneFilters:
    case Method::PruneFiltersData:
    case Method::PruneFfn:
    case Method::PruneHeads:
    case Method::DecomposeFfn:
        m_strength->setRange(5, 90); // percent of filters / neurons / heads removed
        m_strength->setSingleStep(5);
        m_strength->setValue(25);
        m_strength->setEnabled(true);
        break;
    case Method::LowRankRank:
        m_strength->setRange(1, 1024); // kept rank; above a layer's min(K, N) is refused
        m_strength->setValue(16);
        m_strength->setEnabled(true);
        break;
    case Method::BinaryCoded:
        m_strength->setRange(1, 4); // sign planes (bits per weight, scales aside)
        m_strength->setValue(3);
        m_strength->setEnabled(true);
        break;
    }
    updateStrengthLabel();
}

void CompressionPanel::updateStrengthLabel() {
    const int v = m_strength->value();
    switch (method()) {
    case Method::Int8:
        m_strengthLabel->setText(tr("8 bits"));
        break;
    case Method::NBitsG32:
        m_strengthLabel->setText(tr("%1 bits").arg(v));
        break;
    case Method::PruneMagnitude:
        m_strengthLabel->setText(tr("%1% zeros").arg(v));
        break;
    case Method::Prune24:
        m_strengthLabel->setText(tr("2 of every 4"));
        break;
    case Method::LowRankFraction:
    case Method::LowRankData:
        m_strengthLabel->setText(tr("%1% of rank").arg(v));
        break;
    case Method::PruneFilters:
    case Method::PruneFiltersData:
        m_strengthLabel->setText(tr("%1% of filters").arg(v));
        break;
    case Method::PruneFfn:
    case Method::DecomposeFfn:
        m_strengthLabel->setText(tr("%1% of neurons").arg(v));
        break;
    case Method::PruneHeads:
        m_strengthLabel->setText(tr("%1% of heads").arg(v));
        break;
    case Method::LowRankRank:
        m_strengthLabel->setText(tr("rank %1").arg(v));
        break;
    case Method::BinaryCoded:
        m_strengthLabel->setText(tr("%1 sign planes").arg(v));
        break;
    }
}

by::CompressStep CompressionPanel::currentStep() const {
    by::CompressStep s;
    const int v = m_strength->value();
    switch (method()) {
    case Method::Int8:
        s.method = by::CompressMethod::QuantizeInt8;
        s.bits = 8;
        s.perChannel = true;
        break;
    case Method::NBitsG32:
        s.method = by::CompressMethod::QuantizeNBits;
        s.bits = v;
        s.group = 32;
        break;
    case Method::PruneMagnitude:
        s.method = by::CompressMethod::Prune;
        s.sparsity = v / 100.0;
        break;
    case Method::Prune24:
        s.method = by::CompressMethod::PruneNM;
        s.n = 2;
        s.m = 4;
        break;
    case Method::LowRankFraction:
        s.method = by::CompressMethod::LowRank;
        s.rankRatio = v / 100.0;
        break;
    case Method::LowRankRank:
        s.method = by::CompressMethod::LowRank;
        s.rank = v;
        break;
    case Method::BinaryCoded:
        s.method = by::CompressMethod::QuantizeBcq;
        s.bits = v;
        s.group = 64;
        break;
    case Method::PruneFilters:
    case Method::PruneFiltersData:
        s.method = by::CompressMethod::PruneChannels;
        s.sparsity = v / 100.0;
        s.norm = 1;
        if (method() == Method::PruneFiltersData) s.criterion = by::PruneCriterion::Beta;
        break;
    case Method::PruneFfn:
    case Method::PruneHeads:
        s.method = method() == Method::PruneFfn ? by::CompressMethod::PruneFfn : by::CompressMethod::PruneHeads;
        s.sparsity = v / 100.0;
        if (!m_qualityRequest.dataSpec.empty()) s.criterion = by::PruneCriterion::Activation;
        break;
    case Method::LowRankData:
        s.method = by::CompressMethod::LowRank;
        s.rankRatio = v / 100.0;
        s.activations.enabled = true;  // fitted to the layers' inputs
        break;
    case Method::DecomposeFfn:
        s.method = by::CompressMethod::Decompose;
        s.sparsity = v / 100.0;
        s.modules = "ffn";
        s.activations.enabled = true;
        break;
    }
    if (needsCalibration(s)) {
        by::ActivationCalibration& c = s.activations;
        c.enabled = true;
        c.data = m_qualityRequest.dataSpec;
        c.samples = kCalibrationSamples;
        // A normalisation the check's request names wins; else as the compress verb picks it.
        if (m_doc && !c.data.empty()) (void)by::cli::completeCalibration(*m_doc->model(), c, m_qualityRequest.normalize);
    }
    if (scope() == Scope::SelectedLayer) {
        const QString layer = selectedLayerName();
        if (!layer.isEmpty()) s.layers.names = {layer.toStdString()};
    }
    return s;
}

QString CompressionPanel::selectedLayerName() const {
    if (!m_doc) return {};
    const int node = m_doc->selectedNode();
    const auto& nodes = m_doc->model()->graph.nodes;
    if (node < 0 || node >= int(nodes.size())) return {};
    return qs(nodes[size_t(node)].name);
}

// ---- document and project --------------------------------------------------------------------------

void CompressionPanel::setDocument(ModelDocument* doc) {
    if (m_selectionConn) disconnect(m_selectionConn);
    m_doc = doc;
    if (doc) {
        m_selectionConn = connect(doc, &ModelDocument::nodeSelected, this, [this](int) {
            if (scope() == Scope::SelectedLayer) schedulePreview();
        });
        m_title->setText(tr("<b>%1</b>").arg(doc->title().toHtmlEscaped()));
    } else {
        m_title->setText(tr("Open a model to compress it."));
        m_table->setRowCount(0);
        m_totals->clear();
        m_message->clear();
        m_quality->clear();
        cancelQualityCheck();
    }
    setEnabled(doc != nullptr || m_applyJob != 0);
    updateButtons();
    if (doc) schedulePreview();
}

void CompressionPanel::setProject(by::Project* project, QUndoStack* undo) {
    m_project = project;
    m_undo = undo;
    ++m_projectGeneration; // an Apply started before records nothing in a different project
}

void CompressionPanel::updateButtons() {
    m_apply->setEnabled(m_doc && !m_applyJob);
    m_cancel->setEnabled(m_applyJob != 0 || m_qualityJob != 0);
    m_evaluate->setEnabled(!m_lastVariantPath.isEmpty() && !m_applyJob);
}

void CompressionPanel::showMessage(const QString& text, bool error) {
    if (text.isEmpty()) {
        m_message->clear();
        return;
    }
    m_message->setText(error
                           ? QStringLiteral("<span style='color:#b03020'>%1</span>").arg(text.toHtmlEscaped())
                           : text.toHtmlEscaped());
}

QString CompressionPanel::messageText() const {
    return plainText(m_message->text());
}

QString CompressionPanel::plainText(QString t) {
    t.remove(QRegularExpression(QStringLiteral("<[^>]*>")));
    return t.replace(QStringLiteral("&amp;"), QStringLiteral("&"))
        .replace(QStringLiteral("&lt;"), QStringLiteral("<"))
        .replace(QStringLiteral("&gt;"), QStringLiteral(">"))
        .replace(QStringLiteral("&quot;"), QStringLiteral("\""))
        .replace(QStringLiteral("&#39;"), QStringLiteral("'"));
}

QString CompressionPanel::totalsText() const {
    return m_totals->text();
}
bool CompressionPanel::isPreviewing() const {
    return m_previewJob != 0 || m_debounce->isActive();
}

// ---- preview ---------------------------------------------------------------------------------------

void CompressionPanel::schedulePreview() {
    if (!m_doc) return;
    // A hidden dock (tabbed behind the inspector) does not spend a worker on every tab change.
    if (!isVisible()) {
        m_previewStale = true;
        return;
    }
    m_previewStale = false;
    m_debounce->start();
}

void CompressionPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (m_previewStale) schedulePreview();
}

void CompressionPanel::startPreview() {
    if (!m_doc) return;
    if (m_previewJob) m_jobs->cancel(m_previewJob); // its result is dropped by the generation check
    cancelQualityCheck(); // it checked the recipe the controls no longer show
    const int generation = ++m_previewGeneration;
    std::shared_ptr<const by::Model> model = m_doc->model();
    by::CompressStep step = currentStep();
    const bool single = scope() == Scope::SelectedLayer;
    if (single && step.layers.names.empty()) {
        m_previewJob = 0;
        m_table->setRowCount(0);
        m_totals->clear();
        showMessage(tr("Select a layer with weights in the graph to preview it."), false);
        return;
    }
    const bool calibrated = needsCalibration(step);
    if (calibrated && step.activations.data.empty()) {
        m_previewJob = 0;
        m_table->setRowCount(0);
        m_totals->clear();
        showMessage(tr("This method ranks or fits on calibration samples: choose a dataset in the Evaluation panel."), false);
        return;
    }
    m_previewJob = m_jobs->run<PreviewResult>(
        tr("Preview %1").arg(qs(by::cli::stepLabel(step))),
        [model, step, single, calibrated](const by::Progress& p) -> by::Result<PreviewResult> {
            PreviewResult r;
            // One layer's report without building a model, unless the step needs the model run
            // on calibration samples: then the recipe limited to that layer is compressed.
            if (single && !calibrated) {
                auto row = by::previewLayer(*model, step.layers.names.front(), step);
                if (!row) return row.error();
                r.bytesBefore = row->bytesBefore;
                r.bytesAfter = row->bytesAfter;
                r.rows.push_back(std::move(*row));
                return r;
            }
            // The whole model: exactly the rows Apply will produce, skipped layers included.
            by::Recipe recipe;
            recipe.steps.push_back(step);
            by::CompressContext ctx = by::cli::replayContext(*model);
            ctx.progress = &p;
            auto c = by::compress(*model, recipe, ctx);
            if (!c) return c.error();
            for (const auto& l : c->layers) {
                r.bytesBefore += l.bytesBefore;
                r.bytesAfter += l.applied ? l.bytesAfter : l.bytesBefore;
            }
            r.rows = std::move(c->layers);
            r.compressed = std::make_shared<const by::Model>(std::move(c->model));
            return r;
        },
        [this, generation, step](by::Result<PreviewResult> r) {
            if (generation != m_previewGeneration) return; // a newer preview replaced this one
            m_previewJob = 0;
            if (!r) {
                if (r.error().code == by::ErrorCode::Cancelled) return;
                m_table->setRowCount(0);
                m_totals->clear();
                m_quality->clear();
                showMessage(sentenceOf(r.error()), true);
                return;
            }
            showMessage({}, false);
            showRows(r->rows, r->bytesBefore, r->bytesAfter);
            startQualityCheck(r->compressed, step);
        });
}

void CompressionPanel::showRows(const std::vector<by::LayerReport>& rows, int64_t bytesBefore,
                                int64_t bytesAfter) {
    m_table->setRowCount(int(rows.size()));
    for (int i = 0; i < int(rows.size()); ++i) {
        const auto& l = rows[size_t(i)];
        auto set = [&](int col, const QString& text) {
            m_table->setItem(i, col, new QTableWidgetItem(text));
        };
        set(0, qs(l.layer));
        m_table->item(i, 0)->setToolTip(tr("%1 (%2)").arg(qs(l.layer), qs(l.opType)));
        if (!l.applied) {
            set(1, QString());
            set(2, display::bytes(l.bytesBefore));
            set(3, tr("skipped: %1").arg(qs(l.note)));
            continue;
        }
        set(1, QString::number(l.relError, 'g', 4));
        set(2, tr("%1 → %2").arg(display::bytes(l.bytesBefore), display::bytes(l.bytesAfter)));
        set(3, qs(l.detail) +
                   (l.sparsity > 0 ? tr(", %1% zeros").arg(100.0 * l.sparsity, 0, 'f', 1) : QString()));
    }
    m_table->resizeColumnsToContents();
    if (rows.empty()) {
        m_totals->setText(tr("No layer this method can compress."));
        return;
    }
    m_totals->setText(tr("Weights of these layers: %1 → %2 (%3× smaller)")
                          .arg(display::bytes(bytesBefore), display::bytes(bytesAfter))
                          .arg(bytesAfter > 0 ? double(bytesBefore) / double(bytesAfter) : 0.0, 0, 'f', 2));
}

// ---- quality check ---------------------------------------------------------------------------------

void CompressionPanel::setQualityCheck(const by::cli::EvalRequest& request, int64_t samples) {
    by::cli::EvalRequest r = request;
    r.limit = samples;
    r.modelPath.clear(); // the panel's model, whichever tab that is
    r.batchSize = std::min<int64_t>(std::max<int64_t>(r.batchSize, 1), samples);
    const bool changed = r.dataSpec != m_qualityRequest.dataSpec || r.limit != m_qualityRequest.limit ||
                         r.task != m_qualityRequest.task || r.normalize != m_qualityRequest.normalize ||
                         r.split != m_qualityRequest.split;
    m_qualityRequest = r;
    if (!changed) return;
    m_qualityBase.reset();
    cancelQualityCheck();
    if (r.dataSpec.empty())
        m_quality->setText(tr("Choose a dataset in the Evaluation panel to check quality after each preview."));
    // The new dataset's figures for what the controls show now (data-driven methods also
    // calibrate on it).
    schedulePreview();
}

QString CompressionPanel::qualityText() const {
    return plainText(m_quality->text());
}

void CompressionPanel::cancelQualityCheck() {
    ++m_qualityGeneration; // a result still in flight is dropped
    if (m_qualityJob) m_jobs->cancel(m_qualityJob);
    m_qualityJob = 0;
    updateButtons();
}

void CompressionPanel::startQualityCheck(std::shared_ptr<const by::Model> compressed, const by::CompressStep& step) {
    cancelQualityCheck();
    if (!m_doc) return;
    if (m_qualityRequest.dataSpec.empty()) {
        m_quality->setText(tr("Choose a dataset in the Evaluation panel to check quality after each preview."));
        return;
    }
    const int generation = m_qualityGeneration;
    std::shared_ptr<const by::Model> model = m_doc->model();
    const std::string key = m_qualityRequest.dataSpec + '|' + m_qualityRequest.split + '|' +
                            std::to_string(m_qualityRequest.limit) + '|' + m_qualityRequest.normalize;
    std::shared_ptr<const by::EvalReport> base =
        (m_qualityBaseModel.lock() == model && m_qualityBaseKey == key) ? m_qualityBase : nullptr;
    const by::cli::EvalRequest request = m_qualityRequest;
    // "mnist:/long/path" reads as "mnist"; a bare folder as its name.
    const QString spec = qs(request.dataSpec);
    const int colon = spec.indexOf(QLatin1Char(':'));
    const QString dataName = colon > 1 ? spec.left(colon) : QFileInfo(spec).fileName();
    const QString what = tr("first %1 samples of %2").arg(request.limit).arg(dataName);
    m_quality->setText(tr("Checking quality on the %1…").arg(what));
    m_qualityJob = m_jobs->run<QualityResult>(
        tr("Check %1 on %2 samples").arg(qs(by::cli::stepLabel(step))).arg(request.limit),
        [model, compressed, step, base, request](const by::Progress& p) -> by::Result<QualityResult> {
            QElapsedTimer clock;
            clock.start();
            std::shared_ptr<const by::Model> variant = compressed;
            if (!variant) {
                by::Recipe recipe;
                recipe.steps.push_back(step);
                by::CompressContext ctx = by::cli::replayContext(*model);
                ctx.progress = &p;
                auto c = by::compress(*model, recipe, ctx);
                if (!c) return c.error();
                variant = std::make_shared<const by::Model>(std::move(c->model));
            }
            QualityResult q;
            q.base = base;
            if (!q.base) {
                auto b = by::cli::runEvaluation(*model, request, &p);
                if (!b) return b.error();
                q.base = std::make_shared<const by::EvalReport>(std::move(*b));
            }
            if (p.cancelled()) return by::makeError(by::ErrorCode::Cancelled, "cancelled");
            auto v = by::cli::runEvaluation(*variant, request, &p);
            if (!v) return v.error();
            q.variant = std::move(*v);
            q.seconds = clock.elapsed() / 1000.0;
            return q;
        },
        [this, generation, model, key, what](by::Result<QualityResult> r) {
            if (generation != m_qualityGeneration) return; // the controls moved on
            m_qualityJob = 0;
            updateButtons();
            if (!r) {
                if (r.error().code == by::ErrorCode::Cancelled) {
                    m_quality->setText(tr("Quality check stopped."));
                    return;
                }
                m_quality->setText(QStringLiteral("<span style='color:#b03020'>%1</span>")
                                       .arg(tr("Quality check: %1").arg(sentenceOf(r.error())).toHtmlEscaped()));
                return;
            }
            m_qualityBaseModel = model;
            m_qualityBaseKey = key;
            m_qualityBase = r->base;
            const auto before = mainMetric(*r->base), after = mainMetric(r->variant);
            if (!before || !after) {
                m_quality->setText(tr("Quality check: this dataset gives no accuracy figure."));
                return;
            }
            const double delta = after->value - before->value;
            const bool worse = after->higherIsBetter ? delta < 0 : delta > 0;
            const QString deltaText = after->percent ? tr("%1%2 points").arg(delta >= 0 ? "+" : "").arg(delta, 0, 'f', 2)
                                                     : tr("%1%2").arg(delta >= 0 ? "+" : "").arg(delta, 0, 'g', 4);
            m_quality->setText(tr("%1 on the %2: <b>%3</b> (original %4, <span style='color:%5'>%6</span>) in %7 s")
                                   .arg(after->name, what.toHtmlEscaped(), formatMetric(*after), formatMetric(*before),
                                        worse && std::abs(delta) > 1e-9 ? QStringLiteral("#b03020") : QStringLiteral("#2a7a2a"),
                                        deltaText)
                                   .arg(r->seconds, 0, 'f', 2));
        });
    updateButtons();
}

// ---- apply -----------------------------------------------------------------------------------------

QString CompressionPanel::outputPathFor(const by::Recipe& recipe) const {
    const QFileInfo model(m_doc->path());
    const QString dir = m_project ? qs(m_project->folder()) : model.absolutePath();
    std::string label;
    for (const auto& s : recipe.steps)
        label += (label.empty() ? "" : "+") + by::cli::stepLabel(s);
    QString tag;
    for (char ch : label)
        tag += std::isalnum(static_cast<unsigned char>(ch)) ? QChar::fromLatin1(ch) : QLatin1Char('_');
    // Never the parent's file, never an earlier variant's: a free name.
    const QString base = QDir(dir).filePath(model.completeBaseName() + QLatin1Char('.') + tag);
    QString path = base + QStringLiteral(".onnx");
    for (int i = 2; QFileInfo::exists(path) || QFileInfo(path) == model; ++i)
        path = base + QStringLiteral("-%1.onnx").arg(i);
    return path;
}

int CompressionPanel::apply() {
    if (!m_doc) {
        showMessage(tr("Open a model before compressing it."), true);
        return 0;
    }
    if (m_applyJob) {
        showMessage(tr("A compression is already running; cancel it or wait for it."), true);
        return 0;
    }
    std::shared_ptr<const by::Model> model = m_doc->model();
    by::Recipe recipe;
    recipe.steps.push_back(currentStep());
    if (scope() == Scope::SelectedLayer && recipe.steps.front().layers.names.empty()) {
        showMessage(tr("Select a layer with weights in the graph, or choose the whole model."), true);
        return 0;
    }
    // Refused recipes stop here, before any file or project row exists.
    if (auto st = by::validateRecipe(*model, recipe); !st) {
        showMessage(sentenceOf(st.error()), true);
        emit errorOccurred(sentenceOf(st.error()));
        return 0;
    }
    const std::string out = outputPathFor(recipe).toStdString();
    m_applyAssetId = m_doc->projectAsset();
    m_applyProjectGeneration = m_projectGeneration;
    m_applySource = QFileInfo(m_doc->path()).fileName();
    m_applyOut = QString::fromStdString(out);
    showMessage(tr("Compressing…"), false);
    m_applyJob = m_jobs->run<CompressOutcome>(
        tr("Compress %1").arg(QFileInfo(m_doc->path()).fileName()),
        [model, recipe, out](const by::Progress& p) -> by::Result<CompressOutcome> {
            by::CompressContext ctx = by::cli::replayContext(*model);
            ctx.progress = &p;
            auto c = by::compress(*model, recipe, ctx);
            if (!c) return c.error();
            if (p.cancelled()) return by::makeError(by::ErrorCode::Cancelled, "cancelled");
            if (auto st = by::saveModel(c->model, out); !st) return st.error();
            CompressOutcome o;
            o.path = out;
            std::error_code ec;
            const auto size = std::filesystem::file_size(out, ec);
            o.fileBytes = ec ? 0 : int64_t(size);
            o.paramsAfter = c->paramsAfter;
            o.bytesBefore = c->bytesBefore;
            o.bytesAfter = c->bytesAfter;
            o.layers = std::move(c->layers);
            o.recipe = recipe;
            return o;
        },
        [this](by::Result<CompressOutcome> r) { onApplyFinished(std::move(r)); });
    updateButtons();
    return m_applyJob;
}

void CompressionPanel::onApplyFinished(by::Result<CompressOutcome> r) {
    m_applyJob = 0;
    updateButtons();
    if (!r) {
        if (r.error().code == by::ErrorCode::Cancelled) {
            // The worker may have written the file just before the cancel reached it; the name was
            // free when Apply started, so the file is ours to remove.
            if (!m_applyOut.isEmpty()) QFile::remove(m_applyOut);
            showMessage(tr("Compression cancelled; nothing was written."), false);
            emit info(tr("Compression cancelled."));
            return;
        }
        const QString s = sentenceOf(r.error());
        showMessage(s, true);
        emit errorOccurred(s);
        return;
    }
    const QString path = qs(r->path);
    const QString name = QFileInfo(path).fileName();
    m_lastVariantPath = path;
    showRows(r->layers, r->bytesBefore, r->bytesAfter);
    QString where;
    // The asset and project as they were when Apply started: the tab or project may have changed.
    const int64_t assetId = m_applyAssetId;
    if (m_project && m_projectGeneration == m_applyProjectGeneration && m_undo && assetId > 0) {
        auto root = m_project->rootVariant(assetId);
        if (!root) {
            showMessage(sentenceOf(root.error()), true);
            emit errorOccurred(sentenceOf(root.error()));
            updateButtons();
            return;
        }
        ProjectCommandHooks hooks;
        hooks.changed = [this]() { emit projectChanged(); };
        hooks.failed = [this](const QString& s) {
            showMessage(s, true);
            emit errorOccurred(s);
        };
        AddVariantCommand::Spec spec;
        spec.assetId = assetId;
        spec.parentId = root->id;
        std::string label;
        for (const auto& s : r->recipe.steps)
            label += (label.empty() ? "" : " + ") + by::cli::stepLabel(s);
        spec.name = label;
        spec.recipeJson = by::cli::recipeToJson(r->recipe);
        spec.sizeBytes = r->fileBytes;
        spec.parameterCount = r->paramsAfter;
        // Relative to the project folder, so the note stays right when the project moves.
        spec.filePath = QDir(qs(m_project->folder())).relativeFilePath(path).toStdString();
        auto* cmd = new AddVariantCommand(*m_project, hooks, spec);
        const int before = m_undo->count();
        m_undo->push(cmd); // a step that failed is obsolete: the stack deletes it at once
        if (m_undo->count() == before) {
            m_lastVariantId = 0;
            updateButtons();
            return; // the hook has shown the sentence
        }
        m_lastVariantId = cmd->variantId();
        where = tr(" and recorded it as variant \"%1\"").arg(qs(label));
    } else {
        m_lastVariantId = 0;
        where = tr(" (not recorded: the model is not part of an open project)");
    }
    showMessage(tr("Wrote %1 (%2)%3. Evaluate it?").arg(name, display::bytes(r->fileBytes), where), false);
    emit info(tr("Compressed %1 into %2%3.").arg(m_applySource, name, where));
    updateButtons();
}
