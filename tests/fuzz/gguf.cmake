by_add_fuzz(gguf
  ${PROJECT_SOURCE_DIR}/tests/data/gguf/gpt2_tiny.gguf
  ${PROJECT_SOURCE_DIR}/tests/data/gguf/aligned64.gguf
  ${PROJECT_SOURCE_DIR}/tests/data/gguf/all_types.gguf)
