#include "adapter_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "errors.h"

namespace af {

namespace {

// BnConfig's fields with SeqBnConfig's values, as AdapterHub 1.x serialises them.
constexpr const char* kSeqBn = R"({
  "adapter_residual_before_ln": false, "cross_adapter": false, "dropout": 0.0,
  "factorized_phm_W": true, "factorized_phm_rule": false, "hypercomplex_nonlinearity": "glorot-uniform",
  "init_weights": "bert", "init_weights_seed": null, "inv_adapter": null, "inv_adapter_reduction_factor": null,
  "is_parallel": false, "learn_phm": true, "leave_out": [], "ln_after": false, "ln_before": false,
  "mh_adapter": false, "non_linearity": "relu", "original_ln_after": true, "original_ln_before": true,
  "output_adapter": true, "phm_bias": true, "phm_c_init": "normal", "phm_dim": 4, "phm_init_range": 0.0001,
  "phm_layer": false, "phm_rank": 1, "reduction_factor": 16, "residual_before_ln": true, "scaling": 1.0,
  "shared_W_phm": false, "shared_phm_rule": true, "stochastic_depth": 0.0, "use_gating": false})";

// BnConfig's defaults, for completing a partial config (its four required fields get the
// values from_json falls back to).
constexpr const char* kBnDefaults = R"({
  "adapter_residual_before_ln": false, "cross_adapter": false, "dropout": 0.0,
  "factorized_phm_W": true, "factorized_phm_rule": false, "hypercomplex_nonlinearity": "glorot-uniform",
  "init_weights": "bert", "init_weights_seed": null, "inv_adapter": null, "inv_adapter_reduction_factor": null,
  "is_parallel": false, "learn_phm": true, "leave_out": [], "ln_after": false, "ln_before": false,
  "mh_adapter": false, "non_linearity": "relu", "original_ln_after": true, "original_ln_before": false,
  "output_adapter": true, "phm_bias": true, "phm_c_init": "normal", "phm_dim": 4, "phm_init_range": 0.0001,
  "phm_layer": false, "phm_rank": 1, "reduction_factor": 16, "residual_before_ln": true, "scaling": 1.0,
  "shared_W_phm": false, "shared_phm_rule": true, "stochastic_depth": 0.0, "use_gating": false})";

// AdapterFusionConfig needs all ten keys; absent ones get from_json's fallbacks.
constexpr const char* kFusionDefaults = R"({
  "dropout_prob": null, "key": true, "query": true, "query_before_ln": false, "regularization": true,
  "residual_before": false, "temperature": false, "value": true, "value_before_softmax": true,
  "value_initialized": false})";

constexpr const char* kFusionDynamic = R"({
  "dropout_prob": null, "key": true, "query": true, "query_before_ln": false, "regularization": true,
  "residual_before": false, "temperature": false, "value": true, "value_before_softmax": true,
  "value_initialized": true})";

constexpr const char* kFusionStatic = R"({
  "dropout_prob": null, "key": true, "query": true, "query_before_ln": false, "regularization": false,
  "residual_before": false, "temperature": false, "value": false, "value_before_softmax": true,
  "value_initialized": false})";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool get_bool(const Json& o, const char* key, bool fallback, const std::string& what) {
  const Json* v = o.find(key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_bool()) fail(ErrorCode::InvalidArgument, what + ": \"" + key + "\" must be true or false");
  return v->as_bool();
}

double get_number(const Json& o, const char* key, double fallback, const std::string& what) {
  const Json* v = o.find(key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_number()) fail(ErrorCode::InvalidArgument, what + ": \"" + key + "\" must be a number");
  return v->as_double(what + "." + key);
}

// Features of BnConfig we do not implement must be at their "off" value.
void require_off(const Json& o, const char* key, const std::string& what) {
  const Json* v = o.find(key);
  if (!v || v->is_null()) return;
  const bool off = (v->is_bool() && !v->as_bool()) || (v->is_number() && v->as_double() == 0.0);
  if (!off)
    fail(ErrorCode::Unsupported, what + ": \"" + key + "\" = " + v->dump() + " is not supported by adapterfusion");
}

Activation parse_activation(const std::string& name, const std::string& what) {
  const std::string n = lower(name);
  if (n == "relu") return Activation::Relu;
  if (n == "swish" || n == "silu") return Activation::Swish;
  if (n == "gelu") return Activation::Gelu;
  if (n == "tanh") return Activation::Tanh;
  fail(ErrorCode::Unsupported, what + ": non_linearity \"" + name +
                                   "\" is not supported (relu, swish/silu, gelu, tanh)");
}

}  // namespace

// A JSON number that Python reads back as a float (AdapterHub checks isinstance(scaling,
// float)): the shortest text that round-trips, with ".0" when it would look like an integer.
Json float_json(double v) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return Json::parse(s, "number");
}

// `source` completed with `defaults` for absent keys, and `float_keys` written as floats.
Json complete_config(const Json& source, const char* defaults, std::initializer_list<const char*> float_keys) {
  Json out = source;
  const Json all = Json::parse(defaults, "defaults");  // kept alive for the loop below
  for (const auto& kv : all.as_object())
    if (!out.find(kv.first)) out.set(kv.first, kv.second);
  for (const char* key : float_keys) {
    const Json* v = out.find(key);
    if (v && v->is_number()) out.set(key, float_json(v->as_double()));
  }
  return out;
}

namespace {

}  // namespace

int AdapterConfig::bottleneck(int layer, int hidden_size) const {
  auto it = reduction_by_layer.find(layer);
  const double rf = it != reduction_by_layer.end() ? it->second : reduction_factor;
  // A tiny factor (1e-300) would overflow int; no layer is this wide (BertConfig's bound).
  const double width = hidden_size / rf;
  if (!(width <= double(1 << 20)))
    fail(ErrorCode::InvalidArgument, "adapter reduction_factor " + std::to_string(rf) + " makes a bottleneck of " +
                                         std::to_string(width) + " units for hidden size " +
                                         std::to_string(hidden_size) + ", over the limit of 1048576");
  return std::max(1, static_cast<int>(width));
}

bool AdapterConfig::in_layer(int layer) const {
  return std::find(leave_out.begin(), leave_out.end(), layer) == leave_out.end();
}

Json AdapterConfig::preset(const std::string& name) {
  const std::string n = lower(name);
  Json j = Json::parse(kSeqBn, "SeqBnConfig");
  if (n == "pfeiffer" || n == "seq_bn" || n == "seqbn") return j;
  if (n == "houlsby" || n == "double_seq_bn" || n == "doubleseqbn") {
    j.set("mh_adapter", Json::from_bool(true));
    j.set("non_linearity", Json::from_string("swish"));
    j.set("original_ln_before", Json::from_bool(false));
    return j;
  }
  fail(ErrorCode::InvalidArgument, "unknown adapter config \"" + name + "\" (expected pfeiffer, houlsby, or an object)");
}

AdapterConfig AdapterConfig::from_json(const Json& input, const std::string& what) {
  Json config = input.is_string() ? preset(input.as_string()) : input;
  if (!config.is_object()) fail(ErrorCode::InvalidArgument, what + ": must be an object or a preset name");
  if (const Json* arch = config.find("architecture"); arch && !arch->is_null()) {
    if (!arch->is_string() || arch->as_string() != "bottleneck")
      fail(ErrorCode::Unsupported, what + ": architecture " + arch->dump() + " is not a bottleneck adapter");
  }
  for (const char* key : {"ln_before", "ln_after", "use_gating", "phm_layer", "is_parallel", "stochastic_depth", "cross_adapter"})
    require_off(config, key, what);
  if (const Json* inv = config.find("inv_adapter"); inv && !inv->is_null())
    fail(ErrorCode::Unsupported, what + ": invertible adapters (inv_adapter) are not supported");

  AdapterConfig c;
  c.source = config;
  c.mh_adapter = get_bool(config, "mh_adapter", false, what);
  c.output_adapter = get_bool(config, "output_adapter", true, what);
  c.original_ln_before = get_bool(config, "original_ln_before", false, what);
  c.original_ln_after = get_bool(config, "original_ln_after", true, what);
  if (const Json* r = config.find("residual_before_ln"); r && !r->is_null()) {
    if (r->is_bool()) c.residual = r->as_bool() ? AdapterResidual::SublayerOutput : AdapterResidual::AdapterInput;
    else if (r->is_string() && r->as_string() == "post_add") c.residual = AdapterResidual::PostAdd;
    else fail(ErrorCode::InvalidArgument, what + ": residual_before_ln must be true, false or \"post_add\"");
  }
  if (c.residual == AdapterResidual::PostAdd && !c.original_ln_before)
    fail(ErrorCode::InvalidArgument, what + ": residual_before_ln \"post_add\" needs original_ln_before");
  if (!c.mh_adapter && !c.output_adapter)
    fail(ErrorCode::InvalidArgument, what + ": neither mh_adapter nor output_adapter is set");

  if (const Json* rf = config.find("reduction_factor"); rf && rf->is_object()) {
    bool have_default = false;
    for (const auto& kv : rf->as_object()) {
      const double v = kv.second.as_double(what + ".reduction_factor." + kv.first);
      if (!(v > 0)) fail(ErrorCode::InvalidArgument, what + ": reduction_factor values must be positive");
      if (kv.first == "default") {
        c.reduction_factor = v;
        have_default = true;
      } else {
        char* end = nullptr;
        const long layer = std::strtol(kv.first.c_str(), &end, 10);
        if (kv.first.empty() || *end || layer < 0 || layer > std::numeric_limits<int>::max())
          fail(ErrorCode::InvalidArgument, what + ": reduction_factor key \"" + kv.first + "\" is not a layer index");
        c.reduction_by_layer[static_cast<int>(layer)] = v;
      }
    }
    if (!have_default) fail(ErrorCode::InvalidArgument, what + ": a reduction_factor mapping needs a \"default\"");
  } else {
    c.reduction_factor = get_number(config, "reduction_factor", 16, what);
    if (!(c.reduction_factor > 0) || !std::isfinite(c.reduction_factor))
      fail(ErrorCode::InvalidArgument, what + ": reduction_factor must be a positive number");
  }

  const Json* act = config.find("non_linearity");
  c.non_linearity_name = act && act->is_string() ? act->as_string() : "relu";
  c.non_linearity = parse_activation(c.non_linearity_name, what);

  if (const Json* s = config.find("scaling"); s && !s->is_null()) {
    if (!s->is_number())
      fail(ErrorCode::Unsupported, what + ": scaling " + s->dump() + " is not supported (only a constant number)");
    c.scaling = s->as_double();
  }
  c.dropout = get_number(config, "dropout", 0.0, what);
  if (!(c.dropout >= 0 && c.dropout < 1)) fail(ErrorCode::InvalidArgument, what + ": dropout must be in [0, 1)");
  if (const Json* lo = config.find("leave_out"); lo && !lo->is_null()) {
    if (!lo->is_array()) fail(ErrorCode::InvalidArgument, what + ": leave_out must be a list of layer indices");
    for (const Json& v : lo->as_array()) {
      const int64_t layer = v.as_int64(what + ".leave_out");
      if (layer < std::numeric_limits<int>::min() || layer > std::numeric_limits<int>::max())
        fail(ErrorCode::InvalidArgument, what + ": leave_out entry " + std::to_string(layer) + " is not a layer index");
      c.leave_out.push_back(static_cast<int>(layer));
    }
  }
  if (const Json* init = config.find("init_weights"); init && init->is_string()) c.init_weights = init->as_string();
  return c;
}

Json AdapterConfig::to_json() const {
  return complete_config(source, kBnDefaults, {"scaling", "dropout", "stochastic_depth", "phm_init_range"});
}

Json FusionConfig::preset(const std::string& name) {
  const std::string n = lower(name);
  if (n == "dynamic") return Json::parse(kFusionDynamic, "DynamicAdapterFusionConfig");
  if (n == "static") return Json::parse(kFusionStatic, "StaticAdapterFusionConfig");
  fail(ErrorCode::InvalidArgument, "unknown fusion config \"" + name + "\" (expected dynamic, static, or an object)");
}

FusionConfig FusionConfig::from_json(const Json& input, const std::string& what) {
  Json config = input.is_string() ? preset(input.as_string()) : input;
  if (!config.is_object()) fail(ErrorCode::InvalidArgument, what + ": must be an object or \"dynamic\"/\"static\"");
  FusionConfig c;
  c.source = config;
  c.key = get_bool(config, "key", true, what);
  c.query = get_bool(config, "query", true, what);
  c.value = get_bool(config, "value", true, what);
  c.query_before_ln = get_bool(config, "query_before_ln", false, what);
  c.regularization = get_bool(config, "regularization", true, what);
  c.temperature = get_bool(config, "temperature", false, what);
  c.value_before_softmax = get_bool(config, "value_before_softmax", true, what);
  if (get_bool(config, "residual_before", false, what))
    fail(ErrorCode::Unsupported, what + ": residual_before = true is not supported");
  if (const Json* vi = config.find("value_initialized"); vi && !vi->is_null()) {
    // AdapterHub writes true/false, or a string; any truthy value means "identity".
    c.value_initialized = vi->is_bool() ? vi->as_bool() : (vi->is_string() ? !vi->as_string().empty() : true);
  } else {
    c.value_initialized = false;
  }
  if (const Json* d = config.find("dropout_prob"); d && !d->is_null()) {
    c.dropout_prob = d->as_double(what + ".dropout_prob");
    if (!(c.dropout_prob >= 0 && c.dropout_prob < 1))
      fail(ErrorCode::InvalidArgument, what + ": dropout_prob must be in [0, 1)");
  }
  return c;
}

Json FusionConfig::to_json() const { return complete_config(source, kFusionDefaults, {"dropout_prob"}); }

}  // namespace af
