#include "importers/image_folder_reader.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/mapped_file.h"

// The project's single copy of stb_image (and its resizer). Third-party code: its own warnings are
// not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
// stb_image is compiled here, once for the importers (the mesh importer's textures use it too),
// rather than taken from Debian's libstb: that build keeps stb's internal asserts, which abort
// the process on some corrupt JPEGs instead of letting the decoder report a failure.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ASSERT(x) ((void)0)
#define STBI_NO_HDR  // 8-bit images only: HDR/PSD/PIC are not dataset formats
#define STBI_NO_PSD
#define STBI_NO_PIC
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STBIR_ASSERT(x) ((void)0)
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

namespace by {

namespace fs = std::filesystem;

namespace {

// Refuse images whose decoded size would be absurd before stb allocates it.
constexpr int64_t kMaxPixels = int64_t{1} << 28;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::vector<std::string> imagesUnder(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && isImageFile(it->path().string())) out.push_back(it->path().string());
    std::sort(out.begin(), out.end());
    return out;
}

// Class names sorted numerically when all are integers ("2" < "10"), else as strings.
std::vector<std::string> sortedClasses(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    const bool numeric = std::all_of(names.begin(), names.end(), [](const std::string& s) {
        long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size();
    });
    if (numeric)
        std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
            return std::stol(a) < std::stol(b);
        });
    return names;
}

// Debian's stb_image (2.27) trusts the code counts of a JPEG Huffman table: counts summing past
// 256 write beyond its fixed tables. Walk the JPEG's segments first and refuse such a table, so a
// crafted file is an error instead of memory corruption. Returns the offset of the bad table, or
// -1 when every table is sane (or the file is not a JPEG).
int64_t badJpegHuffmanTable(const uint8_t* d, size_t n) {
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return -1;
    size_t pos = 2;
    while (pos + 4 <= n) {
        if (d[pos] != 0xFF) {  // entropy-coded data after a scan: find the next real marker
            ++pos;
            continue;
        }
        const uint8_t m = d[pos + 1];
        if (m == 0x00 || m == 0xFF || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {  // stuffing, fill, RSTn
            pos += m == 0xFF ? 1 : 2;
            continue;
        }
        if (m == 0xD9) return -1;  // end of image
        const size_t len = (static_cast<size_t>(d[pos + 2]) << 8) | d[pos + 3];
        if (len < 2) return static_cast<int64_t>(pos);
        if (m == 0xC4) {
            // As stb does: read tables while the declared length has bytes left, each table's 17
            // header bytes even when the segment (or the file) ends inside them (stb reads zeros
            // past the end).
            int64_t left = static_cast<int64_t>(len) - 2;
            size_t q = pos + 4;
            while (left > 0) {
                size_t count = 0;
                for (size_t i = 1; i <= 16 && q + i < n; ++i) count += d[q + i];
                if (count > 256) return static_cast<int64_t>(q);
                q += 17 + count;
                left -= static_cast<int64_t>(17 + count);
            }
        }
        pos += 2 + len;
    }
    return -1;
}

}  // namespace

bool isImageFile(const std::string& path) {
    static const char* kExts[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm", ".pnm"};
    const std::string ext = lower(fs::path(path).extension().string());
    return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

Result<Tensor> decodeImageBytes(const uint8_t* data, size_t size, const std::string& what, const ImageLayout& layout) {
    if (layout.channels != 1 && layout.channels != 3)
        return makeError(ErrorCode::Invalid,
                         "images can be read with 1 or 3 channels, not " + std::to_string(layout.channels), what);
    if (layout.height < 0 || layout.width < 0 || (layout.height == 0) != (layout.width == 0))
        return makeError(ErrorCode::Invalid, "the image size must give both height and width, or neither", what);
    if (size > static_cast<size_t>(INT32_MAX))
        return makeError(ErrorCode::Invalid, "the image file is larger than 2 GiB", what);
    if (const int64_t bad = badJpegHuffmanTable(data, size); bad >= 0)
        return makeError(ErrorCode::Format, "the JPEG has a corrupt Huffman table (more than 256 codes)",
                         what + " at byte " + std::to_string(bad));
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, static_cast<int>(size), &w, &h, &comp))
        return makeError(ErrorCode::Format, std::string("cannot decode the image: ") + stbi_failure_reason(), what);
    if (static_cast<int64_t>(w) * h > kMaxPixels)
        return makeError(ErrorCode::Invalid,
                         "the image is " + std::to_string(w) + "x" + std::to_string(h) + ", larger than the limit",
                         what);
    uint8_t* pixels = stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &comp, layout.channels);
    if (!pixels)
        return makeError(ErrorCode::Format, std::string("cannot decode the image: ") + stbi_failure_reason(), what);
    std::unique_ptr<uint8_t, void (*)(void*)> owner(pixels, stbi_image_free);
    const int c = layout.channels;
    const int oh = layout.height ? layout.height : h;
    const int ow = layout.width ? layout.width : w;
    std::vector<uint8_t> hwc;
    const uint8_t* src = pixels;
    if (oh != h || ow != w) {
        hwc.resize(static_cast<size_t>(oh) * ow * c);
        if (!stbir_resize_uint8(pixels, w, h, 0, hwc.data(), ow, oh, 0, c))
            return makeError(ErrorCode::Internal, "resizing the image failed", what);
        src = hwc.data();
    }
    // Interleaved HWC -> planar CHW.
    std::vector<uint8_t> chw(static_cast<size_t>(oh) * ow * c);
    const size_t plane = static_cast<size_t>(oh) * ow;
    for (size_t p = 0; p < plane; ++p)
        for (int k = 0; k < c; ++k) chw[static_cast<size_t>(k) * plane + p] = src[p * c + static_cast<size_t>(k)];
    return Tensor::fromBytes(DType::U8, {c, oh, ow}, std::move(chw));
}

Result<Tensor> decodeImage(const std::string& path, const ImageLayout& layout) {
    auto file = MappedFile::open(path);
    if (!file) return file.error();
    return decodeImageBytes((*file)->data(), (*file)->size(), path, layout);
}

Result<std::shared_ptr<ImageFolderDataset>> ImageFolderDataset::open(const std::string& dir, const ImageLayout& layout,
                                                                     const std::string& labelsFile) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return makeError(ErrorCode::Io, "the image folder does not exist", dir);
    if (layout.channels != 1 && layout.channels != 3)
        return makeError(ErrorCode::Invalid,
                         "images can be read with 1 or 3 channels, not " + std::to_string(layout.channels), dir);
    auto ds = std::shared_ptr<ImageFolderDataset>(new ImageFolderDataset());
    ds->m_dir = dir;
    ds->m_layout = layout;

    std::string labels = labelsFile;
    if (labels.empty() && fs::is_regular_file(fs::path(dir) / "labels.tsv", ec))
        labels = (fs::path(dir) / "labels.tsv").string();
    if (!labels.empty()) {
        std::ifstream in(labels);
        if (!in) return makeError(ErrorCode::Io, "cannot open the labels file", labels);
        std::vector<std::pair<std::string, std::string>> rows;
        std::string line;
        int64_t lineNo = 0;
        while (std::getline(in, line)) {
            ++lineNo;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty()) continue;
            const size_t tab = line.find('\t');
            const std::string where = labels + ": line " + std::to_string(lineNo);
            if (tab == std::string::npos || tab == 0 || tab + 1 == line.size())
                return makeError(ErrorCode::Format, "expected \"path<TAB>label\"", where);
            fs::path p = fs::path(line.substr(0, tab));
            if (p.is_relative()) p = fs::path(dir) / p;
            if (!fs::is_regular_file(p, ec))
                return makeError(ErrorCode::Io, "the image " + p.string() + " does not exist", where);
            rows.emplace_back(p.string(), line.substr(tab + 1));
        }
        std::vector<std::string> names;
        for (const auto& r : rows) names.push_back(r.second);
        ds->m_classes = sortedClasses(names);
        std::map<std::string, int64_t> index;
        for (size_t i = 0; i < ds->m_classes.size(); ++i) index[ds->m_classes[i]] = static_cast<int64_t>(i);
        for (auto& r : rows) {
            ds->m_files.push_back(std::move(r.first));
            ds->m_labels.push_back(index[r.second]);
        }
    } else {
        std::vector<std::string> subdirs;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.is_directory(ec)) subdirs.push_back(e.path().filename().string());
        std::vector<std::string> classes = sortedClasses(subdirs);
        for (size_t c = 0; c < classes.size(); ++c) {
            auto files = imagesUnder(fs::path(dir) / classes[c]);
            if (files.empty()) continue;  // a folder of something else (notes, thumbnails) is not a class
            ds->m_classes.push_back(classes[c]);
            for (auto& f : files) {
                ds->m_files.push_back(std::move(f));
                ds->m_labels.push_back(static_cast<int64_t>(ds->m_classes.size()) - 1);
            }
        }
        if (ds->m_files.empty()) {  // a flat folder of images: unlabelled
            for (const auto& e : fs::directory_iterator(dir, ec))
                if (e.is_regular_file(ec) && isImageFile(e.path().string())) ds->m_files.push_back(e.path().string());
            std::sort(ds->m_files.begin(), ds->m_files.end());
            ds->m_labels.assign(ds->m_files.size(), -1);
        }
    }
    if (ds->m_files.empty())
        return makeError(ErrorCode::Invalid, "the folder holds no images (.png, .jpg, .bmp, .gif, .tga, .pnm)", dir);
    return ds;
}

std::string ImageFolderDataset::name() const { return "images (" + m_dir + ")"; }

std::vector<Shape> ImageFolderDataset::inputShapes() const {
    return {{m_layout.channels, m_layout.height ? m_layout.height : -1, m_layout.width ? m_layout.width : -1}};
}

Result<Sample> ImageFolderDataset::sample(int64_t index) const {
    if (index < 0 || index >= size())
        return makeError(ErrorCode::Invalid, "sample index " + std::to_string(index) + " is out of range", name());
    auto t = decodeImage(m_files[static_cast<size_t>(index)], m_layout);
    if (!t) return t.error().withContext(name() + ": sample " + std::to_string(index));
    Sample s;
    s.inputs.push_back(std::move(*t));
    s.label = m_labels[static_cast<size_t>(index)];
    return s;
}

Result<int64_t> ImageFolderDataset::label(int64_t index) const {
    if (index < 0 || index >= size())
        return makeError(ErrorCode::Invalid, "sample index " + std::to_string(index) + " is out of range", name());
    return m_labels[static_cast<size_t>(index)];
}

}  // namespace by
