// NativeBertModel's adapter, fusion and head management. Configurations cross as JSON text
// (AdapterHub's "config" objects, or preset names), so the core alone interprets them. Changes
// are tasks on the model's queue; names, configs and the active head come from its snapshot.
#include <memory>

#include "../core/adapter_config.h"
#include "../core/head.h"
#include "../core/json.h"
#include "args.h"
#include "bert_model_wrap.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace af::napi {

namespace {

// A config: JSON text of an object or of a preset name string, plus optional overrides
// (JSON object text) merged into it.
Json config_with_overrides(const std::string& text, const std::string& overrides, const char* what,
                           Json (*preset)(const std::string&)) {
  Json config = Json::parse(text, what);
  if (config.is_string()) config = preset(config.as_string());
  if (!overrides.empty()) {
    Json o = Json::parse(overrides, what);
    if (!o.is_object()) fail(ErrorCode::InvalidArgument, std::string(what) + ": overrides must be an object");
    if (!config.is_object()) fail(ErrorCode::InvalidArgument, std::string(what) + ": must be an object or a preset name");
    for (const auto& kv : o.as_object()) config.set(kv.first, kv.second);
  }
  return config;
}

std::string kind_arg(const Napi::Value& v) {
  std::string k = string_arg(v, "kind");
  if (k != "adapter" && k != "fusion" && k != "head") type_error(v.Env(), "kind", "\"adapter\", \"fusion\" or \"head\"");
  return k;
}

std::string optional_string(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : ""; }

// A module's three config forms, parsed on the JS thread (pure: no model state).
AdapterConfig adapter_config_arg(Napi::Env env, const std::string& name, const Napi::Value& text, const Napi::Value& overrides) {
  const std::string t = string_arg(text, "config"), o = optional_string(overrides);
  return guard(env, [&] {
    return AdapterConfig::from_json(config_with_overrides(t, o, "adapter config", &AdapterConfig::preset),
                                    "adapter \"" + name + "\" config");
  });
}
FusionConfig fusion_config_arg(Napi::Env env, const Napi::Value& text, const Napi::Value& overrides) {
  const std::string t = string_arg(text, "config"), o = optional_string(overrides);
  return guard(env, [&] {
    return FusionConfig::from_json(config_with_overrides(t, o, "fusion config", &FusionConfig::preset), "fusion config");
  });
}
HeadConfig head_config_arg(Napi::Env env, const std::string& name, const Napi::Value& text) {
  const std::string t = string_arg(text, "config");
  return guard(env, [&] { return HeadConfig::from_json(Json::parse(t, "head config"), "head \"" + name + "\" config"); });
}

// Optional initial values: {paramName: Float32Array}, copied (validated by the core's add_*).
std::shared_ptr<BertModel::ModuleValues> values_arg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsObject()) type_error(v.Env(), "values", "an object of Float32Arrays");
  auto out = std::make_shared<BertModel::ModuleValues>();
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    (*out)[k] = float32_array_any(o.Get(k), "values[\"" + k + "\"]");
  }
  return out;
}

Napi::Value names_result(Napi::Env env, const std::vector<std::string>& names) { return string_array_to_js(env, names); }

Napi::Array shapes_to_js(Napi::Env env, const TensorShapes& shapes) {
  Napi::Array a = Napi::Array::New(env, shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", shapes[i].first);
    e.Set("shape", shape_to_js(env, shapes[i].second));
    a.Set(i, e);
  }
  return a;
}

}  // namespace

void BertModelWrap::RegisterModuleMethods(std::vector<PropertyDescriptor>& props) {
  props.push_back(InstanceMethod("addAdapter", &BertModelWrap::AddAdapter));
  props.push_back(InstanceMethod("addAdapterFusion", &BertModelWrap::AddAdapterFusion));
  props.push_back(InstanceMethod("addHead", &BertModelWrap::AddHead));
  props.push_back(InstanceMethod("deleteModule", &BertModelWrap::DeleteModule));
  props.push_back(InstanceMethod("moduleConfig", &BertModelWrap::ModuleConfig));
  props.push_back(InstanceMethod("moduleNames", &BertModelWrap::ModuleNames));
  props.push_back(InstanceMethod("moduleParamNames", &BertModelWrap::ModuleParamNames));
  props.push_back(InstanceMethod("moduleShapes", &BertModelWrap::ModuleShapes));
  props.push_back(InstanceMethod("moduleTensors", &BertModelWrap::ModuleTensors));
  props.push_back(InstanceMethod("setActive", &BertModelWrap::SetActive));
  props.push_back(InstanceMethod("setFusionDirect", &BertModelWrap::SetFusionDirect));
  props.push_back(InstanceMethod("headInfo", &BertModelWrap::HeadInfo));
  props.push_back(InstanceMethod("fusionTemperatures", &BertModelWrap::FusionTemperatures));
  props.push_back(InstanceMethod("setFusionTemperatures", &BertModelWrap::SetFusionTemperatures));
}

// addAdapter(name, configJson, overridesJson|null, seed, values?) -> Promise<string[]> (the new
// parameter names). With `values` the adapter arrives with its weights in one task: a load
// that fails leaves the model as it was, and no call ever sees it half filled.
Napi::Value BertModelWrap::AddAdapter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  auto config = std::make_shared<AdapterConfig>(adapter_config_arg(env, name, info[1], info[2]));
  const uint64_t seed = static_cast<uint64_t>(int_arg(info[3], "seed", 0, 1LL << 53));
  auto values = values_arg(info[4]);
  auto out = std::make_shared<std::vector<std::string>>();
  return run(
      env, [=] { *out = m->add_adapter(name, *config, seed, values.get()); },
      [=](Napi::Env env) { return names_result(env, *out); });
}

// addAdapterFusion(adapterNames, configJson, overridesJson|null, seed, values?) -> Promise<string[]>
Napi::Value BertModelWrap::AddAdapterFusion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto adapters = std::make_shared<std::vector<std::string>>(string_array_arg(info[0], "adapterNames"));
  auto config = std::make_shared<FusionConfig>(fusion_config_arg(env, info[1], info[2]));
  const uint64_t seed = static_cast<uint64_t>(int_arg(info[3], "seed", 0, 1LL << 53));
  auto values = values_arg(info[4]);
  auto out = std::make_shared<std::vector<std::string>>();
  return run(
      env, [=] { *out = m->add_fusion(*adapters, *config, seed, values.get()); },
      [=](Napi::Env env) { return names_result(env, *out); });
}

// addHead(name, headConfigJson, seed, values?) -> Promise<string[]>
Napi::Value BertModelWrap::AddHead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  auto config = std::make_shared<HeadConfig>(head_config_arg(env, name, info[1]));
  const uint64_t seed = static_cast<uint64_t>(int_arg(info[2], "seed", 0, 1LL << 53));
  auto values = values_arg(info[3]);
  auto out = std::make_shared<std::vector<std::string>>();
  return run(
      env, [=] { *out = m->add_head(name, *config, seed, values.get()); },
      [=](Napi::Env env) { return names_result(env, *out); });
}

// moduleShapes(kind, nameOrAdapterNames, configJson, overridesJson|null) -> [{name, shape}]:
// the parameters an add would create, checked against the current snapshot; adds nothing.
Napi::Value BertModelWrap::ModuleShapes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  auto snap = m->snapshot();
  if (kind == "fusion") {
    const std::vector<std::string> names = string_array_arg(info[1], "adapterNames");
    const FusionConfig config = fusion_config_arg(env, info[2], info[3]);
    return shapes_to_js(env, guard(env, [&] { return m->fusion_shapes(names, config, *snap); }));
  }
  const std::string name = string_arg(info[1], "name");
  if (kind == "adapter") {
    const AdapterConfig config = adapter_config_arg(env, name, info[2], info[3]);
    return shapes_to_js(env, guard(env, [&] { return m->adapter_shapes(name, config, *snap); }));
  }
  const HeadConfig config = head_config_arg(env, name, info[2]);
  return shapes_to_js(env, guard(env, [&] { return m->head_shapes(name, config, *snap); }));
}

// moduleTensors(kind, name) -> Promise<{config: string, tensors: [{name, shape, data}]}>: a
// module's config and weights read in one task, so a save never mixes two states.
Napi::Value BertModelWrap::ModuleTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  auto config = std::make_shared<std::string>();
  auto tensors = std::make_shared<std::vector<Tensor>>();
  return run(
      env,
      [=] {
        auto snap = m->snapshot();
        const std::vector<std::string>* params;
        if (kind == "adapter") {
          const auto& a = snap->require_adapter(name);
          *config = a.config.to_json().dump();
          params = &a.params;
        } else if (kind == "fusion") {
          const auto& f = snap->require_fusion(name);
          *config = f.config.to_json().dump();
          params = &f.params;
        } else {
          const auto& h = snap->require_head(name);
          *config = h.config.to_json().dump();
          params = &h.params;
        }
        for (const auto& p : *params) {
          const size_t i = m->param_index(p);
          Tensor t{p, m->params()[i].shape, std::vector<float>(m->params()[i].numel)};
          m->get_param(i, t.data.data(), t.data.size());
          tensors->push_back(std::move(t));
        }
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("config", *config);
        Napi::Array a = Napi::Array::New(env, tensors->size());
        for (size_t i = 0; i < tensors->size(); ++i) {
          Napi::Object t = Napi::Object::New(env);
          t.Set("name", (*tensors)[i].name);
          t.Set("shape", shape_to_js(env, (*tensors)[i].shape));
          t.Set("data", to_float32_array(env, (*tensors)[i].data));
          a.Set(i, t);
        }
        out.Set("tensors", a);
        return out;
      });
}

// deleteModule(kind, name) -> Promise<void>
Napi::Value BertModelWrap::DeleteModule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  return run(
      env,
      [=] {
        if (kind == "adapter") m->delete_adapter(name);
        else if (kind == "fusion") m->delete_fusion(name);
        else m->delete_head(name);
      },
      [](Napi::Env env) { return env.Undefined(); });
}

// moduleConfig(kind, name) -> JSON text of the full "config" object to save
Napi::Value BertModelWrap::ModuleConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto snap = snapshot(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  return guard(env, [&]() -> Napi::Value {
    Json j = kind == "adapter" ? snap->require_adapter(name).config.to_json()
             : kind == "fusion" ? snap->require_fusion(name).config.to_json()
                                : snap->require_head(name).config.to_json();
    return Napi::String::New(env, j.dump());
  });
}

// moduleNames(kind) -> string[]
Napi::Value BertModelWrap::ModuleNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto snap = snapshot(env);
  const std::string kind = kind_arg(info[0]);
  std::vector<std::string> names;
  if (kind == "adapter") for (const auto& a : snap->adapters) names.push_back(a.name);
  else if (kind == "fusion") for (const auto& f : snap->fusions) names.push_back(f.key);
  else for (const auto& h : snap->heads) names.push_back(h.name);
  return string_array_to_js(env, names);
}

// moduleParamNames(kind, name) -> string[] (parameter names without "bert.")
Napi::Value BertModelWrap::ModuleParamNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto snap = snapshot(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  return guard(env, [&]() -> Napi::Value {
    return string_array_to_js(env, kind == "adapter" ? snap->require_adapter(name).params
                                   : kind == "fusion" ? snap->require_fusion(name).params
                                                      : snap->require_head(name).params);
  });
}

// setActive(kind: 'none'|'single'|'fuse', names: string[], head: string|null|undefined) ->
// Promise<void>; an undefined head keeps the head active when the task runs.
Napi::Value BertModelWrap::SetActive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = string_arg(info[0], "kind");
  auto setup = std::make_shared<ActiveSetup>();
  if (kind == "single") setup->kind = ActiveSetup::Kind::Single;
  else if (kind == "fuse") setup->kind = ActiveSetup::Kind::Fuse;
  else if (kind != "none") type_error(env, "kind", "\"none\", \"single\" or \"fuse\"");
  setup->names = string_array_arg(info[1], "names");
  const bool keep_head = info[2].IsUndefined();
  const std::string head = optional_string(info[2]);
  return run(
      env, [=] { m->set_active(*setup, keep_head ? m->active_head() : head); },
      [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value BertModelWrap::SetFusionDirect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const bool direct = bool_arg(info[0], "direct");
  return run(env, [=] { m->set_fusion_direct(direct); }, [](Napi::Env env) { return env.Undefined(); });
}

// headInfo() -> {name, classes, regression, multipleChoice} of the active head, or null
Napi::Value BertModelWrap::HeadInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto snap = snapshot(env);
  if (snap->active_head.empty()) return env.Null();
  const HeadConfig& c = snap->require_head(snap->active_head).config;
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", snap->active_head);
  o.Set("classes", c.classes());
  o.Set("regression", c.regression());
  o.Set("multipleChoice", c.type == HeadType::MultipleChoice);
  return o;
}

// fusionTemperatures(key) -> Promise<Float32Array>: they change with every training forward.
Napi::Value BertModelWrap::FusionTemperatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string key = string_arg(info[0], "name");
  auto out = std::make_shared<std::vector<float>>();
  return run(
      env, [=] { *out = m->fusion_temperatures(key); },
      [=](Napi::Env env) -> Napi::Value { return to_float32_array(env, *out); });
}

Napi::Value BertModelWrap::SetFusionTemperatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string key = string_arg(info[0], "name");
  auto t = std::make_shared<std::vector<float>>(float32_array_any(info[1], "temperatures"));
  return run(env, [=] { m->set_fusion_temperatures(key, *t); }, [](Napi::Env env) { return env.Undefined(); });
}

}  // namespace af::napi
