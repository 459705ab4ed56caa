// Bottleneck adapter and AdapterFusion configurations with AdapterHub's field names and
// semantics (BnConfig / SeqBnConfig "pfeiffer" / DoubleSeqBnConfig "houlsby";
// AdapterFusionConfig "dynamic" / "static"). They parse the "config" object of
// adapter_config.json / adapter_fusion_config.json and write it back with every field, because
// AdapterHub rebuilds a partial config from BnConfig's defaults, which are not Pfeiffer's.
#pragma once
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "backend.h"
#include "json.h"

namespace af {

// Where the adapter's residual connection is taken (AdapterHub `residual_before_ln`).
enum class AdapterResidual {
  SublayerOutput,  // true: h, the sub-layer output before the pretrained LN
  PostAdd,         // "post_add": h + x
  AdapterInput,    // false: the adapter input hs
};

struct AdapterConfig {
  bool mh_adapter = false;        // an adapter after the attention output
  bool output_adapter = true;     // an adapter after the FFN output
  bool original_ln_before = false; // hs = LN(h + x), else hs = h (BnConfig's default)
  bool original_ln_after = true;  // out = LN(a + x), else out = a
  AdapterResidual residual = AdapterResidual::SublayerOutput;
  double reduction_factor = 16;              // default for every layer
  std::map<int, double> reduction_by_layer;  // per-layer overrides ({"1": 8, "default": 16})
  Activation non_linearity = Activation::Relu;
  std::string non_linearity_name = "relu";   // as written in the file
  double scaling = 1.0;
  double dropout = 0.0;
  std::vector<int> leave_out;
  std::string init_weights = "bert";

  // The full "config" object as read (unknown fields are kept so saving round-trips).
  Json source;

  // Bottleneck width at `layer`: int(hidden / reduction_factor), at least 1 (AdapterHub).
  int bottleneck(int layer, int hidden_size) const;
  bool in_layer(int layer) const;

  // "pfeiffer"/"seq_bn" and "houlsby"/"double_seq_bn" (AdapterHub's presets, every field).
  static Json preset(const std::string& name);
  // Parses a "config" object (a full BnConfig dict or a preset name string); throws
  // Error(InvalidArgument naming `what`) for bad values and Error(Unsupported) for BnConfig
  // features this library does not implement (ln_before/ln_after, gating, PHM, parallel,
  // learned scaling, invertible adapters, stochastic depth).
  static AdapterConfig from_json(const Json& config, const std::string& what);
  // The full "config" object to write: every BnConfig field, floats as floats.
  Json to_json() const;
};

// Helpers shared by the config types: a float-typed JSON number (shortest round-trip text),
// and a config completed with defaults for absent keys.
Json float_json(double v);
Json complete_config(const Json& source, const char* defaults, std::initializer_list<const char*> float_keys);

struct FusionConfig {
  bool key = true;
  bool query = true;
  bool value = true;
  bool query_before_ln = false;
  bool regularization = true;
  bool temperature = false;
  bool value_before_softmax = true;
  bool value_initialized = true;  // W_v = I with 1e-6 elsewhere (AdapterHub "value_initialized")
  double dropout_prob = -1;       // < 0: null (use attention_probs_dropout_prob)
  Json source;

  static Json preset(const std::string& name);  // "dynamic", "static"
  // Unsupported: residual_before = true.
  static FusionConfig from_json(const Json& config, const std::string& what);
  Json to_json() const;
};

}  // namespace af
