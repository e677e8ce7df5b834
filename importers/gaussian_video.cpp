#include "importers/gaussian_video.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "importers/atomic_writer.h"
#include "importers/ply_sequence.h"
#include "importers/video_file.h"

namespace by {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kBlock = 16;  // grid block side: the codec's macroblock, so a block is one coding unit
constexpr const char* kManifestName = "manifest.json";
constexpr const char* kFormatName = "brickyard-gaussian-video";

// FFmpeg's own log (x264's statistics, decoder chatter) would interleave with ours; errors come back as values.
void quietFfmpeg() { av_log_set_level(AV_LOG_FATAL); }

std::string avErrorText(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

// ---- channels: what each quantized value is ------------------------------------------------------

// Channel c of splat i; rotations are normalised with w >= 0 so w can be rebuilt from x, y, z.
float channelValue(const SplatCloud& c, size_t i, int ch) {
    if (ch < 3) return c.positions[i][ch];
    if (ch < 6) return c.logScales[i][ch - 3];
    if (ch < 9) {
        Quat q = c.rotations[i];
        float n = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
        if (n <= 0) n = 1;
        if (q.w < 0) n = -n;
        const float v[3] = {q.x / n, q.y / n, q.z / n};
        return v[ch - 6];
    }
    if (ch == 9) return c.opacityLogits[i];
    return c.shOf(i)[ch - 10];
}

std::vector<std::string> channelNames(int shDegree) {
    std::vector<std::string> n = {"x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_x", "rot_y", "rot_z", "opacity"};
    const char* rgb[3] = {"r", "g", "b"};
    for (int k = 0; k < shCoeffCount(shDegree); ++k)
        for (int ch = 0; ch < 3; ++ch) n.push_back("sh_" + std::to_string(k) + "_" + rgb[ch]);
    return n;
}

std::vector<GaussianVideoStream> streamLayout(int shDegree) {
    std::vector<GaussianVideoStream> s;
    s.push_back({"position_hi", "", {0, 1, 2}, 1, 0});
    s.push_back({"position_lo", "", {0, 1, 2}, 2, 0});
    s.push_back({"scale", "", {3, 4, 5}, 0, 0});
    s.push_back({"rotation", "", {6, 7, 8}, 0, 0});
    s.push_back({"opacity", "", {9}, 0, 0});
    for (int k = 0; k < shCoeffCount(shDegree); ++k) s.push_back({"sh_" + std::to_string(k), "", {10 + 3 * k, 11 + 3 * k, 12 + 3 * k}, 0, 0});
    return s;
}

void gridSize(size_t n, int& w, int& h) {
    const size_t blocks = (n + kBlock * kBlock - 1) / (kBlock * kBlock);
    const size_t bx = std::max<size_t>(1, static_cast<size_t>(std::ceil(std::sqrt(static_cast<double>(blocks)))));
    const size_t by = std::max<size_t>(1, (blocks + bx - 1) / bx);
    w = static_cast<int>(bx * kBlock), h = static_cast<int>(by * kBlock);
}

// Quantized level of v in [lo, hi] with `levels` steps (255 or 65535).
inline uint32_t quantize(float v, float lo, float hi, uint32_t levels) {
    if (!(hi > lo)) return 0;
    const double t = (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo);
    return static_cast<uint32_t>(std::lround(std::clamp(t, 0.0, 1.0) * levels));
}


// ---- FFmpeg writing: importers/video_file (VideoFileWriter) with gray or 4:4:4 data planes ----

// ---- FFmpeg reading ----------------------------------------------------------------------------

// Decodes one stream's video frame by frame; seek() goes back to the keyframe at or before the
// wanted frame and decodes forward from there.
class VideoReader {
public:
    ~VideoReader() {
        sws_freeContext(m_sws);
        av_frame_free(&m_frame);
        av_frame_free(&m_converted);
        av_packet_free(&m_pkt);
        avcodec_free_context(&m_dec);
        avformat_close_input(&m_fmt);
    }

    Status open(const std::string& path, int w, int h, bool gray, double fps, int frames) {
        m_path = path, m_width = w, m_height = h, m_fps = fps, m_frames = frames;
        m_want = gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_YUV444P;
        quietFfmpeg();
        const std::string where = "reading " + path;
        if (!fs::exists(path)) return makeError(ErrorCode::Io, "the video file named by the manifest does not exist", where);
        if (int e = avformat_open_input(&m_fmt, path.c_str(), nullptr, nullptr); e < 0)
            return makeError(ErrorCode::Format, "not a readable video file (" + avErrorText(e) + ")", where);
        if (int e = avformat_find_stream_info(m_fmt, nullptr); e < 0)
            return makeError(ErrorCode::Format, "no stream information (" + avErrorText(e) + ")", where);
        const AVCodec* codec = nullptr;
        m_index = av_find_best_stream(m_fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
        if (m_index < 0 || !codec) return makeError(ErrorCode::Format, "the file holds no decodable video stream", where);
        m_dec = avcodec_alloc_context3(codec);
        if (!m_dec) return makeError(ErrorCode::Internal, "out of memory", where);
        avcodec_parameters_to_context(m_dec, m_fmt->streams[m_index]->codecpar);
        // Many small streams are decoded side by side: one thread each, no frame-threading delay.
        m_dec->thread_count = 1;
        if (int e = avcodec_open2(m_dec, codec, nullptr); e < 0)
            return makeError(ErrorCode::Format, "opening the decoder failed: " + avErrorText(e), where);
        if (m_dec->width != w || m_dec->height != h)
            return makeError(ErrorCode::Format, "the video is " + std::to_string(m_dec->width) + "x" + std::to_string(m_dec->height) +
                                                    " but the manifest's grid is " + std::to_string(w) + "x" + std::to_string(h), where);
        m_frame = av_frame_alloc();
        m_pkt = av_packet_alloc();
        if (!m_frame || !m_pkt) return makeError(ErrorCode::Internal, "out of memory", where);
        return {};
    }

    // The next frame's planes; pointers stay valid until the next call.
    Status next(const uint8_t* planes[3], int linesize[3]) {
        const std::string where = "reading " + m_path + ": frame " + std::to_string(m_next);
        for (;;) {
            int e = avcodec_receive_frame(m_dec, m_frame);
            if (e == 0) {
                const int index = frameIndex(m_frame);
                if (m_skipBefore >= 0 && index < m_skipBefore) continue;  // decoding forward to a seek target
                m_skipBefore = -1;
                ++m_next;
                return planesOf(m_frame, planes, linesize, where);
            }
            if (e == AVERROR_EOF)
                return makeError(ErrorCode::Format, "the video ends after " + std::to_string(m_next) + " of " + std::to_string(m_frames) +
                                                        " frames (truncated or damaged file)", where);
            if (e != AVERROR(EAGAIN)) return makeError(ErrorCode::Format, "decoding failed: " + avErrorText(e), where);
            if (m_demuxEnded) return makeError(ErrorCode::Format, "decoder stalled at the end of the file", where);
            e = av_read_frame(m_fmt, m_pkt);
            if (e == AVERROR_EOF) {
                m_demuxEnded = true;
                avcodec_send_packet(m_dec, nullptr);  // drain the frames still inside the decoder
                continue;
            }
            if (e < 0) return makeError(ErrorCode::Format, "reading a packet failed: " + avErrorText(e), where);
            if (m_pkt->stream_index == m_index) {
                e = avcodec_send_packet(m_dec, m_pkt);
                av_packet_unref(m_pkt);
                if (e < 0 && e != AVERROR(EAGAIN) && e != AVERROR_INVALIDDATA)
                    return makeError(ErrorCode::Format, "decoding a packet failed: " + avErrorText(e), where);
            } else {
                av_packet_unref(m_pkt);
            }
        }
    }

    Status seek(int frame) {
        if (frame == m_next) return {};
        const AVStream* st = m_fmt->streams[m_index];
        const int64_t ts = av_rescale_q(frame, av_inv_q(av_d2q(m_fps, 100000)), st->time_base);
        int e = av_seek_frame(m_fmt, m_index, ts, AVSEEK_FLAG_BACKWARD);
        if (e < 0) e = av_seek_frame(m_fmt, m_index, 0, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_BYTE);
        if (e < 0)
            return makeError(ErrorCode::Format,
                             "seeking to frame " + std::to_string(frame) + " failed: " + avErrorText(e),
                             "reading " + m_path);
        avcodec_flush_buffers(m_dec);
        m_demuxEnded = false;
        m_skipBefore = frame;
        m_next = frame;
        return {};
    }

private:
    int frameIndex(const AVFrame* f) const {
        int64_t ts = f->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) ts = f->pts;
        if (ts == AV_NOPTS_VALUE) return m_next;
        return static_cast<int>(std::llround(static_cast<double>(ts) * av_q2d(m_fmt->streams[m_index]->time_base) * m_fps));
    }

    Status planesOf(AVFrame* f, const uint8_t* planes[3], int linesize[3], const std::string& where) {
        if (f->width != m_width || f->height != m_height)
            return makeError(ErrorCode::Format, "a decoded frame is " + std::to_string(f->width) + "x" + std::to_string(f->height) +
                                                    ", not the grid's " + std::to_string(m_width) + "x" + std::to_string(m_height), where);
        const auto fmt = static_cast<AVPixelFormat>(f->format);
        const bool same = fmt == m_want || (m_want == AV_PIX_FMT_YUV444P && fmt == AV_PIX_FMT_YUVJ444P);
        AVFrame* src = f;
        if (!same) {
            // A decoder that hands out another layout (another codec's choice): convert the planes.
            if (!m_converted) {
                m_converted = av_frame_alloc();
                m_converted->format = m_want;
                m_converted->width = m_width;
                m_converted->height = m_height;
                if (!m_converted || av_frame_get_buffer(m_converted, 0) < 0) return makeError(ErrorCode::Internal, "out of memory", where);
            }
            m_sws = sws_getCachedContext(m_sws, m_width, m_height, fmt, m_width, m_height, m_want, SWS_POINT, nullptr, nullptr, nullptr);
            if (!m_sws)
                return makeError(
                    ErrorCode::Unsupported,
                    std::string("cannot convert decoded pixels from ") + av_get_pix_fmt_name(fmt), where);
            sws_scale(m_sws, f->data, f->linesize, 0, m_height, m_converted->data, m_converted->linesize);
            src = m_converted;
        }
        for (int p = 0; p < 3; ++p) {
            planes[p] = src->data[p];
            linesize[p] = src->linesize[p];
        }
        return {};
    }

    std::string m_path;
    int m_width = 0, m_height = 0, m_frames = 0;
    double m_fps = 30;
    AVPixelFormat m_want = AV_PIX_FMT_YUV444P;
    AVFormatContext* m_fmt = nullptr;
    AVCodecContext* m_dec = nullptr;
    AVFrame* m_frame = nullptr;
    AVFrame* m_converted = nullptr;
    AVPacket* m_pkt = nullptr;
    SwsContext* m_sws = nullptr;
    int m_index = -1;
    int m_next = 0;
    int m_skipBefore = -1;
    bool m_demuxEnded = false;
};

uint32_t compactBits(uint32_t v) {  // every other bit of v, packed
    v &= 0x55;
    v = (v | (v >> 1)) & 0x33;
    v = (v | (v >> 2)) & 0x0f;
    return v;
}

uint64_t spreadBits21(uint64_t v) {  // 21 bits -> every third bit of 63
    v &= 0x1fffff;
    v = (v | v << 32) & 0x1f00000000ffffULL;
    v = (v | v << 16) & 0x1f0000ff0000ffULL;
    v = (v | v << 8) & 0x100f00f00f00f00fULL;
    v = (v | v << 4) & 0x10c30c30c30c30c3ULL;
    v = (v | v << 2) & 0x1249249249249249ULL;
    return v;
}

}  // namespace

// ---- layout --------------------------------------------------------------------------------------

std::vector<uint32_t> mortonOrder(const std::vector<Vec3>& positions) {
    Bounds b;
    for (const Vec3& p : positions) b.add(p);
    const Vec3 size = b.size();
    std::vector<std::pair<uint64_t, uint32_t>> keys(positions.size());
    for (size_t i = 0; i < positions.size(); ++i) {
        uint64_t code = 0;
        for (int a = 0; a < 3; ++a) {
            const float t = size[a] > 0 ? (positions[i][a] - b.min[a]) / size[a] : 0.0f;
            const auto q = static_cast<uint64_t>(std::clamp(t, 0.0f, 1.0f) * 2097151.0f);
            code |= spreadBits21(q) << a;
        }
        keys[i] = {code, static_cast<uint32_t>(i)};
    }
    std::sort(keys.begin(), keys.end());
    std::vector<uint32_t> order(positions.size());
    for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].second;
    return order;
}

void gridPixel(size_t slot, int width, int& x, int& y) {
    const size_t block = slot / (kBlock * kBlock);
    const auto within = static_cast<uint32_t>(slot % (kBlock * kBlock));
    const size_t blocksX = static_cast<size_t>(width / kBlock);
    x = static_cast<int>((block % blocksX) * kBlock + compactBits(within));
    y = static_cast<int>((block / blocksX) * kBlock + compactBits(within >> 1));
}

// ---- encoding ------------------------------------------------------------------------------------

Result<GaussianVideoInfo> writeGaussianVideo(SplatFrameSource& src, const std::string& outDir, const GaussianVideoOptions& o,
                                             const GaussianVideoProgress& progress) {
    const std::string where = "writing the Gaussian video " + outDir;
    if (o.codec != "libx264" && o.codec != "ffv1")
        return makeError(ErrorCode::Unsupported, "codec '" + o.codec + "' is not one of libx264, ffv1", where);
    if (o.crf < 0 || o.crf > 51) return makeError(ErrorCode::Invalid, "crf must be within 0..51", where);
    const int frames = src.frameCount();
    if (frames < 1) return makeError(ErrorCode::Invalid, "the sequence has no frames", where);
    if (src.splatCount() < 1 || src.splatCount() > (size_t{1} << 28))
        return makeError(ErrorCode::Unsupported, "a frame must hold 1 to 268435456 Gaussians (a 16384x16384 grid)", where);
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec) return makeError(ErrorCode::Io, "cannot create the folder: " + ec.message(), where);
    // An old manifest must not outlive a failed run next to half-written videos.
    fs::remove(fs::path(outDir) / kManifestName, ec);

    GaussianVideoInfo info;
    info.frames = frames;
    info.splats = src.splatCount();
    info.shDegree = src.shDegree();
    info.fps = src.fps();
    info.codec = o.codec;
    info.channels = channelNames(info.shDegree);
    const int nch = static_cast<int>(info.channels.size());
    for (int c = 0; c < nch; ++c) info.channelBits.push_back(c < 3 ? 16 : 8);
    gridSize(info.splats, info.width, info.height);

    // Pass 1: every frame's value ranges (and the check that every frame can be read) before any video is written.
    std::vector<uint32_t> order;
    std::vector<bool> varies(static_cast<size_t>(nch), false);
    BY_TRY(src.seek(0));
    for (int k = 0; k < frames; ++k) {
        auto cloud = src.read();
        if (!cloud) return std::move(cloud.error());
        if (cloud->size() != info.splats || cloud->shDegree != info.shDegree)
            return makeError(ErrorCode::Invalid, "frame " + std::to_string(k) + " differs in Gaussian count or SH degree from frame 0", where);
        if (k == 0) order = mortonOrder(cloud->positions);
        std::vector<std::pair<float, float>> r(static_cast<size_t>(nch), {INFINITY, -INFINITY});
        for (size_t i = 0; i < cloud->size(); ++i)
            for (int c = 0; c < nch; ++c) {
                const float v = channelValue(*cloud, i, c);
                if (!std::isfinite(v))
                    return makeError(ErrorCode::Invalid,
                                     "frame " + std::to_string(k) + " holds a non-finite " +
                                         info.channels[static_cast<size_t>(c)],
                                     where);
                auto& [lo, hi] = r[static_cast<size_t>(c)];
                lo = std::min(lo, v), hi = std::max(hi, v);
            }
        for (int c = 0; c < nch; ++c)
            if (r[static_cast<size_t>(c)].second > r[static_cast<size_t>(c)].first) varies[static_cast<size_t>(c)] = true;
        info.ranges.push_back(std::move(r));
        if (progress) progress(k, 2 * frames);
    }

    // Streams whose channels never vary inside any frame need no video: the ranges hold the value.
    info.streams = streamLayout(info.shDegree);
    std::vector<std::unique_ptr<VideoFileWriter>> writers(info.streams.size());
    for (size_t s = 0; s < info.streams.size(); ++s) {
        GaussianVideoStream& st = info.streams[s];
        bool any = false;
        for (int c : st.channels) any = any || varies[static_cast<size_t>(c)];
        if (!any) continue;
        st.file = st.name + ".mkv";
        // A wrong high byte would move a Gaussian by 1/256 of the box: those are always lossless.
        const bool lossless = o.codec == "ffv1" || st.part == 1;
        // Rotations of flattened Gaussians show their errors most (a turned disc is a different
        // footprint), so they get a finer crf than the rest.
        const int crf = st.name == "rotation" ? std::max(0, o.crf - o.rotationCrfOffset) : o.crf;
        VideoEncoderSettings es;
        es.container = "matroska";
        es.codec = o.codec;
        es.pixels = st.channels.size() == 1 ? VideoPixels::Gray8 : VideoPixels::Yuv444p;
        es.fps = info.fps;
        es.keyframeInterval = std::max(1, o.keyframeInterval);
        es.fullRange = true;  // the planes are data, not studio-range video
        if (o.codec == "libx264") es.codecOptions = {{"preset", o.preset}, lossless ? std::pair<std::string, std::string>{"qp", "0"}
                                                                                    : std::pair<std::string, std::string>{"crf", std::to_string(crf)}};
        else if (o.codec == "ffv1") es.codecOptions = {{"level", "3"}};
        auto w = VideoFileWriter::open((fs::path(outDir) / st.file).string(), info.width, info.height, es);
        if (!w) return std::move(w.error());
        writers[s] = std::move(*w);
    }

    // Grid slot -> pixel offset; slots past the last Gaussian repeat it so blocks stay smooth.
    const size_t pixels = static_cast<size_t>(info.width) * static_cast<size_t>(info.height);
    std::vector<uint32_t> pixelOf(pixels), gaussianOf(pixels);
    for (size_t slot = 0; slot < pixels; ++slot) {
        int x = 0, y = 0;
        gridPixel(slot, info.width, x, y);
        pixelOf[slot] = static_cast<uint32_t>(y * info.width + x);
        gaussianOf[slot] = order[std::min(slot, info.splats - 1)];
    }
    BY_TRY(src.seek(0));
    std::vector<std::vector<uint8_t>> planes;
    for (int k = 0; k < frames; ++k) {
        auto cloud = src.read();
        if (!cloud) return std::move(cloud.error());
        const auto& r = info.ranges[static_cast<size_t>(k)];
        for (size_t s = 0; s < info.streams.size(); ++s) {
            if (!writers[s]) continue;
            const GaussianVideoStream& st = info.streams[s];
            planes.assign(st.channels.size(), std::vector<uint8_t>(pixels));
            for (size_t p = 0; p < st.channels.size(); ++p) {
                const int c = st.channels[p];
                const auto [lo, hi] = r[static_cast<size_t>(c)];
                uint8_t* out = planes[p].data();
                for (size_t slot = 0; slot < pixels; ++slot) {
                    const float v = channelValue(*cloud, gaussianOf[slot], c);
                    uint8_t byte;
                    if (st.part == 0) byte = static_cast<uint8_t>(quantize(v, lo, hi, 255));
                    else {
                        const uint32_t q = quantize(v, lo, hi, 65535);
                        byte = static_cast<uint8_t>(st.part == 1 ? q >> 8 : q & 0xff);
                    }
                    out[pixelOf[slot]] = byte;
                }
            }
            BY_TRY(writers[s]->writePlanes(planes));
        }
        if (progress) progress(frames + k, 2 * frames);
    }
    for (size_t s = 0; s < writers.size(); ++s) {
        if (!writers[s]) continue;
        BY_TRY(writers[s]->finish());
        writers[s].reset();
        info.streams[s].bytes = fs::file_size(fs::path(outDir) / info.streams[s].file, ec);
        info.totalBytes += info.streams[s].bytes;
    }

    json m;
    m["format"] = kFormatName;
    m["version"] = 1;
    m["frames"] = info.frames;
    m["splats"] = info.splats;
    m["sh_degree"] = info.shDegree;
    m["fps"] = info.fps;
    m["grid"] = {{"width", info.width}, {"height", info.height}, {"block", kBlock}, {"order", "morton"}};
    m["codec"] = info.codec;
    if (o.codec == "libx264") {
        m["crf"] = o.crf;
        m["rotation_crf"] = std::max(0, o.crf - o.rotationCrfOffset);
        m["position_high_lossless"] = true;
    }
    m["keyframe_interval"] = o.keyframeInterval;
    m["channels"] = json::array();
    for (int c = 0; c < nch; ++c)
        m["channels"].push_back({{"name", info.channels[static_cast<size_t>(c)]},
                                 {"bits", info.channelBits[static_cast<size_t>(c)]}});
    m["streams"] = json::array();
    for (const auto& st : info.streams) {
        json j = {{"name", st.name}, {"channels", st.channels}, {"part", st.part == 0 ? "value" : st.part == 1 ? "high" : "low"}};
        j["file"] = st.file.empty() ? json(nullptr) : json(st.file);
        if (!st.file.empty()) j["bytes"] = st.bytes;
        m["streams"].push_back(std::move(j));
    }
    m["ranges"] = json::array();
    for (const auto& r : info.ranges) {
        json f = json::array();
        for (const auto& [lo, hi] : r) f.push_back({lo, hi});
        m["ranges"].push_back(std::move(f));
    }
    const std::string text = m.dump(1);
    auto w = AtomicWriter::open((fs::path(outDir) / kManifestName).string());
    if (!w) return std::move(w.error());
    BY_TRY((*w)->write(text.data(), text.size()));
    BY_TRY((*w)->commit());
    info.totalBytes += text.size();
    return info;
}

// ---- decoding ------------------------------------------------------------------------------------

struct GaussianVideoReader::Impl {
    std::string manifest;
    GaussianVideoInfo info;
    std::vector<std::unique_ptr<VideoReader>> readers;  // per stream, null when constant
    std::vector<uint16_t> gridX, gridY;                 // Gaussian (grid slot) -> pixel
    std::vector<uint8_t> high;                          // high bytes of x, y, z until the low bytes come
    int next = 0;
};

GaussianVideoReader::GaussianVideoReader() : m(std::make_unique<Impl>()) {}
GaussianVideoReader::~GaussianVideoReader() = default;

namespace {

Result<GaussianVideoInfo> parseManifest(const std::string& path) {
    const std::string where = "reading the Gaussian video manifest " + path;
    std::ifstream in(path);
    if (!in) return makeError(ErrorCode::Io, "the manifest does not exist or cannot be read", where);
    json m;
    try {
        m = json::parse(in);
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Format, std::string("not valid JSON (") + e.what() + ")", where);
    }
    GaussianVideoInfo info;
    try {
        if (m.value("format", std::string()) != kFormatName)
            return makeError(ErrorCode::Format, std::string("the \"format\" field is not \"") + kFormatName + "\"", where);
        if (m.value("version", 0) != 1) return makeError(ErrorCode::Unsupported, "only version 1 manifests are understood", where);
        for (const char* f : {"frames", "splats", "sh_degree", "fps", "grid", "channels", "streams", "ranges"})
            if (!m.contains(f)) return makeError(ErrorCode::Format, std::string("the manifest has no \"") + f + "\" field", where);
        info.frames = m["frames"].get<int>();
        info.splats = m["splats"].get<size_t>();
        info.shDegree = m["sh_degree"].get<int>();
        info.fps = m["fps"].get<double>();
        info.width = m["grid"].at("width").get<int>();
        info.height = m["grid"].at("height").get<int>();
        info.codec = m.value("codec", std::string());
        if (info.frames < 1 || info.splats < 1 || info.shDegree < 0 || info.shDegree > 3 || !(info.fps > 0) ||
            info.width < 1 || info.height < 1 || info.width > 16384 || info.height > 16384 || info.splats > (size_t{1} << 28) ||
            static_cast<size_t>(info.width) * static_cast<size_t>(info.height) < info.splats ||
            info.width % kBlock || info.height % kBlock)
            return makeError(ErrorCode::Format, "frames, splats, sh_degree, fps or grid size are out of range or do not fit together", where);
        for (const auto& c : m["channels"]) {
            info.channels.push_back(c.at("name").get<std::string>());
            info.channelBits.push_back(c.at("bits").get<int>());
        }
        if (info.channels != channelNames(info.shDegree))
            return makeError(ErrorCode::Format, "the channel list does not match SH degree " + std::to_string(info.shDegree), where);
        const auto expected = streamLayout(info.shDegree);
        if (m["streams"].size() != expected.size())
            return makeError(ErrorCode::Format,
                             "expected " + std::to_string(expected.size()) + " streams, the manifest lists " +
                                 std::to_string(m["streams"].size()),
                             where);
        for (size_t s = 0; s < expected.size(); ++s) {
            const json& j = m["streams"][s];
            GaussianVideoStream st = expected[s];
            if (j.at("name").get<std::string>() != st.name)
                return makeError(ErrorCode::Format, "stream " + std::to_string(s) + " should be \"" + st.name + "\"", where);
            if (j.contains("file") && !j["file"].is_null()) st.file = j["file"].get<std::string>();
            if (st.file.find('/') != std::string::npos || st.file.find("..") != std::string::npos)
                return makeError(ErrorCode::Format, "stream file \"" + st.file + "\" must be a plain name beside the manifest", where);
            st.bytes = j.value("bytes", uint64_t{0});
            info.streams.push_back(std::move(st));
        }
        const size_t nch = info.channels.size();
        if (m["ranges"].size() != static_cast<size_t>(info.frames))
            return makeError(ErrorCode::Format,
                             "\"ranges\" has " + std::to_string(m["ranges"].size()) +
                                 " frames but \"frames\" says " + std::to_string(info.frames),
                             where);
        for (const auto& f : m["ranges"]) {
            if (f.size() != nch) return makeError(ErrorCode::Format, "a frame's ranges do not cover all " + std::to_string(nch) + " channels", where);
            std::vector<std::pair<float, float>> r;
            for (const auto& p : f) {
                const float lo = p.at(0).get<float>(), hi = p.at(1).get<float>();
                if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo)
                    return makeError(ErrorCode::Format, "a range is not finite or has max < min", where);
                r.emplace_back(lo, hi);
            }
            info.ranges.push_back(std::move(r));
        }
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Format, std::string("a field has the wrong type or is missing (") + e.what() + ")", where);
    }
    return info;
}

std::string manifestPath(const std::string& path) { return fs::is_directory(path) ? (fs::path(path) / kManifestName).string() : path; }

}  // namespace

bool isGaussianVideo(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return fs::exists(fs::path(path) / kManifestName, ec);
    return fs::path(path).extension() == ".json";
}

Result<std::unique_ptr<GaussianVideoReader>> GaussianVideoReader::open(const std::string& path) {
    const std::string manifest = manifestPath(path);
    auto info = parseManifest(manifest);
    if (!info) return std::move(info.error());
    std::unique_ptr<GaussianVideoReader> r(new GaussianVideoReader());
    Impl& s = *r->m;
    s.manifest = manifest;
    s.info = std::move(*info);
    const fs::path dir = fs::path(manifest).parent_path();
    s.readers.resize(s.info.streams.size());
    for (size_t i = 0; i < s.info.streams.size(); ++i) {
        GaussianVideoStream& st = s.info.streams[i];
        if (st.file.empty()) continue;
        s.readers[i] = std::make_unique<VideoReader>();
        BY_TRY(s.readers[i]->open((dir / st.file).string(), s.info.width, s.info.height, st.channels.size() == 1, s.info.fps, s.info.frames));
        std::error_code ec;
        st.bytes = fs::file_size(dir / st.file, ec);
        s.info.totalBytes += st.bytes;
    }
    std::error_code ec;
    s.info.totalBytes += fs::file_size(manifest, ec);
    s.gridX.resize(s.info.splats);
    s.gridY.resize(s.info.splats);
    for (size_t slot = 0; slot < s.info.splats; ++slot) {
        int x = 0, y = 0;
        gridPixel(slot, s.info.width, x, y);
        s.gridX[slot] = static_cast<uint16_t>(x), s.gridY[slot] = static_cast<uint16_t>(y);
    }
    return r;
}

int GaussianVideoReader::frameCount() const { return m->info.frames; }
size_t GaussianVideoReader::splatCount() const { return m->info.splats; }
int GaussianVideoReader::shDegree() const { return m->info.shDegree; }
double GaussianVideoReader::fps() const { return m->info.fps; }
int GaussianVideoReader::position() const { return m->next; }
const GaussianVideoInfo& GaussianVideoReader::info() const { return m->info; }
std::string GaussianVideoReader::describe() const { return "Gaussian video " + m->manifest; }

Status GaussianVideoReader::seek(int frame) {
    if (frame < 0 || frame >= m->info.frames)
        return makeError(ErrorCode::Invalid, "frame " + std::to_string(frame) + " is outside 0.." + std::to_string(m->info.frames - 1), describe());
    for (auto& r : m->readers)
        if (r) BY_TRY(r->seek(frame));
    m->next = frame;
    return {};
}

Result<SplatCloud> GaussianVideoReader::read() {
    Impl& s = *m;
    if (s.next >= s.info.frames)
        return makeError(ErrorCode::Invalid, "read past the last frame (" + std::to_string(s.info.frames) + " frames)", describe());
    const size_t n = s.info.splats;
    const auto& r = s.info.ranges[static_cast<size_t>(s.next)];
    SplatCloud c;
    c.shDegree = s.info.shDegree;
    c.positions.resize(n);
    c.logScales.resize(n);
    c.rotations.resize(n);
    c.opacityLogits.resize(n);
    const auto nsh = static_cast<size_t>(shCoeffCount(c.shDegree) * 3);
    c.sh.resize(n * nsh);
    // Where channel ch of Gaussian g lives in the cloud: a base pointer and a stride in floats.
    // The vectors are walked as float arrays: Vec3 and Quat are plain runs of floats.
    static_assert(sizeof(Vec3) == 3 * sizeof(float) && sizeof(Quat) == 4 * sizeof(float));
    auto target = [&](int ch, float*& base, size_t& stride) {
        if (ch < 3) base = reinterpret_cast<float*>(c.positions.data()) + ch, stride = 3;
        else if (ch < 6) base = reinterpret_cast<float*>(c.logScales.data()) + (ch - 3), stride = 3;
        else if (ch < 9) base = reinterpret_cast<float*>(c.rotations.data()) + 1 + (ch - 6), stride = 4;  // x y z after w
        else if (ch == 9) base = c.opacityLogits.data(), stride = 1;
        else base = c.sh.data() + (ch - 10), stride = nsh;
    };
    std::vector<uint8_t>& high = s.high;
    high.resize(n * 3);
    for (size_t i = 0; i < s.info.streams.size(); ++i) {
        const GaussianVideoStream& st = s.info.streams[i];
        const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
        int linesize[3] = {0, 0, 0};
        if (s.readers[i]) {
            auto ok = s.readers[i]->next(planes, linesize);
            if (!ok) return std::move(ok.error().withContext(describe()));
        }
        for (size_t p = 0; p < st.channels.size(); ++p) {
            const int ch = st.channels[p];
            const auto [lo, hi] = r[static_cast<size_t>(ch)];
            float* base = nullptr;
            size_t stride = 0;
            target(ch, base, stride);
            if (!s.readers[i] || !(hi > lo)) {
                if (st.part != 1)
                    for (size_t g = 0; g < n; ++g) base[g * stride] = lo;
                continue;
            }
            const uint8_t* plane = planes[p];
            const auto ls = static_cast<size_t>(linesize[p]);
            const uint16_t* xs = s.gridX.data();
            const uint16_t* ys = s.gridY.data();
            uint8_t* hiBytes = high.data() + p * n;
            if (st.part == 1) {
                for (size_t g = 0; g < n; ++g) hiBytes[g] = plane[ys[g] * ls + xs[g]];
                continue;
            }
            const uint32_t levels = st.part == 0 ? 255u : 65535u;
            const float scale = static_cast<float>((static_cast<double>(hi) - lo) / levels);
            for (size_t g = 0; g < n; ++g) {
                uint32_t q = plane[ys[g] * ls + xs[g]];
                if (st.part == 2) q |= static_cast<uint32_t>(hiBytes[g]) << 8;
                base[g * stride] = lo + scale * static_cast<float>(q);
            }
        }
    }
    for (size_t g = 0; g < n; ++g) {
        Quat& q = c.rotations[g];
        q.w = std::sqrt(std::max(0.0f, 1.0f - q.x * q.x - q.y * q.y - q.z * q.z));
    }
    ++s.next;
    return c;
}

Result<std::unique_ptr<SplatFrameSource>> openSplatSequence(const std::string& path, double fps) {
    if (isGaussianVideo(path)) {
        auto r = GaussianVideoReader::open(path);
        if (!r) return std::move(r.error());
        return std::unique_ptr<SplatFrameSource>(std::move(*r));
    }
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        bool anyPly = false;
        for (const auto& e : fs::directory_iterator(path, ec)) anyPly = anyPly || e.path().extension() == ".ply" || e.path().extension() == ".PLY";
        if (!anyPly)
            return makeError(ErrorCode::Io, "the folder holds neither a manifest.json (a Gaussian video) nor .ply frames (a PLY sequence)",
                             "opening " + path);
    }
    auto p = PlySequenceSource::open(path, fps);
    if (!p) return std::move(p.error());
    return std::unique_ptr<SplatFrameSource>(std::move(*p));
}

}  // namespace by
