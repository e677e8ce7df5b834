#include "engine/dataset.h"

#include <cstring>

namespace by {

namespace {

std::string sampleContext(const Dataset& ds, int64_t index) {
    return ds.name() + ": sample " + std::to_string(index);
}

Error outOfRange(const Dataset& ds, int64_t index) {
    return makeError(ErrorCode::Invalid,
                     "sample index " + std::to_string(index) + " is outside [0, " + std::to_string(ds.size()) + ")",
                     ds.name());
}

// Writes `n` values of a plain numeric type as f32.
Status convertToFloats(const Tensor& t, const uint8_t* src, int64_t n, float* dst) {
    if (t.dtype() == DType::U8) {
        for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
    } else if (t.dtype() == DType::F32) {
        std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    } else {
        auto f = t.toFloats();
        if (!f) return f.error();
        std::memcpy(dst, f->data(), static_cast<size_t>(n) * sizeof(float));
    }
    return {};
}

// x' = (x * scale - mean[c]) / std[c] over one sample of `shape`, in place.
Status normalizeInPlace(const Shape& shape, const std::optional<Normalization>& norm, float* dst) {
    if (!norm) return {};
    const int64_t n = shapeNumel(shape);
    const size_t channels = std::max(norm->mean.size(), norm->std.size());
    if (channels <= 1) {
        const float m = norm->mean.empty() ? 0.0f : norm->mean[0];
        const float inv = 1.0f / (norm->std.empty() ? 1.0f : norm->std[0]);
        for (int64_t i = 0; i < n; ++i) dst[i] = (dst[i] * norm->scale - m) * inv;
        return {};
    }
    if ((!norm->mean.empty() && norm->mean.size() != channels) ||
        (!norm->std.empty() && norm->std.size() != channels))
        return makeError(ErrorCode::Invalid, "the normalisation's mean and std have different channel counts");
    if (shape.empty() || shape[0] != static_cast<int64_t>(channels))
        return makeError(ErrorCode::Invalid, "the normalisation has " + std::to_string(channels) +
                                                 " channels but the sample's shape is " + shapeToString(shape));
    const int64_t per = n / static_cast<int64_t>(channels);
    for (size_t c = 0; c < channels; ++c) {
        const float m = norm->mean.empty() ? 0.0f : norm->mean[c];
        const float inv = 1.0f / (norm->std.empty() ? 1.0f : norm->std[c]);
        float* p = dst + static_cast<int64_t>(c) * per;
        for (int64_t i = 0; i < per; ++i) p[i] = (p[i] * norm->scale - m) * inv;
    }
    return {};
}

Status appendFloats(const Tensor& t, const std::optional<Normalization>& norm, float* dst) {
    BY_TRY(convertToFloats(t, t.rawData(), t.numel(), dst));
    return normalizeInPlace(t.shape(), norm, dst);
}

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

Result<int64_t> Dataset::label(int64_t index) const {
    auto s = sample(index);
    if (!s) return s.error();
    return s->label;
}

Result<std::vector<int64_t>> classCounts(const Dataset& ds) {
    std::vector<int64_t> counts(ds.classNames().size(), 0);
    for (int64_t i = 0; i < ds.size(); ++i) {
        auto l = ds.label(i);
        if (!l) return l.error();
        if (*l < 0) continue;
        if (*l >= static_cast<int64_t>(counts.size())) counts.resize(static_cast<size_t>(*l) + 1, 0);
        ++counts[static_cast<size_t>(*l)];
    }
    return counts;
}

// ---- TensorDataset ----

Result<std::shared_ptr<TensorDataset>> TensorDataset::create(std::string name, Tensor inputs,
                                                             std::vector<int64_t> labels,
                                                             std::vector<std::string> classNames) {
    if (!inputs.valid() || inputs.rank() < 1)
        return makeError(ErrorCode::Invalid, "the inputs need a leading sample dimension", name);
    const DTypeInfo& info = dtypeInfo(inputs.dtype());
    if (info.blockElems != 1 || info.isPacked || inputs.dtype() == DType::String)
        return makeError(ErrorCode::Unsupported,
                         std::string("in-memory datasets hold plain numeric types, not ") + info.name, name);
    const int64_t count = inputs.shape()[0];
    if (!labels.empty() && static_cast<int64_t>(labels.size()) != count)
        return makeError(ErrorCode::Invalid,
                         "there are " + std::to_string(labels.size()) + " labels for " + std::to_string(count) +
                             " samples",
                         name);
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < -1 || (!classNames.empty() && labels[i] >= static_cast<int64_t>(classNames.size())))
            return makeError(ErrorCode::Invalid,
                             "label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                                 " is not a class index below " + std::to_string(classNames.size()),
                             name);
    auto ds = std::shared_ptr<TensorDataset>(new TensorDataset());
    ds->m_name = std::move(name);
    ds->m_sampleShape.assign(inputs.shape().begin() + 1, inputs.shape().end());
    ds->m_count = count;
    ds->m_sampleBytes = count > 0 ? inputs.nbytes() / static_cast<size_t>(count) : 0;
    ds->m_inputs = std::move(inputs);
    ds->m_labels = std::move(labels);
    ds->m_classNames = std::move(classNames);
    return ds;
}

Result<Sample> TensorDataset::sample(int64_t index) const {
    if (index < 0 || index >= m_count) return outOfRange(*this, index);
    const uint8_t* src = m_inputs.rawData() + static_cast<size_t>(index) * m_sampleBytes;
    auto t = Tensor::fromBytes(m_inputs.dtype(), m_sampleShape, std::vector<uint8_t>(src, src + m_sampleBytes));
    if (!t) return t.error().withContext(sampleContext(*this, index));
    Sample s;
    s.inputs.push_back(std::move(*t));
    s.label = m_labels.empty() ? -1 : m_labels[static_cast<size_t>(index)];
    return s;
}

Result<int64_t> TensorDataset::label(int64_t index) const {
    if (index < 0 || index >= m_count) return outOfRange(*this, index);
    return m_labels.empty() ? int64_t{-1} : m_labels[static_cast<size_t>(index)];
}

// ---- SubsetDataset ----

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices)
    : m_parent(std::move(parent)), m_indices(std::move(indices)) {
    BY_ASSERT(m_parent, "SubsetDataset needs a parent dataset");
}

std::string SubsetDataset::name() const {
    return m_parent->name() + " (" + std::to_string(m_indices.size()) + " of " + std::to_string(m_parent->size()) +
           " samples)";
}

Result<Sample> SubsetDataset::sample(int64_t index) const {
    if (index < 0 || index >= size()) return outOfRange(*this, index);
    return m_parent->sample(m_indices[static_cast<size_t>(index)]);
}

Result<int64_t> SubsetDataset::label(int64_t index) const {
    if (index < 0 || index >= size()) return outOfRange(*this, index);
    return m_parent->label(m_indices[static_cast<size_t>(index)]);
}

// ---- BatchIterator ----

std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed) {
    std::vector<int64_t> p(static_cast<size_t>(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
    uint64_t state = seed;
    for (int64_t i = n - 1; i > 0; --i) {
        // Rejection sampling keeps every permutation equally likely.
        const uint64_t bound = static_cast<uint64_t>(i) + 1;
        const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
        uint64_t r;
        do r = splitmix64(state);
        while (r >= limit);
        std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(r % bound)]);
    }
    return p;
}

BatchIterator::BatchIterator(const Dataset& dataset, BatchOptions options)
    : m_dataset(dataset), m_options(std::move(options)) {
    BY_ASSERT(m_options.batchSize > 0, "batch size must be positive");
    buildOrder();
}

void BatchIterator::buildOrder() {
    const int64_t n = m_dataset.size();
    if (m_options.shuffle) {
        // Mix the epoch in so each epoch has its own order, all derived from one seed.
        uint64_t s = m_options.seed ^ (m_epoch * 0xD1B54A32D192ED03ull);
        m_order = seededPermutation(n, splitmix64(s));
    } else {
        m_order.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) m_order[static_cast<size_t>(i)] = i;
    }
    m_next.store(0);
}

void BatchIterator::setEpoch(uint64_t epoch) {
    m_epoch = epoch;
    buildOrder();
}

int64_t BatchIterator::batchCount() const {
    const int64_t n = static_cast<int64_t>(m_order.size());
    const int64_t bs = m_options.batchSize;
    return m_options.dropLast ? n / bs : (n + bs - 1) / bs;
}

Result<Batch> BatchIterator::batch(int64_t b) const {
    if (b < 0 || b >= batchCount())
        return makeError(ErrorCode::Invalid,
                         "batch " + std::to_string(b) + " is outside [0, " + std::to_string(batchCount()) + ")",
                         m_dataset.name());
    const int64_t begin = b * m_options.batchSize;
    const int64_t end = std::min<int64_t>(begin + m_options.batchSize, static_cast<int64_t>(m_order.size()));
    Batch out;
    out.index = b;
    out.sampleIndices.assign(m_order.begin() + begin, m_order.begin() + end);
    const int64_t rows = end - begin;

    // In-memory data: convert straight from the dataset's buffer, without a Tensor per sample.
    if (const auto* td = dynamic_cast<const TensorDataset*>(&m_dataset);
        td && (td->allInputs().dtype() == DType::U8 || td->allInputs().dtype() == DType::F32)) {
        const Tensor& all = td->allInputs();
        const Shape sampleShape = td->inputShapes()[0];
        const int64_t n = shapeNumel(sampleShape);
        const size_t sampleBytes = static_cast<size_t>(n) * (all.dtype() == DType::U8 ? 1 : 4);
        std::vector<uint8_t> buf(static_cast<size_t>(rows * n) * sizeof(float));
        float* dst = reinterpret_cast<float*>(buf.data());
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t idx = out.sampleIndices[static_cast<size_t>(r)];
            float* row = dst + r * n;
            const uint8_t* src = all.rawData() + static_cast<size_t>(idx) * sampleBytes;
            const auto& norm = m_options.normalize;
            if (all.dtype() == DType::U8 && norm && norm->mean.size() <= 1 && norm->std.size() <= 1) {
                // The common case (8-bit pixels, one scale/mean/std) in one pass.
                const float inv = 1.0f / (norm->std.empty() ? 1.0f : norm->std[0]);
                const float a = norm->scale * inv;
                const float c = -(norm->mean.empty() ? 0.0f : norm->mean[0]) * inv;
                for (int64_t i = 0; i < n; ++i) row[i] = static_cast<float>(src[i]) * a + c;
            } else {
                BY_TRY(convertToFloats(all, src, n, row));
                Status st = normalizeInPlace(sampleShape, norm, row);
                if (!st) return st.error().withContext(sampleContext(m_dataset, idx));
            }
            out.labels.push_back(td->allLabels().empty() ? -1 : td->allLabels()[static_cast<size_t>(idx)]);
        }
        Shape bs{rows};
        bs.insert(bs.end(), sampleShape.begin(), sampleShape.end());
        auto t = Tensor::fromBytes(DType::F32, bs, std::move(buf));
        if (!t) return t.error();
        out.inputs.push_back(std::move(*t));
        return out;
    }

    std::vector<Shape> shapes;  // per input, from the first sample
    std::vector<std::vector<float>> floats;
    std::vector<std::vector<std::string>> strings;
    std::vector<bool> isString;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t idx = out.sampleIndices[static_cast<size_t>(r)];
        auto s = m_dataset.sample(idx);
        if (!s) return s.error();
        if (r == 0) {
            shapes.resize(s->inputs.size());
            floats.resize(s->inputs.size());
            strings.resize(s->inputs.size());
            isString.resize(s->inputs.size());
            for (size_t k = 0; k < s->inputs.size(); ++k) {
                shapes[k] = s->inputs[k].shape();
                isString[k] = s->inputs[k].dtype() == DType::String;
                if (!isString[k])
                    floats[k].resize(static_cast<size_t>(rows * s->inputs[k].numel()));
            }
        } else if (s->inputs.size() != shapes.size()) {
            return makeError(ErrorCode::Invalid,
                             "has " + std::to_string(s->inputs.size()) + " inputs where sample " +
                                 std::to_string(out.sampleIndices[0]) + " has " + std::to_string(shapes.size()),
                             sampleContext(m_dataset, idx));
        }
        for (size_t k = 0; k < s->inputs.size(); ++k) {
            const Tensor& t = s->inputs[k];
            if (t.shape() != shapes[k])
                return makeError(ErrorCode::Invalid,
                                 "input " + std::to_string(k) + " has shape " + shapeToString(t.shape()) +
                                     " but sample " + std::to_string(out.sampleIndices[0]) + " of the same batch has " +
                                     shapeToString(shapes[k]) + "; samples of different sizes cannot be stacked",
                                 sampleContext(m_dataset, idx));
            if ((t.dtype() == DType::String) != isString[k])
                return makeError(ErrorCode::Invalid,
                                 "input " + std::to_string(k) + " mixes text and numbers within one batch",
                                 sampleContext(m_dataset, idx));
            if (isString[k]) {
                const auto& sv = t.strings();
                strings[k].insert(strings[k].end(), sv.begin(), sv.end());
                continue;
            }
            Status st = appendFloats(t, m_options.normalize, floats[k].data() + r * t.numel());
            if (!st) return st.error().withContext(sampleContext(m_dataset, idx));
        }
        out.labels.push_back(s->label);
        if (s->target.valid()) out.targets.push_back(std::move(s->target));
    }
    if (!out.targets.empty() && static_cast<int64_t>(out.targets.size()) != rows)
        return makeError(ErrorCode::Invalid, "some samples of batch " + std::to_string(b) + " have targets and some do not",
                         m_dataset.name());
    for (size_t k = 0; k < shapes.size(); ++k) {
        Shape bs{rows};
        bs.insert(bs.end(), shapes[k].begin(), shapes[k].end());
        if (isString[k])
            out.inputs.push_back(Tensor::fromStrings(bs, std::move(strings[k])));
        else
            out.inputs.push_back(Tensor::fromFloats(bs, floats[k]));
    }
    return out;
}

std::optional<Result<Batch>> BatchIterator::next() {
    const int64_t b = m_next.fetch_add(1);
    if (b >= batchCount()) return std::nullopt;
    return batch(b);
}

}  // namespace by
