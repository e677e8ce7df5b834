// Import speed of the real models against Debian's python3-onnx (onnx.load) in the same run.
//
//   import_bench [--runs N] [MODEL...]     (default: the cached demo models)
//
// Brickyard's figure is the time from path to a usable summary (graph + parameter counts);
// the baseline is onnx.load(path) (protobuf parse, weights copied into memory), timed inside
// one Python process so interpreter start-up is not counted.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "importers/importer_registry.h"

using namespace by;

namespace {
std::string cacheDir() {
    if (const char* c = std::getenv("BRICKYARD_CACHE"); c && *c) return c;
    return std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") + "/.cache/brickyard";
}

// Median ms of onnx.load over `runs`, or -1 when python3-onnx is not available.
double pythonOnnxLoadMs(const std::string& path, int runs) {
    const std::string cmd = "/usr/bin/python3 -c \"import onnx,time,statistics,sys\n"
                            "ts=[]\n"
                            "for _ in range(" + std::to_string(runs) + "):\n"
                            "  t=time.perf_counter(); m=onnx.load(sys.argv[1]); ts.append((time.perf_counter()-t)*1e3)\n"
                            "print(statistics.median(ts))\" '" + path + "' 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return -1;
    double ms = -1;
    if (std::fscanf(f, "%lf", &ms) != 1) ms = -1;
    ::pclose(f);
    return ms;
}
}  // namespace

int main(int argc, char** argv) {
    int runs = 9;
    std::vector<std::string> models;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else models.push_back(a);
    }
    if (models.empty())
        for (const char* m : {"ch_PP-OCRv4_rec_infer.onnx", "ch_PP-OCRv4_det_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx",
                              "silero_vad_16k_op15.onnx", "face_detection_short_range.tflite", "hand_landmark_full.tflite",
                              "selfie_segmentation.tflite"})
            models.push_back(cacheDir() + "/models/" + m);

    bench::printMachine("import_bench: path -> usable model summary");
    std::printf("%-40s %10s %10s %10s %14s %8s\n", "model", "size MiB", "median ms", "min ms", "onnx.load ms", "ratio");
    int failures = 0;
    for (const auto& path : models) {
        std::vector<double> times;
        int64_t params = 0;
        for (int r = 0; r < runs; ++r) {
            const double t0 = bench::nowMs();
            auto m = loadModel(path);
            if (!m) {
                std::fprintf(stderr, "import_bench: %s\n", m.error().what().c_str());
                ++failures;
                break;
            }
            params = summarize(*m).parameters;
            times.push_back(bench::nowMs() - t0);
        }
        if (times.empty()) continue;
        std::error_code ec;
        const double mib = static_cast<double>(std::filesystem::file_size(path, ec)) / (1 << 20);
        const bool isOnnx = path.size() > 5 && path.substr(path.size() - 5) == ".onnx";
        const double base = isOnnx ? pythonOnnxLoadMs(path, runs) : -1;
        const double med = bench::median(times);
        std::printf("%-40s %10.2f %10.2f %10.2f ", std::filesystem::path(path).filename().c_str(), mib, med,
                    bench::minimum(times));
        if (base > 0) std::printf("%14.2f %7.1fx", base, base / med);
        else std::printf("%14s %8s", "-", "-");
        std::printf("   (%lld params)\n", static_cast<long long>(params));
    }
    std::printf("# ratio = onnx.load time / Brickyard time (higher is better for Brickyard)\n");
    return failures ? 1 : 0;
}
