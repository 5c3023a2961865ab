/**
 * Readiness: an instance takes traffic only when its database answers and its schema is current.
 * Liveness stays `/health` (routes-health.ts): a database outage must not get every API process
 * restarted, only taken out of the load balancer until the database returns.
 */
import type { Db } from '../db/db.js';
import { pendingMigrations } from '../db/migrate.js';
import { MIGRATIONS } from '../db/schema.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** Checks the database and the migrations; `schemaCurrent` caches a passed migration check. */
export function createReadinessCheck(getDb: () => Db, timeoutMs: number): () => Promise<Readiness> {
  // Once every migration is applied nothing un-applies them, so later probes skip the query.
  let schemaCurrent = false;
  return async () => {
    const db = getDb();
    try {
      await withTimeout(db.query('SELECT 1'), timeoutMs);
    } catch (err) {
      return { ready: false, reason: `database unreachable: ${(err as Error).message}` };
    }
    if (schemaCurrent) return { ready: true };
    let pending;
    try {
      pending = await withTimeout(pendingMigrations(db, MIGRATIONS), timeoutMs);
    } catch (err) {
      return { ready: false, reason: `migration check failed: ${(err as Error).message}` };
    }
    if (pending.length > 0) {
      return {
        ready: false,
        reason: `migrations pending: ${pending.map((m) => m.version).join(', ')} (run twinmcp migrate)`,
      };
    }
    schemaCurrent = true;
    return { ready: true };
  };
}

/** Rejects when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
