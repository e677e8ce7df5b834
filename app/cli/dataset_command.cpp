#include "app/cli/dataset_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "importers/dataset_readers.h"

namespace by::cli {

namespace {

const char* kUsage =
    "usage: brickyard-cli dataset info SPEC [options] [--json]\n"
    "  SPEC: mnist:DIR, fashion-mnist:DIR, digits:FILE, images:DIR, wav:DIR, text:PATH, or a bare path\n"
    "  --split train|test     for sets that have both (default test)\n"
    "  --channels 1|3         images: channels (default 3)\n"
    "  --size HxW             images: resize every image (default: keep)\n"
    "  --labels FILE          images: \"path<TAB>label\" file\n"
    "  --rate HZ              wav: required sample rate (default: the first file's)\n"
    "  --resample             wav: resample other rates instead of failing\n"
    "  --clip N               wav: pad or cut every clip to N samples\n"
    "Prints the size, the per-sample input shape and type, and the number of samples per class.";

bool parseInt(const std::string& s, int64_t* out) {
    try {
        size_t used = 0;
        const long long v = std::stoll(s, &used);
        if (used != s.size()) return false;
        *out = v;
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace

int datasetCommand(const std::vector<std::string>& argv) {
    Args a = parseArgs(argv, {"--split", "--channels", "--size", "--labels", "--rate", "--clip"},
                       {"--help", "--json", "--resample"});
    if (!a.error.empty()) return usageError("dataset: " + a.error);
    if (a.has("--help") || a.positional.size() != 2 || a.positional[0] != "info") {
        std::puts(kUsage);
        return a.has("--help") ? 0 : 2;
    }
    DatasetOptions o;
    o.split = a.get("--split").value_or("");
    int64_t v = 0;
    if (auto c = a.get("--channels")) {
        if (!parseInt(*c, &v)) return usageError("dataset: --channels takes a number");
        o.image.channels = static_cast<int>(v);
    }
    if (auto s = a.get("--size")) {
        const size_t x = s->find('x');
        int64_t h = 0, w = 0;
        if (x == std::string::npos || !parseInt(s->substr(0, x), &h) || !parseInt(s->substr(x + 1), &w) || h <= 0 ||
            w <= 0)
            return usageError("dataset: --size takes HxW, as in 28x28");
        o.image.height = static_cast<int>(h);
        o.image.width = static_cast<int>(w);
    }
    o.labelsFile = a.get("--labels").value_or("");
    if (auto r = a.get("--rate")) {
        if (!parseInt(*r, &v) || v <= 0) return usageError("dataset: --rate takes a sample rate in Hz");
        o.audio.sampleRate = static_cast<int>(v);
    }
    o.audio.resample = a.has("--resample");
    if (auto c = a.get("--clip")) {
        if (!parseInt(*c, &v) || v <= 0) return usageError("dataset: --clip takes a number of samples");
        o.audio.clipSamples = v;
    }

    const auto t0 = std::chrono::steady_clock::now();
    auto ds = openDataset(a.positional[1], o);
    if (!ds) return inputError(ds.error().what());
    auto counts = classCounts(**ds);
    if (!counts) return inputError(counts.error().what());
    // Decode one sample so a dataset whose files cannot be read says so here, not in an evaluation.
    if ((*ds)->size() > 0) {
        auto s = (*ds)->sample(0);
        if (!s) return inputError(s.error().what());
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const auto shapes = (*ds)->inputShapes();
    const auto dtypes = (*ds)->inputDTypes();
    const auto& names = (*ds)->classNames();
    int64_t unlabelled = (*ds)->size();
    for (int64_t c : *counts) unlabelled -= c;

    if (a.has("--json")) {
        nlohmann::json j;
        j["name"] = (*ds)->name();
        j["size"] = (*ds)->size();
        j["inputs"] = nlohmann::json::array();
        for (size_t i = 0; i < shapes.size(); ++i)
            j["inputs"].push_back({{"shape", shapes[i]}, {"dtype", dtypeName(dtypes[i])}});
        j["classes"] = nlohmann::json::array();
        for (size_t c = 0; c < counts->size(); ++c)
            j["classes"].push_back({{"label", c}, {"name", c < names.size() ? names[c] : std::to_string(c)},
                                    {"count", (*counts)[c]}});
        j["unlabelled"] = unlabelled;
        j["open_ms"] = ms;
        std::puts(j.dump(2).c_str());
        return 0;
    }
    std::printf("%s\n", (*ds)->name().c_str());
    std::printf("  samples      %lld\n", static_cast<long long>((*ds)->size()));
    for (size_t i = 0; i < shapes.size(); ++i) {
        const bool varies = std::any_of(shapes[i].begin(), shapes[i].end(), [](int64_t d) { return d < 0; });
        std::printf("  input %zu      %s %s per sample%s\n", i, dtypeName(dtypes[i]), shapeToString(shapes[i]).c_str(),
                    varies ? " (-1: differs between samples)" : "");
    }
    if (counts->empty()) {
        std::printf("  classes      none (unlabelled)\n");
    } else {
        std::printf("  classes      %zu\n", counts->size());
        for (size_t c = 0; c < counts->size(); ++c)
            std::printf("    %3zu %-16s %lld\n", c, c < names.size() ? names[c].c_str() : "?",
                        static_cast<long long>((*counts)[c]));
        if (unlabelled > 0) std::printf("  unlabelled   %lld\n", static_cast<long long>(unlabelled));
    }
    std::printf("  opened in    %.1f ms\n", ms);
    return 0;
}

}  // namespace by::cli
