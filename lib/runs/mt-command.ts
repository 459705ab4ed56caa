// `train-mt-adapters`: multi-task adapters (MT-A; Stickland & Murray 2019, as the AdapterFusion
// paper trains them) as a run command. Per seed, one adapter and one head per task are trained
// jointly with every encoder weight by MultiTaskTrainer. Layout (see docs/ARCHITECTURE.md, "Runs
// and reports"; RunRecord in lib/runs/record.ts):
//
//   <out>/seed-<s>/metrics.jsonl          the joint run's log (α, task probabilities, counts drawn)
//   <out>/seed-<s>/model/                 the jointly fine-tuned encoder (Fusion w/ MT-A runs on it)
//   <out>/seed-<s>/<task>/run.json        one RunRecord per task, setup 'mt-a'
//   <out>/seed-<s>/<task>/metrics.jsonl   that task's share of the joint log (report curves)
//   <out>/seed-<s>/<task>/adapter/        the task's adapter and head (AdapterHub)
//   <out>/seed-<s>/checkpoints/           while training
//
// A seed is finished when every task folder has its run.json: they are written last, together.
import { join, resolve } from 'node:path';
import { readdir, readFile, rm } from 'node:fs/promises';
import { loadModel } from '../model/bert-model.js';
import { saveModel } from '../model/save-model.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { MultiTaskTrainer, type MultiTaskEpochRecord, type MultiTaskTrainResult } from '../trainer/multitask.js';
import { latestCheckpoint, parseState, STATE_FILE } from '../trainer/checkpoint.js';
import { AbortError, throwIfAborted } from '../trainer/errors.js';
import { getTask, type TaskSpec } from '../eval/tasks.js';
import { InvalidArgumentError, IoError } from '../errors.js';
import { loadTaskData, type TaskData } from './data.js';
import { ensureFolder, exists, JsonlLog, rewindJsonl, writeJson, writeTextAtomic } from './files.js';
import { loggedBefore, METRICS_FILE, RUN_FORMAT, RUN_VERSION, type RunRecord, type SplitResult } from './record.js';
import { addTaskAdapter, fusionPlan, type AdapterPlanOptions, type FusionPlanOptions } from './setups.js';
import {
  checkSeeds,
  stepOverrides,
  evaluateSplit,
  machine,
  modelOptions,
  readRunRecord,
  runTrainingCommand,
  type CommandResult,
  type TrainCommandOptions,
} from './train-run.js';

export interface MtAdaptersCommandOptions extends Omit<TrainCommandOptions, 'task'>, AdapterPlanOptions {
  /** The tasks trained jointly (registry names or TaskSpecs), at least two; their order is kept in records. */
  tasks: (string | TaskSpec)[];
  /** Not used (MT-A takes `tasks`); accepted only absent or '' (what the CLI's common options set). */
  task?: string | TaskSpec;
  /** Annealed sampling p_i ∝ N_i^α: α of the first and of the last epoch (default 1 → 0.2). */
  alphaStart?: number;
  alphaEnd?: number;
}

/** Folder names the run folder or the report walk give a meaning of their own. */
const RESERVED = new Set(['model', 'checkpoints', 'checkpoint', 'node_modules']);
const reserved = (name: string) => RESERVED.has(name) || name.startsWith('.') || /^(epoch|checkpoint)-\d+/.test(name) || /^seed-\d+$/.test(name);

// Left local because train-run.ts keeps its seed check private.

/** Refuses to mix a new run into a seed folder that holds anything (unless resuming). */
async function refuseExisting(out: string, seeds: number[]): Promise<void> {
  for (const seed of seeds) {
    const dir = join(out, `seed-${seed}`);
    if ((await readdir(dir).catch(() => [])).length > 0) {
      throw new InvalidArgumentError(`${dir} already holds a run: pass resume (--resume) to continue it, or choose another output folder`);
    }
  }
}

/** MT-A: per seed, the tasks' adapters and heads trained jointly with the encoder; one record per task and seed. */
export async function trainMtAdapters(o: MtAdaptersCommandOptions): Promise<CommandResult> {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (typeof o.model !== 'string' || o.model === '') throw new TypeError('options.model (the model folder) is required');
  if (typeof o.out !== 'string' || o.out === '') throw new TypeError('options.out (the output folder) is required');
  if (o.task !== undefined && o.task !== '') throw new TypeError('options.task is not used by MT-A: give every task in options.tasks');
  if (!Array.isArray(o.tasks)) throw new TypeError('options.tasks must be an array of task names or TaskSpecs');
  const specs = o.tasks.map((t) => getTask(t));
  const names = specs.map((s) => s.name);
  if (names.length < 2) throw new InvalidArgumentError(`MT-A trains several tasks jointly, got ${names.length}: for one task use finetune or train-adapter`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new InvalidArgumentError(`options.tasks names "${dup}" twice`);
  const bad = names.find(reserved);
  if (bad !== undefined) throw new InvalidArgumentError(`a task named "${bad}" would clash with the run folder's own "${bad}" folder; rename the task`);
  const config = o.config ?? 'pfeiffer';
  if (config !== 'pfeiffer' && config !== 'houlsby') throw new TypeError("options.config must be 'pfeiffer' or 'houlsby'");
  const seeds = checkSeeds(o.seeds);
  const out = resolve(o.out);
  const emit = o.onEvent ?? (() => undefined);
  if (!o.resume) await refuseExisting(out, seeds);

  const tokenizer = await Tokenizer.fromPretrained(o.model);
  let data: TaskData[] | null = null;
  const runs: RunRecord[] = [];
  for (const seed of seeds) {
    throwIfAborted(o.signal, 'training');
    const dir = join(out, `seed-${seed}`);
    const done = o.resume ? await finishedRecords(dir, names) : null;
    if (done) {
      for (const r of done) emit({ type: 'skipped', task: r.task, setup: 'mt-a', seed, dir: join(dir, r.task) });
      runs.push(...done);
      continue;
    }
    if (!data) {
      data = [];
      const warn = (m: string) => emit({ type: 'warning', message: m });
      for (const spec of specs) data.push(await loadTaskData(spec, tokenizer, { data: o.data, maxLength: o.maxLength ?? 128, trainLimit: o.trainLimit, badRows: o.badRows, warn }));
    }
    runs.push(...(await runSeed(o, config, data, seed, dir)));
  }
  return { runs, out };
}

/** The seed's records when every task has one; refuses records of an MT-A run over other tasks. */
async function finishedRecords(dir: string, names: string[]): Promise<RunRecord[] | null> {
  const records: RunRecord[] = [];
  for (const name of names) {
    const r = await readRunRecord(join(dir, name));
    if (!r) continue;
    const theirs = r.options.tasks;
    if (r.setup !== 'mt-a' || JSON.stringify(theirs) !== JSON.stringify(names)) {
      throw new InvalidArgumentError(`${join(dir, name)} holds a ${r.setup} run over ${JSON.stringify(theirs)}, not an MT-A run over ${JSON.stringify(names)}: a resume needs the same tasks`);
    }
    records.push(r);
  }
  return records.length === names.length ? records : null;
}

/** What an epoch event / log line shows as "dev": the mean primary metric, the mean dev loss, and each task's metric. */
function devSummary(r: MultiTaskEpochRecord, specs: TaskSpec[]): Record<string, number> | undefined {
  if (r.score === undefined) return undefined;
  const evals = specs.map((s) => r.tasks[s.name]?.eval);
  const losses = evals.map((e) => e?.loss).filter((x): x is number => typeof x === 'number');
  const dev: Record<string, number> = { mean: r.score };
  if (losses.length) dev.loss = losses.reduce((a, b) => a + b, 0) / losses.length;
  specs.forEach((s, i) => {
    const v = evals[i]?.[s.metric];
    if (typeof v === 'number') dev[`${s.name}.${s.metric}`] = v;
  });
  return dev;
}

async function runSeed(o: MtAdaptersCommandOptions, config: 'pfeiffer' | 'houlsby', data: TaskData[], seed: number, dir: string): Promise<RunRecord[]> {
  const emit = o.onEvent ?? (() => undefined);
  const specs = data.map((d) => d.spec);
  const names = specs.map((s) => s.name);
  const ev = { task: names.join('+'), setup: 'mt-a' as const, seed };
  const started = new Date();
  const t0 = performance.now();
  await ensureFolder(dir);
  const model = await loadModel(o.model, modelOptions(o));
  try {
    // The same seed for every task's modules, as an ST-A run of that task and seed would use.
    for (const spec of specs) await addTaskAdapter(model, spec, config, o, seed);
    const checkpointDir = join(dir, 'checkpoints');
    const log = new JsonlLog(join(dir, METRICS_FILE));
    const logEvery = o.logEvery ?? 10;
    const patience = o.patience === undefined ? 3 : o.patience;
    const tStart = performance.now();
    const elapsed = () => (performance.now() - tStart) / 1000;
    let totalSteps = 0;
    let stepsDone = 0;
    const trainer = new MultiTaskTrainer(model, {
      tasks: specs.map((spec, i) => ({ name: spec.name, adapter: spec.name, head: spec.name, trainSet: data[i].train, evalSet: data[i].dev, metric: spec.metric })),
      seed,
      checkpointDir,
      signal: o.signal,
      ...stepOverrides(o),
      ...(o.alphaStart !== undefined ? { alphaStart: o.alphaStart } : {}),
      ...(o.alphaEnd !== undefined ? { alphaEnd: o.alphaEnd } : {}),
      // Early stopping on the mean of the tasks' primary dev metrics.
      ...(patience !== null ? { earlyStopping: { patience } } : { restoreBest: true }),
      onStep: async (s) => {
        stepsDone = s.step + 1;
        emit({ type: 'step', ...ev, step: s.step + 1, totalSteps, epoch: s.epoch, loss: s.loss });
        if (s.step % logEvery === 0) {
          await log.write({ type: 'step', step: s.step, epoch: s.epoch, task: s.task, alpha: s.alpha, loss: s.loss, lossCe: s.lossCe, lossReg: s.lossReg, lr: s.lr, gradNorm: s.gradNorm, elapsed: elapsed() });
        }
      },
      onEpoch: async (r) => {
        const dev = devSummary(r, specs);
        emit({ type: 'epoch', ...ev, epoch: r.epoch, trainLoss: r.trainLoss, metric: 'mean', dev });
        await log.write({ type: 'epoch', epoch: r.epoch, step: r.step, trainLoss: r.trainLoss, lr: r.lr, eval: dev, alpha: r.alpha, probabilities: r.probabilities, counts: r.counts, tasks: r.tasks, elapsed: elapsed() });
      },
    });
    totalSteps = trainer.options.epochs * trainer.stepsPerEpoch();
    const latest = o.resume ? await latestCheckpoint(checkpointDir) : null;
    let resumedAt = 0;
    if (latest) {
      const state = parseState(await readFile(join(latest, STATE_FILE), 'utf8')) as { globalStep?: unknown };
      resumedAt = typeof state.globalStep === 'number' ? state.globalStep : 0;
      stepsDone = resumedAt;
      await rewindJsonl(join(dir, METRICS_FILE), loggedBefore(resumedAt));
    } else {
      await rm(join(dir, METRICS_FILE), { force: true });
    }
    emit({ type: 'start', ...ev, totalSteps, epochs: trainer.options.epochs, resumedAt });
    let result: MultiTaskTrainResult;
    try {
      result = await trainer.train(latest ? { resumeFrom: latest } : {});
    } catch (err) {
      if (err instanceof AbortError) await log.write({ type: 'interrupted', step: stepsDone, elapsed: elapsed() });
      throw err;
    }
    const trainSeconds = elapsed();

    emit({ type: 'phase', ...ev, phase: 'evaluate' });
    const evalBatch = trainer.options.evalBatchSize;
    const results: { dev: SplitResult; test: SplitResult | null }[] = [];
    for (const [i, spec] of specs.entries()) {
      await model.setActiveAdapters(spec.name, { head: spec.name });
      const dev = await evaluateSplit(model, data[i].dev, 'dev', spec, evalBatch, o.signal);
      const test = data[i].test ? await evaluateSplit(model, data[i].test!, 'test', spec, evalBatch, o.signal) : null;
      results.push({ dev, test });
    }

    emit({ type: 'phase', ...ev, phase: 'save' });
    const modelDir = join(dir, 'model');
    await saveModel(model, modelDir);
    for (const spec of specs) {
      await model.saveAdapter(join(dir, spec.name, 'adapter'), spec.name);
      await model.saveHead(join(dir, spec.name, 'adapter'), spec.name);
    }
    await log.write({ type: 'final', tasks: Object.fromEntries(names.map((n, i) => [n, results[i]])), elapsed: elapsed() });
    for (const [i, name] of names.entries()) await writeTaskLog(dir, name, results[i]);

    const { checkpointDir: _c, tasks: _t, ...trained } = trainer.options;
    const records = specs.map((spec, i): RunRecord => ({
      format: RUN_FORMAT,
      version: RUN_VERSION,
      task: spec.name,
      setup: 'mt-a',
      seed,
      result: results[i].test ?? results[i].dev,
      dev: results[i].dev,
      test: results[i].test,
      adapters: [spec.name],
      epochs: result.epochs,
      steps: result.steps,
      stoppedEarly: result.stoppedEarly,
      bestEpoch: result.best?.epoch ?? null,
      trainExamples: data[i].train.length,
      trainSeconds,
      wallSeconds: (performance.now() - t0) / 1000,
      model: { path: modelDir, layers: model.config.numHiddenLayers, hidden: model.config.hiddenSize },
      options: {
        ...trained,
        tasks: names,
        trainExamplesPerTask: Object.fromEntries(names.map((n, j) => [n, data[j].train.length])),
        baseModel: resolve(o.model),
        maxLength: o.maxLength ?? 128,
        patience,
        adapterConfig: config,
        ...(o.reductionFactor !== undefined ? { reductionFactor: o.reductionFactor } : {}),
        ...(o.nonLinearity !== undefined ? { nonLinearity: o.nonLinearity } : {}),
        ...(spec.custom ? { customTask: spec.custom } : {}),
      },
      // The head is saved with the adapter (as adapterPlan does); the encoder is shared by the seed's tasks.
      outputs: { adapter: 'adapter', head: 'adapter', model: '../model' },
      machine: machine(o.threads),
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
    }));
    for (const r of records) await writeJson(join(dir, r.task, 'run.json'), r);
    if (!o.keepCheckpoints) await rm(checkpointDir, { recursive: true, force: true });
    for (const r of records) emit({ type: 'done', record: r, dir: join(dir, r.task) });
    return records;
  } finally {
    model.dispose();
  }
}

/**
 * A task's share of the joint metrics log, in the single-task format the report draws curves
 * from: the steps that drew the task, the task's loss and dev metrics per epoch, its final results
 * ('interrupted' lines stay in the joint log: the report's reader does not accept them yet).
 */
async function writeTaskLog(dir: string, task: string, final: { dev: SplitResult; test: SplitResult | null }): Promise<void> {
  const lines: unknown[] = [];
  for (const text of (await readFile(join(dir, METRICS_FILE), 'utf8')).split('\n')) {
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue; // blank, or cut short by a crash
    }
    if (l.type === 'step' && l.task === task) {
      const { task: _t, alpha: _a, ...rest } = l;
      lines.push(rest);
    } else if (l.type === 'epoch') {
      const t = (l.tasks as Record<string, { trainLoss: number; eval?: Record<string, number> }> | undefined)?.[task];
      lines.push({ type: 'epoch', epoch: l.epoch, step: l.step, trainLoss: t?.trainLoss ?? null, lr: l.lr, ...(t?.eval ? { eval: t.eval } : {}), elapsed: l.elapsed });
    } else if (l.type === 'final') lines.push({ type: 'final', dev: final.dev, test: final.test, elapsed: l.elapsed });
  }
  await writeTextAtomic(join(dir, task, METRICS_FILE), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

// ---------------------------------------------------------------- Fusion w/ MT-A

/** The MT-A fine-tuned encoder of a seed: `<mtOut>/seed-<seed>/model` (Fusion w/ MT-A runs on it). */
export async function mtModelFolder(mtOut: string, seed: number): Promise<string> {
  const dir = join(resolve(mtOut), `seed-${seed}`, 'model');
  if (!(await exists(join(dir, 'config.json')))) throw new IoError(`${dir}: no MT-A model of seed ${seed} (a train-mt-adapters output holds seed-<s>/model)`);
  return dir;
}

/** A task's MT-A adapter (saved with its head) of a seed: `<mtOut>/seed-<seed>/<task>/adapter`. */
export async function mtAdapterFolder(mtOut: string, task: string, seed: number): Promise<string> {
  const dir = join(resolve(mtOut), `seed-${seed}`, task, 'adapter');
  if (!(await exists(join(dir, 'adapter_config.json')))) throw new IoError(`${dir}: no MT-A adapter of task ${task} for seed ${seed} (a train-mt-adapters output holds seed-<s>/<task>/adapter)`);
  return dir;
}

/** The MT-A adapters of a seed, in the run's task order: all of them, or those of `tasks`. */
export async function mtAdapterFolders(mtOut: string, seed: number, tasks?: string[]): Promise<string[]> {
  let names = tasks;
  if (!names) {
    const seedDir = join(resolve(mtOut), `seed-${seed}`);
    for (const e of (await readdir(seedDir, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = e.isDirectory() ? await readRunRecord(join(seedDir, e.name)).catch(() => null) : null;
      if (r?.setup === 'mt-a' && Array.isArray(r.options.tasks)) {
        names = r.options.tasks as string[];
        break;
      }
    }
    if (!names) throw new IoError(`${seedDir}: no finished MT-A run of seed ${seed} (train-mt-adapters writes <out>/seed-<s>/<task>/run.json)`);
  }
  return Promise.all(names.map((t) => mtAdapterFolder(mtOut, t, seed)));
}

export interface FusionOnMtAdaptersOptions extends Omit<TrainCommandOptions, 'model'>, Pick<FusionPlanOptions, 'fusionConfig'> {
  /** A train-mt-adapters output folder: seed s fuses its seed-<s> adapters on its seed-<s>/model. */
  mtOut: string;
  /** Fuse only these tasks' adapters (default: every task of the MT-A run). */
  mtTasks?: string[];
}

/** "Fusion w/ MT-A": per seed, AdapterFusion over that seed's MT-A adapters on that seed's MT-A encoder. */
export async function trainFusionOnMtAdapters(o: FusionOnMtAdaptersOptions): Promise<CommandResult> {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (typeof o.mtOut !== 'string' || o.mtOut === '') throw new TypeError('options.mtOut (a train-mt-adapters output folder) is required');
  if (typeof o.out !== 'string' || o.out === '') throw new TypeError('options.out (the output folder) is required');
  const seeds = checkSeeds(o.seeds);
  // Every seed's inputs and output folder are checked before any seed trains.
  const inputs = [];
  for (const seed of seeds) inputs.push({ seed, model: await mtModelFolder(o.mtOut, seed), adapters: await mtAdapterFolders(o.mtOut, seed, o.mtTasks) });
  if (!o.resume) await refuseExisting(resolve(o.out), seeds);
  const runs: RunRecord[] = [];
  for (const x of inputs) {
    const plan = fusionPlan({ adapters: x.adapters, setup: 'fusion-mt-a', ...(o.fusionConfig !== undefined ? { fusionConfig: o.fusionConfig } : {}) });
    const { mtOut: _m, mtTasks: _t, fusionConfig: _f, ...common } = o;
    runs.push(...(await runTrainingCommand({ ...common, model: x.model, seeds: [x.seed] }, plan)).runs);
  }
  return { runs, out: resolve(o.out) };
}
