// Interop with AdapterHub as the client of OUR files. scripts/interop-export.mjs saved models
// built here into fixtures/interop/ours; scripts/interop_adapterhub.py loaded them into the
// Python AdapterHub library and wrote its verdict to fixtures/interop/adapterhub_results.json
// (that needs PyTorch, so it is committed rather than run here). These tests make sure the
// verdict still applies: today's writer produces the same files, and the verdict is a pass.
// (The other direction, AdapterHub's files read by us, is adapters-golden.test.ts.)
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSafetensors } from '../lib/index.js';
import { fixturesDir, repoRoot } from './helpers/paths.js';
import { maxRelError } from './helpers/compare.js';

const oursDir = join(fixturesDir, 'interop', 'ours');
const resultsPath = join(fixturesDir, 'interop', 'adapterhub_results.json');

function listFiles(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listFiles(root, p));
    else out.push(relative(root, p));
  }
  return out.sort();
}

test('saving the same models today gives the files AdapterHub was checked against', async (t) => {
  const url = pathToFileURL(join(repoRoot, 'scripts', 'interop-export.mjs')).href;
  const { exportInterop } = (await import(url)) as { exportInterop(out: string): Promise<string[]> };
  const out = mkdtempSync(join(tmpdir(), 'af-interop-'));
  try {
    await exportInterop(out);
    const files = listFiles(oursDir);
    t.deepEqual(listFiles(out), files);
    t.true(files.length >= 40, `${files.length} files`);
    for (const f of files) {
      if (f.endsWith('expected.safetensors')) {
        // Our logits may move in the last bits with the thread count or GEMM kernel: the
        // inputs must be identical, the outputs within the tolerance AdapterHub was held to.
        const want = await readSafetensors(join(oursDir, f));
        const got = await readSafetensors(join(out, f));
        t.deepEqual(got.tensors.map((x) => [x.name, x.dtype, x.shape]), want.tensors.map((x) => [x.name, x.dtype, x.shape]), f);
        for (const [i, w] of want.tensors.entries()) {
          const g = got.tensors[i];
          if (w.dtype === 'I32') t.deepEqual(g.data, w.data, `${f}: ${w.name}`);
          else {
            const e = maxRelError(g.data as Float32Array, w.data as Float32Array);
            t.true(e <= 1e-5, `${f}: ${w.name} rel error ${e}`);
          }
        }
      } else {
        t.true(readFileSync(join(out, f)).equals(readFileSync(join(oursDir, f))), `${f} differs from the committed file`);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

interface CaseResult {
  passed: boolean;
  loaded_exactly: boolean;
  resave_identical: boolean;
  logits_max_rel: number;
  fusion_attentions_max_rel?: number;
  control_without_adapters_max_rel: number;
  problems: string[];
}

test('AdapterHub loaded every committed case exactly and reproduced our logits', (t) => {
  const doc = JSON.parse(readFileSync(resultsPath, 'utf8')) as {
    adapters_version: string;
    tolerance: number;
    all_passed: boolean;
    cases: Record<string, CaseResult>;
  };
  t.is(doc.adapters_version, '1.3.0');
  t.is(doc.tolerance, 1e-5);
  t.true(doc.all_passed);
  const cases = readdirSync(oursDir).sort();
  t.deepEqual(Object.keys(doc.cases).sort(), cases);
  for (const c of cases) {
    const r = doc.cases[c];
    t.true(r.passed, `${c}: ${r.problems.join('; ')}`);
    t.deepEqual(r.problems, [], c);
    t.true(r.loaded_exactly, `${c}: weights/configs`);
    t.true(r.resave_identical, `${c}: AdapterHub's re-save`);
    t.true(r.logits_max_rel <= 1e-5, `${c}: logits ${r.logits_max_rel}`);
    if (r.fusion_attentions_max_rel !== undefined) t.true(r.fusion_attentions_max_rel <= 1e-5, `${c}: fusion ${r.fusion_attentions_max_rel}`);
    t.true(r.control_without_adapters_max_rel > 1e-3, `${c}: the adapters must matter`);
  }
});
