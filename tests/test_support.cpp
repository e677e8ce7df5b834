#include "tests/test_support.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace by::test {

std::string cacheDir() {
    if (const char* c = std::getenv("BRICKYARD_CACHE"); c && *c) return c;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "/tmp") + "/.cache/brickyard";
}

std::string asset(const std::string& rel) {
    const std::string p = cacheDir() + "/" + rel;
    if (!std::filesystem::exists(p))
        ADD_FAILURE() << "test asset missing: " << p << " (run scripts/setup.sh to fetch the demo assets)";
    return p;
}

std::string dataDir() { return BY_TEST_DATA_DIR; }

namespace {
struct TempRoot {
    std::string path;
    TempRoot() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "brickyard-test-XXXXXX").string();
        char* p = ::mkdtemp(tmpl.data());
        path = p ? p : "/tmp";
    }
    ~TempRoot() {
        std::error_code ec;
        if (path != "/tmp") std::filesystem::remove_all(path, ec);
    }
};
}  // namespace

std::string tempDir() {
    static TempRoot root;
    static int counter = 0;
    const std::string d = root.path + "/t" + std::to_string(counter++);
    std::filesystem::create_directories(d);
    return d;
}

std::string cliPath() { return BY_CLI_PATH; }

int runCommand(const std::string& cmd, std::string* output) {
    FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!f) return -1;
    std::array<char, 4096> buf{};
    std::string out;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    const int st = ::pclose(f);
    if (output) *output = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace by::test
