/**
 * Who owns a library added over HTTP. Auth off or the local admin token: public, as before. With
 * auth on: the caller's account (private), unless an admin key asks for a public library; anonymous
 * callers cannot add; an account at its plan's private-library limit cannot add more.
 */
import type { FastifyRequest } from 'fastify';
import type { AccountsConfig } from '../accounts/config.js';
import { planLimits } from '../accounts/config.js';
import { countPrivateLibraries } from '../accounts/quota.js';
import type { Queryable } from '../db/db.js';
import { GET_A_KEY } from './auth.js';
import type { HttpErrorCode } from './errors.js';

export type OwnerDecision =
  | { ok: true; owner?: string | null }
  | { ok: false; status: number; error: HttpErrorCode; message: string };

/** Decides the owner of a library `request` asks to add (see the module comment). */
export async function ownerForNewLibrary(
  db: Queryable,
  accounts: AccountsConfig | undefined,
  request: FastifyRequest,
  wantsPublic: boolean,
): Promise<OwnerDecision> {
  if (request.trusted) return { ok: true };
  const account = request.account;
  if (!account) {
    return {
      ok: false,
      status: 401,
      error: 'invalid_api_key',
      message: `Adding libraries needs an API key. ${GET_A_KEY}`,
    };
  }
  if (wantsPublic) {
    if (account.isAdmin) return { ok: true, owner: null };
    return {
      ok: false,
      status: 403,
      error: 'forbidden',
      message: 'Only an admin key can add public libraries.',
    };
  }
  const limit = accounts ? planLimits(accounts, account.plan).privateLibraries : null;
  if (limit !== null && (await countPrivateLibraries(db, account.id)) >= limit) {
    return {
      ok: false,
      status: 403,
      error: 'forbidden',
      message:
        `The ${account.plan} plan allows ${limit} private ${limit === 1 ? 'library' : 'libraries'}; ` +
        'remove one (DELETE /api/v1/libs) or move to a larger plan on the account page.',
    };
  }
  return { ok: true, owner: account.id };
}
