// Whole-model forward passes on the CPU executor against PyTorch 1.13 running the same ONNX graph
// with its own kernels (scripts/bench/torch_onnx.py: eager, and traced + frozen TorchScript), with
// the same thread count and the same random input. Prints medians and the ratio to PyTorch's
// faster mode; also checks the two outputs agree, so the baseline is computing the same thing.
//
// usage: model_bench [--threads N] [--runs N] [--ours-only] [--profile] MODEL.onnx:1,3,48,320 ...
//   --ours-only  skip the baseline (a seeded random input is drawn here instead)
//   --profile    also print where our time goes, summed per operator type
//   --no-fuse    run element-wise chains node by node
#include <unistd.h>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "engine/executor.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "engine/blas_kernels.h"

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
    by::useBestBlasKernels(argv);
    int threads = 2, runs = 20;
    bool oursOnly = false, profile = false, fuse = true;
    std::vector<std::string> specs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--ours-only") oursOnly = true;
        else if (a == "--profile") profile = true;
        else if (a == "--no-fuse") fuse = false;
        else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else specs.push_back(a);
    }
    bench::printMachine("model_bench");
    const std::string script = (fs::path(BY_SOURCE_DIR) / "scripts/bench/torch_onnx.py").string();
    std::printf("# threads: %d for both, runs: %d, medians in ms; baseline: PyTorch (%s)\n", threads, runs, script.c_str());
    std::printf("%-34s %-16s %10s %10s %10s %8s %10s %9s %9s %8s\n", "model", "input", "ours", "torch", "torch-jit", "ratio",
                "max |diff|", "ours cpu", "torch cpu", "cpu ratio");
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
        std::string json;
        if (oursOnly) {
            Shape shape;
            for (size_t b = 0; b < shapeText.size();) {
                const size_t e = std::min(shapeText.find(',', b), shapeText.size());
                shape.push_back(std::atoll(shapeText.substr(b, e - b).c_str()));
                b = e + 1;
            }
            auto alloc = Tensor::uninitialized(DType::F32, shape);
            if (!alloc) {
                std::printf("cannot allocate %s\n", shapeText.c_str());
                return 1;
            }
            Tensor t = std::move(*alloc);
            std::mt19937 rng(7);
            std::uniform_real_distribution<float> u(0.f, 1.f);
            for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = u(rng);
            if (auto st = writeNpy(check, t); !st) {
                std::printf("cannot write %s: %s\n", check.c_str(), st.error().what().c_str());
                return 1;
            }
        } else
            json = run("/usr/bin/python3 " + script + " " + path + " --shape " + shapeText + " --threads " +
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
        eo.fuseElementwise = fuse;
        auto ex = Executor::create(*model, eo);
        if (!ex) {
            std::printf("%-34s cannot run: %s\n", fs::path(path).filename().c_str(), ex.error().what().c_str());
            continue;
        }
        const std::map<std::string, Tensor> feed = {{ex->inputs()[0].name, *input}};
        (void)ex->run(feed);
        std::vector<double> times, cpuTimes;
        Result<std::vector<Tensor>> out = std::vector<Tensor>{};
        std::map<std::string, double> perType;
        for (int r = 0; r < runs; ++r) {
            RunStats stats;
            RunOptions ro;
            ro.profile = profile;
            ro.stats = &stats;
            timespec c0{}, c1{};
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
            const double t0 = bench::nowMs();
            out = ex->run(feed, ro);
            times.push_back(bench::nowMs() - t0);
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
            cpuTimes.push_back((c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) * 1e-6);
            for (size_t i = 0; i < stats.nodeSeconds.size(); ++i)
                perType[model->graph.nodes[i].opType] += stats.nodeSeconds[i] * 1e3 / runs;
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
        // Process CPU time (every thread's) is less disturbed than wall time when other work
        // shares the cores; the ratio of the two medians is printed beside the wall-time one.
        const double eagerCpu = jsonNumber(json, "eager_cpu_ms"), jitCpu = jsonNumber(json, "jit_cpu_ms");
        const double bestCpu = std::isnan(jitCpu) ? eagerCpu : std::min(eagerCpu, jitCpu);
        std::printf("%-34s %-16s %10.2f %10.2f %10.2f %8.2f %10.2g %9.2f %9.2f %8.2f\n", fs::path(path).filename().c_str(),
                    shapeText.c_str(), ours, eager, jit, ours / best, diff, bench::median(cpuTimes), bestCpu,
                    bench::median(cpuTimes) / bestCpu);
        if (profile) {
            std::printf("    (process CPU time per run, median: %.2f ms)\n", bench::median(cpuTimes));
            std::vector<std::pair<double, std::string>> rows;
            for (const auto& [op, ms] : perType) rows.emplace_back(ms, op);
            std::sort(rows.rbegin(), rows.rend());
            for (const auto& [ms, op] : rows)
                if (ms >= 0.01) std::printf("    %-24s %8.3f ms per run\n", op.c_str(), ms);
        }
        std::fflush(stdout);
    }
    fs::remove_all(tmp);
    std::printf("# ratio = ours / the faster PyTorch mode (wall time); below 1.0 means Brickyard is faster.\n");
    std::printf("# cpu ratio = the same with process CPU time (all threads), steadier when the machine is shared.\n");
    return 0;
}
