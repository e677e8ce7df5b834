#include "app/gui/job_manager.h"

#include <QEventLoop>
#include <QTimer>
#include <atomic>
#include <chrono>

namespace {
int64_t nowMs() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
// Progress reaches the UI at most this often (plus the final 100%).
constexpr int64_t kProgressIntervalMs = 50;
} // namespace

struct JobManager::Job {
    explicit Job(by::Progress::Callback cb) : progress(std::move(cb)) {}
    QString name;
    by::Progress progress;
    std::function<void(bool cancelled)> deliver;
};

JobManager::JobManager(QObject* parent) : QObject(parent) {
    // Leave a core for the UI thread on small machines, but always allow two jobs at once so a
    // slow import never blocks a quick one completely.
    m_pool.setMaxThreadCount(std::max(2, QThread::idealThreadCount() - 1));
}

JobManager::~JobManager() {
    cancelAll();
    m_pool.waitForDone();
}

int JobManager::start(const QString& name, Work work, std::function<void(bool cancelled)> deliver) {
    const int id = m_nextId++;
    auto lastReport = std::make_shared<std::atomic<int64_t>>(0);
    auto job = std::make_shared<Job>([this, id, lastReport](double fraction, const std::string& stage) {
        const int64_t now = nowMs();
        if (fraction < 1.0 && now - lastReport->load(std::memory_order_relaxed) < kProgressIntervalMs) return;
        lastReport->store(now, std::memory_order_relaxed);
        const QString s = QString::fromStdString(stage);
        QMetaObject::invokeMethod(
            this, [this, id, fraction, s]() { onProgress(id, fraction, s); }, Qt::QueuedConnection);
    });
    job->name = name;
    job->deliver = std::move(deliver);
    m_jobs[id] = job;
    emit jobStarted(id, name);

    // The worker keeps its own reference to the Job so the Progress outlives the work even if
    // the UI side forgets the job first.
    m_pool.start([this, id, job, work = std::move(work)]() {
        std::optional<by::Error> error = work(job->progress);
        QMetaObject::invokeMethod(
            this, [this, id, error]() { onDone(id, error); }, Qt::QueuedConnection);
    });
    return id;
}

void JobManager::cancel(int id) {
    auto it = m_jobs.find(id);
    if (it != m_jobs.end()) it->second->progress.cancel();
}

void JobManager::cancelAll() {
    for (auto& [id, job] : m_jobs)
        job->progress.cancel();
}

QString JobManager::jobName(int id) const {
    auto it = m_jobs.find(id);
    return it == m_jobs.end() ? QString() : it->second->name;
}

bool JobManager::waitForIdle(int timeoutMs) {
    if (m_jobs.empty()) return true;
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    connect(this, &JobManager::idle, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    loop.exec();
    return m_jobs.empty();
}

void JobManager::onProgress(int id, double fraction, const QString& stage) {
    if (m_jobs.count(id)) emit jobProgress(id, fraction, stage);
}

void JobManager::onDone(int id, std::optional<by::Error> error) {
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return;
    std::shared_ptr<Job> job = it->second;
    m_jobs.erase(it);
    // A cancel that came after the worker finished but before this delivery still counts.
    const bool cancelled = (error && error->code == by::ErrorCode::Cancelled) || (!error && job->progress.cancelled());
    emit jobFinished(id, !error && !cancelled, cancelled,
                     error ? QString::fromStdString(error->what()) : cancelled ? QStringLiteral("cancelled") : QString());
    if (job->deliver) job->deliver(cancelled);
    if (m_jobs.empty()) emit idle();
}
