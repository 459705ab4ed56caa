// `npm run bench:epochs -- --model DIR --data DIR [--task sst2] [--examples N] [--full]`:
// how long an epoch of Head, ST-A and Fusion training takes on a real task with a real model,
// as a user's run would do it (the Trainer's batching: shuffled, each batch padded to its
// longest row; the paper's learning rates; dropout on). By default it times a shuffled slice of
// N training examples (after a short warm-up) and projects the epoch from the measured rate;
// --full times the whole epoch. Also times one pass over the dev split (evaluation).
// Prints a table naming the machine; asserts nothing.
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { loadModel, Tokenizer, Fuse, backendInfo, loadTask, tokenizeExamples, collate, epochOrder, stepSeed, type BertModel, type TrainingExample } from '../lib/index.js';
import { addTaskHead } from '../lib/runs/train-run.js';
import { getTask } from '../lib/eval/tasks.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    task: { type: 'string', default: 'sst2' },
    examples: { type: 'string', default: '3200' },
    adapters: { type: 'string', default: '5' },
    'batch-size': { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '128' },
    threads: { type: 'string' },
    full: { type: 'boolean', default: false },
  },
});
if (!values.model || !values.data) {
  console.error('usage: node dist/bench/epochs.js --model DIR --data DIR [--task sst2] [--examples 3200] [--adapters 5] [--full] [--threads N]');
  process.exit(2);
}
const B = Number(values['batch-size']);
const N = Number(values.adapters);
const threads = values.threads ? Number(values.threads) : undefined;
const spec = getTask(values.task!);

const tokenizer = await Tokenizer.fromPretrained(values.model);
const encode = { maxLength: Number(values['max-length']), truncation: true as const };
const train = tokenizeExamples(tokenizer, await loadTask(spec, 'train', { dataDir: values.data }), encode);
const dev = tokenizeExamples(tokenizer, await loadTask(spec, 'dev', { dataDir: values.data }), encode);
const order = epochOrder(train.length, 1, 0, true);
const slice = values.full ? train.length : Math.min(train.length, Number(values.examples));

type Setup = 'Head' | 'ST-A' | `Fusion N=${number}`;

async function build(setup: Setup): Promise<BertModel> {
  const model = await loadModel(values.model!, threads ? { threads } : {});
  await addTaskHead(model, spec, spec.name, 1);
  if (setup === 'Head') {
    await model.setActiveAdapters(null, { head: spec.name });
    await model.trainHead();
  } else if (setup === 'ST-A') {
    await model.addAdapter('a0', { config: 'pfeiffer', seed: 1 });
    await model.setActiveAdapters('a0', { head: spec.name });
    await model.trainAdapter('a0');
  } else {
    const names = Array.from({ length: N }, (_, i) => `a${i}`);
    for (const [i, n] of names.entries()) await model.addAdapter(n, { config: 'pfeiffer', seed: i + 1 });
    await model.addAdapterFusion(new Fuse(...names), { seed: 1 });
    await model.setActiveAdapters(new Fuse(...names), { head: spec.name });
    await model.trainAdapterFusion(new Fuse(...names));
  }
  return model;
}

const batchesOf = (idx: ArrayLike<number>, n: number): TrainingExample[][] => {
  const out: TrainingExample[][] = [];
  for (let s = 0; s < n; s += B) out.push(Array.from({ length: Math.min(B, n - s) }, (_, k) => train[idx[s + k]]));
  return out;
};

async function timeSetup(setup: Setup): Promise<{ setup: Setup; msPerStep: number; examplesPerSecond: number; epochMinutes: number; evalSeconds: number }> {
  const model = await build(setup);
  try {
    const lr = setup === 'Head' ? 1e-3 : setup === 'ST-A' ? 1e-4 : 5e-5;
    const pad = model.config.padTokenId;
    const warm = batchesOf(order, Math.min(3 * B, slice));
    for (const [i, items] of warm.entries()) {
      const b = collate(items, { padTokenId: pad, regression: false });
      await model.trainStep(b.input, b.labels!, { lr, seed: stepSeed(1, i) });
    }
    const timed = batchesOf(order, slice);
    const t = performance.now();
    for (const [i, items] of timed.entries()) {
      const b = collate(items, { padTokenId: pad, regression: false });
      await model.trainStep(b.input, b.labels!, { lr, seed: stepSeed(1, i) });
    }
    const seconds = (performance.now() - t) / 1000;
    const e = performance.now();
    for (let s = 0; s < dev.length; s += B) {
      const b = collate(dev.slice(s, s + B), { padTokenId: pad, regression: false });
      await model.predict(b.input);
    }
    const evalSeconds = (performance.now() - e) / 1000;
    const eps = slice / seconds;
    return { setup, msPerStep: (seconds * 1000) / timed.length, examplesPerSecond: eps, epochMinutes: train.length / eps / 60, evalSeconds };
  } finally {
    model.dispose();
  }
}

const info = backendInfo(threads ? { threads } : {});
console.log(`# ${spec.name}: one training epoch = ${train.length} examples, batch ${B}, max length ${encode.maxLength}; dev ${dev.length} examples`);
console.log(`# model ${values.model}`);
console.log(`# machine: ${cpus()[0]?.model?.trim()} (${cpus().length} cores), ${info.backend} ${info.gemmProvider}/${info.isa}, ${info.threads} threads; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`# ${values.full ? 'the whole epoch timed' : `a shuffled slice of ${slice} examples timed; the epoch is projected from its rate`}`);
console.log('| setup | ms / step | examples / s | epoch (min) | dev pass (s) |');
console.log('|---|---:|---:|---:|---:|');
for (const setup of ['Head', 'ST-A', `Fusion N=${N}`] as Setup[]) {
  const r = await timeSetup(setup);
  console.log(`| ${r.setup} | ${r.msPerStep.toFixed(0)} | ${r.examplesPerSecond.toFixed(1)} | ${r.epochMinutes.toFixed(1)} | ${r.evalSeconds.toFixed(1)} |`);
}
console.log(`# load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
