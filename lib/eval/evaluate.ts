// Batched prediction over a dataset with the model's active head, and the metrics of it.
import type { BertModel } from '../model/bert-model.js';
import { InvalidArgumentError } from '../errors.js';
import {
  collate,
  datasetGet,
  isMultipleChoice,
  validateDataset,
  validateOptionsFor,
  type Dataset,
  type HeadKind,
} from '../trainer/batching.js';
import { throwIfAborted } from '../trainer/errors.js';
import { computeMetrics, type Metrics } from './metrics.js';

export interface PredictDatasetOptions {
  /** Examples per predict call (default 32). */
  batchSize?: number;
  /**
   * Batch examples of similar length together (default true): less padding, same results up to
   * float rounding; outputs are always in dataset order.
   */
  sortByLength?: boolean;
  /** Stops between batches with an AbortError. */
  signal?: AbortSignal;
}

export interface DatasetPredictions {
  /** Row-major [examples, classes] (regression: [examples, 1]), in dataset order. */
  logits: Float32Array;
  examples: number;
  classes: number;
  kind: HeadKind['kind'];
  /** The examples' labels (Int32Array, regression Float32Array), or null when some are missing. */
  labels: Int32Array | Float32Array | null;
}

export interface EvaluateDatasetOptions extends PredictDatasetOptions {
  /** Extra metrics from the predictions; merged over the built-in ones. */
  computeMetrics?: (p: DatasetPredictions) => Metrics;
}

function checkBatchSize(v: unknown, name: string): number {
  if (v === undefined) return 32;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be a positive integer`);
  if (v < 1) throw new InvalidArgumentError(`${name} must be >= 1, got ${v}`);
  return v;
}

function rowLength(ds: Dataset, i: number): number {
  const e = datasetGet(ds, i);
  return isMultipleChoice(e) ? e.choices.reduce((m, c) => Math.max(m, c.inputIds.length), 0) : e.inputIds.length;
}

/** Runs the active head over every example (no dropout); validates the dataset first. */
export async function predictDataset(model: BertModel, ds: Dataset, opts: PredictDatasetOptions = {}, name = 'dataset'): Promise<DatasetPredictions> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  const vo = validateOptionsFor(model, false);
  const n = validateDataset(ds, name, vo);
  return predictChecked(model, ds, n, vo.head, opts);
}

/** @internal predictDataset on a dataset already validated against the model's head. */
export async function predictChecked(model: BertModel, ds: Dataset, n: number, head: HeadKind, opts: PredictDatasetOptions): Promise<DatasetPredictions> {
  const batchSize = checkBatchSize(opts.batchSize, 'options.batchSize');
  const order = Array.from({ length: n }, (_, i) => i);
  if (opts.sortByLength ?? true) {
    const len = order.map((i) => rowLength(ds, i));
    order.sort((a, b) => len[a] - len[b] || a - b);
  }
  const classes = head.classes;
  const regression = head.kind === 'regression';
  const logits = new Float32Array(n * classes);
  let labels: Int32Array | Float32Array | null = regression ? new Float32Array(n) : new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    throwIfAborted(opts.signal);
    const idx = order.slice(start, Math.min(n, start + batchSize));
    const items = idx.map((i) => datasetGet(ds, i));
    const batch = collate(items, { padTokenId: model.config.padTokenId, regression });
    const out = await model.predict(batch.input);
    idx.forEach((i, k) => {
      logits.set(out.logits.subarray(k * classes, (k + 1) * classes), i * classes);
      if (labels) {
        const l = items[k].label;
        if (typeof l === 'number') labels[i] = l;
        else labels = null;
      }
    });
  }
  throwIfAborted(opts.signal);
  return { logits, examples: n, classes, kind: head.kind, labels };
}

/** Predictions and metrics (see computeMetrics in metrics.ts) of the active head on a labelled dataset. */
export async function evaluateDataset(model: BertModel, ds: Dataset, opts: EvaluateDatasetOptions = {}, name = 'dataset'): Promise<Metrics> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  if (opts.computeMetrics !== undefined && typeof opts.computeMetrics !== 'function') throw new TypeError('options.computeMetrics must be a function');
  const vo = validateOptionsFor(model, true);
  const n = validateDataset(ds, name, vo);
  const p = await predictChecked(model, ds, n, vo.head, opts);
  const metrics = computeMetrics(p.kind, p.logits, p.classes, p.labels!);
  return opts.computeMetrics ? { ...metrics, ...opts.computeMetrics(p) } : metrics;
}
