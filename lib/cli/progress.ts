// Progress of training commands on stderr: a bar per seed on a terminal (cli-progress), plain
// lines per epoch otherwise (logs, CI), and nothing with --no-progress except warnings.
import cliProgress from 'cli-progress';
import type { RunEvent } from '../runs/events.js';
import { SETUP_TITLES } from '../runs/record.js';

const fmt = (x: number | undefined, d = 4) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

export interface Progress {
  handle(e: RunEvent): void;
  /** A line above the bars. */
  log(line: string): void;
  stop(): void;
}

export function createProgress(o: { enabled: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = o.stream ?? process.stderr;
  const tty = o.enabled && stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  const label = (e: { task: string; setup: keyof typeof SETUP_TITLES; seed: number }) => `${e.task} ${SETUP_TITLES[e.setup]} seed ${e.seed}`;
  const write = (line: string) => {
    if (bar) bar.stop();
    bar = null;
    stream.write(line + '\n');
  };
  return {
    handle(e) {
      switch (e.type) {
        case 'start':
          if (tty) {
            bar = new cliProgress.SingleBar(
              { format: `${label(e)} |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | {eta_formatted} left`, hideCursor: true, stream, etaBuffer: 50, clearOnComplete: true },
              cliProgress.Presets.shades_classic,
            );
            bar.start(e.totalSteps, e.resumedAt, { epoch: 1, loss: '-' });
          } else if (o.enabled) {
            stream.write(`${label(e)}: training, at most ${e.epochs} epochs (${e.totalSteps} steps)${e.resumedAt ? `, resumed at step ${e.resumedAt}` : ''}\n`);
          }
          break;
        case 'step':
          bar?.update(e.step, { epoch: e.epoch + 1, loss: fmt(e.loss) });
          break;
        case 'epoch':
          if (!tty && o.enabled) {
            const dev = e.dev ? `${e.metric} ${fmt(e.dev[e.metric])}, loss ${fmt(e.dev.loss)}` : '';
            stream.write(`${label(e)}: epoch ${e.epoch + 1} train loss ${fmt(e.trainLoss)}${dev ? ` | dev ${dev}` : ''}\n`);
          }
          break;
        case 'phase':
          if (bar) {
            bar.stop();
            bar = null;
          }
          break;
        case 'done':
          if (o.enabled) {
            const r = e.record;
            write(`${label(r)}: ${r.result.split} ${r.result.metric} ${fmt(r.result.value * 100, 2)} after ${r.epochs} epochs (${r.trainSeconds.toFixed(1)} s) → ${e.dir}`);
          }
          break;
        case 'skipped':
          if (o.enabled) write(`${label(e)}: finished earlier, kept (${e.dir})`);
          break;
        case 'warning':
          write(`adapterfusion: warning: ${e.message}`);
          break;
      }
    },
    log: (line) => write(line),
    stop() {
      if (bar) bar.stop();
      bar = null;
    },
  };
}
