// The `adapterfusion` command, run as a user would: `node dist/lib/cli/main.js ...` in a child
// process. Predictions from AdapterHub-saved folders must equal the AdapterHub goldens; every
// mistake must end with a one-line message and the right exit code, never a stack trace.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, Tokenizer, type Tensor } from '../lib/index.js';
import { loadGolden } from './helpers/golden.js';
import { maxRelError } from './helpers/compare.js';
import { bertMiniDir, fixturesDir, haveBertMini, repoRoot } from './helpers/paths.js';

const mainJs = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');
const adaptersDir = join(fixturesDir, 'adapters');
const base = join(adaptersDir, 'base');
const saved = (c: string, name: string) => join(adaptersDir, c, 'saved', name);
const TOL = 1e-5;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [mainJs, ...args], { maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin!.end(stdin ?? '');
  });
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'af-cli-'));
}

function writeLines(dir: string, name: string, lines: (string | object)[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

function outputLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const noStack = (s: string) => !/\n\s+at .+:\d+:\d+\)?/.test(s) && !/internal error/.test(s);

type Golden = { get(name: string): Tensor };
const i32 = (g: Golden, name: string) => g.get(name).data as Int32Array;
const f32 = (g: Golden, name: string) => g.get(name).data as Float32Array;

/** The golden batch as one object per row: real tokens only (trim) or the padded row with its mask. */
function goldenRows(g: Golden, mode: 'trim' | 'padded'): Record<string, number[]>[] {
  const ids = i32(g, 'input_ids');
  const types = i32(g, 'token_type_ids');
  const mask = i32(g, 'attention_mask');
  const L = g.get('input_ids').shape[g.get('input_ids').shape.length - 1];
  const rows: Record<string, number[]>[] = [];
  for (let r = 0; r < ids.length / L; r++) {
    const m = Array.from(mask.subarray(r * L, (r + 1) * L));
    const n = mode === 'trim' ? m.filter((x) => x === 1).length : L;
    const row: Record<string, number[]> = {
      input_ids: Array.from(ids.subarray(r * L, r * L + n)),
      token_type_ids: Array.from(types.subarray(r * L, r * L + n)),
    };
    if (mode === 'padded') row.attention_mask = m;
    rows.push(row);
  }
  return rows;
}

function argmax(x: number[]): number {
  return x.reduce((best, v, i) => (v > x[best] ? i : best), 0);
}

// ------------------------------------------------------------------------------ help, info, usage

test('--help and predict --help print usage and exit 0', async (t) => {
  const main = await cli(['--help']);
  t.is(main.code, 0);
  t.regex(main.stdout, /Usage: adapterfusion <command>/);
  t.regex(main.stdout, /predict/);
  const predict = await cli(['predict', '--help']);
  t.is(predict.code, 0);
  for (const opt of ['--model', '--adapter', '--fusion', '--head', '--input', '--output', '--fusion-attentions', '--batch-size', '--max-length', '--threads', '--gemm']) {
    t.true(predict.stdout.includes(opt), opt);
  }
  t.is((await cli(['help', 'predict'])).stdout, predict.stdout);
  const none = await cli([]);
  t.is(none.code, 2);
  t.regex(none.stderr, /Usage:/);
});

test('info prints the version and the backend', async (t) => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const r = await cli(['info']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`adapterfusion ${pkg.version.replace(/\./g, '\\.')}`));
  t.regex(r.stdout, /backend:\s+(cpu|cuda)/);
  t.regex(r.stdout, /gemm:\s+(builtin|openblas)/);
  t.regex(r.stdout, /isa:\s+(avx512|avx2|scalar)/);
  t.regex(r.stdout, /threads:\s+\d+/);
  const j = await cli(['info', '--json', '--threads', '1', '--gemm', 'builtin']);
  t.is(j.code, 0, j.stderr);
  const info = JSON.parse(j.stdout) as Record<string, unknown>;
  t.is(info.version, pkg.version);
  t.is(info.threads, 1);
  t.is(info.gemmProvider, 'builtin');
  t.is((await cli(['--version'])).stdout.trim(), pkg.version);
});

const usageCases: [string, string[], RegExp][] = [
  ['an unknown option', ['predict', '--model', base, '--input', 'x.jsonl', '--bogus', '1'], /unknown option --bogus/],
  ['an unknown top-level option', ['--bogus'], /unknown option --bogus/],
  ['an unknown command', ['predcit'], /unknown command 'predcit'/],
  ['a missing --model', ['predict', '--input', 'x.jsonl', '--head', 'h'], /missing --model/],
  ['a missing --input', ['predict', '--model', base], /missing --input/],
  ['--model without a value', ['predict', '--input', 'x.jsonl', '--model'], /--model needs a value/],
  ['--model twice', ['predict', '--model', base, '--model', base, '--input', 'x'], /--model given more than once/],
  ['a bad --batch-size', ['predict', '--model', base, '--input', 'x', '--batch-size', '0'], /--batch-size must be an integer/],
  ['a non-numeric --threads', ['predict', '--model', base, '--input', 'x', '--threads', 'four'], /--threads must be an integer/],
  ['a bad --gemm', ['predict', '--model', base, '--input', 'x', '--gemm', 'mkl'], /--gemm must be builtin or openblas/],
  ['--fusion-attentions without --fusion', ['predict', '--model', base, '--input', 'x', '--fusion-attentions'], /--fusion-attentions needs --fusion/],
  ['a stray argument', ['predict', 'extra', '--model', base, '--input', 'x'], /unexpected argument 'extra'/],
  ['an unknown info option', ['info', '--verbose'], /unknown option --verbose/],
];

for (const [what, args, message] of usageCases) {
  test(`usage error: ${what} exits 2 with a message`, async (t) => {
    const r = await cli(args);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /^adapterfusion: /);
    t.regex(r.stderr, message);
    t.regex(r.stderr, /--help' for usage/);
    t.true(noStack(r.stderr), r.stderr);
    t.is(r.stdout, '');
  });
}

// ------------------------------------------------------------------------------ goldens

test('predict: AdapterHub pfeiffer adapter + head give the golden logits', async (t) => {
  const g = await loadGolden(join(adaptersDir, 'pfeiffer', 'golden.safetensors'));
  const dir = tmp();
  // Rows trimmed to their real tokens: the CLI pads each batch to its longest row.
  const input = writeLines(dir, 'in.jsonl', goldenRows(g, 'trim'));
  const r = await cli(['predict', '--model', base, '--adapter', saved('pfeiffer', 'a'), '--head', saved('pfeiffer', 'cls'), '--input', input]);
  t.is(r.code, 0, r.stderr);
  const out = outputLines(r.stdout);
  t.is(out.length, 3);
  const logits = out.flatMap((o) => o.logits as number[]);
  t.true(maxRelError(logits, f32(g, 'logits')) <= TOL, `max rel error ${maxRelError(logits, f32(g, 'logits'))}`);
  for (const o of out) {
    t.is(o.label, argmax(o.logits as number[]));
    t.false('label_name' in o, 'LABEL_k names are the defaults: no label_name');
    t.false('score' in o);
  }
  // One example per batch gives the same numbers.
  const one = await cli(['predict', '--model', base, '--adapter', saved('pfeiffer', 'a'), '--head', saved('pfeiffer', 'cls'), '--input', input, '--batch-size', '1']);
  t.is(one.code, 0, one.stderr);
  t.true(maxRelError(outputLines(one.stdout).flatMap((o) => o.logits as number[]), f32(g, 'logits')) <= TOL);
});

test('predict: fusion-dynamic (three adapters, --fusion, --fusion-attentions) matches the goldens', async (t) => {
  const g = await loadGolden(join(adaptersDir, 'fusion-dynamic', 'golden.safetensors'));
  const dir = tmp();
  const rows = goldenRows(g, 'padded');
  const input = writeLines(dir, 'in.jsonl', rows.map((row, i) => ({ id: `ex${i}`, ...row })));
  const c = 'fusion-dynamic';
  const r = await cli([
    'predict', '--model', base,
    '--adapter', saved(c, 'a'), '--adapter', saved(c, 'b'), '--adapter', saved(c, 'c'),
    '--fusion', saved(c, 'a,b,c'), '--head', saved(c, 'cls'),
    '--input', input, '--fusion-attentions', '--batch-size', '2',
  ]);
  t.is(r.code, 0, r.stderr);
  const out = outputLines(r.stdout);
  t.deepEqual(out.map((o) => o.id), ['ex0', 'ex1', 'ex2']);
  const logits = out.flatMap((o) => o.logits as number[]);
  t.true(maxRelError(logits, f32(g, 'logits')) <= TOL, `logits max rel error ${maxRelError(logits, f32(g, 'logits'))}`);

  const L = g.get('input_ids').shape[1];
  const N = 3;
  const mask = i32(g, 'attention_mask');
  for (let layer = 0; layer < 2; layer++) {
    const golden = f32(g, `fusion_attentions.${layer}`);
    const want: number[] = [];
    const got: number[] = [];
    out.forEach((o, b) => {
      const fa = o.fusion_attentions as number[][][];
      t.is(fa.length, 2, 'one entry per layer');
      const real = Array.from(mask.subarray(b * L, (b + 1) * L)).filter((m) => m === 1).length;
      t.is(fa[layer].length, real, 'real tokens only');
      for (let tok = 0; tok < real; tok++) {
        t.is(fa[layer][tok].length, N);
        got.push(...fa[layer][tok]);
        want.push(...golden.subarray((b * L + tok) * N, (b * L + tok + 1) * N));
      }
    });
    t.true(maxRelError(got, want) <= TOL, `layer ${layer}: max rel error ${maxRelError(got, want)}`);
  }
});

test('predict: a fusion whose adapters were not all given is an error naming them', async (t) => {
  const dir = tmp();
  const input = writeLines(dir, 'in.jsonl', [{ input_ids: [1, 2, 3] }]);
  const c = 'fusion-dynamic';
  const r = await cli(['predict', '--model', base, '--adapter', saved(c, 'a'), '--fusion', saved(c, 'a,b,c'), '--head', saved(c, 'cls'), '--input', input]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /^adapterfusion: .*"b", "c"/);
  t.true(noStack(r.stderr), r.stderr);
});

test('predict: multiple-choice "choices" lines give the golden [B, C] logits', async (t) => {
  const g = await loadGolden(join(adaptersDir, 'multiple-choice', 'golden.safetensors'));
  const [B, C] = g.get('input_ids').shape;
  const rows = goldenRows(g, 'trim');
  const lines = Array.from({ length: B }, (_, b) => ({ choices: rows.slice(b * C, (b + 1) * C) }));
  const dir = tmp();
  const input = writeLines(dir, 'in.jsonl', lines);
  const r = await cli(['predict', '--model', base, '--adapter', saved('multiple-choice', 'a'), '--head', saved('multiple-choice', 'mc'), '--input', input]);
  t.is(r.code, 0, r.stderr);
  const out = outputLines(r.stdout);
  t.is(out.length, B);
  for (const o of out) {
    t.is((o.logits as number[]).length, C);
    t.is(o.label, argmax(o.logits as number[]));
  }
  const logits = out.flatMap((o) => o.logits as number[]);
  t.true(maxRelError(logits, f32(g, 'logits')) <= TOL, `max rel error ${maxRelError(logits, f32(g, 'logits'))}`);

  // A line with the wrong number of choices, or without "choices", names its line.
  const bad = writeLines(dir, 'bad.jsonl', [lines[0], { choices: rows.slice(0, 2) }]);
  const rb = await cli(['predict', '--model', base, '--adapter', saved('multiple-choice', 'a'), '--head', saved('multiple-choice', 'mc'), '--input', bad]);
  t.is(rb.code, 1);
  t.regex(rb.stderr, /line 2: "choices" has 2 entries but head "mc" takes 3/);
  const plain = writeLines(dir, 'plain.jsonl', [rows[0]]);
  const rp = await cli(['predict', '--model', base, '--adapter', saved('multiple-choice', 'a'), '--head', saved('multiple-choice', 'mc'), '--input', plain]);
  t.is(rp.code, 1);
  t.regex(rp.stderr, /line 1: head "mc" is a multiple-choice head/);
});

test('predict: a regression head writes "score"', async (t) => {
  const g = await loadGolden(join(adaptersDir, 'regression', 'golden.safetensors'));
  const dir = tmp();
  const input = writeLines(dir, 'in.jsonl', goldenRows(g, 'trim'));
  const r = await cli(['predict', '--model', base, '--adapter', saved('regression', 'a'), '--head', saved('regression', 'reg'), '--input', input]);
  t.is(r.code, 0, r.stderr);
  const out = outputLines(r.stdout);
  t.is(out.length, 3);
  for (const o of out) {
    t.is((o.logits as number[]).length, 1);
    t.is(o.score, (o.logits as number[])[0]);
    t.false('label' in o);
  }
  const scores = out.map((o) => o.score as number);
  t.true(maxRelError(scores, f32(g, 'logits')) <= TOL, `max rel error ${maxRelError(scores, f32(g, 'logits'))}`);
});

test('predict: reads stdin with --input -, skips empty lines', async (t) => {
  const g = await loadGolden(join(adaptersDir, 'pfeiffer', 'golden.safetensors'));
  const rows = goldenRows(g, 'trim').map((r) => JSON.stringify(r));
  const stdin = ['', rows[0], '   ', rows[1], '', rows[2] + '\r', ''].join('\n');
  const r = await cli(['predict', '--model', base, '--adapter', saved('pfeiffer', 'a'), '--head', saved('pfeiffer', 'cls'), '--input', '-'], stdin);
  t.is(r.code, 0, r.stderr);
  const logits = outputLines(r.stdout).flatMap((o) => o.logits as number[]);
  t.true(maxRelError(logits, f32(g, 'logits')) <= TOL);
});

// ------------------------------------------------------------------------------ --output

test('predict --output writes the file atomically and leaves it untouched on failure', async (t) => {
  const g = await loadGolden(join(adaptersDir, 'pfeiffer', 'golden.safetensors'));
  const dir = tmp();
  const rows = goldenRows(g, 'trim');
  const input = writeLines(dir, 'in.jsonl', rows);
  const outPath = join(dir, 'out.jsonl');
  const common = ['predict', '--model', base, '--adapter', saved('pfeiffer', 'a'), '--head', saved('pfeiffer', 'cls')];

  const toStdout = await cli([...common, '--input', input]);
  const r = await cli([...common, '--input', input, '--output', outPath]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '', 'nothing on stdout with --output');
  t.is(readFileSync(outPath, 'utf8'), toStdout.stdout);
  t.deepEqual(readdirSync(dir).sort(), ['in.jsonl', 'out.jsonl'], 'no temp file left behind');

  // Bad JSON on line 3, after a full batch has been written: the old file stays as it was.
  const bad = writeLines(dir, 'bad.jsonl', [rows[0], rows[1], '{"input_ids": [1, 2,', rows[2]]);
  writeFileSync(outPath, 'previous contents\n');
  const rb = await cli([...common, '--input', bad, '--output', outPath, '--batch-size', '1']);
  t.is(rb.code, 1);
  t.regex(rb.stderr, /^adapterfusion: .*bad\.jsonl line 3: not valid JSON/);
  t.true(noStack(rb.stderr), rb.stderr);
  t.is(readFileSync(outPath, 'utf8'), 'previous contents\n');
  t.deepEqual(readdirSync(dir).sort(), ['bad.jsonl', 'in.jsonl', 'out.jsonl'], 'no temp file left behind');

  // An output folder that does not exist.
  const rn = await cli([...common, '--input', input, '--output', join(dir, 'no', 'such', 'out.jsonl')]);
  t.is(rn.code, 1);
  t.regex(rn.stderr, /--output .*no such folder/);
});

// ------------------------------------------------------------------------------ error paths

const predictArgs = (input: string) => ['predict', '--model', base, '--adapter', saved('pfeiffer', 'a'), '--head', saved('pfeiffer', 'cls'), '--input', input];

const badLines: [string, (string | object)[], RegExp][] = [
  ['bad JSON on line 3', [{ input_ids: [1, 2] }, { input_ids: [3] }, '{not json}'], /line 3: not valid JSON/],
  ['a line that is not an object', [[1, 2, 3]], /line 1: expected a JSON object, got an array/],
  ['a line with neither input_ids nor text', [{ tokens: [1] }], /line 1: expected an object with "input_ids" or "text"/],
  ['a token id out of the vocabulary', [{ input_ids: [1, 2] }, { input_ids: [1, 500] }], /line 2: "input_ids"\[1\] = 500 is out of range/],
  ['a fractional id', [{ input_ids: [1, 2.5] }], /line 1: "input_ids"\[1\] must be an integer/],
  ['token_type_ids of another length', [{ input_ids: [1, 2], token_type_ids: [0] }], /line 1: "token_type_ids" has 1 entries but input_ids has 2/],
  ['a token type the model lacks', [{ input_ids: [1, 2], token_type_ids: [0, 5] }], /line 1: "token_type_ids"\[1\] = 5 is out of range/],
  ['an empty input_ids', [{ input_ids: [] }], /line 1: "input_ids" is empty/],
  ['more tokens than positions', [{ input_ids: Array(41).fill(1) }], /line 1: 41 tokens, more than the model's 40 positions/],
  ['choices on a classification head', [{ choices: [{ input_ids: [1] }] }], /line 1: .*"choices" needs a multiple-choice head/],
  ['both text and input_ids', [{ input_ids: [1], text: 'a' }], /line 1: has both "input_ids" and "text"/],
];

for (const [what, lines, message] of badLines) {
  test(`predict input error: ${what} exits 1 naming the line`, async (t) => {
    const dir = tmp();
    const r = await cli(predictArgs(writeLines(dir, 'in.jsonl', lines)));
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /^adapterfusion: .*in\.jsonl line/);
    t.regex(r.stderr, message);
    t.true(noStack(r.stderr), r.stderr);
  });
}

test('predict: text lines with a model folder that has no tokenizer', async (t) => {
  const dir = tmp();
  const r = await cli(predictArgs(writeLines(dir, 'in.jsonl', [{ input_ids: [1, 2] }, { text: 'hello world' }])));
  t.is(r.code, 1);
  t.regex(r.stderr, /^adapterfusion: .*line 2: "text" input needs a tokenizer, but --model .* has neither vocab\.txt nor tokenizer\.json/);
  t.true(noStack(r.stderr), r.stderr);
});

test('predict: missing folders and files are named', async (t) => {
  const dir = tmp();
  const input = writeLines(dir, 'in.jsonl', [{ input_ids: [1, 2] }]);
  const head = await cli(['predict', '--model', base, '--adapter', saved('pfeiffer', 'a'), '--head', join(dir, 'no-head'), '--input', input]);
  t.is(head.code, 1);
  t.regex(head.stderr, /^adapterfusion: --head .*no-head: no such folder/);
  t.true(noStack(head.stderr), head.stderr);

  const model = await cli(['predict', '--model', join(dir, 'no-model'), '--head', saved('pfeiffer', 'cls'), '--input', input]);
  t.is(model.code, 1);
  t.regex(model.stderr, /--model .*no-model: no such folder/);

  const inp = await cli(['predict', '--model', base, '--head', saved('pfeiffer', 'cls'), '--input', join(dir, 'missing.jsonl')]);
  t.is(inp.code, 1);
  t.regex(inp.stderr, /--input .*missing\.jsonl: no such file/);

  // A head folder that exists but holds no head: the library's typed error, exit 1.
  const empty = await cli(['predict', '--model', base, '--head', dir, '--input', input]);
  t.is(empty.code, 1, empty.stderr);
  t.regex(empty.stderr, /^adapterfusion: /);
  t.true(noStack(empty.stderr), empty.stderr);
});

test('predict: a base model folder without weights is a library error, exit 1', async (t) => {
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), readFileSync(join(base, 'config.json')));
  const input = writeLines(dir, 'in.jsonl', [{ input_ids: [1, 2] }]);
  const r = await cli(['predict', '--model', dir, '--head', saved('pfeiffer', 'cls'), '--input', input]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^adapterfusion: .*model\.safetensors/);
  t.true(noStack(r.stderr), r.stderr);
});

// ------------------------------------------------------------------------------ text with a real tokenizer

const withBertMini = haveBertMini ? test : test.skip;
withBertMini(`predict: text lines (real tokenizer) give the logits of the equivalent input_ids lines${haveBertMini ? '' : ` (skipped: ${bertMiniDir} not found)`}`, async (t) => {
  const dir = tmp();
  const model = await loadModel(bertMiniDir);
  try {
    await model.addAdapter('sst', { config: 'pfeiffer', reductionFactor: 16, seed: 7 });
    await model.addClassificationHead('sentiment', { numLabels: 2, id2label: ['negative', 'positive'], seed: 8 });
    await model.saveAdapter(join(dir, 'sst'), 'sst');
    await model.saveHead(join(dir, 'sentiment'), 'sentiment');

    const tok = await Tokenizer.fromPretrained(bertMiniDir);
    const examples: [string, string | null][] = [
      ['A gripping, beautifully shot film.', null],
      ['The plot was thin', 'but the acting saved it.'],
      ['Ünïcödé façade, naïve café!', null],
      ['Short.', 'Another sentence that is a little longer than the first one.'],
    ];
    const textLines = examples.map(([text, pair]) => (pair === null ? { text } : { text, text_pair: pair }));
    const idLines = examples.map(([text, pair]) => {
      const e = tok.encode(text, pair);
      return { input_ids: Array.from(e.inputIds), token_type_ids: Array.from(e.tokenTypeIds) };
    });
    const common = ['predict', '--model', bertMiniDir, '--adapter', join(dir, 'sst'), '--head', join(dir, 'sentiment'), '--batch-size', '3'];
    const fromText = await cli([...common, '--input', writeLines(dir, 'text.jsonl', textLines)]);
    const fromIds = await cli([...common, '--input', writeLines(dir, 'ids.jsonl', idLines)]);
    // Text and ids mixed in one batch.
    const mixed = await cli([...common, '--input', writeLines(dir, 'mixed.jsonl', examples.map((_, i) => (i % 2 ? idLines[i] : textLines[i])))]);
    for (const r of [fromText, fromIds, mixed]) t.is(r.code, 0, r.stderr);
    const a = outputLines(fromText.stdout);
    const b = outputLines(fromIds.stdout);
    const m = outputLines(mixed.stdout);
    t.is(a.length, examples.length);
    const la = a.flatMap((o) => o.logits as number[]);
    t.true(maxRelError(la, b.flatMap((o) => o.logits as number[])) <= TOL);
    t.true(maxRelError(m.flatMap((o) => o.logits as number[]), la) <= TOL);
    for (const o of a) {
      t.is(o.label, argmax(o.logits as number[]));
      t.is(o.label_name, ['negative', 'positive'][o.label as number]);
    }

    // The same numbers as the library in this process.
    await model.setActiveAdapters('sst', { head: 'sentiment' });
    const batch = tok.encodeBatch(examples.map((e) => e[0]), examples.map((e) => e[1]));
    const direct = await model.predict(batch);
    t.true(maxRelError(la, direct.logits) <= TOL, `CLI vs library: ${maxRelError(la, direct.logits)}`);

    // --max-length truncates text lines.
    const short = await cli([...common, '--input', join(dir, 'text.jsonl'), '--max-length', '6']);
    t.is(short.code, 0, short.stderr);
    const truncated = examples.map(([text, pair]) => {
      const e = tok.encode(text, pair, { maxLength: 6, truncation: true });
      return { input_ids: Array.from(e.inputIds), token_type_ids: Array.from(e.tokenTypeIds) };
    });
    const shortIds = await cli([...common, '--input', writeLines(dir, 'short-ids.jsonl', truncated)]);
    t.true(maxRelError(outputLines(short.stdout).flatMap((o) => o.logits as number[]), outputLines(shortIds.stdout).flatMap((o) => o.logits as number[])) <= TOL);

    const tooLong = await cli([...common, '--input', join(dir, 'text.jsonl'), '--max-length', '513']);
    t.is(tooLong.code, 2);
    t.regex(tooLong.stderr, /--max-length 513 is more than the model's 512 positions/);
  } finally {
    model.dispose();
  }
});
