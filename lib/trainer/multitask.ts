// Multi-task adapters (MT-A; Stickland & Murray 2019, as the AdapterFusion paper uses it): one
// adapter and one head per task, trained jointly with every encoder weight. Each step draws one
// task with probability ∝ N_i^α — "annealed sampling": α goes linearly from alphaStart in the
// first epoch to alphaEnd in the last — and trains on the next batch of that task's own shuffled
// stream with only that task's adapter and head active. The core's AdamW skips what a step's
// backward did not write (the other tasks' adapters and heads) and counts steps per parameter,
// as torch does, so the other tasks' modules stay exactly where they were.
//
// Everything random is a pure function of the seed: the task of step s in epoch e is
// drawTask(probabilities, seed, e, s); the k-th batch of task i comes from pass floor(k / batches
// per pass) of that task's data, shuffled by (seed, i, pass). A checkpoint therefore only needs
// how many batches each task has had.
import { BertModel } from '../model/bert-model.js';
import { DisposedError, InvalidArgumentError } from '../errors.js';
import {
  collate,
  datasetFingerprint,
  datasetGet,
  validateDataset,
  validateOptionsFor,
  type Dataset,
  type HeadKind,
  type TrainingExample,
} from './batching.js';
import { checkSignal, throwIfAborted } from './errors.js';
import { adamOptions, bool, checkModel, checkpointDirOption, fn, int, isObject, num, stepOptions, trainCallSignal } from './option-checks.js';
import type { OptimizerOptions, ResolvedOptimizerOptions } from './option-checks.js';
import { loadCheckpoint, type NamedTensor } from './checkpoint.js';
import { hashInts, permutation } from './random.js';
import { makeSchedule, warmupStepsFor } from './schedule.js';
import { defaultWeightDecayFilter, optimizerStep, type TrainOptions } from './trainer.js';
import { checkSameOptions, restoreTrainable, saveTrainingCheckpoint, savedTrainable, setParams } from './trainer-state.js';
import { builtInMetrics, improves, MIN_METRICS, trackBest } from './best-tracker.js';
import { evaluateDataset } from '../eval/evaluate.js';
import type { Metrics } from '../eval/metrics.js';

// ---------------------------------------------------------------- the sampler (pure functions)

// Domain tags, so that these streams never coincide with the trainer's shuffles or dropout.
const TAG_TASK = 0x4d54;
const TAG_STREAM = 0x5354;

/**
 * α of an epoch (0-based) under annealed sampling: alphaStart in the first epoch, alphaEnd in the
 * last, linear in between; alphaStart when there is one epoch. With the defaults (1, 0.2) this is
 * Stickland & Murray's α_e = 1 − 0.8·(e−1)/(E−1) for e = 1..E.
 */
export function annealedAlpha(epoch: number, epochs: number, alphaStart = 1, alphaEnd = 0.2): number {
  if (epochs <= 1) return alphaStart;
  return alphaStart + (alphaEnd - alphaStart) * (epoch / (epochs - 1));
}

/** p_i = N_i^α / Σ_j N_j^α (computed as (N_i / max N)^α, so large α cannot overflow). */
export function taskProbabilities(sizes: readonly number[], alpha: number): Float64Array {
  const max = Math.max(...sizes);
  const w = Float64Array.from(sizes, (n) => (n > 0 ? Math.pow(n / max, alpha) : 0));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

/** The task of step `step` (0-based, within the epoch) of epoch `epoch`: a function of (seed, epoch, step) only. */
export function drawTask(probabilities: ArrayLike<number>, seed: number, epoch: number, step: number): number {
  const u = hashInts(TAG_TASK, seed, epoch, step) / 0x1_0000_0000;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] <= 0) continue;
    last = i;
    acc += probabilities[i];
    if (u < acc) return i;
  }
  return last; // u beyond the rounded total
}

/** The order of task `task`'s n examples in pass `pass` over them. */
function streamOrder(n: number, seed: number, task: number, pass: number): Uint32Array {
  return permutation(n, hashInts(TAG_STREAM, seed, task, pass));
}

/** Where the k-th batch (0-based) of a task's stream lies: its pass and its [start, end) in that pass's order. */
function streamBatch(n: number, batchSize: number, k: number): { pass: number; start: number; end: number } {
  const perPass = Math.ceil(n / batchSize);
  const b = k % perPass;
  return { pass: Math.floor(k / perPass), start: b * batchSize, end: Math.min(n, (b + 1) * batchSize) };
}

/** Example indices of the k-th batch (0-based) of task `task`'s stream: reshuffled every pass over its n examples. */
export function taskBatchIndices(n: number, batchSize: number, seed: number, task: number, k: number): Uint32Array {
  const { pass, start, end } = streamBatch(n, batchSize, k);
  return streamOrder(n, seed, task, pass).slice(start, end);
}

// ---------------------------------------------------------------- options and records

export interface MultiTaskTask {
  /** Names the task in records and checkpoints (unique). */
  name: string;
  /** The task's adapter (the caller adds one per task). */
  adapter: string;
  /** The task's head. */
  head: string;
  trainSet: Dataset;
  /** Evaluated after every epoch with this task's adapter and head. */
  evalSet?: Dataset | null;
  /** The task's primary dev metric (default 'accuracy'; 'pearson' for a regression head). */
  metric?: string;
}

export interface MultiTaskEarlyStopping {
  /** Epochs without improvement of the mean primary metric before training stops. */
  patience: number;
  /** Default 'max' ('min' when every task's metric is 'loss' or 'mse'). */
  mode?: 'max' | 'min';
  /** An improvement must exceed this (default 0). */
  minDelta?: number;
}

export interface MultiTaskStepInfo {
  /** Global optimizer step, 0-based. */
  step: number;
  epoch: number;
  /** Step within the epoch. */
  batch: number;
  /** The task drawn for this step. */
  task: string;
  alpha: number;
  loss: number;
  lossCe: number;
  lossReg: number;
  lr: number;
  gradNorm: number;
}

/** One task in one epoch. */
export interface TaskEpochRecord {
  epoch: number;
  /** Global steps done at the epoch's end. */
  step: number;
  /** Steps that drew this task in the epoch. */
  steps: number;
  /** Mean loss over those steps (NaN when there were none). */
  trainLoss: number;
  /** Dev metrics (tasks with an evalSet). */
  eval?: Metrics;
}

export interface MultiTaskEpochRecord {
  epoch: number;
  step: number;
  /** α of the epoch and the sampling probabilities it gave. */
  alpha: number;
  probabilities: Record<string, number>;
  /** Steps drawn per task. */
  counts: Record<string, number>;
  /** Mean loss over the epoch's steps. */
  trainLoss: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Mean of the evaluated tasks' primary metrics. */
  score?: number;
  tasks: Record<string, TaskEpochRecord>;
}

export interface MultiTaskBestRecord {
  epoch: number;
  step: number;
  score: number;
  metrics: Record<string, Metrics>;
}

export interface MultiTaskTrainerOptions extends OptimizerOptions {
  tasks: MultiTaskTask[];
  /** Peak learning rate (default 1e-4). */
  lr?: number;
  /** Epochs (default 3); an epoch is ceil(Σ task sizes / batchSize) steps. */
  epochs?: number;
  /** Examples per step (default 32). */
  batchSize?: number;
  /** Examples per predict call in evaluation (default: batchSize). */
  evalBatchSize?: number;
  /** Fixes sampling, data order and dropout (default 42). Integer in [0, 2^53). */
  seed?: number;
  /** α of the first epoch (default 1: proportional to size). */
  alphaStart?: number;
  /** α of the last epoch (default 0.2, Stickland & Murray). */
  alphaEnd?: number;
  earlyStopping?: MultiTaskEarlyStopping;
  /** Put back the parameters of the best epoch at the end (default: true with early stopping). */
  restoreBest?: boolean;
  /** Write a checkpoint here after every epoch (and when training is aborted). */
  checkpointDir?: string;
  onStep?: (info: MultiTaskStepInfo) => void | Promise<void>;
  onEpoch?: (record: MultiTaskEpochRecord) => void | Promise<void>;
  /** Cancels training between steps (train() rejects with an AbortError). */
  signal?: AbortSignal;
}

/** train()'s options: resumeFrom and signal, as Trainer's. */
export interface MultiTaskTrainOptions extends TrainOptions {}

export interface MultiTaskTrainResult {
  epochs: number;
  steps: number;
  stoppedEarly: boolean;
  restoredBest: boolean;
  history: MultiTaskEpochRecord[];
  /** Per task, its records of every epoch. */
  taskHistories: Record<string, TaskEpochRecord[]>;
  /** Per epoch, the steps drawn per task (as history[e].counts). */
  counts: Record<string, number>[];
  best?: MultiTaskBestRecord;
  checkpoint?: string;
}

/** The validated options (what checkpoints record; datasets and callbacks aside). */
export interface ResolvedMultiTaskOptions extends ResolvedOptimizerOptions {
  tasks: { name: string; adapter: string; head: string; metric: string | null; evaluated: boolean }[];
  lr: number;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  seed: number;
  alphaStart: number;
  alphaEnd: number;
  earlyStopping: { patience: number; mode: 'max' | 'min' | null; minDelta: number } | null;
  restoreBest: boolean;
  checkpointDir: string | null;
}

const KNOWN_OPTIONS = new Set([
  'tasks', 'lr', 'epochs', 'batchSize', 'evalBatchSize', 'seed', 'alphaStart', 'alphaEnd', 'warmupSteps', 'warmupRatio',
  'schedule', 'weightDecay', 'maxGradNorm', 'beta1', 'beta2', 'eps', 'earlyStopping', 'restoreBest', 'checkpointDir',
  'onStep', 'onEpoch', 'signal',
]);
const TASK_KEYS = new Set(['name', 'adapter', 'head', 'trainSet', 'evalSet', 'metric']);
// Options that change the numbers: a resume must use the same values as the checkpoint.
const RESULT_OPTIONS = [
  'tasks', 'lr', 'epochs', 'batchSize', 'evalBatchSize', 'seed', 'alphaStart', 'alphaEnd', 'warmupSteps', 'warmupRatio',
  'schedule', 'weightDecay', 'maxGradNorm', 'beta1', 'beta2', 'eps', 'earlyStopping', 'restoreBest',
] as const;
const STATE_KIND = 'multitask';

function str(o: Record<string, unknown>, key: string, name: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new TypeError(`${name} must be a non-empty string`);
  return v;
}

const finiteNonNegative = (v: number): boolean => v >= 0 && Number.isFinite(v);

function resolveOptions(model: BertModel, options: unknown): ResolvedMultiTaskOptions {
  if (!isObject(options)) throw new TypeError('options must be an object');
  const o = options;
  for (const k of Object.keys(o)) if (!KNOWN_OPTIONS.has(k)) throw new TypeError(`options.${k} is not a MultiTaskTrainer option`);
  if (!Array.isArray(o.tasks) || o.tasks.length === 0) throw new TypeError('options.tasks must be a non-empty array of { name, adapter, head, trainSet, evalSet? }');
  const seen = { name: new Set<string>(), adapter: new Set<string>(), head: new Set<string>() };
  const tasks = o.tasks.map((t: unknown, i: number) => {
    const where = `options.tasks[${i}]`;
    if (!isObject(t)) throw new TypeError(`${where} must be an object { name, adapter, head, trainSet, evalSet? }`);
    for (const k of Object.keys(t)) if (!TASK_KEYS.has(k)) throw new TypeError(`${where}.${k} is not a task option`);
    const name = str(t, 'name', `${where}.name`);
    const adapter = str(t, 'adapter', `${where}.adapter`);
    const head = str(t, 'head', `${where}.head`);
    if (!model.adapters().includes(adapter)) {
      throw new InvalidArgumentError(`${where}.adapter: the model has no adapter "${adapter}" (it has: ${model.adapters().join(', ') || 'none'})`);
    }
    if (!model.heads().includes(head)) throw new InvalidArgumentError(`${where}.head: the model has no head "${head}" (it has: ${model.heads().join(', ') || 'none'})`);
    for (const [key, value] of [['name', name], ['adapter', adapter], ['head', head]] as const) {
      if (seen[key].has(value)) throw new InvalidArgumentError(`${where}.${key}: "${value}" belongs to another task already (each task has its own adapter and head)`);
      seen[key].add(value);
    }
    if (t.trainSet === undefined || t.trainSet === null) throw new TypeError(`${where}.trainSet is required`);
    if (t.metric !== undefined && (typeof t.metric !== 'string' || t.metric === '')) throw new TypeError(`${where}.metric must be a metric name`);
    return { name, adapter, head, metric: (t.metric as string | undefined) ?? null, evaluated: t.evalSet !== undefined && t.evalSet !== null };
  });
  const { batchSize, seed, warmupSteps, warmupRatio, schedule } = stepOptions(o);
  let earlyStopping: ResolvedMultiTaskOptions['earlyStopping'] = null;
  if (o.earlyStopping !== undefined) {
    if (!isObject(o.earlyStopping)) throw new TypeError('options.earlyStopping must be an object { patience, mode?, minDelta? }');
    const e = o.earlyStopping;
    for (const k of Object.keys(e)) if (!['patience', 'mode', 'minDelta'].includes(k)) throw new TypeError(`options.earlyStopping.${k} is not an early-stopping option`);
    if (e.patience === undefined) throw new TypeError('options.earlyStopping.patience is required (an integer >= 1)');
    const patience = int(e, 'patience', 1, 1, 'options.earlyStopping.patience');
    if (e.mode !== undefined && e.mode !== 'max' && e.mode !== 'min') throw new TypeError("options.earlyStopping.mode must be 'max' or 'min'");
    const minDelta = num(e, 'minDelta', 0, finiteNonNegative, '>= 0', 'options.earlyStopping.minDelta');
    earlyStopping = { patience, mode: (e.mode as 'max' | 'min' | undefined) ?? null, minDelta };
  }
  const restoreBest = bool(o, 'restoreBest', earlyStopping !== null);
  if ((earlyStopping || restoreBest) && !tasks.some((t) => t.evaluated)) {
    throw new InvalidArgumentError(`options.${earlyStopping ? 'earlyStopping' : 'restoreBest'} needs an evalSet on at least one task`);
  }
  const checkpointDir = checkpointDirOption(o);
  for (const k of ['onStep', 'onEpoch']) fn(o, k);
  checkSignal(o.signal, 'options.signal');
  const alpha = (key: string, def: number) => num(o, key, def, finiteNonNegative, 'a finite number >= 0');
  return {
    tasks,
    lr: num(o, 'lr', 1e-4, finiteNonNegative, 'a finite number >= 0'),
    epochs: int(o, 'epochs', 3, 1),
    batchSize,
    evalBatchSize: int(o, 'evalBatchSize', batchSize, 1),
    seed,
    alphaStart: alpha('alphaStart', 1),
    alphaEnd: alpha('alphaEnd', 0.2),
    warmupSteps,
    warmupRatio,
    schedule,
    ...adamOptions(o),
    earlyStopping,
    restoreBest,
    checkpointDir,
  };
}

// ---------------------------------------------------------------- the trainer

interface Sums {
  loss: number[];
  count: number[];
  total: number;
  lr: number;
}

interface MultiTaskState {
  /** Completed epochs. */
  epoch: number;
  globalStep: number;
  stoppedEarly: boolean;
  history: MultiTaskEpochRecord[];
  best: MultiTaskBestRecord | null;
  bestParams: NamedTensor[] | null;
  badEvals: number;
  /** Batches each task has had so far (its stream position). */
  drawn: number[];
  /** Steps done in the epoch in progress (> 0 only in a checkpoint written on abort). */
  batchInEpoch: number;
  partial: Sums;
  datasets: { examples: number; fingerprint: number }[] | null;
  checkpoint: string | undefined;
}

const noSums = (tasks: number): Sums => ({ loss: new Array(tasks).fill(0), count: new Array(tasks).fill(0), total: 0, lr: 0 });

function freshState(tasks: number): MultiTaskState {
  return {
    epoch: 0,
    globalStep: 0,
    stoppedEarly: false,
    history: [],
    best: null,
    bestParams: null,
    badEvals: 0,
    drawn: new Array(tasks).fill(0),
    batchInEpoch: 0,
    partial: noSums(tasks),
    datasets: null,
    checkpoint: undefined,
  };
}

/**
 * Multi-task adapters (MT-A): trains every task's adapter and head together with the encoder.
 *
 * ```ts
 * model.addAdapter('mnli'); model.addClassificationHead('mnli', { numLabels: 3 });
 * model.addAdapter('sst2'); model.addClassificationHead('sst2', { numLabels: 2 });
 * const trainer = new MultiTaskTrainer(model, { tasks: [
 *   { name: 'mnli', adapter: 'mnli', head: 'mnli', trainSet: mnli, evalSet: mnliDev },
 *   { name: 'sst2', adapter: 'sst2', head: 'sst2', trainSet: sst2, evalSet: sst2Dev },
 * ], lr: 1e-4, epochs: 3, batchSize: 32 });
 * const result = await trainer.train();
 * ```
 */
export class MultiTaskTrainer {
  readonly model: BertModel;
  readonly options: Readonly<ResolvedMultiTaskOptions>;
  readonly #data: { trainSet: Dataset; evalSet: Dataset | null }[];
  readonly #callbacks: Pick<MultiTaskTrainerOptions, 'onStep' | 'onEpoch' | 'signal'>;
  #state: MultiTaskState;
  #busy = false;

  constructor(model: BertModel, options: MultiTaskTrainerOptions) {
    checkModel(model);
    this.model = model;
    this.options = Object.freeze(resolveOptions(model, options));
    this.#data = options.tasks.map((t) => ({ trainSet: t.trainSet, evalSet: t.evalSet ?? null }));
    this.#callbacks = { onStep: options.onStep, onEpoch: options.onEpoch, signal: options.signal };
    this.#state = freshState(this.options.tasks.length);
  }

  /** Optimizer steps per epoch: ceil(Σ task sizes / batchSize). */
  stepsPerEpoch(): number {
    const total = this.#data.reduce((a, d) => a + d.trainSet.length, 0);
    return Math.ceil(total / this.options.batchSize);
  }

  /** α and the sampling probability of every task in an epoch (0-based). */
  sampling(epoch: number): { alpha: number; probabilities: Float64Array } {
    const o = this.options;
    const alpha = annealedAlpha(epoch, o.epochs, o.alphaStart, o.alphaEnd);
    return { alpha, probabilities: taskProbabilities(this.#data.map((d) => d.trainSet.length), alpha) };
  }

  /**
   * Trains until the epochs are done or early stopping ends training. A fresh call starts at
   * step 0 from the model's current weights with a fresh optimizer; with opts.resumeFrom it
   * continues a checkpoint's run, bit for bit as if uninterrupted.
   */
  async train(opts: MultiTaskTrainOptions = {}): Promise<MultiTaskTrainResult> {
    if (this.#busy) throw new InvalidArgumentError('the trainer is busy: train() is already running');
    const signal = trainCallSignal(opts, this.options.checkpointDir, this.#callbacks.signal);
    if (this.model.disposed) throw new DisposedError();
    this.#busy = true;
    try {
      return await this.#train(opts, signal);
    } finally {
      this.#busy = false;
    }
  }

  /** Every encoder weight and every task's adapter and head; other modules frozen. Resets the optimizer. */
  async #applyMode(): Promise<void> {
    const m = this.model;
    const native = m._native();
    const modules = new Set<string>();
    for (const a of m.adapters()) for (const n of native.moduleParamNames('adapter', a)) modules.add(n);
    for (const f of m.adapterFusions()) for (const n of native.moduleParamNames('fusion', f)) modules.add(n);
    for (const h of m.heads()) for (const n of native.moduleParamNames('head', h)) modules.add(n);
    const names = m.parameters().map((p) => p.name).filter((n) => !modules.has(n));
    for (const t of this.options.tasks) names.push(...native.moduleParamNames('adapter', t.adapter), ...native.moduleParamNames('head', t.head));
    await m.setTrainable(names);
    await m.setWeightDecay(defaultWeightDecayFilter);
  }

  async #activate(task: number): Promise<void> {
    const t = this.options.tasks[task];
    await this.model.setActiveAdapters(t.adapter, { head: t.head });
  }

  async #train(opts: MultiTaskTrainOptions, signal: AbortSignal | undefined): Promise<MultiTaskTrainResult> {
    const o = this.options;
    const T = o.tasks.length;
    // ---- every check before anything changes
    const heads: HeadKind[] = [];
    const sizes: number[] = [];
    const metrics: (string | null)[] = [];
    for (let i = 0; i < T; i++) {
      const task = o.tasks[i];
      await this.#activate(i);
      const vo = validateOptionsFor(this.model, true);
      sizes.push(validateDataset(this.#data[i].trainSet, `tasks[${i}].trainSet`, vo));
      if (this.#data[i].evalSet) validateDataset(this.#data[i].evalSet, `tasks[${i}].evalSet`, vo);
      heads.push(vo.head);
      const metric = task.evaluated ? (task.metric ?? (vo.head.kind === 'regression' ? 'pearson' : 'accuracy')) : null;
      if (metric !== null && !builtInMetrics(vo.head).includes(metric)) {
        throw new InvalidArgumentError(`options.tasks[${i}].metric "${metric}" is not a metric of its ${vo.head.kind} head (it has: ${builtInMetrics(vo.head).join(', ')})`);
      }
      metrics.push(metric);
    }
    const chosen = metrics.filter((m): m is string => m !== null);
    let mode: 'max' | 'min' = o.earlyStopping?.mode ?? 'max';
    if (o.earlyStopping?.mode == null && chosen.length > 0) {
      const lower = chosen.filter((m) => MIN_METRICS.has(m)).length;
      if (lower === chosen.length) mode = 'min';
      else if (lower > 0 && (o.earlyStopping || o.restoreBest)) {
        throw new InvalidArgumentError(`the tasks' metrics (${chosen.join(', ')}) mix lower- and higher-is-better: set options.earlyStopping.mode`);
      }
    }
    const datasets = this.#data.map((d, i) => ({ examples: sizes[i], fingerprint: datasetFingerprint(d.trainSet) }));
    throwIfAborted(signal, 'training');
    if (opts.resumeFrom !== undefined) {
      await this.#resume(opts.resumeFrom === true ? o.checkpointDir! : opts.resumeFrom, datasets);
    } else {
      await this.#applyMode();
      this.#state = freshState(T);
    }
    const state = this.#state;
    state.datasets = datasets;

    const perEpoch = this.stepsPerEpoch();
    const total = o.epochs * perEpoch;
    const warmup = warmupStepsFor(total, o.warmupSteps ?? undefined, o.warmupRatio ?? undefined);
    const schedule = makeSchedule({ lr: o.lr, totalSteps: total, warmupSteps: warmup, schedule: o.schedule });
    const padTokenId = this.model.config.padTokenId;
    const tracking = o.earlyStopping !== null || o.restoreBest;
    // One shuffled order per task, for the pass in progress.
    const orders: { pass: number; order: Uint32Array }[] = new Array(T).fill(null).map(() => ({ pass: -1, order: new Uint32Array(0) }));
    const batchOf = (i: number, k: number): TrainingExample[] => {
      const { pass, start, end } = streamBatch(sizes[i], o.batchSize, k);
      if (orders[i].pass !== pass) orders[i] = { pass, order: streamOrder(sizes[i], o.seed, i, pass) };
      const out: TrainingExample[] = [];
      for (let j = start; j < end; j++) out.push(datasetGet(this.#data[i].trainSet, orders[i].order[j]));
      return out;
    };
    const names = o.tasks.map((t) => t.name);
    const byTask = <V>(f: (i: number) => V): Record<string, V> => Object.fromEntries(names.map((n, i) => [n, f(i)]));

    for (let epoch = state.epoch; epoch < o.epochs && !state.stoppedEarly; epoch++) {
      const { alpha, probabilities } = this.sampling(epoch);
      const skip = state.batchInEpoch;
      const sums = skip > 0 ? { ...state.partial, loss: [...state.partial.loss], count: [...state.partial.count] } : noSums(T);
      let active = -1; // the task whose adapter and head are active (set only when it changes)
      for (let s = skip; s < perEpoch; s++) {
        if (signal?.aborted) {
          state.batchInEpoch = s;
          state.partial = sums;
          if (o.checkpointDir !== null && state.globalStep > 0) state.checkpoint = await this.#saveCheckpoint(o.checkpointDir);
          throwIfAborted(signal, 'training');
        }
        const i = drawTask(probabilities, o.seed, epoch, s);
        if (i !== active) {
          await this.#activate(i);
          active = i;
        }
        const batch = collate(batchOf(i, state.drawn[i]), { padTokenId, regression: heads[i].kind === 'regression' });
        const step = state.globalStep;
        const lr = schedule(step);
        const r = await optimizerStep(this.model, batch, step, lr, o);
        state.globalStep = step + 1;
        state.drawn[i]++;
        sums.loss[i] += r.loss;
        sums.count[i]++;
        sums.total += r.loss;
        sums.lr = lr;
        await this.#callbacks.onStep?.({ step, epoch, batch: s, task: names[i], alpha, loss: r.loss, lossCe: r.lossCe, lossReg: r.lossReg, lr, gradNorm: r.gradNorm });
      }
      state.batchInEpoch = 0;
      state.partial = noSums(T);

      // ---- evaluation: every task with an evalSet, with its own adapter and head
      const evals: (Metrics | undefined)[] = [];
      for (let i = 0; i < T; i++) {
        const ds = this.#data[i].evalSet;
        if (!ds) {
          evals.push(undefined);
          continue;
        }
        await this.#activate(i);
        evals.push(await evaluateDataset(this.model, ds, { batchSize: o.evalBatchSize, signal }, `tasks[${i}].evalSet`));
      }
      const stepsDone = state.globalStep;
      const tasks = byTask<TaskEpochRecord>((i) => ({
        epoch,
        step: stepsDone,
        steps: sums.count[i],
        trainLoss: sums.count[i] > 0 ? sums.loss[i] / sums.count[i] : NaN,
        ...(evals[i] ? { eval: evals[i] } : {}),
      }));
      // (NaN when a metric is missing or undefined, e.g. a Pearson r of constant predictions.)
      const values = metrics.flatMap((m, i) => (m !== null ? [evals[i]![m] ?? NaN] : []));
      const score = values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
      const record: MultiTaskEpochRecord = {
        epoch,
        step: stepsDone,
        alpha,
        probabilities: byTask((i) => probabilities[i]),
        counts: byTask((i) => sums.count[i]),
        trainLoss: sums.total / sums.count.reduce((a, b) => a + b, 0),
        lr: sums.lr,
        ...(score !== undefined ? { score } : {}),
        tasks,
      };
      let stop = false;
      if (tracking && score !== undefined) {
        const improved = improves(score, state.best?.score, { mode, minDelta: o.earlyStopping?.minDelta ?? 0 });
        const best = (): MultiTaskBestRecord => ({ epoch, step: stepsDone, score, metrics: Object.fromEntries(names.flatMap((n, i) => (evals[i] ? [[n, evals[i]!]] : []))) });
        stop = await trackBest(state, this.model, improved, best, o.earlyStopping?.patience ?? null);
      }
      state.history.push(record);
      state.epoch = epoch + 1;
      state.stoppedEarly = stop;
      if (o.checkpointDir !== null) state.checkpoint = await this.#saveCheckpoint(o.checkpointDir);
      await this.#callbacks.onEpoch?.(record);
    }

    const restoredBest = o.restoreBest && state.bestParams !== null;
    if (restoredBest) await setParams(this.model, state.bestParams!);
    const history = state.history.map((h) => structuredClone(h));
    const result: MultiTaskTrainResult = {
      epochs: state.epoch,
      steps: state.globalStep,
      stoppedEarly: state.stoppedEarly,
      restoredBest,
      history,
      taskHistories: byTask((i) => history.map((h) => h.tasks[names[i]])),
      counts: history.map((h) => h.counts),
    };
    if (state.best) result.best = structuredClone(state.best);
    if (state.checkpoint) result.checkpoint = state.checkpoint;
    return result;
  }

  async #saveCheckpoint(dir: string): Promise<string> {
    const s = this.#state;
    const { checkpointDir: _dir, ...options } = this.options;
    const state = (trainable: { name: string; shape: number[] }[]) => ({
      kind: STATE_KIND,
      epoch: s.epoch,
      globalStep: s.globalStep,
      stoppedEarly: s.stoppedEarly,
      options,
      datasets: s.datasets,
      trainable,
      history: s.history,
      best: s.best,
      badEvals: s.badEvals,
      drawn: s.drawn,
      batchInEpoch: s.batchInEpoch,
      partial: s.partial,
    });
    return saveTrainingCheckpoint(this.model, dir, state, s.bestParams);
  }

  async #resume(dir: string, datasets: { examples: number; fingerprint: number }[]): Promise<void> {
    const ck = await loadCheckpoint(dir);
    const s = ck.state as Record<string, unknown>;
    // ---- checks first: options and data are refused before the model is touched
    if (s.kind !== STATE_KIND) throw new InvalidArgumentError(`${ck.path} is not a multi-task (MultiTaskTrainer) checkpoint`);
    checkSameOptions(ck, this.options, RESULT_OPTIONS);
    const d = s.datasets as { examples: number; fingerprint: number }[] | undefined;
    const other = (d ?? []).findIndex((x, i) => x.examples !== datasets[i]?.examples || x.fingerprint !== datasets[i]?.fingerprint);
    if (!Array.isArray(d) || d.length !== datasets.length || other >= 0) {
      throw new InvalidArgumentError(`tasks[${Math.max(other, 0)}].trainSet differs from the one the checkpoint ${ck.path} was trained on: a resume needs the same data`);
    }
    const want = savedTrainable(ck);
    // ---- apply
    await this.#applyMode();
    await restoreTrainable(this.model, ck, want);
    const T = this.options.tasks.length;
    this.#state = {
      epoch: s.epoch as number,
      globalStep: s.globalStep as number,
      stoppedEarly: Boolean(s.stoppedEarly),
      history: (s.history as MultiTaskEpochRecord[]) ?? [],
      best: (s.best as MultiTaskBestRecord | null) ?? null,
      bestParams: ck.best ?? null,
      badEvals: (s.badEvals as number) ?? 0,
      drawn: (s.drawn as number[]) ?? new Array(T).fill(0),
      batchInEpoch: (s.batchInEpoch as number | undefined) ?? 0,
      partial: (s.partial as Sums | undefined) ?? noSums(T),
      datasets: d,
      checkpoint: ck.path,
    };
  }
}
