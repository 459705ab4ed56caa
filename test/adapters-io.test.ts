// AdapterHub-compatible files: save → load round trips (bit for bit), our files against
// AdapterHub's own (byte for byte), loadAs, and every malformed input giving a typed error that
// names the file and tensor while leaving the model exactly as it was.
import test, { type ExecutionContext } from 'ava';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Fuse,
  InvalidArgumentError,
  InvalidFileError,
  IoError,
  ShapeMismatchError,
  UnsupportedError,
  loadModel,
  readSafetensors,
  writeSafetensors,
  type BatchInput,
  type BertModel,
  type TensorToWrite,
} from '../lib/index.js';
import { dumpPy, parsePy, pyFloatRepr, PyFloat, PyInt, PyObject, type PyJson } from '../lib/adapters/pyjson.js';
import { fixturesDir, repoRoot } from './helpers/paths.js';
import { loadGolden } from './helpers/golden.js';

// AdapterHub writes the base model's path as `model_name`; the fixtures were saved from
// "fixtures/adapters/base", so the model is loaded by that relative path from the repo root.
process.chdir(repoRoot);
const BASE = 'fixtures/adapters/base';
const fx = (...p: string[]) => join(fixturesDir, 'adapters', ...p);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'af-adapters-io-'));
}

async function batch(caseName: string): Promise<BatchInput> {
  const g = await loadGolden(fx(caseName, 'golden.safetensors'));
  const ids = g.get('input_ids');
  const L = ids.shape[ids.shape.length - 1];
  return {
    inputIds: ids.data as Int32Array,
    tokenTypeIds: g.get('token_type_ids').data as Int32Array,
    attentionMask: g.get('attention_mask').data as Int32Array,
    batchSize: ids.data.length / L,
    seqLen: L,
  };
}

const isModuleParam = (n: string) => n.includes('.adapters.') || n.includes('.adapter_fusion_layer.') || n.startsWith('heads.');

/** Moves every adapter/fusion/head weight off its initial value (biases 0, W_v ≈ I) deterministically. */
async function perturb(model: BertModel): Promise<void> {
  let k = 0;
  for (const p of model.parameters()) {
    if (!isModuleParam(p.name)) continue;
    const v = await model.getParameter(p.name);
    k++;
    for (let i = 0; i < v.length; i++) v[i] += 0.08 * Math.sin(0.7 * i + 1.3 * k);
    await model.setParameter(p.name, v);
  }
}

interface Snapshot {
  adapters: string[];
  fusions: string[];
  heads: string[];
  activeHead: unknown;
  params: unknown;
  values: Map<string, Float32Array>;
}

async function snapshot(model: BertModel): Promise<Snapshot> {
  const values = new Map<string, Float32Array>();
  for (const p of model.parameters()) if (isModuleParam(p.name)) values.set(p.name, await model.getParameter(p.name));
  return {
    adapters: model.adapters(),
    fusions: model.adapterFusions(),
    heads: model.heads(),
    activeHead: model.activeHead(),
    params: model.parameters(),
    values,
  };
}

async function sameModules(t: ExecutionContext, a: BertModel, b: BertModel): Promise<void> {
  // The same parameters (the table order follows the order modules were added in).
  const table = (m: BertModel) => m.parameters().map((p) => [p.name, p.shape] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  t.deepEqual(table(b), table(a));
  for (const p of a.parameters()) {
    if (!isModuleParam(p.name)) continue;
    t.deepEqual(await b.getParameter(p.name), await a.getParameter(p.name), `${p.name} differs`);
  }
}

// ------------------------------------------------------------------ pyjson

test('pyjson writes floats as Python repr and JSON as json.dumps(indent=2, sort_keys=True)', (t) => {
  const reprs: [number, string][] = [
    [1, '1.0'], [0.0001, '0.0001'], [1e-5, '1e-05'], [0.1, '0.1'], [1e16, '1e+16'], [1e15, '1000000000000000.0'],
    [123456789012345678, '1.2345678901234568e+17'], [-0, '-0.0'], [2.5e-7, '2.5e-07'], [1 / 3, '0.3333333333333333'],
    [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'], [0.00012345, '0.00012345'],
    [9999999999999998, '9999999999999998.0'], [12345.678, '12345.678'],
  ];
  for (const [x, want] of reprs) t.is(pyFloatRepr(x), want, `repr(${x})`);
  const text = '{"b":[1,2.0,{"z":null,"a":true}],"a":{},"c":[],"\u00e9":"x\u00e9\ud83d\ude00\u007f\\n\\"\\\\\\t\\u0001\\/","B":-3,"d":1E-5}';
  const want = [
    '{', '  "B": -3,', '  "a": {},', '  "b": [', '    1,', '    2.0,', '    {', '      "a": true,', '      "z": null', '    }', '  ],',
    '  "c": [],', '  "d": 1e-05,', '  "\\u00e9": "x\\u00e9\\ud83d\\ude00\\u007f\\n\\"\\\\\\t\\u0001/"', '}',
  ].join('\n');
  t.is(dumpPy(parsePy(text)), want);
  const v = parsePy('{"i": 3, "f": 3.0, "e": 3e0, "big": 123456789012345678901234567890}') as PyObject;
  t.true(v.get('i') instanceof PyInt);
  t.true(v.get('f') instanceof PyFloat);
  t.true(v.get('e') instanceof PyFloat);
  t.is((v.get('big') as PyInt).value, 123456789012345678901234567890n);
  for (const bad of ['{"a":1,}', '[1 2]', "{'a':1}", '{"a":NaN}', '\ufeff{}', '{"a":1} x', '"\\x"', '01', '{"a":']) {
    t.throws(() => parsePy(bad), undefined, bad);
  }
});

// ------------------------------------------------------------------ AdapterHub's files, byte for byte

test("re-saving AdapterHub's folders gives byte-identical JSON and safetensors files", async (t) => {
  const out = tmp();
  let compared = 0;
  for (const c of readdirSync(fx()).sort()) {
    const root = fx(c, 'saved');
    if (!existsSync(root)) continue;
    const model = await loadModel(BASE);
    try {
      const dirs = readdirSync(root).sort();
      for (const d of dirs) if (existsSync(join(root, d, 'adapter_config.json'))) await model.loadAdapter(join(root, d));
      for (const d of dirs) if (existsSync(join(root, d, 'head_config.json'))) await model.loadHead(join(root, d));
      for (const d of dirs) if (existsSync(join(root, d, 'adapter_fusion_config.json'))) await model.loadAdapterFusion(join(root, d));
      for (const a of model.adapters()) await model.saveAdapter(join(out, c, a), a);
      for (const h of model.heads()) await model.saveHead(join(out, c, h), h);
      for (const f of model.adapterFusions()) await model.saveAdapterFusion(join(out, c, f), f);
      for (const d of dirs) {
        t.deepEqual(readdirSync(join(out, c, d)).sort(), readdirSync(join(root, d)).sort(), `${c}/${d}: file set`);
        for (const f of readdirSync(join(root, d))) {
          const same = readFileSync(join(out, c, d, f)).equals(readFileSync(join(root, d, f)));
          t.true(same, `${c}/saved/${d}/${f} differs from AdapterHub's`);
          compared++;
        }
      }
    } finally {
      model.dispose();
    }
  }
  t.true(compared >= 50, `compared ${compared} files`);
  rmSync(out, { recursive: true, force: true });
});

test("modules created here save to exactly AdapterHub's JSON for the same configuration", async (t) => {
  const out = tmp();
  const model = await loadModel(BASE);
  try {
    await model.addAdapter('a', { reductionFactor: 8 });
    await model.addAdapter('b', { reductionFactor: 4 });
    await model.addAdapter('c', { reductionFactor: 16 });
    await model.addAdapter('h', { config: 'houlsby', reductionFactor: 4 });
    await model.addAdapter('g', { reductionFactor: 2, nonLinearity: 'gelu', leaveOut: [0] });
    await model.addClassificationHead('cls', { numLabels: 3 });
    await model.addMultipleChoiceHead('mc', { numChoices: 3 });
    await model.addClassificationHead('reg', { numLabels: 1 });
    await model.addAdapterFusion(['a', 'b', 'c'], { config: 'dynamic' });
    const pairs: [() => Promise<void>, string, string][] = [
      [() => model.saveAdapter(join(out, 'a'), 'a'), 'a/adapter_config.json', 'pfeiffer/saved/a/adapter_config.json'],
      [() => model.saveAdapter(join(out, 'h'), 'h'), 'h/adapter_config.json', 'houlsby/saved/h/adapter_config.json'],
      [() => model.saveAdapter(join(out, 'g'), 'g'), 'g/adapter_config.json', 'pfeiffer-options/saved/g/adapter_config.json'],
      [() => model.saveHead(join(out, 'cls'), 'cls'), 'cls/head_config.json', 'pfeiffer/saved/cls/head_config.json'],
      [() => model.saveHead(join(out, 'mc'), 'mc'), 'mc/head_config.json', 'multiple-choice/saved/mc/head_config.json'],
      [() => model.saveHead(join(out, 'reg'), 'reg'), 'reg/head_config.json', 'regression/saved/reg/head_config.json'],
      [() => model.saveAdapterFusion(join(out, 'f'), 'a,b,c'), 'f/adapter_fusion_config.json', 'fusion-dynamic/saved/a,b,c/adapter_fusion_config.json'],
    ];
    for (const [save, ours, theirs] of pairs) {
      await save();
      t.is(readFileSync(join(out, ours), 'utf8'), readFileSync(fx(theirs), 'utf8'), ours);
    }
    await model.deleteAdapterFusion('a,b,c');
    await model.addAdapterFusion(['a', 'b', 'c'], { config: 'static' });
    await model.saveAdapterFusion(join(out, 's'), 'a,b,c');
    t.is(readFileSync(join(out, 's/adapter_fusion_config.json'), 'utf8'), readFileSync(fx('fusion-static/saved/a,b,c/adapter_fusion_config.json'), 'utf8'));
    await model.deleteAdapterFusion('a,b,c');
    await model.addAdapterFusion(['a', 'b', 'c'], { config: 'dynamic', temperature: true });
    await model.saveAdapterFusion(join(out, 'T'), 'a,b,c');
    t.is(
      readFileSync(join(out, 'T/adapter_fusion_config.json'), 'utf8'),
      readFileSync(fx('fusion-dynamic-temperature/saved/a,b,c/adapter_fusion_config.json'), 'utf8'),
    );
  } finally {
    model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

/** Same keys (recursively) and the same Python types as a reference JSON object. */
function sameShape(t: ExecutionContext, ours: PyJson, theirs: PyJson, at: string): void {
  const type = (v: PyJson) => (v === null ? 'null' : v instanceof PyObject ? 'dict' : Array.isArray(v) ? 'list' : v instanceof PyInt ? 'int' : v instanceof PyFloat ? 'float' : typeof v);
  t.is(type(ours), type(theirs), `${at}: type`);
  if (ours instanceof PyObject && theirs instanceof PyObject && at !== 'config.label2id') {
    t.deepEqual(ours.keys().sort(), theirs.keys().sort(), `${at}: keys`);
    for (const k of theirs.keys()) if (ours.has(k)) sameShape(t, ours.get(k)!, theirs.get(k)!, at ? `${at}.${k}` : k);
  }
}

test("non-default and partial configurations still save AdapterHub's field set and types (floats stay floats)", async (t) => {
  const out = tmp();
  const model = await loadModel(BASE);
  try {
    // A partial config object (AdapterHub would rebuild the missing fields from BnConfig, whose
    // required fields have no defaults): saved with every field, at the values the core used.
    await model.addAdapter('p', { config: { reduction_factor: 8, original_ln_before: true, scaling: 2, dropout: 0 } });
    await model.addAdapter('q', { reductionFactor: 12, dropout: 0.1, nonLinearity: 'tanh' });
    await model.addAdapterFusion(['p', 'q'], { config: { dropout_prob: 0 } as Record<string, unknown> });
    await model.addClassificationHead('x', { numLabels: 2, dropoutProb: 0 });
    await model.saveAdapter(join(out, 'p'), 'p');
    await model.saveAdapter(join(out, 'q'), 'q');
    await model.saveAdapterFusion(join(out, 'pq'), 'p,q');
    await model.saveHead(join(out, 'x'), 'x');
    const read = (p: string) => parsePy(readFileSync(p, 'utf8'));
    const refAdapter = read(fx('pfeiffer/saved/a/adapter_config.json'));
    for (const n of ['p', 'q']) sameShape(t, read(join(out, n, 'adapter_config.json')), refAdapter, '');
    const refFusion = read(fx('fusion-dynamic/saved/a,b,c/adapter_fusion_config.json')) as PyObject;
    const ourFusion = read(join(out, 'pq', 'adapter_fusion_config.json')) as PyObject;
    // dropout_prob is null in the reference and a float here.
    t.deepEqual((ourFusion.get('config') as PyObject).keys().sort(), (refFusion.get('config') as PyObject).keys().sort());
    t.deepEqual(ourFusion.keys().sort(), refFusion.keys().sort());
    const refHead = read(fx('pfeiffer/saved/cls/head_config.json')) as PyObject;
    const ourHead = read(join(out, 'x', 'head_config.json')) as PyObject;
    t.deepEqual((ourHead.get('config') as PyObject).keys().sort(), (refHead.get('config') as PyObject).keys().sort());

    const p = readFileSync(join(out, 'p', 'adapter_config.json'), 'utf8');
    t.regex(p, /\n {4}"scaling": 2\.0,\n/);
    t.regex(p, /\n {4}"dropout": 0\.0,\n/);
    t.regex(p, /\n {4}"original_ln_before": true,\n/);
    t.regex(p, /\n {4}"mh_adapter": false,\n/);
    t.regex(p, /\n {4}"non_linearity": "relu",\n/);
    t.false(p.endsWith('\n'));
    const q = readFileSync(join(out, 'q', 'adapter_config.json'), 'utf8');
    t.regex(q, /\n {4}"dropout": 0\.1,\n/);
    t.regex(q, /\n {4}"reduction_factor": 12,\n/);
    t.regex(readFileSync(join(out, 'pq', 'adapter_fusion_config.json'), 'utf8'), /\n {4}"dropout_prob": 0\.0,\n/);
    t.regex(readFileSync(join(out, 'x', 'head_config.json'), 'utf8'), /\n {4}"dropout_prob": 0\.0,\n/);

    // And the completed config means the same model: a reload computes the same logits.
    await model.setActiveAdapters(new Fuse('p', 'q'), { head: 'x' });
    await perturb(model);
    for (const n of ['p', 'q']) await model.saveAdapter(join(out, n), n);
    await model.saveAdapterFusion(join(out, 'pq'), 'p,q');
    await model.saveHead(join(out, 'x'), 'x');
    const fresh = await loadModel(BASE);
    try {
      for (const n of ['p', 'q']) await fresh.loadAdapter(join(out, n));
      await fresh.loadAdapterFusion(join(out, 'pq'));
      await fresh.loadHead(join(out, 'x'));
      await fresh.setActiveAdapters(new Fuse('p', 'q'), { head: 'x' });
      const input = await batch('pfeiffer');
      t.deepEqual((await fresh.predict(input)).logits, (await model.predict(input)).logits);
    } finally {
      fresh.dispose();
    }
  } finally {
    model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------ round trips

interface RoundTrip {
  title: string;
  input: string; // golden case whose inputs to run
  build(model: BertModel): Promise<void>;
  setup: string | Fuse;
  head: string;
}

const roundTrips: RoundTrip[] = [
  {
    title: 'pfeiffer adapter + classification head',
    input: 'pfeiffer',
    build: async (m) => {
      await m.addAdapter('a', { reductionFactor: 8, seed: 3 });
      await m.addClassificationHead('cls', { numLabels: 3, seed: 4 });
    },
    setup: 'a',
    head: 'cls',
  },
  {
    title: 'houlsby adapter (attention and FFN sites) + regression head',
    input: 'regression',
    build: async (m) => {
      await m.addAdapter('h', { config: 'houlsby', reductionFactor: 4, seed: 5 });
      await m.addClassificationHead('reg', { numLabels: 1, seed: 6 });
    },
    setup: 'h',
    head: 'reg',
  },
  {
    title: 'adapter with options + multiple-choice head',
    input: 'multiple-choice',
    build: async (m) => {
      await m.addAdapter('g', { reductionFactor: 2, nonLinearity: 'gelu', leaveOut: [1], seed: 7 });
      await m.addMultipleChoiceHead('mc', { numChoices: 3, seed: 8 });
    },
    setup: 'g',
    head: 'mc',
  },
  ...(['dynamic', 'static'] as const).map((kind) => ({
    title: `${kind} fusion over three adapters + classification head`,
    input: 'fusion-dynamic',
    build: async (m: BertModel) => {
      await m.addAdapter('a', { reductionFactor: 8, seed: 1 });
      await m.addAdapter('b', { reductionFactor: 4, seed: 2 });
      await m.addAdapter('c', { reductionFactor: 16, nonLinearity: 'tanh', seed: 3 });
      await m.addAdapterFusion(['a', 'b', 'c'], { config: kind, seed: 9 });
      await m.addClassificationHead('cls', { numLabels: 3, seed: 4 });
    },
    setup: new Fuse('a', 'b', 'c'),
    head: 'cls',
  })),
  {
    title: 'fusion over houlsby adapters (attention-site fusion layers too)',
    input: 'pfeiffer',
    build: async (m: BertModel) => {
      await m.addAdapter('x', { config: 'houlsby', reductionFactor: 8, seed: 1 });
      await m.addAdapter('y', { config: 'houlsby', reductionFactor: 4, seed: 2 });
      await m.addAdapterFusion(['x', 'y'], { config: 'dynamic', seed: 9 });
      await m.addClassificationHead('cls', { numLabels: 3, seed: 4 });
    },
    setup: new Fuse('x', 'y'),
    head: 'cls',
  },
];

for (const rt of roundTrips) {
  test(`round trip, bit for bit: ${rt.title}`, async (t) => {
    const out = tmp();
    const model = await loadModel(BASE);
    const fresh = await loadModel(BASE);
    try {
      await rt.build(model);
      await perturb(model);
      await model.setActiveAdapters(rt.setup, { head: rt.head });
      for (const a of model.adapters()) await model.saveAdapter(join(out, a), a);
      for (const h of model.heads()) await model.saveHead(join(out, h), h);
      for (const f of model.adapterFusions()) await model.saveAdapterFusion(join(out, f), f);
      for (const a of model.adapters()) t.is(await fresh.loadAdapter(join(out, a)), a);
      for (const h of model.heads()) t.is(await fresh.loadHead(join(out, h)), h);
      for (const f of model.adapterFusions()) t.is(await fresh.loadAdapterFusion(join(out, f)), f);
      await fresh.setActiveAdapters(rt.setup, { head: rt.head });
      await sameModules(t, model, fresh);
      for (const a of model.adapters()) t.deepEqual(fresh.adapterConfig(a), model.adapterConfig(a));
      for (const h of model.heads()) t.deepEqual(fresh.headConfig(h), model.headConfig(h));
      for (const f of model.adapterFusions()) t.deepEqual(fresh.adapterFusionConfig(f), model.adapterFusionConfig(f));
      const input = await batch(rt.input);
      const fusion = rt.setup instanceof Fuse;
      const a = await model.predict(input, { outputFusionAttentions: fusion });
      const b = await fresh.predict(input, { outputFusionAttentions: fusion });
      t.deepEqual(b.logits, a.logits);
      t.deepEqual(b.fusionAttentions, a.fusionAttentions);
      // Nothing but the two files per module, no temp files left behind.
      for (const d of readdirSync(out)) t.is(readdirSync(join(out, d)).length, 2, `${d}: ${readdirSync(join(out, d))}`);
    } finally {
      model.dispose();
      fresh.dispose();
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test('loadAs renames an adapter and a head; the weights and predictions are the same', async (t) => {
  const plain = await loadModel(BASE);
  const renamed = await loadModel(BASE);
  try {
    await plain.loadAdapter(fx('pfeiffer/saved/a'));
    await plain.loadHead(fx('pfeiffer/saved/cls'));
    t.is(await renamed.loadAdapter(fx('pfeiffer/saved/a'), { loadAs: 'sentiment' }), 'sentiment');
    t.is(await renamed.loadHead(fx('pfeiffer/saved/cls'), { loadAs: 'three' }), 'three');
    t.deepEqual(renamed.adapters(), ['sentiment']);
    t.deepEqual(renamed.heads(), ['three']);
    for (const p of plain.parameters()) {
      if (!isModuleParam(p.name)) continue;
      const q = p.name.replace('.adapters.a.', '.adapters.sentiment.').replace('heads.cls.', 'heads.three.');
      t.deepEqual(await renamed.getParameter(q), await plain.getParameter(p.name));
    }
    await plain.setActiveAdapters('a', { head: 'cls' });
    await renamed.setActiveAdapters('sentiment', { head: 'three' });
    const input = await batch('pfeiffer');
    t.deepEqual((await renamed.predict(input)).logits, (await plain.predict(input)).logits);
    // The same folder twice, under two names; a renamed adapter saves under its new name.
    t.is(await renamed.loadAdapter(fx('pfeiffer/saved/a'), { loadAs: 'copy' }), 'copy');
    const out = tmp();
    await renamed.saveAdapter(out, 'copy');
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as { name: string };
    t.is(cfg.name, 'copy');
    const { tensors } = await readSafetensors(join(out, 'adapter.safetensors'));
    t.true(tensors.every((x) => x.name.startsWith('bert.encoder.layer.') && x.name.includes('.adapters.copy.')));
    rmSync(out, { recursive: true, force: true });
  } finally {
    plain.dispose();
    renamed.dispose();
  }
});

test('weights keys without the "bert." prefix load too', async (t) => {
  const dir = tmp();
  cpSync(fx('pfeiffer/saved/a'), dir, { recursive: true });
  await rewrite(join(dir, 'adapter.safetensors'), (ts) => ts.map((x) => ({ ...x, name: x.name.slice('bert.'.length) })));
  const a = await loadModel(BASE);
  const b = await loadModel(BASE);
  try {
    await a.loadAdapter(fx('pfeiffer/saved/a'));
    await b.loadAdapter(dir);
    await sameModules(t, a, b);
  } finally {
    a.dispose();
    b.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('adapter_names may be missing from a fusion file (taken from "name")', async (t) => {
  const dir = tmp();
  cpSync(fx('fusion-dynamic/saved/a,b,c'), dir, { recursive: true });
  editJson(join(dir, 'adapter_fusion_config.json'), (o) => {
    delete o.adapter_names;
  });
  const model = await loadModel(BASE);
  try {
    for (const a of ['a', 'b', 'c']) await model.loadAdapter(fx('fusion-dynamic/saved', a));
    t.is(await model.loadAdapterFusion(dir), 'a,b,c');
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------ malformed input

async function rewrite(path: string, change: (tensors: TensorToWrite[]) => TensorToWrite[]): Promise<void> {
  const { tensors } = await readSafetensors(path);
  const list = tensors.map((x) => ({ name: x.name, dtype: 'F32' as const, shape: x.shape, data: x.data as Float32Array }));
  await writeSafetensors(path, change(list));
}

function editJson(path: string, change: (obj: Record<string, any>) => void): void {
  // JSON.stringify writes 1.0 as 1: the core takes either, so the edits below test one thing each.
  const obj = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
  change(obj);
  writeFileSync(path, JSON.stringify(obj, null, 2));
}

/** A model holding pfeiffer's adapter "a" and head "cls" and fusion-dynamic's adapter "b" (no fusion). */
async function populated(): Promise<BertModel> {
  const model = await loadModel(BASE);
  await model.loadAdapter(fx('pfeiffer/saved/a'));
  await model.loadHead(fx('pfeiffer/saved/cls'));
  await model.loadAdapter(fx('fusion-dynamic/saved/b'));
  await model.setActiveAdapters('a', { head: 'cls' });
  return model;
}

type Kind = 'adapter' | 'head' | 'fusion';
interface BadCase {
  title: string;
  kind: Kind;
  src: string; // folder under fixtures/adapters to start from
  edit?: (dir: string) => void | Promise<void>;
  dir?: (dir: string) => string; // load from another path
  loadAs?: string;
  error: new (...a: never[]) => Error;
  message: RegExp;
}

const weightsOf: Record<Kind, string> = {
  adapter: 'adapter.safetensors',
  head: 'model_head.safetensors',
  fusion: 'model_adapter_fusion.safetensors',
};

const badCases: BadCase[] = [
  // files and folders
  { title: 'a missing folder', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', dir: (d) => join(d, 'nope'), error: IoError, message: /nope/ },
  { title: 'no adapter_config.json', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => rmSync(join(d, 'adapter_config.json')), error: IoError, message: /adapter_config\.json: cannot read: no such file/ },
  { title: 'no weights file', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => rmSync(join(d, 'adapter.safetensors')), error: IoError, message: /no weights file \(neither adapter\.safetensors nor pytorch_adapter\.bin\)/ },
  { title: 'JSON that does not parse', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => writeFileSync(join(d, 'adapter_config.json'), '{"config": {"reduction_factor": 16,'), error: InvalidFileError, message: /adapter_config\.json: invalid JSON/ },
  { title: 'JSON with a trailing comma', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => writeFileSync(join(d, 'adapter_config.json'), '{"config": "pfeiffer", "name": "t",}'), error: InvalidFileError, message: /adapter_config\.json: invalid JSON/ },
  { title: 'JSON that is not an object', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => writeFileSync(join(d, 'adapter_config.json'), '[1, 2]'), error: InvalidFileError, message: /adapter_config\.json: the top level must be a JSON object/ },
  { title: 'JSON that is not UTF-8', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => writeFileSync(join(d, 'adapter_config.json'), Buffer.from([0x7b, 0xff, 0x7d])), error: InvalidFileError, message: /adapter_config\.json: not valid UTF-8/ },
  { title: 'no "config"', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => delete o.config), error: InvalidFileError, message: /adapter_config\.json: "config" must be/ },
  { title: 'no "name"', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => delete o.name), error: InvalidFileError, message: /adapter_config\.json: "name" must be/ },
  { title: 'another hidden size', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.hidden_size = 768)), error: ShapeMismatchError, message: /adapter_config\.json: hidden_size 768 does not match the model's hidden size 48/ },
  { title: 'another model type', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.model_type = 'roberta')), error: UnsupportedError, message: /adapter_config\.json: model_type "roberta"/ },
  { title: 'a config the core does not support', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.config.non_linearity = 'softplus')), error: UnsupportedError, message: /adapter_config\.json: .*softplus/ },
  { title: 'a config with an invalid value', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.config.leave_out = [9])), error: InvalidArgumentError, message: /adapter_config\.json: .*leave_out layer 9/ },
  { title: 'an invalid loadAs name', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', loadAs: 'x.y', error: InvalidArgumentError, message: /adapter_config\.json: .*x\.y/ },
  // weights
  { title: 'a missing layer tensor', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => rewrite(join(d, 'adapter.safetensors'), (ts) => ts.filter((x) => !x.name.startsWith('bert.encoder.layer.1.output.adapters.a.adapter_up.bias'))), error: InvalidFileError, message: /adapter\.safetensors: missing tensor "bert\.encoder\.layer\.1\.output\.adapters\.a\.adapter_up\.bias"/ },
  { title: 'a whole layer missing', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => rewrite(join(d, 'adapter.safetensors'), (ts) => ts.filter((x) => !x.name.startsWith('bert.encoder.layer.1.'))), error: InvalidFileError, message: /adapter\.safetensors: missing tensor "bert\.encoder\.layer\.1\.output\.adapters\.a\.adapter_down\.0\.weight" \(and 3 more\)/ },
  { title: 'an unexpected tensor', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => rewrite(join(d, 'adapter.safetensors'), (ts) => [...ts, { name: 'bert.encoder.layer.1.attention.output.adapters.a.adapter_up.bias', dtype: 'F32', shape: [48], data: new Float32Array(48) }]), error: InvalidFileError, message: /adapter\.safetensors: unexpected tensor "bert\.encoder\.layer\.1\.attention\.output\.adapters\.a\.adapter_up\.bias"/ },
  { title: 'a tensor of a left-out layer', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.config.leave_out = [0])), error: InvalidFileError, message: /adapter\.safetensors: unexpected tensor "bert\.encoder\.layer\.0\.output\.adapters\.a\./ },
  { title: 'a wrong shape', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.config.reduction_factor = 4)), error: ShapeMismatchError, message: /adapter\.safetensors: tensor "bert\.encoder\.layer\.0\.output\.adapters\.a\.adapter_down\.0\.weight" has shape \[6, 48\], but adapter "a" as configured needs \[12, 48\]/ },
  { title: 'keys of another adapter name', kind: 'adapter', src: 'pfeiffer/saved/a', edit: (d) => editJson(join(d, 'adapter_config.json'), (o) => (o.name = 'z')), error: InvalidFileError, message: /adapter\.safetensors: missing tensor "bert\.encoder\.layer\.0\.output\.adapters\.z\.adapter_down\.0\.weight"/ },
  { title: 'one tensor with and without "bert."', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => rewrite(join(d, 'adapter.safetensors'), (ts) => [...ts, { ...ts[0], name: ts[0].name.slice(5) }]), error: InvalidFileError, message: /adapter\.safetensors: tensors ".*" and ".*" are the same parameter/ },
  { title: 'an integer tensor', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved/a', edit: (d) => rewrite(join(d, 'adapter.safetensors'), (ts) => ts.map((x) => (x.name.endsWith('layer.0.output.adapters.a.adapter_down.0.bias') ? { ...x, dtype: 'I32' as const, data: new Int32Array(x.data.length) } : x))), error: InvalidFileError, message: /adapter\.safetensors: tensor "bert\.encoder\.layer\.0\.output\.adapters\.a\.adapter_down\.0\.bias" has dtype I32/ },
  { title: 'a truncated safetensors file', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', edit: (d) => truncateSync(join(d, 'adapter.safetensors'), 300), error: InvalidFileError, message: /adapter\.safetensors/ },
  { title: 'a truncated .bin file', kind: 'adapter', loadAs: 'fresh', src: 'pfeiffer/saved-bin/a', edit: (d) => truncateSync(join(d, 'pytorch_adapter.bin'), 500), error: InvalidFileError, message: /pytorch_adapter\.bin/ },
  { title: 'a name already in the model', kind: 'adapter', src: 'pfeiffer/saved/a', error: InvalidArgumentError, message: /adapter_config\.json: the model already has an adapter named "a" \(choose another name with options\.loadAs\)/ },
  { title: 'a loadAs name already in the model', kind: 'adapter', src: 'pfeiffer-tanh/saved/t', loadAs: 'b', error: InvalidArgumentError, message: /adapter_config\.json: the model already has an adapter named "b"/ },
  // heads
  { title: 'a head with more labels than its weights', kind: 'head', src: 'pfeiffer/saved/cls', edit: (d) => editJson(join(d, 'head_config.json'), (o) => { o.name = 'cls2'; o.config.num_labels = 4; }), error: InvalidFileError, message: /model_head\.safetensors: missing tensor "heads\.cls2\.1\.weight"/ },
  { title: 'a head whose weights have the wrong shape', kind: 'head', src: 'pfeiffer/saved/cls', loadAs: 'other', edit: (d) => editJson(join(d, 'head_config.json'), (o) => (o.config.num_labels = 4)), error: ShapeMismatchError, message: /model_head\.safetensors: tensor "heads\.cls\.4\.weight" has shape \[3, 48\], but head "cls" as configured needs \[4, 48\]/ },
  { title: 'a head missing its output bias', kind: 'head', src: 'pfeiffer/saved/cls', loadAs: 'other', edit: (d) => rewrite(join(d, 'model_head.safetensors'), (ts) => ts.filter((x) => x.name !== 'heads.cls.4.bias')), error: InvalidFileError, message: /model_head\.safetensors: missing tensor "heads\.cls\.4\.bias"/ },
  { title: 'a head with an extra layer tensor', kind: 'head', src: 'pfeiffer/saved/cls', loadAs: 'other', edit: (d) => rewrite(join(d, 'model_head.safetensors'), (ts) => [...ts, { name: 'heads.cls.7.bias', dtype: 'F32', shape: [3], data: new Float32Array(3) }]), error: InvalidFileError, message: /model_head\.safetensors: unexpected tensor "heads\.cls\.7\.bias"/ },
  { title: 'a static (non-flex) head', kind: 'head', src: 'pfeiffer/saved/cls', loadAs: 'other', edit: (d) => editJson(join(d, 'head_config.json'), (o) => (o.model_class = 'BertForSequenceClassification')), error: UnsupportedError, message: /head_config\.json: a head of model class "BertForSequenceClassification"/ },
  { title: 'an unsupported head type', kind: 'head', src: 'pfeiffer/saved/cls', loadAs: 'other', edit: (d) => editJson(join(d, 'head_config.json'), (o) => (o.config.head_type = 'tagging')), error: UnsupportedError, message: /head_config\.json: .*tagging/ },
  { title: 'a head of another hidden size', kind: 'head', src: 'pfeiffer/saved/cls', loadAs: 'other', edit: (d) => editJson(join(d, 'head_config.json'), (o) => (o.hidden_size = 64)), error: ShapeMismatchError, message: /head_config\.json: hidden_size 64/ },
  { title: 'a head name already in the model', kind: 'head', src: 'pfeiffer/saved/cls', error: InvalidArgumentError, message: /head_config\.json: the model already has a head named "cls"/ },
  { title: 'no head_config.json', kind: 'head', src: 'pfeiffer/saved/a', error: IoError, message: /head_config\.json: cannot read/ },
  // fusion
  { title: 'a fusion over an adapter the model lacks', kind: 'fusion', src: 'fusion-dynamic/saved/a,b,c', error: InvalidArgumentError, message: /adapter_fusion_config\.json: fusion "a,b,c" needs adapter "c", which the model does not have/ },
  { title: 'a static fusion config with a value matrix in the file', kind: 'fusion', src: 'fusion-dynamic/saved/a,b', edit: (d) => editJson(join(d, 'adapter_fusion_config.json'), (o) => (o.config = 'static')), error: InvalidFileError, message: /model_adapter_fusion\.safetensors: unexpected tensor "bert\.encoder\.layer\.[01]\.output\.adapter_fusion_layer\.a,b\.value\.weight" \(and 1 more\)/ },
  { title: 'a fusion file missing a tensor', kind: 'fusion', src: 'fusion-dynamic/saved/a,b', edit: (d) => rewrite(join(d, 'model_adapter_fusion.safetensors'), (ts) => ts.filter((x) => !x.name.endsWith('layer.1.output.adapter_fusion_layer.a,b.key.weight'))), error: InvalidFileError, message: /model_adapter_fusion\.safetensors: missing tensor "bert\.encoder\.layer\.1\.output\.adapter_fusion_layer\.a,b\.key\.weight"/ },
  { title: 'a fusion whose name and adapter_names disagree', kind: 'fusion', src: 'fusion-dynamic/saved/a,b', edit: (d) => editJson(join(d, 'adapter_fusion_config.json'), (o) => (o.name = 'b,a')), error: InvalidFileError, message: /adapter_fusion_config\.json: "name" "b,a" does not match "adapter_names"/ },
  { title: 'a fusion of another hidden size', kind: 'fusion', src: 'fusion-dynamic/saved/a,b', edit: (d) => editJson(join(d, 'adapter_fusion_config.json'), (o) => (o.hidden_size = 32)), error: ShapeMismatchError, message: /adapter_fusion_config\.json: hidden_size 32/ },
  { title: 'a fusion with an unsupported config', kind: 'fusion', src: 'fusion-dynamic/saved/a,b', edit: (d) => editJson(join(d, 'adapter_fusion_config.json'), (o) => (o.config.residual_before = true)), error: UnsupportedError, message: /adapter_fusion_config\.json: .*residual_before/ },
];

/** A folder under fixtures/adapters copied to a temp dir; "fusion-dynamic/saved/a,b" is a fusion over a,b made from a,b,c. */
async function prepare(src: string): Promise<string> {
  const dir = tmp();
  if (src === 'fusion-dynamic/saved/a,b') {
    cpSync(fx('fusion-dynamic/saved/a,b,c'), dir, { recursive: true });
    editJson(join(dir, 'adapter_fusion_config.json'), (o) => {
      o.adapter_names = ['a', 'b'];
      o.name = 'a,b';
    });
    await rewrite(join(dir, 'model_adapter_fusion.safetensors'), (ts) =>
      ts.map((x) => {
        const name = x.name.replace('a,b,c', 'a,b');
        return x.name.endsWith('.value.weight') || x.name.includes('.query.') || x.name.includes('.key.') ? { ...x, name } : x;
      }),
    );
  } else {
    cpSync(fx(src), dir, { recursive: true });
  }
  return dir;
}

for (const c of badCases) {
  test(`loading ${c.kind}: ${c.title} → ${c.error.name}, model unchanged`, async (t) => {
    const dir = await prepare(c.src);
    const model = await populated();
    try {
      await c.edit?.(dir);
      const before = await snapshot(model);
      const from = c.dir ? c.dir(dir) : dir;
      const load =
        c.kind === 'adapter'
          ? () => model.loadAdapter(from, { loadAs: c.loadAs })
          : c.kind === 'head'
            ? () => model.loadHead(from, { loadAs: c.loadAs })
            : () => model.loadAdapterFusion(from);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const err = await t.throwsAsync<Error>(load, { instanceOf: c.error as any });
      t.regex(err!.message, c.message);
      // The message names the file (or, for a missing folder, the folder).
      t.true(err!.message.includes(from), `message does not name ${from}: ${err!.message}`);
      t.deepEqual(await snapshot(model), before);
      // The model still runs.
      const out = await model.predict(await batch('pfeiffer'));
      t.true(out.logits.every(Number.isFinite));
    } finally {
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a fusion folder loads once its adapters are there; then a second load is a collision', async (t) => {
  const dir = await prepare('fusion-dynamic/saved/a,b');
  const model = await populated(); // holds pfeiffer's "a" and fusion-dynamic's "b"
  try {
    t.is(await model.loadAdapterFusion(dir), 'a,b');
    const before = await snapshot(model);
    const err = await t.throwsAsync(() => model.loadAdapterFusion(dir), { instanceOf: InvalidArgumentError });
    t.regex(err!.message, /adapter_fusion_config\.json: the model already has a fusion "a,b"/);
    t.deepEqual(await snapshot(model), before);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

const MARKER = '/tmp/af_torch_pickle_pwned';

test('a .bin with a malicious pickle is refused, and nothing runs', async (t) => {
  const evil = readdirSync(join(fixturesDir, 'torch_bin')).filter((f) => f.startsWith('evil_'));
  t.true(evil.length >= 4);
  const markerBefore = existsSync(MARKER);
  const model = await populated();
  try {
    const before = await snapshot(model);
    for (const [kind, src, bin] of [
      ['adapter', 'pfeiffer-tanh/saved/t', 'pytorch_adapter.bin'],
      ['head', 'pfeiffer/saved/cls', 'pytorch_model_head.bin'],
    ] as const) {
      for (const f of evil) {
        const dir = tmp();
        cpSync(fx(src), dir, { recursive: true });
        rmSync(join(dir, weightsOf[kind]));
        copyFileSync(join(fixturesDir, 'torch_bin', f), join(dir, bin));
        const load = kind === 'adapter' ? () => model.loadAdapter(dir) : () => model.loadHead(dir, { loadAs: 'other' });
        const err = await t.throwsAsync<Error>(load);
        t.true(err instanceof UnsupportedError || err instanceof InvalidFileError, `${f}: ${err?.constructor.name}`);
        t.true(err!.message.includes(join(dir, bin)), `${f}: ${err!.message}`);
        t.deepEqual(await snapshot(model), before);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    if (!markerBefore) t.false(existsSync(MARKER), 'an evil pickle ran');
  } finally {
    model.dispose();
  }
});

test('a .bin is read when no safetensors file is there; safetensors wins when both are', async (t) => {
  const dir = tmp();
  cpSync(fx('pfeiffer/saved-bin/a'), dir, { recursive: true });
  const a = await loadModel(BASE);
  const b = await loadModel(BASE);
  try {
    await a.loadAdapter(dir);
    await b.loadAdapter(fx('pfeiffer/saved/a'));
    await sameModules(t, a, b);
    // A safetensors file next to a broken .bin: the .bin is never opened.
    writeFileSync(join(dir, 'pytorch_adapter.bin'), 'not a zip');
    copyFileSync(fx('pfeiffer/saved/a/adapter.safetensors'), join(dir, 'adapter.safetensors'));
    t.is(await a.loadAdapter(dir, { loadAs: 'again' }), 'again');
  } finally {
    a.dispose();
    b.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------ saving errors and atomicity

test('saving: unknown modules and bad arguments are rejected; folders are created', async (t) => {
  const out = tmp();
  const model = await populated();
  try {
    await t.throwsAsync(() => model.saveAdapter(out, 'nope'), { instanceOf: InvalidArgumentError, message: /no adapter named "nope"/ });
    await t.throwsAsync(() => model.saveHead(out, 'nope'), { instanceOf: InvalidArgumentError, message: /no head named "nope"/ });
    await t.throwsAsync(() => model.saveAdapterFusion(out, 'a,b'), { instanceOf: InvalidArgumentError, message: /no fusion "a,b"/ });
    await t.throwsAsync(() => model.saveAdapter('', 'a'), { instanceOf: TypeError });
    await t.throwsAsync(() => model.loadAdapter(fx('pfeiffer/saved/a'), { loadAs: 3 as unknown as string }), { instanceOf: TypeError });
    t.deepEqual(readdirSync(out), []);
    // A nested folder is created.
    await model.saveAdapter(join(out, 'x', 'y', 'a'), 'a');
    t.deepEqual(readdirSync(join(out, 'x', 'y', 'a')).sort(), ['adapter.safetensors', 'adapter_config.json']);
    // A path that is a file cannot be a folder.
    writeFileSync(join(out, 'file'), 'x');
    await t.throwsAsync(() => model.saveAdapter(join(out, 'file'), 'a'), { instanceOf: IoError, message: /file/ });
  } finally {
    model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

test('saving over earlier files replaces them whole; a failed write leaves the earlier file and no temp file', async (t) => {
  const out = tmp();
  const model = await populated();
  try {
    await model.saveAdapter(out, 'a');
    const firstJson = readFileSync(join(out, 'adapter_config.json'));
    // Overwrite with other weights: the files are replaced.
    const w = await model.getParameter('encoder.layer.0.output.adapters.a.adapter_up.bias');
    w[0] += 1;
    await model.setParameter('encoder.layer.0.output.adapters.a.adapter_up.bias', w);
    await model.saveAdapter(out, 'a');
    const fresh = await loadModel(BASE);
    await fresh.loadAdapter(out);
    t.deepEqual(await fresh.getParameter('encoder.layer.0.output.adapters.a.adapter_up.bias'), w);
    fresh.dispose();
    t.deepEqual(readdirSync(out).sort(), ['adapter.safetensors', 'adapter_config.json']);
    // The JSON cannot be renamed into place (a folder is in the way): IoError, no temp file.
    mkdirSync(join(out, 'h'));
    mkdirSync(join(out, 'h', 'head_config.json'));
    await t.throwsAsync(() => model.saveHead(join(out, 'h'), 'cls'), { instanceOf: IoError, message: /head_config\.json: cannot write/ });
    t.deepEqual(readdirSync(join(out, 'h')).sort(), ['head_config.json', 'model_head.safetensors']);
    t.deepEqual(readFileSync(join(out, 'adapter_config.json')), firstJson);
  } finally {
    model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});
