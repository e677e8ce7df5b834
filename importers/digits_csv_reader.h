#pragma once
// scikit-learn's digits set (digits.csv[.gz]): one sample per line, 64 comma-separated pixel
// values 0..16 of an 8x8 image followed by the class 0..9; no header.
#include <memory>
#include <string>

#include "engine/dataset.h"

namespace by {

// Samples are U8 [1,8,8] with values 0..16 (scale by 1/16 to get [0,1]); classes "0".."9". Fails
// (Format) naming the line and column on a field that is not an integer in range, or a line with
// another number of fields.
Result<std::shared_ptr<TensorDataset>> readDigitsCsv(const std::string& path);
Result<std::shared_ptr<TensorDataset>> parseDigitsCsv(const std::string& text, const std::string& what);

}  // namespace by
