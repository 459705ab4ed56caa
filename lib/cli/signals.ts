// Ctrl-C and SIGTERM during a long command: the first one asks the work to stop at its next safe
// point (a training step boundary, where a checkpoint is written); a second one quits at once.
export class Interrupted extends Error {
  readonly exitCode: number;
  constructor(signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
    this.name = 'Interrupted';
    this.exitCode = signal === 'SIGINT' ? 130 : 143;
  }
}

export interface StopSignal {
  signal: AbortSignal;
  /** The signal that stopped the work, if any. */
  received(): NodeJS.Signals | null;
  dispose(): void;
}

export function listenForStop(onFirst: (signal: NodeJS.Signals) => void): StopSignal {
  const controller = new AbortController();
  let got: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (got !== null) process.exit(signal === 'SIGINT' ? 130 : 143);
    got = signal;
    onFirst(signal);
    controller.abort(new Interrupted(signal));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    received: () => got,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
