#include "app/cli/recipe_json.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/cli/eval_session.h"

namespace by::cli {

namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& what) { return makeError(ErrorCode::Invalid, where + ": " + what); }

std::string numberText(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

Result<double> number(const json& j, const std::string& where, const std::string& key) {
    if (!j.is_number()) return bad(where, "'" + key + "' must be a number");
    return j.get<double>();
}

Result<int64_t> integer(const json& j, const std::string& where, const std::string& key) {
    if (!j.is_number_integer()) return bad(where, "'" + key + "' must be a whole number");
    return j.get<int64_t>();
}

Result<std::vector<std::string>> strings(const json& j, const std::string& where, const std::string& key) {
    if (!j.is_array()) return bad(where, "'" + key + "' must be a list of strings");
    std::vector<std::string> v;
    for (const auto& e : j) {
        if (!e.is_string()) return bad(where, "'" + key + "' must be a list of strings");
        v.push_back(e.get<std::string>());
    }
    return v;
}

const char* kCalibrations = "\"minmax\", \"percentile\" or \"mse\"";

Result<CalibrationMethod> calibrationFromName(const std::string& n) {
    if (n == "minmax") return CalibrationMethod::MinMax;
    if (n == "percentile") return CalibrationMethod::Percentile;
    if (n == "mse") return CalibrationMethod::Mse;
    return makeError(ErrorCode::Invalid, "calibration '" + n + "' is not " + kCalibrations);
}

// "activations": {"calibration": "mse", "samples": 256, "data": "mnist:DIR", "split": "train",
//                 "percentile": 99.99, "bits": 8, "normalize": "scale=1/255"}
Status parseActivations(const json& j, const std::string& where, ActivationCalibration& a) {
    if (!j.is_object()) return bad(where, "'activations' must be an object");
    a.enabled = true;
    for (const auto& [k, v] : j.items()) {
        if (k == "calibration") {
            if (!v.is_string()) return bad(where, "'activations.calibration' must be " + std::string(kCalibrations));
            auto m = calibrationFromName(v.get<std::string>());
            if (!m) return bad(where, m.error().message);
            a.method = *m;
        } else if (k == "samples" || k == "bits") {
            auto n = integer(v, where, "activations." + k);
            if (!n) return n.error();
            if (k == "samples") a.samples = *n;
            else a.bits = int(*n);
        } else if (k == "percentile") {
            auto n = number(v, where, "activations.percentile");
            if (!n) return n.error();
            a.percentile = *n;
        } else if (k == "data" || k == "split" || k == "normalize") {
            if (!v.is_string()) return bad(where, "'activations." + k + "' must be a string");
            const std::string text = v.get<std::string>();
            if (k == "data") a.data = text;
            else if (k == "split") a.split = text;
            else {
                auto n = parseNormalization(text);
                if (!n) return bad(where, "'activations.normalize': " + n.error().message);
                a.normalize = *n;
            }
        } else {
            return bad(where, "unknown key 'activations." + k + "' (calibration, samples, data, split, percentile, bits, normalize)");
        }
    }
    return {};
}

// "calibration": {"data": "mnist:DIR", "samples": 256, "split": "train", "normalize": "..."}: the
// samples a data-driven step (pruning criteria, outliers on data, decompose) runs the model on.
Status parseCalibration(const json& c, const std::string& where, ActivationCalibration& a) {
    if (!c.is_object()) return bad(where, "'calibration' must be an object");
    for (const auto& [k, v] : c.items())
        if (k != "data" && k != "samples" && k != "split" && k != "normalize")
            return bad(where, "unknown key 'calibration." + k + "' (data, samples, split, normalize)");
    return parseActivations(c, where, a);
}

json calibrationJson(const ActivationCalibration& a) {
    json c = {{"samples", a.samples}, {"data", a.data}};
    if (!a.split.empty()) c["split"] = a.split;
    if (a.normalize) c["normalize"] = normalizationToString(*a.normalize);
    return c;
}

// Data-driven pruning: "criterion": "activation" with "calibration": {"data": "mnist:DIR",
// "samples": 256, "split": "train", "normalize": "scale=1/255"}.
Status parseCriterion(const json& j, const std::string& where, bool filters, CompressStep& s) {
    const std::string names = filters ? "\"l1\", \"l2\", \"activation\" or \"beta\"" : "\"weight\" or \"activation\"";
    if (j.contains("criterion")) {
        const std::string c = j["criterion"].is_string() ? j["criterion"].get<std::string>() : "";
        if (filters && (c == "l1" || c == "l2")) {
            s.criterion = PruneCriterion::Weight;
            s.norm = c == "l1" ? 1 : 2;
        } else if (!filters && c == "weight") s.criterion = PruneCriterion::Weight;
        else if (c == "activation") s.criterion = PruneCriterion::Activation;
        else if (filters && c == "beta") s.criterion = PruneCriterion::Beta;
        else return bad(where, "'criterion' must be " + names);
    }
    if (j.contains("calibration")) {
        if (s.criterion == PruneCriterion::Weight) return bad(where, "'calibration' applies to the activation and beta criteria, not to weight norms");
        BY_TRY(parseCalibration(j["calibration"], where, s.activations));
    }
    s.activations.enabled = s.criterion != PruneCriterion::Weight;
    return {};
}

Result<CompressStep> parseStep(const json& j, const std::string& where) {
    if (!j.is_object()) return bad(where, "a step must be an object");
    if (!j.contains("method") || !j["method"].is_string()) return bad(where, "'method' is missing");
    const std::string method = j["method"].get<std::string>();
    CompressStep s;
    std::set<std::string> allowed = {"method", "layers"};
    if (method == "quantize") {
        allowed.insert({"bits", "granularity", "group", "symmetric", "activations", "outliers", "outlier_criterion", "calibration"});
        s.bits = 8;
        if (j.contains("bits")) {
            auto b = integer(j["bits"], where, "bits");
            if (!b) return b.error();
            s.bits = int(*b);
        }
        const bool grouped = j.contains("group");
        s.method = s.bits == 8 && !grouped ? CompressMethod::QuantizeInt8 : CompressMethod::QuantizeNBits;
        if (grouped) {
            auto g = integer(j["group"], where, "group");
            if (!g) return g.error();
            s.group = *g;
        }
        if (j.contains("granularity")) {
            const std::string g = j["granularity"].is_string() ? j["granularity"].get<std::string>() : "";
            if (g != "per_channel" && g != "per_tensor") return bad(where, "'granularity' must be \"per_channel\" or \"per_tensor\"");
            if (s.method != CompressMethod::QuantizeInt8) return bad(where, "'granularity' applies to int8 without a group");
            s.perChannel = g == "per_channel";
        }
        if (j.contains("symmetric")) {
            if (!j["symmetric"].is_boolean()) return bad(where, "'symmetric' must be true or false");
            s.symmetric = j["symmetric"].get<bool>();
        }
        if (j.contains("outliers")) {
            if (s.method != CompressMethod::QuantizeNBits) return bad(where, "'outliers' applies to group-wise quantization (with a 'group')");
            auto v = number(j["outliers"], where, "outliers");
            if (!v) return v.error();
            s.outliers = *v;
        }
        // "outlier_criterion": "activation" ranks outliers by |w| x sqrt(E[x^2]) on the
        // "calibration" samples (as data-driven pruning reads them); "magnitude" (the default) by |w|.
        if (j.contains("outlier_criterion")) {
            if (s.method != CompressMethod::QuantizeNBits) return bad(where, "'outlier_criterion' applies to group-wise quantization (with a 'group')");
            const std::string c = j["outlier_criterion"].is_string() ? j["outlier_criterion"].get<std::string>() : "";
            if (c == "activation") s.criterion = PruneCriterion::Activation;
            else if (c != "magnitude") return bad(where, "'outlier_criterion' must be \"magnitude\" or \"activation\"");
        }
        if (j.contains("calibration")) {
            if (s.criterion != PruneCriterion::Activation)
                return bad(where, "'calibration' applies to outliers ranked by activation (\"outlier_criterion\": \"activation\")");
            BY_TRY(parseCalibration(j["calibration"], where, s.activations));
        }
        if (s.criterion == PruneCriterion::Activation) s.activations.enabled = true;
        if (j.contains("activations")) {
            if (s.method != CompressMethod::QuantizeInt8) return bad(where, "'activations' applies to 8-bit weights without a group");
            BY_TRY(parseActivations(j["activations"], where, s.activations));
        }
    } else if (method == "quantize_bcq") {
        allowed.insert({"bits", "group", "iterations"});
        s.method = CompressMethod::QuantizeBcq;
        s.bits = 2;
        s.group = 64;
        for (const auto& [key, target] : {std::pair<const char*, int64_t*>{"group", &s.group}})
            if (j.contains(key)) {
                auto v = integer(j[key], where, key);
                if (!v) return v.error();
                *target = *v;
            }
        for (const auto& [key, target] : {std::pair<const char*, int*>{"bits", &s.bits}, {"iterations", &s.iterations}})
            if (j.contains(key)) {
                auto v = integer(j[key], where, key);
                if (!v) return v.error();
                *target = int(*v);
            }
    } else if (method == "quantize_ggml") {
        allowed.insert({"type", "algorithm", "group", "damp", "calibration_tokens"});
        s.method = CompressMethod::QuantizeGgml;
        if (j.contains("type")) {
            const std::string t = j["type"].is_string() ? j["type"].get<std::string>() : "";
            if (t != "q8_0" && t != "q4_0") return bad(where, "'type' must be \"q8_0\" or \"q4_0\"");
            s.ggmlType = t == "q8_0" ? DType::Q8_0 : DType::Q4_0;
        }
        if (j.contains("algorithm")) {
            if (!j["algorithm"].is_string()) return bad(where, "'algorithm' must be \"rtn\", \"gptq\" or \"awq\"");
            s.algorithm = j["algorithm"].get<std::string>();
        }
        if (j.contains("group")) {
            auto g = integer(j["group"], where, "group");
            if (!g) return g.error();
            s.group = *g;
        }
        if (j.contains("damp")) {
            auto v = number(j["damp"], where, "damp");
            if (!v) return v.error();
            s.damp = *v;
        }
        if (j.contains("calibration_tokens")) {
            auto v = integer(j["calibration_tokens"], where, "calibration_tokens");
            if (!v) return v.error();
            s.calibrationTokens = *v;
        }
    } else if (method == "prune") {
        allowed.insert({"sparsity", "scope"});
        s.method = CompressMethod::Prune;
        if (j.contains("sparsity")) {
            auto v = number(j["sparsity"], where, "sparsity");
            if (!v) return v.error();
            s.sparsity = *v;
        }
        if (j.contains("scope")) {
            const std::string sc = j["scope"].is_string() ? j["scope"].get<std::string>() : "";
            if (sc != "per_layer" && sc != "global") return bad(where, "'scope' must be \"per_layer\" or \"global\"");
            s.global = sc == "global";
        }
    } else if (method == "prune_nm") {
        allowed.insert({"n", "m"});
        s.method = CompressMethod::PruneNM;
        for (const auto& [key, target] : {std::pair<const char*, int*>{"n", &s.n}, {"m", &s.m}})
            if (j.contains(key)) {
                auto v = integer(j[key], where, key);
                if (!v) return v.error();
                *target = int(*v);
            }
    } else if (method == "prune_channels" || method == "prune_ffn" || method == "prune_heads") {
        const bool filters = method == "prune_channels";
        allowed.insert({"sparsity", "criterion", "calibration"});
        if (filters) allowed.insert("norm");
        s.method = filters ? CompressMethod::PruneChannels : method == "prune_ffn" ? CompressMethod::PruneFfn : CompressMethod::PruneHeads;
        s.sparsity = 0.25;
        if (j.contains("sparsity")) {
            auto v = number(j["sparsity"], where, "sparsity");
            if (!v) return v.error();
            s.sparsity = *v;
        }
        if (filters && j.contains("norm")) {
            const std::string n = j["norm"].is_string() ? j["norm"].get<std::string>() : "";
            if (n != "l1" && n != "l2") return bad(where, "'norm' must be \"l1\" or \"l2\"");
            s.norm = n == "l1" ? 1 : 2;
        }
        BY_TRY(parseCriterion(j, where, filters, s));
    } else if (method == "decompose") {
        // MoDeGPT-style: "modules": "ffn" | "qk" | "vo" | "all", always with "calibration".
        allowed.insert({"sparsity", "modules", "calibration"});
        s.method = CompressMethod::Decompose;
        s.sparsity = 0.25;
        if (j.contains("sparsity")) {
            auto v = number(j["sparsity"], where, "sparsity");
            if (!v) return v.error();
            s.sparsity = *v;
        }
        if (j.contains("modules")) {
            s.modules = j["modules"].is_string() ? j["modules"].get<std::string>() : "";
            if (s.modules != "ffn" && s.modules != "qk" && s.modules != "vo" && s.modules != "all")
                return bad(where, "'modules' must be \"ffn\", \"qk\", \"vo\" or \"all\"");
        }
        if (j.contains("calibration")) {
            BY_TRY(parseCalibration(j["calibration"], where, s.activations));
        }
        s.activations.enabled = true;
    } else if (method == "low_rank") {
        allowed.insert({"rank", "rank_ratio", "energy", "param_cut", "activations"});
        s.method = CompressMethod::LowRank;
        if (j.contains("activations")) BY_TRY(parseActivations(j["activations"], where, s.activations));
        if (j.contains("rank")) {
            auto v = integer(j["rank"], where, "rank");
            if (!v) return v.error();
            s.rank = *v;
        }
        for (const auto& [key, target] :
             {std::pair<const char*, double*>{"rank_ratio", &s.rankRatio}, {"energy", &s.energy}, {"param_cut", &s.paramCut}})
            if (j.contains(key)) {
                auto v = number(j[key], where, key);
                if (!v) return v.error();
                *target = *v;
            }
    } else {
        return bad(where, "unknown method '" + method + "' (quantize, quantize_bcq, quantize_ggml, prune, prune_nm, prune_channels, prune_ffn, prune_heads, decompose or low_rank)");
    }
    for (const auto& [k, v] : j.items())
        if (!allowed.count(k)) return bad(where, "unknown key '" + k + "' for method '" + method + "'");
    if (j.contains("layers")) {
        const json& l = j["layers"];
        if (l.is_string() && l.get<std::string>() == "all") {
        } else if (l.is_object()) {
            for (const auto& [k, v] : l.items()) {
                if (k != "op_types" && k != "names") return bad(where, "'layers' takes \"op_types\" and \"names\", not '" + k + "'");
                auto list = strings(v, where, "layers." + k);
                if (!list) return list.error();
                (k == "op_types" ? s.layers.opTypes : s.layers.names) = *list;
            }
        } else {
            return bad(where, "'layers' must be \"all\" or {\"op_types\": [...], \"names\": [...]}");
        }
    }
    return s;
}

}  // namespace

Result<Recipe> parseRecipeJson(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return makeError(ErrorCode::Format, "the recipe is not valid JSON");
    if (!j.is_object()) return makeError(ErrorCode::Format, "the recipe must be a JSON object");
    Recipe r;
    if (!j.contains("version") || !j["version"].is_number_integer())
        return makeError(ErrorCode::Invalid, "the recipe needs \"version\": " + std::to_string(Recipe::kVersion));
    r.version = j["version"].get<int>();
    if (r.version < 1 || r.version > Recipe::kVersion)
        return makeError(ErrorCode::Unsupported, "recipe version " + std::to_string(r.version) + " is not one this build reads (1 to " +
                                                     std::to_string(Recipe::kVersion) + ")");
    for (const auto& [k, v] : j.items())
        if (k != "version" && k != "steps" && k != "name" && k != "comment")
            return makeError(ErrorCode::Invalid, "unknown recipe key '" + k + "'");
    if (!j.contains("steps") || !j["steps"].is_array() || j["steps"].empty())
        return makeError(ErrorCode::Invalid, "the recipe needs a non-empty \"steps\" list");
    for (size_t i = 0; i < j["steps"].size(); ++i) {
        auto s = parseStep(j["steps"][i], "step " + std::to_string(i + 1));
        if (!s) return s.error();
        r.steps.push_back(std::move(*s));
    }
    return r;
}

Result<Recipe> loadRecipeFile(const std::string& path) {
    std::ifstream f(path);
    if (!f) return makeError(ErrorCode::Io, "cannot read the recipe " + path);
    std::stringstream ss;
    ss << f.rdbuf();
    auto r = parseRecipeJson(ss.str());
    if (!r) r.error().withContext(path);
    return r;
}

std::string recipeToJson(const Recipe& recipe, int indent) {
    json j;
    j["version"] = recipe.version;
    json steps = json::array();
    for (const auto& s : recipe.steps) {
        json o;
        switch (s.method) {
        case CompressMethod::QuantizeInt8:
            o["method"] = "quantize";
            o["bits"] = 8;
            o["granularity"] = s.perChannel ? "per_channel" : "per_tensor";
            if (s.activations.enabled) {
                const ActivationCalibration& a = s.activations;
                json act = {{"calibration", calibrationMethodName(a.method)}, {"samples", a.samples}, {"data", a.data}, {"bits", a.bits}};
                if (!a.split.empty()) act["split"] = a.split;
                if (a.method == CalibrationMethod::Percentile) act["percentile"] = a.percentile;
                if (a.normalize) act["normalize"] = normalizationToString(*a.normalize);
                o["activations"] = act;
            }
            break;
        case CompressMethod::QuantizeNBits:
            o["method"] = "quantize";
            o["bits"] = s.bits;
            o["group"] = s.group;
            o["symmetric"] = s.symmetric;
            if (s.outliers > 0) o["outliers"] = s.outliers;
            if (s.criterion == PruneCriterion::Activation) {
                o["outlier_criterion"] = "activation";
                o["calibration"] = calibrationJson(s.activations);
            }
            break;
        case CompressMethod::QuantizeBcq:
            o["method"] = "quantize_bcq";
            o["bits"] = s.bits;
            o["group"] = s.group;
            o["iterations"] = s.iterations;
            break;
        case CompressMethod::Prune:
            o["method"] = "prune";
            o["sparsity"] = s.sparsity;
            o["scope"] = s.global ? "global" : "per_layer";
            break;
        case CompressMethod::PruneNM:
            o["method"] = "prune_nm";
            o["n"] = s.n;
            o["m"] = s.m;
            break;
        case CompressMethod::PruneChannels:
        case CompressMethod::PruneFfn:
        case CompressMethod::PruneHeads: {
            o["method"] = compressMethodName(s.method);
            o["sparsity"] = s.sparsity;
            const bool filters = s.method == CompressMethod::PruneChannels;
            if (filters) o["norm"] = s.norm == 1 ? "l1" : "l2";
            o["criterion"] = s.criterion == PruneCriterion::Weight && !filters ? "weight" : pruneCriterionName(s.criterion, s.norm);
            if (s.criterion != PruneCriterion::Weight) o["calibration"] = calibrationJson(s.activations);
            break;
        }
        case CompressMethod::Decompose: {
            o["method"] = "decompose";
            o["sparsity"] = s.sparsity;
            o["modules"] = s.modules;
            o["calibration"] = calibrationJson(s.activations);
            break;
        }
        case CompressMethod::QuantizeGgml:
            o["method"] = "quantize_ggml";
            o["type"] = s.ggmlType == DType::Q8_0 ? "q8_0" : "q4_0";
            o["algorithm"] = s.algorithm;
            o["group"] = s.group;
            if (s.algorithm == "gptq") o["damp"] = s.damp;
            if (s.algorithm != "rtn") o["calibration_tokens"] = s.calibrationTokens;
            break;
        case CompressMethod::LowRank:
            o["method"] = "low_rank";
            if (s.rank) o["rank"] = s.rank;
            if (s.rankRatio) o["rank_ratio"] = s.rankRatio;
            if (s.energy) o["energy"] = s.energy;
            if (s.paramCut) o["param_cut"] = s.paramCut;
            if (s.activations.enabled) {
                const ActivationCalibration& a = s.activations;
                json act = {{"samples", a.samples}, {"data", a.data}};
                if (!a.split.empty()) act["split"] = a.split;
                if (a.normalize) act["normalize"] = normalizationToString(*a.normalize);
                o["activations"] = act;
            }
            break;
        }
        if (s.layers.all()) {
            o["layers"] = "all";
        } else {
            json l = json::object();
            if (!s.layers.opTypes.empty()) l["op_types"] = s.layers.opTypes;
            if (!s.layers.names.empty()) l["names"] = s.layers.names;
            o["layers"] = l;
        }
        steps.push_back(o);
    }
    j["steps"] = steps;
    return j.dump(indent);
}

Result<CompressStep> parseShorthand(const std::string& kind, const std::string& value) {
    auto fail = [&](const std::string& hint) {
        return makeError(ErrorCode::Invalid, "--" + kind + " '" + value + "' is not understood (" + hint + ")");
    };
    std::vector<std::string> parts;
    {
        std::stringstream ss(value);
        std::string p;
        while (std::getline(ss, p, ':')) parts.push_back(p);
    }
    if (parts.empty()) return fail("empty");
    auto toDouble = [](const std::string& t, double& out) {
        try {
            size_t used = 0;
            out = std::stod(t, &used);
            return used == t.size();
        } catch (...) {
            return false;
        }
    };
    auto toInt = [](const std::string& t, int64_t& out) {
        try {
            size_t used = 0;
            out = std::stoll(t, &used);
            return used == t.size();
        } catch (...) {
            return false;
        }
    };
    CompressStep s;
    if (kind == "quantize" && (parts[0] == "q8_0" || parts[0] == "q4_0")) {
        const std::string hint = "q8_0, q4_0, q4_0:gptq, q4_0:awq";
        s.method = CompressMethod::QuantizeGgml;
        s.ggmlType = parts[0] == "q8_0" ? DType::Q8_0 : DType::Q4_0;
        if (parts.size() > 2) return fail(hint);
        if (parts.size() == 2) {
            if (parts[1] != "rtn" && parts[1] != "gptq" && parts[1] != "awq") return fail(hint);
            s.algorithm = parts[1];
        }
        return s;
    }
    if (kind == "quantize" && parts[0].rfind("bcq", 0) == 0) {
        const std::string hint = "bcq2, bcq3:g64, bcq2:g128:it5 (sign planes, group along K, least-squares rounds)";
        int64_t v = 0;
        if (!toInt(parts[0].substr(3), v)) return fail(hint);
        s.method = CompressMethod::QuantizeBcq;
        s.bits = int(v);
        s.group = 64;
        for (size_t i = 1; i < parts.size(); ++i) {
            if (parts[i].size() > 1 && parts[i][0] == 'g' && toInt(parts[i].substr(1), v)) s.group = v;
            else if (parts[i].size() > 2 && parts[i].rfind("it", 0) == 0 && toInt(parts[i].substr(2), v)) s.iterations = int(v);
            else return fail(hint);
        }
        return s;
    }
    if (kind == "quantize") {
        const std::string hint =
            "int8, int8:per-tensor, int8:static[:minmax|:percentile|:mse] (with --calib-data), int4:g32, int3:g32, int2:g64, add :sym "
            "for symmetric and :outliers0.005 to keep the largest 0.5% in f16 (:activation ranks them by |w| x activation, with --calib-data); bcq3:g64 for binary coding; q8_0, q4_0[:gptq|:awq] for GGUF";
        int64_t bits = 0;
        if (parts[0].rfind("int", 0) != 0 || !toInt(parts[0].substr(3), bits)) return fail(hint);
        s.bits = int(bits);
        bool grouped = false;
        for (size_t i = 1; i < parts.size(); ++i) {
            int64_t g = 0;
            if (parts[i] == "per-tensor" || parts[i] == "per_tensor") s.perChannel = false;
            else if (parts[i] == "per-channel" || parts[i] == "per_channel") s.perChannel = true;
            else if (parts[i] == "sym") s.symmetric = true;
            else if (parts[i].size() > 8 && parts[i].rfind("outliers", 0) == 0 && toDouble(parts[i].substr(8), s.outliers)) {
            }
            else if (parts[i] == "activation") s.criterion = PruneCriterion::Activation;
            else if (parts[i] == "static") s.activations.enabled = true;
            else if (s.activations.enabled && calibrationFromName(parts[i])) s.activations.method = *calibrationFromName(parts[i]);
            else if (parts[i].size() > 1 && parts[i][0] == 'g' && toInt(parts[i].substr(1), g)) {
                s.group = g;
                grouped = true;
            } else return fail(hint);
        }
        s.method = s.bits == 8 && !grouped ? CompressMethod::QuantizeInt8 : CompressMethod::QuantizeNBits;
        if (s.activations.enabled && s.method != CompressMethod::QuantizeInt8) return fail(hint);
        if (s.criterion == PruneCriterion::Activation) {
            if (s.method != CompressMethod::QuantizeNBits || s.outliers <= 0) return fail(hint);
            s.activations.enabled = true;  // samples from --calib-data
        }
        return s;
    }
    if (kind == "prune") {
        const std::string hint =
            "0.5, 0.5:global, 2:4, channels:0.25, channels:0.25:l2|activation|beta, ffn:0.25[:activation], heads:0.25[:activation]";
        int64_t n = 0, m = 0;
        if (parts.size() == 2 && toInt(parts[0], n) && toInt(parts[1], m)) {
            s.method = CompressMethod::PruneNM;
            s.n = int(n);
            s.m = int(m);
            return s;
        }
        if (parts[0] == "channels" || parts[0] == "ffn" || parts[0] == "heads") {
            const bool filters = parts[0] == "channels";
            s.method = filters ? CompressMethod::PruneChannels : parts[0] == "ffn" ? CompressMethod::PruneFfn : CompressMethod::PruneHeads;
            if (parts.size() < 2 || parts.size() > 3 || !toDouble(parts[1], s.sparsity)) return fail(hint);
            if (parts.size() == 3) {
                if (filters && parts[2] == "l1") s.norm = 1;
                else if (filters && parts[2] == "l2") s.norm = 2;
                else if (!filters && parts[2] == "weight") s.criterion = PruneCriterion::Weight;
                else if (parts[2] == "activation") s.criterion = PruneCriterion::Activation;
                else if (filters && parts[2] == "beta") s.criterion = PruneCriterion::Beta;
                else return fail(hint);
            }
            // Calibration samples come from --calib-data, as for static int8.
            s.activations.enabled = s.criterion != PruneCriterion::Weight;
            return s;
        }
        s.method = CompressMethod::Prune;
        if (!toDouble(parts[0], s.sparsity) || parts.size() > 2) return fail(hint);
        if (parts.size() == 2) {
            if (parts[1] == "global") s.global = true;
            else if (parts[1] != "per-layer") return fail(hint);
        }
        return s;
    }
    if (kind == "decompose") {
        const std::string hint = "0.3 (30% of each feed-forward block's neurons, Nystrom), 0.3:ffn|qk|vo|all; with --calib-data";
        s.method = CompressMethod::Decompose;
        s.activations.enabled = true;  // calibration samples come from --calib-data
        if (parts.size() > 2 || !toDouble(parts[0], s.sparsity)) return fail(hint);
        if (parts.size() == 2) {
            if (parts[1] != "ffn" && parts[1] != "qk" && parts[1] != "vo" && parts[1] != "all") return fail(hint);
            s.modules = parts[1];
        }
        return s;
    }
    if (kind == "lowrank") {
        const std::string hint = "0.3 (cut 30% of each layer's parameters), energy:0.95, ratio:0.5, rank:16; add :data for the "
                                 "data-aware factorisation (with --calib-data)";
        s.method = CompressMethod::LowRank;
        if (parts.size() >= 2 && parts.back() == "data") {
            s.activations.enabled = true;
            parts.pop_back();
        }
        if (parts.size() == 1) {
            if (!toDouble(parts[0], s.paramCut)) return fail(hint);
            return s;
        }
        if (parts.size() != 2) return fail(hint);
        if (parts[0] == "energy" && toDouble(parts[1], s.energy)) return s;
        if (parts[0] == "ratio" && toDouble(parts[1], s.rankRatio)) return s;
        if (parts[0] == "cut" && toDouble(parts[1], s.paramCut)) return s;
        if (parts[0] == "rank" && toInt(parts[1], s.rank)) return s;
        return fail(hint);
    }
    return makeError(ErrorCode::Invalid, "unknown shorthand --" + kind);
}

std::string stepLabel(const CompressStep& s) {
    switch (s.method) {
    case CompressMethod::QuantizeInt8:
        return std::string(s.perChannel ? "int8" : "int8:per-tensor") +
               (s.activations.enabled ? std::string(":static:") + calibrationMethodName(s.activations.method) : "");
    case CompressMethod::QuantizeNBits:
        return "int" + std::to_string(s.bits) + ":g" + std::to_string(s.group) + (s.symmetric ? ":sym" : "") +
               (s.outliers > 0 ? ":outliers" + numberText(s.outliers) : "") + (s.criterion == PruneCriterion::Activation ? ":activation" : "");
    case CompressMethod::QuantizeBcq:
        return "bcq" + std::to_string(s.bits) + ":g" + std::to_string(s.group) + (s.iterations == 3 ? "" : ":it" + std::to_string(s.iterations));
    case CompressMethod::Prune: return "prune " + numberText(s.sparsity) + (s.global ? " global" : "");
    case CompressMethod::PruneNM: return "prune " + std::to_string(s.n) + ":" + std::to_string(s.m);
    case CompressMethod::PruneChannels:
        return "prune channels " + numberText(s.sparsity) + (s.criterion == PruneCriterion::Weight && s.norm == 1 ? "" : std::string(" ") + pruneCriterionName(s.criterion, s.norm));
    case CompressMethod::PruneFfn:
    case CompressMethod::PruneHeads:
        return std::string(s.method == CompressMethod::PruneFfn ? "prune ffn " : "prune heads ") + numberText(s.sparsity) +
               (s.criterion == PruneCriterion::Weight ? "" : " activation");
    case CompressMethod::Decompose: return "decompose " + numberText(s.sparsity) + (s.modules == "ffn" ? "" : " " + s.modules);
    case CompressMethod::QuantizeGgml:
        return std::string(s.ggmlType == DType::Q8_0 ? "q8_0" : "q4_0") + (s.algorithm == "rtn" ? "" : ":" + s.algorithm);
    case CompressMethod::LowRank: {
        const std::string data = s.activations.enabled ? " data-aware" : "";
        if (s.rank) return "lowrank rank " + std::to_string(s.rank) + data;
        if (s.rankRatio) return "lowrank ratio " + numberText(s.rankRatio) + data;
        if (s.energy) return "lowrank energy " + numberText(s.energy) + data;
        return "lowrank cut " + numberText(s.paramCut) + data;
    }
    }
    return "?";
}

}  // namespace by::cli
