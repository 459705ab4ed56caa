// The training commands of `adapterfusion`, run as a user would (node dist/lib/cli/main.js in a
// child process) on a small generated BERT and generated tasks: stage 1, stage 2, eval, report;
// bad options (exit 2), bad rows and missing splits (exit 1), and Ctrl-C then --resume, which
// must end with the same weights as an uninterrupted run.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, saveModel } from '../lib/index.js';
import { DEMO_BERT_CONFIG, demoModelOptions } from '../lib/demo/settings.js';
import { makeDemoTasks, writeDemoTasks, writeDemoTokenizer } from '../lib/demo/tasks.js';
import { repoRoot } from './helpers/paths.js';

const mainJs = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [mainJs, ...args], { maxBuffer: 64 << 20, timeout: 240_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

const noStack = (s: string) => !/\n\s+at .+:\d+:\d+\)?/.test(s) && !/internal error/.test(s);

// One model folder and the demo's tasks (as custom-task folders with task.json), made once.
const root = mkdtempSync(join(tmpdir(), 'af-cli-train-'));
const modelDir = join(root, 'model');
const dataDir = join(root, 'data');
const ready = (async () => {
  const model = await createModel(DEMO_BERT_CONFIG, demoModelOptions(1));
  await writeDemoTokenizer(modelDir);
  await saveModel(model, modelDir);
  model.dispose();
  await writeDemoTasks(dataDir, makeDemoTasks(1, { sourceTrain: 240, sourceDev: 60, targetTrain: 48, targetDev: 60 }));
})();
const taskFile = (name: string) => join(dataDir, name, 'task.json');
const common = ['--model', modelDir, '--threads', '1', '--no-progress'];

test.serial('stage 1, stage 2, eval and report through the binary', async (t) => {
  await ready;
  const runs = join(root, 'runs');
  const tasks = readdirSync(dataDir).sort();
  t.true(tasks.includes('hobby'), tasks.join(','));
  const sources = tasks.filter((n) => n !== 'hobby').slice(0, 2);
  for (const task of sources) {
    const r = await cli(['train-adapter', ...common, '--task-file', taskFile(task), '--out', join(runs, task, 'st-a'), '--seeds', '1,2', '--epochs', '2', '--lr', '1e-3']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /mean\s+[\d.]+ ± [\d.]+ over 2 seeds/);
    for (const seed of [1, 2]) {
      const dir = join(runs, task, 'st-a', `seed-${seed}`);
      const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
      t.is(record.task, task);
      t.is(record.setup, 'st-a');
      t.is(record.seed, seed);
      t.true(record.result.value >= 0 && record.result.value <= 1);
      for (const f of ['adapter_config.json', 'adapter.safetensors', 'head_config.json', 'model_head.safetensors']) t.true(existsSync(join(dir, 'adapter', f)), f);
      t.false(existsSync(join(dir, 'checkpoints')), 'checkpoints of a finished seed are removed');
      const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      t.is(lines.filter((l) => l.type === 'epoch').length, record.epochs);
      t.true(lines.some((l) => l.type === 'step'));
      t.is(lines[lines.length - 1].type, 'final');
    }
  }
  const head = await cli(['train-head', ...common, '--task-file', taskFile('hobby'), '--out', join(runs, 'hobby', 'head'), '--seeds', '1,2', '--epochs', '2', '--lr', '1e-3']);
  t.is(head.code, 0, head.stderr);
  const fusion = await cli([
    'train-fusion', ...common, '--task-file', taskFile('hobby'), '--out', join(runs, 'hobby', 'fusion'), '--seeds', '1,2', '--epochs', '2', '--lr', '1e-3',
    '--adapters', ...sources.map((s) => join(runs, s, 'st-a')),
  ]);
  t.is(fusion.code, 0, fusion.stderr);
  const fusionDir = join(runs, 'hobby', 'fusion', 'seed-1');
  const record = JSON.parse(readFileSync(join(fusionDir, 'run.json'), 'utf8'));
  t.is(record.setup, 'fusion-st-a');
  t.deepEqual(record.adapters, sources);
  const act = JSON.parse(readFileSync(join(fusionDir, 'fusion_activations.json'), 'utf8'));
  t.is(act.layers.length, DEMO_BERT_CONFIG.num_hidden_layers);
  for (const layer of act.layers) t.true(Math.abs(layer.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-4);

  // eval of the finished run gives the run's own dev number.
  const ev = await cli(['eval', '--run', fusionDir, '--json', '--threads', '1']);
  t.is(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  t.is(e.examples, record.dev.examples);
  t.true(Math.abs(e.value - record.dev.value) < 1e-9, `${e.value} vs ${record.dev.value}`);

  // report collects every run.
  const rep = await cli(['report', runs, '--html']);
  t.is(rep.code, 0, rep.stderr);
  const md = readFileSync(join(runs, 'report', 'table1.md'), 'utf8');
  t.regex(md, /\| hobby \|/);
  t.regex(md, /Fusion w\/ ST-A/);
  t.true(existsSync(join(runs, 'report', 'report.html')));
  t.true(existsSync(join(runs, 'report', 'heatmaps', 'all-layers.png')));

  // A second run into the same folder is refused unless it resumes; a resume of finished seeds is a no-op.
  const again = await cli(['train-head', ...common, '--task-file', taskFile('hobby'), '--out', join(runs, 'hobby', 'head'), '--seeds', '1', '--epochs', '2']);
  t.is(again.code, 1);
  t.regex(again.stderr, /already holds a run: pass resume \(--resume\)/);
  const resumed = await cli(['train-head', ...common, '--task-file', taskFile('hobby'), '--out', join(runs, 'hobby', 'head'), '--seeds', '1', '--epochs', '2', '--lr', '1e-3', '--resume']);
  t.is(resumed.code, 0, resumed.stderr);
});

const usageCases: [string, string[], RegExp][] = [
  ['a missing --model', ['train-adapter', '--task', 'rte', '--out', 'x'], /missing --model/],
  ['a missing --out', ['train-adapter', '--model', 'm', '--task', 'rte'], /missing --out/],
  ['a missing task', ['train-adapter', '--model', 'm', '--out', 'x'], /missing --task/],
  ['an unknown task', ['train-adapter', '--model', 'm', '--out', 'x', '--task', 'nope'], /unknown task "nope"/],
  ['a registered task without --data', ['train-adapter', '--model', 'm', '--out', 'x', '--task', 'rte'], /missing --data DIR: task rte/],
  ['bad seeds', ['train-head', '--model', 'm', '--out', 'x', '--task', 'rte', '--seeds', '1,x'], /--seeds must be a comma-separated list/],
  ['a repeated seed', ['train-head', '--model', 'm', '--out', 'x', '--task', 'rte', '--seeds', '1,1'], /--seeds has a seed twice/],
  ['a negative lr', ['train-head', '--model', 'm', '--out', 'x', '--task', 'rte', '--lr', '-1'], /--lr must be a number > 0/],
  ['a bad --bad-rows', ['train-head', '--model', 'm', '--out', 'x', '--task', 'rte', '--bad-rows', 'maybe'], /--bad-rows must be one of error, skip/],
  ['a bad --config', ['train-adapter', '--model', 'm', '--out', 'x', '--task', 'rte', '--config', 'lora'], /--config must be one of pfeiffer, houlsby/],
  ['one adapter to fuse', ['train-fusion', '--model', 'm', '--out', 'x', '--task', 'rte', '--data', 'd', '--adapters', 'a'], /at least two adapter folders/],
  ['an unknown option', ['train-fusion', '--model', 'm', '--bogus'], /unknown option --bogus/],
  ['--out twice', ['train-head', '--model', 'm', '--out', 'x', '--out', 'y', '--task', 'rte'], /--out given more than once/],
  ['columns without files', ['train-head', '--model', 'm', '--out', 'x', '--task', 'mine', '--columns', 'text=a,label=b'], /--columns, --train-file and --dev-file together/],
  ['a stray argument', ['report'], /missing required argument|runs-dir/],
];

for (const [what, args, message] of usageCases) {
  test(`usage error: ${what} exits 2 with one line and a hint`, async (t) => {
    const r = await cli(args);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /^adapterfusion: /);
    t.regex(r.stderr, message);
    t.regex(r.stderr, /--help' for usage/);
    t.true(noStack(r.stderr), r.stderr);
  });
}

test('every command has --help', async (t) => {
  for (const c of ['train-head', 'finetune', 'train-adapter', 'train-mt-adapters', 'train-fusion', 'eval', 'predict', 'report', 'demo', 'bench', 'tasks', 'info']) {
    const r = await cli([c, '--help']);
    t.is(r.code, 0, c);
    t.regex(r.stdout, new RegExp(`Usage: adapterfusion ${c}`), c);
  }
});

test.serial('bad rows: refused with file:line by default, skipped with a warning each under --bad-rows skip', async (t) => {
  await ready;
  const dir = mkdtempSync(join(tmpdir(), 'af-badrows-'));
  const hobby = join(dataDir, 'hobby');
  const train = readFileSync(join(hobby, 'train.tsv'), 'utf8').trimEnd().split('\n');
  // line 3: an unknown label; line 5: a missing cell
  train[2] = train[2].replace(/\t[^\t]*$/, '\tmaybe');
  train[4] = train[4].split('\t')[0];
  writeFileSync(join(dir, 'train.tsv'), train.join('\n') + '\n');
  writeFileSync(join(dir, 'dev.tsv'), readFileSync(join(hobby, 'dev.tsv')));
  const spec = JSON.parse(readFileSync(join(hobby, 'task.json'), 'utf8'));
  writeFileSync(join(dir, 'task.json'), JSON.stringify(spec));
  const base = ['train-head', ...common, '--task-file', join(dir, 'task.json'), '--epochs', '1', '--seeds', '1'];
  const refused = await cli([...base, '--out', join(dir, 'out1')]);
  t.is(refused.code, 1, refused.stderr);
  t.regex(refused.stderr, /2 bad rows/);
  t.regex(refused.stderr, /train\.tsv:3: .*maybe/);
  t.regex(refused.stderr, /train\.tsv:5: /);
  t.true(noStack(refused.stderr), refused.stderr);
  const skipped = await cli([...base, '--out', join(dir, 'out2'), '--bad-rows', 'skip']);
  t.is(skipped.code, 0, skipped.stderr);
  t.regex(skipped.stderr, /warning: skipped a bad row: .*train\.tsv:3/);
  t.regex(skipped.stderr, /warning: skipped a bad row: .*train\.tsv:5/);
  const record = JSON.parse(readFileSync(join(dir, 'out2', 'seed-1', 'run.json'), 'utf8'));
  t.is(record.trainExamples, train.length - 1 - 2);
});

test('a model folder that is not one is named in one line', async (t) => {
  const r = await cli(['train-head', '--model', join(root, 'no-such-model'), '--task-file', taskFile('hobby'), '--out', join(root, 'nm'), '--no-progress']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /^adapterfusion: model folder .*no-such-model: no such folder\n$/);
});

test('a data folder without a split is refused, naming the missing files', async (t) => {
  await ready;
  const data = mkdtempSync(join(tmpdir(), 'af-nodev-'));
  mkdirSync(join(data, 'rte'));
  writeFileSync(join(data, 'rte', 'train.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n');
  const r = await cli(['train-adapter', ...common, '--task', 'rte', '--data', data, '--out', join(data, 'out')]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /task rte: .*missing dev\.tsv/);
  t.true(noStack(r.stderr), r.stderr);
});

/** Runs a command, sends SIGINT once metrics.jsonl shows `afterSteps` step lines; resolves with the exit. */
function interruptAfter(args: string[], metrics: string, afterSteps: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      const text = existsSync(metrics) ? readFileSync(metrics, 'utf8') : '';
      if ((text.match(/"type":"step"/g) ?? []).length >= afterSteps) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

test.serial('Ctrl-C keeps a checkpoint; --resume ends with the same weights as an uninterrupted run', async (t) => {
  await ready;
  const dir = mkdtempSync(join(tmpdir(), 'af-sigint-'));
  const args = (out: string) => ['train-adapter', ...common, '--task-file', taskFile('hobby'), '--out', out, '--seeds', '3', '--epochs', '30', '--patience', '0', '--batch-size', '4', '--lr', '1e-3', '--log-every', '1'];
  const full = await cli(args(join(dir, 'full')));
  t.is(full.code, 0, full.stderr);

  const out = join(dir, 'cut');
  const cut = await interruptAfter(args(out), join(out, 'seed-3', 'metrics.jsonl'), 30);
  t.is(cut.code, 130, cut.stderr);
  t.regex(cut.stderr, /SIGINT: stopping at the next step boundary/);
  t.regex(cut.stderr, /--resume to continue/);
  t.true(noStack(cut.stderr), cut.stderr);
  t.false(existsSync(join(out, 'seed-3', 'run.json')), 'an interrupted seed is not finished');
  const checkpoints = readdirSync(join(out, 'seed-3', 'checkpoints'));
  t.is(checkpoints.length, 1, checkpoints.join(','));

  const resumed = await cli([...args(out), '--resume']);
  t.is(resumed.code, 0, resumed.stderr);
  for (const f of ['adapter.safetensors', 'model_head.safetensors']) {
    t.deepEqual(readFileSync(join(out, 'seed-3', 'adapter', f)), readFileSync(join(dir, 'full', 'seed-3', 'adapter', f)), f);
  }
  const a = JSON.parse(readFileSync(join(out, 'seed-3', 'run.json'), 'utf8'));
  const b = JSON.parse(readFileSync(join(dir, 'full', 'seed-3', 'run.json'), 'utf8'));
  t.deepEqual(a.dev, b.dev);
  t.is(a.steps, b.steps);
});
