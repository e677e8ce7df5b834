#!/usr/bin/env bash
# Sets up, builds and runs the main job: the GUI on the bundled demo project, or, where no display
# exists, the same pipeline headless (create the demo project, summarise its models, evaluate the
# trained ones on their test data and record the results in the project).
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
# Evaluate on real data and record each result under the model's variant in the demo project.
"$BIN/brickyard-cli" eval "$CACHE/models/mnist_cnn.onnx" --data "mnist:$CACHE/data/mnist" --batch 256 --project "$DEMO"
"$BIN/brickyard-cli" eval "$CACHE/models/fashion_mnist_cnn.onnx" --data "fashion-mnist:$CACHE/data/fashion-mnist" --batch 256 --project "$DEMO"
"$BIN/brickyard-cli" eval "$CACHE/models/ch_PP-OCRv4_rec_infer.onnx" --data "images:$CACHE/data/textlines" --batch 8 --project "$DEMO"
"$BIN/brickyard-cli" eval "$CACHE/models/tiny_gpt_q4_0.gguf" --data "text:$CACHE/data/lm/test.txt" --limit 8 \
  --base "$CACHE/models/tiny_gpt_f32.gguf" --project "$DEMO"
