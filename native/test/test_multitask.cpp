// Multi-task adapters (MT-A): two tasks, each with its own adapter and head, over a shared
// trainable encoder. AdamW must leave alone what a step's backward did not write (torch skips
// parameters whose .grad is None) and count steps per parameter for the bias correction.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../core/bert.h"
#include "../core/errors.h"
#include "../core/json.h"
#include "../cpu/cpu_backend.h"
#include "check.h"

namespace {

using af::cpu::CpuBackend;

struct Task {
  std::string adapter, head;
  std::vector<int32_t> ids, labels;
  int B = 3, L = 6;
};

std::unique_ptr<af::BertModel> make_model(bool encoder_trainable) {
  af::BertConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 24;
  c.max_position_embeddings = 12;
  c.type_vocab_size = 2;
  c.hidden_dropout_prob = 0;
  c.attention_probs_dropout_prob = 0;
  auto m = std::make_unique<af::BertModel>(std::make_shared<CpuBackend>(1), c);
  m->init_weights(5);
  af::Json acfg = af::AdapterConfig::preset("pfeiffer");
  acfg.set("reduction_factor", af::Json::from_double(4));
  m->add_adapter("a", af::AdapterConfig::from_json(acfg, "a"), 1);
  m->add_adapter("b", af::AdapterConfig::from_json(acfg, "b"), 2);
  const af::Json hcfg = af::Json::parse(R"({"head_type": "classification", "num_labels": 3})", "head");
  m->add_head("ha", af::HeadConfig::from_json(hcfg, "ha"), 3);
  m->add_head("hb", af::HeadConfig::from_json(hcfg, "hb"), 4);
  std::vector<bool> tr(m->params().size(), encoder_trainable);
  for (const auto& names : {m->adapter_param_names("a"), m->adapter_param_names("b"), m->head_param_names("ha"),
                            m->head_param_names("hb")})
    for (const auto& n : names) tr[m->params().index_of(n)] = true;
  m->set_trainable(tr);
  return m;
}

Task task(const std::string& adapter, const std::string& head, int salt) {
  Task t{adapter, head, {}, {}};
  for (int i = 0; i < t.B * t.L; ++i) t.ids.push_back(1 + (i * 7 + salt * 13) % 39);
  for (int e = 0; e < t.B; ++e) t.labels.push_back((e + salt) % 3);
  return t;
}

af::BertModel::AdamWOptions adamw() {
  af::BertModel::AdamWOptions o;
  o.lr = 1e-2f;
  o.weight_decay = 0.01f;  // under the old behaviour, decay alone would move inactive entries
  o.max_grad_norm = 0;
  return o;
}

// Forward + backward with the task's adapter and head active.
void backward(af::BertModel& m, const Task& t) {
  m.set_active({af::ActiveSetup::Kind::Single, {t.adapter}}, t.head);
  m.run_head({t.ids.data(), nullptr, nullptr, t.B, t.L}, {}, t.labels.data(), nullptr, true, nullptr);
}

void step(af::BertModel& m, const Task& t) {
  backward(m, t);
  m.optimizer_step(adamw());
}

std::vector<size_t> module_indices(const af::BertModel& m, const std::string& adapter, const std::string& head) {
  std::vector<size_t> out;
  for (const auto& n : m.adapter_param_names(adapter)) out.push_back(m.params().index_of(n));
  for (const auto& n : m.head_param_names(head)) out.push_back(m.params().index_of(n));
  return out;
}

// Values, moments and step count of one parameter.
struct State {
  std::vector<float> value, m, v;
  int64_t steps = 0;
  bool operator==(const State& o) const { return value == o.value && m == o.m && v == o.v && steps == o.steps; }
};

State state(const af::BertModel& m, size_t i) {
  const size_t n = m.params()[i].numel;
  State s;
  s.value.resize(n);
  s.m.resize(n);
  s.v.resize(n);
  m.get_param(i, s.value.data(), n);
  s.steps = m.get_optimizer_state(i, s.m.data(), s.v.data(), n);
  CHECK(s.steps == m.optimizer_steps(i));
  return s;
}

std::vector<State> states(const af::BertModel& m, const std::vector<size_t>& idx) {
  std::vector<State> out;
  for (size_t i : idx) out.push_back(state(m, i));
  return out;
}

bool any_nonzero(const std::vector<float>& x) {
  for (float v : x)
    if (v != 0) return true;
  return false;
}

}  // namespace

AF_TEST("multitask: a step on one task leaves the other task's adapter, head and moments untouched") {
  auto mp = make_model(true);
  af::BertModel& m = *mp;
  const Task A = task("a", "ha", 1), B = task("b", "hb", 2);
  const std::vector<size_t> ia = module_indices(m, "a", "ha"), ib = module_indices(m, "b", "hb");
  const size_t enc = m.params().index_of("encoder.layer.0.attention.self.query.weight");
  const size_t emb = m.params().index_of("embeddings.word_embeddings.weight");

  const std::vector<State> a0 = states(m, ia), b0 = states(m, ib);
  step(m, A);
  const std::vector<State> a1 = states(m, ia), b1 = states(m, ib);
  for (size_t k = 0; k < ia.size(); ++k) {
    CHECK_MSG(a1[k].value != a0[k].value, m.params()[ia[k]].name << " did not move on its task's step");
    CHECK(a1[k].steps == 1);
  }
  for (size_t k = 0; k < ib.size(); ++k) {
    CHECK_MSG(b1[k] == b0[k], m.params()[ib[k]].name << " changed on the other task's step");
    CHECK(b1[k].steps == 0);
  }
  CHECK(m.optimizer_steps(enc) == 1 && m.optimizer_steps(emb) == 1);

  step(m, B);
  const std::vector<State> a2 = states(m, ia), b2 = states(m, ib);
  for (size_t k = 0; k < ia.size(); ++k) CHECK_MSG(a2[k] == a1[k], m.params()[ia[k]].name << " changed on B's step");
  for (size_t k = 0; k < ib.size(); ++k) {
    CHECK(b2[k].value != b1[k].value);
    CHECK(b2[k].steps == 1);
    CHECK(any_nonzero(b2[k].m));  // momentum that the old optimiser would have applied on A's step
  }
  CHECK(m.optimizer_steps(enc) == 2);

  step(m, A);
  const std::vector<State> a3 = states(m, ia), b3 = states(m, ib);
  for (size_t k = 0; k < ib.size(); ++k) CHECK_MSG(b3[k] == b2[k], m.params()[ib[k]].name << " changed on A's step");
  for (size_t k = 0; k < ia.size(); ++k) {
    CHECK(a3[k].value != a2[k].value);
    CHECK(a3[k].steps == 2);
  }
  CHECK(m.optimizer_steps(enc) == 3 && m.optimizer_steps(emb) == 3);
}

// A's entries see only A's steps; the shared encoder sees every step. The third step (A after
// A, B) is checked against AdamW computed on the host with each entry's own count.
AF_TEST("multitask: bias correction uses each parameter's own step count") {
  auto mp = make_model(true);
  af::BertModel& m = *mp;
  const Task A = task("a", "ha", 1), B = task("b", "hb", 2);
  step(m, A);
  step(m, B);
  backward(m, A);
  const af::BertModel::AdamWOptions o = adamw();
  struct Probe {
    size_t index;
    int64_t count;  // what this entry's step count must be at the update
    State before;
    std::vector<float> grad;
  };
  std::vector<Probe> probes;
  for (const char* name : {"encoder.layer.1.output.adapters.a.adapter_down.0.weight", "heads.ha.1.weight",
                           "encoder.layer.0.intermediate.dense.weight"}) {
    const size_t i = m.params().index_of(name);
    Probe p{i, std::string(name).find("intermediate") != std::string::npos ? 3 : 2, state(m, i), {}};
    p.grad.resize(m.params()[i].numel);
    m.get_grad(i, p.grad.data(), p.grad.size());
    probes.push_back(std::move(p));
  }
  m.optimizer_step(o);
  // torch.optim.AdamW (decoupled decay), in float as the kernel computes it.
  auto expected_delta = [&](const Probe& p, int64_t count) {
    const float bc1 = 1.0f - static_cast<float>(std::pow(double(o.beta1), double(count)));
    const float bc2 = 1.0f - static_cast<float>(std::pow(double(o.beta2), double(count)));
    std::vector<float> d(p.grad.size());
    for (size_t k = 0; k < d.size(); ++k) {
      float x = p.before.value[k] * (1.0f - o.lr * o.weight_decay);
      const float mk = p.before.m[k] + (p.grad[k] - p.before.m[k]) * (1.0f - o.beta1);
      const float vk = o.beta2 * p.before.v[k] + (1.0f - o.beta2) * p.grad[k] * p.grad[k];
      x -= (o.lr / bc1) * mk / (std::sqrt(vk) / std::sqrt(bc2) + o.eps);
      d[k] = x - p.before.value[k];
    }
    return d;
  };
  for (const Probe& p : probes) {
    const std::string& name = m.params()[p.index].name;
    const State after = state(m, p.index);
    CHECK_MSG(after.steps == p.count, name << " step count " << after.steps << ", want " << p.count);
    std::vector<float> got(after.value.size());
    for (size_t k = 0; k < got.size(); ++k) got[k] = after.value[k] - p.before.value[k];
    const std::vector<float> want = expected_delta(p, p.count);
    const double e = af::test::max_rel_error(got.data(), want.data(), got.size());
    CHECK_MSG(e <= 1e-4, name << " update rel error " << e);
    // The shared (global) count would have given a visibly different update.
    const std::vector<float> wrong = expected_delta(p, p.count == 2 ? 3 : 2);
    const double w = af::test::max_rel_error(got.data(), wrong.data(), got.size());
    CHECK_MSG(w > 0.05, name << " cannot tell the counts apart (" << w << ")");
  }
}

// With the encoder frozen nothing A sees depends on B: training A, B, A must leave A exactly
// as training A, A (values, moments and counts, bit for bit).
AF_TEST("multitask: with a frozen encoder, A,B,A trains A exactly as A,A") {
  auto m1 = make_model(false), m2 = make_model(false);
  const Task A = task("a", "ha", 1), B = task("b", "hb", 2);
  step(*m1, A);
  step(*m1, B);
  step(*m1, A);
  step(*m2, A);
  step(*m2, A);
  const std::vector<size_t> ia = module_indices(*m1, "a", "ha");
  const std::vector<State> s1 = states(*m1, ia), s2 = states(*m2, ia);
  for (size_t k = 0; k < ia.size(); ++k) {
    CHECK_MSG(s1[k] == s2[k], m1->params()[ia[k]].name << " differs between A,B,A and A,A");
    CHECK(s1[k].steps == 2);
  }
  // And B trained once in m1, never in m2.
  const std::vector<size_t> ib = module_indices(*m1, "b", "hb");
  for (size_t i : ib) CHECK(m1->optimizer_steps(i) == 1 && m2->optimizer_steps(i) == 0);
}

AF_TEST("multitask: per-parameter optimiser state: accumulation, set/get, frozen modules, reset") {
  auto mp = make_model(true);
  af::BertModel& m = *mp;
  const Task A = task("a", "ha", 1), B = task("b", "hb", 2);
  const std::vector<size_t> ia = module_indices(m, "a", "ha"), ib = module_indices(m, "b", "hb");
  const size_t enc = m.params().index_of("encoder.layer.1.output.dense.weight");
  // Two backwards before one step: both tasks' entries were written, each steps once.
  backward(m, A);
  backward(m, B);
  m.optimizer_step(adamw());
  for (size_t i : ia) CHECK(m.optimizer_steps(i) == 1);
  for (size_t i : ib) CHECK(m.optimizer_steps(i) == 1);
  CHECK(m.optimizer_steps(enc) == 1);
  // A step without a backward moves nothing (no parameter has a gradient).
  const std::vector<State> before = states(m, {ia[0], ib[0], enc});
  m.optimizer_step(adamw());
  CHECK(states(m, {ia[0], ib[0], enc}) == before);
  // Zeroed gradients forget what was written.
  backward(m, A);
  m.zero_grad();
  m.optimizer_step(adamw());
  CHECK(states(m, {ia[0], ib[0], enc}) == before);

  // Per-entry set/get.
  step(m, A);
  const State a = state(m, ia[0]), b = state(m, ib[0]);
  CHECK(a.steps == 2 && b.steps == 1);
  std::vector<float> mm(b.m.size(), 0.5f), vv(b.v.size(), 0.25f);
  m.set_optimizer_state(7, ib[0], mm.data(), vv.data(), mm.size());
  const State b7 = state(m, ib[0]);
  CHECK(b7.steps == 7 && b7.m == mm && b7.v == vv);
  CHECK(state(m, ia[0]) == a);
  CHECK_THROWS_CODE(m.set_optimizer_state(-1, ib[0], mm.data(), vv.data(), mm.size()), af::ErrorCode::InvalidArgument);

  // Adding a frozen module keeps every trainable entry's state.
  const std::string a_name = m.params()[ia[0]].name, b_name = m.params()[ib[0]].name;
  auto at = [&](const std::string& name) { return state(m, m.params().index_of(name)); };
  m.add_adapter("c", af::AdapterConfig::from_json(af::Json::from_string("pfeiffer"), "c"), 9);
  CHECK(at(a_name) == a);
  CHECK(at(b_name) == b7);
  // A trainable head after the frozen adapter "c": deleting "c" shifts its index, not its state.
  m.add_head("hc", af::HeadConfig::from_json(af::Json::parse(R"({"head_type": "classification"})", "h"), "hc"), 5);
  std::vector<bool> tr(m.params().size(), true);
  for (const auto& n : m.adapter_param_names("c")) tr[m.params().index_of(n)] = false;
  m.set_trainable(tr);  // resets the optimiser
  CHECK(m.optimizer_steps(m.params().index_of(a_name)) == 0);
  Task C = task("a", "hc", 3);
  for (int& l : C.labels) l %= 2;
  step(m, C);
  step(m, A);
  const std::string hc_name = m.head_param_names("hc")[0];
  const State a2 = at(a_name), hc = at(hc_name);
  CHECK(a2.steps == 2 && hc.steps == 1 && any_nonzero(hc.m));
  const size_t hc_index = m.params().index_of(hc_name);
  m.delete_adapter("c");
  CHECK(m.params().index_of(hc_name) < hc_index);
  CHECK(at(a_name) == a2);
  CHECK(at(hc_name) == hc);
  // Deleting a trainable module changes the layout: the optimiser restarts.
  m.delete_head("hb");
  CHECK(m.optimizer_steps(m.params().index_of(a_name)) == 0);
}
