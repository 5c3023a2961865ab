/**
 * The auth plugin: who is calling (an API key's account, the local admin token, or anonymous),
 * whether the route lets them in, and the per-key / per-IP rate limit and plan quotas
 * (server/http/limits.ts). With `TWINMCP_AUTH=off` (self-host) it only marks every request
 * anonymous and trusted, and the localhost safety checks stay the guard.
 *
 * Routes choose their policy with `config: { auth }`:
 * - `'none'`: always open (health, sign-in pages); no key checked, no quota.
 * - absent: open to anonymous callers when `TWINMCP_ANONYMOUS=allow` (public data only).
 * - `'account'`: needs a valid key (or the local admin token).
 * - `'admin'`: needs an admin key of an admin account (or the local admin token).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { API_KEY_HEADER, CLIENT_HEADER } from '../../shared/account.js';
import type { Clock } from '../accounts/buckets.js';
import type { AccountsConfig } from '../accounts/config.js';
import { verifyApiKey } from '../accounts/keys.js';
import { ipHasher } from '../accounts/privacy.js';
import { adminFromSession } from '../accounts/session-admin.js';
import { syncStaticKeys } from '../accounts/static-keys.js';
import type { CallContext } from '../engine-types.js';
import { sendError, type HttpErrorCode } from './errors.js';
import { installLimits } from './limits.js';
import { installSigninLimit } from './limits-signin.js';

/** The account behind a request's API key. */
export interface RequestAccount {
  id: string;
  plan: string;
  /** An admin key of an admin account: may call operator endpoints. */
  isAdmin: boolean;
  keyId: string;
}

export type RouteAuth = 'none' | 'account' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's account; null for anonymous callers, the local admin token and auth off. */
    account: RequestAccount | null;
    /** True for a trusted local caller: auth off, or the local admin token. Sees every library. */
    trusted: boolean;
  }
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyInstance {
    /** Every route registered after the auth plugin, with its policy (tests walk them all). */
    routePolicies: RoutePolicy[];
  }
}

/** A registered route and its `config.auth` (undefined = the default, anonymous-per-config). */
export interface RoutePolicy {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
}

export interface AuthPluginOptions {
  /** Absent = auth off. */
  accounts: AccountsConfig | undefined;
  /** Whether the request carries the local admin token (server/http/admin.ts). */
  isLocalAdmin: (request: FastifyRequest) => boolean;
  /** Time source for rate-limit windows and quotas; tests move it instead of sleeping. */
  clock?: Clock;
  /** Key of the IP hashes in rate-limit and quota counters (TWINMCP_IP_HASH_SECRET). */
  ipHashSecret?: string | undefined;
  /** Signs the web session cookie; with it, an admin account's session may GET admin routes. */
  sessionSecret?: string | undefined;
}

/** Where to get a key, in every 401: the user acts on this text, and so does an agent. */
export const GET_A_KEY =
  'Get an API key by signing in on the account page (or in the VS Code extension), or ask the ' +
  'operator to run `twinmcp keys create --account <email>`; then send it as ' +
  '`Authorization: Bearer tmcp_...` or `X-API-Key: tmcp_...`.';

/** JSON-RPC's implementation-defined server error range; the MCP SDK uses -32000 for its own. */
const RPC_UNAUTHORIZED = -32001;

/**
 * The engine's CallContext for a request: the client ('hover' when the extension says so) and the
 * owner whose private libraries it may see (absent for trusted callers, who see all).
 */
export function callContext(request: FastifyRequest, client: CallContext['client']): CallContext {
  const header = request.headers[CLIENT_HEADER];
  const named = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  // Hover lookups count against their own quota; `twinmcp mcp` forwarding over REST is MCP use.
  const labelled = named === 'hover' || named === 'mcp' ? named : undefined;
  return {
    client: labelled ?? client,
    ...(request.trusted ? {} : { owner: request.account?.id ?? null }),
  };
}

/** True for the MCP endpoint, whose errors must be JSON-RPC bodies an MCP client can show. */
export function isMcpRequest(request: FastifyRequest): boolean {
  return request.routeOptions.url === '/mcp';
}

/** Ends a request with an error, as `{error, message}` or, on /mcp, as a JSON-RPC error. */
export function sendAuthError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  error: HttpErrorCode,
  message: string,
  rpcCode = RPC_UNAUTHORIZED,
): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="twinmcp"');
  if (!isMcpRequest(request)) return sendError(reply, status, error, message);
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(
      JSON.stringify({
        jsonrpc: '2.0',
        error: { code: rpcCode, message, data: { error } },
        id: null,
      }),
    );
}

/** The key a request presents, from `Authorization: Bearer` or `X-API-Key`; undefined when none. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  if (bearer) return bearer;
  const x = request.headers[API_KEY_HEADER];
  const value = (Array.isArray(x) ? x[0] : x)?.trim();
  return value ? value : undefined;
}

async function authPlugin(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  app.decorateRequest('account', null);
  app.decorateRequest('trusted', false);
  const policies: RoutePolicy[] = [];
  app.decorate('routePolicies', policies);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const auth = (route.config as { auth?: RouteAuth } | undefined)?.auth;
    for (const method of methods) policies.push({ method, url: route.url, auth });
  });
  const accounts = opts.accounts;

  if (!accounts || accounts.auth === 'off') {
    app.addHook('onRequest', async (request, reply) => {
      request.trusted = true;
      const policy = request.routeOptions.config?.auth;
      if (policy === 'account') {
        return sendError(
          reply,
          404,
          'not_found',
          'Accounts are off on this server (TWINMCP_AUTH=off): it serves everyone on this machine without keys.',
        );
      }
      if (policy === 'admin' && !opts.isLocalAdmin(request)) {
        return sendAuthError(
          request,
          reply,
          403,
          'forbidden',
          'This endpoint needs the local admin token.',
        );
      }
    });
    return;
  }

  const clock = opts.clock ?? Date.now;
  app.addHook('onRequest', async (request, reply) => {
    const policy = request.routeOptions.config?.auth;
    // Load balancers and the CLI probe /health without keys.
    if (policy === 'none' || request.routeOptions.url === '/health') return;
    if (opts.isLocalAdmin(request)) {
      request.trusted = true;
      return;
    }
    const key = presentedKey(request);
    // The admin page in a browser signed in as an admin account: reads only (server/accounts/session-admin.ts).
    const sessionAdmin =
      key === undefined && policy === 'admin' && request.method === 'GET' && opts.sessionSecret
        ? await adminFromSession(app.engine.db, opts.sessionSecret, request.headers.cookie)
        : null;
    if (sessionAdmin) {
      request.account = {
        id: sessionAdmin.id,
        plan: sessionAdmin.plan,
        isAdmin: true,
        keyId: `session:${sessionAdmin.id}`,
      };
    } else if (key !== undefined) {
      const verified = await verifyApiKey(app.engine.db, key);
      if (!verified) {
        return sendAuthError(
          request,
          reply,
          401,
          'invalid_api_key',
          `The API key is not valid (unknown, revoked or mistyped). ${GET_A_KEY}`,
        );
      }
      request.account = {
        id: verified.account.id,
        plan: verified.account.plan,
        isAdmin: verified.admin,
        keyId: verified.keyId,
      };
    } else if (policy === 'account' || policy === 'admin' || accounts.anonymous === 'deny') {
      return sendAuthError(
        request,
        reply,
        401,
        'invalid_api_key',
        `This server needs an API key. ${GET_A_KEY}`,
      );
    }
    if (policy === 'admin' && !request.account?.isAdmin) {
      return sendAuthError(
        request,
        reply,
        403,
        'forbidden',
        'This endpoint is for operators: it needs an admin key (`twinmcp keys create --admin`).',
      );
    }
  });

  // Counters of anonymous callers are keyed by a hash of the address, never the address itself.
  const hashIp = await ipHasher(app.engine.db, opts.ipHashSecret);
  await installLimits(app, { accounts, clock, hashIp });
  installSigninLimit(app, { max: accounts.signinRateMax, clock, hashIp });
  await syncStaticKeys(app.engine.db, accounts.staticKeys, accounts.defaultPlan);
}

/** Registers the auth hooks on the root (fastify-plugin: not encapsulated). */
export default fp(authPlugin, { name: 'twinmcp-auth', fastify: '5.x' });
