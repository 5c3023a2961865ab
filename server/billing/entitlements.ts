/**
 * From Stripe subscriptions to an account's plan. The rules:
 *
 * - `active` and `trialing` entitle the account to the plan of the subscription's price.
 * - `past_due` keeps the plan: Stripe is still retrying the card (Smart Retries, by default up to
 *   8 tries within 2 weeks) and a paying customer should not lose service over an expired card
 *   during that time. When retries run out Stripe moves the subscription to `unpaid` or `canceled`
 *   (dashboard setting), and that ends the plan.
 * - `unpaid`, `canceled`, `incomplete`, `incomplete_expired` and `paused` entitle to nothing.
 * - Several entitling subscriptions: the best plan wins (rank = order in TWINMCP_STRIPE_PRICES).
 * - No entitling subscription: the free plan.
 *
 * The plan is written to `accounts.plan`, which every request reads, so a change applies from
 * the next request. A plan set by hand (CLI) is recomputed only when a billing event for that
 * account arrives.
 */
import type { Queryable } from '../db/db.js';
import { setAccountPlan, findAccountByStripeCustomer, getAccount } from '../accounts/accounts.js';
import type { BillingConfig } from './config.js';

/** Statuses that keep a plan; see the module comment. */
export const ENTITLING_STATUSES: readonly string[] = ['active', 'trialing', 'past_due'];
// A constant list, inlined: no user input reaches it.
const ENTITLING_SQL = ENTITLING_STATUSES.map((s) => `'${s}'`).join(', ');

/** The fields of a Stripe subscription this module needs, whatever the API version. */
export interface SubscriptionSnapshot {
  id: string;
  customerId: string;
  status: string;
  priceId: string | null;
  currentPeriodEnd: number | null;
  cancelAtPeriodEnd: boolean;
  /** `metadata.account_id`, set by our checkout: a fallback when the customer is not linked. */
  accountIdHint: string | null;
}

/** Reads a subscription object (API 2025-03-31 and later keep the period on the items). */
export function snapshotOf(sub: {
  id: string;
  customer: string | { id: string };
  status: string;
  cancel_at_period_end?: boolean | null;
  metadata?: Record<string, string> | null;
  items?: { data?: { price?: { id: string } | null; current_period_end?: number }[] };
  current_period_end?: number;
}): SubscriptionSnapshot {
  const item = sub.items?.data?.[0];
  return {
    id: sub.id,
    customerId: typeof sub.customer === 'string' ? sub.customer : sub.customer.id,
    status: sub.status,
    priceId: item?.price?.id ?? null,
    currentPeriodEnd: item?.current_period_end ?? sub.current_period_end ?? null,
    cancelAtPeriodEnd: sub.cancel_at_period_end ?? false,
    accountIdHint: sub.metadata?.account_id ?? null,
  };
}

/** The configured plan of a price id, or null for a price we do not sell. */
export function planOfPrice(cfg: BillingConfig, priceId: string | null): string | null {
  return cfg.prices.find((p) => p.priceId === priceId)?.plan ?? null;
}

/**
 * Stores a subscription's state as of an event created at `eventCreated` (seconds), unless a newer
 * event was already applied, or the stored row is `canceled` (terminal in Stripe). Then sets the
 * account's plan. Returns the account id it concerned, if any.
 */
export async function applySubscription(
  tx: Queryable,
  cfg: BillingConfig,
  sub: SubscriptionSnapshot,
  eventCreated: number,
): Promise<string | null> {
  let account = await findAccountByStripeCustomer(tx, sub.customerId);
  if (!account && sub.accountIdHint) account = await getAccount(tx, sub.accountIdHint);
  const accountId = account?.id ?? null;
  await tx.query(
    `INSERT INTO stripe_subscriptions (id, account_id, customer_id, status, price_id, plan,
       current_period_end, cancel_at_period_end, event_created, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), $8, $9, now())
     ON CONFLICT (id) DO UPDATE SET
       account_id = COALESCE(EXCLUDED.account_id, stripe_subscriptions.account_id),
       status = EXCLUDED.status, price_id = EXCLUDED.price_id, plan = EXCLUDED.plan,
       current_period_end = EXCLUDED.current_period_end,
       cancel_at_period_end = EXCLUDED.cancel_at_period_end,
       event_created = EXCLUDED.event_created, updated_at = now()
     WHERE stripe_subscriptions.event_created <= EXCLUDED.event_created
       AND stripe_subscriptions.status <> 'canceled'`,
    [
      sub.id,
      accountId,
      sub.customerId,
      sub.status,
      sub.priceId,
      planOfPrice(cfg, sub.priceId),
      sub.currentPeriodEnd,
      sub.cancelAtPeriodEnd,
      eventCreated,
    ],
  );
  if (accountId) await recomputePlan(tx, cfg, accountId);
  return accountId;
}

/** The plan an account's stored subscriptions entitle it to. */
export async function entitledPlan(
  tx: Queryable,
  cfg: BillingConfig,
  accountId: string,
): Promise<string> {
  const rows = await tx.query<{ plan: string | null }>(
    `SELECT plan FROM stripe_subscriptions WHERE account_id = $1 AND status IN (${ENTITLING_SQL})`,
    [accountId],
  );
  const ranks = cfg.prices.map((p) => p.plan);
  let best: string | null = null;
  for (const { plan } of rows) {
    if (plan !== null && (best === null || ranks.indexOf(plan) > ranks.indexOf(best))) best = plan;
  }
  return best ?? cfg.freePlan;
}

/** Writes the entitled plan to the account when it differs. */
export async function recomputePlan(
  tx: Queryable,
  cfg: BillingConfig,
  accountId: string,
): Promise<string> {
  const plan = await entitledPlan(tx, cfg, accountId);
  const account = await getAccount(tx, accountId);
  if (account && account.plan !== plan) await setAccountPlan(tx, accountId, plan);
  return plan;
}

/** True when the account already pays for a plan (checkout would double-bill it). */
export async function hasEntitlingSubscription(tx: Queryable, accountId: string): Promise<boolean> {
  const rows = await tx.query<{ id: string }>(
    `SELECT id FROM stripe_subscriptions
     WHERE account_id = $1 AND status IN (${ENTITLING_SQL}) LIMIT 1`,
    [accountId],
  );
  return rows.length > 0;
}
