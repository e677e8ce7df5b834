#include "app/cli/eval_command.h"

#include <cstdio>
#include <filesystem>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "app/cli/eval_session.h"
#include "importers/importer_registry.h"
#include "projects/project.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

void printEvalHelp() {
    std::puts(
        "usage: brickyard-cli eval MODEL --data SPEC [options]\n"
        "\n"
        "Evaluates MODEL on a dataset with the CPU executor and prints quality, latency and memory.\n"
        "  --data SPEC         mnist:DIR, fashion-mnist:DIR, digits:FILE, images:DIR, wav:DIR, ...\n"
        "  --split NAME        train or test, for sets that ship both (default test)\n"
        "  --task T            auto (default), classification, ctc or lm (perplexity of a GPT on text:FILE)\n"
        "  --ctx N             language models: tokens per perplexity chunk (default 256)\n"
        "  --base MODEL        language models: the original, for KL divergence and top-1 agreement\n"
        "  --batch N           samples per forward pass (default 64)\n"
        "  --limit N           evaluate the first N samples (language models: N chunks) only\n"
        "  --threads N         worker threads (default: one per core)\n"
        "  --normalize SPEC    x' = (x * scale - mean) / std, e.g. scale=1/255,mean=0.5,std=0.5\n"
        "                      (default: the model's own, else 1/255 for byte images)\n"
        "  --labels FILE       CTC character list, one per line (default: ppocr_keys_v1.txt\n"
        "                      beside the model)\n"
        "  --input NAME        the model input the data goes to (when it has several)\n"
        "  --output NAME       the model output scored (default: the first)\n"
        "  --project P.byproj  record the result in this project, under the model's variant\n"
        "  --variant ID        the variant to record under (default: the model asset's original)\n"
        "  --json              print the full report as JSON");
}

Result<int64_t> parsePositive(const std::string& what, const std::string& v, bool allowZero) {
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size() && (n > 0 || (allowZero && n == 0))) return int64_t(n);
    } catch (...) {
    }
    return makeError(ErrorCode::Invalid, what + " needs a " + (allowZero ? "non-negative" : "positive") + " whole number, not '" + v + "'");
}

}  // namespace

int evalCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv,
                             {"--data", "--split", "--task", "--batch", "--limit", "--threads", "--ctx", "--base", "--normalize", "--labels",
                              "--input", "--output", "--project", "--variant"},
                             {"--help", "-h", "--json"});
    if (a.has("--help") || a.has("-h")) {
        printEvalHelp();
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("eval needs exactly one MODEL");
    EvalRequest r;
    r.modelPath = a.positional[0];
    auto data = a.get("--data");
    if (!data) return usageError("eval needs --data SPEC (for example mnist:~/.cache/brickyard/data/mnist)");
    r.dataSpec = *data;
    if (auto s = a.get("--split")) r.split = *s;
    if (auto t = a.get("--task")) {
        if (*t == "auto") r.task = EvalTask::Auto;
        else if (*t == "classification") r.task = EvalTask::Classification;
        else if (*t == "ctc") r.task = EvalTask::Ctc;
        else if (*t == "lm") r.task = EvalTask::LanguageModel;
        else return usageError("--task must be auto, classification, ctc or lm, not '" + *t + "'");
    }
    for (const auto& [opt, target, zero] : {std::tuple<const char*, int64_t*, bool>{"--batch", &r.batchSize, false},
                                            {"--limit", &r.limit, true}}) {
        if (auto v = a.get(opt)) {
            auto n = parsePositive(opt, *v, zero);
            if (!n) return usageError(n.error().message);
            *target = *n;
        }
    }
    if (auto v = a.get("--ctx")) {
        auto n = parsePositive("--ctx", *v, false);
        if (!n) return usageError(n.error().message);
        r.context = *n;
    }
    if (auto v = a.get("--threads")) {
        auto n = parsePositive("--threads", *v, false);
        if (!n) return usageError(n.error().message);
        r.threads = int(*n);
    }
    if (auto v = a.get("--normalize")) {
        if (auto n = parseNormalization(*v); !n) return usageError("--normalize: " + n.error().message);
        r.normalize = *v;
    }
    if (auto v = a.get("--labels")) r.alphabetPath = *v;
    if (auto v = a.get("--base")) r.baseModelPath = *v;
    if (auto v = a.get("--input")) r.inputName = *v;
    if (auto v = a.get("--output")) r.outputName = *v;
    std::optional<int64_t> variant;
    if (auto v = a.get("--variant")) {
        auto n = parsePositive("--variant", *v, false);
        if (!n) return usageError(n.error().message);
        variant = *n;
    }
    const auto projectPath = a.get("--project");
    if (variant && !projectPath) return usageError("--variant needs --project");

    auto model = loadModel(r.modelPath);
    if (!model) return inputError(model.error().what());
    auto report = runEvaluation(*model, r);
    if (!report) return inputError("evaluating " + fs::path(r.modelPath).filename().string() + ": " + report.error().what());
    if (a.has("--json")) std::puts(reportJson(*report, r).c_str());
    else std::fputs(reportText(*report).c_str(), stdout);

    if (projectPath) {
        auto project = Project::open(*projectPath);
        if (!project) return inputError(project.error().what());
        if (!variant) {
            // The model's asset: adding known content returns the existing asset unchanged.
            auto asset = project->addAsset(r.modelPath, AssetKind::Model);
            if (!asset) return inputError(asset.error().what());
            auto root = project->rootVariant(*asset);
            if (!root) return inputError(root.error().what());
            variant = root->id;
        }
        if (auto st = storeReport(*project, *variant, *report, r); !st) return inputError(st.error().what());
        if (!a.has("--json")) std::printf("recorded under variant %lld of %s\n", (long long)*variant, projectPath->c_str());
    }
    return 0;
}

}  // namespace by::cli
