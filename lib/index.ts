// Public entry point of adapterfusion.
export { loadModel, createModel, BertModel } from './model/bert-model.js';
export type {
  BertConfig,
  LoadModelOptions,
  BatchInput,
  ForwardOptions,
  ForwardOutput,
  BackwardOptions,
  ParameterInfo,
  HfBertConfig,
  CreateModelOptions,
} from './model/bert-model.js';
export { backendInfo } from './backend-info.js';
export type { BackendInfo } from './backend-info.js';
export * from './errors.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export type { Tensor, TensorToWrite } from './safetensors.js';
export * from './tokenizer/index.js';
