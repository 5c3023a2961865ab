import type { Migration } from '../db/migrate.js';

/**
 * Accounts and API keys: the tables every account-aware area (keys, quotas, billing, chat history,
 * private libraries) refers to. `owner_account` columns elsewhere hold `accounts.id`.
 */
export const ACCOUNTS_MIGRATION: Migration = {
  version: 3,
  name: 'accounts and API keys',
  sql: /* sql */ `
CREATE TABLE accounts (
  id                 text PRIMARY KEY,            -- 'acct_' + random
  email              text UNIQUE,                 -- lower-cased; null for CLI-made service accounts
  name               text NOT NULL DEFAULT '',
  plan               text NOT NULL DEFAULT 'free', -- a plan name from configuration
  is_admin           boolean NOT NULL DEFAULT false,
  stripe_customer_id text UNIQUE,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Keys are shown once and stored as SHA-256 of the whole key (hex): 256 random bits need no slow
-- hash, and one indexed equality lookup per request is what keeps auth cheap.
CREATE TABLE api_keys (
  id            text PRIMARY KEY,                 -- 'key_' + random, safe to show
  account_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          text NOT NULL DEFAULT '',
  key_hash      text NOT NULL UNIQUE,
  prefix        text NOT NULL,                    -- 'tmcp_' + first characters, for lists
  is_admin      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);
`,
};
