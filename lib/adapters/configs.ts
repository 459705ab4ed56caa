// The JSON objects of adapter_config.json, head_config.json and adapter_fusion_config.json, as
// AdapterHub (adapters 1.3) writes them:
//
//   { "config": {...}, "hidden_size": 48, "model_class": "BertAdapterModel",
//     "model_name": "<base model path>", "model_type": "bert", "name": "a",
//     "version": "adapters.1.3.0" }                     (+ "adapter_names": [...] for fusion)
//
// The "config" object comes from the core (moduleConfig), complete and with floats as floats
// ("scaling": 1.0): AdapterHub rebuilds a partial config from BnConfig, whose required fields
// have no defaults, and checks isinstance(scaling, float). This file adds the outer fields.
import { PyInt, PyObject, type PyJson } from './pyjson.js';

export const ADAPTERHUB_VERSION = 'adapters.1.3.0';
export const MODEL_CLASS = 'BertAdapterModel';
export const MODEL_TYPE = 'bert';
/** Head files from these model classes hold flex heads this model can load. */
export const HEAD_MODEL_CLASSES = ['BertAdapterModel', 'BertModelWithHeads'];

export interface OuterFields {
  hiddenSize: number;
  modelName: string;
  name: string;
}

/** The whole file object: "config" plus AdapterHub's outer fields. */
export function fileObject(config: PyObject, outer: OuterFields, extra: Record<string, PyJson> = {}): PyObject {
  const obj = new PyObject();
  obj.set('config', config);
  obj.set('hidden_size', new PyInt(BigInt(outer.hiddenSize)));
  obj.set('model_class', MODEL_CLASS);
  obj.set('model_name', outer.modelName);
  obj.set('model_type', MODEL_TYPE);
  obj.set('name', outer.name);
  obj.set('version', ADAPTERHUB_VERSION);
  for (const [k, v] of Object.entries(extra)) obj.set(k, v);
  return obj;
}
