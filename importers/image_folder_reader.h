#pragma once
// Image datasets: PNG, JPEG, BMP, GIF, TGA, PNM decoded with stb_image, converted to the channel
// count and size the caller's model wants, and laid out channel-first (the CHW of one NCHW row).
//
// A folder is labelled one of two ways:
//   - class per sub-folder: DIR/cat/*.jpg, DIR/dog/*.jpg -> classes "cat", "dog" (sorted);
//   - a labels file of lines "relative/path<TAB>label" (DIR/labels.tsv by default); the classes
//     are the distinct labels, sorted (numerically when every label is an integer).
// A folder with images and neither gives an unlabelled dataset.
#include <memory>
#include <string>
#include <vector>

#include "engine/dataset.h"

namespace by {

struct ImageLayout {
    int channels = 3;  // 1 (grey, luma-weighted) or 3 (RGB); alpha is dropped
    int height = 0;    // 0 with width 0: keep each image's own size
    int width = 0;
};

// One image as U8 [C,H,W], resized (bilinear) when the layout names a size. Fails (Format) naming
// the file when stb_image cannot decode it, and (Invalid) on a layout it cannot produce.
Result<Tensor> decodeImage(const std::string& path, const ImageLayout& layout);
Result<Tensor> decodeImageBytes(const uint8_t* data, size_t size, const std::string& what, const ImageLayout& layout);

// True for the file extensions decodeImage reads (case-insensitive).
bool isImageFile(const std::string& path);

// Decodes lazily: opening lists the files; each sample() decodes one file, so a broken image is
// reported by the sample that reads it (naming the file). Samples are U8 [C,H,W].
class ImageFolderDataset : public Dataset {
public:
    // `labelsFile` empty: DIR/labels.tsv when present, else sub-folders. Fails when the folder
    // holds no images, a labels line has no tab, or names a file that does not exist.
    static Result<std::shared_ptr<ImageFolderDataset>> open(const std::string& dir, const ImageLayout& layout,
                                                            const std::string& labelsFile = {});

    std::string name() const override;
    int64_t size() const override { return static_cast<int64_t>(m_files.size()); }
    Result<Sample> sample(int64_t index) const override;
    std::vector<Shape> inputShapes() const override;
    std::vector<DType> inputDTypes() const override { return {DType::U8}; }
    const std::vector<std::string>& classNames() const override { return m_classes; }
    Result<int64_t> label(int64_t index) const override;

    const std::string& file(int64_t index) const { return m_files[static_cast<size_t>(index)]; }

private:
    ImageFolderDataset() = default;
    std::string m_dir;
    ImageLayout m_layout;
    std::vector<std::string> m_files;  // absolute paths
    std::vector<int64_t> m_labels;     // parallel to m_files; -1 when unlabelled
    std::vector<std::string> m_classes;
};

}  // namespace by
