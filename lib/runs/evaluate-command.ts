// `eval`: a model with saved adapters / a fusion layer / a head on a task's split — the folders
// given one by one, or a finished run folder (its run.json says what it used).
import { join, resolve } from 'node:path';
import { Fuse } from '../adapters/composition.js';
import type { AdapterSetup } from '../adapters/composition.js';
import { loadModel } from '../model/bert-model.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { getTask, loadTask, checkHeadFitsTask, type TaskSpec } from '../eval/tasks.js';
import { evaluateDataset } from '../eval/evaluate.js';
import { tokenizeExamples } from '../trainer/batching.js';
import { InvalidArgumentError } from '../errors.js';
import { defineCustomTask, type CustomTaskSpec } from '../eval/custom-task.js';
import { fusedAdapterNames, adapterFolderFor } from './setups.js';
import { modelOptions, readRunRecord } from './train-run.js';
import { meanFusionActivations } from './activations.js';
import type { FusionActivations, SplitResult } from './record.js';

export interface EvaluateCommandOptions {
  /** A finished run folder (`<out>/seed-<s>`): model, adapters, fusion and head from its run.json. */
  run?: string;
  model?: string;
  task?: string | TaskSpec;
  data?: string;
  /** Adapter folders (all the fused ones with a fusion). */
  adapters?: string[];
  fusion?: string;
  /** Head folder (default: the adapter folder when exactly one adapter is given). */
  head?: string;
  /** Split to evaluate (default 'dev'). */
  split?: string;
  batchSize?: number;
  maxLength?: number;
  /** Also average the fusion weights per layer (fusion only). */
  fusionActivations?: boolean;
  threads?: number;
  device?: 'cpu' | 'cuda';
  gemm?: 'builtin' | 'openblas';
  signal?: AbortSignal;
}

export interface EvaluateCommandResult extends SplitResult {
  task: string;
  activations?: FusionActivations;
}

interface Resolved {
  model: string;
  task: string | TaskSpec;
  adapters: string[];
  fusion: string | null;
  head: string | null;
}

async function fromRun(dir: string, o: EvaluateCommandOptions): Promise<Resolved> {
  const record = await readRunRecord(dir);
  if (!record) throw new InvalidArgumentError(`${dir} is not a finished run folder (no run.json)`);
  const out = record.outputs;
  const adapterDirs = (record.options.adapterDirs as string[] | undefined) ?? [];
  const adapters = out.adapter ? [join(dir, out.adapter)] : await Promise.all(adapterDirs.map((a) => adapterFolderFor(a, record.seed)));
  return {
    model: o.model ?? (out.model ? join(dir, out.model) : record.model.path),
    task: o.task ?? (record.options.customTask ? await defineCustomTask(record.options.customTask as CustomTaskSpec) : record.task),
    adapters,
    fusion: out.fusion ? join(dir, out.fusion) : null,
    head: out.head ? join(dir, out.head) : null,
  };
}

export async function evaluateCommand(o: EvaluateCommandOptions): Promise<EvaluateCommandResult> {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  let r: Resolved;
  if (o.run !== undefined) r = await fromRun(resolve(o.run), o);
  else {
    if (typeof o.model !== 'string' || o.model === '') throw new TypeError('options.model (the model folder) or options.run is required');
    if (o.task === undefined) throw new TypeError('options.task is required');
    r = { model: o.model, task: o.task, adapters: o.adapters ?? [], fusion: o.fusion ?? null, head: o.head ?? null };
  }
  const spec = getTask(r.task);
  const head = r.head ?? (r.adapters.length === 1 && !r.fusion ? r.adapters[0] : null);
  if (!head) throw new InvalidArgumentError('a head folder is needed (--head DIR)');
  const split = o.split ?? 'dev';
  const model = await loadModel(r.model, modelOptions(o));
  try {
    const names: string[] = [];
    for (const a of r.adapters) names.push(await model.loadAdapter(a));
    let setup: AdapterSetup = names.length === 1 ? names[0] : null;
    if (r.fusion) {
      const want = await fusedAdapterNames(r.fusion);
      const missing = want.filter((n) => !names.includes(n));
      if (missing.length) throw new InvalidArgumentError(`the fusion ${r.fusion} fuses ${missing.join(', ')}, which no given adapter provides`);
      await model.loadAdapterFusion(r.fusion);
      setup = new Fuse(...want);
    }
    const headName = await model.loadHead(head);
    await model.setActiveAdapters(setup, { head: headName });
    checkHeadFitsTask(model, spec);
    const tokenizer = await Tokenizer.fromPretrained(r.model);
    const records = await loadTask(spec, split, { dataDir: o.data });
    const examples = tokenizeExamples(tokenizer, records, { maxLength: o.maxLength ?? 128, truncation: true });
    const batchSize = o.batchSize ?? 32;
    const metrics = await evaluateDataset(model, examples, { batchSize, signal: o.signal }, `${spec.name}/${split}`);
    const result: EvaluateCommandResult = {
      task: spec.name,
      split,
      examples: examples.length,
      metric: spec.metric,
      value: metrics[spec.metric] as number,
      metrics: { ...metrics } as Record<string, number>,
    };
    if (o.fusionActivations && setup instanceof Fuse) {
      result.activations = await meanFusionActivations(model, examples, {
        task: spec.name,
        setup: 'fusion-st-a',
        seed: 0,
        split,
        adapters: [...setup.adapters],
        batchSize,
      });
    }
    return result;
  } finally {
    model.dispose();
  }
}
