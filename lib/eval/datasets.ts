// Readers for the task files, one per format. Each returns raw examples — text (pairs) with a
// label id / regression target, or multiple-choice (text, pair) choices with the right index —
// ready for tokenizeExamples(). Label ids follow the Hugging Face `datasets` versions of the tasks.
//
// The `read…Rows` readers return { records, problems }: a bad row (a label outside the list, a
// wrong cell count, a line that is not JSON, a missing key, an empty text) becomes a RowProblem
// at its file:line and the rest of the file is still read. Only a file that cannot be read or
// parsed at all throws (IoError / InvalidFileError). The older `read…` functions return the
// records alone and throw one BadRowsError listing every bad row.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidFileError, IoError } from '../errors.js';
import type { MultipleChoiceTextExample, TextExample } from '../trainer/batching.js';
import { columns, jsonlLines, parseCsvTable, parseTsv, readText, splitLines, type JsonlLine } from './formats.js';
import { RowError, bad, collectRows, recordsOrThrow, type ReadResult } from './rows.js';

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

const quoted = (labels: readonly string[]) => labels.map((l) => `"${l}"`).join(', ');

function labelIndex(value: string, labels: readonly string[]): number {
  const i = labels.indexOf(value);
  if (i < 0) bad(`label "${value}" is not one of ${quoted(labels)}`);
  return i;
}

function intLabel(value: string, count: number, offset = 0): number {
  const v = Number(value.trim());
  if (value.trim() === '' || !Number.isInteger(v) || v - offset < 0 || v - offset >= count) {
    bad(`label "${value}" is not an integer in [${offset}, ${count + offset})`);
  }
  return v - offset;
}

function floatLabel(value: string): number {
  const v = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(v)) bad(`"${value}" is not a number`);
  return v;
}

/** A JSON string (may be empty). */
function str(v: unknown, key: string): string {
  if (v === undefined) bad(`"${key}" is missing`);
  if (typeof v !== 'string') bad(`"${key}" must be a string`);
  return v;
}

/** A text: a non-empty JSON string or table cell. */
function txt(v: unknown, key: string): string {
  const s = str(v, key);
  if (s.trim() === '') bad(`"${key}" is empty`);
  return s;
}

function obj(v: unknown, what = 'the line'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function width(cells: string[], n: number, what = `the header has ${n}`): void {
  if (cells.length !== n) bad(`${cells.length} cells, ${what}`);
}

/** Runs `read` on every JSON object of a JSONL file; a line that is not JSON is a problem. */
async function jsonlRows<R>(file: string, read: (o: Record<string, unknown>) => R): Promise<ReadResult<R>> {
  return collectRows(file, jsonlLines(await readText(file)), (l: JsonlLine) => read(obj(l.error === undefined ? l.value : bad(l.error))));
}

const strictly = async <R>(p: Promise<ReadResult<R>>): Promise<R[]> => recordsOrThrow(await p);

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
export async function readGlueTsvRows(file: string, o: GlueTsvOptions): Promise<ReadResult<TextRecord>> {
  const table = parseTsv(await readText(file));
  const names: Record<string, string> = { text: o.text };
  if (o.pair) names.pair = o.pair;
  if (o.id) names.id = o.id;
  const cols = columns(table.header, names, file);
  const n = table.header!.length;
  const labelCol = o.label !== undefined ? table.header!.indexOf(o.label) : -1;
  return collectRows(file, table.rows, ({ cells }) => {
    width(cells, n);
    const r: TextRecord = { text: txt(cells[cols.text], o.text) };
    if (o.pair) r.pair = txt(cells[cols.pair], o.pair);
    if (o.id) r.id = cells[cols.id];
    const raw = labelCol >= 0 ? cells[labelCol].trim() : '';
    if (raw !== '') {
      if (o.labels === 'float') r.label = floatLabel(raw);
      else if (Array.isArray(o.labels)) r.label = labelIndex(raw, o.labels as readonly string[]);
      else r.label = intLabel(raw, (o.labels as { integer: number }).integer);
    }
    return r;
  });
}

/** readGlueTsvRows, throwing a BadRowsError when a row is bad. */
export const readGlueTsv = (file: string, o: GlueTsvOptions): Promise<TextRecord[]> => strictly(readGlueTsvRows(file, o));

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
export const ARGUMENT_LABELS = ['NoArgument', 'Argument_for', 'Argument_against'] as const;

/** The columns of each GLUE task's TSV. */
export const GLUE_COLUMNS = Object.freeze({
  /** RTE: index, sentence1, sentence2, label (entailment / not_entailment). */
  rte: { id: 'index', text: 'sentence1', pair: 'sentence2', label: 'label', labels: RTE_LABELS },
  /** MRPC (with a UTF-8 BOM): Quality (0/1), #1 ID, #2 ID, #1 String, #2 String. */
  mrpc: { text: '#1 String', pair: '#2 String', label: 'Quality', labels: { integer: 2 } },
  /** SST-2: sentence, label (0/1). */
  sst2: { text: 'sentence', label: 'label', labels: { integer: 2 } },
  /** MNLI: index, ..., sentence1, sentence2, ..., gold_label (entailment / neutral / contradiction). */
  mnli: { id: 'index', text: 'sentence1', pair: 'sentence2', label: 'gold_label', labels: MNLI_LABELS },
  /** QQP: id, qid1, qid2, question1, question2, is_duplicate (0/1). */
  qqp: { id: 'id', text: 'question1', pair: 'question2', label: 'is_duplicate', labels: { integer: 2 } },
} satisfies Record<string, GlueTsvOptions>);

export const readRte = (file: string) => readGlueTsv(file, GLUE_COLUMNS.rte);
export const readMrpc = (file: string) => readGlueTsv(file, GLUE_COLUMNS.mrpc);
export const readSst2 = (file: string) => readGlueTsv(file, GLUE_COLUMNS.sst2);
export const readMnli = (file: string) => readGlueTsv(file, GLUE_COLUMNS.mnli);
export const readQqp = (file: string) => readGlueTsv(file, GLUE_COLUMNS.qqp);

/** SciTail (tsv_format): premise, hypothesis, label (entails / neutral); no header. */
export async function readSciTailRows(file: string): Promise<ReadResult<TextRecord>> {
  const table = parseTsv(await readText(file), { header: false });
  return collectRows(file, table.rows, ({ cells }) => {
    width(cells, 3, 'expected 3 (premise, hypothesis, label)');
    return { text: txt(cells[0], 'premise'), pair: txt(cells[1], 'hypothesis'), label: labelIndex(cells[2].trim(), SCITAIL_LABELS) };
  });
}
export const readSciTail = (file: string) => strictly(readSciTailRows(file));

// ---------------------------------------------------------------- SICK

export type SickSplit = 'train' | 'dev' | 'test' | 'all';
const SICK_SETS: Record<Exclude<SickSplit, 'all'>, string> = { train: 'TRAIN', dev: 'TRIAL', test: 'TEST' };

/**
 * SICK.txt: pair_ID, sentence_A, sentence_B, entailment_label, relatedness_score, ...,
 * SemEval_set (TRAIN / TRIAL / TEST → train / dev / test). `target` 'entailment' gives class
 * ids (SICK_LABELS), 'relatedness' the 1–5 score. Tolerates CRLF, stray \r and no final newline.
 */
export async function readSickRows(file: string, o: { split?: SickSplit; target?: 'entailment' | 'relatedness' } = {}): Promise<ReadResult<TextRecord>> {
  const split = o.split ?? 'all';
  const table = parseTsv(await readText(file));
  const cols = columns(
    table.header,
    { id: 'pair_ID', a: 'sentence_A', b: 'sentence_B', ent: 'entailment_label', rel: 'relatedness_score', set: 'SemEval_set' },
    file,
  );
  const n = table.header!.length;
  const sets = Object.values(SICK_SETS);
  return collectRows(file, table.rows, ({ cells }) => {
    width(cells, n);
    const set = cells[cols.set].trim();
    if (!sets.includes(set)) bad(`SemEval_set "${set}" is not one of ${quoted(sets)}`);
    if (split !== 'all' && set !== SICK_SETS[split]) return undefined;
    const r: TextRecord = { id: cells[cols.id].trim(), text: txt(cells[cols.a], 'sentence_A'), pair: txt(cells[cols.b], 'sentence_B') };
    r.label =
      (o.target ?? 'entailment') === 'relatedness' ? floatLabel(cells[cols.rel]) : labelIndex(cells[cols.ent].trim().toLowerCase(), SICK_LABELS);
    return r;
  });
}
export const readSick = (file: string, o: { split?: SickSplit; target?: 'entailment' | 'relatedness' } = {}) => strictly(readSickRows(file, o));

// ---------------------------------------------------------------- Argument (UKP)

export type ArgumentSplit = 'train' | 'dev' | 'test' | 'all';
const ARGUMENT_SETS: Record<Exclude<ArgumentSplit, 'all'>, string> = { train: 'train', dev: 'val', test: 'test' };

/**
 * UKP Sentential Argument Mining: a folder with one <topic>.tsv per topic (read in name order),
 * columns topic, sentence, annotation (NoArgument / Argument_for / Argument_against), set
 * (train / val / test → train / dev / test) and an id in sentenceHash or hash; other columns
 * (retrievedUrl, archivedUrl) are ignored. A split is the rows of its set across all topic files,
 * encoded as the pair (topic, sentence).
 */
export async function readArgumentRows(folder: string, o: { split?: ArgumentSplit } = {}): Promise<ReadResult<TextRecord>> {
  const split = o.split ?? 'all';
  let names: string[];
  try {
    names = (await readdir(folder)).filter((f) => f.endsWith('.tsv')).sort();
  } catch (err) {
    throw new IoError(`cannot read ${folder} (the Argument folder holds one <topic>.tsv per topic): ${(err as Error).message}`, { cause: err });
  }
  if (!names.length) throw new IoError(`${folder} holds no <topic>.tsv files (UKP Sentential Argument Mining corpus)`);
  const sets = Object.values(ARGUMENT_SETS);
  const out: ReadResult<TextRecord> = { records: [], problems: [] };
  for (const name of names) {
    const file = join(folder, name);
    const table = parseTsv(await readText(file));
    const cols = columns(table.header, { topic: 'topic', sentence: 'sentence', annotation: 'annotation', set: 'set' }, file);
    const n = table.header!.length;
    const idCol = ['sentenceHash', 'hash'].map((c) => table.header!.indexOf(c)).find((i) => i >= 0) ?? -1;
    collectRows(file, table.rows, ({ cells }) => {
      width(cells, n);
      const set = cells[cols.set].trim();
      if (!sets.includes(set)) bad(`set "${set}" is not one of ${quoted(sets)}`);
      if (split !== 'all' && set !== ARGUMENT_SETS[split]) return undefined;
      const r: TextRecord = { text: txt(cells[cols.topic], 'topic'), pair: txt(cells[cols.sentence], 'sentence') };
      if (idCol >= 0) r.id = cells[idCol].trim();
      r.label = labelIndex(cells[cols.annotation].trim(), ARGUMENT_LABELS);
      return r;
    }, out);
  }
  return out;
}
export const readArgument = (folder: string, o: { split?: ArgumentSplit } = {}) => strictly(readArgumentRows(folder, o));

// ---------------------------------------------------------------- SuperGLUE JSONL

/** CB (SuperGLUE JSONL): premise, hypothesis, label (entailment / contradiction / neutral), idx. */
export function readCbRows(file: string): Promise<ReadResult<TextRecord>> {
  return jsonlRows(file, (o) => {
    const r: TextRecord = { text: txt(o.premise, 'premise'), pair: txt(o.hypothesis, 'hypothesis') };
    if (o.idx !== undefined) r.id = String(o.idx);
    if (o.label !== undefined && o.label !== null && o.label !== -1) r.label = labelIndex(str(o.label, 'label'), CB_LABELS);
    return r;
  });
}
export const readCb = (file: string) => strictly(readCbRows(file));

/** BoolQ (SuperGLUE JSONL): question, passage, label (true / false), idx. Encoded as (question, passage). */
export function readBoolqRows(file: string): Promise<ReadResult<TextRecord>> {
  return jsonlRows(file, (o) => {
    const r: TextRecord = { text: txt(o.question, 'question'), pair: txt(o.passage, 'passage') };
    if (o.idx !== undefined) r.id = String(o.idx);
    if (o.label !== undefined && o.label !== null) {
      if (typeof o.label !== 'boolean') bad(`"label" must be true or false`);
      r.label = o.label ? 1 : 0;
    }
    return r;
  });
}
export const readBoolq = (file: string) => strictly(readBoolqRows(file));

// ---------------------------------------------------------------- IMDb

/**
 * IMDb, either the aclImdb layout (a split folder with pos/ and neg/ holding one review per
 * .txt file; read in file-name order, neg first; an empty review is a problem at its line 1) or
 * a CSV with columns review, sentiment (positive / negative).
 */
export async function readImdbRows(path: string): Promise<ReadResult<TextRecord>> {
  if (path.toLowerCase().endsWith('.csv')) {
    const table = parseCsvTable(await readText(path), path);
    const cols = columns(table.header, { text: 'review', label: 'sentiment' }, path);
    const n = table.header!.length;
    return collectRows(path, table.rows, ({ cells }) => {
      width(cells, n);
      const s = cells[cols.label].trim().toLowerCase();
      const label = s === 'positive' || s === 'pos' || s === '1' ? 1 : s === 'negative' || s === 'neg' || s === '0' ? 0 : -1;
      if (label < 0) bad(`sentiment "${cells[cols.label]}" is not positive / negative`);
      return { text: txt(cells[cols.text], 'review'), label };
    });
  }
  const out: ReadResult<TextRecord> = { records: [], problems: [] };
  for (const [label, sub] of IMDB_LABELS.entries()) {
    const dir = join(path, sub);
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
    } catch (err) {
      throw new IoError(`cannot read ${dir} (an IMDb split folder holds pos/ and neg/): ${(err as Error).message}`, { cause: err });
    }
    for (const f of files) {
      const text = (await readText(join(dir, f))).replace(/<br\s*\/?>/g, ' ').trim();
      if (text === '') out.problems.push({ file: join(dir, f), line: 1, message: 'the review is empty' });
      else out.records.push({ id: `${sub}/${f}`, text, label });
    }
  }
  return out;
}
export const readImdb = (path: string) => strictly(readImdbRows(path));

// ---------------------------------------------------------------- multiple choice

/** CosmosQA (CSV): id, context, question, answer0..answer3, label. Choice i = (context, question + ' ' + answer_i). */
export async function readCosmosQaRows(file: string): Promise<ReadResult<ChoiceRecord>> {
  const table = parseCsvTable(await readText(file), file);
  const answers = ['answer0', 'answer1', 'answer2', 'answer3'];
  const cols = columns(table.header, { id: 'id', context: 'context', question: 'question', a0: 'answer0', a1: 'answer1', a2: 'answer2', a3: 'answer3' }, file);
  const n = table.header!.length;
  const labelCol = table.header!.indexOf('label');
  return collectRows(file, table.rows, ({ cells }) => {
    width(cells, n);
    const ctx = txt(cells[cols.context], 'context');
    const q = txt(cells[cols.question], 'question');
    const r: ChoiceRecord = {
      id: cells[cols.id],
      choices: [cols.a0, cols.a1, cols.a2, cols.a3].map((c, i) => ({ text: ctx, pair: `${q} ${txt(cells[c], answers[i])}` })),
    };
    if (labelCol >= 0 && cells[labelCol].trim() !== '') r.label = intLabel(cells[labelCol], 4);
    return r;
  });
}
export const readCosmosQa = (file: string) => strictly(readCosmosQaRows(file));

/** HellaSwag (JSONL): ctx_a, ctx_b, endings[4], label. Choice i = (ctx_a, ctx_b + ' ' + ending_i). */
export function readHellaSwagRows(file: string): Promise<ReadResult<ChoiceRecord>> {
  return jsonlRows(file, (o) => {
    const endings = o.endings;
    if (!Array.isArray(endings) || endings.length !== 4) bad(`"endings" must be an array of 4 strings`);
    const a = txt(o.ctx_a, 'ctx_a');
    const b = typeof o.ctx_b === 'string' ? o.ctx_b : '';
    const r: ChoiceRecord = { choices: endings.map((e, i) => ({ text: a, pair: (b ? `${b} ` : '') + txt(e, `endings[${i}]`) })) };
    if (o.ind !== undefined) r.id = String(o.ind);
    if (o.label !== undefined && o.label !== null && o.label !== '') r.label = intLabel(String(o.label), 4);
    return r;
  });
}
export const readHellaSwag = (file: string) => strictly(readHellaSwagRows(file));

/**
 * WinoGrande (JSONL): sentence with one "_", option1, option2, answer ("1" / "2"; "" in test).
 * Choice k = (sentence up to "_" with option k, the rest of the sentence).
 */
export function readWinograndeRows(file: string): Promise<ReadResult<ChoiceRecord>> {
  return jsonlRows(file, (o) => {
    const sentence = txt(o.sentence, 'sentence');
    const cut = sentence.indexOf('_');
    if (cut < 0) bad('the sentence has no "_" blank');
    const rest = sentence.slice(cut + 1).trim();
    const r: ChoiceRecord = {
      choices: [txt(o.option1, 'option1'), txt(o.option2, 'option2')].map((opt) => ({ text: sentence.slice(0, cut) + opt, pair: rest })),
    };
    if (o.qID !== undefined) r.id = String(o.qID);
    if (o.answer !== undefined && o.answer !== null && o.answer !== '') r.label = intLabel(String(o.answer), 2, 1);
    return r;
  });
}
export const readWinogrande = (file: string) => strictly(readWinograndeRows(file));

/** CommonsenseQA (JSONL): id, question {stem, choices [{label, text}] ×5}, answerKey. Choice = (stem, text). */
export function readCommonsenseQaRows(file: string): Promise<ReadResult<ChoiceRecord>> {
  return jsonlRows(file, (o) => {
    const q = obj(o.question, '"question"');
    const stem = txt(q.stem, 'question.stem');
    const choices = q.choices;
    if (!Array.isArray(choices) || choices.length !== 5) bad(`"question.choices" must hold 5 choices`);
    const cs = choices.map((c, i) => obj(c, `choices[${i}]`));
    const keys = cs.map((c, i) => str(c.label, `choices[${i}].label`));
    const r: ChoiceRecord = { choices: cs.map((c, i) => ({ text: stem, pair: txt(c.text, `choices[${i}].text`) })) };
    if (o.id !== undefined) r.id = String(o.id);
    if (typeof o.answerKey === 'string' && o.answerKey !== '') r.label = labelIndex(o.answerKey, keys);
    return r;
  });
}
export const readCommonsenseQa = (file: string) => strictly(readCommonsenseQaRows(file));

/**
 * Social IQa (JSONL): context, question, answerA, answerB, answerC; labels in a separate file
 * (one "1"/"2"/"3" per line, e.g. dev-labels.lst, matched to the JSONL's non-blank lines in
 * order). Choice = (context, question + ' ' + answer). A bad label is a problem at its line of
 * the labels file; a labels file of the wrong length is refused as a whole.
 */
export async function readSocialIqaRows(file: string, labelsFile?: string): Promise<ReadResult<ChoiceRecord>> {
  const items = jsonlLines(await readText(file));
  let labels: { line: number; value: string }[] | null = null;
  if (labelsFile) {
    labels = splitLines(await readText(labelsFile))
      .map((value, i) => ({ line: i + 1, value }))
      .filter((l) => l.value.trim() !== '');
    if (labels.length !== items.length) throw new InvalidFileError(`${labelsFile}: ${labels.length} labels for ${items.length} examples in ${file}`);
  }
  let i = 0;
  return collectRows(file, items, (l) => {
    const lab = labels?.[i++];
    const o = obj(l.error === undefined ? l.value : bad(l.error));
    const ctx = txt(o.context, 'context');
    const q = txt(o.question, 'question');
    const r: ChoiceRecord = { choices: ['answerA', 'answerB', 'answerC'].map((k) => ({ text: ctx, pair: `${q} ${txt(o[k], k)}` })) };
    if (lab) {
      try {
        r.label = intLabel(lab.value, 3, 1);
      } catch (err) {
        throw new RowError((err as Error).message, { file: labelsFile!, line: lab.line });
      }
    }
    return r;
  });
}
export const readSocialIqa = (file: string, labelsFile?: string) => strictly(readSocialIqaRows(file, labelsFile));
