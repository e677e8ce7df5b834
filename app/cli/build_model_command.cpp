#include "app/cli/build_model_command.h"

#include <cstdio>
#include <filesystem>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "engine/model_builder.h"
#include "importers/importer_registry.h"
#include "importers/trained_model_reader.h"

namespace by::cli {

int buildModelCommand(const std::vector<std::string>& argv) {
    Args a = parseArgs(argv, {"-o", "--output"}, {"--help"});
    if (!a.error.empty()) return usageError("build-model: " + a.error);
    std::vector<std::string> outs = a.getAll("-o");
    for (const auto& o : a.getAll("--output")) outs.push_back(o);
    if (a.has("--help") || a.positional.size() != 1 || outs.empty()) {
        std::puts("usage: brickyard-cli build-model WEIGHTS_DIR -o OUT [-o OUT ...]\n"
                  "  Builds the model described by WEIGHTS_DIR/config.json from its .npy weights (as written by\n"
                  "  scripts/train/mnist_cnn.py) and writes it as .onnx (graph and weights), .safetensors or\n"
                  "  .gguf (weights and metadata).");
        return a.has("--help") ? 0 : 2;
    }
    auto info = readTrainedModelDir(a.positional[0]);
    if (!info) return inputError("build-model: " + info.error().what());
    auto model = buildSequentialModel(info->spec);
    if (!model) return inputError("build-model: " + model.error().withContext(a.positional[0]).what());
    const ModelSummary s = summarize(*model);
    for (const auto& out : outs) {
        auto exporter = ImporterRegistry::instance().exporterFor(out);
        if (!exporter) return inputError("build-model: " + exporter.error().what());
        auto st = saveModel(*model, out);
        if (!st) return inputError("build-model: " + st.error().what());
        std::error_code ec;
        const auto bytes = std::filesystem::file_size(out, ec);
        std::printf("wrote %s (%s, %lld nodes, %lld parameters, %s)\n", out.c_str(), (*exporter)->name().c_str(),
                    static_cast<long long>((*exporter)->storesGraph() ? s.nodes : 0),
                    static_cast<long long>(s.parameters), humanBytes(static_cast<double>(ec ? 0 : bytes)).c_str());
    }
    return 0;
}

}  // namespace by::cli
