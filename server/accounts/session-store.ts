/**
 * Web sessions and one-time email sign-in tokens. Tokens carry 256 random bits and are stored as
 * their SHA-256 hex; times come from the caller's clock so expiry is testable.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { normalizeEmail } from './accounts.js';

export type SigninMethod = 'email' | 'oidc' | 'github';

/** SHA-256 hex: how sessions, sign-in tokens and device codes are stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 32 random bytes, base64url (43 characters). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface ActiveSession {
  idHash: string;
  accountId: string;
  expiresAt: Date;
}

/** Starts a session; the returned token goes into the (signed) cookie and nowhere else. */
export async function createSession(
  db: Queryable,
  accountId: string,
  method: SigninMethod,
  ttlMs: number,
  now: Date = new Date(),
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + ttlMs);
  // Expired rows go on the way in: sign-ins are rare enough that this costs nothing, and no
  // sweeper process is needed.
  await db.query('DELETE FROM sessions WHERE expires_at < $1', [now]);
  await db.query(
    'INSERT INTO sessions (id_hash, account_id, method, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [hashToken(token), accountId, method, now, expiresAt],
  );
  return { token, expiresAt };
}

/** The live session for a token, or null (unknown, expired, or its account deleted). */
export async function findSession(
  db: Queryable,
  token: string,
  now: Date = new Date(),
): Promise<ActiveSession | null> {
  const rows = await db.query<{ id_hash: string; account_id: string; expires_at: Date | string }>(
    'SELECT id_hash, account_id, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2',
    [hashToken(token), now],
  );
  const r = rows[0];
  return r
    ? { idHash: r.id_hash, accountId: r.account_id, expiresAt: new Date(r.expires_at) }
    : null;
}

/** Ends a session (sign-out). */
export async function deleteSession(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE id_hash = $1', [hashToken(token)]);
}

/** How long an emailed sign-in link works: 15 minutes. */
export const SIGNIN_TOKEN_TTL_MS = 15 * 60 * 1000;

/** Stores a one-time sign-in token for an email and returns the token for the link. */
export async function createSigninToken(
  db: Queryable,
  email: string,
  nextPath: string,
  now: Date = new Date(),
): Promise<string> {
  const token = randomToken();
  await db.query('DELETE FROM signin_tokens WHERE expires_at < $1', [now]);
  await db.query(
    `INSERT INTO signin_tokens (token_hash, email, next_path, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [
      hashToken(token),
      normalizeEmail(email),
      nextPath,
      now,
      new Date(now.getTime() + SIGNIN_TOKEN_TTL_MS),
    ],
  );
  return token;
}

/** A live, unused sign-in token's email and return path, without using it (confirm page). */
export async function peekSigninToken(
  db: Queryable,
  token: string,
  now: Date = new Date(),
): Promise<{ email: string; nextPath: string } | null> {
  const rows = await db.query<{ email: string; next_path: string }>(
    `SELECT email, next_path FROM signin_tokens
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
    [hashToken(token), now],
  );
  return rows[0] ? { email: rows[0].email, nextPath: rows[0].next_path } : null;
}

/**
 * Uses a sign-in token: one UPDATE that only succeeds while the token is unused and unexpired, so
 * two clicks racing each other yield one session.
 */
export async function consumeSigninToken(
  db: Queryable,
  token: string,
  now: Date = new Date(),
): Promise<{ email: string; nextPath: string } | null> {
  const rows = await db.query<{ email: string; next_path: string }>(
    `UPDATE signin_tokens SET used_at = $2
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
     RETURNING email, next_path`,
    [hashToken(token), now],
  );
  return rows[0] ? { email: rows[0].email, nextPath: rows[0].next_path } : null;
}

/** Sign-in links asked for this email in the last 15 minutes (a bound on mail sent to one inbox). */
export async function recentSigninTokenCount(
  db: Queryable,
  email: string,
  now: Date = new Date(),
): Promise<number> {
  const rows = await db.query<{ n: number | string }>(
    'SELECT count(*) AS n FROM signin_tokens WHERE email = $1 AND created_at > $2',
    [normalizeEmail(email), new Date(now.getTime() - SIGNIN_TOKEN_TTL_MS)],
  );
  return Number(rows[0]?.n ?? 0);
}
