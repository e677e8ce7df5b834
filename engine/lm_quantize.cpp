#include "engine/lm_quantize.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "engine/gpt_model.h"
#include "engine/quant_blocks.h"
#include "engine/quant_matmul.h"
#include "engine/thread_pool.h"

namespace by {

const char* lmQuantAlgorithmName(LmQuantAlgorithm a) {
    switch (a) {
    case LmQuantAlgorithm::Rtn: return "rtn";
    case LmQuantAlgorithm::Gptq: return "gptq";
    case LmQuantAlgorithm::Awq: return "awq";
    }
    return "?";
}

namespace {

bool endsWith(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// llama-quantize's filter: which tensors are quantized at all (llama_model_quantize_impl).
std::string keepReason(const std::string& name, const Tensor& t) {
    if (!endsWith(name, "weight")) return "not a weight";
    if (t.rank() < 2) return "fewer than 2 dimensions";
    if (contains(name, "_norm.weight")) return "a norm";
    if (name == "position_embd.weight") return "the position embedding";
    if (name == "token_types.weight") return "the token-type embedding";
    for (const char* p : {"ffn_gate_inp.weight", "ssm_conv1d.weight", "time_mix_first.weight", "time_mix_w1.weight",
                          "time_mix_w2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
                          "time_mix_lerp_fused.weight", "attn_rel_b.weight"})
        if (contains(name, p)) return "a tensor llama-quantize never quantizes";
    return "";
}

int64_t rowLength(const Tensor& t) { return t.shape().back(); }  // ggml ne[0]

bool isGptLinear(const std::string& name, int64_t& layer, int& site) {
    static const std::array<const char*, 4> kSites = {"attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight"};
    if (name.rfind("blk.", 0) != 0) return false;
    const size_t dot = name.find('.', 4);
    if (dot == std::string::npos) return false;
    try {
        layer = std::stoll(name.substr(4, dot - 4));
    } catch (...) {
        return false;
    }
    const std::string rest = name.substr(dot + 1);
    for (int s = 0; s < 4; ++s)
        if (rest == kSites[size_t(s)]) {
            site = s;
            return true;
        }
    return false;
}

Result<std::vector<float>> toFloats(const std::string& name, const Tensor& t) {
    std::vector<float> f(size_t(t.numel()));
    if (t.dtype() == DType::F32) {
        std::memcpy(f.data(), t.rawData(), f.size() * 4);
    } else if (t.dtype() == DType::F16) {
        const auto* h = reinterpret_cast<const uint16_t*>(t.rawData());
        for (size_t i = 0; i < f.size(); ++i) {
            uint16_t v;
            std::memcpy(&v, h + i, 2);
            f[i] = halfToFloat(v);
        }
    } else {
        return makeError(ErrorCode::Unsupported, "tensor '" + name + "' is already " + dtypeName(t.dtype()) +
                                                     "; quantize from the f32 (or f16) model, as llama-quantize requires");
    }
    return f;
}

// Round-to-nearest level of x for scale 1/id, clamped to the type's range; returned as the value
// the block decodes to divided by d (an integer level, centred on 0).
inline int levelOf(DType type, float x, float id) {
    if (type == DType::Q4_0) return std::clamp(int(std::floor(x * id + 8.5f)), 0, 15) - 8;
    return std::clamp(int(std::lround(x * id)), -127, 127);
}

}  // namespace

float referenceBlockScale(DType type, const float* x) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    return type == DType::Q4_0 ? max / -8.f : amax / 127.f;
}

void encodeRowWithScales(DType type, const float* x, const float* d, int64_t n, uint8_t* dst) {
    const int64_t bytes = type == DType::Q4_0 ? 18 : 34;
    for (int64_t b = 0; b < n / 32; ++b) {
        uint8_t* blk = dst + b * bytes;
        const uint16_t h = floatToHalf(d[b]);
        std::memcpy(blk, &h, 2);
        const float dq = halfToFloat(h);  // the levels are chosen for the scale as stored
        const float id = dq != 0.f ? 1.f / dq : 0.f;
        const float* xb = x + b * 32;
        if (type == DType::Q4_0) {
            for (int j = 0; j < 16; ++j) {
                const int q0 = levelOf(type, xb[j], id) + 8, q1 = levelOf(type, xb[j + 16], id) + 8;
                blk[2 + j] = uint8_t(q0 | (q1 << 4));
            }
        } else {
            for (int j = 0; j < 32; ++j) blk[2 + j] = uint8_t(int8_t(levelOf(type, xb[j], id)));
        }
    }
}

Result<std::vector<LmTensorPlan>> planLmQuantization(const Model& model, DType type) {
    if (type != DType::Q8_0 && type != DType::Q4_0)
        return makeError(ErrorCode::Unsupported, std::string("language-model quantization writes Q8_0 or Q4_0, not ") + dtypeName(type));
    const Graph& g = model.graph;
    bool hasOutput = false;
    for (const auto& v : g.values)
        if (v.data && v.name == "output.weight") hasOutput = true;
    std::vector<LmTensorPlan> plan;
    for (const auto& v : g.values) {
        if (!v.data) continue;
        const Tensor& t = *v.data;
        LmTensorPlan p;
        p.name = v.name;
        p.from = p.to = t.dtype();
        const std::string why = keepReason(v.name, t);
        if (!why.empty()) {
            p.note = why;
            plan.push_back(p);
            continue;
        }
        const int64_t nx = rowLength(t);
        DType to = type;
        if (v.name == "output.weight" || (!hasOutput && v.name == "token_embd.weight")) {
            if (nx % 32 != 0) to = DType::Q8_0;
            else if (type != DType::Q8_0) to = DType::Q6_K;
        }
        if (nx % dtypeInfo(to).blockElems != 0) {
            if (to != DType::Q6_K)
                return makeError(ErrorCode::Invalid, "tensor '" + v.name + "' has rows of " + std::to_string(nx) + " values, not a whole number of " +
                                                         dtypeName(to) + " blocks of " + std::to_string(dtypeInfo(to).blockElems));
            to = nx % 32 == 0 ? DType::Q8_0 : DType::F16;
            p.note = std::string("rows of ") + std::to_string(nx) + " do not split into Q6_K blocks: " + dtypeName(to);
        }
        if (to == DType::F16 && t.dtype() == DType::F32) {
            return makeError(ErrorCode::Unsupported, "tensor '" + v.name + "' would be stored as F16 (rows of " + std::to_string(nx) +
                                                         " fit no block type), which this build does not write");
        }
        p.to = to;
        p.quantize = to != t.dtype();
        if (!p.quantize) p.note = std::string("already ") + dtypeName(to);
        plan.push_back(p);
    }
    return plan;
}

namespace {

// Calibration statistics of one linear layer's inputs: H = sum x x^T and sum |x| per channel.
struct LayerStats {
    int64_t K = 0, count = 0;
    std::vector<float> H;        // [K, K]
    std::vector<double> absSum;  // [K]
};

using StatsMap = std::map<std::pair<int64_t, int>, LayerStats>;

Result<StatsMap> collectStats(const Model& model, const LmQuantOptions& o, const std::set<std::pair<int64_t, int>>& wanted, int threads) {
    auto gm = GptModel::fromModel(model);
    if (!gm) return makeError(gm.error().code, "calibration needs the model to run as a GPT-2: " + gm.error().message);
    const auto& cfg = (*gm)->config();
    const int64_t ctx = std::min(o.calibrationCtx, cfg.nCtx);
    if (ctx < 2) return makeError(ErrorCode::Invalid, "the calibration context must be at least 2 tokens");
    const int64_t chunks = std::min<int64_t>(int64_t(o.calibrationTokens.size()), o.maxCalibrationTokens) / ctx;
    if (chunks < 1)
        return makeError(ErrorCode::Invalid, "the calibration text has " + std::to_string(o.calibrationTokens.size()) +
                                                 " tokens; GPTQ and AWQ need at least one sequence of " + std::to_string(ctx));
    StatsMap stats;
    for (const auto& key : wanted) {
        LayerStats s;
        s.K = key.second == 3 ? cfg.nFf : cfg.nEmbd;
        s.H.assign(size_t(s.K * s.K), 0.f);
        s.absSum.assign(size_t(s.K), 0.0);
        stats[key] = std::move(s);
    }
    GptSession session(*gm, threads);
    session.setCapture([&](int64_t layer, int site, const float* x, int64_t rows, int64_t cols) {
        auto it = stats.find({layer, site});
        if (it == stats.end()) return;
        LayerStats& s = it->second;
        sgemmRowMajor(true, false, cols, cols, rows, 1.0f, x, cols, x, cols, 1.0f, s.H.data(), cols);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t k = 0; k < cols; ++k) s.absSum[size_t(k)] += std::fabs(x[r * cols + k]);
        s.count += rows;
    });
    for (int64_t c = 0; c < chunks; ++c) {
        if (o.progress) {
            if (o.progress->cancelled()) return makeError(ErrorCode::Cancelled, "quantization was cancelled");
            o.progress->report(0.5 * double(c) / double(chunks), "calibration");
        }
        session.reset();
        auto r = session.eval(std::span<const int32_t>(o.calibrationTokens.data() + c * ctx, size_t(ctx)), false);
        if (!r) return makeError(r.error().code, "calibration run: " + r.error().message);
    }
    return stats;
}

// tr(D H D^T) for D = W - W' ([N, K] row-major): the squared output error over the calibration set.
double outputError(const std::vector<float>& W, const std::vector<float>& Wq, const std::vector<float>& H, int64_t N, int64_t K) {
    std::vector<float> D(W.size()), DH(W.size());
    for (size_t i = 0; i < W.size(); ++i) D[i] = W[i] - Wq[i];
    sgemmRowMajor(false, false, N, K, K, 1.0f, D.data(), K, H.data(), K, 0.0f, DH.data(), K);
    double e = 0;
    for (size_t i = 0; i < D.size(); ++i) e += double(D[i]) * double(DH[i]);
    return e;
}

// Decoded value of every weight under ggml's reference blocks (the RTN baseline of a search).
std::vector<float> rtnDecoded(DType type, const std::vector<float>& W) {
    std::vector<float> out(W.size());
    for (size_t b = 0; b < W.size() / 32; ++b) {
        const float* x = W.data() + b * 32;
        const float d = halfToFloat(floatToHalf(referenceBlockScale(type, x)));
        const float id = d != 0.f ? 1.f / d : 0.f;
        for (int j = 0; j < 32; ++j) out[b * 32 + size_t(j)] = float(levelOf(type, x[j], id)) * d;
    }
    return out;
}

// Per-block clipping: for each 32-block of each row the scale (reference scale times a ratio in
// [0.55, 1]) whose rounding error e^T G e is smallest, G being the block's 32x32 slice of H.
float blockScaleSearch(DType type, const float* x, const float* G, int64_t ld);

std::vector<float> clipScales(DType type, const std::vector<float>& W, int64_t N, int64_t K, const std::vector<float>& H, ThreadPool& pool) {
    const int64_t nb = K / 32;
    std::vector<float> scales(static_cast<size_t>(N * nb));
    pool.parallelFor(N, 4, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t b = 0; b < nb; ++b) {
                const float* x = W.data() + r * K + b * 32;
                const float best = blockScaleSearch(type, x, H.data() + (b * 32) * K + b * 32, K);
                scales[size_t(r * nb + b)] = best;
            }
    });
    return scales;
}

std::vector<float> decodedWithScales(DType type, const std::vector<float>& W, const std::vector<float>& scales) {
    std::vector<float> out(W.size());
    for (size_t b = 0; b < W.size() / 32; ++b) {
        const float dq = halfToFloat(floatToHalf(scales[b]));
        const float id = dq != 0.f ? 1.f / dq : 0.f;
        for (int j = 0; j < 32; ++j) out[b * 32 + size_t(j)] = float(levelOf(type, W[b * 32 + size_t(j)], id)) * dq;
    }
    return out;
}

// The scale of one 32-block among 1.0 .. 0.55 times ggml's, whose rounding error e^T G e is
// smallest (G: the block's 32x32 slice of H, row stride `ld`).
float blockScaleSearch(DType type, const float* x, const float* G, int64_t ld) {
    const float d0 = referenceBlockScale(type, x);
    float best = d0, e[32];
    double bestErr = -1;
    for (int step = 0; step < 10; ++step) {
        const float d = d0 * (1.0f - 0.05f * float(step));
        const float dq = halfToFloat(floatToHalf(d));
        const float id = dq != 0.f ? 1.f / dq : 0.f;
        for (int j = 0; j < 32; ++j) e[j] = x[j] - float(levelOf(type, x[j], id)) * dq;
        double err = 0;
        for (int i = 0; i < 32; ++i) {
            double row = 0;
            for (int j = 0; j < 32; ++j) row += double(G[i * ld + j]) * e[j];
            err += row * e[i];
        }
        if (bestErr < 0 || err < bestErr) {
            bestErr = err;
            best = d;
        }
    }
    return best;
}

// GPTQ on one [N, K] matrix: returns the decoded weights and the per-block scales it chose.
Status gptq(DType type, std::vector<float>& W, int64_t N, int64_t K, const std::vector<float>& Hf, double dampFrac,
            std::vector<float>& scales, ThreadPool& pool) {
    Eigen::MatrixXd H(K, K);
    for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j) H(i, j) = Hf[size_t(i * K + j)];
    // Inputs that are always zero carry no information: their weights are free, set them to 0.
    std::vector<bool> dead(size_t(K), false);
    for (int64_t i = 0; i < K; ++i)
        if (H(i, i) == 0) {
            dead[size_t(i)] = true;
            H(i, i) = 1;
        }
    const double damp = dampFrac * H.diagonal().mean();
    H.diagonal().array() += damp;
    Eigen::LLT<Eigen::MatrixXd> llt(H);
    if (llt.info() != Eigen::Success) return makeError(ErrorCode::Invalid, "the calibration Hessian is not positive definite even after damping");
    const Eigen::MatrixXd Hinv = llt.solve(Eigen::MatrixXd::Identity(K, K));
    Eigen::LLT<Eigen::MatrixXd> llt2(Hinv);
    if (llt2.info() != Eigen::Success) return makeError(ErrorCode::Invalid, "the inverse calibration Hessian has no Cholesky factor");
    const Eigen::MatrixXd U = llt2.matrixU();  // Hinv = U^T U
    const int64_t nb = K / 32;
    scales.assign(size_t(N * nb), 0.f);
    // Rows are independent given H: each row is one GPTQ pass over its columns.
    pool.parallelFor(N, 8, [&](int64_t r0, int64_t r1) {
        std::vector<double> w(static_cast<size_t>(K));
        for (int64_t r = r0; r < r1; ++r) {
            float* row = W.data() + r * K;
            for (int64_t k = 0; k < K; ++k) w[size_t(k)] = dead[size_t(k)] ? 0.0 : row[k];
            float dq = 0, id = 0;
            for (int64_t k = 0; k < K; ++k) {
                if (k % 32 == 0) {
                    float blk[32];
                    for (int j = 0; j < 32; ++j) blk[j] = float(w[size_t(k + j)]);
                    const float d = blockScaleSearch(type, blk, Hf.data() + k * K + k, K);
                    scales[size_t(r * nb + k / 32)] = d;
                    dq = halfToFloat(floatToHalf(d));
                    id = dq != 0.f ? 1.f / dq : 0.f;
                }
                const double q = double(levelOf(type, float(w[size_t(k)]), id)) * dq;
                const double err = (w[size_t(k)] - q) / U(k, k);
                row[k] = float(q);
                for (int64_t j = k + 1; j < K; ++j) w[size_t(j)] -= err * U(k, j);
            }
        }
    });
    return {};
}

struct Site {
    std::string name;  // tensor name
    int64_t layer = 0;
    int site = 0;
};

}  // namespace

Result<CompressResult> quantizeLanguageModel(const Model& model, const LmQuantOptions& o) {
    auto plan = planLmQuantization(model, o.type);
    BY_TRY(plan);
    std::map<std::string, LmTensorPlan*> byName;
    for (auto& p : *plan) byName[p.name] = &p;
    if (!o.names.empty()) {
        std::set<std::string> chosen;
        for (const auto& n : o.names) {
            auto it = byName.find(n);
            if (it == byName.end()) return makeError(ErrorCode::Invalid, "the model has no tensor named '" + n + "'");
            if (!it->second->quantize && keepReason(n, *model.graph.values[size_t(model.graph.findValue(n))].data) != "")
                return makeError(ErrorCode::Invalid, "tensor '" + n + "' is " + it->second->note + ", which llama-quantize keeps unquantized");
            chosen.insert(n);
        }
        for (auto& p : *plan)
            if (!chosen.count(p.name) && p.quantize) {
                p.quantize = false;
                p.to = p.from;
                p.note = "not selected";
            }
    }
    const int threads = o.threads > 0 ? o.threads : ThreadPool::hardwareThreads();
    ThreadPool pool(threads);

    CompressResult r;
    r.model = model;
    r.paramsBefore = model.graph.parameterCount();
    r.bytesBefore = model.graph.weightBytes();
    Graph& g = r.model.graph;

    // Working f32 copies of the tensors the calibration-aware methods change (the GPT's block
    // matrices and, for AWQ, the LayerNorms and qkv biases the scales fold into).
    std::vector<Site> sites;
    if (o.algorithm != LmQuantAlgorithm::Rtn)
        for (const auto& p : *plan) {
            Site s;
            s.name = p.name;
            if (p.quantize && p.to == o.type && isGptLinear(p.name, s.layer, s.site)) sites.push_back(s);
        }
    std::map<std::string, std::vector<float>> work;   // tensor -> f32 values to encode / store
    std::map<std::string, std::vector<float>> scalesOf;  // tensor -> chosen per-block scales
    std::map<std::string, double> reference;           // tensor -> output error of plain RTN
    std::map<std::string, double> achieved;            // tensor -> output error after the method
    std::map<std::string, std::vector<float>> originals;  // GPTQ: the weights before rounding
    if (!sites.empty()) {
        std::set<std::pair<int64_t, int>> wanted;
        for (const auto& s : sites) wanted.insert({s.layer, s.site});
        auto stats = collectStats(model, o, wanted, threads);
        BY_TRY(stats);
        auto load = [&](const std::string& name) -> Result<std::vector<float>*> {
            auto it = work.find(name);
            if (it != work.end()) return &it->second;
            const int id = g.findValue(name);
            if (id < 0 || !g.values[size_t(id)].data) return makeError(ErrorCode::Invalid, "tensor '" + name + "' is missing");
            auto f = toFloats(name, *g.values[size_t(id)].data);
            BY_TRY(f);
            return &(work[name] = std::move(*f));
        };
        auto H = [&](const Site& s) -> std::vector<float>& { return (*stats)[{s.layer, s.site}].H; };
        if (o.algorithm == LmQuantAlgorithm::Awq) {
            // Scale search first (it changes the matrices the later steps quantize): attn_output
            // before attn_qkv, whose V rows absorb attn_output's scales.
            std::vector<Site> order = sites;
            std::stable_sort(order.begin(), order.end(), [](const Site& a, const Site& b) {
                auto rank = [](int s) { return s == 1 ? 0 : s == 0 ? 1 : s == 2 ? 2 : 3; };
                return a.layer != b.layer ? a.layer < b.layer : rank(a.site) < rank(b.site);
            });
            for (const auto& s : order) {
                auto wp = load(s.name);
                BY_TRY(wp);
                std::vector<float>& W = **wp;
                const int64_t K = (*stats)[{s.layer, s.site}].K, N = int64_t(W.size()) / K;
                LayerStats& st = (*stats)[{s.layer, s.site}];
                reference[s.name] = outputError(W, rtnDecoded(o.type, W), st.H, N, K);
                if (s.site == 3) continue;  // after GELU: nothing to fold a scale into
                std::vector<double> xmean(static_cast<size_t>(K));
                for (int64_t k = 0; k < K; ++k) xmean[size_t(k)] = st.absSum[size_t(k)] / double(std::max<int64_t>(1, st.count));
                double bestErr = reference[s.name];
                std::vector<float> bestS(size_t(K), 1.f);
                for (int step = 1; step < 20; ++step) {
                    const double alpha = 0.05 * step;
                    std::vector<float> sc(static_cast<size_t>(K));
                    double lo = 1e300, hi = 0;
                    for (int64_t k = 0; k < K; ++k) {
                        const double v = std::pow(std::max(xmean[size_t(k)], 1e-4), alpha);
                        sc[size_t(k)] = float(v);
                        lo = std::min(lo, v);
                        hi = std::max(hi, v);
                    }
                    const double mid = std::sqrt(lo * hi);
                    for (auto& v : sc) v = float(v / mid);
                    std::vector<float> Ws(W.size());
                    for (int64_t n = 0; n < N; ++n)
                        for (int64_t k = 0; k < K; ++k) Ws[size_t(n * K + k)] = W[size_t(n * K + k)] * sc[size_t(k)];
                    std::vector<float> D = rtnDecoded(o.type, Ws);
                    for (int64_t n = 0; n < N; ++n)
                        for (int64_t k = 0; k < K; ++k) D[size_t(n * K + k)] /= sc[size_t(k)];
                    const double err = outputError(W, D, st.H, N, K);
                    if (err < bestErr) {
                        bestErr = err;
                        bestS = sc;
                    }
                }
                // Fold: W[:, k] *= s_k and the producer of input k divides by s_k.
                const std::string p = "blk." + std::to_string(s.layer) + ".";
                for (int64_t n = 0; n < N; ++n)
                    for (int64_t k = 0; k < K; ++k) W[size_t(n * K + k)] *= bestS[size_t(k)];
                // The inputs as the layer now sees them: H' = diag(1/s) H diag(1/s).
                for (int64_t i = 0; i < K; ++i)
                    for (int64_t j = 0; j < K; ++j) st.H[size_t(i * K + j)] /= bestS[size_t(i)] * bestS[size_t(j)];
                if (s.site == 0 || s.site == 2) {
                    const std::string ln = p + (s.site == 0 ? "attn_norm" : "ffn_norm");
                    for (const char* part : {".weight", ".bias"}) {
                        auto v = load(ln + part);
                        BY_TRY(v);
                        for (int64_t k = 0; k < K; ++k) (**v)[size_t(k)] /= bestS[size_t(k)];
                    }
                } else {
                    // attn_output's input is softmax-weighted sums of V: V's rows of attn_qkv (and
                    // its bias) carry the division.
                    auto qkv = load(p + "attn_qkv.weight");
                    BY_TRY(qkv);
                    auto qb = load(p + "attn_qkv.bias");
                    BY_TRY(qb);
                    const int64_t d = K;
                    for (int64_t k = 0; k < d; ++k) {
                        for (int64_t j = 0; j < d; ++j) (**qkv)[size_t((2 * d + k) * d + j)] /= bestS[size_t(k)];
                        (**qb)[size_t(2 * d + k)] /= bestS[size_t(k)];
                    }
                }
            }
            for (const auto& s : sites) {
                std::vector<float>& W = work[s.name];
                LayerStats& st = (*stats)[{s.layer, s.site}];
                const int64_t K = st.K, N = int64_t(W.size()) / K;
                scalesOf[s.name] = clipScales(o.type, W, N, K, st.H, pool);
            }
        } else {
            for (const auto& s : sites) {
                if (o.progress && o.progress->cancelled()) return makeError(ErrorCode::Cancelled, "quantization was cancelled");
                auto wp = load(s.name);
                BY_TRY(wp);
                std::vector<float>& W = **wp;
                const int64_t K = (*stats)[{s.layer, s.site}].K, N = int64_t(W.size()) / K;
                const std::vector<float>& original = originals[s.name] = W;
                reference[s.name] = outputError(original, rtnDecoded(o.type, original), H(s), N, K);
                std::vector<float> sc;
                if (auto st = gptq(o.type, W, N, K, H(s), o.damp, sc, pool); !st)
                    return makeError(st.error().code, "GPTQ of '" + s.name + "': " + st.error().message);
                achieved[s.name] = outputError(original, W, H(s), N, K);
                // W now holds decoded values: their scales re-encode them exactly.
                scalesOf[s.name] = std::move(sc);
            }
        }
        if (o.algorithm == LmQuantAlgorithm::Awq)
            for (const auto& s : sites) {
                // Reported in the original input space: the decoded matrix divided back by s.
                const std::vector<float>& W = work[s.name];
                LayerStats& st = (*stats)[{s.layer, s.site}];
                const int64_t K = st.K, N = int64_t(W.size()) / K;
                achieved[s.name] = outputError(W, decodedWithScales(o.type, W, scalesOf[s.name]), st.H, N, K);
            }
    }

    // Encode every planned tensor: chunks of rows over all tensors on the pool.
    struct Job {
        int valueId;
        const float* src;
        const float* scales;  // per block, or null for ggml's reference encoder
        DType to;
        int64_t row0, rows, rowLen;
        uint8_t* dst;
    };
    std::vector<Job> jobs;
    std::vector<std::vector<uint8_t>> outBytes;
    std::vector<std::vector<float>> converted;  // f16 sources expanded to f32
    std::vector<std::pair<int, LmTensorPlan*>> encoded;
    outBytes.reserve(plan->size());
    converted.reserve(plan->size());
    for (auto& p : *plan) {
        if (!p.quantize) continue;
        const int id = g.findValue(p.name);
        const Tensor& t = *g.values[size_t(id)].data;
        const float* src = nullptr;
        if (auto it = work.find(p.name); it != work.end()) src = it->second.data();
        else if (t.dtype() == DType::F32) src = t.data<float>();
        else {
            auto f = toFloats(p.name, t);
            BY_TRY(f);
            converted.push_back(std::move(*f));
            src = converted.back().data();
        }
        const int64_t nx = rowLength(t), rows = t.numel() / nx;
        outBytes.emplace_back(size_t(dtypeStorageBytes(p.to, t.numel())));
        const int64_t rowBytes = dtypeStorageBytes(p.to, nx);
        const float* sc = nullptr;
        if (auto it = scalesOf.find(p.name); it != scalesOf.end()) sc = it->second.data();
        // About 64K values per job: small enough to balance, large enough to amortise.
        const int64_t per = std::max<int64_t>(1, 65536 / nx);
        for (int64_t r0 = 0; r0 < rows; r0 += per)
            jobs.push_back({id, src, sc, p.to, r0, std::min(per, rows - r0), nx, outBytes.back().data() + r0 * rowBytes});
        encoded.emplace_back(id, &p);
    }
    std::atomic<bool> failed{false};
    pool.parallelFor(int64_t(jobs.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j) {
            const Job& jb = jobs[size_t(j)];
            const float* x = jb.src + jb.row0 * jb.rowLen;
            if (jb.scales) {
                const int64_t rowBytes = dtypeStorageBytes(jb.to, jb.rowLen);
                for (int64_t r = 0; r < jb.rows; ++r)
                    encodeRowWithScales(jb.to, x + r * jb.rowLen, jb.scales + (jb.row0 + r) * (jb.rowLen / 32), jb.rowLen, jb.dst + r * rowBytes);
            } else if (!quantizeBlocks(jb.to, x, jb.rows * jb.rowLen, jb.dst)) {
                failed = true;
            }
        }
    });
    if (failed) return makeError(ErrorCode::Internal, "a block encoder failed");
    for (size_t i = 0; i < encoded.size(); ++i) {
        const auto [id, p] = encoded[i];
        Value& v = g.values[size_t(id)];
        const Tensor& before = *v.data;
        LayerReport row;
        row.layer = p->name;
        row.opType = "tensor";
        row.method = std::string("quantize_ggml");
        row.detail = std::string(dtypeName(p->to));
        if (scalesOf.count(p->name)) row.detail += std::string(" ") + lmQuantAlgorithmName(o.algorithm);
        row.note = p->note;
        if (reference.count(p->name) && achieved.count(p->name) && reference[p->name] > 0)
            row.note += (row.note.empty() ? "" : "; ") + std::string("calibration output error ") +
                        std::to_string(achieved[p->name] / reference[p->name]).substr(0, 5) + "x that of round-to-nearest";
        row.paramsBefore = row.paramsAfter = before.numel();
        row.bytesBefore = int64_t(before.nbytes());
        auto nt = Tensor::fromBytes(p->to, before.shape(), std::move(outBytes[i]));
        BY_TRY(nt);
        row.bytesAfter = int64_t(nt->nbytes());
        // Relative error of the weights as written (in the space the tensor is used in).
        {
            const int64_t n = std::min<int64_t>(before.numel(), 1 << 20);  // a prefix keeps this cheap on huge tensors
            const int64_t nn = n - n % dtypeInfo(p->to).blockElems;
            std::vector<float> a(static_cast<size_t>(nn)), q(static_cast<size_t>(nn));
            if (auto it = originals.find(p->name); it != originals.end()) std::memcpy(a.data(), it->second.data(), size_t(nn) * 4);
            else if (auto it2 = work.find(p->name); it2 != work.end()) std::memcpy(a.data(), it2->second.data(), size_t(nn) * 4);
            else if (before.dtype() == DType::F32) std::memcpy(a.data(), before.rawData(), size_t(nn) * 4);
            if (dequantizeBlocks(p->to, nt->rawData(), nn, q.data())) {
                double num = 0, den = 0;
                for (int64_t k = 0; k < nn; ++k) {
                    num += double(a[size_t(k)] - q[size_t(k)]) * double(a[size_t(k)] - q[size_t(k)]);
                    den += double(a[size_t(k)]) * double(a[size_t(k)]);
                }
                row.relError = den > 0 ? std::sqrt(num / den) : 0.0;
            }
        }
        v.data = std::move(*nt);
        v.dtype = p->to;
        r.layers.push_back(row);
    }
    // Folded f32 tensors (AWQ's LayerNorms and qkv biases) are stored as changed.
    for (auto& [name, vals] : work) {
        const int id = g.findValue(name);
        Value& v = g.values[size_t(id)];
        if (v.data->dtype() == DType::F32) v.data = Tensor::fromFloats(v.data->shape(), vals);
    }
    auto setU32 = [&](const std::string& key, int64_t value) {
        for (auto& [k, mv] : r.model.metadata)
            if (k == key) {
                mv = MetaValue::ofInt(MetaValue::Type::U32, value);
                return;
            }
        r.model.metadata.emplace_back(key, MetaValue::ofInt(MetaValue::Type::U32, value));
    };
    if (!encoded.empty()) {
        setU32("general.quantization_version", 2);
        setU32("general.file_type", o.type == DType::Q8_0 ? 7 : 2);  // llama_ftype MOSTLY_Q8_0 / MOSTLY_Q4_0
    }
    r.model.sourcePath.clear();
    r.model.warnings.clear();
    r.paramsAfter = g.parameterCount();
    r.bytesAfter = g.weightBytes();
    if (o.progress) o.progress->report(1.0, "done");
    return r;
}

}  // namespace by
