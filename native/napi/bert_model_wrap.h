#pragma once
#include <napi.h>

#include <memory>

#include "../core/bert.h"
#include "../core/checkpoint.h"
#include "model_queue.h"

namespace af::napi {

class BertModelWrap : public Napi::ObjectWrap<BertModelWrap> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit BertModelWrap(const Napi::CallbackInfo& info);

 private:
  struct LoadedState {
    std::shared_ptr<BertModel> model;
    CheckpointReport report;
  };
  static Napi::FunctionReference constructor_;

  static Napi::Value Load(const Napi::CallbackInfo& info);
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Config(const Napi::CallbackInfo& info);
  Napi::Value Params(const Napi::CallbackInfo& info);
  Napi::Value LoadReport(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value SetTrainable(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value GetParam(const Napi::CallbackInfo& info);
  Napi::Value SetParam(const Napi::CallbackInfo& info);
  Napi::Value GetGrad(const Napi::CallbackInfo& info);
  Napi::Value ReadTensor(const Napi::CallbackInfo& info, bool gradient);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // bert_model_modules_wrap.cpp: adapters, fusion, heads, the active setup
  Napi::Value AddAdapter(const Napi::CallbackInfo& info);
  Napi::Value AddAdapterFusion(const Napi::CallbackInfo& info);
  Napi::Value AddHead(const Napi::CallbackInfo& info);
  Napi::Value DeleteModule(const Napi::CallbackInfo& info);
  Napi::Value ModuleConfig(const Napi::CallbackInfo& info);
  Napi::Value ModuleNames(const Napi::CallbackInfo& info);
  Napi::Value ModuleParamNames(const Napi::CallbackInfo& info);
  Napi::Value ModuleShapes(const Napi::CallbackInfo& info);
  Napi::Value ModuleTensors(const Napi::CallbackInfo& info);
  Napi::Value SetActive(const Napi::CallbackInfo& info);
  Napi::Value SetFusionDirect(const Napi::CallbackInfo& info);
  Napi::Value HeadInfo(const Napi::CallbackInfo& info);
  Napi::Value FusionTemperatures(const Napi::CallbackInfo& info);
  Napi::Value SetFusionTemperatures(const Napi::CallbackInfo& info);

  // bert_model_train_wrap.cpp: heads, losses, the optimiser
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value LossAndGrad(const Napi::CallbackInfo& info);
  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value LossCall(const Napi::CallbackInfo& info, bool step);
  Napi::Value OptimizerStep(const Napi::CallbackInfo& info);
  Napi::Value SetWeightDecayNames(const Napi::CallbackInfo& info);
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  // The model, or a thrown ERR_AF_DISPOSED error.
  std::shared_ptr<BertModel> model(Napi::Env env) const;
  // The model's current snapshot, for calls that only read (model_snapshot.h).
  std::shared_ptr<const ModelSnapshot> snapshot(Napi::Env env) const { return model(env)->snapshot(); }
  // Runs `work` as the model's next task (model_queue.h); a disposed model throws.
  Napi::Promise run(Napi::Env env, PromiseWorker::Work work, PromiseWorker::Done done);
  static void RegisterModuleMethods(std::vector<PropertyDescriptor>& props);
  static void RegisterTrainMethods(std::vector<PropertyDescriptor>& props);

  std::shared_ptr<BertModel> model_;
  std::shared_ptr<ModelQueue> queue_ = std::make_shared<ModelQueue>();
  CheckpointReport report_;
};

}  // namespace af::napi
