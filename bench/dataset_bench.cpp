// Dataset loading throughput, next to NumPy doing the same work in the same run.
//
//   dataset_bench [--runs N]
//
// Three figures per dataset: opening it (reading and checking the files; the gzip inflate for
// Fashion-MNIST), one epoch of batches of 256 as normalised f32 [N,1,28,28] (the work an
// evaluation does per epoch), and the same epoch drained by two threads through next().
// Baseline: /usr/bin/python3 with NumPy - gzip/open + np.frombuffer for opening, and
// x[i:i+256].astype(np.float32) / 255 per batch for the epoch - timed inside one process so
// interpreter start-up is not counted. Both sides report their fastest run: on a shared machine
// the median mostly measures time spent waiting for a core.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "importers/dataset_readers.h"

using namespace by;

namespace {

std::string cacheDir() {
    if (const char* c = std::getenv("BRICKYARD_CACHE"); c && *c) return c;
    return std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") + "/.cache/brickyard";
}

// Fastest open ms and epoch ms of the NumPy baseline, or -1s when it cannot run.
std::pair<double, double> numpyBaseline(const std::string& images, int runs) {
    const std::string cmd =
        "/usr/bin/python3 -c \"import gzip,time,statistics,sys,numpy as np\n"
        "p=sys.argv[1]; op=gzip.open if p.endswith('.gz') else open\n"
        "to=[]; te=[]\n"
        "for _ in range(" + std::to_string(runs) + "):\n"
        "  t=time.perf_counter(); d=op(p,'rb').read(); x=np.frombuffer(d,np.uint8,offset=16).reshape(-1,1,28,28)\n"
        "  to.append((time.perf_counter()-t)*1e3)\n"
        "  t=time.perf_counter()\n"
        "  for i in range(0,x.shape[0],256): b=x[i:i+256].astype(np.float32)/255.0\n"
        "  te.append((time.perf_counter()-t)*1e3)\n"
        "print(min(to), min(te))\" '" + images + "' 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return {-1, -1};
    double o = -1, e = -1;
    if (std::fscanf(f, "%lf %lf", &o, &e) != 2) o = e = -1;
    ::pclose(f);
    return {o, e};
}

double epochMs(const Dataset& ds, int threads) {
    BatchOptions bo;
    bo.batchSize = 256;
    bo.normalize = Normalization{1.0f / 255.0f, {}, {}};
    BatchIterator it(ds, bo);
    const double t0 = bench::nowMs();
    auto drain = [&] {
        while (auto b = it.next())
            if (!*b) std::fprintf(stderr, "dataset_bench: %s\n", b->error().what().c_str());
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(drain);
    drain();
    for (auto& t : pool) t.join();
    return bench::nowMs() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 5;
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));

    struct Set {
        std::string spec, split, imagesFile;
    };
    const std::string mnist = cacheDir() + "/data/mnist";
    const std::string fashion = "/usr/share/datasets/fashion-mnist";
    const std::vector<Set> sets = {
        {"mnist:" + mnist, "test", mnist + "/t10k-images-idx3-ubyte"},
        {"mnist:" + mnist, "train", mnist + "/train-images-idx3-ubyte"},
        {"fashion-mnist:" + fashion, "train", fashion + "/train-images-idx3-ubyte.gz"},
    };
    bench::printMachine("dataset_bench: open + one epoch of normalised f32 batches of 256");
    std::printf("%-28s %8s %10s %10s %12s %12s %12s %12s\n", "dataset", "samples", "open ms", "numpy ms", "epoch ms",
                "2 thr ms", "numpy ms", "Msamples/s");
    int failures = 0;
    for (const auto& s : sets) {
        std::vector<double> open, epoch1, epoch2;
        int64_t n = 0;
        for (int r = 0; r < runs; ++r) {
            DatasetOptions o;
            o.split = s.split;
            const double t0 = bench::nowMs();
            auto ds = openDataset(s.spec, o);
            if (!ds) {
                std::fprintf(stderr, "dataset_bench: %s\n", ds.error().what().c_str());
                ++failures;
                break;
            }
            open.push_back(bench::nowMs() - t0);
            n = (*ds)->size();
            epoch1.push_back(epochMs(**ds, 1));
            epoch2.push_back(epochMs(**ds, 2));
        }
        if (open.empty()) continue;
        const auto [npOpen, npEpoch] = numpyBaseline(s.imagesFile, runs);
        const std::string label = s.spec.substr(0, s.spec.find(':')) + " " + s.split;
        const double e1 = bench::minimum(epoch1);
        std::printf("%-28s %8lld %10.1f %10.1f %12.1f %12.1f %12.1f %12.2f\n", label.c_str(), static_cast<long long>(n),
                    bench::minimum(open), npOpen, e1, bench::minimum(epoch2), npEpoch,
                    static_cast<double>(n) / e1 / 1000.0);
    }
    // Lazily decoded images: the darknet sample photos, JPEG -> RGB 224x224, one batch of all.
    const std::string photos = cacheDir() + "/data/photos";
    DatasetOptions po;
    po.image = ImageLayout{3, 224, 224};
    if (auto ds = openDataset("images:" + photos, po)) {
        std::vector<double> times;
        BatchOptions bo;
        bo.batchSize = (*ds)->size();
        bo.normalize = Normalization{1.0f / 255.0f, {}, {}};
        for (int r = 0; r < runs; ++r) {
            const double t0 = bench::nowMs();
            auto b = BatchIterator(**ds, bo).batch(0);
            if (!b) {
                std::fprintf(stderr, "dataset_bench: %s\n", b.error().what().c_str());
                ++failures;
                break;
            }
            times.push_back(bench::nowMs() - t0);
        }
        const std::string cmd =
            "/usr/bin/python3 -c \"import glob,time,sys,numpy as np\nfrom PIL import Image\n"
            "fs=sorted(glob.glob(sys.argv[1]+'/*.jpg')); ts=[]\n"
            "for _ in range(" + std::to_string(runs) + "):\n"
            "  t=time.perf_counter()\n"
            "  b=np.stack([np.asarray(Image.open(f).convert('RGB').resize((224,224),Image.BILINEAR),np.float32).transpose(2,0,1)/255 for f in fs])\n"
            "  ts.append((time.perf_counter()-t)*1e3)\n"
            "print(min(ts))\" '" + photos + "' 2>/dev/null";
        double pil = -1;
        if (FILE* f = ::popen(cmd.c_str(), "r")) {
            if (std::fscanf(f, "%lf", &pil) != 1) pil = -1;
            ::pclose(f);
        }
        if (!times.empty())
            std::printf("%-28s %8lld %10s %10s %12.1f %12s %12.1f %12.4f\n", "photos jpg->3x224x224",
                        static_cast<long long>((*ds)->size()), "-", "-", bench::minimum(times), "-", pil,
                        static_cast<double>((*ds)->size()) / bench::minimum(times) / 1000.0);
    } else {
        std::fprintf(stderr, "dataset_bench: %s (run scripts/setup.sh)\n", ds.error().what().c_str());
    }
    std::printf("# photos: decode + resize of every sample photo in one batch; baseline Pillow open, convert,\n"
                "# bilinear resize and NumPy stacking.\n");
    std::printf("# fastest of the runs on both sides (the machine is shared, so medians mostly measure waiting)\n");
    std::printf("# numpy = the same step in /usr/bin/python3 + NumPy (open: read + frombuffer; epoch: slice,\n"
                "# astype(float32) / 255 per batch). Msamples/s is the single-thread epoch.\n");
    return failures ? 1 : 0;
}
