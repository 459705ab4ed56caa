// Adapters, AdapterFusion and heads against golden values written by the AdapterHub library
// (scripts/make_adapter_fixtures.py -> fixtures/adapters/<case>/): logits, fusion weights,
// loss, gradients of every trainable parameter and a 10-step AdamW trajectory; the regrouped
// fusion against its direct form, with dropout.
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../core/bert.h"
#include "../core/checkpoint.h"
#include "../core/errors.h"
#include "../core/json.h"
#include "../core/safetensors.h"
#include "../cpu/cpu_backend.h"
#include "check.h"
#include "golden.h"

namespace {

using af::cpu::CpuBackend;
using af::test::fixtures_dir;
const auto read_f32 = af::test::golden_f32;
const auto read_i32 = af::test::golden_i32;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CHECK_MSG(in, "cannot read " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

// Sets every tensor of an AdapterHub-saved safetensors file (keys with "bert.").
void load_weights(af::BertModel& m, const std::string& path) {
  af::SafetensorsFile f = af::SafetensorsFile::open(path);
  for (const auto& t : f.tensors()) {
    std::string name = t.name.rfind("bert.", 0) == 0 ? t.name.substr(5) : t.name;
    std::vector<float> v(t.numel());
    f.read_f32(t, v.data());
    m.set_param(m.params().index_of(name), v.data(), v.size());
  }
}

struct Case {
  std::unique_ptr<af::BertModel> model;
  af::Json config;
  std::string dir;
};

// Builds the case's model from its config.json and the AdapterHub-saved weights.
Case load_case(const std::string& name, int threads = 2) {
  Case c;
  c.dir = fixtures_dir() + "/adapters/" + name;
  c.config = af::Json::parse(read_text(c.dir + "/config.json"), c.dir + "/config.json");
  auto backend = std::make_shared<CpuBackend>(threads);
  c.model = af::load_bert_checkpoint(fixtures_dir() + "/adapters/base", backend);
  af::BertModel& m = *c.model;
  for (const auto& kv : c.config.find("adapters")->as_object())
    m.add_adapter(kv.first, af::AdapterConfig::from_json(kv.second, kv.first), 1);
  af::ActiveSetup setup;
  std::vector<std::string> fused;
  if (const af::Json* f = c.config.find("fusion")) {
    for (const auto& n : f->find("adapter_names")->as_array()) fused.push_back(n.as_string());
    m.add_fusion(fused, af::FusionConfig::from_json(*f->find("config"), "fusion"), 1);
    setup.kind = af::ActiveSetup::Kind::Fuse;
    setup.names = fused;
  } else {
    setup.kind = af::ActiveSetup::Kind::Single;
    setup.names = {c.config.find("active_setup")->as_string()};
  }
  const af::Json* head = c.config.find("head");
  const std::string head_name = head->find("name")->as_string();
  m.add_head(head_name, af::HeadConfig::from_json(*head->find("config"), "head"), 1);
  for (const std::string& module : list_dir(c.dir + "/saved"))
    for (const std::string& file : list_dir(c.dir + "/saved/" + module))
      if (file.size() > 12 && file.substr(file.size() - 12) == ".safetensors")
        load_weights(m, c.dir + "/saved/" + module + "/" + file);
  m.set_active(setup, head_name);
  std::vector<bool> trainable(m.params().size(), false);
  for (const auto& n : c.config.find("training")->find("trainable")->as_array())
    trainable[m.params().index_of(n.as_string())] = true;
  m.set_trainable(trainable);
  return c;
}

struct Inputs {
  std::vector<int32_t> ids, types, mask, labels;
  std::vector<float> targets;
  int B = 0, L = 0;
  af::BertBatch batch() const { return {ids.data(), types.data(), mask.data(), B, L}; }
};

Inputs read_inputs(const af::SafetensorsFile& g) {
  Inputs in;
  in.ids = read_i32(g, "input_ids");
  in.types = read_i32(g, "token_type_ids");
  in.mask = read_i32(g, "attention_mask");
  const auto& shape = g.find("input_ids")->shape;
  in.L = static_cast<int>(shape.back());
  in.B = static_cast<int>(in.ids.size() / in.L);  // multiple choice [E, C, L] flattens to rows
  const af::TensorInfo* labels = g.find("labels");
  if (labels->dtype == af::DType::I32) in.labels = read_i32(g, "labels");
  else in.targets = read_f32(g, "labels");
  return in;
}

void check_case(const std::string& name, bool direct) {
  Case c = load_case(name);
  af::BertModel& m = *c.model;
  m.set_fusion_direct(direct);
  af::SafetensorsFile g = af::SafetensorsFile::open(c.dir + "/golden.safetensors");
  Inputs in = read_inputs(g);
  const int32_t* labels = in.labels.empty() ? nullptr : in.labels.data();
  const float* targets = in.targets.empty() ? nullptr : in.targets.data();
  const std::string tag = name + (direct ? " (direct)" : " (regrouped)");

  std::vector<float> want_logits = read_f32(g, "logits");
  std::vector<float> logits(want_logits.size());
  af::BertModel::FusionAttentions attn;
  af::ForwardOptions fo;
  auto r = m.run_head(in.batch(), fo, labels, targets, true, logits.data(), &attn);
  double e = af::test::max_rel_error(logits.data(), want_logits.data(), logits.size());
  CHECK_MSG(e <= 1e-5, tag << " logits rel error " << e);
  CHECK_MSG(std::fabs(r.loss - read_f32(g, "loss")[0]) <= 1e-5 * (1 + std::fabs(r.loss)), tag << " loss " << r.loss);
  if (g.find("loss_reg"))
    CHECK_MSG(std::fabs(r.loss_reg - read_f32(g, "loss_reg")[0]) <= 1e-5 * (1 + r.loss_reg), tag << " loss_reg " << r.loss_reg);
  for (size_t i = 0; i < attn.size(); ++i) {
    const std::string key = "fusion_attentions." + std::to_string(i);
    if (!g.find(key)) continue;
    std::vector<float> want = read_f32(g, key);
    CHECK_MSG(attn[i].size() == want.size(), tag << " " << key << " size");
    double ea = af::test::max_rel_error(attn[i].data(), want.data(), want.size());
    CHECK_MSG(ea <= 1e-5, tag << " " << key << " rel error " << ea);
  }
  // Gradients that are zero up to round-off (key biases) compare against the typical scale.
  std::vector<std::vector<float>> grads;
  double typical = 0;
  size_t count = 0;
  for (size_t k = 0; k < m.params().size(); ++k) {
    if (!m.params()[k].trainable) continue;
    std::vector<float> want = read_f32(g, "grad." + m.params()[k].name);
    typical += af::test::rms(want.data(), want.size());
    ++count;
  }
  typical /= std::max<size_t>(count, 1);
  for (size_t k = 0; k < m.params().size(); ++k) {
    const af::TensorEntry& p = m.params()[k];
    if (!p.trainable) continue;
    std::vector<float> got(p.numel), want = read_f32(g, "grad." + p.name);
    m.get_grad(k, got.data(), got.size());
    double ge = af::test::max_rel_error(got.data(), want.data(), p.numel, 0.01 * typical);
    CHECK_MSG(ge <= 1e-4, tag << " grad." << p.name << " rel error " << ge);
  }

  // 10 AdamW steps on the same batch (lr 1e-3, weight decay 0.01 on everything).
  m.zero_grad();
  std::vector<float> want_traj = read_f32(g, "trajectory.loss");
  af::BertModel::AdamWOptions opt;
  opt.lr = 1e-3f;
  opt.weight_decay = 0.01f;
  // The trajectory ran on a fresh model: the annealed temperature restarts (AdapterHub anneals
  // it on every forward, and the check above made one).
  std::vector<float> want_T = g.find("trajectory.T") ? read_f32(g, "trajectory.T") : std::vector<float>{};
  const std::vector<std::string> fusions = m.fusion_keys();
  for (size_t step = 0; step < want_traj.size(); ++step) {
    if (!want_T.empty()) {
      if (step == 0) {
        std::vector<float> t = m.fusion_temperatures(fusions[0]);
        for (float& v : t) v = want_T[0];
        m.set_fusion_temperatures(fusions[0], t);
      }
      const float T = m.fusion_temperatures(fusions[0])[1];  // layer 0, FFN site
      CHECK_MSG(std::fabs(T - want_T[step]) <= 1e-4, tag << " step " << step << " temperature " << T);
    }
    auto s = m.run_head(in.batch(), fo, labels, targets, true, nullptr);
    CHECK_MSG(std::fabs(s.loss - want_traj[step]) <= 1e-4 * (1 + std::fabs(want_traj[step])),
              tag << " step " << step << " loss " << s.loss << " want " << want_traj[step]);
    m.optimizer_step(opt);
  }
  for (size_t k = 0; k < m.params().size(); ++k) {
    const af::TensorEntry& p = m.params()[k];
    if (!p.trainable) continue;
    // Parameters whose gradient is zero up to round-off move by Adam noise (AdapterHub too).
    if (p.name.find("key.bias") != std::string::npos || p.name == "heads.mc.4.bias") continue;
    std::vector<float> got(p.numel), want = read_f32(g, "final." + p.name);
    m.get_param(k, got.data(), got.size());
    double fe = af::test::max_rel_error(got.data(), want.data(), p.numel);
    CHECK_MSG(fe <= 1e-4, tag << " final." << p.name << " rel error " << fe);
  }
}

}  // namespace

AF_TEST("adapters: pfeiffer adapter + classification head match AdapterHub") { check_case("pfeiffer", false); }
AF_TEST("adapters: houlsby adapter (both sites, swish) matches AdapterHub") { check_case("houlsby", false); }
AF_TEST("adapters: reduction 2, gelu, leave_out match AdapterHub") { check_case("pfeiffer-options", false); }
AF_TEST("adapters: tanh, reduction 16, leave_out [1] match AdapterHub") { check_case("pfeiffer-tanh", false); }
AF_TEST("adapters: multiple-choice head matches AdapterHub") { check_case("multiple-choice", false); }
AF_TEST("adapters: regression head (MSE) matches AdapterHub") { check_case("regression", false); }
AF_TEST("fusion: dynamic (regrouped) matches AdapterHub") { check_case("fusion-dynamic", false); }
AF_TEST("fusion: dynamic (direct form) matches AdapterHub") { check_case("fusion-dynamic", true); }
AF_TEST("fusion: static (regrouped) matches AdapterHub") { check_case("fusion-static", false); }
AF_TEST("fusion: static (direct form) matches AdapterHub") { check_case("fusion-static", true); }
AF_TEST("fusion: temperature annealing matches AdapterHub") { check_case("fusion-dynamic-temperature", false); }

// Regrouped and direct forms agree with dropout on, also when the adapters train.
AF_TEST("fusion: regrouped equals direct under dropout, with adapter gradients") {
  for (bool adapters_train : {false, true}) {
    std::vector<float> logits[2], grads[2], dinput[2];
    for (int direct = 0; direct < 2; ++direct) {
      Case c = load_case("fusion-dynamic");
      af::BertModel& m = *c.model;
      // A fresh fusion with dropout 0.3 on the scores and a non-identity value matrix.
      af::Json cfg = af::FusionConfig::preset("dynamic");
      cfg.set("dropout_prob", af::Json::from_double(0.3));
      m.delete_fusion("a,b,c");
      m.add_fusion({"a", "b", "c"}, af::FusionConfig::from_json(cfg, "fusion"), 7);
      for (size_t k = 0; k < m.params().size(); ++k) {
        const auto& p = m.params()[k];
        if (p.name.find("value.weight") == std::string::npos) continue;
        std::vector<float> v(p.numel);
        m.get_param(k, v.data(), v.size());
        for (size_t i = 0; i < v.size(); ++i) v[i] += 0.05f * std::sin(0.7f * i);
        m.set_param(k, v.data(), v.size());
      }
      m.set_active({af::ActiveSetup::Kind::Fuse, {"a", "b", "c"}}, "cls");
      std::vector<bool> tr(m.params().size(), false);
      for (size_t k = 0; k < tr.size(); ++k) {
        const std::string& n = m.params()[k].name;
        tr[k] = n.find("adapter_fusion_layer") != std::string::npos || n.rfind("heads.", 0) == 0 ||
                (adapters_train && n.find(".adapters.") != std::string::npos);
      }
      m.set_trainable(tr);
      m.set_fusion_direct(direct == 1);
      af::SafetensorsFile g = af::SafetensorsFile::open(c.dir + "/golden.safetensors");
      Inputs in = read_inputs(g);
      af::ForwardOptions fo;
      fo.train = true;
      fo.seed = 99;
      logits[direct].resize(in.B * 3);
      m.run_head(in.batch(), fo, in.labels.data(), nullptr, true, logits[direct].data());
      for (size_t k = 0; k < m.params().size(); ++k) {
        if (!m.params()[k].trainable) continue;
        std::vector<float> v(m.params()[k].numel);
        m.get_grad(k, v.data(), v.size());
        grads[direct].insert(grads[direct].end(), v.begin(), v.end());
      }
    }
    CHECK_CLOSE(logits[0].data(), logits[1].data(), logits[0].size(), 1e-5);
    CHECK(grads[0].size() == grads[1].size());
    CHECK_CLOSE(grads[0].data(), grads[1].data(), grads[0].size(), 1e-5);
    (void)dinput;
  }
}

AF_TEST("adapters: bad configurations and setups are rejected") {
  Case c = load_case("pfeiffer");
  af::BertModel& m = *c.model;
  af::AdapterConfig cfg = af::AdapterConfig::from_json(af::Json::from_string("pfeiffer"), "cfg");
  CHECK_THROWS_CODE(m.add_adapter("a", cfg, 0), af::ErrorCode::InvalidArgument);       // exists
  CHECK_THROWS_CODE(m.add_adapter("x.y", cfg, 0), af::ErrorCode::InvalidArgument);     // bad name
  af::Json bad = af::AdapterConfig::preset("pfeiffer");
  bad.set("ln_before", af::Json::from_bool(true));
  CHECK_THROWS_CODE(af::AdapterConfig::from_json(bad, "cfg"), af::ErrorCode::Unsupported);
  bad = af::AdapterConfig::preset("pfeiffer");
  bad.set("non_linearity", af::Json::from_string("softplus"));
  CHECK_THROWS_CODE(af::AdapterConfig::from_json(bad, "cfg"), af::ErrorCode::Unsupported);
  bad = af::AdapterConfig::preset("pfeiffer");
  bad.set("leave_out", af::Json::parse("[5]", "x"));
  CHECK_THROWS_CODE(m.add_adapter("z", af::AdapterConfig::from_json(bad, "cfg"), 0), af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(m.set_active({af::ActiveSetup::Kind::Single, {"nope"}}, "cls"), af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(m.set_active({af::ActiveSetup::Kind::Fuse, {"a"}}, "cls"), af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(m.set_active({af::ActiveSetup::Kind::Single, {"a"}}, "nohead"), af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(m.add_fusion({"a", "missing"}, af::FusionConfig::from_json(af::Json::from_string("dynamic"), "f"), 0),
                    af::ErrorCode::InvalidArgument);
  // Labels out of range.
  af::SafetensorsFile g = af::SafetensorsFile::open(c.dir + "/golden.safetensors");
  Inputs in = read_inputs(g);
  in.labels[0] = 3;
  CHECK_THROWS_CODE(m.run_head(in.batch(), {}, in.labels.data(), nullptr, true, nullptr), af::ErrorCode::InvalidArgument);
  // Deleting the active adapter deactivates it; the model still runs plain.
  m.delete_adapter("a");
  std::vector<float> logits(in.B * 3);
  in.labels[0] = 0;
  m.run_head(in.batch(), {}, nullptr, nullptr, false, logits.data());
  CHECK(std::isfinite(logits[0]));
}

// Inference folds the query/key path and W_v into the adapter weights (docs/ARCHITECTURE.md,
// "The regrouped fusion layer"): the
// logits and fusion weights must still match AdapterHub and the direct form.
AF_TEST("fusion: folded inference matches AdapterHub and the direct form") {
  for (const char* name : {"fusion-dynamic", "fusion-static", "fusion-dynamic-temperature"}) {
    std::vector<float> logits[2];
    af::BertModel::FusionAttentions attn[2];
    for (int direct = 0; direct < 2; ++direct) {
      Case c = load_case(name);
      c.model->set_fusion_direct(direct == 1);
      af::SafetensorsFile g = af::SafetensorsFile::open(c.dir + "/golden.safetensors");
      Inputs in = read_inputs(g);
      std::vector<float> want = read_f32(g, "logits");
      logits[direct].resize(want.size());
      c.model->run_head(in.batch(), {}, nullptr, nullptr, false, logits[direct].data(), &attn[direct]);
      double e = af::test::max_rel_error(logits[direct].data(), want.data(), want.size());
      CHECK_MSG(e <= 1e-5, name << (direct ? " direct" : " folded") << " logits rel error " << e);
      for (size_t i = 0; i < attn[direct].size(); ++i) {
        std::vector<float> wa = read_f32(g, "fusion_attentions." + std::to_string(i));
        double ea = af::test::max_rel_error(attn[direct][i].data(), wa.data(), wa.size());
        CHECK_MSG(ea <= 1e-5, name << " fusion_attentions." << i << " rel error " << ea);
      }
    }
    CHECK_CLOSE(logits[0].data(), logits[1].data(), logits[0].size(), 1e-5);
  }
}

AF_TEST("fusion: folded weights are rebuilt after the parameters change") {
  Case c = load_case("fusion-dynamic");
  af::BertModel& m = *c.model;
  af::SafetensorsFile g = af::SafetensorsFile::open(c.dir + "/golden.safetensors");
  Inputs in = read_inputs(g);
  std::vector<float> before(in.B * 3), folded(in.B * 3), direct(in.B * 3);
  m.run_head(in.batch(), {}, nullptr, nullptr, false, before.data());  // builds the fold
  af::BertModel::AdamWOptions opt;
  opt.lr = 1e-2f;
  m.run_head(in.batch(), {}, in.labels.data(), nullptr, true, nullptr);
  m.optimizer_step(opt);
  m.run_head(in.batch(), {}, nullptr, nullptr, false, folded.data());
  m.set_fusion_direct(true);
  m.run_head(in.batch(), {}, nullptr, nullptr, false, direct.data());
  CHECK_CLOSE(folded.data(), direct.data(), folded.size(), 1e-5);
  CHECK(af::test::max_rel_error(before.data(), folded.data(), before.size()) > 1e-4);  // it did change
}
