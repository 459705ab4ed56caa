// The backward visits only what trains: head-only training runs no encoder backward, and an
// adapter left out of the lower layers (leave_out, AdapterDrop) stops the backward above them.
// The gradients and steps must equal those of a run whose backward goes all the way down (one
// more weight trainable below, its gradient discarded).
import test from 'ava';
import { createModel, type BertModel } from '../lib/index.js';
import { lcg, SMALL_DROPOUT_CONFIG } from './helpers/training.js';

const CONFIG = SMALL_DROPOUT_CONFIG;

async function model(): Promise<BertModel> {
  const m = await createModel(CONFIG, { seed: 3 });
  await m.addAdapter('a', { reductionFactor: 4, seed: 1 });
  await m.addClassificationHead('h', { numLabels: 3, seed: 2 });
  await m.setActiveAdapters('a', { head: 'h' });
  return m;
}

const r = lcg(5);
const batch = { inputIds: Int32Array.from({ length: 4 * 10 }, () => 1 + Math.floor(r() * 90)), batchSize: 4, seqLen: 10 };
const labels = new Int32Array([0, 2, 1, 2]);
const headParams = ['heads.h.1.weight', 'heads.h.1.bias', 'heads.h.4.weight', 'heads.h.4.bias'];

test('head-only gradients equal those computed with an encoder backward', async (t) => {
  const only = await model();
  await only.trainHead();
  const withEncoder = await model();
  await withEncoder.setTrainable(['heads.h.*', 'encoder.layer.0.output.dense.bias']);
  const a = await only.lossAndGrad(batch, labels, { train: true, seed: 7 });
  const b = await withEncoder.lossAndGrad(batch, labels, { train: true, seed: 7 });
  t.deepEqual(a, b);
  for (const p of headParams) t.deepEqual(await only.getGradient(p), await withEncoder.getGradient(p), p);
  // And training steps move the head identically (the encoder bias that trains in the other
  // model is put back after each step, so that both encoders stay the same).
  const bias = 'encoder.layer.0.output.dense.bias';
  const bias0 = await withEncoder.getParameter(bias);
  for (let s = 0; s < 3; s++) {
    await only.trainStep(batch, labels, { seed: s, lr: 1e-2 });
    await withEncoder.trainStep(batch, labels, { seed: s, lr: 1e-2 });
    t.notDeepEqual(await withEncoder.getParameter(bias), bias0, 'the encoder backward ran');
    await withEncoder.setParameter(bias, bias0);
  }
  for (const p of headParams) t.deepEqual(await only.getParameter(p), await withEncoder.getParameter(p), p);
  only.dispose();
  withEncoder.dispose();
});

test('an adapter left out of layer 0: the backward stops above it, the gradients are unchanged', async (t) => {
  const make = async () => {
    const m = await createModel(CONFIG, { seed: 3 });
    await m.addAdapter('top', { reductionFactor: 4, leaveOut: [0], seed: 1 });
    await m.addClassificationHead('h', { numLabels: 3, seed: 2 });
    await m.setActiveAdapters('top', { head: 'h' });
    return m;
  };
  const short = await make();
  await short.trainAdapter('top');
  const full = await make();
  await full.setTrainable(['encoder.layer.1.output.adapters.top.*', 'heads.h.*', 'embeddings.LayerNorm.bias']);
  const a = await short.lossAndGrad(batch, labels, { train: true, seed: 7 });
  const b = await full.lossAndGrad(batch, labels, { train: true, seed: 7 });
  t.deepEqual(a, b);
  const names = short.parameters().filter((p) => p.trainable).map((p) => p.name);
  t.true(names.some((n) => n.includes('adapters.top')));
  for (const p of names) t.deepEqual(await short.getGradient(p), await full.getGradient(p), p);
  t.true((await full.getGradient('embeddings.LayerNorm.bias')).some((x) => x !== 0), 'the full backward reached the embeddings');
  short.dispose();
  full.dispose();
});
