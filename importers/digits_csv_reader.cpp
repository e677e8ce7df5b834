#include "importers/digits_csv_reader.h"

#include <charconv>

#include "importers/gzip_file.h"

namespace by {

namespace {
constexpr int kPixels = 64;
constexpr int kMaxPixel = 16;
}  // namespace

Result<std::shared_ptr<TensorDataset>> parseDigitsCsv(const std::string& text, const std::string& what) {
    std::vector<uint8_t> pixels;
    std::vector<int64_t> labels;
    size_t pos = 0;
    int64_t line = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view row(text.data() + pos, end - pos);
        const size_t rowStart = pos;
        pos = end + 1;
        ++line;
        if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
        if (row.empty()) continue;
        int field = 0;
        size_t f = 0;
        while (true) {
            size_t comma = row.find(',', f);
            std::string_view cell = row.substr(f, comma == std::string_view::npos ? std::string_view::npos : comma - f);
            // sklearn writes the pixels as integers; tolerate "5.0" as some copies have it.
            double v = 0;
            auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
            const bool whole = ec == std::errc() && ptr == cell.data() + cell.size() && v == static_cast<int>(v);
            const int limit = field < kPixels ? kMaxPixel : 9;
            if (!whole || v < 0 || v > limit)
                return makeError(ErrorCode::Format,
                                 "field " + std::to_string(field + 1) + " is \"" + std::string(cell) +
                                     "\", not an integer from 0 to " + std::to_string(limit),
                                 what + ": line " + std::to_string(line) + " (byte " + std::to_string(rowStart + f) +
                                     ")");
            if (field < kPixels) pixels.push_back(static_cast<uint8_t>(v));
            else if (field == kPixels) labels.push_back(static_cast<int64_t>(v));
            ++field;
            if (comma == std::string_view::npos) break;
            f = comma + 1;
        }
        if (field != kPixels + 1)
            return makeError(ErrorCode::Format,
                             "the line has " + std::to_string(field) + " fields; a digit needs " +
                                 std::to_string(kPixels) + " pixels and a label",
                             what + ": line " + std::to_string(line));
    }
    const int64_t n = static_cast<int64_t>(labels.size());
    if (n == 0) return makeError(ErrorCode::Format, "the file holds no samples", what);
    auto t = Tensor::fromBytes(DType::U8, {n, 1, 8, 8}, std::move(pixels));
    if (!t) return t.error().withContext(what);
    std::vector<std::string> classes;
    for (int c = 0; c < 10; ++c) classes.push_back(std::to_string(c));
    auto ds = TensorDataset::create("digits (" + what + ")", std::move(*t), std::move(labels), std::move(classes));
    if (!ds) return ds.error();
    return ds;
}

Result<std::shared_ptr<TensorDataset>> readDigitsCsv(const std::string& path) {
    auto bytes = readFileMaybeGzip(path, uint64_t{1} << 30);
    if (!bytes) return bytes.error();
    return parseDigitsCsv(std::string(bytes->begin(), bytes->end()), path);
}

}  // namespace by
