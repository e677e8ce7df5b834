// Fuzzes every dataset reader that parses bytes (IDX plain and gzip, WAV, the digits CSV, images
// through stb_image, UTF-8 validation) with the same input, and checks what they accept: an IDX
// tensor accounts for every byte after its header, a WAV clip has no more frames than its bytes
// allow, a decoded image has the layout asked for.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "importers/digits_csv_reader.h"
#include "importers/gzip_file.h"
#include "importers/idx_reader.h"
#include "importers/image_folder_reader.h"
#include "importers/text_corpus_reader.h"
#include "importers/wav_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "dataset_fuzz: invariant broken: %s\n", what);
        std::abort();
    }
}

void checkIdx(const uint8_t* data, size_t size) {
    auto t = by::parseIdx(data, size, "fuzz.idx");
    if (!t) return;
    const size_t header = 4 + 4 * static_cast<size_t>(data[3]);
    require(t->nbytes() + header == size, "IDX tensor does not account for every byte");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    checkIdx(data, size);
    // Through a file, so the gzip path is exercised too (capped, as a bomb would be).
    const std::string path = by::fuzz::writeInput(data, size, ".idx.gz");
    if (auto bytes = by::readFileMaybeGzip(path, 1 << 20)) {
        require(bytes->size() <= (1u << 20), "gzip inflated past its cap");
        checkIdx(bytes->data(), bytes->size());
    }
    if (auto clip = by::parseWav(data, size, "fuzz.wav"))
        require(clip->samples.size() * static_cast<size_t>(clip->channels) * 2 <= size && clip->sampleRate > 0,
                "WAV clip has more frames than bytes or a bad rate");
    if (auto ds = by::parseDigitsCsv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv"))
        require((*ds)->size() > 0 && (*ds)->allInputs().numel() == (*ds)->size() * 64, "digits shape");
    if (auto img = by::decodeImageBytes(data, size, "fuzz.img", {1, 28, 28}))
        require(img->shape() == by::Shape({1, 28, 28}), "image layout");
    if (auto img = by::decodeImageBytes(data, size, "fuzz.img", {3, 0, 0}))
        require(img->rank() == 3 && img->shape()[0] == 3, "image channels");
    (void)by::firstInvalidUtf8(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
