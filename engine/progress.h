#pragma once
// Progress reporting and cooperative cancellation for long work (import, layout, evaluation).
// Workers call report() now and then and stop with ErrorCode::Cancelled once cancelled() is true.
#include <atomic>
#include <functional>
#include <string>

namespace by {

class Progress {
public:
    using Callback = std::function<void(double fraction, const std::string& stage)>;
    Progress() = default;
    explicit Progress(Callback cb) : m_cb(std::move(cb)) {}

    void report(double fraction, const std::string& stage) const {
        if (m_cb) m_cb(fraction, stage);
    }
    void cancel() { m_cancelled.store(true, std::memory_order_relaxed); }
    bool cancelled() const { return m_cancelled.load(std::memory_order_relaxed); }

private:
    Callback m_cb;
    std::atomic<bool> m_cancelled{false};
};

}  // namespace by
