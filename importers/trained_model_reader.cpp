#include "importers/trained_model_reader.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "engine/mapped_file.h"
#include "importers/npy.h"

namespace by {

namespace fs = std::filesystem;

Result<TrainedModelInfo> readTrainedModelDir(const std::string& dir) {
    const std::string cfgPath = (fs::path(dir) / "config.json").string();
    auto text = readWholeFile(cfgPath);
    if (!text) return text.error();
    nlohmann::json cfg = nlohmann::json::parse(*text, nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object())
        return makeError(ErrorCode::Format, "the file is not a JSON object", cfgPath);

    TrainedModelInfo info;
    SequentialSpec& spec = info.spec;
    auto field = [&](const nlohmann::json& obj, const char* key, nlohmann::json::value_t type,
                     const std::string& where) -> Result<const nlohmann::json*> {
        auto it = obj.find(key);
        if (it == obj.end() || it->type() != type)
            return makeError(ErrorCode::Format, std::string("field \"") + key + "\" is missing or of the wrong type",
                             cfgPath + ": " + where);
        return &*it;
    };
    using VT = nlohmann::json::value_t;
    auto layers = field(cfg, "layers", VT::array, "top level");
    if (!layers) return layers.error();
    auto input = field(cfg, "input", VT::object, "top level");
    if (!input) return input.error();

    spec.name = cfg.value("architecture", std::string("model"));
    info.dataset = cfg.value("dataset", std::string());
    if (!info.dataset.empty()) spec.name = info.dataset + "_cnn";
    spec.inputName = (*input)->value("name", std::string("image"));
    auto shape = (*input)->find("shape");
    if (shape == (*input)->end() || !shape->is_array() || shape->empty())
        return makeError(ErrorCode::Format, "field \"shape\" must be a non-empty array", cfgPath + ": input");
    for (const auto& d : *shape) {
        if (!d.is_number_integer()) return makeError(ErrorCode::Format, "field \"shape\" holds a non-integer", cfgPath + ": input");
        spec.inputShape.push_back(d.get<int64_t>());
    }
    info.inputScale = (*input)->value("scale", 1.0f);
    info.inputMean = (*input)->value("mean", 0.0f);
    info.inputStd = (*input)->value("std", 1.0f);
    if (auto out = cfg.find("output"); out != cfg.end() && out->is_object())
        spec.outputName = out->value("name", std::string("logits"));
    if (auto cn = cfg.find("class_names"); cn != cfg.end() && cn->is_array())
        for (const auto& c : *cn)
            if (c.is_string()) spec.classNames.push_back(c.get<std::string>());
    if (auto acc = cfg.find("test_accuracy"); acc != cfg.end() && acc->is_number()) info.testAccuracy = acc->get<double>();
    info.testSamples = cfg.value("test_samples", int64_t{0});

    for (size_t i = 0; i < (*layers)->size(); ++i) {
        const auto& L = (**layers)[i];
        const std::string where = "layers[" + std::to_string(i) + "]";
        if (!L.is_object()) return makeError(ErrorCode::Format, "the layer is not an object", cfgPath + ": " + where);
        auto op = field(L, "op", VT::string, where);
        if (!op) return op.error();
        auto kind = layerKindFromName((*op)->get<std::string>());
        if (!kind) return kind.error().withContext(cfgPath + ": " + where);
        LayerSpec ls;
        ls.kind = *kind;
        ls.weight = L.value("weight", std::string());
        ls.bias = L.value("bias", std::string());
        ls.pad = L.value("pad", int64_t{0});
        ls.stride = L.value("stride", int64_t{0});
        ls.kernel = L.value("kernel", int64_t{2});
        for (const std::string& name : {ls.weight, ls.bias}) {
            if (name.empty() || spec.weights.count(name)) continue;
            const std::string npy = (fs::path(dir) / (name + ".npy")).string();
            auto t = readNpy(npy);
            if (!t) return t.error().withContext(cfgPath + ": " + where);
            spec.weights.emplace(name, std::move(*t));
        }
        spec.layers.push_back(std::move(ls));
    }

    // What a consumer of the exported model needs to feed it and to check it.
    auto str = [](double v) {
        char b[64];
        std::snprintf(b, sizeof(b), "%.9g", v);
        return std::string(b);
    };
    spec.metadata.emplace_back("brickyard.dataset", MetaValue::ofString(info.dataset));
    spec.metadata.emplace_back("brickyard.input_scale", MetaValue::ofString(str(info.inputScale)));
    spec.metadata.emplace_back("brickyard.input_mean", MetaValue::ofString(str(info.inputMean)));
    spec.metadata.emplace_back("brickyard.input_std", MetaValue::ofString(str(info.inputStd)));
    if (info.testAccuracy >= 0)
        spec.metadata.emplace_back("brickyard.training_test_accuracy", MetaValue::ofString(str(info.testAccuracy)));
    return info;
}

}  // namespace by
