#include "engine/model_builder.h"

#include <gtest/gtest.h>

#include "engine/executor.h"

namespace by {
namespace {

LayerSpec layer(LayerSpec::Kind k, std::string w = {}, std::string b = {}, int64_t pad = 0) {
    LayerSpec l;
    l.kind = k;
    l.weight = std::move(w);
    l.bias = std::move(b);
    l.pad = pad;
    return l;
}

// conv 1->2 (3x3, pad 1), relu, maxpool 2, flatten, linear 2*2*2 -> 3 on a 1x4x4 input.
SequentialSpec tinySpec() {
    SequentialSpec s;
    s.name = "tiny";
    s.inputShape = {1, 4, 4};
    std::vector<float> cw(2 * 9);
    for (size_t i = 0; i < cw.size(); ++i) cw[i] = (i % 9 == 4) ? (i < 9 ? 1.0f : -1.0f) : 0.0f;  // +-identity
    s.weights["c.w"] = Tensor::fromFloats({2, 1, 3, 3}, cw);
    s.weights["c.b"] = Tensor::fromFloats({2}, {0.0f, 0.5f});
    std::vector<float> lw(3 * 8, 0.0f);
    for (int o = 0; o < 3; ++o) lw[static_cast<size_t>(o * 8 + o)] = 1.0f;  // picks features 0, 1, 2
    s.weights["l.w"] = Tensor::fromFloats({3, 8}, lw);
    s.weights["l.b"] = Tensor::fromFloats({3}, {0.0f, 0.0f, 10.0f});
    s.layers = {layer(LayerSpec::Kind::Conv, "c.w", "c.b", 1), layer(LayerSpec::Kind::Relu),
                layer(LayerSpec::Kind::MaxPool), layer(LayerSpec::Kind::Flatten),
                layer(LayerSpec::Kind::Linear, "l.w", "l.b")};
    s.classNames = {"a", "b \"quoted\"", "c"};
    return s;
}

TEST(ModelBuilder, BuildsAGraphTheExecutorRuns) {
    auto m = buildSequentialModel(tinySpec());
    ASSERT_TRUE(m.ok()) << m.error().what();
    EXPECT_EQ(m->graph.nodes.size(), 5u);
    EXPECT_EQ(m->graph.parameterCount(), 18 + 2 + 24 + 3);
    ASSERT_NE(m->meta("class_names"), nullptr);
    EXPECT_EQ(m->meta("class_names")->s, "[\"a\", \"b \\\"quoted\\\"\", \"c\"]");
    auto exec = Executor::create(*m, ExecutorOptions{1});
    ASSERT_TRUE(exec.ok()) << exec.error().what();
    // Input 0..15: channel 0 is the input, channel 1 is relu(0.5 - x) = 0.5 at x=0 only.
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);
    auto out = exec->run({{"image", Tensor::fromFloats({1, 1, 4, 4}, x)}});
    ASSERT_TRUE(out.ok()) << out.error().what();
    ASSERT_EQ((*out)[0].shape(), (Shape{1, 3}));
    const float* y = (*out)[0].data<float>();
    // Pooled channel 0 = max of each 2x2 block: 5, 7, 13, 15 -> features 0, 1 are 5 and 7;
    // feature 2 is channel 0's third block (13) plus the bias 10.
    EXPECT_FLOAT_EQ(y[0], 5.0f);
    EXPECT_FLOAT_EQ(y[1], 7.0f);
    EXPECT_FLOAT_EQ(y[2], 23.0f);
}

TEST(ModelBuilder, RejectsWeightsThatDoNotChain) {
    auto s = tinySpec();
    s.weights["l.w"] = Tensor::fromFloats({3, 9}, std::vector<float>(27, 0.0f));
    auto m = buildSequentialModel(s);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().what().find("layer 4 (linear)"), std::string::npos) << m.error().what();

    s = tinySpec();
    s.weights.erase("c.b");
    m = buildSequentialModel(s);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().what().find("\"c.b\" is missing"), std::string::npos) << m.error().what();

    s = tinySpec();
    s.layers.erase(s.layers.begin() + 3);  // no flatten before the linear layer
    EXPECT_FALSE(buildSequentialModel(s).ok());

    s = tinySpec();
    s.inputShape = {3, 4, 4};  // the conv weight takes one channel
    EXPECT_FALSE(buildSequentialModel(s).ok());
    EXPECT_FALSE(layerKindFromName("softmax").ok());
}

}  // namespace
}  // namespace by
