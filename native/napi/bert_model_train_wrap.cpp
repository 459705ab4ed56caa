// NativeBertModel's head, loss and optimiser calls: predict, lossAndGrad, trainStep (one
// native call for forward + backward + AdamW, so a training step crosses N-API once) and the
// optimiser state for checkpoints. Each is a task on the model's queue (model_queue.h).
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

// Copied on the JS thread; the count is checked where the task runs, against the head active then.
LabelArgs label_args(const Napi::Value& v) {
  LabelArgs l;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array)
    l.targets = float32_array_any(v, "labels");
  else
    l.labels = int32_array_any(v, "labels");
  return l;
}

void check_label_count(const LabelArgs& l, size_t examples) {
  const size_t n = l.labels.empty() ? l.targets.size() : l.labels.size();
  if (n != examples)
    fail(ErrorCode::InvalidArgument, "labels must have " + std::to_string(examples) + " elements (one per example), got " +
                                         std::to_string(n));
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
  props.push_back(InstanceMethod("setWeightDecayNames", &BertModelWrap::SetWeightDecayNames));
  props.push_back(InstanceMethod("getOptimizerState", &BertModelWrap::GetOptimizerState));
  props.push_back(InstanceMethod("setOptimizerState", &BertModelWrap::SetOptimizerState));
  props.push_back(InstanceMethod("resetOptimizer", &BertModelWrap::ResetOptimizer));
}

// predict(ids, types, mask, B, L, {outputFusionAttentions, train, seed})
//   -> {logits: Float32Array [E*C], classes: C, fusionAttentions?: (Float32Array|null)[] per layer}
Napi::Value BertModelWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto batch = std::make_shared<BatchArgs>(batch_args(info, 0));
  Napi::Object opts = options_arg(info[5], "options");
  const ForwardOptions fo = forward_options(opts, false);
  const bool want_attn = bool_field(opts, "outputFusionAttentions", "options", false);
  auto logits = std::make_shared<std::vector<float>>();
  auto attn = std::make_shared<BertModel::FusionAttentions>();
  auto classes = std::make_shared<int>(0);
  return run(
      env,
      [=] {
        *classes = m->head_classes();  // the head active when the task runs
        logits->resize(size_t(m->examples(batch->batch_size)) * *classes);
        m->run_head(batch->view(), fo, nullptr, nullptr, false, logits->data(), want_attn ? attn.get() : nullptr);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("logits", to_float32_array(env, *logits));
        out.Set("classes", *classes);
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
  auto labels = std::make_shared<LabelArgs>(label_args(info[5]));
  auto logits = std::make_shared<std::vector<float>>();
  auto result = std::make_shared<BertModel::LossResult>();
  auto norm = std::make_shared<double>(0);
  return run(
      env,
      [=] {
        const size_t examples = static_cast<size_t>(m->examples(batch->batch_size));
        check_label_count(*labels, examples);
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
  return run(
      env, [=] { *norm = m->optimizer_step(adam); },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("gradNorm", *norm);
        return out;
      });
}

// setWeightDecayNames(names: string[]) -> Promise<void>: the trainable parameters that decay.
Napi::Value BertModelWrap::SetWeightDecayNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  auto names = std::make_shared<std::vector<std::string>>(string_array_arg(info[0], "names"));
  return run(env, [=] { m->set_weight_decay_names(*names); }, [](Napi::Env env) { return env.Undefined(); });
}

// getOptimizerState(name) -> Promise<{steps, m, v}>: steps is this parameter's own AdamW count.
Napi::Value BertModelWrap::GetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const std::string name = string_arg(info[0], "name");
  auto mm = std::make_shared<std::vector<float>>();
  auto vv = std::make_shared<std::vector<float>>();
  auto steps = std::make_shared<int64_t>(0);
  return run(
      env,
      [=] {
        const size_t i = m->param_index(name);
        const size_t n = m->params()[i].numel;
        mm->resize(n);
        vv->resize(n);
        *steps = m->get_optimizer_state(i, mm->data(), vv->data(), n);
      },
      [=](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("steps", static_cast<double>(*steps));
        out.Set("m", to_float32_array(env, *mm));
        out.Set("v", to_float32_array(env, *vv));
        return out;
      });
}

// setOptimizerState(steps, name, m, v) -> Promise<void>: steps is this parameter's count.
Napi::Value BertModelWrap::SetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  const int64_t steps = int_arg(info[0], "steps", 0, 1LL << 53);
  const std::string name = string_arg(info[1], "name");
  auto mm = std::make_shared<std::vector<float>>(float32_array_any(info[2], "m"));
  auto vv = std::make_shared<std::vector<float>>(float32_array_any(info[3], "v"));
  return run(
      env,
      [=] {
        const size_t i = m->param_index(name);
        const size_t n = m->params()[i].numel;
        if (mm->size() != n || vv->size() != n)
          fail(ErrorCode::ShapeMismatch, name + ": optimiser state needs " + std::to_string(n) + " values in m and v, got " +
                                             std::to_string(mm->size()) + " and " + std::to_string(vv->size()));
        m->set_optimizer_state(steps, i, mm->data(), vv->data(), n);
      },
      [](Napi::Env env) { return env.Undefined(); });
}

Napi::Value BertModelWrap::ResetOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = model(env);
  return run(env, [=] { m->reset_optimizer(); }, [](Napi::Env env) { return env.Undefined(); });
}

}  // namespace af::napi
