import type { Migration } from '../db/migrate.js';

/**
 * Privacy: an account's opt-out of keeping query text, enforced by a trigger on `usage_events`
 * so that every writer (engine queries, chat questions, future ones) obeys it without knowing
 * about it; and server secrets such as the pepper of the IP address hashes.
 */
export const PRIVACY_MIGRATION: Migration = {
  version: 10,
  name: 'query text opt-out and server secrets',
  sql: /* sql */ `
ALTER TABLE accounts ADD COLUMN keep_query_text boolean NOT NULL DEFAULT true;

-- Generated once per deployment and shared by its processes (not user data: no owner column).
CREATE TABLE server_secrets (
  name       text PRIMARY KEY,                  -- 'ip_pepper'
  value      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One primary-key lookup per event of an account; anonymous events keep their text (no account
-- to opt out, and no IP address is stored with them).
CREATE FUNCTION usage_events_drop_opted_out_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.owner_account IS NOT NULL AND NEW.query IS NOT NULL AND EXISTS (
    SELECT 1 FROM accounts WHERE id = NEW.owner_account AND NOT keep_query_text
  ) THEN
    NEW.query := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER usage_events_query_opt_out BEFORE INSERT ON usage_events
  FOR EACH ROW EXECUTE FUNCTION usage_events_drop_opted_out_text();
`,
};
