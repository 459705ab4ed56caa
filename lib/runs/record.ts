// What a training run leaves on disk, read back by `report`: the run record (run.json), the
// metrics log (metrics.jsonl) and, for fusion runs, the mean fusion activations
// (fusion_activations.json). One run = one task × setup × seed, in its own folder:
//
//   <out>/seed-<s>/run.json                 RunRecord
//   <out>/seed-<s>/metrics.jsonl            one MetricsLine per logging step and per epoch
//   <out>/seed-<s>/fusion_activations.json  FusionActivations (fusion setups only)
//   <out>/seed-<s>/adapter|head|fusion|model/  AdapterHub / Hugging Face folders
//
// See docs/ARCHITECTURE.md ("Runs and reports").

export const RUN_FORMAT = 'adapterfusion-run';
export const RUN_VERSION = 1;
export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const ACTIVATIONS_FILE = 'fusion_activations.json';

/** The setups of the paper's Table 1, in its column order. */
export const SETUPS = ['head', 'full', 'st-a', 'st-a-houlsby', 'mt-a', 'fusion-st-a', 'fusion-mt-a'] as const;
export type SetupId = (typeof SETUPS)[number];

/** Column titles of Table 1. */
export const SETUP_TITLES: Readonly<Record<SetupId, string>> = {
  head: 'Head',
  full: 'Full',
  'st-a': 'ST-A',
  'st-a-houlsby': 'ST-A Houlsby',
  'mt-a': 'MT-A',
  'fusion-st-a': 'Fusion w/ ST-A',
  'fusion-mt-a': 'Fusion w/ MT-A',
};

/** One evaluation of a split: the task's primary metric and every metric computed. */
export interface SplitResult {
  split: string;
  examples: number;
  /** The task's primary metric (e.g. 'accuracy', 'f1', 'pearson'). */
  metric: string;
  /** Its value as a fraction (accuracy 0.87), not a percentage. */
  value: number;
  metrics: Record<string, number>;
}

export interface RunRecord {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  /** Task name (registry name, or the custom task's name). */
  task: string;
  setup: SetupId;
  seed: number;
  /** What Table 1 reports: the test split when one was evaluated, else the dev split. */
  result: SplitResult;
  /** The split used for early stopping / model selection, at the restored best. */
  dev: SplitResult | null;
  /** A held-out test split, when the task has one and it was evaluated. */
  test: SplitResult | null;
  /** Adapters the run used: the trained one (ST-A), the fused ones (fusion), in order. */
  adapters: string[];
  /** Training: epochs and steps done, whether early stopping ended it, the best epoch (0-based). */
  epochs: number;
  steps: number;
  stoppedEarly: boolean;
  bestEpoch: number | null;
  trainExamples: number;
  /** Wall-clock seconds of training and of the whole run. */
  trainSeconds: number;
  wallSeconds: number;
  /** The model folder (or 'demo:<name>'), and what it is. */
  model: { path: string; layers: number; hidden: number };
  /** The resolved training options (lr, epochs, batch size, ...). */
  options: Record<string, unknown>;
  /** Output folders relative to the run folder (AdapterHub layouts): adapter, head, fusion, model. */
  outputs: Record<string, string>;
  machine: { cpu: string; threads: number; backend: string; isa: string };
  startedAt: string;
  finishedAt: string;
}

/**
 * Whether a metrics line belongs to the history up to a checkpoint taken after `steps` steps
 * (step lines carry the 0-based index of their step; the others the steps done so far).
 */
export function loggedBefore(steps: number): (line: Record<string, unknown>) => boolean {
  return (l) => typeof l.step === 'number' && (l.type === 'step' ? l.step < steps : l.step <= steps);
}

/** A line of metrics.jsonl. */
export type MetricsLine =
  | { type: 'step'; step: number; epoch: number; loss: number; lossCe: number; lossReg: number; lr: number; gradNorm: number; elapsed: number }
  | { type: 'epoch'; epoch: number; step: number; trainLoss: number; lr: number; eval?: Record<string, number>; elapsed: number }
  | { type: 'final'; dev: SplitResult | null; test: SplitResult | null; elapsed: number }
  /** Training was cancelled at this step (a checkpoint was kept; a resume appends after it). */
  | { type: 'interrupted'; step: number; elapsed: number };

/**
 * Mean fusion softmax weights of a fusion run over a split (paper Fig. 4/6): for each layer,
 * the weight of each adapter averaged over every real token of every example; null for a
 * layer without fusion. Rows of `layers` sum to 1.
 */
export interface FusionActivations {
  task: string;
  setup: SetupId;
  seed: number;
  split: string;
  examples: number;
  tokens: number;
  adapters: string[];
  layers: (number[] | null)[];
}
