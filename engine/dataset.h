#pragma once
// Datasets and batching, free of any file format: importers/dataset_readers.h opens MNIST IDX,
// images, WAV, text and the rest and hands back a Dataset; everything downstream (evaluation,
// calibration, the CLI's dataset verbs) sees only this interface.
//
// A Dataset is an indexed collection of samples. Each sample is one or more input tensors
// *without* the batch dimension (an MNIST image is U8 [1,28,28]) plus a class label and, for
// datasets that are not classification, an optional target tensor. Samples keep their natural
// element type (U8 pixels, F32 audio, String text); BatchIterator converts numeric inputs to f32,
// applies the normalisation and stacks them into [N, ...] batches.
//
// Thread safety: Dataset::sample() is const and must be safe to call from several threads at once
// (every implementation here either reads immutable memory or decodes a file per call). A
// BatchIterator's batch(b) is const and thread-safe; next() hands out each batch exactly once
// across all threads that call it.
//
// Typical use (an evaluation loop; openDataset is in importers/dataset_readers.h):
//
//     DatasetOptions o;
//     o.split = "test";
//     auto ds = openDataset("mnist:~/.cache/brickyard/data/mnist", o);
//     if (!ds) return ds.error();
//     BatchOptions bo;
//     bo.batchSize = 256;
//     bo.normalize = Normalization{1.0f / 255.0f, {}, {}};
//     BatchIterator it(**ds, bo);
//     while (auto b = it.next()) {
//         if (!*b) return b->error();
//         Batch& batch = b->value();   // batch.inputs[0]: F32 [N,1,28,28]; batch.labels: N ints
//     }
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"

namespace by {

// One example. `inputs` hold per-sample tensors (no batch dimension), in the order of
// Dataset::inputShapes().
struct Sample {
    std::vector<Tensor> inputs;
    int64_t label = -1;  // class index into Dataset::classNames(); -1 when the dataset has none
    Tensor target;       // optional non-class target (regression values, a mask); invalid if none
};

class Dataset {
public:
    virtual ~Dataset() = default;

    // Short description for messages and listings: "mnist test (~/.cache/.../mnist)".
    virtual std::string name() const = 0;
    virtual int64_t size() const = 0;
    // Sample `index` in [0, size()). Fails (Io/Format) when the sample's file cannot be read or
    // decoded - lazily decoded datasets find broken files only here - and Invalid when the index is
    // out of range. Safe to call from several threads at once.
    virtual Result<Sample> sample(int64_t index) const = 0;

    // Per-sample shape of each input, without the batch dimension. A dimension that differs
    // between samples (text length, clip length) is -1; such inputs cannot be stacked unless the
    // reader was asked for a fixed size.
    virtual std::vector<Shape> inputShapes() const = 0;
    // Element type of each input as stored (before BatchIterator's conversion to f32).
    virtual std::vector<DType> inputDTypes() const = 0;
    // Class names indexed by label; empty for unlabelled datasets.
    virtual const std::vector<std::string>& classNames() const = 0;

    // Label of sample `index` without decoding its inputs (the default calls sample()).
    // Class counts, stratified splits and the like use this.
    virtual Result<int64_t> label(int64_t index) const;
};

// Number of samples per class (index = label); samples without a label are not counted.
Result<std::vector<int64_t>> classCounts(const Dataset& ds);

// A dataset held in memory: `inputs` is one tensor [N, ...] (any numeric dtype), `labels` has N
// entries (or is empty for unlabelled data). The readers for small fixed-size formats (IDX,
// digits CSV) build one of these.
class TensorDataset : public Dataset {
public:
    static Result<std::shared_ptr<TensorDataset>> create(std::string name, Tensor inputs,
                                                         std::vector<int64_t> labels,
                                                         std::vector<std::string> classNames);
    std::string name() const override { return m_name; }
    int64_t size() const override { return m_count; }
    Result<Sample> sample(int64_t index) const override;
    std::vector<Shape> inputShapes() const override { return {m_sampleShape}; }
    std::vector<DType> inputDTypes() const override { return {m_inputs.dtype()}; }
    const std::vector<std::string>& classNames() const override { return m_classNames; }
    Result<int64_t> label(int64_t index) const override;

    const Tensor& allInputs() const { return m_inputs; }
    const std::vector<int64_t>& allLabels() const { return m_labels; }

private:
    TensorDataset() = default;
    std::string m_name;
    Tensor m_inputs;
    Shape m_sampleShape;
    int64_t m_count = 0;
    size_t m_sampleBytes = 0;
    std::vector<int64_t> m_labels;
    std::vector<std::string> m_classNames;
};

// The samples `indices` of another dataset, in that order (a train/validation split, a subset for
// a quick evaluation). Keeps the parent alive.
class SubsetDataset : public Dataset {
public:
    SubsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices);
    std::string name() const override;
    int64_t size() const override { return static_cast<int64_t>(m_indices.size()); }
    Result<Sample> sample(int64_t index) const override;
    std::vector<Shape> inputShapes() const override { return m_parent->inputShapes(); }
    std::vector<DType> inputDTypes() const override { return m_parent->inputDTypes(); }
    const std::vector<std::string>& classNames() const override { return m_parent->classNames(); }
    Result<int64_t> label(int64_t index) const override;

private:
    std::shared_ptr<const Dataset> m_parent;
    std::vector<int64_t> m_indices;
};

// x' = (x * scale - mean[c]) / std[c], with c the sample's first dimension (the channel of a CHW
// image). `mean` and `std` hold one value (all channels) or one per channel; empty = 0 and 1.
struct Normalization {
    float scale = 1.0f;
    std::vector<float> mean;
    std::vector<float> std;
};

struct BatchOptions {
    int64_t batchSize = 32;
    bool shuffle = false;
    uint64_t seed = 0;  // the permutation depends only on (seed, epoch, size): reproducible everywhere
    bool dropLast = false;  // drop a last batch smaller than batchSize
    // Applied to every numeric input, after conversion to f32. String inputs are passed through.
    std::optional<Normalization> normalize;
};

struct Batch {
    int64_t index = 0;                  // batch number within the epoch
    std::vector<int64_t> sampleIndices; // dataset indices of the rows, in row order
    std::vector<Tensor> inputs;         // per dataset input: F32 [N, ...] (String inputs: String [N, ...])
    std::vector<int64_t> labels;        // N labels (-1 where a sample has none)
    std::vector<Tensor> targets;        // N targets when the dataset has them, else empty
    int64_t size() const { return static_cast<int64_t>(sampleIndices.size()); }
};

// Cuts a dataset into batches. The sample order is fixed per epoch (identity, or a seeded
// shuffle); batch(b) builds batch b on demand, so several threads can build different batches at
// once, and next() lets a pool of threads drain the epoch without coordination.
class BatchIterator {
public:
    // The dataset must outlive the iterator. Fails at batch time, not here, when samples cannot be
    // stacked; BY_ASSERTs batchSize > 0.
    BatchIterator(const Dataset& dataset, BatchOptions options);

    int64_t batchCount() const;
    const std::vector<int64_t>& order() const { return m_order; }
    const BatchOptions& options() const { return m_options; }

    // Batch `b` in [0, batchCount()). Fails naming the sample when a sample cannot be read, when
    // its shape differs from the first sample's in the batch, or when a normalisation has a
    // different number of channels than the sample. Thread-safe.
    Result<Batch> batch(int64_t b) const;
    // The next batch not yet handed out (by any thread), or nullopt when the epoch is done.
    std::optional<Result<Batch>> next();

    // Starts another epoch: reshuffles with (seed, epoch) when shuffling and rewinds next().
    // Not safe to call while other threads use the iterator.
    void setEpoch(uint64_t epoch);
    uint64_t epoch() const { return m_epoch; }

private:
    void buildOrder();
    const Dataset& m_dataset;
    BatchOptions m_options;
    uint64_t m_epoch = 0;
    std::vector<int64_t> m_order;
    std::atomic<int64_t> m_next{0};
};

// The permutation of [0, n) used by BatchIterator: Fisher-Yates over splitmix64, defined here so
// it gives the same order on every platform and standard library.
std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed);

}  // namespace by
