// Weight names in AdapterHub files versus parameter names in the model.
//
// The model's parameters have no "bert." prefix (encoder.layer.0.output.adapters.a.adapter_up.weight).
// AdapterHub's files hold the full BertAdapterModel keys: adapters and fusion layers WITH "bert."
// (bert.encoder.layer.0.output.adapter_fusion_layer.a,b,c.value.weight), heads without
// (heads.cls.1.weight). The module's name inside the key is the one in the file's config, which
// `loadAs` may change; names never contain '.', so the name is always one whole key segment.
import type { NativeModuleKind } from '../binding.js';

export const BERT_PREFIX = 'bert.';

/** The key segment that precedes a module's name ("…output.adapters.<name>.…", "heads.<name>.…"). */
function marker(kind: NativeModuleKind): string {
  if (kind === 'adapter') return '.adapters.';
  if (kind === 'fusion') return '.adapter_fusion_layer.';
  return 'heads.';
}

/** The prefix AdapterHub writes in front of the model's parameter name. */
export function filePrefix(kind: NativeModuleKind): string {
  return kind === 'head' ? '' : BERT_PREFIX;
}

/**
 * The parameter `param` of module `modelName` renamed to the module name used in a file
 * (`fileName`), without the file prefix. Throws if `param` does not belong to that module.
 */
export function renameModule(kind: NativeModuleKind, param: string, modelName: string, fileName: string): string {
  const m = marker(kind);
  const from = `${m}${modelName}.`;
  const at = kind === 'head' ? (param.startsWith(from) ? 0 : -1) : param.indexOf(from);
  if (at < 0) throw new Error(`internal: parameter ${param} does not belong to ${kind} "${modelName}"`);
  return param.slice(0, at) + `${m}${fileName}.` + param.slice(at + from.length);
}

/**
 * A file key as the model's key space (no "bert."): adapters and fusion layers accept keys with
 * or without the prefix; head keys are taken as they are.
 */
export function normalizeFileKey(kind: NativeModuleKind, key: string): string {
  if (kind !== 'head' && key.startsWith(BERT_PREFIX)) return key.slice(BERT_PREFIX.length);
  return key;
}
