#include "bert_config.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "errors.h"
#include "json.h"

namespace af {

namespace {

// Bounds that keep every size product inside int and memory sane; real BERTs are far below.
constexpr long long kMaxDim = 1 << 20;

int read_int(const Json& obj, const char* key, const std::string& what, bool required,
             int fallback) {
  const Json* v = obj.find(key);
  if (!v || v->is_null()) {
    if (required) fail(ErrorCode::InvalidFile, what + ": missing field \"" + key + "\"");
    return fallback;
  }
  if (!v->is_number()) fail(ErrorCode::InvalidFile, what + ": field \"" + key + "\" must be a number");
  double d = v->as_double(what + ": field \"" + key + "\"");
  if (!(d == std::floor(d)) || d < 0 || d > kMaxDim)
    fail(ErrorCode::InvalidFile, what + ": field \"" + key + "\" must be an integer in [0, " +
                                     std::to_string(kMaxDim) + "], got " + v->dump());
  return static_cast<int>(d);
}

float read_float(const Json& obj, const char* key, const std::string& what, float fallback) {
  const Json* v = obj.find(key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_number()) fail(ErrorCode::InvalidFile, what + ": field \"" + key + "\" must be a number");
  return static_cast<float>(v->as_double(what + ": field \"" + key + "\""));
}

}  // namespace

BertConfig BertConfig::from_json(const Json& json, const std::string& what) {
  if (!json.is_object()) fail(ErrorCode::InvalidFile, what + ": expected a JSON object");
  if (const Json* mt = json.find("model_type"); mt && !mt->is_null()) {
    if (!mt->is_string() || mt->as_string() != "bert")
      fail(ErrorCode::Unsupported, what + ": model_type " + mt->dump() + " is not supported (only \"bert\")");
  }
  if (const Json* act = json.find("hidden_act"); act && !act->is_null()) {
    if (!act->is_string() || act->as_string() != "gelu")
      fail(ErrorCode::Unsupported, what + ": hidden_act " + act->dump() +
                                       " is not supported (only \"gelu\", the erf form)");
  } else {
    fail(ErrorCode::InvalidFile, what + ": missing field \"hidden_act\"");
  }
  if (const Json* pe = json.find("position_embedding_type"); pe && !pe->is_null()) {
    if (!pe->is_string() || pe->as_string() != "absolute")
      fail(ErrorCode::Unsupported, what + ": position_embedding_type " + pe->dump() +
                                       " is not supported (only \"absolute\")");
  }
  BertConfig c;
  c.vocab_size = read_int(json, "vocab_size", what, true, 0);
  c.hidden_size = read_int(json, "hidden_size", what, true, 0);
  c.num_hidden_layers = read_int(json, "num_hidden_layers", what, true, 0);
  c.num_attention_heads = read_int(json, "num_attention_heads", what, true, 0);
  c.intermediate_size = read_int(json, "intermediate_size", what, true, 0);
  c.max_position_embeddings = read_int(json, "max_position_embeddings", what, true, 0);
  c.type_vocab_size = read_int(json, "type_vocab_size", what, true, 0);
  c.pad_token_id = read_int(json, "pad_token_id", what, false, 0);
  c.layer_norm_eps = read_float(json, "layer_norm_eps", what, 1e-12f);
  c.hidden_dropout_prob = read_float(json, "hidden_dropout_prob", what, 0.1f);
  c.attention_probs_dropout_prob = read_float(json, "attention_probs_dropout_prob", what, 0.1f);
  try {
    c.validate(what);
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidFile, e.what());
  }
  return c;
}

BertConfig BertConfig::from_file(const std::string& path) {
  // The size is checked before reading: a huge file is refused without holding it in memory.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (16 << 20))
    fail(ErrorCode::InvalidFile, path + ": config file larger than 16 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::Io, path + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(ErrorCode::Io, path + ": read error");
  std::string text = ss.str();
  if (text.size() > (16u << 20)) fail(ErrorCode::InvalidFile, path + ": config file larger than 16 MiB");
  return from_json(Json::parse(text, path), path);
}

void BertConfig::validate(const std::string& what) const {
  auto positive = [&](int v, const char* name) {
    if (v <= 0) fail(ErrorCode::InvalidArgument, what + ": " + name + " must be positive, got " + std::to_string(v));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(intermediate_size, "intermediate_size");
  positive(max_position_embeddings, "max_position_embeddings");
  positive(type_vocab_size, "type_vocab_size");
  if (hidden_size % num_attention_heads != 0)
    fail(ErrorCode::InvalidArgument, what + ": hidden_size " + std::to_string(hidden_size) +
                                         " is not a multiple of num_attention_heads " +
                                         std::to_string(num_attention_heads));
  if (!(layer_norm_eps > 0.0f) || !std::isfinite(layer_norm_eps))
    fail(ErrorCode::InvalidArgument, what + ": layer_norm_eps must be a positive finite number");
  auto prob = [&](float p, const char* name) {
    if (!(p >= 0.0f && p < 1.0f))
      fail(ErrorCode::InvalidArgument, what + ": " + name + " must be in [0, 1)");
  };
  prob(hidden_dropout_prob, "hidden_dropout_prob");
  prob(attention_probs_dropout_prob, "attention_probs_dropout_prob");
  if (pad_token_id < 0 || pad_token_id >= vocab_size)
    fail(ErrorCode::InvalidArgument, what + ": pad_token_id out of range of vocab_size");
}

}  // namespace af
