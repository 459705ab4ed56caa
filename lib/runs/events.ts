// What a running command reports as it goes (progress bars, logs): plain objects, so a library
// user can drive their own UI from them.
import type { RunRecord, SetupId } from './record.js';

export type RunEvent =
  /** A seed's training starts: its total optimizer steps (epochs × steps per epoch, early stopping may cut it). */
  | { type: 'start'; task: string; setup: SetupId; seed: number; totalSteps: number; epochs: number; resumedAt: number }
  | { type: 'step'; task: string; setup: SetupId; seed: number; step: number; totalSteps: number; epoch: number; loss: number }
  | { type: 'epoch'; task: string; setup: SetupId; seed: number; epoch: number; trainLoss: number; metric: string; dev?: Record<string, number> }
  /** Evaluation, fusion analysis, saving. */
  | { type: 'phase'; task: string; setup: SetupId; seed: number; phase: 'evaluate' | 'analyse' | 'save' }
  | { type: 'done'; record: RunRecord; dir: string }
  /** A finished seed found on disk (resume): not run again. */
  | { type: 'skipped'; task: string; setup: SetupId; seed: number; dir: string }
  | { type: 'warning'; message: string };

export type RunEventHandler = (event: RunEvent) => void;
