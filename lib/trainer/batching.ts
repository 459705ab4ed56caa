// Datasets of pre-tokenized examples, their validation against a model, and batching: each
// batch is padded to its longest row (pad id, token type 0, attention 0), multiple-choice
// examples become numChoices consecutive rows, regression labels are Float32Array.
import type { BatchInput, BertModel } from '../model/bert-model.js';
import { InvalidArgumentError } from '../errors.js';
import type { EncodeOptions } from '../tokenizer/encode-options.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** One tokenized sequence (a row of a batch). Arrays have equal lengths, without padding needed. */
export interface SequenceInput {
  inputIds: Int32Array;
  /** Default: all 0. */
  tokenTypeIds?: Int32Array;
  /** Default: all 1 (every token is real). */
  attentionMask?: Int32Array;
}

/** A classification (class id) or regression (float target) example. */
export interface Example extends SequenceInput {
  /** Class id for classification, target for regression; required for training and metrics. */
  label?: number;
}

/** A multiple-choice example: one sequence per choice, label = index of the right choice. */
export interface MultipleChoiceExample {
  choices: SequenceInput[];
  label?: number;
}

export type TrainingExample = Example | MultipleChoiceExample;

/** Anything indexable: an array, or an object with `length` and `get(i)` (e.g. a lazy dataset class). */
export interface DatasetLike<T> {
  readonly length: number;
  get(index: number): T;
}
export type Dataset<T extends TrainingExample = TrainingExample> = readonly T[] | DatasetLike<T>;

/** Number of examples of a dataset. */
export function datasetLength(ds: Dataset): number {
  return ds.length;
}

/** Example i of a dataset (array or DatasetLike). */
export function datasetGet<T extends TrainingExample>(ds: Dataset<T>, i: number): T {
  return Array.isArray(ds) ? (ds as readonly T[])[i] : (ds as DatasetLike<T>).get(i);
}

export function isMultipleChoice(e: TrainingExample): e is MultipleChoiceExample {
  return typeof e === 'object' && e !== null && Array.isArray((e as MultipleChoiceExample).choices);
}

/** What the active head of a model expects. */
export interface HeadKind {
  kind: 'classification' | 'regression' | 'multiple_choice';
  /** Classes (classification) or choices (multiple choice); 1 for regression. */
  classes: number;
}

export function headKind(model: BertModel): HeadKind {
  const h = model.activeHead();
  if (!h) throw new InvalidArgumentError('the model has no active head: add one and activate it with setActiveAdapters(setup, { head })');
  return { kind: h.regression ? 'regression' : h.multipleChoice ? 'multiple_choice' : 'classification', classes: h.classes };
}

export interface ValidateOptions {
  head: HeadKind;
  vocabSize: number;
  typeVocabSize: number;
  maxPositions: number;
  /** Labels must be present (training, metrics). */
  requireLabels: boolean;
}

function checkSequence(s: unknown, where: string, o: ValidateOptions): void {
  if (typeof s !== 'object' || s === null) throw new TypeError(`${where} must be an object with inputIds (Int32Array)`);
  const seq = s as SequenceInput;
  if (!(seq.inputIds instanceof Int32Array)) throw new TypeError(`${where}.inputIds must be an Int32Array`);
  const n = seq.inputIds.length;
  if (n === 0) throw new InvalidArgumentError(`${where}.inputIds is empty`);
  if (n > o.maxPositions) {
    throw new InvalidArgumentError(`${where}.inputIds has ${n} tokens, more than the model's ${o.maxPositions} positions; truncate it`);
  }
  for (let j = 0; j < n; j++) {
    const id = seq.inputIds[j];
    if (id < 0 || id >= o.vocabSize) throw new InvalidArgumentError(`${where}.inputIds[${j}] = ${id} is not a token id of the model (0 <= id < ${o.vocabSize})`);
  }
  for (const key of ['tokenTypeIds', 'attentionMask'] as const) {
    const a = seq[key];
    if (a === undefined || a === null) continue;
    if (!(a instanceof Int32Array)) throw new TypeError(`${where}.${key} must be an Int32Array`);
    if (a.length !== n) throw new InvalidArgumentError(`${where}.${key} has ${a.length} entries but inputIds has ${n}`);
    const hi = key === 'tokenTypeIds' ? o.typeVocabSize : 2;
    for (let j = 0; j < n; j++) {
      if (a[j] < 0 || a[j] >= hi) throw new InvalidArgumentError(`${where}.${key}[${j}] = ${a[j]} is outside [0, ${hi})`);
    }
  }
}

function checkLabel(label: unknown, where: string, o: ValidateOptions): void {
  if (label === undefined || label === null) {
    if (o.requireLabels) throw new InvalidArgumentError(`${where}.label is missing`);
    return;
  }
  if (typeof label !== 'number') throw new TypeError(`${where}.label must be a number`);
  if (o.head.kind === 'regression') {
    if (!Number.isFinite(label)) throw new InvalidArgumentError(`${where}.label = ${label} is not a finite regression target`);
    return;
  }
  const what = o.head.kind === 'multiple_choice' ? 'choices' : 'classes';
  if (!Number.isInteger(label) || label < 0 || label >= o.head.classes) {
    throw new InvalidArgumentError(`${where}.label = ${label} does not fit the head: it has ${o.head.classes} ${what} (labels 0..${o.head.classes - 1})`);
  }
}

/**
 * Checks every example of a dataset against the model and its active head; throws a TypeError
 * or InvalidArgumentError naming `${name}[i]...` at the first problem. Returns the length.
 */
export function validateDataset(ds: unknown, name: string, o: ValidateOptions): number {
  if (ds === null || typeof ds !== 'object') throw new TypeError(`${name} must be an array of examples or an object with length and get(i)`);
  const isArray = Array.isArray(ds);
  const like = ds as DatasetLike<TrainingExample>;
  if (!isArray && (typeof like.length !== 'number' || typeof like.get !== 'function')) {
    throw new TypeError(`${name} must be an array of examples or an object with length and get(i)`);
  }
  const n = like.length;
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`${name}.length must be a non-negative integer`);
  if (n === 0) throw new InvalidArgumentError(`${name} is empty: it needs at least one example`);
  const mc = o.head.kind === 'multiple_choice';
  for (let i = 0; i < n; i++) {
    const e = datasetGet(ds as Dataset, i);
    const where = `${name}[${i}]`;
    if (typeof e !== 'object' || e === null) throw new TypeError(`${where} must be an example object`);
    if (mc) {
      if (!isMultipleChoice(e)) throw new InvalidArgumentError(`${where} has no choices, but the active head is multiple choice (${o.head.classes} choices)`);
      if (e.choices.length !== o.head.classes) {
        throw new InvalidArgumentError(`${where} has ${e.choices.length} choices, but the multiple-choice head takes ${o.head.classes}`);
      }
      e.choices.forEach((c, k) => checkSequence(c, `${where}.choices[${k}]`, o));
    } else {
      if (isMultipleChoice(e)) throw new InvalidArgumentError(`${where} has choices, but the active head is ${o.head.kind} (not multiple choice)`);
      checkSequence(e, where, o);
    }
    checkLabel(e.label, where, o);
  }
  return n;
}

/** The validation settings of a model's active head. */
export function validateOptionsFor(model: BertModel, requireLabels: boolean): ValidateOptions {
  const c = model.config;
  return {
    head: headKind(model),
    vocabSize: c.vocabSize,
    typeVocabSize: c.typeVocabSize,
    maxPositions: c.maxPositionEmbeddings,
    requireLabels,
  };
}

/** A 32-bit fingerprint of a dataset's token ids, types, masks and labels (to check a resume). */
export function datasetFingerprint(ds: Dataset): number {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x | 0), 0x01000193) >>> 0;
  };
  const seq = (s: SequenceInput) => {
    mix(s.inputIds.length);
    for (let j = 0; j < s.inputIds.length; j++) mix(s.inputIds[j]);
    if (s.tokenTypeIds) for (let j = 0; j < s.tokenTypeIds.length; j++) mix(s.tokenTypeIds[j] + 7);
    if (s.attentionMask) for (let j = 0; j < s.attentionMask.length; j++) mix(s.attentionMask[j] + 11);
  };
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < ds.length; i++) {
    const e = datasetGet(ds, i);
    if (isMultipleChoice(e)) e.choices.forEach(seq);
    else seq(e);
    f[0] = e.label ?? NaN;
    mix(u[0]);
    mix(u[1]);
  }
  return h >>> 0;
}

/** A padded batch and its labels. */
export interface Batch {
  input: BatchInput;
  /** Int32Array class ids / choice indices, Float32Array regression targets; null when unlabelled. */
  labels: Int32Array | Float32Array | null;
  /** Examples in the batch (rows / numChoices for multiple choice). */
  examples: number;
}

export interface CollateOptions {
  padTokenId: number;
  /** Float32Array labels (regression). */
  regression?: boolean;
}

/**
 * Pads examples into one batch: seqLen = the longest row; padding gets the pad id, token type 0
 * and attention 0. Multiple-choice examples give their choices as consecutive rows.
 */
export function collate(examples: readonly TrainingExample[], o: CollateOptions): Batch {
  const rows: SequenceInput[] = [];
  for (const e of examples) {
    if (isMultipleChoice(e)) rows.push(...e.choices);
    else rows.push(e);
  }
  let seqLen = 1;
  for (const r of rows) seqLen = Math.max(seqLen, r.inputIds.length);
  const size = rows.length * seqLen;
  const inputIds = new Int32Array(size).fill(o.padTokenId);
  const tokenTypeIds = new Int32Array(size);
  const attentionMask = new Int32Array(size);
  rows.forEach((r, i) => {
    const off = i * seqLen;
    const n = r.inputIds.length;
    inputIds.set(r.inputIds, off);
    if (r.tokenTypeIds) tokenTypeIds.set(r.tokenTypeIds, off);
    if (r.attentionMask) attentionMask.set(r.attentionMask, off);
    else attentionMask.fill(1, off, off + n);
  });
  const labelled = examples.every((e) => typeof e.label === 'number');
  let labels: Int32Array | Float32Array | null = null;
  if (labelled) {
    labels = o.regression ? new Float32Array(examples.length) : new Int32Array(examples.length);
    examples.forEach((e, i) => (labels![i] = e.label!));
  }
  return { input: { inputIds, tokenTypeIds, attentionMask, batchSize: rows.length, seqLen }, labels, examples: examples.length };
}

/** Batches of `batchSize` examples in the given order (the last one may be smaller). */
export function* batches<T extends TrainingExample>(ds: Dataset<T>, batchSize: number, order?: ArrayLike<number>): Generator<T[]> {
  const n = ds.length;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const items: T[] = [];
    for (let k = start; k < end; k++) items.push(datasetGet(ds, order ? order[k] : k));
    yield items;
  }
}

// ---------------------------------------------------------------- tokenizing raw text

/** A raw text (pair) example. */
export interface TextExample {
  text: string;
  /** Second text of a pair (sentence2, hypothesis, passage, ...). */
  pair?: string | null;
  label?: number;
}

/** A raw multiple-choice example: each choice is encoded as the pair (text, pair). */
export interface MultipleChoiceTextExample {
  choices: { text: string; pair?: string | null }[];
  label?: number;
}

function encodeOne(tokenizer: Tokenizer, text: string, pair: string | null | undefined, opts: EncodeOptions): SequenceInput {
  const e = tokenizer.encode(text, pair ?? null, { truncation: true, ...opts, padding: false });
  return { inputIds: e.inputIds, tokenTypeIds: e.tokenTypeIds };
}

/**
 * Tokenizes raw examples ([CLS] text [SEP] pair [SEP], truncated to opts.maxLength, default the
 * tokenizer's) into training examples; labels pass through.
 */
export function tokenizeExamples(
  tokenizer: Tokenizer,
  examples: readonly (TextExample | MultipleChoiceTextExample)[],
  opts: EncodeOptions = {},
): TrainingExample[] {
  if (!Array.isArray(examples)) throw new TypeError('examples must be an array');
  return examples.map((e, i) => {
    if (typeof e !== 'object' || e === null) throw new TypeError(`examples[${i}] must be an object`);
    if (Array.isArray((e as MultipleChoiceTextExample).choices)) {
      const mc = e as MultipleChoiceTextExample;
      const out: MultipleChoiceExample = { choices: mc.choices.map((c) => encodeOne(tokenizer, c.text, c.pair, opts)) };
      if (mc.label !== undefined) out.label = mc.label;
      return out;
    }
    const t = e as TextExample;
    const out: Example = encodeOne(tokenizer, t.text, t.pair, opts);
    if (t.label !== undefined) out.label = t.label;
    return out;
  });
}

/** Tokenizes texts (and pairs[i] as their second texts) with labels[i] into training examples. */
export function tokenizePairs(
  tokenizer: Tokenizer,
  texts: readonly string[],
  pairs: readonly (string | null)[] | null | undefined,
  labels?: ArrayLike<number> | null,
  opts: EncodeOptions = {},
): Example[] {
  if (!Array.isArray(texts)) throw new TypeError('texts must be an array of strings');
  if (pairs && pairs.length !== texts.length) throw new InvalidArgumentError(`pairs has ${pairs.length} entries but texts has ${texts.length}`);
  if (labels && labels.length !== texts.length) throw new InvalidArgumentError(`labels has ${labels.length} entries but texts has ${texts.length}`);
  return texts.map((t, i) => {
    const out: Example = encodeOne(tokenizer, t, pairs?.[i], opts);
    if (labels) out.label = labels[i];
    return out;
  });
}
