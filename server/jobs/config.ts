/**
 * Job runner settings from environment variables, validated at start with the variable's name
 * in every error (the same building blocks as server/config.ts).
 */
import { z } from 'zod';
import { envProblems, wholeNumber } from '../env-schema.js';

export interface JobsConfig {
  /** Attempts per job before a transient failure becomes final. */
  maxAttempts: number;
  /** Lease on a claimed job; a worker killed mid-job loses it after this long. */
  leaseMs: number;
  /** First retry delay; doubled per attempt, with +-50 % jitter. */
  backoffMs: number;
  /** Jobs one process runs at once. */
  concurrency: number;
}

const JobsEnv = z.object({
  TWINMCP_JOB_MAX_ATTEMPTS: wholeNumber('3', 1, 20),
  // 30 s survives GC pauses and slow batches; 1 s is the floor the heartbeat (a third) can keep.
  TWINMCP_JOB_LEASE_MS: wholeNumber('30000', 1000, 3_600_000),
  TWINMCP_JOB_BACKOFF_MS: wholeNumber('2000', 0, 3_600_000),
  TWINMCP_JOB_CONCURRENCY: wholeNumber('1', 1, 64),
});

export const DEFAULT_JOBS_CONFIG: JobsConfig = {
  maxAttempts: 3,
  leaseMs: 30_000,
  backoffMs: 2000,
  concurrency: 1,
};

/** Reads the TWINMCP_JOB_* variables; throws an Error naming each bad one. */
export function jobsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): JobsConfig {
  const parsed = JobsEnv.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid configuration: ${envProblems(parsed.error).join('; ')}`);
  }
  const e = parsed.data;
  return {
    maxAttempts: e.TWINMCP_JOB_MAX_ATTEMPTS,
    leaseMs: e.TWINMCP_JOB_LEASE_MS,
    backoffMs: e.TWINMCP_JOB_BACKOFF_MS,
    concurrency: e.TWINMCP_JOB_CONCURRENCY,
  };
}

/** Delay before attempt `attempts + 1`: base * 2^(attempts-1), times a jitter in [0.5, 1.5). */
export function backoffDelay(baseMs: number, attempts: number, random = Math.random): number {
  const exp = baseMs * 2 ** Math.max(0, attempts - 1);
  // Capped at 1 h: beyond that an operator should look, not a timer.
  return Math.round(Math.min(exp, 3_600_000) * (0.5 + random()));
}
