// The task registry: name → files, reader, labels, kind and metrics, and the helpers that load a
// task's split (reporting malformed rows, see rows.ts), check a data folder before any work and
// evaluate a model on a task. Custom tasks (custom-task.ts) produce the same TaskSpec.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { BertModel } from '../model/bert-model.js';
import { InvalidArgumentError, IoError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { EncodeOptions } from '../tokenizer/encode-options.js';
import { headKind, tokenizeExamples, type TrainingExample } from '../trainer/batching.js';
import {
  ARGUMENT_LABELS,
  BOOLQ_LABELS,
  CB_LABELS,
  GLUE_COLUMNS,
  IMDB_LABELS,
  MNLI_LABELS,
  MRPC_LABELS,
  QQP_LABELS,
  RTE_LABELS,
  SCITAIL_LABELS,
  SICK_LABELS,
  SST2_LABELS,
  readArgumentRows,
  readBoolqRows,
  readCbRows,
  readCommonsenseQaRows,
  readCosmosQaRows,
  readGlueTsvRows,
  readHellaSwagRows,
  readImdbRows,
  readSciTailRows,
  readSickRows,
  readSocialIqaRows,
  readWinograndeRows,
  type TaskRecord,
} from './datasets.js';
import { evaluateDataset } from './evaluate.js';
import type { MetricName, Metrics } from './metrics.js';
import { BadRowsError, formatProblems, type BadRowsMode, type ReadResult, type RowProblem } from './rows.js';
import type { CustomTaskDefinition } from './custom-task.js';

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
  /** Folder of the task under a data root ('' for custom tasks, whose files are absolute). */
  dir: string;
  /** File (or folder) of each split, relative to `dir` (or absolute). */
  files: Readonly<Record<string, string>>;
  /**
   * Reads one split from its file (`path` = dataRoot/dir/files[split]): the good records and one
   * RowProblem per bad row. A plain array (no problems) is accepted from hand-written specs.
   */
  read(path: string, split: string): Promise<ReadResult<TaskRecord> | TaskRecord[]>;
  /**
   * Every file or folder reading `path` needs (checkTaskData); default [path]. A last path
   * segment may hold one `*` (any name matching it will do).
   */
  inputs?(path: string, split: string): string[];
  /** The definition a custom task was made from (defineCustomTask), with absolute files and its labels. */
  custom?: Readonly<CustomTaskDefinition>;
}

const classification = (labels: readonly string[], metric: MetricName = 'accuracy', metrics: MetricName[] = ['accuracy']) => ({
  kind: 'classification' as const,
  labels,
  metric,
  metrics,
});
const choices = (numChoices: number) => ({ kind: 'multiple_choice' as const, numChoices, metric: 'accuracy' as const, metrics: ['accuracy'] as MetricName[] });

// Splits: train and dev everywhere, test where the official release has labels (GLUE, SuperGLUE and
// the multiple-choice benchmarks hide theirs; read an unlabelled test file with loadTask's `file`).
/** Every task the harness knows, by name. */
export const TASKS: Readonly<Record<string, TaskSpec>> = Object.freeze({
  mnli: {
    name: 'mnli', description: 'Multi-Genre NLI (GLUE)', ...classification(MNLI_LABELS),
    dir: 'mnli', files: { train: 'train.tsv', dev: 'dev_matched.tsv', dev_mismatched: 'dev_mismatched.tsv' },
    read: (p) => readGlueTsvRows(p, GLUE_COLUMNS.mnli),
  },
  qqp: {
    name: 'qqp', description: 'Quora Question Pairs (GLUE)', ...classification(QQP_LABELS, 'accuracy', ['accuracy', 'f1']),
    dir: 'qqp', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readGlueTsvRows(p, GLUE_COLUMNS.qqp),
  },
  sst2: {
    name: 'sst2', description: 'Stanford Sentiment Treebank, binary (GLUE)', ...classification(SST2_LABELS),
    dir: 'sst2', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readGlueTsvRows(p, GLUE_COLUMNS.sst2),
  },
  rte: {
    name: 'rte', description: 'Recognizing Textual Entailment (GLUE)', ...classification(RTE_LABELS),
    dir: 'rte', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readGlueTsvRows(p, GLUE_COLUMNS.rte),
  },
  mrpc: {
    name: 'mrpc', description: 'Microsoft Research Paraphrase Corpus (GLUE)', ...classification(MRPC_LABELS, 'f1', ['f1', 'accuracy']),
    dir: 'mrpc', files: { train: 'train.tsv', dev: 'dev.tsv' }, read: (p) => readGlueTsvRows(p, GLUE_COLUMNS.mrpc),
  },
  cb: {
    name: 'cb', description: 'CommitmentBank (SuperGLUE)', ...classification(CB_LABELS, 'accuracy', ['accuracy', 'macroF1']),
    dir: 'cb', files: { train: 'train.jsonl', dev: 'val.jsonl' }, read: (p) => readCbRows(p),
  },
  boolq: {
    name: 'boolq', description: 'BoolQ yes/no questions (SuperGLUE)', ...classification(BOOLQ_LABELS),
    dir: 'boolq', files: { train: 'train.jsonl', dev: 'val.jsonl' }, read: (p) => readBoolqRows(p),
  },
  sick: {
    name: 'sick', description: 'SICK entailment (SemEval-2014 task 1)', ...classification(SICK_LABELS),
    dir: 'sick', files: { train: 'SICK.txt', dev: 'SICK.txt', test: 'SICK.txt' },
    read: (p, split) => readSickRows(p, { split: split as 'train' | 'dev' | 'test', target: 'entailment' }),
  },
  'sick-relatedness': {
    name: 'sick-relatedness', description: 'SICK relatedness score 1–5 (regression)', kind: 'regression', metric: 'pearson',
    metrics: ['pearson', 'spearman', 'mse'],
    dir: 'sick', files: { train: 'SICK.txt', dev: 'SICK.txt', test: 'SICK.txt' },
    read: (p, split) => readSickRows(p, { split: split as 'train' | 'dev' | 'test', target: 'relatedness' }),
  },
  scitail: {
    name: 'scitail', description: 'SciTail entailment (tsv_format)', ...classification(SCITAIL_LABELS),
    dir: 'scitail', files: { train: 'scitail_1.0_train.tsv', dev: 'scitail_1.0_dev.tsv', test: 'scitail_1.0_test.tsv' },
    read: (p) => readSciTailRows(p),
  },
  // aclImdb ships train/ and test/ only; the labelled test folder doubles as dev.
  imdb: {
    name: 'imdb', description: 'IMDb movie reviews (aclImdb folders)', ...classification(IMDB_LABELS),
    dir: 'imdb', files: { train: 'train', dev: 'test', test: 'test' }, read: (p) => readImdbRows(p),
    inputs: (p) => (p.toLowerCase().endsWith('.csv') ? [p] : IMDB_LABELS.map((l) => join(p, l))),
  },
  argument: {
    name: 'argument', description: 'UKP Sentential Argument Mining (topic, sentence; per-topic TSV files)',
    ...classification(ARGUMENT_LABELS, 'accuracy', ['accuracy', 'macroF1']),
    dir: 'argument', files: { train: '.', dev: '.', test: '.' },
    read: (p, split) => readArgumentRows(p, { split: split as 'train' | 'dev' | 'test' }),
    inputs: (p) => [join(p, '*.tsv')],
  },
  hellaswag: {
    name: 'hellaswag', description: 'HellaSwag commonsense completion (4 choices)', ...choices(4),
    dir: 'hellaswag', files: { train: 'hellaswag_train.jsonl', dev: 'hellaswag_val.jsonl' }, read: (p) => readHellaSwagRows(p),
  },
  winogrande: {
    name: 'winogrande', description: 'WinoGrande pronoun resolution (2 choices)', ...choices(2),
    dir: 'winogrande', files: { train: 'train_xl.jsonl', dev: 'dev.jsonl' }, read: (p) => readWinograndeRows(p),
  },
  cosmosqa: {
    name: 'cosmosqa', description: 'Cosmos QA reading comprehension (4 choices)', ...choices(4),
    dir: 'cosmosqa', files: { train: 'train.csv', dev: 'valid.csv' }, read: (p) => readCosmosQaRows(p),
  },
  csqa: {
    name: 'csqa', description: 'CommonsenseQA (5 choices)', ...choices(5),
    dir: 'csqa', files: { train: 'train_rand_split.jsonl', dev: 'dev_rand_split.jsonl' }, read: (p) => readCommonsenseQaRows(p),
  },
  socialiqa: {
    name: 'socialiqa', description: 'Social IQa (3 choices; labels in <split>-labels.lst)', ...choices(3),
    dir: 'socialiqa', files: { train: 'train.jsonl', dev: 'dev.jsonl' },
    read: (p) => readSocialIqaRows(p, socialIqaLabels(p)),
    inputs: (p) => [p, socialIqaLabels(p)],
  },
} satisfies Record<string, TaskSpec>);

function socialIqaLabels(path: string): string {
  return path.replace(/\.jsonl$/, '-labels.lst');
}

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
  /** Root folder holding one folder per task (e.g. /data). Required unless `file` is given or the task's files are absolute. */
  dataDir?: string;
  /** Read this file (or folder) instead of dataDir/dir/files[split]. */
  file?: string;
  /** Keep only the first `limit` good examples. */
  limit?: number;
  /**
   * Malformed rows (a label outside the list, a wrong cell count, a line that is not JSON, a
   * missing key, an empty text): 'error' (default) throws one BadRowsError (an InvalidFileError)
   * listing them as `file:line: reason`; 'skip' leaves them out — loadTaskWithProblems returns
   * them, loadTask emits one process warning (code AF_BAD_ROWS) with the list.
   */
  badRows?: BadRowsMode;
}

/** One split as loaded: the good records and the bad rows left out (always empty under badRows 'error'). */
export interface LoadedSplit {
  task: string;
  split: string;
  /** The file (or folder) read. */
  path: string;
  records: TaskRecord[];
  problems: RowProblem[];
}

/** The path of a task's split under a data root (absolute files of custom tasks need no root). */
export function taskFile(task: string | TaskSpec, split: string, dataDir?: string): string {
  const spec = getTask(task);
  const f = Object.prototype.hasOwnProperty.call(spec.files, split) ? spec.files[split] : undefined;
  if (!f) throw new InvalidArgumentError(`task ${spec.name} has no split "${split}" (it has: ${Object.keys(spec.files).join(', ')})`);
  if (isAbsolute(f)) return f;
  if (typeof dataDir !== 'string' || dataDir === '') throw new TypeError('options.dataDir (the data root) or options.file is required');
  return join(dataDir, spec.dir, f);
}

/**
 * Reads one split of a task: the good records and, under badRows 'skip', the bad rows left out
 * (under 'error', the default, a bad row throws a BadRowsError instead). A file that cannot be
 * read (IoError) or parsed at all (InvalidFileError: an unclosed CSV quote, a missing column)
 * always throws.
 */
export async function loadTaskWithProblems(task: string | TaskSpec, split: string, opts: LoadTaskOptions = {}): Promise<LoadedSplit> {
  const spec = getTask(task);
  if (typeof split !== 'string') throw new TypeError('split must be a string');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  let path: string;
  if (opts.file !== undefined) {
    if (typeof opts.file !== 'string' || opts.file === '') throw new TypeError('options.file must be a non-empty string');
    path = opts.file;
  } else {
    path = taskFile(spec, split, opts.dataDir);
  }
  if (opts.limit !== undefined && (typeof opts.limit !== 'number' || !Number.isInteger(opts.limit) || opts.limit < 0)) {
    throw new TypeError('options.limit must be a non-negative integer');
  }
  const mode = opts.badRows ?? 'error';
  if (mode !== 'error' && mode !== 'skip') throw new TypeError(`options.badRows must be "error" or "skip"`);
  const out = await spec.read(path, split);
  const { records, problems } = Array.isArray(out) ? { records: out, problems: [] } : out;
  if (problems.length && mode === 'error') throw new BadRowsError(problems, `task ${spec.name}, split ${split}`);
  return { task: spec.name, split, path, records: opts.limit !== undefined ? records.slice(0, opts.limit) : records, problems };
}

/** Reads one split of a task as raw examples (text pairs or choices, with label ids / targets); see loadTaskWithProblems. */
export async function loadTask(task: string | TaskSpec, split: string, opts: LoadTaskOptions = {}): Promise<TaskRecord[]> {
  const { task: name, records, problems } = await loadTaskWithProblems(task, split, opts);
  if (problems.length) {
    const n = problems.length;
    process.emitWarning(`task ${name}, split ${split}: skipped ${n} bad row${n === 1 ? '' : 's'}\n${formatProblems(problems)}`, { code: 'AF_BAD_ROWS' });
  }
  return records;
}

/**
 * Checks, before any work, that every file the given splits need exists (default: all the task's
 * splits); returns each split's path. Otherwise one IoError names the task, its folder and every
 * missing file with its split(s) and expected path, e.g. "task rte: /data/rte is missing dev.tsv
 * (split dev: /data/rte/dev.tsv) and train.tsv (split train: /data/rte/train.tsv)".
 */
export async function checkTaskData(task: string | TaskSpec, dataDir: string | undefined, splits?: readonly string[]): Promise<Record<string, string>> {
  const spec = getTask(task);
  if (splits !== undefined && (!Array.isArray(splits) || !splits.every((s) => typeof s === 'string'))) throw new TypeError('splits must be an array of strings');
  const paths: Record<string, string> = {};
  const missing = new Map<string, string[]>();
  for (const split of splits ?? Object.keys(spec.files)) {
    const path = taskFile(spec, split, dataDir);
    paths[split] = path;
    for (const p of spec.inputs?.(path, split) ?? [path]) {
      if (missing.has(p)) missing.get(p)!.push(split);
      else if (!(await exists(p))) missing.set(p, [split]);
    }
  }
  if (!missing.size) return paths;
  const folder = dataDir !== undefined && spec.dir !== '' ? join(dataDir, spec.dir) : undefined;
  const items = [...missing].map(([p, ss]) => {
    const rel = folder ? relative(folder, p) : '';
    const name = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : p;
    return `${name} (split${ss.length > 1 ? 's' : ''} ${ss.join(', ')}: ${p})`;
  });
  const list = items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : items[0];
  const where = folder ? `${folder}${(await exists(folder)) ? '' : ' (which does not exist)'} is missing` : 'missing';
  throw new IoError(`task ${spec.name}: ${where} ${list}`);
}

/** Whether a path exists; a last segment with one `*` matches any entry of its folder. */
async function exists(p: string): Promise<boolean> {
  const name = basename(p);
  const star = name.indexOf('*');
  if (star < 0) return stat(p).then(() => true, () => false);
  const [pre, post] = [name.slice(0, star), name.slice(star + 1)];
  const names = await readdir(dirname(p)).catch(() => [] as string[]);
  return names.some((n) => n.length >= pre.length + post.length && n.startsWith(pre) && n.endsWith(post));
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
