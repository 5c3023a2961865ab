/**
 * Operations on the HTTP app: request timing and the request-id echo on every route (root hooks,
 * registered first so that requests the safety checks reject are counted and carry their id too),
 * and the `GET /metrics` and `GET /ready` routes.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ReadyResponse } from '../../shared/api.js';
import type { AccountsConfig } from '../accounts/config.js';
import { verifyApiKey, looksLikeApiKey } from '../accounts/keys.js';
import { sendError } from '../http/errors.js';
import { presentedKey } from '../http/auth.js';
import type { OpsConfig } from './config.js';
import { REQUEST_ID_HEADER } from './logging.js';
import { createAppMetrics, type AppMetrics } from './metrics.js';
import { createReadinessCheck } from './ready.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry and recorders (server/ops/metrics.ts). */
    metrics: AppMetrics;
  }
}

export interface OpsPluginOptions {
  ops?: OpsConfig;
  accounts?: AccountsConfig;
  isLocalAdmin: (request: FastifyRequest) => boolean;
}

const DEFAULT_READY_TIMEOUT_MS = 2000;

async function opsHooks(app: FastifyInstance, opts: Pick<OpsPluginOptions, 'ops'>): Promise<void> {
  const metrics = createAppMetrics({
    engine: app.engine,
    scrapeTimeoutMs: opts.ops?.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
  });
  app.decorate('metrics', metrics);
  app.addHook('onClose', async () => metrics.close());

  app.addHook('onRequest', async (request, reply) => {
    // On the raw response, so that hijacked replies (the MCP route) carry it and are timed too.
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
    const started = performance.now();
    reply.raw.once('close', () => {
      // Unmatched URLs share one label: a scanner must not create a series per path it tries.
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeRequest(
        request.method,
        route,
        reply.raw.statusCode,
        (performance.now() - started) / 1000,
      );
    });
  });
}

/** `GET /metrics` and `GET /ready`; register after the auth plugin so they are walked with the rest. */
export async function opsRoutes(app: FastifyInstance, opts: OpsPluginOptions): Promise<void> {
  const metrics = app.metrics;
  const allowed = metricsAccess(app, opts);
  app.get('/metrics', { config: { auth: 'none' } }, async (request, reply) => {
    const denied = await allowed(request);
    if (denied) return sendError(reply, denied.status, denied.error, denied.message);
    const body = await metrics.render();
    return reply.type(metrics.contentType).send(body);
  });

  const readiness = createReadinessCheck(
    () => app.engine.db,
    opts.ops?.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
  );
  app.get(
    '/ready',
    { config: { auth: 'none' }, schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } },
    async (_request, reply: FastifyReply) => {
      const state = await readiness();
      if (!state.ready) reply.code(503);
      return state;
    },
  );
}

type Denial = {
  status: 401 | 403;
  error: 'invalid_api_key' | 'forbidden';
  message: string;
};

/**
 * Who may scrape: anyone the localhost safety checks let in when auth is off (a loopback
 * server); with auth on, the TWINMCP_METRICS_TOKEN bearer, the local admin token, or an admin key.
 */
function metricsAccess(
  app: FastifyInstance,
  opts: OpsPluginOptions,
): (request: FastifyRequest) => Promise<Denial | undefined> {
  const token = opts.ops?.metricsToken;
  const tokenDigest = token ? digest(token) : undefined;
  return async (request) => {
    if (!opts.accounts || opts.accounts.auth === 'off') return undefined;
    if (opts.isLocalAdmin(request)) return undefined;
    const key = presentedKey(request);
    if (key === undefined) {
      return {
        status: 401,
        error: 'invalid_api_key',
        message: 'Metrics need an API key: an admin key or TWINMCP_METRICS_TOKEN as Bearer.',
      };
    }
    if (tokenDigest && crypto.timingSafeEqual(digest(key), tokenDigest)) return undefined;
    const verified = looksLikeApiKey(key) ? await verifyApiKey(app.engine.db, key) : null;
    if (!verified) {
      return {
        status: 401,
        error: 'invalid_api_key',
        message: 'The API key is not valid (unknown, revoked or mistyped).',
      };
    }
    if (!verified.admin) {
      return {
        status: 403,
        error: 'forbidden',
        message: 'Metrics are for operators: they need an admin key or TWINMCP_METRICS_TOKEN.',
      };
    }
    return undefined;
  };
}

function digest(value: string): Buffer {
  return crypto.createHash('sha256').update(value).digest();
}

/** Registers the hooks on the root (fastify-plugin: not encapsulated). */
export default fp(opsHooks, { name: 'twinmcp-ops', fastify: '5.x' });
