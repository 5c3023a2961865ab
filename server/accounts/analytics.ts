/**
 * The operator's analytics (`GET /api/v1/admin/analytics`): the usage view of usage-stats.ts plus
 * calls and active accounts per UTC day, accounts per plan, and monthly revenue per plan from the
 * Stripe subscriptions (migration 6) times the plans' configured prices.
 */
import type { AdminAnalyticsResponse, AnalyticsDay, PlanRevenue } from '../../shared/account.js';
import type { Queryable } from '../db/db.js';
import type { AccountsConfig } from './config.js';
import { adminUsage } from './usage-stats.js';

const DAY_MS = 86_400_000;

/** Analytics over the `days` UTC days ending with the day of `now`. */
export async function adminAnalytics(
  db: Queryable,
  accounts: AccountsConfig | undefined,
  now: number,
  days: number,
): Promise<AdminAnalyticsResponse> {
  const [usage, daily, revenueByPlan, accountsByPlan] = await Promise.all([
    adminUsage(db, now, days),
    dailySeries(db, now, days),
    revenue(db, accounts),
    db.query<{ plan: string; n: string | number }>(
      'SELECT plan, count(*) AS n FROM accounts GROUP BY plan ORDER BY n DESC, plan',
    ),
  ]);
  return {
    ...usage,
    days,
    daily,
    revenueByPlan,
    accountsByPlan: accountsByPlan.map((r) => ({ plan: r.plan, accounts: Number(r.n) })),
  };
}

async function dailySeries(db: Queryable, now: number, days: number): Promise<AnalyticsDay[]> {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const since = today - (days - 1) * DAY_MS;
  const rows = await db.query<{ day: string; calls: string | number; active: string | number }>(
    `SELECT to_char(date_trunc('day', at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
            count(*) AS calls, count(DISTINCT owner_account) AS active
       FROM usage_events WHERE at >= $1 AND at < $2
      GROUP BY 1`,
    [new Date(since).toISOString(), new Date(today + DAY_MS).toISOString()],
  );
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const out: AnalyticsDay[] = [];
  for (let t = since; t <= today; t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    const r = byDay.get(date);
    out.push({ date, calls: Number(r?.calls ?? 0), activeAccounts: Number(r?.active ?? 0) });
  }
  return out;
}

/**
 * Active subscriptions per plan x the plan's price. Only status `active` counts: `trialing` pays
 * nothing yet and `past_due` may never pay, though both still entitle (server/billing).
 */
async function revenue(
  db: Queryable,
  accounts: AccountsConfig | undefined,
): Promise<PlanRevenue[]> {
  const rows = await db.query<{ plan: string; n: string | number }>(
    `SELECT plan, count(*) AS n FROM stripe_subscriptions
      WHERE status = 'active' AND plan IS NOT NULL GROUP BY plan`,
  );
  const counts = new Map(rows.map((r) => [r.plan, Number(r.n)]));
  const prices = accounts?.prices ?? {};
  const plans = new Set([...Object.keys(prices), ...counts.keys()]);
  return [...plans]
    .map((plan) => {
      const price = prices[plan];
      const subscriptions = counts.get(plan) ?? 0;
      return {
        plan,
        subscriptions,
        priceMonthly: price?.amount ?? null,
        currency: price?.currency ?? null,
        monthlyRevenue: price ? price.amount * subscriptions : 0,
      };
    })
    .sort((a, b) => b.monthlyRevenue - a.monthlyRevenue || a.plan.localeCompare(b.plan));
}
