/**
 * Privacy controls: usage-event retention, the query-text opt-out of an account, and the keyed
 * hash that stands in for IP addresses wherever one would be stored (rate-limit and quota keys).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';

const DAY_MS = 86_400_000;

/** Deletes usage events older than `days` days; returns how many. `days` 0 keeps everything. */
export async function purgeUsageEvents(db: Queryable, now: number, days: number): Promise<number> {
  if (days <= 0) return 0;
  const rows = await db.query<{ n: string | number }>(
    `WITH gone AS (DELETE FROM usage_events WHERE at < $1 RETURNING 1) SELECT count(*) AS n FROM gone`,
    [new Date(now - days * DAY_MS).toISOString()],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Runs the purge now and then once a day until `stop()`; a failed run is logged and retried next day. */
export function startRetention(
  db: Queryable,
  days: number,
  log: (msg: string) => void = () => {},
  clock: () => number = Date.now,
): { stop(): Promise<void> } {
  if (days <= 0) return { stop: async () => {} };
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = purgeUsageEvents(db, clock(), days).then(
      (n) => {
        if (n > 0) log(`usage retention: deleted ${n} events older than ${days} days`);
      },
      (err: unknown) => log(`usage retention failed: ${(err as Error).message}`),
    );
  };
  run();
  const timer = setInterval(run, DAY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Whether the account keeps query text in its usage events (default yes). */
export async function keepsQueryText(db: Queryable, accountId: string): Promise<boolean> {
  const rows = await db.query<{ keep: boolean }>(
    'SELECT keep_query_text AS keep FROM accounts WHERE id = $1',
    [accountId],
  );
  return rows[0]?.keep ?? true;
}

/**
 * Sets the opt-out; turning text off also clears the text of the account's past events, so the
 * operator's zero-result list forgets them at once rather than after the retention period.
 */
export async function setKeepQueryText(
  db: Queryable,
  accountId: string,
  keep: boolean,
): Promise<void> {
  await db.query('UPDATE accounts SET keep_query_text = $2, updated_at = now() WHERE id = $1', [
    accountId,
    keep,
  ]);
  if (!keep) {
    await db.query(
      'UPDATE usage_events SET query = NULL WHERE owner_account = $1 AND query IS NOT NULL',
      [accountId],
    );
  }
}

/** Hashes an IP address for use in stored keys: HMAC-SHA-256 with the pepper, 128 bits shown. */
export type IpHasher = (ip: string) => string;

/**
 * The deployment's IP hasher: keyed by `configured` (TWINMCP_IP_HASH_SECRET) when set, else by a
 * pepper generated once and kept in `server_secrets`, so every process hashes an address alike.
 * Without the pepper the 2^32 IPv4 addresses could be hashed in minutes and the hash reversed.
 */
export async function ipHasher(db: Queryable, configured?: string): Promise<IpHasher> {
  let pepper = configured;
  if (!pepper) {
    await db.query(
      `INSERT INTO server_secrets (name, value) VALUES ('ip_pepper', $1) ON CONFLICT (name) DO NOTHING`,
      [randomBytes(32).toString('base64url')],
    );
    const rows = await db.query<{ value: string }>(
      `SELECT value FROM server_secrets WHERE name = 'ip_pepper'`,
    );
    pepper = rows[0]!.value;
  }
  const key = pepper;
  return (ip) => createHmac('sha256', key).update(ip).digest('base64url').slice(0, 22);
}
