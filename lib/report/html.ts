// The HTML report: one self-contained page (inline CSS, JS and SVG; no external URL) that opens
// offline from disk. Everything that comes from the runs (task names, adapter names, folders)
// is escaped: a task name is user text, never markup.
import { SETUP_TITLES, type MetricsLine, type SetupId, type SplitResult } from '../runs/record.js';
import type { CollectedRun } from './collect.js';
import { lineChartSvg, type Series } from './charts.js';
import { heatmapSvg, type ActivationMatrix } from './heatmap.js';
import { escapeXml as esc, fixed } from './svg.js';
import {
  table1AverageText,
  table1CellText,
  table1Footnote,
  table2GroupText,
  type Table1,
  type Table2,
} from './tables.js';

export interface HtmlReportInput {
  /** The runs folder, shown in the header. */
  runsDir: string;
  generatedAt: Date;
  /** The runs in the tables (after removing duplicates). */
  runs: readonly CollectedRun[];
  table1: Table1;
  table2: Table2;
  matrix: ActivationMatrix;
  warnings: readonly string[];
}

/** Renders the report page. */
export function renderHtml(input: HtmlReportInput): string {
  if (typeof input !== 'object' || input === null) throw new TypeError('renderHtml expects a report input object');
  if (!(input.generatedAt instanceof Date) || Number.isNaN(input.generatedAt.getTime())) throw new TypeError('generatedAt must be a valid Date');
  const title = 'AdapterFusion report';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="meta">Generated <time datetime="${esc(input.generatedAt.toISOString())}">${esc(formatDate(input.generatedAt))}</time>
from <code id="runs-dir">${esc(input.runsDir)}</code> · ${input.runs.length} run${input.runs.length === 1 ? '' : 's'}</p>
</header>
<main>
${warningsSection(input.warnings)}
${table1Section(input.table1)}
${table2Section(input.table2)}
${heatmapSection(input.matrix)}
${curvesSection(input.runs)}
${runsSection(input.runs)}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function formatDate(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function warningsSection(warnings: readonly string[]): string {
  if (warnings.length === 0) return '';
  return `<section id="warnings">
<details><summary>${warnings.length} warning${warnings.length === 1 ? '' : 's'} while reading the runs</summary>
<ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>
</details>
</section>`;
}

function table1Section(t: Table1): string {
  if (t.rows.length === 0) return '<section><h2>Table 1</h2><p>No runs.</p></section>';
  const head = `<tr><th scope="col">task</th>${t.columns.map((c) => `<th scope="col" data-setup="${esc(c.setup)}">${esc(c.title)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map(
      (row) =>
        `<tr><th scope="row">${esc(row.task)}</th>${t.columns
          .map((c) => {
            const cell = row.cells[c.setup];
            const tip = cell ? ` title="seeds ${esc(cell.seeds.join(', '))}"` : '';
            return `<td data-setup="${esc(c.setup)}"${tip}>${esc(table1CellText(t, cell))}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const avg = `<tr class="avg"><th scope="row">Avg.</th>${t.columns.map((c) => `<td data-setup="${esc(c.setup)}">${esc(table1AverageText(t.average[c.setup]))}</td>`).join('')}</tr>`;
  return `<section>
<h2>Table 1 — results per task and setup</h2>
<table id="table1" class="num">
<thead>${head}</thead>
<tbody>
${body}
${avg}
</tbody>
</table>
<p class="note">${esc(table1Footnote(t))}</p>
</section>`;
}

function table2Section(t: Table2): string {
  const th = fixed(t.threshold, 1);
  const counts = t.comparisons
    .map((c) => `<tr><th scope="row">${esc(c.title)}</th><td>${c.counts.improved}</td><td>${c.counts.same}</td><td>${c.counts.worse}</td></tr>`)
    .join('\n');
  const tasks = t.comparisons
    .map((c) => `<tr><th scope="row">${esc(c.title)}</th>${[c.improved, c.same, c.worse].map((g) => `<td>${esc(table2GroupText(g))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<section>
<h2>Table 2 — AdapterFusion against the adapters it fuses</h2>
<table id="table2" class="num">
<thead><tr><th scope="col">Compared</th><th scope="col">Improved (&gt; +${th})</th><th scope="col">Same (±${th})</th><th scope="col">Worse (&lt; −${th})</th></tr></thead>
<tbody>
${counts}
</tbody>
</table>
<table id="table2-tasks">
<thead><tr><th scope="col">Compared</th><th scope="col">Improved</th><th scope="col">Same</th><th scope="col">Worse</th></tr></thead>
<tbody>
${tasks}
</tbody>
</table>
<p class="note">Differences of means over seeds (fusion − base, points × 100). Only tasks with both setups are counted.</p>
</section>`;
}

function heatmapSection(m: ActivationMatrix): string {
  if (m.rows.length === 0 || m.layers.length === 0) {
    return '<section><h2>Fusion activations</h2><p>No fusion runs with activations.</p></section>';
  }
  // Every layer is pre-rendered; the select only toggles which one is visible.
  const views: { key: string; label: string; layer: number | 'all' }[] = [
    { key: 'all', label: 'all layers', layer: 'all' },
    ...m.layers.map((l) => ({ key: `layer-${l.layer}`, label: `layer ${l.layer}`, layer: l.layer })),
  ];
  const options = views.map((v, i) => `<option value="${v.key}"${i === 0 ? ' selected' : ''}>${v.label}</option>`).join('');
  const figures = views
    .map((v, i) => `<figure data-layer="${v.key}"${i === 0 ? '' : ' hidden'}>${heatmapSvg(m, v.layer, { idPrefix: `hm-${v.key}` })}</figure>`)
    .join('\n');
  return `<section>
<h2>Fusion activations</h2>
<p class="note">Mean fusion weight each target task (row) gives each adapter (column), averaged over tokens and seeds (paper Fig. 4/6). Layers are numbered from 0.</p>
<p><label for="layer-select">Layer</label> <select id="layer-select">${options}</select></p>
<div id="heatmap">
${figures}
</div>
</section>`;
}

/** Training curves: one figure per task × setup, one line per seed. */
function curvesSection(runs: readonly CollectedRun[]): string {
  const groups = new Map<string, CollectedRun[]>();
  for (const run of runs) {
    const key = JSON.stringify([run.record.task, run.record.setup]);
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const figures: string[] = [];
  for (const group of groups.values()) {
    if (!group.some((r) => r.metrics.length > 0)) continue;
    const { task, setup } = group[0]!.record;
    const name = `${task} · ${SETUP_TITLES[setup as SetupId]}`;
    const loss: Series[] = group.map((r) => ({
      label: `seed ${r.record.seed}`,
      points: steps(r.metrics).map((l) => [l.step + 1, l.loss ?? NaN] as [number, number]),
    }));
    const metricName = group[0]!.record.dev?.metric ?? group[0]!.record.result.metric;
    const dev: Series[] = group.map((r) => ({
      label: `seed ${r.record.seed}`,
      points: epochs(r.metrics)
        .map((l) => [l.epoch + 1, pickMetric(l.eval, metricName) * 100] as [number, number]),
    }));
    const charts = [lineChartSvg({ title: 'training loss', xLabel: 'step', yLabel: 'loss', series: loss, integerX: true })];
    if (dev.some((s) => s.points.some(([, y]) => Number.isFinite(y)))) {
      charts.push(lineChartSvg({ title: `dev ${metricName}`, xLabel: 'epoch', yLabel: `${metricName} × 100`, series: dev, integerX: true }));
    }
    figures.push(`<figure class="curves" data-task="${esc(task)}" data-setup="${esc(setup)}"><figcaption>${esc(name)}</figcaption><div class="charts">${charts.join('\n')}</div></figure>`);
  }
  if (figures.length === 0) return '<section><h2>Training curves</h2><p>No metrics logged.</p></section>';
  return `<section>
<h2>Training curves</h2>
${figures.join('\n')}
</section>`;
}

function steps(lines: readonly MetricsLine[]) {
  return lines.filter((l): l is Extract<MetricsLine, { type: 'step' }> => l.type === 'step');
}

function epochs(lines: readonly MetricsLine[]) {
  return lines.filter((l): l is Extract<MetricsLine, { type: 'epoch' }> => l.type === 'epoch' && !!l.eval);
}

/** The dev metric of an epoch line: the run's primary metric, else the only one logged. */
function pickMetric(evals: Record<string, number> | undefined, name: string): number {
  if (!evals) return NaN;
  if (typeof evals[name] === 'number') return evals[name]!;
  const keys = Object.keys(evals).filter((k) => k !== 'loss');
  return keys.length === 1 && typeof evals[keys[0]!] === 'number' ? evals[keys[0]!]! : NaN;
}

function runsSection(runs: readonly CollectedRun[]): string {
  if (runs.length === 0) return '';
  const split = (s: SplitResult | null) => (s ? `${s.metric} ${fixed(s.value * 100)}` : '–');
  const rows = runs
    .map(({ record: r, dir }) =>
      `<tr title="${esc(dir)}"><th scope="row">${esc(r.task)}</th><td class="text">${esc(SETUP_TITLES[r.setup])}</td><td>${r.seed}</td><td>${r.epochs}${r.stoppedEarly ? ' (early stop)' : ''}</td><td>${r.steps}</td><td>${fixed(r.trainSeconds, 1)}</td><td>${esc(split(r.dev))}</td><td>${esc(split(r.test))}</td></tr>`,
    )
    .join('\n');
  return `<section>
<h2>Runs</h2>
<table id="runs" class="num">
<thead><tr><th scope="col">task</th><th scope="col">setup</th><th scope="col">seed</th><th scope="col">epochs</th><th scope="col">steps</th><th scope="col">train s</th><th scope="col">dev</th><th scope="col">test</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="note">Metrics × 100. Hover a row for its folder.</p>
</section>`;
}

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa; --accent: #0b4f8a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
header, main { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 26px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 19px; margin: 32px 0 10px; }
.meta, .note { color: var(--muted); font-size: 13px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--head); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 5px 10px; vertical-align: top; }
thead th { background: var(--head); text-align: center; }
tbody th { text-align: left; font-weight: 600; overflow-wrap: anywhere; max-width: 260px; }
table.num td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.num td.text { text-align: left; }
tr.avg th, tr.avg td { border-top: 2px solid #8c959f; font-weight: 600; }
#table2-tasks td { max-width: 360px; }
#runs { font-size: 13px; }
#runs th, #runs td { padding: 2px 8px; }
#runs tbody th { font-weight: normal; }
select { font: inherit; padding: 2px 6px; }
figure { margin: 12px 0; }
#heatmap { overflow-x: auto; }
#heatmap svg, .charts svg { max-width: none; }
figure.curves { border-top: 1px solid var(--line); padding-top: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 28px; }
details summary { cursor: pointer; color: #9a6700; }
#warnings ul { font-size: 13px; color: var(--muted); }
`;

// Shows the heatmap of the layer picked in the select; the others stay pre-rendered but hidden.
const SCRIPT = `
(function () {
  var select = document.getElementById('layer-select');
  if (!select) return;
  function show() {
    var figures = document.querySelectorAll('#heatmap figure');
    for (var i = 0; i < figures.length; i++) figures[i].hidden = figures[i].getAttribute('data-layer') !== select.value;
  }
  select.addEventListener('change', show);
  show();
})();
`;
