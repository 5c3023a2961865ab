/**
 * Rate limits and plan quotas for requests when auth is on. The rate limit (every request, per key
 * or per anonymous IP) runs on `@fastify/rate-limit` with its counters in the database; quotas
 * (queries and hover lookups per day) count only the calls that read documentation.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseRateLimitStore, type Clock } from '../accounts/buckets.js';
import { planLimits, type AccountsConfig } from '../accounts/config.js';
import type { IpHasher } from '../accounts/privacy.js';
import { takeQuota, type WindowedQuota } from '../accounts/quota.js';
import { callContext, sendAuthError } from './auth.js';

export interface LimitsOptions {
  accounts: AccountsConfig;
  clock: Clock;
  /** Stands in for `request.ip` in stored counter keys (privacy: no raw addresses at rest). */
  hashIp: IpHasher;
}

/** JSON-RPC error code for rate limits on /mcp (implementation-defined server error range). */
const RPC_RATE_LIMITED = -32029;

/** Routes whose calls count against the queries (or hover) quota. */
const METERED = new Set(['GET /api/v1/libs/search', 'GET /api/v1/context', 'POST /mcp']);

/** Adds the rate-limit (onRequest) and quota (preHandler) hooks to the root. */
export async function installLimits(app: FastifyInstance, opts: LimitsOptions): Promise<void> {
  const { accounts, clock, hashIp } = opts;
  await app.register(rateLimit, {
    global: false,
    store: databaseRateLimitStore(app.engine.db, clock),
  });
  const limitOf = (request: FastifyRequest): number | null =>
    planLimits(accounts, request.account ? request.account.plan : null).requestsPerWindow;
  const limiter = app.createRateLimit({
    // Per key, not per account: one leaked key cannot starve the account's other keys.
    keyGenerator: (request) =>
      request.account ? `key:${request.account.keyId}` : `ip:${hashIp(request.ip)}`,
    max: (request) => limitOf(request) ?? Number.MAX_SAFE_INTEGER,
    timeWindow: accounts.rateWindowMs,
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!limited(request)) return;
    const max = limitOf(request);
    if (max === null) return;
    const r = await limiter(request);
    if (r.isAllowed) return;
    setRateHeaders(reply, r.max, r.remaining, r.ttlInSeconds);
    if (!r.isExceeded) return;
    reply.header('retry-after', String(r.ttlInSeconds));
    return sendAuthError(
      request,
      reply,
      429,
      'rate_limit_exceeded',
      `Rate limit of ${r.max} requests per ${Math.round(accounts.rateWindowMs / 1000)} s reached; ` +
        `retry in ${r.ttlInSeconds} s.`,
      RPC_RATE_LIMITED,
    );
  });

  app.addHook('preHandler', async (request, reply) => {
    if (!limited(request)) return;
    if (!METERED.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return;
    const amount = request.routeOptions.url === '/mcp' ? toolCalls(request.body) : 1;
    if (amount === 0) return;
    const quota: WindowedQuota =
      callContext(request, 'rest').client === 'hover' ? 'hover' : 'queries';
    const now = clock();
    const subject = {
      accountId: request.account?.id ?? null,
      ip: hashIp(request.ip),
      plan: request.account?.plan ?? '',
    };
    const r = await takeQuota(app.engine.db, accounts, subject, quota, amount, now);
    if (r.ok) return;
    const seconds = Math.max(1, Math.ceil((r.resetsAt - now) / 1000));
    setRateHeaders(reply, r.limit ?? 0, 0, seconds);
    reply.header('retry-after', String(seconds));
    const plan = request.account ? `the ${request.account.plan} plan` : 'anonymous use';
    const what = quota === 'hover' ? 'hover lookups' : 'documentation queries';
    return sendAuthError(
      request,
      reply,
      429,
      'rate_limit_exceeded',
      `Daily quota of ${r.limit ?? 0} ${what} for ${plan} is used up; it resets at ` +
        `${new Date(r.resetsAt).toISOString()} (retry in ${formatDuration(seconds)}).` +
        (request.account
          ? ' A larger plan raises the quota (account page).'
          : ' An API key raises it.'),
      RPC_RATE_LIMITED,
    );
  });
}

function limited(request: FastifyRequest): boolean {
  if (request.trusted) return false;
  if (request.routeOptions.config?.auth === 'none') return false;
  // Load balancers probe /health every few seconds from a handful of addresses.
  return request.routeOptions.url !== '/health';
}

function setRateHeaders(
  reply: FastifyReply,
  limit: number,
  remaining: number,
  resetSeconds: number,
): void {
  reply.header('ratelimit-limit', String(limit));
  reply.header('ratelimit-remaining', String(remaining));
  reply.header('ratelimit-reset', String(resetSeconds));
}

/** How many tools/call requests a JSON-RPC message or batch holds (initialize, list: none). */
export function toolCalls(body: unknown): number {
  const messages = Array.isArray(body) ? body : [body];
  return messages.filter(
    (m) =>
      typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'tools/call',
  ).length;
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
