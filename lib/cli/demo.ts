// `adapterfusion demo` (placeholder while lib/demo is written).
import { CliError } from './jsonl.js';
export async function demoCommand(_o: Record<string, unknown>): Promise<void> {
  throw new CliError('demo: not built yet');
}
