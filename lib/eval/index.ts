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
export { parseTsv, parseCsv, parseCsvTable, parseJsonl, jsonlLines, readText } from './formats.js';
export type { JsonlLine } from './formats.js';
export { BadRowsError, formatProblem, formatProblems, LISTED_PROBLEMS } from './rows.js';
export type { RowProblem, ReadResult, BadRowsMode } from './rows.js';
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
  readArgument,
  readGlueTsvRows,
  readSciTailRows,
  readSickRows,
  readArgumentRows,
  readCbRows,
  readBoolqRows,
  readImdbRows,
  readCosmosQaRows,
  readHellaSwagRows,
  readWinograndeRows,
  readCommonsenseQaRows,
  readSocialIqaRows,
  GLUE_COLUMNS,
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
  ARGUMENT_LABELS,
} from './datasets.js';
export type { TextRecord, ChoiceRecord, TaskRecord, GlueTsvOptions, SickSplit, ArgumentSplit } from './datasets.js';
export {
  TASKS,
  taskNames,
  getTask,
  taskFile,
  loadTask,
  loadTaskWithProblems,
  checkTaskData,
  loadTaskExamples,
  headOptionsFor,
  checkHeadFitsTask,
  evaluateTask,
} from './tasks.js';
export type { TaskSpec, TaskKind, LoadTaskOptions, LoadedSplit, EvaluateTaskOptions, TaskEvaluation } from './tasks.js';
export { defineCustomTask, readCustomTaskFile, parseColumnMapping, validateCustomTaskSpec } from './custom-task.js';
export type { CustomTaskSpec, CustomTaskDefinition, CustomTaskFormat, TaskColumn, ColumnMapping } from './custom-task.js';
