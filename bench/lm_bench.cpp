// Tiny GPT forward passes: a 256-token prompt from an empty cache (logits of the last token) and
// per-token generation through the KV cache, at f32 / Q8_0 / Q4_0. Prints the best of the runs
// (the fairest figure on a shared machine, where other load only ever adds time) in a
// key=value form that scripts/bench.sh turns into the table of docs/benchmarks.md.
//
//   lm_bench [--threads T] [--runs R] [--prompt P] [--gen G] MODEL.gguf...
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "engine/gpt_model.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "engine/blas_kernels.h"

using namespace by;

int main(int argc, char** argv) {
    by::useBestBlasKernels(argv);
    int threads = 2, runs = 5;
    int64_t prompt = 256, gen = 64;
    std::vector<std::string> models;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (a == "--prompt" && i + 1 < argc) prompt = std::atoll(argv[++i]);
        else if (a == "--gen" && i + 1 < argc) gen = std::atoll(argv[++i]);
        else models.push_back(a);
    }
    const char* c = std::getenv("BRICKYARD_CACHE");
    const char* home = std::getenv("HOME");
    const std::string cache = c ? c : std::string(home ? home : ".") + "/.cache/brickyard";
    auto idsT = readNpy(cache + "/data/lm/test_ids.npy");
    if (!idsT.ok()) {
        std::fprintf(stderr, "lm_bench: %s (run scripts/setup.sh)\n", idsT.error().what().c_str());
        return 1;
    }
    std::vector<int32_t> ids(idsT->data<int32_t>(), idsT->data<int32_t>() + prompt);
    by::bench::printMachine("lm_bench");
    std::printf("# threads=%d runs=%d prompt=%lld gen=%lld avx2=%d\n", threads, runs, static_cast<long long>(prompt),
                static_cast<long long>(gen), cpuHasAvx2Kernels() ? 1 : 0);
    for (const auto& path : models) {
        auto m = loadModel(path);
        if (!m.ok()) {
            std::fprintf(stderr, "lm_bench: %s\n", m.error().what().c_str());
            return 1;
        }
        auto g = GptModel::fromModel(*m);
        if (!g.ok()) {
            std::fprintf(stderr, "lm_bench: %s\n", g.error().what().c_str());
            return 1;
        }
        GptSession s(*g, threads);
        std::vector<double> pp, tg, tg0;
        for (int r = 0; r < runs + 1; ++r) {  // the first run warms caches and is dropped
            s.reset();
            double t0 = by::bench::nowMs();
            auto logits = s.eval(ids, false);
            const double t1 = by::bench::nowMs();
            if (!logits.ok()) {
                std::fprintf(stderr, "lm_bench: %s\n", logits.error().what().c_str());
                return 1;
            }
            // Generation after the prompt (positions prompt..prompt+gen-1), greedy.
            int32_t next = 0;
            const double t2 = by::bench::nowMs();
            for (int64_t k = 0; k < gen; ++k) {
                next = static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
                logits = s.eval(std::span<const int32_t>(&next, 1), false);
            }
            const double t3 = by::bench::nowMs();
            // Generation from an empty cache (positions 0..gen-1), as llama-bench's tg test runs it.
            s.reset();
            next = ids[0];
            const double t4 = by::bench::nowMs();
            for (int64_t k = 0; k < gen; ++k) {
                logits = s.eval(std::span<const int32_t>(&next, 1), false);
                next = static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
            }
            const double t5 = by::bench::nowMs();
            if (r == 0) continue;
            pp.push_back(t1 - t0);
            tg.push_back((t3 - t2) / static_cast<double>(gen));
            tg0.push_back((t5 - t4) / static_cast<double>(gen));
        }
        std::printf("model=%s type=%s prompt_ms=%.2f gen_ms_per_token=%.3f gen0_ms_per_token=%.3f pp_tok_s=%.1f tg0_tok_s=%.1f\n", path.c_str(),
                    dtypeName((*g)->weightType()), by::bench::minimum(pp), by::bench::minimum(tg), by::bench::minimum(tg0),
                    1000.0 * static_cast<double>(prompt) / by::bench::minimum(pp), 1000.0 / by::bench::minimum(tg0));
    }
    return 0;
}
