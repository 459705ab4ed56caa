// train-mt-adapters as a library command on a small generated BERT and the demo's tasks: the
// run folders and records (one per task and seed), the jointly fine-tuned encoder, adapters that
// load on it and give the recorded dev numbers, annealed α in the metrics log, the report's view,
// Ctrl-C then resume equal to an uninterrupted run, and Fusion w/ MT-A on the outputs.
import test from 'ava';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, loadModel, saveModel, readSafetensors, AbortError, InvalidArgumentError, IoError, Tokenizer, type TaskSpec } from '../lib/index.js';
import { readCustomTaskFile } from '../lib/eval/custom-task.js';
import { evaluateDataset } from '../lib/eval/evaluate.js';
import { DEMO_BERT_CONFIG, demoModelOptions } from '../lib/demo/settings.js';
import { DEMO_TARGET, makeDemoTasks, writeDemoTasks, writeDemoTokenizer } from '../lib/demo/tasks.js';
import * as commands from '../lib/runs/commands.js';
import { loadTaskData } from '../lib/runs/data.js';
import type { RunEvent } from '../lib/runs/events.js';
import { collectRuns } from '../lib/report/collect.js';
import { table1 } from '../lib/report/tables.js';
import { mtAdapterFolder, mtAdapterFolders, mtModelFolder, trainFusionOnMtAdapters, trainMtAdapters, type MtAdaptersCommandOptions } from '../lib/runs/mt-command.js';

const root = mkdtempSync(join(tmpdir(), 'af-mt-command-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const modelDir = join(root, 'base-model');
const dataDir = join(root, 'data');
const SEEDS = [1, 2];
const EPOCHS = 3;
const BATCH = 8;
const SMALL_TRAIN = 24;

interface Setup {
  specs: TaskSpec[];
  names: string[];
  target: TaskSpec;
  /** ceil(Σ train sizes / batch). */
  stepsPerEpoch: number;
}

// One base model and four tasks: three sources (the first with fewer training rows, so that α
// changes the sampling probabilities; the second with a labelled test split) and the target.
const ready: Promise<Setup> = (async () => {
  const model = await createModel(DEMO_BERT_CONFIG, demoModelOptions(1));
  await writeDemoTokenizer(modelDir);
  await saveModel(model, modelDir);
  model.dispose();
  const tasks = makeDemoTasks(1, { sourceTrain: 64, sourceDev: 32, targetTrain: 32, targetDev: 32 });
  const sources = tasks.filter((t) => t.name !== DEMO_TARGET).slice(0, 3);
  sources[0].train = sources[0].train.slice(0, SMALL_TRAIN);
  await writeDemoTasks(dataDir, [...sources, tasks.find((t) => t.name === DEMO_TARGET)!]);
  const withTest = join(dataDir, sources[1].name);
  copyFileSync(join(withTest, 'dev.tsv'), join(withTest, 'test.tsv'));
  const json = JSON.parse(readFileSync(join(withTest, 'task.json'), 'utf8'));
  json.files.test = 'test.tsv';
  writeFileSync(join(withTest, 'task.json'), JSON.stringify(json));
  const specs = await Promise.all(sources.map((s) => readCustomTaskFile(join(dataDir, s.name, 'task.json'))));
  const target = await readCustomTaskFile(join(dataDir, DEMO_TARGET, 'task.json'));
  const total = sources.reduce((a, s) => a + s.train.length, 0);
  return { specs, names: specs.map((s) => s.name), target, stepsPerEpoch: Math.ceil(total / BATCH) };
})();

const options = (s: Setup, out: string, extra: Partial<MtAdaptersCommandOptions> = {}): MtAdaptersCommandOptions => ({
  model: modelDir,
  out,
  tasks: s.specs,
  seeds: SEEDS,
  epochs: EPOCHS,
  lr: 1e-3,
  batchSize: BATCH,
  maxLength: 64,
  threads: 1,
  logEvery: 2,
  alphaStart: 0.9,
  alphaEnd: 0.1,
  ...extra,
});

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const readLines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

// The uninterrupted run, shared by the tests below.
const mainOut = join(root, 'mt');
const mainEvents: RunEvent[] = [];
const mainRun = ready.then((s) => trainMtAdapters(options(s, mainOut, { onEvent: (e) => mainEvents.push(e) })));

test.serial('writes the encoder, one adapter + head and one mt-a record per task and seed', async (t) => {
  const s = await ready;
  const result = await mainRun;
  t.is(result.out, mainOut);
  t.deepEqual(result.runs.map((r) => [r.seed, r.task]), SEEDS.flatMap((seed) => s.names.map((n) => [seed, n])));
  for (const seed of SEEDS) {
    const dir = join(mainOut, `seed-${seed}`);
    t.deepEqual(readdirSync(dir).sort(), [...s.names, 'metrics.jsonl', 'model'].sort(), 'no checkpoints left');
    for (const f of ['config.json', 'model.safetensors', 'vocab.txt']) t.true(existsSync(join(dir, 'model', f)), f);
    for (const [i, name] of s.names.entries()) {
      for (const f of ['adapter_config.json', 'adapter.safetensors', 'head_config.json', 'model_head.safetensors']) t.true(existsSync(join(dir, name, 'adapter', f)), f);
      const r = readJson(join(dir, name, 'run.json'));
      t.deepEqual(r, result.runs.find((x) => x.seed === seed && x.task === name));
      t.is(r.setup, 'mt-a');
      t.is(r.seed, seed);
      t.deepEqual(r.adapters, [name]);
      t.is(r.model.path, join(dir, 'model'));
      t.deepEqual(r.outputs, { adapter: 'adapter', head: 'adapter', model: '../model' });
      t.deepEqual(r.options.tasks, s.names);
      t.is(r.options.alphaStart, 0.9);
      t.is(r.options.alphaEnd, 0.1);
      t.is(r.options.baseModel, modelDir);
      t.is(r.options.customTask.name, name);
      t.is(r.epochs, EPOCHS);
      t.is(r.steps, EPOCHS * s.stepsPerEpoch);
      t.is(r.trainExamples, i === 0 ? SMALL_TRAIN : 64);
      // Task 1 has a labelled test split: Table 1 reports it; the others report dev.
      t.is(r.result.split, i === 1 ? 'test' : 'dev');
      t.is(r.test === null, i !== 1);
      t.true(r.dev.value >= 0 && r.dev.value <= 1);
    }
  }
  // Progress events: one bar per seed, every step, a done per record.
  const starts = mainEvents.filter((e) => e.type === 'start');
  t.deepEqual(starts.map((e) => [e.seed, e.totalSteps, e.resumedAt]), SEEDS.map((seed) => [seed, EPOCHS * s.stepsPerEpoch, 0]));
  t.is(mainEvents.filter((e) => e.type === 'step').length, SEEDS.length * EPOCHS * s.stepsPerEpoch);
  t.is(mainEvents.filter((e) => e.type === 'epoch').length, SEEDS.length * EPOCHS);
  t.deepEqual(mainEvents.filter((e) => e.type === 'phase' && e.seed === 1).map((e) => e.type === 'phase' && e.phase), ['evaluate', 'save']);
  t.deepEqual(mainEvents.filter((e) => e.type === 'done').map((e) => e.type === 'done' && e.dir), result.runs.map((r) => join(mainOut, `seed-${r.seed}`, r.task)));
});

test.serial('the saved encoder was fine-tuned, loads, and the adapters on it give the recorded dev values', async (t) => {
  const s = await ready;
  const result = await mainRun;
  const base = await readSafetensors(join(modelDir, 'model.safetensors'));
  const seen = new Map<string, Buffer>();
  for (const seed of SEEDS) {
    const dir = join(mainOut, `seed-${seed}`, 'model');
    const tuned = await readSafetensors(join(dir, 'model.safetensors'));
    t.deepEqual(tuned.tensors.map((x) => x.name).sort(), base.tensors.map((x) => x.name).sort(), 'the encoder alone: no adapter or head tensors');
    const bytes = (d: unknown) => Buffer.from((d as Float32Array).buffer, (d as Float32Array).byteOffset, (d as Float32Array).byteLength);
    const changed = tuned.tensors.filter((x) => !bytes(x.data).equals(bytes(base.tensors.find((b) => b.name === x.name)!.data)));
    t.true(changed.length > tuned.tensors.length / 2, `${changed.length} of ${tuned.tensors.length} encoder tensors changed`);
    seen.set(String(seed), readFileSync(join(dir, 'model.safetensors')));

    const model = await loadModel(dir, { threads: 1 });
    const tokenizer = await Tokenizer.fromPretrained(dir);
    try {
      for (const spec of s.specs) {
        const folder = await mtAdapterFolder(mainOut, spec.name, seed);
        const name = await model.loadAdapter(folder);
        const head = await model.loadHead(folder);
        t.is(name, spec.name);
        await model.setActiveAdapters(name, { head });
        const data = await loadTaskData(spec, tokenizer, { maxLength: 64 });
        const metrics = await evaluateDataset(model, data.dev, { batchSize: BATCH });
        const record = result.runs.find((r) => r.seed === seed && r.task === spec.name)!;
        t.true(Math.abs((metrics[spec.metric] as number) - record.dev!.value) < 1e-6, `${spec.name} seed ${seed}: ${metrics[spec.metric]} vs ${record.dev!.value}`);
      }
    } finally {
      model.dispose();
    }
  }
  t.false(seen.get('1')!.equals(seen.get('2')!), 'each seed fine-tunes its own encoder');

  // `eval --run` on a task folder reads the shared encoder through outputs.model.
  const rec = result.runs.find((r) => r.seed === 2 && r.task === s.names[0])!;
  const ev = await commands.evaluate({ run: join(mainOut, 'seed-2', s.names[0]), threads: 1, batchSize: BATCH, maxLength: 64 });
  t.true(Math.abs(ev.value - rec.dev!.value) < 1e-6, `${ev.value} vs ${rec.dev!.value}`);
});

test.serial('metrics.jsonl: α anneals from alphaStart to alphaEnd, with the probabilities and counts drawn', async (t) => {
  const s = await ready;
  await mainRun;
  const lines = readLines(join(mainOut, 'seed-1', 'metrics.jsonl'));
  const epochs = lines.filter((l) => l.type === 'epoch');
  t.deepEqual(epochs.map((l) => l.epoch), [0, 1, 2]);
  const alphas = epochs.map((l) => l.alpha as number);
  t.true(Math.abs(alphas[0] - 0.9) < 1e-12 && Math.abs(alphas[EPOCHS - 1] - 0.1) < 1e-12, alphas.join(','));
  for (let e = 1; e < EPOCHS; e++) t.true(alphas[e] < alphas[e - 1]);
  // As α falls the small task is drawn with a higher probability (p ∝ N^α flattens).
  const small = epochs.map((l) => l.probabilities[s.names[0]] as number);
  for (let e = 1; e < EPOCHS; e++) t.true(small[e] > small[e - 1], small.join(','));
  for (const l of epochs) {
    const p = Object.values(l.probabilities as Record<string, number>);
    t.true(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    t.deepEqual(Object.keys(l.counts), s.names);
    t.is(Object.values(l.counts as Record<string, number>).reduce((a, b) => a + b, 0), s.stepsPerEpoch);
    t.is(typeof l.eval.mean, 'number');
  }
  const steps = lines.filter((l) => l.type === 'step');
  t.true(steps.length > 0 && steps.every((l) => s.names.includes(l.task) && l.step % 2 === 0));
  t.is(lines[lines.length - 1].type, 'final');
  // Each task folder gets its share in the single-task format (the report's curves).
  const own = readLines(join(mainOut, 'seed-1', s.names[0], 'metrics.jsonl'));
  t.is(own.filter((l) => l.type === 'epoch' && l.eval).length, EPOCHS);
  t.true(own.filter((l) => l.type === 'step').length > 0);
  t.is(own[own.length - 1].type, 'final');
});

test.serial('the report collects one MT-A run per task and seed (model/ and checkpoints/ are not runs)', async (t) => {
  const s = await ready;
  await mainRun;
  const { runs, warnings } = await collectRuns(mainOut);
  t.deepEqual(warnings, []);
  t.is(runs.length, s.names.length * SEEDS.length);
  t.true(runs.every((r) => r.record.setup === 'mt-a' && r.metrics.length > 0));
  const table = table1(runs);
  t.deepEqual(table.columns.map((c) => c.title), ['MT-A']);
  t.deepEqual(table.rows.map((r) => r.task).sort(), [...s.names].sort());
  t.true(table.rows.every((r) => r.cells['mt-a']?.n === SEEDS.length));
});

test.serial('Ctrl-C then resume ends bit-identical to an uninterrupted run', async (t) => {
  const s = await ready;
  await mainRun;
  const out = join(root, 'mt-resume');
  const ac = new AbortController();
  const abortAt = s.stepsPerEpoch + 5; // inside the second epoch
  const first = trainMtAdapters(options(s, out, { seeds: [1], signal: ac.signal, onEvent: (e) => e.type === 'step' && e.step === abortAt && ac.abort() }));
  await t.throwsAsync(first, { instanceOf: AbortError });
  const dir = join(out, 'seed-1');
  t.true(existsSync(join(dir, 'checkpoints')));
  t.false(s.names.some((n) => existsSync(join(dir, n, 'run.json'))), 'an interrupted seed has no records');
  await t.throwsAsync(trainMtAdapters(options(s, out, { seeds: [1] })), { instanceOf: InvalidArgumentError, message: /already holds a run/ });

  const events: RunEvent[] = [];
  const resumed = await trainMtAdapters(options(s, out, { seeds: [1], resume: true, onEvent: (e) => events.push(e) }));
  const start = events.find((e) => e.type === 'start');
  t.is(start?.type === 'start' ? start.resumedAt : -1, abortAt);
  t.is(events.filter((e) => e.type === 'step').length, EPOCHS * s.stepsPerEpoch - abortAt);
  const ref = join(mainOut, 'seed-1');
  t.true(readFileSync(join(dir, 'model', 'model.safetensors')).equals(readFileSync(join(ref, 'model', 'model.safetensors'))));
  for (const n of s.names) {
    for (const f of ['adapter.safetensors', 'model_head.safetensors']) t.true(readFileSync(join(dir, n, 'adapter', f)).equals(readFileSync(join(ref, n, 'adapter', f))), `${n}/${f}`);
  }
  const main = (await mainRun).runs.filter((r) => r.seed === 1);
  t.deepEqual(resumed.runs.map((r) => r.dev), main.map((r) => r.dev));
  const log = readLines(join(dir, 'metrics.jsonl'));
  t.deepEqual(log.filter((l) => l.type === 'interrupted').map((l) => l.step), [abortAt]);
  t.deepEqual(log.filter((l) => l.type === 'epoch').map((l) => l.epoch), [0, 1, 2]);

  // Resuming a finished seed trains nothing and returns its records.
  const again: RunEvent[] = [];
  const skipped = await trainMtAdapters(options(s, out, { seeds: [1], resume: true, onEvent: (e) => again.push(e) }));
  t.deepEqual(again.map((e) => e.type), ['skipped', 'skipped', 'skipped']);
  t.deepEqual(skipped.runs, resumed.runs);
  // ... unless it names other tasks than the records were trained on.
  await t.throwsAsync(trainMtAdapters(options(s, out, { seeds: [1], resume: true, tasks: [s.specs[0], s.specs[1]] })), { instanceOf: InvalidArgumentError, message: /needs the same tasks/ });
});

test.serial('Fusion w/ MT-A runs on the MT-A encoder of the seed with that seed\'s adapters', async (t) => {
  const s = await ready;
  await mainRun;
  const fusionCommon = { task: s.target, epochs: 2, lr: 1e-3, batchSize: BATCH, maxLength: 64, threads: 1 };
  const out = join(root, 'fusion-mt-a');
  const model = await mtModelFolder(mainOut, 1);
  const adapters = await mtAdapterFolders(mainOut, 1);
  t.deepEqual(adapters, s.names.map((n) => join(mainOut, 'seed-1', n, 'adapter')));
  const r = await commands.trainFusion({ ...fusionCommon, model, out, seeds: [1], adapters, setup: 'fusion-mt-a' });
  const rec = r.runs[0];
  t.is(rec.setup, 'fusion-mt-a');
  t.is(rec.task, DEMO_TARGET);
  t.deepEqual(rec.adapters, s.names);
  t.is(rec.model.path, model);
  t.true(existsSync(join(out, 'seed-1', 'fusion', 'adapter_fusion_config.json')));

  // Every seed on its own encoder and adapters, in one call; a subset of the tasks.
  const both = join(root, 'fusion-mt-a-seeds');
  const sub = s.names.slice(1);
  const r2 = await trainFusionOnMtAdapters({ ...fusionCommon, mtOut: mainOut, mtTasks: sub, out: both, seeds: SEEDS });
  t.deepEqual(r2.runs.map((x) => x.seed), SEEDS);
  for (const x of r2.runs) {
    t.is(x.setup, 'fusion-mt-a');
    t.deepEqual(x.adapters, sub);
    t.is(x.model.path, join(mainOut, `seed-${x.seed}`, 'model'));
    t.deepEqual(x.options.adapterDirs, sub.map((n) => join(mainOut, `seed-${x.seed}`, n, 'adapter')));
  }
  const { runs, warnings } = await collectRuns(root);
  t.deepEqual(warnings, []);
  t.is(runs.filter((x) => x.record.setup === 'fusion-mt-a').length, 3);
  await t.throwsAsync(mtAdapterFolders(mainOut, 7), { instanceOf: IoError });
  await t.throwsAsync(mtModelFolder(mainOut, 7), { instanceOf: IoError });
  await t.throwsAsync(trainFusionOnMtAdapters({ ...fusionCommon, mtOut: mainOut, out: both, seeds: [1] }), { instanceOf: InvalidArgumentError, message: /already holds a run/ });
});

test('bad task lists are refused before anything is trained', async (t) => {
  const s = await ready;
  const out = join(root, 'refused');
  const bad: [Partial<MtAdaptersCommandOptions>, new (...a: never[]) => Error, RegExp][] = [
    [{ tasks: [s.specs[0]] }, InvalidArgumentError, /several tasks jointly, got 1/],
    [{ tasks: [s.specs[0], s.specs[0]] }, InvalidArgumentError, /twice/],
    [{ tasks: [s.specs[0], { ...s.specs[1], name: 'model' }] }, InvalidArgumentError, /clash with the run folder's own "model"/],
    [{ task: s.specs[0] }, TypeError, /options.task is not used/],
    [{ config: 'lora' as 'pfeiffer' }, TypeError, /options.config/],
    [{ tasks: [s.specs[0], 'no-such-task'] }, InvalidArgumentError, /unknown task "no-such-task"/],
  ];
  for (const [extra, type, message] of bad) await t.throwsAsync(trainMtAdapters(options(s, out, extra)), { instanceOf: type, message });
  t.false(existsSync(out));
});

test.serial('patience null trains every epoch and keeps the best; the adapter config is passed on', async (t) => {
  const s = await ready;
  const out = join(root, 'mt-houlsby');
  const r = await trainMtAdapters(options(s, out, { seeds: [3], epochs: 2, patience: null, config: 'houlsby', reductionFactor: 4 }));
  t.is(r.runs.length, s.names.length);
  for (const rec of r.runs) {
    t.is(rec.epochs, 2);
    t.false(rec.stoppedEarly);
    t.true(rec.bestEpoch === 0 || rec.bestEpoch === 1);
    t.is(rec.options.patience, null);
    t.is(rec.options.earlyStopping, null);
    t.is(rec.options.restoreBest, true);
    t.is(rec.options.adapterConfig, 'houlsby');
    t.is(rec.options.reductionFactor, 4);
    const cfg = readJson(join(out, 'seed-3', rec.task, 'adapter', 'adapter_config.json'));
    t.is(cfg.config.reduction_factor, 4);
    t.is(cfg.config.mh_adapter, true, 'Houlsby: an adapter after attention too');
  }
});
