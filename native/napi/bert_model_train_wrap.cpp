// NativeBertModel's head, loss and optimiser calls: predict, lossAndGrad, trainStep (one
// native call for forward + backward + AdamW, so a training step crosses N-API once) and the
// optimiser state for checkpoints.
#include <cmath>
#include <memory>

#include "args.h"
#include "batch_args.h"
#include "bert_model_wrap.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace af::napi {

namespace {

ForwardOptions forward_options(const Napi::Object& o, bool train_default) {
  ForwardOptions fo;
  fo.train = bool_field(o, "train", "options", train_default);
  fo.seed = static_cast<uint64_t>(int_field(o, "seed", "options", 0, 0, 1LL << 53));
  return fo;
}

float number_field(const Napi::Object& o, const char* key, float fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    type_error(o.Env(), std::string("options.") + key, "a finite number");
  return static_cast<float>(v.As<Napi::Number>().DoubleValue());
}

BertModel::AdamWOptions adamw_options(const Napi::Object& o) {
  BertModel::AdamWOptions a;
  a.lr = number_field(o, "lr", a.lr);
  a.beta1 = number_field(o, "beta1", a.beta1);
  a.beta2 = number_field(o, "beta2", a.beta2);
  a.eps = number_field(o, "eps", a.eps);
  a.weight_decay = number_field(o, "weightDecay", a.weight_decay);
  a.max_grad_norm = number_field(o, "maxGradNorm", a.max_grad_norm);
  return a;
}

// Labels: Int32Array (classification, multiple choice) or Float32Array (regression targets).
struct LabelArgs {
  std::vector<int32_t> labels;
  std::vector<float> targets;
  const int32_t* label_ptr() const { return labels.empty() ? nullptr : labels.data(); }
  const float* target_ptr() const { return targets.empty() ? nullptr : targets.data(); }
};

LabelArgs label_args(const Napi::Value& v, size_t examples) {
  LabelArgs l;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array)
    l.targets = float32_array_arg(v, "labels", examples);
  else
    l.labels = int32_array_arg(v, "labels", examples);
  return l;
}

Napi::Object loss_to_js(Napi::Env env, const BertModel::LossResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("lossCe", r.loss_ce);
  o.Set("lossReg", r.loss_reg);
  return o;
}

}  // namespace

void BertModelWrap::RegisterTrainMethods(std::vector<PropertyDescriptor>& props) {
  props.push_back(InstanceMethod("predict", &BertModelWrap::Predict));
  props.push_back(InstanceMethod("lossAndGrad", &BertModelWrap::LossAndGrad));
  props.push_back(InstanceMethod("trainStep", &BertModelWrap::TrainStep));
  props.push_back(InstanceMethod("optimizerStep", &BertModelWrap::OptimizerStep));
  props.push_back(InstanceMethod("setWeightDecayMask", &BertModelWrap::SetWeightDecayMask));
  props.push_back(InstanceMethod("getOptimizerState", &BertModelWrap::GetOptimizerState));
  props.push_back(InstanceMethod("setOptimizerState", &BertModelWrap::SetOptimizerState));
  props.push_back(InstanceMethod("resetOptimizer", &BertModelWrap::ResetOptimizer));
}

// predict(ids, types, mask, B, L, {outputFusionAttentions, train, seed})
//   -> {logits: Float32Array [E*C], fusionAttentions?: (Float32Array|null)[] per layer}
Napi::Value BertModelWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto batch = std::make_shared<BatchArgs>(batch_args(info, 0));
  Napi::Object opts = options_arg(info[5], "options");
  const ForwardOptions fo = forward_options(opts, false);
  const bool want_attn = bool_field(opts, "outputFusionAttentions", "options", false);
  auto logits = std::make_shared<std::vector<float>>();
  auto attn = std::make_shared<BertModel::FusionAttentions>();
  return PromiseWorker::start(
      env,
      [=] {
        logits->resize(size_t(m->examples(batch->batch_size)) * m->head_classes());
        m->run_head(batch->view(), fo, nullptr, nullptr, false, logits->data(), want_attn ? attn.get() : nullptr);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("logits", to_float32_array(env, *logits));
        if (want_attn) {
          Napi::Array a = Napi::Array::New(env, attn->size());
          for (size_t i = 0; i < attn->size(); ++i)
            a.Set(i, (*attn)[i].empty() ? env.Null() : Napi::Value(to_float32_array(env, (*attn)[i])));
          out.Set("fusionAttentions", a);
        }
        return out;
      });
}

// lossAndGrad(ids, types, mask, B, L, labels, {train, seed, backward = true})
//   -> {loss, lossCe, lossReg, logits}; gradients accumulate into trainable parameters.
Napi::Value BertModelWrap::LossAndGrad(const Napi::CallbackInfo& info) { return LossCall(info, false); }

// trainStep(ids, types, mask, B, L, labels, {seed, train = true, lr, beta1, beta2, eps,
//   weightDecay, maxGradNorm}) -> {loss, lossCe, lossReg, gradNorm, logits}: lossAndGrad with
// backward, then one AdamW step, in one worker.
Napi::Value BertModelWrap::TrainStep(const Napi::CallbackInfo& info) { return LossCall(info, true); }

Napi::Value BertModelWrap::LossCall(const Napi::CallbackInfo& info, bool step) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto batch = std::make_shared<BatchArgs>(batch_args(info, 0));
  Napi::Object opts = options_arg(info[6], "options");
  const ForwardOptions fo = forward_options(opts, step);
  const bool backward = step || bool_field(opts, "backward", "options", true);
  const BertModel::AdamWOptions adam = step ? adamw_options(opts) : BertModel::AdamWOptions{};
  const size_t examples = guard(env, [&] { return static_cast<size_t>(m->examples(batch->batch_size)); });
  auto labels = std::make_shared<LabelArgs>(label_args(info[5], examples));
  auto logits = std::make_shared<std::vector<float>>();
  auto result = std::make_shared<BertModel::LossResult>();
  auto norm = std::make_shared<double>(0);
  return PromiseWorker::start(
      env,
      [=] {
        logits->resize(examples * m->head_classes());
        *result = m->run_head(batch->view(), fo, labels->label_ptr(), labels->target_ptr(), backward, logits->data());
        if (step) *norm = m->optimizer_step(adam);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = loss_to_js(env, *result);
        if (step) out.Set("gradNorm", *norm);
        out.Set("logits", to_float32_array(env, *logits));
        return out;
      });
}

// optimizerStep({lr, beta1, beta2, eps, weightDecay, maxGradNorm}) -> Promise<{gradNorm}>
Napi::Value BertModelWrap::OptimizerStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const BertModel::AdamWOptions adam = adamw_options(options_arg(info[0], "options"));
  auto norm = std::make_shared<double>(0);
  return PromiseWorker::start(
      env, [=] { *norm = m->optimizer_step(adam); },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("gradNorm", *norm);
        return out;
      });
}

// setWeightDecayMask(flags: boolean[] in params() order)
Napi::Value BertModelWrap::SetWeightDecayMask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  if (!info[0].IsArray()) type_error(env, "flags", "an array of booleans");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<bool> flags(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) flags[i] = bool_arg(arr.Get(i), "flags[" + std::to_string(i) + "]");
  guard(env, [&] { m->set_weight_decay_mask(flags); });
  return env.Undefined();
}

// getOptimizerState(name) -> Promise<{steps, m, v}>: steps is this parameter's own AdamW count.
Napi::Value BertModelWrap::GetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const size_t index = param_index(env, info[0]);
  const size_t n = m->params()[index].numel;
  auto mv = std::make_shared<std::vector<float>>(2 * n);
  auto steps = std::make_shared<int64_t>(0);
  return PromiseWorker::start(
      env,
      [=] {
        *steps = m->get_optimizer_state(index, mv->data(), mv->data() + n, n);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("steps", static_cast<double>(*steps));
        out.Set("m", to_float32_array(env, std::vector<float>(mv->begin(), mv->begin() + n)));
        out.Set("v", to_float32_array(env, std::vector<float>(mv->begin() + n, mv->end())));
        return out;
      });
}

// setOptimizerState(steps, name, m, v) -> Promise<void>: steps is this parameter's count.
Napi::Value BertModelWrap::SetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const int64_t steps = int_arg(info[0], "steps", 0, 1LL << 53);
  const size_t index = param_index(env, info[1]);
  const size_t n = m->params()[index].numel;
  auto mm = std::make_shared<std::vector<float>>(float32_array_arg(info[2], "m", n));
  auto vv = std::make_shared<std::vector<float>>(float32_array_arg(info[3], "v", n));
  return PromiseWorker::start(
      env, [=] { m->set_optimizer_state(steps, index, mm->data(), vv->data(), n); },
      [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value BertModelWrap::ResetOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  guard(env, [&] { m->reset_optimizer(); });
  return env.Undefined();
}

}  // namespace af::napi
