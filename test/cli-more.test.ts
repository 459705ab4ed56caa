// The remaining commands of `adapterfusion` through the binary: finetune, train-mt-adapters and
// Fusion w/ MT-A, bench, tasks and the demo (one seed; the README's demo runs three).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, loadModel, saveModel, readSafetensors } from '../lib/index.js';
import { DEMO_BERT_CONFIG, demoModelOptions } from '../lib/demo/settings.js';
import { makeDemoTasks, writeDemoTasks, writeDemoTokenizer } from '../lib/demo/tasks.js';
import { repoRoot } from './helpers/paths.js';

const mainJs = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [mainJs, ...args], { maxBuffer: 64 << 20, timeout: 600_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

const root = mkdtempSync(join(tmpdir(), 'af-cli-more-'));
const modelDir = join(root, 'model');
const dataDir = join(root, 'data');
const ready = (async () => {
  const model = await createModel(DEMO_BERT_CONFIG, demoModelOptions(2));
  await writeDemoTokenizer(modelDir);
  await saveModel(model, modelDir);
  model.dispose();
  await writeDemoTasks(dataDir, makeDemoTasks(2, { sourceTrain: 160, sourceDev: 40, targetTrain: 32, targetDev: 40 }));
})();
const taskFile = (name: string) => join(dataDir, name, 'task.json');
const common = ['--model', modelDir, '--threads', '1', '--no-progress'];

test('finetune writes a Hugging Face folder that loads and differs from the start', async (t) => {
  await ready;
  const out = join(root, 'full');
  const r = await cli(['finetune', ...common, '--task-file', taskFile('topic'), '--out', out, '--epochs', '1', '--lr', '1e-3']);
  t.is(r.code, 0, r.stderr);
  const dir = join(out, 'seed-42');
  const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  t.is(record.setup, 'full');
  const tuned = await readSafetensors(join(dir, 'model', 'model.safetensors'));
  const base = await readSafetensors(join(modelDir, 'model.safetensors'));
  const name = 'encoder.layer.0.attention.self.query.weight';
  const a = tuned.tensors.find((x) => x.name === name)!.data as Float32Array;
  const b = base.tensors.find((x) => x.name === name)!.data as Float32Array;
  t.true(a.some((v, i) => v !== b[i]), 'the encoder was trained');
  t.true(existsSync(join(dir, 'model', 'vocab.txt')), 'the tokenizer travels with the model');
  const loaded = await loadModel(join(dir, 'model'));
  t.is(loaded.config.hiddenSize, DEMO_BERT_CONFIG.hidden_size);
  loaded.dispose();
});

test('train-mt-adapters, then train-fusion --mt-a on its encoder and adapters', async (t) => {
  await ready;
  const mt = join(root, 'mt');
  const tasks = ['topic', 'color', 'hobby'];
  // --tasks takes registered names or custom task files.
  const r = await cli(['train-mt-adapters', ...common, '--tasks', ...tasks.map(taskFile), '--out', mt, '--seeds', '1', '--epochs', '2', '--lr', '1e-3']);
  t.is(r.code, 0, r.stderr);
  for (const task of tasks) {
    const record = JSON.parse(readFileSync(join(mt, 'seed-1', task, 'run.json'), 'utf8'));
    t.is(record.setup, 'mt-a');
    t.is(record.task, task);
    t.true(existsSync(join(mt, 'seed-1', task, 'adapter', 'adapter_config.json')));
  }
  t.true(existsSync(join(mt, 'seed-1', 'model', 'model.safetensors')));
  const lines = readFileSync(join(mt, 'seed-1', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const alphas = lines.filter((l) => l.type === 'epoch').map((l) => l.alpha);
  t.is(alphas.length, 2);
  t.is(alphas[0], 1);
  t.true(Math.abs(alphas[1] - 0.2) < 1e-12, String(alphas[1]));
  const f = await cli(['train-fusion', '--mt-a', mt, '--threads', '1', '--no-progress', '--task-file', taskFile('hobby'), '--out', join(root, 'fusion-mt'), '--seeds', '1', '--epochs', '1']);
  t.is(f.code, 0, f.stderr);
  const fr = JSON.parse(readFileSync(join(root, 'fusion-mt', 'seed-1', 'run.json'), 'utf8'));
  t.is(fr.setup, 'fusion-mt-a');
  t.deepEqual(fr.adapters, tasks);
  t.is(fr.model.path, join(mt, 'seed-1', 'model'));
  const usage = await cli(['train-mt-adapters', ...common, '--tasks', 'rte', '--out', join(root, 'x')]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /at least two tasks/);
});

test('bench times the four cases on a model folder', async (t) => {
  await ready;
  const r = await cli(['bench', '--model', modelDir, '--batch-size', '2', '--seq-len', '16', '--adapters', '3', '--repeats', '1', '--threads', '1', '--json']);
  t.is(r.code, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  t.deepEqual(b.cases.map((c: { name: string }) => c.name), ['forward (encoder + head)', 'ST-A train step', 'Fusion N=3 train step', 'Fusion N=3 forward']);
  for (const c of b.cases) t.true(c.ms > 0 && c.tokensPerSecond > 0, c.name);
  const bad = await cli(['bench', '--model', modelDir, '--seq-len', '999']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /seq-len 999 is more than the model's/);
});

test('tasks lists the registry', async (t) => {
  const r = await cli(['tasks', '--json']);
  t.is(r.code, 0, r.stderr);
  const names = JSON.parse(r.stdout).map((x: { name: string }) => x.name);
  for (const n of ['mnli', 'qqp', 'sst2', 'rte', 'mrpc', 'cb', 'boolq', 'sick', 'scitail', 'imdb', 'argument', 'hellaswag', 'winogrande', 'cosmosqa', 'csqa', 'socialiqa']) t.true(names.includes(n), n);
});

test('demo: both stages and the report, with the numbers it measured', async (t) => {
  const out = join(root, 'demo');
  const r = await cli(['demo', '--out', out, '--seeds', '1', '--no-progress']);
  t.is(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'demo_summary.json'), 'utf8'));
  for (const setup of ['head', 'st-a', 'fusion-st-a']) {
    t.is(summary.scores[setup].length, 1, setup);
    const pctText = (summary.scores[setup][0] * 100).toFixed(1);
    t.true(r.stdout.includes(pctText), `${setup} ${pctText} printed`);
  }
  t.regex(r.stdout, /Fusion ≥ ST-A on the low-resource target: (yes|NO)/);
  for (const f of ['report.html', 'table1.md', join('heatmaps', 'all-layers.png'), join('heatmaps', 'all-layers.svg')]) t.true(existsSync(join(out, 'report', f)), f);
  t.true(r.stdout.includes(join(out, 'report', 'report.html')));
});
