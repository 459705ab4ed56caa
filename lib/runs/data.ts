// The data of one run: a task's train / dev (/ test) splits read, checked and tokenized once and
// shared by every seed of a command.
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { checkTaskData, getTask, loadTaskWithProblems, taskFile, type TaskSpec } from '../eval/tasks.js';
import { formatProblem } from '../eval/rows.js';
import type { TaskRecord } from '../eval/datasets.js';
import { tokenizeExamples, type TrainingExample } from '../trainer/batching.js';
import { InvalidArgumentError } from '../errors.js';
import { exists } from './files.js';

export interface TaskData {
  spec: TaskSpec;
  train: TrainingExample[];
  dev: TrainingExample[];
  /** A labelled test split, when the task has one on disk. */
  test: TrainingExample[] | null;
}

export interface LoadDataOptions {
  /** Data root holding one folder per task (registry tasks). */
  data?: string;
  maxLength: number;
  /** Use only the first N training examples (quick runs, learning curves). */
  trainLimit?: number;
  /** Malformed rows: 'error' (default) refuses the data, listing them; 'skip' warns about each and leaves it out. */
  badRows?: 'error' | 'skip';
  /** Called with one line per warning (skipped rows, ...). */
  warn?: (message: string) => void;
}

/** Reads a split, or null when the task has no such split or (test only) its file is absent. */
async function readSplit(spec: TaskSpec, split: string, o: LoadDataOptions, optional: boolean): Promise<TaskRecord[] | null> {
  if (!spec.files[split]) {
    if (optional) return null;
    throw new InvalidArgumentError(`task ${spec.name} has no ${split} split (it has: ${Object.keys(spec.files).join(', ')})`);
  }
  if (optional && !spec.custom && o.data !== undefined && !(await exists(taskFile(spec, split, o.data)))) return null;
  const loaded = await loadTaskWithProblems(spec, split, { dataDir: o.data, badRows: o.badRows ?? 'error' });
  for (const p of loaded.problems) o.warn?.(`skipped a bad row: ${formatProblem(p)}`);
  return loaded.records;
}

export async function loadTaskData(task: string | TaskSpec, tokenizer: Tokenizer, o: LoadDataOptions): Promise<TaskData> {
  const spec = getTask(task);
  if (!spec.custom && o.data === undefined) {
    throw new InvalidArgumentError(`task ${spec.name} is read from a data folder: give its root (--data DIR, options.data), the folder holding ${spec.dir}/${spec.files.train}`);
  }
  // Every split the run needs must be there before anything is read or trained.
  await checkTaskData(spec, o.data, ['train', 'dev']);
  const encode = { maxLength: o.maxLength, truncation: true as const };
  let trainRecords = (await readSplit(spec, 'train', o, false))!;
  if (o.trainLimit !== undefined) trainRecords = trainRecords.slice(0, o.trainLimit);
  const devRecords = (await readSplit(spec, 'dev', o, false))!;
  const testRecords = await readSplit(spec, 'test', o, true);
  const labelled = (r: TaskRecord[]) => r.length > 0 && r.every((x) => typeof x.label === 'number');
  if (!labelled(trainRecords)) throw new InvalidArgumentError(`task ${spec.name}: the train split is empty or has unlabelled rows`);
  if (!labelled(devRecords)) throw new InvalidArgumentError(`task ${spec.name}: the dev split is empty or has unlabelled rows`);
  const test = testRecords && labelled(testRecords) ? tokenizeExamples(tokenizer, testRecords, encode) : null;
  if (testRecords && !test) o.warn?.(`task ${spec.name}: the test split has no labels; results are reported on dev`);
  return {
    spec,
    train: tokenizeExamples(tokenizer, trainRecords, encode),
    dev: tokenizeExamples(tokenizer, devRecords, encode),
    test,
  };
}
