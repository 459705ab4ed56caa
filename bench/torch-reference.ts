// Runs bench/torch_bert.py with the reference venv's Python, when there is one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface TorchTimings {
  torch: string;
  transformers: string;
  threads: number;
  attn: string;
  forward: [number, number];
  backward_input: [number, number];
  backward_full: [number, number];
  sgemm: [number, number];
  sgemm_n: number;
}

export function referencePython(root: string): string | undefined {
  const candidates = [process.env.AF_REF_PYTHON, join(root, '.venv-ref', 'bin', 'python')];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

export function runTorch(root: string, args: Record<string, unknown>): TorchTimings | { error: string } {
  const python = referencePython(root);
  if (!python) return { error: 'no reference venv (.venv-ref) with torch: PyTorch columns skipped' };
  const r = spawnSync(python, [join(root, 'bench', 'torch_bert.py'), JSON.stringify(args)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) return { error: `torch reference failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchTimings;
}
