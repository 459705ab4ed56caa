// The BERT encoder against golden outputs and gradients written by Hugging Face transformers
// (scripts/make_fixtures.py -> fixtures/bert/<case>/), on every CPU kernel configuration.
#include <cstdlib>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "../core/bert.h"
#include "../core/checkpoint.h"
#include "../core/errors.h"
#include "../core/safetensors.h"
#include "../cpu/cpu_backend.h"
#include "check.h"
#include "golden.h"

namespace {

using af::cpu::CpuBackend;
using af::test::fixtures_dir;
const auto read_f32 = af::test::golden_f32;
const auto read_i32 = af::test::golden_i32;
using af::cpu::GemmProvider;
using af::cpu::Isa;

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

struct KernelConfig {
  const char* label;
  GemmProvider provider;
  Isa isa;
  int threads;
};

std::vector<KernelConfig> kernel_configs() {
  std::vector<KernelConfig> out;
  const Isa best = af::cpu::detect_isa();
  out.push_back({"builtin/scalar/1t", GemmProvider::Builtin, Isa::Scalar, 1});
  if (best >= Isa::Avx2) out.push_back({"builtin/avx2/2t", GemmProvider::Builtin, Isa::Avx2, 2});
  if (best >= Isa::Avx512) out.push_back({"builtin/avx512/2t", GemmProvider::Builtin, Isa::Avx512, 2});
  if (af::cpu::openblas_compiled())
    out.push_back({"openblas/2t", GemmProvider::OpenBlas, best, 2});
  return out;
}

// Forward (all hidden states) and backward (input and every weight gradient) of one case.
void check_case(const std::string& name) {
  const std::string dir = fixtures_dir() + "/bert/" + name;
  CHECK_MSG(exists(dir + "/golden.safetensors"), "fixture missing: " << dir << " (run from the repo root)");
  af::SafetensorsFile golden = af::SafetensorsFile::open(dir + "/golden.safetensors");
  const af::TensorInfo* ids_info = golden.find("input_ids");
  CHECK(ids_info && ids_info->shape.size() == 2);
  const int B = static_cast<int>(ids_info->shape[0]), L = static_cast<int>(ids_info->shape[1]);
  std::vector<int32_t> ids = read_i32(golden, "input_ids");
  std::vector<int32_t> types = read_i32(golden, "token_type_ids");
  std::vector<int32_t> mask = read_i32(golden, "attention_mask");
  std::vector<float> grad_out = read_f32(golden, "grad_output");

  for (const KernelConfig& kc : kernel_configs()) {
    auto backend = std::make_shared<CpuBackend>(kc.threads);
    backend->set_gemm_provider(kc.provider);
    backend->set_isa(kc.isa);
    auto model = af::load_bert_checkpoint(dir, backend);
    const int D = model->config().hidden_size, layers = model->config().num_hidden_layers;
    const size_t TD = static_cast<size_t>(B) * L * D;
    af::BertBatch batch{ids.data(), types.data(), mask.data(), B, L};

    std::vector<float> last(TD), hidden((layers + 1) * TD);
    af::ForwardOptions fo;
    model->forward(batch, fo, last.data(), hidden.data());
    for (int i = 0; i <= layers; ++i) {
      std::vector<float> want = read_f32(golden, "hidden_states." + std::to_string(i));
      double e = af::test::max_rel_error(hidden.data() + i * TD, want.data(), TD);
      CHECK_MSG(e <= 1e-5, name << " " << kc.label << " hidden_states." << i << " rel error " << e);
    }
    std::vector<float> want_last = read_f32(golden, "last_hidden_state");
    CHECK_CLOSE(last.data(), want_last.data(), TD, 1e-5);

    model->set_trainable(std::vector<bool>(model->params().size(), true));
    fo.keep_activations = true;
    model->forward(batch, fo, last.data());
    std::vector<float> dinput(TD);
    model->backward(grad_out.data(), grad_out.size(), dinput.data());
    std::vector<float> want_dinput = read_f32(golden, "grad.inputs_embeds");
    double e = af::test::max_rel_error(dinput.data(), want_dinput.data(), TD);
    CHECK_MSG(e <= 1e-4, name << " " << kc.label << " grad.inputs_embeds rel error " << e);
    for (size_t k = 0; k < model->params().size(); ++k) {
      const af::TensorEntry& p = model->params()[k];
      std::vector<float> got(p.numel);
      model->get_grad(k, got.data(), got.size());
      std::vector<float> want = read_f32(golden, "grad." + p.name);
      // Gradients that are zero up to round-off (key biases) compare against 10% of the
      // typical gradient magnitude.
      double floor = 0.1 * af::test::rms(want_dinput.data(), TD);
      double ge = af::test::max_rel_error(got.data(), want.data(), p.numel, floor);
      CHECK_MSG(ge <= 1e-4, name << " " << kc.label << " grad." << p.name << " rel error " << ge);
    }
  }
}

}  // namespace

AF_TEST("bert: tiny-a (BertModel keys, padding, 2 layers) matches transformers") { check_case("tiny-a"); }
AF_TEST("bert: tiny-b (bert. prefix + MLM head, 3 token types) matches transformers") { check_case("tiny-b"); }
AF_TEST("bert: tiny-f16 (F16 weights) matches transformers") { check_case("tiny-f16"); }
AF_TEST("bert: tiny-bf16 (BF16 weights) matches transformers") { check_case("tiny-bf16"); }

AF_TEST("bert: dropout masks repeat for a seed and differ across seeds") {
  auto backend = std::make_shared<CpuBackend>(2);
  auto model = af::load_bert_checkpoint(fixtures_dir() + "/bert/tiny-a", backend);
  const int B = 2, L = 6, D = model->config().hidden_size;
  std::vector<int32_t> ids = {1, 5, 9, 3, 2, 0, 4, 8, 7, 6, 0, 0};
  af::BertBatch batch{ids.data(), nullptr, nullptr, B, L};
  std::vector<float> a(B * L * D), b(B * L * D), c(B * L * D), eval(B * L * D);
  af::ForwardOptions train;
  train.train = true;
  train.seed = 7;
  model->forward(batch, train, a.data());
  model->forward(batch, train, b.data());
  train.seed = 8;
  model->forward(batch, train, c.data());
  model->forward(batch, af::ForwardOptions{}, eval.data());
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != eval);
}

AF_TEST("bert: frozen weights have no gradient; bad batches are rejected") {
  auto backend = std::make_shared<CpuBackend>(1);
  auto model = af::load_bert_checkpoint(fixtures_dir() + "/bert/tiny-a", backend);
  const int V = model->config().vocab_size, P = model->config().max_position_embeddings;
  std::vector<int32_t> ids = {1, 2, 3};
  af::BertBatch batch{ids.data(), nullptr, nullptr, 1, 3};
  std::vector<float> out(3 * model->config().hidden_size);
  af::ForwardOptions keep;
  keep.keep_activations = true;
  model->forward(batch, keep, out.data());
  std::vector<float> dinput(out.size());
  model->backward(out.data(), out.size(), dinput.data());  // input gradient without weights
  std::vector<float> g(model->params()[0].numel);
  CHECK_THROWS_CODE(model->get_grad(0, g.data(), g.size()), af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(model->backward(out.data(), out.size() - 1, nullptr), af::ErrorCode::InvalidArgument);

  std::vector<int32_t> bad = {1, V, 3};
  af::BertBatch bad_ids{bad.data(), nullptr, nullptr, 1, 3};
  CHECK_THROWS_CODE(model->forward(bad_ids, {}, out.data()), af::ErrorCode::InvalidArgument);
  std::vector<int32_t> types = {0, 5, 0};
  af::BertBatch bad_types{ids.data(), types.data(), nullptr, 1, 3};
  CHECK_THROWS_CODE(model->forward(bad_types, {}, out.data()), af::ErrorCode::InvalidArgument);
  std::vector<int32_t> mask = {1, 2, 0};
  af::BertBatch bad_mask{ids.data(), nullptr, mask.data(), 1, 3};
  CHECK_THROWS_CODE(model->forward(bad_mask, {}, out.data()), af::ErrorCode::InvalidArgument);
  std::vector<int32_t> long_ids(P + 1, 1);
  af::BertBatch too_long{long_ids.data(), nullptr, nullptr, 1, P + 1};
  CHECK_THROWS_CODE(model->forward(too_long, {}, nullptr), af::ErrorCode::InvalidArgument);
  af::BertBatch empty{ids.data(), nullptr, nullptr, 0, 3};
  CHECK_THROWS_CODE(model->forward(empty, {}, nullptr), af::ErrorCode::InvalidArgument);
  // A forward without keepActivations leaves nothing for backward.
  model->forward(batch, {}, out.data());
  CHECK_THROWS_CODE(model->backward(out.data(), out.size(), nullptr), af::ErrorCode::InvalidArgument);
}
