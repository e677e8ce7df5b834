# Seeds: small libonnx-testdata models (If, Loop, Scan, LSTM, Constant, sequences), the hand-made
# features model (typed data fields, sparse initializer, metadata, custom op) and the 579 KB
# PaddleOCR classifier (weights in Constant nodes) from the asset cache.
if(DEFINED ENV{BRICKYARD_CACHE} AND NOT "$ENV{BRICKYARD_CACHE}" STREQUAL "")
  set(BY_ONNX_SEED_CACHE "$ENV{BRICKYARD_CACHE}/models")
else()
  set(BY_ONNX_SEED_CACHE "$ENV{HOME}/.cache/brickyard/models")
endif()
set(BY_ONNX_TESTDATA /usr/share/libonnx-testdata/data)
set(BY_ONNX_SEEDS
  ${PROJECT_SOURCE_DIR}/tests/data/onnx/features.onnx
  ${BY_ONNX_TESTDATA}/node/test_if/model.onnx
  ${BY_ONNX_TESTDATA}/node/test_loop11/model.onnx
  ${BY_ONNX_TESTDATA}/node/test_scan9_sum/model.onnx
  ${BY_ONNX_TESTDATA}/node/test_constant/model.onnx
  ${BY_ONNX_TESTDATA}/node/test_lstm_defaults/model.onnx
  ${BY_ONNX_TESTDATA}/simple/test_sequence_model1/model.onnx
  ${BY_ONNX_TESTDATA}/pytorch-converted/test_Conv2d/model.onnx
  ${BY_ONNX_SEED_CACHE}/ch_ppocr_mobile_v2.0_cls_infer.onnx)
foreach(seed ${BY_ONNX_SEEDS})
  if(NOT EXISTS ${seed})
    message(FATAL_ERROR "ONNX fuzz seed ${seed} is missing: run scripts/setup.sh (it installs libonnx-testdata "
                        "and fetches the demo assets, or point BRICKYARD_CACHE at a cache that has them)")
  endif()
endforeach()
by_add_fuzz(onnx ${BY_ONNX_SEEDS})
