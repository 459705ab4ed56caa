// A model's layout: adding and deleting adapters, fusion layers and heads (parameters in the
// ParamStore under AdapterHub's key names), their configs and parameter names, the active
// setup, which parameters train, and the snapshot every change publishes
// (docs/ARCHITECTURE.md, "One owner per model").
#include <algorithm>
#include <set>

#include "bert.h"
#include "errors.h"
#include "model_internal.h"

namespace af {

// ---------------------------------------------------------------- snapshot lookups

const ModelSnapshot::Adapter* ModelSnapshot::adapter(const std::string& name) const {
  for (const auto& a : adapters)
    if (a.name == name) return &a;
  return nullptr;
}
const ModelSnapshot::Fusion* ModelSnapshot::fusion(const std::string& key) const {
  for (const auto& f : fusions)
    if (f.key == key) return &f;
  return nullptr;
}
const ModelSnapshot::Head* ModelSnapshot::head(const std::string& name) const {
  for (const auto& h : heads)
    if (h.name == name) return &h;
  return nullptr;
}
const ModelSnapshot::Param* ModelSnapshot::param(const std::string& name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}
const ModelSnapshot::Adapter& ModelSnapshot::require_adapter(const std::string& name) const {
  if (const Adapter* a = adapter(name)) return *a;
  fail(ErrorCode::InvalidArgument, "no adapter named \"" + name + "\"");
}
const ModelSnapshot::Fusion& ModelSnapshot::require_fusion(const std::string& key) const {
  if (const Fusion* f = fusion(key)) return *f;
  fail(ErrorCode::InvalidArgument, "no adapter fusion named \"" + key + "\"");
}
const ModelSnapshot::Head& ModelSnapshot::require_head(const std::string& name) const {
  if (const Head* h = head(name)) return *h;
  fail(ErrorCode::InvalidArgument, "no head named \"" + name + "\"");
}

// ---------------------------------------------------------------- planning a module

namespace {

void check_module_name(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 200)
    fail(ErrorCode::InvalidArgument, std::string(what) + " name must be 1 to 200 characters");
  for (char c : name)
    if (c == '.' || c == ',' || c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      fail(ErrorCode::InvalidArgument, std::string(what) + " name \"" + name +
                                           "\" may not contain '.', ',', '/', '\\\\' or control characters");
}

std::vector<std::string> names_with_infix(const TensorTable& t, const std::string& infix, bool prefix) {
  std::vector<std::string> out;
  for (const auto& e : t.entries())
    if (prefix ? e.name.rfind(infix, 0) == 0 : e.name.find(infix) != std::string::npos) out.push_back(e.name);
  return out;
}
std::string adapter_infix(const std::string& name) { return ".adapters." + name + "."; }
std::string fusion_infix(const std::string& key) { return ".adapter_fusion_layer." + key + "."; }
std::string head_prefix(const std::string& name) { return "heads." + name + "."; }

// The tensors a module adds, how each is initialised, and where it sits.
struct ModulePlan {
  TensorShapes shapes;
  std::vector<InitKind> kinds;
  float stddev = 0.02f;
  std::vector<std::array<int, kSites>> adapter_r;  // adapters: bottleneck per [layer][site], 0 absent
  std::array<bool, kSites> fusion_sites{};         // fusions: the sites every fused adapter has
};

ModulePlan plan_adapter(const BertConfig& bc, const std::string& name, const AdapterConfig& config,
                        const ModelSnapshot& snap) {
  check_module_name(name, "adapter");
  if (snap.adapter(name)) fail(ErrorCode::InvalidArgument, "an adapter named \"" + name + "\" already exists");
  for (int l : config.leave_out)
    if (l < 0 || l >= bc.num_hidden_layers)
      fail(ErrorCode::InvalidArgument, "adapter \"" + name + "\": leave_out layer " + std::to_string(l) +
                                           " does not exist (the model has " + std::to_string(bc.num_hidden_layers) + ")");
  ModulePlan p;
  InitKind down_kind = InitKind::Normal, up_kind = InitKind::Normal;
  if (config.init_weights == "houlsby") {
    down_kind = up_kind = InitKind::TruncNormal;
    p.stddev = 0.01f;
  } else if (config.init_weights == "mam_adapter") {
    down_kind = InitKind::KaimingUniform;
    up_kind = InitKind::Zeros;
  } else if (config.init_weights != "bert") {
    fail(ErrorCode::Unsupported, "adapter \"" + name + "\": init_weights \"" + config.init_weights +
                                     "\" is not supported (bert, houlsby, mam_adapter)");
  }
  const int64_t D = bc.hidden_size;
  p.adapter_r.assign(bc.num_hidden_layers, {0, 0});
  for (int i = 0; i < bc.num_hidden_layers; ++i) {
    if (!config.in_layer(i)) continue;
    for (int s = 0; s < kSites; ++s) {
      if (!adapter_at_site(config, s)) continue;
      const int64_t r = config.bottleneck(i, bc.hidden_size);
      p.adapter_r[i][s] = static_cast<int>(r);
      const std::string pre = "encoder.layer." + std::to_string(i) + "." + site_prefix(s) + "adapters." + name + ".";
      p.shapes.push_back({pre + "adapter_down.0.weight", {r, D}});
      p.kinds.push_back(down_kind);
      p.shapes.push_back({pre + "adapter_down.0.bias", {r}});
      p.kinds.push_back(InitKind::Zeros);
      p.shapes.push_back({pre + "adapter_up.weight", {D, r}});
      p.kinds.push_back(up_kind);
      p.shapes.push_back({pre + "adapter_up.bias", {D}});
      p.kinds.push_back(InitKind::Zeros);
    }
  }
  return p;
}

ModulePlan plan_fusion(const BertConfig& bc, const std::vector<std::string>& names, const FusionConfig& config,
                       const ModelSnapshot& snap) {
  if (names.empty()) fail(ErrorCode::InvalidArgument, "a fusion needs at least one adapter");
  std::set<std::string> seen;
  for (const auto& n : names) {
    snap.require_adapter(n);
    if (!seen.insert(n).second) fail(ErrorCode::InvalidArgument, "adapter \"" + n + "\" appears twice in the fusion");
  }
  const std::string key = fusion_key(names);
  if (snap.fusion(key)) fail(ErrorCode::InvalidArgument, "an adapter fusion named \"" + key + "\" already exists");
  const int64_t D = bc.hidden_size;
  ModulePlan p;
  for (int s = 0; s < kSites; ++s) {
    // AdapterHub adds a fusion layer at a location when every fused adapter has it.
    bool all = true;
    for (const auto& n : names) all &= adapter_at_site(snap.require_adapter(n).config, s);
    p.fusion_sites[s] = all;
    if (!all) continue;
    for (int i = 0; i < bc.num_hidden_layers; ++i) {
      const std::string pre = "encoder.layer." + std::to_string(i) + "." + site_prefix(s) + "adapter_fusion_layer." + key + ".";
      if (config.query) {
        p.shapes.push_back({pre + "query.weight", {D, D}});
        p.kinds.push_back(InitKind::Normal);
        p.shapes.push_back({pre + "query.bias", {D}});
        p.kinds.push_back(InitKind::Zeros);
      }
      if (config.key) {
        p.shapes.push_back({pre + "key.weight", {D, D}});
        p.kinds.push_back(InitKind::Normal);
        p.shapes.push_back({pre + "key.bias", {D}});
        p.kinds.push_back(InitKind::Zeros);
      }
      if (config.value) {
        p.shapes.push_back({pre + "value.weight", {D, D}});
        p.kinds.push_back(config.value_initialized ? InitKind::Identity1e6 : InitKind::Normal);
      }
    }
  }
  if (p.shapes.empty() && (config.query || config.key || config.value))
    fail(ErrorCode::InvalidArgument, "adapters " + key + " share no adapter location (mh_adapter / output_adapter)");
  return p;
}

ModulePlan plan_head(const BertConfig& bc, const std::string& name, const HeadConfig& config, const ModelSnapshot& snap) {
  check_module_name(name, "head");
  if (snap.head(name)) fail(ErrorCode::InvalidArgument, "a head named \"" + name + "\" already exists");
  ModulePlan p;
  p.shapes = head_param_shapes(name, config, bc.hidden_size);
  for (const auto& s : p.shapes) p.kinds.push_back(s.second.size() == 1 ? InitKind::Zeros : InitKind::Normal);
  return p;
}

}  // namespace

TensorShapes BertModel::adapter_shapes(const std::string& name, const AdapterConfig& config,
                                       const ModelSnapshot& snapshot) const {
  return plan_adapter(config_, name, config, snapshot).shapes;
}
TensorShapes BertModel::fusion_shapes(const std::vector<std::string>& names, const FusionConfig& config,
                                      const ModelSnapshot& snapshot) const {
  return plan_fusion(config_, names, config, snapshot).shapes;
}
TensorShapes BertModel::head_shapes(const std::string& name, const HeadConfig& config,
                                    const ModelSnapshot& snapshot) const {
  return plan_head(config_, name, config, snapshot).shapes;
}

// ---------------------------------------------------------------- adding and deleting

std::vector<std::string> BertModel::add_tensors_locked(const TensorShapes& shapes, const std::vector<InitKind>& kinds,
                                                       float stddev, uint64_t seed, const ModuleValues* values) {
  if (values) {
    for (const auto& [name, shape] : shapes) {
      auto it = values->find(name);
      if (it == values->end()) fail(ErrorCode::InvalidArgument, "no value given for parameter \"" + name + "\"");
      size_t numel = 1;
      for (int64_t d : shape) numel *= static_cast<size_t>(d);
      if (it->second.size() != numel)
        fail(ErrorCode::ShapeMismatch, name + ": expected " + std::to_string(numel) + " values (shape " +
                                           shape_to_string(shape) + "), got " + std::to_string(it->second.size()));
    }
    if (values->size() != shapes.size())
      for (const auto& kv : *values)
        if (std::none_of(shapes.begin(), shapes.end(), [&](const auto& s) { return s.first == kv.first; }))
          fail(ErrorCode::InvalidArgument, "\"" + kv.first + "\" is not a parameter of this module");
  }
  const size_t first = shapes.empty() ? store_.size() : store_.add(shapes);
  std::vector<float> host;
  uint64_t counter = 0;
  std::vector<std::string> names;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const float* src;
    if (values) {
      src = values->at(shapes[k].first).data();
    } else {
      fill_init(host, store_[first + k], kinds[k], stddev, seed, &counter);
      src = host.data();
    }
    backend_->copy_to_device(p(first + k), src, store_[first + k].numel * sizeof(float));
    names.push_back(shapes[k].first);
  }
  return names;
}

std::vector<std::string> BertModel::add_adapter(const std::string& name, const AdapterConfig& config, uint64_t seed,
                                                const ModuleValues* values) {
  std::lock_guard<std::mutex> lock(mu_);
  const ModulePlan plan = plan_adapter(config_, name, config, *snapshot_);
  AdapterEntry e;
  e.name = name;
  e.config = config;
  e.sites.assign(config_.num_hidden_layers, {});
  for (int i = 0; i < config_.num_hidden_layers; ++i)
    for (int s = 0; s < kSites; ++s) {
      e.sites[i][s].present = plan.adapter_r[i][s] > 0;
      e.sites[i][s].r = plan.adapter_r[i][s];
    }
  auto names = add_tensors_locked(plan.shapes, plan.kinds, plan.stddev, seed, values);
  adapters_.push_back(std::move(e));
  reindex();
  bump_setup();
  publish_locked();
  return names;
}

std::vector<std::string> BertModel::add_fusion(const std::vector<std::string>& names, const FusionConfig& config,
                                               uint64_t seed, const ModuleValues* values) {
  std::lock_guard<std::mutex> lock(mu_);
  const ModulePlan plan = plan_fusion(config_, names, config, *snapshot_);
  FusionEntry e;
  e.names = names;
  e.key = fusion_key(names);
  e.config = config;
  e.sites.assign(config_.num_hidden_layers, {});
  e.temperature.assign(config_.num_hidden_layers, {1.0f, 1.0f});
  for (int i = 0; i < config_.num_hidden_layers; ++i)
    for (int s = 0; s < kSites; ++s) {
      e.sites[i][s].present = plan.fusion_sites[s];
      if (plan.fusion_sites[s]) e.temperature[i][s] = config.temperature ? 50.0f : 1.0f;
    }
  auto out = add_tensors_locked(plan.shapes, plan.kinds, plan.stddev, seed, values);
  fusions_.push_back(std::move(e));
  reindex();
  bump_setup();
  publish_locked();
  return out;
}

std::vector<std::string> BertModel::add_head(const std::string& name, const HeadConfig& config, uint64_t seed,
                                             const ModuleValues* values) {
  std::lock_guard<std::mutex> lock(mu_);
  const ModulePlan plan = plan_head(config_, name, config, *snapshot_);
  auto out = add_tensors_locked(plan.shapes, plan.kinds, plan.stddev, seed, values);
  heads_.push_back({name, config, {}});
  reindex();
  bump_setup();
  publish_locked();
  return out;
}

void BertModel::delete_adapter(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  adapter(name);
  // Fusions over this adapter go too (AdapterHub does the same).
  std::vector<std::string> doomed;
  for (const auto& f : fusions_)
    if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) doomed.push_back(f.key);
  store_.remove_if([&](const std::string& p) {
    if (p.find(adapter_infix(name)) != std::string::npos) return true;
    for (const auto& k : doomed)
      if (p.find(fusion_infix(k)) != std::string::npos) return true;
    return false;
  });
  adapters_.erase(std::remove_if(adapters_.begin(), adapters_.end(), [&](const AdapterEntry& a) { return a.name == name; }),
                  adapters_.end());
  fusions_.erase(std::remove_if(fusions_.begin(), fusions_.end(),
                                [&](const FusionEntry& f) { return std::find(doomed.begin(), doomed.end(), f.key) != doomed.end(); }),
                 fusions_.end());
  if (std::find(active_.names.begin(), active_.names.end(), name) != active_.names.end()) active_ = ActiveSetup{};
  reindex();
  bump_setup();
  publish_locked();
}

void BertModel::delete_fusion(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_->require_fusion(key);
  store_.remove_if([&](const std::string& p) { return p.find(fusion_infix(key)) != std::string::npos; });
  fusions_.erase(std::remove_if(fusions_.begin(), fusions_.end(), [&](const FusionEntry& f) { return f.key == key; }),
                 fusions_.end());
  if (active_.kind == ActiveSetup::Kind::Fuse && fusion_key(active_.names) == key) active_ = ActiveSetup{};
  reindex();
  bump_setup();
  publish_locked();
}

void BertModel::delete_head(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  head(name);
  store_.remove_if([&](const std::string& p) { return p.rfind(head_prefix(name), 0) == 0; });
  heads_.erase(std::remove_if(heads_.begin(), heads_.end(), [&](const HeadEntry& h) { return h.name == name; }),
               heads_.end());
  if (active_head_ == name) active_head_.clear();
  reindex();
  bump_setup();
  publish_locked();
}

// ---------------------------------------------------------------- reading the layout

const BertModel::AdapterEntry& BertModel::adapter(const std::string& name) const {
  for (const auto& a : adapters_)
    if (a.name == name) return a;
  fail(ErrorCode::InvalidArgument, "no adapter named \"" + name + "\"");
}

AdapterConfig BertModel::adapter_config(const std::string& name) const { return snapshot()->require_adapter(name).config; }
FusionConfig BertModel::fusion_config(const std::string& key) const { return snapshot()->require_fusion(key).config; }
HeadConfig BertModel::head_config(const std::string& name) const { return snapshot()->require_head(name).config; }

std::vector<std::string> BertModel::adapter_names() const {
  std::vector<std::string> out;
  for (const auto& a : snapshot()->adapters) out.push_back(a.name);
  return out;
}
std::vector<std::string> BertModel::fusion_keys() const {
  std::vector<std::string> out;
  for (const auto& f : snapshot()->fusions) out.push_back(f.key);
  return out;
}
std::vector<std::string> BertModel::head_names() const {
  std::vector<std::string> out;
  for (const auto& h : snapshot()->heads) out.push_back(h.name);
  return out;
}
std::vector<std::string> BertModel::adapter_param_names(const std::string& name) const {
  return snapshot()->require_adapter(name).params;
}
std::vector<std::string> BertModel::fusion_param_names(const std::string& key) const {
  return snapshot()->require_fusion(key).params;
}
std::vector<std::string> BertModel::head_param_names(const std::string& name) const {
  return snapshot()->require_head(name).params;
}
ActiveSetup BertModel::active() const { return snapshot()->active; }
std::string BertModel::active_head() const { return snapshot()->active_head; }

size_t BertModel::param_index(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.table().index_of(name);
}

void BertModel::publish_locked() {
  auto s = std::make_shared<ModelSnapshot>();
  s->version = snapshot_ ? snapshot_->version + 1 : 1;
  const TensorTable& t = store_.table();
  s->params.reserve(t.size());
  for (const auto& e : t.entries()) s->params.push_back({e.name, e.shape, e.trainable});
  for (const auto& a : adapters_) s->adapters.push_back({a.name, a.config, names_with_infix(t, adapter_infix(a.name), false)});
  for (const auto& f : fusions_) s->fusions.push_back({f.key, f.names, f.config, names_with_infix(t, fusion_infix(f.key), false)});
  for (const auto& h : heads_) s->heads.push_back({h.name, h.config, names_with_infix(t, head_prefix(h.name), true)});
  s->active = active_;
  s->active_head = active_head_;
  std::atomic_store(&snapshot_, std::shared_ptr<const ModelSnapshot>(std::move(s)));
}

// ---------------------------------------------------------------- the active setup, training

void BertModel::set_active(const ActiveSetup& setup, const std::string& head) {
  std::lock_guard<std::mutex> lock(mu_);
  if (setup.kind == ActiveSetup::Kind::Single && setup.names.size() != 1)
    fail(ErrorCode::InvalidArgument, "a single active adapter needs exactly one name");
  if (setup.kind == ActiveSetup::Kind::None && !setup.names.empty())
    fail(ErrorCode::InvalidArgument, "no active adapters takes no names");
  for (const auto& n : setup.names) adapter(n);
  if (setup.kind == ActiveSetup::Kind::Fuse && !snapshot_->fusion(fusion_key(setup.names)))
    fail(ErrorCode::InvalidArgument, "no adapter fusion named \"" + fusion_key(setup.names) +
                                         "\": add it with addAdapterFusion first");
  if (!head.empty()) this->head(head);
  active_ = setup;
  active_head_ = head;
  bump_setup();
  publish_locked();
}

void BertModel::set_fusion_direct(bool direct) {
  std::lock_guard<std::mutex> lock(mu_);
  fusion_direct_ = direct;
  bump_setup();
}

void BertModel::set_trainable_matching(const std::vector<std::string>& selectors) {
  std::lock_guard<std::mutex> lock(mu_);
  const TensorTable& t = store_.table();
  std::vector<bool> flags(t.size(), false);
  auto mark_names = [&](const std::vector<std::string>& names) {
    for (const auto& n : names) flags[t.index_of(n)] = true;
  };
  for (const auto& sel : selectors) {
    auto after = [&](const char* prefix) { return sel.substr(std::string(prefix).size()); };
    if (sel == "*") {
      flags.assign(t.size(), true);
    } else if (sel.rfind("@adapter:", 0) == 0) {
      mark_names(snapshot_->require_adapter(after("@adapter:")).params);
    } else if (sel.rfind("@fusion:", 0) == 0) {
      mark_names(snapshot_->require_fusion(after("@fusion:")).params);
    } else if (sel.rfind("@head:", 0) == 0 || sel == "@head") {
      const std::string name = sel == "@head" ? active_head_ : after("@head:");
      if (name.empty()) fail(ErrorCode::InvalidArgument, "no active head: call setActiveAdapters(setup, { head }) first");
      mark_names(snapshot_->require_head(name).params);
    } else {
      const bool prefix = !sel.empty() && sel.back() == '*';
      const std::string stem = prefix ? sel.substr(0, sel.size() - 1) : sel;
      bool hit = false;
      for (size_t i = 0; i < t.size(); ++i)
        if (prefix ? t[i].name.rfind(stem, 0) == 0 : t[i].name == stem) flags[i] = hit = true;
      if (!hit) fail(ErrorCode::InvalidArgument, "\"" + sel + "\" matches no parameter");
    }
  }
  set_trainable_locked(flags);
}

}  // namespace af
