// The Gaussian video player: decode-ahead on its thread, play/pause, seek (scrub) and loop, driven
// by a clock the test controls; a source that fails mid-way stops playback with its error.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "views/splat_video_player.h"

namespace by {
namespace {

// Frame k holds one Gaussian at x = k, so a frame tells which one it is. Reads can be slowed down
// and made to fail at one frame.
class CountingSource : public SplatFrameSource {
public:
    CountingSource(int frames, int failAt = -1, int delayMs = 0) : m_frames(frames), m_failAt(failAt), m_delayMs(delayMs) {}
    int frameCount() const override { return m_frames; }
    size_t splatCount() const override { return 1; }
    int shDegree() const override { return 0; }
    double fps() const override { return 10; }
    int position() const override { return m_pos; }
    Status seek(int frame) override {
        m_pos = frame;
        return {};
    }
    Result<SplatCloud> read() override {
        if (m_delayMs) std::this_thread::sleep_for(std::chrono::milliseconds(m_delayMs));
        ++reads;
        if (m_pos == m_failAt) return makeError(ErrorCode::Format, "frame " + std::to_string(m_pos) + " is damaged", "test source");
        SplatCloud c;
        c.positions.push_back({static_cast<float>(m_pos), 0, 0});
        c.logScales.push_back({0, 0, 0});
        c.rotations.push_back({});
        c.opacityLogits.push_back(0);
        c.sh = {0, 0, 0};
        ++m_pos;
        return c;
    }
    std::string describe() const override { return "counting source"; }
    std::atomic<int> reads{0};

private:
    int m_frames, m_failAt, m_delayMs, m_pos = 0;
};

int shownFrame(const SplatVideoPlayer& p) {
    auto f = p.currentFrame();
    return f ? static_cast<int>(f->positions[0].x) : -1;
}

TEST(SplatVideoPlayer, PlaysPausesAndStopsAtTheEnd) {
    SplatVideoPlayer p(std::make_unique<CountingSource>(5));
    EXPECT_EQ(p.frameCount(), 5);
    ASSERT_TRUE(p.waitForNext(5));
    EXPECT_TRUE(p.advance(0));  // the first frame shows without playing
    EXPECT_EQ(p.currentIndex(), 0);
    EXPECT_EQ(shownFrame(p), 0);
    EXPECT_FALSE(p.advance(1.0));  // paused: time passes, the frame stays
    EXPECT_EQ(p.currentIndex(), 0);
    p.play();
    ASSERT_TRUE(p.waitForNext(5));
    EXPECT_FALSE(p.advance(0.05));  // half a frame at 10 fps
    EXPECT_TRUE(p.advance(0.05));
    EXPECT_EQ(shownFrame(p), 1);
    p.pause();
    EXPECT_FALSE(p.advance(0.5));
    EXPECT_EQ(shownFrame(p), 1);
    p.play();
    for (int k = 2; k < 5; ++k) {
        ASSERT_TRUE(p.waitForNext(5));
        EXPECT_TRUE(p.advance(0.1));
        EXPECT_EQ(shownFrame(p), k);
    }
    EXPECT_FALSE(p.advance(0.1));  // no loop: stops on the last frame
    EXPECT_FALSE(p.playing());
    EXPECT_EQ(shownFrame(p), 4);
    p.play();  // at the end, play starts over
    ASSERT_TRUE(p.waitForNext(5));
    EXPECT_TRUE(p.advance(0));
    EXPECT_EQ(shownFrame(p), 0);
    EXPECT_TRUE(p.error().empty());
}

TEST(SplatVideoPlayer, LoopsAndScrubs) {
    auto src = std::make_unique<CountingSource>(4);
    SplatVideoPlayer p(std::move(src));
    p.setLoop(true);
    p.play();
    std::vector<int> seen;
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(p.waitForNext(5));
        p.advance(i == 0 ? 0 : 0.1);
        seen.push_back(shownFrame(p));
    }
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}));
    // Scrubbing: each seek shows its frame once decoded, playing or not.
    p.pause();
    for (int target : {3, 0, 2, 2, 1}) {
        p.seek(target);
        ASSERT_TRUE(p.waitForNext(5));
        EXPECT_TRUE(p.advance(0) || shownFrame(p) == target);
        EXPECT_EQ(shownFrame(p), target);
        EXPECT_EQ(p.currentIndex(), target);
    }
    p.seek(99);  // clamped to the last frame
    ASSERT_TRUE(p.waitForNext(5));
    p.advance(0);
    EXPECT_EQ(shownFrame(p), 3);
}

TEST(SplatVideoPlayer, DecodesAheadWhileTheCallerRenders) {
    auto src = std::make_unique<CountingSource>(20);
    CountingSource* raw = src.get();
    SplatVideoPlayer p(std::move(src), 3);
    ASSERT_TRUE(p.waitForNext(5));
    p.advance(0);
    // Without any call from us the thread fills its queue: frame 0 shown, 3 more waiting.
    for (int i = 0; i < 200 && raw->reads < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(raw->reads.load(), 4);
}

TEST(SplatVideoPlayer, SlowDecodingMakesPlaybackWaitNotSkip) {
    SplatVideoPlayer p(std::make_unique<CountingSource>(4, -1, 40), 2);
    ASSERT_TRUE(p.waitForNext(5));
    p.advance(0);
    p.play();
    int last = 0;
    for (int i = 0; i < 200 && last < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (p.advance(0.1)) {
            EXPECT_EQ(shownFrame(p), last + 1);
            last = shownFrame(p);
        }
    }
    EXPECT_EQ(last, 3);
    EXPECT_GT(p.lateFrames(), 0);
}

TEST(SplatVideoPlayer, ADamagedFrameStopsWithItsError) {
    SplatVideoPlayer p(std::make_unique<CountingSource>(6, 2));
    p.play();
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(p.waitForNext(5));
        p.advance(i == 0 ? 0 : 0.1);
    }
    EXPECT_EQ(shownFrame(p), 1);  // frames before the damaged one played
    EXPECT_NE(p.error().find("frame 2 is damaged"), std::string::npos) << p.error();
    // Seeking past it plays again.
    p.seek(4);
    ASSERT_TRUE(p.waitForNext(5));
    p.advance(0);
    EXPECT_EQ(shownFrame(p), 4);
    EXPECT_TRUE(p.error().empty());
}

}  // namespace
}  // namespace by
