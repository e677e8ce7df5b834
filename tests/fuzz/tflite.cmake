# Seeds: the small real TFLite models from the asset cache (scripts/setup.sh fetches them), one of
# each kind the importer handles (fp16 + DEQUANTIZE, sparse constants + DENSIFY, a custom op), plus
# two tiny synthetic models from tests/data/tflite (control flow subgraphs, block-sparse metadata)
# whose every byte the mutator reaches often.
if(DEFINED ENV{BRICKYARD_CACHE} AND NOT "$ENV{BRICKYARD_CACHE}" STREQUAL "")
  set(BY_TFLITE_SEED_DIR "$ENV{BRICKYARD_CACHE}/models")
else()
  set(BY_TFLITE_SEED_DIR "$ENV{HOME}/.cache/brickyard/models")
endif()
set(BY_TFLITE_SEEDS
  ${BY_TFLITE_SEED_DIR}/face_detection_short_range.tflite
  ${BY_TFLITE_SEED_DIR}/face_detection_full_range_sparse.tflite
  ${BY_TFLITE_SEED_DIR}/selfie_segmentation.tflite)
foreach(seed ${BY_TFLITE_SEEDS})
  if(NOT EXISTS ${seed})
    message(FATAL_ERROR "TFLite fuzz seed ${seed} is missing: run scripts/setup.sh to fetch the demo assets "
                        "(or point BRICKYARD_CACHE at a cache that has them)")
  endif()
endforeach()
by_add_fuzz(tflite ${BY_TFLITE_SEEDS}
  ${PROJECT_SOURCE_DIR}/tests/data/tflite/while.tflite
  ${PROJECT_SOURCE_DIR}/tests/data/tflite/block_sparse.tflite)
