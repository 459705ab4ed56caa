// `demo`: the paper's two-stage method end to end, offline, on a small BERT made here (seeded,
// random weights) and generated tasks (lib/demo/tasks.ts): per seed, stage 1 trains an ST-A on
// every task, a Head baseline on the low-resource target, stage 2 trains Fusion over all the
// adapters for the target; then the report (Table 1, heatmaps, HTML). Every number is measured
// by this run; the same library commands as the CLI's do the work, on files the demo writes.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createModel } from '../model/bert-model.js';
import { saveModel } from '../model/save-model.js';
import { readCustomTaskFile } from '../eval/custom-task.js';
import { DEMO_ADAPTER, DEMO_BERT_CONFIG, DEMO_SEEDS, DEMO_SETTINGS, demoModelOptions, type DemoStageSettings } from '../demo/settings.js';
import { DEMO_TARGET, makeDemoTasks, writeDemoTasks, writeDemoTokenizer, type DemoTask } from '../demo/tasks.js';
import { writeReport, type WrittenReport } from '../report/index.js';
import { throwIfAborted } from '../trainer/errors.js';
import { ensureFolder, writeJson } from './files.js';
import { trainAdapter, trainFusion, trainHead } from './commands.js';
import type { RunEventHandler } from './events.js';
import type { FusionActivations, RunRecord } from './record.js';
import { readFile } from 'node:fs/promises';

export interface DemoOptions {
  /** Output folder (default: a new folder under the system's temp folder). */
  out?: string;
  /** Default [1, 2, 3]. */
  seeds?: number[];
  threads?: number;
  signal?: AbortSignal;
  onEvent?: RunEventHandler;
  /** Called when a run starts: which of `total` runs, and what. */
  onStage?: (stage: { index: number; total: number; seed: number; task: string; setup: string }) => void;
}

export interface DemoSummary {
  out: string;
  seeds: number[];
  target: string;
  tasks: { name: string; description: string; related: boolean | 'target'; train: number; dev: number }[];
  /** Target dev accuracy per setup, per seed (fractions). */
  scores: Record<'head' | 'st-a' | 'fusion-st-a', number[]>;
  /** Mean fusion weight of each adapter over the target's dev tokens, per layer and over all layers (mean over seeds). */
  fusionWeights: { adapters: string[]; layers: number[][]; all: number[] };
  claims: { fusionBeatsStA: boolean; relatedGetMoreWeight: boolean };
  report: WrittenReport;
  seconds: number;
}

const stage = (s: DemoStageSettings) => ({ lr: s.lr, epochs: s.epochs, batchSize: s.batchSize, patience: s.patience });

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export async function demoCommand(o: DemoOptions = {}): Promise<DemoSummary> {
  const t0 = performance.now();
  const seeds = o.seeds ?? [...DEMO_SEEDS];
  const out = resolve(o.out ?? (await mkdtemp(join(tmpdir(), 'adapterfusion-demo-'))));
  await ensureFolder(out);
  const runs = join(out, 'runs');
  const common = { threads: o.threads, signal: o.signal, onEvent: o.onEvent, logEvery: 5, maxLength: DEMO_BERT_CONFIG.max_position_embeddings };
  let tasks: DemoTask[] = [];
  const records: RunRecord[] = [];
  const activations: FusionActivations[] = [];
  let index = 0;
  for (const seed of seeds) {
    throwIfAborted(o.signal, 'the demo');
    // The model and the tasks of this seed, written as a user's files would be.
    const modelDir = join(out, 'models', `seed-${seed}`);
    const model = await createModel(DEMO_BERT_CONFIG, { ...demoModelOptions(seed), ...(o.threads ? { threads: o.threads } : {}) });
    try {
      await writeDemoTokenizer(modelDir);
      await saveModel(model, modelDir);
    } finally {
      model.dispose();
    }
    tasks = makeDemoTasks(seed);
    const dataDir = join(out, 'data', `seed-${seed}`);
    await writeDemoTasks(dataDir, tasks);
    const total = seeds.length * (tasks.length + 2);
    const spec = (name: string) => readCustomTaskFile(join(dataDir, name, 'task.json'));
    const next = (task: string, setup: string) => o.onStage?.({ index: index++, total, seed, task, setup });

    // Stage 1: an adapter per task (the target's own too, as in the paper).
    for (const t of tasks) {
      next(t.name, 'ST-A');
      const settings = t.related === 'target' ? DEMO_SETTINGS.targetAdapter : DEMO_SETTINGS.sourceAdapter;
      const r = await trainAdapter({ ...common, ...stage(settings), model: modelDir, task: await spec(t.name), out: join(runs, t.name, 'st-a'), seeds: [seed], config: DEMO_ADAPTER.config as 'pfeiffer', reductionFactor: DEMO_ADAPTER.reductionFactor });
      records.push(...r.runs);
    }
    // The baseline: the target's head alone on the frozen encoder.
    next(DEMO_TARGET, 'Head');
    records.push(...(await trainHead({ ...common, ...stage(DEMO_SETTINGS.head), model: modelDir, task: await spec(DEMO_TARGET), out: join(runs, DEMO_TARGET, 'head'), seeds: [seed] })).runs);
    // Stage 2: Fusion over every adapter, a fresh head for the target.
    next(DEMO_TARGET, 'Fusion');
    const fused = await trainFusion({
      ...common,
      ...stage(DEMO_SETTINGS.fusion),
      model: modelDir,
      task: await spec(DEMO_TARGET),
      out: join(runs, DEMO_TARGET, 'fusion'),
      seeds: [seed],
      adapters: tasks.map((t) => join(runs, t.name, 'st-a')),
    });
    records.push(...fused.runs);
    activations.push(JSON.parse(await readFile(join(fused.out, `seed-${seed}`, 'fusion_activations.json'), 'utf8')) as FusionActivations);
  }

  const report = await writeReport(runs, join(out, 'report'), { html: true });
  const target = (setup: string) => records.filter((r) => r.task === DEMO_TARGET && r.setup === setup).map((r) => r.result.value);
  const scores = { head: target('head'), 'st-a': target('st-a'), 'fusion-st-a': target('fusion-st-a') };
  const adapters = activations[0].adapters;
  const layers = activations[0].layers.map((_, l) => adapters.map((_a, n) => mean(activations.map((a) => a.layers[l]?.[n] ?? 0))));
  const all = adapters.map((_a, n) => mean(layers.map((row) => row[n])));
  const related = new Set(tasks.filter((t) => t.related === true).map((t) => t.name));
  const unrelated = new Set(tasks.filter((t) => t.related === false).map((t) => t.name));
  const weightOf = (names: Set<string>) => adapters.map((a, n) => (names.has(a) ? all[n] : null)).filter((x): x is number => x !== null);
  const summary: DemoSummary = {
    out,
    seeds,
    target: DEMO_TARGET,
    tasks: tasks.map((t) => ({ name: t.name, description: t.description, related: t.related, train: t.train.length, dev: t.dev.length })),
    scores,
    fusionWeights: { adapters, layers, all },
    claims: {
      fusionBeatsStA: mean(scores['fusion-st-a']) >= mean(scores['st-a']),
      relatedGetMoreWeight: Math.min(...weightOf(related)) > Math.max(...weightOf(unrelated)),
    },
    report,
    seconds: (performance.now() - t0) / 1000,
  };
  await writeJson(join(out, 'demo_summary.json'), { ...summary, report: { paths: report.paths } });
  return summary;
}
