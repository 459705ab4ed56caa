// BERT hyper-parameters as read from a Hugging Face config.json, validated.
#pragma once
#include <string>

namespace af {

class Json;

struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
  float hidden_dropout_prob = 0.1f;
  float attention_probs_dropout_prob = 0.1f;
  int pad_token_id = 0;

  int head_size() const { return hidden_size / num_attention_heads; }

  // Throws Error(InvalidFile) naming `what` (the file) and the field for missing or
  // out-of-range values, Error(Unsupported) for architectures we do not implement.
  static BertConfig from_json(const Json& json, const std::string& what);
  static BertConfig from_file(const std::string& path);
  // Checks the invariants above for a config built in code (InvalidArgument on failure).
  void validate(const std::string& what) const;
};

}  // namespace af
