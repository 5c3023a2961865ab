import type { Migration } from '../db/migrate.js';

/**
 * Counters for rate limits and quotas, shared by every server process on one database: a request
 * adds to its (key, window) row with one UPSERT, so two processes behind a load balancer see one
 * count. Rows past `expires_at` are deleted in passing.
 */
export const ACCOUNTS_EXTRAS_MIGRATION: Migration = {
  version: 5,
  name: 'rate-limit and quota counters',
  sql: /* sql */ `
CREATE TABLE rate_buckets (
  key           text NOT NULL,            -- 'rl:key_…' | 'rl:ip:…' | 'q:queries:acct_…' | …
  window_start  timestamptz NOT NULL,
  count         bigint NOT NULL DEFAULT 0,
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_buckets_expires ON rate_buckets (expires_at);
`,
};
