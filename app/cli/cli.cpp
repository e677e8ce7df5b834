#include "app/cli/cli.h"

#include <cstdio>
#include <string>

namespace by::cli {
int run(int argc, char** argv) {
    std::fprintf(stderr, "usage: brickyard-cli <verb> ...\n");
    return argc > 1 ? 2 : 0;
}
}  // namespace by::cli
