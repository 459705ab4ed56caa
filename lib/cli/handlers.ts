// What each command does once its options are parsed: check the values (usage errors), call
// the library's commands with progress and Ctrl-C handling, print a summary. The work itself
// lives in lib/runs (and is exported as `commands`).
import type { TaskSpec } from '../eval/tasks.js';
import * as commands from '../runs/commands.js';
import type { CommandResult, TrainCommandOptions } from '../runs/commands.js';
import { asUsage, gemmOption, nonEmpty, positiveInt, positiveNumber, seedList, UsageError } from './args.js';
import type { Handlers, TrainKind } from './program.js';
import { createProgress, type Progress } from './progress.js';
import { Interrupted, listenForStop } from './signals.js';
import { resolveTaskOption } from './task-option.js';
import { summaryTable } from './summary.js';

type Opts = Record<string, unknown>;
const str = (o: Opts, key: string, cmd: string) => nonEmpty(o[key] as string | undefined, key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), cmd);

function required(o: Opts, key: string, cmd: string, what: string): string {
  const v = str(o, key, cmd);
  if (v === undefined) throw new UsageError(`missing --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${what}`, cmd);
  return v;
}

/** The common training options, checked. */
async function trainOptions(o: Opts, cmd: TrainKind): Promise<TrainCommandOptions> {
  const model = cmd === 'train-fusion' && o.mtA ? '' : required(o, 'model', cmd, 'DIR (the BERT checkpoint folder)');
  const out = required(o, 'out', cmd, 'DIR (the output folder)');
  const task = cmd === 'train-mt-adapters' ? '' : await resolveTaskOption(o, cmd);
  const patience = positiveInt(o.patience as string, 'patience', cmd, 0)!;
  const threads = positiveInt(o.threads as string | undefined, 'threads', cmd);
  const gemm = gemmOption(o.gemm as string | undefined, cmd);
  const lr = positiveNumber(o.lr as string | undefined, 'lr', cmd);
  const epochs = positiveInt(o.epochs as string | undefined, 'epochs', cmd);
  const trainLimit = positiveInt(o.trainLimit as string | undefined, 'train-limit', cmd);
  const options: TrainCommandOptions = {
    model,
    task,
    data: str(o, 'data', cmd),
    out,
    seeds: seedList(o.seeds as string, cmd)!,
    ...(lr !== null ? { lr } : {}),
    ...(epochs !== null ? { epochs } : {}),
    batchSize: positiveInt(o.batchSize as string, 'batch-size', cmd)!,
    maxLength: positiveInt(o.maxLength as string, 'max-length', cmd, 3)!,
    patience: patience === 0 ? null : patience,
    warmupRatio: positiveNumber(o.warmupRatio as string, 'warmup-ratio', cmd, true)!,
    weightDecay: positiveNumber(o.weightDecay as string, 'weight-decay', cmd, true)!,
    ...(trainLimit !== null ? { trainLimit } : {}),
    ...(threads !== null ? { threads } : {}),
    ...(gemm !== null ? { gemm } : {}),
    device: (o.device as 'cpu' | 'cuda') ?? 'cpu',
    badRows: (o.badRows as 'error' | 'skip') ?? 'error',
    resume: Boolean(o.resume),
    keepCheckpoints: Boolean(o.keepCheckpoints),
    logEvery: positiveInt(o.logEvery as string, 'log-every', cmd)!,
  };
  // Custom tasks name their files; registered ones are read under --data.
  if (typeof task === 'object' && !task.custom && o.data === undefined) {
    throw new UsageError(`missing --data DIR: task ${task.name} is read from a data folder (run 'adapterfusion tasks' for its files)`, cmd);
  }
  return options;
}

/** Runs a long command with progress output and graceful Ctrl-C; returns its result. */
export async function withProgress<T>(enabled: boolean, work: (signal: AbortSignal, progress: Progress) => Promise<T>): Promise<T> {
  const progress = createProgress({ enabled });
  const stop = listenForStop((signal) => {
    progress.log(`adapterfusion: ${signal}: stopping at the next step boundary and keeping a checkpoint (press Ctrl-C again to quit at once)`);
  });
  try {
    return await work(stop.signal, progress);
  } catch (err) {
    const signal = stop.received();
    if (signal !== null && (err as Error)?.name === 'AbortError') {
      progress.log('adapterfusion: stopped; run the same command with --resume to continue from the checkpoint');
      throw new Interrupted(signal);
    }
    throw err;
  } finally {
    progress.stop();
    stop.dispose();
  }
}

function printSummary(result: CommandResult): void {
  for (const task of [...new Set(result.runs.map((r) => r.task))]) {
    process.stdout.write(summaryTable(result.runs.filter((r) => r.task === task)) + '\n');
  }
  process.stdout.write(`Outputs: ${result.out}\n`);
}

async function train(kind: TrainKind, o: Opts): Promise<void> {
  let options: TrainCommandOptions;
  try {
    options = await trainOptions(o, kind);
  } catch (err) {
    throw asUsage(err, kind);
  }
  const result = await withProgress(o.progress !== false, async (signal, progress) => {
    const run = { ...options, signal, onEvent: (e: Parameters<typeof progress.handle>[0]) => progress.handle(e) };
    switch (kind) {
      case 'train-head':
        return commands.trainHead(run);
      case 'finetune':
        return commands.finetune(run);
      case 'train-adapter':
        return commands.trainAdapter({
          ...run,
          config: o.config as 'pfeiffer' | 'houlsby',
          reductionFactor: positiveNumber(o.reductionFactor as string, 'reduction-factor', kind)!,
          ...(o.nonLinearity ? { nonLinearity: o.nonLinearity as 'relu' | 'swish' | 'gelu' | 'tanh' } : {}),
        });
      case 'train-fusion': {
        if (o.mtA) {
          const { model: _m, ...rest } = run;
          return commands.trainFusionOnMtAdapters({
            ...rest,
            mtOut: o.mtA as string,
            ...(o.mtTasks ? { mtTasks: o.mtTasks as string[] } : {}),
            fusionConfig: o.fusionConfig as 'dynamic' | 'static',
          });
        }
        const adapters = o.adapters as string[] | undefined;
        if (!adapters || adapters.length < 2) throw new UsageError('missing --adapters DIR DIR... (at least two adapter folders to fuse)', kind);
        return commands.trainFusion({
          ...run,
          adapters,
          fusionConfig: o.fusionConfig as 'dynamic' | 'static',
          setup: o.adaptersFrom === 'mt-a' ? 'fusion-mt-a' : 'fusion-st-a',
        });
      }
      case 'train-mt-adapters': {
        const tasks = o.tasks as string[] | undefined;
        if (!tasks || tasks.length < 2) throw new UsageError('missing --tasks NAME NAME... (at least two tasks trained jointly)', kind);
        const { task: _task, ...rest } = run;
        const { readCustomTaskFile } = await import('../eval/custom-task.js');
        // Each entry: a registered task's name, or a custom task's JSON file.
        const specs = await Promise.all(tasks.map((t) => (t.endsWith('.json') ? readCustomTaskFile(t) : t)));
        return commands.trainMtAdapters({
          ...rest,
          tasks: specs,
          config: o.config as 'pfeiffer' | 'houlsby',
          reductionFactor: positiveNumber(o.reductionFactor as string, 'reduction-factor', kind)!,
          alphaStart: positiveNumber(o.alphaStart as string, 'alpha-start', kind, true)!,
          alphaEnd: positiveNumber(o.alphaEnd as string, 'alpha-end', kind, true)!,
        });
      }
    }
  });
  printSummary(result);
}

async function evaluate(o: Opts): Promise<void> {
  const cmd = 'eval';
  let options: commands.EvaluateCommandOptions;
  try {
    const run = str(o, 'run', cmd);
    const task: string | TaskSpec | undefined = o.task || o.taskFile ? await resolveTaskOption(o, cmd) : undefined;
    if (!run && !o.model) throw new UsageError('missing --model DIR (or --run DIR, a finished run folder)', cmd);
    if (!run && !task) throw new UsageError('missing --task NAME (or --task-file FILE)', cmd);
    const threads = positiveInt(o.threads as string | undefined, 'threads', cmd);
    const gemm = gemmOption(o.gemm as string | undefined, cmd);
    options = {
      ...(run ? { run } : {}),
      ...(o.model ? { model: o.model as string } : {}),
      ...(task ? { task } : {}),
      data: str(o, 'data', cmd),
      adapters: (o.adapter as string[] | undefined) ?? [],
      fusion: str(o, 'fusion', cmd),
      head: str(o, 'head', cmd),
      split: o.split as string,
      batchSize: positiveInt(o.batchSize as string, 'batch-size', cmd)!,
      maxLength: positiveInt(o.maxLength as string, 'max-length', cmd, 3)!,
      fusionActivations: Boolean(o.fusionActivations),
      ...(threads !== null ? { threads } : {}),
      ...(gemm !== null ? { gemm } : {}),
    };
  } catch (err) {
    throw asUsage(err, cmd);
  }
  const r = await commands.evaluate(options);
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const lines = [`${r.task} ${r.split}: ${r.metric} ${(r.value * 100).toFixed(2)} (${r.examples} examples)`];
  for (const [k, v] of Object.entries(r.metrics)) if (k !== r.metric) lines.push(`  ${k}: ${v.toFixed(4)}`);
  if (r.activations) {
    lines.push(`fusion weights per layer (mean over ${r.activations.tokens} tokens): ${r.activations.adapters.join(', ')}`);
    r.activations.layers.forEach((l, i) => lines.push(`  layer ${i}: ${l ? l.map((x) => x.toFixed(3)).join('  ') : '-'}`));
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function predict(o: Opts): Promise<void> {
  const cmd = 'predict';
  const model = required(o, 'model', cmd, 'DIR (the BERT checkpoint folder)');
  const input = required(o, 'input', cmd, "FILE (JSON Lines; '-' for stdin)");
  const adapters = (o.adapter as string[] | undefined) ?? [];
  for (const a of adapters) nonEmpty(a, 'adapter', cmd);
  const fusion = str(o, 'fusion', cmd) ?? null;
  const fusionAttentions = Boolean(o.fusionAttentions);
  if (fusion !== null && adapters.length === 0) throw new UsageError('--fusion needs the fused adapters too: give each with --adapter DIR', cmd);
  if (fusionAttentions && fusion === null) throw new UsageError('--fusion-attentions needs --fusion DIR', cmd);
  const { predictCommand } = await import('./predict.js');
  await predictCommand({
    model,
    adapters,
    fusion,
    head: str(o, 'head', cmd) ?? null,
    input,
    output: str(o, 'output', cmd) ?? null,
    fusionAttentions,
    batchSize: positiveInt(o.batchSize as string, 'batch-size', cmd)!,
    maxLength: positiveInt(o.maxLength as string | undefined, 'max-length', cmd, 2),
    threads: positiveInt(o.threads as string | undefined, 'threads', cmd),
    gemm: gemmOption(o.gemm as string | undefined, cmd),
  });
}

async function info(o: Opts): Promise<void> {
  const { infoCommand } = await import('./info.js');
  infoCommand({
    threads: positiveInt(o.threads as string | undefined, 'threads', 'info'),
    gemm: gemmOption(o.gemm as string | undefined, 'info'),
    json: Boolean(o.json),
  });
}

async function report(dir: string, o: Opts): Promise<void> {
  const { reportCommand } = await import('./report.js');
  await reportCommand(dir, o);
}

async function demo(o: Opts): Promise<void> {
  const { demoCommand } = await import('./demo.js');
  await demoCommand(o);
}

async function bench(o: Opts): Promise<void> {
  const { benchCommand } = await import('./bench.js');
  await benchCommand(o);
}

async function tasks(o: Opts): Promise<void> {
  const { TASKS } = await import('../eval/tasks.js');
  const list = Object.values(TASKS).map((t) => ({
    name: t.name,
    description: t.description,
    kind: t.kind,
    labels: t.labels ?? null,
    choices: t.numChoices ?? null,
    metric: t.metric,
    files: Object.fromEntries(Object.entries(t.files).map(([split, f]) => [split, `${t.dir}/${f}`])),
  }));
  if (o.json) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return;
  }
  const lines = list.map((t) => {
    const what = t.kind === 'multiple_choice' ? `${t.choices} choices` : t.kind === 'regression' ? 'regression' : t.labels!.join(' / ');
    const files = Object.entries(t.files).map(([s, f]) => `${s}: ${f}`).join(', ');
    return `${t.name.padEnd(17)} ${t.description}\n${''.padEnd(17)} ${what}; metric ${t.metric}; ${files}`;
  });
  process.stdout.write(`Registered tasks (--task NAME --data DIR reads DIR/<files>):\n\n${lines.join('\n')}\n`);
}

export const handlers: Handlers = { predict, info, train, evaluate, report, demo, bench, tasks };
