// `npm run bench:soak [-- --calls 10000 --callers 8 --rounds 200 --out FILE]`: one model under
// overlapping load (issue 7 §5, docs/ARCHITECTURE.md "One owner per model").
//
// Part 1: `--callers` concurrent callers share `--calls` predict calls on one model (an adapter
// fusion over three adapters and a head), with mixed batch shapes. Every result must be
// bit-identical to the same batch predicted alone; resident memory is sampled as the calls go
// (the curve is printed), handles and threads are counted before and after, and the event
// loop's delay is sampled (the JS thread never waits for the model).
// Part 2: `--rounds` times, a fresh model gets predicts from every caller and dispose() lands at a
// random moment among them: each call must either resolve with the right logits or reject with
// DisposedError; afterwards memory, handles and threads must be back where they were.
// Prints a report naming the machine (and writes it to --out); asserts nothing in CI.
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createModel, DisposedError, Fuse, type BertModel, type HfBertConfig } from '../lib/index.js';
import { describeMachine } from './machine.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '10000' },
    callers: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '200' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const CALLERS = Number(values.callers);
const ROUNDS = Number(values.rounds);
const THREADS = Number(values.threads);

const CONFIG: HfBertConfig = {
  vocab_size: 1000,
  hidden_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 512,
  max_position_embeddings: 128,
  type_vocab_size: 2,
  hidden_act: 'gelu',
};

async function makeModel(seed: number): Promise<BertModel> {
  const m = await createModel(CONFIG, { seed, threads: THREADS });
  for (const [i, a] of ['a', 'b', 'c'].entries()) await m.addAdapter(a, { reductionFactor: 8, seed: seed + i });
  await m.addAdapterFusion(new Fuse('a', 'b', 'c'), { seed });
  await m.addClassificationHead('h', { numLabels: 3, seed });
  await m.setActiveAdapters(new Fuse('a', 'b', 'c'), { head: 'h' });
  return m;
}

// Mixed shapes: batch sizes 1..8, lengths 4..96, padded rows.
function makeBatches(n: number) {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, () => {
    const batchSize = 1 + Math.floor(rnd() * 8);
    const seqLen = 4 + Math.floor(rnd() * 93);
    const inputIds = new Int32Array(batchSize * seqLen);
    const attentionMask = new Int32Array(batchSize * seqLen);
    for (let b = 0; b < batchSize; b++) {
      const len = 1 + Math.floor(rnd() * seqLen);
      for (let j = 0; j < len; j++) {
        inputIds[b * seqLen + j] = 1 + Math.floor(rnd() * 999);
        attentionMask[b * seqLen + j] = 1;
      }
    }
    return { inputIds, attentionMask, batchSize, seqLen };
  });
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
function threadCount(): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}
const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};

say(`# Soak: one model under ${CALLERS} concurrent callers`);
say(`machine: ${describeMachine()}`);
say(`model: BERT ${CONFIG.num_hidden_layers} layers, hidden ${CONFIG.hidden_size}; fusion over 3 adapters; ${THREADS} threads`);
say(`date: ${new Date().toISOString()}; node flags: ${process.execArgv.join(' ') || '(none)'}`);

// ---------------------------------------------------------------- part 1
const batches = makeBatches(64);
const model = await makeModel(1);
const expected: Float32Array[] = [];
for (const b of batches) expected.push((await model.predict(b)).logits);
gc();
const before = { rss: process.memoryUsage().rss, handles: handles(), threads: threadCount() };
const curve: { calls: number; rss: number; heap: number; external: number }[] = [];
let next = 0;
let done = 0;
let mismatches = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const t0 = performance.now();
async function caller(): Promise<void> {
  for (let i = next++; i < CALLS; i = next++) {
    const k = (i * 7919) % batches.length;
    const { logits } = await model.predict(batches[k]);
    if (!same(logits, expected[k])) mismatches++;
    if (++done % Math.max(1, Math.floor(CALLS / 40)) === 0) {
      const u = process.memoryUsage();
      curve.push({ calls: done, rss: u.rss, heap: u.heapUsed, external: u.external });
    }
  }
}
await Promise.all(Array.from({ length: CALLERS }, caller));
const seconds = (performance.now() - t0) / 1000;
loopDelay.disable();
gc();
const after = { rss: process.memoryUsage().rss, handles: handles(), threads: threadCount() };

say('');
say(`## Part 1: ${CALLS} predict calls from ${CALLERS} callers, ${batches.length} batch shapes`);
say(`results identical to sequential calls: ${CALLS - mismatches} of ${CALLS} (${mismatches} differ)`);
say(`throughput: ${(CALLS / seconds).toFixed(0)} calls/s (${seconds.toFixed(1)} s)`);
say(`handles: ${before.handles} before, ${after.handles} after; threads: ${before.threads} before, ${after.threads} after`);
const ms = (ns: number) => (ns / 1e6).toFixed(1);
say(`event-loop delay while the calls ran: p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms`);
say('');
say('calls    RSS MB  heap MB  external MB');
for (const p of curve) say(`${String(p.calls).padStart(6)}  ${mb(p.rss).padStart(7)}  ${mb(p.heap).padStart(7)}  ${mb(p.external).padStart(11)}`);
const warm = curve[Math.floor(curve.length / 4)];
const last = curve.at(-1)!;
say(`RSS after warm-up (${warm.calls} calls) ${mb(warm.rss)} MB, at the end ${mb(last.rss)} MB: ${(((last.rss - warm.rss) / warm.rss) * 100).toFixed(1)}% change`);
model.dispose();

// ---------------------------------------------------------------- part 2
gc();
const base = { rss: process.memoryUsage().rss, handles: handles(), threads: threadCount() };
let resolved = 0;
let disposedRejections = 0;
let wrong = 0;
let otherErrors = 0;
let s = 99;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
const rssRounds: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const m = await makeModel(1);
  const calls: Promise<void>[] = [];
  for (let c = 0; c < CALLERS; c++) {
    calls.push(
      (async () => {
        for (let j = 0; j < 4; j++) {
          const k = (round * 31 + c * 4 + j) % batches.length;
          try {
            const { logits } = await m.predict(batches[k]);
            if (same(logits, expected[k])) resolved++;
            else wrong++;
          } catch (err) {
            if (err instanceof DisposedError) disposedRejections++;
            else otherErrors++;
            return;
          }
        }
      })(),
    );
  }
  await new Promise((r) => setTimeout(r, rnd() * 20));
  m.dispose();
  await Promise.all(calls);
  if (round % Math.max(1, Math.floor(ROUNDS / 10)) === 0) {
    gc();
    rssRounds.push(process.memoryUsage().rss);
  }
}
gc();
await new Promise((r) => setTimeout(r, 50));
const end = { rss: process.memoryUsage().rss, handles: handles(), threads: threadCount() };
say('');
say(`## Part 2: ${ROUNDS} rounds of dispose() racing ${CALLERS} callers (4 predicts each)`);
say(`calls resolved with the right logits: ${resolved}; rejected with DisposedError: ${disposedRejections}; wrong logits: ${wrong}; other errors: ${otherErrors}`);
say(`RSS every ${Math.max(1, Math.floor(ROUNDS / 10))} rounds (MB): ${rssRounds.map(mb).join(', ')}`);
say(`RSS ${mb(base.rss)} MB before, ${mb(end.rss)} MB after; handles ${base.handles} → ${end.handles}; threads ${base.threads} → ${end.threads}`);

if (values.out) writeFileSync(values.out, lines.join('\n') + '\n');
