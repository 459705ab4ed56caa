// Crash-safe training (docs/ARCHITECTURE.md, "Training, checkpoints and resume"): `kill -9` of a
// real training process at random moments — in a step, between steps, while a checkpoint is
// being written — leaves the last complete checkpoint loadable, and `--resume` then ends with the
// same bytes as an uninterrupted run. A full disk or a read-only output folder during a save is a
// clear IoError with the previous checkpoint intact (on a small tmpfs, when this machine lets the
// test mount one).
import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createModel, IoError, saveModel, Trainer, type BertModel, type Example } from '../lib/index.js';
import { loadCheckpoint } from '../lib/trainer/checkpoint.js';
import { DEMO_BERT_CONFIG, demoModelOptions } from '../lib/demo/settings.js';
import { makeDemoTasks, writeDemoTasks, writeDemoTokenizer } from '../lib/demo/tasks.js';
import { repoRoot } from './helpers/paths.js';
import { allParams, changed, lcg } from './helpers/training.js';

const mainJs = join(repoRoot, 'dist', 'lib', 'cli', 'main.js');
const root = mkdtempSync(join(tmpdir(), 'af-crash-'));

function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [mainJs, ...args], { maxBuffer: 64 << 20, timeout: 240_000 }, (err, _stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stderr });
    });
  });
}

const stepLines = (path: string) => (existsSync(path) ? (readFileSync(path, 'utf8').match(/"type":"step"/g) ?? []).length : 0);

/** Starts a command and SIGKILLs it `delayMs` after metrics.jsonl shows `afterSteps` step lines. */
function killAfter(args: string[], metrics: string, afterSteps: number, delayMs: number): Promise<{ killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { stdio: 'ignore' });
    const poll = setInterval(() => {
      if (stepLines(metrics) < afterSteps) return;
      clearInterval(poll);
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }, 2);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve({ killed: signal === 'SIGKILL' });
    });
  });
}

/** metrics.jsonl without wall-clock times: what two runs of the same training must share. */
const history = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ elapsed: _e, ...rest }) => rest);

test.serial('kill -9 at random moments, then --resume: the same bytes as an uninterrupted run', async (t) => {
  const modelDir = join(root, 'model');
  const dataDir = join(root, 'data');
  const model = await createModel(DEMO_BERT_CONFIG, demoModelOptions(1));
  await writeDemoTokenizer(modelDir);
  await saveModel(model, modelDir);
  model.dispose();
  await writeDemoTasks(dataDir, makeDemoTasks(1, { sourceTrain: 60, sourceDev: 30, targetTrain: 48, targetDev: 60 }));
  // 12 steps an epoch, a checkpoint after each of 6 epochs; dropout on.
  const args = (out: string) => [
    'train-adapter', '--model', modelDir, '--threads', '1', '--no-progress', '--task-file', join(dataDir, 'hobby', 'task.json'),
    '--out', out, '--seeds', '5', '--epochs', '6', '--patience', '0', '--batch-size', '4', '--lr', '1e-3', '--log-every', '1',
  ];
  const full = await cli(args(join(root, 'full')));
  t.is(full.code, 0, full.stderr);
  const want = join(root, 'full', 'seed-5');
  const totalSteps = stepLines(join(want, 'metrics.jsonl'));
  t.is(totalSteps, 72);

  const rand = lcg(20261206);
  for (let trial = 0; trial < 4; trial++) {
    const out = join(root, `cut-${trial}`);
    const metrics = join(out, 'seed-5', 'metrics.jsonl');
    // One or two kills, each after a random number of steps plus a random delay (landing in a
    // step, between steps, or in a checkpoint save), then a resume that runs to the end.
    const kills = 1 + (trial % 2);
    let killedAt = 0;
    for (let k = 0; k < kills; k++) {
      const after = Math.min(totalSteps - 1, killedAt + 1 + Math.floor(rand() * 30));
      const delay = Math.floor(rand() * 40);
      const r = await killAfter(k === 0 ? args(out) : [...args(out), '--resume'], metrics, after, delay);
      killedAt = stepLines(metrics);
      t.log(`trial ${trial}, kill ${k + 1}: after ${after} steps + ${delay} ms (${r.killed ? 'killed' : 'had finished'}); checkpoints: ${existsSync(join(out, 'seed-5', 'checkpoints')) ? readdirSync(join(out, 'seed-5', 'checkpoints')).join(', ') : 'none'}`);
    }
    const resumed = await cli([...args(out), '--resume']);
    t.is(resumed.code, 0, resumed.stderr);
    for (const f of ['adapter.safetensors', 'model_head.safetensors']) {
      t.deepEqual(readFileSync(join(out, 'seed-5', 'adapter', f)), readFileSync(join(want, 'adapter', f)), `trial ${trial}: ${f}`);
    }
    const a = JSON.parse(readFileSync(join(out, 'seed-5', 'run.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(want, 'run.json'), 'utf8'));
    t.deepEqual(a.dev, b.dev, `trial ${trial}: dev`);
    // The log holds each step once: the resume rewound what the killed run logged past its checkpoint.
    const steps = (h: Record<string, unknown>[]) => h.filter((l) => l.type === 'step');
    t.deepEqual(steps(history(metrics)), steps(history(join(want, 'metrics.jsonl'))), `trial ${trial}: metrics.jsonl`);
  }
});

test.serial('kill -9 while checkpoints are being written: the last complete one always loads', async (t) => {
  // A child process saves checkpoints of 24 MB in a loop; each epoch's tensor is filled with the
  // epoch number, so a torn save would show as a mixed or truncated tensor.
  const script = join(root, 'save-loop.mjs');
  const checkpointJs = pathToFileURL(join(repoRoot, 'dist', 'lib', 'trainer', 'checkpoint.js')).href;
  writeFileSync(
    script,
    `import { saveCheckpoint } from ${JSON.stringify(checkpointJs)};
const n = 6 << 20;
for (let epoch = 1; ; epoch++) {
  const data = new Float32Array(n).fill(epoch);
  const t = { name: 'w', shape: [n], data };
  await saveCheckpoint(process.argv[2], { state: { epoch }, params: [t], optimizer: { steps: epoch, m: [t], v: [t] } });
  process.stdout.write(epoch + '\\n');
}
`,
  );
  const rand = lcg(7);
  for (let trial = 0; trial < 8; trial++) {
    const dir = join(root, `saves-${trial}`);
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let saved = 0;
    child.stdout.on('data', (d: Buffer) => (saved = Number(d.toString().trim().split('\n').at(-1))));
    await new Promise((r) => setTimeout(r, 300 + rand() * 1500));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    if (!existsSync(dir) || !readdirSync(dir).some((e) => e.startsWith('epoch-'))) {
      // Killed before its first save completed: refused cleanly, nothing half-written is taken.
      t.is(saved, 0, `trial ${trial}`);
      const err = await t.throwsAsync<Error & { code: string }>(loadCheckpoint(dir));
      t.regex(err!.code, /^ERR_AF_(INVALID_ARGUMENT|IO)$/);
      continue;
    }
    const ck = await loadCheckpoint(dir);
    const epoch = ck.state.epoch;
    t.true(epoch >= saved, `trial ${trial}: checkpoint epoch ${epoch}, last reported save ${saved}`);
    t.is(ck.optimizer.steps, epoch);
    t.log(`trial ${trial}: killed after ${saved} saves; epoch-${epoch} loads whole (${readdirSync(dir).join(', ')})`);
    for (const tensor of [ck.params[0], ck.optimizer.m[0], ck.optimizer.v[0]]) {
      t.is(tensor.data.length, 6 << 20);
      t.true(tensor.data.every((x) => x === epoch), `trial ${trial}: a tensor of epoch ${epoch} holds other values`);
    }
  }
});

// ---------------------------------------------------------------- a full disk, a read-only folder

/** A 2 MiB tmpfs at `dir`, or null when this machine does not let us mount one. */
function mountTmpfs(dir: string): string | null {
  try {
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return null;
  }
}
const tmpfs = process.platform === 'linux' ? mountTmpfs(join(root, 'tmpfs')) : null;
test.after.always(() => {
  if (tmpfs) execFileSync('umount', [tmpfs]);
  rmSync(root, { recursive: true, force: true });
});
const withTmpfs = tmpfs ? test.serial : test.serial.skip;
const why = tmpfs ? '' : ' (skipped: cannot mount a tmpfs here: needs root or CAP_SYS_ADMIN)';

function synthetic(n: number, seed: number): Example[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => {
    const ids = new Int32Array(6).map(() => 10 + Math.floor(r() * 50));
    const label = r() < 0.5 ? 1 : 0;
    if (label) ids[3] = 5;
    return { inputIds: ids, label };
  });
}

async function smallModel(): Promise<BertModel> {
  const m = await createModel({ ...DEMO_BERT_CONFIG }, demoModelOptions(2));
  await m.addAdapter('a', { reductionFactor: 4, seed: 1 });
  await m.addClassificationHead('cls', { numLabels: 2, seed: 2 });
  await m.setActiveAdapters('a', { head: 'cls' });
  return m;
}

for (const failure of ['a full disk', 'a read-only folder'] as const) {
  withTmpfs(`${failure} during a save: a clear IoError, the previous checkpoint intact, and resume completes${why}`, async (t) => {
    const dir = join(tmpfs!, failure.replace(/ /g, '-'));
    const train = synthetic(64, 1);
    const o = { mode: 'adapter' as const, adapter: 'a', lr: 1e-3, epochs: 3, batchSize: 16, seed: 3 };
    const reference = await smallModel();
    await new Trainer(reference, o).train(train);
    const want = await allParams(reference);
    reference.dispose();

    const model = await smallModel();
    const filler = join(tmpfs!, 'filler');
    const trainer = new Trainer(model, {
      ...o,
      checkpointDir: dir,
      onEpoch: (r) => {
        if (r.epoch !== 0) return;
        if (failure === 'a full disk') {
          try {
            execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
          } catch {
            // dd stops at "No space left on device": that is the point
          }
        } else {
          execFileSync('mount', ['-o', 'remount,ro', tmpfs!]);
        }
      },
    });
    const err = await t.throwsAsync(trainer.train(train), { instanceOf: IoError });
    t.regex(err!.message, failure === 'a full disk' ? /no space left|ENOSPC/i : /read-only|EROFS/i);
    t.regex(err!.message, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    t.log(err!.message);
    if (failure === 'a full disk') rmSync(filler);
    else execFileSync('mount', ['-o', 'remount,rw', tmpfs!]);
    const ck = await loadCheckpoint(dir);
    t.is(ck.state.epoch, 1, 'the checkpoint of epoch 1 is the last one, intact');

    const again = await smallModel();
    await new Trainer(again, { ...o, checkpointDir: dir }).train(train, null, { resumeFrom: ck.path });
    t.deepEqual(changed(await allParams(again), want), [], 'resume ends where the uninterrupted run did');
    again.dispose();
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
}
