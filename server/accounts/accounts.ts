/**
 * Accounts: who owns private libraries, keys, usage and a plan. Plain functions over a Queryable so
 * the HTTP layer, the CLI and billing share them.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';

/** One account as the rest of the server sees it. */
export interface Account {
  id: string;
  email: string | null;
  name: string;
  plan: string;
  isAdmin: boolean;
  stripeCustomerId: string | null;
  createdAt: string;
}

/** What `createAccount` accepts; every field is optional (a CLI service account has no email). */
export interface NewAccount {
  email?: string | null;
  name?: string;
  plan?: string;
  isAdmin?: boolean;
}

interface AccountRow {
  id: string;
  email: string | null;
  name: string;
  plan: string;
  is_admin: boolean;
  stripe_customer_id: string | null;
  created_at: Date | string;
}

const COLUMNS = 'id, email, name, plan, is_admin, stripe_customer_id, created_at';

/** Thrown when an email is already taken; the HTTP and CLI layers turn it into a clear message. */
export class AccountExistsError extends Error {
  constructor(readonly email: string) {
    super(`an account with email ${email} already exists`);
    this.name = 'AccountExistsError';
  }
}

/** Emails compare case-insensitively: stored lower-cased and trimmed. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A new account id: 'acct_' + 16 random bytes, base64url (128 bits: unguessable, short). */
export function newAccountId(): string {
  return `acct_${randomBytes(16).toString('base64url')}`;
}

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    plan: r.plan,
    isAdmin: r.is_admin,
    stripeCustomerId: r.stripe_customer_id,
    createdAt:
      r.created_at instanceof Date
        ? r.created_at.toISOString()
        : new Date(r.created_at).toISOString(),
  };
}

/** Create an account. Throws `AccountExistsError` when the email is taken. */
export async function createAccount(db: Queryable, input: NewAccount = {}): Promise<Account> {
  const email = input.email ? normalizeEmail(input.email) : null;
  if (email !== null && (await findAccountByEmail(db, email))) throw new AccountExistsError(email);
  try {
    const rows = await db.query<AccountRow>(
      `INSERT INTO accounts (id, email, name, plan, is_admin) VALUES ($1, $2, $3, $4, $5)
       RETURNING ${COLUMNS}`,
      [newAccountId(), email, input.name ?? '', input.plan ?? 'free', input.isAdmin ?? false],
    );
    return toAccount(rows[0]!);
  } catch (err) {
    // A concurrent insert of the same email loses on the UNIQUE constraint (SQLSTATE 23505).
    if (email !== null && (err as { code?: string }).code === '23505')
      throw new AccountExistsError(email);
    throw err;
  }
}

/** The account with this id, or null. */
export async function getAccount(db: Queryable, id: string): Promise<Account | null> {
  const rows = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE id = $1`, [id]);
  return rows[0] ? toAccount(rows[0]) : null;
}

/** The account with this email (compared lower-cased), or null. */
export async function findAccountByEmail(db: Queryable, email: string): Promise<Account | null> {
  const rows = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE email = $1`, [
    normalizeEmail(email),
  ]);
  return rows[0] ? toAccount(rows[0]) : null;
}

/** The account whose Stripe customer id this is, or null. */
export async function findAccountByStripeCustomer(
  db: Queryable,
  customerId: string,
): Promise<Account | null> {
  const rows = await db.query<AccountRow>(
    `SELECT ${COLUMNS} FROM accounts WHERE stripe_customer_id = $1`,
    [customerId],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

/** Change an account's plan; the new quotas apply from the next request. Null when no such account. */
export async function setAccountPlan(
  db: Queryable,
  id: string,
  plan: string,
): Promise<Account | null> {
  const rows = await db.query<AccountRow>(
    `UPDATE accounts SET plan = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, plan],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

/** Link an account to its Stripe customer. Null when no such account. */
export async function setStripeCustomer(
  db: Queryable,
  id: string,
  customerId: string,
): Promise<Account | null> {
  const rows = await db.query<AccountRow>(
    `UPDATE accounts SET stripe_customer_id = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, customerId],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

/** Find an account by id ('acct_...') or by email: what the CLI's `--account` accepts. */
export async function findAccount(db: Queryable, idOrEmail: string): Promise<Account | null> {
  return idOrEmail.includes('@') ? findAccountByEmail(db, idOrEmail) : getAccount(db, idOrEmail);
}

/** Every account, oldest first (CLI listing; small numbers on a self-host). */
export async function listAccounts(db: Queryable, limit = 1000): Promise<Account[]> {
  const rows = await db.query<AccountRow>(
    `SELECT ${COLUMNS} FROM accounts ORDER BY created_at, id LIMIT $1`,
    [limit],
  );
  return rows.map(toAccount);
}
