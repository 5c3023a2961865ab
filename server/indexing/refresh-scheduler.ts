/**
 * The refresh scheduler: an in-process timer in `twinmcp serve` that queues refresh jobs for
 * stale libraries. Staleness follows popularity, from the usage events of the last 7 days:
 *
 *   maxAge = clamp(base / (1 + log2(1 + uses7d)), base / 28, base)
 *
 * With the default base of 168 h (a week): an unused library is refreshed weekly, 1 use -> 3.5
 * days, 7 uses -> 42 h, 100 uses -> 22 h, 10,000 uses -> 12 h, and never more often than every
 * 6 h (base / 28). The logarithm keeps a handful of very popular libraries from taking every slot.
 */
import type { Queryable } from '../db/db.js';

export interface StalenessPolicy {
  /** Refresh interval of a library nobody used in the last 7 days. */
  baseMs: number;
  /** Shortest interval, however popular. Default base / 28. */
  minMs?: number;
}

/** How old a library may get before it is refreshed, given its uses in the last 7 days. */
export function maxAgeMs(uses7d: number, policy: StalenessPolicy): number {
  const min = policy.minMs ?? policy.baseMs / 28;
  const age = policy.baseMs / (1 + Math.log2(1 + Math.max(0, uses7d)));
  return Math.min(policy.baseMs, Math.max(min, age));
}

export interface StaleLibrary {
  libraryId: string;
  uses7d: number;
  ageMs: number;
  maxAgeMs: number;
}

/**
 * Libraries past their max age at `now`, most used first. Uses count every resolve and query
 * event naming the library, with or without a version (`/o/n`, `/o/n/v4`). A library with a job
 * queued or running is not stale (its refresh is under way), nor one whose refresh failed in the
 * last 6 hours (an unreachable source is not fetched again every check).
 */
export async function staleLibraries(
  db: Queryable,
  now: Date,
  policy: StalenessPolicy,
): Promise<StaleLibrary[]> {
  const rows = await db.query<{ id: string; indexed_at: Date | string; uses: number }>(
    `WITH uses AS (
       SELECT lower(library_id) AS id, count(*)::int AS n FROM usage_events
        WHERE library_id IS NOT NULL AND at > $1::timestamptz - interval '7 days'
        GROUP BY 1)
     SELECT l.id, max(v.indexed_at) AS indexed_at,
            coalesce((SELECT sum(u.n)::int FROM uses u
                       WHERE u.id = lower(l.id) OR starts_with(u.id, lower(l.id) || '/')
                          OR starts_with(u.id, lower(l.id) || '@')), 0) AS uses
       FROM libraries l JOIN library_versions v ON v.library_id = l.id AND v.state = 'ready'
      WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.library_id = l.id
                          AND (j.state IN ('queued', 'running')
                               OR (j.kind = 'refresh' AND j.state = 'failed'
                                   AND j.finished_at > $1::timestamptz - interval '6 hours')))
      GROUP BY l.id`,
    [now.toISOString()],
  );
  const out: StaleLibrary[] = [];
  for (const r of rows) {
    const ageMs = now.getTime() - new Date(r.indexed_at).getTime();
    const limit = maxAgeMs(Number(r.uses), policy);
    if (ageMs > limit)
      out.push({ libraryId: r.id, uses7d: Number(r.uses), ageMs, maxAgeMs: limit });
  }
  return out.sort((a, b) => b.uses7d - a.uses7d || b.ageMs - a.ageMs);
}

export interface SchedulerOptions {
  db: Queryable;
  /** Queues the refresh of one library (the engine's `refresh`); resolves to the jobs queued. */
  refresh: (libraryId: string) => Promise<number>;
  policy: StalenessPolicy;
  /** How often to look for stale libraries. Default: an hour, or base / 4 when that is shorter. */
  checkEveryMs?: number;
  /** Libraries queued per check, so one check never floods the queue. Default 5. */
  maxPerCheck?: number;
  log?: (msg: string) => void;
}

/** Runs {@link RefreshScheduler.check} on a timer; the first check comes one interval after start. */
export class RefreshScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly opts: SchedulerOptions) {}

  get intervalMs(): number {
    return this.opts.checkEveryMs ?? Math.min(60 * 60 * 1000, this.opts.policy.baseMs / 4);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.check()
        .catch((err: unknown) => this.opts.log?.(`refresh check failed: ${(err as Error).message}`))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    // A timer alone must not keep the process alive.
    this.timer.unref();
  }

  /** Queues refreshes for the stale libraries at `now`; returns the library ids queued. */
  async check(now = new Date()): Promise<string[]> {
    const stale = await staleLibraries(this.opts.db, now, this.opts.policy);
    const queued: string[] = [];
    for (const lib of stale.slice(0, this.opts.maxPerCheck ?? 5)) {
      try {
        if ((await this.opts.refresh(lib.libraryId)) === 0) continue;
        queued.push(lib.libraryId);
        this.opts.log?.(
          `refresh queued for ${lib.libraryId} (${Math.round(lib.ageMs / 3_600_000)} h old, ${lib.uses7d} uses in 7 days)`,
        );
      } catch (err) {
        this.opts.log?.(`refresh of ${lib.libraryId} not queued: ${(err as Error).message}`);
      }
    }
    return queued;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
