// The setups of the paper's Table 1 as plans for runTrainingCommand: what each adds to a fresh
// model, how it trains (the Trainer's mode) and which AdapterHub / Hugging Face folders it saves.
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Fuse } from '../adapters/composition.js';
import type { BertModel } from '../model/bert-model.js';
import type { TaskSpec } from '../eval/tasks.js';
import { saveModel } from '../model/save-model.js';
import { InvalidArgumentError, IoError } from '../errors.js';
import { addTaskHead, type SetupPlan } from './train-run.js';
import { exists } from './files.js';

/** Head only: the encoder frozen, a fresh head trained ("Head" in Table 1). */
export function headPlan(): SetupPlan {
  return {
    setup: 'head',
    async build(model, seed, spec) {
      await addTaskHead(model, spec, spec.name, seed);
      await model.setActiveAdapters(null, { head: spec.name });
      return { trainer: { mode: 'head', head: spec.name }, adapters: [] };
    },
    async save(model, dir, spec) {
      await model.saveHead(join(dir, 'head'), spec.name);
      return { head: 'head' };
    },
  };
}

/** Full fine-tuning: every encoder weight and a fresh head ("Full"). */
export function fullPlan(): SetupPlan {
  return {
    setup: 'full',
    async build(model, seed, spec) {
      await addTaskHead(model, spec, spec.name, seed);
      await model.setActiveAdapters(null, { head: spec.name });
      return { trainer: { mode: 'full', head: spec.name }, adapters: [] };
    },
    async save(model, dir, spec) {
      await saveModel(model, join(dir, 'model'));
      await model.saveHead(join(dir, 'head'), spec.name);
      return { model: 'model', head: 'head' };
    },
  };
}

export interface AdapterPlanOptions {
  config?: 'pfeiffer' | 'houlsby';
  reductionFactor?: number;
  nonLinearity?: 'relu' | 'swish' | 'gelu' | 'tanh';
}

/**
 * One adapter per task (ST-A; "ST-A Houlsby" with config 'houlsby'), named after the task, with
 * its head saved into the same folder — as AdapterHub's save_adapter(dir, name, with_head=True).
 */
export function adapterPlan(o: AdapterPlanOptions = {}): SetupPlan {
  const config = o.config ?? 'pfeiffer';
  if (config !== 'pfeiffer' && config !== 'houlsby') throw new TypeError("options.config must be 'pfeiffer' or 'houlsby'");
  return {
    setup: config === 'houlsby' ? 'st-a-houlsby' : 'st-a',
    async build(model, seed, spec) {
      await addTaskAdapter(model, spec, config, o, seed);
      await model.setActiveAdapters(spec.name, { head: spec.name });
      return { trainer: { mode: 'adapter', adapter: spec.name, head: spec.name }, adapters: [spec.name] };
    },
    async save(model, dir, spec) {
      await model.saveAdapter(join(dir, 'adapter'), spec.name);
      await model.saveHead(join(dir, 'adapter'), spec.name);
      return { adapter: 'adapter', head: 'adapter' };
    },
    describe: () => ({ adapterConfig: config, ...(o.reductionFactor !== undefined ? { reductionFactor: o.reductionFactor } : {}) }),
  };
}

/** The adapter and head of a task, both named after it and seeded (ST-A and MT-A alike). */
export async function addTaskAdapter(model: BertModel, spec: TaskSpec, config: 'pfeiffer' | 'houlsby', o: AdapterPlanOptions, seed: number): Promise<void> {
  await model.addAdapter(spec.name, {
    config,
    seed,
    ...(o.reductionFactor !== undefined ? { reductionFactor: o.reductionFactor } : {}),
    ...(o.nonLinearity !== undefined ? { nonLinearity: o.nonLinearity } : {}),
  });
  await addTaskHead(model, spec, spec.name, seed);
}

/**
 * Where an adapter for a seed is: `dir` itself when it is an adapter folder, else the folder of
 * a train-adapter run (`<dir>/seed-<seed>/adapter`, or its only seed when it has one).
 */
export async function adapterFolderFor(dir: string, seed: number): Promise<string> {
  if (await exists(join(dir, 'adapter_config.json'))) return dir;
  if (await exists(join(dir, 'adapter', 'adapter_config.json'))) return join(dir, 'adapter');
  const same = join(dir, `seed-${seed}`, 'adapter');
  if (await exists(join(same, 'adapter_config.json'))) return same;
  const { readdir } = await import('node:fs/promises');
  const seeds = (await readdir(dir).catch(() => [] as string[])).filter((e) => /^seed-\d+$/.test(e));
  if (seeds.length === 1 && (await exists(join(dir, seeds[0], 'adapter', 'adapter_config.json')))) return join(dir, seeds[0], 'adapter');
  if (seeds.length === 0) throw new IoError(`${dir}: neither an adapter folder (adapter_config.json) nor a train-adapter output (seed-<s>/adapter)`);
  throw new InvalidArgumentError(`${dir} holds adapters of seeds ${seeds.map((s) => s.slice(5)).join(', ')} but not of seed ${seed}`);
}

export interface FusionPlanOptions {
  /** Adapter folders (or train-adapter output folders, see adapterFolderFor), in fusion order. */
  adapters: string[];
  /** 'dynamic' (default; the paper's) or 'static'. */
  fusionConfig?: 'dynamic' | 'static';
  /** 'fusion-st-a' (default) or 'fusion-mt-a' (adapters from train-mt-adapters). */
  setup?: 'fusion-st-a' | 'fusion-mt-a';
}

/** AdapterFusion over trained adapters with a fresh head for the target (stage 2). */
export function fusionPlan(o: FusionPlanOptions): SetupPlan {
  if (!Array.isArray(o.adapters) || o.adapters.length < 1 || o.adapters.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError('options.adapters must be a non-empty array of adapter folders');
  }
  const setup = o.setup ?? 'fusion-st-a';
  let fused: string[] = [];
  return {
    setup,
    fusion: true,
    async build(model, seed, spec) {
      const names: string[] = [];
      for (const dir of o.adapters) {
        const folder = await adapterFolderFor(dir, seed);
        const name = await model.loadAdapter(folder);
        if (names.includes(name)) throw new InvalidArgumentError(`two adapters are named "${name}" (${folder}); fuse adapters with distinct names`);
        names.push(name);
      }
      if (names.length < 2) throw new InvalidArgumentError(`fusion needs at least 2 adapters, got ${names.length}`);
      fused = names;
      await model.addAdapterFusion(new Fuse(...names), { config: o.fusionConfig ?? 'dynamic', seed });
      await addTaskHead(model, spec, spec.name, seed);
      await model.setActiveAdapters(new Fuse(...names), { head: spec.name });
      return { trainer: { mode: 'fusion', fusion: new Fuse(...names), head: spec.name }, adapters: names };
    },
    async save(model, dir, spec) {
      await model.saveAdapterFusion(join(dir, 'fusion'), new Fuse(...fused));
      await model.saveHead(join(dir, 'head'), spec.name);
      return { fusion: 'fusion', head: 'head' };
    },
    describe: () => ({ fusionConfig: o.fusionConfig ?? 'dynamic', adapterDirs: o.adapters.map((a) => resolve(a)) }),
    async check(seeds) {
      for (const seed of seeds) for (const dir of o.adapters) await adapterFolderFor(dir, seed);
    },
  };
}

/** Reads the adapter names a saved fusion fuses (adapter_fusion_config.json). */
export async function fusedAdapterNames(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'adapter_fusion_config.json'), 'utf8').catch((err) => {
    throw new IoError(`cannot read ${join(dir, 'adapter_fusion_config.json')}: ${(err as Error).message}`, { cause: err });
  });
  const json = JSON.parse(text) as { adapter_names?: unknown; name?: unknown };
  if (Array.isArray(json.adapter_names)) return json.adapter_names as string[];
  if (typeof json.name === 'string') return json.name.split(',');
  throw new InvalidArgumentError(`${dir}: adapter_fusion_config.json names no adapters`);
}
