/**
 * The job runner: `concurrency` loops that claim jobs and run the handler for their kind, with a
 * heartbeat that keeps the lease and stops the job when it was cancelled (in any process) or
 * taken by another worker. Transient failures are retried with backoff (server/jobs/errors.ts);
 * `stop({ release: true })` hands running jobs back to the queue at once.
 */
import { randomUUID } from 'node:crypto';
import type { JobProgress } from '../../shared/api.js';
import type { Db } from '../db/db.js';
import { backoffDelay } from './config.js';
import { isTransient, PermanentJobError } from './errors.js';
import {
  claimJob,
  finishJob,
  heartbeat,
  releaseJob,
  retryOrFail,
  sweepDeadJobs,
  type JobRow,
} from './queue.js';

export { PermanentJobError };

/** Why a running job's signal was aborted. */
export type AbortReason = 'cancel' | 'release' | 'lost';

export interface JobContext {
  /** Aborted with an AbortReason as `signal.reason`. */
  signal: AbortSignal;
  progress(p: JobProgress): void;
}

export type JobHandler = (job: JobRow, ctx: JobContext) => Promise<JobProgress | undefined>;

export interface RunnerOptions {
  /** Lease on a claimed job; a heartbeat renews it every third of it. 30 s survives GC pauses and slow batches. */
  leaseMs?: number;
  pollMs?: number;
  /** Jobs run at once by this runner. Default 1. */
  concurrency?: number;
  /** Attempts before a transient failure is final (recorded on each claimed job). Default 3. */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt with jitter. Default 2 s. */
  backoffMs?: number;
  log?: (msg: string) => void;
}

export class JobRunner {
  readonly worker = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private stopped = false;
  private readonly wakers = new Set<() => void>();
  private loops: Promise<void>[] | undefined;
  private readonly running = new Map<string, AbortController>();
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
    if (this.loops) return;
    this.stopped = false;
    this.loops = Array.from({ length: Math.max(1, this.opts.concurrency ?? 1) }, () => this.run());
  }

  /** Wakes the loops at once (a job was just queued in this process). */
  poke(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Ids of the jobs running in this process now. */
  activeJobs(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Stops claiming. Without `release` it waits for running jobs to end; with it, they are stopped
   * at their next page batch and go back to the queue at once with their checkpoint (no wait for
   * the lease to expire), so another worker resumes them.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (opts.release) for (const abort of this.running.values()) abort.abort('release');
    this.poke();
    await Promise.all(this.loops ?? []);
    this.loops = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let job: JobRow | undefined;
      try {
        await sweepDeadJobs(this.db);
        job = await claimJob(this.db, this.worker, this.leaseMs, this.opts.maxAttempts);
      } catch (err) {
        this.opts.log?.(`job claim failed: ${(err as Error).message}`);
      }
      if (job) {
        await this.execute(job).catch((err: Error) =>
          this.opts.log?.(`job ${job.id} bookkeeping failed: ${err.message}`),
        );
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, this.pollMs);
        this.wakers.add(wake);
      });
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
    this.running.set(job.id, abort);
    // Stopped between the claim and here: hand it straight back.
    if (this.stopped) abort.abort('release');
    let latest: JobProgress | undefined;
    let beating = false;
    const beat = setInterval(
      () => {
        if (beating) return;
        beating = true;
        heartbeat(this.db, job.id, this.worker, this.leaseMs, latest)
          .then((state) => {
            if (state !== 'ok') abort.abort(state);
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
      if (abort.signal.reason === 'lost') return;
      await finishJob(this.db, job.id, this.worker, {
        state: 'succeeded',
        ...(result ? { progress: result } : {}),
      });
      this.opts.log?.(`job ${job.id} (${job.kind}) succeeded on worker ${this.worker}`);
    } catch (err) {
      const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
      if (reason === 'lost') return;
      if (reason === 'release') {
        this.opts.log?.(`job ${job.id} released`);
        await releaseJob(this.db, job.id, this.worker);
        return;
      }
      if (reason === 'cancel') {
        this.opts.log?.(`job ${job.id} cancelled`);
        await finishJob(this.db, job.id, this.worker, {
          state: 'cancelled',
          ...(latest ? { progress: latest } : {}),
        });
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      const transient = !(err instanceof PermanentJobError) && isTransient(err);
      this.opts.log?.(
        `job ${job.id} (${job.kind}) attempt ${job.attempts} failed${transient ? ' (transient)' : ''}: ${message}`,
      );
      if (transient) {
        const delay = backoffDelay(this.opts.backoffMs ?? 2000, job.attempts);
        await retryOrFail(this.db, job, this.worker, message, delay);
      } else {
        await finishJob(this.db, job.id, this.worker, {
          state: 'failed',
          error: message,
          ...(latest ? { progress: latest } : {}),
        });
      }
    } finally {
      clearInterval(beat);
      this.running.delete(job.id);
    }
  }
}
