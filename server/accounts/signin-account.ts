/**
 * The account behind a verified email: found, or created on first sign-in. Every sign-in method
 * (magic link, OIDC, GitHub) ends here, so one person is one account whichever way they come.
 */
import type { Queryable } from '../db/db.js';
import { AccountExistsError, createAccount, findAccountByEmail, type Account } from './accounts.js';

/** Finds the account for a verified email or creates it with the default plan. */
export async function accountForVerifiedEmail(
  db: Queryable,
  email: string,
  opts: { name?: string; plan: string },
): Promise<{ account: Account; created: boolean }> {
  const existing = await findAccountByEmail(db, email);
  if (existing) return { account: existing, created: false };
  try {
    const account = await createAccount(db, {
      email,
      name: opts.name ?? '',
      plan: opts.plan,
      isAdmin: false,
    });
    return { account, created: true };
  } catch (err) {
    // Two first sign-ins at once (two tabs): the loser reads the winner's account.
    if (!(err instanceof AccountExistsError)) throw err;
    const account = await findAccountByEmail(db, email);
    if (!account) throw err;
    return { account, created: false };
  }
}
