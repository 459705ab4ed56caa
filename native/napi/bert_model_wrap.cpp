// NativeBertModel: the JS handle of a core BertModel. Every call that reads weights or changes
// the model is a task on the model's queue (model_queue.h) and returns a Promise; calls that
// only describe the model read its snapshot. Each task holds its own reference to the model,
// so dispose() during a call frees the model when that call ends.
#include "bert_model_wrap.h"

#include <memory>

#include "../core/checkpoint.h"
#include "../core/json.h"
#include "args.h"
#include "backends.h"
#include "batch_args.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace af::napi {

namespace {

Napi::Object config_to_js(Napi::Env env, const BertConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("vocabSize", c.vocab_size);
  o.Set("hiddenSize", c.hidden_size);
  o.Set("numHiddenLayers", c.num_hidden_layers);
  o.Set("numAttentionHeads", c.num_attention_heads);
  o.Set("intermediateSize", c.intermediate_size);
  o.Set("maxPositionEmbeddings", c.max_position_embeddings);
  o.Set("typeVocabSize", c.type_vocab_size);
  o.Set("layerNormEps", c.layer_norm_eps);
  o.Set("hiddenDropoutProb", c.hidden_dropout_prob);
  o.Set("attentionProbsDropoutProb", c.attention_probs_dropout_prob);
  o.Set("padTokenId", c.pad_token_id);
  o.Set("hiddenAct", "gelu");
  return o;
}

}  // namespace

Napi::FunctionReference BertModelWrap::constructor_;

Napi::Object BertModelWrap::Init(Napi::Env env, Napi::Object exports) {
  std::vector<PropertyDescriptor> props = {
          StaticMethod("load", &BertModelWrap::Load),
          StaticMethod("create", &BertModelWrap::Create),
          InstanceMethod("config", &BertModelWrap::Config),
          InstanceMethod("params", &BertModelWrap::Params),
          InstanceMethod("loadReport", &BertModelWrap::LoadReport),
          InstanceMethod("forward", &BertModelWrap::Forward),
          InstanceMethod("backward", &BertModelWrap::Backward),
          InstanceMethod("setTrainable", &BertModelWrap::SetTrainable),
          InstanceMethod("zeroGrad", &BertModelWrap::ZeroGrad),
          InstanceMethod("getParam", &BertModelWrap::GetParam),
          InstanceMethod("setParam", &BertModelWrap::SetParam),
          InstanceMethod("getGrad", &BertModelWrap::GetGrad),
          InstanceMethod("dispose", &BertModelWrap::Dispose),
          InstanceAccessor("disposed", &BertModelWrap::Disposed, nullptr),
  };
  RegisterModuleMethods(props);
  RegisterTrainMethods(props);
  Napi::Function cls = DefineClass(env, "NativeBertModel", props);
  constructor_ = Napi::Persistent(cls);
  constructor_.SuppressDestruct();
  exports.Set("NativeBertModel", cls);
  return exports;
}

BertModelWrap::BertModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BertModelWrap>(info) {
  // Only load() creates instances, passing the loaded state as an External.
  if (info.Length() != 1 || !info[0].IsExternal())
    type_error(info.Env(), "NativeBertModel", "created with NativeBertModel.load(dir, options)");
  auto* state = info[0].As<Napi::External<LoadedState>>().Data();
  model_ = std::move(state->model);
  report_ = std::move(state->report);
}

std::shared_ptr<BertModel> BertModelWrap::model(Napi::Env env) const {
  if (!model_) {
    Napi::Error err = Napi::Error::New(env, "the model has been disposed");
    err.Set("code", Napi::String::New(env, "ERR_AF_DISPOSED"));
    throw err;
  }
  return model_;
}

Napi::Promise BertModelWrap::run(Napi::Env env, PromiseWorker::Work work, PromiseWorker::Done done) {
  model(env);  // throws when disposed
  return queue_->submit(env, std::move(work), std::move(done));
}

Napi::Value BertModelWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = string_arg(info[0], "dir");
  Napi::Object opts = options_arg(info[1], "options");
  BackendRequest request = backend_request(opts, "options");
  auto state = std::make_shared<LoadedState>();
  return PromiseWorker::start(
      env,
      [state, dir, request] {
        auto backend = get_backend(request);
        state->model = std::shared_ptr<BertModel>(load_bert_checkpoint(dir, backend, &state->report));
      },
      [state](Napi::Env env) -> Napi::Value {
        return constructor_.New({Napi::External<LoadedState>::New(env, state.get())});
      });
}

// create(configJson: string, {seed, initializerRange, device, threads, gemm}): random weights.
Napi::Value BertModelWrap::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string text = string_arg(info[0], "config");
  Napi::Object opts = options_arg(info[1], "options");
  BackendRequest request = backend_request(opts, "options");
  const uint64_t seed = static_cast<uint64_t>(int_field(opts, "seed", "options", 0, 0, 1LL << 53));
  double stddev = 0.02;
  if (!opts.Get("initializerRange").IsUndefined()) {
    if (!opts.Get("initializerRange").IsNumber()) type_error(env, "options.initializerRange", "a number");
    stddev = opts.Get("initializerRange").As<Napi::Number>().DoubleValue();
    if (!(stddev >= 0 && stddev < 1e3)) type_error(env, "options.initializerRange", "a number in [0, 1000)");
  }
  auto state = std::make_shared<LoadedState>();
  return PromiseWorker::start(
      env,
      [state, text, request, seed, stddev] {
        BertConfig config = BertConfig::from_json(Json::parse(text, "config"), "config");
        state->model = std::make_shared<BertModel>(get_backend(request), config);
        state->model->init_weights(seed, static_cast<float>(stddev));
      },
      [state](Napi::Env env) -> Napi::Value {
        return constructor_.New({Napi::External<LoadedState>::New(env, state.get())});
      });
}

Napi::Value BertModelWrap::Config(const Napi::CallbackInfo& info) {
  return config_to_js(info.Env(), model(info.Env())->config());
}

Napi::Value BertModelWrap::Params(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto snap = snapshot(env);
  const auto& t = snap->params;
  Napi::Array out = Napi::Array::New(env, t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", t[i].name);
    e.Set("shape", shape_to_js(env, t[i].shape));
    e.Set("trainable", t[i].trainable);
    out.Set(i, e);
  }
  return out;
}

Napi::Value BertModelWrap::LoadReport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array keys = Napi::Array::New(env, report_.ignored_keys.size());
  for (size_t i = 0; i < report_.ignored_keys.size(); ++i) keys.Set(i, report_.ignored_keys[i]);
  o.Set("ignoredKeys", keys);
  o.Set("dtype", report_.dtype);
  o.Set("nonFinite", string_array_to_js(env, report_.non_finite));
  return o;
}

// forward(inputIds, tokenTypeIds|null, attentionMask|null, batchSize, seqLen,
//         {train, keepActivations, seed, outputHiddenStates})
Napi::Value BertModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto batch = std::make_shared<BatchArgs>(batch_args(info, 0));
  Napi::Object opts = options_arg(info[5], "options");
  ForwardOptions fo;
  fo.train = bool_field(opts, "train", "options", false);
  fo.keep_activations = bool_field(opts, "keepActivations", "options", false);
  fo.seed = static_cast<uint64_t>(int_field(opts, "seed", "options", 0, 0, (1LL << 53)));
  const bool want_hidden = bool_field(opts, "outputHiddenStates", "options", false);
  const size_t D = m->config().hidden_size, layers = m->config().num_hidden_layers;
  const size_t T = batch->ids.size();
  auto last = std::make_shared<std::vector<float>>();
  auto hidden = std::make_shared<std::vector<float>>();
  return run(
      env,
      [=] {
        last->resize(T * D);
        if (want_hidden) hidden->resize((layers + 1) * T * D);
        m->forward(batch->view(), fo, last->data(), want_hidden ? hidden->data() : nullptr);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("lastHiddenState", to_float32_array(env, *last));
        if (want_hidden) out.Set("hiddenStates", to_float32_array(env, *hidden));
        return out;
      });
}

// backward(gradOutput: Float32Array [B*L*D], {inputGrad}) -> {inputsEmbeds?}
Napi::Value BertModelWrap::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  if (!info[0].IsTypedArray()) type_error(env, "gradOutput", "a Float32Array");
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  auto grad = std::make_shared<std::vector<float>>(float32_array_arg(info[0], "gradOutput", n));
  Napi::Object opts = options_arg(info[1], "options");
  const bool input_grad = bool_field(opts, "inputGrad", "options", false);
  auto dinput = std::make_shared<std::vector<float>>();
  return run(
      env,
      [=] {
        if (input_grad) dinput->resize(grad->size());
        m->backward(grad->data(), grad->size(), input_grad ? dinput->data() : nullptr);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        if (input_grad) out.Set("inputsEmbeds", to_float32_array(env, *dinput));
        return out;
      });
}

// setTrainable(selectors: string[]) -> Promise<void>; BertModel::set_trainable_matching
// resolves the selectors when the task runs, against the model as it is then.
Napi::Value BertModelWrap::SetTrainable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto selectors = std::make_shared<std::vector<std::string>>(string_array_arg(info[0], "selectors"));
  return run(env, [=] { m->set_trainable_matching(*selectors); }, [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value BertModelWrap::ZeroGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  return run(env, [m] { m->zero_grad(); }, [](Napi::Env env) { return env.Undefined(); });
}

// Reads one named tensor (its value or its gradient) as a task. Names resolve when the task
// runs: an index taken earlier could name another tensor by then.
Napi::Value BertModelWrap::ReadTensor(const Napi::CallbackInfo& info, bool gradient) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  auto out = std::make_shared<std::vector<float>>();
  return run(
      env,
      [=] {
        const size_t i = m->param_index(name);
        out->resize(m->params()[i].numel);
        if (gradient) m->get_grad(i, out->data(), out->size());
        else m->get_param(i, out->data(), out->size());
      },
      [=](Napi::Env env) -> Napi::Value { return to_float32_array(env, *out); });
}

Napi::Value BertModelWrap::GetParam(const Napi::CallbackInfo& info) { return ReadTensor(info, false); }
Napi::Value BertModelWrap::GetGrad(const Napi::CallbackInfo& info) { return ReadTensor(info, true); }

Napi::Value BertModelWrap::SetParam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  auto data = std::make_shared<std::vector<float>>(float32_array_any(info[1], "values"));
  return run(
      env, [=] { m->set_param(m->param_index(name), data->data(), data->size()); },
      [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value BertModelWrap::Dispose(const Napi::CallbackInfo& info) {
  model_.reset();
  queue_->close();
  return info.Env().Undefined();
}

Napi::Value BertModelWrap::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !model_);
}

}  // namespace af::napi
