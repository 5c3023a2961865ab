/**
 * The admin page's second way in: a browser signed in on the web (session cookie) whose account
 * is an admin reads the operator's analytics without pasting a key. Only for reads (GET), where a
 * forged cross-site request gains nothing: without CORS headers its answer stays unreadable.
 */
import type { Queryable } from '../db/db.js';
import { getAccount, type Account } from './accounts.js';
import { parseCookies, SESSION_COOKIE, unsignValue } from './session-cookie.js';
import { findSession } from './session-store.js';

/** The admin account behind a request's session cookie, or null (no session, or not an admin). */
export async function adminFromSession(
  db: Queryable,
  sessionSecret: string,
  cookieHeader: string | undefined,
): Promise<Account | null> {
  const cookies = parseCookies(cookieHeader);
  const token = unsignValue(sessionSecret, SESSION_COOKIE, cookies[SESSION_COOKIE]);
  if (!token) return null;
  const session = await findSession(db, token);
  if (!session) return null;
  const account = await getAccount(db, session.accountId);
  return account?.isAdmin ? account : null;
}
