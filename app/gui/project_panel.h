#pragma once
// The left dock: the open project's assets grouped by kind, each model with its variant tree
// (parents above children), and the project's notes. Rebuilt from the project on refresh();
// double-clicking a model or one of its variants asks the window to open it.
#include <QString>
#include <QWidget>
#include <cstdint>

namespace by {
class Project;
}
class QLabel;
class QStandardItem;
class QStandardItemModel;
class QTreeView;

class ProjectPanel : public QWidget {
    Q_OBJECT
public:
    enum Role {
        KindRole = 0x0101, // ItemKind
        AssetIdRole,
        VariantIdRole,
        PathRole, // resolved file path of the asset
    };
    enum class ItemKind { Group, Asset, Variant, Note };

    explicit ProjectPanel(QWidget* parent = nullptr);

    // Shows `project` (nullptr: none open). Keeps which groups were expanded across refreshes.
    void setProject(by::Project* project);
    void refresh();

    QTreeView* view() const { return m_view; }
    QStandardItemModel* model() const { return m_model; }
    int assetCount() const { return m_assetCount; }
    // The asset row for `assetId`, or nullptr.
    QStandardItem* assetItem(int64_t assetId) const;
    // What a double-click does: asks to open the model or variant at `index`.
    void activateIndex(const QModelIndex& index);

signals:
    void openAssetRequested(int64_t assetId, int64_t variantId, const QString& path);
    void renameVariantRequested(int64_t variantId, const QString& currentName);
    void addNoteRequested(int64_t assetId, int64_t variantId);
    void removeAssetRequested(int64_t assetId);
    void errorOccurred(const QString& sentence);

private:
    void onContextMenu(const QPoint& pos);

    by::Project* m_project = nullptr;
    QLabel* m_header = nullptr;
    QTreeView* m_view = nullptr;
    QStandardItemModel* m_model = nullptr;
    int m_assetCount = 0;
};
