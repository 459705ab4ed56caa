#include "head.h"

#include "adapter_config.h"
#include "errors.h"

namespace af {

namespace {

Activation head_activation(const std::string& name, const std::string& what) {
  if (name == "tanh") return Activation::Tanh;
  if (name == "relu") return Activation::Relu;
  if (name == "gelu") return Activation::Gelu;
  if (name == "swish" || name == "silu") return Activation::Swish;
  fail(ErrorCode::Unsupported, what + ": activation_function \"" + name + "\" is not supported (tanh, relu, gelu, swish)");
}

int positive_int(const Json& o, const char* key, int fallback, const std::string& what) {
  const Json* v = o.find(key);
  if (!v || v->is_null()) return fallback;
  const int64_t n = v->as_int64(what + "." + key);
  if (n < 1 || n > (1 << 20)) fail(ErrorCode::InvalidArgument, what + ": " + key + " must be a positive integer");
  return static_cast<int>(n);
}

}  // namespace

HeadConfig HeadConfig::from_json(const Json& config, const std::string& what) {
  if (!config.is_object()) fail(ErrorCode::InvalidArgument, what + ": must be an object");
  HeadConfig c;
  c.source = config;
  const Json* type = config.find("head_type");
  if (!type || !type->is_string()) fail(ErrorCode::InvalidArgument, what + ": missing \"head_type\"");
  if (type->as_string() == "classification") {
    c.type = HeadType::Classification;
    c.num_labels = positive_int(config, "num_labels", 2, what);
  } else if (type->as_string() == "multiple_choice") {
    c.type = HeadType::MultipleChoice;
    c.num_choices = positive_int(config, "num_choices", 2, what);
  } else {
    fail(ErrorCode::Unsupported, what + ": head_type \"" + type->as_string() +
                                     "\" is not supported (classification, multiple_choice)");
  }
  c.layers = positive_int(config, "layers", 2, what);
  if (const Json* act = config.find("activation_function"); act && act->is_string())
    c.activation = head_activation(act->as_string(), what);
  if (const Json* p = config.find("use_pooler"); p && p->is_bool() && p->as_bool())
    fail(ErrorCode::Unsupported, what + ": use_pooler = true is not supported");
  if (const Json* b = config.find("bias"); b && b->is_bool()) c.bias = b->as_bool();
  if (const Json* d = config.find("dropout_prob"); d && !d->is_null()) {
    c.dropout_prob = d->as_double(what + ".dropout_prob");
    if (!(c.dropout_prob >= 0 && c.dropout_prob < 1))
      fail(ErrorCode::InvalidArgument, what + ": dropout_prob must be in [0, 1)");
  }
  return c;
}

Json HeadConfig::to_json() const {
  const bool mc = type == HeadType::MultipleChoice;
  Json out = complete_config(source, R"({"activation_function": "tanh", "dropout_prob": null, "layers": 2, "use_pooler": false})",
                             {"dropout_prob"});
  const char* count = mc ? "num_choices" : "num_labels";
  if (!out.find(count)) out.set(count, Json::from_int64(mc ? num_choices : num_labels));
  if (!mc && !out.find("bias")) out.set("bias", Json::from_bool(bias));
  if (!out.find("label2id")) {
    Json m = Json::object();
    for (int i = 0; i < classes(); ++i) m.add("LABEL_" + std::to_string(i), Json::from_int64(i));
    out.set("label2id", m);
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> head_param_shapes(
    const std::string& name, const HeadConfig& c, int D) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (int k = 0; k < c.layers; ++k) {
    const bool last = k == c.layers - 1;
    const std::string pre = "heads." + name + "." + std::to_string(1 + 3 * k) + ".";
    const int64_t o = last ? c.outputs() : D;
    out.push_back({pre + "weight", {o, D}});
    if (!last || c.bias) out.push_back({pre + "bias", {o}});
  }
  return out;
}

}  // namespace af
