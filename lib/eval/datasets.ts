// Readers for the task files, one per format. Each returns raw examples — text (pairs) with a
// label id / regression target, or multiple-choice (text, pair) choices with the right index —
// ready for tokenizeExamples(). Label ids follow the Hugging Face `datasets` versions of the tasks.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidFileError, IoError } from '../errors.js';
import type { MultipleChoiceTextExample, TextExample } from '../trainer/batching.js';
import { columns, parseCsv, parseJsonl, parseTsv, readText } from './formats.js';

/** A text (pair) example as read from a file. */
export interface TextRecord extends TextExample {
  /** The example's id in the file, when it has one. */
  id?: string;
}

/** A multiple-choice example as read from a file. */
export interface ChoiceRecord extends MultipleChoiceTextExample {
  id?: string;
}

export type TaskRecord = TextRecord | ChoiceRecord;

function labelIndex(value: string, labels: readonly string[], where: string): number {
  const i = labels.indexOf(value);
  if (i < 0) throw new InvalidFileError(`${where}: label "${value}" is not one of ${labels.map((l) => `"${l}"`).join(', ')}`);
  return i;
}

function intLabel(value: string, count: number, where: string, offset = 0): number {
  const v = Number(value.trim());
  if (!Number.isInteger(v) || v - offset < 0 || v - offset >= count) {
    throw new InvalidFileError(`${where}: label "${value}" is not an integer in [${offset}, ${count + offset})`);
  }
  return v - offset;
}

function floatLabel(value: string, where: string): number {
  const v = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidFileError(`${where}: "${value}" is not a number`);
  return v;
}

function str(v: unknown, key: string, where: string): string {
  if (typeof v !== 'string') throw new InvalidFileError(`${where}: "${key}" must be a string`);
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidFileError(`${where}: expected a JSON object`);
  return v as Record<string, unknown>;
}

// ---------------------------------------------------------------- GLUE-style TSV

export interface GlueTsvOptions {
  /** Column of the first text. */
  text: string;
  /** Column of the second text (pairs). */
  pair?: string;
  /** Column of the label; absent (or empty cells) → unlabelled examples (test files). */
  label?: string;
  /** How labels are written: names (their index is the id), integer ids, or floats (regression). */
  labels: readonly string[] | { integer: number } | 'float';
  /** Column of an id. */
  id?: string;
}

/** A GLUE TSV with a header row (RTE, MRPC, SST-2, MNLI, QQP, ...), columns found by name. */
export async function readGlueTsv(file: string, o: GlueTsvOptions): Promise<TextRecord[]> {
  const table = parseTsv(await readText(file));
  const names: Record<string, string> = { text: o.text };
  if (o.pair) names.pair = o.pair;
  if (o.id) names.id = o.id;
  const cols = columns(table.header, names, file);
  const labelCol = o.label !== undefined && table.header ? table.header.indexOf(o.label) : -1;
  return table.rows.map(({ line, cells }) => {
    const where = `${file}:${line}`;
    if (table.header && cells.length < table.header.length) {
      throw new InvalidFileError(`${where}: ${cells.length} cells, the header has ${table.header.length}`);
    }
    const r: TextRecord = { text: cells[cols.text] };
    if (o.pair) r.pair = cells[(cols as Record<string, number>).pair];
    if (o.id) r.id = cells[(cols as Record<string, number>).id];
    const raw = labelCol >= 0 ? cells[labelCol]?.trim() : undefined;
    if (raw !== undefined && raw !== '') {
      if (o.labels === 'float') r.label = floatLabel(raw, where);
      else if (Array.isArray(o.labels)) r.label = labelIndex(raw, o.labels as readonly string[], where);
      else r.label = intLabel(raw, (o.labels as { integer: number }).integer, where);
    }
    return r;
  });
}

export const RTE_LABELS = ['entailment', 'not_entailment'] as const;
export const MRPC_LABELS = ['not_equivalent', 'equivalent'] as const;
export const SST2_LABELS = ['negative', 'positive'] as const;
export const MNLI_LABELS = ['entailment', 'neutral', 'contradiction'] as const;
export const QQP_LABELS = ['not_duplicate', 'duplicate'] as const;
export const CB_LABELS = ['entailment', 'contradiction', 'neutral'] as const;
export const BOOLQ_LABELS = ['False', 'True'] as const;
export const SICK_LABELS = ['entailment', 'neutral', 'contradiction'] as const;
export const IMDB_LABELS = ['neg', 'pos'] as const;
export const SCITAIL_LABELS = ['entails', 'neutral'] as const;

/** RTE (GLUE): index, sentence1, sentence2, label (entailment / not_entailment). */
export function readRte(file: string): Promise<TextRecord[]> {
  return readGlueTsv(file, { id: 'index', text: 'sentence1', pair: 'sentence2', label: 'label', labels: RTE_LABELS });
}

/** MRPC (GLUE, with a UTF-8 BOM): Quality (0/1), #1 ID, #2 ID, #1 String, #2 String. */
export function readMrpc(file: string): Promise<TextRecord[]> {
  return readGlueTsv(file, { text: '#1 String', pair: '#2 String', label: 'Quality', labels: { integer: 2 } });
}

/** SST-2 (GLUE): sentence, label (0/1). */
export function readSst2(file: string): Promise<TextRecord[]> {
  return readGlueTsv(file, { text: 'sentence', label: 'label', labels: { integer: 2 } });
}

/** MNLI (GLUE): ..., sentence1, sentence2, ..., gold_label (entailment / neutral / contradiction). */
export function readMnli(file: string): Promise<TextRecord[]> {
  return readGlueTsv(file, { id: 'index', text: 'sentence1', pair: 'sentence2', label: 'gold_label', labels: MNLI_LABELS });
}

/** QQP (GLUE): id, qid1, qid2, question1, question2, is_duplicate (0/1). */
export function readQqp(file: string): Promise<TextRecord[]> {
  return readGlueTsv(file, { id: 'id', text: 'question1', pair: 'question2', label: 'is_duplicate', labels: { integer: 2 } });
}

/** SciTail (tsv_format): premise, hypothesis, label (entails / neutral); no header. */
export async function readSciTail(file: string): Promise<TextRecord[]> {
  const table = parseTsv(await readText(file), { header: false });
  return table.rows.map(({ line, cells }) => {
    const where = `${file}:${line}`;
    if (cells.length < 3) throw new InvalidFileError(`${where}: expected premise, hypothesis and label, got ${cells.length} cells`);
    return { text: cells[0], pair: cells[1], label: labelIndex(cells[2].trim(), SCITAIL_LABELS, where) };
  });
}

// ---------------------------------------------------------------- SICK

export type SickSplit = 'train' | 'dev' | 'test' | 'all';
const SICK_SETS: Record<Exclude<SickSplit, 'all'>, string> = { train: 'TRAIN', dev: 'TRIAL', test: 'TEST' };

/**
 * SICK.txt: pair_ID, sentence_A, sentence_B, entailment_label, relatedness_score, ...,
 * SemEval_set (TRAIN / TRIAL / TEST → train / dev / test). `target` 'entailment' gives class
 * ids (SICK_LABELS), 'relatedness' the 1–5 score. Tolerates CRLF, stray \r and no final newline.
 */
export async function readSick(file: string, o: { split?: SickSplit; target?: 'entailment' | 'relatedness' } = {}): Promise<TextRecord[]> {
  const split = o.split ?? 'all';
  const table = parseTsv(await readText(file));
  const cols = columns(
    table.header,
    { id: 'pair_ID', a: 'sentence_A', b: 'sentence_B', ent: 'entailment_label', rel: 'relatedness_score', set: 'SemEval_set' },
    file,
  );
  const out: TextRecord[] = [];
  for (const { line, cells } of table.rows) {
    const where = `${file}:${line}`;
    const set = cells[cols.set]?.trim();
    if (set === undefined) throw new InvalidFileError(`${where}: the row has no SemEval_set cell`);
    if (split !== 'all' && set !== SICK_SETS[split]) continue;
    const r: TextRecord = { id: cells[cols.id].trim(), text: cells[cols.a], pair: cells[cols.b] };
    r.label =
      (o.target ?? 'entailment') === 'relatedness'
        ? floatLabel(cells[cols.rel], where)
        : labelIndex(cells[cols.ent].trim().toLowerCase(), SICK_LABELS, where);
    out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------- SuperGLUE JSONL

/** CB (SuperGLUE JSONL): premise, hypothesis, label (entailment / contradiction / neutral), idx. */
export async function readCb(file: string): Promise<TextRecord[]> {
  return parseJsonl(await readText(file), file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    const o = obj(value, where);
    const r: TextRecord = { text: str(o.premise, 'premise', where), pair: str(o.hypothesis, 'hypothesis', where) };
    if (o.idx !== undefined) r.id = String(o.idx);
    if (o.label !== undefined && o.label !== null && o.label !== -1) r.label = labelIndex(str(o.label, 'label', where), CB_LABELS, where);
    return r;
  });
}

/** BoolQ (SuperGLUE JSONL): question, passage, label (true / false), idx. Encoded as (question, passage). */
export async function readBoolq(file: string): Promise<TextRecord[]> {
  return parseJsonl(await readText(file), file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    const o = obj(value, where);
    const r: TextRecord = { text: str(o.question, 'question', where), pair: str(o.passage, 'passage', where) };
    if (o.idx !== undefined) r.id = String(o.idx);
    if (o.label !== undefined && o.label !== null) {
      if (typeof o.label !== 'boolean') throw new InvalidFileError(`${where}: "label" must be true or false`);
      r.label = o.label ? 1 : 0;
    }
    return r;
  });
}

// ---------------------------------------------------------------- IMDb

/**
 * IMDb, either the aclImdb layout (a split folder with pos/ and neg/ holding one review per
 * .txt file; read in file-name order, neg first) or a CSV with columns review, sentiment
 * (positive / negative).
 */
export async function readImdb(path: string): Promise<TextRecord[]> {
  if (path.toLowerCase().endsWith('.csv')) {
    const rows = parseCsv(await readText(path), path);
    const header = rows.shift()?.cells.map((c) => c.trim()) ?? null;
    const cols = columns(header, { text: 'review', label: 'sentiment' }, path);
    return rows.map(({ line, cells }) => {
      const where = `${path}:${line}`;
      const s = cells[cols.label]?.trim().toLowerCase();
      const label = s === 'positive' || s === 'pos' || s === '1' ? 1 : s === 'negative' || s === 'neg' || s === '0' ? 0 : -1;
      if (label < 0) throw new InvalidFileError(`${where}: sentiment "${cells[cols.label]}" is not positive / negative`);
      return { text: cells[cols.text], label };
    });
  }
  const out: TextRecord[] = [];
  for (const [label, sub] of IMDB_LABELS.entries()) {
    const dir = join(path, sub);
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
    } catch (err) {
      throw new IoError(`cannot read ${dir} (an IMDb split folder holds pos/ and neg/): ${(err as Error).message}`, { cause: err });
    }
    for (const f of files) out.push({ id: `${sub}/${f}`, text: (await readText(join(dir, f))).replace(/<br\s*\/?>/g, ' ').trim(), label });
  }
  return out;
}

// ---------------------------------------------------------------- multiple choice

/** CosmosQA (CSV): id, context, question, answer0..answer3, label. Choice i = (context, question + ' ' + answer_i). */
export async function readCosmosQa(file: string): Promise<ChoiceRecord[]> {
  const rows = parseCsv(await readText(file), file);
  const header = rows.shift()?.cells.map((c) => c.trim()) ?? null;
  const cols = columns(header, { id: 'id', context: 'context', question: 'question', a0: 'answer0', a1: 'answer1', a2: 'answer2', a3: 'answer3' }, file);
  const labelCol = header!.indexOf('label');
  return rows.map(({ line, cells }) => {
    const where = `${file}:${line}`;
    if (cells.length < header!.length) throw new InvalidFileError(`${where}: ${cells.length} cells, the header has ${header!.length}`);
    const q = cells[cols.question];
    const r: ChoiceRecord = {
      id: cells[cols.id],
      choices: [cols.a0, cols.a1, cols.a2, cols.a3].map((c) => ({ text: cells[cols.context], pair: `${q} ${cells[c]}` })),
    };
    if (labelCol >= 0 && cells[labelCol]?.trim() !== '') r.label = intLabel(cells[labelCol], 4, where);
    return r;
  });
}

/** HellaSwag (JSONL): ctx_a, ctx_b, endings[4], label. Choice i = (ctx_a, ctx_b + ' ' + ending_i). */
export async function readHellaSwag(file: string): Promise<ChoiceRecord[]> {
  return parseJsonl(await readText(file), file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    const o = obj(value, where);
    const endings = o.endings;
    if (!Array.isArray(endings) || endings.length !== 4) throw new InvalidFileError(`${where}: "endings" must be an array of 4 strings`);
    const a = str(o.ctx_a, 'ctx_a', where);
    const b = typeof o.ctx_b === 'string' ? o.ctx_b : '';
    const r: ChoiceRecord = { choices: endings.map((e, i) => ({ text: a, pair: (b ? `${b} ` : '') + str(e, `endings[${i}]`, where) })) };
    if (o.ind !== undefined) r.id = String(o.ind);
    if (o.label !== undefined && o.label !== null && o.label !== '') r.label = intLabel(String(o.label), 4, where);
    return r;
  });
}

/**
 * WinoGrande (JSONL): sentence with one "_", option1, option2, answer ("1" / "2"; "" in test).
 * Choice k = (sentence up to "_" with option k, the rest of the sentence).
 */
export async function readWinogrande(file: string): Promise<ChoiceRecord[]> {
  return parseJsonl(await readText(file), file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    const o = obj(value, where);
    const sentence = str(o.sentence, 'sentence', where);
    const cut = sentence.indexOf('_');
    if (cut < 0) throw new InvalidFileError(`${where}: the sentence has no "_" blank`);
    const rest = sentence.slice(cut + 1).trim();
    const r: ChoiceRecord = {
      choices: [str(o.option1, 'option1', where), str(o.option2, 'option2', where)].map((opt) => ({ text: sentence.slice(0, cut) + opt, pair: rest })),
    };
    if (o.qID !== undefined) r.id = String(o.qID);
    if (o.answer !== undefined && o.answer !== null && o.answer !== '') r.label = intLabel(String(o.answer), 2, where, 1);
    return r;
  });
}

/** CommonsenseQA (JSONL): id, question {stem, choices [{label, text}] ×5}, answerKey. Choice = (stem, text). */
export async function readCommonsenseQa(file: string): Promise<ChoiceRecord[]> {
  return parseJsonl(await readText(file), file).map(({ line, value }) => {
    const where = `${file}:${line}`;
    const o = obj(value, where);
    const q = obj(o.question, `${where} "question"`);
    const stem = str(q.stem, 'question.stem', where);
    const choices = q.choices;
    if (!Array.isArray(choices) || choices.length !== 5) throw new InvalidFileError(`${where}: "question.choices" must hold 5 choices`);
    const keys = choices.map((c, i) => str(obj(c, `${where} choices[${i}]`).label, `choices[${i}].label`, where));
    const r: ChoiceRecord = { choices: choices.map((c, i) => ({ text: stem, pair: str((c as Record<string, unknown>).text, `choices[${i}].text`, where) })) };
    if (o.id !== undefined) r.id = String(o.id);
    if (typeof o.answerKey === 'string' && o.answerKey !== '') r.label = labelIndex(o.answerKey, keys, where);
    return r;
  });
}

/**
 * Social IQa (JSONL): context, question, answerA, answerB, answerC; labels in a separate file
 * (one "1"/"2"/"3" per line, e.g. dev-labels.lst). Choice = (context, question + ' ' + answer).
 */
export async function readSocialIqa(file: string, labelsFile?: string): Promise<ChoiceRecord[]> {
  const items = parseJsonl(await readText(file), file);
  let labels: string[] | null = null;
  if (labelsFile) {
    labels = (await readText(labelsFile)).split(/\r?\n/).filter((l) => l.trim() !== '');
    if (labels.length !== items.length) throw new InvalidFileError(`${labelsFile}: ${labels.length} labels for ${items.length} examples in ${file}`);
  }
  return items.map(({ line, value }, i) => {
    const where = `${file}:${line}`;
    const o = obj(value, where);
    const ctx = str(o.context, 'context', where);
    const q = str(o.question, 'question', where);
    const r: ChoiceRecord = { choices: ['answerA', 'answerB', 'answerC'].map((k) => ({ text: ctx, pair: `${q} ${str(o[k], k, where)}` })) };
    if (labels) r.label = intLabel(labels[i], 3, `${labelsFile}:${i + 1}`, 1);
    return r;
  });
}
