/**
 * Plan quotas: queries and hover lookups per UTC day, chat tokens per UTC calendar month, private
 * libraries in total. Counters live in `rate_buckets`, so every server process shares them.
 */
import type { Queryable } from '../db/db.js';
import { readBucket, takeFromBucket } from './buckets.js';
import { planLimits, type AccountsConfig, type PlanLimits } from './config.js';

/** The quotas counted per window. */
export type WindowedQuota = 'queries' | 'hover' | 'chatTokens';

/** Who a quota is counted for: an account, or an anonymous caller's IP address. */
export interface QuotaSubject {
  /** Account id, or null for an anonymous caller (counted per `ip`). */
  accountId: string | null;
  /** The caller's address as hashed by server/accounts/privacy.ts (never the raw address). */
  ip: string;
  /** The account's plan; ignored for anonymous callers (the `anonymous` plan applies). */
  plan: string;
}

export interface QuotaResult {
  ok: boolean;
  used: number;
  limit: number | null;
  /** ms since the epoch. */
  resetsAt: number;
}

const LIMIT_OF: Record<WindowedQuota, keyof PlanLimits> = {
  queries: 'queriesPerDay',
  hover: 'hoverPerDay',
  chatTokens: 'chatTokensPerMonth',
};

/** The UTC day (queries, hover) or UTC calendar month (chat tokens) containing `now`. */
export function quotaWindow(quota: WindowedQuota, now: number): { start: number; end: number } {
  const d = new Date(now);
  if (quota === 'chatTokens') {
    return {
      start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
      end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
    };
  }
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return { start, end: start + 86_400_000 };
}

function subjectKey(quota: WindowedQuota, s: QuotaSubject): string {
  return `q:${quota}:${s.accountId ?? `ip:${s.ip}`}`;
}

function limitFor(config: AccountsConfig, quota: WindowedQuota, s: QuotaSubject): number | null {
  return planLimits(config, s.accountId === null ? null : s.plan)[LIMIT_OF[quota]];
}

/**
 * Counts `amount` against a quota if it fits; `ok: false` (nothing counted) when it does not.
 * Chat passes the tokens a reply used; queries and hover pass 1.
 */
export async function takeQuota(
  db: Queryable,
  config: AccountsConfig,
  subject: QuotaSubject,
  quota: WindowedQuota,
  amount: number,
  now: number,
): Promise<QuotaResult> {
  const limit = limitFor(config, quota, subject);
  const { start, end } = quotaWindow(quota, now);
  const r = await takeFromBucket(db, subjectKey(quota, subject), start, end, amount, limit, now);
  return { ok: r.ok, used: r.count, limit, resetsAt: end };
}

/** A quota's state without counting anything (the usage page, a pre-check before a chat turn). */
export async function readQuota(
  db: Queryable,
  config: AccountsConfig,
  subject: QuotaSubject,
  quota: WindowedQuota,
  now: number,
): Promise<QuotaResult> {
  const limit = limitFor(config, quota, subject);
  const { start, end } = quotaWindow(quota, now);
  const used = await readBucket(db, subjectKey(quota, subject), start);
  return { ok: limit === null || used < limit, used, limit, resetsAt: end };
}

/** How many private libraries an account owns. */
export async function countPrivateLibraries(db: Queryable, accountId: string): Promise<number> {
  const rows = await db.query<{ n: string | number }>(
    'SELECT count(*) AS n FROM libraries WHERE owner_account = $1',
    [accountId],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Adds `amount` to a quota's counter whatever the limit: chat tokens are known only after the
 * model answered, and they were spent (billed by the vendor) even when they overshoot the limit.
 */
export async function addToQuota(
  db: Queryable,
  config: AccountsConfig,
  subject: QuotaSubject,
  quota: WindowedQuota,
  amount: number,
  now: number,
): Promise<QuotaResult> {
  const limit = limitFor(config, quota, subject);
  const { start, end } = quotaWindow(quota, now);
  const r = await takeFromBucket(db, subjectKey(quota, subject), start, end, amount, null, now);
  return { ok: limit === null || r.count <= limit, used: r.count, limit, resetsAt: end };
}
