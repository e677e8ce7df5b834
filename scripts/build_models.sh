#!/usr/bin/env bash
# Writes the demo project's trained classifiers (weights cached by scripts/setup.sh in
# models/trained/NAME) as models/NAME.onnx and models/NAME.safetensors, using brickyard-cli's own
# exporters, and trains the duck light field (scripts/train/light_field.py) from the CLI's own mesh
# renders, then bakes the duck into the MobileNeRF form (scripts/train/baked_nerf.py) from the same
# views. Idempotent: a model newer than its weights is left alone; the light field and the baked
# duck are kept once made.
#   --if-built   do nothing (successfully) when brickyard-cli has not been built yet
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${BRICKYARD_CACHE:-$HOME/.cache/brickyard}"
CLI="${BRICKYARD_CLI:-build/dev/app/brickyard-cli}"
if [[ ! -x "$CLI" ]]; then
  [[ "${1:-}" == "--if-built" ]] && exit 0
  echo "build_models: $CLI is not built (cmake --preset dev && cmake --build --preset dev)" >&2
  exit 1
fi
for name in mnist_cnn fashion_mnist_cnn; do
  weights="$CACHE/models/trained/$name"
  if [[ ! -f "$weights/config.json" ]]; then
    echo "build_models: no trained weights in $weights; run scripts/setup.sh" >&2
    exit 1
  fi
  onnx="$CACHE/models/$name.onnx"
  st="$CACHE/models/$name.safetensors"
  if [[ -f "$onnx" && -f "$st" && "$onnx" -nt "$weights/config.json" ]]; then continue; fi
  "$CLI" build-model "$weights" -o "$onnx" -o "$st"
done
# The neural light field of the Collada duck: fitted to views the CLI's own mesh renderer draws,
# so it needs a build too. Trained only when missing; duck_nelf.onnx is written last.
lf="$CACHE/models/light_field/duck"
if [[ ! -f "$lf/duck_nelf.onnx" ]]; then
  echo "build_models: training the duck light field (PyTorch, one thread, a few minutes)"
  /usr/bin/python3 scripts/train/light_field.py --cli "$CLI" --mesh /usr/share/assimp/models/Collada/duck.dae \
    --name duck_nelf --out "$lf"
fi
# The duck baked into the MobileNeRF form (meshes + feature textures + a tiny MLP), fitted to the
# light field's views above; made only when missing; mlp.json is written last.
bn="$CACHE/models/baked_nerf/duck"
if [[ ! -f "$bn/mlp.json" ]]; then
  echo "build_models: baking the duck into the MobileNeRF form (PyTorch, one thread, a few minutes)"
  /usr/bin/python3 scripts/train/baked_nerf.py --mesh /usr/share/assimp/models/Collada/duck.dae \
    --views "$lf" --out "$bn"
fi
