by_add_fuzz(safetensors
  ${PROJECT_SOURCE_DIR}/tests/data/safetensors/checkpoint.safetensors
  ${PROJECT_SOURCE_DIR}/tests/data/safetensors/metadata_only.safetensors
  ${PROJECT_SOURCE_DIR}/tests/data/safetensors/hand_written.safetensors)
