// How long a 1 GiB weights file takes to open to a usable summary (tensor count, parameters,
// bytes), for safetensors and GGUF, against a named baseline measured in the same run: reading
// the whole file with read(). Both are timed after asking the kernel to drop the file's cached
// pages (posix_fadvise DONTNEED), so they are "cold-ish": a hypervisor's cache may still help.
//
//   open_bench [--dir DIR] [--size-mib N] [--runs N] [--keep]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/graph.h"
#include "importers/importer_registry.h"

using namespace by;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown CPU";
}

void dropCache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

// The baseline: every byte of the file through read(), 16 MiB at a time.
double readWholeFileMs(const std::string& path, uint64_t* total) {
    dropCache(path);
    std::vector<char> buf(16u << 20);
    const auto t0 = Clock::now();
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return -1;
    uint64_t n = 0;
    ssize_t r;
    while ((r = ::read(fd, buf.data(), buf.size())) > 0) n += static_cast<uint64_t>(r);
    ::close(fd);
    *total = n;
    return msSince(t0);
}

struct Stats {
    double median = 0, min = 0;
};
Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front()};
}

struct Tensor1 {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t bytes;
};

// A GPT-2 layout in F16, with as many blocks as it takes to reach `target` bytes.
std::vector<Tensor1> gpt2Layout(uint64_t target) {
    const int64_t vocab = 50257, embd = 2048, ctx = 2048;
    std::vector<Tensor1> out;
    uint64_t total = 0;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
        uint64_t n = 2;
        for (auto d : shape) n *= static_cast<uint64_t>(d);
        out.push_back({name, std::move(shape), n});
        total += n;
    };
    add("wte.weight", {vocab, embd});
    add("wpe.weight", {ctx, embd});
    for (int l = 0; total < target; ++l) {
        const std::string p = "h." + std::to_string(l) + ".";
        add(p + "ln_1.weight", {embd});
        add(p + "ln_1.bias", {embd});
        add(p + "attn.c_attn.weight", {3 * embd, embd});
        add(p + "attn.c_attn.bias", {3 * embd});
        add(p + "attn.c_proj.weight", {embd, embd});
        add(p + "attn.c_proj.bias", {embd});
        add(p + "ln_2.weight", {embd});
        add(p + "ln_2.bias", {embd});
        add(p + "mlp.c_fc.weight", {4 * embd, embd});
        add(p + "mlp.c_fc.bias", {4 * embd});
        add(p + "mlp.c_proj.weight", {embd, 4 * embd});
        add(p + "mlp.c_proj.bias", {embd});
    }
    add("ln_f.weight", {embd});
    add("ln_f.bias", {embd});
    return out;
}

// Writes the safetensors file directly (header, then pseudo-random F16 data) so that generating
// it needs no 1 GiB model in memory.
bool writeSafetensors(const std::string& path, const std::vector<Tensor1>& tensors) {
    std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        std::string shape;
        for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape[i]);
        header += ",\"" + t.name + "\":{\"dtype\":\"F16\",\"shape\":[" + shape + "],\"data_offsets\":[" +
                  std::to_string(offset) + "," + std::to_string(offset + t.bytes) + "]}";
        offset += t.bytes;
    }
    header += "}";
    while ((8 + header.size()) % 8) header += ' ';
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const uint64_t n = header.size();
    bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(header.data(), 1, header.size(), f) == header.size();
    // 8 MiB of small f16 weights (random sign and mantissa, magnitude near 2^-7), written over and over.
    std::vector<uint16_t> chunk(4u << 20);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (auto& h : chunk) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        h = static_cast<uint16_t>(((state >> 20) & 0x83ffu) | 0x2000u);
    }
    for (uint64_t left = offset; ok && left > 0;) {
        const uint64_t k = std::min<uint64_t>(left, chunk.size() * 2);
        ok = std::fwrite(chunk.data(), 1, k, f) == k;
        left -= k;
    }
    ok = std::fflush(f) == 0 && ok;
    ::fsync(::fileno(f));
    return std::fclose(f) == 0 && ok;
}

// The GGUF metadata of a GPT-2 checkpoint, with its real vocabulary size.
void addGgufMetadata(Model& m) {
    auto u32 = [](uint32_t v) { return MetaValue::ofInt(MetaValue::Type::U32, v); };
    m.metadata.clear();
    m.metadata.emplace_back("general.architecture", MetaValue::ofString("gpt2"));
    m.metadata.emplace_back("general.name", MetaValue::ofString("bench-gpt2"));
    m.metadata.emplace_back("gpt2.context_length", u32(2048));
    m.metadata.emplace_back("gpt2.embedding_length", u32(2048));
    m.metadata.emplace_back("gpt2.attention.head_count", u32(16));
    m.metadata.emplace_back("tokenizer.ggml.model", MetaValue::ofString("gpt2"));
    MetaValue tokens, types, merges;
    tokens.type = types.type = merges.type = MetaValue::Type::Array;
    tokens.arrayType = merges.arrayType = MetaValue::Type::String;
    types.arrayType = MetaValue::Type::I32;
    for (int i = 0; i < 50257; ++i) {
        tokens.strings.push_back("\xc4\xa0token" + std::to_string(i));
        types.ints.push_back(1);
    }
    for (int i = 0; i < 50000; ++i) merges.strings.push_back("\xc4\xa0t" + std::to_string(i) + " ok" + std::to_string(i));
    m.metadata.emplace_back("tokenizer.ggml.tokens", std::move(tokens));
    m.metadata.emplace_back("tokenizer.ggml.token_type", std::move(types));
    m.metadata.emplace_back("tokenizer.ggml.merges", std::move(merges));
}

uint64_t fileSize(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

struct Row {
    std::string label;
    Stats open, warm, read;
    ModelSummary summary;
    uint64_t bytes = 0;
};

bool measure(const std::string& label, const std::string& path, int runs, Row& row) {
    row.label = label;
    row.bytes = fileSize(path);
    std::vector<double> open, read;
    for (int r = 0; r < runs; ++r) {
        dropCache(path);
        const auto t0 = Clock::now();
        auto m = loadModel(path);
        if (!m) {
            std::fprintf(stderr, "open_bench: %s\n", m.error().what().c_str());
            return false;
        }
        row.summary = summarize(*m);
        open.push_back(msSince(t0));
    }
    std::vector<double> warm;
    for (int r = 0; r < runs; ++r) {
        const auto t0 = Clock::now();
        auto m = loadModel(path);
        if (m) row.summary = summarize(*m);
        warm.push_back(msSince(t0));
    }
    for (int r = 0; r < runs; ++r) {
        uint64_t n = 0;
        read.push_back(readWholeFileMs(path, &n));
    }
    row.open = stats(open);
    row.warm = stats(warm);
    row.read = stats(read);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "/tmp";
    uint64_t sizeMiB = 1024;
    int runs = 5;
    bool keep = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--size-mib" && i + 1 < argc) sizeMiB = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--keep") keep = true;
        else {
            std::fprintf(stderr, "usage: open_bench [--dir DIR] [--size-mib N] [--runs N] [--keep]\n");
            return 2;
        }
    }
    std::printf("machine: %ld cores (nproc), %s\n", ::sysconf(_SC_NPROCESSORS_ONLN), cpuModel().c_str());

    const std::string st = dir + "/brickyard-open-bench.safetensors";
    const std::string gg = dir + "/brickyard-open-bench.gguf";
    auto t0 = Clock::now();
    if (!writeSafetensors(st, gpt2Layout(sizeMiB << 20))) {
        std::fprintf(stderr, "open_bench: cannot write %s\n", st.c_str());
        return 1;
    }
    std::printf("generated %s (%.1f MiB) in %.0f ms\n", st.c_str(), fileSize(st) / 1048576.0, msSince(t0));

    // The GGUF goes through the exporter, reading the mapped safetensors weights.
    t0 = Clock::now();
    {
        auto m = loadModel(st);
        if (!m) {
            std::fprintf(stderr, "open_bench: %s\n", m.error().what().c_str());
            return 1;
        }
        addGgufMetadata(*m);
        auto s = saveModel(*m, gg);
        if (!s) {
            std::fprintf(stderr, "open_bench: %s\n", s.error().what().c_str());
            return 1;
        }
    }
    dropCache(gg);
    std::printf("exported %s (%.1f MiB, 50257-token vocabulary, 50000 merges) in %.0f ms\n\n", gg.c_str(),
                fileSize(gg) / 1048576.0, msSince(t0));

    std::vector<Row> rows(2);
    bool ok = measure("safetensors", st, runs, rows[0]) && measure("gguf", gg, runs, rows[1]);
    if (ok) {
        std::printf("%-12s %9s %8s %14s %11s\n", "format", "file MiB", "tensors", "parameters", "weight MiB");
        for (const auto& r : rows)
            std::printf("%-12s %9.1f %8" PRId64 " %14" PRId64 " %11.1f\n", r.label.c_str(), r.bytes / 1048576.0,
                        r.summary.tensorsWithData, r.summary.parameters, r.summary.weightBytes / 1048576.0);
        std::printf("\n%-12s %-30s %-30s %-30s %s\n", "format", "open to summary, cold-ish", "open to summary, warm",
                    "baseline: read() whole file", "baseline / cold-ish open");
        for (const auto& r : rows)
            std::printf("%-12s median %8.2f min %8.2f ms   median %8.2f min %8.2f ms   median %8.1f min %8.1f ms   %.0fx\n",
                        r.label.c_str(), r.open.median, r.open.min, r.warm.median, r.warm.min, r.read.median, r.read.min,
                        r.read.median / std::max(r.open.median, 1e-6));
        std::printf("\n%d runs each; cold-ish: page cache dropped (posix_fadvise DONTNEED) before every run; goal: < 500 ms to a summary\n",
                    runs);
        for (const auto& r : rows)
            if (r.open.median >= 500) std::printf("GOAL MISSED: %s opens in %.0f ms\n", r.label.c_str(), r.open.median);
    }
    if (!keep) {
        std::remove(st.c_str());
        std::remove(gg.c_str());
    } else {
        std::printf("kept %s and %s\n", st.c_str(), gg.c_str());
    }
    return ok ? 0 : 1;
}
