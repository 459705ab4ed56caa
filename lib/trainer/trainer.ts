// The training loop: adapters (stage 1 of AdapterFusion), fusion layers (stage 2), heads or
// the whole model, with Hugging Face's linear schedule, AdamW and clipping in the core (one
// awaited native call per step, so the event loop stays free), seeded data order and dropout,
// early stopping on a dev metric, atomic per-epoch checkpoints and exact resumption.
import { BertModel } from '../model/bert-model.js';
import { Fuse } from '../adapters/composition.js';
import { InvalidArgumentError } from '../errors.js';
import {
  batches,
  collate,
  datasetFingerprint,
  validateDataset,
  validateOptionsFor,
  type Batch,
  type Dataset,
  type HeadKind,
} from './batching.js';
import { checkSignal, throwIfAborted } from './errors.js';
import { adamOptions, bool, checkModel, checkpointDirOption, fn, int, isObject, num, stepOptions, trainCallSignal } from './option-checks.js';
import type { OptimizerOptions, ResolvedOptimizerOptions } from './option-checks.js';
import { loadCheckpoint, type NamedTensor } from './checkpoint.js';
import { checkSameOptions, restoreTrainable, saveTrainingCheckpoint, savedTrainable, setParams } from './trainer-state.js';
import { builtInMetrics, improves, MIN_METRICS, trackBest } from './best-tracker.js';
import { epochOrder, stepSeed } from './random.js';
import { makeSchedule, warmupStepsFor } from './schedule.js';
import { predictChecked, type DatasetPredictions } from '../eval/evaluate.js';
import { computeMetrics, type Metrics } from '../eval/metrics.js';

export type TrainingMode = 'adapter' | 'fusion' | 'head' | 'full';

export interface EarlyStoppingOptions {
  /** Evaluations without improvement before training stops. */
  patience: number;
  /** A key of the evaluation metrics (default 'accuracy'; 'loss' for regression heads). */
  metric?: string;
  /** 'max' (default, except for 'loss' / 'mse': 'min'). */
  mode?: 'max' | 'min';
  /** An improvement must exceed this (default 0). */
  minDelta?: number;
}

/** What onStep receives after every optimizer step. */
export interface StepInfo {
  /** Global optimizer step, 0-based (the step that just ran). */
  step: number;
  /** Epoch of the step, 0-based. */
  epoch: number;
  /** Batch index within the epoch, 0-based. */
  batch: number;
  /** loss = lossCe + lossReg (the fusion value regulariser). */
  loss: number;
  lossCe: number;
  lossReg: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** One completed (or, when training stopped early, partial) epoch. */
export interface EpochRecord {
  /** 0-based. */
  epoch: number;
  /** Global steps done at its end. */
  step: number;
  /** Mean over the epoch's steps of loss / lossCe / lossReg. */
  trainLoss: number;
  trainLossCe: number;
  trainLossReg: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Dev metrics at the end of the epoch (evalEvery 'epoch' with an evalSet). */
  eval?: Metrics;
}

export interface EvalRecord {
  epoch: number;
  step: number;
  metrics: Metrics;
}

export interface BestRecord {
  epoch: number;
  step: number;
  metric: string;
  value: number;
  metrics: Metrics;
}

export interface TrainerOptions extends OptimizerOptions {
  /** 'adapter' (one adapter + head; BERT frozen), 'fusion' (fusion layers + head; BERT and adapters frozen), 'head', 'full'. */
  mode: TrainingMode;
  /** The adapter to train (mode 'adapter'); in 'head' / 'full' mode, an adapter to activate. */
  adapter?: string;
  /** The fusion to train (mode 'fusion'); in 'head' / 'full' mode, a fusion to activate. */
  fusion?: Fuse | string[];
  /** Mode 'fusion': also train the fused adapters (AdapterHub's unfreeze_adapters). Default false. */
  unfreezeAdapters?: boolean;
  /** The head to train and predict with (default: the model's active head). */
  head?: string;
  /** Peak learning rate (default by mode: adapter 1e-4, fusion 5e-5, head 1e-3, full 2e-5 — the paper's). */
  lr?: number;
  /** Epochs (default by mode: adapter 30, fusion 10 — the paper's maxima, use earlyStopping — head and full 3). */
  epochs?: number;
  /** Training examples per step (default 32; the paper uses 16 or 32). */
  batchSize?: number;
  /** Examples per predict call in evaluation (default: batchSize). */
  evalBatchSize?: number;
  /** Fixes data order and dropout (default 42). Integer in [0, 2^53). */
  seed?: number;
  /** Shuffle the training set every epoch (default true). */
  shuffle?: boolean;
  /** Stop when the dev metric has not improved for `patience` evaluations. */
  earlyStopping?: EarlyStoppingOptions;
  /** At the end, put back the parameters of the best evaluation (default: true with early stopping). */
  restoreBest?: boolean;
  /** Write a checkpoint here after every epoch (see checkpoint.ts). */
  checkpointDir?: string;
  /** Evaluate on the evalSet after every epoch (default) or every N optimizer steps. */
  evalEvery?: 'epoch' | number;
  /** Extra metrics from dev predictions, merged over the built-in ones. */
  computeMetrics?: (p: DatasetPredictions) => Metrics;
  onStep?: (info: StepInfo) => void | Promise<void>;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  onEvaluate?: (record: EvalRecord) => void | Promise<void>;
  /** Cancels training between steps (train() rejects with an AbortError). */
  signal?: AbortSignal;
}

export interface TrainOptions {
  /** Continue from a checkpoint (a checkpoint folder, a checkpointDir, or true for options.checkpointDir). */
  resumeFrom?: string | true;
  /** Overrides options.signal for this call. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Epochs completed (a partial last epoch counts when training stopped early within it). */
  epochs: number;
  /** Optimizer steps done. */
  steps: number;
  stoppedEarly: boolean;
  /** Whether the best parameters were put back at the end. */
  restoredBest: boolean;
  history: EpochRecord[];
  evaluations: EvalRecord[];
  best?: BestRecord;
  /** The last checkpoint written (or resumed from). */
  checkpoint?: string;
}

/** Which parameters get weight decay under transformers' default grouping: not biases, not LayerNorm weights. */
export function defaultWeightDecayFilter(name: string): boolean {
  return !name.includes('bias') && !/LayerNorm|layer_?norm|adapter_norm/i.test(name);
}

const DEFAULT_LR: Record<TrainingMode, number> = { adapter: 1e-4, fusion: 5e-5, head: 1e-3, full: 2e-5 };
// The paper trains adapters up to 30 epochs and fusion up to 10 (with early stopping on dev
// accuracy); head-only and full fine-tuning use the usual 3.
const DEFAULT_EPOCHS: Record<TrainingMode, number> = { adapter: 30, fusion: 10, head: 3, full: 3 };
const MODES: readonly TrainingMode[] = ['adapter', 'fusion', 'head', 'full'];
const KNOWN_OPTIONS = new Set([
  'mode', 'adapter', 'fusion', 'unfreezeAdapters', 'head', 'lr', 'epochs', 'batchSize', 'evalBatchSize', 'warmupSteps',
  'warmupRatio', 'schedule', 'weightDecay', 'maxGradNorm', 'beta1', 'beta2', 'eps', 'seed', 'shuffle', 'earlyStopping',
  'restoreBest', 'checkpointDir', 'evalEvery', 'computeMetrics', 'onStep', 'onEpoch', 'onEvaluate', 'signal',
]);
// Options that change the numbers: a resume must use the same values as the checkpoint.
const RESULT_OPTIONS = [
  'mode', 'adapter', 'fusion', 'unfreezeAdapters', 'head', 'lr', 'epochs', 'batchSize', 'evalBatchSize', 'warmupSteps',
  'warmupRatio', 'schedule', 'weightDecay', 'maxGradNorm', 'beta1', 'beta2', 'eps', 'seed', 'shuffle', 'earlyStopping',
  'evalEvery',
] as const;

/** The validated options, with defaults filled in (what checkpoints record). */
export interface ResolvedTrainerOptions extends ResolvedOptimizerOptions {
  mode: TrainingMode;
  adapter: string | null;
  fusion: string[] | null;
  unfreezeAdapters: boolean;
  head: string | null;
  lr: number;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  seed: number;
  shuffle: boolean;
  earlyStopping: { patience: number; metric: string | null; mode: 'max' | 'min' | null; minDelta: number } | null;
  restoreBest: boolean;
  checkpointDir: string | null;
  evalEvery: 'epoch' | number;
}

// ---------------------------------------------------------------- option checks

function fusionNames(v: unknown): string[] {
  if (v instanceof Fuse) return [...v.adapters];
  if (Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string' && a !== '')) return [...v];
  throw new TypeError('options.fusion must be a Fuse or a non-empty array of adapter names');
}

function resolveOptions(model: BertModel, options: unknown): ResolvedTrainerOptions {
  if (!isObject(options)) throw new TypeError('options must be an object');
  const o = options;
  for (const k of Object.keys(o)) if (!KNOWN_OPTIONS.has(k)) throw new TypeError(`options.${k} is not a Trainer option`);
  if (typeof o.mode !== 'string' || !MODES.includes(o.mode as TrainingMode)) {
    throw new TypeError(`options.mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(o.mode)}`);
  }
  const mode = o.mode as TrainingMode;
  let adapter: string | null = null;
  if (o.adapter !== undefined) {
    if (typeof o.adapter !== 'string' || o.adapter === '') throw new TypeError('options.adapter must be a non-empty string');
    adapter = o.adapter;
    if (!model.adapters().includes(adapter)) {
      throw new InvalidArgumentError(`options.adapter: the model has no adapter "${adapter}" (it has: ${model.adapters().join(', ') || 'none'})`);
    }
  }
  let fusion: string[] | null = null;
  if (o.fusion !== undefined) {
    fusion = fusionNames(o.fusion);
    const key = fusion.join(',');
    if (!model.adapterFusions().includes(key)) {
      throw new InvalidArgumentError(`options.fusion: the model has no adapter fusion "${key}" (it has: ${model.adapterFusions().join(' | ') || 'none'})`);
    }
  }
  if (adapter !== null && fusion !== null) throw new InvalidArgumentError('options.adapter and options.fusion cannot both be given');
  if (mode === 'adapter' && adapter === null) throw new TypeError("options.adapter (the adapter's name) is required with mode 'adapter'");
  if (mode === 'fusion' && fusion === null) throw new TypeError("options.fusion (a Fuse or adapter names) is required with mode 'fusion'");
  if (mode === 'adapter' && fusion !== null) throw new InvalidArgumentError("options.fusion cannot be used with mode 'adapter'");
  if (mode === 'fusion' && adapter !== null) throw new InvalidArgumentError("options.adapter cannot be used with mode 'fusion'");
  let head: string | null = null;
  if (o.head !== undefined) {
    if (typeof o.head !== 'string' || o.head === '') throw new TypeError('options.head must be a non-empty string');
    if (!model.heads().includes(o.head)) throw new InvalidArgumentError(`options.head: the model has no head "${o.head}" (it has: ${model.heads().join(', ') || 'none'})`);
    head = o.head;
    if ((mode === 'head' || mode === 'full') && adapter === null && fusion === null && model.activeHead()?.name !== head) {
      throw new InvalidArgumentError(
        `options.head "${head}" is not the active head; in mode '${mode}' without options.adapter/fusion, activate it first with model.setActiveAdapters(setup, { head })`,
      );
    }
  } else if (model.heads().length === 0) {
    throw new InvalidArgumentError('the model has no head: add one (addClassificationHead / addMultipleChoiceHead) before training');
  } else if (!model.activeHead()) {
    throw new InvalidArgumentError('options.head is needed: the model has no active head');
  }
  const { batchSize, seed, warmupSteps, warmupRatio, schedule } = stepOptions(o);
  let earlyStopping: ResolvedTrainerOptions['earlyStopping'] = null;
  if (o.earlyStopping !== undefined) {
    if (!isObject(o.earlyStopping)) throw new TypeError('options.earlyStopping must be an object { patience, metric?, mode?, minDelta? }');
    const e = o.earlyStopping;
    for (const k of Object.keys(e)) if (!['patience', 'metric', 'mode', 'minDelta'].includes(k)) throw new TypeError(`options.earlyStopping.${k} is not an early-stopping option`);
    if (e.patience === undefined) throw new TypeError('options.earlyStopping.patience is required (an integer >= 1)');
    const patience = int(e, 'patience', 1, 1, 'options.earlyStopping.patience');
    if (e.metric !== undefined && (typeof e.metric !== 'string' || e.metric === '')) throw new TypeError('options.earlyStopping.metric must be a metric name');
    if (e.mode !== undefined && e.mode !== 'max' && e.mode !== 'min') throw new TypeError("options.earlyStopping.mode must be 'max' or 'min'");
    const minDelta = num(e, 'minDelta', 0, (v) => v >= 0 && Number.isFinite(v), '>= 0', 'options.earlyStopping.minDelta');
    earlyStopping = { patience, metric: (e.metric as string | undefined) ?? null, mode: (e.mode as 'max' | 'min' | undefined) ?? null, minDelta };
  }
  let evalEvery: 'epoch' | number = 'epoch';
  if (o.evalEvery !== undefined && o.evalEvery !== 'epoch') {
    if (typeof o.evalEvery !== 'number' || !Number.isInteger(o.evalEvery)) throw new TypeError("options.evalEvery must be 'epoch' or a number of steps");
    if (o.evalEvery < 1) throw new InvalidArgumentError(`options.evalEvery must be >= 1 step, got ${o.evalEvery}`);
    evalEvery = o.evalEvery;
  }
  const checkpointDir = checkpointDirOption(o);
  for (const k of ['computeMetrics', 'onStep', 'onEpoch', 'onEvaluate']) fn(o, k);
  checkSignal(o.signal, 'options.signal');
  return {
    mode,
    adapter,
    fusion,
    unfreezeAdapters: bool(o, 'unfreezeAdapters', false),
    head,
    lr: num(o, 'lr', DEFAULT_LR[mode], (v) => v >= 0 && Number.isFinite(v), 'a finite number >= 0'),
    epochs: int(o, 'epochs', DEFAULT_EPOCHS[mode], 1),
    batchSize,
    evalBatchSize: int(o, 'evalBatchSize', batchSize, 1),
    warmupSteps,
    warmupRatio,
    schedule,
    ...adamOptions(o),
    seed,
    shuffle: bool(o, 'shuffle', true),
    earlyStopping,
    restoreBest: bool(o, 'restoreBest', earlyStopping !== null),
    checkpointDir,
    evalEvery,
  };
}

/**
 * One AdamW step on a batch, with the options' hyper-parameters and the step's dropout seed
 * (MultiTaskTrainer takes the same step). A failed step (e.g. a non-finite gradient) leaves no
 * update; its gradients are dropped so that the next step starts clean.
 */
export async function optimizerStep(
  model: BertModel,
  batch: Batch,
  step: number,
  lr: number,
  o: Pick<ResolvedTrainerOptions, 'seed' | 'weightDecay' | 'maxGradNorm' | 'beta1' | 'beta2' | 'eps'>,
): Promise<Awaited<ReturnType<BertModel['trainStep']>>> {
  try {
    return await model.trainStep(batch.input, batch.labels!, {
      lr,
      seed: stepSeed(o.seed, step),
      train: true,
      weightDecay: o.weightDecay,
      maxGradNorm: o.maxGradNorm,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
    });
  } catch (err) {
    await model.zeroGrad().catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------- the trainer

interface TrainState {
  /** Completed epochs. */
  epoch: number;
  globalStep: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
  evaluations: EvalRecord[];
  best: BestRecord | null;
  bestParams: NamedTensor[] | null;
  bestTemperatures: Record<string, number[]> | null;
  /** Evaluations since the last improvement. */
  badEvals: number;
  /** Batches done in the epoch in progress (> 0 only in a checkpoint written on abort). */
  batchInEpoch: number;
  /** Running sums of the epoch in progress, to finish its record after a mid-epoch resume. */
  partial: EpochSums;
  dataset: { examples: number; fingerprint: number } | null;
  checkpoint: string | undefined;
}

/** Loss sums of the epoch in progress. */
interface EpochSums {
  sum: number;
  sumCe: number;
  sumReg: number;
  count: number;
  lr: number;
}

const noSums = (): EpochSums => ({ sum: 0, sumCe: 0, sumReg: 0, count: 0, lr: 0 });

function freshState(): TrainState {
  return {
    epoch: 0,
    globalStep: 0,
    stoppedEarly: false,
    history: [],
    evaluations: [],
    best: null,
    bestParams: null,
    bestTemperatures: null,
    badEvals: 0,
    batchInEpoch: 0,
    partial: noSums(),
    dataset: null,
    checkpoint: undefined,
  };
}

/**
 * Trains a BertModel's adapters, fusion layers, head or all weights.
 *
 * ```ts
 * const trainer = new Trainer(model, { mode: 'adapter', adapter: 'sst2', lr: 1e-4, epochs: 10, batchSize: 32,
 *   earlyStopping: { patience: 3, metric: 'accuracy' }, checkpointDir: 'runs/sst2' });
 * const result = await trainer.train(train, dev);
 * ```
 */
export class Trainer {
  readonly model: BertModel;
  readonly options: Readonly<ResolvedTrainerOptions>;
  readonly #callbacks: Pick<TrainerOptions, 'onStep' | 'onEpoch' | 'onEvaluate' | 'computeMetrics' | 'signal'>;
  #state: TrainState = freshState();
  /** The model's trainability and the state match a resumed checkpoint: train() continues it. */
  #resumed = false;
  #busy = false;

  constructor(model: BertModel, options: TrainerOptions) {
    checkModel(model);
    this.model = model;
    this.options = Object.freeze(resolveOptions(model, options));
    const o = options as TrainerOptions;
    this.#callbacks = { onStep: o.onStep, onEpoch: o.onEpoch, onEvaluate: o.onEvaluate, computeMetrics: o.computeMetrics, signal: o.signal };
  }

  /** Progress so far: completed epochs, global step, the best evaluation. */
  get state(): { epoch: number; step: number; stoppedEarly: boolean; best?: BestRecord } {
    const s = this.#state;
    return { epoch: s.epoch, step: s.globalStep, stoppedEarly: s.stoppedEarly, ...(s.best ? { best: s.best } : {}) };
  }

  /** Optimizer steps per epoch for a dataset of n examples. */
  stepsPerEpoch(n: number): number {
    return Math.ceil(n / this.options.batchSize);
  }

  /** The learning rate of every optimizer step (0-based) for a training set of n examples. */
  learningRates(n: number): Float64Array {
    const { total, schedule } = this.#schedule(n);
    const out = new Float64Array(total);
    for (let s = 0; s < total; s++) out[s] = schedule(s);
    return out;
  }

  #schedule(n: number): { total: number; warmup: number; schedule: (s: number) => number } {
    const o = this.options;
    const total = o.epochs * this.stepsPerEpoch(n);
    const warmup = warmupStepsFor(total, o.warmupSteps ?? undefined, o.warmupRatio ?? undefined);
    return { total, warmup, schedule: makeSchedule({ lr: o.lr, totalSteps: total, warmupSteps: warmup, schedule: o.schedule }) };
  }

  /** Makes the configured adapters / fusion and head the model's active setup. */
  async #activate(): Promise<void> {
    const o = this.options;
    const head = o.head ?? undefined; // undefined: the head active when it runs
    if (o.adapter !== null) await this.model.setActiveAdapters(o.adapter, { head });
    else if (o.fusion !== null) await this.model.setActiveAdapters(new Fuse(...o.fusion), { head });
  }

  /** Trainable parameters and weight decay for the mode (resets the optimizer). */
  async #applyMode(): Promise<void> {
    const o = this.options;
    const m = this.model;
    if (o.mode === 'adapter') await m.trainAdapter(o.adapter!);
    else if (o.mode === 'fusion') await m.trainAdapterFusion(new Fuse(...o.fusion!), { unfreezeAdapters: o.unfreezeAdapters });
    else if (o.mode === 'head') await m.trainHead();
    else await m.trainFull();
    const active = m.activeHead()!.name;
    // transformers' grouping; other heads (trainable in 'full' mode, but without gradients) are not decayed.
    await m.setWeightDecay((name) => defaultWeightDecayFilter(name) && (!name.startsWith('heads.') || name.startsWith(`heads.${active}.`)));
  }

  async #temperatures(): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    for (const key of this.model.adapterFusions()) out[key] = Array.from(await this.model.fusionTemperatures(key));
    return out;
  }

  async #setTemperatures(t: Record<string, number[]>): Promise<void> {
    for (const [key, values] of Object.entries(t)) {
      if (this.model.adapterFusions().includes(key)) await this.model.setFusionTemperatures(key, Float32Array.from(values));
    }
  }

  #metricSpec(head: HeadKind): { metric: string; mode: 'max' | 'min'; minDelta: number } {
    const e = this.options.earlyStopping;
    const metric = e?.metric ?? (head.kind === 'regression' ? 'loss' : 'accuracy');
    const mode = e?.mode ?? (MIN_METRICS.has(metric) ? 'min' : 'max');
    return { metric, mode, minDelta: e?.minDelta ?? 0 };
  }

  /**
   * Evaluates the configured adapters / fusion and head on a labelled dataset (no dropout):
   * loss and the head's metrics (see computeMetrics in eval/metrics.ts).
   */
  async evaluate(evalSet: Dataset, opts: { batchSize?: number; signal?: AbortSignal } = {}): Promise<Metrics> {
    if (this.#busy) throw new InvalidArgumentError('the trainer is busy (train() is running): evaluate after it settles');
    if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
    const signal = checkSignal(opts.signal, 'options.signal') ?? this.#callbacks.signal;
    await this.#activate();
    const vo = validateOptionsFor(this.model, true);
    const n = validateDataset(evalSet, 'evalSet', vo);
    const batchSize = opts.batchSize === undefined ? this.options.evalBatchSize : opts.batchSize;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize)) throw new TypeError('options.batchSize must be a positive integer');
    if (batchSize < 1) throw new InvalidArgumentError(`options.batchSize must be >= 1, got ${batchSize}`);
    this.#busy = true;
    try {
      return await this.#evaluate(evalSet, n, vo.head, batchSize, signal);
    } finally {
      this.#busy = false;
    }
  }

  async #evaluate(evalSet: Dataset, n: number, head: HeadKind, batchSize: number, signal: AbortSignal | undefined): Promise<Metrics> {
    const p = await predictChecked(this.model, evalSet, n, head, { batchSize, signal });
    const metrics = computeMetrics(p.kind, p.logits, p.classes, p.labels!);
    const extra = this.#callbacks.computeMetrics;
    return extra ? { ...metrics, ...extra(p) } : metrics;
  }

  /**
   * Loads a checkpoint (a checkpoint folder, or a checkpointDir: its newest one) into the model
   * and the trainer: trainable parameters, Adam moments and step count, fusion temperatures,
   * history and best so far. The next train() continues from it, with results identical bit for
   * bit to an uninterrupted run. The model must be built as before (same adapters, fusion,
   * heads, frozen weights) and the trainer's options must match the checkpoint's.
   */
  async resume(path?: string): Promise<{ epoch: number; step: number; path: string }> {
    if (this.#busy) throw new InvalidArgumentError('the trainer is busy (train() is running)');
    const dir = path ?? this.options.checkpointDir;
    if (typeof dir !== 'string' || dir === '') throw new TypeError('resume(path): path must be a checkpoint folder (or set options.checkpointDir)');
    this.#busy = true;
    try {
      return await this.#resume(dir);
    } finally {
      this.#busy = false;
    }
  }

  async #resume(dir: string, dataset?: { examples: number; fingerprint: number }): Promise<{ epoch: number; step: number; path: string }> {
    const ck = await loadCheckpoint(dir);
    const s = ck.state as Record<string, unknown>;
    // ---- checks first: options and data are refused before the model is touched
    checkSameOptions(ck, this.options, RESULT_OPTIONS);
    const d = s.dataset as TrainState['dataset'];
    if (dataset && d && (d.examples !== dataset.examples || d.fingerprint !== dataset.fingerprint)) {
      throw new InvalidArgumentError(
        `trainSet differs from the one the checkpoint ${ck.path} was trained on (${d.examples} examples, fingerprint ${d.fingerprint}; ` +
          `now ${dataset.examples}, ${dataset.fingerprint}): a resume needs the same data`,
      );
    }
    const want = savedTrainable(ck);
    // ---- apply
    await this.#activate();
    await this.#applyMode();
    await restoreTrainable(this.model, ck, want, ` in mode '${this.options.mode}'`);
    await this.#setTemperatures((s.fusionTemperatures as Record<string, number[]>) ?? {});
    this.#state = {
      epoch: s.epoch as number,
      globalStep: s.globalStep as number,
      stoppedEarly: Boolean(s.stoppedEarly),
      history: (s.history as EpochRecord[]) ?? [],
      evaluations: (s.evaluations as EvalRecord[]) ?? [],
      best: (s.best as BestRecord | null) ?? null,
      bestParams: ck.best ?? null,
      bestTemperatures: (s.bestTemperatures as Record<string, number[]> | null) ?? null,
      badEvals: (s.badEvals as number) ?? 0,
      batchInEpoch: (s.batchInEpoch as number | undefined) ?? 0,
      partial: (s.partial as EpochSums | undefined) ?? noSums(),
      dataset: d ?? null,
      checkpoint: ck.path,
    };
    this.#resumed = true;
    return { epoch: this.#state.epoch, step: this.#state.globalStep, path: ck.path };
  }

  /** Training was cancelled between steps: keep where it stands (options.checkpointDir), so a resume continues it. */
  async #checkpointOnAbort(): Promise<void> {
    if (this.options.checkpointDir === null || this.#state.globalStep === 0) return;
    this.#state.checkpoint = await this.#saveCheckpoint(this.options.checkpointDir);
  }

  async #saveCheckpoint(dir: string): Promise<string> {
    const s = this.#state;
    const { checkpointDir: _dir, ...options } = this.options;
    const temperatures = await this.#temperatures();
    return saveTrainingCheckpoint(
      this.model,
      dir,
      (trainable) => ({
        epoch: s.epoch,
        globalStep: s.globalStep,
        stoppedEarly: s.stoppedEarly,
        options,
        dataset: s.dataset,
        trainable,
        history: s.history,
        evaluations: s.evaluations,
        best: s.best,
        badEvals: s.badEvals,
        batchInEpoch: s.batchInEpoch,
        partial: s.partial,
        fusionTemperatures: temperatures,
        bestTemperatures: s.bestTemperatures,
      }),
      s.bestParams,
    );
  }

  /**
   * Trains on trainSet (evaluating on evalSet when given) and resolves when the epochs are done
   * or early stopping ends training. A fresh call starts at step 0 from the model's current
   * weights with a fresh optimizer; after resume() (or with opts.resumeFrom) it continues the
   * checkpoint's run instead.
   */
  async train(trainSet: Dataset, evalSet?: Dataset | null, opts: TrainOptions = {}): Promise<TrainResult> {
    if (this.#busy) throw new InvalidArgumentError('the trainer is busy: train() is already running');
    const signal = trainCallSignal(opts, this.options.checkpointDir, this.#callbacks.signal);
    this.#busy = true;
    try {
      return await this.#train(trainSet, evalSet ?? null, opts, signal);
    } finally {
      this.#busy = false;
    }
  }

  async #train(trainSet: Dataset, evalSet: Dataset | null, opts: TrainOptions, signal: AbortSignal | undefined): Promise<TrainResult> {
    const o = this.options;
    // ---- every check before anything changes
    await this.#activate();
    const vo = validateOptionsFor(this.model, true);
    const n = validateDataset(trainSet, 'trainSet', vo);
    const nEval = evalSet ? validateDataset(evalSet, 'evalSet', vo) : 0;
    const spec = this.#metricSpec(vo.head);
    const tracking = o.earlyStopping !== null || o.restoreBest;
    if (o.earlyStopping && !evalSet) throw new InvalidArgumentError('options.earlyStopping needs an evalSet (train(trainSet, evalSet))');
    if (o.restoreBest && !evalSet) throw new InvalidArgumentError('options.restoreBest needs an evalSet (train(trainSet, evalSet))');
    if (tracking && !this.#callbacks.computeMetrics && !builtInMetrics(vo.head).includes(spec.metric)) {
      throw new InvalidArgumentError(
        `options.earlyStopping.metric "${spec.metric}" is not a metric of this ${vo.head.kind} head (it has: ${builtInMetrics(vo.head).join(', ')})`,
      );
    }
    const fingerprint = { examples: n, fingerprint: datasetFingerprint(trainSet) };
    throwIfAborted(signal, 'training');
    if (opts.resumeFrom !== undefined) await this.#resume(opts.resumeFrom === true ? o.checkpointDir! : opts.resumeFrom, fingerprint);
    if (this.#resumed) {
      const d = this.#state.dataset;
      if (d && (d.examples !== fingerprint.examples || d.fingerprint !== fingerprint.fingerprint)) {
        throw new InvalidArgumentError(
          `trainSet differs from the one the checkpoint ${this.#state.checkpoint} was trained on (${d.examples} examples, fingerprint ${d.fingerprint}; ` +
            `now ${fingerprint.examples}, ${fingerprint.fingerprint}): a resume needs the same data`,
        );
      }
    } else {
      await this.#applyMode();
      this.#state = freshState();
    }
    this.#resumed = false;
    const state = this.#state;
    state.dataset = fingerprint;

    const { schedule } = this.#schedule(n);
    const regression = vo.head.kind === 'regression';
    const padTokenId = this.model.config.padTokenId;

    // Evaluates, records, tracks the best; returns true when early stopping says stop.
    const evaluateNow = async (epoch: number): Promise<{ metrics: Metrics; stop: boolean }> => {
      const temps = tracking ? await this.#temperatures() : null;
      const metrics = await this.#evaluate(evalSet!, nEval, vo.head, o.evalBatchSize, signal);
      const record: EvalRecord = { epoch, step: state.globalStep, metrics };
      state.evaluations.push(record);
      let stop = false;
      if (tracking) {
        const value = metrics[spec.metric];
        if (typeof value !== 'number') {
          throw new InvalidArgumentError(`options.earlyStopping.metric "${spec.metric}" is not among the evaluation metrics (${Object.keys(metrics).join(', ')})`);
        }
        const improved = improves(value, state.best?.value, spec);
        const best = (): BestRecord => ({ epoch, step: state.globalStep, metric: spec.metric, value, metrics });
        stop = await trackBest(state, this.model, improved, best, o.earlyStopping?.patience ?? null);
        if (improved) state.bestTemperatures = temps;
      }
      await this.#callbacks.onEvaluate?.(record);
      return { metrics, stop };
    };

    for (let epoch = state.epoch; epoch < o.epochs && !state.stoppedEarly; epoch++) {
      const order = epochOrder(n, o.seed, epoch, o.shuffle);
      // A checkpoint written on abort resumes inside its epoch: skip the batches it had done.
      const skip = state.batchInEpoch;
      const sums = skip > 0 ? { ...state.partial } : noSums();
      let batchIndex = 0;
      let stop = false;
      for (const items of batches(trainSet, o.batchSize, order)) {
        if (batchIndex < skip) {
          batchIndex++;
          continue;
        }
        if (signal?.aborted) {
          // Between steps: a safe point. Keep it unless a checkpoint of this very point exists.
          if (batchIndex > skip) {
            state.batchInEpoch = batchIndex;
            state.partial = sums;
            await this.#checkpointOnAbort();
          }
          throwIfAborted(signal, 'training');
        }
        const step = state.globalStep;
        const lr = schedule(step);
        const batch = collate(items, { padTokenId, regression });
        const r = await optimizerStep(this.model, batch, step, lr, o);
        state.globalStep = step + 1;
        sums.sum += r.loss;
        sums.sumCe += r.lossCe;
        sums.sumReg += r.lossReg;
        sums.count++;
        sums.lr = lr;
        await this.#callbacks.onStep?.({ step, epoch, batch: batchIndex, loss: r.loss, lossCe: r.lossCe, lossReg: r.lossReg, lr, gradNorm: r.gradNorm });
        batchIndex++;
        if (evalSet && typeof o.evalEvery === 'number' && state.globalStep % o.evalEvery === 0) {
          const e = await evaluateNow(epoch);
          if (e.stop) {
            stop = true;
            break;
          }
        }
      }
      state.batchInEpoch = 0;
      state.partial = noSums();
      const record: EpochRecord = {
        epoch,
        step: state.globalStep,
        trainLoss: sums.sum / sums.count,
        trainLossCe: sums.sumCe / sums.count,
        trainLossReg: sums.sumReg / sums.count,
        lr: sums.lr,
      };
      if (!stop && evalSet && o.evalEvery === 'epoch') {
        const e = await evaluateNow(epoch);
        record.eval = e.metrics;
        stop = e.stop;
      }
      state.history.push(record);
      state.epoch = epoch + 1;
      state.stoppedEarly = stop;
      if (o.checkpointDir !== null) state.checkpoint = await this.#saveCheckpoint(o.checkpointDir);
      await this.#callbacks.onEpoch?.(record);
    }

    const restoredBest = o.restoreBest && state.bestParams !== null;
    if (restoredBest) {
      await setParams(this.model, state.bestParams!);
      if (state.bestTemperatures) await this.#setTemperatures(state.bestTemperatures);
    }
    const result: TrainResult = {
      epochs: state.epoch,
      steps: state.globalStep,
      stoppedEarly: state.stoppedEarly,
      restoredBest,
      history: state.history.map((h) => ({ ...h })),
      evaluations: state.evaluations.map((e) => ({ ...e })),
    };
    if (state.best) result.best = { ...state.best };
    if (state.checkpoint) result.checkpoint = state.checkpoint;
    return result;
  }
}
