#pragma once
// Writes fuzz bytes to a file in /dev/shm (importers load from paths) and loads it.
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace by::fuzz {
// The scratch file is removed when the fuzz process exits.
struct ScratchFile {
    std::string path;
    ~ScratchFile() {
        if (!path.empty()) std::remove(path.c_str());
    }
};

inline std::string writeInput(const uint8_t* data, size_t size, const char* ext) {
    static ScratchFile scratch;
    const std::string path = "/dev/shm/brickyard-fuzz-" + std::to_string(::getpid()) + ext;
    scratch.path = path;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return path;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    return path;
}
}  // namespace by::fuzz
