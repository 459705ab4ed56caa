// NativeBertModel's adapter, fusion and head management. Configurations cross as JSON text
// (AdapterHub's "config" objects, or preset names), so the core alone interprets them.
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

Napi::Array to_js(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(i, v[i]);
  return a;
}

std::vector<std::string> string_array(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) type_error(v.Env(), name, "an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(string_arg(a.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

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

}  // namespace

void BertModelWrap::RegisterModuleMethods(std::vector<PropertyDescriptor>& props) {
  props.push_back(InstanceMethod("addAdapter", &BertModelWrap::AddAdapter));
  props.push_back(InstanceMethod("addAdapterFusion", &BertModelWrap::AddAdapterFusion));
  props.push_back(InstanceMethod("addHead", &BertModelWrap::AddHead));
  props.push_back(InstanceMethod("deleteModule", &BertModelWrap::DeleteModule));
  props.push_back(InstanceMethod("moduleConfig", &BertModelWrap::ModuleConfig));
  props.push_back(InstanceMethod("moduleNames", &BertModelWrap::ModuleNames));
  props.push_back(InstanceMethod("moduleParamNames", &BertModelWrap::ModuleParamNames));
  props.push_back(InstanceMethod("setActive", &BertModelWrap::SetActive));
  props.push_back(InstanceMethod("setFusionDirect", &BertModelWrap::SetFusionDirect));
  props.push_back(InstanceMethod("headInfo", &BertModelWrap::HeadInfo));
  props.push_back(InstanceMethod("fusionTemperatures", &BertModelWrap::FusionTemperatures));
  props.push_back(InstanceMethod("setFusionTemperatures", &BertModelWrap::SetFusionTemperatures));
}

// addAdapter(name, configJson, overridesJson|null, seed) -> string[] (new parameter names).
// Synchronous: a module is a new small parameter segment, nothing of the encoder is copied.
Napi::Value BertModelWrap::AddAdapter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  const std::string text = string_arg(info[1], "config");
  const std::string overrides = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  const uint64_t seed = static_cast<uint64_t>(int_arg(info[3], "seed", 0, 1LL << 53));
  return guard(env, [&]() -> Napi::Value {
    Json config = config_with_overrides(text, overrides, "adapter config", &AdapterConfig::preset);
    return to_js(env, m->add_adapter(name, AdapterConfig::from_json(config, "adapter \"" + name + "\" config"), seed));
  });
}

// addAdapterFusion(adapterNames, configJson, overridesJson|null, seed) -> string[]
Napi::Value BertModelWrap::AddAdapterFusion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::vector<std::string> adapters = string_array(info[0], "adapterNames");
  const std::string text = string_arg(info[1], "config");
  const std::string overrides = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  const uint64_t seed = static_cast<uint64_t>(int_arg(info[3], "seed", 0, 1LL << 53));
  return guard(env, [&]() -> Napi::Value {
    Json config = config_with_overrides(text, overrides, "fusion config", &FusionConfig::preset);
    return to_js(env, m->add_fusion(adapters, FusionConfig::from_json(config, "fusion config"), seed));
  });
}

// addHead(name, headConfigJson, seed) -> string[]
Napi::Value BertModelWrap::AddHead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  const std::string text = string_arg(info[1], "config");
  const uint64_t seed = static_cast<uint64_t>(int_arg(info[2], "seed", 0, 1LL << 53));
  return guard(env, [&]() -> Napi::Value {
    return to_js(env, m->add_head(name, HeadConfig::from_json(Json::parse(text, "head config"), "head \"" + name + "\" config"), seed));
  });
}

// deleteModule(kind, name) -> Promise<void>
Napi::Value BertModelWrap::DeleteModule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  return PromiseWorker::start(
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
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  return guard(env, [&]() -> Napi::Value {
    Json j = kind == "adapter" ? m->adapter_config(name).to_json()
             : kind == "fusion" ? m->fusion_config(name).to_json()
                                : m->head_config(name).to_json();
    return Napi::String::New(env, j.dump());
  });
}

// moduleNames(kind) -> string[]
Napi::Value BertModelWrap::ModuleNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  return to_js(env, kind == "adapter" ? m->adapter_names() : kind == "fusion" ? m->fusion_keys() : m->head_names());
}

// moduleParamNames(kind, name) -> string[] (parameter names without "bert.")
Napi::Value BertModelWrap::ModuleParamNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = kind_arg(info[0]);
  const std::string name = string_arg(info[1], "name");
  return guard(env, [&]() -> Napi::Value {
    return to_js(env, kind == "adapter" ? m->adapter_param_names(name)
                      : kind == "fusion" ? m->fusion_param_names(name)
                                         : m->head_param_names(name));
  });
}

// setActive(kind: 'none'|'single'|'fuse', names: string[], head: string)
Napi::Value BertModelWrap::SetActive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string kind = string_arg(info[0], "kind");
  ActiveSetup setup;
  if (kind == "single") setup.kind = ActiveSetup::Kind::Single;
  else if (kind == "fuse") setup.kind = ActiveSetup::Kind::Fuse;
  else if (kind != "none") type_error(env, "kind", "\"none\", \"single\" or \"fuse\"");
  setup.names = string_array(info[1], "names");
  const std::string head = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  guard(env, [&] { m->set_active(setup, head); });
  return env.Undefined();
}

Napi::Value BertModelWrap::SetFusionDirect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const bool direct = bool_arg(info[0], "direct");
  guard(env, [&] { m->set_fusion_direct(direct); });
  return env.Undefined();
}

// headInfo() -> {name, classes, regression, multipleChoice} of the active head, or null
Napi::Value BertModelWrap::HeadInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string head = m->active_head();
  if (head.empty()) return env.Null();
  return guard(env, [&]() -> Napi::Value {
    const HeadConfig& c = m->head_config(head);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", head);
    o.Set("classes", c.classes());
    o.Set("regression", c.regression());
    o.Set("multipleChoice", c.type == HeadType::MultipleChoice);
    return o;
  });
}

Napi::Value BertModelWrap::FusionTemperatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string key = string_arg(info[0], "name");
  return guard(env, [&]() -> Napi::Value { return to_float32_array(env, m->fusion_temperatures(key)); });
}

Napi::Value BertModelWrap::SetFusionTemperatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string key = string_arg(info[0], "name");
  if (!info[1].IsTypedArray()) type_error(env, "temperatures", "a Float32Array");
  std::vector<float> t = float32_array_arg(info[1], "temperatures", info[1].As<Napi::TypedArray>().ElementLength());
  guard(env, [&] { m->set_fusion_temperatures(key, t); });
  return env.Undefined();
}

}  // namespace af::napi
