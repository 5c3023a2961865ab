/**
 * Numbers from `usage_events`: an account's calls per day (the account page's chart) and the
 * operator's view (top libraries, zero-result queries, calls per client, latency percentiles).
 */
import type { AdminUsageResponse, DailyUsage } from '../../shared/account.js';
import type { Queryable } from '../db/db.js';

const DAY_MS = 86_400_000;

/** The account's calls per UTC day for the `days` days ending today, oldest first, zeros included. */
export async function dailyUsage(
  db: Queryable,
  accountId: string,
  now: number,
  days = 30,
): Promise<DailyUsage[]> {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const since = today - (days - 1) * DAY_MS;
  const rows = await db.query<{
    day: string;
    queries: string | number;
    hover: string | number;
    tokens: string | number;
  }>(
    `SELECT to_char(date_trunc('day', at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
            count(*) FILTER (WHERE client <> 'hover') AS queries,
            count(*) FILTER (WHERE client = 'hover') AS hover,
            coalesce(sum(tokens), 0) AS tokens
       FROM usage_events
      WHERE owner_account = $1 AND at >= $2 AND at < $3
      GROUP BY 1`,
    [accountId, new Date(since).toISOString(), new Date(today + DAY_MS).toISOString()],
  );
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const out: DailyUsage[] = [];
  for (let t = since; t <= today; t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    const r = byDay.get(date);
    out.push({
      date,
      queries: Number(r?.queries ?? 0),
      hover: Number(r?.hover ?? 0),
      tokens: Number(r?.tokens ?? 0),
    });
  }
  return out;
}

/** The operator's usage view over the last `days` days. */
export async function adminUsage(
  db: Queryable,
  now: number,
  days: number,
): Promise<AdminUsageResponse> {
  const since = new Date(now - days * DAY_MS).toISOString();
  const [top, zero, clients, latency, active] = await Promise.all([
    db.query<{ library_id: string; calls: string | number }>(
      `SELECT library_id, count(*) AS calls FROM usage_events
        WHERE at >= $1 AND kind = 'query' AND library_id IS NOT NULL
        GROUP BY library_id ORDER BY calls DESC, library_id LIMIT 20`,
      [since],
    ),
    // Query text is what tells the operator which library to index next; 50 rows is a page.
    db.query<{ query: string; kind: string; library_id: string | null; count: string | number }>(
      `SELECT query, kind, library_id, count(*) AS count FROM usage_events
        WHERE at >= $1 AND zero_result AND query IS NOT NULL
        GROUP BY query, kind, library_id ORDER BY count DESC, query LIMIT 50`,
      [since],
    ),
    db.query<{ client: string; calls: string | number }>(
      `SELECT client, count(*) AS calls FROM usage_events WHERE at >= $1
        GROUP BY client ORDER BY calls DESC, client`,
      [since],
    ),
    db.query<{ p50: number | null; p95: number | null }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
         FROM usage_events WHERE at >= $1`,
      [since],
    ),
    db.query<{ n: string | number }>(
      `SELECT count(DISTINCT owner_account) AS n FROM usage_events WHERE at >= $1 AND owner_account IS NOT NULL`,
      [since],
    ),
  ]);
  const round = (v: number | null | undefined) =>
    v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10;
  return {
    since,
    topLibraries: top.map((r) => ({ libraryId: r.library_id, calls: Number(r.calls) })),
    zeroResultQueries: zero.map((r) => ({
      query: r.query,
      kind: r.kind,
      libraryId: r.library_id,
      count: Number(r.count),
    })),
    clients: clients.map((r) => ({ client: r.client, calls: Number(r.calls) })),
    latency: { p50: round(latency[0]?.p50), p95: round(latency[0]?.p95) },
    activeAccounts: Number(active[0]?.n ?? 0),
  };
}
