/**
 * The jobs table as a queue: claimed with `FOR UPDATE SKIP LOCKED` under a lease that a heartbeat
 * extends, so several workers (processes) share one database without running a job twice, and a
 * job whose worker died is claimed again once its lease runs out (counted as an attempt).
 * Cancelling sets a flag the running worker's heartbeat reads; a queued job is cancelled at once.
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobProgress, JobState } from '../../shared/api.js';
import type { Queryable } from '../db/db.js';
import { settleJobVersions } from './checkpoint.js';

export interface JobRow {
  id: string;
  kind: string;
  owner_account: string | null;
  library_id: string | null;
  version: string | null;
  payload: Record<string, unknown>;
  state: JobState;
  attempts: number;
  max_attempts: number;
  run_after?: Date | string | null;
  cancel_requested?: boolean;
  progress: JobProgress | null;
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** The error a lease-expired job is reclaimed with: its worker died or hung. */
export const LEASE_EXPIRED = 'worker lost (its lease expired); attempt retried';

export function toJob(row: JobRow): Job {
  const runAfter = row.run_after ? new Date(row.run_after) : undefined;
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    libraryId: row.library_id,
    version: row.version,
    progress: row.progress,
    error: row.error,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    cancelRequested: row.cancel_requested === true,
    // Only a job waiting out a retry backoff has a next run worth showing.
    nextRunAt:
      row.state === 'queued' && runAfter && runAfter.getTime() > Date.now()
        ? runAfter.toISOString()
        : null,
  };
}

export async function enqueueJob(
  db: Queryable,
  job: {
    kind: string;
    payload: Record<string, unknown>;
    owner: string | null;
    libraryId: string | null;
    version: string | null;
    maxAttempts?: number;
  },
): Promise<JobRow> {
  const rows = await db.query<JobRow>(
    `INSERT INTO jobs (id, kind, owner_account, library_id, version, payload, state, max_attempts)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'queued', coalesce($7::int, 3)) RETURNING *`,
    [
      randomUUID(),
      job.kind,
      job.owner,
      job.libraryId,
      job.version,
      JSON.stringify(job.payload),
      job.maxAttempts ?? null,
    ],
  );
  return rows[0]!;
}

export async function getJobRow(db: Queryable, id: string): Promise<JobRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const rows = await db.query<JobRow>(`SELECT * FROM jobs WHERE id = $1`, [id]);
  return rows[0];
}

/** Newest first; only `owner`'s jobs when given (null = public jobs), every job when undefined. */
export async function listJobRows(
  db: Queryable,
  opts: { owner?: string | null; states?: JobState[]; limit?: number },
): Promise<JobRow[]> {
  return db.query<JobRow>(
    `SELECT * FROM jobs
      WHERE ($1::boolean OR owner_account IS NOT DISTINCT FROM $2::text)
        AND ($3::text[] IS NULL OR state = ANY($3::text[]))
      ORDER BY created_at DESC, id LIMIT $4`,
    [opts.owner === undefined, opts.owner ?? null, opts.states ?? null, opts.limit ?? 100],
  );
}

/**
 * Ends jobs whose worker is gone (lease expired) and that must not run again: cancel requested
 * (-> cancelled, staging removed) or out of attempts (-> failed, staging failed).
 */
export async function sweepDeadJobs(db: Queryable): Promise<void> {
  const dead = await db.query<{ id: string; state: JobState; error: string | null }>(
    `UPDATE jobs SET state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END,
            error = CASE WHEN cancel_requested THEN error ELSE $1 END,
            lease_owner = NULL, lease_until = NULL, finished_at = now(), updated_at = now()
      WHERE state = 'running' AND lease_until < now() AND (cancel_requested OR attempts >= max_attempts)
      RETURNING id, state, error`,
    [`${LEASE_EXPIRED.split(';')[0]} on the last attempt`],
  );
  for (const d of dead) {
    await settleJobVersions(db, d.id, d.state === 'cancelled' ? 'cancelled' : 'failed', d.error);
  }
}

/** Claims the oldest runnable job (queued and due, or running with an expired lease). */
export async function claimJob(
  db: Queryable,
  worker: string,
  leaseMs: number,
  /** This worker's attempt limit (TWINMCP_JOB_MAX_ATTEMPTS), recorded on the job it claims. */
  maxAttempts?: number,
): Promise<JobRow | undefined> {
  const rows = await db.query<JobRow>(
    `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
            max_attempts = coalesce($4::int, max_attempts),
            lease_until = now() + ($2::int * interval '1 millisecond'), heartbeat_at = now(), updated_at = now(),
            error = CASE WHEN state = 'running' THEN $3 ELSE error END
      WHERE id = (SELECT id FROM jobs
                   WHERE (state = 'queued' AND run_after <= now())
                      OR (state = 'running' AND lease_until < now() AND NOT cancel_requested)
                   ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
      RETURNING *`,
    [worker, leaseMs, LEASE_EXPIRED, maxAttempts ?? null],
  );
  return rows[0];
}

/**
 * Extends the lease and stores progress. `lost`: the job is no longer ours (another worker took
 * it, or it ended); `cancel`: someone asked to cancel it.
 */
export async function heartbeat(
  db: Queryable,
  id: string,
  worker: string,
  leaseMs: number,
  progress?: JobProgress,
): Promise<'ok' | 'lost' | 'cancel'> {
  const rows = await db.query<{ cancel_requested: boolean }>(
    `UPDATE jobs SET lease_until = now() + ($3::int * interval '1 millisecond'), heartbeat_at = now(),
            updated_at = now(), progress = coalesce($4::jsonb, progress)
      WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING cancel_requested`,
    [id, worker, leaseMs, progress ? JSON.stringify(progress) : null],
  );
  if (rows.length === 0) return 'lost';
  return rows[0]!.cancel_requested ? 'cancel' : 'ok';
}

/** Ends a job we hold and settles the staging versions it leaves (server/jobs/checkpoint.ts). */
export async function finishJob(
  db: Queryable,
  id: string,
  worker: string,
  outcome: {
    state: 'succeeded' | 'failed' | 'cancelled';
    error?: string;
    progress?: JobProgress;
  },
): Promise<void> {
  const rows = await db.query(
    `UPDATE jobs SET state = $3, error = $4, progress = coalesce($5::jsonb, progress), lease_owner = NULL,
            lease_until = NULL, finished_at = now(), updated_at = now()
      WHERE id = $1 AND lease_owner = $2 RETURNING id`,
    [
      id,
      worker,
      outcome.state,
      outcome.error ?? null,
      outcome.progress ? JSON.stringify(outcome.progress) : null,
    ],
  );
  // Succeeded: its version is `ready`; any other staging version left (an earlier attempt under
  // another id) goes, as for a cancelled job.
  if (rows.length > 0) {
    const settle = outcome.state === 'failed' ? 'failed' : 'cancelled';
    await settleJobVersions(db, id, settle, outcome.error ?? null);
  }
}

/**
 * Puts a failed attempt back in the queue after `backoffMs` (its staging version stays, to
 * resume from), or fails it for good when it is out of attempts. True when it will run again.
 */
export async function retryOrFail(
  db: Queryable,
  job: JobRow,
  worker: string,
  error: string,
  backoffMs: number,
): Promise<boolean> {
  if (job.attempts >= job.max_attempts) {
    await finishJob(db, job.id, worker, { state: 'failed', error });
    return false;
  }
  await db.query(
    `UPDATE jobs SET state = 'queued', error = $3, lease_owner = NULL, lease_until = NULL,
            run_after = now() + ($4::int * interval '1 millisecond'), updated_at = now()
      WHERE id = $1 AND lease_owner = $2`,
    [job.id, worker, error, backoffMs],
  );
  return true;
}

/**
 * Hands a job we hold back to the queue at once (graceful shutdown): runnable now by any worker,
 * the attempt not counted, its staging version kept as the checkpoint to resume from.
 */
export async function releaseJob(db: Queryable, id: string, worker: string): Promise<void> {
  await db.query(
    `UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0), lease_owner = NULL,
            lease_until = NULL, run_after = now(), updated_at = now()
      WHERE id = $1 AND lease_owner = $2 AND state = 'running'`,
    [id, worker],
  );
}

/**
 * Cancels a job: a queued one at once (state `cancelled`); a running one is flagged, and its
 * worker stops at its next heartbeat. Returns the row after the change, or as it was when the job
 * had already ended; undefined when there is no such job.
 */
export async function cancelJob(db: Queryable, id: string): Promise<JobRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const rows = await db.query<JobRow>(
    `UPDATE jobs SET cancel_requested = true, updated_at = now(),
            state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
            finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END
      WHERE id = $1 AND state IN ('queued', 'running') RETURNING *`,
    [id],
  );
  const row = rows[0];
  if (!row) return getJobRow(db, id);
  // A queued job may hold a staging version from an earlier attempt (a retry, a release).
  if (row.state === 'cancelled') await settleJobVersions(db, id, 'cancelled', null);
  return row;
}
