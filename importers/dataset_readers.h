#pragma once
// One entry point for every dataset format: openDataset("mnist:DIR") and friends. The readers
// themselves live one per file (idx_reader, digits_csv_reader, image_folder_reader, wav_reader,
// text_corpus_reader); this file only parses the spec and picks one.
//
// Specs:
//   mnist:DIR           MNIST IDX files (train-/t10k-images-idx3-ubyte[.gz] and labels), classes "0".."9"
//   fashion-mnist:DIR   the same layout, with the ten Fashion-MNIST class names
//   digits:FILE         scikit-learn's digits.csv[.gz]: U8 [1,8,8] values 0..16
//   images:DIR          image folder (see image_folder_reader.h), U8 [C,H,W]
//   wav:DIR             folder of .wav clips (see wav_reader.h), F32 [T]
//   text:PATH           UTF-8 file or folder of .txt files, String [1]
//   PATH                a bare path: the kind is guessed from what is there (IDX files, a .csv,
//                       images, .wav or .txt files); a guess that fails names what it looked for.
// A leading "~/" in the path is the home folder.
#include <memory>
#include <string>

#include "engine/dataset.h"
#include "importers/image_folder_reader.h"
#include "importers/wav_reader.h"

namespace by {

struct DatasetOptions {
    // "train" or "test" for sets that ship both (MNIST, Fashion-MNIST); empty means "test". Asking
    // for a split of a set that has none is an error rather than being ignored.
    std::string split;
    ImageLayout image;        // images: channels and size of every sample
    std::string labelsFile;   // images: "path<TAB>label" file instead of DIR/labels.tsv / sub-folders
    WavDatasetOptions audio;  // wav: rate, resampling, fixed clip length
};

Result<std::shared_ptr<const Dataset>> openDataset(const std::string& spec, const DatasetOptions& options = {});

// The class names of Fashion-MNIST, in label order.
const std::vector<std::string>& fashionMnistClassNames();

}  // namespace by
