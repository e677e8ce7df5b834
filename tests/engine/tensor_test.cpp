#include "engine/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "engine/mapped_file.h"
#include "engine/quant_blocks.h"
#include "tests/test_support.h"

using namespace by;

namespace {

template <class T>
std::vector<uint8_t> bytesOf(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

std::vector<float> floatsOf(const Tensor& t) {
    auto f = t.toFloats();
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().what());
    return f.ok() ? *f : std::vector<float>{};
}

std::shared_ptr<MappedFile> mapFloats(const std::vector<float>& v, std::string* pathOut = nullptr) {
    const std::string path = test::tempDir() + "/floats.bin";
    const auto b = bytesOf(v);
    EXPECT_TRUE(writeWholeFile(path, b).ok());
    auto f = MappedFile::open(path);
    EXPECT_TRUE(f.ok());
    if (pathOut) *pathOut = path;
    return f.ok() ? *f : nullptr;
}

}  // namespace

TEST(Tensor, ZerosHasTheRightSizeAndContent) {
    auto t = Tensor::zeros(DType::F32, {2, 3});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->nbytes(), 24u);
    EXPECT_EQ(t->numel(), 6);
    EXPECT_EQ(t->rank(), 2);
    EXPECT_FALSE(t->isMapped());
    EXPECT_EQ(floatsOf(*t), std::vector<float>(6, 0.f));
    auto scalar = Tensor::zeros(DType::I64, {});
    ASSERT_TRUE(scalar.ok());
    EXPECT_EQ(scalar->numel(), 1);
    EXPECT_EQ(scalar->nbytes(), 8u);
    auto packed = Tensor::zeros(DType::Int4, {5});
    ASSERT_TRUE(packed.ok());
    EXPECT_EQ(packed->nbytes(), 3u);
    auto blocks = Tensor::zeros(DType::Q4_0, {2, 32});
    ASSERT_TRUE(blocks.ok());
    EXPECT_EQ(blocks->nbytes(), 36u);
}

TEST(Tensor, BadAndAbsurdShapesAreInvalid) {
    auto neg = Tensor::zeros(DType::F32, {2, -1});
    ASSERT_FALSE(neg.ok());
    EXPECT_EQ(neg.error().code, ErrorCode::Invalid);
    auto huge = Tensor::zeros(DType::F32, {int64_t(1) << 30, int64_t(1) << 30});
    ASSERT_FALSE(huge.ok());
    EXPECT_EQ(huge.error().code, ErrorCode::Invalid);
    EXPECT_NE(huge.error().message.find("absurdly large"), std::string::npos);
    auto overflow = Tensor::zeros(DType::U8, {std::numeric_limits<int64_t>::max(), 4});
    ASSERT_FALSE(overflow.ok());
    EXPECT_EQ(overflow.error().code, ErrorCode::Invalid);
    auto partialBlock = Tensor::zeros(DType::Q4_0, {33});
    ASSERT_FALSE(partialBlock.ok());
    EXPECT_EQ(partialBlock.error().code, ErrorCode::Invalid);
}

TEST(Tensor, FromBytesChecksTheByteCount) {
    auto ok = Tensor::fromBytes(DType::I16, {3}, {1, 0, 2, 0, 0xff, 0xff});
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(floatsOf(*ok), (std::vector<float>{1, 2, -1}));
    auto shortBy1 = Tensor::fromBytes(DType::I16, {3}, {1, 0, 2, 0, 0});
    ASSERT_FALSE(shortBy1.ok());
    EXPECT_EQ(shortBy1.error().code, ErrorCode::Invalid);
    EXPECT_NE(shortBy1.error().message.find("needs 6 bytes, got 5"), std::string::npos);
    auto neg = Tensor::fromBytes(DType::F32, {-4}, {});
    EXPECT_FALSE(neg.ok());
}

TEST(Tensor, FromMappedChecksRangeAgainstTheFile) {
    const std::vector<float> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    auto file = mapFloats(v);
    ASSERT_TRUE(file);
    ASSERT_EQ(file->size(), 64u);
    auto mid = Tensor::fromMapped(file, 16, DType::F32, {2, 2});
    ASSERT_TRUE(mid.ok());
    EXPECT_TRUE(mid->isMapped());
    EXPECT_EQ(mid->rawData(), file->data() + 16);
    EXPECT_EQ(floatsOf(*mid), (std::vector<float>{4, 5, 6, 7}));
    auto tail = Tensor::fromMapped(file, 48, DType::F32, {4});
    ASSERT_TRUE(tail.ok());
    EXPECT_EQ(floatsOf(*tail), (std::vector<float>{12, 13, 14, 15}));
    auto past = Tensor::fromMapped(file, 52, DType::F32, {4});
    ASSERT_FALSE(past.ok());
    EXPECT_EQ(past.error().code, ErrorCode::Format);
    auto offsetPast = Tensor::fromMapped(file, 65, DType::U8, {0});
    EXPECT_FALSE(offsetPast.ok());
    auto empty = Tensor::fromMapped(file, 64, DType::U8, {0});
    EXPECT_TRUE(empty.ok());
    auto bad = Tensor::fromMapped(file, 0, DType::F32, {-1});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Invalid);
}

TEST(Tensor, MutableDataCopiesMappedStorageOnFirstWrite) {
    std::string path;
    auto file = mapFloats({1, 2, 3, 4}, &path);
    ASSERT_TRUE(file);
    auto t = Tensor::fromMapped(file, 4, DType::F32, {2});
    ASSERT_TRUE(t.ok());
    Tensor copy = *t;
    float* p = copy.mutableData<float>();
    ASSERT_NE(p, nullptr);
    EXPECT_FALSE(copy.isMapped());
    EXPECT_EQ(p[0], 2.f);
    p[0] = 42.f;
    EXPECT_EQ(floatsOf(copy), (std::vector<float>{42, 3}));
    EXPECT_TRUE(t->isMapped());
    EXPECT_EQ(floatsOf(*t), (std::vector<float>{2, 3}));
    auto onDisk = readWholeFile(path);
    ASSERT_TRUE(onDisk.ok());
    float second;
    std::memcpy(&second, onDisk->data() + 4, 4);
    EXPECT_EQ(second, 2.f);
    // Shared owned storage is copied too; a sole owner writes in place.
    Tensor a = Tensor::fromFloats({2}, {1, 2});
    Tensor b = a;
    b.mutableData<float>()[1] = 7;
    EXPECT_EQ(floatsOf(a), (std::vector<float>{1, 2}));
    EXPECT_EQ(floatsOf(b), (std::vector<float>{1, 7}));
    const uint8_t* before = b.rawData();
    b.mutableData<float>()[0] = 9;
    EXPECT_EQ(b.rawData(), before);
}

TEST(Tensor, ToFloatsForHalfTypesAndIntegers) {
    auto h = Tensor::fromBytes(DType::F16, {3}, bytesOf<uint16_t>({0x3C00, 0xC000, 0x3800}));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(floatsOf(*h), (std::vector<float>{1.f, -2.f, 0.5f}));
    auto bf = Tensor::fromBytes(DType::BF16, {2}, bytesOf<uint16_t>({0x3F80, 0xC040}));
    ASSERT_TRUE(bf.ok());
    EXPECT_EQ(floatsOf(*bf), (std::vector<float>{1.f, -3.f}));
    auto i8 = Tensor::fromBytes(DType::I8, {3}, bytesOf<int8_t>({-128, 5, 127}));
    ASSERT_TRUE(i8.ok());
    EXPECT_EQ(floatsOf(*i8), (std::vector<float>{-128, 5, 127}));
    auto u8 = Tensor::fromBytes(DType::U8, {2}, {255, 0});
    EXPECT_EQ(floatsOf(*u8), (std::vector<float>{255, 0}));
    EXPECT_EQ(floatsOf(Tensor::fromInt64s({2}, {-3, 1000000})), (std::vector<float>{-3, 1000000}));
    auto str = Tensor::fromStrings({1}, {"a"});
    auto f = str.toFloats();
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ErrorCode::Unsupported);
}

TEST(Tensor, ToFloatsInt4WithGroupScalesAndZeros) {
    // q = [1, -2, 7, -8] packed low nibble first: 0xE1, 0x87.
    auto t = Tensor::fromBytes(DType::Int4, {4}, {0xE1, 0x87});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(floatsOf(*t), (std::vector<float>{1, -2, 7, -8}));
    auto q = std::make_shared<QuantParams>();
    q->groupSize = 2;
    q->scales = {0.5f, 2.0f};
    t->setQuant(q);
    EXPECT_EQ(floatsOf(*t), (std::vector<float>{0.5f, -1.f, 14.f, -16.f}));
    auto qz = std::make_shared<QuantParams>(*q);
    qz->zeros = {1.f, 0.f};
    t->setQuant(qz);
    EXPECT_EQ(floatsOf(*t), (std::vector<float>{0.f, -1.5f, 14.f, -16.f}));
    auto few = std::make_shared<QuantParams>();
    few->groupSize = 2;
    few->scales = {1.f};
    t->setQuant(few);
    auto r = t->toFloats();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Invalid);
    auto u4 = Tensor::fromBytes(DType::UInt4, {3}, {0xF0, 0x09});
    ASSERT_TRUE(u4.ok());
    EXPECT_EQ(floatsOf(*u4), (std::vector<float>{0, 15, 9}));
}

TEST(Tensor, ToFloatsBit1IsSigns) {
    // bits 1,0,0,1,1,0,0,0 | 1 -> 0x19, 0x01
    auto t = Tensor::fromBytes(DType::Bit1, {9}, {0x19, 0x01});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(floatsOf(*t), (std::vector<float>{1, -1, -1, 1, 1, -1, -1, -1, 1}));
    auto q = std::make_shared<QuantParams>();
    q->groupSize = 9;
    q->scales = {0.25f};
    t->setQuant(q);
    EXPECT_EQ(floatsOf(*t),
              (std::vector<float>{0.25f, -0.25f, -0.25f, 0.25f, 0.25f, -0.25f, -0.25f, -0.25f, 0.25f}));
}

TEST(Tensor, ToFloatsGgmlBlocks) {
    // Q4_0: f16 scale 0.5, then 16 bytes: low nibbles are elements 0..15, high nibbles 16..31.
    std::vector<uint8_t> q4(18, 0x88);
    q4[0] = 0x00;
    q4[1] = 0x38;  // 0.5
    q4[2] = 0x0F;  // element 0 -> (15 - 8) * 0.5, element 16 -> (0 - 8) * 0.5
    q4[17] = 0x39;  // element 15 -> (9 - 8) * 0.5, element 31 -> (3 - 8) * 0.5
    auto t4 = Tensor::fromBytes(DType::Q4_0, {32}, q4);
    ASSERT_TRUE(t4.ok());
    auto v4 = floatsOf(*t4);
    ASSERT_EQ(v4.size(), 32u);
    EXPECT_EQ(v4[0], 3.5f);
    EXPECT_EQ(v4[16], -4.f);
    EXPECT_EQ(v4[15], 0.5f);
    EXPECT_EQ(v4[31], -2.5f);
    EXPECT_EQ(v4[7], 0.f);
    // Q8_0: f16 scale 0.25, then 32 signed bytes.
    std::vector<uint8_t> q8(34, 0);
    q8[1] = 0x34;  // 0.25
    q8[2] = static_cast<uint8_t>(-4);
    q8[33] = 127;
    auto t8 = Tensor::fromBytes(DType::Q8_0, {32}, q8);
    ASSERT_TRUE(t8.ok());
    auto v8 = floatsOf(*t8);
    EXPECT_EQ(v8[0], -1.f);
    EXPECT_EQ(v8[1], 0.f);
    EXPECT_EQ(v8[31], 31.75f);
}

TEST(Tensor, QuantizeBlocksRoundTripWithinBounds) {
    std::vector<float> src(96);
    for (size_t k = 0; k < src.size(); ++k)
        src[k] = std::sin(0.37f * static_cast<float>(k)) * (1.f + static_cast<float>(k / 32));
    for (DType t : {DType::Q8_0, DType::Q4_0}) {
        SCOPED_TRACE(dtypeName(t));
        std::vector<uint8_t> packed(static_cast<size_t>(dtypeStorageBytes(t, 96)));
        ASSERT_TRUE(quantizeBlocks(t, src.data(), 96, packed.data()).ok());
        auto tensor = Tensor::fromBytes(t, {3, 32}, packed);
        ASSERT_TRUE(tensor.ok());
        auto back = floatsOf(*tensor);
        ASSERT_EQ(back.size(), 96u);
        for (size_t b = 0; b < 3; ++b) {
            float amax = 0;
            for (size_t k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(src[b * 32 + k]));
            // Q8_0: half a step of amax/127 (plus the f16 rounding of the scale). Q4_0: the step is
            // amax/8 and the value opposite the largest one may clamp by a whole step.
            const float bound = t == DType::Q8_0 ? 0.6f * amax / 127.f : 1.1f * amax / 8.f;
            for (size_t k = 0; k < 32; ++k)
                EXPECT_LE(std::fabs(back[b * 32 + k] - src[b * 32 + k]), bound) << "element " << b * 32 + k;
        }
    }
    std::vector<uint8_t> out(34);
    EXPECT_FALSE(quantizeBlocks(DType::Q8_0, src.data(), 31, out.data()).ok());
    EXPECT_FALSE(quantizeBlocks(DType::Q5_K, src.data(), 256, out.data()).ok());
}

TEST(Tensor, ComputeStatsHistogramSparsityAndNaN) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    Tensor t = Tensor::fromFloats({7}, {0, 0, 1, 2, 3, nan, inf});
    auto s = computeStats(t, 3);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->count, 7);
    EXPECT_EQ(s->nanCount, 1);
    EXPECT_EQ(s->infCount, 1);
    EXPECT_DOUBLE_EQ(s->min, 0.0);
    EXPECT_DOUBLE_EQ(s->max, 3.0);
    EXPECT_DOUBLE_EQ(s->mean, 1.2);
    EXPECT_NEAR(s->stddev, std::sqrt(1.36), 1e-12);
    EXPECT_DOUBLE_EQ(s->sparsity, 2.0 / 7.0);
    EXPECT_EQ(s->histogram, (std::vector<int64_t>{2, 1, 2}));
    auto allNan = computeStats(Tensor::fromFloats({2}, {nan, nan}), 4);
    ASSERT_TRUE(allNan.ok());
    EXPECT_EQ(allNan->nanCount, 2);
    EXPECT_EQ(allNan->histogram, (std::vector<int64_t>(4, 0)));
    auto flat = computeStats(Tensor::fromFloats({3}, {5, 5, 5}), 2);
    ASSERT_TRUE(flat.ok());
    EXPECT_EQ(flat->histogram, (std::vector<int64_t>{3, 0}));
    EXPECT_DOUBLE_EQ(flat->stddev, 0.0);
    EXPECT_FALSE(computeStats(Tensor::fromStrings({1}, {"x"})).ok());
}

TEST(Tensor, SameContentComparesEverything) {
    Tensor a = Tensor::fromFloats({2}, {1, 2});
    EXPECT_TRUE(a.sameContent(Tensor::fromFloats({2}, {1, 2})));
    EXPECT_FALSE(a.sameContent(Tensor::fromFloats({2}, {1, 3})));
    EXPECT_FALSE(a.sameContent(Tensor::fromFloats({1, 2}, {1, 2})));
    auto asInt = Tensor::fromBytes(DType::I32, {2}, bytesOf<float>({1, 2}));
    EXPECT_FALSE(a.sameContent(*asInt));
    Tensor q1 = *Tensor::fromBytes(DType::Int4, {2}, {0x21});
    Tensor q2 = q1;
    auto p = std::make_shared<QuantParams>();
    p->groupSize = 2;
    p->scales = {1.f};
    q1.setQuant(p);
    EXPECT_FALSE(q1.sameContent(q2));
    auto p2 = std::make_shared<QuantParams>(*p);
    q2.setQuant(p2);
    EXPECT_TRUE(q1.sameContent(q2));
    p2->scales = {2.f};
    EXPECT_FALSE(q1.sameContent(q2));
    EXPECT_TRUE(Tensor::fromStrings({2}, {"a", "b"}).sameContent(Tensor::fromStrings({2}, {"a", "b"})));
    EXPECT_FALSE(Tensor::fromStrings({2}, {"a", "b"}).sameContent(Tensor::fromStrings({2}, {"a", "c"})));
    EXPECT_TRUE(Tensor().sameContent(Tensor()));
}

TEST(Tensor, ReshapedKeepsStorageAndChecksCount) {
    Tensor a = Tensor::fromFloats({2, 3}, {1, 2, 3, 4, 5, 6});
    auto r = a.reshaped({3, 2});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->shape(), (Shape{3, 2}));
    EXPECT_EQ(r->rawData(), a.rawData());
    auto bad = a.reshaped({4, 2});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Invalid);
    EXPECT_EQ(shapeNumel({}), 1);
    EXPECT_EQ(shapeNumel({3, -1}), -1);
    EXPECT_EQ(shapeToString({1, 3, 48, 320}), "[1,3,48,320]");
}
