// Recurrent kernels on f32: LSTM, GRU and the plain RNN, forward, reverse or bidirectional, with
// sequence_lens, clip and the ONNX activation list. The input projection of all steps is one GEMM;
// each step adds one [batch, hidden] x [hidden, gates*hidden] GEMM.
#include <cblas.h>

#include <cmath>

#include "engine/ops_common.h"

namespace by {

namespace {
using namespace ops;

struct Activation {
    std::string name;
    float alpha = 0, beta = 0;
    float operator()(float x) const {
        if (name == "Sigmoid") return 1.f / (1.f + std::exp(-x));
        if (name == "Tanh") return std::tanh(x);
        if (name == "Relu") return std::max(0.f, x);
        if (name == "HardSigmoid") return std::max(0.f, std::min(1.f, alpha * x + beta));
        if (name == "Affine") return alpha * x + beta;
        if (name == "LeakyRelu") return x >= 0 ? x : alpha * x;
        if (name == "ThresholdedRelu") return x > alpha ? x : 0.f;
        if (name == "ScaledTanh") return alpha * std::tanh(beta * x);
        if (name == "Elu") return x >= 0 ? x : alpha * (std::exp(x) - 1.f);
        if (name == "Softsign") return x / (1.f + std::abs(x));
        if (name == "Softplus") return std::log1p(std::exp(x));
        return x;
    }
};

bool knownActivation(const std::string& n) {
    static const char* names[] = {"Sigmoid", "Tanh", "Relu", "HardSigmoid", "Affine", "LeakyRelu",
                                  "ThresholdedRelu", "ScaledTanh", "Elu", "Softsign", "Softplus"};
    for (const char* k : names)
        if (n == k) return true;
    return false;
}

float defaultAlpha(const std::string& n) {
    if (n == "HardSigmoid") return 0.2f;
    if (n == "LeakyRelu") return 0.01f;
    if (n == "ThresholdedRelu" || n == "Elu" || n == "ScaledTanh" || n == "Affine") return 1.f;
    return 0.f;
}
float defaultBeta(const std::string& n) {
    if (n == "HardSigmoid") return 0.5f;
    if (n == "ScaledTanh") return 1.f;
    return 0.f;
}

// Activations per direction: `perDir` functions for each of `dirs` directions.
Result<std::vector<Activation>> activations(const Node& node, int dirs, const std::vector<std::string>& defaults) {
    std::vector<std::string> names;
    if (const Attribute* a = node.attr("activations")) names = a->strings;
    const size_t perDir = defaults.size();
    if (names.empty())
        for (int d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
    if (names.size() != perDir * static_cast<size_t>(dirs))
        return invalid("activations must name " + std::to_string(perDir * static_cast<size_t>(dirs)) + " functions");
    std::vector<double> alphas, betas;
    if (const Attribute* a = node.attr("activation_alpha")) alphas = a->floats;
    if (const Attribute* a = node.attr("activation_beta")) betas = a->floats;
    std::vector<Activation> out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (!knownActivation(names[i])) return unsupported("activation '" + names[i] + "' is not supported");
        Activation f{names[i], defaultAlpha(names[i]), defaultBeta(names[i])};
        if (i < alphas.size()) f.alpha = static_cast<float>(alphas[i]);
        if (i < betas.size()) f.beta = static_cast<float>(betas[i]);
        out.push_back(f);
    }
    return out;
}

enum class Cell { Lstm, Gru, Rnn };

Status recurrent(KernelContext& ctx, Cell cell) {
    const int gates = cell == Cell::Lstm ? 4 : cell == Cell::Gru ? 3 : 1;
    for (size_t i = 0; i < ctx.inputCount(); ++i)
        if (ctx.has(i) && i != 4) BY_TRY(requireType(ctx.in(i), {DType::F32}, "input"));
    const Tensor& X0 = ctx.in(0);
    const Tensor& W = ctx.in(1);
    const Tensor& R = ctx.in(2);
    const bool batchFirst = ctx.node.attrInt("layout", 0) != 0;
    if (X0.rank() != 3 || W.rank() != 3 || R.rank() != 3) return invalid("X, W and R must be 3-D");
    const int64_t T = batchFirst ? X0.shape()[1] : X0.shape()[0];
    const int64_t B = batchFirst ? X0.shape()[0] : X0.shape()[1];
    const int64_t I = X0.shape()[2];
    const int64_t H = ctx.node.attrInt("hidden_size", R.shape()[2]);
    const std::string direction = ctx.node.attrString("direction", "forward");
    const int dirs = direction == "bidirectional" ? 2 : 1;
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
        return invalid("direction '" + direction + "' is not known");
    if (W.shape() != Shape{dirs, gates * H, I} || R.shape() != Shape{dirs, gates * H, H})
        return invalid("W " + shapeToString(W.shape()) + " or R " + shapeToString(R.shape()) + " does not fit hidden_size " +
                       std::to_string(H) + " and input size " + std::to_string(I));
    std::vector<std::string> defaults = cell == Cell::Lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                        : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                            : std::vector<std::string>{"Tanh"};
    auto acts = activations(ctx.node, dirs, defaults);
    if (!acts) return acts.error();
    const float clip = static_cast<float>(ctx.node.attrFloat("clip", 0.0));
    const bool inputForget = ctx.node.attrInt("input_forget", 0) != 0;
    const bool linearBeforeReset = ctx.node.attrInt("linear_before_reset", 0) != 0;

    // Time-major copy of X.
    Tensor X = X0;
    if (batchFirst) {
        auto t = allocate(DType::F32, {T, B, I});
        if (!t) return t.error();
        for (int64_t b = 0; b < B; ++b)
            for (int64_t s = 0; s < T; ++s)
                std::memcpy(t->mutableData<float>() + (s * B + b) * I, X0.data<float>() + (b * T + s) * I, static_cast<size_t>(I) * 4);
        X = std::move(*t);
    }
    std::vector<int64_t> lens(static_cast<size_t>(B), T);
    if (ctx.has(4)) {
        auto l = readInts(ctx.in(4), "sequence_lens");
        if (!l) return l.error();
        if (static_cast<int64_t>(l->size()) != B) return invalid("sequence_lens must have one entry per batch element");
        for (int64_t b = 0; b < B; ++b) lens[static_cast<size_t>(b)] = std::clamp<int64_t>((*l)[static_cast<size_t>(b)], 0, T);
    }
    auto initial = [&](size_t i, const char* what) -> Result<std::vector<float>> {
        if (!ctx.has(i)) return std::vector<float>(static_cast<size_t>(dirs * B * H), 0.f);
        if (ctx.in(i).shape() != Shape{dirs, B, H}) return invalid(std::string(what) + " must be " + shapeToString({dirs, B, H}));
        auto v = ctx.in(i).toFloats();
        if (!v) return v.error();
        return v;
    };
    auto h0 = initial(5, "initial_h");
    if (!h0) return h0.error();
    auto c0 = initial(6, "initial_c");
    if (!c0) return c0.error();

    auto Y = allocate(DType::F32, {T, dirs, B, H});
    auto Yh = allocate(DType::F32, {dirs, B, H});
    auto Yc = allocate(DType::F32, {dirs, B, H});
    if (!Y || !Yh || !Yc) return invalid("cannot allocate outputs");
    float* y = Y->mutableData<float>();
    const int64_t G = gates * H;
    std::vector<float> xw(static_cast<size_t>(T * B * G)), hr(static_cast<size_t>(B * G)), h(static_cast<size_t>(B * H)),
        c(static_cast<size_t>(B * H)), rh(static_cast<size_t>(B * H));

    for (int d = 0; d < dirs; ++d) {
        const bool reverse = direction == "reverse" || d == 1;
        const float* w = W.data<float>() + d * G * I;
        const float* r = R.data<float>() + d * G * H;
        std::vector<float> wb(static_cast<size_t>(G), 0.f), rb(static_cast<size_t>(G), 0.f), peep(static_cast<size_t>(3 * H), 0.f);
        if (ctx.has(3)) {
            const Tensor& Bt = ctx.in(3);
            if (Bt.shape() != Shape{dirs, 2 * G}) return invalid("B must be " + shapeToString({dirs, 2 * G}));
            std::memcpy(wb.data(), Bt.data<float>() + d * 2 * G, static_cast<size_t>(G) * 4);
            std::memcpy(rb.data(), Bt.data<float>() + d * 2 * G + G, static_cast<size_t>(G) * 4);
        }
        if (cell == Cell::Lstm && ctx.has(7)) {
            if (ctx.in(7).shape() != Shape{dirs, 3 * H}) return invalid("P must be " + shapeToString({dirs, 3 * H}));
            std::memcpy(peep.data(), ctx.in(7).data<float>() + d * 3 * H, static_cast<size_t>(3 * H) * 4);
        }
        const Activation* f = &(*acts)[static_cast<size_t>(d) * defaults.size()];
        // xw = X W^T + Wb (+ Rb where it is simply added)
        if (T * B > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(T * B), static_cast<blasint>(G),
                        static_cast<blasint>(I), 1.f, X.data<float>(), static_cast<blasint>(I), w, static_cast<blasint>(I), 0.f,
                        xw.data(), static_cast<blasint>(G));
        for (int64_t k = 0; k < T * B; ++k)
            for (int64_t j = 0; j < G; ++j) {
                float add = wb[static_cast<size_t>(j)];
                if (!(cell == Cell::Gru && j >= 2 * H)) add += rb[static_cast<size_t>(j)];
                xw[static_cast<size_t>(k * G + j)] += add;
            }
        std::copy(h0->begin() + d * B * H, h0->begin() + (d + 1) * B * H, h.begin());
        std::copy(c0->begin() + d * B * H, c0->begin() + (d + 1) * B * H, c.begin());
        auto clipv = [clip](float v) { return clip > 0 ? std::clamp(v, -clip, clip) : v; };

        for (int64_t step = 0; step < T; ++step) {
            const int64_t t = reverse ? T - 1 - step : step;
            // hr = H_{t-1} R^T (for GRU without linear_before_reset the h-gate part is redone below)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(B), static_cast<blasint>(G),
                        static_cast<blasint>(H), 1.f, h.data(), static_cast<blasint>(H), r, static_cast<blasint>(H), 0.f,
                        hr.data(), static_cast<blasint>(G));
            for (int64_t b = 0; b < B; ++b) {
                const int64_t len = lens[static_cast<size_t>(b)];
                // Reverse runs start at each sequence's own last step.
                const int64_t tt = reverse ? len - 1 - step : t;
                float* yo = y + ((t * dirs + d) * B + b) * H;
                if (step >= len) {
                    if (!reverse) std::fill(yo, yo + H, 0.f);
                    continue;
                }
                float* yt = y + ((tt * dirs + d) * B + b) * H;
                const float* gx = xw.data() + (tt * B + b) * G;
                const float* gh = hr.data() + b * G;
                float* hb = h.data() + b * H;
                float* cb = c.data() + b * H;
                if (cell == Cell::Lstm) {
                    for (int64_t k = 0; k < H; ++k) {
                        const auto kk = static_cast<size_t>(k);
                        float gi = clipv(gx[k] + gh[k] + peep[kk] * cb[k]);
                        const float it = f[0](gi);
                        float ft;
                        if (inputForget) ft = 1.f - it;
                        else ft = f[0](clipv(gx[2 * H + k] + gh[2 * H + k] + peep[2 * H + kk] * cb[k]));
                        const float ct = f[1](clipv(gx[3 * H + k] + gh[3 * H + k]));
                        cb[k] = ft * cb[k] + it * ct;
                        const float ot = f[0](clipv(gx[H + k] + gh[H + k] + peep[H + kk] * cb[k]));
                        hb[k] = ot * f[2](cb[k]);
                    }
                } else if (cell == Cell::Gru) {
                    std::vector<float> z(static_cast<size_t>(H)), rg(static_cast<size_t>(H));
                    for (int64_t k = 0; k < H; ++k) {
                        z[static_cast<size_t>(k)] = f[0](clipv(gx[k] + gh[k]));
                        rg[static_cast<size_t>(k)] = f[0](clipv(gx[H + k] + gh[H + k]));
                    }
                    std::vector<float> hh(static_cast<size_t>(H));
                    if (linearBeforeReset) {
                        for (int64_t k = 0; k < H; ++k)
                            hh[static_cast<size_t>(k)] =
                                f[1](clipv(gx[2 * H + k] + rg[static_cast<size_t>(k)] * (gh[2 * H + k] + rb[static_cast<size_t>(2 * H + k)])));
                    } else {
                        for (int64_t k = 0; k < H; ++k) rh[static_cast<size_t>(k)] = rg[static_cast<size_t>(k)] * hb[k];
                        const float* rH = r + 2 * H * H;
                        for (int64_t k = 0; k < H; ++k) {
                            float s = rb[static_cast<size_t>(2 * H + k)];
                            for (int64_t m = 0; m < H; ++m) s += rh[static_cast<size_t>(m)] * rH[k * H + m];
                            hh[static_cast<size_t>(k)] = f[1](clipv(gx[2 * H + k] + s));
                        }
                    }
                    for (int64_t k = 0; k < H; ++k) {
                        const auto kk = static_cast<size_t>(k);
                        hb[k] = (1.f - z[kk]) * hh[kk] + z[kk] * hb[k];
                    }
                } else {
                    for (int64_t k = 0; k < H; ++k) hb[k] = f[0](clipv(gx[k] + gh[k]));
                }
                std::copy(hb, hb + H, yt);
            }
        }
        std::copy(h.begin(), h.end(), Yh->mutableData<float>() + d * B * H);
        std::copy(c.begin(), c.end(), Yc->mutableData<float>() + d * B * H);
    }
    if (batchFirst) {
        // [T, dirs, B, H] -> [B, T, dirs, H]; Y_h/Y_c [dirs, B, H] -> [B, dirs, H]
        auto yb = allocate(DType::F32, {B, T, dirs, H});
        if (!yb) return yb.error();
        for (int64_t t = 0; t < T; ++t)
            for (int d = 0; d < dirs; ++d)
                for (int64_t b = 0; b < B; ++b)
                    std::memcpy(yb->mutableData<float>() + ((b * T + t) * dirs + d) * H, y + ((t * dirs + d) * B + b) * H,
                                static_cast<size_t>(H) * 4);
        Y = std::move(yb);
        for (Result<Tensor>* s : {&Yh, &Yc}) {
            auto tb = allocate(DType::F32, {B, dirs, H});
            if (!tb) return tb.error();
            for (int d = 0; d < dirs; ++d)
                for (int64_t b = 0; b < B; ++b)
                    std::memcpy(tb->mutableData<float>() + (b * dirs + d) * H, (*s)->data<float>() + (d * B + b) * H,
                                static_cast<size_t>(H) * 4);
            *s = std::move(tb);
        }
    }
    ctx.outputs[0] = std::move(*Y);
    if (ctx.outputs.size() > 1) ctx.outputs[1] = std::move(*Yh);
    if (ctx.outputs.size() > 2) ctx.outputs[2] = std::move(*Yc);
    return {};
}

Status checkRecurrent(const Node& n, const Graph& g, int64_t) {
    if (const Attribute* a = n.attr("activations"))
        for (const auto& s : a->strings)
            if (!knownActivation(s)) return unsupported("activation '" + s + "' is not supported");
    return requireDeclared(n, g, 0, {DType::F32});
}

}  // namespace

void registerRnnOps(OpRegistry& r) {
    r.add("", "LSTM", [](KernelContext& c) { return recurrent(c, Cell::Lstm); }, checkRecurrent);
    r.add("", "GRU", [](KernelContext& c) { return recurrent(c, Cell::Gru); }, checkRecurrent);
    r.add("", "RNN", [](KernelContext& c) { return recurrent(c, Cell::Rnn); }, checkRecurrent);
}

}  // namespace by
