// `brickyard-cli project ...`: create, fill and read project workspaces from the shell. This is
// the layer that may load models, so it fills in the parameter counts projects/ cannot compute.
#include "app/cli/project_command.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "importers/importer_registry.h"
#include "projects/demo_project.h"
#include "projects/project.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: brickyard-cli project <subcommand> ...\n"
    "\n"
    "  create FILE [--name NAME]                          a new, empty project (.byproj)\n"
    "  add FILE ASSET [--kind KIND] [--name NAME]         add a model, dataset folder, scene or other file;\n"
    "                                                     KIND is model, dataset, scene or other (default:\n"
    "                                                     from the file); models are loaded to count "
    "parameters\n"
    "  list FILE [--json]                                 the assets and whether each is still where it was\n"
    "  variants FILE [ASSET_ID] [--json]                  the variant tree of every asset, or of one\n"
    "  info FILE [--json]                                 name, schema version and row counts\n"
    "  demo FILE [--cache DIR]                            a project with the demo models and MNIST\n"
    "                                                     (from the cache scripts/setup.sh fills)";


// Model files by extension first; a file the importers recognise by its bytes is a model too.
AssetKind guessKind(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return AssetKind::Dataset;
    std::string ext = fs::path(path).extension().string();
    for (auto& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::set<std::string> models = {".onnx", ".tflite", ".gguf", ".safetensors"};
    static const std::set<std::string> scenes = {".ply", ".splat", ".glb", ".gltf", ".obj",
                                                 ".fbx", ".dae",   ".off", ".stl",  ".3ds"};
    if (models.count(ext)) return AssetKind::Model;
    if (scenes.count(ext)) return AssetKind::Scene;
    if (ImporterRegistry::instance().detect(path)) return AssetKind::Model;
    return AssetKind::Other;
}

std::optional<int64_t> parseId(const std::string& s) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v <= 0) return std::nullopt;
    return v;
}

nlohmann::json jsonOrText(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return text;
    return j;
}

nlohmann::json optionalId(const std::optional<int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
}

void printJson(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

// ---- subcommands -------------------------------------------------------------------------------

int createSub(const Args& a) {
    if (a.positional.size() != 1) return usageError("project create: expected one FILE");
    auto p = Project::create(a.positional[0], a.get("--name").value_or(""));
    if (!p) return inputError(p.error().what());
    std::printf("created project '%s' at %s (schema version %d)\n", p->name().c_str(), p->path().c_str(),
                p->schemaVersion());
    return 0;
}

int addSub(const Args& a) {
    if (a.positional.size() != 2) return usageError("project add: expected FILE and ASSET");
    const std::string assetPath = a.positional[1];
    AssetKind kind = AssetKind::Other;
    if (auto k = a.get("--kind")) {
        auto parsed = parseAssetKind(*k);
        if (!parsed)
            return usageError("project add: --kind must be model, dataset, scene or other, not '" + *k + "'");
        kind = *parsed;
    }

    auto project = Project::open(a.positional[0]);
    if (!project) return inputError(project.error().what());
    std::error_code ec;
    if (!fs::exists(assetPath, ec)) return inputError(assetPath + ": no such file or folder");
    if (!a.get("--kind")) kind = guessKind(assetPath);

    NewAsset na;
    na.path = assetPath;
    na.kind = kind;
    na.displayName = a.get("--name").value_or("");
    if (kind == AssetKind::Model) {
        // A model that does not load is not added: the project should only hold models it can use.
        auto model = loadModel(assetPath);
        if (!model) return inputError(model.error().what());
        na.parameterCount = model->graph.parameterCount();
        if (!model->format.empty()) na.format = model->format;
    }

    std::set<int64_t> before;
    if (auto existing = project->assets(); existing)
        for (const auto& x : *existing)
            before.insert(x.id);
    auto id = project->addAsset(na);
    if (!id) return inputError(id.error().what());
    auto asset = project->asset(*id);
    if (!asset) return inputError(asset.error().what());

    if (before.count(*id)) {
        // Same content again: nothing new, but a count the earlier add could not make is kept now.
        if (kind == AssetKind::Model && asset->kind == AssetKind::Model && na.parameterCount > 0) {
            auto root = project->rootVariant(*id);
            if (root && root->parameterCount == 0)
                (void)project->setVariantParameterCount(root->id, na.parameterCount);
        }
        std::printf("already in the project: asset %lld '%s' has the same content\n",
                    static_cast<long long>(*id), asset->displayName.c_str());
        return 0;
    }
    std::printf("added asset %lld '%s' (%s, %s, %s", static_cast<long long>(*id), asset->displayName.c_str(),
                assetKindName(asset->kind), asset->format.empty() ? "unknown format" : asset->format.c_str(),
                humanBytes(static_cast<double>(asset->sizeBytes)).c_str());
    if (kind == AssetKind::Model) std::printf(", %s parameters", humanCount(na.parameterCount).c_str());
    std::printf(")\n");
    return 0;
}

int listSub(const Args& a) {
    if (a.positional.size() != 1) return usageError("project list: expected one FILE");
    auto project = Project::open(a.positional[0]);
    if (!project) return inputError(project.error().what());
    auto assets = project->assets();
    if (!assets) return inputError(assets.error().what());

    if (a.has("--json")) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& x : *assets) {
            const AssetLocation loc = project->resolveAssetPath(x);
            nlohmann::json j = {
                {"id", x.id},
                {"kind", assetKindName(x.kind)},
                {"name", x.displayName},
                {"format", x.format},
                {"size_bytes", x.sizeBytes},
                {"content_hash", x.contentHash},
                {"relative_path", x.relativePath.empty() ? nlohmann::json() : nlohmann::json(x.relativePath)},
                {"absolute_path", x.absolutePath},
                {"added_at", x.addedAt},
                {"tags", x.tags},
                {"status", assetStatusName(loc.status)},
                {"resolved_path", loc.path},
            };
            if (!loc.message.empty()) j["status_message"] = loc.message;
            arr.push_back(std::move(j));
        }
        printJson({{"project", project->name()}, {"path", project->path()}, {"assets", arr}});
        return 0;
    }

    std::printf("%s: %zu asset%s\n", project->name().c_str(), assets->size(), assets->size() == 1 ? "" : "s");
    for (const auto& x : *assets) {
        const AssetLocation loc = project->resolveAssetPath(x);
        std::printf("%4lld  %-8s %-40s %10s  %-9s %s\n", static_cast<long long>(x.id), assetKindName(x.kind),
                    x.displayName.c_str(), humanBytes(static_cast<double>(x.sizeBytes)).c_str(), assetStatusName(loc.status),
                    loc.path.c_str());
        if (!loc.message.empty()) std::printf("      %s\n", loc.message.c_str());
    }
    return 0;
}

int variantsSub(const Args& a) {
    if (a.positional.empty() || a.positional.size() > 2)
        return usageError("project variants: expected FILE and an optional ASSET_ID");
    std::optional<int64_t> assetId;
    if (a.positional.size() == 2) {
        assetId = parseId(a.positional[1]);
        if (!assetId)
            return usageError("project variants: ASSET_ID must be a positive number, not '" +
                              a.positional[1] + "'");
    }
    auto project = Project::open(a.positional[0]);
    if (!project) return inputError(project.error().what());
    auto variants = project->variants(assetId);
    if (!variants) return inputError(variants.error().what());

    // Depth in the tree; parents come first, so one pass suffices.
    std::map<int64_t, int> depth;
    std::map<int64_t, std::vector<const Variant*>> children;  // parent id (0 = root) -> variants
    for (const auto& v : *variants) {
        depth[v.id] = v.parentId ? depth[*v.parentId] + 1 : 0;
        children[v.parentId.value_or(0)].push_back(&v);
    }

    if (a.has("--json")) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& v : *variants)
            arr.push_back({{"id", v.id},
                           {"asset_id", v.assetId},
                           {"parent_id", optionalId(v.parentId)},
                           {"depth", depth[v.id]},
                           {"name", v.name},
                           {"recipe", jsonOrText(v.recipeJson)},
                           {"created_at", v.createdAt},
                           {"size_bytes", v.sizeBytes},
                           {"parameter_count", v.parameterCount}});
        printJson({{"project", project->name()}, {"asset_id", optionalId(assetId)}, {"variants", arr}});
        return 0;
    }

    auto assets = project->assets();
    if (!assets) return inputError(assets.error().what());
    std::map<int64_t, std::vector<const Variant*>> roots;  // asset id -> root variants
    for (const auto* v : children[0])
        roots[v->assetId].push_back(v);
    auto printTree = [&](auto&& self, const Variant* v, int indent) -> void {
        std::printf("%*s#%lld %s  %s", indent, "", static_cast<long long>(v->id), v->name.c_str(),
                    humanBytes(static_cast<double>(v->sizeBytes)).c_str());
        if (v->parameterCount > 0) std::printf("  %s params", humanCount(v->parameterCount).c_str());
        if (v->recipeJson != "{}") std::printf("  recipe %s", v->recipeJson.c_str());
        std::printf("\n");
        for (const auto* c : children[v->id])
            self(self, c, indent + 2);
    };
    size_t shown = 0;
    for (const auto& x : *assets) {
        if (assetId && x.id != *assetId) continue;
        if (!assetId && roots[x.id].empty()) continue;
        std::printf("asset %lld  %s (%s)\n", static_cast<long long>(x.id), x.displayName.c_str(),
                    assetKindName(x.kind));
        if (roots[x.id].empty()) std::printf("  (no variants)\n");
        for (const auto* r : roots[x.id])
            printTree(printTree, r, 2);
        ++shown;
    }
    if (shown == 0) std::printf("%s: no variants\n", project->name().c_str());
    return 0;
}

int infoSub(const Args& a) {
    if (a.positional.size() != 1) return usageError("project info: expected one FILE");
    auto project = Project::open(a.positional[0]);
    if (!project) return inputError(project.error().what());
    auto c = project->counts();
    if (!c) return inputError(c.error().what());
    if (a.has("--json")) {
        printJson({{"name", project->name()},
                   {"path", project->path()},
                   {"schema_version", project->schemaVersion()},
                   {"created_at", project->createdAt()},
                   {"counts",
                    {{"assets", c->assets},
                     {"variants", c->variants},
                     {"evaluations", c->evaluations},
                     {"benchmarks", c->benchmarks},
                     {"devices", c->devices},
                     {"deployments", c->deployments},
                     {"notes", c->notes}}}});
        return 0;
    }
    std::printf("name            %s\n", project->name().c_str());
    std::printf("path            %s\n", project->path().c_str());
    std::printf("schema version  %d\n", project->schemaVersion());
    std::printf("created         %s\n", project->createdAt().c_str());
    std::printf("assets          %lld\n", static_cast<long long>(c->assets));
    std::printf("variants        %lld\n", static_cast<long long>(c->variants));
    std::printf("evaluations     %lld\n", static_cast<long long>(c->evaluations));
    std::printf("benchmarks      %lld\n", static_cast<long long>(c->benchmarks));
    std::printf("devices         %lld\n", static_cast<long long>(c->devices));
    std::printf("deployments     %lld\n", static_cast<long long>(c->deployments));
    std::printf("notes           %lld\n", static_cast<long long>(c->notes));
    return 0;
}

int demoSub(const Args& a) {
    if (a.positional.size() != 1) return usageError("project demo: expected one FILE");
    auto project = createDemoProject(a.positional[0], a.get("--cache").value_or(assetCacheDir()));
    if (!project) return inputError(project.error().what());
    auto assets = project->assets();
    if (!assets) return inputError(assets.error().what());
    int counted = 0, models = 0;
    for (const auto& x : *assets) {
        if (x.kind != AssetKind::Model) continue;
        ++models;
        const AssetLocation loc = project->resolveAssetPath(x);
        auto model = loadModel(loc.path);
        if (!model) {
            // The project is still useful without the count; say why it is missing.
            std::fprintf(stderr, "brickyard-cli: warning: parameters of '%s' not counted: %s\n",
                         x.displayName.c_str(), model.error().what().c_str());
            continue;
        }
        auto root = project->rootVariant(x.id);
        if (!root) return inputError(root.error().what());
        if (auto st = project->setVariantParameterCount(root->id, model->graph.parameterCount()); !st)
            return inputError(st.error().what());
        ++counted;
    }
    std::printf("created the demo project '%s' at %s: %zu assets, %d models (%d with parameter counts)\n",
                project->name().c_str(), project->path().c_str(), assets->size(), models, counted);
    return 0;
}

}  // namespace

int projectCommand(const std::vector<std::string>& args) {
    if (args.empty()) {
        std::fprintf(stderr, "%s\n", kUsage);
        return 2;
    }
    const std::string sub = args[0];
    if (sub == "--help" || sub == "-h" || sub == "help") {
        std::puts(kUsage);
        return 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());

    struct Spec {
        int (*run)(const Args&);
        std::set<std::string> valued;
        std::set<std::string> flags;
    };
    static const std::map<std::string, Spec> subs = {
        {"create", {createSub, {"--name"}, {}}}, {"add", {addSub, {"--kind", "--name"}, {}}},
        {"list", {listSub, {}, {"--json"}}},     {"variants", {variantsSub, {}, {"--json"}}},
        {"info", {infoSub, {}, {"--json"}}},     {"demo", {demoSub, {"--cache"}, {}}},
    };
    auto it = subs.find(sub);
    if (it == subs.end()) return usageError("project: unknown subcommand '" + sub + "'");
    std::set<std::string> flags = it->second.flags;
    flags.insert("--help");
    Args a = parseArgs(rest, it->second.valued, flags);
    if (!a.error.empty()) return usageError("project " + sub + ": " + a.error);
    if (a.has("--help")) {
        std::puts(kUsage);
        return 0;
    }
    return it->second.run(a);
}

}  // namespace by::cli
