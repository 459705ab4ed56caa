// Options of the adapter, fusion and head constructors, mapped onto AdapterHub's "config"
// objects (snake_case fields, as they appear in adapter_config.json and friends).

export type AdapterPreset = 'pfeiffer' | 'houlsby' | 'seq_bn' | 'double_seq_bn';
export type NonLinearity = 'relu' | 'swish' | 'silu' | 'gelu' | 'tanh';

export interface AddAdapterOptions {
  /** A preset, or a full AdapterHub BnConfig object (snake_case keys). Default 'pfeiffer'. */
  config?: AdapterPreset | Record<string, unknown>;
  /** Bottleneck = hidden / reductionFactor (paper: 2, 16, 64). Default: the preset's 16. */
  reductionFactor?: number | Record<string, number>;
  nonLinearity?: NonLinearity;
  /** Layers without adapters. */
  leaveOut?: number[];
  /** Dropout on the adapter output. */
  dropout?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

export interface AddFusionOptions {
  /** 'dynamic' (Q, K, V; value regulariser) or 'static' (no V), or a full AdapterFusionConfig object. */
  config?: 'dynamic' | 'static' | Record<string, unknown>;
  /** Anneal the softmax temperature from 50 (AdapterHub's `temperature`). */
  temperature?: boolean;
  /** Dropout on the fusion scores (default: attention_probs_dropout_prob). */
  dropoutProb?: number;
  seed?: number;
}

export interface AddClassificationHeadOptions {
  numLabels: number;
  /** Linear layers (default 2: Linear(D,D) -> tanh -> Linear(D, numLabels)). */
  layers?: number;
  activationFunction?: 'tanh' | 'relu' | 'gelu' | 'swish';
  /** Label names by id (default LABEL_0 ...). */
  id2label?: Record<number, string> | string[];
  dropoutProb?: number;
  seed?: number;
}

export interface AddMultipleChoiceHeadOptions {
  numChoices: number;
  layers?: number;
  activationFunction?: 'tanh' | 'relu' | 'gelu' | 'swish';
  id2label?: Record<number, string> | string[];
  dropoutProb?: number;
  seed?: number;
}

export function adapterOverrides(o: AddAdapterOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.reductionFactor !== undefined) out.reduction_factor = o.reductionFactor;
  if (o.nonLinearity !== undefined) out.non_linearity = o.nonLinearity;
  if (o.leaveOut !== undefined) out.leave_out = o.leaveOut;
  if (o.dropout !== undefined) out.dropout = o.dropout;
  return out;
}

export function fusionOverrides(o: AddFusionOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.temperature !== undefined) out.temperature = o.temperature;
  if (o.dropoutProb !== undefined) out.dropout_prob = o.dropoutProb;
  return out;
}

function label2id(n: number, id2label?: Record<number, string> | string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = Array.isArray(id2label) ? id2label[i] : id2label?.[i];
    out[name ?? `LABEL_${i}`] = i;
  }
  return out;
}

function checkCount(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${name} must be a positive integer`);
  return v;
}

/** The "config" object of head_config.json for a classification head. */
export function classificationHeadConfig(o: AddClassificationHeadOptions): Record<string, unknown> {
  const n = checkCount(o?.numLabels, 'options.numLabels');
  return {
    activation_function: o.activationFunction ?? 'tanh',
    bias: true,
    dropout_prob: o.dropoutProb ?? null,
    head_type: 'classification',
    label2id: label2id(n, o.id2label),
    layers: o.layers === undefined ? 2 : checkCount(o.layers, 'options.layers'),
    num_labels: n,
    use_pooler: false,
  };
}

/** The "config" object of head_config.json for a multiple-choice head. */
export function multipleChoiceHeadConfig(o: AddMultipleChoiceHeadOptions): Record<string, unknown> {
  const n = checkCount(o?.numChoices, 'options.numChoices');
  return {
    activation_function: o.activationFunction ?? 'tanh',
    dropout_prob: o.dropoutProb ?? null,
    head_type: 'multiple_choice',
    label2id: label2id(n, o.id2label),
    layers: o.layers === undefined ? 2 : checkCount(o.layers, 'options.layers'),
    num_choices: n,
    use_pooler: false,
  };
}
