#!/usr/bin/env bash
# Sets up, builds and runs the main job: the GUI on the bundled demo project, or, where no display
# exists, the same pipeline headless (create the demo project, import and summarise its models).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset dev
cmake --build --preset dev
./scripts/build_models.sh  # the trained demo classifiers, written by the CLI just built
BIN=build/dev/app
if [[ -n "${DISPLAY:-}" && "${BRICKYARD_HEADLESS:-0}" != 1 ]]; then
  exec "$BIN/brickyard" --demo "$@"
fi
echo "run: no display; running the demo pipeline headless"
DEMO="${BRICKYARD_DEMO:-$HOME/.local/share/brickyard/demo.byproj}"
mkdir -p "$(dirname "$DEMO")"
[[ -f "$DEMO" ]] || "$BIN/brickyard-cli" project demo "$DEMO"
"$BIN/brickyard-cli" project info "$DEMO"
"$BIN/brickyard-cli" project list "$DEMO"
CACHE="${BRICKYARD_CACHE:-$HOME/.cache/brickyard}"
for m in "$CACHE"/models/*.onnx "$CACHE"/models/*.tflite; do
  "$BIN/brickyard-cli" inspect "$m"
done
