#include "app/gui/log_panel.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDateTime>
#include <QHeaderView>
#include <QStyle>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace {
constexpr int kSeverityRole = Qt::UserRole + 1;

QString severityName(LogPanel::Severity s) {
    switch (s) {
    case LogPanel::Severity::Info:
        return QStringLiteral("Info");
    case LogPanel::Severity::Warning:
        return QStringLiteral("Warning");
    case LogPanel::Severity::Error:
        return QStringLiteral("Error");
    }
    return {};
}

QIcon severityIcon(const QStyle* style, LogPanel::Severity s) {
    switch (s) {
    case LogPanel::Severity::Info:
        return style->standardIcon(QStyle::SP_MessageBoxInformation);
    case LogPanel::Severity::Warning:
        return style->standardIcon(QStyle::SP_MessageBoxWarning);
    case LogPanel::Severity::Error:
        return style->standardIcon(QStyle::SP_MessageBoxCritical);
    }
    return {};
}
} // namespace

LogPanel::LogPanel(QWidget* parent) : QWidget(parent) {
    m_list = new QTreeWidget(this);
    m_list->setObjectName(QStringLiteral("logList"));
    m_list->setColumnCount(3);
    m_list->setHeaderLabels({tr("Time"), tr("Level"), tr("Message")});
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    m_list->setAlternatingRowColors(true);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setIconSize(QSize(14, 14));
    m_list->header()->setStretchLastSection(true);
    m_list->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_list->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_list->setContextMenuPolicy(Qt::ActionsContextMenu);

    auto* copy = new QAction(tr("Copy"), m_list);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetShortcut);
    connect(copy, &QAction::triggered, this, [this]() {
        QStringList lines;
        for (QTreeWidgetItem* item : m_list->selectedItems())
            lines << item->text(0) + QLatin1Char(' ') + item->text(1) + QLatin1Char(' ') + item->text(2);
        QApplication::clipboard()->setText(lines.join(QLatin1Char('\n')));
    });
    auto* clearAction = new QAction(tr("Clear Log"), m_list);
    connect(clearAction, &QAction::triggered, this, &LogPanel::clear);
    m_list->addAction(copy);
    m_list->addAction(clearAction);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_list);
}

void LogPanel::append(Severity severity, const QString& message) {
    auto* item = new QTreeWidgetItem(m_list);
    item->setText(0, QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss")));
    item->setText(1, severityName(severity));
    item->setIcon(1, severityIcon(style(), severity));
    item->setText(2, message);
    item->setToolTip(2, message);
    item->setData(0, kSeverityRole, static_cast<int>(severity));
    if (severity == Severity::Error) item->setForeground(2, QColor(0xb0, 0x20, 0x20));
    while (m_list->topLevelItemCount() > kMaxEntries)
        delete m_list->takeTopLevelItem(0);
    m_list->scrollToItem(item);
    emit entryAdded(severity, message);
}

void LogPanel::clear() {
    m_list->clear();
}

int LogPanel::entryCount() const {
    return m_list->topLevelItemCount();
}

QString LogPanel::entryMessage(int row) const {
    const QTreeWidgetItem* item = m_list->topLevelItem(row);
    return item ? item->text(2) : QString();
}

LogPanel::Severity LogPanel::entrySeverity(int row) const {
    const QTreeWidgetItem* item = m_list->topLevelItem(row);
    return item ? static_cast<Severity>(item->data(0, kSeverityRole).toInt()) : Severity::Info;
}

int LogPanel::countOf(Severity severity) const {
    int n = 0;
    for (int i = 0; i < m_list->topLevelItemCount(); ++i)
        if (entrySeverity(i) == severity) ++n;
    return n;
}
