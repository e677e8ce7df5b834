#include "engine/model_compare.h"

#include <gtest/gtest.h>

using namespace by;

namespace {

// x -> Conv(w) -> y, with an If whose branch holds a constant.
Model makeModel() {
    Model m;
    m.name = "m";
    m.irVersion = 8;
    m.opsets = {{"", 13}};
    m.metadata.emplace_back("author", MetaValue::ofString("tests"));
    Graph& g = m.graph;
    g.name = "main";
    Value x;
    x.name = "x";
    x.dtype = DType::F32;
    x.shape = DimShape{Dim::sym("n"), Dim::of(3)};
    g.inputs.push_back(g.addValue(x));
    g.addInitializer("w", Tensor::fromFloats({3}, {1, 2, 3}));
    Node conv;
    conv.name = "c1";
    conv.opType = "Conv";
    conv.inputs = {g.valueId("x"), g.valueId("w")};
    conv.outputs = {g.valueId("y")};
    conv.setAttr("pads", Attribute::ofInts({1, 1}));
    g.addNode(conv);
    auto branch = std::make_shared<Graph>();
    branch->name = "then";
    branch->addInitializer("k", Tensor::fromFloats({1}, {0.5f}));
    Node iff;
    iff.opType = "If";
    iff.inputs = {g.valueId("y")};
    iff.outputs = {g.valueId("z")};
    Attribute ga;
    ga.kind = Attribute::Kind::Graph;
    ga.g = branch;
    iff.setAttr("then_branch", ga);
    g.addNode(iff);
    g.outputs.push_back(g.valueId("z"));
    return m;
}

} // namespace

TEST(ModelCompare, EqualModelsHaveNoDifference) {
    EXPECT_FALSE(firstDifference(makeModel(), makeModel()).has_value());
}

TEST(ModelCompare, ValueOrderDoesNotMatterButNamesDo) {
    Model a = makeModel(), b = makeModel();
    // Same values in another order, node references remapped.
    Graph& g = b.graph;
    std::swap(g.values[0], g.values[1]);
    g.rebuildIndex();
    auto remap = [](int& r) { r = r == 0 ? 1 : r == 1 ? 0 : r; };
    for (auto& n : g.nodes) {
        for (auto& r : n.inputs)
            remap(r);
        for (auto& r : n.outputs)
            remap(r);
    }
    for (auto& r : g.inputs)
        remap(r);
    EXPECT_FALSE(firstDifference(a, b).has_value());
}

TEST(ModelCompare, NamesTheFirstDifference) {
    Model a = makeModel();
    {
        Model b = makeModel();
        b.graph.nodes[0].setAttr("pads", Attribute::ofInts({0, 0}));
        auto d = firstDifference(a, b);
        ASSERT_TRUE(d.has_value());
        EXPECT_NE(d->find("node 0 (Conv 'c1') > attribute 'pads': ints [1,1] vs [0,0]"), std::string::npos)
            << *d;
    }
    {
        Model b = makeModel();
        b.graph.values[static_cast<size_t>(b.graph.findValue("w"))].data->mutableData<float>()[2] = 4;
        auto d = firstDifference(a, b);
        ASSERT_TRUE(d.has_value());
        EXPECT_NE(d->find("value 'w': data bytes differ first at offset 10 of 12"), std::string::npos) << *d;
    }
    {
        Model b = makeModel();
        auto& branch = *b.graph.nodes[1].attributes[0].second.g;
        branch.values[0].data = Tensor::fromFloats({1}, {0.25f});
        auto d = firstDifference(a, b);
        ASSERT_TRUE(d.has_value());
        EXPECT_NE(d->find("graph 'then' > value 'k'"), std::string::npos) << *d;
    }
    {
        Model b = makeModel();
        b.metadata[0].second = MetaValue::ofString("other");
        auto d = firstDifference(a, b);
        ASSERT_TRUE(d.has_value());
        EXPECT_NE(d->find("metadata 'author'"), std::string::npos) << *d;
        ModelCompareOptions o;
        o.metadata = false;
        EXPECT_FALSE(firstDifference(a, b, o).has_value());
    }
    {
        Model b = makeModel();
        (*b.graph.values[0].shape)[0] = Dim::sym("batch");
        auto d = firstDifference(a, b);
        ASSERT_TRUE(d.has_value());
        EXPECT_NE(d->find("shape [n,3] vs [batch,3]"), std::string::npos) << *d;
    }
}

TEST(ModelCompare, FoldedDataIsDerivedAndIgnored) {
    Model a = makeModel(), b = makeModel();
    Value& y = b.graph.values[static_cast<size_t>(b.graph.findValue("y"))];
    y.data = Tensor::fromFloats({1}, {1});
    y.folded = true;
    EXPECT_FALSE(firstDifference(a, b).has_value());
    y.folded = false;
    EXPECT_TRUE(firstDifference(a, b).has_value());
}
