#include "importers/dataset_readers.h"

#include <cstdlib>
#include <filesystem>

#include "importers/digits_csv_reader.h"
#include "importers/idx_reader.h"
#include "importers/text_corpus_reader.h"

namespace by {

namespace fs = std::filesystem;

namespace {

std::string expandHome(const std::string& p) {
    if (p.rfind("~/", 0) == 0) {
        const char* home = std::getenv("HOME");
        if (home) return std::string(home) + p.substr(1);
    }
    return p;
}

// "train-images-idx3-ubyte", its ".gz", or the "train-images.idx3-ubyte" spelling some copies use.
std::string findIdx(const fs::path& dir, const std::string& prefix, const std::string& kind, int rank) {
    const std::string base = prefix + "-" + kind;
    const std::string suffix = "idx" + std::to_string(rank) + "-ubyte";
    std::error_code ec;
    for (const std::string& name : {base + "-" + suffix, base + "." + suffix})
        for (const char* gz : {"", ".gz"}) {
            const fs::path p = dir / (name + gz);
            if (fs::is_regular_file(p, ec)) return p.string();
        }
    return {};
}

Result<std::string> splitOf(const DatasetOptions& o, bool hasSplits, const std::string& what) {
    if (o.split.empty()) return std::string(hasSplits ? "test" : "");
    if (!hasSplits)
        return makeError(ErrorCode::Invalid, "this dataset has no \"" + o.split + "\" split (it has one set only)", what);
    if (o.split != "train" && o.split != "test")
        return makeError(ErrorCode::Invalid, "the split must be \"train\" or \"test\", not \"" + o.split + "\"", what);
    return o.split;
}

Result<std::shared_ptr<const Dataset>> openIdxFolder(const std::string& dir, const std::string& kind,
                                                     std::vector<std::string> classes, const DatasetOptions& o) {
    auto split = splitOf(o, true, dir);
    if (!split) return split.error();
    const std::string prefix = *split == "train" ? "train" : "t10k";
    const std::string images = findIdx(dir, prefix, "images", 3);
    const std::string labels = findIdx(dir, prefix, "labels", 1);
    if (images.empty() || labels.empty())
        return makeError(ErrorCode::Io,
                         "no " + prefix + "-images-idx3-ubyte[.gz] and " + prefix +
                             "-labels-idx1-ubyte[.gz] here (run scripts/setup.sh to fetch MNIST)",
                         dir);
    auto ds = readIdxImageDataset(images, labels, kind + " " + *split + " (" + dir + ")", std::move(classes));
    if (!ds) return ds.error();
    return std::shared_ptr<const Dataset>(*ds);
}

std::vector<std::string> digitNames() {
    std::vector<std::string> v;
    for (int i = 0; i < 10; ++i) v.push_back(std::to_string(i));
    return v;
}

template <class T>
Result<std::shared_ptr<const Dataset>> asDataset(Result<std::shared_ptr<T>> r) {
    if (!r) return r.error();
    return std::shared_ptr<const Dataset>(std::move(*r));
}

bool hasFileWhere(const std::string& dir, bool (*pred)(const fs::path&)) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file(ec) && pred(it->path())) return true;
    return false;
}

std::string lowerExt(const fs::path& p) {
    std::string e = p.extension().string();
    for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return e;
}

}  // namespace

const std::vector<std::string>& fashionMnistClassNames() {
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

Result<std::shared_ptr<const Dataset>> openDataset(const std::string& spec, const DatasetOptions& options) {
    std::string kind, path = spec;
    const size_t colon = spec.find(':');
    if (colon != std::string::npos && colon > 1) {  // "C:\..." style paths have colon == 1
        kind = spec.substr(0, colon);
        path = spec.substr(colon + 1);
    }
    path = expandHome(path);
    const std::string ctx = "opening dataset " + spec;
    auto withCtx = [&](Result<std::shared_ptr<const Dataset>> r) -> Result<std::shared_ptr<const Dataset>> {
        if (!r) return r.error().withContext(ctx);
        return r;
    };
    auto noSplit = [&]() -> Status {
        auto s = splitOf(options, false, path);
        if (!s) return s.error();
        return {};
    };

    std::error_code ec;
    if (kind.empty()) {
        // Guess from what the path holds.
        if (fs::is_directory(path, ec)) {
            if (!findIdx(path, "t10k", "images", 3).empty() || !findIdx(path, "train", "images", 3).empty())
                kind = "mnist";
            else if (hasFileWhere(path, [](const fs::path& p) { return isImageFile(p.string()); }))
                kind = "images";
            else if (hasFileWhere(path, [](const fs::path& p) { return lowerExt(p) == ".wav"; }))
                kind = "wav";
            else if (hasFileWhere(path, [](const fs::path& p) { return lowerExt(p) == ".txt" || lowerExt(p) == ".md"; }))
                kind = "text";
        } else if (fs::is_regular_file(path, ec)) {
            const std::string name = fs::path(path).filename().string();
            if (name.ends_with(".csv") || name.ends_with(".csv.gz")) kind = "digits";
            else if (name.ends_with(".txt") || name.ends_with(".md")) kind = "text";
        } else {
            return makeError(ErrorCode::Io, "no such file or folder", ctx);
        }
        if (kind.empty())
            return makeError(ErrorCode::Unsupported,
                             "cannot tell what dataset this is (looked for MNIST IDX files, a digits .csv, images, "
                             ".wav or .txt files); name the kind, as in images:DIR",
                             ctx);
    }

    if (kind == "mnist") return withCtx(openIdxFolder(path, "mnist", digitNames(), options));
    if (kind == "fashion-mnist")
        return withCtx(openIdxFolder(path, "fashion-mnist", fashionMnistClassNames(), options));
    if (kind == "digits") {
        if (auto s = noSplit(); !s) return s.error().withContext(ctx);
        return withCtx(asDataset(readDigitsCsv(path)));
    }
    if (kind == "images") {
        if (auto s = noSplit(); !s) return s.error().withContext(ctx);
        return withCtx(asDataset(ImageFolderDataset::open(path, options.image, options.labelsFile)));
    }
    if (kind == "wav") {
        if (auto s = noSplit(); !s) return s.error().withContext(ctx);
        return withCtx(asDataset(WavFolderDataset::open(path, options.audio)));
    }
    if (kind == "text") {
        if (auto s = noSplit(); !s) return s.error().withContext(ctx);
        return withCtx(asDataset(TextCorpusDataset::open(path)));
    }
    return makeError(ErrorCode::Unsupported,
                     "unknown dataset kind \"" + kind + "\" (known: mnist, fashion-mnist, digits, images, wav, text)",
                     ctx);
}

}  // namespace by
