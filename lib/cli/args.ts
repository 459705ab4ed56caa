// Option values of the command line: parsers that turn strings into checked values, or throw a
// UsageError (exit code 2, one line, with a pointer to the command's --help).
import { InvalidArgumentError } from '../errors.js';

/** A mistake in the command line: printed with a usage hint, exit code 2. */
export class UsageError extends Error {
  /** The command whose usage to point at ('predict', 'train-adapter', ...), or null for the main usage. */
  readonly command: string | null;
  constructor(message: string, command: string | null = null) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export interface PredictArgs {
  model: string;
  adapters: string[];
  fusion: string | null;
  head: string | null;
  input: string;
  output: string | null;
  fusionAttentions: boolean;
  batchSize: number;
  maxLength: number | null;
  threads: number | null;
  gemm: 'builtin' | 'openblas' | null;
}

export interface InfoArgs {
  threads: number | null;
  gemm: 'builtin' | 'openblas' | null;
  json: boolean;
}

/** An integer ≥ min, or null when the option was not given. */
export function positiveInt(value: string | undefined, name: string, command: string, min = 1): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`, command);
  }
  return Number(value);
}

/** A finite number > 0 (or ≥ 0 with allowZero), or null when not given. */
export function positiveNumber(value: string | undefined, name: string, command: string, allowZero = false): number | null {
  if (value === undefined) return null;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new UsageError(`--${name} must be a number ${allowZero ? '≥ 0' : '> 0'}, got '${value}'`, command);
  }
  return v;
}

export function gemmOption(value: string | undefined, command: string): 'builtin' | 'openblas' | null {
  if (value === undefined) return null;
  if (value !== 'builtin' && value !== 'openblas') throw new UsageError(`--gemm must be builtin or openblas, got '${value}'`, command);
  return value;
}

export function choice<T extends string>(value: string | undefined, name: string, allowed: readonly T[], command: string): T | null {
  if (value === undefined) return null;
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`, command);
  return value as T;
}

export function nonEmpty(value: string | undefined, name: string, command: string): string | undefined {
  if (value === '') throw new UsageError(`--${name} needs a non-empty value`, command);
  return value;
}

/** "1,2,3" → [1, 2, 3]: distinct non-negative integers. */
export function seedList(value: string | undefined, command: string): number[] | null {
  if (value === undefined) return null;
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || !Number.isSafeInteger(Number(p)))) {
    throw new UsageError(`--seeds must be a comma-separated list of non-negative integers, got '${value}'`, command);
  }
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds has a seed twice: '${value}'`, command);
  return seeds;
}

/** Turns a library argument error met while reading options into a usage error. */
export function asUsage(err: unknown, command: string): unknown {
  if (err instanceof InvalidArgumentError || err instanceof TypeError) return new UsageError(err.message, command);
  return err;
}
