#include "app/gui/project_panel.h"

#include "app/gui/display_format.h"
#include "projects/project.h"

#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QStandardItemModel>
#include <QStyle>
#include <QTreeView>
#include <QVBoxLayout>
#include <map>
#include <set>

namespace {
QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QString groupTitle(by::AssetKind k) {
    switch (k) {
    case by::AssetKind::Model:
        return QObject::tr("Models");
    case by::AssetKind::Dataset:
        return QObject::tr("Datasets");
    case by::AssetKind::Scene:
        return QObject::tr("Scenes");
    case by::AssetKind::Other:
        return QObject::tr("Other files");
    }
    return {};
}

QStandardItem* makeItem(const QString& text, ProjectPanel::ItemKind kind) {
    auto* item = new QStandardItem(text);
    item->setEditable(false);
    item->setData(static_cast<int>(kind), ProjectPanel::KindRole);
    item->setToolTip(text);
    return item;
}

QStandardItem* detailItem(const QString& text) {
    auto* item = new QStandardItem(text);
    item->setEditable(false);
    item->setForeground(QPalette().color(QPalette::PlaceholderText));
    return item;
}
} // namespace

ProjectPanel::ProjectPanel(QWidget* parent) : QWidget(parent) {
    m_header = new QLabel(this);
    m_header->setObjectName(QStringLiteral("projectHeader"));
    m_header->setWordWrap(true);
    m_header->setContentsMargins(8, 6, 8, 4);

    m_model = new QStandardItemModel(this);
    m_model->setHorizontalHeaderLabels({tr("Name"), tr("Details")});
    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("projectTree"));
    m_view->setModel(m_model);
    m_view->setUniformRowHeights(true);
    m_view->setHeaderHidden(true);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_view->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_view->setFrameShape(QFrame::NoFrame);
    // activated: a double-click (or a single click where the platform says so) and Enter.
    connect(m_view, &QTreeView::activated, this, &ProjectPanel::activateIndex);
    connect(m_view, &QTreeView::customContextMenuRequested, this, &ProjectPanel::onContextMenu);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_header);
    layout->addWidget(m_view, 1);
    setProject(nullptr);
}

void ProjectPanel::setProject(by::Project* project) {
    m_project = project;
    refresh();
}

QStandardItem* ProjectPanel::assetItem(int64_t assetId) const {
    for (int g = 0; g < m_model->rowCount(); ++g) {
        QStandardItem* group = m_model->item(g);
        for (int r = 0; r < group->rowCount(); ++r) {
            QStandardItem* item = group->child(r);
            if (item->data(KindRole).toInt() == int(ItemKind::Asset) &&
                item->data(AssetIdRole).toLongLong() == assetId)
                return item;
        }
    }
    return nullptr;
}

void ProjectPanel::refresh() {
    // Remember which groups and assets were collapsed by the person, to keep their view.
    std::set<QString> collapsed;
    for (int g = 0; g < m_model->rowCount(); ++g) {
        QStandardItem* group = m_model->item(g);
        if (!m_view->isExpanded(group->index())) collapsed.insert(group->text());
    }
    const bool firstFill = m_model->rowCount() == 0;
    m_model->removeRows(0, m_model->rowCount());
    m_assetCount = 0;

    if (!m_project) {
        m_header->setText(
            tr("<b>No project open</b><br><span style='color:gray'>File &gt; New Project or Open "
               "Project to keep models, variants and notes together.</span>"));
        return;
    }
    m_header->setText(tr("<b>%1</b><br><span style='color:gray'>%2</span>")
                          .arg(qs(m_project->name()).toHtmlEscaped(),
                               QFileInfo(qs(m_project->path())).fileName().toHtmlEscaped()));
    m_header->setToolTip(qs(m_project->path()));

    auto assets = m_project->assets();
    if (!assets) {
        emit errorOccurred(qs(assets.error().what()));
        return;
    }
    auto variants = m_project->variants();
    if (!variants) {
        emit errorOccurred(qs(variants.error().what()));
        return;
    }
    std::map<int64_t, std::vector<const by::Variant*>> variantsOf;
    for (const auto& v : *variants)
        variantsOf[v.assetId].push_back(&v);

    const QIcon fileIcon = style()->standardIcon(QStyle::SP_FileIcon);
    const QIcon dirIcon = style()->standardIcon(QStyle::SP_DirIcon);
    const QIcon missingIcon = style()->standardIcon(QStyle::SP_MessageBoxWarning);
    std::map<by::AssetKind, QStandardItem*> groups;
    for (by::AssetKind kind :
         {by::AssetKind::Model, by::AssetKind::Dataset, by::AssetKind::Scene, by::AssetKind::Other}) {
        bool any = false;
        for (const auto& a : *assets)
            any = any || a.kind == kind;
        if (!any && kind != by::AssetKind::Model) continue;
        auto* group = makeItem(groupTitle(kind), ItemKind::Group);
        QFont f = group->font();
        f.setBold(true);
        group->setFont(f);
        m_model->appendRow({group, detailItem(QString())});
        groups[kind] = group;
    }

    for (const auto& a : *assets) {
        ++m_assetCount;
        const by::AssetLocation where = m_project->resolveAssetPath(a);
        auto* item = makeItem(qs(a.displayName), ItemKind::Asset);
        item->setData(QVariant::fromValue<qlonglong>(a.id), AssetIdRole);
        item->setData(qs(where.path), PathRole);
        item->setIcon(a.format == "folder" ? dirIcon : fileIcon);
        QString tip = qs(where.path);
        if (where.status != by::AssetStatus::Present) {
            item->setIcon(missingIcon);
            tip += QLatin1Char('\n') + qs(where.message);
        }
        tip =
            QStringLiteral("%1\n%2, %3").arg(tip, display::formatName(a.format), display::bytes(a.sizeBytes));
        item->setToolTip(tip);
        const QString details = display::bytes(a.sizeBytes);
        groups[a.kind]->appendRow({item, detailItem(details)});

        // Variants: parents come first, so each one's parent row already exists.
        std::map<int64_t, QStandardItem*> rows;
        for (const by::Variant* v : variantsOf[a.id]) {
            auto* vi = makeItem(qs(v->name), ItemKind::Variant);
            vi->setData(QVariant::fromValue<qlonglong>(a.id), AssetIdRole);
            vi->setData(QVariant::fromValue<qlonglong>(v->id), VariantIdRole);
            vi->setData(qs(where.path), PathRole);
            vi->setToolTip(tr("%1 (variant of %2)").arg(qs(v->name), qs(a.displayName)));
            QString vd = v->parameterCount > 0 ? tr("%1 params").arg(display::compactCount(v->parameterCount))
                                               : QString();
            QStandardItem* parent = item;
            if (v->parentId && rows.count(*v->parentId)) parent = rows[*v->parentId];
            parent->appendRow({vi, detailItem(vd)});
            rows[v->id] = vi;
        }
    }

    auto notes = m_project->notes();
    if (notes && !notes->empty()) {
        auto* group = makeItem(tr("Notes"), ItemKind::Group);
        QFont f = group->font();
        f.setBold(true);
        group->setFont(f);
        m_model->appendRow({group, detailItem(QString::number(notes->size()))});
        for (const auto& n : *notes) {
            QString first = qs(n.text).section(QLatin1Char('\n'), 0, 0);
            if (first.size() > 80) first = first.left(77) + QStringLiteral("...");
            auto* ni = makeItem(first, ItemKind::Note);
            ni->setToolTip(qs(n.text));
            ni->setIcon(style()->standardIcon(QStyle::SP_FileDialogDetailedView));
            group->appendRow({ni, detailItem(qs(n.createdAt).left(10))});
        }
    }

    for (int g = 0; g < m_model->rowCount(); ++g) {
        QStandardItem* group = m_model->item(g);
        const bool notesGroup = group->text() == tr("Notes");
        if (!collapsed.count(group->text()) && !(firstFill && notesGroup)) m_view->expand(group->index());
    }
}

void ProjectPanel::activateIndex(const QModelIndex& index) {
    const QModelIndex first = index.siblingAtColumn(0);
    const auto kind = static_cast<ItemKind>(first.data(KindRole).toInt());
    if (kind != ItemKind::Asset && kind != ItemKind::Variant) return;
    emit openAssetRequested(first.data(AssetIdRole).toLongLong(), first.data(VariantIdRole).toLongLong(),
                            first.data(PathRole).toString());
}

void ProjectPanel::onContextMenu(const QPoint& pos) {
    if (!m_project) return;
    const QModelIndex first = m_view->indexAt(pos).siblingAtColumn(0);
    const auto kind = static_cast<ItemKind>(first.data(KindRole).toInt());
    const int64_t assetId = first.data(AssetIdRole).toLongLong();
    const int64_t variantId = first.data(VariantIdRole).toLongLong();
    QMenu menu(this);
    if (kind == ItemKind::Asset || kind == ItemKind::Variant) {
        menu.addAction(tr("Open"), this, [this, first]() { activateIndex(first); });
        menu.addSeparator();
    }
    if (kind == ItemKind::Variant)
        menu.addAction(tr("Rename Variant..."), this, [this, variantId, first]() {
            emit renameVariantRequested(variantId, first.data().toString());
        });
    menu.addAction(kind == ItemKind::Asset || kind == ItemKind::Variant ? tr("Add Note...")
                                                                        : tr("Add Project Note..."),
                   this, [this, assetId, variantId]() { emit addNoteRequested(assetId, variantId); });
    if (kind == ItemKind::Asset) {
        menu.addSeparator();
        menu.addAction(tr("Remove from Project"), this,
                       [this, assetId]() { emit removeAssetRequested(assetId); });
    }
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}
