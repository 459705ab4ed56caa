// The summary a training command prints at the end: one line per seed and the mean ± std.
import type { RunRecord } from '../runs/record.js';
import { SETUP_TITLES } from '../runs/record.js';

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

export function summaryTable(runs: RunRecord[]): string {
  if (runs.length === 0) return 'no runs\n';
  const r0 = runs[0];
  const lines = [`${r0.task} — ${SETUP_TITLES[r0.setup]} — ${r0.result.split} ${r0.result.metric}`, ''];
  lines.push('seed     score   epochs   train s');
  for (const r of runs) {
    lines.push(`${String(r.seed).padEnd(6)} ${(r.result.value * 100).toFixed(2).padStart(7)}   ${String(r.epochs).padStart(6)}   ${r.trainSeconds.toFixed(1).padStart(7)}`);
  }
  const { mean, std } = meanStd(runs.map((r) => r.result.value * 100));
  lines.push(`mean   ${mean.toFixed(2).padStart(7)} ± ${std.toFixed(2)} over ${runs.length} seed${runs.length > 1 ? 's' : ''}`);
  return lines.join('\n') + '\n';
}
