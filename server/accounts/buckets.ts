/**
 * Fixed-window counters in `rate_buckets` (migration 5), shared by every process on the database,
 * and the `@fastify/rate-limit` store built on them.
 */
import type { Queryable } from '../db/db.js';

/** Milliseconds since the epoch; injected so tests can move time instead of sleeping. */
export type Clock = () => number;

export interface BucketCount {
  /** The count after this call (for a refused `take`, the count that refused it). */
  count: number;
  /** Whether the call fit under the limit (always true without a limit). */
  ok: boolean;
  /** When the window ends, ms since the epoch. */
  resetsAt: number;
}

// Expired rows are swept at most this often per process; a day of per-minute windows for 10k keys
// is ~14M rows, so waiting for a nightly job is not an option, but sweeping per request is waste.
const SWEEP_INTERVAL_MS = 60_000;
const lastSweep = new WeakMap<Queryable, number>();

/**
 * Adds `amount` to the counter of `key` in the window starting at `windowStart`. With a `limit`,
 * the add happens only if the new count stays within it (a refused call is not counted, so a
 * client that keeps retrying does not push its own reset further out).
 */
export async function takeFromBucket(
  db: Queryable,
  key: string,
  windowStart: number,
  windowEnd: number,
  amount: number,
  limit: number | null,
  now: number,
): Promise<BucketCount> {
  maybeSweep(db, now);
  const start = new Date(windowStart).toISOString();
  const end = new Date(windowEnd).toISOString();
  if (limit !== null && amount > limit) {
    return { count: await readBucket(db, key, windowStart), ok: false, resetsAt: windowEnd };
  }
  // One statement: the conflict path serialises on the row lock, so two processes never lose an
  // increment, and the WHERE keeps the count within the limit.
  const rows = await db.query<{ count: string | number }>(
    `INSERT INTO rate_buckets (key, window_start, count, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_buckets.count + EXCLUDED.count
       WHERE $5::bigint IS NULL OR rate_buckets.count + EXCLUDED.count <= $5::bigint
     RETURNING count`,
    [key, start, amount, end, limit],
  );
  if (rows[0]) return { count: Number(rows[0].count), ok: true, resetsAt: windowEnd };
  return { count: await readBucket(db, key, windowStart), ok: false, resetsAt: windowEnd };
}

/** The counter of `key` in the window starting at `windowStart` (0 when none). */
export async function readBucket(db: Queryable, key: string, windowStart: number): Promise<number> {
  const rows = await db.query<{ count: string | number }>(
    'SELECT count FROM rate_buckets WHERE key = $1 AND window_start = $2',
    [key, new Date(windowStart).toISOString()],
  );
  return rows[0] ? Number(rows[0].count) : 0;
}

function maybeSweep(db: Queryable, now: number): void {
  if (now - (lastSweep.get(db) ?? 0) < SWEEP_INTERVAL_MS) return;
  lastSweep.set(db, now);
  db.query('DELETE FROM rate_buckets WHERE expires_at < $1', [new Date(now).toISOString()]).catch(
    () => {}, // a failed sweep only leaves rows for the next one
  );
}

/** The fixed window of length `windowMs` that contains `now`. */
export function fixedWindow(now: number, windowMs: number): { start: number; end: number } {
  const start = Math.floor(now / windowMs) * windowMs;
  return { start, end: start + windowMs };
}

type IncrCallback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** The store `@fastify/rate-limit` calls: `incr` per request, `child` per route configuration. */
export interface RateLimitStore {
  incr(key: string, cb: IncrCallback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): RateLimitStore;
}

/** The store class `@fastify/rate-limit` instantiates with `new Store(options)`. */
export type RateLimitStoreClass = new (options: unknown) => RateLimitStore;

/**
 * A `@fastify/rate-limit` store on `rate_buckets`: fixed windows aligned to the clock, so every
 * process computes the same window for the same instant and adds to the same row.
 */
export function databaseRateLimitStore(db: Queryable, clock: Clock): RateLimitStoreClass {
  return class DatabaseStore implements RateLimitStore {
    incr(key: string, cb: IncrCallback, timeWindow: number): void {
      const now = clock();
      const { start, end } = fixedWindow(now, timeWindow);
      // No limit on the UPSERT: the plugin compares `current` with `max` and sets the headers.
      takeFromBucket(db, `rl:${key}`, start, end, 1, null, now).then(
        (r) => cb(null, { current: r.count, ttl: Math.max(0, end - now) }),
        (err: Error) => cb(err),
      );
    }

    child(): DatabaseStore {
      return new DatabaseStore();
    }
  };
}
