#include "app/gui/welcome_page.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>

namespace {
QLabel* heading(const QString& text, QWidget* parent, double scale) {
    auto* l = new QLabel(text, parent);
    QFont f = l->font();
    f.setPointSizeF(f.pointSizeF() * scale);
    f.setBold(true);
    l->setFont(f);
    return l;
}

QListWidget* recentList(QWidget* parent) {
    auto* list = new QListWidget(parent);
    list->setFrameShape(QFrame::NoFrame);
    list->setMinimumWidth(260);
    list->setUniformItemSizes(true);
    return list;
}

void fillList(QListWidget* list, const QStringList& paths, const QString& empty) {
    list->clear();
    for (const QString& p : paths) {
        auto* item = new QListWidgetItem(QFileInfo(p).fileName(), list);
        item->setToolTip(p);
        item->setData(Qt::UserRole, p);
    }
    if (paths.isEmpty()) {
        auto* item = new QListWidgetItem(empty, list);
        item->setFlags(Qt::NoItemFlags);
    }
    // As tall as its rows (up to eight), so the two lists sit close together.
    const int rows = std::min(list->count(), 8);
    list->setFixedHeight(rows * std::max(list->sizeHintForRow(0), list->fontMetrics().height() + 4) +
                         2 * list->frameWidth() + 4);
}
} // namespace

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("welcomePage"));
    setAutoFillBackground(true);
    QPalette pal = palette();
    pal.setColor(QPalette::Window, pal.color(QPalette::Base));
    setPalette(pal);

    auto* title = heading(tr("Brickyard"), this, 2.2);
    auto* subtitle =
        new QLabel(tr("Open a model, look inside it, compress it and watch what that costs."), this);
    subtitle->setForegroundRole(QPalette::PlaceholderText);

    auto button = [this](const QString& text, void (WelcomePage::*signal)()) {
        auto* b = new QPushButton(text, this);
        b->setMinimumWidth(200);
        connect(b, &QPushButton::clicked, this, signal);
        return b;
    };
    auto* actions = new QVBoxLayout;
    actions->setSpacing(6);
    actions->addWidget(heading(tr("Start"), this, 1.1));
    actions->addWidget(button(tr("Open Model...   Ctrl+O"), &WelcomePage::openModelRequested));
    actions->addWidget(button(tr("Open Project...   Ctrl+Shift+O"), &WelcomePage::openProjectRequested));
    actions->addWidget(button(tr("New Project...   Ctrl+N"), &WelcomePage::newProjectRequested));
    actions->addWidget(button(tr("Open the Demo Project"), &WelcomePage::openDemoRequested));
    auto* dropHint = new QLabel(
        tr("Or drop model files (.onnx, .tflite, .gguf, .safetensors) anywhere on this window."), this);
    dropHint->setWordWrap(true);
    dropHint->setForegroundRole(QPalette::PlaceholderText);
    actions->addSpacing(8);
    actions->addWidget(dropHint);
    actions->addStretch(1);

    m_files = recentList(this);
    m_projects = recentList(this);
    connect(m_files, &QListWidget::itemActivated, this, [this](QListWidgetItem* i) {
        if (i->data(Qt::UserRole).isValid()) emit recentFileRequested(i->data(Qt::UserRole).toString());
    });
    connect(m_projects, &QListWidget::itemActivated, this, [this](QListWidgetItem* i) {
        if (i->data(Qt::UserRole).isValid()) emit recentProjectRequested(i->data(Qt::UserRole).toString());
    });
    auto* recent = new QVBoxLayout;
    recent->setSpacing(6);
    recent->addWidget(heading(tr("Recent projects"), this, 1.1));
    recent->addWidget(m_projects);
    recent->addSpacing(12);
    recent->addWidget(heading(tr("Recent files"), this, 1.1));
    recent->addWidget(m_files);
    recent->addStretch(1);

    auto* columns = new QHBoxLayout;
    columns->setSpacing(48);
    columns->addLayout(actions);
    columns->addLayout(recent);

    auto* inner = new QVBoxLayout;
    inner->setSpacing(8);
    inner->addWidget(title);
    inner->addWidget(subtitle);
    inner->addSpacing(24);
    inner->addLayout(columns);

    auto* outer = new QHBoxLayout(this);
    outer->addStretch(1);
    auto* centre = new QVBoxLayout;
    centre->addStretch(1);
    centre->addLayout(inner);
    centre->addStretch(2);
    outer->addLayout(centre);
    outer->addStretch(1);
    setRecent({}, {});
}

void WelcomePage::setRecent(const QStringList& files, const QStringList& projects) {
    fillList(m_files, files, tr("No recent files"));
    fillList(m_projects, projects, tr("No recent projects"));
}
