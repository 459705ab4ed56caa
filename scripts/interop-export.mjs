#!/usr/bin/env node
// Interop, AdapterHub as the client: builds adapters, heads and fusion layers with OUR API on
// fixtures/adapters/base, saves them with OUR savers into fixtures/interop/ours/<case>/, and
// writes our logits (and fusion attentions) for fixed inputs into <case>/expected.safetensors.
// scripts/interop_adapterhub.py then loads every folder into the Python AdapterHub library and
// records its verdict in fixtures/interop/adapterhub_results.json.
//
//   npx tsc -p tsconfig.json && node scripts/interop-export.mjs [outDir]
//   .venv-ref/bin/python scripts/interop_adapterhub.py
//
// Deterministic: every adapter/fusion/head weight is overwritten with values from a small integer
// PRNG (only exactly-rounded arithmetic, so no dependence on the platform's libm or on the
// core's initialiser), inputs likewise. test/adapters-interop.test.ts re-runs exportInterop()
// and checks that the module files come out byte-identical to the committed ones, so the
// committed AdapterHub verdict still applies to the current writer.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The base model, by the relative path AdapterHub will see as model_name. */
export const BASE = 'fixtures/adapters/base';
export const DEFAULT_OUT = join(repoRoot, 'fixtures', 'interop', 'ours');

// mulberry32: a tiny 32-bit PRNG in integer arithmetic.
function prng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // Approximately N(0, 1): Irwin–Hall sum of 4 uniforms (variance 1/3), centred and scaled.
  const normal = () => (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508075688772;
  const int = (lo, hi) => lo + Math.floor(uniform() * (hi - lo + 1));
  return { uniform, normal, int };
}

// Each case: modules built with our API, the active setup, folders to save into (a head with the
// adapter's name goes into the adapter's folder, as AdapterHub's save_adapter(with_head=True) does).
const CASES = [
  {
    name: 'pfeiffer',
    input: 'cls',
    build: async (m) => {
      await m.addAdapter('a', { reductionFactor: 8, seed: 11 });
      await m.addClassificationHead('cls', { numLabels: 3, seed: 12 });
    },
    active: 'a',
    head: 'cls',
  },
  {
    name: 'houlsby',
    input: 'cls',
    build: async (m) => {
      await m.addAdapter('h', { config: 'houlsby', reductionFactor: 4, seed: 21 });
      await m.addClassificationHead('h', { numLabels: 3, seed: 22 });
    },
    active: 'h',
    head: 'h',
  },
  {
    name: 'options',
    input: 'cls',
    build: async (m) => {
      await m.addAdapter('g', { reductionFactor: 2, nonLinearity: 'gelu', leaveOut: [0], dropout: 0.1, seed: 31 });
      await m.addClassificationHead('sentiment', { numLabels: 3, activationFunction: 'relu', id2label: ['neg', 'neu', 'pos'], dropoutProb: 0.2, seed: 32 });
    },
    active: 'g',
    head: 'sentiment',
  },
  {
    // A partial config object: saved with every BnConfig field (AdapterHub needs them).
    name: 'partial-config',
    input: 'cls',
    build: async (m) => {
      await m.addAdapter('p', { config: { reduction_factor: 6, original_ln_before: true, non_linearity: 'tanh', scaling: 2 }, seed: 41 });
      await m.addClassificationHead('cls', { numLabels: 2, seed: 42 });
    },
    active: 'p',
    head: 'cls',
  },
  {
    name: 'multiple-choice',
    input: 'mc',
    build: async (m) => {
      await m.addAdapter('a', { reductionFactor: 8, seed: 51 });
      await m.addMultipleChoiceHead('mc', { numChoices: 3, seed: 52 });
    },
    active: 'a',
    head: 'mc',
  },
  {
    name: 'regression',
    input: 'cls',
    build: async (m) => {
      await m.addAdapter('a', { reductionFactor: 4, seed: 61 });
      await m.addClassificationHead('reg', { numLabels: 1, seed: 62 });
    },
    active: 'a',
    head: 'reg',
  },
  ...[
    ['fusion-dynamic', { config: 'dynamic' }, 0.45],
    // Temperature (T = 50 in the first forward, as in AdapterHub) needs large scores to matter.
    ['fusion-static-temperature', { config: 'static', temperature: true, dropoutProb: 0.1 }, 3.0],
  ].map(([name, fusion, qkGain], i) => ({
    name,
    input: 'cls',
    qkGain,
    build: async (m) => {
      await m.addAdapter('a', { reductionFactor: 8, seed: 71 + 10 * i });
      await m.addAdapter('b', { reductionFactor: 4, seed: 72 + 10 * i });
      await m.addAdapter('c', { reductionFactor: 16, nonLinearity: 'tanh', seed: 73 + 10 * i });
      await m.addAdapterFusion(['a', 'b', 'c'], { ...fusion, seed: 74 + 10 * i });
      await m.addClassificationHead('cls', { numLabels: 3, seed: 75 + 10 * i });
    },
    active: ['a', 'b', 'c'],
    head: 'cls',
  })),
  {
    // Houlsby adapters fuse at the attention output too (attention.output.adapter_fusion_layer).
    name: 'fusion-houlsby',
    input: 'cls',
    qkGain: 0.45,
    build: async (m) => {
      await m.addAdapter('x', { config: 'houlsby', reductionFactor: 8, seed: 101 });
      await m.addAdapter('y', { config: 'houlsby', reductionFactor: 6, seed: 102 });
      await m.addAdapterFusion(['x', 'y'], { config: 'dynamic', seed: 103 });
      await m.addClassificationHead('cls', { numLabels: 3, layers: 1, seed: 104 });
    },
    active: ['x', 'y'],
    head: 'cls',
  },
];

const isModuleParam = (n) => n.includes('.adapters.') || n.includes('.adapter_fusion_layer.') || n.startsWith('heads.');

/** Overwrites every module weight: W ~ N/√fan_in, biases 0.2·N, fusion Q/K gain·N/√D, W_v = I + 0.05·N. */
async function setWeights(model, rnd, qkGain) {
  for (const p of model.parameters()) {
    if (!isModuleParam(p.name)) continue;
    const n = p.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const fusionQK = p.name.includes('.adapter_fusion_layer.') && (p.name.includes('.query.') || p.name.includes('.key.'));
    if (p.name.endsWith('.value.weight')) {
      const D = p.shape[0];
      for (let i = 0; i < n; i++) v[i] = (i % (D + 1) === 0 ? 1 : 0) + 0.05 * rnd.normal();
    } else if (p.name.endsWith('.weight')) {
      const scale = (fusionQK ? qkGain : 1) / Math.sqrt(p.shape[1]);
      for (let i = 0; i < n; i++) v[i] = scale * rnd.normal();
    } else {
      for (let i = 0; i < n; i++) v[i] = 0.2 * rnd.normal();
    }
    await model.setParameter(p.name, v);
  }
}

/** Token ids 1..96 with right padding; types 0 then 1 (the second segment starts mid-way). */
function makeInputs(rnd, kind) {
  const [rows, L, numChoices] = kind === 'mc' ? [6, 10, 3] : [4, 12, 0];
  const ids = new Int32Array(rows * L);
  const types = new Int32Array(rows * L);
  const mask = new Int32Array(rows * L);
  for (let r = 0; r < rows; r++) {
    const len = r === 0 ? L : rnd.int(4, L);
    const second = rnd.int(2, len - 1);
    for (let j = 0; j < len; j++) {
      ids[r * L + j] = rnd.int(1, 96);
      types[r * L + j] = j >= second ? 1 : 0;
      mask[r * L + j] = 1;
    }
  }
  ids[1] = 96;
  return { ids, types, mask, rows, L, numChoices };
}

/** Builds, saves and runs every case into `outRoot` (absolute or relative to the cwd). */
export async function exportInterop(outRoot = DEFAULT_OUT, { log = () => {} } = {}) {
  const out = resolve(outRoot);
  const { loadModel, Fuse, writeSafetensors } = await import(pathToFileURL(join(repoRoot, 'dist', 'lib', 'index.js')).href);
  const prevCwd = process.cwd();
  process.chdir(repoRoot); // so that model_name is the relative BASE, as in AdapterHub's own fixtures
  try {
    rmSync(out, { recursive: true, force: true });
    for (const [index, c] of CASES.entries()) {
      const dir = join(out, c.name);
      mkdirSync(dir, { recursive: true });
      const model = await loadModel(BASE);
      try {
        await c.build(model);
        const rnd = prng(0x5eed0000 + index);
        await setWeights(model, rnd, c.qkGain ?? 1);
        const fuse = Array.isArray(c.active) ? new Fuse(...c.active) : null;
        await model.setActiveAdapters(fuse ?? c.active, { head: c.head });

        const folders = [];
        for (const a of model.adapters()) {
          await model.saveAdapter(join(dir, a), a);
          folders.push(a);
        }
        for (const f of model.adapterFusions()) {
          await model.saveAdapterFusion(join(dir, f), f);
          folders.push(f);
        }
        for (const h of model.heads()) {
          await model.saveHead(join(dir, h), h);
          if (!folders.includes(h)) folders.push(h);
        }

        const inp = makeInputs(rnd, c.input);
        const pred = await model.predict(
          { inputIds: inp.ids, tokenTypeIds: inp.types, attentionMask: inp.mask, batchSize: inp.rows, seqLen: inp.L },
          { outputFusionAttentions: !!fuse },
        );
        const lead = inp.numChoices ? [inp.rows / inp.numChoices, inp.numChoices] : [inp.rows];
        const tensors = [
          { name: 'input_ids', dtype: 'I32', shape: [...lead, inp.L], data: inp.ids },
          { name: 'token_type_ids', dtype: 'I32', shape: [...lead, inp.L], data: inp.types },
          { name: 'attention_mask', dtype: 'I32', shape: [...lead, inp.L], data: inp.mask },
          { name: 'logits', dtype: 'F32', shape: [pred.examples, pred.classes], data: pred.logits },
        ];
        (pred.fusionAttentions ?? []).forEach((a, l) => {
          if (a) tensors.push({ name: `fusion_attentions.${l}`, dtype: 'F32', shape: [inp.rows, inp.L, a.length / (inp.rows * inp.L)], data: a });
        });
        await writeSafetensors(join(dir, 'expected.safetensors'), tensors, {});

        const manifest = {
          active: fuse ? { fuse: [...fuse.adapters] } : c.active,
          adapters: model.adapters(),
          base: BASE,
          folders,
          fusions: model.adapterFusions(),
          head: c.head,
          heads: model.heads(),
          num_choices: inp.numChoices || null,
        };
        writeFileSync(join(dir, 'case.json'), JSON.stringify(manifest, null, 2) + '\n');
        log(`${c.name}: ${folders.join(' ')} (${pred.examples}x${pred.classes} logits)`);
      } finally {
        model.dispose();
      }
    }
  } finally {
    process.chdir(prevCwd);
  }
  return CASES.map((c) => c.name);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? DEFAULT_OUT;
  await exportInterop(outDir, { log: (s) => console.log(s) });
  console.log(`wrote ${outDir}`);
}
