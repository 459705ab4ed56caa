// `npm run bench`: BERT-base-shaped forward and backward on the CPU backend, against PyTorch
// eager (transformers' BertModel) measured in the same run, and against the machine's fp32
// GEMM rate measured here too. Prints a table; asserts nothing. Then runs the adapter / fusion
// bench (bench/adapters.ts; AF_BENCH_ADAPTERS=0 skips it, `npm run bench:adapters` runs it alone).
import { BERT_BASE } from '../lib/runs/bench-command.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { binding } from '../lib/binding.js';
import { createModel, type BertModel, backendInfo } from '../lib/index.js';
import { describeMachine } from './machine.js';
import { runTorch, type TorchTimings } from './torch-reference.js';
import { runAdapterBench } from './adapters.js';

const root = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();

const B = Number(process.env.AF_BENCH_BATCH ?? 8);
const L = Number(process.env.AF_BENCH_SEQ ?? 128);
const REPEATS = Number(process.env.AF_BENCH_REPEATS ?? 5);
const config = { ...BERT_BASE, layer_norm_eps: 1e-12 };

// FLOPs of one encoder forward (GEMMs and attention matmuls; elementwise work not counted).
function forwardFlops(): number {
  const T = B * L, D = config.hidden_size, F = config.intermediate_size, H = config.num_attention_heads;
  const perLayer = 2 * T * (D * 3 * D + D * D + 2 * D * F) + 2 * 2 * B * H * L * L * (D / H);
  return perLayer * config.num_hidden_layers;
}

async function time(fn: () => Promise<unknown>): Promise<{ best: number; median: number }> {
  await fn(); // warm-up: allocations, pack buffers
  const t: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  t.sort((a, b) => a - b);
  return { best: t[0], median: t[Math.floor(t.length / 2)] };
}

function batch() {
  const n = B * L;
  const inputIds = new Int32Array(n);
  const attentionMask = new Int32Array(n).fill(1);
  for (let i = 0; i < n; i++) inputIds[i] = 1 + ((i * 7919) % (config.vocab_size - 1));
  for (let b = B / 2; b < B; b++) for (let l = L - L / 4; l < L; l++) attentionMask[b * L + l] = 0;
  return { inputIds, attentionMask, tokenTypeIds: new Int32Array(n), batchSize: B, seqLen: L };
}

// Times backward alone (each preceded by an untimed forward that keeps activations).
async function timeBackward(model: BertModel, input: ReturnType<typeof batch>, gradOut: Float32Array) {
  const t: number[] = [];
  for (let i = 0; i <= REPEATS; i++) {
    await model.forward(input, { keepActivations: true });
    const s = process.hrtime.bigint();
    await model.backward(gradOut, { inputGrad: true });
    if (i) t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  t.sort((a, b) => a - b);
  return { best: t[0], median: t[Math.floor(t.length / 2)] };
}

async function ours(model: BertModel) {
  const input = batch();
  const gradOut = new Float32Array(B * L * config.hidden_size).map((_, i) => Math.sin(i));
  const forward = await time(() => model.forward(input));
  await model.setTrainable('none');
  const backwardInput = await timeBackward(model, input, gradOut);
  await model.setTrainable('all');
  const backwardFull = await timeBackward(model, input, gradOut);
  return { forward, backwardInput, backwardFull };
}

function fmtRow(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
}

async function main() {
  console.log(`adapterfusion bench — ${describeMachine()}`);
  console.log(`BERT-base shapes: B=${B}, L=${L}, D=768, 12 layers, 12 heads, F=3072, fp32; best of ${REPEATS}\n`);

  // The machine's fp32 GEMM rate, measured now with every provider compiled in.
  const n = 2048;
  const gemmRates: Record<string, number> = {};
  const providers = backendInfo().openblas ? (['builtin', 'openblas'] as const) : (['builtin'] as const);
  for (const gemm of providers) {
    const t = await binding().gemmBenchmark(n, n, n, 5, { gemm });
    gemmRates[gemm] = (2 * n ** 3) / t.best / 1e9;
  }
  const torch = runTorch(root, { config, batch: B, seq: L, threads: backendInfo().threads, repeats: REPEATS, gemm_n: n });
  const torchOk = 'forward' in torch ? (torch as TorchTimings) : undefined;
  if (torchOk) gemmRates[`torch ${torchOk.torch} mm`] = (2 * n ** 3) / torchOk.sgemm[0] / 1e9;
  const peak = Math.max(...Object.values(gemmRates));
  console.log(`fp32 SGEMM ${n}³ on this machine: ` + Object.entries(gemmRates).map(([k, v]) => `${k} ${v.toFixed(0)} GFLOP/s`).join(', '));
  console.log(`reference rate (best of those): ${peak.toFixed(0)} GFLOP/s\n`);

  const model = await createModel(config, { seed: 1 });
  const r = await ours(model);
  model.dispose();
  const flops = forwardFlops();
  const widths = [34, 9, 8, 9, 9, 12];
  console.log(fmtRow(['', 'ms', 'seq/s', 'GFLOP/s', '% GEMM', 'vs PyTorch'], widths));
  const row = (label: string, s: number, fl: number, ref?: number) =>
    console.log(
      fmtRow(
        [label, (s * 1e3).toFixed(1), (B / s).toFixed(1), (fl / s / 1e9).toFixed(0), ((fl / s / 1e9 / peak) * 100).toFixed(0) + '%', ref ? `${(ref / s).toFixed(2)}x` : '-'],
        widths,
      ),
    );
  row('forward (inference)', r.forward.best, flops, torchOk?.forward[0]);
  row('backward, input grads only', r.backwardInput.best, flops, torchOk?.backward_input[0]);
  row('backward, all weight grads', r.backwardFull.best, 2 * flops, torchOk?.backward_full[0]);
  if (torchOk) {
    console.log(`\nPyTorch ${torchOk.torch} eager (transformers ${torchOk.transformers}, ${torchOk.attn} attention, ${torchOk.threads} threads):`);
    console.log(fmtRow(['forward', (torchOk.forward[0] * 1e3).toFixed(1), (B / torchOk.forward[0]).toFixed(1), (flops / torchOk.forward[0] / 1e9).toFixed(0), '', ''], widths));
    console.log(fmtRow(['backward, input grads only', (torchOk.backward_input[0] * 1e3).toFixed(1), '', (flops / torchOk.backward_input[0] / 1e9).toFixed(0), '', ''], widths));
    console.log(fmtRow(['backward, all weight grads', (torchOk.backward_full[0] * 1e3).toFixed(1), '', ((2 * flops) / torchOk.backward_full[0] / 1e9).toFixed(0), '', ''], widths));
  } else {
    console.log(`\n${(torch as { error: string }).error}`);
  }
  console.log(`\nbackward (input grads) / forward = ${(r.backwardInput.best / r.forward.best).toFixed(2)} (goal ≤ 1.2)`);
  console.log(`forward at ${((flops / r.forward.best / 1e9 / peak) * 100).toFixed(0)}% of the fp32 GEMM rate (goal ≥ 80%)`);

  if (process.env.AF_BENCH_ADAPTERS !== '0') {
    console.log(`\n${'='.repeat(100)}\n`);
    await runAdapterBench();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
