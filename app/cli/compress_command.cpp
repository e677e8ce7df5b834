#include "app/cli/compress_command.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <filesystem>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "app/cli/eval_session.h"
#include "app/cli/recipe_json.h"
#include "engine/compression.h"
#include "engine/evaluation.h"
#include "importers/dataset_readers.h"
#include "importers/importer_registry.h"
#include "importers/tokenizer_files.h"
#include "projects/project.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

const std::set<std::string> kValued = {"--recipe", "--quantize", "--prune", "--decompose", "--lowrank", "-o", "--eval", "--limit",
                                       "--batch", "--threads", "--project", "--name", "--split", "--calibration", "--calib-data",
                                       "--calib-samples", "--calib-split", "--calib-normalize"};

void printCompressHelp() {
    std::puts(
        "usage: brickyard-cli compress MODEL (--recipe R.json | --quantize Q | --prune P | --decompose D | --lowrank L)... -o OUT [options]\n"
        "\n"
        "Applies compression passes to MODEL and writes the result to OUT (format from its extension).\n"
        "Shorthands (see docs/recipes.md); several combine in the order prune, lowrank, quantize:\n"
        "  --quantize int8 | int8:per-tensor | int4:g32 | int3:g32 | int2:g64 | int8:g32  (add :sym for symmetric)\n"
        "  --quantize q8_0 | q4_0 | q4_0:gptq | q4_0:awq   GGUF language models: ggml blocks as llama-quantize\n"
        "  --quantize bcq2 | bcq3:g64 | bcq2:g128:it5   binary-coded MatMul/Gemm weights (sign planes, group, least-squares rounds)\n"
        "  --calibration TEXT  calibration text for gptq/awq (default: the cached language-model train split)\n"
        "  --quantize int8:static[:minmax|:percentile|:mse]  int8 weights and activations, calibrated on --calib-data\n"
        "  --calib-data SPEC   calibration samples for static int8 and data-driven pruning (mnist:DIR uses its training split)\n"
        "  --calib-samples N   how many (the first N; default 256)\n"
        "  --calib-split S     the split to calibrate on (default: train where the set has one)\n"
        "  --calib-normalize X the model's input preprocessing, e.g. scale=1/255 (default: the model's, or 1/255 for bytes)\n"
        "  --prune 0.5 | 0.5:global | 2:4 | channels:0.25[:l2|:activation|:beta]\n"
        "  --prune ffn:0.25[:activation] | heads:0.25[:activation]   transformer neurons / attention heads\n"
        "  --decompose 0.3[:ffn|:qk|:vo|:all]   MoDeGPT-style: 30% of each feed-forward block's neurons, the\n"
        "                      down-projection refitted on the rest (Nystrom; needs --calib-data)\n"
        "  --lowrank 0.3 (cut 30% of each layer's parameters) | energy:0.95 | ratio:0.5 | rank:16\n"
        "  --recipe R.json     steps from a recipe file (before any shorthand)\n"
        "  -o OUT              the compressed model (.onnx, .safetensors, .gguf)\n"
        "  --eval SPEC         evaluate parent and child on a dataset (mnist:DIR, images:DIR, ...)\n"
        "  --limit N           evaluate the first N samples only\n"
        "  --batch N           samples per forward pass (default 64)\n"
        "  --threads N         executor threads (default: one per core)\n"
        "  --project P.byproj  record the child as a variant of MODEL's original (recipe, size, results)\n"
        "  --name NAME         the variant's name (default: the recipe's short label)");
}

void printSweepHelp() {
    std::puts(
        "usage: brickyard-cli sweep MODEL (--quantize Q | --prune P | --decompose D | --lowrank L | --recipe R.json)... --eval SPEC [options]\n"
        "\n"
        "Compresses MODEL once per candidate (each shorthand or recipe file is one candidate),\n"
        "evaluates the original and every candidate on the same data in the same run, and prints\n"
        "size, quality and latency side by side.\n"
        "  --eval SPEC         dataset (required)\n"
        "  --limit N, --batch N, --threads N   as for eval\n"
        "  --calib-data SPEC, --calib-samples N, --calib-split S, --calib-normalize X   as for compress\n"
        "  -o DIR              also write each candidate to DIR/<label>.onnx\n"
        "  --project P.byproj  record every candidate as a variant with its results");
}

struct EvalSetup {
    std::optional<EvalRequest> request;
};

Result<int64_t> positiveNumber(const std::string& what, const std::string& v) {
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size() && n > 0) return int64_t(n);
    } catch (...) {
    }
    return makeError(ErrorCode::Invalid, what + " needs a positive whole number, not '" + v + "'");
}

Result<EvalSetup> evalSetup(const Args& a, const std::string& modelPath) {
    EvalSetup e;
    auto spec = a.get("--eval");
    if (!spec) return e;
    EvalRequest r;
    r.modelPath = modelPath;  // the CTC alphabet is looked up beside the original model
    r.dataSpec = *spec;
    if (auto s = a.get("--split")) r.split = *s;
    if (auto v = a.get("--limit")) {
        auto n = positiveNumber("--limit", *v);
        if (!n) return n.error();
        r.limit = *n;
    }
    if (auto v = a.get("--batch")) {
        auto n = positiveNumber("--batch", *v);
        if (!n) return n.error();
        r.batchSize = *n;
    }
    if (auto v = a.get("--threads")) {
        auto n = positiveNumber("--threads", *v);
        if (!n) return n.error();
        r.threads = int(*n);
    }
    e.request = r;
    return e;
}

double quality(const EvalReport& r) {
    if (r.classification) return r.classification->top1();
    if (r.text) return r.text->lineAccuracy();
    return NAN;
}

const char* qualityName(const EvalReport& r) { return r.text ? "line accuracy" : "top-1"; }

void printLayers(const CompressResult& c) {
    std::printf("%-28s %-12s %-16s %-22s %12s %12s %9s %8s\n", "layer", "op", "method", "detail", "bytes before", "bytes after",
                "rel.err", "zeros");
    for (const auto& l : c.layers) {
        if (!l.applied) {
            std::printf("%-28s %-12s %-16s %s\n", l.layer.c_str(), l.opType.c_str(), l.method.c_str(), l.note.c_str());
            continue;
        }
        std::printf("%-28s %-12s %-16s %-22s %12s %12s %9.5f %7.1f%%\n", l.layer.c_str(), l.opType.c_str(), l.method.c_str(),
                    l.detail.c_str(), humanBytes(double(l.bytesBefore)).c_str(), humanBytes(double(l.bytesAfter)).c_str(),
                    l.relError, 100.0 * l.sparsity);
        if (!l.note.empty()) std::printf("%-28s   %s\n", "", l.note.c_str());
    }
    std::printf("model: %s -> %s weights (%.2fx smaller), %s -> %s parameters\n", humanBytes(double(c.bytesBefore)).c_str(),
                humanBytes(double(c.bytesAfter)).c_str(), c.bytesAfter > 0 ? double(c.bytesBefore) / double(c.bytesAfter) : 0.0,
                humanCount(c.paramsBefore).c_str(), humanCount(c.paramsAfter).c_str());
}

// A sequence recogniser (output [N, T, classes]) reads text lines of any width; evaluate() resizes
// each to height 48 keeping its aspect ratio and pads it to 320. Calibration sees the same inputs.
bool isCtcModel(const Model& m) {
    if (m.graph.outputs.empty()) return false;
    const auto& out = m.graph.values[size_t(m.graph.outputs[0])];
    return out.shape && out.shape->size() == 3;
}

class TextLineInputs : public Dataset {
public:
    TextLineInputs(std::shared_ptr<const Dataset> images, Normalization n) : m_images(std::move(images)), m_norm(std::move(n)) {}
    std::string name() const override { return m_images->name() + " as [C,48,320] lines"; }
    int64_t size() const override { return m_images->size(); }
    Result<Sample> sample(int64_t index) const override {
        auto s = m_images->sample(index);
        if (!s) return s.error();
        const Tensor& img = s->inputs[0];
        if (img.rank() != 3) return makeError(ErrorCode::Invalid, "a text-line image must be [channels, height, width]");
        const int64_t C = img.shape()[0], H = img.shape()[1], W = img.shape()[2];
        auto f = img.toFloats();
        if (!f) return f.error();
        for (int64_t c = 0; c < C; ++c) {
            const float mean = m_norm.mean.empty() ? 0.f : m_norm.mean[size_t(c) % m_norm.mean.size()];
            const float sd = m_norm.std.empty() ? 1.f : m_norm.std[size_t(c) % m_norm.std.size()];
            for (int64_t i = 0; i < H * W; ++i) (*f)[size_t(c * H * W + i)] = ((*f)[size_t(c * H * W + i)] * m_norm.scale - mean) / sd;
        }
        const int64_t outW = std::clamp<int64_t>(int64_t(std::ceil(48.0 * double(W) / double(std::max<int64_t>(H, 1)))), 1, 320);
        const auto r = resizeBilinear(f->data(), C, H, W, 48, outW);
        std::vector<float> out(size_t(C * 48 * 320), 0.f);
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < 48; ++y) std::copy_n(r.data() + (c * 48 + y) * outW, outW, out.data() + (c * 48 + y) * 320);
        Sample o;
        o.inputs.push_back(Tensor::fromFloats({C, 48, 320}, out));
        return o;
    }
    std::vector<Shape> inputShapes() const override { return {{m_images->inputShapes()[0][0], 48, 320}}; }
    std::vector<DType> inputDTypes() const override { return {DType::F32}; }
    const std::vector<std::string>& classNames() const override { return m_none; }

private:
    std::shared_ptr<const Dataset> m_images;
    Normalization m_norm;
    std::vector<std::string> m_none;
};

// Calibration data for static int8: importers' readers, with MNIST-style sets read from their
// training split unless a split is named, so the test split stays unseen. For a recogniser the
// lines are prepared as evaluate() prepares them (normalised there, so the step has no
// normalisation of its own).
CompressContext compressContext(const Model* ctcModel = nullptr, std::optional<Normalization> ctcNorm = std::nullopt) {
    CompressContext c;
    const bool ctc = ctcModel && isCtcModel(*ctcModel);
    const Normalization norm = ctcNorm.value_or(Normalization{1.f / 255.f, {0.5f}, {0.5f}});
    c.openDataset = [ctc, norm](const std::string& spec, const std::string& split) -> Result<std::shared_ptr<const Dataset>> {
        DatasetOptions o;
        o.split = split;
        if (split.empty() && (spec.rfind("mnist:", 0) == 0 || spec.rfind("fashion-mnist:", 0) == 0)) o.split = "train";
        auto ds = openDataset(spec, o);
        if (!ds || !ctc) return ds;
        return std::shared_ptr<const Dataset>(std::make_shared<TextLineInputs>(*ds, norm));
    };
    return c;
}

}  // namespace

Status completeCalibration(const Model& model, ActivationCalibration& c, const std::string& normalizeText) {
    if (c.normalize || isCtcModel(model)) return {};
    std::string norm = normalizeText;
    if (norm.empty())
        if (const MetaValue* m = model.meta("brickyard.input_normalization"); m && m->type == MetaValue::Type::String) norm = m->s;
    if (norm.empty() && !c.data.empty()) {
        auto ds = compressContext().openDataset(c.data, c.split);
        if (ds && !(*ds)->inputDTypes().empty() && (*ds)->inputDTypes()[0] == DType::U8) norm = "scale=1/255";
    }
    if (norm.empty()) return {};
    auto n = parseNormalization(norm);
    if (!n) return n.error();
    c.normalize = *n;
    return {};
}

namespace {

// --calib-* fill what static int8 steps leave open; the input normalisation defaults as for eval:
// the model's recorded one, else 1/255 for byte inputs.
Status applyCalibrationArgs(const Args& a, const Model& model, Recipe& r) {
    for (auto& s : r.steps) {
        ActivationCalibration& c = s.activations;
        if (!c.enabled) continue;
        if (auto v = a.get("--calib-data"); v && c.data.empty()) c.data = *v;
        if (auto v = a.get("--calib-samples")) {
            try {
                size_t used = 0;
                c.samples = std::stoll(*v, &used);
                if (used != v->size()) throw std::invalid_argument(*v);
            } catch (...) {
                return makeError(ErrorCode::Invalid, "--calib-samples needs a whole number, not '" + *v + "'");
            }
        }
        if (auto v = a.get("--calib-split"); v && c.split.empty()) c.split = *v;
        if (auto st = completeCalibration(model, c, a.get("--calib-normalize").value_or("")); !st)
            return makeError(ErrorCode::Invalid, "--calib-normalize: " + st.error().message);
    }
    return {};
}

std::optional<Normalization> calibNormalization(const Args& a) {
    auto v = a.get("--calib-normalize");
    if (!v) return std::nullopt;
    auto n = parseNormalization(*v);
    return n ? std::optional<Normalization>(*n) : std::nullopt;
}

// Steps from --recipe then the shorthands, prune before low-rank before quantize (a weight is
// pruned or factorised in f32 before it is quantized).
Result<Recipe> recipeFromArgs(const Args& a) {
    Recipe r;
    if (auto path = a.get("--recipe")) {
        auto f = loadRecipeFile(*path);
        if (!f) return f.error();
        r = *f;
    }
    for (const char* kind : {"prune", "decompose", "lowrank", "quantize"})
        for (const auto& v : a.getAll(std::string("--") + kind)) {
            auto s = parseShorthand(kind, v);
            if (!s) return s.error();
            r.steps.push_back(*s);
        }
    if (r.steps.empty()) return makeError(ErrorCode::Invalid, "give --recipe R.json or at least one of --quantize, --prune, --decompose, --lowrank");
    return r;
}

std::string recipeLabel(const Recipe& r) {
    std::string s;
    for (const auto& st : r.steps) s += (s.empty() ? "" : " + ") + stepLabel(st);
    return s;
}

struct Recorder {
    std::optional<Project> project;
    int64_t assetId = 0, rootId = 0;
};

Result<Recorder> openRecorder(const std::optional<std::string>& path, const std::string& modelPath, const Model& model) {
    Recorder r;
    if (!path) return r;
    auto p = Project::open(*path);
    if (!p) return p.error();
    r.project.emplace(std::move(*p));
    NewAsset na;
    na.path = modelPath;
    na.kind = AssetKind::Model;
    na.parameterCount = model.graph.parameterCount();
    auto asset = r.project->addAsset(na);
    if (!asset) return asset.error();
    auto root = r.project->rootVariant(*asset);
    if (!root) return root.error();
    r.assetId = *asset;
    r.rootId = root->id;
    return r;
}

// The calibration text as token ids, with the model's own tokenizer (GGUF tokenizer.ggml.*).
Result<std::vector<int32_t>> calibrationTokens(const Model& model, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot open the calibration text " + path + " (GPTQ and AWQ need one; give --calibration FILE)");
    std::ostringstream ss;
    ss << in.rdbuf();
    auto tok = tokenizerFromModelMetadata(model);
    if (!tok) return makeError(tok.error().code, "calibration needs the model's tokenizer: " + tok.error().message);
    return tok->encode(ss.str());
}

int64_t fileSize(const std::string& path) {
    std::error_code ec;
    const auto n = fs::file_size(path, ec);
    return ec ? 0 : int64_t(n);
}

}  // namespace

CompressContext replayContext(const Model& model) { return compressContext(&model); }

int compressCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, kValued, {"--help", "-h"});
    if (a.has("--help") || a.has("-h")) {
        printCompressHelp();
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("compress needs exactly one MODEL");
    const auto outPath = a.get("-o");
    if (!outPath) return usageError("compress needs -o OUT");
    auto recipe = recipeFromArgs(a);
    if (!recipe) return usageError(recipe.error().what());
    const std::string modelPath = a.positional[0];
    auto eval = evalSetup(a, modelPath);
    if (!eval) return usageError(eval.error().message);

    {
        std::error_code ec;
        if (fs::exists(*outPath, ec) && fs::equivalent(*outPath, modelPath, ec))
            return usageError("-o " + *outPath + " is the input model; write the compressed model to another file");
    }
    auto model = loadModel(modelPath);
    if (!model) return inputError(model.error().what());
    if (auto st = applyCalibrationArgs(a, *model, *recipe); !st) return usageError(st.error().message);
    CompressContext cctx = compressContext(&*model, calibNormalization(a));
    if (auto v = a.get("--threads")) {
        auto n = positiveNumber("--threads", *v);
        if (!n) return usageError(n.error().message);
        cctx.threads = int(*n);
    }
    if (std::any_of(recipe->steps.begin(), recipe->steps.end(),
                    [](const CompressStep& s) { return s.method == CompressMethod::QuantizeGgml && s.algorithm != "rtn"; })) {
        auto tokens = calibrationTokens(*model, a.get("--calibration").value_or(assetCacheDir() + "/data/lm/train.txt"));
        if (!tokens) return inputError(tokens.error().what());
        cctx.calibrationTokens = std::move(*tokens);
    }
    auto result = compress(*model, *recipe, cctx);
    if (!result) return inputError("compressing " + fs::path(modelPath).filename().string() + ": " + result.error().what());
    if (auto st = saveModel(result->model, *outPath); !st) return inputError(st.error().what());
    std::printf("recipe: %s\n", recipeToJson(*recipe).c_str());
    printLayers(*result);
    std::printf("wrote %s (%s)\n", outPath->c_str(), humanBytes(double(fileSize(*outPath))).c_str());

    std::optional<EvalReport> parentReport, childReport;
    if (eval->request) {
        auto pr = runEvaluation(*model, *eval->request);
        if (!pr) return inputError("evaluating the original: " + pr.error().what());
        auto cr = runEvaluation(result->model, *eval->request);
        if (!cr) return inputError("evaluating the compressed model: " + cr.error().what());
        parentReport = *pr;
        childReport = *cr;
        const double qp = quality(*pr), qc = quality(*cr);
        std::printf("%s: original %.2f%%, compressed %.2f%% (%+.2f points) on %lld samples\n", qualityName(*pr), 100 * qp,
                    100 * qc, 100 * (qc - qp), (long long)cr->samples);
        std::printf("latency: original %.3f ms/sample, compressed %.3f ms/sample (%.2fx speedup, batch %lld)\n",
                    1e3 * pr->secondsPerSample, 1e3 * cr->secondsPerSample,
                    cr->secondsPerSample > 0 ? pr->secondsPerSample / cr->secondsPerSample : 0.0, (long long)cr->batchSize);
    }
    if (auto projectPath = a.get("--project")) {
        auto rec = openRecorder(projectPath, modelPath, *model);
        if (!rec) return inputError(rec.error().what());
        const std::string name = a.get("--name").value_or(recipeLabel(*recipe));
        auto child = rec->project->addVariant(rec->assetId, rec->rootId, name, recipeToJson(*recipe), fileSize(*outPath),
                                              result->paramsAfter);
        if (!child) return inputError(child.error().what());
        if (childReport) {
            if (auto st = storeReport(*rec->project, rec->rootId, *parentReport, *eval->request); !st) return inputError(st.error().what());
            if (auto st = storeReport(*rec->project, *child, *childReport, *eval->request); !st) return inputError(st.error().what());
        }
        std::printf("recorded variant %lld '%s' (parent %lld) in %s\n", (long long)*child, name.c_str(), (long long)rec->rootId,
                    projectPath->c_str());
    }
    return 0;
}

int sweepCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, kValued, {"--help", "-h"});
    if (a.has("--help") || a.has("-h")) {
        printSweepHelp();
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("sweep needs exactly one MODEL");
    const std::string modelPath = a.positional[0];
    auto eval = evalSetup(a, modelPath);
    if (!eval) return usageError(eval.error().message);
    if (!eval->request) return usageError("sweep needs --eval SPEC");
    std::vector<Recipe> candidates;
    for (const auto& path : a.getAll("--recipe")) {
        auto r = loadRecipeFile(path);
        if (!r) return usageError(r.error().what());
        candidates.push_back(*r);
    }
    for (const char* kind : {"quantize", "prune", "decompose", "lowrank"})
        for (const auto& v : a.getAll(std::string("--") + kind)) {
            auto s = parseShorthand(kind, v);
            if (!s) return usageError(s.error().message);
            Recipe r;
            r.steps.push_back(*s);
            candidates.push_back(r);
        }
    if (candidates.empty()) return usageError("sweep needs at least one --quantize, --prune, --lowrank or --recipe");
    const auto outDir = a.get("-o");

    auto model = loadModel(modelPath);
    if (!model) return inputError(model.error().what());
    for (auto& c : candidates)
        if (auto st = applyCalibrationArgs(a, *model, c); !st) return usageError(st.error().message);
    for (size_t i = 0; i < candidates.size(); ++i)
        if (auto st = validateRecipe(*model, candidates[i]); !st)
            return inputError("candidate " + std::to_string(i + 1) + " (" + recipeLabel(candidates[i]) + "): " + st.error().what());
    auto rec = openRecorder(a.get("--project"), modelPath, *model);
    if (!rec) return inputError(rec.error().what());

    auto base = runEvaluation(*model, *eval->request);
    if (!base) return inputError("evaluating the original: " + base.error().what());
    if (rec->project)
        if (auto st = storeReport(*rec->project, rec->rootId, *base, *eval->request); !st) return inputError(st.error().what());
    std::printf("%-26s %12s %7s %10s %9s %12s %8s\n", "candidate", "weights", "ratio", qualityName(*base), "delta", "ms/sample",
                "speedup");
    const double q0 = quality(*base);
    std::printf("%-26s %12s %7.2f %9.2f%% %9s %12.4f %8.2f\n", "original", humanBytes(double(model->graph.weightBytes())).c_str(), 1.0,
                100 * q0, "", 1e3 * base->secondsPerSample, 1.0);
    for (const auto& c : candidates) {
        const std::string label = recipeLabel(c);
        auto result = compress(*model, c, compressContext(&*model, calibNormalization(a)));
        if (!result) return inputError(label + ": " + result.error().what());
        int64_t size = result->bytesAfter;
        if (outDir) {
            std::error_code ec;
            fs::create_directories(*outDir, ec);
            std::string file = label;
            for (char& ch : file)
                if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
            const std::string path = (fs::path(*outDir) / (file + ".onnx")).string();
            if (auto st = saveModel(result->model, path); !st) return inputError(st.error().what());
            size = fileSize(path);
        }
        auto r = runEvaluation(result->model, *eval->request);
        if (!r) return inputError(label + ": " + r.error().what());
        const double q = quality(*r);
        std::printf("%-26s %12s %7.2f %9.2f%% %+9.2f %12.4f %8.2f\n", label.c_str(), humanBytes(double(result->bytesAfter)).c_str(),
                    result->bytesAfter > 0 ? double(result->bytesBefore) / double(result->bytesAfter) : 0.0, 100 * q,
                    100 * (q - q0), 1e3 * r->secondsPerSample,
                    r->secondsPerSample > 0 ? base->secondsPerSample / r->secondsPerSample : 0.0);
        if (rec->project) {
            auto child = rec->project->addVariant(rec->assetId, rec->rootId, label, recipeToJson(c), size, result->paramsAfter);
            if (!child) return inputError(child.error().what());
            if (auto st = storeReport(*rec->project, *child, *r, *eval->request); !st) return inputError(st.error().what());
        }
    }
    if (rec->project) std::printf("recorded %zu candidates in %s\n", candidates.size(), a.get("--project")->c_str());
    return 0;
}

}  // namespace by::cli

namespace by::cli {

namespace {

// Prune before low-rank before quantize, as the shorthands combine.
int methodOrder(CompressMethod m) {
    switch (m) {
        case CompressMethod::Prune:
        case CompressMethod::PruneNM:
        case CompressMethod::PruneChannels:
        case CompressMethod::PruneFfn:
        case CompressMethod::PruneHeads:
        case CompressMethod::Decompose: return 0;
        case CompressMethod::LowRank: return 1;
        default: return 2;
    }
}

struct SearchOption {
    std::string layer;
    size_t method = 0;  // index into the candidate steps
    int64_t saved = 0;  // bytes this layer saves under this method alone
    double delta = 0;   // quality change with only this layer compressed
};

struct SearchPoint {
    std::string label;
    int64_t bytes = 0;
    double quality = 0;
    double secondsPerSample = 0;
};

}  // namespace

int searchCommand(const std::vector<std::string>& argv) {
    std::set<std::string> valued = kValued;
    valued.insert("--max-drop");
    const Args a = parseArgs(argv, valued, {"--help", "-h"});
    if (a.has("--help") || a.has("-h")) {
        std::puts(
            "usage: brickyard-cli search MODEL (--quantize Q | --prune P | --lowrank L)... --eval SPEC --max-drop POINTS [options]\n"
            "\n"
            "Sensitivity analysis and search: compresses one layer at a time with each method and\n"
            "evaluates it (the quality change that layer alone costs), then builds a per-layer mix,\n"
            "greedily adding the layer/method pairs that save the most bytes per point of quality\n"
            "lost while the model stays within --max-drop points of the original. Prints every\n"
            "candidate and the size/quality Pareto front; the smallest model meeting the goal is\n"
            "written with -o.\n"
            "  --eval SPEC, --limit N, --batch N, --threads N   the evaluation data (as for eval)\n"
            "  --max-drop P        allowed quality loss in percentage points (e.g. 0.5)\n"
            "  -o OUT              write the chosen model\n"
            "  --project P.byproj  record every evaluated candidate as a variant with its results");
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("search needs exactly one MODEL");
    const std::string modelPath = a.positional[0];
    auto eval = evalSetup(a, modelPath);
    if (!eval) return usageError(eval.error().message);
    if (!eval->request) return usageError("search needs --eval SPEC");
    auto dropText = a.get("--max-drop");
    if (!dropText) return usageError("search needs --max-drop POINTS (the quality loss allowed)");
    char* end = nullptr;
    const double maxDrop = std::strtod(dropText->c_str(), &end);
    if (dropText->empty() || *end || !(maxDrop >= 0) || maxDrop > 100) return usageError("--max-drop needs points between 0 and 100");
    std::vector<CompressStep> methods;
    for (const char* kind : {"quantize", "prune", "lowrank"})
        for (const auto& v : a.getAll(std::string("--") + kind)) {
            auto s = parseShorthand(kind, v);
            if (!s) return usageError(s.error().message);
            if (!s->layers.all()) return usageError("search picks the layers itself: give methods without layer names");
            methods.push_back(*s);
        }
    if (methods.empty()) return usageError("search needs at least one --quantize, --prune or --lowrank method");

    auto model = loadModel(modelPath);
    if (!model) return inputError(model.error().what());
    auto rec = openRecorder(a.get("--project"), modelPath, *model);
    if (!rec) return inputError(rec.error().what());
    auto base = runEvaluation(*model, *eval->request);
    if (!base) return inputError("evaluating the original: " + base.error().what());
    const double q0 = quality(*base);
    if (std::isnan(q0)) return inputError("search needs a classification or text-recognition evaluation to hold quality against");
    if (rec->project)
        if (auto st = storeReport(*rec->project, rec->rootId, *base, *eval->request); !st) return inputError(st.error().what());

    std::vector<SearchPoint> points = {{"original", model->graph.weightBytes(), q0, base->secondsPerSample}};
    // Compresses and evaluates one candidate recipe; records it when a project is open.
    auto tryRecipe = [&](const Recipe& r) -> Result<SearchPoint> {
        auto result = compress(*model, r);
        if (!result) return result.error();
        auto rep = runEvaluation(result->model, *eval->request);
        if (!rep) return rep.error();
        std::string label;
        for (const auto& st : r.steps)
            label += (label.empty() ? "" : " + ") + (st.layers.names.size() == 1 ? st.layers.names[0] + " " : "") + stepLabel(st);
        SearchPoint p{label, result->bytesAfter, quality(*rep), rep->secondsPerSample};
        if (rec->project) {
            auto child = rec->project->addVariant(rec->assetId, rec->rootId, p.label, recipeToJson(r), result->bytesAfter,
                                                  result->paramsAfter);
            if (!child) return child.error();
            if (auto st = storeReport(*rec->project, *child, *rep, *eval->request); !st) return st.error();
        }
        points.push_back(p);
        return p;
    };

    // 1. Sensitivity: each method on each layer it applies to, alone.
    std::printf("original: %s weights, %s %.2f%% on %lld samples\n\n", humanBytes(double(model->graph.weightBytes())).c_str(),
                qualityName(*base), 100 * q0, static_cast<long long>(base->samples));
    std::printf("sensitivity: %s change with one layer compressed\n", qualityName(*base));
    std::printf("%-28s %-22s %12s %9s\n", "layer", "method", "bytes saved", "delta");
    std::vector<SearchOption> options;
    for (size_t mi = 0; mi < methods.size(); ++mi) {
        Recipe all;
        all.steps.push_back(methods[mi]);
        auto whole = compress(*model, all);
        if (!whole) return inputError(stepLabel(methods[mi]) + ": " + whole.error().what());
        for (const auto& l : whole->layers) {
            if (!l.applied || l.layer.empty() || l.layer[0] == '#') continue;
            CompressStep one = methods[mi];
            one.layers.names = {l.layer};
            Recipe r;
            r.steps.push_back(one);
            auto p = tryRecipe(r);
            if (!p) return inputError(l.layer + " with " + stepLabel(methods[mi]) + ": " + p.error().what());
            SearchOption o{l.layer, mi, l.bytesBefore - l.bytesAfter, p->quality - q0};
            std::printf("%-28s %-22s %12s %+8.2f%%\n", o.layer.c_str(), stepLabel(methods[mi]).c_str(), humanBytes(double(o.saved)).c_str(),
                        100 * o.delta);
            if (o.saved > 0) options.push_back(o);
        }
    }

    // 2. Greedy mix: most bytes saved per point lost first; a layer takes a later option only
    // when it saves more than the one it has.
    std::sort(options.begin(), options.end(), [](const SearchOption& x, const SearchOption& y) {
        const double ex = double(x.saved) / std::max(1e-4, -x.delta), ey = double(y.saved) / std::max(1e-4, -y.delta);
        return ex != ey ? ex > ey : x.layer < y.layer;
    });
    std::map<std::string, SearchOption> chosen;
    auto mixRecipe = [&](const std::map<std::string, SearchOption>& mix) {
        std::vector<SearchOption> picks;
        for (const auto& [layer, o] : mix) picks.push_back(o);
        std::stable_sort(picks.begin(), picks.end(), [&](const SearchOption& x, const SearchOption& y) {
            return methodOrder(methods[x.method].method) < methodOrder(methods[y.method].method);
        });
        Recipe r;
        for (const auto& o : picks) {
            CompressStep s = methods[o.method];
            s.layers.names = {o.layer};
            r.steps.push_back(s);
        }
        return r;
    };
    std::printf("\nsearch: keep %s >= %.2f%% (original %.2f%% - %.2f points)\n", qualityName(*base), 100 * q0 - maxDrop, 100 * q0,
                maxDrop);
    std::printf("%-4s %-44s %12s %9s %8s\n", "step", "adds", "weights", "quality", "kept");
    std::optional<SearchPoint> best;
    Recipe bestRecipe;
    int step = 0;
    for (const auto& o : options) {
        if (auto it = chosen.find(o.layer); it != chosen.end() && it->second.saved >= o.saved) continue;
        auto trial = chosen;
        trial[o.layer] = o;
        const Recipe r = mixRecipe(trial);
        auto p = tryRecipe(r);
        if (!p) return inputError(recipeLabel(r) + ": " + p.error().what());
        const bool ok = 100 * (q0 - p->quality) <= maxDrop + 1e-9;
        std::printf("%-4d %-44s %12s %8.2f%% %8s\n", ++step, (o.layer + " " + stepLabel(methods[o.method])).c_str(),
                    humanBytes(double(p->bytes)).c_str(), 100 * p->quality, ok ? "yes" : "no");
        if (!ok) continue;
        chosen = std::move(trial);
        if (!best || p->bytes < best->bytes) {
            best = *p;
            bestRecipe = r;
        }
    }

    // 3. Pareto front over every candidate evaluated: no other is both smaller and better.
    std::sort(points.begin(), points.end(), [](const SearchPoint& x, const SearchPoint& y) {
        return x.bytes != y.bytes ? x.bytes < y.bytes : x.quality > y.quality;
    });
    std::printf("\nPareto front (%zu candidates evaluated): weights vs %s\n", points.size(), qualityName(*base));
    double bestQ = -1;
    for (const auto& p : points) {
        if (p.quality <= bestQ) continue;
        bestQ = p.quality;
        std::printf("  %12s %8.2f%% %10.4f ms/sample  %s\n", humanBytes(double(p.bytes)).c_str(), 100 * p.quality, 1e3 * p.secondsPerSample,
                    p.label.c_str());
    }
    if (!best) {
        std::printf("\nno mix met the goal; the original stays the smallest model within %.2f points\n", maxDrop);
        return 0;
    }
    std::printf("\nchosen: %s weights (%.2fx smaller), %s %.2f%% (%+.2f points)\n  %s\n", humanBytes(double(best->bytes)).c_str(),
                double(model->graph.weightBytes()) / double(std::max<int64_t>(best->bytes, 1)), qualityName(*base), 100 * best->quality,
                100 * (best->quality - q0), recipeToJson(bestRecipe).c_str());
    if (auto out = a.get("-o")) {
        auto result = compress(*model, bestRecipe);
        if (!result) return inputError(result.error().what());
        if (auto st = saveModel(result->model, *out); !st) return inputError(st.error().what());
        std::printf("wrote %s\n", out->c_str());
    }
    if (rec->project) std::printf("recorded %zu candidates in %s\n", points.size() - 1, a.get("--project")->c_str());
    return 0;
}

}  // namespace by::cli
