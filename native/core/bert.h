// The BERT encoder (Hugging Face BertModel semantics, last_hidden_state) as a sequence of
// Backend ops: forward, and backward to the input embeddings and every trainable weight.
//
// Shape legend: B batch, L sequence length, T = B*L, D hidden, H heads, Dh = D/H,
// F intermediate size, V vocabulary, P max positions, Y token types.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.h"
#include "bert_config.h"
#include "device_buffer.h"
#include "tensor_table.h"

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

class BertModel {
 public:
  BertModel(std::shared_ptr<Backend> backend, const BertConfig& config);

  const BertConfig& config() const { return config_; }
  const TensorTable& params() const { return params_; }
  Backend& backend() { return *backend_; }

  // Hugging Face's initialisation: matrices and embeddings N(0, stddev), biases 0,
  // LayerNorm weight 1 and bias 0; deterministic for a seed.
  void init_weights(uint64_t seed, float stddev = 0.02f);

  // ---- parameters (host copies; `n` must equal the entry's element count) ----
  void set_param(size_t index, const float* host, size_t n);
  void get_param(size_t index, float* host, size_t n) const;
  // Marks which entries get gradients; allocates (zeroed) gradient storage for those only.
  void set_trainable(const std::vector<bool>& trainable);
  void zero_grad();
  // Gradient of a trainable entry (InvalidArgument when frozen).
  void get_grad(size_t index, float* host, size_t n) const;

  // ---- compute (calls on one model are serialised by an internal mutex) ----
  // Runs the encoder. last_hidden_state [B,L,D] and, when given, hidden_states
  // [(layers+1), B, L, D] (embedding output first) are written to host memory.
  void forward(const BertBatch& batch, const ForwardOptions& options, float* last_hidden_state,
               float* hidden_states = nullptr);
  // Backpropagates grad_output [B,L,D] (n values) through the last forward, which must have
  // kept its activations. Accumulates into trainable parameters' gradients; writes the
  // gradient of the gathered word-embedding rows ("inputs_embeds") [B,L,D] when
  // grad_inputs_embeds is given.
  void backward(const float* grad_output, size_t n, float* grad_inputs_embeds);

 private:
  struct LayerActs;     // pointers into the activation arena for one layer
  void check_batch(const BertBatch& batch) const;
  void plan_activations(int B, int L, bool keep);
  LayerActs layer_acts(int layer) const;
  float* p(size_t index) const { return params_buf_.get() + params_[index].offset; }
  float* g(size_t index) const;
  void qkv_grad_slices(const BertLayerParams& lp, float** dW, float** db);

  std::shared_ptr<Backend> backend_;
  BertConfig config_;
  TensorTable params_;
  size_t word_emb_, pos_emb_, type_emb_, emb_ln_w_, emb_ln_b_;
  std::vector<BertLayerParams> layers_;
  DeviceBuffer<float> params_buf_, grads_buf_;

  // Activations: a TensorTable planned for the current (B, L, keep) and one arena.
  TensorTable acts_;
  DeviceBuffer<float> acts_buf_;
  int planned_B_ = 0, planned_L_ = 0;
  bool planned_keep_ = false;
  DeviceBuffer<int32_t> ids_buf_;   // input_ids, token_type_ids [T] each
  DeviceBuffer<float> mask_buf_;    // attention mask [B, L]
  DeviceBuffer<float> qkv_grad_scratch_;  // [3D, D] + [3D] when q/k/v trainability differs

  // What the last forward left for backward.
  bool have_activations_ = false;
  ForwardOptions last_options_;
  int last_B_ = 0, last_L_ = 0;

  mutable std::mutex mu_;
};

}  // namespace af
