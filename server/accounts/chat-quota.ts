/**
 * The chat's monthly token quota for one account: checked before a question is answered (a
 * question is refused once the month's tokens are used up) and charged with the tokens the answer
 * used afterwards, so the last answer of a month may overshoot by at most one answer's tokens.
 */
import type { Queryable } from '../db/db.js';
import type { Clock } from './buckets.js';
import type { AccountsConfig } from './config.js';
import { addToQuota, readQuota, type QuotaSubject } from './quota.js';

/** Why a question was refused, for the 429 body and the chat error event. */
export interface ChatQuotaRefusal {
  message: string;
  limit: number;
  /** ms since the epoch. */
  resetsAt: number;
}

/** What the chat core calls around one question. */
export interface ChatQuota {
  /** Undefined when the account may ask; the refusal otherwise. */
  check(): Promise<ChatQuotaRefusal | undefined>;
  /** Charges the tokens an answer used (input + output). */
  record(tokens: number): Promise<void>;
}

/**
 * The quota of `account`; undefined when nothing is metered (auth off, or a trusted caller such as
 * the local admin token, which has no account).
 */
export function chatQuotaFor(
  db: Queryable,
  accounts: AccountsConfig | undefined,
  account: { id: string; plan: string } | null,
  clock: Clock,
): ChatQuota | undefined {
  if (!accounts || accounts.auth === 'off' || !account) return undefined;
  const subject: QuotaSubject = { accountId: account.id, ip: '', plan: account.plan };
  return {
    async check() {
      const now = clock();
      const q = await readQuota(db, accounts, subject, 'chatTokens', now);
      if (q.ok || q.limit === null) return undefined;
      return {
        limit: q.limit,
        resetsAt: q.resetsAt,
        message:
          `Monthly quota of ${q.limit} chat tokens for the ${account.plan} plan is used up ` +
          `(${q.used} used); it resets at ${new Date(q.resetsAt).toISOString()}. ` +
          'A larger plan raises the quota (account page).',
      };
    },
    async record(tokens) {
      if (tokens <= 0) return;
      await addToQuota(db, accounts, subject, 'chatTokens', tokens, clock());
    },
  };
}
