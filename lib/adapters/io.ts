// AdapterHub-compatible files (adapters 1.3): loading and saving adapters, prediction heads
// and AdapterFusion layers, in the folders AdapterHub's save_adapter / save_head /
// save_adapter_fusion write and its load_* functions read.
//
//   adapter  adapter_config.json         + adapter.safetensors              | pytorch_adapter.bin
//   head     head_config.json            + model_head.safetensors           | pytorch_model_head.bin
//   fusion   adapter_fusion_config.json  + model_adapter_fusion.safetensors | pytorch_model_adapter_fusion.bin
//
// Loading reads the JSON (Python semantics, see pyjson.ts), the weights (safetensors when
// present, else .bin through the core's restricted unpickler), has the core create the module
// from the file's "config" (it validates the config and creates exactly the parameters it
// implies), then checks that the file holds exactly those tensors with those shapes and sets
// them. Any failure removes what was added: the model is left as it was. Every error is typed
// (lib/errors.ts) and names the file and, where it is about one, the tensor.
//
// Saving writes the weights (F32, keys as AdapterHub's, no metadata) and then the JSON
// (json.dump(indent=2, sort_keys=True) byte for byte, no trailing newline), each atomically.
import { join } from 'node:path';
import type { NativeModuleKind, NativeModuleValues, NativeShape, NativeTensor, NativeTensorToWrite } from '../binding.js';
import { InvalidArgumentError, InvalidFileError, native, nativeSync, ShapeMismatchError, UnsupportedError } from '../errors.js';
import type { BertModel } from '../model/bert-model.js';
import {
  fileObject,
  HEAD_MODEL_CLASSES,
  MODEL_TYPE,
} from './configs.js';
import { nonFiniteTensors, warnNonFinite } from '../warnings.js';
import { ensureDir, naming, readJsonObject, readWeights, requireDir, writeJsonAtomic, writeWeights, type WeightsFile } from './files.js';
import { filePrefix, normalizeFileKey, renameModule } from './keys.js';
import { dumpPyCompact, parsePy, PyInt, PyObject, pyTypeName, type PyJson } from './pyjson.js';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter.safetensors';
export const ADAPTER_BIN_NAME = 'pytorch_adapter.bin';
export const HEAD_CONFIG_NAME = 'head_config.json';
export const HEAD_WEIGHTS_NAME = 'model_head.safetensors';
export const HEAD_BIN_NAME = 'pytorch_model_head.bin';
export const FUSION_CONFIG_NAME = 'adapter_fusion_config.json';
export const FUSION_WEIGHTS_NAME = 'model_adapter_fusion.safetensors';
export const FUSION_BIN_NAME = 'pytorch_model_adapter_fusion.bin';

const KIND_WORD: Record<NativeModuleKind, string> = { adapter: 'adapter', fusion: 'fusion', head: 'head' };

// ------------------------------------------------------------------ argument checks

function checkDir(dir: unknown): string {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
  return dir;
}

function checkName(name: unknown, arg: string): string {
  if (typeof name !== 'string' || name === '') throw new TypeError(`${arg} must be a non-empty string`);
  return name;
}

function checkLoadAs(options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const loadAs = (options as { loadAs?: unknown }).loadAs;
  if (loadAs === undefined || loadAs === null) return undefined;
  return checkName(loadAs, 'options.loadAs');
}

// ------------------------------------------------------------------ reading the JSON

function fileName(file: PyObject, path: string): string {
  const name = file.get('name');
  if (typeof name !== 'string' || name === '') {
    throw new InvalidFileError(`${path}: "name" must be a non-empty string (found ${pyTypeName(name)})`);
  }
  return name;
}

function checkModel(file: PyObject, path: string, model: BertModel): void {
  const type = file.get('model_type');
  if (type !== undefined && type !== null && type !== MODEL_TYPE) {
    throw new UnsupportedError(`${path}: model_type ${JSON.stringify(type)} is not supported (this library runs "${MODEL_TYPE}" models)`);
  }
  const v = file.get('hidden_size');
  if (v === undefined || v === null) return; // AdapterHub does not require it
  if (!(v instanceof PyInt)) throw new InvalidFileError(`${path}: "hidden_size" must be an integer (found ${pyTypeName(v)})`);
  if (v.value !== BigInt(model.config.hiddenSize)) {
    throw new ShapeMismatchError(`${path}: hidden_size ${v.value} does not match the model's hidden size ${model.config.hiddenSize}`);
  }
}

/** The "config" member: an object, or (adapters, fusion) a preset name. */
function configMember(file: PyObject, path: string, allowPreset: boolean): PyObject | string {
  const c = file.get('config');
  if (c instanceof PyObject) return c;
  if (allowPreset && typeof c === 'string') return c;
  throw new InvalidFileError(`${path}: "config" must be an object${allowPreset ? ' or a preset name' : ''} (found ${pyTypeName(c)})`);
}

// ------------------------------------------------------------------ setting the weights

/**
 * Matches `weights` against the tensors the module will have (`shapes`, named `name` in the
 * model and `nameInFile` in the file): every tensor present once, with the model's shape. The
 * result goes to the native add call, which adds the module with these weights in one task —
 * so nothing sees the module half filled, and a failure leaves the model as it was.
 */
function moduleValues(
  kind: NativeModuleKind,
  name: string,
  nameInFile: string,
  shapes: NativeShape[],
  weights: WeightsFile,
): NativeModuleValues {
  const path = weights.path;
  const byKey = new Map<string, NativeTensor>();
  for (const t of weights.tensors) {
    const key = normalizeFileKey(kind, t.name);
    const prior = byKey.get(key);
    if (prior) throw new InvalidFileError(`${path}: tensors "${prior.name}" and "${t.name}" are the same parameter`);
    byKey.set(key, t);
  }
  const values: NativeModuleValues = Object.create(null) as NativeModuleValues;
  const missing: string[] = [];
  for (const { name: param, shape: want } of shapes) {
    const key = renameModule(kind, param, name, nameInFile);
    const t = byKey.get(key);
    if (!t) {
      missing.push(filePrefix(kind) + key);
      continue;
    }
    byKey.delete(key);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new ShapeMismatchError(
        `${path}: tensor "${t.name}" has shape [${t.shape.join(', ')}], but ${KIND_WORD[kind]} "${nameInFile}" as configured needs [${want.join(', ')}]`,
      );
    }
    if (!(t.data instanceof Float32Array)) {
      throw new InvalidFileError(`${path}: tensor "${t.name}" has dtype ${t.dtype}; a floating-point tensor is needed`);
    }
    values[param] = t.data;
  }
  if (missing.length) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
    throw new InvalidFileError(`${path}: missing tensor "${missing[0]}"${more}, which ${KIND_WORD[kind]} "${nameInFile}" as configured needs`);
  }
  if (byKey.size) {
    const extra = [...byKey.values()];
    const more = extra.length > 1 ? ` (and ${extra.length - 1} more)` : '';
    throw new InvalidFileError(
      `${path}: unexpected tensor "${extra[0].name}"${more}: not a parameter of ${KIND_WORD[kind]} "${nameInFile}" as configured`,
    );
  }
  warnNonFinite(path, nonFiniteTensors(Object.entries(values)));
  return values;
}

/** Runs a core call on a config file's content; its errors (a config it rejects) name the file. */
function checkedBy<T>(path: string, call: () => T): T {
  try {
    return nativeSync(call);
  } catch (err) {
    throw naming(path, err);
  }
}

/** Adds the module with its weights in one native task; errors name the config file. */
async function addWithValues(path: string, add: () => Promise<string[]>): Promise<void> {
  await native(add).catch((err) => {
    throw naming(path, err);
  });
}

/** A module's config (as a Python-JSON object) and its tensors, read in one native task. */
async function moduleState(model: BertModel, kind: NativeModuleKind, name: string): Promise<{ config: PyObject; tensors: NativeTensorToWrite[] }> {
  const state = await native(() => model._native().moduleTensors(kind, name));
  const config = parsePy(state.config);
  if (!(config instanceof PyObject)) throw new Error(`internal: the ${kind} config of "${name}" is not a JSON object`);
  const tensors = state.tensors.map((t) => ({ name: filePrefix(kind) + t.name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  return { config, tensors };
}

function outer(model: BertModel, name: string) {
  return { hiddenSize: model.config.hiddenSize, modelName: model.dir, name };
}

// ------------------------------------------------------------------ adapters

/** Loads an AdapterHub adapter folder; returns the adapter's name in the model. */
export async function loadAdapter(model: BertModel, dir: string, options: { loadAs?: string } = {}): Promise<string> {
  checkDir(dir);
  const loadAs = checkLoadAs(options);
  await requireDir(dir, 'loadAdapter');
  const path = join(dir, ADAPTER_CONFIG_NAME);
  const file = await readJsonObject(path);
  const inFile = fileName(file, path);
  const config = configMember(file, path, true);
  checkModel(file, path, model);
  const name = loadAs ?? inFile;
  if (model.adapters().includes(name)) {
    throw new InvalidArgumentError(
      `${path}: the model already has an adapter named "${name}"${loadAs ? '' : ' (choose another name with options.loadAs)'}`,
    );
  }
  const weights = await readWeights(dir, ADAPTER_WEIGHTS_NAME, ADAPTER_BIN_NAME);
  const configText = typeof config === 'string' ? JSON.stringify(config) : dumpPyCompact(config);
  const handle = model._native();
  const shapes = checkedBy(path, () => handle.moduleShapes('adapter', name, configText, null));
  const values = moduleValues('adapter', name, inFile, shapes, weights);
  await addWithValues(path, () => handle.addAdapter(name, configText, null, 0, values));
  return name;
}

/** Writes adapter_config.json + adapter.safetensors into `dir` (created if needed). */
export async function saveAdapter(model: BertModel, dir: string, name: string): Promise<void> {
  checkDir(dir);
  checkName(name, 'name');
  if (!model.adapters().includes(name)) throw new InvalidArgumentError(`saveAdapter: the model has no adapter named "${name}"`);
  const { config, tensors } = await moduleState(model, 'adapter', name);
  await ensureDir(dir);
  await writeWeights(join(dir, ADAPTER_WEIGHTS_NAME), tensors);
  await writeJsonAtomic(join(dir, ADAPTER_CONFIG_NAME), fileObject(config, outer(model, name)));
}

// ------------------------------------------------------------------ heads

/** Loads an AdapterHub prediction head folder; returns the head's name in the model. */
export async function loadHead(model: BertModel, dir: string, options: { loadAs?: string } = {}): Promise<string> {
  checkDir(dir);
  const loadAs = checkLoadAs(options);
  await requireDir(dir, 'loadHead');
  const path = join(dir, HEAD_CONFIG_NAME);
  const file = await readJsonObject(path);
  const inFile = fileName(file, path);
  const config = configMember(file, path, false) as PyObject;
  const cls = file.get('model_class');
  if (cls !== undefined && cls !== null) {
    if (typeof cls !== 'string') throw new InvalidFileError(`${path}: "model_class" must be a string (found ${pyTypeName(cls)})`);
    if (!HEAD_MODEL_CLASSES.includes(cls)) {
      throw new UnsupportedError(`${path}: a head of model class "${cls}" is not supported (only flex heads: ${HEAD_MODEL_CLASSES.join(', ')})`);
    }
  }
  checkModel(file, path, model);
  const name = loadAs ?? inFile;
  if (model.heads().includes(name)) {
    throw new InvalidArgumentError(
      `${path}: the model already has a head named "${name}"${loadAs ? '' : ' (choose another name with options.loadAs)'}`,
    );
  }
  const weights = await readWeights(dir, HEAD_WEIGHTS_NAME, HEAD_BIN_NAME);
  const configText = dumpPyCompact(config);
  const handle = model._native();
  const shapes = checkedBy(path, () => handle.moduleShapes('head', name, configText));
  const values = moduleValues('head', name, inFile, shapes, weights);
  await addWithValues(path, () => handle.addHead(name, configText, 0, values));
  return name;
}

/** Writes head_config.json + model_head.safetensors into `dir` (created if needed). */
export async function saveHead(model: BertModel, dir: string, name: string): Promise<void> {
  checkDir(dir);
  checkName(name, 'name');
  if (!model.heads().includes(name)) throw new InvalidArgumentError(`saveHead: the model has no head named "${name}"`);
  const { config, tensors } = await moduleState(model, 'head', name);
  await ensureDir(dir);
  await writeWeights(join(dir, HEAD_WEIGHTS_NAME), tensors);
  await writeJsonAtomic(join(dir, HEAD_CONFIG_NAME), fileObject(config, outer(model, name)));
}

// ------------------------------------------------------------------ fusion

function fusionAdapterNames(file: PyObject, path: string): string[] {
  const list = file.get('adapter_names');
  const name = file.get('name');
  let names: string[];
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list) || list.length === 0 || list.some((n) => typeof n !== 'string' || n === '')) {
      throw new InvalidFileError(`${path}: "adapter_names" must be a non-empty list of adapter names`);
    }
    names = list as string[];
    if (name !== undefined && name !== null && name !== names.join(',')) {
      throw new InvalidFileError(`${path}: "name" ${JSON.stringify(name)} does not match "adapter_names" ${JSON.stringify(names)}`);
    }
  } else {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidFileError(`${path}: needs "adapter_names" or a "name" such as "a,b,c"`);
    }
    names = name.split(',');
    if (names.some((n) => n === '')) throw new InvalidFileError(`${path}: "name" ${JSON.stringify(name)} is not a list of adapter names "a,b,c"`);
  }
  return names;
}

/** Loads an AdapterHub fusion folder; the fused adapters must be loaded first. Returns "a,b,c". */
export async function loadAdapterFusion(model: BertModel, dir: string): Promise<string> {
  checkDir(dir);
  await requireDir(dir, 'loadAdapterFusion');
  const path = join(dir, FUSION_CONFIG_NAME);
  const file = await readJsonObject(path);
  const names = fusionAdapterNames(file, path);
  const config = configMember(file, path, true);
  checkModel(file, path, model);
  const name = names.join(',');
  if (model.adapterFusions().includes(name)) throw new InvalidArgumentError(`${path}: the model already has a fusion "${name}"`);
  const have = new Set(model.adapters());
  for (const a of names) {
    if (!have.has(a)) {
      throw new InvalidArgumentError(`${path}: fusion "${name}" needs adapter "${a}", which the model does not have (load the adapter first)`);
    }
  }
  const weights = await readWeights(dir, FUSION_WEIGHTS_NAME, FUSION_BIN_NAME);
  const configText = typeof config === 'string' ? JSON.stringify(config) : dumpPyCompact(config);
  const handle = model._native();
  const shapes = checkedBy(path, () => handle.moduleShapes('fusion', names, configText, null));
  const values = moduleValues('fusion', name, name, shapes, weights);
  await addWithValues(path, () => handle.addAdapterFusion(names, configText, null, 0, values));
  return name;
}

/** Writes adapter_fusion_config.json + model_adapter_fusion.safetensors into `dir`. */
export async function saveAdapterFusion(model: BertModel, dir: string, name: string): Promise<void> {
  checkDir(dir);
  checkName(name, 'name');
  if (!model.adapterFusions().includes(name)) throw new InvalidArgumentError(`saveAdapterFusion: the model has no fusion "${name}"`);
  const { config, tensors } = await moduleState(model, 'fusion', name);
  const adapterNames: PyJson = name.split(',');
  await ensureDir(dir);
  await writeWeights(join(dir, FUSION_WEIGHTS_NAME), tensors);
  await writeJsonAtomic(join(dir, FUSION_CONFIG_NAME), fileObject(config, outer(model, name), { adapter_names: adapterNames }));
}
