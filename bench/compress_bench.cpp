// Compression passes on the trained MNIST and Fashion-MNIST CNNs: for each variant (int8
// per-channel weights, static int8 weights and activations calibrated on the first 256 training
// images with each observer (min-max, percentile 99.99, MSE), 2:4 pruning, low-rank 30% parameter
// cut of the Gemm layers, int4 g32 of the Gemm layers, 25% filter pruning) its test accuracy over
// the full test split, weight bytes and forward latency, each against the original measured in the
// same run. Latency: median over rounds of one batch-64 and one batch-1 forward pass, the variants
// interleaved round by round so machine load hits them alike.
//
// Then the PP-OCRv4 recogniser (when cached) on the rendered text lines: static int8 calibrated on
// the first 32 lines, CTC character accuracy on the other lines, latency of one [1,3,48,320] and
// one [8,3,48,320] forward pass.
//
// usage: compress_bench [--threads N] [--rounds R] [--limit N] [--only cnn|ocr]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <cmath>
#include <fstream>

#include "bench/bench_util.h"
#include "engine/compression.h"
#include "engine/evaluation.h"
#include "engine/executor.h"
#include "importers/dataset_readers.h"
#include "importers/importer_registry.h"
#include "engine/blas_kernels.h"

using namespace by;

namespace {

std::string cacheDir() {
    if (const char* c = std::getenv("BRICKYARD_CACHE")) return c;
    return std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.cache/brickyard";
}

struct Variant {
    std::string label;
    Model model;
    double accuracy = 0;
    std::vector<double> ms, ms1;
};

CompressStep step(CompressMethod m) {
    CompressStep s;
    s.method = m;
    return s;
}

// Text-line images as the recogniser sees them (evaluate()'s CTC preprocessing): normalised
// (x/255 - 0.5) / 0.5, resized to height 48 keeping the aspect ratio, padded right to 320.
class TextLineInputs : public Dataset {
public:
    explicit TextLineInputs(std::shared_ptr<const Dataset> images) : m_images(std::move(images)) {}
    std::string name() const override { return "text lines as [3,48,320]"; }
    int64_t size() const override { return m_images->size(); }
    Result<Sample> sample(int64_t index) const override {
        auto s = m_images->sample(index);
        if (!s) return s.error();
        const Tensor& img = s->inputs[0];
        const int64_t C = img.shape()[0], H = img.shape()[1], W = img.shape()[2];
        auto f = img.toFloats();
        if (!f) return f.error();
        for (float& x : *f) x = (x / 255.f - 0.5f) / 0.5f;
        const int64_t outW = std::clamp<int64_t>(int64_t(std::ceil(48.0 * double(W) / double(H))), 1, 320);
        const auto r = resizeBilinear(f->data(), C, H, W, 48, outW);
        std::vector<float> out(size_t(C * 48 * 320), 0.f);
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < 48; ++y) std::copy_n(r.data() + (c * 48 + y) * outW, outW, out.data() + (c * 48 + y) * 320);
        Sample o;
        o.inputs.push_back(Tensor::fromFloats({C, 48, 320}, out));
        return o;
    }
    std::vector<Shape> inputShapes() const override { return {{3, 48, 320}}; }
    std::vector<DType> inputDTypes() const override { return {DType::F32}; }
    const std::vector<std::string>& classNames() const override { return m_none; }

private:
    std::shared_ptr<const Dataset> m_images;
    std::vector<std::string> m_none;
};

int recognizerBench(const std::string& cache, int threads, int rounds) {
    const std::string modelPath = cache + "/models/ch_PP-OCRv4_rec_infer.onnx", lines = cache + "/data/textlines";
    auto m = loadModel(modelPath);
    auto images = openDataset("images:" + lines);
    if (!m || !images) {
        std::printf("\n(PP-OCRv4 recogniser or text lines not cached: skipped)\n");
        return 0;
    }
    std::vector<std::string> alphabet;
    {
        std::ifstream f(cache + "/models/ppocr_keys_v1.txt");
        std::string line;
        while (std::getline(f, line)) alphabet.push_back(line);
        alphabet.push_back(" ");
    }
    const int64_t calib = 32, n = (*images)->size();
    std::vector<int64_t> rest;
    for (int64_t i = calib; i < n; ++i) rest.push_back(i);
    auto evalSet = std::make_shared<SubsetDataset>(*images, rest);
    auto inputs = std::make_shared<TextLineInputs>(*images);
    struct V {
        std::string label;
        Model model;
        double charAcc = 0;
        std::vector<double> ms1, ms8;
    };
    std::vector<V> vs;
    vs.push_back({"original", *m, 0, {}, {}});
    for (CalibrationMethod method : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Mse}) {
        CompressStep q;
        q.activations.enabled = true;
        q.activations.method = method;
        q.activations.samples = calib;
        q.activations.data = "text-lines";
        Recipe r;
        r.steps.push_back(q);
        CompressContext cc;
        cc.openDataset = [inputs](const std::string&, const std::string&) -> Result<std::shared_ptr<const Dataset>> {
            return std::shared_ptr<const Dataset>(inputs);
        };
        auto c = compress(*m, r, cc);
        if (!c) {
            std::fprintf(stderr, "recogniser %s: %s\n", calibrationMethodName(method), c.error().what().c_str());
            return 1;
        }
        vs.push_back({std::string("int8 static ") + calibrationMethodName(method), std::move(c->model), 0, {}, {}});
    }
    EvalOptions eo;
    eo.batchSize = 8;
    eo.threads = threads;
    eo.normalize = Normalization{1.f / 255.f, {0.5f}, {0.5f}};
    eo.ctcAlphabet = alphabet;
    for (auto& v : vs) {
        auto rep = evaluate(v.model, *evalSet, eo);
        if (!rep) {
            std::fprintf(stderr, "recogniser %s: %s\n", v.label.c_str(), rep.error().what().c_str());
            return 1;
        }
        v.charAcc = rep->text->charAccuracy();
    }
    const std::string inName = m->graph.values[size_t(m->graph.inputs[0])].name;
    std::vector<float> x8;
    for (int64_t i = 0; i < 8; ++i) {
        auto f = inputs->sample(calib + i)->inputs[0].toFloats();
        x8.insert(x8.end(), f->begin(), f->end());
    }
    const std::map<std::string, Tensor> in8 = {{inName, Tensor::fromFloats({8, 3, 48, 320}, x8)}};
    const std::map<std::string, Tensor> in1 = {
        {inName, Tensor::fromFloats({1, 3, 48, 320}, std::vector<float>(x8.begin(), x8.begin() + 3 * 48 * 320))}};
    std::vector<Executor> exes;
    for (auto& v : vs) {
        auto e = Executor::create(v.model, ExecutorOptions{threads});
        if (!e) {
            std::fprintf(stderr, "recogniser %s: %s\n", v.label.c_str(), e.error().what().c_str());
            return 1;
        }
        exes.push_back(std::move(*e));
    }
    for (auto& e : exes) (void)e.run(in8);
    for (int r = 0; r < std::max(3, rounds / 3); ++r)
        for (size_t j = 0; j < exes.size(); ++j) {
            const size_t i = (j + size_t(r)) % exes.size();  // every variant in every position (why: the CNN rounds)
            double t0 = bench::nowMs();
            (void)exes[i].run(in1);
            vs[i].ms1.push_back(bench::nowMs() - t0);
            t0 = bench::nowMs();
            (void)exes[i].run(in8);
            vs[i].ms8.push_back(bench::nowMs() - t0);
        }
    std::printf("\nch_PP-OCRv4_rec_infer.onnx (calibrated on text lines 0-%lld, scored on the other %lld)\n", (long long)calib - 1,
                (long long)rest.size());
    std::printf("%-22s %10s %8s %10s %9s %10s %8s %10s %8s\n", "variant", "weights", "size", "char acc", "delta", "ms b8", "vs f32",
                "ms b1", "vs f32");
    const double b8 = bench::median(vs[0].ms8), b1 = bench::median(vs[0].ms1), acc0 = vs[0].charAcc;
    const double bytes0 = double(vs[0].model.graph.weightBytes());
    for (const auto& v : vs) {
        const double bytes = double(v.model.graph.weightBytes()), m8 = bench::median(v.ms8), m1 = bench::median(v.ms1);
        std::printf("%-22s %8.1f KiB %7.2fx %9.2f%% %+8.2f %10.3f %7.2fx %10.3f %7.2fx\n", v.label.c_str(), bytes / 1024, bytes0 / bytes,
                    100 * v.charAcc, 100 * (v.charAcc - acc0), m8, m8 / b8, m1, m1 / b1);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    by::useBestBlasKernels(argv);
    int threads = 2, rounds = 30;
    int64_t limit = 0;
    std::string only;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--limit")) limit = std::atoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    }
    bench::printMachine("compress_bench");
    std::printf("# %d threads, latency = median over %d rounds of [64,1,28,28] (3 runs a round) and [1,1,28,28] (20 runs a round) forward passes, variants in rotating order; accuracy on %s test images\n",
                threads, rounds, limit ? std::to_string(limit).c_str() : "all");
    const std::string cache = cacheDir();
    const std::vector<std::pair<std::string, std::string>> sets = {
        {cache + "/models/mnist_cnn.onnx", "mnist:" + cache + "/data/mnist"},
        {cache + "/models/fashion_mnist_cnn.onnx", "fashion-mnist:/usr/share/datasets/fashion-mnist"}};
    for (const auto& [modelPath, spec] : sets) {
        if (only == "ocr") break;
        auto m = loadModel(modelPath);
        if (!m) {
            std::fprintf(stderr, "%s\n", m.error().what().c_str());
            return 1;
        }
        auto data = openDataset(spec);
        if (!data) {
            std::fprintf(stderr, "%s\n", data.error().what().c_str());
            return 1;
        }
        CompressStep lr = step(CompressMethod::LowRank);
        lr.paramCut = 0.3;
        lr.layers.opTypes = {"Gemm"};
        CompressStep q4 = step(CompressMethod::QuantizeNBits);
        q4.bits = 4;
        q4.group = 32;
        CompressStep ch = step(CompressMethod::PruneChannels);
        ch.sparsity = 0.25;
        auto staticInt8 = [&](CalibrationMethod m) {
            CompressStep q;
            q.activations.enabled = true;
            q.activations.method = m;
            q.activations.samples = 256;
            q.activations.data = spec;
            q.activations.split = "train";  // calibration never sees the test images
            q.activations.normalize = Normalization{1.f / 255.f, {}, {}};
            return q;
        };
        CompressStep lrData = staticInt8(CalibrationMethod::MinMax);  // the same calibration samples
        lrData.method = CompressMethod::LowRank;
        lrData.paramCut = 0.3;
        lrData.layers.opTypes = {"Gemm"};
        const std::vector<std::pair<std::string, CompressStep>> recipes = {
            {"int8 per-channel", CompressStep{}},
            {"int8 static minmax", staticInt8(CalibrationMethod::MinMax)},
            {"int8 static pct99.99", staticInt8(CalibrationMethod::Percentile)},
            {"int8 static mse", staticInt8(CalibrationMethod::Mse)},
            {"2:4 pruned", step(CompressMethod::PruneNM)},
            {"low-rank 30% (Gemm)", lr}, {"low-rank 30% data-aware", lrData}, {"int4 g32 (Gemm)", q4}, {"25% filters pruned", ch}};
        std::vector<Variant> variants;
        variants.push_back({"original", *m, 0, {}, {}});
        for (const auto& [label, s] : recipes) {
            Recipe r;
            r.steps.push_back(s);
            CompressContext cc;
            cc.openDataset = [](const std::string& sp, const std::string& split) {
                DatasetOptions o;
                o.split = split;
                return openDataset(sp, o);
            };
            auto c = compress(*m, r, cc);
            if (!c) {
                std::fprintf(stderr, "%s: %s\n", label.c_str(), c.error().what().c_str());
                return 1;
            }
            variants.push_back({label, std::move(c->model), 0, {}, {}});
        }
        EvalOptions eo;
        eo.limit = limit;
        eo.batchSize = 256;
        eo.threads = threads;
        eo.normalize = Normalization{1.f / 255.f, {}, {}};
        for (auto& v : variants) {
            auto rep = evaluate(v.model, **data, eo);
            if (!rep) {
                std::fprintf(stderr, "%s: %s\n", v.label.c_str(), rep.error().what().c_str());
                return 1;
            }
            v.accuracy = rep->classification->top1();
        }
        // The first 64 test images as one batch.
        std::vector<float> x;
        for (int64_t i = 0; i < 64; ++i) {
            auto f = (*data)->sample(i)->inputs[0].toFloats();
            for (float p : *f) x.push_back(p / 255.f);
        }
        const std::map<std::string, Tensor> in = {{"image", Tensor::fromFloats({64, 1, 28, 28}, x)}};
        const std::map<std::string, Tensor> in1 = {
            {"image", Tensor::fromFloats({1, 1, 28, 28}, std::vector<float>(x.begin(), x.begin() + 28 * 28))}};
        std::vector<Executor> exes;
        for (auto& v : variants) {
            auto e = Executor::create(v.model, ExecutorOptions{threads});
            if (!e) {
                std::fprintf(stderr, "%s: %s\n", v.label.c_str(), e.error().what().c_str());
                return 1;
            }
            exes.push_back(std::move(*e));
        }
        for (size_t i = 0; i < exes.size(); ++i) (void)exes[i].run(in);  // warm-up
        // The order rotates each round: whichever variant runs first after the others was measured
        // slower (up to 1.4x on the same graph), so a fixed order flattered every ratio to the first.
        for (int r = 0; r < rounds; ++r)
            for (size_t j = 0; j < exes.size(); ++j) {
                const size_t i = (j + size_t(r)) % exes.size();
                // Batch 64: the median of 3 back-to-back runs (the first after another variant wakes
                // this executor's threads) counts as one round.
                std::vector<double> batch;
                for (int k = 0; k < 3; ++k) {
                    const double t0 = bench::nowMs();
                    auto out = exes[i].run(in);
                    batch.push_back(bench::nowMs() - t0);
                    if (!out) {
                        std::fprintf(stderr, "%s: %s\n", variants[i].label.c_str(), out.error().what().c_str());
                        return 1;
                    }
                }
                variants[i].ms.push_back(bench::median(batch));
                // Batch 1: the median of 20 back-to-back runs counts as one round.
                std::vector<double> one;
                for (int k = 0; k < 20; ++k) {
                    const double t1 = bench::nowMs();
                    auto o1 = exes[i].run(in1);
                    one.push_back(bench::nowMs() - t1);
                    if (!o1) {
                        std::fprintf(stderr, "%s: %s\n", variants[i].label.c_str(), o1.error().what().c_str());
                        return 1;
                    }
                }
                variants[i].ms1.push_back(bench::median(one));
            }
        const double baseMs = bench::median(variants[0].ms), baseMs1 = bench::median(variants[0].ms1), baseAcc = variants[0].accuracy;
        const double baseBytes = double(variants[0].model.graph.weightBytes());
        std::printf("\n%s\n", modelPath.substr(modelPath.rfind('/') + 1).c_str());
        std::printf("%-22s %10s %8s %10s %9s %10s %8s %10s %8s\n", "variant", "weights", "size", "top-1", "delta", "ms b64", "vs f32",
                    "ms b1", "vs f32");
        for (const auto& v : variants) {
            const double bytes = double(v.model.graph.weightBytes()), ms = bench::median(v.ms), ms1 = bench::median(v.ms1);
            std::printf("%-22s %8.1f KiB %7.2fx %9.2f%% %+8.2f %10.3f %7.2fx %10.4f %7.2fx\n", v.label.c_str(), bytes / 1024,
                        baseBytes / bytes, 100 * v.accuracy, 100 * (v.accuracy - baseAcc), ms, ms / baseMs, ms1, ms1 / baseMs1);
        }
    }
    return only == "cnn" ? 0 : recognizerBench(cache, threads, rounds);
}
