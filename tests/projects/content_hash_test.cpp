#include "projects/content_hash.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/test_support.h"

namespace by {
namespace {

namespace fs = std::filesystem;

void writeFile(const std::string& path, const std::string& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// FIPS 180-2 test vectors.
TEST(ContentHash, KnownVectors) {
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(ContentHash, FileIsStreamedAcrossChunks) {
    const std::string dir = by::test::tempDir();
    // A million 'a's is the classic long vector; three and a bit MiB crosses several read chunks.
    writeFile(dir + "/million.bin", std::string(1'000'000, 'a'));
    auto h = hashFile(dir + "/million.bin");
    ASSERT_TRUE(h.ok()) << h.error().what();
    EXPECT_EQ(h->sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    EXPECT_EQ(h->sizeBytes, 1'000'000);

    std::string big(3 * (1 << 20) + 12345, '\0');
    for (size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 2654435761u >> 24);
    writeFile(dir + "/big.bin", big);
    auto hb = hashFile(dir + "/big.bin");
    ASSERT_TRUE(hb.ok());
    EXPECT_EQ(hb->sha256, sha256Hex(big));
    EXPECT_EQ(hb->sizeBytes, static_cast<int64_t>(big.size()));
}

TEST(ContentHash, RealModelThroughASymlink) {
    const std::string model = by::test::asset("models/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    auto h = hashContent(model);
    ASSERT_TRUE(h.ok()) << h.error().what();
    EXPECT_EQ(h->sizeBytes, static_cast<int64_t>(fs::file_size(model)));
    const std::string link = by::test::tempDir() + "/link.onnx";
    fs::create_symlink(model, link);
    EXPECT_EQ(hashContent(link)->sha256, h->sha256);
}

TEST(ContentHash, FolderHashDependsOnContentAndNamesNotLocation) {
    const std::string root = by::test::tempDir();
    writeFile(root + "/one/a.txt", "alpha");
    writeFile(root + "/one/sub/b.txt", "beta");
    fs::create_directories(root + "/one/empty");
    auto h1 = hashFolder(root + "/one");
    ASSERT_TRUE(h1.ok()) << h1.error().what();
    EXPECT_EQ(h1->sizeBytes, 9);

    fs::copy(root + "/one", root + "/two", fs::copy_options::recursive);
    EXPECT_EQ(hashFolder(root + "/two")->sha256, h1->sha256);

    writeFile(root + "/two/sub/b.txt", "BETA");
    EXPECT_NE(hashFolder(root + "/two")->sha256, h1->sha256);
    writeFile(root + "/two/sub/b.txt", "beta");
    fs::rename(root + "/two/a.txt", root + "/two/c.txt");
    EXPECT_NE(hashFolder(root + "/two")->sha256, h1->sha256);
}

TEST(ContentHash, ErrorsNameThePath) {
    const std::string dir = by::test::tempDir();
    auto missing = hashContent(dir + "/none");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::Io);
    EXPECT_NE(missing.error().what().find(dir + "/none"), std::string::npos);
    EXPECT_FALSE(hashFile(dir).ok());
    EXPECT_FALSE(hashFolder(dir + "/none").ok());
}

}  // namespace
}  // namespace by
