#include "renderers/light_field_mlp.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace by {

namespace {

// What a graph value is, seen from the ray: the symbolic state the extraction walks forward.
struct Sym {
    enum class Kind { Affine, Features, Layer } kind = Kind::Affine;
    // Affine: column j = dot(w[j*6..], ray) + b[j]; Features: the same plus a function per column.
    std::vector<float> w, b;
    std::vector<LightFieldFeatureFn> fn;
    int layer = -1;          // Layer: index into mlp.layers of the layer whose output this is
    bool activated = false;  // Layer: an activation was applied (no bias may follow)
    int width() const { return kind == Kind::Layer ? -1 : static_cast<int>(b.size()); }
};

const char* kOps = "MatMul, Gemm, Add, Sub, Mul, Div, Relu, Sigmoid, Sin, Cos, Concat, Identity";

std::string nodeName(const Node& n, int index) {
    return "node " + std::to_string(index) + " (" + n.opType + (n.name.empty() ? "" : " '" + n.name + "'") + ")";
}

struct Extractor {
    const Graph& g;
    LightFieldMlp mlp;
    std::map<int, Sym> syms;  // value id -> state
    int index = 0;
    const Node* node = nullptr;

    Error fail(const std::string& why) const { return makeError(ErrorCode::Unsupported, nodeName(*node, index) + " " + why); }

    const std::vector<float>* constant(int v, std::vector<float>& store) const {
        if (v < 0 || !g.values[static_cast<size_t>(v)].data) return nullptr;
        auto f = g.values[static_cast<size_t>(v)].data->toFloats();
        if (!f) return nullptr;
        store = std::move(*f);
        return &store;
    }
    Shape constShape(int v) const { return g.values[static_cast<size_t>(v)].data->shape(); }

    // The column count a constant broadcasts over the last axis: 1 (scalar) or the width.
    bool broadcastsTo(int v, int width) const {
        const Shape& s = constShape(v);
        int64_t n = shapeNumel(s);
        for (size_t i = 0; i + 1 < s.size(); ++i)
            if (s[i] != 1) return false;
        return n == 1 || n == width;
    }

    Result<Sym> affineOp(const Sym& a, int constId, const std::string& op, bool constFirst) {
        std::vector<float> store;
        const auto* c = constant(constId, store);
        if (!c) return fail("combines the rays with a value that is not a constant");
        const int w = a.width();
        if (!broadcastsTo(constId, w))
            return fail("has a constant of shape " + shapeToString(constShape(constId)) + " that does not broadcast over the " +
                        std::to_string(w) + " columns");
        Sym r = a;
        for (int j = 0; j < w; ++j) {
            const float k = (*c)[c->size() == 1 ? 0 : static_cast<size_t>(j)];
            float scale = 1, add = 0;
            if (op == "Add") add = k;
            else if (op == "Sub") scale = constFirst ? -1.0f : 1.0f, add = constFirst ? k : -k;
            else if (op == "Mul") scale = k;
            else if (op == "Div") {
                if (constFirst || k == 0) return fail("divides by the rays or by zero");
                scale = 1.0f / k;
            }
            for (int i = 0; i < LightFieldMlp::kRayWidth; ++i) r.w[static_cast<size_t>(j) * 6 + i] *= scale;
            r.b[static_cast<size_t>(j)] = r.b[static_cast<size_t>(j)] * scale + add;
        }
        return r;
    }

    // MatMul or Gemm of an affine value by a constant matrix: still affine in the ray.
    Result<Sym> affineMatMul(const Sym& a, const std::vector<float>& m, int rows, int cols, bool trans, const std::vector<float>* bias) {
        Sym r;
        r.kind = Sym::Kind::Affine;
        r.w.assign(static_cast<size_t>(cols) * 6, 0.0f);
        r.b.assign(static_cast<size_t>(cols), 0.0f);
        for (int j = 0; j < cols; ++j) {
            for (int k = 0; k < rows; ++k) {
                const float mk = trans ? m[static_cast<size_t>(j) * rows + k] : m[static_cast<size_t>(k) * cols + j];
                for (int i = 0; i < 6; ++i) r.w[static_cast<size_t>(j) * 6 + i] += a.w[static_cast<size_t>(k) * 6 + i] * mk;
                r.b[static_cast<size_t>(j)] += a.b[static_cast<size_t>(k)] * mk;
            }
            if (bias) r.b[static_cast<size_t>(j)] += (*bias)[bias->size() == 1 ? 0 : static_cast<size_t>(j)];
        }
        return r;
    }

    // The encoded features a first layer reads: an affine value becomes Linear features.
    void freezeFeatures(const Sym& s) {
        mlp.featureWeights = s.w;
        mlp.featureOffsets = s.b;
        mlp.featureFns = s.kind == Sym::Kind::Features ? s.fn : std::vector<LightFieldFeatureFn>(s.b.size(), LightFieldFeatureFn::Linear);
    }

    Status linear(const Sym& a, int weightId, int biasId, bool transB) {
        std::vector<float> ws, bs;
        const auto* w = constant(weightId, ws);
        if (!w) return fail("has weights that are not a constant");
        const Shape& s = constShape(weightId);
        if (s.size() != 2) return fail("has weights of shape " + shapeToString(s) + ", not a matrix");
        const int rows = static_cast<int>(transB ? s[1] : s[0]), cols = static_cast<int>(transB ? s[0] : s[1]);
        int in = 0;
        if (a.kind == Sym::Kind::Layer) {
            if (a.layer != static_cast<int>(mlp.layers.size()) - 1) return fail("reads an earlier layer again (the MLP must be one chain)");
            in = mlp.layers.back().out;
        } else {
            if (!mlp.layers.empty()) return fail("reads the encoded rays after the first layer (the MLP must be one chain)");
            in = a.width();
        }
        if (rows != in) return fail("multiplies " + std::to_string(in) + " columns by a matrix of " + std::to_string(rows) + " rows");
        if (cols > LightFieldMlp::kMaxWidth || in > LightFieldMlp::kMaxWidth)
            return fail("is " + std::to_string(cols) + " wide; the renderer holds at most " + std::to_string(LightFieldMlp::kMaxWidth));
        const std::vector<float>* bias = nullptr;
        if (biasId >= 0) {
            bias = constant(biasId, bs);
            if (!bias || !broadcastsTo(biasId, cols)) return fail("has a bias that is not a constant of " + std::to_string(cols) + " values");
        }
        if (a.kind != Sym::Kind::Layer) freezeFeatures(a);
        LightFieldLayer L;
        L.in = rows, L.out = cols;
        L.weights.resize(static_cast<size_t>(rows) * cols);
        for (int o = 0; o < cols; ++o)
            for (int i = 0; i < rows; ++i)
                L.weights[static_cast<size_t>(o) * rows + i] = transB ? (*w)[static_cast<size_t>(o) * rows + i] : (*w)[static_cast<size_t>(i) * cols + o];
        L.bias.assign(static_cast<size_t>(cols), 0.0f);
        if (bias)
            for (int o = 0; o < cols; ++o) L.bias[static_cast<size_t>(o)] = (*bias)[bias->size() == 1 ? 0 : static_cast<size_t>(o)];
        mlp.layers.push_back(std::move(L));
        Sym r;
        r.kind = Sym::Kind::Layer;
        r.layer = static_cast<int>(mlp.layers.size()) - 1;
        syms[node->outputs[0]] = r;
        return {};
    }

    // An affine value that a Relu/Sigmoid or the output reads: a layer on the raw ray (identity
    // features), with the affine map as its weights.
    Sym promote(const Sym& a) {
        const int cols = a.width();
        Sym id;
        id.w.assign(36, 0.0f);
        for (int i = 0; i < 6; ++i) id.w[static_cast<size_t>(i) * 6 + i] = 1.0f;
        id.b.assign(6, 0.0f);
        freezeFeatures(id);
        LightFieldLayer L;
        L.in = 6, L.out = cols;
        L.weights = a.w;  // [cols][6]: the same layout
        L.bias = a.b;
        mlp.layers.push_back(std::move(L));
        Sym r;
        r.kind = Sym::Kind::Layer;
        r.layer = static_cast<int>(mlp.layers.size()) - 1;
        return r;
    }

    const Sym* symOf(int v) const {
        auto it = syms.find(v);
        return it == syms.end() ? nullptr : &it->second;
    }

    Status step() {
        const Node& n = *node;
        const std::string& op = n.opType;
        if (!n.domain.empty() && n.domain != "ai.onnx") return fail("is in domain '" + n.domain + "', not a light-field MLP op");
        if (op == "Constant") return {};
        if (n.outputs.size() != 1) return fail("has " + std::to_string(n.outputs.size()) + " outputs; a light-field MLP node has one");
        const int out = n.outputs[0];
        auto in = [&](size_t k) { return k < n.inputs.size() ? n.inputs[k] : -1; };
        if (op == "Identity") {
            const Sym* a = symOf(in(0));
            if (!a) return fail("copies a value that does not come from the rays");
            syms[out] = *a;
            return {};
        }
        if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
            const Sym* a = symOf(in(0));
            const Sym* b = symOf(in(1));
            if ((a != nullptr) == (b != nullptr)) return fail("must combine one ray-dependent value with one constant");
            const bool constFirst = a == nullptr;
            const Sym& s = a ? *a : *b;
            const int c = a ? in(1) : in(0);
            if (s.kind == Sym::Kind::Affine) {
                auto r = affineOp(s, c, op, constFirst);
                if (!r) return std::move(r.error());
                syms[out] = std::move(*r);
                return {};
            }
            if (s.kind == Sym::Kind::Layer && op == "Add" && !s.activated &&
                s.layer == static_cast<int>(mlp.layers.size()) - 1) {
                std::vector<float> store;
                const auto* bias = constant(c, store);
                LightFieldLayer& L = mlp.layers.back();
                if (!bias || !broadcastsTo(c, L.out)) return fail("adds a bias that is not a constant of " + std::to_string(L.out) + " values");
                for (int o = 0; o < L.out; ++o) L.bias[static_cast<size_t>(o)] += (*bias)[bias->size() == 1 ? 0 : static_cast<size_t>(o)];
                Sym r = s;
                syms[out] = r;
                return {};
            }
            return fail("applies " + op + " where the MLP allows only a layer's bias (an Add straight after MatMul or Gemm)");
        }
        if (op == "Sin" || op == "Cos") {
            const Sym* a = symOf(in(0));
            if (!a || a->kind != Sym::Kind::Affine) return fail("must take " + op + " of an affine function of the rays (the encoding)");
            Sym r = *a;
            r.kind = Sym::Kind::Features;
            r.fn.assign(r.b.size(), op == "Sin" ? LightFieldFeatureFn::Sin : LightFieldFeatureFn::Cos);
            syms[out] = std::move(r);
            return {};
        }
        if (op == "Concat") {
            const int64_t axis = n.attrInt("axis", 0);
            if (axis != 1 && axis != -1) return fail("concatenates on axis " + std::to_string(axis) + "; the encoding joins features on the last axis");
            Sym r;
            r.kind = Sym::Kind::Features;
            for (int v : n.inputs) {
                const Sym* a = symOf(v);
                if (!a || a->kind == Sym::Kind::Layer) return fail("joins a value that is not an encoding of the rays");
                r.w.insert(r.w.end(), a->w.begin(), a->w.end());
                r.b.insert(r.b.end(), a->b.begin(), a->b.end());
                if (a->kind == Sym::Kind::Features) r.fn.insert(r.fn.end(), a->fn.begin(), a->fn.end());
                else r.fn.insert(r.fn.end(), a->b.size(), LightFieldFeatureFn::Linear);
            }
            if (r.b.size() > static_cast<size_t>(LightFieldMlp::kMaxWidth))
                return fail("makes " + std::to_string(r.b.size()) + " features; the renderer holds at most " + std::to_string(LightFieldMlp::kMaxWidth));
            syms[out] = std::move(r);
            return {};
        }
        if (op == "MatMul" || op == "Gemm") {
            const Sym* a = symOf(in(0));
            if (!a || symOf(in(1))) return fail("must multiply a ray-dependent value by a constant matrix");
            bool transB = false;
            int biasId = -1;
            if (op == "Gemm") {
                if (n.attrInt("transA", 0) != 0 || n.attrFloat("alpha", 1.0) != 1.0 || n.attrFloat("beta", 1.0) != 1.0)
                    return fail("uses transA, alpha or beta, which a light-field layer does not");
                transB = n.attrInt("transB", 0) != 0;
                biasId = in(2);
            }
            // A constant matrix applied to a value still affine in the ray stays affine (a
            // frequency matrix, a normalisation); it becomes a layer only where a Relu/Sigmoid or
            // the output needs one (promote()).
            const bool encoding = a->kind == Sym::Kind::Affine;
            if (encoding) {
                std::vector<float> ms, bs;
                const auto* m = constant(in(1), ms);
                if (!m) return fail("has weights that are not a constant");
                const Shape& s = constShape(in(1));
                if (s.size() != 2 || (transB ? s[1] : s[0]) != a->width())
                    return fail("multiplies " + std::to_string(a->width()) + " columns by a matrix of shape " + shapeToString(s));
                const std::vector<float>* bias = biasId >= 0 ? constant(biasId, bs) : nullptr;
                const int cols = static_cast<int>(transB ? s[0] : s[1]);
                if (biasId >= 0 && (!bias || !broadcastsTo(biasId, cols))) return fail("has a bias that is not a constant");
                auto r = affineMatMul(*a, *m, static_cast<int>(transB ? s[1] : s[0]), cols, transB, bias);
                if (!r) return std::move(r.error());
                syms[out] = std::move(*r);
                return {};
            }
            return linear(*a, in(1), biasId, transB);
        }
        if (op == "Relu" || op == "Sigmoid") {
            const Sym* a = symOf(in(0));
            if (a && a->kind == Sym::Kind::Affine && mlp.layers.empty()) a = &(syms[in(0)] = promote(*a));
            if (!a || a->kind != Sym::Kind::Layer || a->activated || a->layer != static_cast<int>(mlp.layers.size()) - 1)
                return fail("must follow a layer's MatMul/Gemm (+ bias) directly");
            mlp.layers.back().activation = op == "Relu" ? LightFieldActivation::Relu : LightFieldActivation::Sigmoid;
            Sym r = *a;
            r.activated = true;
            syms[out] = r;
            return {};
        }
        return fail(std::string("is not part of a light-field MLP (") + kOps + ")");
    }
};

bool isFloatRays(const Value& v, int64_t width) {
    if (v.dtype != DType::F32 || !v.shape || v.shape->size() != 2) return false;
    return (*v.shape)[1].value == width;
}

}  // namespace

int64_t LightFieldMlp::parameterCount() const {
    int64_t n = static_cast<int64_t>(featureWeights.size() + featureOffsets.size());
    for (const auto& L : layers) n += static_cast<int64_t>(L.weights.size() + L.bias.size());
    return n;
}

int64_t LightFieldMlp::macsPerRay() const {
    int64_t n = static_cast<int64_t>(featureCount()) * kRayWidth;
    for (const auto& L : layers) n += static_cast<int64_t>(L.in) * L.out;
    return n;
}

bool looksLikeLightField(const Model& model) {
    const Graph& g = model.graph;
    if (g.inputs.size() != 1 || g.outputs.size() != 1) return false;
    const Value& out = g.values[static_cast<size_t>(g.outputs[0])];
    // Exporters do not always record the output's shape: an unknown one is left to extraction.
    const bool outOk = !out.shape || isFloatRays(out, 3) || isFloatRays(out, 4) ||
                       (out.shape->size() == 2 && !(*out.shape)[1].known());
    return isFloatRays(g.values[static_cast<size_t>(g.inputs[0])], LightFieldMlp::kRayWidth) && outOk;
}

Result<LightFieldMlp> extractLightField(const Model& model) {
    const Graph& g = model.graph;
    if (g.inputs.size() != 1)
        return makeError(ErrorCode::Unsupported, "a light field takes one input of [N,6] rays; this model has " + std::to_string(g.inputs.size()));
    const Value& input = g.values[static_cast<size_t>(g.inputs[0])];
    if (!isFloatRays(input, LightFieldMlp::kRayWidth))
        return makeError(ErrorCode::Unsupported,
                         "the light field's input '" + input.name + "' must be f32 [N,6] rays (origin, direction), not " +
                             std::string(dtypeName(input.dtype)) + " " + (input.shape ? dimShapeToString(*input.shape) : "of unknown shape"));
    if (g.outputs.size() != 1)
        return makeError(ErrorCode::Unsupported, "a light field gives one output of [N,3] colours; this model has " + std::to_string(g.outputs.size()));
    auto order = g.topologicalOrder();
    if (!order) return std::move(order.error());
    Extractor x{g, {}, {}, 0, nullptr};
    Sym ray;
    ray.w.assign(36, 0.0f);
    for (int i = 0; i < 6; ++i) ray.w[static_cast<size_t>(i) * 6 + i] = 1.0f;
    ray.b.assign(6, 0.0f);
    x.syms[g.inputs[0]] = ray;
    for (int i : *order) {
        x.index = i;
        x.node = &g.nodes[static_cast<size_t>(i)];
        BY_TRY(x.step());
    }
    const Sym* out = x.symOf(g.outputs[0]);
    if (out && out->kind == Sym::Kind::Affine && x.mlp.layers.empty()) out = &(x.syms[g.outputs[0]] = x.promote(*out));
    if (!out || out->kind != Sym::Kind::Layer || out->layer != static_cast<int>(x.mlp.layers.size()) - 1)
        return makeError(ErrorCode::Unsupported, "the light field's output '" + g.values[static_cast<size_t>(g.outputs[0])].name +
                                                     "' is not the last layer of an MLP on the rays");
    if (x.mlp.featureCount() > LightFieldMlp::kMaxWidth)
        return makeError(ErrorCode::Unsupported, "the light field's encoding makes " + std::to_string(x.mlp.featureCount()) +
                                                     " features; the renderer holds at most " + std::to_string(LightFieldMlp::kMaxWidth));
    if (x.mlp.layers.size() > static_cast<size_t>(LightFieldMlp::kMaxLayers))
        return makeError(ErrorCode::Unsupported, "the light field has " + std::to_string(x.mlp.layers.size()) +
                                                     " layers; the renderer runs at most " + std::to_string(LightFieldMlp::kMaxLayers));
    for (const LightFieldLayer& L : x.mlp.layers)
        if (L.out > LightFieldMlp::kMaxWidth)
            return makeError(ErrorCode::Unsupported, "a light-field layer is " + std::to_string(L.out) + " wide; the renderer holds at most " +
                                                         std::to_string(LightFieldMlp::kMaxWidth));
    const int ch = x.mlp.outputChannels();
    if (ch != 3 && ch != 4)
        return makeError(ErrorCode::Unsupported, "the light field's last layer gives " + std::to_string(ch) + " channels, not RGB (3) or RGBA (4)");
    if (const MetaValue* cam = model.meta("brickyard.light_field.camera"); cam && cam->type == MetaValue::Type::String)
        x.mlp.defaultCamera = cam->s;
    return std::move(x.mlp);
}

std::vector<float> lightFieldRays(const RenderView& view) {
    const Camera& c = view.camera;
    const Vec3 fwd = normalize(c.target - c.eye);
    Vec3 s = normalize(cross(fwd, c.up));
    if (length(s) == 0) s = normalize(cross(fwd, Vec3{0, 0, 1}));
    const Vec3 u = cross(s, fwd);
    const float inv = 1.0f / c.focalPixels(view.height);
    std::vector<float> rays(static_cast<size_t>(view.width) * view.height * 6);
    for (int y = 0; y < view.height; ++y)
        for (int x = 0; x < view.width; ++x) {
            const float dx = (static_cast<float>(x) + 0.5f - 0.5f * static_cast<float>(view.width)) * inv;
            const float dy = (static_cast<float>(y) + 0.5f - 0.5f * static_cast<float>(view.height)) * inv;
            const Vec3 d = normalize(s * dx - u * dy + fwd);
            const Vec3 o = c.eye - d * dot(c.eye, d);
            float* r = &rays[(static_cast<size_t>(y) * view.width + x) * 6];
            r[0] = o.x, r[1] = o.y, r[2] = o.z, r[3] = d.x, r[4] = d.y, r[5] = d.z;
        }
    return rays;
}

Image evaluateLightFieldMlp(const LightFieldMlp& mlp, const RenderView& view) {
    const std::vector<float> rays = lightFieldRays(view);
    Image img;
    img.width = view.width, img.height = view.height;
    img.rgba.resize(static_cast<size_t>(view.width) * view.height * 4);
    std::vector<float> a(LightFieldMlp::kMaxWidth), b(LightFieldMlp::kMaxWidth);
    const size_t n = static_cast<size_t>(view.width) * view.height;
    for (size_t p = 0; p < n; ++p) {
        const float* r = &rays[p * 6];
        for (int k = 0; k < mlp.featureCount(); ++k) {
            float v = mlp.featureOffsets[static_cast<size_t>(k)];
            for (int i = 0; i < 6; ++i) v += mlp.featureWeights[static_cast<size_t>(k) * 6 + i] * r[i];
            const LightFieldFeatureFn fn = mlp.featureFns[static_cast<size_t>(k)];
            a[static_cast<size_t>(k)] = fn == LightFieldFeatureFn::Sin ? std::sin(v) : fn == LightFieldFeatureFn::Cos ? std::cos(v) : v;
        }
        for (const LightFieldLayer& L : mlp.layers) {
            for (int o = 0; o < L.out; ++o) {
                float v = L.bias[static_cast<size_t>(o)];
                const float* w = &L.weights[static_cast<size_t>(o) * L.in];
                for (int i = 0; i < L.in; ++i) v += w[i] * a[static_cast<size_t>(i)];
                if (L.activation == LightFieldActivation::Relu) v = std::max(v, 0.0f);
                else if (L.activation == LightFieldActivation::Sigmoid) v = 1.0f / (1.0f + std::exp(-v));
                b[static_cast<size_t>(o)] = v;
            }
            std::swap(a, b);
        }
        uint8_t* px = &img.rgba[p * 4];
        px[0] = toByte(a[0]), px[1] = toByte(a[1]), px[2] = toByte(a[2]);
        px[3] = mlp.outputChannels() == 4 ? toByte(a[3]) : 255;
    }
    return img;
}

}  // namespace by
