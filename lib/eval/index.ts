// The evaluation harness's public surface.
export {
  accuracy,
  argmax,
  f1,
  macroF1,
  matthewsCorrelation,
  pearson,
  spearman,
  ranks,
  meanSquaredError,
  crossEntropy,
  computeMetrics,
} from './metrics.js';
export type { Metrics, MetricName } from './metrics.js';
export { predictDataset, evaluateDataset } from './evaluate.js';
export type { PredictDatasetOptions, EvaluateDatasetOptions, DatasetPredictions } from './evaluate.js';
export { parseTsv, parseCsv, parseJsonl, readText } from './formats.js';
export {
  readGlueTsv,
  readRte,
  readMrpc,
  readSst2,
  readMnli,
  readQqp,
  readSciTail,
  readSick,
  readCb,
  readBoolq,
  readImdb,
  readCosmosQa,
  readHellaSwag,
  readWinogrande,
  readCommonsenseQa,
  readSocialIqa,
  RTE_LABELS,
  MRPC_LABELS,
  SST2_LABELS,
  MNLI_LABELS,
  QQP_LABELS,
  CB_LABELS,
  BOOLQ_LABELS,
  SICK_LABELS,
  IMDB_LABELS,
  SCITAIL_LABELS,
} from './datasets.js';
export type { TextRecord, ChoiceRecord, TaskRecord, GlueTsvOptions, SickSplit } from './datasets.js';
export {
  TASKS,
  taskNames,
  getTask,
  taskFile,
  loadTask,
  loadTaskExamples,
  headOptionsFor,
  checkHeadFitsTask,
  evaluateTask,
} from './tasks.js';
export type { TaskSpec, TaskKind, LoadTaskOptions, EvaluateTaskOptions, TaskEvaluation } from './tasks.js';
