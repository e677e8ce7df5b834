#include "engine/model_builder.h"

namespace by {

namespace {

constexpr int64_t kOpset = 13;

std::string layerWhere(size_t i, const char* kind) { return "layer " + std::to_string(i) + " (" + kind + ")"; }

const char* kindName(LayerSpec::Kind k) {
    switch (k) {
        case LayerSpec::Kind::Conv: return "conv";
        case LayerSpec::Kind::Relu: return "relu";
        case LayerSpec::Kind::MaxPool: return "maxpool";
        case LayerSpec::Kind::Flatten: return "flatten";
        case LayerSpec::Kind::Linear: return "linear";
    }
    return "?";
}

DimShape batched(const Shape& s) {
    DimShape d{Dim::sym("N")};
    for (int64_t v : s) d.push_back(Dim::of(v));
    return d;
}

}  // namespace

Result<LayerSpec::Kind> layerKindFromName(const std::string& name) {
    for (auto k : {LayerSpec::Kind::Conv, LayerSpec::Kind::Relu, LayerSpec::Kind::MaxPool, LayerSpec::Kind::Flatten,
                   LayerSpec::Kind::Linear})
        if (name == kindName(k)) return k;
    return makeError(ErrorCode::Unsupported,
                     "unknown layer kind \"" + name + "\" (known: conv, relu, maxpool, flatten, linear)");
}

Result<Model> buildSequentialModel(const SequentialSpec& spec) {
    if (spec.inputShape.empty())
        return makeError(ErrorCode::Invalid, "the input shape is empty", spec.name);
    for (int64_t d : spec.inputShape)
        if (d <= 0) return makeError(ErrorCode::Invalid, "the input shape " + shapeToString(spec.inputShape) +
                                                             " has a dimension that is not positive", spec.name);
    Model model;
    model.format = "onnx";
    model.name = spec.name;
    model.producer = "brickyard";
    model.producerVersion = "0.1.0";
    model.irVersion = 8;
    model.opsets = {{"", kOpset}};
    Graph& g = model.graph;
    g.name = spec.name;

    Value in;
    in.name = spec.inputName;
    in.dtype = DType::F32;
    in.shape = batched(spec.inputShape);
    int cur = g.addValue(in);
    g.inputs.push_back(cur);
    Shape shape = spec.inputShape;  // per sample

    auto weight = [&](size_t li, const std::string& name, const char* kind) -> Result<int> {
        auto it = spec.weights.find(name);
        if (name.empty() || it == spec.weights.end())
            return makeError(ErrorCode::Invalid, "the weight \"" + name + "\" is missing", layerWhere(li, kind));
        if (it->second.dtype() != DType::F32)
            return makeError(ErrorCode::Invalid,
                             "the weight \"" + name + "\" is " + dtypeName(it->second.dtype()) + ", not f32",
                             layerWhere(li, kind));
        const int existing = g.findValue(name);
        if (existing >= 0) return existing;  // shared weights: one initializer
        return g.addInitializer(name, it->second);
    };

    for (size_t li = 0; li < spec.layers.size(); ++li) {
        const LayerSpec& L = spec.layers[li];
        const char* kind = kindName(L.kind);
        const std::string where = layerWhere(li, kind);
        Node n;
        n.name = std::string(kind) + "_" + std::to_string(li);
        n.inputs.push_back(cur);
        Shape out;
        const int64_t stride = L.stride > 0 ? L.stride : (L.kind == LayerSpec::Kind::MaxPool ? L.kernel : 1);
        switch (L.kind) {
            case LayerSpec::Kind::Conv: {
                auto w = weight(li, L.weight, kind);
                if (!w) return w.error();
                const Shape ws = g.values[static_cast<size_t>(*w)].data->shape();  // a copy: adding the bias grows `values`
                if (shape.size() != 3 || ws.size() != 4 || ws[1] != shape[0])
                    return makeError(ErrorCode::Invalid,
                                     "the weight " + shapeToString(ws) + " does not fit the input " +
                                         shapeToString(shape) + " (expected [out," + std::to_string(shape.empty() ? 0 : shape[0]) +
                                         ",kh,kw])",
                                     where);
                if (L.pad < 0) return makeError(ErrorCode::Invalid, "the padding is negative", where);
                const int64_t oh = (shape[1] + 2 * L.pad - ws[2]) / stride + 1;
                const int64_t ow = (shape[2] + 2 * L.pad - ws[3]) / stride + 1;
                if (oh <= 0 || ow <= 0) return makeError(ErrorCode::Invalid, "the kernel is larger than the input", where);
                n.opType = "Conv";
                n.inputs.push_back(*w);
                if (!L.bias.empty()) {
                    auto b = weight(li, L.bias, kind);
                    if (!b) return b.error();
                    if (g.values[static_cast<size_t>(*b)].data->shape() != Shape{ws[0]})
                        return makeError(ErrorCode::Invalid, "the bias does not have " + std::to_string(ws[0]) + " values",
                                         where);
                    n.inputs.push_back(*b);
                }
                n.setAttr("kernel_shape", Attribute::ofInts({ws[2], ws[3]}));
                n.setAttr("pads", Attribute::ofInts({L.pad, L.pad, L.pad, L.pad}));
                n.setAttr("strides", Attribute::ofInts({stride, stride}));
                out = {ws[0], oh, ow};
                break;
            }
            case LayerSpec::Kind::Relu:
                n.opType = "Relu";
                out = shape;
                break;
            case LayerSpec::Kind::MaxPool: {
                if (shape.size() != 3) return makeError(ErrorCode::Invalid, "max pooling needs a [C,H,W] input", where);
                if (L.kernel < 1 || stride < 1) return makeError(ErrorCode::Invalid, "bad kernel or stride", where);
                n.opType = "MaxPool";
                n.setAttr("kernel_shape", Attribute::ofInts({L.kernel, L.kernel}));
                n.setAttr("strides", Attribute::ofInts({stride, stride}));
                out = {shape[0], (shape[1] - L.kernel) / stride + 1, (shape[2] - L.kernel) / stride + 1};
                if (out[1] <= 0 || out[2] <= 0)
                    return makeError(ErrorCode::Invalid, "the pooling window is larger than the input", where);
                break;
            }
            case LayerSpec::Kind::Flatten:
                n.opType = "Flatten";
                n.setAttr("axis", Attribute::ofInt(1));
                out = {shapeNumel(shape)};
                break;
            case LayerSpec::Kind::Linear: {
                auto w = weight(li, L.weight, kind);
                if (!w) return w.error();
                const Shape ws = g.values[static_cast<size_t>(*w)].data->shape();  // a copy: adding the bias grows `values`
                if (shape.size() != 1 || ws.size() != 2 || ws[1] != shape[0])
                    return makeError(ErrorCode::Invalid,
                                     "the weight " + shapeToString(ws) + " does not fit the input " +
                                         shapeToString(shape) + " (flatten first; expected [out," +
                                         std::to_string(shape.empty() ? 0 : shape.back()) + "])",
                                     where);
                n.opType = "Gemm";
                n.inputs.push_back(*w);
                if (!L.bias.empty()) {
                    auto b = weight(li, L.bias, kind);
                    if (!b) return b.error();
                    if (g.values[static_cast<size_t>(*b)].data->shape() != Shape{ws[0]})
                        return makeError(ErrorCode::Invalid, "the bias does not have " + std::to_string(ws[0]) + " values",
                                         where);
                    n.inputs.push_back(*b);
                }
                n.setAttr("transB", Attribute::ofInt(1));  // PyTorch stores [out,in]
                out = {ws[0]};
                break;
            }
        }
        Value v;
        v.name = li + 1 == spec.layers.size() ? spec.outputName : n.name + "_out";
        v.dtype = DType::F32;
        v.shape = batched(out);
        if (g.findValue(v.name) >= 0)
            return makeError(ErrorCode::Invalid, "the value name \"" + v.name + "\" is used twice", where);
        const int outId = g.addValue(v);
        n.outputs.push_back(outId);
        g.addNode(std::move(n));
        cur = outId;
        shape = out;
    }
    if (spec.layers.empty()) return makeError(ErrorCode::Invalid, "the model has no layers", spec.name);
    g.outputs.push_back(cur);
    BY_TRY(g.rebuildLinks());
    BY_TRY(g.validate());

    if (!spec.classNames.empty()) {
        // A JSON array of strings, so names with spaces or commas ("Ankle boot") survive.
        std::string json = "[";
        for (size_t i = 0; i < spec.classNames.size(); ++i) {
            json += i ? ", \"" : "\"";
            for (char c : spec.classNames[i]) {
                if (c == '"' || c == '\\') json += '\\';
                json += c;
            }
            json += '"';
        }
        model.metadata.emplace_back("class_names", MetaValue::ofString(json + "]"));
    }
    for (const auto& m : spec.metadata) model.metadata.push_back(m);
    return model;
}

}  // namespace by
