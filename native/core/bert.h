// The model: a BERT encoder (Hugging Face BertModel semantics) with AdapterHub bottleneck
// adapters, AdapterFusion layers and prediction heads, as a sequence of Backend ops —
// forward, backward to the input embeddings and every trainable weight, losses and AdamW.
// Every tensor lives in one ParamStore (names as in Hugging Face / AdapterHub files, without
// the "bert." prefix), which drives allocation, loading, saving and the optimiser.
//
// Shape legend: B batch, L sequence length, T = B*L, D hidden, H heads, Dh = D/H,
// F intermediate size, V vocabulary, P max positions, Y token types, N fused adapters.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "adapter_config.h"
#include "adapter_site.h"
#include "backend.h"
#include "bert_config.h"
#include "device_buffer.h"
#include "head.h"
#include "model_needs.h"
#include "model_snapshot.h"
#include "param_store.h"

namespace af {

// Host-side inputs of one batch; every array is [B, L] row-major.
struct BertBatch {
  const int32_t* input_ids = nullptr;
  const int32_t* token_type_ids = nullptr;  // null: all zero
  const int32_t* attention_mask = nullptr;  // null: all one; else each value 0 or 1
  int batch_size = 0;
  int seq_len = 0;
};

struct ForwardOptions {
  bool train = false;             // dropout on (config probabilities)
  bool keep_activations = false;  // store what backward needs
  uint64_t seed = 0;              // dropout seed of this step
};

// Indices into the parameter table for one encoder layer. q/k/v weights (and biases) are
// adjacent, so query.weight is the start of one [3D, D] matrix (and query.bias of [3D]).
struct BertLayerParams {
  size_t q_w, k_w, v_w, q_b, k_b, v_b;
  size_t attn_out_w, attn_out_b, ln1_w, ln1_b;
  size_t inter_w, inter_b, out_w, out_b, ln2_w, ln2_b;
};

// Adapter sites: 0 after the attention output ("attention.output."), 1 after the FFN ("output.").
constexpr int kSites = 2;
const char* site_prefix(int site);

enum class InitKind : int;  // model_internal.h

class BertModel {
 public:
  BertModel(std::shared_ptr<Backend> backend, const BertConfig& config);
  ~BertModel();

  const BertConfig& config() const { return config_; }
  // The encoder's parameters for `config`, in table order (Hugging Face names, no "bert.").
  static TensorShapes encoder_shapes(const BertConfig& config);
  // The live parameter table. Not synchronised: for the thread that owns the model (the
  // N-API layer reads snapshot() instead).
  const TensorTable& params() const { return store_.table(); }
  Backend& backend() { return *backend_; }

  // The current snapshot (model_snapshot.h); never waits for a running call.
  std::shared_ptr<const ModelSnapshot> snapshot() const { return std::atomic_load(&snapshot_); }

  // Hugging Face's initialisation of the encoder: matrices and embeddings N(0, stddev),
  // biases 0, LayerNorm weight 1 and bias 0; deterministic for a seed.
  void init_weights(uint64_t seed, float stddev = 0.02f);

  // ---- parameters (host copies; `n` must equal the entry's element count) ----
  size_t param_index(const std::string& name) const;  // throws InvalidArgument naming it
  void set_param(size_t index, const float* host, size_t n);
  void get_param(size_t index, float* host, size_t n) const;
  void set_trainable(const std::vector<bool>& trainable);
  // Trains exactly the parameters the selectors match, freezes the rest: "*" (all), a name,
  // "prefix*", "@adapter:NAME", "@fusion:a,b", "@head:NAME", "@head" (the active head).
  // Each selector must match at least one parameter.
  void set_trainable_matching(const std::vector<std::string>& selectors);
  void zero_grad();
  void get_grad(size_t index, float* host, size_t n) const;

  // ---- adapters, fusion, heads (model_modules.cpp, model_layout.cpp) ----
  // Initial values of a module's parameters, by name; each vector holds the entry's numel.
  using ModuleValues = std::unordered_map<std::string, std::vector<float>>;
  // Adds adapter `name` at every site and layer its config selects. Without `values` it is
  // initialised as AdapterHub's "bert" init (seeded); with them, `values` must hold exactly
  // its parameters, and a mismatch leaves the model unchanged. Returns the new names.
  std::vector<std::string> add_adapter(const std::string& name, const AdapterConfig& config, uint64_t seed,
                                       const ModuleValues* values = nullptr);
  std::vector<std::string> add_fusion(const std::vector<std::string>& names, const FusionConfig& config, uint64_t seed,
                                      const ModuleValues* values = nullptr);
  std::vector<std::string> add_head(const std::string& name, const HeadConfig& config, uint64_t seed,
                                    const ModuleValues* values = nullptr);
  // The parameters add_* would create, checked as add_* checks them against `snapshot`,
  // without changing anything: safe from any thread.
  TensorShapes adapter_shapes(const std::string& name, const AdapterConfig& config, const ModelSnapshot& snapshot) const;
  TensorShapes fusion_shapes(const std::vector<std::string>& names, const FusionConfig& config,
                             const ModelSnapshot& snapshot) const;
  TensorShapes head_shapes(const std::string& name, const HeadConfig& config, const ModelSnapshot& snapshot) const;
  void delete_adapter(const std::string& name);
  void delete_fusion(const std::string& key);
  void delete_head(const std::string& name);
  // Copies (a reference could outlive a delete on another thread).
  AdapterConfig adapter_config(const std::string& name) const;
  FusionConfig fusion_config(const std::string& key) const;
  HeadConfig head_config(const std::string& name) const;
  std::vector<std::string> adapter_names() const;
  std::vector<std::string> fusion_keys() const;
  std::vector<std::string> head_names() const;
  // Parameter names of a module (for saving/loading).
  std::vector<std::string> adapter_param_names(const std::string& name) const;
  std::vector<std::string> fusion_param_names(const std::string& key) const;
  std::vector<std::string> head_param_names(const std::string& name) const;
  // Active adapters and head (an empty head name: none).
  void set_active(const ActiveSetup& setup, const std::string& head);
  ActiveSetup active() const;
  std::string active_head() const;
  // Regrouped fusion (default) or the direct form (the oracle; for tests and benchmarks).
  void set_fusion_direct(bool direct);

  // ---- compute (calls on one model are serialised by an internal mutex) ----
  // Runs the encoder with the active adapters. last_hidden_state [B,L,D] and, when given,
  // hidden_states [(layers+1), B, L, D] are written to host memory; fusion_attentions gets,
  // per layer, the FFN site's fusion weights [B, L, N] (empty where no fusion ran).
  using FusionAttentions = std::vector<std::vector<float>>;
  void forward(const BertBatch& batch, const ForwardOptions& options, float* last_hidden_state,
               float* hidden_states = nullptr, FusionAttentions* fusion_attentions = nullptr);
  // Backpropagates grad_output [B,L,D] (n values) through the last forward, which must have
  // kept its activations. Accumulates into trainable parameters' gradients; writes the
  // gradient of the gathered word-embedding rows ("inputs_embeds") when asked.
  void backward(const float* grad_output, size_t n, float* grad_inputs_embeds);

  // ---- heads and losses (model_head.cpp) ----
  struct LossResult {
    double loss = 0, loss_ce = 0, loss_reg = 0;  // loss = task loss + fusion value regulariser
  };
  // Forward through encoder and active head: logits [E, C] to host. With labels (int32 [E]
  // for classification/multiple choice, float [E] for regression) also the loss, and when
  // `backward` the gradients of every trainable parameter (accumulated).
  LossResult run_head(const BertBatch& batch, const ForwardOptions& options,
                      const int32_t* labels, const float* targets, bool backward,
                      float* logits, FusionAttentions* fusion_attentions = nullptr);
  // Examples per batch for the active head (B, or B / num_choices).
  int examples(int batch_size) const;
  int head_classes() const;  // InvalidArgument without an active head

  // ---- optimiser (model_optim.cpp) ----
  struct AdamWOptions {
    float lr = 1e-4f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
    float max_grad_norm = 0;  // 0: no clipping
  };
  // Weight decay applies to the trainable entries named here (default: all of them); names of
  // entries added later get none until set again.
  void set_weight_decay_names(const std::vector<std::string>& names);
  // One AdamW step, then zeroes the gradients. As torch.optim.AdamW, only the trainable
  // entries a backward wrote since the last step move (an inactive adapter or head is left
  // alone, weight decay included), each with its own step count for the bias correction.
  // Returns the norm of all gradients before clipping.
  double optimizer_step(const AdamWOptions& options);
  // Optimiser state for checkpoints, per trainable entry: its step count and m/v buffers.
  int64_t optimizer_steps(size_t index) const;
  int64_t get_optimizer_state(size_t index, float* m, float* v, size_t n) const;  // returns the step count
  void set_optimizer_state(int64_t steps, size_t index, const float* m, const float* v, size_t n);
  void reset_optimizer();
  // Fusion temperature per (fusion, layer, site) — AdapterHub anneals it on every forward.
  std::vector<float> fusion_temperatures(const std::string& key) const;
  void set_fusion_temperatures(const std::string& key, const std::vector<float>& t);

 private:
  struct AdapterSiteParams {
    bool present = false;
    size_t down_w = 0, down_b = 0, up_w = 0, up_b = 0;
    int r = 0;
  };
  struct AdapterEntry {
    std::string name;
    AdapterConfig config;
    std::vector<std::array<AdapterSiteParams, kSites>> sites;  // [layer][site]
  };
  struct FusionSiteParams {
    bool present = false;
    size_t q_w = SIZE_MAX, q_b = SIZE_MAX, k_w = SIZE_MAX, k_b = SIZE_MAX, v_w = SIZE_MAX;
  };
  struct FusionPack;  // packed adapter weights of one fusion site (model_modules.cpp)
  struct FusionEntry {
    std::vector<std::string> names;
    std::string key;  // "a,b,c"
    FusionConfig config;
    std::vector<std::array<FusionSiteParams, kSites>> sites;
    std::vector<std::array<float, kSites>> temperature;
  };
  struct HeadEntry {
    std::string name;
    HeadConfig config;
    HeadParams params;
  };
  // What one site runs in the current setup.
  struct SitePlan {
    enum class Kind { Plain, Single, Fusion } kind = Kind::Plain;
    SiteFlow flow;
    const AdapterEntry* adapter = nullptr;      // Single
    const FusionEntry* fusion = nullptr;        // Fusion
    std::vector<const AdapterEntry*> fused;     // Fusion: adapters present here, in order
    int R = 0, N = 0;
    bool direct = false;  // the direct form (asked for, or the adapters' activations differ)
  };
  struct LayerActs;

  // model_head.cpp
  const HeadEntry& head(const std::string& name) const;
  // Whether any trainable parameter lies outside head `h` (else a step needs no encoder backward).
  bool trains_below_head(const HeadEntry& h) const;

  // model_modules.cpp
  void reindex();
  const AdapterEntry& adapter(const std::string& name) const;
  SitePlan plan_site(int layer, int site) const;
  AdapterRef adapter_ref(const AdapterEntry& e, int layer, int site) const;
  FusionRef fusion_ref(const SitePlan& plan, int layer, int site, bool want_adapter_grads, bool fold = false);
  void build_fold(FusionPack& pack, const FusionRef& r);
  void scatter_fusion_adapter_grads(const SitePlan& plan, int layer, int site);
  LayerNormRef site_norm(int layer, int site) const;
  SiteNeeds needs_of(const SitePlan& plan) const;
  void anneal_temperature(const SitePlan& plan, int layer, int site);
  void reset_optimizer_locked();
  void bump_setup();
  // model_layout.cpp: the snapshot of the current state, published for readers.
  void publish_locked();
  void set_trainable_locked(const std::vector<bool>& trainable);
  int examples_locked(int batch_size) const;
  // Checks `values` against `shapes` (exactly those names, numel each), then adds the tensors
  // and fills them with `values` or the seeded init; nothing changes when the check fails.
  std::vector<std::string> add_tensors_locked(const TensorShapes& shapes, const std::vector<InitKind>& kinds,
                                              float stddev, uint64_t seed, const ModuleValues* values);

  // model_optim.cpp
  void ensure_optimizer_locked();
  size_t trainable_ordinal(size_t index) const;

  // bert.cpp, model_head.cpp: marks what a backward wrote (ParamStore::mark_written).
  void mark_encoder_written();
  void mark_head_written(const HeadEntry& h);

  // bert.cpp
  void check_batch(const BertBatch& batch) const;
  void plan_activations(int B, int L, bool keep);
  LayerActs layer_acts(int layer) const;
  float* p(size_t index) const { return store_.value(index); }
  float* g(size_t index) const { return store_.grad(index); }
  void qkv_grad_slices(const BertLayerParams& lp, float** dW, float** db);
  void forward_locked(const BertBatch& batch, const ForwardOptions& options, float* last_hidden_state,
                      float* hidden_states, FusionAttentions* fusion_attentions);
  void backward_locked(const float* grad_output_device, float* grad_inputs_embeds);
  float* last_hidden_device() const;
  // The lowest encoder layer with a trainable parameter (adapters and fusion layers included):
  // -1 when an embedding trains, the layer count when no encoder parameter does.
  int lowest_trained_layer() const;

  std::shared_ptr<Backend> backend_;
  BertConfig config_;
  ParamStore store_;
  size_t word_emb_ = 0, pos_emb_ = 0, type_emb_ = 0, emb_ln_w_ = 0, emb_ln_b_ = 0;
  std::vector<BertLayerParams> layers_;
  std::vector<AdapterEntry> adapters_;
  std::vector<FusionEntry> fusions_;
  std::vector<HeadEntry> heads_;
  ActiveSetup active_;
  std::string active_head_;
  bool fusion_direct_ = false;

  // Activations: a TensorTable planned for the current (B, L, keep, setup) and one arena.
  TensorTable acts_;
  DeviceBuffer<float> acts_buf_;
  int planned_B_ = 0, planned_L_ = 0;
  bool planned_keep_ = false;
  uint64_t planned_setup_ = 0;   // setup_version_ the plan was made for
  uint64_t setup_version_ = 1;   // bumped when adapters/fusions/heads/setup change
  std::vector<std::array<SitePlan, kSites>> site_plans_;  // for the planned setup
  DeviceBuffer<int32_t> ids_buf_;
  DeviceBuffer<float> mask_buf_;
  DeviceBuffer<float> qkv_grad_scratch_;
  DeviceBuffer<int32_t> unit_offsets_;  // {0, D}

  // Packed fusion weights per (layer, site) for the active fusion; rebuilt when the adapters'
  // values change (params_version_).
  std::vector<std::array<std::unique_ptr<FusionPack>, kSites>> packs_;
  uint64_t params_version_ = 1;

  // The optimiser: AdamW moments laid out like the gradient buffer, and a step count per
  // trainable entry, by trainable ordinal (so adding or removing frozen modules keeps them).
  DeviceBuffer<float> adam_m_, adam_v_;
  std::vector<int64_t> adam_steps_;
  bool decay_all_ = true;                      // no set_weight_decay_names yet
  std::unordered_set<std::string> decay_names_;

  // What the last forward left for backward.
  bool have_activations_ = false;
  ForwardOptions last_options_;
  int last_B_ = 0, last_L_ = 0;
  std::vector<std::array<float, kSites>> last_inv_temperature_;

  mutable std::mutex mu_;
  std::shared_ptr<const ModelSnapshot> snapshot_;  // replaced by publish_locked(); read atomically
};

}  // namespace af
