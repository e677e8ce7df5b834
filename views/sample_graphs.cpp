#include "views/sample_graphs.h"

#include <map>
#include <string>

namespace by {

namespace {

// Builds a graph op by op; weights of one shape share a single zero buffer.
class SampleBuilder {
public:
    explicit SampleBuilder(Model& m) : m_g(m.graph) {}

    int act(const std::string& name, DimShape shape, DType dt = DType::F32) {
        Value v;
        v.name = name;
        v.dtype = dt;
        v.shape = std::move(shape);
        return m_g.addValue(std::move(v));
    }

    int weight(const std::string& name, const Shape& shape, DType dt = DType::F32) {
        auto key = std::make_pair(static_cast<int>(dt), shape);
        auto it = m_shared.find(key);
        if (it == m_shared.end()) it = m_shared.emplace(key, Tensor::zeros(dt, shape).value()).first;
        return m_g.addInitializer(name, it->second);
    }

    int ints(const std::string& name, const std::vector<int64_t>& v) {
        return m_g.addInitializer(name, Tensor::fromInt64s({static_cast<int64_t>(v.size())}, v));
    }

    int op(const std::string& type, const std::string& name, std::vector<int> inputs, int output,
           std::vector<std::pair<std::string, Attribute>> attrs = {}) {
        Node n;
        n.opType = type;
        n.name = name;
        n.inputs = std::move(inputs);
        n.outputs = {output};
        n.attributes = std::move(attrs);
        m_g.addNode(std::move(n));
        return output;
    }

    // op with a fresh output value named after the node
    int op(const std::string& type, const std::string& name, std::vector<int> inputs, DimShape outShape,
           std::vector<std::pair<std::string, Attribute>> attrs = {}, DType dt = DType::F32) {
        return op(type, name, std::move(inputs), act(name + "_output_0", std::move(outShape), dt), std::move(attrs));
    }

    Graph& g() { return m_g; }

private:
    Graph& m_g;
    std::map<std::pair<int, Shape>, Tensor> m_shared;
};

Dim B() { return Dim::sym("batch"); }
Dim S() { return Dim::sym("seq"); }
Dim N(int64_t v) { return Dim::of(v); }

}  // namespace

Model makeTransformerSample(int targetNodes, int hidden) {
    Model m;
    m.format = "onnx";
    m.name = "sample-transformer";
    m.producer = "brickyard samples";
    SampleBuilder b(m);
    Graph& g = b.g();
    const int heads = 4;
    const int64_t hd = hidden / heads;
    const int64_t ff = hidden * 4;

    const int ids = b.act("input_ids", {B(), S()}, DType::I64);
    const int mask = b.act("attention_mask", {B(), N(1), S(), S()});
    g.inputs = {ids, mask};
    const int emb = b.weight("model.embed_tokens.weight", {32000, hidden});
    int x = b.op("Gather", "/model/embed_tokens/Gather", {emb, ids}, DimShape{B(), S(), N(hidden)},
                 {{"axis", Attribute::ofInt(0)}});
    const int pos = b.weight("model.embed_positions.weight", {1, 2048, hidden});
    x = b.op("Add", "/model/embed_positions/Add", {x, pos}, DimShape{B(), S(), N(hidden)});

    const int tail = 3;
    for (int layer = 0; static_cast<int>(g.nodes.size()) + tail < targetNodes; ++layer) {
        const std::string p = "/model/layers." + std::to_string(layer);
        const std::string w = "model.layers." + std::to_string(layer);
        const DimShape hs{B(), S(), N(hidden)};
        const DimShape split{B(), S(), N(heads), N(hd)};
        const DimShape perHead{B(), N(heads), S(), N(hd)};
        auto norm = [&](const std::string& scope, const std::string& wname, int in) {
            return b.op("LayerNormalization", p + "/" + scope + "/LayerNormalization",
                        {in, b.weight(w + "." + wname + ".weight", {hidden}), b.weight(w + "." + wname + ".bias", {hidden})},
                        hs, {{"axis", Attribute::ofInt(-1)}, {"epsilon", Attribute::ofFloat(1e-5)}});
        };
        auto linear = [&](const std::string& scope, const std::string& wname, int in, int64_t outDim) {
            const DimShape os{B(), S(), N(outDim)};
            const int64_t inDim = (*g.values[in].shape)[2].value;
            int y = b.op("MatMul", p + "/" + scope + "/MatMul", {in, b.weight(w + "." + wname + ".weight", {inDim, outDim})}, os);
            return b.op("Add", p + "/" + scope + "/Add", {y, b.weight(w + "." + wname + ".bias", {outDim})}, os);
        };
        // Dynamic reshape target: [batch, seq, heads, hd] assembled from Shape like exporters do.
        auto shapeChain = [&](const std::string& scope, int from, const std::string& suffix, std::vector<int64_t> rest) {
            const std::string q = p + "/" + scope;
            int shp = b.op("Shape", q + "/Shape" + suffix, {from}, DimShape{N(3)}, {}, DType::I64);
            int bat = b.op("Gather", q + "/Gather" + suffix, {shp, b.ints(q + "/Constant" + suffix + "_0", {0})}, DimShape{N(1)},
                           {{"axis", Attribute::ofInt(0)}}, DType::I64);
            int un = b.op("Unsqueeze", q + "/Unsqueeze" + suffix, {bat, b.ints(q + "/Constant" + suffix + "_1", {0})}, DimShape{N(1)},
                          {}, DType::I64);
            return b.op("Concat", q + "/Concat" + suffix, {un, b.ints(q + "/Constant" + suffix + "_2", rest)},
                        DimShape{N(static_cast<int64_t>(rest.size()) + 1)}, {{"axis", Attribute::ofInt(0)}}, DType::I64);
        };

        const int h = norm("input_layernorm", "input_layernorm", x);
        const int q = linear("self_attn/q_proj", "self_attn.q_proj", h, hidden);
        const int k = linear("self_attn/k_proj", "self_attn.k_proj", h, hidden);
        const int v = linear("self_attn/v_proj", "self_attn.v_proj", h, hidden);
        const int shape4 = shapeChain("self_attn", h, "", {-1, heads, hd});
        auto heads4 = [&](const std::string& name, int in, std::vector<int64_t> perm, DimShape outShape) {
            int r = b.op("Reshape", p + "/self_attn/Reshape" + name, {in, shape4}, split);
            return b.op("Transpose", p + "/self_attn/Transpose" + name, {r}, std::move(outShape),
                        {{"perm", Attribute::ofInts(std::move(perm))}});
        };
        const int qh = heads4("", q, {0, 2, 1, 3}, perHead);
        const int kh = heads4("_1", k, {0, 2, 3, 1}, DimShape{B(), N(heads), N(hd), S()});
        const int vh = heads4("_2", v, {0, 2, 1, 3}, perHead);
        const DimShape scoresShape{B(), N(heads), S(), S()};
        int s = b.op("MatMul", p + "/self_attn/MatMul", {qh, kh}, scoresShape);
        s = b.op("Div", p + "/self_attn/Div", {s, b.weight(w + ".self_attn.scale", {})}, scoresShape);
        s = b.op("Add", p + "/self_attn/Add", {s, mask}, scoresShape);
        s = b.op("Softmax", p + "/self_attn/Softmax", {s}, scoresShape, {{"axis", Attribute::ofInt(-1)}});
        int o = b.op("MatMul", p + "/self_attn/MatMul_1", {s, vh}, perHead);
        o = b.op("Transpose", p + "/self_attn/Transpose_3", {o}, split, {{"perm", Attribute::ofInts({0, 2, 1, 3})}});
        const int shape3 = shapeChain("self_attn", h, "_1", {-1, hidden});
        o = b.op("Reshape", p + "/self_attn/Reshape_3", {o, shape3}, hs);
        o = linear("self_attn/o_proj", "self_attn.o_proj", o, hidden);
        x = b.op("Add", p + "/Add", {x, o}, hs);

        const int h2 = norm("post_attention_layernorm", "post_attention_layernorm", x);
        int f = linear("mlp/fc1", "mlp.fc1", h2, ff);
        const DimShape fs{B(), S(), N(ff)};
        int d = b.op("Div", p + "/mlp/act/Div", {f, b.weight(w + ".mlp.act.sqrt2", {})}, fs);
        d = b.op("Erf", p + "/mlp/act/Erf", {d}, fs);
        d = b.op("Add", p + "/mlp/act/Add", {d, b.weight(w + ".mlp.act.one", {})}, fs);
        d = b.op("Mul", p + "/mlp/act/Mul", {f, d}, fs);
        d = b.op("Mul", p + "/mlp/act/Mul_1", {d, b.weight(w + ".mlp.act.half", {})}, fs);
        f = linear("mlp/fc2", "mlp.fc2", d, hidden);
        x = b.op("Add", p + "/Add_1", {x, f}, hs);
    }
    x = b.op("LayerNormalization", "/model/norm/LayerNormalization",
             {x, b.weight("model.norm.weight", {hidden}), b.weight("model.norm.bias", {hidden})}, DimShape{B(), S(), N(hidden)},
             {{"axis", Attribute::ofInt(-1)}});
    x = b.op("MatMul", "/lm_head/MatMul", {x, b.weight("lm_head.weight", {hidden, 32000})}, DimShape{B(), S(), N(32000)});
    const int logits = b.op("Identity", "/lm_head/Identity", {x}, b.act("logits", {B(), S(), N(32000)}));
    g.outputs = {logits};
    (void)g.rebuildLinks();
    return m;
}

Model makeConvNetSample(int stages, int blocksPerStage) {
    Model m;
    m.format = "onnx";
    m.name = "sample-convnet";
    m.producer = "brickyard samples";
    SampleBuilder b(m);
    Graph& g = b.g();
    int64_t c = 32, hw = 112;
    const int in = b.act("image", {Dim::sym("N"), N(3), N(224), N(224)});
    g.inputs = {in};
    auto conv = [&](const std::string& name, const std::string& wname, int x, int64_t cin, int64_t cout, int64_t k,
                    int64_t stride, int64_t group, int64_t outHw) {
        return b.op("Conv", name, {x, b.weight(wname + ".weight", {cout, cin / group, k, k}), b.weight(wname + ".bias", {cout})},
                    DimShape{Dim::sym("N"), N(cout), N(outHw), N(outHw)},
                    {{"kernel_shape", Attribute::ofInts({k, k})},
                     {"strides", Attribute::ofInts({stride, stride})},
                     {"pads", Attribute::ofInts({k / 2, k / 2, k / 2, k / 2})},
                     {"group", Attribute::ofInt(group)}});
    };
    auto bnRelu = [&](const std::string& scope, const std::string& wname, int x, int64_t ch, int64_t s, bool relu) {
        const DimShape shape{Dim::sym("N"), N(ch), N(s), N(s)};
        x = b.op("BatchNormalization", scope + "/BatchNormalization",
                 {x, b.weight(wname + ".bn.weight", {ch}), b.weight(wname + ".bn.bias", {ch}),
                  b.weight(wname + ".bn.running_mean", {ch}), b.weight(wname + ".bn.running_var", {ch})},
                 shape, {{"epsilon", Attribute::ofFloat(1e-5)}});
        return relu ? b.op("Relu", scope + "/Relu", {x}, shape) : x;
    };
    int x = conv("/stem/conv/Conv", "stem.conv", in, 3, c, 3, 2, 1, hw);
    x = bnRelu("/stem/conv", "stem.conv", x, c, hw, true);
    x = b.op("MaxPool", "/stem/pool/MaxPool", {x}, DimShape{Dim::sym("N"), N(c), N(hw / 2), N(hw / 2)},
             {{"kernel_shape", Attribute::ofInts({3, 3})}, {"strides", Attribute::ofInts({2, 2})}});
    hw /= 2;
    for (int s = 0; s < stages; ++s) {
        for (int blk = 0; blk < blocksPerStage; ++blk) {
            const std::string p = "/stages." + std::to_string(s) + "/blocks." + std::to_string(blk);
            const std::string w = "stages." + std::to_string(s) + ".blocks." + std::to_string(blk);
            const bool down = blk == 0 && s > 0;
            const int64_t cout = down ? c * 2 : c;
            const int64_t ohw = down ? hw / 2 : hw;
            int y = conv(p + "/conv1/Conv", w + ".conv1", x, c, cout, 1, 1, 1, hw);
            y = bnRelu(p + "/conv1", w + ".conv1", y, cout, hw, true);
            y = conv(p + "/conv2/Conv", w + ".conv2", y, cout, cout, 3, down ? 2 : 1, cout / 16, ohw);
            y = bnRelu(p + "/conv2", w + ".conv2", y, cout, ohw, true);
            y = conv(p + "/conv3/Conv", w + ".conv3", y, cout, cout, 1, 1, 1, ohw);
            y = bnRelu(p + "/conv3", w + ".conv3", y, cout, ohw, false);
            int skip = x;
            if (down) {
                skip = conv(p + "/downsample/Conv", w + ".downsample", x, c, cout, 1, 2, 1, ohw);
                skip = bnRelu(p + "/downsample", w + ".downsample", skip, cout, ohw, false);
            }
            const DimShape os{Dim::sym("N"), N(cout), N(ohw), N(ohw)};
            x = b.op("Add", p + "/Add", {y, skip}, os);
            x = b.op("Relu", p + "/Relu", {x}, os);
            c = cout;
            hw = ohw;
        }
    }
    x = b.op("GlobalAveragePool", "/head/GlobalAveragePool", {x}, DimShape{Dim::sym("N"), N(c), N(1), N(1)});
    x = b.op("Flatten", "/head/Flatten", {x}, DimShape{Dim::sym("N"), N(c)}, {{"axis", Attribute::ofInt(1)}});
    x = b.op("Gemm", "/head/fc/Gemm", {x, b.weight("head.fc.weight", {1000, c}), b.weight("head.fc.bias", {1000})},
             DimShape{Dim::sym("N"), N(1000)}, {{"transB", Attribute::ofInt(1)}});
    const int probs = b.op("Softmax", "/head/Softmax", {x}, b.act("probs", {Dim::sym("N"), N(1000)}),
                           {{"axis", Attribute::ofInt(1)}});
    g.outputs = {probs};
    (void)g.rebuildLinks();
    return m;
}

}  // namespace by
