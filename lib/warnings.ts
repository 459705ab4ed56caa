// Warnings for input that loads but will not compute: weights holding NaN or ±Infinity load (a
// checkpoint may be a snapshot of a diverged run the user wants to inspect), and every result
// through them is non-finite, so the library says so once per load, as a process warning
// (`process.on('warning')`, or `--no-warnings` to silence it).
export const NON_FINITE_WARNING = 'AF_NON_FINITE_WEIGHTS';

/** Names of the tensors that hold a NaN or ±Infinity. */
export function nonFiniteTensors(tensors: Iterable<readonly [string, Float32Array]>): string[] {
  const out: string[] = [];
  for (const [name, data] of tensors) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        out.push(name);
        break;
      }
    }
  }
  return out;
}

/** Emits the warning for `file` when `names` is not empty. */
export function warnNonFinite(file: string, names: string[]): void {
  if (names.length === 0) return;
  const more = names.length > 1 ? ` and ${names.length - 1} more` : '';
  const verb = names.length > 1 ? 'hold' : 'holds';
  process.emitWarning(`${file}: tensor "${names[0]}"${more} ${verb} NaN or Infinity values; outputs computed with them will not be finite`, {
    code: NON_FINITE_WARNING,
  });
}
