// Re-checks the demo's two claims over seeds, running the whole two-stage method per seed on
// the generated tasks: (1) Fusion beats the target's ST-A on the low-resource target, (2) the
// fusion weights, averaged over the target's dev tokens, favour each related adapter over every
// unrelated one. Prints a table per seed, mean ± std, weights per layer and wall times; exits
// with code 2 when a claim fails on some seed (layer mean for claim 2).
//
//   node dist/bench/demo-explore.js [--seeds 1,2,3 | --seeds 4-8] [--verbose]
//        [--json '{"bert":{...},"adapter":{...},"settings":{"fusion":{"lr":3e-3}},"sizes":{...},
//                  "initRange":0.1,"fusionDropout":0.3,"fuse":["topic","color","hobby"]}']
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createModel, type BertModel, type HfBertConfig } from '../lib/model/bert-model.js';
import { Fuse } from '../lib/adapters/composition.js';
import { Tokenizer } from '../lib/tokenizer/tokenizer.js';
import { Trainer } from '../lib/trainer/trainer.js';
import { collate, tokenizeExamples, type Example } from '../lib/trainer/batching.js';
import { evaluateDataset } from '../lib/eval/evaluate.js';
import { DEMO_TARGET, demoTextExamples, makeDemoTasks, writeDemoTokenizer, type DemoTask, type DemoTaskSizes } from '../lib/demo/tasks.js';
import {
  DEMO_ADAPTER,
  DEMO_BERT_CONFIG,
  DEMO_SEEDS,
  DEMO_SETTINGS,
  demoModelOptions,
  type DemoAdapterSettings,
  type DemoSettings,
  type DemoStageSettings,
} from '../lib/demo/settings.js';

/** What --json may change (exploration); by default everything is the demo's. */
interface Overrides {
  bert?: Partial<HfBertConfig>;
  adapter?: Partial<DemoAdapterSettings>;
  settings?: { [K in keyof DemoSettings]?: Partial<DemoStageSettings> };
  sizes?: Partial<DemoTaskSizes>;
  initRange?: number;
  fusionConfig?: 'dynamic' | 'static';
  fusionDropout?: number;
  /** Fuse only these adapters (default: every task's, the target's included). */
  fuse?: string[];
}

function parseArgs(argv: string[]): { seeds: number[]; o: Overrides; verbose: boolean } {
  let seeds = [...DEMO_SEEDS];
  let o: Overrides = {};
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seeds' && i + 1 < argv.length) {
      seeds = argv[++i].split(',').flatMap((s) => {
        const m = /^(\d+)-(\d+)$/.exec(s);
        return m ? Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, k) => Number(m[1]) + k) : [Number(s)];
      });
      if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new TypeError(`--seeds: not a list of seeds: ${argv[i]}`);
    } else if (a === '--json' && i + 1 < argv.length) o = JSON.parse(argv[++i]) as Overrides;
    else if (a === '--verbose') verbose = true;
    else throw new TypeError(`unknown argument ${a} (see the header of bench/demo-explore.ts)`);
  }
  return { seeds, o, verbose };
}

interface SeedResult {
  seed: number;
  head: number;
  sta: number;
  fusion: number;
  /** Dev accuracy of each source's ST-A. */
  sources: Record<string, number>;
  /** The fused adapters, in fusion order. */
  names: string[];
  /** [layer][adapter]: mean fusion weight over the target dev set's real tokens. */
  weights: number[][];
  /** Wall time of each stage, ms. */
  times: Record<string, number>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x: number) => (100 * x).toFixed(1);
const sec = (ms: number) => (ms / 1e3).toFixed(1);

async function trainStage(
  model: BertModel,
  s: DemoStageSettings,
  seed: number,
  opts: { mode: 'adapter' | 'head' | 'fusion'; adapter?: string; fusion?: Fuse; head: string },
  train: Example[],
  dev: Example[],
  verbose: boolean,
): Promise<void> {
  const fuse = opts.fusion;
  const trainer = new Trainer(model, {
    ...opts,
    lr: s.lr,
    epochs: s.epochs,
    batchSize: s.batchSize,
    evalBatchSize: 256,
    seed,
    earlyStopping: { patience: s.patience, metric: 'accuracy' },
    onEpoch: verbose
      ? async (r) => {
          let w = '';
          if (fuse) {
            const ws = await fusionWeights(model, dev, fuse.adapters.length);
            w = ' weights ' + fuse.adapters.map((_, n) => mean(ws.map((x) => x[n])).toFixed(2)).join(' ');
          }
          console.log(`    ${opts.head} epoch ${r.epoch}: loss ${r.trainLoss.toFixed(3)} dev ${pct(r.eval?.accuracy as number)}${w}`);
        }
      : undefined,
  });
  await trainer.train(train, dev);
}

/** Mean fusion weight per layer and adapter over the real (attention-mask 1) tokens of a dataset. */
async function fusionWeights(model: BertModel, ds: Example[], adapters: number): Promise<number[][]> {
  const sums = Array.from({ length: model.config.numHiddenLayers }, () => new Float64Array(adapters));
  let tokens = 0;
  for (let start = 0; start < ds.length; start += 256) {
    const { input } = collate(ds.slice(start, start + 256), { padTokenId: model.config.padTokenId });
    const out = await model.predict(input, { outputFusionAttentions: true });
    const mask = input.attentionMask!;
    for (let i = 0; i < mask.length; i++) tokens += mask[i];
    out.fusionAttentions?.forEach((att, l) => {
      if (!att) return;
      for (let i = 0; i < mask.length; i++) {
        if (mask[i]) for (let n = 0; n < adapters; n++) sums[l][n] += att[i * adapters + n];
      }
    });
  }
  return sums.map((s) => Array.from(s, (v) => v / tokens));
}

async function runSeed(seed: number, o: Overrides, tokDir: string, verbose: boolean): Promise<SeedResult> {
  const st = (k: keyof DemoSettings): DemoStageSettings => ({ ...DEMO_SETTINGS[k], ...o.settings?.[k] });
  const ad = { ...DEMO_ADAPTER, ...o.adapter };
  const times: Record<string, number> = {};
  let t0 = performance.now();
  const modelOptions = { ...demoModelOptions(seed), ...(o.initRange !== undefined ? { initializerRange: o.initRange } : {}) };
  const model = await createModel({ ...DEMO_BERT_CONFIG, ...o.bert } as HfBertConfig, modelOptions);
  try {
    const tok = await Tokenizer.fromPretrained(tokDir);
    const tasks = makeDemoTasks(seed, o.sizes);
    const data = new Map(
      tasks.map((task) => [
        task.name,
        { task, train: tokenizeExamples(tok, demoTextExamples(task, 'train')) as Example[], dev: tokenizeExamples(tok, demoTextExamples(task, 'dev')) as Example[] },
      ]),
    );
    const addAdapterAndHead = async (task: DemoTask, head = task.name) => {
      if (!model.adapters().includes(task.name)) await model.addAdapter(task.name, { config: ad.config, reductionFactor: ad.reductionFactor, seed });
      await model.addClassificationHead(head, { numLabels: task.labels.length, id2label: task.labels, seed });
    };
    times.setup = performance.now() - t0;

    // Stage 1: an ST-A (adapter + head) per source task.
    const sources: Record<string, number> = {};
    t0 = performance.now();
    for (const task of tasks) {
      if (task.related === 'target') continue;
      const d = data.get(task.name)!;
      await addAdapterAndHead(task);
      await trainStage(model, st('sourceAdapter'), seed, { mode: 'adapter', adapter: task.name, head: task.name }, d.train, d.dev, verbose);
      await model.setActiveAdapters(task.name, { head: task.name });
      sources[task.name] = (await evaluateDataset(model, d.dev, { batchSize: 256 })).accuracy as number;
    }
    times.sources = performance.now() - t0;

    // The target's own ST-A, and the head-only baseline.
    const target = data.get(DEMO_TARGET)!;
    t0 = performance.now();
    await addAdapterAndHead(target.task);
    await trainStage(model, st('targetAdapter'), seed, { mode: 'adapter', adapter: DEMO_TARGET, head: DEMO_TARGET }, target.train, target.dev, verbose);
    await model.setActiveAdapters(DEMO_TARGET, { head: DEMO_TARGET });
    const sta = (await evaluateDataset(model, target.dev, { batchSize: 256 })).accuracy as number;
    times.sta = performance.now() - t0;

    t0 = performance.now();
    const headOnly = `${DEMO_TARGET}-head`;
    await addAdapterAndHead(target.task, headOnly);
    await model.setActiveAdapters(null, { head: headOnly });
    await trainStage(model, st('head'), seed, { mode: 'head', head: headOnly }, target.train, target.dev, verbose);
    await model.setActiveAdapters(null, { head: headOnly });
    const head = (await evaluateDataset(model, target.dev, { batchSize: 256 })).accuracy as number;
    times.head = performance.now() - t0;

    // Stage 2: fusion over every adapter (the target's ST-A included, as in the paper), fresh head.
    t0 = performance.now();
    const names = o.fuse ?? tasks.map((t) => t.name);
    const fuse = new Fuse(...names);
    await model.addAdapterFusion(fuse, {
      config: o.fusionConfig ?? 'dynamic',
      seed,
      ...(o.fusionDropout !== undefined ? { dropoutProb: o.fusionDropout } : {}),
    });
    const fusedHead = `${DEMO_TARGET}-fusion`;
    await addAdapterAndHead(target.task, fusedHead);
    await trainStage(model, st('fusion'), seed, { mode: 'fusion', fusion: fuse, head: fusedHead }, target.train, target.dev, verbose);
    await model.setActiveAdapters(fuse, { head: fusedHead });
    const fusion = (await evaluateDataset(model, target.dev, { batchSize: 256 })).accuracy as number;
    times.fusion = performance.now() - t0;

    t0 = performance.now();
    const weights = await fusionWeights(model, target.dev, names.length);
    times.weights = performance.now() - t0;
    return { seed, head, sta, fusion, sources, names, weights, times };
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const { seeds, o, verbose } = parseArgs(process.argv.slice(2));
  const tokDir = await mkdtemp(join(tmpdir(), 'demo-tokenizer-'));
  await writeDemoTokenizer(tokDir);
  const kinds = makeDemoTasks(0, { sourceTrain: 4, sourceDev: 4, targetTrain: 3, targetDev: 3 });
  const related = kinds.filter((t) => t.related === true).map((t) => t.name);
  const unrelated = kinds.filter((t) => t.related === false).map((t) => t.name);
  // Claim 2 on one weight vector: every related adapter above every unrelated one.
  const favours = (names: string[], w: number[]) => {
    const at = (n: string) => w[names.indexOf(n)];
    const rel = related.filter((n) => names.includes(n)).map(at);
    const unrel = unrelated.filter((n) => names.includes(n)).map(at);
    return rel.length > 0 && unrel.length > 0 && Math.min(...rel) > Math.max(...unrel);
  };
  const layerMean = (r: SeedResult) => r.names.map((_, n) => mean(r.weights.map((w) => w[n])));

  console.log(`related: ${related.join(', ')}; unrelated: ${unrelated.join(', ')}; target: ${DEMO_TARGET}${Object.keys(o).length ? `; overrides ${JSON.stringify(o)}` : ''}`);
  const results: SeedResult[] = [];
  const total0 = performance.now();
  try {
    for (const seed of seeds) {
      const r = await runSeed(seed, o, tokDir, verbose);
      results.push(r);
      const row = (w: number[]) => r.names.map((n, i) => `${n} ${w[i].toFixed(3)}`).join('  ');
      console.log(
        `seed ${seed}: Head ${pct(r.head)}  ST-A ${pct(r.sta)}  Fusion ${pct(r.fusion)}  ${r.fusion > r.sta ? 'fusion > ST-A' : 'FUSION <= ST-A'}` +
          `   (source ST-As on their dev: ${Object.entries(r.sources).map(([k, v]) => `${k} ${pct(v)}`).join(', ')})`,
      );
      r.weights.forEach((w, l) => console.log(`  layer ${l}: ${row(w)}  ${favours(r.names, w) ? 'related > unrelated' : 'not related > unrelated'}`));
      const avg = layerMean(r);
      console.log(`  mean   : ${row(avg)}  ${favours(r.names, avg) ? 'related > unrelated' : 'NOT related > unrelated'}`);
      const t = r.times;
      console.log(`  wall s: setup ${sec(t.setup)}  source ST-As ${sec(t.sources)}  target ST-A ${sec(t.sta)}  head ${sec(t.head)}  fusion ${sec(t.fusion)}  weights ${sec(t.weights)}`);
    }
  } finally {
    await rm(tokDir, { recursive: true, force: true });
  }
  const total = performance.now() - total0;

  console.log(`\nover seeds ${seeds.join(',')} (mean ± std):`);
  for (const [label, k] of [['Head', 'head'], ['ST-A', 'sta'], ['Fusion', 'fusion']] as const) {
    const xs = results.map((r) => r[k]);
    console.log(`  ${label.padEnd(6)} ${pct(mean(xs))} ± ${pct(std(xs))}   (${xs.map(pct).join(', ')})`);
  }
  const names = results[0].names;
  const layers = results[0].weights.length;
  for (let l = 0; l <= layers; l++) {
    const pick = (r: SeedResult) => (l < layers ? r.weights[l] : layerMean(r));
    const w = names.map((_, n) => mean(results.map((r) => pick(r)[n])));
    const holds = results.filter((r) => favours(names, pick(r))).length;
    console.log(
      `  weights ${l < layers ? `layer ${l}` : 'mean   '}: ${names.map((n, i) => `${n} ${w[i].toFixed(3)}`).join('  ')}` +
        `   related > unrelated on ${holds}/${results.length} seeds`,
    );
  }
  const claim1 = results.filter((r) => r.fusion > r.sta).length;
  const claim2 = results.filter((r) => favours(names, layerMean(r))).length;
  const stage = (k: string) => sec(mean(results.map((r) => r.times[k])));
  console.log(`  wall s per seed: setup ${stage('setup')}  source ST-As ${stage('sources')}  target ST-A ${stage('sta')}  head ${stage('head')}  fusion ${stage('fusion')}  weights ${stage('weights')}`);
  console.log(`  total ${sec(total)} s for ${results.length} seeds`);
  const ok = claim1 === results.length && claim2 === results.length;
  console.log(`claim 1 (Fusion > ST-A): ${claim1}/${results.length} seeds; claim 2 (related > unrelated, layer mean): ${claim2}/${results.length} seeds -> ${ok ? 'both hold' : 'NOT BOTH HOLD'}`);
  if (!ok) process.exitCode = 2;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
