#pragma once
// Undoable project edits for the window's QUndoStack. Each command changes the SQLite project
// when done and really reverts it when undone (each step is one project transaction). A step that
// fails reports one sentence through its hooks and marks itself obsolete, so the stack drops it
// instead of keeping an entry that does nothing.
//
// Commands hold a reference to the open project: the window clears the stack before it closes or
// replaces the project.
#include "projects/project.h"

#include <QString>
#include <QUndoCommand>
#include <cstdint>
#include <functional>

struct ProjectCommandHooks {
    std::function<void()> changed;              // refresh views after every successful step
    std::function<void(const QString&)> failed; // one sentence for the log and status bar
    std::function<void(const QString&)> info;   // a note for the log (may be empty)
};

class ProjectCommand : public QUndoCommand {
public:
    ProjectCommand(by::Project& project, ProjectCommandHooks hooks, const QString& text);

protected:
    // Reports `status`'s error (if any) and returns whether it succeeded.
    bool check(const by::Status& status);
    void notifyChanged();

    by::Project& m_project;
    ProjectCommandHooks m_hooks;
};

// Adds a file as an asset. Content already in the project changes nothing and leaves no entry.
class AddAssetCommand : public ProjectCommand {
public:
    AddAssetCommand(by::Project& project, ProjectCommandHooks hooks, by::NewAsset asset);
    void redo() override;
    void undo() override;
    int64_t assetId() const { return m_assetId; }

private:
    by::NewAsset m_asset;
    int64_t m_assetId = 0;
};

// Adds a note about the project, an asset or a variant; undo removes it.
class AddNoteCommand : public ProjectCommand {
public:
    AddNoteCommand(by::Project& project, ProjectCommandHooks hooks, by::NoteTarget target, std::string text);
    void redo() override;
    void undo() override;
    int64_t noteId() const { return m_noteId; }

private:
    by::NoteTarget m_target;
    std::string m_text;
    int64_t m_noteId = 0;
};

// Renames a variant; undo restores the old name.
class RenameVariantCommand : public ProjectCommand {
public:
    RenameVariantCommand(by::Project& project, ProjectCommandHooks hooks, int64_t variantId,
                         std::string newName);
    void redo() override;
    void undo() override;

private:
    int64_t m_variantId;
    std::string m_newName;
    std::string m_oldName;
};

// Records a compressed model as a child variant (name, recipe JSON, size, parameters) and, since a
// variant row has no file column, a note on it naming the file it was written to. Undo removes
// both; the file stays on disk, so redo records it again.
class AddVariantCommand : public ProjectCommand {
public:
    struct Spec {
        int64_t assetId = 0;
        int64_t parentId = 0;
        std::string name;
        std::string recipeJson;
        int64_t sizeBytes = 0;
        int64_t parameterCount = 0;
        std::string filePath;
    };
    AddVariantCommand(by::Project& project, ProjectCommandHooks hooks, Spec spec);
    void redo() override;
    void undo() override;
    int64_t variantId() const { return m_variantId; }

private:
    Spec m_spec;
    int64_t m_variantId = 0;
    int64_t m_noteId = 0;
};
