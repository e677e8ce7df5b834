by_add_fuzz(dataset
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/strokes3-images-idx3-ubyte
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/strokes3-labels-idx1-ubyte
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/strokes3-labels-idx1-ubyte.gz
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/stroke7.png
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/stroke7.jpg
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/digits2.csv
  ${PROJECT_SOURCE_DIR}/tests/data/datasets/tone16k.wav)
