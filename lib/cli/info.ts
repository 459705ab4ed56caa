// `adapterfusion info`: the package version and what the native backend uses.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, type BackendInfo } from '../index.js';
import type { InfoArgs } from './args.js';

/** The version in the package.json above this file (dist/lib/cli/ or lib/cli/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      try {
        const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'adapterfusion' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

export function formatInfo(version: string, info: BackendInfo): string {
  const gemmNote = info.gemmProvider === 'builtin' ? (info.openblas ? ' (OpenBLAS also available)' : ' (OpenBLAS not available)') : '';
  return [
    `adapterfusion ${version}`,
    `backend:  ${info.backend}`,
    `gemm:     ${info.gemmProvider}${gemmNote}`,
    `isa:      ${info.isa}`,
    `threads:  ${info.threads} (of ${info.availableCores} available cores)`,
    `devices:  ${info.devices.join(', ') || 'none'}`,
    `node:     ${process.version} (${process.platform}-${process.arch})`,
  ].join('\n') + '\n';
}

export function infoCommand(args: InfoArgs): void {
  const options: { threads?: number; gemm?: 'builtin' | 'openblas' } = {};
  if (args.threads !== null) options.threads = args.threads;
  if (args.gemm !== null) options.gemm = args.gemm;
  const info = backendInfo(options);
  const version = packageVersion();
  if (args.json) {
    process.stdout.write(JSON.stringify({ version, ...info, node: process.version, platform: `${process.platform}-${process.arch}` }) + '\n');
  } else {
    process.stdout.write(formatInfo(version, info));
  }
}
