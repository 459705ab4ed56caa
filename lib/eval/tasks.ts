// The task registry: name → files, reader, labels, kind and metrics, and the helpers that load a
// task's split and evaluate a model on it.
import { join } from 'node:path';
import type { BertModel } from '../model/bert-model.js';
import { InvalidArgumentError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { EncodeOptions } from '../tokenizer/encode-options.js';
import { headKind, tokenizeExamples, type TrainingExample } from '../trainer/batching.js';
import {
  BOOLQ_LABELS,
  CB_LABELS,
  IMDB_LABELS,
  MNLI_LABELS,
  MRPC_LABELS,
  QQP_LABELS,
  RTE_LABELS,
  SCITAIL_LABELS,
  SICK_LABELS,
  SST2_LABELS,
  readBoolq,
  readCb,
  readCommonsenseQa,
  readCosmosQa,
  readHellaSwag,
  readImdb,
  readMnli,
  readMrpc,
  readQqp,
  readRte,
  readSciTail,
  readSick,
  readSocialIqa,
  readSst2,
  readWinogrande,
  type TaskRecord,
} from './datasets.js';
import { evaluateDataset } from './evaluate.js';
import type { MetricName, Metrics } from './metrics.js';

export type TaskKind = 'classification' | 'regression' | 'multiple_choice';

export interface TaskSpec {
  name: string;
  description: string;
  kind: TaskKind;
  /** Label names by id (classification). */
  labels?: readonly string[];
  /** Choices per example (multiple choice). */
  numChoices?: number;
  /** The metric papers report first for the task. */
  metric: MetricName;
  /** Every metric worth reporting. */
  metrics: readonly MetricName[];
  /** Folder of the task under a data root. */
  dir: string;
  /** File (or folder) of each split, relative to `dir`. */
  files: Readonly<Record<string, string>>;
  /** Reads one split from its file (`path` = dataRoot/dir/files[split]). */
  read(path: string, split: string): Promise<TaskRecord[]>;
}

const classification = (labels: readonly string[], metric: MetricName = 'accuracy', metrics: MetricName[] = ['accuracy']) => ({
  kind: 'classification' as const,
  labels,
  metric,
  metrics,
});

/** Every task the harness knows, by name. */
export const TASKS: Readonly<Record<string, TaskSpec>> = Object.freeze({
  rte: {
    name: 'rte', description: 'Recognizing Textual Entailment (GLUE)', ...classification(RTE_LABELS),
    dir: 'rte', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readRte(p),
  },
  mrpc: {
    name: 'mrpc', description: 'Microsoft Research Paraphrase Corpus (GLUE)', ...classification(MRPC_LABELS, 'f1', ['f1', 'accuracy']),
    dir: 'mrpc', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readMrpc(p),
  },
  sst2: {
    name: 'sst2', description: 'Stanford Sentiment Treebank, binary (GLUE)', ...classification(SST2_LABELS),
    dir: 'sst2', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readSst2(p),
  },
  mnli: {
    name: 'mnli', description: 'Multi-Genre NLI (GLUE)', ...classification(MNLI_LABELS),
    dir: 'mnli', files: { train: 'train.tsv', dev: 'dev_matched.tsv', dev_mismatched: 'dev_mismatched.tsv' }, read: (p) => readMnli(p),
  },
  qqp: {
    name: 'qqp', description: 'Quora Question Pairs (GLUE)', ...classification(QQP_LABELS, 'accuracy', ['accuracy', 'f1']),
    dir: 'qqp', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readQqp(p),
  },
  cb: {
    name: 'cb', description: 'CommitmentBank (SuperGLUE)', ...classification(CB_LABELS, 'accuracy', ['accuracy', 'macroF1']),
    dir: 'cb', files: { train: 'train.jsonl', dev: 'val.jsonl' }, read: (p) => readCb(p),
  },
  boolq: {
    name: 'boolq', description: 'BoolQ yes/no questions (SuperGLUE)', ...classification(BOOLQ_LABELS),
    dir: 'boolq', files: { train: 'train.jsonl', dev: 'val.jsonl' }, read: (p) => readBoolq(p),
  },
  sick: {
    name: 'sick', description: 'SICK entailment (SemEval-2014 task 1)', ...classification(SICK_LABELS),
    dir: 'sick', files: { train: 'SICK.txt', dev: 'SICK.txt', test: 'SICK.txt' },
    read: (p, split) => readSick(p, { split: split as 'train' | 'dev' | 'test', target: 'entailment' }),
  },
  'sick-relatedness': {
    name: 'sick-relatedness', description: 'SICK relatedness score 1–5 (regression)', kind: 'regression', metric: 'pearson',
    metrics: ['pearson', 'spearman', 'mse'],
    dir: 'sick', files: { train: 'SICK.txt', dev: 'SICK.txt', test: 'SICK.txt' },
    read: (p, split) => readSick(p, { split: split as 'train' | 'dev' | 'test', target: 'relatedness' }),
  },
  imdb: {
    name: 'imdb', description: 'IMDb movie reviews (aclImdb folders)', ...classification(IMDB_LABELS),
    dir: 'imdb', files: { train: 'train', test: 'test' }, read: (p) => readImdb(p),
  },
  scitail: {
    name: 'scitail', description: 'SciTail entailment (tsv_format)', ...classification(SCITAIL_LABELS),
    dir: 'scitail', files: { train: 'scitail_1.0_train.tsv', dev: 'scitail_1.0_dev.tsv', test: 'scitail_1.0_test.tsv' },
    read: (p) => readSciTail(p),
  },
  cosmosqa: {
    name: 'cosmosqa', description: 'Cosmos QA reading comprehension (4 choices)', kind: 'multiple_choice', numChoices: 4,
    metric: 'accuracy', metrics: ['accuracy'], dir: 'cosmosqa', files: { train: 'train.csv', dev: 'valid.csv' }, read: (p) => readCosmosQa(p),
  },
  hellaswag: {
    name: 'hellaswag', description: 'HellaSwag commonsense completion (4 choices)', kind: 'multiple_choice', numChoices: 4,
    metric: 'accuracy', metrics: ['accuracy'], dir: 'hellaswag', files: { train: 'hellaswag_train.jsonl', dev: 'hellaswag_val.jsonl' },
    read: (p) => readHellaSwag(p),
  },
  winogrande: {
    name: 'winogrande', description: 'WinoGrande pronoun resolution (2 choices)', kind: 'multiple_choice', numChoices: 2,
    metric: 'accuracy', metrics: ['accuracy'], dir: 'winogrande', files: { train: 'train_xl.jsonl', dev: 'dev.jsonl' },
    read: (p) => readWinogrande(p),
  },
  csqa: {
    name: 'csqa', description: 'CommonsenseQA (5 choices)', kind: 'multiple_choice', numChoices: 5,
    metric: 'accuracy', metrics: ['accuracy'], dir: 'csqa', files: { train: 'train_rand_split.jsonl', dev: 'dev_rand_split.jsonl' },
    read: (p) => readCommonsenseQa(p),
  },
  socialiqa: {
    name: 'socialiqa', description: 'Social IQa (3 choices; labels in <split>-labels.lst)', kind: 'multiple_choice', numChoices: 3,
    metric: 'accuracy', metrics: ['accuracy'], dir: 'socialiqa', files: { train: 'train.jsonl', dev: 'dev.jsonl' },
    read: (p) => readSocialIqa(p, p.replace(/\.jsonl$/, '-labels.lst')),
  },
} satisfies Record<string, TaskSpec>);

/** The registered task names. */
export function taskNames(): string[] {
  return Object.keys(TASKS);
}

/** A task by name (or the spec itself); InvalidArgumentError listing the known names otherwise. */
export function getTask(task: string | TaskSpec): TaskSpec {
  if (typeof task === 'object' && task !== null && typeof (task as TaskSpec).read === 'function') return task as TaskSpec;
  if (typeof task !== 'string') throw new TypeError('task must be a task name or a TaskSpec');
  const spec = Object.prototype.hasOwnProperty.call(TASKS, task) ? TASKS[task] : undefined;
  if (!spec) throw new InvalidArgumentError(`unknown task "${task}" (known: ${taskNames().join(', ')})`);
  return spec;
}

export interface LoadTaskOptions {
  /** Root folder holding one folder per task (e.g. ../shared/data). Required unless `file` is given. */
  dataDir?: string;
  /** Read this file (or folder) instead of dataDir/dir/files[split]. */
  file?: string;
  /** Keep only the first `limit` examples. */
  limit?: number;
}

/** The path of a task's split under a data root. */
export function taskFile(task: string | TaskSpec, split: string, dataDir: string): string {
  const spec = getTask(task);
  const f = spec.files[split];
  if (!f) throw new InvalidArgumentError(`task ${spec.name} has no split "${split}" (it has: ${Object.keys(spec.files).join(', ')})`);
  return join(dataDir, spec.dir, f);
}

/** Reads one split of a task as raw examples (text pairs or choices, with label ids / targets). */
export async function loadTask(task: string | TaskSpec, split: string, opts: LoadTaskOptions = {}): Promise<TaskRecord[]> {
  const spec = getTask(task);
  if (typeof split !== 'string') throw new TypeError('split must be a string');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  let path: string;
  if (opts.file !== undefined) {
    if (typeof opts.file !== 'string' || opts.file === '') throw new TypeError('options.file must be a non-empty string');
    path = opts.file;
  } else {
    if (typeof opts.dataDir !== 'string' || opts.dataDir === '') throw new TypeError('options.dataDir (the data root) or options.file is required');
    path = taskFile(spec, split, opts.dataDir);
  }
  if (opts.limit !== undefined && (typeof opts.limit !== 'number' || !Number.isInteger(opts.limit) || opts.limit < 0)) {
    throw new TypeError('options.limit must be a non-negative integer');
  }
  const records = await spec.read(path, split);
  return opts.limit !== undefined ? records.slice(0, opts.limit) : records;
}

/** Reads and tokenizes one split of a task into training / evaluation examples. */
export async function loadTaskExamples(
  task: string | TaskSpec,
  split: string,
  tokenizer: Tokenizer,
  opts: LoadTaskOptions & { encode?: EncodeOptions } = {},
): Promise<TrainingExample[]> {
  return tokenizeExamples(tokenizer, await loadTask(task, split, opts), opts.encode);
}

/** Options of addTaskHead-style setup: what a head for the task needs. */
export function headOptionsFor(task: string | TaskSpec): { type: 'classification'; numLabels: number; id2label?: string[] } | { type: 'multiple_choice'; numChoices: number } {
  const spec = getTask(task);
  if (spec.kind === 'multiple_choice') return { type: 'multiple_choice', numChoices: spec.numChoices! };
  if (spec.kind === 'regression') return { type: 'classification', numLabels: 1 };
  return { type: 'classification', numLabels: spec.labels!.length, id2label: [...spec.labels!] };
}

/** Checks that the model's active head fits the task (kind and number of classes / choices). */
export function checkHeadFitsTask(model: BertModel, task: string | TaskSpec): void {
  const spec = getTask(task);
  const h = headKind(model);
  const want = spec.kind === 'classification' ? spec.labels!.length : spec.kind === 'multiple_choice' ? spec.numChoices! : 1;
  if (h.kind !== spec.kind || h.classes !== want) {
    throw new InvalidArgumentError(
      `the active head (${h.kind}, ${h.classes} ${h.kind === 'multiple_choice' ? 'choices' : 'outputs'}) does not fit task ${spec.name} ` +
        `(${spec.kind}, ${want})`,
    );
  }
}

export interface EvaluateTaskOptions extends LoadTaskOptions {
  /** Examples per predict call (default 32). */
  batchSize?: number;
  /** Tokenizer options (maxLength, truncation); default: truncate to the tokenizer's maxLength. */
  encode?: EncodeOptions;
  signal?: AbortSignal;
}

export interface TaskEvaluation {
  task: string;
  split: string;
  examples: number;
  /** The task's primary metric and its value. */
  metric: MetricName;
  value: number;
  /** Every metric computed (see computeMetrics). */
  metrics: Metrics;
}

/**
 * Reads a task's split, tokenizes it, predicts with the model's active adapters and head in
 * batches and returns the metrics; the head must fit the task (kind and size).
 */
export async function evaluateTask(
  model: BertModel,
  tokenizer: Tokenizer,
  task: string | TaskSpec,
  split: string,
  opts: EvaluateTaskOptions = {},
): Promise<TaskEvaluation> {
  const spec = getTask(task);
  checkHeadFitsTask(model, spec);
  const encode = { maxLength: Math.min(tokenizer.maxLength, model.config.maxPositionEmbeddings), ...opts.encode };
  const examples = await loadTaskExamples(spec, split, tokenizer, { ...opts, encode });
  const metrics = await evaluateDataset(model, examples, { batchSize: opts.batchSize, signal: opts.signal }, `${spec.name}/${split}`);
  return { task: spec.name, split, examples: examples.length, metric: spec.metric, value: metrics[spec.metric] as number, metrics };
}
