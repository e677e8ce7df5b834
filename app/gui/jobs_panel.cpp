#include "app/gui/jobs_panel.h"

#include "app/gui/job_manager.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace {
enum Column { NameColumn, ProgressColumn, StatusColumn, CancelColumn };
constexpr int kJobIdRole = Qt::UserRole + 1;
constexpr int kFinishedRole = Qt::UserRole + 2;
} // namespace

JobsPanel::JobsPanel(JobManager* jobs, QWidget* parent) : QWidget(parent), m_jobs(jobs) {
    m_list = new QTreeWidget(this);
    m_list->setObjectName(QStringLiteral("jobsList"));
    m_list->setColumnCount(4);
    m_list->setHeaderLabels({tr("Job"), tr("Progress"), tr("Status"), QString()});
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    m_list->setSelectionMode(QAbstractItemView::NoSelection);
    m_list->setFocusPolicy(Qt::NoFocus);
    QHeaderView* header = m_list->header();
    header->setStretchLastSection(false);
    header->setMinimumSectionSize(8);
    header->setSectionResizeMode(NameColumn, QHeaderView::Stretch);
    header->setSectionResizeMode(ProgressColumn, QHeaderView::Fixed);
    header->setSectionResizeMode(StatusColumn, QHeaderView::Stretch);
    // Only running jobs have a Cancel button: the column takes room only while one does.
    header->setSectionResizeMode(CancelColumn, QHeaderView::ResizeToContents);
    header->resizeSection(ProgressColumn, 70);

    m_summary = new QLabel(this);
    auto* clear = new QToolButton(this);
    clear->setText(tr("Clear finished"));
    clear->setAutoRaise(true);
    connect(clear, &QToolButton::clicked, this, &JobsPanel::clearFinished);

    auto* top = new QHBoxLayout;
    top->setContentsMargins(6, 2, 2, 0);
    top->addWidget(m_summary, 1);
    top->addWidget(clear);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(top);
    layout->addWidget(m_list);

    connect(m_jobs, &JobManager::jobStarted, this, &JobsPanel::onStarted);
    connect(m_jobs, &JobManager::jobProgress, this, &JobsPanel::onProgress);
    connect(m_jobs, &JobManager::jobFinished, this, &JobsPanel::onFinished);
    updateSummary();
}

int JobsPanel::rowCount() const {
    return m_list->topLevelItemCount();
}

bool JobsPanel::cancelRow(int jobId) {
    if (!m_jobs->isRunning(jobId)) return false;
    m_jobs->cancel(jobId);
    auto it = m_rows.find(jobId);
    if (it != m_rows.end()) it->second.item->setText(StatusColumn, tr("Cancelling..."));
    return true;
}

void JobsPanel::clearFinished() {
    for (int i = m_list->topLevelItemCount() - 1; i >= 0; --i) {
        QTreeWidgetItem* item = m_list->topLevelItem(i);
        if (item->data(0, kFinishedRole).toBool()) {
            m_rows.erase(item->data(0, kJobIdRole).toInt());
            delete m_list->takeTopLevelItem(i);
        }
    }
    updateSummary();
}

void JobsPanel::onStarted(int id, const QString& name) {
    auto* item = new QTreeWidgetItem;
    item->setText(NameColumn, name);
    item->setToolTip(NameColumn, name);
    item->setText(StatusColumn, tr("Starting"));
    item->setData(0, kJobIdRole, id);
    item->setData(0, kFinishedRole, false);
    m_list->insertTopLevelItem(0, item);

    auto* bar = new QProgressBar;
    bar->setRange(0, 1000);
    bar->setValue(0);
    bar->setTextVisible(false);
    bar->setMaximumHeight(12);
    m_list->setItemWidget(item, ProgressColumn, bar);

    auto* cancel = new QToolButton;
    cancel->setText(tr("Cancel"));
    cancel->setToolTip(tr("Stop this job"));
    connect(cancel, &QToolButton::clicked, this, [this, id]() { cancelRow(id); });
    m_list->setItemWidget(item, CancelColumn, cancel);

    Row row;
    row.item = item;
    row.clock.start();
    m_rows[id] = row;
    updateSummary();
}

void JobsPanel::onProgress(int id, double fraction, const QString& stage) {
    auto it = m_rows.find(id);
    if (it == m_rows.end()) return;
    QTreeWidgetItem* item = it->second.item;
    if (auto* bar = qobject_cast<QProgressBar*>(m_list->itemWidget(item, ProgressColumn)))
        bar->setValue(static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 1000));
    if (!m_jobs->isRunning(id)) return;
    item->setText(StatusColumn, stage.isEmpty() ? QStringLiteral("%1%").arg(int(fraction * 100)) : stage);
}

void JobsPanel::onFinished(int id, bool ok, bool cancelled, const QString& message) {
    auto it = m_rows.find(id);
    if (it == m_rows.end()) return;
    QTreeWidgetItem* item = it->second.item;
    const double seconds = it->second.clock.elapsed() / 1000.0;
    item->setData(0, kFinishedRole, true);
    if (auto* bar = qobject_cast<QProgressBar*>(m_list->itemWidget(item, ProgressColumn))) {
        if (ok)
            bar->setValue(bar->maximum());
        else
            bar->setEnabled(false);
    }
    m_list->removeItemWidget(item, CancelColumn);
    if (ok) {
        item->setText(StatusColumn, tr("Done in %1 s").arg(seconds, 0, 'f', seconds < 10 ? 2 : 1));
    } else if (cancelled) {
        item->setText(StatusColumn, tr("Cancelled"));
        item->setForeground(StatusColumn, palette().color(QPalette::Disabled, QPalette::Text));
    } else {
        item->setText(StatusColumn, tr("Failed: %1").arg(message));
        item->setToolTip(StatusColumn, message);
        item->setForeground(StatusColumn, QColor(0xb0, 0x20, 0x20));
    }

    // Drop the oldest finished rows beyond the limit (rows are newest first).
    int finished = 0;
    for (int i = 0; i < m_list->topLevelItemCount(); ++i) {
        QTreeWidgetItem* row = m_list->topLevelItem(i);
        if (!row->data(0, kFinishedRole).toBool()) continue;
        if (++finished > kMaxFinishedRows) {
            m_rows.erase(row->data(0, kJobIdRole).toInt());
            delete m_list->takeTopLevelItem(i--);
        }
    }
    updateSummary();
}

void JobsPanel::updateSummary() {
    const int running = m_jobs->activeCount();
    m_summary->setText(running == 0 ? tr("No jobs running") : tr("%n job(s) running", nullptr, running));
}
