#include "app/gui/project_commands.h"

#include <QFileInfo>

namespace {
QString qs(const std::string& s) {
    return QString::fromStdString(s);
}
} // namespace

ProjectCommand::ProjectCommand(by::Project& project, ProjectCommandHooks hooks, const QString& text)
    : QUndoCommand(text), m_project(project), m_hooks(std::move(hooks)) {}

bool ProjectCommand::check(const by::Status& status) {
    if (status) return true;
    if (m_hooks.failed) m_hooks.failed(qs(status.error().what()));
    setObsolete(true);
    return false;
}

void ProjectCommand::notifyChanged() {
    if (m_hooks.changed) m_hooks.changed();
}

// ---- AddAssetCommand ---------------------------------------------------------------------------

AddAssetCommand::AddAssetCommand(by::Project& project, ProjectCommandHooks hooks, by::NewAsset asset)
    : ProjectCommand(project, std::move(hooks),
                     QObject::tr("Add %1").arg(asset.displayName.empty()
                                                   ? QFileInfo(qs(asset.path)).fileName()
                                                   : qs(asset.displayName))),
      m_asset(std::move(asset)) {}

void AddAssetCommand::redo() {
    // addAsset returns the existing id for content the project already holds; knowing the ids
    // before tells a real addition from that.
    auto before = m_project.assets();
    if (!before) {
        check(before.error());
        return;
    }
    auto id = m_project.addAsset(m_asset);
    if (!id) {
        check(id.error());
        return;
    }
    for (const auto& a : *before) {
        if (a.id != *id) continue;
        if (m_hooks.info)
            m_hooks.info(QObject::tr("%1 is already in the project as \"%2\".")
                             .arg(QFileInfo(qs(m_asset.path)).fileName(), qs(a.displayName)));
        setObsolete(true);
        return;
    }
    m_assetId = *id;
    notifyChanged();
}

void AddAssetCommand::undo() {
    if (m_assetId == 0) return;
    if (check(m_project.removeAsset(m_assetId))) {
        m_assetId = 0;
        notifyChanged();
    }
}

// ---- AddNoteCommand ----------------------------------------------------------------------------

AddNoteCommand::AddNoteCommand(by::Project& project, ProjectCommandHooks hooks, by::NoteTarget target,
                               std::string text)
    : ProjectCommand(project, std::move(hooks), QObject::tr("Add Note")), m_target(target),
      m_text(std::move(text)) {}

void AddNoteCommand::redo() {
    auto id = m_project.addNote(m_target, m_text);
    if (!id) {
        check(id.error());
        return;
    }
    m_noteId = *id;
    notifyChanged();
}

void AddNoteCommand::undo() {
    if (m_noteId == 0) return;
    if (check(m_project.removeNote(m_noteId))) {
        m_noteId = 0;
        notifyChanged();
    }
}

// ---- RenameVariantCommand ----------------------------------------------------------------------

RenameVariantCommand::RenameVariantCommand(by::Project& project, ProjectCommandHooks hooks, int64_t variantId,
                                           std::string newName)
    : ProjectCommand(project, std::move(hooks), QObject::tr("Rename Variant to %1").arg(qs(newName))),
      m_variantId(variantId), m_newName(std::move(newName)) {}

void RenameVariantCommand::redo() {
    auto current = m_project.variant(m_variantId);
    if (!current) {
        check(current.error());
        return;
    }
    m_oldName = current->name;
    if (check(m_project.renameVariant(m_variantId, m_newName))) notifyChanged();
}

void RenameVariantCommand::undo() {
    if (check(m_project.renameVariant(m_variantId, m_oldName))) notifyChanged();
}

// ---- AddVariantCommand -------------------------------------------------------------------------

AddVariantCommand::AddVariantCommand(by::Project& project, ProjectCommandHooks hooks, Spec spec)
    : ProjectCommand(project, std::move(hooks), QObject::tr("Add Variant %1").arg(qs(spec.name))),
      m_spec(std::move(spec)) {}

void AddVariantCommand::redo() {
    int64_t variant = 0, note = 0;
    const by::Status st = m_project.transaction([&]() -> by::Status {
        auto id = m_project.addVariant(m_spec.assetId, m_spec.parentId, m_spec.name, m_spec.recipeJson,
                                       m_spec.sizeBytes, m_spec.parameterCount);
        if (!id) return id.error();
        variant = *id;
        if (m_spec.filePath.empty()) return {};
        auto n = m_project.addNote(by::NoteTarget::of(by::NoteTargetKind::Variant, variant),
                                   "file: " + m_spec.filePath);
        if (!n) return n.error();
        note = *n;
        return {};
    });
    if (!check(st)) return;
    m_variantId = variant;
    m_noteId = note;
    notifyChanged();
}

void AddVariantCommand::undo() {
    if (m_variantId == 0) return;
    const by::Status st = m_project.transaction([&]() -> by::Status {
        if (m_noteId)
            if (auto s = m_project.removeNote(m_noteId); !s) return s;
        return m_project.removeVariant(m_variantId);
    });
    if (check(st)) {
        m_variantId = 0;
        m_noteId = 0;
        notifyChanged();
    }
}
