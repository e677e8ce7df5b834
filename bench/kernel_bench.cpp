// Low-bit kernels against the f32 BLAS they replace, on the shapes of transformer layers:
// int8 GEMM (exact, zero points folded; B packed per call, and pre-packed as for constant
// weights) vs OpenBLAS sgemm; 4-bit MatMulNBits (f32 activations, and accuracy_level 4 with int8
// activations) and the 2-plane binary-coded LUT GEMV vs OpenBLAS sgemv for one token. Same
// threads for both sides.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "bench/bench_util.h"
#include "engine/executor.h"
#include "engine/int8_gemm.h"
#include "engine/lut_gemv.h"
#include "engine/quant_matmul.h"
#include "engine/sparse24.h"
#include "engine/thread_pool.h"
#include "engine/blas_kernels.h"

using namespace by;
using bench::median;
using bench::nowMs;

namespace {

template <class F>
double timeMs(F&& f, int runs) {
    f();  // warm-up
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        const double t0 = nowMs();
        f();
        t.push_back(nowMs() - t0);
    }
    return median(t);
}

std::vector<float> randomFloats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d;
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// A one-node MatMulNBits graph [M,K] x 4-bit [K,N], block 32; accuracy level 4 lets it take
// int8 activations.
Executor nbitsExecutor(int64_t K, int64_t N, int threads, int64_t accuracyLevel = 0) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> b(0, 255);
    const int64_t blocks = K / 32;
    std::vector<uint8_t> q(size_t(N * blocks * 16));
    for (auto& v : q) v = uint8_t(b(rng));
    Graph g;
    const int x = g.valueId("x");
    g.values[size_t(x)].dtype = DType::F32;
    g.inputs.push_back(x);
    g.addInitializer("q", *Tensor::fromBytes(DType::U8, {N, blocks, 16}, q));
    g.addInitializer("s", Tensor::fromFloats({N * blocks}, std::vector<float>(size_t(N * blocks), 0.01f)));
    Node n;
    n.opType = "MatMulNBits";
    n.domain = "com.microsoft";
    n.inputs = {x, g.valueId("q"), g.valueId("s")};
    n.outputs = {g.valueId("y")};
    n.setAttr("K", Attribute::ofInt(K));
    n.setAttr("N", Attribute::ofInt(N));
    n.setAttr("bits", Attribute::ofInt(4));
    n.setAttr("block_size", Attribute::ofInt(32));
    if (accuracyLevel) n.setAttr("accuracy_level", Attribute::ofInt(accuracyLevel));
    g.addNode(std::move(n));
    g.outputs.push_back(g.valueId("y"));
    (void)g.rebuildLinks();
    ExecutorOptions o;
    o.threads = threads;
    return Executor::create(g, 17, o).value();
}

}  // namespace

int main(int argc, char** argv) {
    by::useBestBlasKernels(argv);
    const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 15;
    bench::printMachine("kernel_bench");
    openblas_set_num_threads(threads);
    ThreadPool pool(threads);
    std::printf("# threads: %d (OpenBLAS and ours), runs: %d, medians\n", threads, runs);
    std::printf("# int8 kernel: %s, LUT kernel: %s\n\n", int8GemmKernelName(), lutGemvKernelName());

    std::printf("%-34s %12s %12s %12s %8s %8s\n", "GEMM M x K x N", "sgemm ms", "int8 ms", "packed ms", "ratio", "packed");
    struct G {
        int64_t M, K, N;
    };
    for (const G s : {G{256, 512, 512}, G{256, 1024, 1024}, G{256, 1024, 4096}, G{1024, 1024, 1024}}) {
        const auto a = randomFloats(size_t(s.M * s.K), 1), b = randomFloats(size_t(s.K * s.N), 2);
        std::vector<float> c(size_t(s.M * s.N));
        std::vector<uint8_t> qa(a.size()), qb(b.size());
        for (size_t i = 0; i < a.size(); ++i) qa[i] = uint8_t(int(a[i] * 20) & 0xFF);
        for (size_t i = 0; i < b.size(); ++i) qb[i] = uint8_t(int(b[i] * 20) & 0xFF);
        std::vector<int32_t> ci(c.size());
        const double tf = timeMs([&] {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.M), int(s.N), int(s.K), 1.f, a.data(), int(s.K),
                        b.data(), int(s.N), 0.f, c.data(), int(s.N));
        }, runs);
        Int8GemmArgs g;
        g.M = s.M;
        g.N = s.N;
        g.K = s.K;
        g.A = qa.data();
        g.lda = s.K;
        g.B = qb.data();
        g.ldb = s.N;
        g.bSigned = true;
        g.C = ci.data();
        g.ldc = s.N;
        const double ti = timeMs([&] { int8Gemm(g, &pool); }, runs);
        // B packed once, as for constant weights: the product alone.
        const PackedInt8Matrix pb = packInt8B(g, &pool);
        const double tp = timeMs([&] { (void)int8GemmPacked(g, pb, &pool); }, runs);
        char label[64];
        std::snprintf(label, sizeof label, "%lld x %lld x %lld", (long long)s.M, (long long)s.K, (long long)s.N);
        std::printf("%-34s %12.3f %12.3f %12.3f %8.2f %8.2f\n", label, tf, ti, tp, ti / tf, tp / tf);
    }

    std::printf("\n%-34s %12s %12s %12s %12s %8s %8s %8s\n", "GEMV (one token) K x N", "sgemv ms", "int4 ms",
                "int4-q8 ms", "lut2 ms", "int4/f32", "q8/f32", "lut2/f32");
    for (const G s : {G{1, 1024, 1024}, G{1, 1024, 4096}, G{1, 4096, 1024}, G{1, 2048, 8192}, G{1, 4096, 4096}}) {
        const auto w = randomFloats(size_t(s.K * s.N), 4), x = randomFloats(size_t(s.K), 5);
        std::vector<float> y(size_t(s.N));
        const double tf = timeMs([&] {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, int(s.N), int(s.K), 1.f, w.data(), int(s.K), x.data(), 1, 0.f, y.data(), 1);
        }, runs * 4);
        Executor ex = nbitsExecutor(s.K, s.N, threads);
        const Tensor xt = Tensor::fromFloats({1, s.K}, x);
        const double t4 = timeMs([&] { (void)ex.run({{"x", xt}}); }, runs * 4);
        Executor ex8 = nbitsExecutor(s.K, s.N, threads, 4);
        const double t8 = timeMs([&] { (void)ex8.run({{"x", xt}}); }, runs * 4);
        auto bc = binaryCode(w.data(), s.N, s.K, 2, 64);
        const double tl = timeMs([&] { lutGemv(*bc, x.data(), y.data(), &pool); }, runs * 4);
        char label[64];
        std::snprintf(label, sizeof label, "%lld x %lld", (long long)s.K, (long long)s.N);
        std::printf("%-34s %12.3f %12.3f %12.3f %12.3f %8.2f %8.2f %8.2f\n", label, tf, t4, t8, tl, t4 / tf, t8 / tf, tl / tf);
    }
    // 2:4 pruned weights (dense in the file), repacked as the executor does at plan time.
    std::printf("\n%-34s %12s %12s %8s %10s %10s\n", "2:4 sparse M x K x N", "dense ms", "sparse ms", "ratio", "dense MiB",
                "packed MiB");
    for (const G s : {G{1, 1568, 128}, G{1, 1024, 1024}, G{1, 4096, 4096}, G{4, 4096, 4096}, G{8, 4096, 4096},
                      G{16, 4096, 4096}, G{32, 1024, 1024}, G{64, 1024, 1024}, G{256, 1024, 1024}}) {
        auto w = randomFloats(size_t(s.K * s.N), 6);
        for (int64_t k = 0; k < s.K; k += 4)  // keep the two largest magnitudes of each group of four
            for (int64_t n = 0; n < s.N; ++n) {
                float* g[4];
                for (int j = 0; j < 4; ++j) g[j] = &w[size_t((k + j) * s.N + n)];
                std::sort(g, g + 4, [](const float* a, const float* b) { return std::abs(*a) < std::abs(*b); });
                *g[0] = *g[1] = 0.f;
            }
        const auto a = randomFloats(size_t(s.M * s.K), 7);
        std::vector<float> c(size_t(s.M * s.N)), c2(c.size());
        // The dense path the executor takes otherwise: OpenBLAS (one thread) split over the pool.
        const double tf = timeMs([&] {
            sgemmRowMajor(false, false, s.M, s.N, s.K, 1.f, a.data(), s.K, w.data(), s.N, 0.f, c.data(), s.N, &pool);
        }, runs * 4);
        const auto packed = packSparse24(w.data(), s.K, s.N, true);
        if (!packed) return 1;
        const double ts = timeMs([&] { sparse24Gemm(*packed, a.data(), s.M, s.K, c2.data(), s.N, 1.f, false, &pool); }, runs * 4);
        double maxDiff = 0;
        for (size_t i = 0; i < c.size(); ++i) maxDiff = std::max(maxDiff, double(std::abs(c[i] - c2[i])));
        if (maxDiff > 1e-3) {
            std::fprintf(stderr, "kernel_bench: 2:4 product differs from sgemm by %g\n", maxDiff);
            return 1;
        }
        char label[64];
        std::snprintf(label, sizeof label, "%lld x %lld x %lld", (long long)s.M, (long long)s.K, (long long)s.N);
        std::printf("%-34s %12.3f %12.3f %8.2f %10.2f %10.2f\n", label, tf, ts, ts / tf, s.K * s.N * 4.0 / 1048576.0,
                    packed->bytes() / 1048576.0);
    }
    std::printf("\n# ratio < 1 means the low-bit (or sparse) kernel is faster than f32 BLAS on the same shape.\n");
    return 0;
}
