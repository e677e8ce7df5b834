#pragma once
// Plain-text corpora: UTF-8 files as whole documents. Tokenising is not done here; a sample is
// the file's text as a String tensor [1], for a tokenizer or a language-model evaluation to use.
#include <memory>
#include <string>
#include <vector>

#include "engine/dataset.h"

namespace by {

// The file's text. Fails (Format) naming the file and the byte offset of the first byte that is
// not valid UTF-8; a leading byte-order mark is dropped.
Result<std::string> readUtf8File(const std::string& path);
// Offset of the first invalid UTF-8 byte, or -1 when `text` is valid (overlong forms and
// surrogates count as invalid).
int64_t firstInvalidUtf8(std::string_view text);

// One file, or a folder of .txt/.md files: labelled by sub-folder (DIR/spam/*.txt) or unlabelled
// when flat. Files are read on demand.
class TextCorpusDataset : public Dataset {
public:
    static Result<std::shared_ptr<TextCorpusDataset>> open(const std::string& path);

    std::string name() const override { return "text (" + m_path + ")"; }
    int64_t size() const override { return static_cast<int64_t>(m_files.size()); }
    Result<Sample> sample(int64_t index) const override;
    std::vector<Shape> inputShapes() const override { return {{1}}; }
    std::vector<DType> inputDTypes() const override { return {DType::String}; }
    const std::vector<std::string>& classNames() const override { return m_classes; }
    Result<int64_t> label(int64_t index) const override;

private:
    TextCorpusDataset() = default;
    std::string m_path;
    std::vector<std::string> m_files;
    std::vector<int64_t> m_labels;
    std::vector<std::string> m_classes;
};

}  // namespace by
