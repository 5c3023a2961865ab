/**
 * Live progress for `twinmcp add`: a redrawn line on a terminal, and on pipes or CI logs a plain
 * line every few seconds, so logs stay readable without control characters.
 */
import cliProgress from 'cli-progress';
import type { Job } from '../../shared/api.js';
import { formatCount, formatProgressLine } from './output.js';

export interface ProgressReporter {
  update(job: Job): void;
  stop(): void;
}

export interface ProgressTarget {
  write(text: string): void;
  isTTY: boolean;
  /** The stream a TTY bar draws on. */
  stream?: NodeJS.WritableStream;
}

// Plain output: one line per 2 s at most; a minutes-long index then logs tens of lines, not thousands.
const PLAIN_INTERVAL_MS = 2000;

/** Chooses the terminal bar or the plain lines from `target.isTTY`. */
export function createProgressReporter(target: ProgressTarget): ProgressReporter {
  return target.isTTY && target.stream
    ? terminalReporter(target.stream)
    : plainReporter(target.write);
}

function terminalReporter(stream: NodeJS.WritableStream): ProgressReporter {
  // The total page count is unknown until the source is walked, so the line shows counters
  // rather than a filling bar.
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{phase} | {pages} pages | {chunks} chunks | {tokens} tokens | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      const p = job.progress;
      const payload = {
        phase: p?.phase ?? job.state,
        pages: p?.pages ?? 0,
        chunks: p?.chunks ?? 0,
        tokens: formatCount(p?.tokens ?? 0),
      };
      if (!started) {
        bar.start(0, 0, payload);
        started = true;
      } else {
        bar.update(payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function plainReporter(write: (text: string) => void): ProgressReporter {
  let lastAt = 0;
  let lastLine = '';
  return {
    update(job) {
      const line = job.progress ? formatProgressLine(job.progress) : job.state;
      const now = Date.now();
      if (line === lastLine || now - lastAt < PLAIN_INTERVAL_MS) return;
      lastAt = now;
      lastLine = line;
      write(`${line}\n`);
    },
    stop() {},
  };
}
