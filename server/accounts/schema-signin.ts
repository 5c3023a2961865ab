import type { Migration } from '../db/migrate.js';

/**
 * Web sign-in and the device authorization grant: sessions, one-time email sign-in tokens and
 * device codes. Every secret (session token, email token, device code) is stored as the SHA-256 hex
 * of the value handed out: each carries 256 random bits, so a fast hash is enough and a leaked
 * table lets nobody sign in.
 */
export const SIGNIN_MIGRATION: Migration = {
  version: 9,
  name: 'web sessions, email sign-in tokens, device codes',
  sql: /* sql */ `
CREATE TABLE sessions (
  id_hash      text PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  method       text NOT NULL,                    -- 'email' | 'oidc' | 'github'
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE signin_tokens (
  token_hash   text PRIMARY KEY,
  email        text NOT NULL,                    -- lower-cased; the account is found or made on use
  next_path    text NOT NULL DEFAULT '/signin',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz
);
CREATE INDEX signin_tokens_expires ON signin_tokens (expires_at);

-- RFC 8628 device codes. The API key is created when the device polls after approval (never
-- stored in clear), so 'approved' becomes 'issued' exactly once.
CREATE TABLE device_codes (
  device_code_hash text PRIMARY KEY,
  user_code        text NOT NULL,                -- 8 letters, stored without the dash
  client_id        text NOT NULL DEFAULT '',
  scope            text NOT NULL DEFAULT '',
  state            text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'issued')),
  account_id       text REFERENCES accounts(id) ON DELETE CASCADE,
  api_key_id       text,
  interval_s       integer NOT NULL,
  last_polled_at   timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX device_codes_user_code ON device_codes (user_code) WHERE state = 'pending';
CREATE INDEX device_codes_expires ON device_codes (expires_at);
`,
};
