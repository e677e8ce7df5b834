// brickyard-cli: everything the GUI does, headless, on the same engine.
#include "app/cli/cli.h"

int main(int argc, char** argv) { return by::cli::run(argc, argv); }
