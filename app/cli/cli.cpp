#include "app/cli/cli.h"

#include <cstdio>
#include <string>
#include <vector>

#include "app/cli/build_model_command.h"
#include "app/cli/compare_command.h"
#include "app/cli/cli_output.h"
#include "app/cli/compress_command.h"
#include "app/cli/eval_command.h"
#include "app/cli/gvideo_command.h"
#include "app/cli/lm_commands.h"
#include "app/cli/dataset_command.h"
#include "app/cli/model_commands.h"
#include "app/cli/project_command.h"
#include "app/cli/render_command.h"
#include "app/cli/run_command.h"
#include "importers/importer_registry.h"

namespace by::cli {

int usageError(const std::string& message) {
    std::fprintf(stderr, "brickyard-cli: %s (see brickyard-cli help)\n", message.c_str());
    return 2;
}

int inputError(const std::string& message) {
    std::fprintf(stderr, "brickyard-cli: %s\n", message.c_str());
    return 1;
}

namespace {
void printHelp() {
    std::puts(
        "brickyard-cli - the Brickyard workbench, headless\n"
        "\n"
        "usage: brickyard-cli <verb> [arguments]\n"
        "\n"
        "verbs:\n"
        "  inspect FILE [--json] [--tensors] [--nodes]   summary of a model (ONNX, TFLite, GGUF, safetensors)\n"
        "  convert IN OUT                               rewrite a model as .onnx, .safetensors or .gguf\n"
        "  run MODEL --input NAME=FILE ... [-o OUT]     run a model on the CPU (.npy or ONNX .pb tensors)\n"
        "  eval MODEL --data SPEC [--project P]        accuracy, latency and memory on a dataset\n"
        "  compress MODEL --quantize int8 -o OUT        compress (quantize, prune, low-rank) into a new model\n"
        "  sweep MODEL --quantize int8 ... --eval SPEC  compare several compressions on a dataset\n"
        "  search MODEL --quantize ... --max-drop P     per-layer sensitivity, smallest mix within P points\n"
        "  compare A B [--project P] [--json]           per-layer diff of two models or variants, results side by side\n"
        "  project create|add|list|variants|info|demo   manage a project workspace (.byproj)\n"
        "  tokenize TEXT | --text FILE [-o IDS.npy]     GPT-2 BPE token ids\n"
        "  lm build WEIGHTS_DIR -o OUT [--type T]       write a GPT-2-layout language model (.gguf/.safetensors)\n"
        "  generate MODEL --prompt TEXT [-n N]          generate text with a GPT-2-layout model\n"
        "  perplexity MODEL --text FILE [--ctx N]       perplexity (and KL/top-1 vs --base MODEL)\n"
        "  render SCENE -o OUT.png [--camera ...]       render a mesh, splat scene or light field .onnx (Vulkan)\n"
        "  bake IN -o OUT.ply                           turn a point cloud or textured mesh into 3DGS splats\n"
        "  splat-compress IN -o OUT.bysplat [...]       prune/quantize splats; size, PSNR/SSIM and frame time\n"
        "  gvideo animate|encode|render|info ...        Gaussian video: PLY sequences and their 2D-video form\n"
        "  dataset info SPEC                            size, input shape and class counts of a dataset\n"
        "  build-model WEIGHTS_DIR -o OUT               build a trained model (config.json + .npy) as .onnx/.safetensors\n"
        "  formats                                      list the readable and writable formats\n"
        "  version                                      print the version\n"
        "\n"
        "Run 'brickyard-cli <verb> --help' for a verb's options.");
}

int formatsCommand() {
    const auto& reg = ImporterRegistry::instance();
    std::puts("read:");
    for (const auto& i : reg.importers()) {
        std::string exts;
        for (const auto& e : i->extensions()) exts += " " + e;
        std::printf("  %-12s%s\n", i->name().c_str(), exts.c_str());
    }
    std::puts("write:");
    for (const auto& e : reg.exporters()) {
        std::string exts;
        for (const auto& x : e->extensions()) exts += " " + x;
        std::printf("  %-12s%s\n", e->name().c_str(), exts.c_str());
    }
    return 0;
}
}  // namespace

int run(int argc, char** argv) {
    if (argc < 2) {
        printHelp();
        return 2;
    }
    const std::string verb = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    if (verb == "help" || verb == "--help" || verb == "-h") {
        printHelp();
        return 0;
    }
    if (verb == "version" || verb == "--version") {
        std::puts("brickyard-cli 0.1.0");
        return 0;
    }
    if (verb == "inspect") return inspectCommand(rest);
    if (verb == "convert") return convertCommand(rest);
    if (verb == "project") return projectCommand(rest);
    if (verb == "run") return runCommand(rest);
    if (verb == "eval") return evalCommand(rest);
    if (verb == "render") return renderCommand(rest);
    if (verb == "bake") return bakeCommand(rest);
    if (verb == "splat-compress") return splatCompressCommand(rest);
    if (verb == "gvideo") return gvideoCommand(rest);
    if (verb == "dataset") return datasetCommand(rest);
    if (verb == "build-model") return buildModelCommand(rest);
    if (verb == "compress") return compressCommand(rest);
    if (verb == "sweep") return sweepCommand(rest);
    if (verb == "search") return searchCommand(rest);
    if (verb == "compare") return compareCommand(rest);
    if (verb == "formats") return formatsCommand();
    if (verb == "tokenize") return tokenizeCommand(rest);
    if (verb == "lm") return lmCommand(rest);
    if (verb == "generate") return generateCommand(rest);
    if (verb == "perplexity") return perplexityCommand(rest);
    return usageError("unknown verb '" + verb + "'");
}

}  // namespace by::cli
