/**
 * The caller's account: `/account` (account and plan), `/account/usage` (quota state and the last
 * 30 days), `/account/settings` (privacy choices), `/account/keys` (list, create, revoke); and the
 * operator's `/admin/usage`.
 * Register with prefix `/api/v1`; the auth plugin enforces `config.auth` before these run.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AccountResponse,
  AccountSettings,
  AdminUsageQuery,
  AdminUsageResponse,
  CreatedKeyResponse,
  CreateKeyBody,
  KeysResponse,
  UsageResponse,
  type QuotaState,
} from '../../shared/account.js';
import { getAccount } from '../accounts/accounts.js';
import type { Clock } from '../accounts/buckets.js';
import { planLimits, type AccountsConfig } from '../accounts/config.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../accounts/keys.js';
import { keepsQueryText, setKeepQueryText } from '../accounts/privacy.js';
import { countPrivateLibraries, readQuota } from '../accounts/quota.js';
import { adminUsage, dailyUsage } from '../accounts/usage-stats.js';
import type { RequestAccount } from './auth.js';
import { forbid, sendError } from './errors.js';

export interface AccountRoutesOptions {
  accounts: AccountsConfig | undefined;
  clock?: Clock;
}

const KeyParams = z.object({ id: z.string().min(1).max(100) });

/** Account, usage, keys and admin usage routes. */
export const accountRoutes: FastifyPluginAsyncZod<AccountRoutesOptions> = async (app, opts) => {
  const clock = opts.clock ?? Date.now;
  const accountOnly = { auth: 'account' as const };

  app.get(
    '/account',
    { config: accountOnly, schema: { response: { 200: AccountResponse } } },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      const account = await getAccount(app.engine.db, who.id);
      if (!account)
        return sendError(reply, 404, 'not_found', 'This key’s account no longer exists.');
      const { stripeCustomerId: _s, ...info } = account;
      return {
        account: info,
        plan: { name: account.plan, limits: planLimits(opts.accounts!, account.plan) },
        keyId: who.keyId,
      };
    },
  );

  app.get(
    '/account/usage',
    { config: accountOnly, schema: { response: { 200: UsageResponse } } },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      const db = app.engine.db;
      const now = clock();
      const subject = { accountId: who.id, ip: request.ip, plan: who.plan };
      const quotas: QuotaState[] = [];
      for (const quota of ['queries', 'hover', 'chatTokens'] as const) {
        const q = await readQuota(db, opts.accounts!, subject, quota, now);
        quotas.push({
          quota,
          used: q.used,
          limit: q.limit,
          resetsAt: new Date(q.resetsAt).toISOString(),
        });
      }
      quotas.push({
        quota: 'privateLibraries',
        used: await countPrivateLibraries(db, who.id),
        limit: planLimits(opts.accounts!, who.plan).privateLibraries,
        resetsAt: null,
      });
      return { plan: who.plan, quotas, daily: await dailyUsage(db, who.id, now) };
    },
  );

  app.get(
    '/account/settings',
    { config: accountOnly, schema: { response: { 200: AccountSettings } } },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      return { keepQueryText: await keepsQueryText(app.engine.db, who.id) };
    },
  );

  app.patch(
    '/account/settings',
    { config: accountOnly, schema: { body: AccountSettings, response: { 200: AccountSettings } } },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      await setKeepQueryText(app.engine.db, who.id, request.body.keepQueryText);
      return { keepQueryText: await keepsQueryText(app.engine.db, who.id) };
    },
  );

  app.get(
    '/account/keys',
    { config: accountOnly, schema: { response: { 200: KeysResponse } } },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      return { keys: await listApiKeys(app.engine.db, who.id) };
    },
  );

  app.post(
    '/account/keys',
    {
      config: accountOnly,
      schema: { body: CreateKeyBody, response: { 201: CreatedKeyResponse } },
    },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      const db = app.engine.db;
      if (request.body.admin) {
        const account = await getAccount(db, who.id);
        if (!account?.isAdmin) return forbid(reply, 'Only an admin account can create admin keys.');
      }
      const created = await createApiKey(db, who.id, {
        name: request.body.name,
        admin: request.body.admin ?? false,
      });
      const { key: secret, ...rest } = created;
      return reply.code(201).send({
        key: { ...rest, lastUsedAt: null, revokedAt: null },
        secret,
      });
    },
  );

  app.delete(
    '/account/keys/:id',
    {
      config: accountOnly,
      schema: { params: KeyParams, response: { 200: z.object({ revoked: z.literal(true) }) } },
    },
    async (request, reply) => {
      const who = keyAccount(request, reply);
      if (!who) return reply;
      if (!(await revokeApiKey(app.engine.db, who.id, request.params.id))) {
        return sendError(
          reply,
          404,
          'not_found',
          `No active key ${request.params.id} on this account.`,
        );
      }
      return { revoked: true as const };
    },
  );

  app.get(
    '/admin/usage',
    {
      config: { auth: 'admin' },
      schema: { querystring: AdminUsageQuery, response: { 200: AdminUsageResponse } },
    },
    async (request) => adminUsage(app.engine.db, clock(), request.query.days),
  );
};

/** The key's account, or a 400 when the caller is trusted without one (local admin token). */
function keyAccount(request: FastifyRequest, reply: FastifyReply): RequestAccount | undefined {
  if (request.account) return request.account;
  void sendError(
    reply,
    400,
    'validation_error',
    'This endpoint answers for the account of an API key; the request carries none (the local ' +
      'admin token has no account). Send `Authorization: Bearer tmcp_...`.',
  );
  return undefined;
}
