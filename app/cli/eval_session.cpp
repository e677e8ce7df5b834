#include "app/cli/eval_session.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/cli_output.h"
#include "importers/importer_registry.h"
#include "engine/gpt_model.h"
#include "importers/tokenizer_files.h"
#include "importers/dataset_readers.h"
#include "projects/project.h"

namespace by::cli {

namespace fs = std::filesystem;

namespace {

Error requestError(std::string msg) { return makeError(ErrorCode::Invalid, std::move(msg)); }

Result<float> parseNumber(const std::string& s) {
    // Accepts "0.5", "1/255".
    try {
        const auto slash = s.find('/');
        if (slash != std::string::npos) {
            const double a = std::stod(s.substr(0, slash)), b = std::stod(s.substr(slash + 1));
            if (b == 0) return requestError("'" + s + "' divides by zero");
            return float(a / b);
        }
        size_t used = 0;
        const double v = std::stod(s, &used);
        if (used != s.size()) return requestError("'" + s + "' is not a number");
        return float(v);
    } catch (...) {
        return requestError("'" + s + "' is not a number");
    }
}

Result<std::vector<float>> parseList(const std::string& s) {
    std::vector<float> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ':')) {
        auto v = parseNumber(item);
        if (!v) return v.error();
        out.push_back(*v);
    }
    return out;
}

// The character list of a CTC recogniser: one entry per line; PaddleOCR's lists leave the space
// out and append it as the last class.
Result<std::vector<std::string>> loadAlphabet(const std::string& path) {
    std::ifstream f(path);
    if (!f) return makeError(ErrorCode::Io, "cannot read the character list " + path);
    std::vector<std::string> chars;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        chars.push_back(line);
    }
    if (chars.empty()) return makeError(ErrorCode::Format, "the character list " + path + " is empty");
    if (std::find(chars.begin(), chars.end(), " ") == chars.end()) chars.push_back(" ");
    return chars;
}

std::string defaultAlphabetPath(const std::string& modelPath) {
    const fs::path dir = fs::path(modelPath).parent_path();
    for (const char* name : {"ppocr_keys_v1.txt", "keys.txt", "alphabet.txt"}) {
        // The cache links models by name: look beside the link and beside its target.
        for (const fs::path& d : {dir, fs::path(fs::weakly_canonical(modelPath)).parent_path()}) {
            std::error_code ec;
            if (fs::exists(d / name, ec)) return (d / name).string();
        }
    }
    return {};
}

std::string modelNormalization(const Model& m) {
    if (const MetaValue* v = m.meta("brickyard.input_normalization"); v && v->type == MetaValue::Type::String) return v->s;
    return {};
}

nlohmann::json toJson(const LatencySummary& l) {
    return {{"samples", l.samples}, {"p50_ms", l.p50 * 1e3}, {"p95_ms", l.p95 * 1e3}, {"mean_ms", l.mean * 1e3},
            {"min_ms", l.min * 1e3}, {"max_ms", l.max * 1e3}};
}

}  // namespace

Result<Normalization> parseNormalization(const std::string& text) {
    Normalization n;
    std::stringstream ss(text);
    std::string part;
    while (std::getline(ss, part, ',')) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) return requestError("normalisation part '" + part + "' is not KEY=VALUE (scale, mean or std)");
        const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
        if (key == "scale") {
            auto v = parseNumber(value);
            if (!v) return v.error();
            n.scale = *v;
        } else if (key == "mean" || key == "std") {
            auto v = parseList(value);
            if (!v) return v.error();
            if (key == "std")
                for (float x : *v)
                    if (x == 0) return requestError("a normalisation std of 0 would divide by zero");
            (key == "mean" ? n.mean : n.std) = *v;
        } else {
            return requestError("unknown normalisation key '" + key + "' (scale, mean or std)");
        }
    }
    return n;
}

std::string normalizationToString(const Normalization& n) {
    auto list = [](const std::vector<float>& v) {
        std::string s;
        for (float x : v) {
            char b[32];
            std::snprintf(b, sizeof b, "%s%g", s.empty() ? "" : ":", double(x));
            s += b;
        }
        return s;
    };
    char b[64];
    std::snprintf(b, sizeof b, "scale=%g", double(n.scale));
    std::string s = b;
    if (!n.mean.empty()) s += ",mean=" + list(n.mean);
    if (!n.std.empty()) s += ",std=" + list(n.std);
    return s;
}

namespace {

// A GPT-style model (weights only, GGUF or safetensors) on a text: perplexity with
// llama-perplexity's chunking, so the figure compares with llama.cpp's on the same text.
Result<EvalReport> runLanguageModel(const Model& model, const EvalRequest& r, const Progress* progress) {
    auto gpt = GptModel::fromModel(model);
    if (!gpt) return gpt.error();
    // The text through the dataset readers: a UTF-8 file or a folder of .txt files, checked.
    const std::string spec = r.dataSpec.rfind("text:", 0) == 0 ? r.dataSpec : "text:" + r.dataSpec;
    auto ds = openDataset(spec);
    if (!ds) return ds.error();
    std::string text;
    for (int64_t i = 0; i < (*ds)->size(); ++i) {
        auto sample = (*ds)->sample(i);
        if (!sample) return sample.error();
        for (const auto& t : sample->inputs)
            if (t.dtype() == DType::String)
                for (const auto& part : t.strings()) text += part;
    }
    const std::string path = (*ds)->name();
    auto tok = tokenizerFromModelMetadata(model);
    if (!tok) {
        tok = loadGpt2TokenizerFiles(assetCacheDir() + "/tokenizers/gpt2");
        if (!tok) return tok.error();
    }
    std::vector<int32_t> ids;
    for (auto id : tok->encode(text)) ids.push_back(int32_t(id));
    const int64_t ctx = std::min<int64_t>(r.context > 0 ? r.context : 256, gpt->get()->config().nCtx);
    if (int64_t(ids.size()) < ctx)
        return requestError("the text has " + std::to_string(ids.size()) + " tokens, fewer than one context of " + std::to_string(ctx));
    if (progress && progress->cancelled()) return makeError(ErrorCode::Cancelled, "evaluation cancelled");
    GptSession session(*gpt, r.threads > 0 ? r.threads : 0);
    const int64_t maxChunks = r.limit > 0 ? r.limit : -1;
    std::unique_ptr<GptSession> baseSession;
    if (!r.baseModelPath.empty()) {
        auto baseModel = loadModel(r.baseModelPath);
        if (!baseModel) return baseModel.error();
        auto baseGpt = GptModel::fromModel(*baseModel);
        if (!baseGpt) return baseGpt.error().withContext("base model " + r.baseModelPath);
        if ((*baseGpt)->config().nVocab != (*gpt)->config().nVocab)
            return requestError("the base model has a different vocabulary (" + std::to_string((*baseGpt)->config().nVocab) + " tokens)");
        baseSession = std::make_unique<GptSession>(*baseGpt, r.threads > 0 ? r.threads : 0);
    }
    auto ppl = computePerplexity(session, ids, ctx, maxChunks, baseSession.get());
    if (!ppl) return ppl.error();
    EvalReport rep;
    rep.task = EvalTask::LanguageModel;
    rep.datasetName = path;
    LanguageModelScore lm;
    lm.perplexity = ppl->ppl;
    lm.meanNll = ppl->nll;
    lm.tokens = int64_t(ids.size());
    lm.scored = ppl->scored;
    lm.chunks = ppl->chunks;
    lm.context = ctx;
    lm.tokensPerSecond = ppl->seconds > 0 ? double(ppl->chunks * ctx) / ppl->seconds : 0;
    lm.hasBase = baseSession != nullptr;
    lm.meanKl = ppl->meanKl;
    lm.top1Agreement = ppl->top1Agreement;
    rep.language = lm;
    rep.samples = ppl->chunks;
    rep.batchSize = ctx;
    rep.batchLatency = summarizeLatency({ppl->chunks ? ppl->seconds / double(ppl->chunks) : 0.0});
    rep.secondsPerSample = ppl->chunks ? ppl->seconds / double(ppl->chunks * ctx) : 0;
    const ModelSummary sum = summarize(model);
    rep.modelWeightBytes = sum.weightBytes;
    rep.modelParameters = sum.parameters;
    rep.peakResidentBytes = peakResidentBytes();
    return rep;
}

}  // namespace

Result<EvalReport> runEvaluation(const Model& model, const EvalRequest& r, const Progress* progress) {
    // Weights without a graph that form a GPT: the language-model path.
    if (r.task == EvalTask::LanguageModel || (model.graph.nodes.empty() && r.task == EvalTask::Auto))
        return runLanguageModel(model, r, progress);
    // A sequence recogniser is recognised by its output rank; its defaults differ.
    bool ctc = r.task == EvalTask::Ctc;
    if (r.task == EvalTask::Auto && !model.graph.outputs.empty()) {
        const auto& out = model.graph.values[size_t(model.graph.outputs[0])];
        ctc = out.shape && out.shape->size() == 3;
    }
    DatasetOptions dopts;
    dopts.split = r.split;
    // Images come in the model's channel count and, for fixed-size classifiers, its size; a
    // recogniser takes each line at its own size (evaluate() resizes keeping the aspect ratio).
    if (model.graph.inputs.size() >= 1) {
        const auto& in = model.graph.values[size_t(model.graph.inputs[0])];
        if (in.shape && in.shape->size() == 4) {
            const auto& d = *in.shape;
            if (d[1].known() && (d[1].value == 1 || d[1].value == 3)) dopts.image.channels = int(d[1].value);
            if (!ctc && d[2].known() && d[3].known()) {
                dopts.image.height = int(d[2].value);
                dopts.image.width = int(d[3].value);
            }
        }
    }
    auto ds = openDataset(r.dataSpec, dopts);
    if (!ds) return ds.error();
    EvalOptions o;
    o.task = r.task;
    o.batchSize = r.batchSize;
    o.limit = r.limit;
    o.threads = r.threads;
    o.inputName = r.inputName;
    o.outputName = r.outputName;
    o.progress = progress;
    std::string norm = r.normalize.empty() ? modelNormalization(model) : r.normalize;
    if (norm.empty()) {
        const auto types = (*ds)->inputDTypes();
        const bool bytes = !types.empty() && types[0] == DType::U8;
        if (ctc) norm = "scale=1/255,mean=0.5,std=0.5";  // PaddleOCR's recogniser preprocessing
        else if (bytes) norm = "scale=1/255";
    }
    if (!norm.empty()) {
        auto n = parseNormalization(norm);
        if (!n) return n.error();
        o.normalize = *n;
    }
    if (ctc) {
        const std::string path = r.alphabetPath.empty() ? defaultAlphabetPath(r.modelPath) : r.alphabetPath;
        if (path.empty())
            return requestError("a CTC recogniser needs its character list: pass --labels FILE (one character per line)");
        auto a = loadAlphabet(path);
        if (!a) return a.error();
        o.ctcAlphabet = std::move(*a);
    }
    return evaluate(model, **ds, o);
}

std::string reportText(const EvalReport& r) {
    std::ostringstream s;
    char line[256];
    s << "dataset: " << r.datasetName << " (" << r.samples << " samples, task " << evalTaskName(r.task) << ")\n";
    if (r.classification) {
        const auto& c = *r.classification;
        std::snprintf(line, sizeof line, "top-1 accuracy: %.2f%%   top-5 accuracy: %.2f%%\n", c.top1() * 100, c.top5() * 100);
        s << line;
        const auto recall = c.recallPerClass();
        s << "per-class recall:";
        for (size_t i = 0; i < recall.size(); ++i) {
            const std::string name = i < r.classNames.size() ? r.classNames[i] : std::to_string(i);
            if (std::isnan(recall[i])) continue;
            std::snprintf(line, sizeof line, "%s %s %.1f%%", i % 5 == 0 ? "\n " : "  ", name.c_str(), recall[i] * 100);
            s << line;
        }
        s << "\n";
        if (c.classes() <= 20) {
            s << "confusion (rows: true class, columns: predicted):\n";
            for (int64_t t = 0; t < c.classes(); ++t) {
                s << "  ";
                for (int64_t p = 0; p < c.classes(); ++p) {
                    std::snprintf(line, sizeof line, "%6lld", (long long)c.confusionAt(t, p));
                    s << line;
                }
                s << "\n";
            }
        }
    }
    if (r.language) {
        const auto& l = *r.language;
        std::snprintf(line, sizeof line, "perplexity: %.3f (mean NLL %.4f over %lld predictions in %lld chunks of %lld tokens; %lld tokens in the text)\n",
                      l.perplexity, l.meanNll, (long long)l.scored, (long long)l.chunks, (long long)l.context, (long long)l.tokens);
        s << line;
        std::snprintf(line, sizeof line, "throughput: %.1f tokens/s evaluating whole chunks\n", l.tokensPerSecond);
        s << line;
        if (l.hasBase) {
            std::snprintf(line, sizeof line, "against the base model: mean KL %.5f nats per token, top-1 agreement %.2f%%\n", l.meanKl,
                          l.top1Agreement * 100);
            s << line;
        }
    }
    if (r.text) {
        const auto& t = *r.text;
        std::snprintf(line, sizeof line, "character accuracy: %.2f%% (%lld edits over %lld characters)   line accuracy: %.2f%% (%lld of %lld)\n",
                      t.charAccuracy() * 100, (long long)t.charErrors(), (long long)t.referenceChars(), t.lineAccuracy() * 100,
                      (long long)t.exactLines(), (long long)t.lines());
        s << line;
    }
    if (r.language)
        std::snprintf(line, sizeof line, "time per chunk of %lld tokens: %.2f ms (mean over %lld chunks)\n", (long long)r.batchSize,
                      r.batchLatency.mean * 1e3, (long long)r.samples);
    else
        std::snprintf(line, sizeof line, "latency per batch of %lld: p50 %.2f ms, p95 %.2f ms (%lld batches); %.3f ms per sample\n",
                      (long long)r.batchSize, r.batchLatency.p50 * 1e3, r.batchLatency.p95 * 1e3, (long long)r.batchLatency.samples,
                      r.secondsPerSample * 1e3);
    s << line;
    s << "peak memory: " << humanBytes(double(r.peakResidentBytes)) << " resident, " << humanBytes(double(r.peakTensorBytes))
      << " of live tensors; model: " << humanBytes(double(r.modelWeightBytes)) << " of weights, " << humanCount(r.modelParameters)
      << " parameters\n";
    if (!r.mistakes.empty()) {
        s << "first mistakes:\n";
        for (size_t i = 0; i < r.mistakes.size() && i < 8; ++i)
            s << "  #" << r.mistakes[i].index << ": expected '" << r.mistakes[i].expected << "', got '" << r.mistakes[i].predicted << "'\n";
    }
    return s.str();
}

std::string reportJson(const EvalReport& r, const EvalRequest& req) {
    nlohmann::json j;
    j["model"] = req.modelPath;
    j["dataset"] = {{"spec", req.dataSpec}, {"name", r.datasetName}, {"split", req.split}, {"samples", r.samples}};
    j["task"] = evalTaskName(r.task);
    j["batch_size"] = r.batchSize;
    if (r.classification) {
        const auto& c = *r.classification;
        j["top1"] = c.top1();
        j["top5"] = c.top5();
        nlohmann::json recall = nlohmann::json::array(), precision = nlohmann::json::array();
        for (double v : c.recallPerClass()) recall.push_back(std::isnan(v) ? nlohmann::json() : nlohmann::json(v));
        for (double v : c.precisionPerClass()) precision.push_back(std::isnan(v) ? nlohmann::json() : nlohmann::json(v));
        j["recall"] = recall;
        j["precision"] = precision;
        nlohmann::json m = nlohmann::json::array();
        for (int64_t t = 0; t < c.classes(); ++t) {
            nlohmann::json row = nlohmann::json::array();
            for (int64_t p = 0; p < c.classes(); ++p) row.push_back(c.confusionAt(t, p));
            m.push_back(row);
        }
        j["confusion"] = m;
        j["classes"] = r.classNames;
    }
    if (r.text) {
        j["char_accuracy"] = r.text->charAccuracy();
        j["line_accuracy"] = r.text->lineAccuracy();
        j["char_errors"] = r.text->charErrors();
        j["reference_chars"] = r.text->referenceChars();
    }
    if (r.language) {
        j["perplexity"] = r.language->perplexity;
        j["mean_nll"] = r.language->meanNll;
        j["tokens"] = r.language->tokens;
        j["scored"] = r.language->scored;
        j["chunks"] = r.language->chunks;
        j["context"] = r.language->context;
        j["tokens_per_second"] = r.language->tokensPerSecond;
        if (r.language->hasBase) {
            j["base_model"] = req.baseModelPath;
            j["kl_divergence"] = r.language->meanKl;
            j["top1_agreement"] = r.language->top1Agreement;
        }
    }
    j["latency_per_batch"] = toJson(r.batchLatency);
    j["ms_per_sample"] = r.secondsPerSample * 1e3;
    j["peak_resident_bytes"] = r.peakResidentBytes;
    j["peak_tensor_bytes"] = r.peakTensorBytes;
    j["model_weight_bytes"] = r.modelWeightBytes;
    j["model_parameters"] = r.modelParameters;
    nlohmann::json mistakes = nlohmann::json::array();
    for (const auto& m : r.mistakes) mistakes.push_back({{"index", m.index}, {"expected", m.expected}, {"predicted", m.predicted}});
    j["mistakes"] = mistakes;
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status storeReport(Project& project, int64_t variantId, const EvalReport& r, const EvalRequest& req) {
    const std::string details = reportJson(r, req);
    return project.transaction([&]() -> Status {
        auto eval = [&](const char* metric, double v, const std::string& d) -> Status {
            auto id = project.addEvaluation(variantId, std::nullopt, metric, v, d);
            if (!id) return id.error();
            return {};
        };
        if (r.classification) {
            BY_TRY(eval("top1", r.classification->top1(), details));
            BY_TRY(eval("top5", r.classification->top5(), "{}"));
        }
        if (r.language) {
            BY_TRY(eval("perplexity", r.language->perplexity, details));
            if (r.language->hasBase) {
                BY_TRY(eval("kl_divergence", r.language->meanKl, "{}"));
                BY_TRY(eval("top1_agreement", r.language->top1Agreement, "{}"));
            }
        }
        if (r.text) {
            BY_TRY(eval("char_accuracy", r.text->charAccuracy(), details));
            BY_TRY(eval("line_accuracy", r.text->lineAccuracy(), "{}"));
        }
        const std::string where = nlohmann::json({{"dataset", req.dataSpec}, {"batch_size", r.batchSize}}).dump();
        auto bench = [&](const char* metric, double v, const char* unit) -> Status {
            auto id = project.addBenchmark(variantId, std::nullopt, metric, v, unit, where);
            if (!id) return id.error();
            return {};
        };
        BY_TRY(bench("latency_p50", r.batchLatency.p50 * 1e3, "ms"));
        BY_TRY(bench("latency_p95", r.batchLatency.p95 * 1e3, "ms"));
        BY_TRY(bench("time_per_sample", r.secondsPerSample * 1e3, "ms"));
        BY_TRY(bench("peak_memory", double(r.peakResidentBytes), "bytes"));
        BY_TRY(bench("model_size", double(r.modelWeightBytes), "bytes"));
        return {};
    });
}

}  // namespace by::cli
