#include "app/cli/compare_command.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "app/cli/compress_command.h"
#include "app/cli/recipe_json.h"
#include "importers/importer_registry.h"
#include "projects/project.h"

namespace by::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFileNote = "file: ";

std::optional<std::string> variantFile(Project& project, int64_t variantId) {
    auto notes = project.notes(NoteTarget::of(NoteTargetKind::Variant, variantId));
    if (!notes) return std::nullopt;
    for (const auto& n : *notes)
        if (n.text.rfind(kFileNote, 0) == 0) {
            fs::path p = n.text.substr(std::char_traits<char>::length(kFileNote));
            if (p.is_relative()) p = fs::path(project.folder()) / p;
            std::error_code ec;
            if (fs::is_regular_file(p, ec)) return p.string();
        }
    return std::nullopt;
}

bool samePath(const std::string& a, const std::string& b) {
    std::error_code ec;
    return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

struct Side {
    std::string label;
    std::optional<int64_t> variantId;
    Model model;
};

// A, B on the command line: a variant id or name of the open project, or a model file (which
// is that project's variant when it is the asset's file or the file written for a variant).
Result<Side> resolveSide(const std::string& ref, Project* project) {
    Side s;
    std::error_code ec;
    if (project) {
        auto vars = project->variants();
        if (!vars) return vars.error();
        std::optional<Variant> hit;
        const bool digits = !ref.empty() && std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; });
        int named = 0;
        for (const auto& v : *vars) {
            if (digits && std::to_string(v.id) == ref) hit = v;
            if (!digits && v.name == ref) {
                hit = v;
                ++named;
            }
        }
        if (named > 1) return makeError(ErrorCode::Invalid, std::to_string(named) + " variants are named '" + ref + "'; give its id instead");
        if (!hit && fs::is_regular_file(ref, ec)) {
            for (const auto& v : *vars) {
                std::optional<std::string> file;
                if (!v.parentId) {
                    if (auto a = project->asset(v.assetId)) file = project->resolveAssetPath(*a).path;
                } else {
                    file = variantFile(*project, v.id);
                }
                if (file && samePath(*file, ref)) {
                    hit = v;
                    break;
                }
            }
        }
        if (hit) {
            auto m = loadVariantModel(*project, hit->id);
            if (!m) return makeError(m.error().code, "variant " + std::to_string(hit->id) + " '" + hit->name + "': " + m.error().what());
            s.label = hit->name + " (variant " + std::to_string(hit->id) + ")";
            s.variantId = hit->id;
            s.model = std::move(*m);
            return s;
        }
        if (!fs::exists(ref, ec))
            return makeError(ErrorCode::Invalid, "'" + ref + "' is neither a variant of " + fs::path(project->path()).filename().string() + " nor a file");
    }
    auto m = loadModel(ref);
    if (!m) return m.error();
    s.label = fs::path(ref).filename().string();
    s.model = std::move(*m);
    return s;
}

std::string percent(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100 * x);
    return b;
}


void printTable(const ModelDiff& d) {
    std::printf("%-34s %-22s %-18s %-44s %-44s %21s %23s %9s %15s\n", "layer", "op", "change", "before", "after", "params",
                "bytes", "rel.err", "zeros");
    for (const auto& l : d.layers) {
        std::string op = l.opBefore.empty() ? l.opAfter : l.opAfter.empty() || l.opAfter == l.opBefore ? l.opBefore : l.opBefore + " -> " + l.opAfter;
        const std::string params = humanCount(l.paramsBefore) + " -> " + humanCount(l.paramsAfter);
        const std::string bytes = humanBytes(double(l.bytesBefore)) + " -> " + humanBytes(double(l.bytesAfter));
        char err[32] = "-";
        if (l.relError) std::snprintf(err, sizeof err, "%.4f", *l.relError);
        const std::string zeros = (l.opBefore.empty() ? std::string("-") : percent(l.sparsityBefore)) + " -> " +
                                  (l.opAfter.empty() ? std::string("-") : percent(l.sparsityAfter));
        std::printf("%-34s %-22s %-18s %-44s %-44s %21s %23s %9s %15s\n", l.layer.c_str(), op.c_str(), layerChangeLabel(l.changes).c_str(),
                    (l.opBefore.empty() ? std::string("-") : l.storageBefore).c_str(),
                    (l.opAfter.empty() ? std::string("-") : l.storageAfter).c_str(), params.c_str(), bytes.c_str(), err, zeros.c_str());
        if (!l.note.empty() && !(l.changes & kLayerSliced)) std::printf("    note: %s\n", l.note.c_str());
    }
}

void printTotals(const ModelDiff& d) {
    std::printf("\ntotals: %s -> %s parameters, %s -> %s weights", humanCount(d.paramsBefore).c_str(), humanCount(d.paramsAfter).c_str(),
                humanBytes(double(d.bytesBefore)).c_str(), humanBytes(double(d.bytesAfter)).c_str());
    if (d.bytesAfter > 0) std::printf(" (%.2fx)", double(d.bytesBefore) / double(d.bytesAfter));
    std::printf(", %lld -> %lld nodes\n", (long long)d.nodesBefore, (long long)d.nodesAfter);
    std::printf("layers: %d matched (%d changed), %d removed, %d added; diff took %.3f s\n", d.matched, d.changed, d.removed, d.added,
                d.seconds);
}

std::string metricText(const std::string& name, double v, const std::string& unit) {
    char b[64];
    if (unit == "bytes") return humanBytes(v);
    if (!unit.empty()) std::snprintf(b, sizeof b, "%.4g %s", v, unit.c_str());
    else if (name == "perplexity" || name == "kl_divergence") std::snprintf(b, sizeof b, "%.4g", v);
    else std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
    return b;
}

nlohmann::json metricsJson(const VariantMetrics& m) {
    nlohmann::json j;
    j["quality"] = m.quality;
    nlohmann::json b = nlohmann::json::object();
    for (const auto& [k, v] : m.benchmarks) b[k] = {{"value", v.first}, {"unit", v.second}};
    j["benchmarks"] = b;
    return j;
}

}  // namespace

Result<Model> loadVariantModel(Project& project, int64_t variantId) {
    auto v = project.variant(variantId);
    if (!v) return v.error();
    if (auto file = variantFile(project, variantId)) return loadModel(*file);
    if (!v->parentId) {
        auto asset = project.asset(v->assetId);
        if (!asset) return asset.error();
        const AssetLocation loc = project.resolveAssetPath(*asset);
        if (loc.status == AssetStatus::Missing) return makeError(ErrorCode::Io, loc.message);
        return loadModel(loc.path);
    }
    auto parent = loadVariantModel(project, *v->parentId);
    if (!parent) return parent.error();
    auto recipe = parseRecipeJson(v->recipeJson);
    if (!recipe) return makeError(recipe.error().code, "its recorded recipe: " + recipe.error().message);
    auto r = compress(*parent, *recipe, replayContext(*parent));
    if (!r) return makeError(r.error().code, "applying its recipe again: " + r.error().message);
    return std::move(r->model);
}

std::optional<std::pair<std::string, double>> VariantMetrics::headline() const {
    for (const char* k : {"top1", "char_accuracy", "line_accuracy", "top1_agreement"})
        if (auto it = quality.find(k); it != quality.end()) return std::make_pair(std::string(k), it->second);
    return std::nullopt;
}

Result<VariantMetrics> variantMetrics(Project& project, int64_t variantId) {
    VariantMetrics m;
    auto evals = project.evaluations(variantId);
    if (!evals) return evals.error();
    // Ids grow with time: the last row of a metric is its latest result.
    for (const auto& e : *evals) m.quality[e.metric] = e.value;
    auto bench = project.benchmarks(variantId);
    if (!bench) return bench.error();
    for (const auto& b : *bench)
        if (!b.deviceId) m.benchmarks[b.metric] = {b.value, b.unit};
    return m;
}

std::vector<bool> paretoFront(const std::vector<std::pair<double, double>>& pts) {
    std::vector<bool> front(pts.size(), true);
    for (size_t i = 0; i < pts.size(); ++i)
        for (size_t j = 0; j < pts.size() && front[i]; ++j) {
            if (i == j) continue;
            const bool noWorse = pts[j].first <= pts[i].first && pts[j].second >= pts[i].second;
            const bool better = pts[j].first < pts[i].first || pts[j].second > pts[i].second;
            if (noWorse && better) front[i] = false;
        }
    return front;
}

std::string diffToJson(const ModelDiff& d, int indent) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : d.layers) {
        nlohmann::json changes = nlohmann::json::array();
        for (LayerChange k : {kLayerRemoved, kLayerAdded, kLayerFactorised, kLayerSliced, kLayerRetyped, kLayerSparsified, kLayerModified})
            if (l.changes & k) changes.push_back(layerChangeName(k));
        nlohmann::json j = {{"layer", l.layer},
                            {"change", layerChangeName(l.primary())},
                            {"changes", changes},
                            {"op_before", l.opBefore},
                            {"op_after", l.opAfter},
                            {"storage_before", l.storageBefore},
                            {"storage_after", l.storageAfter},
                            {"shape_before", l.shapeBefore},
                            {"shape_after", l.shapeAfter},
                            {"params_before", l.paramsBefore},
                            {"params_after", l.paramsAfter},
                            {"bytes_before", l.bytesBefore},
                            {"bytes_after", l.bytesAfter},
                            {"rel_error", l.relError ? nlohmann::json(*l.relError) : nlohmann::json(nullptr)},
                            {"sparsity_before", l.sparsityBefore},
                            {"sparsity_after", l.sparsityAfter},
                            {"histogram", {{"lo", l.histLo}, {"hi", l.histHi}, {"before", l.histBefore}, {"after", l.histAfter}}}};
        if (!l.note.empty()) j["note"] = l.note;
        layers.push_back(j);
    }
    nlohmann::json j = {{"layers", layers},
                        {"totals",
                         {{"params_before", d.paramsBefore},
                          {"params_after", d.paramsAfter},
                          {"bytes_before", d.bytesBefore},
                          {"bytes_after", d.bytesAfter},
                          {"nodes_before", d.nodesBefore},
                          {"nodes_after", d.nodesAfter},
                          {"matched", d.matched},
                          {"changed", d.changed},
                          {"removed", d.removed},
                          {"added", d.added}}},
                        {"related", d.related()},
                        {"seconds", d.seconds}};
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

int compareCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--project", "--bins"}, {"--json", "--help", "-h"});
    if (a.has("--help") || a.has("-h")) {
        std::puts(
            "usage: brickyard-cli compare A B [--project P.byproj] [--json] [--bins N]\n"
            "\n"
            "Per-layer diff of two models: for each layer whether it was removed, re-typed (f32 ->\n"
            "int8, MatMul -> MatMulNBits), factorised (low rank), sliced (channel pruning),\n"
            "sparsified or left unchanged; parameters and bytes before/after; the relative weight\n"
            "error ||W - W'|| / ||W|| of the weights each model really applies (dequantized,\n"
            "factors multiplied) where the shapes agree; and weight histograms (--json).\n"
            "A and B are model files, or with --project variant ids or names of that project\n"
            "(a variant without a file of its own is made again from its parent and recipe);\n"
            "variants show their recorded results (accuracy, latency) side by side.\n"
            "Layers are matched by name: two unrelated models give a diff in which every layer\n"
            "is removed or added, and a sentence saying so.");
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 2) return usageError("compare needs two models A and B");
    VariantDiffOptions opts;
    if (auto b = a.get("--bins")) {
        char* end = nullptr;
        const long n = std::strtol(b->c_str(), &end, 10);
        if (b->empty() || *end || n < 0 || n > 4096) return usageError("--bins needs a number of bins between 0 and 4096");
        opts.histogramBins = int(n);
    }
    std::optional<Project> project;
    if (auto p = a.get("--project")) {
        auto pr = Project::open(*p);
        if (!pr) return inputError(pr.error().what());
        project.emplace(std::move(*pr));
    }
    Project* proj = project ? &*project : nullptr;
    auto sa = resolveSide(a.positional[0], proj);
    if (!sa) return inputError(sa.error().what());
    auto sb = resolveSide(a.positional[1], proj);
    if (!sb) return inputError(sb.error().what());
    auto diff = diffModels(sa->model, sb->model, opts);
    if (!diff) return inputError("comparing " + sa->label + " with " + sb->label + ": " + diff.error().what());
    std::optional<VariantMetrics> ma, mb;
    if (proj && sa->variantId && sb->variantId) {
        auto x = variantMetrics(*proj, *sa->variantId);
        auto y = variantMetrics(*proj, *sb->variantId);
        if (!x) return inputError(x.error().what());
        if (!y) return inputError(y.error().what());
        ma = *x;
        mb = *y;
    }
    const std::string unrelated = "no layer of " + sa->label + " has a counterpart of the same name in " + sb->label +
                                  ": these look like two unrelated models";
    if (a.has("--json")) {
        auto j = nlohmann::json::parse(diffToJson(*diff));
        j["a"] = {{"label", sa->label}};
        j["b"] = {{"label", sb->label}};
        if (sa->variantId) j["a"]["variant"] = *sa->variantId;
        if (sb->variantId) j["b"]["variant"] = *sb->variantId;
        if (ma) j["a"]["metrics"] = metricsJson(*ma);
        if (mb) j["b"]["metrics"] = metricsJson(*mb);
        if (!diff->related()) j["message"] = unrelated;
        std::puts(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    std::printf("A: %s\nB: %s\n\n", sa->label.c_str(), sb->label.c_str());
    printTable(*diff);
    printTotals(*diff);
    if (ma && mb) {
        std::set<std::string> names;
        for (const auto& [k, v] : ma->quality) names.insert(k);
        for (const auto& [k, v] : mb->quality) names.insert(k);
        std::map<std::string, std::string> units;
        for (const auto* m : {&*ma, &*mb})
            for (const auto& [k, v] : m->benchmarks) units[k] = v.second;
        if (!names.empty() || !units.empty()) {
            std::printf("\n%-20s %16s %16s\n", "result", "A", "B");
            auto cell = [](const VariantMetrics& m, const std::string& k, const std::string& unit) -> std::string {
                if (auto it = m.quality.find(k); it != m.quality.end()) return metricText(k, it->second, "");
                if (auto it = m.benchmarks.find(k); it != m.benchmarks.end()) return metricText(k, it->second.first, unit);
                return "-";
            };
            for (const auto& k : names) std::printf("%-20s %16s %16s\n", k.c_str(), cell(*ma, k, "").c_str(), cell(*mb, k, "").c_str());
            for (const auto& [k, u] : units)
                std::printf("%-20s %16s %16s\n", k.c_str(), cell(*ma, k, u).c_str(), cell(*mb, k, u).c_str());
        } else {
            std::puts("\nneither variant has recorded results (brickyard-cli eval --project, or compress --eval)");
        }
    }
    if (!diff->related()) std::printf("\n%s\n", unrelated.c_str());
    return 0;
}

}  // namespace by::cli
