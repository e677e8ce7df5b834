#include "importers/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "tests/test_support.h"

namespace by {
namespace {

std::vector<uint8_t> handMade(const std::string& header, const std::vector<uint8_t>& payload) {
    std::string h = header;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    const uint8_t magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(h.size()), 0};
    std::vector<uint8_t> b(sizeof magic + h.size() + payload.size());
    std::memcpy(b.data(), magic, sizeof magic);
    std::memcpy(b.data() + sizeof magic, h.data(), h.size());
    if (!payload.empty()) std::memcpy(b.data() + sizeof magic + h.size(), payload.data(), payload.size());
    return b;
}

TEST(Npy, RoundTripsEveryType) {
    const std::string dir = test::tempDir();
    for (DType t : {DType::F32, DType::F64, DType::F16, DType::I8, DType::U8, DType::I16, DType::U16, DType::I32,
                    DType::U32, DType::I64, DType::U64, DType::Bool}) {
        auto z = Tensor::zeros(t, {2, 3});
        ASSERT_TRUE(z.ok());
        Tensor x = *z;
        uint8_t* p = x.mutableRawData();
        for (size_t i = 0; i < x.nbytes(); ++i) p[i] = t == DType::Bool ? (i % 2) : static_cast<uint8_t>(i * 7 + 1);
        const std::string path = dir + "/" + dtypeName(t) + ".npy";
        ASSERT_TRUE(writeNpy(path, x).ok());
        auto back = readNpy(path);
        ASSERT_TRUE(back.ok()) << back.error().what();
        EXPECT_TRUE(back->sameContent(x)) << dtypeName(t);
    }
    auto scalar = Tensor::fromFloats({}, {2.5f});
    ASSERT_TRUE(writeNpy(dir + "/s.npy", scalar).ok());
    auto s = readNpy(dir + "/s.npy");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->shape(), Shape{});
    EXPECT_EQ(s->data<float>()[0], 2.5f);
}

TEST(Npy, ReadsFilesNumpyWrote) {
    auto img = readNpy(test::dataDir() + "/executor/text_brickyard_2024.npy");
    ASSERT_TRUE(img.ok()) << img.error().what();
    EXPECT_EQ(img->dtype(), DType::U8);
    EXPECT_EQ(img->shape(), (Shape{48, 320}));
    auto audio = readNpy(test::dataDir() + "/executor/speech_16k.npy");
    ASSERT_TRUE(audio.ok());
    EXPECT_EQ(audio->dtype(), DType::I16);
    EXPECT_EQ(audio->shape(), (Shape{48000}));
}

TEST(Npy, ConvertsBigEndianAndFortranOrder) {
    const auto bytes = handMade("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", {0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe});
    auto be = parseNpy(bytes.data(), bytes.size());
    ASSERT_TRUE(be.ok()) << be.error().what();
    EXPECT_EQ(be->data<int32_t>()[0], 258);
    EXPECT_EQ(be->data<int32_t>()[1], -2);
    // Fortran order [[1,2,3],[4,5,6]] is stored column by column: 1 4 2 5 3 6.
    const auto f = handMade("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", {1, 4, 2, 5, 3, 6});
    auto fo = parseNpy(f.data(), f.size());
    ASSERT_TRUE(fo.ok()) << fo.error().what();
    const uint8_t* p = fo->data<uint8_t>();
    EXPECT_EQ(std::vector<uint8_t>(p, p + 6), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

TEST(Npy, RejectsBrokenFiles) {
    const std::vector<uint8_t> junk = {'n', 'o', 't', ' ', 'n', 'p', 'y', '!', 0, 0, 0, 0};
    EXPECT_EQ(parseNpy(junk.data(), junk.size()).error().code, ErrorCode::Format);
    const auto shortData = handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", {0, 0, 0, 0});
    auto r = parseNpy(shortData.data(), shortData.size());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("truncated"), std::string::npos) << r.error().what();
    const auto obj = handMade("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", {0, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(parseNpy(obj.data(), obj.size()).error().code, ErrorCode::Unsupported);
    const auto huge = handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", {});
    EXPECT_FALSE(parseNpy(huge.data(), huge.size()).ok());
    auto truncatedHeader = handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", {0, 0, 0, 0});
    truncatedHeader.resize(20);
    EXPECT_FALSE(parseNpy(truncatedHeader.data(), truncatedHeader.size()).ok());
    EXPECT_EQ(readNpy("/nonexistent/x.npy").error().code, ErrorCode::Io);
}

}  // namespace
}  // namespace by
