#include "engine/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

namespace by {
namespace {

// Ten samples of U8 [2,1,3]: sample i holds the values i*10 + (0..5); label i % 3.
std::shared_ptr<TensorDataset> smallDataset() {
    std::vector<uint8_t> bytes;
    std::vector<int64_t> labels;
    for (int i = 0; i < 10; ++i) {
        for (int k = 0; k < 6; ++k) bytes.push_back(static_cast<uint8_t>(i * 10 + k));
        labels.push_back(i % 3);
    }
    auto t = Tensor::fromBytes(DType::U8, {10, 2, 1, 3}, bytes);
    EXPECT_TRUE(t.ok());
    auto ds = TensorDataset::create("small", std::move(*t), labels, {"a", "b", "c"});
    EXPECT_TRUE(ds.ok()) << (ds ? "" : ds.error().what());
    return *ds;
}

TEST(Dataset, TensorDatasetSamplesAndShapes) {
    auto ds = smallDataset();
    EXPECT_EQ(ds->size(), 10);
    EXPECT_EQ(ds->inputShapes()[0], (Shape{2, 1, 3}));
    EXPECT_EQ(ds->inputDTypes()[0], DType::U8);
    auto s = ds->sample(7);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->label, 1);
    ASSERT_EQ(s->inputs.size(), 1u);
    EXPECT_EQ(s->inputs[0].shape(), (Shape{2, 1, 3}));
    EXPECT_EQ(s->inputs[0].data<uint8_t>()[0], 70);
    EXPECT_EQ(s->inputs[0].data<uint8_t>()[5], 75);
    auto bad = ds->sample(10);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::Invalid);
    auto counts = classCounts(*ds);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(*counts, (std::vector<int64_t>{4, 3, 3}));
}

TEST(Dataset, TensorDatasetRejectsBadLabels) {
    auto t = Tensor::fromBytes(DType::U8, {2, 2}, {1, 2, 3, 4});
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE(TensorDataset::create("x", *t, {0, 1, 2}, {}).ok());       // 3 labels, 2 samples
    EXPECT_FALSE(TensorDataset::create("x", *t, {0, 5}, {"a", "b"}).ok());  // label past the classes
}

TEST(Dataset, BatchesCoverEverySampleOnceAndStack) {
    auto ds = smallDataset();
    BatchOptions o;
    o.batchSize = 4;
    BatchIterator it(*ds, o);
    EXPECT_EQ(it.batchCount(), 3);
    std::vector<int64_t> seen;
    int n = 0;
    while (auto b = it.next()) {
        ASSERT_TRUE(b->ok()) << b->error().what();
        const Batch& batch = b->value();
        EXPECT_EQ(batch.index, n++);
        ASSERT_EQ(batch.inputs.size(), 1u);
        EXPECT_EQ(batch.inputs[0].dtype(), DType::F32);
        EXPECT_EQ(batch.inputs[0].shape(), (Shape{batch.size(), 2, 1, 3}));
        for (int64_t r = 0; r < batch.size(); ++r) {
            const int64_t idx = batch.sampleIndices[static_cast<size_t>(r)];
            EXPECT_EQ(batch.labels[static_cast<size_t>(r)], idx % 3);
            EXPECT_FLOAT_EQ(batch.inputs[0].data<float>()[r * 6 + 4], static_cast<float>(idx * 10 + 4));
            seen.push_back(idx);
        }
    }
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(it.batch(2)->size(), 2);  // the short last batch is kept by default

    o.dropLast = true;
    BatchIterator dropping(*ds, o);
    EXPECT_EQ(dropping.batchCount(), 2);
    EXPECT_FALSE(dropping.batch(2).ok());
}

TEST(Dataset, ShuffleIsSeededPerEpochAndAPermutation) {
    auto ds = smallDataset();
    BatchOptions o;
    o.batchSize = 3;
    o.shuffle = true;
    o.seed = 42;
    BatchIterator a(*ds, o), b(*ds, o);
    EXPECT_EQ(a.order(), b.order());
    std::vector<int64_t> sorted = a.order();
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    std::vector<int64_t> identity(10);
    for (int i = 0; i < 10; ++i) identity[static_cast<size_t>(i)] = i;
    EXPECT_NE(a.order(), identity);

    const auto first = a.order();
    a.setEpoch(1);
    EXPECT_NE(a.order(), first);
    a.setEpoch(0);
    EXPECT_EQ(a.order(), first);

    o.seed = 43;
    BatchIterator c(*ds, o);
    EXPECT_NE(c.order(), first);
    // The permutation is defined by the project, not the standard library: pin one value so a
    // change to it (which would change every shuffled training run) is noticed.
    EXPECT_EQ(seededPermutation(5, 1), (std::vector<int64_t>{2, 1, 4, 3, 0}));
}

TEST(Dataset, ShuffledPermutationIsRoughlyUniform) {
    // Position of element 0 after shuffling 4 elements, over many seeds: each of the 4 places
    // should come up about a quarter of the time.
    std::vector<int> hits(4, 0);
    for (uint64_t seed = 0; seed < 4000; ++seed) {
        auto p = seededPermutation(4, seed);
        hits[static_cast<size_t>(std::find(p.begin(), p.end(), 0) - p.begin())]++;
    }
    for (int h : hits) EXPECT_NEAR(h, 1000, 120);
}

TEST(Dataset, NormalizationScalarAndPerChannel) {
    auto ds = smallDataset();
    BatchOptions o;
    o.batchSize = 10;
    o.normalize = Normalization{0.5f, {1.0f}, {2.0f}};
    auto b = BatchIterator(*ds, o).batch(0);
    ASSERT_TRUE(b.ok());
    // sample 3, element 2: value 32 -> (32*0.5 - 1) / 2 = 7.5
    EXPECT_FLOAT_EQ(b->inputs[0].data<float>()[3 * 6 + 2], 7.5f);

    o.normalize = Normalization{1.0f, {0.0f, 10.0f}, {1.0f, 5.0f}};  // two channels = first dim
    b = BatchIterator(*ds, o).batch(0);
    ASSERT_TRUE(b.ok());
    EXPECT_FLOAT_EQ(b->inputs[0].data<float>()[1 * 6 + 1], 11.0f);              // channel 0: 11
    EXPECT_FLOAT_EQ(b->inputs[0].data<float>()[1 * 6 + 4], (14.0f - 10) / 5);  // channel 1

    o.normalize = Normalization{1.0f, {0.0f, 0.0f, 0.0f}, {}};  // 3 channels for a 2-channel sample
    b = BatchIterator(*ds, o).batch(0);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().what().find("sample 0"), std::string::npos) << b.error().what();
}

// A dataset whose samples change shape (like audio clips): batches must refuse to stack them.
class RaggedDataset : public Dataset {
public:
    std::string name() const override { return "ragged"; }
    int64_t size() const override { return 4; }
    Result<Sample> sample(int64_t i) const override {
        Sample s;
        s.inputs.push_back(Tensor::fromFloats({i + 1}, std::vector<float>(static_cast<size_t>(i + 1), 1.0f)));
        return s;
    }
    std::vector<Shape> inputShapes() const override { return {{-1}}; }
    std::vector<DType> inputDTypes() const override { return {DType::F32}; }
    const std::vector<std::string>& classNames() const override { return m_none; }

private:
    std::vector<std::string> m_none;
};

TEST(Dataset, RaggedSamplesFailNamingTheSample) {
    RaggedDataset ds;
    BatchOptions o;
    o.batchSize = 1;
    BatchIterator ones(ds, o);
    EXPECT_TRUE(ones.batch(3).ok());  // one sample per batch stacks fine
    o.batchSize = 2;
    auto b = BatchIterator(ds, o).batch(0);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().what().find("ragged: sample 1"), std::string::npos) << b.error().what();
    EXPECT_EQ(b.error().code, ErrorCode::Invalid);
}

TEST(Dataset, SeveralThreadsDrainOneEpochExactlyOnce) {
    // 1000 samples, batches of 7, four threads pulling with next().
    std::vector<uint8_t> bytes(1000);
    std::vector<int64_t> labels(1000);
    for (int i = 0; i < 1000; ++i) {
        bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(i % 251);
        labels[static_cast<size_t>(i)] = i % 10;
    }
    auto ds = TensorDataset::create("many", *Tensor::fromBytes(DType::U8, {1000, 1}, bytes), labels, {});
    ASSERT_TRUE(ds.ok());
    BatchOptions o;
    o.batchSize = 7;
    o.shuffle = true;
    o.seed = 3;
    BatchIterator it(**ds, o);
    std::mutex mu;
    std::multiset<int64_t> seen;
    std::set<int64_t> batchIds;
    bool allOk = true;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            while (auto b = it.next()) {
                std::lock_guard<std::mutex> lock(mu);
                if (!b->ok()) {
                    allOk = false;
                    continue;
                }
                batchIds.insert((*b)->index);
                for (size_t r = 0; r < (*b)->sampleIndices.size(); ++r) {
                    const int64_t idx = (*b)->sampleIndices[r];
                    seen.insert(idx);
                    if ((*b)->inputs[0].data<float>()[r] != static_cast<float>(idx % 251)) allOk = false;
                }
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_TRUE(allOk);
    EXPECT_EQ(batchIds.size(), static_cast<size_t>(it.batchCount()));
    EXPECT_EQ(seen.size(), 1000u);
    for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
}

TEST(Dataset, SubsetKeepsParentLabels) {
    auto ds = smallDataset();
    SubsetDataset sub(ds, {9, 0, 4});
    EXPECT_EQ(sub.size(), 3);
    EXPECT_EQ(*sub.label(0), 0);  // 9 % 3
    EXPECT_EQ(sub.sample(2)->inputs[0].data<uint8_t>()[0], 40);
    EXPECT_FALSE(sub.sample(3).ok());
    EXPECT_EQ(sub.classNames().size(), 3u);
}

}  // namespace
}  // namespace by
