#include "app/cli/run_command.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "importers/onnx_tensor_file.h"

namespace by::cli {

namespace {

namespace fs = std::filesystem;

void printRunHelp() {
    std::puts(
        "usage: brickyard-cli run MODEL [--input NAME=FILE]... [-o OUT.npy|DIR] [--threads N]\n"
        "\n"
        "Runs MODEL on the CPU executor and prints each output's type, shape and value range.\n"
        "  --input NAME=FILE   a model input from a .npy file or an ONNX TensorProto (.pb) file;\n"
        "                      NAME= may be left out when the model has a single input\n"
        "  -o, --output PATH   write the outputs: PATH.npy for a single output, otherwise a\n"
        "                      directory that receives one NAME.npy per output\n"
        "  --threads N         worker threads (default: one per core)\n"
        "  --profile           print the slowest nodes");
}

Result<Tensor> readTensorFile(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".pb") return readOnnxTensorFile(path);
    return readNpy(path);
}

std::string fileNameFor(const std::string& valueName) {
    std::string s;
    for (char c : valueName) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    if (s.empty() || s == "." || s == "..") s = "output";
    return s;
}

}  // namespace

int runCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--input", "-o", "--output", "--threads"}, {"--help", "-h", "--profile"});
    if (a.has("--help") || a.has("-h")) {
        printRunHelp();
        return 0;
    }
    if (!a.error.empty()) return usageError(a.error);
    if (a.positional.size() != 1) return usageError("run needs exactly one MODEL");
    int threads = 0;
    if (auto t = a.get("--threads")) {
        try {
            threads = std::stoi(*t);
        } catch (...) {
            return usageError("--threads needs a number");
        }
        if (threads < 1) return usageError("--threads must be at least 1");
    }

    auto model = loadModel(a.positional[0]);
    if (!model) return inputError(model.error().what());
    ExecutorOptions eo;
    eo.threads = threads;
    auto exec = Executor::create(*model, eo);
    if (!exec) return inputError("cannot run " + fs::path(a.positional[0]).filename().string() + ": " + exec.error().what());

    std::map<std::string, Tensor> inputs;
    for (const auto& spec : a.getAll("--input")) {
        std::string name, file = spec;
        const auto eq = spec.find('=');
        bool named = false;
        if (eq != std::string::npos) {
            const std::string left = spec.substr(0, eq);
            for (const auto& io : exec->inputs())
                if (io.name == left) named = true;
            if (named) {
                name = left;
                file = spec.substr(eq + 1);
            }
        }
        if (!named) {
            if (exec->inputs().size() != 1) {
                std::string names;
                for (const auto& io : exec->inputs()) names += (names.empty() ? "" : ", ") + io.name;
                return usageError("--input " + spec + " names no model input (the inputs: " + names + "); use NAME=FILE");
            }
            name = exec->inputs()[0].name;
        }
        auto t = readTensorFile(file);
        if (!t) return inputError(t.error().what());
        if (inputs.count(name)) return usageError("input '" + name + "' is given twice");
        inputs[name] = std::move(*t);
    }

    RunStats stats;
    RunOptions ro;
    ro.stats = &stats;
    ro.profile = a.has("--profile");
    auto outs = exec->run(inputs, ro);
    if (!outs) return inputError(outs.error().what());

    std::printf("ran %lld nodes in %.3f s on %d thread(s)\n", static_cast<long long>(stats.nodesRun), stats.seconds,
                exec->threadCount());
    for (size_t i = 0; i < outs->size(); ++i) {
        const Tensor& t = (*outs)[i];
        std::printf("  %s: %s %s", exec->outputs()[i].name.c_str(), dtypeName(t.dtype()), shapeToString(t.shape()).c_str());
        if (t.numel() > 0)
            if (auto s = computeStats(t, 1); s)
                std::printf("  min %.6g max %.6g mean %.6g", s->min, s->max, s->mean);
        std::printf("\n");
    }
    if (ro.profile) {
        std::vector<std::pair<double, int>> slow;
        for (size_t n = 0; n < stats.nodeSeconds.size(); ++n) slow.emplace_back(stats.nodeSeconds[n], static_cast<int>(n));
        std::sort(slow.rbegin(), slow.rend());
        for (size_t k = 0; k < slow.size() && k < 10; ++k) {
            const Node& n = model->graph.nodes[static_cast<size_t>(slow[k].second)];
            std::printf("  %8.3f ms  node %d (%s%s)\n", slow[k].first * 1e3, slow[k].second, n.opType.c_str(),
                        n.name.empty() ? "" : (" '" + n.name + "'").c_str());
        }
    }

    std::optional<std::string> out = a.get("-o");
    if (!out) out = a.get("--output");
    if (!out) return 0;
    std::string ext = fs::path(*out).extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".npy") {
        if (outs->size() != 1)
            return usageError("the model has " + std::to_string(outs->size()) + " outputs: give a directory to -o, not a .npy file");
        if (auto st = writeNpy(*out, (*outs)[0]); !st) return inputError(st.error().what());
        std::printf("wrote %s\n", out->c_str());
        return 0;
    }
    std::error_code ec;
    fs::create_directories(*out, ec);
    if (ec) return inputError("cannot create directory " + *out + ": " + ec.message());
    for (size_t i = 0; i < outs->size(); ++i) {
        const std::string path = (fs::path(*out) / (fileNameFor(exec->outputs()[i].name) + ".npy")).string();
        if (auto st = writeNpy(path, (*outs)[i]); !st) return inputError(st.error().what());
        std::printf("wrote %s\n", path.c_str());
    }
    return 0;
}

}  // namespace by::cli
