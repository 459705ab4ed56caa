// Finds the runs under a folder and reads what each one left on disk (see lib/runs/record.ts).
// A report is made from many runs written by different processes, some interrupted or from
// other versions: a bad file becomes a warning naming its path, never a crash of the report.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IoError, InvalidFileError } from '../errors.js';
import {
  ACTIVATIONS_FILE,
  METRICS_FILE,
  RUN_FILE,
  RUN_FORMAT,
  RUN_VERSION,
  SETUPS,
  type FusionActivations,
  type MetricsLine,
  type RunRecord,
  type SetupId,
  type SplitResult,
} from '../runs/record.js';

export interface CollectedRun {
  record: RunRecord;
  /** The run folder (absolute). */
  dir: string;
  /** The lines of metrics.jsonl ([] when the file is missing). */
  metrics: MetricsLine[];
  /** fusion_activations.json, when present and valid. */
  activations: FusionActivations | null;
}

export interface CollectedRuns {
  /** Sorted by task, setup (SETUPS order), seed, folder. */
  runs: CollectedRun[];
  /** One line per problem found, each naming the file. */
  warnings: string[];
}

// Folders that never hold a run.json of their own: trainer checkpoints anywhere, and the
// AdapterHub output folders inside a run folder (a task folder may well be called "fusion").
const SKIP_DIRS = new Set(['node_modules', 'checkpoints', 'checkpoint']);
const CHECKPOINT_DIR = /^(epoch-\d+|checkpoint-\d+)$/;
const RUN_OUTPUT_DIRS = new Set(['adapter', 'head', 'fusion', 'model']);

/** Walks `dir` recursively and reads every run (run.json + metrics.jsonl + fusion_activations.json). */
export async function collectRuns(dir: string): Promise<CollectedRuns> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('runs dir must be a non-empty string');
  const root = resolve(dir);
  let info;
  try {
    info = await stat(root);
  } catch (err) {
    throw new IoError(`cannot read runs folder ${root}: ${(err as Error).message}`, { cause: err });
  }
  if (!info.isDirectory()) throw new IoError(`runs folder ${root} is not a folder`);

  const warnings: string[] = [];
  const runDirs: string[] = [];
  await walk(root, runDirs, warnings);

  const runs: CollectedRun[] = [];
  for (const runDir of runDirs) {
    const runPath = join(runDir, RUN_FILE);
    let record: RunRecord;
    try {
      record = parseRunRecord(await readFile(runPath, 'utf8'), runPath);
    } catch (err) {
      warnings.push(`skipped ${runPath}: ${(err as Error).message}`);
      continue;
    }
    const metrics = await readMetrics(join(runDir, METRICS_FILE), warnings);
    const activations = await readActivations(join(runDir, ACTIVATIONS_FILE), record, warnings);
    runs.push({ record, dir: runDir, metrics, activations });
  }
  runs.sort(compareRuns);
  return { runs, warnings };
}

/** Order of runs everywhere in the report: task, setup (SETUPS order), seed, folder. */
export function compareRuns(a: { record: RunRecord; dir?: string }, b: { record: RunRecord; dir?: string }): number {
  const ra = a.record;
  const rb = b.record;
  if (ra.task !== rb.task) return ra.task < rb.task ? -1 : 1;
  if (ra.setup !== rb.setup) return SETUPS.indexOf(ra.setup) - SETUPS.indexOf(rb.setup);
  if (ra.seed !== rb.seed) return ra.seed - rb.seed;
  const da = a.dir ?? '';
  const db = b.dir ?? '';
  return da < db ? -1 : da > db ? 1 : 0;
}

async function walk(dir: string, out: string[], warnings: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    warnings.push(`cannot read folder ${dir}: ${(err as Error).message}`);
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const isRun = entries.some((e) => e.name === RUN_FILE && e.isFile());
  if (isRun) out.push(dir);
  // A trainer checkpoint folder (its state file marks it) holds no runs.
  if (entries.some((e) => e.name === 'trainer_state.json' && e.isFile())) return;
  for (const e of entries) {
    // Symlinks are not followed (isDirectory() is false for them): no loops, no escaping the folder.
    if (!e.isDirectory()) continue;
    if (e.name.startsWith('.') || SKIP_DIRS.has(e.name) || CHECKPOINT_DIR.test(e.name)) continue;
    if (isRun && RUN_OUTPUT_DIRS.has(e.name)) continue;
    await walk(join(dir, e.name), out, warnings);
  }
}

/** Parses and validates a run.json; throws InvalidFileError naming the first bad field. */
export function parseRunRecord(text: string, path = RUN_FILE): RunRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidFileError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const bad = (what: string): never => {
    throw new InvalidFileError(`${path}: ${what}`);
  };
  if (!isObject(value)) return bad('not a JSON object');
  const r = value;
  if (r.format !== RUN_FORMAT) bad(`format is ${JSON.stringify(r.format)}, expected "${RUN_FORMAT}"`);
  if (r.version !== RUN_VERSION) bad(`unsupported version ${JSON.stringify(r.version)} (this build reads version ${RUN_VERSION})`);
  if (typeof r.task !== 'string' || r.task === '') bad('task must be a non-empty string');
  if (typeof r.setup !== 'string' || !(SETUPS as readonly string[]).includes(r.setup)) {
    bad(`setup ${JSON.stringify(r.setup)} is not one of ${SETUPS.join(', ')}`);
  }
  if (!Number.isInteger(r.seed)) bad('seed must be an integer');
  checkSplit(r.result, 'result', bad);
  if (r.dev !== null) checkSplit(r.dev, 'dev', bad);
  if (r.test !== null) checkSplit(r.test, 'test', bad);
  if (!Array.isArray(r.adapters) || !r.adapters.every((a) => typeof a === 'string')) bad('adapters must be an array of strings');
  for (const key of ['epochs', 'steps', 'trainExamples', 'trainSeconds', 'wallSeconds'] as const) {
    if (!isFiniteNumber(r[key]) || (r[key] as number) < 0) bad(`${key} must be a non-negative number`);
  }
  if (typeof r.stoppedEarly !== 'boolean') bad('stoppedEarly must be a boolean');
  if (r.bestEpoch !== null && !Number.isInteger(r.bestEpoch)) bad('bestEpoch must be an integer or null');
  for (const key of ['startedAt', 'finishedAt'] as const) {
    if (typeof r[key] !== 'string' || Number.isNaN(Date.parse(r[key] as string))) bad(`${key} must be an ISO date`);
  }
  if (!isObject(r.model)) bad('model must be an object');
  if (!isObject(r.options)) bad('options must be an object');
  if (!isObject(r.outputs)) bad('outputs must be an object');
  if (!isObject(r.machine)) bad('machine must be an object');
  return r as unknown as RunRecord;
}

function checkSplit(v: unknown, name: string, bad: (what: string) => never): asserts v is SplitResult {
  if (!isObject(v)) bad(`${name} must be an object${name === 'result' ? '' : ' or null'}`);
  const s = v as Record<string, unknown>;
  if (typeof s.split !== 'string') bad(`${name}.split must be a string`);
  if (typeof s.metric !== 'string' || s.metric === '') bad(`${name}.metric must be a non-empty string`);
  // JSON turns NaN into null: a run whose metric could not be computed cannot enter a table.
  if (!isFiniteNumber(s.value)) bad(`${name}.value must be a finite number, got ${JSON.stringify(s.value)}`);
  if (!isFiniteNumber(s.examples)) bad(`${name}.examples must be a number`);
  if (!isObject(s.metrics)) bad(`${name}.metrics must be an object`);
}

/**
 * Reads metrics.jsonl. The trainer appends to it while running, so the last line may be cut
 * short: a trailing unparseable line is dropped silently; a bad line elsewhere is a warning.
 */
async function readMetrics(path: string, warnings: string[]): Promise<MetricsLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`cannot read ${path}: ${(err as Error).message}`);
    return [];
  }
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const out: MetricsLine[] = [];
  let badLines = 0;
  let firstBad = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return; // partial last line of a run still writing (or killed)
      value = undefined;
    }
    if (isMetricsLine(value)) out.push(value);
    else if (badLines++ === 0) firstBad = i + 1;
  });
  if (badLines > 0) warnings.push(`${path}: ignored ${badLines} malformed line(s), the first at line ${firstBad}`);
  return out;
}

function isMetricsLine(v: unknown): v is MetricsLine {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'step':
      return isFiniteNumber(v.step) && (isFiniteNumber(v.loss) || v.loss === null);
    case 'epoch':
      return isFiniteNumber(v.epoch) && (v.eval === undefined || isObject(v.eval));
    case 'final':
      return true;
    case 'interrupted':
      return isFiniteNumber(v.step);
    default:
      return false;
  }
}

/** Reads fusion_activations.json when there is one; checks it belongs to the run and is well formed. */
async function readActivations(path: string, record: RunRecord, warnings: string[]): Promise<FusionActivations | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`cannot read ${path}: ${(err as Error).message}`);
    return null;
  }
  const problem = (what: string): null => {
    warnings.push(`ignored ${path}: ${what}`);
    return null;
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return problem(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) return problem('not a JSON object');
  if (!Array.isArray(v.adapters) || v.adapters.length === 0 || !v.adapters.every((a) => typeof a === 'string')) {
    return problem('adapters must be a non-empty array of strings');
  }
  const n = v.adapters.length;
  if (!Array.isArray(v.layers)) return problem('layers must be an array');
  for (const [i, row] of v.layers.entries()) {
    if (row === null) continue;
    if (!Array.isArray(row) || row.length !== n || !row.every(isFiniteNumber)) {
      return problem(`layers[${i}] must be null or ${n} numbers (one per adapter)`);
    }
  }
  if (v.task !== record.task || v.setup !== record.setup || v.seed !== record.seed) {
    return problem(`it is for ${String(v.task)} / ${String(v.setup)} / seed ${String(v.seed)}, not for the run's ${record.task} / ${record.setup} / seed ${record.seed}`);
  }
  return v as unknown as FusionActivations;
}

/** Whether a setup is an AdapterFusion setup (the ones with activations). */
export function isFusionSetup(setup: SetupId): boolean {
  return setup === 'fusion-st-a' || setup === 'fusion-mt-a';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
