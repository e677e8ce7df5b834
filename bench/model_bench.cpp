// Whole-model forward passes on the CPU executor against PyTorch 1.13 running the same ONNX graph
// with its own kernels (scripts/bench/torch_onnx.py: eager, and traced + frozen TorchScript), with
// the same thread count and the same random input. Prints medians and the ratio to PyTorch's
// faster mode; also checks the two outputs agree, so the baseline is computing the same thing.
//
// usage: model_bench [--threads N] [--runs N] MODEL.onnx:1,3,48,320 ...
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"

using namespace by;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
}

double jsonNumber(const std::string& json, const std::string& key) {
    const auto k = json.find("\"" + key + "\":");
    if (k == std::string::npos) return NAN;
    return std::strtod(json.c_str() + k + key.size() + 3, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, runs = 20;
    std::vector<std::string> specs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else specs.push_back(a);
    }
    bench::printMachine("model_bench");
    const std::string script = (fs::path(BY_SOURCE_DIR) / "scripts/bench/torch_onnx.py").string();
    std::printf("# threads: %d for both, runs: %d, medians in ms; baseline: PyTorch (%s)\n", threads, runs, script.c_str());
    std::printf("%-34s %-16s %10s %10s %10s %8s %10s\n", "model", "input", "ours", "torch", "torch-jit", "ratio",
                "max |diff|");
    const fs::path tmp = fs::temp_directory_path() / ("model_bench_" + std::to_string(getpid()));
    fs::create_directories(tmp);
    for (const auto& spec : specs) {
        const auto colon = spec.rfind(':');
        if (colon == std::string::npos) {
            std::fprintf(stderr, "model_bench: '%s' is not MODEL:SHAPE\n", spec.c_str());
            return 2;
        }
        const std::string path = spec.substr(0, colon), shapeText = spec.substr(colon + 1);
        if (!fs::exists(path)) {
            std::printf("%-34s missing (%s): run scripts/setup.sh\n", fs::path(path).filename().c_str(), path.c_str());
            continue;
        }
        // PyTorch first: it draws the input and writes it with its own output.
        const std::string check = (tmp / "in.npy").string();
        const std::string json = run("/usr/bin/python3 " + script + " " + path + " --shape " + shapeText + " --threads " +
                                     std::to_string(threads) + " --runs " + std::to_string(runs) + " --check " + check +
                                     " 2>/dev/null");
        auto model = loadModel(path);
        auto input = readNpy(check);
        if (!model || !input) {
            std::printf("%-34s could not load: %s\n", fs::path(path).filename().c_str(),
                        (!model ? model.error() : input.error()).what().c_str());
            continue;
        }
        ExecutorOptions eo;
        eo.threads = threads;
        auto ex = Executor::create(*model, eo);
        if (!ex) {
            std::printf("%-34s cannot run: %s\n", fs::path(path).filename().c_str(), ex.error().what().c_str());
            continue;
        }
        const std::map<std::string, Tensor> feed = {{ex->inputs()[0].name, *input}};
        (void)ex->run(feed);
        std::vector<double> times;
        Result<std::vector<Tensor>> out = std::vector<Tensor>{};
        for (int r = 0; r < runs; ++r) {
            const double t0 = bench::nowMs();
            out = ex->run(feed);
            times.push_back(bench::nowMs() - t0);
        }
        double diff = NAN;
        if (out && !out->empty()) {
            if (auto ref = readNpy((tmp / "in_out.npy").string()); ref && ref->numel() == (*out)[0].numel()) {
                const float* a = (*out)[0].data<float>();
                const float* b = ref->data<float>();
                diff = 0;
                for (int64_t i = 0; i < ref->numel(); ++i) diff = std::max(diff, double(std::fabs(a[i] - b[i])));
            }
        }
        const double ours = bench::median(times), eager = jsonNumber(json, "eager_ms"), jit = jsonNumber(json, "jit_ms");
        const double best = std::isnan(jit) ? eager : std::min(eager, jit);
        std::printf("%-34s %-16s %10.2f %10.2f %10.2f %8.2f %10.2g\n", fs::path(path).filename().c_str(), shapeText.c_str(), ours,
                    eager, jit, ours / best, diff);
        std::fflush(stdout);
    }
    fs::remove_all(tmp);
    std::printf("# ratio = ours / the faster PyTorch mode; below 1.0 means Brickyard is faster.\n");
    return 0;
}
