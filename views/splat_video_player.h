#pragma once
// Plays a Gaussian video: a background thread decodes a few frames ahead of the one on screen
// while the caller renders the current frame, with play/pause, seek (scrubbing) and loop. The
// clock is the caller's: advance(seconds) from a timer or a render loop moves playback on, so the
// player never renders, sleeps or paces anything itself and works the same in the GUI, the bench
// and the tests. When decoding falls behind, playback waits for the next frame (counted as late)
// rather than skipping; when rendering falls behind, frames that are already overdue are dropped.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/splat_sequence.h"

namespace by {

class SplatVideoPlayer {
public:
    // Starts decoding frame 0 at once; `ahead` frames at most wait decoded.
    explicit SplatVideoPlayer(std::unique_ptr<SplatFrameSource> source, int ahead = 3);
    ~SplatVideoPlayer();
    SplatVideoPlayer(const SplatVideoPlayer&) = delete;
    SplatVideoPlayer& operator=(const SplatVideoPlayer&) = delete;

    int frameCount() const { return m_frames; }
    double fps() const { return m_fps; }
    size_t splatCount() const { return m_splats; }
    std::string describe() const { return m_describe; }

    void play();  // at the last frame without loop, starts again from frame 0
    void pause();
    bool playing() const;
    void setLoop(bool loop);
    bool loop() const;
    // Shows `frame` as soon as it is decoded (the current frame stays up until then).
    void seek(int frame);

    // Moves playback on by `seconds` of wall time (0 only picks up a frame that a seek is waiting
    // for). Returns true when the current frame changed, so the caller renders it.
    bool advance(double seconds);
    // Blocks until the frame playback needs next is decoded (or an error, or the end without loop).
    bool waitForNext(double timeoutSeconds);

    int currentIndex() const;  // -1 until the first frame is decoded
    std::shared_ptr<const SplatCloud> currentFrame() const;
    std::string error() const;  // the first decoding error, empty while fine
    int lateFrames() const;     // times playback waited on the decoder
    int droppedFrames() const;  // overdue frames skipped

private:
    struct Decoded {
        int index;
        std::shared_ptr<const SplatCloud> cloud;
    };
    void decodeLoop();
    int nextWanted() const;  // with m_mutex held: the frame to show next, -1 at the end
    bool takeFrame(int index);  // with m_mutex held

    std::unique_ptr<SplatFrameSource> m_source;
    int m_frames = 0;
    double m_fps = 30;
    size_t m_splats = 0;
    std::string m_describe;
    const int m_ahead;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Decoded> m_queue;  // consecutive frames (wrapping when looping) from the decode thread
    int m_decodeNext = 0;         // the frame the thread decodes next, -1 when it is done
    int m_seekTarget = -1;        // a seek the thread has not acted on
    int m_showTarget = 0;         // a seek (or the start) waiting for its frame, -1 when none
    unsigned m_generation = 0;    // bumped by every seek so stale frames are thrown away
    bool m_stop = false;
    bool m_playing = false;
    bool m_loop = false;
    double m_clock = 0;           // seconds into the current frame
    int m_current = -1;
    std::shared_ptr<const SplatCloud> m_currentCloud;
    std::string m_error;
    int m_late = 0, m_dropped = 0;
    std::thread m_thread;
};

}  // namespace by
