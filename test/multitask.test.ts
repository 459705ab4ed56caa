// Multi-task adapters (MT-A) on a tiny random BERT: the annealed sampler (p ∝ N^α, α from 1 to
// 0.2), the drawn counts of a real run, a step leaving the other tasks' adapters and heads
// untouched, determinism, bit-exact resume after an abort, per-tensor Adam step counts in
// checkpoints, and option checks.
import test from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createModel, type BertModel } from '../lib/index.js';
import {
  MultiTaskTrainer,
  annealedAlpha,
  drawTask,
  loadCheckpoint,
  saveCheckpoint,
  taskBatchIndices,
  taskProbabilities,
  type Example,
  type MultiTaskStepInfo,
  type MultiTaskTrainerOptions,
} from '../lib/trainer/index.js';
import { readSafetensors, writeSafetensors } from '../lib/safetensors.js';
import { allParams, changed, lcg, tempDir as makeTempDir } from './helpers/training.js';

// ---------------------------------------------------------------- helpers

/** Binary task: label 1 iff `marker` occurs. Ids 10..89, lengths 4..9. */
function synthetic(n: number, seed: number, marker: number): Example[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => {
    const len = 4 + Math.floor(r() * 6);
    const ids = new Int32Array(len);
    for (let j = 0; j < len; j++) ids[j] = 10 + Math.floor(r() * 80);
    ids[0] = 2;
    const label = r() < 0.5 ? 1 : 0;
    if (label) ids[1 + Math.floor(r() * (len - 1))] = marker;
    return { inputIds: ids, label };
  });
}

/** Regression: target = (number of 7s) − 1. */
function regression(n: number, seed: number): Example[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => {
    const len = 5 + Math.floor(r() * 4);
    const ids = new Int32Array(len);
    for (let j = 0; j < len; j++) ids[j] = 10 + Math.floor(r() * 80);
    const k = Math.floor(r() * 3);
    for (let j = 0; j < k; j++) ids[1 + j * 2] = 7;
    return { inputIds: ids, label: k - 1 };
  });
}

// Tiny, with dropout, so that dropout seeds matter.
const CONFIG = {
  vocab_size: 97,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 16,
  type_vocab_size: 2,
  hidden_act: 'gelu' as const,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  pad_token_id: 0,
};

/** One adapter and one head per task: a, b (binary) and r (regression) by default. */
async function mtModel(tasks: readonly string[] = ['a', 'b'], regressionTask?: string): Promise<BertModel> {
  const m = await createModel(CONFIG, { seed: 11 });
  for (const [i, t] of tasks.entries()) {
    await m.addAdapter(t, { reductionFactor: 4, seed: 10 + i });
    await m.addClassificationHead(`h${t}`, { numLabels: t === regressionTask ? 1 : 2, seed: 20 + i });
  }
  await m.setActiveAdapters(tasks[0], { head: `h${tasks[0]}` });
  return m;
}

const tempDir = (t: { teardown(fn: () => unknown): void }): Promise<string> => makeTempDir(t, 'af-multitask-');

/** Pearson's χ² of observed counts against probabilities. */
function chiSquare(counts: readonly number[], p: ArrayLike<number>): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => s + (c - n * p[i]) ** 2 / (n * p[i]), 0);
}

// χ² with 2 degrees of freedom: P(χ² > 13.82) = 0.001.
const CHI2_2DF_999 = 13.82;

const module = (name: string, task: string) => name.includes(`.adapters.${task}.`) || name.startsWith(`heads.h${task}.`);
const isEncoder = (name: string) => !name.includes('.adapters.') && !name.startsWith('heads.');

// ---------------------------------------------------------------- the sampler

test('sampler: α anneals from 1 to 0.2 (Stickland & Murray) and p_i ∝ N_i^α', (t) => {
  const E = 5;
  for (let e = 1; e <= E; e++) t.true(Math.abs(annealedAlpha(e - 1, E) - (1 - (0.8 * (e - 1)) / (E - 1))) < 1e-15, `epoch ${e}`);
  t.is(annealedAlpha(0, 1), 1);
  t.is(annealedAlpha(0, 3, 0.5, 0), 0.5);
  t.is(annealedAlpha(2, 3, 0.5, 0), 0);
  const sizes = [100, 400, 1600];
  const p1 = taskProbabilities(sizes, 1);
  [1 / 21, 4 / 21, 16 / 21].forEach((want, i) => t.true(Math.abs(p1[i] - want) < 1e-15));
  const pHalf = taskProbabilities(sizes, 0.5); // 10 : 20 : 40
  [1 / 7, 2 / 7, 4 / 7].forEach((want, i) => t.true(Math.abs(pHalf[i] - want) < 1e-15));
  t.deepEqual(Array.from(taskProbabilities(sizes, 0)), [1 / 3, 1 / 3, 1 / 3]);
  const big = taskProbabilities([1e6, 2e6], 400); // no overflow
  t.true(big[1] > 0.999999 && Number.isFinite(big[0]));

  // Drawn frequencies: for each epoch's α the counts fit N^α (χ² below the 0.1% quantile),
  // and they clearly do not fit the other epochs' α (χ² far above it).
  const steps = 30000;
  const alphas = [0, 1, 2].map((e) => annealedAlpha(e, 3));
  t.deepEqual(alphas.map((a) => Math.round(a * 10) / 10), [1, 0.6, 0.2]);
  const probs = alphas.map((a) => taskProbabilities(sizes, a));
  for (let e = 0; e < 3; e++) {
    const counts = [0, 0, 0];
    for (let s = 0; s < steps; s++) counts[drawTask(probs[e], 7, e, s)]++;
    const own = chiSquare(counts, probs[e]);
    t.true(own < CHI2_2DF_999, `epoch ${e}: χ² ${own.toFixed(2)} against its own α (counts ${counts})`);
    for (let other = 0; other < 3; other++) {
      if (other === e) continue;
      const x = chiSquare(counts, probs[other]);
      t.true(x > 100 * CHI2_2DF_999, `epoch ${e} counts against epoch ${other}'s α: χ² ${x.toFixed(0)}`);
    }
    t.true(chiSquare(counts, [1 / 3, 1 / 3, 1 / 3]) > 100 * CHI2_2DF_999, 'not uniform');
  }
  // A pure function of (seed, epoch, step).
  const seq = (seed: number, epoch: number) => Array.from({ length: 64 }, (_, s) => drawTask(probs[2], seed, epoch, s));
  t.deepEqual(seq(7, 2), seq(7, 2));
  t.notDeepEqual(seq(7, 2), seq(8, 2));
  t.notDeepEqual(seq(7, 2), seq(7, 1));
  // A task of probability 0 is never drawn.
  for (let s = 0; s < 1000; s++) t.not(drawTask([0.5, 0, 0.5], 3, 0, s), 1);
  // Task streams: each pass is a permutation of the task's examples, reshuffled per pass.
  const pass = (p: number) => [0, 1, 2].flatMap((b) => Array.from(taskBatchIndices(10, 4, 5, 1, 3 * p + b)));
  t.deepEqual([...pass(0)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.deepEqual([...pass(1)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.notDeepEqual(pass(0), pass(1));
  t.is(taskBatchIndices(10, 4, 5, 1, 2).length, 2); // the last batch of a pass is short
});

// ---------------------------------------------------------------- training

test('MT-A run: counts per epoch follow N^α; a step moves the encoder and its own task only', async (t) => {
  const model = await mtModel(['a', 'b', 'c']);
  t.teardown(() => model.dispose());
  const sizes = [30, 120, 480];
  const sets = [synthetic(sizes[0], 1, 5), synthetic(sizes[1], 2, 6), synthetic(sizes[2], 3, 8)];
  const devs = [synthetic(20, 11, 5), synthetic(20, 12, 6), synthetic(20, 13, 8)];
  const tasks = ['a', 'b', 'c'].map((n, i) => ({ name: `task-${n}`, adapter: n, head: `h${n}`, trainSet: sets[i], evalSet: devs[i] }));
  // Snapshots around the first steps: which parameters does one step move?
  let prev = await allParams(model);
  const moved: { task: string; names: string[] }[] = [];
  const steps: MultiTaskStepInfo[] = [];
  const trainer = new MultiTaskTrainer(model, {
    tasks,
    lr: 1e-3,
    epochs: 3,
    batchSize: 1,
    seed: 3,
    weightDecay: 0.01,
    onStep: async (s) => {
      steps.push(s);
      if (s.step >= 40) return;
      const now = await allParams(model);
      moved.push({ task: s.task, names: changed(prev, now) });
      prev = now;
    },
  });
  t.is(trainer.stepsPerEpoch(), 630);
  const result = await trainer.train();
  t.is(result.steps, 3 * 630);
  t.is(result.epochs, 3);

  // Every parameter is trainable: encoder and all three tasks' adapters and heads.
  t.true(model.parameters().every((p) => p.trainable));
  // One step: the encoder and the drawn task's adapter and head move; the others do not.
  const names = model.parameters().map((p) => p.name);
  const matrices = names.filter((n) => isEncoder(n) && n.endsWith('.weight') && !n.includes('LayerNorm'));
  t.true(new Set(moved.map((m) => m.task)).size === 3, 'the first steps draw every task');
  for (const [k, m] of moved.entries()) {
    const own = m.task.slice('task-'.length);
    const where = `step ${k} (${m.task})`;
    t.deepEqual(m.names.filter((n) => !isEncoder(n) && !module(n, own)), [], `${where}: other tasks' modules moved`);
    t.deepEqual(names.filter((n) => module(n, own) && !m.names.includes(n)), [], `${where}: its own adapter/head did not move`);
    t.deepEqual(matrices.filter((n) => !m.names.includes(n)), [], `${where}: the shared encoder did not move`);
  }

  // Counts: exactly the pure sampler's draws, and statistically N^α.
  const alphas = result.history.map((h) => h.alpha);
  t.deepEqual(alphas.map((a) => Math.round(a * 10) / 10), [1, 0.6, 0.2]);
  const probs = alphas.map((a) => taskProbabilities(sizes, a));
  for (let e = 0; e < 3; e++) {
    const counts = tasks.map((x) => result.counts[e][x.name]);
    const replay = [0, 0, 0];
    for (let s = 0; s < 630; s++) replay[drawTask(trainer.sampling(e).probabilities, 3, e, s)]++;
    t.deepEqual(counts, replay);
    t.deepEqual(steps.filter((s) => s.epoch === e).map((s) => s.task), steps.filter((s) => s.epoch === e).map((s) => tasks[drawTask(probs[e], 3, e, s.batch)].name));
    t.is(counts.reduce((a, b) => a + b, 0), 630);
    const own = chiSquare(counts, probs[e]);
    t.true(own < CHI2_2DF_999, `epoch ${e}: χ² ${own.toFixed(2)} (counts ${counts})`);
    for (let other = 0; other < 3; other++) {
      if (other !== e) t.true(chiSquare(counts, probs[other]) > 3 * CHI2_2DF_999, `epoch ${e} vs α of epoch ${other}`);
    }
    t.deepEqual(Object.values(result.history[e].probabilities), Array.from(probs[e]));
  }
  // Records: per-task histories, and the score is the mean dev accuracy.
  for (const h of result.history) {
    const accs = tasks.map((x) => h.tasks[x.name].eval!.accuracy!);
    t.true(Math.abs(h.score! - accs.reduce((a, b) => a + b, 0) / 3) < 1e-12);
    for (const x of tasks) t.is(h.tasks[x.name].steps, h.counts[x.name]);
  }
  t.deepEqual(result.taskHistories['task-b'], result.history.map((h) => h.tasks['task-b']));
  // It learns: the largest task (drawn most) fits its training data and its dev set.
  const c = result.taskHistories['task-c'];
  t.true(c[2].trainLoss < 0.5 * c[0].trainLoss, `task-c train loss ${c.map((h) => h.trainLoss.toFixed(3)).join(' → ')}`);
  t.true(c[2].eval!.accuracy! >= 0.9, `task-c dev accuracy ${c[2].eval!.accuracy}`);
});

test('determinism: the same seed gives bit-identical weights (classification + regression tasks)', async (t) => {
  const run = async (seed: number) => {
    const model = await mtModel(['a', 'r'], 'r');
    // A lazy dataset that logs which examples are read.
    const examples = synthetic(24, 1, 5);
    const reads: number[] = [];
    const lazy = { length: examples.length, get: (i: number) => (reads.push(i), examples[i]) };
    const tasks = [
      { name: 'a', adapter: 'a', head: 'ha', trainSet: lazy },
      { name: 'r', adapter: 'r', head: 'hr', trainSet: regression(40, 2), evalSet: regression(10, 3) },
    ];
    const drawn: string[] = [];
    const result = await new MultiTaskTrainer(model, { tasks, lr: 3e-3, epochs: 2, batchSize: 4, seed, warmupRatio: 0.1, onStep: (s) => void drawn.push(s.task) }).train();
    const p = await allParams(model);
    model.dispose();
    return { p, drawn, result, reads };
  };
  const a = await run(5);
  // Task a's batches are its stream's: validation and fingerprint read it in order once each,
  // then training reads batch k = 0, 1, ... of the stream, reshuffled after each pass of 6.
  const drawnA = a.drawn.filter((x) => x === 'a').length;
  t.true(drawnA > 6, `${drawnA} batches of task a: more than one pass`);
  const stream = Array.from({ length: drawnA }, (_, k) => Array.from(taskBatchIndices(24, 4, 5, 0, k))).flat();
  const scan = Array.from({ length: 24 }, (_, i) => i);
  t.deepEqual(a.reads, [...scan, ...scan, ...stream]);
  const b = await run(5);
  t.deepEqual(changed(a.p, b.p), []);
  t.deepEqual(a.drawn, b.drawn);
  t.deepEqual(a.result, b.result);
  t.is(a.drawn.length, 2 * 16);
  t.true(typeof a.result.history[1].tasks.r.eval!.pearson === 'number');
  t.is(a.result.history[1].score, a.result.history[1].tasks.r.eval!.pearson);
  t.false('eval' in a.result.history[1].tasks.a); // no evalSet
  const c = await run(6);
  t.true(changed(a.p, c.p).length > 0);
  t.notDeepEqual(a.drawn, c.drawn);
});

// ---------------------------------------------------------------- checkpoints and resume

test('resume after an abort (inside an epoch and at its end) equals uninterrupted training bit for bit', async (t) => {
  const sets = [synthetic(20, 1, 5), synthetic(44, 2, 6)];
  const opts = (dir: string, extra: Partial<MultiTaskTrainerOptions> = {}): MultiTaskTrainerOptions => ({
    tasks: [
      { name: 'a', adapter: 'a', head: 'ha', trainSet: sets[0], evalSet: synthetic(12, 3, 5) },
      { name: 'b', adapter: 'b', head: 'hb', trainSet: sets[1], evalSet: synthetic(12, 4, 6) },
    ],
    lr: 3e-3,
    epochs: 3,
    batchSize: 4,
    seed: 9,
    weightDecay: 0.01,
    warmupRatio: 0.1,
    earlyStopping: { patience: 100 },
    checkpointDir: dir,
    ...extra,
  });
  // Uninterrupted.
  const full = await mtModel();
  t.teardown(() => full.dispose());
  const fullSteps: MultiTaskStepInfo[] = [];
  const want = await new MultiTaskTrainer(full, opts(await tempDir(t), { onStep: (s) => void fullSteps.push(s) })).train();
  const wantParams = await allParams(full);
  t.is(want.steps, 3 * 16);
  t.true(want.restoredBest);

  // Aborted inside epoch 2 (index 1), after its 5th step; resumed with a fresh model.
  const dir = await tempDir(t);
  const first = await mtModel();
  t.teardown(() => first.dispose());
  const steps: MultiTaskStepInfo[] = [];
  const ac = new AbortController();
  const err = await t.throwsAsync(
    new MultiTaskTrainer(first, opts(dir, { signal: ac.signal, onStep: (s) => (steps.push(s), s.epoch === 1 && s.batch === 4 ? ac.abort() : undefined) })).train(),
  );
  t.is(err!.name, 'AbortError');
  t.deepEqual(await readdir(dir), ['epoch-1-batch-5']);
  // The checkpoint holds each tensor's own Adam count: the encoder saw every step, each task's
  // adapter and head only the steps that drew it.
  const ck = await loadCheckpoint(dir);
  const drawnA = steps.filter((s) => s.task === 'a').length;
  const drawnB = steps.filter((s) => s.task === 'b').length;
  t.true(drawnA > 0 && drawnB > 0);
  t.is(ck.optimizer.steps, 21);
  for (const [name, count] of Object.entries(ck.optimizer.tensorSteps)) {
    const want = isEncoder(name) ? 21 : module(name, 'a') ? drawnA : drawnB;
    t.is(count, want, name);
  }
  const second = await mtModel();
  t.teardown(() => second.dispose());
  const got = await new MultiTaskTrainer(second, opts(dir, { onStep: (s) => void steps.push(s) })).train({ resumeFrom: true });
  t.deepEqual(steps, fullSteps);
  t.deepEqual(got.history, want.history);
  t.deepEqual(got.best, want.best);
  t.deepEqual(changed(wantParams, await allParams(second)), []);

  // Aborted at the end of the first epoch; resumed from the epoch checkpoint folder.
  const dir3 = await tempDir(t);
  const third = await mtModel();
  t.teardown(() => third.dispose());
  const ac3 = new AbortController();
  await t.throwsAsync(new MultiTaskTrainer(third, opts(dir3, { signal: ac3.signal, onEpoch: () => ac3.abort() })).train(), { name: 'AbortError' });
  t.deepEqual(await readdir(dir3), ['epoch-1']);
  const fourth = await mtModel();
  t.teardown(() => fourth.dispose());
  const again = await new MultiTaskTrainer(fourth, opts(dir3)).train({ resumeFrom: join(dir3, 'epoch-1') });
  t.deepEqual(again.history, want.history);
  t.deepEqual(changed(wantParams, await allParams(fourth)), []);

  // A resume refuses other options, other data, and checkpoints of other trainers.
  const fifth = await mtModel();
  t.teardown(() => fifth.dispose());
  await t.throwsAsync(new MultiTaskTrainer(fifth, opts(dir3, { seed: 10 })).train({ resumeFrom: true }), { name: 'InvalidArgumentError', message: /seed/ });
  const otherData = opts(dir3);
  otherData.tasks[1] = { ...otherData.tasks[1], trainSet: synthetic(44, 99, 6) };
  await t.throwsAsync(new MultiTaskTrainer(fifth, otherData).train({ resumeFrom: true }), { name: 'InvalidArgumentError', message: /tasks\[1\]\.trainSet/ });
  const foreign = await tempDir(t);
  await saveCheckpoint(foreign, { state: { epoch: 1, options: {} }, params: [], optimizer: { steps: 0, m: [], v: [] } });
  await t.throwsAsync(new MultiTaskTrainer(fifth, opts(foreign)).train({ resumeFrom: true }), { name: 'InvalidArgumentError', message: /not a multi-task/ });
});

test('checkpoints: per-tensor step counts round-trip; a single count (older checkpoints) applies to every tensor', async (t) => {
  const dir = await tempDir(t);
  const tensor = (name: string, x: number) => ({ name, shape: [2], data: Float32Array.of(x, -x) });
  const base = {
    state: { epoch: 1 },
    params: [tensor('p', 1), tensor('q', 2)],
    optimizer: { steps: 5, m: [tensor('p', 0.1), tensor('q', 0.2)], v: [tensor('p', 0.01), tensor('q', 0.02)] },
  };
  await saveCheckpoint(join(dir, 'new'), { ...base, optimizer: { ...base.optimizer, tensorSteps: { p: 5, q: 2 } } });
  const a = await loadCheckpoint(join(dir, 'new'));
  t.deepEqual(a.optimizer.tensorSteps, { p: 5, q: 2 });
  t.is(a.optimizer.steps, 5);
  await saveCheckpoint(join(dir, 'old'), base);
  const b = await loadCheckpoint(join(dir, 'old'));
  t.deepEqual(b.optimizer.tensorSteps, { p: 5, q: 5 });
  t.false('tensor_steps' in (await readSafetensors(join(dir, 'old', 'epoch-1', 'optimizer.safetensors'))).metadata);
  t.true('tensor_steps' in (await readSafetensors(join(dir, 'new', 'epoch-1', 'optimizer.safetensors'))).metadata);
  // A count missing or not a count is refused, on save and on load.
  await t.throwsAsync(saveCheckpoint(join(dir, 'bad'), { ...base, optimizer: { ...base.optimizer, tensorSteps: { p: 1 } } }), { instanceOf: TypeError, message: /tensorSteps\["q"\]/ });
  await t.throwsAsync(saveCheckpoint(join(dir, 'bad'), { ...base, optimizer: { ...base.optimizer, tensorSteps: { p: 1, q: -1 } } }), { instanceOf: TypeError });
  const file = join(dir, 'new', 'epoch-1', 'optimizer.safetensors');
  const tensors = (await readSafetensors(file)).tensors.map((x) => ({ name: x.name, dtype: 'F32' as const, shape: x.shape, data: x.data as Float32Array }));
  await writeSafetensors(file, tensors, { format: 'adapterfusion-trainer-checkpoint', steps: '5', tensor_steps: JSON.stringify({ p: 5 }) });
  await t.throwsAsync(loadCheckpoint(join(dir, 'new')), { name: 'InvalidFileError', message: /tensor_steps.*q/ });
  await writeSafetensors(file, tensors, { format: 'adapterfusion-trainer-checkpoint', steps: '5', tensor_steps: '{"p": 5, "q": 1.5}' });
  await t.throwsAsync(loadCheckpoint(join(dir, 'new')), { name: 'InvalidFileError' });
});

// ---------------------------------------------------------------- bad options

test('bad options fail before any training, naming the option', async (t) => {
  const model = await mtModel(['a', 'b']);
  t.teardown(() => model.dispose());
  const trainSet = synthetic(8, 1, 5);
  const tasks = [
    { name: 'a', adapter: 'a', head: 'ha', trainSet },
    { name: 'b', adapter: 'b', head: 'hb', trainSet },
  ];
  const ok: MultiTaskTrainerOptions = { tasks, lr: 1e-3, epochs: 1, batchSize: 4 };
  const before = await allParams(model);
  const trainable = model.parameters().map((p) => p.trainable);
  const bad = (o: Record<string, unknown>, cls: 'TypeError' | 'InvalidArgumentError', re: RegExp) => {
    const err = t.throws(() => new MultiTaskTrainer(model, { ...ok, ...o } as MultiTaskTrainerOptions), undefined, JSON.stringify(o));
    t.is(err?.name, cls, `${JSON.stringify(o)} → ${err?.message}`);
    t.regex(err?.message ?? '', re);
  };
  bad({ tasks: [] }, 'TypeError', /options\.tasks/);
  bad({ tasks: 'a' }, 'TypeError', /options\.tasks/);
  bad({ tasks: [{ ...tasks[0], name: '' }] }, 'TypeError', /options\.tasks\[0\]\.name/);
  bad({ tasks: [{ ...tasks[0], adapter: 'zzz' }] }, 'InvalidArgumentError', /options\.tasks\[0\]\.adapter.*zzz/);
  bad({ tasks: [tasks[0], { ...tasks[1], head: 'nohead' }] }, 'InvalidArgumentError', /options\.tasks\[1\]\.head/);
  bad({ tasks: [tasks[0], { ...tasks[1], adapter: 'a' }] }, 'InvalidArgumentError', /options\.tasks\[1\]\.adapter/);
  bad({ tasks: [tasks[0], { ...tasks[1], name: 'a' }] }, 'InvalidArgumentError', /options\.tasks\[1\]\.name/);
  bad({ tasks: [{ ...tasks[0], trainSet: undefined }] }, 'TypeError', /options\.tasks\[0\]\.trainSet/);
  bad({ tasks: [{ ...tasks[0], extra: 1 }] }, 'TypeError', /options\.tasks\[0\]\.extra/);
  bad({ lr: -1 }, 'InvalidArgumentError', /options\.lr/);
  bad({ lr: '1e-3' }, 'TypeError', /options\.lr/);
  bad({ epochs: 0 }, 'InvalidArgumentError', /options\.epochs/);
  bad({ batchSize: 1.5 }, 'TypeError', /options\.batchSize/);
  bad({ alphaStart: -0.5 }, 'InvalidArgumentError', /options\.alphaStart/);
  bad({ alphaEnd: Infinity }, 'InvalidArgumentError', /options\.alphaEnd/);
  bad({ alphaEnd: '0.2' }, 'TypeError', /options\.alphaEnd/);
  bad({ seed: -1 }, 'InvalidArgumentError', /options\.seed/);
  bad({ warmupRatio: 2 }, 'InvalidArgumentError', /options\.warmupRatio/);
  bad({ earlyStopping: { patience: 2 } }, 'InvalidArgumentError', /options\.earlyStopping needs an evalSet/);
  bad({ earlyStopping: {} }, 'TypeError', /options\.earlyStopping\.patience/);
  bad({ onStep: 1 }, 'TypeError', /options\.onStep/);
  bad({ signal: {} }, 'TypeError', /options\.signal/);
  bad({ mode: 'adapter' }, 'TypeError', /options\.mode is not a MultiTaskTrainer option/);
  t.throws(() => new MultiTaskTrainer({} as BertModel, ok), { instanceOf: TypeError, message: /BertModel/ });
  // Dataset problems surface from train(), before anything changes.
  const badLabels = [{ inputIds: Int32Array.of(2, 11), label: 4 }];
  const trainer = new MultiTaskTrainer(model, { ...ok, tasks: [tasks[0], { ...tasks[1], trainSet: badLabels }] });
  await t.throwsAsync(trainer.train(), { name: 'InvalidArgumentError', message: /tasks\[1\]\.trainSet\[0\]\.label/ });
  await t.throwsAsync(new MultiTaskTrainer(model, { ...ok, tasks: [{ ...tasks[0], evalSet: trainSet, metric: 'pearson' }] }).train(), {
    name: 'InvalidArgumentError',
    message: /tasks\[0\]\.metric/,
  });
  await t.throwsAsync(new MultiTaskTrainer(model, ok).train({ resumeFrom: true }), { instanceOf: TypeError, message: /checkpointDir/ });
  t.deepEqual(changed(before, await allParams(model)), []);
  t.deepEqual(model.parameters().map((p) => p.trainable), trainable);
});
