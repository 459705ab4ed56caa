// The report module on a hand-made runs folder: Table 1 and Table 2 against numbers computed
// here independently, the ±0.3 edges, duplicates, malformed files, activation averaging, the
// heatmap SVG/PNG and the files writeReport leaves.
import test from 'ava';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, IoError } from '../lib/errors.js';
import type { SetupId } from '../lib/runs/record.js';
import {
  activationMatrix,
  classifyDiff,
  collectRuns,
  heatmapPng,
  heatmapSvg,
  table1,
  table1Markdown,
  table2,
  table2Markdown,
  writeReport,
  type ActivationMatrix,
  type CollectedRuns,
} from '../lib/report/index.js';
import { makeRecord, writeRun, type RunSpec } from './helpers/report-runs.js';

// ---- The fixture: 3 tasks × 6 setups, seeds 1..3 (a few cells with fewer seeds) -------------

const METRIC: Record<string, string> = { mrpc: 'f1', rte: 'accuracy', sst2: 'accuracy' };
// Values per seed (seed i+1 = index i). Table 2 edges: mrpc ST +0.30 (same), mrpc MT −0.30
// (same), rte ST +1.00 (improved), rte MT +0.29 (same), sst2 ST −0.31 (worse); sst2 has no MT-A.
const VALUES: Record<string, Partial<Record<SetupId, number[]>>> = {
  mrpc: {
    head: [0.7, 0.72, 0.71],
    // seed 1 is written three times: 0.80 (10:05), 0.83 (newest, 11:00, kept), 0.10 (older, 09:00).
    'st-a': [0.83, 0.81, 0.82],
    'mt-a': [0.79, 0.8, 0.84],
    'fusion-st-a': [0.823, 0.813, 0.833],
    'fusion-mt-a': [0.797, 0.807, 0.817],
  },
  rte: {
    head: [0.6, 0.62],
    'st-a': [0.65, 0.66, 0.67],
    'mt-a': [0.64, 0.65, 0.66],
    'fusion-st-a': [0.66, 0.67, 0.68],
    'fusion-mt-a': [0.6529, 0.6529, 0.6529],
  },
  sst2: {
    full: [0.9],
    'st-a': [0.9, 0.91, 0.92],
    'fusion-st-a': [0.9069, 0.9069, 0.9069],
    'fusion-mt-a': [0.95, 0.95, 0.95],
  },
};
const COLUMNS: SetupId[] = ['head', 'full', 'st-a', 'mt-a', 'fusion-st-a', 'fusion-mt-a'];
const TASKS = ['mrpc', 'rte', 'sst2'];

// Fusion activations, 3 layers, no fusion in layer 0. sst2 under ST-A fuses only 2 adapters.
function activationsFor(task: string, setup: SetupId, seed: number): RunSpec['activations'] {
  if (setup === 'fusion-st-a' && task === 'sst2') return { adapters: ['rte', 'sst2'], layers: [null, [0.4, 0.6], [0.1 * seed, 1 - 0.1 * seed]] };
  const d = setup === 'fusion-st-a' ? 0.01 : 0.02;
  return { adapters: ['mrpc', 'rte', 'sst2'], layers: [null, [0.5 + d * seed, 0.3, 0.2 - d * seed], [0.2, 0.2, 0.6]] };
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
function sampleStd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}
const pct = (xs: number[]) => xs.map((x) => x * 100);
const f2 = (x: number) => x.toFixed(2);

async function tempDir(t: { teardown(fn: () => unknown): void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function buildRuns(root: string): Promise<void> {
  for (const task of TASKS) {
    for (const [setup, values] of Object.entries(VALUES[task]!) as [SetupId, number[]][]) {
      for (const [i, value] of values.entries()) {
        const seed = i + 1;
        const first = task === 'mrpc' && setup === 'st-a' && seed === 1 ? 0.8 : value;
        await writeRun(root, {
          task,
          setup,
          seed,
          value: first,
          metric: METRIC[task],
          activations: setup.startsWith('fusion') ? activationsFor(task, setup, seed) : undefined,
        });
      }
    }
  }
  // The duplicates of mrpc / st-a / seed 1.
  await writeRun(root, { task: 'mrpc', setup: 'st-a', seed: 1, value: 0.83, metric: 'f1', finishedAt: '2024-05-01T11:00:00.000Z', folder: 'rerun/a' });
  await writeRun(root, { task: 'mrpc', setup: 'st-a', seed: 1, value: 0.1, metric: 'f1', finishedAt: '2024-05-01T09:00:00.000Z', folder: 'zzz-old/b' });
}

let shared: Promise<{ root: string; collected: CollectedRuns }> | undefined;
function fixture(): Promise<{ root: string; collected: CollectedRuns }> {
  shared ??= (async () => {
    const root = await mkdtemp(join(tmpdir(), 'af-report-'));
    await buildRuns(root);
    return { root, collected: await collectRuns(root) };
  })();
  return shared;
}
test.after.always(async () => {
  if (shared) await rm((await shared).root, { recursive: true, force: true });
});

// ---- collectRuns ------------------------------------------------------------------------------

test('collectRuns finds every run with its metrics and activations', async (t) => {
  const { collected } = await fixture();
  const expected = TASKS.reduce((n, task) => n + Object.values(VALUES[task]!).reduce((m, v) => m + v!.length, 0), 0) + 2;
  t.is(collected.runs.length, expected);
  t.deepEqual(collected.warnings, []);
  const run = collected.runs.find((r) => r.record.task === 'rte' && r.record.setup === 'fusion-st-a' && r.record.seed === 2)!;
  t.is(run.metrics.filter((l) => l.type === 'step').length, 30);
  t.is(run.metrics.filter((l) => l.type === 'epoch').length, 3);
  t.deepEqual(run.activations?.adapters, ['mrpc', 'rte', 'sst2']);
  t.is(collected.runs.find((r) => r.record.setup === 'head')!.activations, null);
});

test('collectRuns reports malformed files as warnings and skips hidden and checkpoint folders', async (t) => {
  const root = await tempDir(t, 'af-report-bad-');
  await writeRun(root, { task: 'good', setup: 'st-a', seed: 1, value: 0.5 });
  const bad = async (folder: string, text: string) => {
    await mkdir(join(root, folder), { recursive: true });
    await writeFile(join(root, folder, 'run.json'), text);
  };
  const valid = makeRecord({ task: 'x', setup: 'st-a', seed: 1, value: 0.5 });
  await bad('broken/json', '{"format": "adapterfusion-run", ');
  await bad('broken/version', JSON.stringify({ ...valid, version: 99 }));
  await bad('broken/setup', JSON.stringify({ ...valid, setup: 'banana' }));
  await bad('broken/nan', JSON.stringify({ ...valid, result: { ...valid.result, value: null } }));
  await bad('broken/array', '[1, 2]');
  // Runs the walk must not see.
  for (const folder of ['.hidden/r', 'node_modules/r', 'good/st-a/seed-1/checkpoints/epoch-2', 'ckpt/epoch-3']) {
    await writeRun(root, { task: 'ghost', setup: 'head', seed: 1, value: 0.5, folder });
  }
  // metrics.jsonl: a cut-off last line is dropped silently, a bad middle line is a warning.
  await writeRun(root, {
    task: 'partial', setup: 'head', seed: 1, value: 0.5,
    metricsText: '{"type":"step","step":0,"epoch":0,"loss":1}\n{"type":"step","step":1,"epoch":0,"loss":0.9}\n{"type":"st',
  });
  await writeRun(root, {
    task: 'midbad', setup: 'head', seed: 1, value: 0.5,
    metricsText: '{"type":"step","step":0,"epoch":0,"loss":1}\nnot json\n{"type":"step","step":1,"epoch":0,"loss":0.9}\n',
  });
  // fusion_activations.json with a row of the wrong length is ignored with a warning.
  await writeRun(root, { task: 'acts', setup: 'fusion-st-a', seed: 1, value: 0.5, activations: { adapters: ['a', 'b'], layers: [[0.5, 0.3, 0.2]] } });

  const { runs, warnings } = await collectRuns(root);
  t.deepEqual(runs.map((r) => r.record.task).sort(), ['acts', 'good', 'midbad', 'partial']);
  for (const folder of ['json', 'version', 'setup', 'nan', 'array']) {
    t.true(warnings.some((w) => w.includes(join(root, 'broken', folder, 'run.json'))), `warning for broken/${folder}`);
  }
  t.true(warnings.some((w) => w.includes('version') && w.includes('99')));
  t.true(warnings.some((w) => w.includes('banana')));
  t.true(warnings.some((w) => w.includes(join('midbad', 'head', 'seed-1', 'metrics.jsonl')) && w.includes('line 2')));
  t.false(warnings.some((w) => w.includes('partial')));
  t.true(warnings.some((w) => w.includes('fusion_activations.json') && w.includes('layers[0]')));
  t.is(warnings.length, 7);
  t.deepEqual(runs.find((r) => r.record.task === 'partial')!.metrics.map((l) => (l.type === 'step' ? l.step : -1)), [0, 1]);
  t.is(runs.find((r) => r.record.task === 'midbad')!.metrics.length, 2);
  t.is(runs.find((r) => r.record.task === 'acts')!.activations, null);
});

test('collectRuns: wrong argument types and missing folders are errors', async (t) => {
  await t.throwsAsync(() => collectRuns(42 as unknown as string), { instanceOf: TypeError });
  await t.throwsAsync(() => collectRuns(join(tmpdir(), 'af-report-does-not-exist-xyz')), { instanceOf: IoError });
});

// ---- Table 1 ----------------------------------------------------------------------------------

test('table1: means, sample stds, seed counts and the Avg. row', async (t) => {
  const { collected } = await fixture();
  const t1 = table1(collected.runs);
  t.deepEqual(t1.columns.map((c) => c.setup), COLUMNS);
  t.deepEqual(t1.columns.map((c) => c.title), ['Head', 'Full', 'ST-A', 'MT-A', 'Fusion w/ ST-A', 'Fusion w/ MT-A']);
  t.deepEqual(t1.rows.map((r) => r.task), TASKS);
  for (const row of t1.rows) {
    t.deepEqual(row.metrics, [METRIC[row.task]]);
    for (const setup of COLUMNS) {
      const values = VALUES[row.task]![setup];
      const cell = row.cells[setup];
      if (!values) {
        t.is(cell, undefined, `${row.task}/${setup} is empty`);
        continue;
      }
      t.truthy(cell, `${row.task}/${setup}`);
      t.is(cell!.n, values.length);
      t.true(Math.abs(cell!.mean - mean(pct(values))) < 1e-9, `${row.task}/${setup} mean`);
      t.true(Math.abs(cell!.std - sampleStd(pct(values))) < 1e-9, `${row.task}/${setup} std`);
    }
  }
  // Spot values computed by hand: mrpc ST-A uses the newest seed-1 run (83, 81, 82).
  t.true(Math.abs(t1.rows[0]!.cells['st-a']!.mean - 82) < 1e-9);
  t.true(Math.abs(t1.rows[0]!.cells['st-a']!.std - 1) < 1e-9);
  t.is(t1.rows[2]!.cells.full!.std, 0); // one seed
  // Avg.: only the columns every task has.
  for (const setup of COLUMNS) {
    const all = TASKS.every((task) => VALUES[task]![setup]);
    const expected = all ? mean(TASKS.map((task) => mean(pct(VALUES[task]![setup]!)))) : null;
    if (expected === null) t.is(t1.average[setup], null, setup);
    else t.true(Math.abs(t1.average[setup]! - expected) < 1e-9, setup);
  }
  t.true(Math.abs(t1.average['st-a']! - (82 + 66 + 91) / 3) < 1e-9);
  // JSON-serialisable as is.
  t.deepEqual(JSON.parse(JSON.stringify(t1)).rows[1].task, 'rte');
});

test('table1: duplicates keep the newest run and warn', async (t) => {
  const { root, collected } = await fixture();
  const t1 = table1(collected.runs);
  const dup = t1.warnings.filter((w) => w.startsWith('duplicate run mrpc / st-a / seed 1'));
  t.is(dup.length, 2);
  t.true(dup.every((w) => w.includes(`kept ${join(root, 'rerun', 'a')} (finished 2024-05-01T11:00:00.000Z)`)));
  t.true(dup.some((w) => w.includes(`ignored ${join(root, 'zzz-old', 'b')}`)));
  t.true(dup.some((w) => w.includes(`ignored ${join(root, 'mrpc', 'st-a', 'seed-1')}`)));
  t.deepEqual(t1.rows[0]!.cells['st-a']!.values.map((v) => Math.round(v * 1000) / 1000), [83, 81, 82]);
});

test('table1Markdown: header, cells with 2 decimals, n markers, Avg. and the metric footnote', async (t) => {
  const { collected } = await fixture();
  const md = table1Markdown(table1(collected.runs));
  const lines = md.split('\n');
  t.is(lines[0], '| task | Head | Full | ST-A | MT-A | Fusion w/ ST-A | Fusion w/ MT-A |');
  const cell = (task: string, setup: SetupId) => {
    const v = VALUES[task]![setup];
    if (!v) return '–';
    const text = `${f2(mean(pct(v)))} ± ${f2(sampleStd(pct(v)))}`;
    return v.length === 3 ? text : `${text} (n=${v.length})`;
  };
  for (const task of TASKS) {
    t.true(lines.includes(`| ${task} | ${COLUMNS.map((s) => cell(task, s)).join(' | ')} |`), `row ${task}`);
  }
  t.true(lines.includes('| mrpc | 71.00 ± 1.00 | – | 82.00 ± 1.00 | 81.00 ± 2.65 | 82.30 ± 1.00 | 80.70 ± 1.00 |'));
  t.true(md.includes('61.00 ± 1.41 (n=2)'));
  t.true(md.includes('90.00 ± 0.00 (n=1)'));
  t.true(lines.includes(`| **Avg.** | – | – | ${f2((82 + 66 + 91) / 3)} | – | ${f2((82.3 + 67 + 90.69) / 3)} | ${f2((80.7 + 65.29 + 95) / 3)} |`));
  t.regex(md, /mrpc: f1 \(test\)/);
  t.regex(md, /rte: accuracy/);
});

// ---- Table 2 ----------------------------------------------------------------------------------

test('classifyDiff: ±0.3 is "same", anything past it is not', (t) => {
  t.is(classifyDiff(0.3), 'same');
  t.is(classifyDiff(-0.3), 'same');
  t.is(classifyDiff(0), 'same');
  t.is(classifyDiff(0.300001), 'improved');
  t.is(classifyDiff(-0.300001), 'worse');
  t.is(classifyDiff(71.6 - 71.3), 'same'); // 0.29999999999999716
  t.is(classifyDiff(0.1 + 0.2), 'same'); // 0.30000000000000004
});

test('table2: groups at the ±0.3 thresholds, only tasks with both setups', async (t) => {
  const { collected } = await fixture();
  const t2 = table2(collected.runs);
  const [st, mt] = t2.comparisons;
  t.is(st!.title, 'Fusion w/ ST-A vs ST-A');
  t.is(mt!.title, 'Fusion w/ MT-A vs MT-A');
  const tasks = (es: { task: string }[]) => es.map((e) => e.task);
  t.deepEqual(tasks(st!.improved), ['rte']);
  t.deepEqual(tasks(st!.same), ['mrpc']); // +0.30 exactly
  t.deepEqual(tasks(st!.worse), ['sst2']); // −0.31
  t.deepEqual(st!.counts, { improved: 1, same: 1, worse: 1 });
  // sst2 has Fusion w/ MT-A but no MT-A: not counted.
  t.deepEqual(tasks(mt!.same).sort(), ['mrpc', 'rte']); // −0.30 exactly, +0.29
  t.deepEqual(mt!.counts, { improved: 0, same: 2, worse: 0 });
  const diff = (c: typeof st, task: string) => [...c!.improved, ...c!.same, ...c!.worse].find((e) => e.task === task)!.diff;
  t.true(Math.abs(diff(st, 'rte') - 1) < 1e-9);
  t.true(Math.abs(diff(st, 'sst2') + 0.31) < 1e-9);
  t.true(Math.abs(diff(mt, 'mrpc') + 0.3) < 1e-9);

  const md = table2Markdown(t2);
  t.true(md.includes('| Fusion w/ ST-A vs ST-A | 1 | 1 | 1 |'));
  t.true(md.includes('| Fusion w/ MT-A vs MT-A | 0 | 2 | 0 |'));
  t.true(md.includes('| Fusion w/ ST-A vs ST-A | rte (+1.00) | mrpc (+0.30) | sst2 (-0.31) |'));
  t.true(md.includes('mrpc (-0.30)'));
});

// ---- Activations and heatmaps -----------------------------------------------------------------

test('activationMatrix averages over seeds per task and setup, null for missing adapters', async (t) => {
  const { collected } = await fixture();
  const m = activationMatrix(collected.runs);
  t.deepEqual(m.adapters, ['mrpc', 'rte', 'sst2']);
  t.deepEqual(m.rows.map((r) => r.label), [
    'mrpc (Fusion w/ ST-A)', 'rte (Fusion w/ ST-A)', 'sst2 (Fusion w/ ST-A)',
    'mrpc (Fusion w/ MT-A)', 'rte (Fusion w/ MT-A)', 'sst2 (Fusion w/ MT-A)',
  ]);
  t.deepEqual(m.layers.map((l) => l.layer), [1, 2]); // layer 0 has no fusion
  const close = (a: number | null | undefined, b: number) => a !== null && a !== undefined && Math.abs(a - b) < 1e-9;
  const l1 = m.layers[0]!.values;
  const l2 = m.layers[1]!.values;
  t.true(close(l1[0]![0], mean([0.51, 0.52, 0.53])));
  t.true(close(l1[0]![2], mean([0.19, 0.18, 0.17])));
  t.true(close(l1[3]![0], mean([0.52, 0.54, 0.56])));
  t.is(l1[2]![0], null); // sst2 under ST-A did not fuse the mrpc adapter
  t.true(close(l2[2]![1], mean([0.1, 0.2, 0.3])));
  t.true(close(l2[2]![2], mean([0.9, 0.8, 0.7])));
  t.true(close(m.all[2]![2], mean([0.6, mean([0.9, 0.8, 0.7])])));
  t.true(close(m.all[0]![1], 0.25));
  t.is(m.all[2]![0], null);
  t.deepEqual(m.rows[0]!.seeds, [1, 2, 3]);
  t.deepEqual(JSON.parse(JSON.stringify(m)), m);
});

const EVIL = `<script>alert("x")</script> & 'q'`;
function handMatrix(): ActivationMatrix {
  return {
    rows: [
      { task: EVIL, setup: 'fusion-st-a', label: EVIL, seeds: [1], split: 'dev' },
      { task: 'rte', setup: 'fusion-st-a', label: 'rte', seeds: [1], split: 'dev' },
    ],
    adapters: ['sentiment_analysis_long_name', 'rte'],
    layers: [
      { layer: 0, values: [[0.91, 0.09], [0.25, null]] },
      { layer: 3, values: [[0.125, 0.875], [0.5, 0.5]] },
    ],
    all: [[0.5175, 0.4825], [0.375, 0.5]],
  };
}

test('heatmapSvg: escaped labels, every value with 2 decimals, title and colour bar', (t) => {
  const svg = heatmapSvg(handMatrix(), 0);
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.false(svg.includes('<script>'));
  t.false(svg.includes(`"x"`));
  t.true(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'));
  for (const v of ['0.91', '0.09', '0.25']) t.true(svg.includes(`>${v}</text>`), v);
  t.true(svg.includes('>–</text>')); // the null cell
  t.true(svg.includes('Fusion activations — layer 0'));
  t.true(svg.includes('weight (0 … 1)'));
  t.true(svg.includes('font-family="DejaVu Sans, Arial, sans-serif"'));
  t.true(svg.includes('rotate(-45')); // a long adapter name is rotated
  // Dark cells get white text, light ones dark text.
  t.regex(svg, /fill="#ffffff">0\.91<\/text>/);
  t.regex(svg, /fill="#1a1a1a">0\.09<\/text>/);

  const all = heatmapSvg(handMatrix(), 'all', { scale: 'max', title: 'Custom & title' });
  t.true(all.includes('Custom &amp; title'));
  t.true(all.includes('weight (0 … max)'));
  t.true(all.includes('>0.52</text>'));
  t.true(heatmapSvg(handMatrix(), 'all').includes('Fusion activations — all layers'));
  t.throws(() => heatmapSvg(handMatrix(), 1), { instanceOf: InvalidArgumentError });
  t.throws(() => heatmapSvg(handMatrix(), 'first' as unknown as number), { instanceOf: TypeError });
  t.throws(() => heatmapSvg({ rows: [], adapters: [], layers: [], all: [] }, 'all'), { instanceOf: InvalidArgumentError });
});

test('heatmapPng: a PNG twice the SVG size', async (t) => {
  const svg = heatmapSvg(handMatrix(), 3);
  const w = Number(/width="(\d+)"/.exec(svg)![1]);
  const h = Number(/height="(\d+)"/.exec(svg)![1]);
  const png = await heatmapPng(svg);
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  t.is(png.toString('latin1', 12, 16), 'IHDR');
  t.is(png.readUInt32BE(16), 2 * w);
  t.is(png.readUInt32BE(20), 2 * h);
  t.true(png.length > 2000); // text and colours, not an empty canvas
  await t.throwsAsync(() => heatmapPng('<svg'), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(() => heatmapPng(svg, { zoom: 0 }), { instanceOf: InvalidArgumentError });
});

// ---- writeReport ------------------------------------------------------------------------------

test('writeReport writes the tables, the matrix and one heatmap per layer, and removes stale ones', async (t) => {
  const { root } = await fixture();
  const out = await tempDir(t, 'af-report-out-');
  await mkdir(join(out, 'heatmaps'));
  await writeFile(join(out, 'heatmaps', 'layer-7.svg'), '<svg/>');
  await writeFile(join(out, 'heatmaps', 'notes.txt'), 'mine');
  const res = await writeReport(root, out, { html: false });
  const names = res.paths.map((p) => p.slice(out.length + 1).split('\\').join('/')).sort();
  t.deepEqual(names, [
    'fusion_activations.json',
    'heatmaps/all-layers.png', 'heatmaps/all-layers.svg',
    'heatmaps/layer-1.png', 'heatmaps/layer-1.svg',
    'heatmaps/layer-2.png', 'heatmaps/layer-2.svg',
    'table1.json', 'table1.md', 'table2.json', 'table2.md',
  ]);
  t.false(existsSync(join(out, 'heatmaps', 'layer-7.svg')));
  t.true(existsSync(join(out, 'heatmaps', 'notes.txt')));
  t.false(existsSync(join(out, 'report.html')));
  t.true((await readFile(join(out, 'table1.md'), 'utf8')).includes(table1Markdown(res.table1)));
  t.deepEqual(JSON.parse(await readFile(join(out, 'table2.json'), 'utf8')).comparisons[0].counts, { improved: 1, same: 1, worse: 1 });
  t.deepEqual(JSON.parse(await readFile(join(out, 'fusion_activations.json'), 'utf8')).adapters, ['mrpc', 'rte', 'sst2']);
  t.true((await readFile(join(out, 'heatmaps', 'layer-2.svg'), 'utf8')).includes('Fusion activations — layer 2'));
  t.is(res.warnings.filter((w) => w.startsWith('duplicate run')).length, 2);
  t.is(res.runs.length, TASKS.reduce((n, task) => n + Object.values(VALUES[task]!).reduce((m, v) => m + v!.length, 0), 0));
});

test('writeReport: no runs is an InvalidArgumentError; bad arguments are TypeErrors', async (t) => {
  const empty = await tempDir(t, 'af-report-empty-');
  await mkdir(join(empty, 'x'));
  await writeFile(join(empty, 'x', 'run.json'), 'nope');
  const err = await t.throwsAsync(() => writeReport(empty, join(empty, 'out')), { instanceOf: InvalidArgumentError });
  t.regex(err!.message, /no valid run\.json/);
  t.regex(err!.message, /x[\\/]run\.json/);
  await t.throwsAsync(() => writeReport(empty, ''), { instanceOf: TypeError });
  await t.throwsAsync(() => writeReport(empty, join(empty, 'out'), { html: 'yes' as unknown as boolean }), { instanceOf: TypeError });
});
