import type { Migration } from '../db/migrate.js';

/**
 * Stripe billing: processed webhook events (idempotency) and the subscriptions they describe, from
 * which an account's plan is derived.
 */
export const BILLING_MIGRATION: Migration = {
  version: 6,
  name: 'stripe events and subscriptions',
  sql: /* sql */ `
-- One row per Stripe event id, written in the same transaction as its effects: a replayed
-- delivery finds the row and changes nothing; a failed one rolls back and Stripe retries it.
CREATE TABLE stripe_events (
  id            text PRIMARY KEY,                -- 'evt_...'
  type          text NOT NULL,
  account_id    text,                            -- the account it concerned, when known
  created       bigint NOT NULL,                 -- Stripe's event.created (seconds)
  processed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stripe_subscriptions (
  id                 text PRIMARY KEY,           -- 'sub_...'
  account_id         text REFERENCES accounts(id) ON DELETE SET NULL,
  customer_id        text NOT NULL,
  status             text NOT NULL,              -- Stripe's subscription status
  price_id           text,
  plan               text,                       -- the configured plan of price_id, null if unknown
  current_period_end timestamptz,
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  -- created of the newest event applied: an older event arriving late changes nothing.
  event_created      bigint NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_subscriptions_account ON stripe_subscriptions (account_id);
CREATE INDEX stripe_subscriptions_customer ON stripe_subscriptions (customer_id);
`,
};
