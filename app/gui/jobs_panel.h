#pragma once
// The jobs list of the bottom dock: one row per job with a progress bar, its stage and a Cancel
// button. Finished rows stay with their outcome until cleared, newest first, up to a limit.
#include <QElapsedTimer>
#include <QString>
#include <QWidget>
#include <map>

class JobManager;
class QLabel;
class QTreeWidget;
class QTreeWidgetItem;

class JobsPanel : public QWidget {
    Q_OBJECT
public:
    explicit JobsPanel(JobManager* jobs, QWidget* parent = nullptr);

    int rowCount() const;
    // Presses the row's Cancel button (for tests and keyboard users).
    bool cancelRow(int jobId);
    void clearFinished();

private:
    struct Row {
        QTreeWidgetItem* item = nullptr;
        QElapsedTimer clock;
    };
    void onStarted(int id, const QString& name);
    void onProgress(int id, double fraction, const QString& stage);
    void onFinished(int id, bool ok, bool cancelled, const QString& message);
    void updateSummary();

    JobManager* m_jobs;
    QTreeWidget* m_list = nullptr;
    QLabel* m_summary = nullptr;
    std::map<int, Row> m_rows;
    static constexpr int kMaxFinishedRows = 30;
};
