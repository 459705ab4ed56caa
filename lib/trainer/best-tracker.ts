// Early stopping and restoreBest, as both trainers do them: whether an evaluation improved on the
// best so far, how many evaluations have not, and the parameters at the best. The fields live in
// each trainer's state (and trainer_state.json) under the same names: best, bestParams, badEvals.
import type { BertModel } from '../model/bert-model.js';
import type { HeadKind } from './batching.js';
import type { NamedTensor } from './checkpoint.js';
import { snapshotTrainable } from './trainer-state.js';

/** The metric names computeMetrics gives for a head (custom metrics aside): what may be tracked. */
export function builtInMetrics(head: HeadKind): string[] {
  if (head.kind === 'regression') return ['loss', 'mse', 'pearson', 'spearman'];
  if (head.kind === 'multiple_choice') return ['loss', 'accuracy'];
  return ['loss', 'accuracy', 'macroF1', 'mcc', ...(head.classes === 2 ? ['f1'] : [])];
}

/** Metrics for which lower is better (the default mode is 'min' for them). */
export const MIN_METRICS: ReadonlySet<string> = new Set(['loss', 'mse']);

export interface BestState<R> {
  best: R | null;
  bestParams: NamedTensor[] | null;
  /** Evaluations since the last improvement. */
  badEvals: number;
}

/**
 * Whether `value` improves on `prev` (the best so far) by more than minDelta. A NaN score never
 * improves; any other improves on no best or a NaN best.
 */
export function improves(value: number, prev: number | undefined, rule: { mode: 'max' | 'min'; minDelta: number }): boolean {
  const { mode, minDelta } = rule;
  return !Number.isNaN(value) && (prev === undefined || Number.isNaN(prev) || (mode === 'max' ? value > prev + minDelta : value < prev - minDelta));
}

/**
 * Books an evaluation: an improvement makes record() the best and snapshots the trainable
 * parameters (for restoreBest); anything else is one more bad evaluation. Returns whether early
 * stopping (patience, null without it) says stop.
 */
export async function trackBest<R>(state: BestState<R>, model: BertModel, improved: boolean, record: () => R, patience: number | null): Promise<boolean> {
  if (improved) {
    state.best = record();
    state.bestParams = await snapshotTrainable(model);
    state.badEvals = 0;
  } else {
    state.badEvals++;
  }
  return patience !== null && state.badEvals >= patience;
}
