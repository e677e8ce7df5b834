#pragma once
// Where the real test assets are. Assets from ../shared/DATA.md are fetched by scripts/setup.sh
// into the cache (BRICKYARD_CACHE or ~/.cache/brickyard); a missing asset fails the test loudly
// with the command that fetches it, it is never skipped silently.
#include <string>

namespace by::test {

std::string cacheDir();                      // BRICKYARD_CACHE or ~/.cache/brickyard
std::string asset(const std::string& rel);   // cacheDir()/rel; fails the current test if missing
std::string dataDir();                       // tests/data (hand-made broken files)
std::string tempDir();                       // a fresh directory, removed at exit
std::string cliPath();                       // the built brickyard-cli
int runCommand(const std::string& cmd, std::string* output);  // exit status, stdout+stderr

}  // namespace by::test
