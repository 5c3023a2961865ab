/**
 * Static API keys from `TWINMCP_API_KEYS`, for self-hosted and ops setups that want a few fixed
 * keys without running `twinmcp keys create`. Each entry is `name:secret` or `name:secret:admin`,
 * comma-separated, where `secret` is a whole key (`tmcp_` + 43 characters, as `keys create` makes)
 * or `sha256:<64 hex>`, the SHA-256 of one (so the secret itself need not sit in the environment).
 *
 * At start each entry becomes a service account `acct_static_<name>` (no email; the default plan
 * unless changed later) holding key `key_static_<name>`; entries removed from the variable have
 * their key revoked. Verification is then the ordinary one (server/accounts/keys.ts).
 */
import type { Queryable } from '../db/db.js';
import { hashApiKey, looksLikeApiKey } from './keys.js';

/** One parsed entry: the key is held as its hash only. */
export interface StaticKey {
  name: string;
  keyHash: string;
  /** Shown in key lists in place of the key's first characters. */
  prefix: string;
  admin: boolean;
}

/** Parses the variable; throws an Error naming the bad entry (never echoing a secret). */
export function parseStaticKeys(raw: string | undefined): StaticKey[] {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: StaticKey[] = [];
  entries.forEach((entry, i) => {
    const parts = entry.split(':');
    const name = parts[0] ?? '';
    const admin = parts.at(-1) === 'admin';
    const secretParts = parts.slice(1, admin ? -1 : undefined);
    const where = `entry ${i + 1}${/^[A-Za-z0-9_-]{1,40}$/.test(name) ? ` ("${name}")` : ''}`;
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(name)) {
      throw new Error(`${where}: the name before ':' must be 1-40 letters, digits, - or _`);
    }
    if (out.some((k) => k.name === name)) throw new Error(`${where}: the name is used twice`);
    let keyHash: string;
    let prefix: string;
    if (secretParts.length === 1 && looksLikeApiKey(secretParts[0]!)) {
      keyHash = hashApiKey(secretParts[0]!);
      prefix = secretParts[0]!.slice(0, 11);
    } else if (
      secretParts.length === 2 &&
      secretParts[0] === 'sha256' &&
      /^[0-9a-f]{64}$/i.test(secretParts[1]!)
    ) {
      keyHash = secretParts[1]!.toLowerCase();
      prefix = `sha256:${keyHash.slice(0, 6)}`;
    } else {
      throw new Error(
        `${where}: expected name:tmcp_<43 characters> or name:sha256:<64 hex digits>, ` +
          'optionally followed by :admin',
      );
    }
    out.push({ name, keyHash, prefix, admin });
  });
  return out;
}

/** Creates or updates the static keys' accounts and keys, and revokes static keys no longer listed. */
export async function syncStaticKeys(
  db: Queryable,
  keys: StaticKey[],
  defaultPlan: string,
): Promise<void> {
  for (const k of keys) {
    await db.query(
      `INSERT INTO accounts (id, email, name, plan, is_admin) VALUES ($1, NULL, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET is_admin = EXCLUDED.is_admin, updated_at = now()`,
      [`acct_static_${k.name}`, `${k.name} (TWINMCP_API_KEYS)`, defaultPlan, k.admin],
    );
    await db.query(
      `INSERT INTO api_keys (id, account_id, name, key_hash, prefix, is_admin)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET key_hash = EXCLUDED.key_hash, prefix = EXCLUDED.prefix,
         is_admin = EXCLUDED.is_admin, revoked_at = NULL`,
      [`key_static_${k.name}`, `acct_static_${k.name}`, k.name, k.keyHash, k.prefix, k.admin],
    );
  }
  await db.query(
    `UPDATE api_keys SET revoked_at = now()
      WHERE id LIKE 'key\\_static\\_%' AND revoked_at IS NULL AND NOT (id = ANY($1::text[]))`,
    [keys.map((k) => `key_static_${k.name}`)],
  );
}
