#include "app/cli/model_commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "engine/shape_inference.h"
#include "importers/importer_registry.h"

namespace by::cli {

namespace {

nlohmann::json dimsJson(const Value& v) {
    if (!v.shape) return nullptr;
    nlohmann::json dims = nlohmann::json::array();
    for (const auto& d : *v.shape) {
        if (d.known()) dims.push_back(d.value);
        else dims.push_back(d.param.empty() ? "?" : d.param);
    }
    return dims;
}

nlohmann::json metaJson(const MetaValue& m, size_t maxItems) {
    using T = MetaValue::Type;
    switch (m.type) {
    case T::String: return m.s;
    case T::Bool: return m.i != 0;
    case T::F32:
    case T::F64: return m.f;
    case T::U64: return static_cast<uint64_t>(m.i);
    case T::Array: {
        nlohmann::json j;
        j["type"] = std::string("array<") + metaTypeName(m.arrayType) + ">";
        j["length"] = m.arraySize();
        nlohmann::json items = nlohmann::json::array();
        for (size_t i = 0; i < m.strings.size() && i < maxItems; ++i) items.push_back(m.strings[i]);
        for (size_t i = 0; i < m.ints.size() && i < maxItems; ++i) items.push_back(m.ints[i]);
        for (size_t i = 0; i < m.floats.size() && i < maxItems; ++i) items.push_back(m.floats[i]);
        for (size_t i = 0; i < m.items.size() && i < maxItems; ++i) items.push_back(metaJson(m.items[i], maxItems));
        j["head"] = items;
        return j;
    }
    default: return m.i;
    }
}

nlohmann::json ioJson(const Graph& g, const std::vector<int>& ids) {
    nlohmann::json arr = nlohmann::json::array();
    for (int id : ids) {
        const auto& v = g.values[static_cast<size_t>(id)];
        arr.push_back({{"name", v.name}, {"dtype", dtypeName(v.dtype)}, {"shape", dimsJson(v)}});
    }
    return arr;
}

}  // namespace

int inspectCommand(const std::vector<std::string>& argv) {
    Args a = parseArgs(argv, {"--max-items"}, {"--json", "--tensors", "--nodes", "--no-infer", "--help"});
    if (!a.error.empty()) return usageError("inspect: " + a.error);
    if (a.has("--help") || a.positional.size() != 1) {
        std::puts("usage: brickyard-cli inspect FILE [--json] [--tensors] [--nodes] [--no-infer] [--max-items N]\n"
                  "  Prints a summary of a model: format, operators, parameters, weight size, inputs and outputs.\n"
                  "  Shapes of intermediate values are inferred unless --no-infer is given.");
        return a.has("--help") ? 0 : 2;
    }
    const std::string& path = a.positional[0];
    size_t maxItems = 8;
    if (auto m = a.get("--max-items")) maxItems = static_cast<size_t>(std::max(0L, std::atol(m->c_str())));

    const auto t0 = std::chrono::steady_clock::now();
    auto model = loadModel(path);
    const double loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!model) return inputError(model.error().what());
    std::optional<ShapeInferenceResult> shapes;
    if (!a.has("--no-infer")) {
        auto r = inferShapes(*model);
        if (r) shapes = std::move(*r);
        else model->warnings.push_back("shape inference stopped: " + r.error().what());
    }
    const Model& m = *model;
    const ModelSummary s = summarize(m);
    std::error_code ec;
    const auto fileBytes = std::filesystem::file_size(path, ec);

    if (a.has("--json")) {
        nlohmann::json j;
        j["file"] = path;
        j["format"] = m.format;
        j["file_bytes"] = ec ? 0 : fileBytes;
        j["load_ms"] = loadMs;
        j["name"] = m.name;
        j["producer"] = m.producer;
        j["producer_version"] = m.producerVersion;
        j["ir_version"] = m.irVersion;
        nlohmann::json opsets = nlohmann::json::object();
        for (const auto& [d, v] : m.opsets) opsets[d.empty() ? "ai.onnx" : d] = v;
        j["opsets"] = opsets;
        j["nodes"] = s.nodes;
        j["top_level_nodes"] = m.graph.nodes.size();
        j["parameters"] = s.parameters;
        j["weight_bytes"] = s.weightBytes;
        j["tensors_with_data"] = s.tensorsWithData;
        j["ops"] = s.ops;
        j["dtype_bytes"] = s.dtypeBytes;
        j["inputs"] = ioJson(m.graph, m.graph.inputs);
        j["outputs"] = ioJson(m.graph, m.graph.outputs);
        nlohmann::json meta = nlohmann::json::object();
        for (const auto& [k, v] : m.metadata) meta[k] = metaJson(v, maxItems);
        j["metadata"] = meta;
        j["warnings"] = m.warnings;
        if (shapes)
            j["shape_inference"] = {{"node_outputs", shapes->nodeOutputs},
                                    {"with_shape", shapes->outputsWithShape},
                                    {"fully_known", shapes->outputsFullyKnown},
                                    {"warnings", shapes->warnings}};
        if (a.has("--tensors")) {
            nlohmann::json ts = nlohmann::json::array();
            for (const auto& v : m.graph.values)
                if (v.data)
                    ts.push_back({{"name", v.name}, {"dtype", dtypeName(v.data->dtype())}, {"shape", v.data->shape()},
                                  {"bytes", v.data->nbytes()}});
            j["tensors"] = ts;
        }
        if (a.has("--nodes")) {
            nlohmann::json ns = nlohmann::json::array();
            for (const auto& n : m.graph.nodes) {
                nlohmann::json nj{{"name", n.name}, {"op", n.opType}, {"domain", n.domain}};
                nlohmann::json ins = nlohmann::json::array(), outs = nlohmann::json::array();
                for (int i : n.inputs) ins.push_back(i >= 0 ? m.graph.values[static_cast<size_t>(i)].name : "");
                for (int o : n.outputs) outs.push_back(o >= 0 ? m.graph.values[static_cast<size_t>(o)].name : "");
                nj["inputs"] = ins;
                nj["outputs"] = outs;
                ns.push_back(nj);
            }
            j["node_list"] = ns;
        }
        std::cout << j.dump(2) << "\n";
        return 0;
    }

    std::printf("%s\n", path.c_str());
    std::printf("  format       %s%s%s\n", m.format.c_str(), m.producer.empty() ? "" : ", produced by ",
                (m.producer + (m.producerVersion.empty() ? "" : " " + m.producerVersion)).c_str());
    if (!ec) std::printf("  file size    %s\n", humanBytes(static_cast<double>(fileBytes)).c_str());
    if (!m.opsets.empty()) {
        std::string o;
        for (const auto& [d, v] : m.opsets) o += (o.empty() ? "" : ", ") + (d.empty() ? std::string("ai.onnx") : d) + " " + std::to_string(v);
        std::printf("  opsets       %s\n", o.c_str());
    }
    std::printf("  operators    %lld", static_cast<long long>(s.nodes));
    if (static_cast<size_t>(s.nodes) != m.graph.nodes.size())
        std::printf(" (%zu at top level)", m.graph.nodes.size());
    std::printf("\n  parameters   %s (%lld)\n", humanCount(s.parameters).c_str(), static_cast<long long>(s.parameters));
    std::printf("  weights      %s in %lld tensors", humanBytes(static_cast<double>(s.weightBytes)).c_str(),
                static_cast<long long>(s.tensorsWithData));
    if (!s.dtypeBytes.empty()) {
        std::string d;
        for (const auto& [k, v] : s.dtypeBytes) d += (d.empty() ? "" : ", ") + k + " " + humanBytes(static_cast<double>(v));
        std::printf(" (%s)", d.c_str());
    }
    std::printf("\n");
    auto printIo = [&](const char* label, const std::vector<int>& ids) {
        for (size_t i = 0; i < ids.size(); ++i) {
            const auto& v = m.graph.values[static_cast<size_t>(ids[i])];
            std::printf("  %-12s %s %s %s\n", i == 0 ? label : "", v.name.c_str(), dtypeName(v.dtype),
                        v.shape ? dimShapeToString(*v.shape).c_str() : "[?]");
        }
    };
    printIo("inputs", m.graph.inputs);
    printIo("outputs", m.graph.outputs);
    if (!s.ops.empty()) {
        std::vector<std::pair<std::string, int64_t>> ops(s.ops.begin(), s.ops.end());
        std::stable_sort(ops.begin(), ops.end(), [](auto& x, auto& y) { return x.second > y.second; });
        std::string line;
        for (size_t i = 0; i < ops.size(); ++i) {
            if (i == maxItems * 2) {
                line += ", ... (" + std::to_string(ops.size() - i) + " more)";
                break;
            }
            line += (i ? ", " : "") + ops[i].first + " " + std::to_string(ops[i].second);
        }
        std::printf("  op types     %s\n", line.c_str());
    }
    if (!m.metadata.empty()) {
        std::printf("  metadata     %zu keys\n", m.metadata.size());
        size_t shown = 0;
        for (const auto& [k, v] : m.metadata) {
            if (shown++ == maxItems * 2) {
                std::printf("    ... (%zu more; --json shows all)\n", m.metadata.size() - maxItems * 2);
                break;
            }
            std::string val = v.toString(maxItems);
            if (val.size() > 100) val = val.substr(0, 97) + "...";
            std::printf("    %s = %s\n", k.c_str(), val.c_str());
        }
    }
    if (a.has("--tensors")) {
        std::printf("  tensors\n");
        for (const auto& v : m.graph.values)
            if (v.data)
                std::printf("    %-48s %-6s %-20s %s\n", v.name.c_str(), dtypeName(v.data->dtype()),
                            shapeToString(v.data->shape()).c_str(), humanBytes(static_cast<double>(v.data->nbytes())).c_str());
    }
    if (a.has("--nodes")) {
        std::printf("  nodes\n");
        for (size_t i = 0; i < m.graph.nodes.size(); ++i)
        {
            const auto& n = m.graph.nodes[i];
            std::string outs;
            for (int o : n.outputs)
                if (o >= 0) {
                    const auto& v = m.graph.values[static_cast<size_t>(o)];
                    outs += (outs.empty() ? "" : " ") + (v.shape ? dimShapeToString(*v.shape) : std::string("[?]"));
                }
            std::printf("    %5zu %-22s %-40s -> %s\n", i, n.opType.c_str(), n.name.c_str(), outs.c_str());
        }
    }
    if (shapes && shapes->nodeOutputs > 0)
        std::printf("  shapes       %lld of %lld node outputs inferred (%lld fully known)%s\n",
                    static_cast<long long>(shapes->outputsWithShape), static_cast<long long>(shapes->nodeOutputs),
                    static_cast<long long>(shapes->outputsFullyKnown),
                    shapes->warnings.empty() ? "" : (", " + std::to_string(shapes->warnings.size()) + " warnings").c_str());
    for (const auto& w : m.warnings) std::printf("  warning: %s\n", w.c_str());
    std::printf("  loaded in    %.1f ms\n", loadMs);
    return 0;
}

int convertCommand(const std::vector<std::string>& argv) {
    Args a = parseArgs(argv, {}, {"--help"});
    if (!a.error.empty()) return usageError("convert: " + a.error);
    if (a.has("--help") || a.positional.size() != 2) {
        std::puts("usage: brickyard-cli convert IN OUT\n"
                  "  Reads any supported model and writes it in the format named by OUT's extension\n"
                  "  (.onnx, .safetensors, .gguf).");
        return a.has("--help") ? 0 : 2;
    }
    const std::string& in = a.positional[0];
    const std::string& out = a.positional[1];
    std::error_code ec;
    if (std::filesystem::weakly_canonical(in, ec) == std::filesystem::weakly_canonical(out, ec))
        return inputError("convert: the output would overwrite the input " + in);
    auto model = loadModel(in);
    if (!model) return inputError(model.error().what());
    auto exporter = ImporterRegistry::instance().exporterFor(out);
    if (!exporter) return inputError(exporter.error().what());
    auto st = saveModel(*model, out);
    if (!st) return inputError(st.error().what());
    const ModelSummary s = summarize(*model);
    const auto bytes = std::filesystem::file_size(out, ec);
    std::printf("wrote %s (%s, %lld tensors, %s)\n", out.c_str(), (*exporter)->name().c_str(),
                static_cast<long long>(s.tensorsWithData), humanBytes(static_cast<double>(ec ? 0 : bytes)).c_str());
    if (!(*exporter)->storesGraph() && s.nodes > 0)
        std::fprintf(stderr, "note: %s holds weights and metadata only; the %lld operators of %s's graph are not in it\n",
                     (*exporter)->name().c_str(), static_cast<long long>(s.nodes),
                     std::filesystem::path(in).filename().c_str());
    return 0;
}

}  // namespace by::cli
