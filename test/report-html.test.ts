// The HTML report in a real browser: writeReport({ html: true }), then report.html opened from
// disk in headless Chromium with every non-file request blocked. Checks the tables' numbers, the
// layer control of the heatmap, that a task name carrying HTML stays text, and saves a
// screenshot to test-output/report-screenshot.png for a person to look at.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SetupId } from '../lib/runs/record.js';
import { writeReport } from '../lib/report/index.js';
import { writeRun } from './helpers/report-runs.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

// Compiled tests live in dist/test: the repository root is the folder above holding package.json.
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found');
    dir = parent;
  }
  return dir;
}

const EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const TASKS = ['mrpc', 'rte', EVIL];
const SETUPS: SetupId[] = ['st-a', 'fusion-st-a'];
const ADAPTERS = ['mrpc', 'rte', 'sst2'];
// result.value per task, setup, seed.
const value = (ti: number, setup: SetupId, seed: number) => 0.7 + 0.05 * ti + (setup === 'fusion-st-a' ? 0.02 : 0) + 0.01 * seed;
// Layer 1 and layer 2 give clearly different, recognisable weights (layer 0 has no fusion).
const LAYER1 = [0.7, 0.2, 0.1];
const LAYER2 = [0.15, 0.25, 0.6];

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
function sampleStd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The names (lower case) of every attribute of every tag in `html`, quoted values skipped. */
function attributeNames(html: string): Set<string> {
  const names = new Set<string>();
  for (const tag of html.matchAll(/<[a-zA-Z][\w-]*((?:\s+[^\s=>\/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g)) {
    for (const a of tag[1]!.matchAll(/\s+([^\s=>\/]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)) names.add(a[1]!.toLowerCase());
  }
  return names;
}

if (!hasChromium && process.env.CI) {
  // CI installs Debian's chromium (.ci/run): there, a missing browser is a failure, not a skip.
  test(`report.html in headless Chromium: ${CHROMIUM} must exist in CI`, (t) => {
    t.fail(`${CHROMIUM} does not exist; .ci/run should have installed Debian's chromium`);
  });
} else if (!hasChromium) {
  test.skip(`report.html in headless Chromium (skipped: ${CHROMIUM} does not exist)`, () => {});
} else {
  test('report.html opens offline in Chromium: tables, layer control, escaping, screenshot', async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'af-report-html-'));
    t.teardown(() => rm(work, { recursive: true, force: true }));
    const runsDir = join(work, 'runs');
    for (const [ti, task] of TASKS.entries()) {
      for (const setup of SETUPS) {
        for (const seed of [1, 2, 3]) {
          await writeRun(runsDir, {
            task,
            setup,
            seed,
            value: value(ti, setup, seed),
            metric: ti === 0 ? 'f1' : 'accuracy',
            activations: setup === 'fusion-st-a' ? { adapters: ADAPTERS, layers: [null, LAYER1, LAYER2] } : undefined,
          });
        }
      }
    }
    const out = join(work, 'report');
    const res = await writeReport(runsDir, out, { html: true, generatedAt: new Date('2024-06-01T12:00:00Z') });
    const htmlPath = join(out, 'report.html');
    t.true(res.paths.includes(htmlPath));
    const html = await readFile(htmlPath, 'utf8');
    // Self-contained: no element loads anything (the SVG xmlns is a name, not a request), and
    // no element carries an event handler.
    const attrs = attributeNames(html);
    t.true(attrs.has('data-layer') && attrs.has('viewbox'), 'the attribute scan sees attributes');
    for (const name of ['src', 'href', 'xlink:href', 'srcset', 'action', 'poster', 'data']) t.false(attrs.has(name), name);
    t.deepEqual([...attrs].filter((a) => a.startsWith('on')), []);
    t.notRegex(html, /url\((?!#)/);
    t.false(html.includes(EVIL));

    const { chromium } = await import('playwright-core');
    const profile = await mkdtemp(join(tmpdir(), 'af-chromium-'));
    t.teardown(() => rm(profile, { recursive: true, force: true }));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    t.teardown(() => context.close());
    const blocked: string[] = [];
    await context.route('**', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });

    // Table 1: every cell holds the numbers computed here.
    const rows = await page.$$eval('#table1 tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    const sorted = [...TASKS].sort((a, b) => (a < b ? -1 : 1));
    t.deepEqual(rows.map((r) => r[0]), [...sorted, 'Avg.']);
    const cellMeans: number[][] = [];
    for (const [ri, task] of sorted.entries()) {
      const ti = TASKS.indexOf(task);
      cellMeans.push([]);
      for (const [ci, setup] of SETUPS.entries()) {
        const vs = [1, 2, 3].map((s) => value(ti, setup, s) * 100);
        cellMeans[ri]!.push(mean(vs));
        t.is(rows[ri]![ci + 1], `${mean(vs).toFixed(2)} ± ${sampleStd(vs).toFixed(2)}`, `${task} ${setup}`);
      }
    }
    t.deepEqual(rows[3]!.slice(1), SETUPS.map((_, ci) => mean(cellMeans.map((r) => r[ci]!)).toFixed(2)));
    // The same text as table1.md.
    const md = await readFile(join(out, 'table1.md'), 'utf8');
    for (const row of rows.slice(0, 3)) t.true(md.includes(`| ${row.slice(1).join(' | ')} |`));

    // Table 2: fusion is 2 points better everywhere.
    const t2 = await page.$$eval('#table2 tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
    t.deepEqual(t2[0], ['Fusion w/ ST-A vs ST-A', '3', '0', '0']);

    // The layer control switches the visible heatmap.
    const options = await page.$$eval('#layer-select option', (os) => os.map((o) => [(o as unknown as { value: string }).value, o.textContent]));
    t.deepEqual(options, [['all', 'all layers'], ['layer-1', 'layer 1'], ['layer-2', 'layer 2']]);
    const visible = page.locator('#heatmap figure:visible');
    t.is(await visible.count(), 1);
    const allText = (await visible.textContent()) ?? '';
    t.true(allText.includes('Fusion activations — all layers'));
    t.true(allText.includes(mean([LAYER1[0]!, LAYER2[0]!]).toFixed(2)));
    await page.selectOption('#layer-select', 'layer-1');
    t.is(await visible.count(), 1);
    const l1 = (await visible.textContent()) ?? '';
    t.true(l1.includes('Fusion activations — layer 1'));
    t.true(l1.includes('0.70') && !l1.includes('0.60'));
    await page.selectOption('#layer-select', 'layer-2');
    const l2 = (await visible.textContent()) ?? '';
    t.true(l2.includes('Fusion activations — layer 2'));
    t.true(l2.includes('0.60') && !l2.includes('0.70'));
    t.not(l1, l2);
    t.not(l1, allText);

    // The task name carrying HTML is shown as text and ran nothing.
    t.is(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    t.is(await page.locator('#table1 tbody th', { hasText: 'onerror' }).textContent(), EVIL);
    t.is(await page.locator('main img').count(), 0);
    t.is(await page.evaluate(() => (globalThis as unknown as { document: { scripts: unknown[] } }).document.scripts.length), 1);
    t.true((await page.locator('#heatmap figure:visible svg').textContent())!.includes('<img src=x'));

    // Training curves and the runs table are there.
    t.is(await page.locator('figure.curves').count(), TASKS.length * SETUPS.length);
    t.is(await page.locator('#runs tbody tr').count(), TASKS.length * SETUPS.length * 3);

    await page.selectOption('#layer-select', 'all');
    const shot = join(repoRoot(), 'test-output', 'report-screenshot.png');
    await mkdir(dirname(shot), { recursive: true });
    const png = await page.screenshot({ path: shot, fullPage: true });
    t.true(png.length > 10_000);

    t.deepEqual(blocked, [], 'no request left the file system');
    t.deepEqual(pageErrors, []);
    t.deepEqual(consoleErrors, []);
  });
}
