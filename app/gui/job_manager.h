#pragma once
// Runs long work (model import, tensor statistics) on a private thread pool so the window stays
// responsive. Each job has a name, a by::Progress the worker reports to and polls for cancel, and
// a completion callback that always runs on the UI thread. Progress reaches the UI as queued
// signals, throttled so a chatty worker cannot flood the event loop.
//
// Destroying the manager cancels every job and waits for the workers: no callback ever runs on
// a dead window.
#include "engine/error.h"
#include "engine/progress.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <functional>
#include <map>
#include <memory>
#include <optional>

class JobManager : public QObject {
    Q_OBJECT
public:
    explicit JobManager(QObject* parent = nullptr);
    ~JobManager() override;

    // Starts `work(progress)` on the pool and returns the job id. `done` receives its result on
    // the UI thread (an ErrorCode::Cancelled error after cancel()); it is not called when the
    // manager is destroyed first.
    template <class T>
    int run(const QString& name, std::function<by::Result<T>(const by::Progress&)> work,
            std::function<void(by::Result<T>)> done) {
        auto result = std::make_shared<std::optional<by::Result<T>>>();
        return start(
            name,
            [work = std::move(work), result](const by::Progress& p) -> std::optional<by::Error> {
                result->emplace(work(p));
                // A worker that finished anyway after a cancel still counts as cancelled.
                if (p.cancelled() && result->value().ok())
                    result->emplace(by::makeError(by::ErrorCode::Cancelled, "cancelled"));
                if (result->value().ok()) return std::nullopt;
                return result->value().error();
            },
            [done = std::move(done), result](bool cancelled) {
                // Cancelled before the result reached the UI thread: the user saw it as cancelled.
                if (cancelled && result->value().ok()) result->emplace(by::makeError(by::ErrorCode::Cancelled, "cancelled"));
                done(std::move(**result));
            });
    }

    // Asks the job to stop; its worker sees progress.cancelled() and returns Cancelled.
    void cancel(int id);
    void cancelAll();
    int activeCount() const { return static_cast<int>(m_jobs.size()); }
    bool isRunning(int id) const { return m_jobs.count(id) != 0; }
    QString jobName(int id) const;

    // Processes events until no job is left or `timeoutMs` passes; true when idle. For tests and
    // for the command line's --screenshot, never for interactive code paths.
    bool waitForIdle(int timeoutMs);

signals:
    void jobStarted(int id, const QString& name);
    void jobProgress(int id, double fraction, const QString& stage);
    // ok=false with the error sentence, or with "cancelled" when the job was stopped.
    void jobFinished(int id, bool ok, bool cancelled, const QString& message);
    void idle();

private:
    using Work = std::function<std::optional<by::Error>(const by::Progress&)>;
    struct Job;
    int start(const QString& name, Work work, std::function<void(bool cancelled)> deliver);
    void onProgress(int id, double fraction, const QString& stage);
    void onDone(int id, std::optional<by::Error> error);

    QThreadPool m_pool;
    std::map<int, std::shared_ptr<Job>> m_jobs;
    int m_nextId = 1;
};
