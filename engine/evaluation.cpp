#include "engine/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/executor.h"

namespace by {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

Error evalError(std::string msg) { return makeError(ErrorCode::Invalid, std::move(msg)); }

struct Io {
    std::string input;
    size_t outputIndex = 0;
    std::optional<DimShape> inputShape;
    std::optional<DimShape> outputShape;
};

Result<Io> chooseIo(const Executor& ex, const EvalOptions& o) {
    Io io;
    const auto& ins = ex.inputs();
    if (ins.empty()) return evalError("the model has no runtime input to feed the dataset into");
    if (o.inputName.empty()) {
        if (ins.size() > 1) {
            std::string names;
            for (const auto& i : ins) names += (names.empty() ? "" : ", ") + i.name;
            return evalError("the model has " + std::to_string(ins.size()) + " inputs (" + names + "); name the one the data goes to");
        }
        io.input = ins[0].name;
        io.inputShape = ins[0].shape;
    } else {
        auto it = std::find_if(ins.begin(), ins.end(), [&](const ExecutorIo& i) { return i.name == o.inputName; });
        if (it == ins.end()) return evalError("the model has no input named '" + o.inputName + "'");
        io.input = it->name;
        io.inputShape = it->shape;
    }
    const auto& outs = ex.outputs();
    if (outs.empty()) return evalError("the model has no outputs");
    if (!o.outputName.empty()) {
        auto it = std::find_if(outs.begin(), outs.end(), [&](const ExecutorIo& i) { return i.name == o.outputName; });
        if (it == outs.end()) return evalError("the model has no output named '" + o.outputName + "'");
        io.outputIndex = size_t(it - outs.begin());
    }
    io.outputShape = outs[io.outputIndex].shape;
    return io;
}

// The batch as the model wants it: a dataset giving [N, 28, 28] feeds a model declaring
// [N, 1, 28, 28] when the element counts agree.
Result<Tensor> fitToInput(const Tensor& batch, const std::optional<DimShape>& declared, const std::string& name) {
    if (!declared || declared->size() == batch.shape().size()) return batch;
    Shape target;
    int64_t known = 1;
    int unknown = 0;
    for (size_t i = 0; i < declared->size(); ++i) {
        const auto& d = (*declared)[i];
        if (i == 0 || !d.known()) {
            target.push_back(i == 0 ? batch.shape()[0] : -1);
            if (i != 0) ++unknown;
        } else {
            target.push_back(d.value);
            known *= d.value;
        }
    }
    const int64_t per = batch.shape().empty() ? 0 : batch.numel() / std::max<int64_t>(batch.shape()[0], 1);
    if (unknown == 0 && known == per) return batch.reshaped(target);
    return evalError("the dataset gives samples of shape " + shapeToString(Shape(batch.shape().begin() + 1, batch.shape().end())) +
                     " but input '" + name + "' expects " + dimShapeToString(*declared));
}

int64_t argmax(const float* p, int64_t n) { return std::max_element(p, p + n) - p; }

Status runClassification(const Executor& ex, const Io& io, const Dataset& data, const EvalOptions& o, EvalReport& rep,
                         std::vector<double>& times) {
    BatchOptions bo;
    bo.batchSize = o.batchSize;
    bo.normalize = o.normalize;
    std::shared_ptr<const Dataset> view(&data, [](const Dataset*) {});
    std::shared_ptr<const Dataset> subset = view;
    if (o.limit > 0 && o.limit < data.size()) {
        std::vector<int64_t> idx(size_t(o.limit));
        for (int64_t i = 0; i < o.limit; ++i) idx[size_t(i)] = i;
        subset = std::make_shared<SubsetDataset>(view, std::move(idx));
    }
    BatchIterator it(*subset, bo);
    const int64_t batches = it.batchCount();
    for (int64_t b = 0; b < batches; ++b) {
        if (o.progress && o.progress->cancelled()) return makeError(ErrorCode::Cancelled, "evaluation cancelled");
        auto batch = it.batch(b);
        if (!batch) return batch.error();
        if (batch->inputs.empty()) return evalError("the dataset gives no input tensors");
        auto x = fitToInput(batch->inputs[0], io.inputShape, io.input);
        if (!x) return x.error();
        RunStats stats;
        RunOptions ro;
        ro.stats = &stats;
        const double t0 = now();
        auto out = ex.run({{io.input, std::move(*x)}}, ro);
        times.push_back(now() - t0);
        if (!out) return out.error().withContext("batch " + std::to_string(b));
        rep.peakTensorBytes = std::max(rep.peakTensorBytes, stats.peakLiveBytes);
        const Tensor& y = (*out)[io.outputIndex];
        if (y.dtype() != DType::F32 || y.rank() != 2)
            return evalError("a classifier's output must be f32 [N, classes]; '" + ex.outputs()[io.outputIndex].name + "' is " +
                             dtypeName(y.dtype()) + " " + shapeToString(y.shape()));
        if (!rep.classification) rep.classification.emplace(y.shape()[1]);
        BY_TRY(rep.classification->add(y, batch->labels));
        const int64_t C = y.shape()[1];
        for (int64_t r = 0; r < y.shape()[0] && int64_t(rep.mistakes.size()) < o.keepExamples; ++r) {
            const int64_t p = argmax(y.data<float>() + r * C, C), l = batch->labels[size_t(r)];
            if (p != l) {
                auto name = [&](int64_t c) {
                    return c >= 0 && c < int64_t(rep.classNames.size()) ? rep.classNames[size_t(c)] : std::to_string(c);
                };
                rep.mistakes.push_back({batch->sampleIndices[size_t(r)], name(l), name(p)});
            }
        }
        rep.samples += batch->size();
        if (o.progress) o.progress->report(double(b + 1) / double(batches), "evaluating");
    }
    return {};
}

// One sample as f32 CHW, normalised, resized to ctcHeight keeping its aspect ratio, padded right.
Result<std::vector<float>> ocrInput(const Tensor& img, const EvalOptions& o) {
    if (img.rank() != 3) return evalError("a text-line image must be [channels, height, width], got " + shapeToString(img.shape()));
    const int64_t C = img.shape()[0], H = img.shape()[1], W = img.shape()[2];
    if (H <= 0 || W <= 0) return evalError("a text-line image is empty");
    auto f = img.toFloats();
    if (!f) return f.error();
    std::vector<float> v = std::move(*f);
    if (o.normalize) {
        const auto& n = *o.normalize;
        for (int64_t c = 0; c < C; ++c) {
            const float mean = n.mean.empty() ? 0.f : n.mean[n.mean.size() == 1 ? 0 : size_t(c) % n.mean.size()];
            const float sd = n.std.empty() ? 1.f : n.std[n.std.size() == 1 ? 0 : size_t(c) % n.std.size()];
            for (int64_t i = 0; i < H * W; ++i) {
                float& x = v[size_t(c * H * W + i)];
                x = (x * n.scale - mean) / sd;
            }
        }
    }
    const int64_t outW = std::clamp<int64_t>(int64_t(std::ceil(double(o.ctcHeight) * double(W) / double(H))), 1, o.ctcWidth);
    const auto r = resizeBilinear(v.data(), C, H, W, o.ctcHeight, outW);
    std::vector<float> out(size_t(C * o.ctcHeight * o.ctcWidth), o.ctcPadValue);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t y = 0; y < o.ctcHeight; ++y)
            std::copy_n(r.data() + (c * o.ctcHeight + y) * outW, outW, out.data() + (c * o.ctcHeight + y) * o.ctcWidth);
    return out;
}

Status runCtc(const Executor& ex, const Io& io, const Dataset& data, const EvalOptions& o, EvalReport& rep,
              std::vector<double>& times) {
    if (o.ctcAlphabet.empty()) return evalError("CTC evaluation needs the recogniser's character list");
    if (data.classNames().empty()) return evalError("CTC evaluation needs reference texts (the dataset has no labels)");
    const int64_t n = o.limit > 0 ? std::min(o.limit, data.size()) : data.size();
    rep.text.emplace();
    for (int64_t b0 = 0; b0 < n; b0 += o.batchSize) {
        if (o.progress && o.progress->cancelled()) return makeError(ErrorCode::Cancelled, "evaluation cancelled");
        const int64_t bn = std::min(o.batchSize, n - b0);
        std::vector<float> batch;
        std::vector<std::string> refs;
        int64_t channels = 0;
        for (int64_t i = b0; i < b0 + bn; ++i) {
            auto s = data.sample(i);
            if (!s) return s.error();
            if (s->inputs.empty()) return evalError("sample " + std::to_string(i) + " has no image");
            if (s->label < 0 || s->label >= int64_t(data.classNames().size()))
                return evalError("sample " + std::to_string(i) + " has no reference text");
            auto x = ocrInput(s->inputs[0], o);
            if (!x) return x.error().withContext("sample " + std::to_string(i));
            channels = s->inputs[0].shape()[0];
            batch.insert(batch.end(), x->begin(), x->end());
            refs.push_back(data.classNames()[size_t(s->label)]);
        }
        Tensor t = Tensor::fromFloats({bn, channels, o.ctcHeight, o.ctcWidth}, batch);
        RunStats stats;
        RunOptions ro;
        ro.stats = &stats;
        const double t0 = now();
        auto out = ex.run({{io.input, std::move(t)}}, ro);
        times.push_back(now() - t0);
        if (!out) return out.error().withContext("samples " + std::to_string(b0) + ".." + std::to_string(b0 + bn - 1));
        rep.peakTensorBytes = std::max(rep.peakTensorBytes, stats.peakLiveBytes);
        const Tensor& y = (*out)[io.outputIndex];
        if (y.dtype() != DType::F32 || y.rank() != 3 || y.shape()[0] != bn)
            return evalError("a CTC recogniser's output must be f32 [N, steps, classes], got " + shapeToString(y.shape()));
        const int64_t T = y.shape()[1], C = y.shape()[2];
        if (C != int64_t(o.ctcAlphabet.size()) + 1)
            return evalError("the recogniser scores " + std::to_string(C) + " classes but the character list gives " +
                             std::to_string(o.ctcAlphabet.size()) + " characters plus the blank");
        for (int64_t r = 0; r < bn; ++r) {
            std::string text;
            for (int64_t c : ctcGreedyDecode(y.data<float>() + r * T * C, T, C, 0)) text += o.ctcAlphabet[size_t(c - 1)];
            // Spaces the recogniser reads into the blank margins of a line are not text.
            const auto first = text.find_first_not_of(' '), last = text.find_last_not_of(' ');
            text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
            rep.text->add(text, refs[size_t(r)]);
            if (text != refs[size_t(r)] && int64_t(rep.mistakes.size()) < o.keepExamples)
                rep.mistakes.push_back({b0 + r, refs[size_t(r)], text});
        }
        rep.samples += bn;
        if (o.progress) o.progress->report(double(b0 + bn) / double(n), "evaluating");
    }
    return {};
}

}  // namespace

const char* evalTaskName(EvalTask t) {
    switch (t) {
    case EvalTask::Classification: return "classification";
    case EvalTask::Ctc: return "ctc";
    case EvalTask::LanguageModel: return "language-model";
    default: return "auto";
    }
}

std::vector<float> resizeBilinear(const float* src, int64_t channels, int64_t h, int64_t w, int64_t outH, int64_t outW) {
    std::vector<float> out(size_t(channels * outH * outW));
    const double sy = double(h) / double(outH), sx = double(w) / double(outW);
    for (int64_t y = 0; y < outH; ++y) {
        const double fy = std::clamp((double(y) + 0.5) * sy - 0.5, 0.0, double(h - 1));
        const int64_t y0 = int64_t(fy), y1 = std::min(y0 + 1, h - 1);
        const float wy = float(fy - double(y0));
        for (int64_t x = 0; x < outW; ++x) {
            const double fx = std::clamp((double(x) + 0.5) * sx - 0.5, 0.0, double(w - 1));
            const int64_t x0 = int64_t(fx), x1 = std::min(x0 + 1, w - 1);
            const float wx = float(fx - double(x0));
            for (int64_t c = 0; c < channels; ++c) {
                const float* p = src + c * h * w;
                const float top = p[y0 * w + x0] * (1 - wx) + p[y0 * w + x1] * wx;
                const float bot = p[y1 * w + x0] * (1 - wx) + p[y1 * w + x1] * wx;
                out[size_t((c * outH + y) * outW + x)] = top * (1 - wy) + bot * wy;
            }
        }
    }
    return out;
}

Result<EvalReport> evaluate(const Model& model, const Dataset& data, const EvalOptions& o) {
    if (o.batchSize <= 0) return evalError("batch size must be positive");
    if (data.size() == 0) return evalError("the dataset '" + data.name() + "' is empty");
    ExecutorOptions eo;
    eo.threads = o.threads;
    auto ex = Executor::create(model, eo);
    if (!ex) return ex.error();
    auto io = chooseIo(*ex, o);
    if (!io) return io.error();
    EvalReport rep;
    rep.datasetName = data.name();
    rep.classNames = data.classNames();
    rep.batchSize = o.batchSize;
    const ModelSummary sum = summarize(model);
    rep.modelWeightBytes = sum.weightBytes;
    rep.modelParameters = sum.parameters;
    EvalTask task = o.task;
    if (task == EvalTask::Auto) {
        const size_t rank = io->outputShape ? io->outputShape->size() : 0;
        if (rank == 3) task = EvalTask::Ctc;
        else if (rank == 2) task = EvalTask::Classification;
        else return evalError("cannot tell the task from output '" + ex->outputs()[io->outputIndex].name +
                              "' (rank " + std::to_string(rank) + "); choose classification or ctc");
    }
    if (task == EvalTask::LanguageModel)
        return evalError("a graph model cannot be scored as a language model here; give the GPT's GGUF or safetensors weights");
    rep.task = task;
    std::vector<double> times;
    if (task == EvalTask::Classification) BY_TRY(runClassification(*ex, *io, data, o, rep, times));
    else BY_TRY(runCtc(*ex, *io, data, o, rep, times));
    rep.batchLatency = summarizeLatency(times);
    rep.secondsPerSample = rep.batchLatency.p50 / double(std::max<int64_t>(1, std::min(o.batchSize, rep.samples)));
    rep.peakResidentBytes = peakResidentBytes();
    return rep;
}

}  // namespace by
