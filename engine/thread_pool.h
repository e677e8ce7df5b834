#pragma once
// A small fixed pool of worker threads for intra-op parallelism. parallelFor() splits a range into
// chunks that the workers and the calling thread take in turn, so a call made from inside a worker
// (nested parallelism) never waits on itself: the caller runs what nobody else picked up.
// A model run is hundreds of short parallel loops back to back, so idle workers (and a caller
// waiting for the last chunk) spin for a short while before sleeping: waking a sleeping thread
// costs tens of microseconds, as much as a small kernel.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace by {

class ThreadPool {
public:
    // `threads` counts the calling thread: 1 runs everything inline; 0 picks the core count.
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threadCount() const { return static_cast<int>(m_workers.size()) + 1; }

    // Calls fn(begin, end) over [0, n) in chunks of at least `grain` items and returns when all
    // chunks are done. fn must not throw.
    void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

    static int hardwareThreads();

private:
    struct Job;
    void workerLoop();

    std::vector<std::thread> m_workers;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<Job>> m_queue;
    std::atomic<int64_t> m_queued{0};  // jobs in m_queue, readable without the lock
    bool m_stop = false;
    std::atomic<bool> m_stopping{false};
};

}  // namespace by
