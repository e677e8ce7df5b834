#include "importers/video_file.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace by {

namespace {

std::string avText(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

}  // namespace

struct VideoFileWriter::Impl {
    std::string path;
    AVFormatContext* fmt = nullptr;
    AVCodecContext* enc = nullptr;
    AVStream* stream = nullptr;
    AVFrame* frame = nullptr;
    AVPacket* pkt = nullptr;
    SwsContext* sws = nullptr;
    int64_t pts = 0;
    bool finished = false;

    ~Impl() {
        sws_freeContext(sws);
        av_frame_free(&frame);
        av_packet_free(&pkt);
        avcodec_free_context(&enc);
        if (fmt) {
            if (fmt->pb) avio_closep(&fmt->pb);
            avformat_free_context(fmt);
        }
    }

    Status encode(AVFrame* f) {
        int e = avcodec_send_frame(enc, f);
        if (e < 0) return makeError(ErrorCode::Internal, "encoding failed: " + avText(e), "writing " + path);
        for (;;) {
            e = avcodec_receive_packet(enc, pkt);
            if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
            if (e < 0) return makeError(ErrorCode::Internal, "encoding failed: " + avText(e), "writing " + path);
            // One frame per tick: players (and avg_frame_rate) need the last frame's duration too.
            if (pkt->duration <= 0) pkt->duration = 1;
            av_packet_rescale_ts(pkt, enc->time_base, stream->time_base);
            pkt->stream_index = stream->index;
            e = av_interleaved_write_frame(fmt, pkt);
            if (e < 0) return makeError(ErrorCode::Io, "writing a packet failed: " + avText(e), "writing " + path);
        }
    }
};

VideoFileWriter::VideoFileWriter() : m(std::make_unique<Impl>()) {}
VideoFileWriter::~VideoFileWriter() = default;
int VideoFileWriter::framesWritten() const { return static_cast<int>(m->pts); }

Result<std::unique_ptr<VideoFileWriter>> VideoFileWriter::open(const std::string& path, int w, int h, const VideoFileOptions& o) {
    VideoEncoderSettings e;
    e.fps = o.fps;
    e.codecOptions = {{"preset", o.preset}, {"crf", std::to_string(o.crf)}};
    return open(path, w, h, e);
}

Result<std::unique_ptr<VideoFileWriter>> VideoFileWriter::open(const std::string& path, int w, int h, const VideoEncoderSettings& e) {
    const std::string where = "writing " + path;
    const bool subsampled = e.pixels == VideoPixels::Yuv420p;
    if (w < 1 || h < 1 || w > 16384 || h > 16384 || (subsampled && (w % 2 || h % 2)))
        return makeError(ErrorCode::Invalid, std::string("video frames must be ") + (subsampled ? "even-sized " : "") +
                                                 "between 1 and 16384 pixels, not " + std::to_string(w) + "x" + std::to_string(h), where);
    if (!(e.fps > 0 && e.fps <= 1000)) return makeError(ErrorCode::Invalid, "the frame rate must be between 0 and 1000", where);
    av_log_set_level(AV_LOG_FATAL);  // x264's statistics would interleave with our output; errors come back as values
    std::unique_ptr<VideoFileWriter> wr(new VideoFileWriter());
    Impl& s = *wr->m;
    s.path = path;
    std::string container = e.container;
    if (container.empty()) container = std::filesystem::path(path).extension() == ".mkv" ? "matroska" : "mp4";
    if (avformat_alloc_output_context2(&s.fmt, nullptr, container.c_str(), path.c_str()) < 0 || !s.fmt)
        return makeError(ErrorCode::Internal, "FFmpeg has no " + container + " muxer", where);
    const AVCodec* codec = avcodec_find_encoder_by_name(e.codec.c_str());
    if (!codec) return makeError(ErrorCode::Unsupported, "this FFmpeg has no '" + e.codec + "' encoder", where);
    s.stream = avformat_new_stream(s.fmt, nullptr);
    s.enc = avcodec_alloc_context3(codec);
    if (!s.stream || !s.enc) return makeError(ErrorCode::Internal, "out of memory setting up the encoder", where);
    s.enc->width = w;
    s.enc->height = h;
    s.enc->pix_fmt = e.pixels == VideoPixels::Gray8 ? AV_PIX_FMT_GRAY8 : e.pixels == VideoPixels::Yuv444p ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    const AVRational rate = av_d2q(e.fps, 100000);
    s.enc->time_base = av_inv_q(rate);
    s.enc->framerate = rate;
    s.enc->gop_size = std::max(1, e.keyframeInterval);
    if (e.fullRange) s.enc->color_range = AVCOL_RANGE_JPEG;
    if (s.fmt->oformat->flags & AVFMT_GLOBALHEADER) s.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary* opts = nullptr;
    for (const auto& [k, v] : e.codecOptions) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
    const int err = avcodec_open2(s.enc, codec, &opts);
    av_dict_free(&opts);
    if (err < 0) return makeError(ErrorCode::Unsupported, "opening the " + e.codec + " encoder failed: " + avText(err), where);
    avcodec_parameters_from_context(s.stream->codecpar, s.enc);
    s.stream->time_base = s.enc->time_base;
    if (avio_open(&s.fmt->pb, path.c_str(), AVIO_FLAG_WRITE) < 0) return makeError(ErrorCode::Io, "cannot create the file", where);
    if (int r = avformat_write_header(s.fmt, nullptr); r < 0)
        return makeError(ErrorCode::Io, "writing the container header failed: " + avText(r), where);
    s.frame = av_frame_alloc();
    s.pkt = av_packet_alloc();
    if (!s.frame || !s.pkt) return makeError(ErrorCode::Internal, "out of memory", where);
    s.frame->format = s.enc->pix_fmt;
    s.frame->width = w;
    s.frame->height = h;
    if (e.fullRange) s.frame->color_range = AVCOL_RANGE_JPEG;
    if (av_frame_get_buffer(s.frame, 0) < 0) return makeError(ErrorCode::Internal, "out of memory for a frame", where);
    return wr;
}

Status VideoFileWriter::write(const Image& img) {
    Impl& s = *m;
    const std::string where = "writing " + s.path;
    if (s.finished) return makeError(ErrorCode::Invalid, "the video is already finished", where);
    if (img.width != s.enc->width || img.height != s.enc->height || img.rgba.size() != static_cast<size_t>(img.width) * img.height * 4)
        return makeError(ErrorCode::Invalid, "frame " + std::to_string(s.pts) + " is " + std::to_string(img.width) + "x" +
                                                 std::to_string(img.height) + ", the video " + std::to_string(s.enc->width) + "x" +
                                                 std::to_string(s.enc->height), where);
    if (!s.sws) {
        s.sws = sws_getContext(img.width, img.height, AV_PIX_FMT_RGBA, img.width, img.height, s.enc->pix_fmt, SWS_BILINEAR, nullptr,
                               nullptr, nullptr);
        if (!s.sws) return makeError(ErrorCode::Internal, "no converter from RGBA to the video's pixels", where);
    }
    if (av_frame_make_writable(s.frame) < 0) return makeError(ErrorCode::Internal, "frame not writable", where);
    const uint8_t* src[1] = {img.rgba.data()};
    const int stride[1] = {img.width * 4};
    sws_scale(s.sws, src, stride, 0, img.height, s.frame->data, s.frame->linesize);
    s.frame->pts = s.pts++;
    return s.encode(s.frame);
}

Status VideoFileWriter::writePlanes(const std::vector<std::vector<uint8_t>>& planes) {
    Impl& s = *m;
    const std::string where = "writing " + s.path;
    const size_t want = s.enc->pix_fmt == AV_PIX_FMT_GRAY8 ? 1 : (s.enc->pix_fmt == AV_PIX_FMT_YUV444P ? 3 : 0);
    const size_t px = static_cast<size_t>(s.enc->width) * static_cast<size_t>(s.enc->height);
    if (s.finished) return makeError(ErrorCode::Invalid, "the video is already finished", where);
    if (want == 0 || planes.size() != want) return makeError(ErrorCode::Invalid, "wrong number of planes for this video", where);
    for (const auto& p : planes)
        if (p.size() != px) return makeError(ErrorCode::Invalid, "a plane does not match the video's size", where);
    if (av_frame_make_writable(s.frame) < 0) return makeError(ErrorCode::Internal, "frame not writable", where);
    for (size_t p = 0; p < planes.size(); ++p)
        for (int y = 0; y < s.frame->height; ++y)
            std::memcpy(s.frame->data[p] + static_cast<size_t>(y) * static_cast<size_t>(s.frame->linesize[p]),
                        planes[p].data() + static_cast<size_t>(y) * static_cast<size_t>(s.frame->width), static_cast<size_t>(s.frame->width));
    s.frame->pts = s.pts++;
    return s.encode(s.frame);
}

Status VideoFileWriter::finish() {
    Impl& s = *m;
    if (s.finished) return {};
    s.finished = true;
    BY_TRY(s.encode(nullptr));
    if (int e = av_write_trailer(s.fmt); e < 0) return makeError(ErrorCode::Io, "writing the trailer failed: " + avText(e), "writing " + s.path);
    avio_closep(&s.fmt->pb);
    return {};
}

Result<VideoFileInfo> probeVideo(const std::string& path) {
    const std::string where = "reading " + path;
    av_log_set_level(AV_LOG_FATAL);
    AVFormatContext* fmt = nullptr;
    if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) return makeError(ErrorCode::Io, "not a readable video file", where);
    struct Cleanup {
        AVFormatContext*& f;
        AVCodecContext* dec = nullptr;
        AVFrame* frame = nullptr;
        AVPacket* pkt = nullptr;
        ~Cleanup() {
            av_frame_free(&frame);
            av_packet_free(&pkt);
            avcodec_free_context(&dec);
            avformat_close_input(&f);
        }
    } c{fmt};
    if (avformat_find_stream_info(fmt, nullptr) < 0) return makeError(ErrorCode::Format, "no stream information", where);
    const int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (si < 0) return makeError(ErrorCode::Format, "no video stream", where);
    const AVCodecParameters* par = fmt->streams[si]->codecpar;
    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (!codec) return makeError(ErrorCode::Unsupported, "no decoder for this video's codec", where);
    c.dec = avcodec_alloc_context3(codec);
    c.frame = av_frame_alloc();
    c.pkt = av_packet_alloc();
    if (!c.dec || !c.frame || !c.pkt) return makeError(ErrorCode::Internal, "out of memory", where);
    avcodec_parameters_to_context(c.dec, par);
    if (avcodec_open2(c.dec, codec, nullptr) < 0) return makeError(ErrorCode::Unsupported, "opening the decoder failed", where);
    VideoFileInfo info;
    info.width = par->width, info.height = par->height;
    info.codec = codec->name;
    info.fps = av_q2d(fmt->streams[si]->avg_frame_rate);
    auto drain = [&]() -> Status {
        for (;;) {
            const int e = avcodec_receive_frame(c.dec, c.frame);
            if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
            if (e < 0) return makeError(ErrorCode::Format, "decoding failed: " + avText(e), where);
            ++info.frames;
        }
    };
    while (av_read_frame(fmt, c.pkt) >= 0) {
        if (c.pkt->stream_index == si) {
            // A full decoder (EAGAIN) takes the packet once its frames are out.
            int e = avcodec_send_packet(c.dec, c.pkt);
            while (e == AVERROR(EAGAIN)) {
                BY_TRY(drain());
                e = avcodec_send_packet(c.dec, c.pkt);
            }
            av_packet_unref(c.pkt);
            if (e < 0) return makeError(ErrorCode::Format, "decoding a packet failed: " + avText(e), where);
            BY_TRY(drain());
        } else {
            av_packet_unref(c.pkt);
        }
    }
    avcodec_send_packet(c.dec, nullptr);
    BY_TRY(drain());
    return info;
}

}  // namespace by
