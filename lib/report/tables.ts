// The paper's Table 1 (mean ± std over seeds per task × setup) and Table 2 (how often fusion
// beats the adapters it fuses), as JSON and GitHub Markdown.
import { SETUPS, SETUP_TITLES, type RunRecord, type SetupId } from '../runs/record.js';
import { compareRuns } from './collect.js';
import { fixed } from './svg.js';

/** What the tables need of a run (a CollectedRun fits). */
export interface RunLike {
  record: RunRecord;
  dir?: string;
}

/** One Table 1 cell: statistics of `result.value × 100` over seeds. */
export interface Table1Cell {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single seed. */
  std: number;
  n: number;
  seeds: number[];
  values: number[];
}

export interface Table1Row {
  task: string;
  /** The task's primary metric(s) and the split(s) reported, e.g. ['f1'] / ['test']. */
  metrics: string[];
  splits: string[];
  cells: Partial<Record<SetupId, Table1Cell>>;
}

export interface Table1 {
  columns: { setup: SetupId; title: string }[];
  rows: Table1Row[];
  /** Mean over tasks of the cell means; null for a column some task lacks. */
  average: Partial<Record<SetupId, number | null>>;
  warnings: string[];
}

/**
 * Keeps one run per (task, setup, seed): the newest by finishedAt. A rerun of a seed replaces
 * the older one rather than counting twice; each dropped run is a warning.
 */
export function dedupeRuns<T extends RunLike>(runs: readonly T[]): { runs: T[]; warnings: string[] } {
  if (!Array.isArray(runs)) throw new TypeError('runs must be an array');
  const byKey = new Map<string, T>();
  const warnings: string[] = [];
  for (const run of [...runs].sort(compareRuns)) {
    const r = run.record;
    const key = JSON.stringify([r.task, r.setup, r.seed]);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, run);
      continue;
    }
    const newer = Date.parse(r.finishedAt) > Date.parse(prev.record.finishedAt) ? run : prev;
    const older = newer === run ? prev : run;
    byKey.set(key, newer);
    warnings.push(
      `duplicate run ${r.task} / ${r.setup} / seed ${r.seed}: kept ${describe(newer)}, ignored ${describe(older)}`,
    );
  }
  return { runs: [...byKey.values()].sort(compareRuns), warnings };
}

function describe(run: RunLike): string {
  return `${run.dir ?? 'a run'} (finished ${run.record.finishedAt})`;
}

/** Table 1: rows = tasks (by name), columns = the setups present (in SETUPS order). */
export function table1(runs: readonly RunLike[]): Table1 {
  const { runs: unique, warnings } = dedupeRuns(runs);
  const present = new Set(unique.map((r) => r.record.setup));
  const columns = SETUPS.filter((s) => present.has(s)).map((setup) => ({ setup, title: SETUP_TITLES[setup] }));
  const tasks = [...new Set(unique.map((r) => r.record.task))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  const rows: Table1Row[] = tasks.map((task) => {
    const mine = unique.filter((r) => r.record.task === task);
    const metrics = [...new Set(mine.map((r) => r.record.result.metric))];
    const splits = [...new Set(mine.map((r) => r.record.result.split))];
    if (metrics.length > 1) warnings.push(`task ${task} reports different metrics across runs (${metrics.join(', ')}): its row mixes them`);
    const cells: Partial<Record<SetupId, Table1Cell>> = {};
    for (const { setup } of columns) {
      const cell = mine.filter((r) => r.record.setup === setup);
      if (cell.length === 0) continue;
      const values = cell.map((r) => r.record.result.value * 100);
      const { mean, std } = meanStd(values);
      cells[setup] = { mean, std, n: values.length, seeds: cell.map((r) => r.record.seed), values };
    }
    return { task, metrics, splits, cells };
  });

  const average: Partial<Record<SetupId, number | null>> = {};
  for (const { setup } of columns) {
    const means = rows.map((row) => row.cells[setup]?.mean);
    average[setup] = means.every((m) => m !== undefined) ? mean(means as number[]) : null;
  }
  return { columns, rows, average, warnings };
}

/** Mean and sample standard deviation (n − 1; 0 for n = 1). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) throw new RangeError('meanStd of no values');
  const m = mean(values);
  if (values.length === 1) return { mean: m, std: 0 };
  const ss = values.reduce((acc, v) => acc + (v - m) ** 2, 0);
  return { mean: m, std: Math.sqrt(ss / (values.length - 1)) };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The seed count most cells have; cells with another count say theirs. */
function usualN(table: Table1): number {
  const counts = new Map<number, number>();
  for (const row of table.rows) for (const c of Object.values(row.cells)) counts.set(c!.n, (counts.get(c!.n) ?? 0) + 1);
  let best = 0;
  let bestCount = -1;
  for (const [n, count] of counts) if (count > bestCount || (count === bestCount && n > best)) [best, bestCount] = [n, count];
  return best;
}

/**
 * The text of a Table 1 cell, the same in Markdown and HTML: "71.34 ± 1.20", with " (n=2)"
 * when its seed count differs from the table's usual one; "–" for a missing cell.
 */
export function table1CellText(table: Table1, cell: Table1Cell | undefined): string {
  if (!cell) return '–';
  const text = `${fixed(cell.mean)} ± ${fixed(cell.std)}`;
  return cell.n === usualN(table) ? text : `${text} (n=${cell.n})`;
}

/** The text of an Avg. cell: the mean, or "–" where some task lacks the column. */
export function table1AverageText(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : fixed(value);
}

/** The footnote of Table 1: what the cells are, and each task's metric. */
export function table1Footnote(table: Table1): string {
  const n = usualN(table);
  const metrics = table.rows.map((r) => `${r.task}: ${r.metrics.join('/')} (${r.splits.join('/')})`).join('; ');
  return `Mean ± sample std × 100 over ${n} seed${n === 1 ? '' : 's'} per cell (other counts marked n=k). Metric: ${metrics}.`;
}

/** Table 1 as GitHub Markdown. */
export function table1Markdown(table: Table1): string {
  if (table.rows.length === 0) return '_No runs._\n';
  const header = ['task', ...table.columns.map((c) => c.title)];
  const lines = [mdRow(header), mdRow(header.map((_, i) => (i === 0 ? ':---' : '---:')))];
  for (const row of table.rows) {
    lines.push(mdRow([mdText(row.task), ...table.columns.map((c) => table1CellText(table, row.cells[c.setup]))]));
  }
  lines.push(mdRow(['**Avg.**', ...table.columns.map((c) => table1AverageText(table.average[c.setup]))]));
  return `${lines.join('\n')}\n\n${mdText(table1Footnote(table))}\n`;
}

// ---------------------------------------------------------------------------------------------
// Table 2

/** Differences within ±0.3 points count as "same" (paper, Table 2). */
export const TABLE2_THRESHOLD = 0.3;
// Means of values × 100 carry rounding noise (71.6 − 71.3 = 0.2999999999999972): compare with slack.
const EPS = 1e-9;

export interface Table2Entry {
  task: string;
  /** Mean of the fusion setup minus mean of the base setup, in percentage points. */
  diff: number;
  fusion: number;
  base: number;
}

export interface Table2Comparison {
  fusion: SetupId;
  base: SetupId;
  title: string;
  improved: Table2Entry[];
  same: Table2Entry[];
  worse: Table2Entry[];
  counts: { improved: number; same: number; worse: number };
}

export interface Table2 {
  threshold: number;
  comparisons: Table2Comparison[];
  warnings: string[];
}

const COMPARISONS: { fusion: SetupId; base: SetupId }[] = [
  { fusion: 'fusion-st-a', base: 'st-a' },
  { fusion: 'fusion-mt-a', base: 'mt-a' },
];

/** Classifies a difference in points: > 0.3 improved, < −0.3 worse, else same (±0.3 inclusive). */
export function classifyDiff(diff: number): 'improved' | 'same' | 'worse' {
  if (diff > TABLE2_THRESHOLD + EPS) return 'improved';
  if (diff < -TABLE2_THRESHOLD - EPS) return 'worse';
  return 'same';
}

/** Table 2: per comparison, the tasks fusion improved, left the same or made worse. */
export function table2(runs: readonly RunLike[]): Table2 {
  const t1 = table1(runs);
  const comparisons = COMPARISONS.map(({ fusion, base }) => {
    const c: Table2Comparison = {
      fusion,
      base,
      title: `${SETUP_TITLES[fusion]} vs ${SETUP_TITLES[base]}`,
      improved: [],
      same: [],
      worse: [],
      counts: { improved: 0, same: 0, worse: 0 },
    };
    for (const row of t1.rows) {
      const f = row.cells[fusion];
      const b = row.cells[base];
      if (!f || !b) continue;
      const entry = { task: row.task, diff: f.mean - b.mean, fusion: f.mean, base: b.mean };
      c[classifyDiff(entry.diff)].push(entry);
    }
    // Largest gains first, so the table reads like the paper's lists.
    // (Compared at 1e-6 so that float noise does not reorder equal differences.)
    const key = (e: Table2Entry) => Math.round(e.diff * 1e6);
    for (const group of [c.improved, c.same, c.worse]) group.sort((x, y) => key(y) - key(x) || (x.task < y.task ? -1 : 1));
    c.counts = { improved: c.improved.length, same: c.same.length, worse: c.worse.length };
    return c;
  });
  return { threshold: TABLE2_THRESHOLD, comparisons, warnings: t1.warnings };
}

/** A Table 2 difference as text: "+0.45", "−1.20" style with an ASCII minus. */
export function diffText(diff: number): string {
  const s = fixed(diff);
  return s.startsWith('-') || s === '0.00' ? s : `+${s}`;
}

/** The task list of one Table 2 cell: "mrpc (+1.20), rte (+0.50)" or "–". */
export function table2GroupText(entries: readonly Table2Entry[]): string {
  return entries.length === 0 ? '–' : entries.map((e) => `${e.task} (${diffText(e.diff)})`).join(', ');
}

/** Table 2 as GitHub Markdown: counts per group, then the tasks in each group. */
export function table2Markdown(table: Table2): string {
  const t = fixed(table.threshold, 1);
  const header = ['Compared', `Improved (> +${t})`, `Same (±${t})`, `Worse (< −${t})`];
  const lines = [mdRow(header), mdRow(['---', '---:', '---:', '---:'])];
  for (const c of table.comparisons) {
    lines.push(mdRow([c.title, String(c.counts.improved), String(c.counts.same), String(c.counts.worse)]));
  }
  lines.push('', 'Tasks in each group (difference in points, fusion − base):', '');
  lines.push(mdRow(['Compared', 'Improved', 'Same', 'Worse']), mdRow(['---', '---', '---', '---']));
  for (const c of table.comparisons) {
    lines.push(mdRow([c.title, ...[c.improved, c.same, c.worse].map((g) => mdText(table2GroupText(g)))]));
  }
  lines.push('', `Only tasks with both setups are counted; differences of means over seeds, × 100.`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------

function mdRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** Makes user text safe inside a Markdown table cell: no column breaks, no raw HTML. */
export function mdText(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|');
}
