// The trainer's public surface.
export { Trainer, defaultWeightDecayFilter } from './trainer.js';
export type {
  TrainerOptions,
  TrainOptions,
  TrainResult,
  TrainingMode,
  EarlyStoppingOptions,
  StepInfo,
  EpochRecord,
  EvalRecord,
  BestRecord,
  ResolvedTrainerOptions,
} from './trainer.js';
export { AbortError } from './errors.js';
export { linearScheduleWithWarmup, constantScheduleWithWarmup, makeSchedule, warmupStepsFor } from './schedule.js';
export type { ScheduleName, ScheduleOptions } from './schedule.js';
export { collate, batches, tokenizeExamples, tokenizePairs, validateDataset, datasetFingerprint } from './batching.js';
export type {
  Example,
  MultipleChoiceExample,
  SequenceInput,
  TrainingExample,
  Dataset,
  DatasetLike,
  Batch,
  CollateOptions,
  TextExample,
  MultipleChoiceTextExample,
} from './batching.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint } from './checkpoint.js';
export type { CheckpointContents, LoadedCheckpoint, NamedTensor, SaveHooks } from './checkpoint.js';
export type { OptimizerState } from './checkpoint.js';
export { epochOrder, stepSeed } from './random.js';
export { MultiTaskTrainer, annealedAlpha, taskProbabilities, drawTask, taskBatchIndices } from './multitask.js';
export type {
  MultiTaskTask,
  MultiTaskTrainerOptions,
  MultiTaskTrainOptions,
  MultiTaskTrainResult,
  MultiTaskEpochRecord,
  MultiTaskStepInfo,
  MultiTaskBestRecord,
  MultiTaskEarlyStopping,
  TaskEpochRecord,
  ResolvedMultiTaskOptions,
} from './multitask.js';
