// Helpers shared by the model's source files (bert.cpp, model_modules.cpp, model_head.cpp):
// initialisation, dropout call sites, and the activation layout of adapter sites.
#pragma once
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "adapter_site.h"
#include "backend.h"
#include "bert.h"
#include "bert_config.h"
#include "device_buffer.h"
#include "model_needs.h"
#include "tensor_table.h"

namespace af {

// Packed weights of the adapters fused at one site (docs/ARCHITECTURE.md, "The regrouped
// fusion layer"): down_all [R,D],
// down_b_all [R], up_all [D,R] and up_b_all [N,D] (scaled by each adapter's scaling),
// block offsets [N+1]; plus packed gradients when the fused adapters train.
struct BertModel::FusionPack {
  std::vector<std::string> names;
  uint64_t version = 0;
  int N = 0, R = 0;
  DeviceBuffer<float> down_all, down_b_all, up_all, up_b_all, tmp;
  DeviceBuffer<float> g_down_all, g_down_b_all, g_up_all, g_up_b_all;
  DeviceBuffer<int32_t> offsets;
  std::vector<int> off;  // host copy of offsets
  // Folded inference weights (FusionRef::folded), built on first inference use per version.
  uint64_t fold_version = 0;
  DeviceBuffer<float> fold_g_w, fold_g_b, fold_s_w, fold_s_b, fold_r_w, fold_r_b, vup, vup_b, fold_tmp;
};

enum class InitKind : int { Zeros, Ones, Normal, Identity1e6, TruncNormal, KaimingUniform };

// Fills `host` with e.numel values of the given kind: Normal N(0, stddev); TruncNormal
// N(0, stddev) cut at ±2 stddev; KaimingUniform U(-1/sqrt(fan_in), 1/sqrt(fan_in));
// Identity1e6 the fusion value init (1e-6 everywhere, 1 on the diagonal). Random draws come
// from the counter-based generator, so a seed fixes them.
void fill_init(std::vector<float>& host, const TensorEntry& e, InitKind kind, float stddev, uint64_t seed,
               uint64_t* counter);

// Disjoint dropout counter ranges for every dropout call of a forward: call site k uses
// counters [k << 40, ...).
class DropoutSites {
 public:
  DropoutSites(const ForwardOptions& o, const BertConfig& c) : o_(o), c_(c) {}
  DropoutSpec embeddings() const { return at(0, c_.hidden_dropout_prob); }
  DropoutSpec attention_probs(int i) const { return at(1 + 8ull * i, c_.attention_probs_dropout_prob); }
  DropoutSpec attention_output(int i) const { return at(2 + 8ull * i, c_.hidden_dropout_prob); }
  DropoutSpec ffn_output(int i) const { return at(3 + 8ull * i, c_.hidden_dropout_prob); }
  DropoutSpec adapter(int i, int site, double p) const { return at(4 + 8ull * i + site, static_cast<float>(p)); }
  DropoutSpec fusion(int i, int site, double p) const { return at(6 + 8ull * i + site, static_cast<float>(p)); }
  DropoutSpec head(int k, double p) const { return at(1 + 8ull * c_.num_hidden_layers + k, static_cast<float>(p)); }

 private:
  DropoutSpec at(uint64_t site, float p) const {
    DropoutSpec d;
    if (!o_.train || p <= 0.0f) return d;
    d.p = p;
    d.seed = o_.seed;
    d.offset = site << 40;
    return d;
  }
  ForwardOptions o_;
  const BertConfig& c_;
};

// AdapterHub: `dropout_prob or attention_probs_dropout_prob` (so 0.0 falls back too).
inline double fusion_dropout_p(const FusionConfig& f, const BertConfig& c) {
  return f.dropout_prob > 0 ? f.dropout_prob : c.attention_probs_dropout_prob;
}

// The key of a fusion over `names`: "a,b,c".
inline std::string fusion_key(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? "," : "") + names[i];
  return s;
}

// Whether an adapter with config `c` has a module at `site` (0 attention output, 1 FFN output).
inline bool adapter_at_site(const AdapterConfig& c, int site) { return site == 0 ? c.mh_adapter : c.output_adapter; }

void add_site_tensors(TensorTable& t, const std::string& pre, const SiteNeeds& n, int64_t T, int64_t D,
                      bool own_out);
SiteActs site_acts(const std::function<float*(const std::string&)>& at, const std::string& pre);

}  // namespace af
