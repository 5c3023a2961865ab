/**
 * Checkout and the customer portal: the two ways a customer reaches Stripe's hosted pages. One
 * Stripe customer per account, created on the first checkout and remembered on the account.
 */
import type Stripe from 'stripe';
import type { Db } from '../db/db.js';
import { getAccount, setStripeCustomer, type Account } from '../accounts/accounts.js';
import { EngineError } from '../engine-types.js';
import type { BillingConfig } from './config.js';
import { hasEntitlingSubscription } from './entitlements.js';

/** The account's Stripe customer id, creating the customer on first use. */
export async function ensureCustomer(db: Db, stripe: Stripe, account: Account): Promise<string> {
  if (account.stripeCustomerId) return account.stripeCustomerId;
  const customer = await stripe.customers.create(
    {
      ...(account.email ? { email: account.email } : {}),
      ...(account.name ? { name: account.name } : {}),
      metadata: { account_id: account.id },
    },
    // Two checkouts started at once create one customer: Stripe replays the first answer for the
    // same idempotency key (kept 24 h).
    { idempotencyKey: `twinmcp-customer-${account.id}` },
  );
  const current = await getAccount(db, account.id);
  if (current?.stripeCustomerId) return current.stripeCustomerId;
  await setStripeCustomer(db, account.id, customer.id);
  return customer.id;
}

function withQuery(url: string, query: string): string {
  return url + (url.includes('?') ? '&' : '?') + query;
}

/** A subscription Checkout Session URL for `plan`; 400 for an unsold plan, 409 if subscribed. */
export async function startCheckout(
  db: Db,
  stripe: Stripe,
  cfg: BillingConfig,
  accountId: string,
  plan: string,
): Promise<string> {
  const price = cfg.prices.find((p) => p.plan === plan);
  if (!price) {
    throw new EngineError(
      'validation_error',
      `Plan "${plan}" cannot be bought; plans for sale: ${cfg.prices.map((p) => p.plan).join(', ')}`,
    );
  }
  const account = await requireAccount(db, accountId);
  if (await hasEntitlingSubscription(db, account.id)) {
    throw new EngineError(
      'conflict',
      'This account already has a subscription; change or cancel it in the billing portal (POST /api/v1/billing/portal)',
    );
  }
  const customer = await ensureCustomer(db, stripe, account);
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer,
    client_reference_id: account.id,
    line_items: [{ price: price.priceId, quantity: 1 }],
    success_url: withQuery(cfg.returnUrl, 'checkout=success&session_id={CHECKOUT_SESSION_ID}'),
    cancel_url: withQuery(cfg.returnUrl, 'checkout=cancelled'),
    metadata: { account_id: account.id, plan },
    subscription_data: { metadata: { account_id: account.id, plan } },
  });
  if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a url`);
  return session.url;
}

/** A billing portal session URL; 409 when the account has never been a customer. */
export async function openPortal(
  db: Db,
  stripe: Stripe,
  cfg: BillingConfig,
  accountId: string,
): Promise<string> {
  const account = await requireAccount(db, accountId);
  if (!account.stripeCustomerId) {
    throw new EngineError(
      'conflict',
      'This account has no billing history yet; start with POST /api/v1/billing/checkout',
    );
  }
  const session = await stripe.billingPortal.sessions.create({
    customer: account.stripeCustomerId,
    return_url: cfg.returnUrl,
  });
  return session.url;
}

async function requireAccount(db: Db, accountId: string): Promise<Account> {
  const account = await getAccount(db, accountId);
  if (!account) throw new EngineError('invalid_api_key', 'The account no longer exists');
  return account;
}
