#include "importers/tokenizer_files.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace by {

namespace {
Result<std::string> readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, "cannot open the file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

Result<BpeTokenizer> loadGpt2TokenizerFiles(const std::string& dir) {
    const std::string encPath = dir + "/encoder.json", bpePath = dir + "/vocab.bpe";
    auto encText = readText(encPath);
    BY_TRY(encText);
    auto j = nlohmann::json::parse(*encText, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return makeError(ErrorCode::Format, "is not a JSON object of token -> id", encPath);
    std::vector<std::string> tokens(j.size());
    std::vector<bool> seen(j.size(), false);
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (!it.value().is_number_integer()) return makeError(ErrorCode::Format, "token '" + it.key() + "' has a non-integer id", encPath);
        const int64_t id = it.value().get<int64_t>();
        if (id < 0 || id >= static_cast<int64_t>(tokens.size()) || seen[static_cast<size_t>(id)])
            return makeError(ErrorCode::Format, "token '" + it.key() + "' has id " + std::to_string(id) + ", which is out of range or repeated", encPath);
        tokens[static_cast<size_t>(id)] = it.key();
        seen[static_cast<size_t>(id)] = true;
    }
    auto bpeText = readText(bpePath);
    BY_TRY(bpeText);
    std::vector<std::string> merges;
    std::istringstream lines(*bpeText);
    std::string line;
    bool first = true;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (first && line.rfind("#version", 0) == 0) {
            first = false;
            continue;
        }
        first = false;
        if (line.empty()) continue;
        merges.push_back(line);
    }
    auto tok = BpeTokenizer::create(std::move(tokens), merges);
    if (!tok.ok()) tok.error().withContext(dir);
    return tok;
}

Result<BpeTokenizer> tokenizerFromModelMetadata(const Model& model) {
    const MetaValue* kind = model.meta("tokenizer.ggml.model");
    const MetaValue* toks = model.meta("tokenizer.ggml.tokens");
    const MetaValue* merges = model.meta("tokenizer.ggml.merges");
    if (!kind || kind->s != "gpt2" || !toks || !merges || toks->type != MetaValue::Type::Array || merges->type != MetaValue::Type::Array)
        return makeError(ErrorCode::Unsupported, "the model carries no GPT-2 BPE vocabulary (tokenizer.ggml.model = gpt2 with tokens and merges)",
                         model.sourcePath);
    auto tok = BpeTokenizer::create(toks->strings, merges->strings);
    if (!tok.ok()) tok.error().withContext(model.sourcePath);
    return tok;
}

std::vector<std::pair<std::string, MetaValue>> gpt2TokenizerMetadata(const BpeTokenizer& tok, int64_t eosId) {
    using T = MetaValue::Type;
    std::vector<std::pair<std::string, MetaValue>> out;
    out.emplace_back("tokenizer.ggml.model", MetaValue::ofString("gpt2"));
    out.emplace_back("tokenizer.ggml.pre", MetaValue::ofString("gpt-2"));
    MetaValue tokens;
    tokens.type = T::Array;
    tokens.arrayType = T::String;
    tokens.strings = tok.tokens();
    out.emplace_back("tokenizer.ggml.tokens", std::move(tokens));
    MetaValue types;
    types.type = T::Array;
    types.arrayType = T::I32;
    // 1 = normal, 3 = control (llama_token_type); the end-of-text token is the only control one.
    types.ints.assign(tok.vocabSize(), 1);
    if (eosId >= 0 && static_cast<size_t>(eosId) < tok.vocabSize()) types.ints[static_cast<size_t>(eosId)] = 3;
    out.emplace_back("tokenizer.ggml.token_type", std::move(types));
    MetaValue merges;
    merges.type = T::Array;
    merges.arrayType = T::String;
    merges.strings = tok.merges();
    out.emplace_back("tokenizer.ggml.merges", std::move(merges));
    out.emplace_back("tokenizer.ggml.bos_token_id", MetaValue::ofInt(T::U32, eosId));
    out.emplace_back("tokenizer.ggml.eos_token_id", MetaValue::ofInt(T::U32, eosId));
    out.emplace_back("tokenizer.ggml.unknown_token_id", MetaValue::ofInt(T::U32, eosId));
    MetaValue addBos = MetaValue::ofInt(T::Bool, 0);
    out.emplace_back("tokenizer.ggml.add_bos_token", addBos);
    return out;
}

}  // namespace by
