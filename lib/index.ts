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
  PredictOptions,
  PredictOutput,
  Labels,
  AdamWOptions,
  LossOutput,
  StepOptions,
  TrainAdapterFusionOptions,
} from './model/bert-model.js';
export { Fuse, fuse } from './adapters/composition.js';
export type { AdapterSetup } from './adapters/composition.js';
export type {
  AddAdapterOptions,
  AddFusionOptions,
  AddClassificationHeadOptions,
  AddMultipleChoiceHeadOptions,
  AdapterPreset,
  NonLinearity,
} from './adapters/options.js';
export { backendInfo } from './backend-info.js';
export type { BackendInfo } from './backend-info.js';
export * from './errors.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export type { Tensor, TensorToWrite } from './safetensors.js';
export * from './tokenizer/index.js';
export * from './trainer/index.js';
export * from './eval/index.js';
export { saveModel } from './model/save-model.js';
export * as commands from './runs/commands.js';
export * from './runs/record.js';
export type { RunEvent, RunEventHandler } from './runs/events.js';
export { writeReport, collectRuns, table1, table2, activationMatrix, heatmapSvg, heatmapPng, renderHtml } from './report/index.js';
export type { WriteReportOptions, WrittenReport } from './report/index.js';
