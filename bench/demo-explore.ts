// Re-checks the demo's two claims over seeds: (1) Fusion beats the target's ST-A (and the
// head-only baseline) on the low-resource target, (2) the fusion weights, averaged over the
// target's dev tokens, favour the related adapters. Runs the whole two-stage method per seed.
//
//   node dist/bench/demo-explore.js [--seeds 1,2,3] [--json '{"bert":{...},"adapter":{...},"settings":{"fusion":{"lr":1e-3}},"sizes":{...}}']
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createModel, type BertModel, type HfBertConfig } from '../lib/model/bert-model.js';
import { Fuse } from '../lib/adapters/composition.js';
import { Tokenizer } from '../lib/tokenizer/tokenizer.js';
import { Trainer } from '../lib/trainer/trainer.js';
import { collate, tokenizeExamples, type Example, type TrainingExample } from '../lib/trainer/batching.js';
import { evaluateDataset } from '../lib/eval/evaluate.js';
import { DEMO_TARGET, makeDemoTasks, demoTextExamples, writeDemoTokenizer, DEFAULT_DEMO_SIZES, type DemoTask, type DemoTaskSizes } from '../lib/demo/tasks.js';
import { DEMO_ADAPTER, DEMO_BERT_CONFIG, DEMO_SETTINGS, demoModelOptions, type DemoAdapterSettings, type DemoSettings, type DemoStageSettings } from '../lib/demo/settings.js';

interface Overrides {
  bert?: Partial<HfBertConfig>;
  adapter?: Partial<DemoAdapterSettings>;
  settings?: { [K in keyof DemoSettings]?: Partial<DemoStageSettings> };
  sizes?: Partial<DemoTaskSizes>;
  /** Fusion: 'dynamic' (default) or 'static'. */
  fusionConfig?: 'dynamic' | 'static';
  initRange?: number;
  fusionDropout?: number;
  fusionTemperature?: boolean;
  /** Exploration: train only these source tasks and stop after stage 1. */
  only?: string[];
}

function parseArgs(argv: string[]): { seeds: number[]; o: Overrides; verbose: boolean } {
  let seeds = [1, 2, 3];
  let o: Overrides = {};
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seeds') seeds = argv[++i].split(',').flatMap((s) => {
      const m = /^(\d+)-(\d+)$/.exec(s);
      if (!m) return [Number(s)];
      return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, k) => Number(m[1]) + k);
    });
    else if (argv[i] === '--json') o = JSON.parse(argv[++i]) as Overrides;
    else if (argv[i] === '--verbose') verbose = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return { seeds, o, verbose };
}

interface SeedResult {
  seed: number;
  head: number;
  sta: number;
  fusion: number;
  sources: Record<string, number>;
  /** [layer][adapter] mean fusion weight over the dev set's real tokens. */
  weights: number[][];
  names: string[];
  times: Record<string, number>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const pct = (x: number) => (100 * x).toFixed(1);

async function trainStage(model: BertModel, s: DemoStageSettings, seed: number, opts: { mode: 'adapter' | 'head' | 'fusion'; adapter?: string; fusion?: Fuse; head: string }, train: TrainingExample[], dev: TrainingExample[], verbose: boolean) {
  const fusion = opts.fusion;
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
          if (fusion) {
            const ws = await fusionWeights(model, dev as Example[], fusion.adapters.length);
            w = fusion.adapters.map((_, n) => mean(ws.map((x) => x[n])).toFixed(2)).join(' ');
          }
          console.log(`    ${opts.head} epoch ${r.epoch} loss ${r.trainLoss.toFixed(3)} dev acc ${pct(r.eval?.accuracy as number)} ${w}`);
        }
      : undefined,
  });
  const r = await trainer.train(train, dev);
  return { epochs: r.epochs, best: r.best?.value ?? NaN };
}

async function fusionWeights(model: BertModel, dev: Example[], adapters: number): Promise<number[][]> {
  const layers = model.config.numHiddenLayers;
  const sums = Array.from({ length: layers }, () => new Float64Array(adapters));
  let tokens = 0;
  for (let start = 0; start < dev.length; start += 256) {
    const batch = collate(dev.slice(start, start + 256), { padTokenId: model.config.padTokenId });
    const out = await model.predict(batch.input, { outputFusionAttentions: true });
    const { batchSize, seqLen, attentionMask } = batch.input;
    for (let i = 0; i < batchSize * seqLen; i++) if (attentionMask![i]) tokens++;
    out.fusionAttentions!.forEach((att, l) => {
      if (!att) return;
      for (let i = 0; i < batchSize * seqLen; i++) {
        if (!attentionMask![i]) continue;
        for (let n = 0; n < adapters; n++) sums[l][n] += att[i * adapters + n];
      }
    });
  }
  return sums.map((s) => Array.from(s, (v) => v / tokens));
}

async function runSeed(seed: number, o: Overrides, tokDir: string, verbose: boolean): Promise<SeedResult> {
  const bert = { ...DEMO_BERT_CONFIG, ...o.bert } as HfBertConfig;
  const ad = { ...DEMO_ADAPTER, ...o.adapter };
  const st = (k: keyof DemoSettings): DemoStageSettings => ({ ...DEMO_SETTINGS[k], ...o.settings?.[k] });
  const times: Record<string, number> = {};
  let t0 = performance.now();
  const model = await createModel(bert, { ...demoModelOptions(seed), ...(o.initRange ? { initializerRange: o.initRange } : {}) });
  const tok = await Tokenizer.fromPretrained(tokDir);
  const tasks = makeDemoTasks(seed, { ...DEFAULT_DEMO_SIZES, ...o.sizes });
  const data = new Map<string, { task: DemoTask; train: Example[]; dev: Example[] }>();
  for (const task of tasks) {
    data.set(task.name, {
      task,
      train: tokenizeExamples(tok, demoTextExamples(task, 'train')) as Example[],
      dev: tokenizeExamples(tok, demoTextExamples(task, 'dev')) as Example[],
    });
  }
  times.setup = performance.now() - t0;

  // Stage 1: an ST-A per task (sources, then the target's own).
  const sources: Record<string, number> = {};
  t0 = performance.now();
  for (const task of tasks) {
    if (task.related === 'target') continue;
    if (o.only && !o.only.includes(task.name)) continue;
    const d = data.get(task.name)!;
    model.addAdapter(task.name, { config: ad.config, reductionFactor: ad.reductionFactor, seed });
    model.addClassificationHead(task.name, { numLabels: task.labels.length, id2label: task.labels, seed });
    const r = await trainStage(model, st('sourceAdapter'), seed, { mode: 'adapter', adapter: task.name, head: task.name }, d.train, d.dev, verbose);
    sources[task.name] = r.best;
    if (verbose) console.log(`  ${task.name}: dev ${pct(r.best)} after ${r.epochs} epochs`);
  }
  times.sources = performance.now() - t0;
  if (o.only) {
    console.log(`seed ${seed}: ${JSON.stringify(sources)} in ${(times.sources / 1e3).toFixed(1)} s`);
    process.exit(0);
  }

  const target = data.get(DEMO_TARGET)!;
  t0 = performance.now();
  model.addAdapter(DEMO_TARGET, { config: ad.config, reductionFactor: ad.reductionFactor, seed });
  model.addClassificationHead(DEMO_TARGET, { numLabels: target.task.labels.length, id2label: target.task.labels, seed });
  await trainStage(model, st('targetAdapter'), seed, { mode: 'adapter', adapter: DEMO_TARGET, head: DEMO_TARGET }, target.train, target.dev, verbose);
  model.setActiveAdapters(DEMO_TARGET, { head: DEMO_TARGET });
  const sta = (await evaluateDataset(model, target.dev, { batchSize: 256 })).accuracy as number;
  times.sta = performance.now() - t0;

  t0 = performance.now();
  const headName = `${DEMO_TARGET}-head`;
  model.addClassificationHead(headName, { numLabels: target.task.labels.length, id2label: target.task.labels, seed });
  model.setActiveAdapters(null, { head: headName });
  await trainStage(model, st('head'), seed, { mode: 'head', head: headName }, target.train, target.dev, verbose);
  model.setActiveAdapters(null, { head: headName });
  const head = (await evaluateDataset(model, target.dev, { batchSize: 256 })).accuracy as number;
  times.head = performance.now() - t0;

  // Stage 2: fusion over every adapter (the target's ST-A included, as the paper), fresh head.
  t0 = performance.now();
  const names = tasks.map((t) => t.name);
  const fuse = new Fuse(...names);
  model.addAdapterFusion(fuse, {
    config: o.fusionConfig ?? 'dynamic',
    seed,
    ...(o.fusionDropout !== undefined ? { dropoutProb: o.fusionDropout } : {}),
    ...(o.fusionTemperature !== undefined ? { temperature: o.fusionTemperature } : {}),
  });
  const fusedHead = `${DEMO_TARGET}-fusion`;
  model.addClassificationHead(fusedHead, { numLabels: target.task.labels.length, id2label: target.task.labels, seed });
  await trainStage(model, st('fusion'), seed, { mode: 'fusion', fusion: fuse, head: fusedHead }, target.train, target.dev, verbose);
  model.setActiveAdapters(fuse, { head: fusedHead });
  const fusion = (await evaluateDataset(model, target.dev, { batchSize: 256 })).accuracy as number;
  times.fusion = performance.now() - t0;
  t0 = performance.now();
  const weights = await fusionWeights(model, target.dev, names.length);
  times.weights = performance.now() - t0;
  model.dispose();
  return { seed, head, sta, fusion, sources, weights, names, times };
}

function related(tasks: DemoTask[]): { rel: number[]; unrel: number[] } {
  const rel: number[] = [];
  const unrel: number[] = [];
  tasks.forEach((t, i) => {
    if (t.related === true) rel.push(i);
    else if (t.related === false) unrel.push(i);
  });
  return { rel, unrel };
}

async function main(): Promise<void> {
  const { seeds, o, verbose } = parseArgs(process.argv.slice(2));
  const tokDir = await mkdtemp(join(tmpdir(), 'demo-tok-'));
  await writeDemoTokenizer(tokDir);
  const tasks = makeDemoTasks(1, { sourceTrain: 4, sourceDev: 4, targetTrain: 2, targetDev: 2 });
  const { rel, unrel } = related(tasks);
  console.log(`overrides: ${JSON.stringify(o)}`);
  const results: SeedResult[] = [];
  const total0 = performance.now();
  try {
    for (const seed of seeds) {
      const r = await runSeed(seed, o, tokDir, verbose);
      results.push(r);
      const avg = r.names.map((_, n) => mean(r.weights.map((w) => w[n])));
      const claim1 = r.fusion > r.sta;
      const claim2 = (w: number[]) => Math.min(...rel.map((i) => w[i])) > Math.max(...unrel.map((i) => w[i]));
      const t = r.times;
      console.log(
        `seed ${seed}: head ${pct(r.head)}  ST-A ${pct(r.sta)}  fusion ${pct(r.fusion)}  ` +
          `[${claim1 ? 'fusion>ST-A' : 'FUSION<=ST-A'}]  sources ${Object.entries(r.sources).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`,
      );
      r.weights.forEach((w, l) => console.log(`  layer ${l}: ${r.names.map((n, i) => `${n} ${w[i].toFixed(3)}`).join('  ')}  ${claim2(w) ? 'related>unrelated' : 'NOT related>unrelated'}`));
      console.log(`  mean   : ${r.names.map((n, i) => `${n} ${avg[i].toFixed(3)}`).join('  ')}  ${claim2(avg) ? 'related>unrelated' : 'NOT related>unrelated'}`);
      console.log(
        `  time s: setup ${(t.setup / 1e3).toFixed(1)}  sources ${(t.sources / 1e3).toFixed(1)}  ST-A ${(t.sta / 1e3).toFixed(1)}  head ${(t.head / 1e3).toFixed(1)}  fusion ${(t.fusion / 1e3).toFixed(1)}  weights ${(t.weights / 1e3).toFixed(1)}`,
      );
    }
  } finally {
    await rm(tokDir, { recursive: true, force: true });
  }
  const total = performance.now() - total0;
  const col = (k: 'head' | 'sta' | 'fusion') => results.map((r) => r[k]);
  console.log(`\nmean ± std over seeds ${seeds.join(',')}:`);
  for (const [label, k] of [['Head', 'head'], ['ST-A', 'sta'], ['Fusion', 'fusion']] as const) {
    console.log(`  ${label.padEnd(7)} ${pct(mean(col(k)))} ± ${pct(std(col(k)))}`);
  }
  const names = results[0].names;
  const layers = results[0].weights.length;
  for (let l = 0; l <= layers; l++) {
    const w = names.map((_, n) => mean(results.map((r) => (l < layers ? r.weights[l][n] : mean(r.weights.map((x) => x[n]))))));
    console.log(`  weights ${l < layers ? `layer ${l}` : 'mean   '}: ${names.map((n, i) => `${n} ${w[i].toFixed(3)}`).join('  ')}`);
  }
  const wins = results.filter((r) => r.fusion > r.sta).length;
  const claim2 = results.filter((r) => {
    const avg = r.names.map((_, n) => mean(r.weights.map((w) => w[n])));
    return Math.min(...rel.map((i) => avg[i])) > Math.max(...unrel.map((i) => avg[i]));
  }).length;
  console.log(`  fusion > ST-A on ${wins}/${results.length} seeds; related > unrelated (layer mean) on ${claim2}/${results.length}`);
  const stage = (k: string) => mean(results.map((r) => r.times[k] / 1e3)).toFixed(1);
  console.log(`  mean time per seed s: setup ${stage('setup')} sources ${stage('sources')} ST-A ${stage('sta')} head ${stage('head')} fusion ${stage('fusion')} weights ${stage('weights')}`);
  console.log(`  total ${(total / 1e3).toFixed(1)} s for ${results.length} seeds`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
