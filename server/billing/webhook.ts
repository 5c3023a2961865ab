/**
 * Verified Stripe events -> stored subscriptions -> account plans. Idempotent by event id: the
 * event row is inserted in the same transaction as its effects, so a replay changes nothing and a
 * failure leaves no trace (Stripe retries it). Events may arrive in any order; each subscription
 * keeps the `created` of the newest event applied and ignores older ones.
 */
import type Stripe from 'stripe';
import type { Db, Queryable } from '../db/db.js';
import { getAccount, setStripeCustomer } from '../accounts/accounts.js';
import type { BillingConfig } from './config.js';
import { applySubscription, snapshotOf, type SubscriptionSnapshot } from './entitlements.js';

/** The events that change entitlements; Stripe endpoints should send exactly these. */
export const HANDLED_EVENTS = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
] as const;

export interface EventOutcome {
  /** The event id was processed before; nothing was done this time. */
  duplicate: boolean;
  /** The event type is one this module acts on. */
  handled: boolean;
  accountId: string | null;
}

interface Prepared {
  subscription?: SubscriptionSnapshot;
  /** From a completed checkout: the account to link to the customer. */
  link?: { accountId: string; customerId: string };
}

/** Processes one verified event (see the module comment). */
export async function processStripeEvent(
  db: Db,
  stripe: Stripe,
  cfg: BillingConfig,
  event: Stripe.Event,
): Promise<EventOutcome> {
  const seen = await db.query('SELECT 1 FROM stripe_events WHERE id = $1', [event.id]);
  if (seen.length > 0) return { duplicate: true, handled: false, accountId: null };
  // Reads from Stripe happen before the transaction: a slow API call must not hold a database
  // transaction (and, on the embedded database, every other writer) open.
  const prepared = await prepare(stripe, event);
  return db.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO stripe_events (id, type, created) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [event.id, event.type, event.created],
    );
    // A concurrent delivery of the same event committed first.
    if (inserted.length === 0) return { duplicate: true, handled: false, accountId: null };
    const handled = prepared !== undefined;
    const accountId = prepared ? await apply(tx, cfg, prepared, event.created) : null;
    if (accountId) {
      await tx.query('UPDATE stripe_events SET account_id = $2 WHERE id = $1', [
        event.id,
        accountId,
      ]);
    }
    return { duplicate: false, handled, accountId };
  });
}

async function prepare(stripe: Stripe, event: Stripe.Event): Promise<Prepared | undefined> {
  switch (event.type) {
    case 'checkout.session.completed': {
      const session = event.data.object;
      if (session.mode !== 'subscription' || !session.subscription || !session.customer) return {};
      const customerId = idOf(session.customer);
      const accountId = session.client_reference_id ?? session.metadata?.account_id ?? null;
      const subscription = await retrieveSubscription(stripe, idOf(session.subscription));
      return { subscription, ...(accountId ? { link: { accountId, customerId } } : {}) };
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
      return { subscription: snapshotOf(event.data.object) };
    case 'invoice.paid':
    case 'invoice.payment_failed': {
      // The invoice says a payment went through or failed; the subscription's status says what
      // that means now (Stripe moves it to active, past_due or unpaid), so read it.
      const subscriptionId = invoiceSubscription(event.data.object);
      return subscriptionId
        ? { subscription: await retrieveSubscription(stripe, subscriptionId) }
        : {};
    }
    default:
      return undefined;
  }
}

async function apply(
  tx: Queryable,
  cfg: BillingConfig,
  prepared: Prepared,
  eventCreated: number,
): Promise<string | null> {
  let linked: string | null = null;
  if (prepared.link) {
    const account = await getAccount(tx, prepared.link.accountId);
    if (account && !account.stripeCustomerId) {
      await setStripeCustomer(tx, account.id, prepared.link.customerId);
    }
    linked = account?.id ?? null;
  }
  if (!prepared.subscription) return linked;
  return (await applySubscription(tx, cfg, prepared.subscription, eventCreated)) ?? linked;
}

async function retrieveSubscription(stripe: Stripe, id: string): Promise<SubscriptionSnapshot> {
  return snapshotOf(await stripe.subscriptions.retrieve(id));
}

function idOf(value: string | { id: string }): string {
  return typeof value === 'string' ? value : value.id;
}

/** An invoice's subscription: `parent.subscription_details` since API 2025-03-31, else top level. */
function invoiceSubscription(invoice: Stripe.Invoice): string | null {
  const fromParent = invoice.parent?.subscription_details?.subscription;
  if (fromParent) return idOf(fromParent);
  const legacy = (invoice as unknown as { subscription?: string | { id: string } | null })
    .subscription;
  return legacy ? idOf(legacy) : null;
}
