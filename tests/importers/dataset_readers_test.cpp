// Dataset readers on the real files (MNIST from the asset cache, Fashion-MNIST and the digits CSV
// from Debian packages, WAV files shipped with python3-scipy) and on hand-made broken ones.
#include "importers/dataset_readers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "engine/mapped_file.h"
#include "importers/digits_csv_reader.h"
#include "importers/gzip_file.h"
#include "importers/idx_reader.h"
#include "importers/text_corpus_reader.h"
#include "tests/test_support.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace by {
namespace {

namespace fs = std::filesystem;

const char* kFashionDir = "/usr/share/datasets/fashion-mnist";
const char* kDigitsCsv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
const char* kScipyWavDir = "/usr/lib/python3/dist-packages/scipy/io/tests/data";

std::string mnistDir() { return test::asset("data/mnist"); }

std::vector<uint8_t> fileBytes(const std::string& p) {
    auto s = readWholeFile(p);
    EXPECT_TRUE(s.ok()) << p;
    return s ? std::vector<uint8_t>(s->begin(), s->end()) : std::vector<uint8_t>{};
}

void writeBytes(const std::string& p, const std::vector<uint8_t>& b) {
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void requireFile(const std::string& p, const char* package) {
    ASSERT_TRUE(fs::exists(p)) << p << " is missing: install the Debian package " << package
                               << " (scripts/setup.sh does)";
}

DatasetOptions splitOpt(const std::string& split) {
    DatasetOptions o;
    o.split = split;
    return o;
}
DatasetOptions imageOpt(int c, int h, int w, const std::string& labels = {}) {
    DatasetOptions o;
    o.image = ImageLayout{c, h, w};
    o.labelsFile = labels;
    return o;
}
DatasetOptions audioOpt(int rate, bool resample, int64_t clip) {
    DatasetOptions o;
    o.audio.sampleRate = rate;
    o.audio.resample = resample;
    o.audio.clipSamples = clip;
    return o;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ---- IDX: MNIST (plain) and Fashion-MNIST (gzip) ----

TEST(IdxReader, RealMnistTestAndTrainSplits) {
    auto test = openDataset("mnist:" + mnistDir(), splitOpt("test"));
    ASSERT_TRUE(test.ok()) << test.error().what();
    EXPECT_EQ((*test)->size(), 10000);
    EXPECT_EQ((*test)->inputShapes()[0], (Shape{1, 28, 28}));
    EXPECT_EQ((*test)->inputDTypes()[0], DType::U8);
    EXPECT_EQ((*test)->classNames().size(), 10u);
    // The first five test digits of MNIST are 7, 2, 1, 0, 4.
    for (int i = 0; i < 5; ++i) EXPECT_EQ(*(*test)->label(i), (std::vector<int64_t>{7, 2, 1, 0, 4})[i]);
    auto counts = classCounts(**test);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(std::accumulate(counts->begin(), counts->end(), int64_t{0}), 10000);
    for (int64_t c : *counts) EXPECT_GT(c, 800);  // every digit is well represented

    // A sample's pixels are the bytes of the file at 16 + i*784.
    auto raw = fileBytes(mnistDir() + "/t10k-images-idx3-ubyte");
    auto s = (*test)->sample(123);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(0, std::memcmp(s->inputs[0].rawData(), raw.data() + 16 + 123 * 784, 784));

    auto train = openDataset("mnist:" + mnistDir(), splitOpt("train"));
    ASSERT_TRUE(train.ok()) << train.error().what();
    EXPECT_EQ((*train)->size(), 60000);
}

TEST(IdxReader, RealFashionMnistGzip) {
    requireFile(std::string(kFashionDir) + "/t10k-images-idx3-ubyte.gz", "dataset-fashion-mnist");
    auto test = openDataset(std::string("fashion-mnist:") + kFashionDir);
    ASSERT_TRUE(test.ok()) << test.error().what();
    EXPECT_EQ((*test)->size(), 10000);
    EXPECT_EQ((*test)->classNames()[9], "Ankle boot");
    auto counts = classCounts(**test);
    ASSERT_TRUE(counts.ok());
    // Fashion-MNIST is balanced: 1000 test images per class.
    EXPECT_EQ(*counts, std::vector<int64_t>(10, 1000));
    auto train = openDataset(std::string("fashion-mnist:") + kFashionDir, splitOpt("train"));
    ASSERT_TRUE(train.ok()) << train.error().what();
    EXPECT_EQ((*train)->size(), 60000);
}

TEST(IdxReader, GzipAndPlainGiveTheSameTensor) {
    const std::string dir = test::tempDir();
    std::string out;
    ASSERT_EQ(0, test::runCommand("gzip -c " + mnistDir() + "/t10k-labels-idx1-ubyte > " + dir + "/l.gz", &out)) << out;
    auto plain = readIdx(mnistDir() + "/t10k-labels-idx1-ubyte");
    auto gz = readIdx(dir + "/l.gz");
    ASSERT_TRUE(plain.ok() && gz.ok());
    EXPECT_TRUE(plain->sameContent(*gz));
}

TEST(IdxReader, BrokenFilesFailNamingFileAndOffset) {
    const auto images = fileBytes(mnistDir() + "/t10k-images-idx3-ubyte");
    const auto labels = fileBytes(mnistDir() + "/t10k-labels-idx1-ubyte");

    // Truncated in the middle of the pixel data.
    auto r = parseIdx(images.data(), 5000, "cut.idx");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Format);
    EXPECT_TRUE(contains(r.error().what(), "cut.idx at byte 5000")) << r.error().what();
    EXPECT_TRUE(contains(r.error().what(), "[10000,28,28]")) << r.error().what();

    // Truncated inside the header.
    r = parseIdx(images.data(), 10, "head.idx");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "header")) << r.error().what();

    // Wrong magic: a PNG signature.
    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0};
    r = parseIdx(png.data(), png.size(), "x.png");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "not an IDX file")) << r.error().what();

    // Unknown element type.
    std::vector<uint8_t> badType = {0, 0, 0x42, 1, 0, 0, 0, 1, 7};
    r = parseIdx(badType.data(), badType.size(), "t.idx");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "0x42")) << r.error().what();

    // Huge dimensions: 4 x 2^32-1 x 2^32-1 x 2^32-1 would overflow 64 bits.
    std::vector<uint8_t> huge = {0, 0, 0x08, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    r = parseIdx(huge.data(), huge.size(), "huge.idx");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Format);

    // Extra bytes after the data.
    std::vector<uint8_t> extra = labels;
    extra.push_back(9);
    r = parseIdx(extra.data(), extra.size(), "extra.idx");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "at byte 10008")) << r.error().what();

    // Big-endian multi-byte types are converted: an i32 IDX of {1, -2}.
    std::vector<uint8_t> i32 = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe};
    auto ok = parseIdx(i32.data(), i32.size(), "i32.idx");
    ASSERT_TRUE(ok.ok()) << ok.error().what();
    EXPECT_EQ(ok->data<int32_t>()[0], 1);
    EXPECT_EQ(ok->data<int32_t>()[1], -2);
}

TEST(IdxReader, LabelImageCountMismatchAndTruncatedGzip) {
    const std::string dir = test::tempDir();
    // 9999 labels for 10000 images: rewrite the count and drop the last label.
    auto labels = fileBytes(mnistDir() + "/t10k-labels-idx1-ubyte");
    labels.pop_back();
    labels[6] = 0x27;  // 10000 = 0x2710 -> 0x270f
    labels[7] = 0x0f;
    writeBytes(dir + "/t10k-labels-idx1-ubyte", labels);
    fs::copy_file(mnistDir() + "/t10k-images-idx3-ubyte", dir + "/t10k-images-idx3-ubyte");
    auto ds = openDataset("mnist:" + dir);
    ASSERT_FALSE(ds.ok());
    EXPECT_EQ(ds.error().code, ErrorCode::Invalid);
    EXPECT_TRUE(contains(ds.error().what(), "9999 labels")) << ds.error().what();
    EXPECT_TRUE(contains(ds.error().what(), "10000 images")) << ds.error().what();

    // A label past the class list.
    labels = fileBytes(mnistDir() + "/t10k-labels-idx1-ubyte");
    labels[8 + 17] = 12;
    writeBytes(dir + "/t10k-labels-idx1-ubyte", labels);
    ds = openDataset("mnist:" + dir);
    ASSERT_FALSE(ds.ok());
    EXPECT_TRUE(contains(ds.error().what(), "at byte 25")) << ds.error().what();

    // A gzip file cut in half.
    requireFile(std::string(kFashionDir) + "/t10k-labels-idx1-ubyte.gz", "dataset-fashion-mnist");
    auto gz = fileBytes(std::string(kFashionDir) + "/t10k-labels-idx1-ubyte.gz");
    gz.resize(gz.size() / 2);
    writeBytes(dir + "/cut.gz", gz);
    auto r = readIdx(dir + "/cut.gz");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Format);
    EXPECT_TRUE(contains(r.error().what(), "truncated")) << r.error().what();

    // The inflate limit stops a small file that expands past it.
    auto capped = readFileMaybeGzip(std::string(kFashionDir) + "/t10k-labels-idx1-ubyte.gz", 1000);
    ASSERT_FALSE(capped.ok());
    EXPECT_EQ(capped.error().code, ErrorCode::Invalid);

    // Missing files name the expected file names.
    ds = openDataset("mnist:" + test::tempDir());
    ASSERT_FALSE(ds.ok());
    EXPECT_TRUE(contains(ds.error().what(), "t10k-images-idx3-ubyte")) << ds.error().what();
}

// ---- scikit-learn digits ----

TEST(DigitsCsv, RealFile) {
    requireFile(kDigitsCsv, "python3-sklearn");
    auto ds = openDataset(std::string("digits:") + kDigitsCsv);
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    EXPECT_EQ((*ds)->size(), 1797);
    EXPECT_EQ((*ds)->inputShapes()[0], (Shape{1, 8, 8}));
    auto counts = classCounts(**ds);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(*counts, (std::vector<int64_t>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}));
    // The first digit in the file is a 0 whose first row is 0,0,5,13,9,1,0,0.
    auto s = (*ds)->sample(0);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->label, 0);
    const uint8_t* p = s->inputs[0].data<uint8_t>();
    EXPECT_EQ((std::vector<int>{p[0], p[1], p[2], p[3], p[4], p[5]}), (std::vector<int>{0, 0, 5, 13, 9, 1}));
    // The same data found by guessing from the bare path.
    auto guessed = openDataset(kDigitsCsv);
    ASSERT_TRUE(guessed.ok()) << guessed.error().what();
    EXPECT_EQ((*guessed)->size(), 1797);
    // It has no train/test split.
    auto split = openDataset(std::string("digits:") + kDigitsCsv, splitOpt("train"));
    ASSERT_FALSE(split.ok());
    EXPECT_TRUE(contains(split.error().what(), "split")) << split.error().what();
}

TEST(DigitsCsv, BrokenLinesNameLineAndField) {
    std::string row;
    for (int i = 0; i < 64; ++i) row += "1,";
    auto r = parseDigitsCsv(row + "3\n" + row + "17\n", "d.csv");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "line 2")) << r.error().what();
    EXPECT_TRUE(contains(r.error().what(), "field 65")) << r.error().what();
    r = parseDigitsCsv(row + "3\n1,2,3\n", "d.csv");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "3 fields")) << r.error().what();
    r = parseDigitsCsv("0,x," + row + "\n", "d.csv");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "field 2 is \"x\"")) << r.error().what();
    auto ok = parseDigitsCsv(row + "3\r\n" + row + "4\r\n", "d.csv");
    ASSERT_TRUE(ok.ok()) << ok.error().what();
    EXPECT_EQ((*ok)->size(), 2);
}

// ---- image folders (real MNIST digits written as PNG and JPEG) ----

// Writes the first `n` MNIST test digits as DIR/<label>/<i>.<ext> and returns the dataset.
std::shared_ptr<const Dataset> writeDigitImages(const std::string& dir, int n, bool jpeg, bool labelsFile) {
    auto mnist = openDataset("mnist:" + mnistDir());
    EXPECT_TRUE(mnist.ok());
    std::ofstream tsv;
    if (labelsFile) tsv.open(dir + "/labels.tsv");
    for (int i = 0; i < n; ++i) {
        auto s = (*mnist)->sample(i);
        const std::string cls = std::to_string(s->label);
        const std::string rel = (labelsFile ? std::string("img") : cls) + "/" + std::to_string(i) + (jpeg ? ".jpg" : ".png");
        fs::create_directories(fs::path(dir + "/" + rel).parent_path());
        const std::string path = dir + "/" + rel;
        const int ok = jpeg ? stbi_write_jpg(path.c_str(), 28, 28, 1, s->inputs[0].rawData(), 95)
                            : stbi_write_png(path.c_str(), 28, 28, 1, s->inputs[0].rawData(), 28);
        EXPECT_NE(ok, 0);
        if (labelsFile) tsv << rel << '\t' << cls << '\n';
    }
    return *mnist;
}

TEST(ImageFolder, PngDigitsRoundTripExactly) {
    const std::string dir = test::tempDir();
    auto mnist = writeDigitImages(dir, 40, false, false);
    auto ds = openDataset("images:" + dir, imageOpt(1, 28, 28));
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    EXPECT_EQ((*ds)->size(), 40);
    EXPECT_EQ((*ds)->inputShapes()[0], (Shape{1, 28, 28}));
    const auto& files = dynamic_cast<const ImageFolderDataset&>(**ds);
    for (int64_t i = 0; i < (*ds)->size(); ++i) {
        auto s = (*ds)->sample(i);
        ASSERT_TRUE(s.ok()) << s.error().what();
        const int idx = std::stoi(fs::path(files.file(i)).stem().string());
        auto ref = mnist->sample(idx);
        EXPECT_EQ((*ds)->classNames()[static_cast<size_t>(s->label)], std::to_string(ref->label));
        EXPECT_EQ(0, std::memcmp(s->inputs[0].rawData(), ref->inputs[0].rawData(), 784)) << files.file(i);
    }
    // Three channels repeat the grey plane; a smaller size is a resize of the same picture.
    auto rgb = openDataset("images:" + dir, imageOpt(3, 14, 14));
    ASSERT_TRUE(rgb.ok());
    auto s = (*rgb)->sample(0);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->inputs[0].shape(), (Shape{3, 14, 14}));
    const uint8_t* p = s->inputs[0].data<uint8_t>();
    EXPECT_EQ(0, std::memcmp(p, p + 196, 196));
    auto full = (*ds)->sample(0);
    double sumSmall = 0, sumFull = 0;
    for (int i = 0; i < 196; ++i) sumSmall += p[i];
    for (int i = 0; i < 784; ++i) sumFull += full->inputs[0].data<uint8_t>()[i];
    EXPECT_NEAR(sumSmall * 4, sumFull, sumFull * 0.1);  // same ink, a quarter of the pixels

    // Batches come out NCHW f32, scaled by the caller's normalisation.
    BatchOptions bo;
    bo.batchSize = 16;
    bo.normalize = Normalization{1.0f / 255.0f, {}, {}};
    auto b = BatchIterator(**ds, bo).batch(0);
    ASSERT_TRUE(b.ok()) << b.error().what();
    EXPECT_EQ(b->inputs[0].shape(), (Shape{16, 1, 28, 28}));
    float mx = 0;
    for (int64_t i = 0; i < b->inputs[0].numel(); ++i) mx = std::max(mx, b->inputs[0].data<float>()[i]);
    EXPECT_FLOAT_EQ(mx, 1.0f);
}

TEST(ImageFolder, JpegWithLabelsFile) {
    const std::string dir = test::tempDir();
    auto mnist = writeDigitImages(dir, 20, true, true);
    auto ds = openDataset("images:" + dir, imageOpt(1, 28, 28));
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    EXPECT_EQ((*ds)->size(), 20);
    for (int64_t i = 0; i < 20; ++i) {
        auto s = (*ds)->sample(i);
        auto ref = mnist->sample(i);
        ASSERT_TRUE(s.ok()) << s.error().what();
        EXPECT_EQ((*ds)->classNames()[static_cast<size_t>(s->label)], std::to_string(ref->label));
        double err = 0;
        for (int k = 0; k < 784; ++k)
            err += std::abs(int(s->inputs[0].data<uint8_t>()[k]) - int(ref->inputs[0].data<uint8_t>()[k]));
        EXPECT_LT(err / 784, 6.0) << "JPEG at quality 95 stays close to the original";
    }
}

TEST(ImageFolder, RealPhotosMatchPillow) {
    // Debian darknet's sample photos (fetched by scripts/setup.sh), decoded here and by Pillow:
    // the sizes must agree exactly and the mean of each colour channel to within one level
    // (JPEG decoders may round the inverse DCT differently).
    const std::string dir = test::asset("data/photos");
    auto ds = openDataset("images:" + dir, imageOpt(3, 0, 0));
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    ASSERT_GE((*ds)->size(), 5);
    EXPECT_TRUE((*ds)->classNames().empty());  // a flat folder: unlabelled
    const auto& files = dynamic_cast<const ImageFolderDataset&>(**ds);
    for (int64_t i = 0; i < (*ds)->size(); ++i) {
        auto s = (*ds)->sample(i);
        ASSERT_TRUE(s.ok()) << s.error().what();
        const Tensor& t = s->inputs[0];
        ASSERT_EQ(t.rank(), 3);
        const int64_t plane = t.shape()[1] * t.shape()[2];
        double mean[3] = {0, 0, 0};
        for (int c = 0; c < 3; ++c) {
            const uint8_t* p = t.data<uint8_t>() + c * plane;
            for (int64_t k = 0; k < plane; ++k) mean[c] += p[k];
            mean[c] /= static_cast<double>(plane);
        }
        std::string out;
        ASSERT_EQ(0, test::runCommand("/usr/bin/python3 -c \"import sys, numpy as np; from PIL import Image; "
                                      "a = np.asarray(Image.open(sys.argv[1]).convert('RGB'), dtype=np.float64); "
                                      "print(a.shape[0], a.shape[1], *a.mean(axis=(0, 1)))\" " + files.file(i),
                                      &out))
            << out << " (python3-pil is installed by scripts/setup.sh)";
        int64_t h = 0, w = 0;
        double ref[3] = {0, 0, 0};
        ASSERT_EQ(5, std::sscanf(out.c_str(), "%lld %lld %lf %lf %lf", reinterpret_cast<long long*>(&h),
                                 reinterpret_cast<long long*>(&w), &ref[0], &ref[1], &ref[2]))
            << out;
        EXPECT_EQ(t.shape()[1], h) << files.file(i);
        EXPECT_EQ(t.shape()[2], w) << files.file(i);
        for (int c = 0; c < 3; ++c) EXPECT_NEAR(mean[c], ref[c], 1.0) << files.file(i) << " channel " << c;
    }
    // Resized for a 224x224 RGB model: stacks into one NCHW batch.
    auto sized = openDataset("images:" + dir, imageOpt(3, 224, 224));
    ASSERT_TRUE(sized.ok());
    BatchOptions bo;
    bo.batchSize = 4;
    bo.normalize = Normalization{1.0f / 255.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    auto b = BatchIterator(**sized, bo).batch(0);
    ASSERT_TRUE(b.ok()) << b.error().what();
    EXPECT_EQ(b->inputs[0].shape(), (Shape{4, 3, 224, 224}));
}

TEST(ImageFolder, BrokenImagesAndLabels) {
    const std::string dir = test::tempDir();
    writeDigitImages(dir, 3, false, false);
    // A PNG cut short: listed fine, fails when its sample is read, naming the file.
    const std::string victim = dir + "/7/0.png";
    auto bytes = fileBytes(victim);
    bytes.resize(bytes.size() / 2);
    writeBytes(victim, bytes);
    auto ds = openDataset("images:" + dir, imageOpt(1, 28, 28));
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    bool sawError = false;
    for (int64_t i = 0; i < (*ds)->size(); ++i) {
        auto s = (*ds)->sample(i);
        if (!s.ok()) {
            sawError = true;
            EXPECT_EQ(s.error().code, ErrorCode::Format);
            EXPECT_TRUE(contains(s.error().what(), "7/0.png")) << s.error().what();
        }
    }
    EXPECT_TRUE(sawError);
    // Not an image at all.
    writeBytes(dir + "/7/9.png", {'h', 'e', 'l', 'l', 'o'});
    auto bad = decodeImage(dir + "/7/9.png", {1, 0, 0});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Format);

    // A JPEG whose Huffman table claims 16 x 255 codes: Debian's stb_image would write past its
    // 256-entry tables (found by dataset_fuzz under UBSan); the reader refuses it first.
    std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x13, 0x00};
    for (int i = 0; i < 16; ++i) jpeg.push_back(0xFF);
    jpeg.insert(jpeg.end(), {0xFF, 0xD9});
    auto huff = decodeImageBytes(jpeg.data(), jpeg.size(), "huff.jpg", {1, 0, 0});
    ASSERT_FALSE(huff.ok());
    EXPECT_TRUE(contains(huff.error().what(), "huff.jpg at byte 6")) << huff.error().what();

    // A labels line without a tab, and one naming a missing file.
    const std::string d2 = test::tempDir();
    writeDigitImages(d2, 2, false, true);
    std::ofstream(d2 + "/labels.tsv", std::ios::app) << "img/0.png 7\n";
    auto r = openDataset("images:" + d2, imageOpt(1, 28, 28));
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "labels.tsv: line 3")) << r.error().what();
    std::ofstream(d2 + "/other.tsv") << "img/nope.png\t3\n";
    r = openDataset("images:" + d2, imageOpt(1, 28, 28, d2 + "/other.tsv"));
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "nope.png")) << r.error().what();
    // Bad layouts.
    EXPECT_FALSE(openDataset("images:" + d2, imageOpt(2, 28, 28)).ok());
    EXPECT_FALSE(openDataset("images:" + test::tempDir(), imageOpt(1, 28, 28)).ok());  // empty folder
}

// ---- WAV ----

std::vector<uint8_t> makeWav(uint16_t format, uint16_t channels, uint32_t rate, uint16_t bits,
                             const std::vector<uint8_t>& data) {
    std::vector<uint8_t> w;
    w.reserve(44 + data.size());
    auto put32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) w.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto put16 = [&](uint16_t v) { w.push_back(static_cast<uint8_t>(v)); w.push_back(static_cast<uint8_t>(v >> 8)); };
    auto tag = [&](const char* t) { for (int i = 0; i < 4; ++i) w.push_back(static_cast<uint8_t>(t[i])); };
    tag("RIFF");
    put32(static_cast<uint32_t>(36 + data.size()));
    tag("WAVE");
    tag("fmt ");
    put32(16);
    put16(format);
    put16(channels);
    put32(rate);
    put32(rate * channels * bits / 8);
    put16(static_cast<uint16_t>(channels * bits / 8));
    put16(bits);
    tag("data");
    put32(static_cast<uint32_t>(data.size()));
    for (uint8_t b : data) w.push_back(b);
    return w;
}

std::vector<uint8_t> pcm16(const std::vector<int16_t>& v) {
    std::vector<uint8_t> b;
    for (int16_t s : v) {
        b.push_back(static_cast<uint8_t>(s & 0xff));
        b.push_back(static_cast<uint8_t>((s >> 8) & 0xff));
    }
    return b;
}

TEST(WavReader, Pcm16MonoAndStereoMixdown) {
    // A 440 Hz tone at 16 kHz, 0.1 s.
    std::vector<int16_t> tone(1600);
    for (size_t i = 0; i < tone.size(); ++i)
        tone[i] = static_cast<int16_t>(std::lround(16000 * std::sin(2 * M_PI * 440 * static_cast<double>(i) / 16000)));
    auto w = makeWav(1, 1, 16000, 16, pcm16(tone));
    auto clip = parseWav(w.data(), w.size(), "tone.wav");
    ASSERT_TRUE(clip.ok()) << clip.error().what();
    EXPECT_EQ(clip->sampleRate, 16000);
    ASSERT_EQ(clip->samples.size(), 1600u);
    for (size_t i = 0; i < 1600; i += 97) EXPECT_FLOAT_EQ(clip->samples[i], tone[i] / 32768.0f);

    // Stereo: left = tone, right = silence -> mono is half the tone.
    std::vector<int16_t> lr;
    for (int16_t s : tone) {
        lr.push_back(s);
        lr.push_back(0);
    }
    w = makeWav(1, 2, 16000, 16, pcm16(lr));
    clip = parseWav(w.data(), w.size(), "lr.wav");
    ASSERT_TRUE(clip.ok()) << clip.error().what();
    EXPECT_EQ(clip->channels, 2);
    ASSERT_EQ(clip->samples.size(), 1600u);
    EXPECT_FLOAT_EQ(clip->samples[5], tone[5] / 65536.0f);
}

TEST(WavReader, RealFloatStereoFileFromScipy) {
    const std::string f = std::string(kScipyWavDir) + "/test-44100Hz-2ch-32bit-float-le.wav";
    requireFile(f, "python3-scipy");
    auto clip = readWav(f);
    ASSERT_TRUE(clip.ok()) << clip.error().what();
    EXPECT_EQ(clip->sampleRate, 44100);
    EXPECT_EQ(clip->channels, 2);
    // Frames = data bytes / 8 for two f32 channels; the samples are finite and within [-1, 1].
    auto raw = fileBytes(f);
    EXPECT_GT(clip->samples.size(), 0u);
    EXPECT_LT(clip->samples.size() * 8, raw.size());
    for (float v : clip->samples) {
        ASSERT_TRUE(std::isfinite(v));
        ASSERT_LE(std::abs(v), 1.0f);
    }
}

TEST(WavReader, BrokenAndUnsupportedFiles) {
    std::vector<int16_t> tone(100, 1000);
    auto good = makeWav(1, 1, 16000, 16, pcm16(tone));

    auto bad = good;
    std::memcpy(bad.data() + 8, "WAVX", 4);
    auto r = parseWav(bad.data(), bad.size(), "magic.wav");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Format);
    EXPECT_TRUE(contains(r.error().what(), "magic.wav at byte 0")) << r.error().what();

    r = parseWav(good.data(), good.size() - 50, "cut.wav");  // data chunk runs past the end
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "truncated")) << r.error().what();
    EXPECT_TRUE(contains(r.error().what(), "cut.wav at byte 36")) << r.error().what();

    r = parseWav(good.data(), 8, "tiny.wav");
    ASSERT_FALSE(r.ok());

    auto odd = makeWav(1, 1, 16000, 16, std::vector<uint8_t>(7, 0));  // 3.5 frames
    r = parseWav(odd.data(), odd.size(), "odd.wav");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "whole number")) << r.error().what();

    auto wrongAlign = good;
    wrongAlign[32] = 4;  // block align 4 for mono 16-bit
    r = parseWav(wrongAlign.data(), wrongAlign.size(), "align.wav");
    ASSERT_FALSE(r.ok());

    // Found by dataset_fuzz: a rate past INT_MAX used to come back as a negative int.
    auto absurdRate = makeWav(1, 1, 0xFFFFFFF0u, 16, pcm16(tone));
    r = parseWav(absurdRate.data(), absurdRate.size(), "rate.wav");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "not a plausible audio rate")) << r.error().what();

    auto pcm24 = makeWav(1, 1, 8000, 24, std::vector<uint8_t>(30, 0));
    r = parseWav(pcm24.data(), pcm24.size(), "24.wav");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);

    // Real odd files from scipy's test data: a file that ends early, and a big-endian one.
    const std::string early = std::string(kScipyWavDir) + "/test-44100Hz-le-1ch-4bytes-early-eof.wav";
    requireFile(early, "python3-scipy");
    r = readWav(early);
    ASSERT_FALSE(r.ok());
    r = readWav(std::string(kScipyWavDir) + "/test-44100Hz-2ch-32bit-float-be.wav");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
}

TEST(WavReader, FolderDatasetRateMismatchAndResampling) {
    const std::string dir = test::tempDir();
    std::vector<int16_t> a(1600, 3000), b(800, -3000);
    writeBytes(dir + "/yes/a.wav", makeWav(1, 1, 16000, 16, pcm16(a)));
    writeBytes(dir + "/no/b.wav", makeWav(1, 1, 8000, 16, pcm16(b)));  // another rate

    auto ds = openDataset("wav:" + dir, audioOpt(16000, false, 0));
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    EXPECT_EQ((*ds)->classNames(), (std::vector<std::string>{"no", "yes"}));
    auto s = (*ds)->sample(0);  // no/b.wav at 8 kHz
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(contains(s.error().what(), "8000 Hz")) << s.error().what();
    EXPECT_TRUE(contains(s.error().what(), "b.wav")) << s.error().what();

    ds = openDataset("wav:" + dir, audioOpt(16000, true, 2000));
    ASSERT_TRUE(ds.ok());
    BatchOptions bo;
    bo.batchSize = 2;
    auto batch = BatchIterator(**ds, bo).batch(0);
    ASSERT_TRUE(batch.ok()) << batch.error().what();
    EXPECT_EQ(batch->inputs[0].shape(), (Shape{2, 2000}));
    const float* p = batch->inputs[0].data<float>();
    EXPECT_NEAR(p[1000], -3000 / 32768.0f, 1e-6);  // 800 samples at 8 kHz -> 1600 at 16 kHz
    EXPECT_EQ(p[1700], 0.0f);                      // zero padding past the clip
    EXPECT_EQ(batch->labels, (std::vector<int64_t>{0, 1}));
}

// ---- text ----

TEST(TextCorpus, FilesAsDocumentsAndInvalidUtf8) {
    const std::string dir = test::tempDir();
    fs::create_directories(dir + "/ham");
    fs::create_directories(dir + "/spam");
    std::ofstream(dir + "/ham/1.txt") << "Grüße aus Köln — see you at 10.";
    std::ofstream(dir + "/spam/1.txt") << "\xEF\xBB\xBFWIN a prize now";
    auto ds = openDataset("text:" + dir);
    ASSERT_TRUE(ds.ok()) << ds.error().what();
    EXPECT_EQ((*ds)->size(), 2);
    EXPECT_EQ((*ds)->classNames(), (std::vector<std::string>{"ham", "spam"}));
    auto s = (*ds)->sample(1);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->inputs[0].strings()[0], "WIN a prize now");  // byte-order mark dropped
    BatchOptions bo;
    bo.batchSize = 2;
    auto b = BatchIterator(**ds, bo).batch(0);
    ASSERT_TRUE(b.ok()) << b.error().what();
    EXPECT_EQ(b->inputs[0].dtype(), DType::String);
    EXPECT_EQ(b->inputs[0].strings()[0], "Grüße aus Köln — see you at 10.");

    std::ofstream(dir + "/spam/2.txt") << "ok then \xC3\x28 broken";
    auto bad = readUtf8File(dir + "/spam/2.txt");
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(contains(bad.error().what(), "2.txt at byte 8")) << bad.error().what();
    EXPECT_EQ(firstInvalidUtf8("\xED\xA0\x80"), 0);        // a UTF-16 surrogate
    EXPECT_EQ(firstInvalidUtf8("ab\xC0\xAF"), 2);          // overlong '/'
    EXPECT_EQ(firstInvalidUtf8("\xF0\x9F\x98\x80 ok"), -1);  // an emoji
}

TEST(OpenDataset, SpecsAndGuesses) {
    auto r = openDataset("nosuch:/tmp");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().what(), "unknown dataset kind")) << r.error().what();
    r = openDataset("/does/not/exist");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Io);
    r = openDataset(mnistDir());  // a bare folder of IDX files
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ((*r)->size(), 10000);
    r = openDataset("mnist:" + mnistDir(), splitOpt("validation"));
    ASSERT_FALSE(r.ok());
    const std::string empty = test::tempDir();
    std::ofstream(empty + "/notes.bin") << "x";
    r = openDataset(empty);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unsupported);
}

}  // namespace
}  // namespace by
