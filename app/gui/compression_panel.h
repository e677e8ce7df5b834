#pragma once
// The compression dock for the model in the current tab: a method, a strength and a scope (the
// whole model or the layer selected in the graph). Every change re-runs a preview off the UI
// thread (the previous one is cancelled and its result dropped), so the table of per-layer
// reconstruction error and size before/after follows the slider. "Apply" compresses the whole
// recipe as a cancellable job, writes the child model beside the project (or beside the model
// when there is none) and records it as a child variant through the undo stack; the parent
// model and its file are never touched.
//
// After each preview, when a dataset is set (setQualityCheck, the Evaluation panel's dataset), a
// second cancellable job runs the original and the compressed model on the first samples of it
// (the check batch) and shows the main metric of both: quality follows the slider too, a few
// hundred milliseconds behind the per-layer error. The original's figure is computed once per
// model and dataset.
//
// A recipe the engine refuses (a rank above the matrix size, a layer the method cannot handle)
// shows as one sentence under the controls and changes nothing.
#include "app/cli/eval_session.h"
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
    // The last six rank or fit on calibration samples (DecomposeFfn: Nystrom neuron selection
    // with a least-squares refit of the down-projection, needs one); PruneFfn and PruneHeads do when a dataset
    // is set and fall back to weight norms without one; PruneFiltersData and LowRankData need one.
    enum class Method { Int8, NBitsG32, PruneMagnitude, Prune24, LowRankFraction, LowRankRank, BinaryCoded,
                        PruneFilters, PruneFiltersData, PruneFfn, PruneHeads, LowRankData, DecomposeFfn };
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

    // The step the controls describe (no layer selection: the scope adds that). Data-driven
    // methods calibrate on the first samples of the quality check's dataset (MNIST-style sets:
    // their training split, so the check's test samples stay unseen).
    by::CompressStep currentStep() const;
    static constexpr int64_t kCalibrationSamples = 128;
    // Starts Apply; the job id, or 0 when nothing started (the panel says why).
    int apply();
    // The dataset (and its options) the quality check after each preview runs on; an empty
    // dataSpec turns the check off. `samples` is the size of the check batch.
    void setQualityCheck(const by::cli::EvalRequest& request, int64_t samples = 256);

    // ---- state, for tests and screenshots ----
    // True while a preview is scheduled or running.
    bool isPreviewing() const;
    bool isApplying() const { return m_applyJob != 0; }
    bool isCheckingQuality() const { return m_qualityJob != 0; }
    QString qualityText() const;
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
    // `compressed` null: the job compresses the model with `step` itself (single-layer previews).
    void startQualityCheck(std::shared_ptr<const by::Model> compressed, const by::CompressStep& step);
    void cancelQualityCheck();
    QString selectedLayerName() const;
    QString outputPathFor(const by::Recipe& recipe) const;
    void updateButtons();
    static QString plainText(QString richText);

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
    QLabel* m_quality = nullptr;
    QPushButton* m_apply = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_evaluate = nullptr;
    QTimer* m_debounce = nullptr;

    int m_previewJob = 0;
    bool m_previewStale = false;
    int m_previewGeneration = 0;
    int m_applyJob = 0;
    int m_qualityJob = 0;
    int m_qualityGeneration = 0;
    by::cli::EvalRequest m_qualityRequest;
    // The original's report on the check batch, per model and request (computed once).
    std::weak_ptr<const by::Model> m_qualityBaseModel;
    std::string m_qualityBaseKey;
    std::shared_ptr<const by::EvalReport> m_qualityBase;
    int64_t m_applyAssetId = 0;
    int m_projectGeneration = 0;
    int m_applyProjectGeneration = -1;
    QString m_applySource;
    QString m_applyOut;
    int64_t m_lastVariantId = 0;
    QString m_lastVariantPath;
};
