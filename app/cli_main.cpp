// brickyard-cli: everything the GUI does, headless, on the same engine.
#include "app/cli/cli.h"
#include "engine/blas_kernels.h"

int main(int argc, char** argv) {
    by::useBestBlasKernels(argv);
    return by::cli::run(argc, argv);
}
