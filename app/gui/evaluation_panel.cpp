#include "app/gui/evaluation_panel.h"

#include "app/gui/confusion_matrix_widget.h"
#include "projects/project_records.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

namespace {

QString percent(double v) { return QStringLiteral("%1%").arg(v * 100.0, 0, 'f', 2); }

QString bytesText(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (b >= 1024 && u < 3) {
        b /= 1024;
        ++u;
    }
    return QStringLiteral("%1 %2").arg(b, 0, 'f', u ? 1 : 0).arg(QLatin1String(units[u]));
}

QTableWidget* makeTable(const QStringList& headers, QWidget* parent) {
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->setVisible(false);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setWordWrap(false);
    return t;
}

} // namespace

EvaluationPanel::EvaluationPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    m_title = new QLabel(tr("Open a model to evaluate it."), this);
    m_title->setWordWrap(true);
    layout->addWidget(m_title);

    auto* form = new QFormLayout();
    m_presets = new QComboBox(this);
    m_presets->addItem(tr("Choose a dataset…"), QString());
    connect(m_presets, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        const QString spec = m_presets->itemData(i).toString();
        if (!spec.isEmpty()) setDataSpec(spec);
    });
    form->addRow(tr("Dataset"), m_presets);
    auto* specRow = new QHBoxLayout();
    m_spec = new QLineEdit(this);
    m_spec->setPlaceholderText(QStringLiteral("mnist:DIR, images:DIR, wav:DIR …"));
    // Typed specs count when the typing is done (other panels start work on a new dataset).
    connect(m_spec, &QLineEdit::editingFinished, this, &EvaluationPanel::requestChanged);
    auto* browse = new QPushButton(tr("Folder…"), this);
    connect(browse, &QPushButton::clicked, this, [this]() {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Dataset Folder"));
        if (!dir.isEmpty()) setDataSpec(dir);
    });
    specRow->addWidget(m_spec, 1);
    specRow->addWidget(browse);
    form->addRow(tr("Spec"), specRow);
    m_task = new QComboBox(this);
    m_task->addItem(tr("Automatic"), int(by::EvalTask::Auto));
    m_task->addItem(tr("Classification"), int(by::EvalTask::Classification));
    m_task->addItem(tr("Text recognition (CTC)"), int(by::EvalTask::Ctc));
    m_task->addItem(tr("Language model (perplexity)"), int(by::EvalTask::LanguageModel));
    form->addRow(tr("Task"), m_task);
    auto* sizes = new QHBoxLayout();
    m_batch = new QSpinBox(this);
    m_batch->setRange(1, 4096);
    m_batch->setValue(64);
    m_limit = new QSpinBox(this);
    m_limit->setRange(0, 10000000);
    m_limit->setSpecialValueText(tr("all"));
    m_limit->setValue(0);
    sizes->addWidget(new QLabel(tr("batch"), this));
    sizes->addWidget(m_batch);
    sizes->addWidget(new QLabel(tr("samples"), this));
    sizes->addWidget(m_limit, 1);
    form->addRow(tr("Run"), sizes);
    layout->addLayout(form);

    auto* buttons = new QHBoxLayout();
    m_run = new QPushButton(tr("Evaluate"), this);
    m_run->setObjectName(QStringLiteral("evaluateButton"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    connect(m_run, &QPushButton::clicked, this, [this]() {
        if (m_modelPath.isEmpty() || m_spec->text().trimmed().isEmpty()) {
            showError(tr("Choose a dataset first."));
            return;
        }
        emit evaluateRequested(request());
    });
    connect(m_cancel, &QPushButton::clicked, this, &EvaluationPanel::cancelRequested);
    buttons->addWidget(m_run);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    layout->addLayout(buttons);

    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setTextFormat(Qt::RichText);
    layout->addWidget(m_summary);

    auto* tabs = new QTabWidget(this);
    m_confusion = new ConfusionMatrixWidget(tabs);
    tabs->addTab(m_confusion, tr("Confusion"));
    m_mistakes = makeTable({tr("sample"), tr("expected"), tr("got")}, tabs);
    tabs->addTab(m_mistakes, tr("Mistakes"));
    m_history = makeTable({tr("when"), tr("metric"), tr("value")}, tabs);
    tabs->addTab(m_history, tr("History"));
    layout->addWidget(tabs, 1);
    setModel({}, {});
}

void EvaluationPanel::setModel(const QString& modelPath, const QString& title) {
    m_modelPath = modelPath;
    m_title->setText(modelPath.isEmpty() ? tr("Open a model to evaluate it.")
                                         : tr("<b>%1</b>").arg(title.toHtmlEscaped()));
    m_run->setEnabled(!modelPath.isEmpty() && !m_running);
}

void EvaluationPanel::setCacheDir(const QString& cacheDir) {
    while (m_presets->count() > 1) m_presets->removeItem(1);
    const QDir d(cacheDir);
    struct Preset {
        const char* label;
        const char* prefix;
        const char* path;
    };
    const Preset presets[] = {
        {"MNIST test set", "mnist:", "data/mnist"},
        {"Fashion-MNIST test set", "fashion-mnist:", "/usr/share/datasets/fashion-mnist"},
        {"Rendered text lines (OCR)", "images:", "data/textlines"},
        {"E-mail test text (language models)", "text:", "data/lm/test.txt"},
    };
    for (const auto& p : presets) {
        const QString path = QDir::isAbsolutePath(QLatin1String(p.path)) ? QString::fromLatin1(p.path)
                                                                       : d.filePath(QLatin1String(p.path));
        if (QFileInfo::exists(path)) m_presets->addItem(tr(p.label), QLatin1String(p.prefix) + path);
    }
}

void EvaluationPanel::setDataSpec(const QString& spec) {
    m_spec->setText(spec);
    emit requestChanged();
}
QString EvaluationPanel::dataSpec() const { return m_spec->text().trimmed(); }

by::cli::EvalRequest EvaluationPanel::request() const {
    by::cli::EvalRequest r;
    r.modelPath = m_modelPath.toStdString();
    r.dataSpec = dataSpec().toStdString();
    r.task = by::EvalTask(m_task->currentData().toInt());
    r.batchSize = m_batch->value();
    r.limit = m_limit->value();
    return r;
}

void EvaluationPanel::setRunning(bool running) {
    m_running = running;
    m_run->setEnabled(!running && !m_modelPath.isEmpty());
    m_cancel->setEnabled(running);
    if (running) m_summary->setText(tr("Evaluating…"));
}

void EvaluationPanel::showReport(const by::EvalReport& r) {
    QString html;
    html += tr("<b>%1</b> samples of %2<br>").arg(r.samples).arg(QString::fromStdString(r.datasetName).toHtmlEscaped());
    if (r.classification) {
        html += tr("top-1 <b>%1</b> &nbsp; top-5 %2<br>").arg(percent(r.classification->top1()), percent(r.classification->top5()));
        std::vector<int64_t> m = r.classification->confusion();
        QStringList names;
        for (const auto& n : r.classNames) names << QString::fromStdString(n);
        m_confusion->setMatrix(std::move(m), int(r.classification->classes()), names);
    } else {
        m_confusion->clear();
    }
    if (r.language) {
        html += tr("perplexity <b>%1</b> over %2 predictions (%3 chunks of %4 tokens), %5 tokens/s<br>")
                    .arg(r.language->perplexity, 0, 'f', 2)
                    .arg(r.language->scored)
                    .arg(r.language->chunks)
                    .arg(r.language->context)
                    .arg(r.language->tokensPerSecond, 0, 'f', 0);
    }
    if (r.text) {
        html += tr("characters <b>%1</b> &nbsp; lines %2 (%3 of %4)<br>")
                    .arg(percent(r.text->charAccuracy()), percent(r.text->lineAccuracy()))
                    .arg(r.text->exactLines())
                    .arg(r.text->lines());
    }
    html += tr("latency p50 %1 ms, p95 %2 ms per batch of %3 (%4 ms per sample)<br>")
                .arg(r.batchLatency.p50 * 1e3, 0, 'f', 2)
                .arg(r.batchLatency.p95 * 1e3, 0, 'f', 2)
                .arg(r.batchSize)
                .arg(r.secondsPerSample * 1e3, 0, 'f', 3);
    html += tr("peak memory %1, weights %2").arg(bytesText(double(r.peakResidentBytes)), bytesText(double(r.modelWeightBytes)));
    m_summary->setText(html);
    m_mistakes->setRowCount(int(r.mistakes.size()));
    for (int i = 0; i < int(r.mistakes.size()); ++i) {
        const auto& e = r.mistakes[size_t(i)];
        m_mistakes->setItem(i, 0, new QTableWidgetItem(QString::number(e.index)));
        m_mistakes->setItem(i, 1, new QTableWidgetItem(QString::fromStdString(e.expected)));
        m_mistakes->setItem(i, 2, new QTableWidgetItem(QString::fromStdString(e.predicted)));
    }
    m_mistakes->resizeColumnsToContents();
}

void EvaluationPanel::showError(const QString& sentence) {
    m_summary->setText(QStringLiteral("<span style='color:#b03020'>%1</span>").arg(sentence.toHtmlEscaped()));
}

void EvaluationPanel::setHistory(const std::vector<by::Evaluation>& rows) {
    m_history->setRowCount(int(rows.size()));
    for (int i = 0; i < int(rows.size()); ++i) {
        const auto& e = rows[size_t(i)];
        const bool fraction = e.metric.find("accuracy") != std::string::npos || e.metric == "top1" || e.metric == "top5";
        m_history->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(e.createdAt)));
        m_history->setItem(i, 1, new QTableWidgetItem(QString::fromStdString(e.metric)));
        m_history->setItem(i, 2, new QTableWidgetItem(fraction ? percent(e.value) : QString::number(e.value, 'g', 6)));
    }
    m_history->resizeColumnsToContents();
}

QString EvaluationPanel::summaryText() const { return m_summary->text(); }
int EvaluationPanel::historyRows() const { return m_history->rowCount(); }
