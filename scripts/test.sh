#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (packages + demo assets), builds the dev preset and runs
# every test: unit, integration, GUI (under Xvfb) and the bounded fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset dev
cmake --build --preset dev
./scripts/build_models.sh  # the trained demo classifiers, written by the CLI just built
# GUI tests need a real X server: run the whole suite under Xvfb so none is skipped.
xvfb-run -a -s "-screen 0 1280x800x24" ctest --preset dev -j2 "$@"
