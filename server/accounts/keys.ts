/**
 * API keys `tmcp_…`: 256 random bits, shown once, stored as the SHA-256 hex of the whole key.
 * Verification is one indexed equality lookup (api_keys.key_hash is UNIQUE).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import type { Account } from './accounts.js';

/** Every key starts with this; it lets scanners (and people) recognise a leaked key. */
export const KEY_PREFIX = 'tmcp_';

/** A key as created: `key` is the secret, returned this once and never again. */
export interface CreatedApiKey {
  id: string;
  key: string;
  prefix: string;
  name: string;
  admin: boolean;
  createdAt: string;
}

/** A key as listed: never the secret, only its first characters. */
export interface ApiKeyInfo {
  id: string;
  prefix: string;
  name: string;
  admin: boolean;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A verified key: the account it belongs to and whether it may call operator endpoints. */
export interface VerifiedKey {
  account: Account;
  keyId: string;
  admin: boolean;
}

/** SHA-256 hex of the whole key: what the table stores and looks up. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True when `key` has the shape of one of our keys (prefix + 43 base64url characters). */
export function looksLikeApiKey(key: string): boolean {
  return /^tmcp_[A-Za-z0-9_-]{43}$/.test(key);
}

function iso(v: Date | string | null): string | null {
  if (v === null) return null;
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

/**
 * Create a key for an account. An admin key may call operator endpoints; only an admin account's
 * key can be admin (the flag is stored as asked, and verification ANDs it with the account's).
 */
export async function createApiKey(
  db: Queryable,
  accountId: string,
  opts: { name: string; admin?: boolean },
): Promise<CreatedApiKey> {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const id = `key_${randomBytes(12).toString('base64url')}`;
  // 'tmcp_' + 6 characters: enough to tell keys apart in a list, 36 bits is no help to a guesser.
  const prefix = key.slice(0, KEY_PREFIX.length + 6);
  const rows = await db.query<{ created_at: Date | string; is_admin: boolean }>(
    `INSERT INTO api_keys (id, account_id, name, key_hash, prefix, is_admin)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at, is_admin`,
    [id, accountId, opts.name, hashApiKey(key), prefix, opts.admin ?? false],
  );
  return {
    id,
    key,
    prefix,
    name: opts.name,
    admin: rows[0]!.is_admin,
    createdAt: iso(rows[0]!.created_at)!,
  };
}

interface VerifyRow {
  key_id: string;
  key_admin: boolean;
  last_used_at: Date | string | null;
  id: string;
  email: string | null;
  name: string;
  plan: string;
  is_admin: boolean;
  stripe_customer_id: string | null;
  created_at: Date | string;
}

// last_used_at is written at most once a minute per key: a busy key would otherwise turn every
// read request into a write (hundreds a second on a shared PostgreSQL).
const TOUCH_INTERVAL_MS = 60_000;
const lastTouch = new Map<string, number>();
const pendingTouches = new Set<Promise<void>>();

function touch(db: Queryable, keyId: string, lastUsed: Date | string | null): void {
  const now = Date.now();
  const stored = lastUsed === null ? 0 : new Date(lastUsed).getTime();
  if (now - Math.max(stored, lastTouch.get(keyId) ?? 0) < TOUCH_INTERVAL_MS) return;
  lastTouch.set(keyId, now);
  const p = db
    .query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [keyId],
    )
    .then(
      () => {},
      () => {}, // best effort: a closed database during shutdown is no reason to fail a request
    )
    .finally(() => pendingTouches.delete(p));
  pendingTouches.add(p);
}

/** Wait for the last-used writes in flight (tests, shutdown). */
export async function flushKeyTouches(): Promise<void> {
  await Promise.all([...pendingTouches]);
}

/** The account behind a key, or null for an unknown, malformed or revoked key. */
export async function verifyApiKey(db: Queryable, key: string): Promise<VerifiedKey | null> {
  if (!looksLikeApiKey(key)) return null;
  const rows = await db.query<VerifyRow>(
    `SELECT k.id AS key_id, k.is_admin AS key_admin, k.last_used_at,
            a.id, a.email, a.name, a.plan, a.is_admin, a.stripe_customer_id, a.created_at
     FROM api_keys k JOIN accounts a ON a.id = k.account_id
     WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
    [hashApiKey(key)],
  );
  const r = rows[0];
  if (!r) return null;
  touch(db, r.key_id, r.last_used_at);
  return {
    account: {
      id: r.id,
      email: r.email,
      name: r.name,
      plan: r.plan,
      isAdmin: r.is_admin,
      stripeCustomerId: r.stripe_customer_id,
      createdAt: iso(r.created_at)!,
    },
    keyId: r.key_id,
    admin: r.key_admin && r.is_admin,
  };
}

/** An account's keys, newest first, revoked ones included (marked) so the list explains itself. */
export async function listApiKeys(db: Queryable, accountId: string): Promise<ApiKeyInfo[]> {
  const rows = await db.query<{
    id: string;
    prefix: string;
    name: string;
    is_admin: boolean;
    created_at: Date | string;
    last_used_at: Date | string | null;
    revoked_at: Date | string | null;
  }>(
    `SELECT id, prefix, name, is_admin, created_at, last_used_at, revoked_at
     FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC, id`,
    [accountId],
  );
  return rows.map((r) => ({
    id: r.id,
    prefix: r.prefix,
    name: r.name,
    admin: r.is_admin,
    createdAt: iso(r.created_at)!,
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  }));
}

/**
 * Revoke one of an account's keys. True when a live key was revoked; false when the key does not
 * exist, belongs to another account or was already revoked (the caller cannot tell which: no probing).
 */
export async function revokeApiKey(
  db: Queryable,
  accountId: string,
  keyId: string,
): Promise<boolean> {
  const rows = await db.query<{ id: string }>(
    `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL
     RETURNING id`,
    [keyId, accountId],
  );
  return rows.length > 0;
}
