// Backend selection, determinism, and heavy calls staying off the JS thread.
import test from 'ava';
import { join } from 'node:path';
import { backendInfo, createModel, loadModel } from '../lib/index.js';
import { fixturesDir } from './helpers/paths.js';

const tinyA = join(fixturesDir, 'bert', 'tiny-a');

test('backendInfo reports backend, GEMM provider, threads and instruction set', (t) => {
  const info = backendInfo();
  t.is(info.backend, 'cpu');
  t.true(['builtin', 'openblas'].includes(info.gemmProvider));
  t.true(['avx512', 'avx2', 'scalar'].includes(info.isa));
  t.true(info.threads >= 1 && info.threads === info.availableCores);
  t.is(backendInfo({ threads: 1 }).threads, 1);
  t.is(backendInfo({ gemm: 'builtin' }).gemmProvider, 'builtin');
  if (info.openblas) t.is(backendInfo({ gemm: 'openblas' }).gemmProvider, 'openblas');
  else t.throws(() => backendInfo({ gemm: 'openblas' }), { code: 'ERR_AF_UNSUPPORTED' });
});

const input = {
  inputIds: new Int32Array([2, 17, 33, 96, 5, 0, 8, 61, 12, 0, 0, 0]),
  attentionMask: new Int32Array([1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0]),
  tokenTypeIds: new Int32Array([0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0]),
  batchSize: 2,
  seqLen: 6,
};

test('results repeat bit for bit for a fixed thread count, and agree across thread counts', async (t) => {
  const one = await loadModel(tinyA, { threads: 1 });
  const two = await loadModel(tinyA, { threads: 2 });
  const a = await one.forward(input, { train: true, seed: 11 });
  const b = await one.forward(input, { train: true, seed: 11 });
  const c = await two.forward(input, { train: true, seed: 11 });
  const d = await two.forward(input, { train: true, seed: 11 });
  t.deepEqual(a.lastHiddenState, b.lastHiddenState);
  t.deepEqual(c.lastHiddenState, d.lastHiddenState);
  // Same dropout masks on any thread count: the outputs differ by rounding only.
  let worst = 0;
  for (let i = 0; i < a.lastHiddenState.length; i++) worst = Math.max(worst, Math.abs(a.lastHiddenState[i] - c.lastHiddenState[i]));
  t.true(worst < 1e-4, `1 vs 2 threads differ by ${worst}`);
  const other = await one.forward(input, { train: true, seed: 12 });
  t.notDeepEqual(a.lastHiddenState, other.lastHiddenState);
  const evalOut = await one.forward(input);
  t.notDeepEqual(a.lastHiddenState, evalOut.lastHiddenState);
  one.dispose();
  two.dispose();
});

test('createModel initialises weights as Hugging Face does, deterministically', async (t) => {
  const config = { vocab_size: 50, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, type_vocab_size: 2, hidden_act: 'gelu' as const };
  const a = await createModel(config, { seed: 3 });
  const b = await createModel(config, { seed: 3 });
  const w = await a.getParameter('encoder.layer.0.intermediate.dense.weight');
  t.deepEqual(w, await b.getParameter('encoder.layer.0.intermediate.dense.weight'));
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  t.true(Math.abs(mean) < 0.003 && Math.abs(std - 0.02) < 0.002, `mean ${mean}, std ${std}`);
  t.true((await a.getParameter('encoder.layer.0.output.LayerNorm.weight')).every((v) => v === 1));
  t.true((await a.getParameter('encoder.layer.0.output.dense.bias')).every((v) => v === 0));
  await t.throwsAsync(createModel({ ...config, hidden_act: 'relu' as 'gelu' }), { code: 'ERR_AF_UNSUPPORTED' });
  a.dispose();
  b.dispose();
});

test('forward runs off the JS thread: timers keep firing during a long call', async (t) => {
  const model = await createModel(
    { vocab_size: 1000, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 128, type_vocab_size: 2, hidden_act: 'gelu' },
    { seed: 1 },
  );
  const B = 16, L = 128;
  const ids = new Int32Array(B * L).map((_, i) => (i * 31) % 1000);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  const calls = [];
  for (let i = 0; i < 3; i++) calls.push(model.forward({ inputIds: ids, batchSize: B, seqLen: L }));
  await Promise.all(calls);
  clearInterval(timer);
  const elapsed = Date.now() - started;
  t.log(`3 forwards took ${elapsed} ms; the 1 ms timer fired ${ticks} times meanwhile`);
  // A blocked event loop would let the timer fire at most once or twice in total.
  t.true(ticks >= 5, `timer fired ${ticks} times during ${elapsed} ms`);
  model.dispose();
});

test('dispose during a running forward is safe: the call completes', async (t) => {
  const model = await loadModel(tinyA);
  const pending = model.forward(input);
  model.dispose();
  const out = await pending;
  t.is(out.lastHiddenState.length, 2 * 6 * model.config.hiddenSize);
  t.true(model.disposed);
});
