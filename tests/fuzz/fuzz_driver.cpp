// A small, bounded mutation fuzzer so every importer is fuzzed in CI without clang's libFuzzer.
// Each target defines LLVMFuzzerTestOneInput, so the same target also builds with
// -fsanitize=fuzzer where clang is available.
//
//   <target> [--seconds N] [--seed S] SEED_FILE_OR_DIR...
//
// Mutations: byte flips, random bytes, truncation, duplication of a range, insertion of
// "interesting" integers (0, -1, 0x7fffffff, huge 64-bit values) at random offsets.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
std::vector<uint8_t> readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void mutate(std::vector<uint8_t>& d, std::mt19937_64& rng) {
    auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
    const int rounds = 1 + static_cast<int>(rng() % 4);
    for (int r = 0; r < rounds; ++r) {
        switch (rng() % 6) {
        case 0:
            if (!d.empty()) d[pick(d.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
        case 1:
            if (!d.empty()) d[pick(d.size())] = static_cast<uint8_t>(rng());
            break;
        case 2:
            if (!d.empty()) d.resize(pick(d.size()));
            break;
        case 3:
            if (d.size() > 8 && d.size() < (1u << 24)) {
                const size_t a = pick(d.size()), len = 1 + pick(std::min<size_t>(64, d.size() - a));
                d.insert(d.begin() + static_cast<long>(pick(d.size())), d.begin() + static_cast<long>(a),
                         d.begin() + static_cast<long>(a + len));
            }
            break;
        default: {
            static const uint64_t kInteresting[] = {0, 1, 0xff, 0x7f, 0x80, 0xffff, 0x7fffffff, 0xffffffff,
                                                   0x100000000ull, 0x7fffffffffffffffull, 0xffffffffffffffffull};
            const uint64_t v = kInteresting[rng() % (sizeof(kInteresting) / sizeof(kInteresting[0]))];
            const size_t w = (rng() % 2) ? 4 : 8;
            if (d.size() >= w) std::memcpy(d.data() + pick(d.size() - w + 1), &v, w);
            break;
        }
        }
    }
}
}  // namespace

int main(int argc, char** argv) {
    double seconds = 10;
    uint64_t seed = 12345;
    std::vector<std::vector<uint8_t>> corpus;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
        else if (std::filesystem::is_directory(a)) {
            for (const auto& e : std::filesystem::recursive_directory_iterator(a))
                if (e.is_regular_file() && e.file_size() < (64u << 20)) corpus.push_back(readFile(e.path()));
        } else if (std::filesystem::exists(a)) {
            corpus.push_back(readFile(a));
        } else {
            std::fprintf(stderr, "fuzz: seed '%s' does not exist\n", a.c_str());
            return 2;
        }
    }
    if (corpus.empty()) {
        std::fprintf(stderr, "fuzz: no seed inputs given\n");
        return 2;
    }
    std::mt19937_64 rng(seed);
    for (const auto& c : corpus) LLVMFuzzerTestOneInput(c.data(), c.size());
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    uint64_t runs = 0;
    while (std::chrono::steady_clock::now() < end) {
        auto d = corpus[rng() % corpus.size()];
        mutate(d, rng);
        LLVMFuzzerTestOneInput(d.data(), d.size());
        ++runs;
    }
    std::printf("fuzz: %llu mutated inputs in %.0f s from %zu seeds, no crash\n",
                static_cast<unsigned long long>(runs), seconds, corpus.size());
    return 0;
}
