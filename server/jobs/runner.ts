/**
 * The in-process job runner: claims jobs one at a time and runs the handler for their kind, with
 * a heartbeat that keeps the lease and stops the job when it was cancelled elsewhere.
 */
import { randomUUID } from 'node:crypto';
import type { JobProgress } from '../../shared/api.js';
import type { Db } from '../db/db.js';
import { claimJob, finishJob, heartbeat, retryOrFail, type JobRow } from './queue.js';

export interface JobContext {
  signal: AbortSignal;
  progress(p: JobProgress): void;
}

export type JobHandler = (job: JobRow, ctx: JobContext) => Promise<JobProgress | undefined>;

/** An error that retrying cannot fix (bad path, no pages): the job fails at once. */
export class PermanentJobError extends Error {}

export interface RunnerOptions {
  /** Lease on a claimed job; a heartbeat renews it every third of it. 30 s survives GC pauses and slow batches. */
  leaseMs?: number;
  pollMs?: number;
  log?: (msg: string) => void;
}

export class JobRunner {
  readonly worker = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly db: Db,
    private readonly handlers: Record<string, JobHandler>,
    private readonly opts: RunnerOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 1000;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Wakes the loop at once (a job was just queued in this process). */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let job: JobRow | undefined;
      try {
        job = await claimJob(this.db, this.worker, this.leaseMs);
      } catch (err) {
        this.opts.log?.(`job claim failed: ${(err as Error).message}`);
      }
      if (job) {
        await this.execute(job);
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async execute(job: JobRow): Promise<void> {
    const handler = this.handlers[job.kind];
    if (!handler) {
      await finishJob(this.db, job.id, this.worker, {
        state: 'failed',
        error: `unknown job kind ${job.kind}`,
      });
      return;
    }
    const abort = new AbortController();
    let latest: JobProgress | undefined;
    let beating = false;
    const beat = setInterval(
      () => {
        if (beating) return;
        beating = true;
        heartbeat(this.db, job.id, this.worker, this.leaseMs, latest)
          .then((ours) => {
            if (!ours) abort.abort();
          })
          .catch(() => {})
          .finally(() => (beating = false));
      },
      Math.min(this.leaseMs / 3, 1000),
    );
    try {
      const result = await handler(job, {
        signal: abort.signal,
        progress: (p) => {
          latest = p;
        },
      });
      if (abort.signal.aborted) return;
      await finishJob(this.db, job.id, this.worker, {
        state: 'succeeded',
        ...(result ? { progress: result } : {}),
      });
    } catch (err) {
      if (abort.signal.aborted) return;
      const message = err instanceof Error ? err.message : String(err);
      this.opts.log?.(`job ${job.id} (${job.kind}) failed: ${message}`);
      if (err instanceof PermanentJobError) {
        await finishJob(this.db, job.id, this.worker, {
          state: 'failed',
          error: message,
          ...(latest ? { progress: latest } : {}),
        });
      } else {
        await retryOrFail(this.db, job, this.worker, message);
      }
    } finally {
      clearInterval(beat);
    }
  }
}
