#include "engine/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BY_SPIN_PAUSE() _mm_pause()
#else
#define BY_SPIN_PAUSE() std::this_thread::yield()
#endif

namespace by {

namespace {

// How long an idle thread polls before blocking.
constexpr auto kSpin = std::chrono::microseconds(200);

// Polls `ready` until it holds or kSpin has passed; true when it held.
template <class Ready>
bool spinUntil(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (ready()) return true;
            BY_SPIN_PAUSE();
        }
        if (std::chrono::steady_clock::now() >= until) return ready();
    }
}

}  // namespace

struct ThreadPool::Job {
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t n = 0;
    int64_t chunk = 1;
    int64_t chunks = 0;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    std::mutex mutex;
    std::condition_variable finished;

    // Runs chunks until none is left; returns how many this thread ran.
    void work() {
        int64_t ran = 0;
        for (;;) {
            const int64_t c = next.fetch_add(1, std::memory_order_relaxed);
            if (c >= chunks) break;
            const int64_t b = c * chunk;
            (*fn)(b, std::min(n, b + chunk));
            ++ran;
        }
        if (ran > 0 && done.fetch_add(ran, std::memory_order_acq_rel) + ran == chunks) {
            std::lock_guard<std::mutex> lock(mutex);
            finished.notify_all();
        }
    }
};

int ThreadPool::hardwareThreads() {
    const unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
}

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = hardwareThreads();
    for (int i = 1; i < threads; ++i) m_workers.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
        m_stopping.store(true, std::memory_order_release);
    }
    m_wake.notify_all();
    for (auto& t : m_workers) t.join();
}

void ThreadPool::workerLoop() {
    for (;;) {
        std::shared_ptr<Job> job;
        spinUntil([this] { return m_queued.load(std::memory_order_acquire) > 0 || m_stopping.load(std::memory_order_acquire); });
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_stop && m_queue.empty()) return;
            job = std::move(m_queue.front());
            m_queue.pop_front();
            m_queued.fetch_sub(1, std::memory_order_release);
        }
        job->work();
    }
}

void ThreadPool::parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    const int64_t maxChunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(threadCount()) * 4);
    if (m_workers.empty() || maxChunks <= 1) {
        fn(0, n);
        return;
    }
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->n = n;
    job->chunk = (n + maxChunks - 1) / maxChunks;
    job->chunks = (n + job->chunk - 1) / job->chunk;
    const int64_t helpers = std::min<int64_t>(static_cast<int64_t>(m_workers.size()), job->chunks - 1);
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (int64_t i = 0; i < helpers; ++i) m_queue.push_back(job);
        m_queued.fetch_add(helpers, std::memory_order_release);
    }
    if (helpers == 1) m_wake.notify_one();
    else m_wake.notify_all();
    job->work();
    if (spinUntil([&] { return job->done.load(std::memory_order_acquire) == job->chunks; })) return;
    std::unique_lock<std::mutex> lock(job->mutex);
    job->finished.wait(lock, [&] { return job->done.load(std::memory_order_acquire) == job->chunks; });
}

}  // namespace by
