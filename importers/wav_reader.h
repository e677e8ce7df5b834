#pragma once
// WAV audio (RIFF/WAVE): PCM 16-bit and IEEE float 32-bit, plain or WAVE_FORMAT_EXTENSIBLE, any
// channel count, mixed down to mono f32 in [-1, 1]. Other encodings (8/24/32-bit integer PCM,
// mu-law, big-endian RIFX) are reported as Unsupported, not guessed at.
#include <memory>
#include <string>
#include <vector>

#include "engine/dataset.h"

namespace by {

struct AudioClip {
    std::vector<float> samples;  // mono
    int sampleRate = 0;
    int channels = 0;  // in the file, before mixing down
};

// Fails (Format) naming the file and byte offset on a bad RIFF/WAVE magic, a chunk that runs past
// the end, a missing fmt or data chunk, or a data size that is not whole frames.
Result<AudioClip> parseWav(const uint8_t* data, size_t size, const std::string& what);
Result<AudioClip> readWav(const std::string& path);

// Linear-interpolation resampling. Good enough to feed a model a clip recorded at another rate;
// not a mastering-grade resampler (no anti-aliasing filter when going down).
std::vector<float> resampleLinear(const std::vector<float>& in, int fromRate, int toRate);

struct WavDatasetOptions {
    int sampleRate = 0;     // required rate; 0 = take the first file's rate and require it of all
    bool resample = false;  // resample clips at another rate instead of failing
    // Fixed clip length in samples: shorter clips are zero-padded, longer ones cut, so batches
    // stack. 0 = each clip keeps its length (batches of one, or a model that takes any length).
    int64_t clipSamples = 0;
};

// A folder of .wav files, labelled by sub-folder (DIR/yes/*.wav, DIR/no/*.wav) or unlabelled when
// flat. Samples are F32 [T]. Decoded per sample; a rate mismatch fails that sample with an error
// naming the file and both rates unless `resample` is set.
class WavFolderDataset : public Dataset {
public:
    static Result<std::shared_ptr<WavFolderDataset>> open(const std::string& dir, const WavDatasetOptions& options);

    std::string name() const override;
    int64_t size() const override { return static_cast<int64_t>(m_files.size()); }
    Result<Sample> sample(int64_t index) const override;
    std::vector<Shape> inputShapes() const override { return {{m_options.clipSamples ? m_options.clipSamples : -1}}; }
    std::vector<DType> inputDTypes() const override { return {DType::F32}; }
    const std::vector<std::string>& classNames() const override { return m_classes; }
    Result<int64_t> label(int64_t index) const override;
    int sampleRate() const { return m_options.sampleRate; }

private:
    WavFolderDataset() = default;
    std::string m_dir;
    WavDatasetOptions m_options;
    std::vector<std::string> m_files;
    std::vector<int64_t> m_labels;
    std::vector<std::string> m_classes;
};

}  // namespace by
