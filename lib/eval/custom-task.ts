// Custom tasks: classification, regression or multiple choice read from the user's own CSV / TSV /
// JSONL files through a column mapping, given in code, in a small JSON file (readCustomTaskFile)
// or on the command line (parseColumnMapping). The result is a TaskSpec like the registry's, so
// loadTask, checkTaskData and evaluateTask take it as they take a task name.
import { dirname, extname, resolve } from 'node:path';
import { InvalidArgumentError, InvalidFileError } from '../errors.js';
import type { ChoiceRecord, TaskRecord, TextRecord } from './datasets.js';
import { jsonlLines, parseCsvTable, parseTsv, readText } from './formats.js';
import type { MetricName } from './metrics.js';
import { bad, collectRows, type ReadResult } from './rows.js';
import { TASKS, checkTaskData, type TaskKind, type TaskSpec } from './tasks.js';

export type CustomTaskFormat = 'csv' | 'tsv' | 'jsonl';

/**
 * A column: a header name (TSV / CSV) or key (JSONL; "a.b" reaches a nested key), or a 0-based
 * index (TSV / CSV). A string of digits that names no header column is an index too.
 */
export type TaskColumn = string | number;

/** The columns of a custom task, as parseColumnMapping reads them from "text=…,pair=…,label=…". */
export interface ColumnMapping {
  text?: TaskColumn;
  pair?: TaskColumn;
  label?: TaskColumn;
  id?: TaskColumn;
  choices?: TaskColumn[];
}

export interface CustomTaskSpec {
  /** Task name (letters, digits, `_ . -`; not a registered task's name). */
  name: string;
  description?: string;
  /** File format; default: each file's extension (.csv, .tsv, .jsonl). TSV is GLUE-style (no quoting), CSV is RFC 4180. */
  format?: CustomTaskFormat;
  /** File of each split; relative paths are resolved against the task file's folder (readCustomTaskFile) or `baseDir`. */
  files: { train: string; dev: string; test?: string };
  /** The (first) text; for multiple choice the context shared by all choices. */
  text: TaskColumn;
  /** The second text of a pair; for multiple choice it prefixes each choice ("question answer"). */
  pair?: TaskColumn;
  /** Classification: a label name; regression: a number; multiple choice: a choice index (0-based) or choice column name. */
  label: TaskColumn;
  /** Classification label names in id order; default: the sorted distinct values of train's label column (numerically when all are numbers). */
  labels?: string[];
  /** Default: multiple_choice when `choices` is given, else classification. */
  kind?: TaskKind;
  /** Default: accuracy (classification, multiple choice) or pearson (regression). */
  metric?: MetricName;
  /** Whether TSV / CSV files start with a header row (default true); without one, columns are indices. */
  header?: boolean;
  /** Multiple choice: the column of each choice. */
  choices?: TaskColumn[];
  /** TaskColumn of an example id. */
  id?: TaskColumn;
}

/** A custom task as defined: absolute files, kind, metric, header and (classification) labels filled in. */
export interface CustomTaskDefinition extends CustomTaskSpec {
  kind: TaskKind;
  metric: MetricName;
  header: boolean;
}

const SPEC_KEYS = ['name', 'description', 'format', 'files', 'text', 'pair', 'label', 'labels', 'kind', 'metric', 'header', 'choices', 'id'];
const SPLITS = ['train', 'dev', 'test'];
const FORMATS: readonly CustomTaskFormat[] = ['csv', 'tsv', 'jsonl'];
const METRICS: Record<TaskKind, readonly MetricName[]> = {
  classification: ['accuracy', 'f1', 'macroF1', 'mcc'],
  regression: ['pearson', 'spearman', 'mse'],
  multiple_choice: ['accuracy'],
};
const MAPPING_KEYS = ['text', 'pair', 'label', 'id', 'choices'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isColumn = (v: unknown): v is TaskColumn => (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
const showColumn = (c: TaskColumn) => (typeof c === 'number' ? `column ${c}` : `"${c}"`);

/** A file's format: the spec's, else its extension's. */
function formatOf(file: string, format: CustomTaskFormat | undefined, key = 'files'): CustomTaskFormat {
  if (format) return format;
  const ext = extname(file).slice(1).toLowerCase();
  if ((FORMATS as readonly string[]).includes(ext)) return ext as CustomTaskFormat;
  throw new InvalidArgumentError(`custom task spec: cannot tell the format of ${key} "${file}" from its extension; set "format" (${FORMATS.join(', ')})`);
}

/**
 * Checks a custom task spec strictly without reading any file: wrong types are TypeErrors, unknown
 * keys and bad values InvalidArgumentErrors, each naming the key. Returns the spec, typed.
 */
export function validateCustomTaskSpec(spec: unknown): CustomTaskSpec {
  const where = 'custom task spec';
  if (!isObject(spec)) throw new TypeError(`${where} must be an object`);
  for (const k of Object.keys(spec)) {
    if (!SPEC_KEYS.includes(k)) throw new InvalidArgumentError(`${where}: unknown key "${k}" (known: ${SPEC_KEYS.join(', ')})`);
  }
  const s = spec as Partial<CustomTaskSpec> & Record<string, unknown>;
  if (typeof s.name !== 'string') throw new TypeError(`${where}: "name" must be a string`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s.name)) throw new InvalidArgumentError(`${where}: "name" must be letters, digits, "_", "." or "-" (got "${s.name}")`);
  if (Object.prototype.hasOwnProperty.call(TASKS, s.name)) throw new InvalidArgumentError(`${where}: "name" "${s.name}" is a registered task; choose another name`);
  if (s.description !== undefined && typeof s.description !== 'string') throw new TypeError(`${where}: "description" must be a string`);
  if (s.format !== undefined) {
    if (typeof s.format !== 'string') throw new TypeError(`${where}: "format" must be a string`);
    if (!FORMATS.includes(s.format)) throw new InvalidArgumentError(`${where}: "format" must be one of ${FORMATS.join(', ')} (got "${s.format}")`);
  }
  if (!isObject(s.files)) throw new TypeError(`${where}: "files" must be an object with train, dev (and test) paths`);
  for (const k of Object.keys(s.files)) {
    if (!SPLITS.includes(k)) throw new InvalidArgumentError(`${where}: unknown split "files.${k}" (known: ${SPLITS.join(', ')})`);
    if (typeof s.files[k as 'train'] !== 'string' || s.files[k as 'train'] === '') throw new TypeError(`${where}: "files.${k}" must be a non-empty string`);
  }
  for (const k of ['train', 'dev']) if (!(k in s.files)) throw new InvalidArgumentError(`${where}: "files.${k}" is required`);
  if (s.header !== undefined && typeof s.header !== 'boolean') throw new TypeError(`${where}: "header" must be true or false`);
  const formats = Object.entries(s.files).map(([k, f]) => formatOf(f as string, s.format, `files.${k}`));
  const cols: [string, unknown][] = [['text', s.text], ['label', s.label], ['pair', s.pair], ['id', s.id]];
  for (const [k, v] of cols) {
    if (v === undefined) {
      if (k === 'text' || k === 'label') throw new InvalidArgumentError(`${where}: "${k}" (a column) is required`);
    } else if (!isColumn(v)) throw new TypeError(`${where}: "${k}" must be a column name or a 0-based index`);
  }
  if (s.choices !== undefined) {
    if (!Array.isArray(s.choices) || !s.choices.every(isColumn)) throw new TypeError(`${where}: "choices" must be an array of column names or indices`);
    if (s.choices.length < 2) throw new InvalidArgumentError(`${where}: "choices" needs at least 2 columns`);
    cols.push(...s.choices.map((c, i): [string, unknown] => [`choices[${i}]`, c]));
  }
  for (const [k, v] of cols) {
    if (v === undefined) continue;
    if (typeof v === 'number' && formats.includes('jsonl')) throw new InvalidArgumentError(`${where}: "${k}" is an index, but JSONL columns are keys`);
    if (s.header === false && typeof v === 'string' && !/^\d+$/.test(v) && formats.some((f) => f !== 'jsonl')) {
      throw new InvalidArgumentError(`${where}: "${k}" names a column, but with "header": false columns are 0-based indices`);
    }
  }
  if (s.kind !== undefined) {
    if (typeof s.kind !== 'string') throw new TypeError(`${where}: "kind" must be a string`);
    if (!(s.kind in METRICS)) throw new InvalidArgumentError(`${where}: "kind" must be one of ${Object.keys(METRICS).join(', ')} (got "${s.kind}")`);
  }
  const kind: TaskKind = s.kind ?? (s.choices ? 'multiple_choice' : 'classification');
  if (kind === 'multiple_choice' && !s.choices) throw new InvalidArgumentError(`${where}: "kind" multiple_choice needs "choices"`);
  if (kind !== 'multiple_choice' && s.choices) throw new InvalidArgumentError(`${where}: "choices" needs "kind" multiple_choice (got ${kind})`);
  if (s.labels !== undefined) {
    if (!Array.isArray(s.labels) || !s.labels.every((l) => typeof l === 'string')) throw new TypeError(`${where}: "labels" must be an array of strings`);
    if (kind !== 'classification') throw new InvalidArgumentError(`${where}: "labels" only apply to classification (kind is ${kind})`);
    if (s.labels.length < 2) throw new InvalidArgumentError(`${where}: "labels" needs at least 2 names`);
    const dup = s.labels.find((l, i) => l.trim() === '' || s.labels!.indexOf(l) !== i);
    if (dup !== undefined) throw new InvalidArgumentError(`${where}: "labels" has an empty or repeated name "${dup}"`);
  }
  if (s.metric !== undefined) {
    if (typeof s.metric !== 'string') throw new TypeError(`${where}: "metric" must be a string`);
    if (!METRICS[kind].includes(s.metric)) {
      throw new InvalidArgumentError(`${where}: "metric" of a ${kind} task must be one of ${METRICS[kind].join(', ')} (got "${s.metric}")`);
    }
    if (s.metric === 'f1' && s.labels && s.labels.length !== 2) throw new InvalidArgumentError(`${where}: "metric" f1 needs 2 labels`);
  }
  return s as CustomTaskSpec;
}

/**
 * Makes a TaskSpec of a custom task spec (validated by validateCustomTaskSpec). Relative files are
 * resolved against `baseDir` (default: the working directory). Without `labels`, a classification
 * task reads its train file once for the label names (after checkTaskData on all its files).
 * `task.custom` holds the definition with absolute files and the labels: saved as JSON, it reads
 * back with readCustomTaskFile to the same task.
 */
export async function defineCustomTask(spec: CustomTaskSpec, opts: { baseDir?: string } = {}): Promise<TaskSpec> {
  const s = validateCustomTaskSpec(spec);
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  if (opts.baseDir !== undefined && (typeof opts.baseDir !== 'string' || opts.baseDir === '')) throw new TypeError('options.baseDir must be a non-empty string');
  const base = opts.baseDir ?? process.cwd();
  const files: CustomTaskSpec['files'] = { train: resolve(base, s.files.train), dev: resolve(base, s.files.dev) };
  if (s.files.test !== undefined) files.test = resolve(base, s.files.test);
  const kind: TaskKind = s.kind ?? (s.choices ? 'multiple_choice' : 'classification');
  const def: CustomTaskDefinition = { ...s, files, kind, header: s.header ?? true, metric: s.metric ?? (kind === 'regression' ? 'pearson' : 'accuracy') };
  const task: TaskSpec = {
    name: s.name,
    description: s.description ?? `custom ${kind.replace('_', ' ')} task (${[...new Set(Object.values(files).map((f) => formatOf(f, s.format)))].join(', ')})`,
    kind,
    metric: def.metric,
    metrics: [def.metric],
    dir: '',
    files,
    read: (path) => readCustomRows(def, path),
    custom: def,
  };
  if (kind === 'classification') {
    if (!s.labels) {
      // Reading train for the labels: first name every missing file at once, as the CLI would.
      await checkTaskData(task, undefined);
      def.labels = await inferLabels(def);
    } else def.labels = [...s.labels];
    if (def.metric === 'f1' && def.labels.length !== 2) throw new InvalidArgumentError(`custom task ${s.name}: metric f1 needs 2 labels (has ${def.labels.length})`);
    task.labels = def.labels;
  }
  if (kind === 'multiple_choice') task.numChoices = s.choices!.length;
  const defaults = kind === 'classification' ? METRICS.classification.filter((m) => m !== 'f1' || def.labels!.length === 2) : METRICS[kind];
  task.metrics = [...new Set([def.metric, ...defaults])];
  return task;
}

/**
 * Reads a custom task from a JSON file holding a CustomTaskSpec; relative files are resolved
 * against the JSON file's folder. A spec that does not validate is an InvalidFileError naming the
 * file and the key.
 */
export async function readCustomTaskFile(path: string): Promise<TaskSpec> {
  const text = await readText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidFileError(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  try {
    validateCustomTaskSpec(json);
  } catch (err) {
    throw new InvalidFileError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  return defineCustomTask(json as CustomTaskSpec, { baseDir: dirname(resolve(path)) });
}

/**
 * Parses a command-line column mapping, e.g. "text=sentence,pair=question,label=label" or
 * "text=context,pair=question,choices=answer0|answer1|answer2,label=label" (keys: text, pair,
 * label, id, choices; choices separated by "|"). Values stay strings; see TaskColumn.
 */
export function parseColumnMapping(mapping: string): ColumnMapping {
  if (typeof mapping !== 'string') throw new TypeError('the column mapping must be a string');
  const out: ColumnMapping = {};
  for (const part of mapping.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (eq < 0 || key === '' || value === '') throw new InvalidArgumentError(`column mapping "${mapping}": "${part.trim()}" is not key=column`);
    if (!(MAPPING_KEYS as readonly string[]).includes(key)) throw new InvalidArgumentError(`column mapping: unknown key "${key}" (known: ${MAPPING_KEYS.join(', ')})`);
    if (key in out) throw new InvalidArgumentError(`column mapping: "${key}" is given twice`);
    if (key === 'choices') {
      const cs = value.split('|').map((c) => c.trim());
      if (cs.some((c) => c === '')) throw new InvalidArgumentError(`column mapping: "choices=${value}" has an empty column`);
      out.choices = cs;
    } else out[key as Exclude<keyof ColumnMapping, 'choices'>] = value;
  }
  return out;
}

// ---------------------------------------------------------------- reading

interface Row {
  line: number;
  /** The row's value in a column (undefined: absent). */
  get(col: TaskColumn): unknown;
}

/** The rows of one file; a row whose shape is wrong (cell count, not a JSON object) throws a RowError from get(). */
async function openRows(def: CustomTaskDefinition, path: string): Promise<Row[]> {
  const format = formatOf(path, def.format);
  const text = await readText(path);
  if (format === 'jsonl') {
    return jsonlLines(text).map((l) => ({
      line: l.line,
      get: (col) => {
        const o = l.error === undefined ? l.value : bad(l.error);
        if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('the line is not a JSON object');
        return lookup(o as Record<string, unknown>, String(col));
      },
    }));
  }
  const table = format === 'tsv' ? parseTsv(text, { header: def.header }) : parseCsvTable(text, path, { header: def.header });
  const header = table.header;
  if (def.header && !header) throw new InvalidFileError(`${path}: no header row`);
  const used = [def.text, def.pair, def.label, def.id, ...(def.choices ?? [])].filter((c): c is TaskColumn => c !== undefined);
  const index = new Map<TaskColumn, number>();
  for (const c of used) {
    let i: number;
    if (typeof c === 'string' && header?.includes(c)) i = header.indexOf(c);
    else if (typeof c === 'number' || /^\d+$/.test(c)) i = Number(c);
    else throw new InvalidFileError(`${path}: no column "${c}" (columns: ${header!.join(', ')})`);
    if (header && i >= header.length) throw new InvalidFileError(`${path}: column ${i} is out of range (the header has ${header.length} columns)`);
    index.set(c, i);
  }
  const need = Math.max(...index.values()) + 1;
  return table.rows.map(({ line, cells }) => ({
    line,
    get: (col) => {
      if (header && cells.length !== header.length) bad(`${cells.length} cells, the header has ${header.length}`);
      if (!header && cells.length < need) bad(`${cells.length} cells, column ${need - 1} is needed`);
      return cells[index.get(col)!];
    },
  }));
}

/** o[key], else the nested value at a dotted path ("question.stem"). */
function lookup(o: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(o, key)) return o[key];
  let v: unknown = o;
  for (const k of key.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function textOf(row: Row, col: TaskColumn): string {
  const v = row.get(col);
  if (v === undefined || v === null) bad(`${showColumn(col)} is missing`);
  if (typeof v !== 'string') bad(`${showColumn(col)} must be a string`);
  if (v.trim() === '') bad(`${showColumn(col)} is empty`);
  return v;
}

/** A label cell or JSON scalar as text ('' when absent). */
function rawLabel(row: Row, col: TaskColumn): string {
  const v = row.get(col);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') bad(`the label ${showColumn(col)} must be a string, number or boolean`);
  return String(v).trim();
}

function toRecord(def: CustomTaskDefinition, row: Row): TaskRecord {
  const raw = rawLabel(row, def.label);
  if (raw === '') bad(`the label ${showColumn(def.label)} is empty or missing`);
  let r: TaskRecord;
  if (def.kind === 'multiple_choice') {
    const ctx = textOf(row, def.text);
    const q = def.pair !== undefined ? textOf(row, def.pair) : undefined;
    const cs = def.choices!;
    const rec: ChoiceRecord = { choices: cs.map((c) => ({ text: ctx, pair: q !== undefined ? `${q} ${textOf(row, c)}` : textOf(row, c) })) };
    const label = /^\d+$/.test(raw) ? Number(raw) : cs.findIndex((c) => String(c) === raw);
    if (!(label >= 0 && label < cs.length)) {
      bad(`label "${raw}" is neither a choice index 0–${cs.length - 1} nor a choice column (${cs.map((c) => `"${c}"`).join(', ')})`);
    }
    rec.label = label;
    r = rec;
  } else {
    const rec: TextRecord = { text: textOf(row, def.text) };
    if (def.pair !== undefined) rec.pair = textOf(row, def.pair);
    if (def.kind === 'regression') {
      const v = Number(raw);
      if (!Number.isFinite(v)) bad(`label "${raw}" is not a number`);
      rec.label = v;
    } else {
      const i = def.labels!.indexOf(raw);
      if (i < 0) bad(`label "${raw}" is not one of ${def.labels!.map((l) => `"${l}"`).join(', ')}`);
      rec.label = i;
    }
    r = rec;
  }
  if (def.id !== undefined) {
    const id = row.get(def.id);
    if (id !== undefined && id !== null && id !== '') r.id = String(id);
  }
  return r;
}

async function readCustomRows(def: CustomTaskDefinition, path: string): Promise<ReadResult<TaskRecord>> {
  return collectRows(path, await openRows(def, path), (row) => toRecord(def, row));
}

/** The sorted distinct label values of the train file (rows of the wrong shape are left to loading to report). */
async function inferLabels(def: CustomTaskDefinition): Promise<string[]> {
  const seen = new Set<string>();
  collectRows(def.files.train, await openRows(def, def.files.train), (row) => {
    const v = rawLabel(row, def.label);
    if (v !== '') seen.add(v);
    return undefined;
  });
  const values = [...seen];
  const numeric = values.every((v) => Number.isFinite(Number(v)));
  values.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (values.length < 2) {
    throw new InvalidFileError(
      `${def.files.train}: the label column ${showColumn(def.label)} holds ${values.length} distinct value(s) (${values.join(', ')}); ` +
        `a classification task needs 2 or more, or give "labels"`,
    );
  }
  return values;
}
