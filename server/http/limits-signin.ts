/**
 * A per-IP rate limit on the open routes that send mail or guess at codes: the magic-link form,
 * device-code requests, and the device page's code entry and decision. They run without a key
 * (auth `'none'`), so the per-key limit of limits.ts never sees them. Counters live in
 * `rate_buckets` under the hashed address, shared by every process.
 */
import type { FastifyInstance } from 'fastify';
import { fixedWindow, takeFromBucket, type Clock } from '../accounts/buckets.js';
import type { IpHasher } from '../accounts/privacy.js';
import { sendAuthError } from './auth.js';

/** The limited routes, as `METHOD url`. */
export const SIGNIN_LIMITED = new Set([
  'POST /signin/email',
  'POST /api/v1/auth/device/code',
  // 8-character user codes: the limit is what keeps guessing one out of reach.
  'POST /device',
  'POST /device/decide',
]);

// Ten minutes: long enough that a script gains little by waiting, short enough for a person.
const WINDOW_MS = 10 * 60_000;

export interface SigninLimitOptions {
  /** Requests per address per 10 minutes, over all the limited routes together; 0 = no limit. */
  max: number;
  clock: Clock;
  hashIp: IpHasher;
}

/** Adds the onRequest hook to the root. */
export function installSigninLimit(app: FastifyInstance, opts: SigninLimitOptions): void {
  if (opts.max <= 0) return;
  app.addHook('onRequest', async (request, reply) => {
    if (!SIGNIN_LIMITED.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return;
    const now = opts.clock();
    const { start, end } = fixedWindow(now, WINDOW_MS);
    const key = `rl:signin:ip:${opts.hashIp(request.ip)}`;
    const r = await takeFromBucket(app.engine.db, key, start, end, 1, opts.max, now);
    const seconds = Math.max(1, Math.ceil((end - now) / 1000));
    reply.header('ratelimit-limit', String(opts.max));
    reply.header('ratelimit-remaining', String(Math.max(0, opts.max - r.count)));
    reply.header('ratelimit-reset', String(seconds));
    if (r.ok) return;
    reply.header('retry-after', String(seconds));
    return sendAuthError(
      request,
      reply,
      429,
      'rate_limit_exceeded',
      `Too many sign-in requests from this address (${opts.max} per 10 minutes); ` +
        `retry in ${seconds} s.`,
    );
  });
}
