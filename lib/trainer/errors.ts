// Cancellation: what train() / evaluate() reject with when their AbortSignal fires.

/**
 * Training or evaluation was cancelled through an AbortSignal. `name` is 'AbortError' and
 * `code` 'ABORT_ERR', as Node's own AbortErrors; `cause` is the signal's reason.
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR' as const;
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** Throws an AbortError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'the operation'): void {
  if (signal?.aborted) throw new AbortError(`${what} was aborted`, { cause: signal.reason });
}

export function checkSignal(signal: unknown, name: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`${name} must be an AbortSignal`);
  return signal;
}
