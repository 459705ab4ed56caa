// Names the machine a benchmark ran on, so every printed number says where it came from.
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { backendInfo } from '../lib/index.js';

export function describeMachine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
    flags = ['avx512f', 'avx2', 'fma'].filter((f) => line.split(' ').includes(f)).join('/');
  } catch {
    // not Linux
  }
  const b = backendInfo();
  return (
    `${cpu} (${cpus().length} logical CPUs${flags ? ', ' + flags : ''}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `Node ${process.version}; adapterfusion CPU backend: ${b.threads} threads, GEMM ${b.gemmProvider}/${b.isa}` +
    `${b.openblas ? ' (OpenBLAS compiled in)' : ''}`
  );
}
