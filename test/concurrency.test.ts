// One owner per model (docs/ARCHITECTURE.md, "One owner per model"): calls that overlap on one
// model give exactly what the same calls give one after another, in call order; readers on the
// JS thread see either the old or the new layout, never a torn one; loads are all-or-nothing;
// dispose() during calls neither crashes nor leaks a half-run call; and the JS thread keeps
// running while the model works.
import test from 'ava';
import { join } from 'node:path';
import { createModel, DisposedError, Fuse, InvalidArgumentError, type BertModel } from '../lib/index.js';
import { lcg, SMALL_DROPOUT_CONFIG, tempDir as makeTempDir } from './helpers/training.js';

const CONFIG = SMALL_DROPOUT_CONFIG;

function batch(seed: number, batchSize = 4, seqLen = 12) {
  const r = lcg(seed);
  const inputIds = new Int32Array(batchSize * seqLen);
  for (let i = 0; i < inputIds.length; i++) inputIds[i] = 1 + Math.floor(r() * 90);
  return { inputIds, batchSize, seqLen };
}
const labels = new Int32Array([0, 1, 1, 0]);

/** Adapters a, b, a fusion a,b and head h; adapter a and head h active, a trainable. */
async function model(): Promise<BertModel> {
  const m = await createModel(CONFIG, { seed: 5, threads: 1 });
  await m.addAdapter('a', { reductionFactor: 4, seed: 1 });
  await m.addAdapter('b', { reductionFactor: 8, seed: 2 });
  await m.addAdapterFusion(new Fuse('a', 'b'), { seed: 3 });
  await m.addClassificationHead('h', { numLabels: 2, seed: 4 });
  await m.setActiveAdapters('a', { head: 'h' });
  await m.trainAdapter('a');
  return m;
}

type Step = (m: BertModel, dir: string) => Promise<unknown>;

/** What a result looks like for comparison: typed arrays as plain arrays, errors by class and message. */
function plain(v: unknown): unknown {
  if (v instanceof Float32Array || v instanceof Int32Array) return Array.from(v);
  if (v instanceof Error) return { error: v.constructor.name, message: v.message };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
const settle = (p: Promise<unknown>) => p.then(plain, plain);

/** Everything observable about a model: its layout and every weight. */
async function state(m: BertModel): Promise<unknown> {
  const params: Record<string, number[]> = {};
  for (const p of m.parameters()) params[p.name] = Array.from(await m.getParameter(p.name));
  return { layout: m.parameters(), adapters: m.adapters(), fusions: m.adapterFusions(), heads: m.heads(), head: m.activeHead(), params };
}

// Calls that overlap a running forward or training step; each is run once after it and once
// overlapping it, on identical models.
const calls: Record<string, Step> = {
  forward: (m) => m.forward(batch(2)),
  predict: (m) => m.predict(batch(2), { outputFusionAttentions: true }),
  trainStep: (m) => m.trainStep(batch(3), labels, { seed: 9, lr: 1e-2 }),
  lossAndGrad: (m) => m.lossAndGrad(batch(3), labels, { seed: 9 }),
  getParameter: (m) => m.getParameter('encoder.layer.1.output.adapters.a.adapter_up.weight'),
  setParameter: (m) => m.setParameter('encoder.layer.0.output.adapters.a.adapter_down.0.bias', new Float32Array(8).fill(0.25)),
  addAdapter: (m) => m.addAdapter('c', { reductionFactor: 2, seed: 7 }),
  deleteAdapter: (m) => m.deleteAdapter('a'),
  deleteHead: (m) => m.deleteHead('h'),
  deleteFusion: (m) => m.deleteAdapterFusion(new Fuse('a', 'b')),
  setActiveFusion: (m) => m.setActiveAdapters(new Fuse('a', 'b')),
  setActiveNone: (m) => m.setActiveAdapters(null),
  trainAdapterB: (m) => m.trainAdapter('b'),
  trainFull: (m) => m.trainFull(),
  saveAdapter: (m, dir) => m.saveAdapter(join(dir, 'saved'), 'a'),
  loadAdapter: async (m, dir) => {
    await m.saveAdapter(join(dir, 'b-copy'), 'b');
    return m.loadAdapter(join(dir, 'b-copy'), { loadAs: 'b2' });
  },
  optimizerStep: async (m) => {
    await m.lossAndGrad(batch(4), labels, { seed: 1 });
    return m.optimizerStep({ lr: 1e-2 });
  },
  badCall: (m) => m.setActiveAdapters('missing'),
};

const running: Record<string, Step> = {
  forward: (m) => m.forward(batch(1, 8, 32), { outputHiddenStates: true }),
  trainStep: (m) => m.trainStep(batch(1), labels, { seed: 3, lr: 1e-2 }),
};

for (const [rname, run] of Object.entries(running)) {
  test(`every call overlapping a running ${rname} gives what it gives after it`, async (t) => {
    const dir = await makeTempDir(t, 'af-overlap-');
    for (const [cname, call] of Object.entries(calls)) {
      const seq = await model();
      const first = await settle(run(seq, join(dir, 'seq')));
      const second = await settle(call(seq, join(dir, 'seq')));
      const after = await settle(seq.forward(batch(6)));
      const seqState = await state(seq);
      seq.dispose();

      const par = await model();
      const [a, b] = await Promise.all([settle(run(par, join(dir, 'par'))), settle(call(par, join(dir, 'par')))]);
      t.deepEqual(a, first, `${cname}: the running ${rname}`);
      t.deepEqual(b, second, `${cname}: its own result`);
      t.deepEqual(await settle(par.forward(batch(6))), after, `${cname}: the model afterwards`);
      t.deepEqual(await state(par), seqState, `${cname}: layout and weights`);
      par.dispose();
    }
  });
}

test('readers on the JS thread see the old or the new layout while modules are deleted', async (t) => {
  // The crash of the issue: params()/adapterConfig()/headConfig() read while deletes ran.
  for (let round = 0; round < 20; round++) {
    const m = await model();
    const before = { params: m.parameters(), a: m.adapterConfig('a'), h: m.headConfig('h') };
    const deletes = [m.deleteAdapter('a'), m.deleteHead('h'), m.predict(batch(1)).catch(() => null)];
    let done = false;
    const all = Promise.all(deletes).then(() => (done = true));
    let reads = 0;
    while (!done) {
      const params = m.parameters();
      const names = new Set(params.map((p) => p.name));
      // Either every parameter of adapter a is listed, or none is.
      const aParams = before.params.filter((p) => p.name.includes('.adapters.a.'));
      const listed = aParams.filter((p) => names.has(p.name)).length;
      t.true(listed === 0 || listed === aParams.length, `round ${round}: ${listed} of ${aParams.length} parameters of a`);
      // Each read takes the snapshot current at that moment (the delete runs on another thread,
      // so two reads in a row may straddle it): a config is the old one, or the module is gone.
      const oldOrGone = (read: () => unknown, want: unknown, what: string) => {
        try {
          t.deepEqual(read(), want, what);
        } catch (err) {
          t.true(err instanceof InvalidArgumentError && /no (adapter|head) named/.test(err.message), `${what}: ${String(err)}`);
        }
      };
      oldOrGone(() => m.adapterConfig('a'), before.a, 'adapter a');
      oldOrGone(() => m.headConfig('h'), before.h, 'head h');
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await all;
    t.false(m.adapters().includes('a'));
    t.is(m.activeHead(), null);
    t.throws(() => m.adapterConfig('a'), { instanceOf: InvalidArgumentError });
    t.true(reads > 0);
    m.dispose();
  }
});

test('a loading adapter is never seen half filled: set it active while it loads, and predict', async (t) => {
  const dir = await makeTempDir(t, 'af-load-');
  const src = await model();
  await src.saveAdapter(join(dir, 'a'), 'a');
  const full = await model();
  await full.loadAdapter(join(dir, 'a'), { loadAs: 'x' });
  await full.setActiveAdapters('x');
  const want = plain(await full.predict(batch(2)));
  full.dispose();

  const m = await model();
  const load = m.loadAdapter(join(dir, 'a'), { loadAs: 'x' });
  const results: unknown[] = [];
  for (let i = 0; i < 30; i++) {
    results.push(await m.setActiveAdapters('x').then(() => m.predict(batch(2)).then(plain), (err: unknown) => err));
  }
  await load;
  results.push(await m.setActiveAdapters('x').then(() => m.predict(batch(2)).then(plain)));
  for (const r of results) {
    if (r instanceof InvalidArgumentError) t.regex(r.message, /no adapter named "x"/);
    else t.deepEqual(r, want);
  }
  t.deepEqual(results.at(-1), want);
  m.dispose();
  src.dispose();
});

test('a load that fails leaves the model exactly as it was', async (t) => {
  const dir = await makeTempDir(t, 'af-loadfail-');
  const m = await model();
  await m.saveAdapter(join(dir, 'a'), 'a');
  const before = await state(m);
  // The same name again: refused before or inside the add task; either way nothing changes.
  await t.throwsAsync(m.loadAdapter(join(dir, 'a')), { instanceOf: InvalidArgumentError, message: /already has an adapter named "a"/ });
  // Two loads under one new name, overlapping: exactly one wins, whole.
  const both = await Promise.allSettled([m.loadAdapter(join(dir, 'a'), { loadAs: 'y' }), m.loadAdapter(join(dir, 'a'), { loadAs: 'y' })]);
  t.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  await m.deleteAdapter('y');
  t.deepEqual(await state(m), before);
  m.dispose();
});

test('setActiveAdapters during a trainStep applies after it: the step trains the adapter active when it was called', async (t) => {
  const m = await model();
  const a0 = await m.getParameter('encoder.layer.0.output.adapters.a.adapter_up.weight');
  const b0 = await m.getParameter('encoder.layer.0.output.adapters.b.adapter_up.weight');
  const step = m.trainStep(batch(3), labels, { seed: 1, lr: 1e-2 });
  const switched = m.setActiveAdapters('b');
  await Promise.all([step, switched]);
  t.notDeepEqual(await m.getParameter('encoder.layer.0.output.adapters.a.adapter_up.weight'), a0);
  t.deepEqual(await m.getParameter('encoder.layer.0.output.adapters.b.adapter_up.weight'), b0);
  m.dispose();
});

test('dispose() during calls: the running call finishes, queued ones reject with DisposedError, nothing crashes', async (t) => {
  for (let round = 0; round < 10; round++) {
    const m = await model();
    const calls = [
      m.forward(batch(1, 8, 32)),
      m.trainStep(batch(3), labels, { seed: 1 }),
      m.predict(batch(2)),
      m.addAdapter('z'),
      m.deleteAdapter('a'),
      m.getParameter('embeddings.word_embeddings.weight'),
    ];
    if (round % 2) await new Promise((r) => setImmediate(r));
    m.dispose();
    const settled = await Promise.allSettled(calls);
    const first = settled[0];
    if (first.status === 'rejected') t.true(first.reason instanceof DisposedError);
    for (const s of settled.slice(1)) {
      t.is(s.status, 'rejected');
      if (s.status === 'rejected') t.true(s.reason instanceof DisposedError, String(s.reason));
    }
    await t.throwsAsync(m.predict(batch(2)), { instanceOf: DisposedError });
    t.throws(() => m.parameters(), { instanceOf: DisposedError });
  }
});

test('the JS thread keeps running while overlapping calls work: timers fire before the model is done', async (t) => {
  const big = await createModel({ ...CONFIG, hidden_size: 128, intermediate_size: 512, num_hidden_layers: 4 }, { seed: 1, threads: 1 });
  await big.addAdapter('a', { seed: 1 });
  await big.addClassificationHead('h', { numLabels: 2, seed: 2 });
  let finished = false;
  const work = Promise.all([
    big.forward(batch(1, 16, 64)),
    big.setActiveAdapters('a', { head: 'h' }),
    big.trainAdapter('a'),
    big.addAdapter('b'),
    big.predict(batch(2, 16, 64)),
    big.deleteAdapter('b'),
  ]).finally(() => (finished = true));
  // Every call above returned at once (they are queued), and timer callbacks keep running.
  let ticks = 0;
  let maxGap = 0;
  let last = performance.now();
  while (!finished) {
    await new Promise((r) => setTimeout(r, 1));
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }
  await work;
  t.true(ticks > 1, `${ticks} timer ticks while the model worked`);
  t.log(`${ticks} timer ticks while six overlapping calls ran; longest gap ${maxGap.toFixed(1)} ms (not asserted: machines differ)`);
  big.dispose();
});
