/**
 * OAuth 2.0 Device Authorization Grant (RFC 8628) storage and state machine: a device asks for a
 * code pair, a signed-in person approves the user code in a browser, and the device's next poll
 * receives a new API key. States: pending -> approved | denied; approved -> issued (once).
 */
import { randomInt } from 'node:crypto';
import type { Db, Queryable } from '../db/db.js';
import { hashToken, randomToken } from './session-store.js';

// RFC 8628 §6.1: 20 consonants (no vowels, so no words; no easily confused letters) and 8 of
// them: 20^8 ≈ 2.6e10 codes, far beyond what a guesser gets through in a 10-minute lifetime.
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval for good. */
export const SLOW_DOWN_STEP_SECONDS = 5;

/** A new user code, without the dash. */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(20)];
  return code;
}

/** `WDJBMJHT` -> `WDJB-MJHT`, the form shown to people. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed -> the stored form: case-insensitive, dashes and spaces ignored (§6.1);
 * undefined when it cannot be a user code.
 */
export function normalizeUserCode(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return undefined;
  return [...code].every((c) => USER_CODE_ALPHABET.includes(c)) ? code : undefined;
}

export interface NewDeviceCode {
  deviceCode: string;
  userCode: string;
  expiresIn: number;
  interval: number;
}

/** Starts a device authorization: a secret device code for the device and a user code to type. */
export async function createDeviceCode(
  db: Queryable,
  opts: {
    clientId: string;
    scope: string;
    ttlSeconds: number;
    intervalSeconds: number;
    now?: Date;
  },
): Promise<NewDeviceCode> {
  const now = opts.now ?? new Date();
  const expiresAt = new Date(now.getTime() + opts.ttlSeconds * 1000);
  // Expired rows would keep their user codes reserved by the partial unique index.
  await db.query('DELETE FROM device_codes WHERE expires_at < $1', [now]);
  for (let attempt = 0; ; attempt++) {
    const deviceCode = randomToken();
    const userCode = newUserCode();
    try {
      await db.query(
        `INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, state, interval_s,
                                   created_at, expires_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)`,
        [
          hashToken(deviceCode),
          userCode,
          opts.clientId,
          opts.scope,
          opts.intervalSeconds,
          now,
          expiresAt,
        ],
      );
      return { deviceCode, userCode, expiresIn: opts.ttlSeconds, interval: opts.intervalSeconds };
    } catch (err) {
      // 23505: the user code is taken by another pending request (one in 2.6e10); draw again.
      if ((err as { code?: string }).code !== '23505' || attempt >= 3) throw err;
    }
  }
}

/** A pending, unexpired request by user code: what the approval page shows. */
export async function findPendingDeviceCode(
  db: Queryable,
  userCode: string,
  now: Date = new Date(),
): Promise<{ clientId: string; scope: string } | null> {
  const rows = await db.query<{ client_id: string; scope: string }>(
    `SELECT client_id, scope FROM device_codes
     WHERE user_code = $1 AND state = 'pending' AND expires_at > $2`,
    [userCode, now],
  );
  return rows[0] ? { clientId: rows[0].client_id, scope: rows[0].scope } : null;
}

/**
 * Approves (for `accountId`) or denies a pending request. False when the code is unknown,
 * expired or already decided.
 */
export async function decideDeviceCode(
  db: Queryable,
  userCode: string,
  decision: { approve: true; accountId: string } | { approve: false },
  now: Date = new Date(),
): Promise<boolean> {
  const rows = await db.query<{ user_code: string }>(
    `UPDATE device_codes SET state = $2, account_id = $3
     WHERE user_code = $1 AND state = 'pending' AND expires_at > $4
     RETURNING user_code`,
    [
      userCode,
      decision.approve ? 'approved' : 'denied',
      decision.approve ? decision.accountId : null,
      now,
    ],
  );
  return rows.length > 0;
}

/** The outcome of one poll, named after RFC 8628 §3.5's error codes. */
export type PollResult =
  | { status: 'authorization_pending' }
  | { status: 'slow_down'; interval: number }
  | { status: 'access_denied' }
  | { status: 'expired_token' }
  | { status: 'invalid_grant' }
  | { status: 'issued'; accessToken: string; keyId: string; accountId: string };

/** Creates the API key for an approved request, inside the poll's transaction. */
export type IssueKey = (
  tx: Queryable,
  accountId: string,
  clientId: string,
) => Promise<{ id: string; key: string }>;

interface DeviceRow {
  state: 'pending' | 'approved' | 'denied' | 'issued';
  account_id: string | null;
  client_id: string;
  interval_s: number;
  last_polled_at: Date | string | null;
  expires_at: Date | string;
}

/** One poll of the token endpoint, serialized per device code by a row lock. */
export async function pollDeviceCode(
  db: Db,
  deviceCode: string,
  issueKey: IssueKey,
  now: Date = new Date(),
): Promise<PollResult> {
  const hash = hashToken(deviceCode);
  return db.transaction(async (tx): Promise<PollResult> => {
    const rows = await tx.query<DeviceRow>(
      `SELECT state, account_id, client_id, interval_s, last_polled_at, expires_at
       FROM device_codes WHERE device_code_hash = $1 FOR UPDATE`,
      [hash],
    );
    const row = rows[0];
    // An issued code is spent: a second token for it would be a second key from one approval.
    if (!row || row.state === 'issued') return { status: 'invalid_grant' };
    if (new Date(row.expires_at).getTime() <= now.getTime()) return { status: 'expired_token' };
    if (row.state === 'denied') return { status: 'access_denied' };
    if (row.state === 'approved' && row.account_id) {
      const key = await issueKey(tx, row.account_id, row.client_id);
      await tx.query(
        `UPDATE device_codes SET state = 'issued', api_key_id = $2, last_polled_at = $3
         WHERE device_code_hash = $1`,
        [hash, key.id, now],
      );
      return { status: 'issued', accessToken: key.key, keyId: key.id, accountId: row.account_id };
    }
    const last = row.last_polled_at === null ? undefined : new Date(row.last_polled_at).getTime();
    if (last !== undefined && now.getTime() - last < row.interval_s * 1000) {
      const interval = row.interval_s + SLOW_DOWN_STEP_SECONDS;
      await tx.query(
        'UPDATE device_codes SET interval_s = $2, last_polled_at = $3 WHERE device_code_hash = $1',
        [hash, interval, now],
      );
      return { status: 'slow_down', interval };
    }
    await tx.query('UPDATE device_codes SET last_polled_at = $2 WHERE device_code_hash = $1', [
      hash,
      now,
    ]);
    return { status: 'authorization_pending' };
  });
}
