// The Trainer on the tiny fixture BERT (fixtures/adapters/base) with small synthetic tasks:
// learning, the exact schedule, determinism, bit-exact resume, atomic checkpoints, cancellation,
// callbacks, a free event loop, early stopping, option checks; plus a real SST-2 run with
// bert-mini-mlm when ../shared is present.
import test from 'ava';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createModel, Fuse, loadModel, Tokenizer, type BertModel } from '../lib/index.js';
import {
  AbortError,
  Trainer,
  collate,
  defaultWeightDecayFilter,
  latestCheckpoint,
  linearScheduleWithWarmup,
  loadCheckpoint,
  saveCheckpoint,
  stepSeed,
  epochOrder,
  tokenizeExamples,
  tokenizePairs,
  type Example,
  type MultipleChoiceExample,
  type StepInfo,
  type TrainerOptions,
} from '../lib/trainer/index.js';
import { loadTask } from '../lib/eval/index.js';
import { bertMiniDir, fixturesDir, haveBertMini, haveShared, sharedDataDir } from './helpers/paths.js';
import { allParams, changed, lcg, tempDir as makeTempDir } from './helpers/training.js';

const baseDir = join(fixturesDir, 'adapters', 'base');

// ---------------------------------------------------------------- helpers

/** Binary task: label 1 iff token 5 occurs. Ids 10..89, lengths 4..13, [CLS]-like id 2 first. */
function synthetic(n: number, seed: number, invert = false): Example[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => {
    const len = 4 + Math.floor(r() * 10);
    const ids = new Int32Array(len);
    for (let j = 0; j < len; j++) ids[j] = 10 + Math.floor(r() * 80);
    ids[0] = 2;
    const label = r() < 0.5 ? 1 : 0;
    if (label) ids[1 + Math.floor(r() * (len - 1))] = 5;
    return { inputIds: ids, label: invert ? 1 - label : label };
  });
}

/** Regression: target = (number of 5s) − 1. */
function syntheticRegression(n: number, seed: number): Example[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => {
    const len = 5 + Math.floor(r() * 6);
    const ids = new Int32Array(len);
    for (let j = 0; j < len; j++) ids[j] = 10 + Math.floor(r() * 80);
    const k = Math.floor(r() * 3);
    for (let j = 0; j < k; j++) ids[1 + j * 2] = 5;
    return { inputIds: ids, label: k - 1 };
  });
}

/** Multiple choice (3 choices): the right choice is the one holding token 5. */
function syntheticChoices(n: number, seed: number): MultipleChoiceExample[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => {
    const label = Math.floor(r() * 3);
    const choices = [0, 1, 2].map((c) => {
      const len = 4 + Math.floor(r() * 6);
      const ids = new Int32Array(len);
      for (let j = 0; j < len; j++) ids[j] = 10 + Math.floor(r() * 80);
      if (c === label) ids[2] = 5;
      const types = new Int32Array(len).fill(1, 2);
      return { inputIds: ids, tokenTypeIds: types };
    });
    return { choices, label };
  });
}

// A tiny BERT with dropout (the fixture base has none), so that dropout seeds matter.
const DROPOUT_CONFIG = {
  vocab_size: 97,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 48,
  max_position_embeddings: 40,
  type_vocab_size: 2,
  hidden_act: 'gelu' as const,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  pad_token_id: 0,
};

async function adapterModel(o: { dropout?: boolean; classes?: number } = {}): Promise<BertModel> {
  const m = o.dropout ? await createModel(DROPOUT_CONFIG, { seed: 11 }) : await loadModel(baseDir);
  await m.addAdapter('a', { reductionFactor: 8, seed: 1 });
  await m.addClassificationHead('cls', { numLabels: o.classes ?? 2, seed: 2 });
  await m.setActiveAdapters('a', { head: 'cls' });
  return m;
}

/** Two adapters, a fusion over them (temperature annealing on) and a head. */
async function fusionModel(o: { dropout?: boolean } = {}): Promise<BertModel> {
  const m = o.dropout ? await createModel(DROPOUT_CONFIG, { seed: 11 }) : await loadModel(baseDir);
  await m.addAdapter('a', { reductionFactor: 8, seed: 1 });
  await m.addAdapter('b', { reductionFactor: 4, seed: 3 });
  await m.addAdapterFusion(new Fuse('a', 'b'), { temperature: true, seed: 4 });
  await m.addClassificationHead('cls', { numLabels: 2, seed: 2 });
  await m.setActiveAdapters(new Fuse('a', 'b'), { head: 'cls' });
  return m;
}

const tempDir = (t: { teardown(fn: () => unknown): void }): Promise<string> => makeTempDir(t, 'af-trainer-');

const train = synthetic(96, 1);
const dev = synthetic(48, 2);

// ---------------------------------------------------------------- schedule

test('schedule: linear warm-up and decay exactly as get_linear_schedule_with_warmup', (t) => {
  const f = linearScheduleWithWarmup(1e-3, 3, 10);
  const want = [0, 1 / 3, 2 / 3, 1, 6 / 7, 5 / 7, 4 / 7, 3 / 7, 2 / 7, 1 / 7, 0, 0].map((x) => 1e-3 * x);
  t.deepEqual(Array.from({ length: 12 }, (_, s) => f(s)), want);
  // No warm-up: base·(total − s)/total.
  const g = linearScheduleWithWarmup(2e-5, 0, 4);
  t.deepEqual([0, 1, 2, 3].map(g), [2e-5 * 1, 2e-5 * 0.75, 2e-5 * 0.5, 2e-5 * 0.25]);
});

test('schedule: the lr of every step (warmupRatio → ceil(total·ratio)) reaches trainStep', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const seen: number[] = [];
  // 96 examples / 16 = 6 steps per epoch, 2 epochs = 12 steps; ceil(12 · 0.3) = ceil(3.5999…) = 4.
  const trainer = new Trainer(model, { mode: 'adapter', adapter: 'a', lr: 1e-3, epochs: 2, batchSize: 16, warmupRatio: 0.3, onStep: (s) => void seen.push(s.lr) });
  const lrs = trainer.learningRates(train.length);
  const want = Array.from({ length: 12 }, (_, s) => (s < 4 ? 1e-3 * (s / 4) : 1e-3 * Math.max(0, (12 - s) / 8)));
  t.deepEqual(Array.from(lrs), want);
  await trainer.train(train);
  t.deepEqual(seen, want);
  // warmupSteps wins over warmupRatio; constant schedule stays flat after warm-up.
  const c = new Trainer(model, { mode: 'adapter', adapter: 'a', lr: 1e-3, epochs: 1, batchSize: 16, warmupSteps: 2, warmupRatio: 0.5, schedule: 'constant' });
  t.deepEqual(Array.from(c.learningRates(96)), [0, 5e-4, 1e-3, 1e-3, 1e-3, 1e-3]);
});

// ---------------------------------------------------------------- learning

test('adapter mode: the loss goes down, dev accuracy goes up, only the adapter and head change', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const before = await allParams(model);
  const trainer = new Trainer(model, { mode: 'adapter', adapter: 'a', lr: 3e-3, epochs: 6, batchSize: 16, seed: 1 });
  const start = await trainer.evaluate(dev);
  const result = await trainer.train(synthetic(256, 1), dev);
  t.is(result.epochs, 6);
  t.is(result.steps, 96);
  const losses = result.history.map((h) => h.trainLoss);
  t.true(losses[5] < 0.6 * losses[0], `train loss ${losses.join(', ')}`);
  t.true(result.history[5].eval!.accuracy! > start.accuracy! + 0.2, `dev accuracy ${start.accuracy} → ${result.history[5].eval!.accuracy}`);
  const moved = changed(before, await allParams(model));
  t.true(moved.length > 0);
  t.true(moved.every((n) => n.includes('.adapters.a.') || n.startsWith('heads.cls.')), moved.join(', '));
  t.deepEqual(model.parameters().filter((p) => p.trainable).map((p) => p.name).sort(), moved.sort());
});

test('fusion mode: only the fusion layers and the head train; the value regulariser is reported', async (t) => {
  const model = await fusionModel();
  t.teardown(() => model.dispose());
  const before = await allParams(model);
  const regs: number[] = [];
  const trainer = new Trainer(model, { mode: 'fusion', fusion: new Fuse('a', 'b'), lr: 5e-3, epochs: 4, batchSize: 16, onStep: (s) => void regs.push(s.lossReg) });
  const result = await trainer.train(train, dev);
  const moved = changed(before, await allParams(model));
  t.true(moved.some((n) => n.includes('adapter_fusion_layer.a,b.value')));
  t.true(moved.every((n) => n.includes('adapter_fusion_layer.a,b.') || n.startsWith('heads.cls.')), moved.join(', '));
  t.true(regs.slice(1).every((r) => r > 0), 'lossReg > 0 once W_v has moved');
  t.true(result.history[3].trainLoss < result.history[0].trainLoss);
  // Temperature annealing ran (training forwards and dev evaluations).
  t.true((await model.fusionTemperatures('a,b')).some((x) => x < 50 && x > 1));
});

test('head and full modes train what they say; weight decay skips biases and LayerNorm', async (t) => {
  t.true(defaultWeightDecayFilter('encoder.layer.0.output.dense.weight'));
  t.false(defaultWeightDecayFilter('encoder.layer.0.output.dense.bias'));
  t.false(defaultWeightDecayFilter('encoder.layer.0.output.LayerNorm.weight'));
  t.false(defaultWeightDecayFilter('embeddings.LayerNorm.weight'));
  t.true(defaultWeightDecayFilter('heads.cls.4.weight'));
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  let before = await allParams(model);
  await new Trainer(model, { mode: 'head', lr: 1e-2, epochs: 1, batchSize: 32 }).train(train);
  let moved = changed(before, await allParams(model));
  t.deepEqual(moved.sort(), ['heads.cls.1.bias', 'heads.cls.1.weight', 'heads.cls.4.bias', 'heads.cls.4.weight']);
  before = await allParams(model);
  await new Trainer(model, { mode: 'full', lr: 1e-3, epochs: 1, batchSize: 32, weightDecay: 0.01 }).train(train);
  moved = changed(before, await allParams(model));
  t.true(moved.includes('encoder.layer.0.attention.self.query.weight'));
  t.true(moved.includes('embeddings.LayerNorm.weight'));
  t.true(moved.includes('encoder.layer.1.output.adapters.a.adapter_up.weight'));
});

test('regression (Float32Array labels) and multiple choice (choices become rows) train', async (t) => {
  const reg = await loadModel(baseDir);
  t.teardown(() => reg.dispose());
  await reg.addAdapter('a', { reductionFactor: 8, seed: 1 });
  await reg.addClassificationHead('reg', { numLabels: 1, seed: 2 });
  await reg.setActiveAdapters('a', { head: 'reg' });
  const rtrain = syntheticRegression(256, 3);
  const r = await new Trainer(reg, { mode: 'adapter', adapter: 'a', lr: 5e-3, epochs: 8, batchSize: 16 }).train(rtrain, syntheticRegression(64, 4));
  const last = r.history.length - 1;
  t.true(r.history[last].trainLoss < 0.6 * r.history[0].trainLoss, r.history.map((h) => h.trainLoss).join(', '));
  t.true(r.history[last].eval!.pearson! > 0.5, `pearson ${r.history[last].eval!.pearson}`);
  t.deepEqual(Object.keys(r.history[last].eval!).sort(), ['examples', 'loss', 'mse', 'pearson', 'spearman']);

  const mc = await loadModel(baseDir);
  t.teardown(() => mc.dispose());
  await mc.addAdapter('a', { reductionFactor: 8, seed: 1 });
  await mc.addMultipleChoiceHead('mc', { numChoices: 3, seed: 2 });
  await mc.setActiveAdapters('a', { head: 'mc' });
  const m = await new Trainer(mc, { mode: 'adapter', adapter: 'a', lr: 5e-3, epochs: 8, batchSize: 8 }).train(syntheticChoices(128, 5), syntheticChoices(32, 6));
  t.true(m.history[7].trainLoss < 0.7 * m.history[0].trainLoss, m.history.map((h) => h.trainLoss).join(', '));
  t.true(m.history[7].eval!.accuracy! > 0.6, `accuracy ${m.history[7].eval!.accuracy}`);
  t.deepEqual(Object.keys(m.history[7].eval!).sort(), ['accuracy', 'examples', 'loss']);
});

// ---------------------------------------------------------------- batching

test('collate pads each batch to its longest row; choices become consecutive rows', (t) => {
  const a = { inputIds: Int32Array.from([2, 11, 12]), label: 1 };
  const b = { inputIds: Int32Array.from([2, 13]), tokenTypeIds: Int32Array.from([0, 1]), label: 0 };
  const batch = collate([a, b], { padTokenId: 7 });
  t.is(batch.input.batchSize, 2);
  t.is(batch.input.seqLen, 3);
  t.deepEqual(Array.from(batch.input.inputIds), [2, 11, 12, 2, 13, 7]);
  t.deepEqual(Array.from(batch.input.tokenTypeIds!), [0, 0, 0, 0, 1, 0]);
  t.deepEqual(Array.from(batch.input.attentionMask!), [1, 1, 1, 1, 1, 0]);
  t.deepEqual(batch.labels, Int32Array.from([1, 0]));
  t.true(collate([{ inputIds: Int32Array.from([1]), label: 0.5 }], { padTokenId: 0, regression: true }).labels instanceof Float32Array);
  const mc = collate(syntheticChoices(2, 1), { padTokenId: 0 });
  t.is(mc.input.batchSize, 6);
  t.is(mc.examples, 2);
  t.is(mc.labels!.length, 2);
});

test('tokenizePairs / tokenizeExamples encode text pairs with a Tokenizer', async (t) => {
  // A tiny hand-written vocabulary (vocab.txt only: BERT's standard pipeline).
  const dir = await tempDir(t);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'cat', 'pet', 'the', 'dog', 'runs', 'q', 'b'].join('\n') + '\n');
  const tok = await Tokenizer.fromPretrained(dir);
  const ex = tokenizePairs(tok, ['a cat', 'the dog runs'], ['a pet', null], [1, 0]);
  t.is(ex.length, 2);
  t.is(ex[0].inputIds[0], tok.clsTokenId);
  t.deepEqual(Array.from(ex[0].tokenTypeIds!), [0, 0, 0, 0, 1, 1, 1]);
  t.is(ex[1].label, 0);
  const mc = tokenizeExamples(tok, [{ choices: [{ text: 'q', pair: 'a' }, { text: 'q', pair: 'b' }], label: 1 }], { maxLength: 8 });
  t.is((mc[0] as MultipleChoiceExample).choices.length, 2);
});

// ---------------------------------------------------------------- determinism

test('determinism: the same seed gives bit-identical parameters, another seed does not', async (t) => {
  const run = async (seed: number, o: { dropout?: boolean; shuffle?: boolean } = {}) => {
    const model = await adapterModel({ dropout: o.dropout });
    const losses: number[] = [];
    await new Trainer(model, { mode: 'adapter', adapter: 'a', lr: 3e-3, epochs: 3, batchSize: 16, seed, shuffle: o.shuffle, onStep: (s) => void losses.push(s.loss) }).train(train);
    const p = await allParams(model);
    model.dispose();
    return { p, losses };
  };
  const a = await run(5);
  const b = await run(5);
  t.deepEqual(changed(a.p, b.p), []);
  t.deepEqual(a.losses, b.losses);
  const c = await run(6);
  t.true(changed(a.p, c.p).length > 0, 'another seed shuffles differently');
  // Dropout: with shuffling off, only the dropout masks depend on the seed.
  const d1 = await run(5, { dropout: true, shuffle: false });
  const d2 = await run(5, { dropout: true, shuffle: false });
  const d3 = await run(6, { dropout: true, shuffle: false });
  t.deepEqual(changed(d1.p, d2.p), []);
  t.true(changed(d1.p, d3.p).length > 0, 'another seed drops other units');
  // The seeds are functions of (seed, epoch) and (seed, step) only.
  t.deepEqual(epochOrder(10, 5, 3, true), epochOrder(10, 5, 3, true));
  t.notDeepEqual(epochOrder(10, 5, 3, true), epochOrder(10, 5, 4, true));
  t.is(stepSeed(5, 7), stepSeed(5, 7));
  t.not(stepSeed(5, 7), stepSeed(5, 8));
  t.true(stepSeed(2 ** 53 - 1, 1e9) < 2 ** 53);
});

// ---------------------------------------------------------------- checkpoints and resume

for (const kind of ['adapter', 'fusion'] as const) {
  test(`resume after epoch 2 equals uninterrupted training bit for bit (${kind}${kind === 'fusion' ? ', dropout, temperature' : ''})`, async (t) => {
    const build = () => (kind === 'adapter' ? adapterModel() : fusionModel({ dropout: true }));
    const opts = (dir: string, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
      ...(kind === 'adapter' ? { mode: 'adapter' as const, adapter: 'a' } : { mode: 'fusion' as const, fusion: ['a', 'b'] }),
      lr: 3e-3,
      epochs: 5,
      batchSize: 16,
      warmupRatio: 0.1,
      weightDecay: 0.01,
      seed: 9,
      evalEvery: kind === 'fusion' ? 4 : 'epoch',
      earlyStopping: { patience: 100, metric: 'loss' },
      checkpointDir: dir,
      ...extra,
    });
    // Uninterrupted.
    const full = await build();
    t.teardown(() => full.dispose());
    const fullSteps: StepInfo[] = [];
    const want = await new Trainer(full, opts(await tempDir(t), { onStep: (s) => void fullSteps.push(s) })).train(train, dev);
    const wantParams = await allParams(full);

    // Interrupted after epoch 2 (index 1) by an abort, in a first process...
    const dir = await tempDir(t);
    const first = await build();
    t.teardown(() => first.dispose());
    const steps: StepInfo[] = [];
    const ac = new AbortController();
    const err = await t.throwsAsync(
      new Trainer(first, opts(dir, { signal: ac.signal, onStep: (s) => void steps.push(s), onEpoch: (r) => (r.epoch === 1 ? ac.abort() : undefined) })).train(train, dev),
    );
    t.is(err!.name, 'AbortError');
    t.deepEqual(await readdir(dir), ['epoch-2']);
    // ...and resumed in a "second process": a fresh model built the same way.
    const second = await build();
    t.teardown(() => second.dispose());
    const trainer = new Trainer(second, opts(dir, { onStep: (s) => void steps.push(s) }));
    t.deepEqual(await trainer.resume(dir), { epoch: 2, step: 12, path: join(dir, 'epoch-2') });
    const got = await trainer.train(train, dev);

    t.deepEqual(steps, fullSteps);
    t.deepEqual(got.history, want.history);
    t.deepEqual(got.evaluations, want.evaluations);
    t.deepEqual(got.best, want.best);
    t.deepEqual(changed(wantParams, await allParams(second)), []);
    if (kind === 'fusion') t.deepEqual(Array.from(await second.fusionTemperatures('a,b')), Array.from(await full.fusionTemperatures('a,b')));
    // train({ resumeFrom }) does the same in one call.
    const third = await build();
    t.teardown(() => third.dispose());
    const dir3 = await tempDir(t);
    const ac3 = new AbortController();
    await t.throwsAsync(new Trainer(third, opts(dir3, { signal: ac3.signal, onEpoch: (r) => (r.epoch === 2 ? ac3.abort() : undefined) })).train(train, dev));
    const again = await new Trainer(third, opts(dir3)).train(train, dev, { resumeFrom: true });
    t.deepEqual(again.history, want.history);
    t.deepEqual(changed(wantParams, await allParams(third)), []);
  });
}

test('an abort inside an epoch leaves a checkpoint there; resuming it equals uninterrupted training bit for bit', async (t) => {
  const opts = (dir: string, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
    mode: 'fusion',
    fusion: ['a', 'b'],
    lr: 3e-3,
    epochs: 3,
    batchSize: 16,
    warmupRatio: 0.1,
    seed: 4,
    earlyStopping: { patience: 100, metric: 'loss' },
    checkpointDir: dir,
    ...extra,
  });
  const full = await fusionModel({ dropout: true });
  t.teardown(() => full.dispose());
  const fullSteps: StepInfo[] = [];
  const want = await new Trainer(full, opts(await tempDir(t), { onStep: (s) => void fullSteps.push(s) })).train(train, dev);
  const wantParams = await allParams(full);
  const perEpoch = fullSteps.filter((s) => s.epoch === 0).length;
  t.true(perEpoch >= 4, 'the test needs several batches per epoch');

  // Cancelled after 2 batches of the second epoch (global step perEpoch + 1).
  const dir = await tempDir(t);
  const first = await fusionModel({ dropout: true });
  t.teardown(() => first.dispose());
  const steps: StepInfo[] = [];
  const ac = new AbortController();
  const onStep = (s: StepInfo) => {
    steps.push(s);
    if (s.step === perEpoch + 1) ac.abort();
  };
  await t.throwsAsync(new Trainer(first, opts(dir, { signal: ac.signal, onStep })).train(train, dev), { name: 'AbortError' });
  t.deepEqual(await readdir(dir), ['epoch-1-batch-2']);
  const second = await fusionModel({ dropout: true });
  t.teardown(() => second.dispose());
  const trainer = new Trainer(second, opts(dir, { onStep: (s) => void steps.push(s) }));
  t.deepEqual(await trainer.resume(dir), { epoch: 1, step: perEpoch + 2, path: join(dir, 'epoch-1-batch-2') });
  const got = await trainer.train(train, dev);
  t.deepEqual(steps, fullSteps);
  t.deepEqual(got.history, want.history);
  t.deepEqual(got.best, want.best);
  t.deepEqual(changed(wantParams, await allParams(second)), []);
  t.deepEqual(await readdir(dir), ['epoch-3']);
});

test('resume refuses other options, another training set, and a model built differently', async (t) => {
  const dir = await tempDir(t);
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const o: TrainerOptions = { mode: 'adapter', adapter: 'a', lr: 3e-3, epochs: 2, batchSize: 16, checkpointDir: dir };
  await new Trainer(model, { ...o, epochs: 1 }).train(train);
  // epochs differs: the schedule would differ.
  await t.throwsAsync(new Trainer(model, o).resume(dir), { code: 'ERR_AF_INVALID_ARGUMENT', message: /epochs 1 \(now 2\)/ });
  const same = new Trainer(model, { ...o, epochs: 1 });
  await t.throwsAsync(same.train(synthetic(80, 1), null, { resumeFrom: dir }), { code: 'ERR_AF_INVALID_ARGUMENT', message: /trainSet differs/ });
  const other = await adapterModel({ classes: 3 });
  t.teardown(() => other.dispose());
  await other.addAdapter('x', { seed: 5 });
  await t.throwsAsync(new Trainer(other, { ...o, adapter: 'x', epochs: 1 }).resume(dir), { code: 'ERR_AF_INVALID_ARGUMENT', message: /adapter/ });
  await t.throwsAsync(new Trainer(model, { ...o, epochs: 1 }).resume(join(dir, 'nothing-here')), { code: 'ERR_AF_IO' });
});

test('checkpoint atomicity: a save that fails midway leaves the previous checkpoint loadable', async (t) => {
  const dir = await tempDir(t);
  const tensor = (name: string, v: number) => ({ name, shape: [2], data: Float32Array.from([v, -v]) });
  const contents = (epoch: number) => ({
    state: { epoch },
    params: [tensor('w', epoch)],
    optimizer: { steps: epoch * 3, m: [tensor('w', 0.5)], v: [tensor('w', 0.25)] },
    best: [tensor('w', 9)],
  });
  await saveCheckpoint(dir, contents(1));
  // A failure (a crash, a full disk) at every stage of the next save: after each file, and just
  // before the commit (the rename). Each time epoch-1 stays the checkpoint, intact.
  for (const stage of ['trainable.safetensors', 'optimizer.safetensors', 'best.safetensors', 'trainer_state.json', 'commit'] as const) {
    const err = await t.throwsAsync(
      saveCheckpoint(dir, contents(2), {
        afterFile: (file) => {
          if (file === stage) throw new Error(`injected failure after ${file}`);
        },
      }),
    );
    t.regex(err!.message, /injected failure/);
    const entries = await readdir(dir);
    t.true(entries.includes('epoch-1') && !entries.includes('epoch-2'), entries.join(', '));
    t.true(entries.some((e) => e.startsWith('.tmp-epoch-2-')), 'the half-written folder is left aside');
    const ck = await loadCheckpoint(dir);
    t.is(ck.path, join(dir, 'epoch-1'));
    t.is(ck.optimizer.steps, 3);
    t.deepEqual(Array.from(ck.params[0].data), [1, -1]);
    t.deepEqual(Array.from(ck.best![0].data), [9, -9]);
  }
  // The next successful save commits and removes the leftovers and the older checkpoint.
  await saveCheckpoint(dir, contents(2));
  t.deepEqual(await readdir(dir), ['epoch-2']);
  t.is((await loadCheckpoint(dir)).state.epoch, 2);
});

test('checkpoint atomicity in the trainer: a failed save rejects train(); resuming the last good checkpoint equals an uninterrupted run', async (t) => {
  const dir = await tempDir(t);
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const o: TrainerOptions = { mode: 'adapter', adapter: 'a', lr: 3e-3, epochs: 4, batchSize: 16, seed: 3, checkpointDir: dir };
  // Inject a failure into the second epoch's save (reading Adam's moments fails).
  const original = model.getOptimizerState.bind(model);
  let saves = 0;
  const trainer = new Trainer(model, {
    ...o,
    onEpoch: (r) => {
      saves++;
      if (r.epoch === 0) {
        model.getOptimizerState = async (name: string) => {
          if (name === 'heads.cls.4.bias') throw new Error('injected failure (device lost)');
          return original(name);
        };
      }
    },
  });
  await t.throwsAsync(trainer.train(train), { message: /injected failure/ });
  t.is(saves, 1);
  t.deepEqual(await readdir(dir), ['epoch-1']);
  const ck = await loadCheckpoint(dir);
  t.is(ck.state.epoch, 1);
  t.is(ck.state.globalStep, 6);
  model.getOptimizerState = original;

  // Resuming from it, in a fresh model, gives what an uninterrupted run gives.
  const fresh = await adapterModel();
  t.teardown(() => fresh.dispose());
  const r = await new Trainer(fresh, o).train(train, null, { resumeFrom: dir });
  const ref = await adapterModel();
  t.teardown(() => ref.dispose());
  const want = await new Trainer(ref, { ...o, checkpointDir: await tempDir(t) }).train(train);
  t.deepEqual(r.history, want.history);
  t.deepEqual(changed(await allParams(ref), await allParams(fresh)), []);
  t.deepEqual(await readdir(dir), ['epoch-4']);
});

test('checkpoint files: a folder without its state file, and leftovers, are never taken for a checkpoint', async (t) => {
  const dir = await tempDir(t);
  const tensor = (name: string, v: number) => ({ name, shape: [2], data: Float32Array.from([v, -v]) });
  const contents = (epoch: number) => ({
    state: { epoch, note: 'x', metric: NaN, worst: -Infinity },
    params: [tensor('w', epoch)],
    optimizer: { steps: epoch * 3, m: [tensor('w', 0.5)], v: [tensor('w', 0.25)] },
  });
  await saveCheckpoint(dir, contents(1));
  const ck = await loadCheckpoint(join(dir, 'epoch-1'));
  t.is(ck.optimizer.steps, 3);
  t.deepEqual(Array.from(ck.params[0].data), [1, -1]);
  t.true(Number.isNaN(ck.state.metric as number), 'NaN survives the JSON state');
  t.is(ck.state.worst, -Infinity);
  // A crash after the rename of epoch-2's temp folder but before its state file existed cannot
  // happen (the state file is written before the rename); simulate the other leftovers.
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(join(dir, 'epoch-7'));
  await writeFile(join(dir, 'epoch-7', 'trainable.safetensors'), 'garbage');
  await mkdir(join(dir, '.tmp-epoch-3-abcd'));
  t.is(await latestCheckpoint(dir), join(dir, 'epoch-1'));
  t.is((await loadCheckpoint(dir)).state.epoch, 1);
  await saveCheckpoint(dir, contents(2));
  t.deepEqual((await readdir(dir)).sort(), ['epoch-2']);
  // A stale folder of the same name (a resume from an older checkpoint) is replaced.
  await saveCheckpoint(dir, contents(2));
  t.is((await loadCheckpoint(dir)).optimizer.steps, 6);
  t.true((await stat(join(dir, 'epoch-2', 'trainer_state.json'))).isFile());
});

// ---------------------------------------------------------------- cancellation, callbacks, event loop

test('AbortSignal: train() rejects with an AbortError between steps; the model holds the last step', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const ac = new AbortController();
  let atAbort: Map<string, Float32Array> | null = null;
  let steps = 0;
  const trainer = new Trainer(model, {
    mode: 'adapter',
    adapter: 'a',
    lr: 3e-3,
    epochs: 3,
    batchSize: 16,
    signal: ac.signal,
    onStep: async (s) => {
      steps++;
      if (s.step === 3) {
        atAbort = await allParams(model);
        ac.abort(new Error('user cancelled'));
      }
    },
  });
  const err = await t.throwsAsync(trainer.train(train));
  t.true(err instanceof AbortError);
  t.is(err!.name, 'AbortError');
  t.is((err as AbortError).code, 'ABORT_ERR');
  t.is(((err as AbortError).cause as Error).message, 'user cancelled');
  t.is(steps, 4);
  t.deepEqual(changed(atAbort!, await allParams(model)), []);
  t.is(trainer.state.step, 4);
  // Already aborted: nothing runs.
  const before = await allParams(model);
  const again = new Trainer(model, { mode: 'adapter', adapter: 'a', epochs: 1, batchSize: 16 });
  await t.throwsAsync(again.train(train, null, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  t.deepEqual(changed(before, await allParams(model)), []);
  // Evaluation is cancellable too.
  await t.throwsAsync(again.evaluate(dev, { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('callbacks: onStep for every step, onEvaluate and onEpoch with train loss and dev metrics', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const steps: StepInfo[] = [];
  const epochs: unknown[] = [];
  const evals: unknown[] = [];
  const result = await new Trainer(model, {
    mode: 'adapter',
    adapter: 'a',
    lr: 1e-3,
    epochs: 2,
    batchSize: 20,
    onStep: (s) => void steps.push(s),
    onEpoch: (r) => void epochs.push(r),
    onEvaluate: (r) => void evals.push(r),
  }).train(train, dev);
  // 96 / 20 → 5 steps per epoch (the last batch holds 16).
  t.deepEqual(steps.map((s) => s.step), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.deepEqual(steps.map((s) => s.epoch), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  t.deepEqual(steps.map((s) => s.batch), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  for (const s of steps) {
    t.true(Number.isFinite(s.loss) && s.loss > 0 && s.gradNorm > 0);
    t.is(s.loss, s.lossCe + s.lossReg);
  }
  t.deepEqual(epochs, result.history);
  t.is(evals.length, 2);
  const h = result.history[0];
  t.is(h.trainLoss, steps.slice(0, 5).reduce((a, s) => a + s.loss, 0) / 5);
  t.deepEqual(Object.keys(h.eval!).sort(), ['accuracy', 'examples', 'f1', 'loss', 'macroF1', 'mcc']);
  t.is(h.eval!.examples, dev.length);
  // Evaluation every N steps.
  const every: number[] = [];
  await new Trainer(model, { mode: 'adapter', adapter: 'a', epochs: 2, batchSize: 20, evalEvery: 3, onEvaluate: (r) => void every.push(r.step) }).train(train, dev);
  t.deepEqual(every, [3, 6, 9]);
});

test('the event loop stays free while training: timers fire between steps', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  let step = 0;
  const stepsAtTick: number[] = [];
  const timer = setInterval(() => stepsAtTick.push(step), 1);
  const big = synthetic(1600, 7);
  const t0 = performance.now();
  await new Trainer(model, { mode: 'adapter', adapter: 'a', epochs: 2, batchSize: 8, onStep: (s) => void (step = s.step + 1) }).train(big);
  const ms = performance.now() - t0;
  clearInterval(timer);
  const distinct = new Set(stepsAtTick.filter((s) => s > 0 && s < 400)).size;
  t.log(`400 steps in ${ms.toFixed(0)} ms; the 1 ms timer fired ${stepsAtTick.length} times, at ${distinct} different steps`);
  t.true(distinct >= 10, `timer callbacks ran during training (${distinct} distinct steps)`);
});

// ---------------------------------------------------------------- early stopping

test('early stopping: stops after `patience` evaluations without improvement and restores the best parameters', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  // The dev labels are the opposite of the training labels: the better the model learns,
  // the worse the dev loss, so the first evaluation is the best.
  const inverted = synthetic(48, 2, true);
  const snapshots: Map<string, Float32Array>[] = [];
  const trainer = new Trainer(model, {
    mode: 'adapter',
    adapter: 'a',
    lr: 3e-3,
    epochs: 20,
    batchSize: 16,
    earlyStopping: { patience: 2, metric: 'loss' },
    onEpoch: async () => void snapshots.push(await allParams(model)),
  });
  const result = await trainer.train(train, inverted);
  t.true(result.stoppedEarly);
  t.is(result.epochs, 3);
  t.is(result.best!.epoch, 0);
  t.is(result.best!.metric, 'loss');
  t.true(result.restoredBest);
  const losses = result.history.map((h) => h.eval!.loss!);
  t.true(losses[1] > losses[0] && losses[2] > losses[0], losses.join(', '));
  t.deepEqual(changed(snapshots[0], await allParams(model)), []);
  t.true(changed(snapshots[2], snapshots[0]).length > 0);
  t.deepEqual(await trainer.evaluate(inverted), result.best!.metrics);

  // restoreBest: false keeps the last parameters.
  const other = await adapterModel();
  t.teardown(() => other.dispose());
  const r2 = await new Trainer(other, { mode: 'adapter', adapter: 'a', lr: 3e-3, epochs: 20, batchSize: 16, earlyStopping: { patience: 2, metric: 'loss' }, restoreBest: false }).train(train, inverted);
  t.false(r2.restoredBest);
  t.deepEqual(changed(snapshots[2], await allParams(other)), []);

  // Accuracy (max) with patience: the default metric.
  const third = await adapterModel();
  t.teardown(() => third.dispose());
  const r3 = await new Trainer(third, { mode: 'adapter', adapter: 'a', lr: 3e-3, epochs: 12, batchSize: 16, earlyStopping: { patience: 3 } }).train(train, dev);
  t.is(r3.best!.metric, 'accuracy');
  t.is(r3.best!.value, Math.max(...r3.history.map((h) => h.eval!.accuracy!)));
});

// ---------------------------------------------------------------- bad options

test('bad options fail before any training, naming the option', async (t) => {
  const model = await adapterModel();
  t.teardown(() => model.dispose());
  const ok: TrainerOptions = { mode: 'adapter', adapter: 'a', lr: 1e-3, epochs: 1, batchSize: 16 };
  const bad = (o: Record<string, unknown>, cls: 'TypeError' | 'InvalidArgumentError', re: RegExp) => {
    const err = t.throws(() => new Trainer(model, { ...ok, ...o } as TrainerOptions), undefined, JSON.stringify(o));
    t.is(err?.name, cls, `${JSON.stringify(o)} → ${err?.message}`);
    t.regex(err?.message ?? '', re);
  };
  bad({ lr: -1e-3 }, 'InvalidArgumentError', /options\.lr/);
  bad({ lr: '1e-3' }, 'TypeError', /options\.lr/);
  bad({ lr: Infinity }, 'InvalidArgumentError', /options\.lr/);
  bad({ batchSize: 0 }, 'InvalidArgumentError', /options\.batchSize/);
  bad({ batchSize: 2.5 }, 'TypeError', /options\.batchSize/);
  bad({ epochs: 0 }, 'InvalidArgumentError', /options\.epochs/);
  bad({ mode: 'lora' }, 'TypeError', /options\.mode/);
  bad({ mode: undefined }, 'TypeError', /options\.mode/);
  bad({ adapter: undefined }, 'TypeError', /options\.adapter/);
  bad({ adapter: 'nope' }, 'InvalidArgumentError', /options\.adapter.*nope/);
  bad({ mode: 'fusion', adapter: undefined, fusion: ['a', 'zz'] }, 'InvalidArgumentError', /options\.fusion/);
  bad({ mode: 'fusion', adapter: undefined }, 'TypeError', /options\.fusion/);
  bad({ head: 'nope' }, 'InvalidArgumentError', /options\.head/);
  bad({ learningRate: 1e-3 }, 'TypeError', /options\.learningRate/);
  bad({ warmupRatio: 1.5 }, 'InvalidArgumentError', /options\.warmupRatio/);
  bad({ warmupSteps: -1 }, 'InvalidArgumentError', /options\.warmupSteps/);
  bad({ weightDecay: -0.1 }, 'InvalidArgumentError', /options\.weightDecay/);
  bad({ maxGradNorm: -1 }, 'InvalidArgumentError', /options\.maxGradNorm/);
  bad({ beta2: 1 }, 'InvalidArgumentError', /options\.beta2/);
  bad({ seed: -1 }, 'InvalidArgumentError', /options\.seed/);
  bad({ seed: 1.5 }, 'InvalidArgumentError', /options\.seed/);
  bad({ schedule: 'cosine' }, 'TypeError', /options\.schedule/);
  bad({ earlyStopping: { metric: 'accuracy' } }, 'TypeError', /options\.earlyStopping\.patience/);
  bad({ earlyStopping: { patience: 0 } }, 'InvalidArgumentError', /options\.earlyStopping\.patience/);
  bad({ earlyStopping: { patience: 1, mode: 'up' } }, 'TypeError', /options\.earlyStopping\.mode/);
  bad({ evalEvery: 0 }, 'InvalidArgumentError', /options\.evalEvery/);
  bad({ evalEvery: 'step' }, 'TypeError', /options\.evalEvery/);
  bad({ onStep: 'log' }, 'TypeError', /options\.onStep/);
  bad({ signal: {} }, 'TypeError', /options\.signal/);
  bad({ checkpointDir: 5 }, 'TypeError', /options\.checkpointDir/);
  t.throws(() => new Trainer({} as BertModel, ok), { instanceOf: TypeError, message: /model/ });

  // Dataset problems: checked before the first step.
  const before = await allParams(model);
  const trainer = new Trainer(model, ok);
  const rejects = async (p: Promise<unknown>, cls: string, re: RegExp) => {
    const err = await t.throwsAsync(p);
    t.is(err?.name, cls, err?.message);
    t.regex(err?.message ?? '', re);
  };
  await rejects(trainer.train([]), 'InvalidArgumentError', /trainSet is empty/);
  await rejects(trainer.train([{ inputIds: Int32Array.from([2, 3]), label: 2 }]), 'InvalidArgumentError', /trainSet\[0\]\.label = 2 does not fit the head: it has 2 classes/);
  await rejects(trainer.train([...train, { inputIds: Int32Array.from([2, 3]), label: 0.5 }]), 'InvalidArgumentError', /trainSet\[96\]\.label/);
  await rejects(trainer.train([{ inputIds: Int32Array.from([2, 3]) }]), 'InvalidArgumentError', /trainSet\[0\]\.label is missing/);
  await rejects(trainer.train([{ inputIds: [2, 3] as unknown as Int32Array, label: 0 }]), 'TypeError', /trainSet\[0\]\.inputIds must be an Int32Array/);
  await rejects(trainer.train([{ inputIds: Int32Array.from([2, 97]), label: 0 }]), 'InvalidArgumentError', /trainSet\[0\]\.inputIds\[1\] = 97/);
  await rejects(trainer.train([{ inputIds: new Int32Array(41).fill(3), label: 0 }]), 'InvalidArgumentError', /41 tokens, more than the model's 40 positions/);
  await rejects(trainer.train([{ inputIds: Int32Array.from([2, 3]), tokenTypeIds: Int32Array.from([0]), label: 0 }]), 'InvalidArgumentError', /tokenTypeIds has 1 entries/);
  await rejects(trainer.train(syntheticChoices(2, 1)), 'InvalidArgumentError', /trainSet\[0\] has choices, but the active head is classification/);
  await rejects(trainer.train(train, []), 'InvalidArgumentError', /evalSet is empty/);
  await rejects(trainer.train('data' as unknown as Example[]), 'TypeError', /trainSet/);
  await rejects(trainer.train(train, null, { resume: true } as never), 'TypeError', /options\.resume /);
  await rejects(trainer.train(train, null, { resumeFrom: true }), 'TypeError', /checkpointDir/);
  await rejects(new Trainer(model, { ...ok, earlyStopping: { patience: 2 } }).train(train), 'InvalidArgumentError', /earlyStopping needs an evalSet/);
  await rejects(new Trainer(model, { ...ok, earlyStopping: { patience: 2, metric: 'pearson' } }).train(train, dev), 'InvalidArgumentError', /metric "pearson"/);
  t.deepEqual(changed(before, await allParams(model)), []);
  // A DatasetLike class works as a dataset.
  const ds = { length: train.length, get: (i: number) => train[i] };
  t.is((await trainer.train(ds)).steps, 6);
});

// ---------------------------------------------------------------- real data

const e2e = haveShared && haveBertMini ? test : test.skip;
if (!(haveShared && haveBertMini)) console.log('trainer.test: ../shared (data and models/bert-mini-mlm) is absent: skipping the SST-2 end-to-end run');

e2e('end to end: bert-mini-mlm + a Pfeiffer adapter on 2000 SST-2 sentences beats chance on SST-2 dev', async (t) => {
  const t0 = performance.now();
  const model = await loadModel(bertMiniDir);
  t.teardown(() => model.dispose());
  const tok = await Tokenizer.fromPretrained(bertMiniDir);
  await model.addAdapter('sst2', { config: 'pfeiffer', seed: 1 });
  await model.addClassificationHead('sst2', { numLabels: 2, seed: 2 });
  await model.setActiveAdapters('sst2', { head: 'sst2' });
  const all = await loadTask('sst2', 'train', { dataDir: sharedDataDir });
  const sample = all.filter((_, i) => i % 33 === 0).slice(0, 2000); // spread over the file
  const trainSet = tokenizeExamples(tok, sample, { maxLength: 64 });
  const devSet = tokenizeExamples(tok, await loadTask('sst2', 'dev', { dataDir: sharedDataDir }), { maxLength: 64 });
  const trainer = new Trainer(model, { mode: 'adapter', adapter: 'sst2', lr: 2e-3, epochs: 3, batchSize: 16, warmupRatio: 0.1, seed: 1, evalBatchSize: 64 });
  const before = await trainer.evaluate(devSet);
  const result = await trainer.train(trainSet, devSet);
  const acc = result.history.map((h) => h.eval!.accuracy!);
  const majority = 444 / 872;
  t.log(`dev accuracy ${before.accuracy!.toFixed(3)} → ${acc.map((a) => a.toFixed(3)).join(' → ')} (majority class ${majority.toFixed(3)}); ` +
    `train loss ${result.history.map((h) => h.trainLoss.toFixed(3)).join(' → ')}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Seeds 1–3 gave 0.61–0.63 after 3 epochs (a weak model: a linear probe on it reaches 0.62).
  t.true(acc[2] > majority + 0.05, `dev accuracy ${acc[2]}`);
  t.true(acc[2] > before.accuracy! + 0.05);
  t.true(result.history[2].trainLoss < result.history[0].trainLoss);
});
