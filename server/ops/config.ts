/**
 * Operations settings: who may scrape /metrics, how long /ready waits for the database, and how
 * long a graceful shutdown may take before the process exits anyway.
 */
import { z } from 'zod';
import { envProblems, optionalText, wholeNumber } from '../env-schema.js';

export interface OpsConfig {
  /**
   * A bearer token that may read /metrics when auth is on (Prometheus' `authorization`
   * credentials), besides admin keys and the local admin token. Absent = admin keys only.
   */
  metricsToken?: string;
  /** How long /ready waits for `SELECT 1`; past it the instance reports unready. */
  readyTimeoutMs: number;
  /** How long SIGTERM waits for in-flight requests and jobs before exiting anyway. */
  shutdownTimeoutMs: number;
}

const OpsEnv = z.object({
  TWINMCP_METRICS_TOKEN: optionalText.refine((t) => t === undefined || t.length >= 16, {
    message: 'must be at least 16 characters (a guessable token exposes the metrics)',
  }),
  // Load balancers probe every 2-10 s with a 1-5 s timeout; 2 s answers inside the usual 3 s.
  TWINMCP_READY_TIMEOUT_MS: wholeNumber('2000', 100, 60_000),
  // Kubernetes' default terminationGracePeriodSeconds is 30: exit by 25 s, before SIGKILL.
  TWINMCP_SHUTDOWN_TIMEOUT_MS: wholeNumber('25000', 0, 600_000),
});

/** Reads the operations settings; problems name their variable. */
export function parseOpsConfig(
  env: NodeJS.ProcessEnv,
): { config: OpsConfig } | { problems: string[] } {
  const parsed = OpsEnv.safeParse(env);
  if (!parsed.success) return { problems: envProblems(parsed.error) };
  const e = parsed.data;
  return {
    config: {
      ...(e.TWINMCP_METRICS_TOKEN ? { metricsToken: e.TWINMCP_METRICS_TOKEN } : {}),
      readyTimeoutMs: e.TWINMCP_READY_TIMEOUT_MS,
      shutdownTimeoutMs: e.TWINMCP_SHUTDOWN_TIMEOUT_MS,
    },
  };
}
