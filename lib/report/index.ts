// The report module: reads a folder of runs and writes the paper's tables, the fusion
// activation heatmaps and an optional self-contained HTML page (docs/ARCHITECTURE.md, "Runs and
// reports").
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, IoError } from '../errors.js';
import { collectRuns, type CollectedRun } from './collect.js';
import { activationMatrix, heatmapPng, heatmapSvg, type ActivationMatrix } from './heatmap.js';
import { renderHtml } from './html.js';
import { dedupeRuns, table1, table1Markdown, table2, table2Markdown, type Table1, type Table2 } from './tables.js';

export { collectRuns, compareRuns, isFusionSetup, parseRunRecord, type CollectedRun, type CollectedRuns } from './collect.js';
export {
  TABLE2_THRESHOLD,
  classifyDiff,
  dedupeRuns,
  diffText,
  meanStd,
  table1,
  table1AverageText,
  table1CellText,
  table1Footnote,
  table1Markdown,
  table2,
  table2GroupText,
  table2Markdown,
  type RunLike,
  type Table1,
  type Table1Cell,
  type Table1Row,
  type Table2,
  type Table2Comparison,
  type Table2Entry,
} from './tables.js';
export {
  activationMatrix,
  blue,
  heatmapPng,
  heatmapSvg,
  type ActivationLayer,
  type ActivationMatrix,
  type ActivationRow,
  type ActivationRunLike,
  type HeatmapOptions,
} from './heatmap.js';
export { renderHtml, type HtmlReportInput } from './html.js';
export { lineChartSvg, type LineChartOptions, type Series } from './charts.js';
export { escapeXml } from './svg.js';

export interface WriteReportOptions {
  /** Also write report.html (default false). */
  html?: boolean;
  /** The time shown in the HTML page (default: now). */
  generatedAt?: Date;
}

export interface WrittenReport {
  /** Absolute paths of every file written, in writing order. */
  paths: string[];
  table1: Table1;
  table2: Table2;
  matrix: ActivationMatrix;
  /** The runs in the tables (duplicates removed). */
  runs: CollectedRun[];
  /** Problems met while reading the runs and building the tables. */
  warnings: string[];
}

const HEATMAP_FILE = /^(layer-\d+|all-layers)\.(svg|png)$/;

/**
 * Reads the runs under `runsDir` and writes into `outDir`: table1.md/.json, table2.md/.json,
 * fusion_activations.json, heatmaps/layer-<k>.svg/.png and heatmaps/all-layers.svg/.png (when
 * there are fusion runs), and report.html with `{ html: true }`. Each file is written to a temp
 * file and renamed, so a reader never sees half a file.
 */
export async function writeReport(runsDir: string, outDir: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  if (typeof runsDir !== 'string' || runsDir === '') throw new TypeError('runsDir must be a non-empty string');
  if (typeof outDir !== 'string' || outDir === '') throw new TypeError('outDir must be a non-empty string');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (options.html !== undefined && typeof options.html !== 'boolean') throw new TypeError('options.html must be a boolean');

  const collected = await collectRuns(runsDir);
  if (collected.runs.length === 0) {
    const why = collected.warnings.length > 0 ? `; ${collected.warnings.length} skipped: ${collected.warnings.slice(0, 3).join('; ')}` : '';
    throw new InvalidArgumentError(`no valid run.json found under ${resolve(runsDir)}${why}`);
  }
  const { runs, warnings: dupWarnings } = dedupeRuns(collected.runs);
  const t1 = table1(runs);
  const t2 = table2(runs);
  const matrix = activationMatrix(runs);
  const warnings = [...new Set([...collected.warnings, ...dupWarnings, ...t1.warnings, ...t2.warnings])];

  const out = resolve(outDir);
  const paths: string[] = [];
  const put = async (name: string, data: string | Buffer) => {
    const path = join(out, name);
    await writeAtomic(path, data);
    paths.push(path);
  };
  await put('table1.md', `# Table 1\n\n${table1Markdown(t1)}`);
  await put('table1.json', json(t1));
  await put('table2.md', `# Table 2\n\n${table2Markdown(t2)}`);
  await put('table2.json', json(t2));
  await put('fusion_activations.json', json(matrix));

  const written = new Set<string>();
  if (matrix.rows.length > 0 && matrix.layers.length > 0) {
    const views: [string, number | 'all'][] = [['all-layers', 'all'], ...matrix.layers.map((l) => [`layer-${l.layer}`, l.layer] as [string, number])];
    for (const [name, layer] of views) {
      const svg = heatmapSvg(matrix, layer, { idPrefix: name });
      await put(`heatmaps/${name}.svg`, svg);
      await put(`heatmaps/${name}.png`, await heatmapPng(svg));
      written.add(`${name}.svg`).add(`${name}.png`);
    }
  }
  await removeStaleHeatmaps(join(out, 'heatmaps'), written);

  if (options.html) {
    const page = renderHtml({ runsDir: resolve(runsDir), generatedAt: options.generatedAt ?? new Date(), runs, table1: t1, table2: t2, matrix, warnings });
    await put('report.html', page);
  }
  return { paths, table1: t1, table2: t2, matrix, runs, warnings };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes `data` next to `path` under a temp name, then renames it over `path`. */
async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new IoError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Heatmaps of layers an earlier report had and this one does not would mislead: remove them. */
async function removeStaleHeatmaps(dir: string, keep: ReadonlySet<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (HEATMAP_FILE.test(name) && !keep.has(name)) await rm(join(dir, name), { force: true });
  }
}
