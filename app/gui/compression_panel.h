#pragma once
// The compression dock for the model in the current tab: a method, a strength and a scope (the
// whole model or the layer selected in the graph). Every change re-runs a preview off the UI
// thread (the previous one is cancelled and its result dropped), so the table of per-layer
// reconstruction error and size before/after follows the slider. "Apply" compresses the whole
// recipe as a cancellable job, writes the child model beside the project (or beside the model
// when there is none) and records it as a child variant through the undo stack; the parent
// model and its file are never touched.
//
// A recipe the engine refuses (a rank above the matrix size, a layer the method cannot handle)
// shows as one sentence under the controls and changes nothing.
#include "engine/compression.h"

#include <QPointer>
#include <QString>
#include <QWidget>
#include <memory>

class JobManager;
class ModelDocument;
class QComboBox;
class QLabel;
class QPushButton;
class QSlider;
class QTableWidget;
class QTimer;
class QUndoStack;

namespace by {
class Project;
}

struct CompressOutcome;

class CompressionPanel : public QWidget {
    Q_OBJECT
public:
    enum class Method { Int8, NBitsG32, PruneMagnitude, Prune24, LowRankFraction, LowRankRank };
    enum class Scope { WholeModel, SelectedLayer };

    explicit CompressionPanel(JobManager* jobs, QWidget* parent = nullptr);

    // The model the panel works on (nullptr: none, the panel is disabled). The panel follows the
    // document's node selection by itself.
    void setDocument(ModelDocument* doc);
    // Where Apply records variants; nullptr: variants are written but not recorded.
    void setProject(by::Project* project, QUndoStack* undo);

    void setMethod(Method m);
    void setStrength(int value); // in the current method's slider units
    void setScope(Scope s);
    Method method() const;
    Scope scope() const;
    int strength() const;

    // The step the controls describe (no layer selection: the scope adds that).
    by::CompressStep currentStep() const;
    // Starts Apply; the job id, or 0 when nothing started (the panel says why).
    int apply();

    // ---- state, for tests and screenshots ----
    // True while a preview is scheduled or running.
    bool isPreviewing() const;
    bool isApplying() const { return m_applyJob != 0; }
    QTableWidget* table() const { return m_table; }
    QString messageText() const; // the sentence under the controls (plain text)
    QString totalsText() const;
    int64_t lastVariantId() const { return m_lastVariantId; }
    QString lastVariantPath() const { return m_lastVariantPath; }

signals:
    void projectChanged();
    void info(const QString& message);
    void errorOccurred(const QString& sentence);
    // The user asked to evaluate the variant just written.
    void evaluateRequested(const QString& modelPath);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void updateStrengthRange();
    void updateStrengthLabel();
    void schedulePreview();
    void startPreview();
    void showRows(const std::vector<by::LayerReport>& rows, int64_t bytesBefore, int64_t bytesAfter);
    void showMessage(const QString& text, bool error);
    void onApplyFinished(by::Result<CompressOutcome> outcome);
    QString selectedLayerName() const;
    QString outputPathFor(const by::Recipe& recipe) const;
    void updateButtons();

    JobManager* m_jobs;
    QPointer<ModelDocument> m_doc;
    QMetaObject::Connection m_selectionConn;
    by::Project* m_project = nullptr;
    QUndoStack* m_undo = nullptr;

    QLabel* m_title = nullptr;
    QComboBox* m_method = nullptr;
    QSlider* m_strength = nullptr;
    QLabel* m_strengthLabel = nullptr;
    QComboBox* m_scope = nullptr;
    QLabel* m_message = nullptr;
    QTableWidget* m_table = nullptr;
    QLabel* m_totals = nullptr;
    QPushButton* m_apply = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_evaluate = nullptr;
    QTimer* m_debounce = nullptr;

    int m_previewJob = 0;
    bool m_previewStale = false;
    int m_previewGeneration = 0;
    int m_applyJob = 0;
    int64_t m_applyAssetId = 0;
    int m_projectGeneration = 0;
    int m_applyProjectGeneration = -1;
    QString m_applySource;
    QString m_applyOut;
    int64_t m_lastVariantId = 0;
    QString m_lastVariantPath;
};
