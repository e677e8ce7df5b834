#pragma once
// The evaluation dock: pick a dataset for the model in the current tab, run it (as a background
// job the main window starts), and read the result: accuracy or text accuracy, latency, memory,
// a confusion matrix, the first mistakes, and every earlier evaluation of the same variant that
// the project recorded.
#include "app/cli/eval_session.h"

#include <QString>
#include <QWidget>
#include <optional>

class ConfusionMatrixWidget;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace by {
struct Evaluation;
}

class EvaluationPanel : public QWidget {
    Q_OBJECT
public:
    explicit EvaluationPanel(QWidget* parent = nullptr);

    // The model the next evaluation runs on; an empty path disables the panel.
    void setModel(const QString& modelPath, const QString& title);
    // Fills the dataset presets from the asset cache (folders that exist only).
    void setCacheDir(const QString& cacheDir);
    void setDataSpec(const QString& spec);
    QString dataSpec() const;
    by::cli::EvalRequest request() const;

    void setRunning(bool running);
    bool isRunning() const { return m_running; }
    void showReport(const by::EvalReport& report);
    void showError(const QString& sentence);
    // Earlier results of this variant from the project (newest first); empty clears the table.
    void setHistory(const std::vector<by::Evaluation>& rows);

    ConfusionMatrixWidget* confusion() const { return m_confusion; }
    QString summaryText() const;
    int historyRows() const;

signals:
    void evaluateRequested(const by::cli::EvalRequest& request);
    // The dataset or its options changed (a preset, a folder, a typed spec once finished).
    void requestChanged();
    void cancelRequested();

private:
    QString m_modelPath;
    bool m_running = false;
    QLabel* m_title = nullptr;
    QComboBox* m_presets = nullptr;
    QLineEdit* m_spec = nullptr;
    QComboBox* m_task = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_limit = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancel = nullptr;
    QLabel* m_summary = nullptr;
    ConfusionMatrixWidget* m_confusion = nullptr;
    QTableWidget* m_mistakes = nullptr;
    QTableWidget* m_history = nullptr;
};
