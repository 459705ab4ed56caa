// One training command over several seeds: for each seed a fresh model from the model folder,
// the setup's modules (adapter, fusion, head), the Trainer with checkpoints in the run folder,
// evaluation of the best parameters on dev (and test), AdapterHub output folders, the metrics
// log and, last, run.json — a run folder with run.json is finished, one without it is not.
// Layout and formats: lib/runs/record.ts; see docs/ARCHITECTURE.md ("Runs and reports").
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { readdir, readFile, rm } from 'node:fs/promises';
import { loadModel, type BertModel, type LoadModelOptions } from '../model/bert-model.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { Trainer, type TrainerOptions, type TrainResult } from '../trainer/trainer.js';
import { AbortError, throwIfAborted } from '../trainer/errors.js';
import { evaluateDataset } from '../eval/evaluate.js';
import { getTask, headOptionsFor, type TaskSpec } from '../eval/tasks.js';
import { backendInfo } from '../backend-info.js';
import { InvalidArgumentError, IoError } from '../errors.js';
import type { TrainingExample } from '../trainer/batching.js';
import { loadTaskData, type TaskData } from './data.js';
import { ensureFolder, exists, JsonlLog, rewindJsonl, writeJson } from './files.js';
import type { RunEventHandler } from './events.js';
import { ACTIVATIONS_FILE, loggedBefore, METRICS_FILE, RUN_FILE, RUN_FORMAT, RUN_VERSION, type RunRecord, type SetupId, type SplitResult } from './record.js';
import { meanFusionActivations } from './activations.js';

/** Options every training command takes (the CLI's common options). */
export interface TrainCommandOptions {
  /** Hugging Face BERT folder (config.json, model.safetensors, vocab.txt or tokenizer.json). */
  model: string;
  /** A registry task name (see TASKS) or a TaskSpec (e.g. from defineCustomTask). */
  task: string | TaskSpec;
  /** Data root holding one folder per registry task. */
  data?: string;
  /** Output folder; each seed writes `<out>/seed-<s>/`. */
  out: string;
  /** Default [42]. The paper reports mean ± std over 3 seeds. */
  seeds?: number[];
  /** Peak learning rate, epochs, batch size: default the Trainer's per-mode defaults (the paper's). */
  lr?: number;
  epochs?: number;
  batchSize?: number;
  /** Tokens per example, special tokens included (default 128). */
  maxLength?: number;
  /** Early stopping: evaluations (epochs) without improvement of the task's dev metric; null = off. Default 3. */
  patience?: number | null;
  warmupRatio?: number;
  weightDecay?: number;
  /** Use only the first N training examples. */
  trainLimit?: number;
  /** Malformed data rows: 'error' (default) refuses the data listing them; 'skip' leaves them out with a warning each. */
  badRows?: 'error' | 'skip';
  threads?: number;
  device?: 'cpu' | 'cuda';
  gemm?: 'builtin' | 'openblas';
  /** Skip seeds that finished (run.json present) and continue interrupted ones from their checkpoint. */
  resume?: boolean;
  /** Keep the checkpoints of finished seeds (default: removed once run.json is written). */
  keepCheckpoints?: boolean;
  /** Steps between metrics.jsonl lines (default 10). */
  logEvery?: number;
  signal?: AbortSignal;
  onEvent?: RunEventHandler;
}

/** What a setup adds to a fresh model, how it trains, and what it saves. */
export interface SetupPlan {
  setup: SetupId;
  /** Adds adapters / fusion / head to the model; returns the trainer's mode options and the adapters used. */
  build(model: BertModel, seed: number, spec: TaskSpec): Promise<{ trainer: Pick<TrainerOptions, 'mode' | 'adapter' | 'fusion' | 'head'>; adapters: string[] }>;
  /** Saves the trained modules under the run folder; returns their folders relative to it. */
  save(model: BertModel, runDir: string, spec: TaskSpec): Promise<Record<string, string>>;
  /** Fusion setups: analyse the fusion weights on dev. */
  fusion?: boolean;
  /** Setup options recorded in run.json (adapter config, fused adapter folders, ...). */
  describe?(): Record<string, unknown>;
  /** Checks, before any seed trains, that every seed's inputs are there (e.g. the adapters to fuse). */
  check?(seeds: number[]): Promise<void>;
}

export interface CommandResult {
  /** One record per seed, in seed order (finished earlier ones included when resuming). */
  runs: RunRecord[];
  out: string;
}

const DEFAULT_SEEDS = [42];

export function checkSeeds(seeds: unknown): number[] {
  if (seeds === undefined) return DEFAULT_SEEDS;
  if (!Array.isArray(seeds) || seeds.length === 0 || seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    throw new TypeError('options.seeds must be a non-empty array of non-negative integers');
  }
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError(`options.seeds has duplicates: ${seeds.join(',')}`);
  return seeds as number[];
}

/** The head a task needs, named after the task. */
export async function addTaskHead(model: BertModel, spec: TaskSpec, name: string, seed: number): Promise<void> {
  const h = headOptionsFor(spec);
  if (h.type === 'multiple_choice') await model.addMultipleChoiceHead(name, { numChoices: h.numChoices, seed });
  else await model.addClassificationHead(name, { numLabels: h.numLabels, id2label: h.id2label, seed });
}

export function modelOptions(o: Pick<TrainCommandOptions, 'threads' | 'device' | 'gemm'>): LoadModelOptions {
  const m: LoadModelOptions = {};
  if (o.threads !== undefined) m.threads = o.threads;
  if (o.device !== undefined) m.device = o.device;
  if (o.gemm !== undefined) m.gemm = o.gemm;
  return m;
}

export async function evaluateSplit(model: BertModel, examples: TrainingExample[], split: string, spec: TaskSpec, batchSize: number, signal?: AbortSignal): Promise<SplitResult> {
  const metrics = await evaluateDataset(model, examples, { batchSize, signal }, `${spec.name}/${split}`);
  const value = metrics[spec.metric];
  if (typeof value !== 'number') throw new InvalidArgumentError(`task ${spec.name}: metric "${spec.metric}" is not computed for its head`);
  return { split, examples: examples.length, metric: spec.metric, value, metrics: { ...metrics } as Record<string, number> };
}

export function machine(threads: number | undefined): RunRecord['machine'] {
  const info = backendInfo(threads !== undefined ? { threads } : {});
  return { cpu: cpus()[0]?.model?.trim() ?? 'unknown', threads: info.threads, backend: info.backend, isa: info.isa };
}

/** The optimisation options a command was given (the rest keep the trainer's defaults). */
export function stepOverrides(o: Pick<TrainCommandOptions, 'lr' | 'epochs' | 'batchSize' | 'warmupRatio' | 'weightDecay'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ['lr', 'epochs', 'batchSize', 'warmupRatio', 'weightDecay'] as const) if (o[key] !== undefined) out[key] = o[key]!;
  return out;
}

/** A model folder must hold config.json: say so before anything else reads it. */
export async function checkModelFolder(dir: string): Promise<void> {
  if (!(await exists(dir))) throw new IoError(`model folder ${dir}: no such folder`);
  if (!(await exists(join(dir, 'config.json')))) throw new IoError(`model folder ${dir}: no config.json (a Hugging Face BERT folder holds config.json, model.safetensors and vocab.txt or tokenizer.json)`);
}

/** A finished run's record, or null. */
export async function readRunRecord(dir: string): Promise<RunRecord | null> {
  const path = join(dir, RUN_FILE);
  if (!(await exists(path))) return null;
  return JSON.parse(await readFile(path, 'utf8')) as RunRecord;
}

/** Runs `plan` for every seed of `o` and returns the records. */
export async function runTrainingCommand(o: TrainCommandOptions, plan: SetupPlan): Promise<CommandResult> {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (typeof o.model !== 'string' || o.model === '') throw new TypeError('options.model (the model folder) is required');
  if (typeof o.out !== 'string' || o.out === '') throw new TypeError('options.out (the output folder) is required');
  const seeds = checkSeeds(o.seeds);
  const spec = getTask(o.task);
  const out = resolve(o.out);
  const emit = o.onEvent ?? (() => undefined);
  const maxLength = o.maxLength ?? 128;

  // Refuse to mix a new run into a finished or half-done one unless asked to resume.
  if (!o.resume) {
    for (const seed of seeds) {
      const dir = join(out, `seed-${seed}`);
      if (await exists(dir)) {
        const entries = await readdir(dir).catch(() => []);
        if (entries.length > 0) throw new InvalidArgumentError(`${dir} already holds a run: pass resume (--resume) to continue it, or choose another output folder`);
      }
    }
  }

  await checkModelFolder(o.model);
  await plan.check?.(seeds);
  const tokenizer = await Tokenizer.fromPretrained(o.model);
  let data: TaskData | null = null;
  const runs: RunRecord[] = [];
  for (const seed of seeds) {
    throwIfAborted(o.signal, 'training');
    const dir = join(out, `seed-${seed}`);
    const done = o.resume ? await readRunRecord(dir) : null;
    if (done) {
      emit({ type: 'skipped', task: spec.name, setup: plan.setup, seed, dir });
      runs.push(done);
      continue;
    }
    data ??= await loadTaskData(spec, tokenizer, { data: o.data, maxLength, trainLimit: o.trainLimit, badRows: o.badRows, warn: (m) => emit({ type: 'warning', message: m }) });
    runs.push(await runSeed(o, plan, spec, data, seed, dir));
  }
  return { runs, out };
}

async function runSeed(o: TrainCommandOptions, plan: SetupPlan, spec: TaskSpec, data: TaskData, seed: number, dir: string): Promise<RunRecord> {
  const emit = o.onEvent ?? (() => undefined);
  const started = new Date();
  const t0 = performance.now();
  await ensureFolder(dir);
  const model = await loadModel(o.model, modelOptions(o));
  try {
    const built = await plan.build(model, seed, spec);
    const checkpointDir = join(dir, 'checkpoints');
    const log = new JsonlLog(join(dir, METRICS_FILE));
    const logEvery = o.logEvery ?? 10;
    const patience = o.patience === undefined ? 3 : o.patience;
    const options: TrainerOptions = {
      ...built.trainer,
      seed,
      checkpointDir,
      signal: o.signal,
      ...stepOverrides(o),
      ...(patience !== null ? { earlyStopping: { patience, metric: spec.metric } } : { restoreBest: true }),
    };
    const tStart = performance.now();
    const elapsed = () => (performance.now() - tStart) / 1000;
    let totalSteps = 0;
    const trainer = new Trainer(model, {
      ...options,
      onStep: async (s) => {
        emit({ type: 'step', task: spec.name, setup: plan.setup, seed, step: s.step + 1, totalSteps, epoch: s.epoch, loss: s.loss });
        if (s.step % logEvery === 0) {
          await log.write({ type: 'step', step: s.step, epoch: s.epoch, loss: s.loss, lossCe: s.lossCe, lossReg: s.lossReg, lr: s.lr, gradNorm: s.gradNorm, elapsed: elapsed() });
        }
      },
      onEpoch: async (r) => {
        emit({ type: 'epoch', task: spec.name, setup: plan.setup, seed, epoch: r.epoch, trainLoss: r.trainLoss, metric: spec.metric, dev: r.eval as Record<string, number> | undefined });
        await log.write({ type: 'epoch', epoch: r.epoch, step: r.step, trainLoss: r.trainLoss, lr: r.lr, eval: r.eval, elapsed: elapsed() });
      },
    });
    totalSteps = trainer.options.epochs * trainer.stepsPerEpoch(data.train.length);
    let resumedAt = 0;
    if (o.resume && (await exists(checkpointDir))) {
      const { latestCheckpoint } = await import('../trainer/checkpoint.js');
      const latest = await latestCheckpoint(checkpointDir);
      if (latest) resumedAt = (await trainer.resume(latest)).step;
    }
    if (resumedAt === 0) await rm(join(dir, METRICS_FILE), { force: true });
    else await rewindJsonl(join(dir, METRICS_FILE), loggedBefore(resumedAt));
    emit({ type: 'start', task: spec.name, setup: plan.setup, seed, totalSteps, epochs: trainer.options.epochs, resumedAt });
    let result: TrainResult;
    try {
      result = await trainer.train(data.train, data.dev);
    } catch (err) {
      if (err instanceof AbortError) await log.write({ type: 'interrupted', step: trainer.state.step, elapsed: elapsed() });
      throw err;
    }
    const trainSeconds = elapsed();

    emit({ type: 'phase', task: spec.name, setup: plan.setup, seed, phase: 'evaluate' });
    const evalBatch = trainer.options.evalBatchSize;
    const dev = await evaluateSplit(model, data.dev, 'dev', spec, evalBatch, o.signal);
    const test = data.test ? await evaluateSplit(model, data.test, 'test', spec, evalBatch, o.signal) : null;
    if (plan.fusion) {
      emit({ type: 'phase', task: spec.name, setup: plan.setup, seed, phase: 'analyse' });
      const act = await meanFusionActivations(model, data.dev, { task: spec.name, setup: plan.setup, seed, split: 'dev', adapters: built.adapters, batchSize: evalBatch });
      await writeJson(join(dir, ACTIVATIONS_FILE), act);
    }
    emit({ type: 'phase', task: spec.name, setup: plan.setup, seed, phase: 'save' });
    const outputs = await plan.save(model, dir, spec);
    await log.write({ type: 'final', dev, test, elapsed: elapsed() });
    const { onStep: _s, onEpoch: _e, signal: _sig, checkpointDir: _c, ...recorded } = trainer.options as unknown as Record<string, unknown>;
    const record: RunRecord = {
      format: RUN_FORMAT,
      version: RUN_VERSION,
      task: spec.name,
      setup: plan.setup,
      seed,
      result: test ?? dev,
      dev,
      test,
      adapters: built.adapters,
      epochs: result.epochs,
      steps: result.steps,
      stoppedEarly: result.stoppedEarly,
      bestEpoch: result.best?.epoch ?? null,
      trainExamples: data.train.length,
      trainSeconds,
      wallSeconds: (performance.now() - t0) / 1000,
      model: { path: resolve(o.model), layers: model.config.numHiddenLayers, hidden: model.config.hiddenSize },
      options: { ...recorded, maxLength: o.maxLength ?? 128, patience: o.patience === undefined ? 3 : o.patience, ...plan.describe?.(), ...(spec.custom ? { customTask: spec.custom } : {}) },
      outputs,
      machine: machine(o.threads),
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
    };
    await writeJson(join(dir, RUN_FILE), record);
    if (!o.keepCheckpoints) await rm(checkpointDir, { recursive: true, force: true });
    emit({ type: 'done', record, dir });
    return record;
  } finally {
    model.dispose();
  }
}
