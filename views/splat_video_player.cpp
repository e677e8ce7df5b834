#include "views/splat_video_player.h"

#include <chrono>

namespace by {

SplatVideoPlayer::SplatVideoPlayer(std::unique_ptr<SplatFrameSource> source, int ahead)
    : m_source(std::move(source)), m_ahead(ahead < 1 ? 1 : ahead) {
    m_frames = m_source->frameCount();
    m_fps = m_source->fps() > 0 ? m_source->fps() : 30.0;
    m_splats = m_source->splatCount();
    m_describe = m_source->describe();
    if (m_frames < 1) {
        m_decodeNext = -1;
        m_showTarget = -1;
        m_error = m_describe + ": the sequence has no frames";
    }
    m_thread = std::thread([this] { decodeLoop(); });
}

SplatVideoPlayer::~SplatVideoPlayer() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

void SplatVideoPlayer::decodeLoop() {
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        m_cv.wait(lock, [&] {
            return m_stop || m_seekTarget >= 0 || (m_decodeNext >= 0 && static_cast<int>(m_queue.size()) < m_ahead && m_error.empty());
        });
        if (m_stop) return;
        if (m_seekTarget >= 0) {
            m_decodeNext = m_seekTarget;
            m_seekTarget = -1;
            m_queue.clear();
        }
        const int k = m_decodeNext;
        const unsigned generation = m_generation;
        lock.unlock();
        // Decoding runs without the lock so the caller can render, seek or pause meanwhile.
        Status positioned;
        if (m_source->position() != k) positioned = m_source->seek(k);
        Result<SplatCloud> frame = positioned.ok() ? m_source->read() : Result<SplatCloud>(positioned.error());
        lock.lock();
        if (generation != m_generation) continue;  // a seek came in: this frame is not wanted
        if (!frame) {
            m_error = frame.error().what();
            m_decodeNext = -1;
            m_cv.notify_all();
            continue;
        }
        m_queue.push_back({k, std::make_shared<const SplatCloud>(std::move(*frame))});
        m_decodeNext = k + 1 < m_frames ? k + 1 : (m_loop ? 0 : -1);
        m_cv.notify_all();
    }
}

int SplatVideoPlayer::nextWanted() const {
    if (m_showTarget >= 0) return m_showTarget;
    if (m_current < 0) return -1;
    if (m_current + 1 < m_frames) return m_current + 1;
    return m_loop ? 0 : -1;
}

bool SplatVideoPlayer::takeFrame(int index) {
    // Frames before the wanted one are ones playback skipped (or stale ones after a loop change).
    while (!m_queue.empty() && m_queue.front().index != index) m_queue.pop_front();
    if (m_queue.empty()) return false;
    m_current = index;
    m_currentCloud = m_queue.front().cloud;
    m_queue.pop_front();
    m_showTarget = -1;
    m_cv.notify_all();  // room for the decoder
    return true;
}

void SplatVideoPlayer::play() {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_loop && m_showTarget < 0 && m_current == m_frames - 1 && m_frames > 1) {
        ++m_generation;
        m_queue.clear();
        m_seekTarget = 0;
        m_showTarget = 0;
        m_cv.notify_all();
    }
    m_playing = true;
    m_clock = 0;
}

void SplatVideoPlayer::pause() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_playing = false;
}

bool SplatVideoPlayer::playing() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_playing;
}

void SplatVideoPlayer::setLoop(bool loop) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_loop = loop;
    // The decoder stopped after the last frame: with loop on it carries on from frame 0.
    if (loop && m_decodeNext < 0 && m_error.empty() && m_frames > 0) {
        m_decodeNext = 0;
        m_cv.notify_all();
    }
}

bool SplatVideoPlayer::loop() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_loop;
}

void SplatVideoPlayer::seek(int frame) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_frames < 1) return;
    frame = frame < 0 ? 0 : (frame >= m_frames ? m_frames - 1 : frame);
    // Already queued (scrubbing forward by a frame or two): keep the queue.
    for (const Decoded& d : m_queue)
        if (d.index == frame) {
            m_showTarget = frame;
            m_clock = 0;
            return;
        }
    ++m_generation;
    m_queue.clear();
    m_seekTarget = frame;
    m_showTarget = frame;
    m_clock = 0;
    m_error.clear();  // a damaged frame further on need not stop playback from here
    m_cv.notify_all();
}

bool SplatVideoPlayer::advance(double seconds) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_showTarget >= 0) return takeFrame(m_showTarget);
    if (!m_playing) return false;
    m_clock += seconds;
    const double period = 1.0 / m_fps;
    bool changed = false;
    while (m_clock >= period) {
        const int next = nextWanted();
        if (next < 0) {  // the end, no loop
            m_playing = false;
            m_clock = 0;
            break;
        }
        // An overdue frame that a later one replaces is dropped once that later one is decoded.
        const bool later = m_clock >= 2 * period;
        bool found = false;
        for (const Decoded& d : m_queue) found = found || d.index == next;
        if (!found) {
            ++m_late;
            m_clock = period;  // wait for the decoder, do not build up debt
            break;
        }
        takeFrame(next);
        changed = true;
        m_clock -= period;
        if (later) {
            const int after = nextWanted();
            bool queued = false;
            for (const Decoded& d : m_queue) queued = queued || d.index == after;
            if (queued) ++m_dropped;
            else break;
        }
    }
    return changed;
}

bool SplatVideoPlayer::waitForNext(double timeoutSeconds) {
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_cv.wait_for(lock, std::chrono::duration<double>(timeoutSeconds), [&] {
        if (!m_error.empty()) return true;
        const int next = nextWanted();
        if (next < 0) return m_current >= 0;
        for (const Decoded& d : m_queue)
            if (d.index == next) return true;
        return false;
    });
}

int SplatVideoPlayer::currentIndex() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_current;
}

std::shared_ptr<const SplatCloud> SplatVideoPlayer::currentFrame() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_currentCloud;
}

std::string SplatVideoPlayer::error() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_error;
}

int SplatVideoPlayer::lateFrames() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_late;
}

int SplatVideoPlayer::droppedFrames() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_dropped;
}

}  // namespace by
