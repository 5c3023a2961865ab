/**
 * The jobs table as a queue: claimed with `FOR UPDATE SKIP LOCKED` under a lease that a heartbeat
 * extends, so several workers (processes) share one database without running a job twice, and a
 * job whose worker died is claimed again once its lease runs out.
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobProgress, JobState } from '../../shared/api.js';
import type { Queryable } from '../db/db.js';

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
  progress: JobProgress | null;
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toJob(row: JobRow): Job {
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
  },
): Promise<JobRow> {
  const rows = await db.query<JobRow>(
    `INSERT INTO jobs (id, kind, owner_account, library_id, version, payload, state)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'queued') RETURNING *`,
    [randomUUID(), job.kind, job.owner, job.libraryId, job.version, JSON.stringify(job.payload)],
  );
  return rows[0]!;
}

export async function getJobRow(db: Queryable, id: string): Promise<JobRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const rows = await db.query<JobRow>(`SELECT * FROM jobs WHERE id = $1`, [id]);
  return rows[0];
}

/** Claims the oldest runnable job (queued and due, or running with an expired lease). */
export async function claimJob(
  db: Queryable,
  worker: string,
  leaseMs: number,
): Promise<JobRow | undefined> {
  const rows = await db.query<JobRow>(
    `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
            lease_until = now() + ($2::int * interval '1 millisecond'), heartbeat_at = now(), updated_at = now()
      WHERE id = (SELECT id FROM jobs
                   WHERE (state = 'queued' AND run_after <= now())
                      OR (state = 'running' AND lease_until < now())
                   ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
      RETURNING *`,
    [worker, leaseMs],
  );
  return rows[0];
}

/** Extends the lease and stores progress; false when the job is no longer ours (cancelled or lost). */
export async function heartbeat(
  db: Queryable,
  id: string,
  worker: string,
  leaseMs: number,
  progress?: JobProgress,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE jobs SET lease_until = now() + ($3::int * interval '1 millisecond'), heartbeat_at = now(),
            updated_at = now(), progress = coalesce($4::jsonb, progress)
      WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING id`,
    [id, worker, leaseMs, progress ? JSON.stringify(progress) : null],
  );
  return rows.length > 0;
}

export async function finishJob(
  db: Queryable,
  id: string,
  worker: string,
  outcome: { state: 'succeeded' | 'failed'; error?: string; progress?: JobProgress },
): Promise<void> {
  await db.query(
    `UPDATE jobs SET state = $3, error = $4, progress = coalesce($5::jsonb, progress), lease_owner = NULL,
            lease_until = NULL, finished_at = now(), updated_at = now()
      WHERE id = $1 AND lease_owner = $2`,
    [
      id,
      worker,
      outcome.state,
      outcome.error ?? null,
      outcome.progress ? JSON.stringify(outcome.progress) : null,
    ],
  );
}

/** Puts a failed attempt back in the queue after a backoff (2 s, 4 s, 8 s ...), or fails it for good. */
export async function retryOrFail(
  db: Queryable,
  job: JobRow,
  worker: string,
  error: string,
): Promise<void> {
  if (job.attempts >= job.max_attempts) {
    await finishJob(db, job.id, worker, { state: 'failed', error });
    return;
  }
  const backoffMs = 2000 * 2 ** (job.attempts - 1);
  await db.query(
    `UPDATE jobs SET state = 'queued', error = $3, lease_owner = NULL, lease_until = NULL,
            run_after = now() + ($4::int * interval '1 millisecond'), updated_at = now()
      WHERE id = $1 AND lease_owner = $2`,
    [job.id, worker, error, backoffMs],
  );
}

export async function cancelJob(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query(
    `UPDATE jobs SET state = 'cancelled', lease_owner = NULL, finished_at = now(), updated_at = now()
      WHERE id = $1 AND state IN ('queued', 'running') RETURNING id`,
    [id],
  );
  return rows.length > 0;
}
