// Checks of option objects shared by the trainers: a TypeError for a wrong type, an
// InvalidArgumentError for a value out of range, each naming the option.
import { DisposedError, InvalidArgumentError } from '../errors.js';
import { BertModel } from '../model/bert-model.js';
import { checkSignal } from './errors.js';
import type { ScheduleName } from './schedule.js';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function num(o: Record<string, unknown>, key: string, def: number, check: (v: number) => boolean, rule: string, name = `options.${key}`): number {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name} must be a number`);
  if (!check(v)) throw new InvalidArgumentError(`${name} must be ${rule}, got ${v}`);
  return v;
}

export function int(o: Record<string, unknown>, key: string, def: number, min: number, name = `options.${key}`): number {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer`);
  if (v < min) throw new InvalidArgumentError(`${name} must be >= ${min}, got ${v}`);
  return v;
}

export function bool(o: Record<string, unknown>, key: string, def: boolean): boolean {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new TypeError(`options.${key} must be a boolean`);
  return v;
}

export function fn(o: Record<string, unknown>, key: string): void {
  if (o[key] !== undefined && typeof o[key] !== 'function') throw new TypeError(`options.${key} must be a function`);
}

// ---------------------------------------------------------------- options both trainers share
// (Each helper checks its options in the order the trainers always did, so that the first bad
// option reported stays the same.)

/** The learning-rate schedule and AdamW: the same options in Trainer and MultiTaskTrainer. */
export interface OptimizerOptions {
  /** Linear warm-up steps (default 0). Takes precedence over warmupRatio. */
  warmupSteps?: number;
  /** Warm-up as a fraction of all steps: ceil(total · ratio), as transformers. */
  warmupRatio?: number;
  /** 'linear' (default: warm-up, then linear decay to 0) or 'constant' (warm-up, then flat). */
  schedule?: ScheduleName;
  /** AdamW weight decay (default 0, as transformers); never on biases and LayerNorm weights. */
  weightDecay?: number;
  /** Global gradient-norm clipping (default 1.0; 0 = off). */
  maxGradNorm?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** OptimizerOptions validated, with defaults filled in. */
export interface ResolvedOptimizerOptions {
  warmupSteps: number | null;
  warmupRatio: number | null;
  schedule: ScheduleName;
  weightDecay: number;
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** The model argument of a trainer's constructor. */
export function checkModel(model: unknown): asserts model is BertModel {
  if (!(model instanceof BertModel)) throw new TypeError('model must be a BertModel (from loadModel or createModel)');
  if (model.disposed) throw new DisposedError();
}

/** batchSize, seed, warm-up and schedule. */
export function stepOptions(
  o: Record<string, unknown>,
): { batchSize: number; seed: number } & Pick<ResolvedOptimizerOptions, 'warmupSteps' | 'warmupRatio' | 'schedule'> {
  const batchSize = int(o, 'batchSize', 32, 1);
  const seed = num(o, 'seed', 42, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 53, 'an integer in [0, 2^53)');
  const warmupSteps = o.warmupSteps === undefined ? null : int(o, 'warmupSteps', 0, 0);
  const warmupRatio = o.warmupRatio === undefined ? null : num(o, 'warmupRatio', 0, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  if (o.schedule !== undefined && o.schedule !== 'linear' && o.schedule !== 'constant') {
    throw new TypeError(`options.schedule must be 'linear' or 'constant', got ${JSON.stringify(o.schedule)}`);
  }
  return { batchSize, seed, warmupSteps, warmupRatio, schedule: (o.schedule as ScheduleName | undefined) ?? 'linear' };
}

const finiteNonNegative = (v: number): boolean => v >= 0 && Number.isFinite(v);

/** AdamW's hyper-parameters (in this key order in the resolved options, and so in checkpoints). */
export function adamOptions(o: Record<string, unknown>): Omit<ResolvedOptimizerOptions, 'warmupSteps' | 'warmupRatio' | 'schedule'> {
  return {
    weightDecay: num(o, 'weightDecay', 0, finiteNonNegative, 'a finite number >= 0'),
    maxGradNorm: num(o, 'maxGradNorm', 1.0, finiteNonNegative, 'a finite number >= 0 (0 = no clipping)'),
    beta1: num(o, 'beta1', 0.9, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    beta2: num(o, 'beta2', 0.999, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    eps: num(o, 'eps', 1e-8, (v) => v > 0 && Number.isFinite(v), 'a finite number > 0'),
  };
}

/** options.checkpointDir: a folder, or null. */
export function checkpointDirOption(o: Record<string, unknown>): string | null {
  if (o.checkpointDir !== undefined && (typeof o.checkpointDir !== 'string' || o.checkpointDir === '')) {
    throw new TypeError('options.checkpointDir must be a non-empty string (a folder)');
  }
  return (o.checkpointDir as string | undefined) ?? null;
}

/** train()'s own options { resumeFrom?, signal? }; returns the signal to use (opts.signal, else `fallback`). */
export function trainCallSignal(opts: unknown, checkpointDir: string | null, fallback: AbortSignal | undefined): AbortSignal | undefined {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'resumeFrom' && k !== 'signal') throw new TypeError(`options.${k} is not a train() option`);
  if (o.resumeFrom !== undefined && o.resumeFrom !== true && (typeof o.resumeFrom !== 'string' || o.resumeFrom === '')) {
    throw new TypeError('options.resumeFrom must be a checkpoint path or true');
  }
  if (o.resumeFrom === true && checkpointDir === null) throw new TypeError('options.resumeFrom is true but the trainer has no checkpointDir');
  return checkSignal(o.signal, 'options.signal') ?? fallback;
}
