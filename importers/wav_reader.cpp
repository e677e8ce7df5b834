#include "importers/wav_reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "engine/mapped_file.h"

namespace by {

namespace fs = std::filesystem;

namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// Far above any real audio rate (professional gear stops at 768 kHz) and well inside an int.
constexpr uint32_t kMaxSampleRate = 10'000'000;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

Error wavError(ErrorCode code, const std::string& what, size_t offset, const std::string& msg) {
    return makeError(code, msg, what + " at byte " + std::to_string(offset));
}

std::vector<std::string> wavsUnder(const fs::path& dir, bool recursive) {
    std::vector<std::string> out;
    std::error_code ec;
    auto take = [&](const fs::directory_entry& e) {
        std::string ext = e.path().extension().string();
        for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (e.is_regular_file(ec) && ext == ".wav") out.push_back(e.path().string());
    };
    if (recursive)
        for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            take(*it);
    else
        for (const auto& e : fs::directory_iterator(dir, ec)) take(e);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

Result<AudioClip> parseWav(const uint8_t* data, size_t size, const std::string& what) {
    if (size < 12) return wavError(ErrorCode::Format, what, size, "the file ends inside the 12-byte RIFF header");
    if (std::memcmp(data, "RIFX", 4) == 0)
        return wavError(ErrorCode::Unsupported, what, 0, "big-endian (RIFX) WAV files are not supported");
    if (std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0)
        return wavError(ErrorCode::Format, what, 0, "this is not a WAV file: it does not start with RIFF....WAVE");

    bool haveFmt = false;
    uint16_t format = 0, channels = 0, bits = 0, blockAlign = 0;
    uint32_t rate = 0;
    const uint8_t* samples = nullptr;
    size_t sampleBytes = 0, dataOffset = 0;
    size_t pos = 12;
    while (pos + 8 <= size) {
        const uint32_t chunkSize = le32(data + pos + 4);
        const size_t body = pos + 8;
        const bool isData = std::memcmp(data + pos, "data", 4) == 0;
        if (static_cast<uint64_t>(chunkSize) > size - body) {
            if (!isData)
                return wavError(ErrorCode::Format, what, pos,
                                "the \"" + std::string(reinterpret_cast<const char*>(data + pos), 4) + "\" chunk claims " +
                                    std::to_string(chunkSize) + " bytes but only " + std::to_string(size - body) +
                                    " remain");
            return wavError(ErrorCode::Format, what, pos,
                            "the data chunk claims " + std::to_string(chunkSize) + " bytes but the file ends after " +
                                std::to_string(size - body) + ": the file is truncated");
        }
        if (std::memcmp(data + pos, "fmt ", 4) == 0) {
            if (chunkSize < 16)
                return wavError(ErrorCode::Format, what, pos, "the fmt chunk is " + std::to_string(chunkSize) +
                                                                  " bytes, shorter than the 16 it needs");
            format = le16(data + body);
            channels = le16(data + body + 2);
            rate = le32(data + body + 4);
            blockAlign = le16(data + body + 12);
            bits = le16(data + body + 14);
            if (format == kFormatExtensible) {
                if (chunkSize < 40)
                    return wavError(ErrorCode::Format, what, pos, "the extensible fmt chunk is shorter than 40 bytes");
                format = le16(data + body + 24);  // first two bytes of the sub-format GUID
            }
            haveFmt = true;
        } else if (isData) {
            samples = data + body;
            sampleBytes = chunkSize;
            dataOffset = body;
        }
        pos = body + chunkSize + (chunkSize & 1u);  // chunks are padded to even sizes
    }
    if (!haveFmt) return wavError(ErrorCode::Format, what, 12, "the file has no fmt chunk");
    if (!samples) return wavError(ErrorCode::Format, what, size, "the file has no data chunk");
    if (channels == 0 || rate == 0)
        return wavError(ErrorCode::Format, what, 12, "the fmt chunk gives zero channels or a zero sample rate");
    if (rate > kMaxSampleRate)
        return wavError(ErrorCode::Format, what, 12,
                        "the sample rate " + std::to_string(rate) + " Hz is not a plausible audio rate");
    const bool pcm16 = format == kFormatPcm && bits == 16;
    const bool float32 = format == kFormatFloat && bits == 32;
    if (!pcm16 && !float32)
        return wavError(ErrorCode::Unsupported, what, 12,
                        "the audio is " + std::string(format == kFormatPcm ? "integer PCM" : format == kFormatFloat ? "float" : "encoding " + std::to_string(format)) +
                            " with " + std::to_string(bits) + " bits per sample; only 16-bit PCM and 32-bit float are read");
    const size_t frameBytes = static_cast<size_t>(channels) * (bits / 8);
    if (blockAlign != frameBytes)
        return wavError(ErrorCode::Format, what, 12,
                        "the block alignment " + std::to_string(blockAlign) + " does not match " +
                            std::to_string(channels) + " channels of " + std::to_string(bits) + " bits");
    if (sampleBytes % frameBytes != 0)
        return wavError(ErrorCode::Format, what, dataOffset,
                        "the data chunk holds " + std::to_string(sampleBytes) + " bytes, not a whole number of " +
                            std::to_string(frameBytes) + "-byte frames");

    AudioClip clip;
    clip.sampleRate = static_cast<int>(rate);
    clip.channels = channels;
    const size_t frames = sampleBytes / frameBytes;
    clip.samples.resize(frames);
    const float inv = 1.0f / static_cast<float>(channels);
    for (size_t f = 0; f < frames; ++f) {
        const uint8_t* p = samples + f * frameBytes;
        float sum = 0;
        for (uint16_t c = 0; c < channels; ++c) {
            if (pcm16) {
                sum += static_cast<float>(static_cast<int16_t>(le16(p + 2 * c))) / 32768.0f;
            } else {
                const uint32_t u = le32(p + 4 * c);
                float v;
                std::memcpy(&v, &u, 4);
                sum += v;
            }
        }
        clip.samples[f] = sum * inv;
    }
    return clip;
}

Result<AudioClip> readWav(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file) return file.error();
    return parseWav((*file)->data(), (*file)->size(), path);
}

std::vector<float> resampleLinear(const std::vector<float>& in, int fromRate, int toRate) {
    if (fromRate == toRate || in.empty()) return in;
    const size_t outLen = static_cast<size_t>(static_cast<double>(in.size()) * toRate / fromRate);
    std::vector<float> out(outLen);
    const double step = static_cast<double>(fromRate) / toRate;
    for (size_t i = 0; i < outLen; ++i) {
        const double x = static_cast<double>(i) * step;
        const size_t i0 = static_cast<size_t>(x);
        const size_t i1 = std::min(i0 + 1, in.size() - 1);
        const float t = static_cast<float>(x - static_cast<double>(i0));
        out[i] = in[i0] * (1 - t) + in[i1] * t;
    }
    return out;
}

Result<std::shared_ptr<WavFolderDataset>> WavFolderDataset::open(const std::string& dir,
                                                                 const WavDatasetOptions& options) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return makeError(ErrorCode::Io, "the audio folder does not exist", dir);
    if (options.sampleRate < 0 || options.clipSamples < 0)
        return makeError(ErrorCode::Invalid, "the sample rate and clip length cannot be negative", dir);
    auto ds = std::shared_ptr<WavFolderDataset>(new WavFolderDataset());
    ds->m_dir = dir;
    ds->m_options = options;
    std::vector<std::string> subdirs;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory(ec)) subdirs.push_back(e.path().filename().string());
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& sd : subdirs) {
        auto files = wavsUnder(fs::path(dir) / sd, true);
        if (files.empty()) continue;
        ds->m_classes.push_back(sd);
        for (auto& f : files) {
            ds->m_files.push_back(std::move(f));
            ds->m_labels.push_back(static_cast<int64_t>(ds->m_classes.size()) - 1);
        }
    }
    if (ds->m_files.empty()) {
        ds->m_files = wavsUnder(dir, false);
        ds->m_labels.assign(ds->m_files.size(), -1);
    }
    if (ds->m_files.empty()) return makeError(ErrorCode::Invalid, "the folder holds no .wav files", dir);
    if (ds->m_options.sampleRate == 0) {
        // Fix the rate from the first file, so every sample of the dataset is at the same rate.
        auto first = readWav(ds->m_files[0]);
        if (!first) return first.error();
        ds->m_options.sampleRate = first->sampleRate;
    }
    return ds;
}

std::string WavFolderDataset::name() const {
    return "wav (" + m_dir + ", " + std::to_string(m_options.sampleRate) + " Hz)";
}

Result<Sample> WavFolderDataset::sample(int64_t index) const {
    if (index < 0 || index >= size())
        return makeError(ErrorCode::Invalid, "sample index " + std::to_string(index) + " is out of range", name());
    const std::string& path = m_files[static_cast<size_t>(index)];
    const std::string ctx = name() + ": sample " + std::to_string(index);
    auto clip = readWav(path);
    if (!clip) return clip.error().withContext(ctx);
    std::vector<float> s = std::move(clip->samples);
    if (clip->sampleRate != m_options.sampleRate) {
        if (!m_options.resample)
            return makeError(ErrorCode::Invalid,
                             "the clip is at " + std::to_string(clip->sampleRate) + " Hz but the dataset is at " +
                                 std::to_string(m_options.sampleRate) + " Hz (ask for resampling to convert it)",
                             ctx + ": " + path);
        s = resampleLinear(s, clip->sampleRate, m_options.sampleRate);
    }
    if (m_options.clipSamples > 0) s.resize(static_cast<size_t>(m_options.clipSamples), 0.0f);
    Sample out;
    const int64_t n = static_cast<int64_t>(s.size());
    out.inputs.push_back(Tensor::fromFloats({n}, s));
    out.label = m_labels[static_cast<size_t>(index)];
    return out;
}

Result<int64_t> WavFolderDataset::label(int64_t index) const {
    if (index < 0 || index >= size())
        return makeError(ErrorCode::Invalid, "sample index " + std::to_string(index) + " is out of range", name());
    return m_labels[static_cast<size_t>(index)];
}

}  // namespace by
