// Writes hand-made run folders (run.json, metrics.jsonl, fusion_activations.json) for the report
// tests, in the formats of lib/runs/record.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FusionActivations, MetricsLine, RunRecord, SetupId } from '../../lib/runs/record.js';

export interface RunSpec {
  task: string;
  setup: SetupId;
  seed: number;
  /** result.value, a fraction. */
  value: number;
  metric?: string;
  finishedAt?: string;
  /** Layers of fusion_activations.json (fusion setups); omitted = no file. */
  activations?: { adapters: string[]; layers: (number[] | null)[] };
  /** Written to metrics.jsonl as is when given; otherwise a small made-up log. */
  metricsText?: string;
  /** Sub-folder under the runs root (default <task>/<setup>/seed-<seed>). */
  folder?: string;
}

export function makeRecord(spec: RunSpec): RunRecord {
  const metric = spec.metric ?? 'accuracy';
  const split = { split: 'test', examples: 100, metric, value: spec.value, metrics: { [metric]: spec.value } };
  return {
    format: 'adapterfusion-run',
    version: 1,
    task: spec.task,
    setup: spec.setup,
    seed: spec.seed,
    result: split,
    dev: { ...split, split: 'dev', value: spec.value + 0.01, metrics: { [metric]: spec.value + 0.01 } },
    test: split,
    adapters: spec.activations?.adapters ?? [],
    epochs: 3,
    steps: 30,
    stoppedEarly: false,
    bestEpoch: 2,
    trainExamples: 80,
    trainSeconds: 12.5,
    wallSeconds: 14,
    model: { path: 'demo:tiny', layers: 2, hidden: 32 },
    options: { lr: 1e-4, epochs: 3 },
    outputs: {},
    machine: { cpu: 'test', threads: 1, backend: 'cpu', isa: 'avx2' },
    startedAt: '2024-05-01T10:00:00.000Z',
    finishedAt: spec.finishedAt ?? '2024-05-01T10:05:00.000Z',
  };
}

/** A plausible metrics log: 10 steps per epoch with falling loss, an eval per epoch. */
export function makeMetrics(spec: RunSpec): string {
  const metric = spec.metric ?? 'accuracy';
  const lines: MetricsLine[] = [];
  for (let epoch = 0; epoch < 3; epoch++) {
    for (let b = 0; b < 10; b++) {
      const step = epoch * 10 + b;
      const loss = 1.2 / (1 + step * 0.15) + 0.02 * spec.seed;
      lines.push({ type: 'step', step, epoch, loss, lossCe: loss, lossReg: 0, lr: 1e-4, gradNorm: 1, elapsed: step * 0.4 });
    }
    const v = spec.value - 0.05 * (2 - epoch);
    lines.push({ type: 'epoch', epoch, step: epoch * 10 + 9, trainLoss: 0.5, lr: 1e-4, eval: { [metric]: v }, elapsed: epoch * 4 + 4 });
  }
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** Writes one run folder under `root`; returns its path. */
export async function writeRun(root: string, spec: RunSpec): Promise<string> {
  const dir = join(root, spec.folder ?? join(spec.task.replace(/[^A-Za-z0-9_-]/g, '_'), spec.setup, `seed-${spec.seed}`));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'run.json'), JSON.stringify(makeRecord(spec), null, 2));
  await writeFile(join(dir, 'metrics.jsonl'), spec.metricsText ?? makeMetrics(spec));
  if (spec.activations) {
    const acts: FusionActivations = {
      task: spec.task,
      setup: spec.setup,
      seed: spec.seed,
      split: 'dev',
      examples: 50,
      tokens: 1000,
      adapters: spec.activations.adapters,
      layers: spec.activations.layers,
    };
    await writeFile(join(dir, 'fusion_activations.json'), JSON.stringify(acts));
  }
  return dir;
}
