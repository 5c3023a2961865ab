/**
 * Builds the HTTP app without listening: `twinmcp serve` listens, tests call `inject()`.
 * Routes are encapsulated plugins; the engine is the one shared service, decorated on the root.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import type { Engine } from '../engine-types.js';
import type { Clock } from '../accounts/buckets.js';
import { adminTokenCheck } from './admin.js';
import authPlugin from './auth.js';
import { installErrorHandling } from './errors.js';
import localhostSafety from './localhost-safety.js';
import { contextRoutes } from './routes-context.js';
import { healthRoutes } from './routes-health.js';
import { jobsRoutes } from './routes-jobs.js';
import { refreshRoutes } from './routes-refresh.js';
import { libsRoutes } from './routes-libs.js';
import { flagsRoutes } from './routes-flags.js';
import { accountRoutes } from './routes-account.js';
import { adminRoutes } from './routes-admin.js';
import { adminPageRoutes } from './admin-page.js';
import { billingRoutes } from './routes-billing.js';
import { deviceRoutes } from './routes-device.js';
import { signinRoutes } from './routes-signin.js';
import mcpRoutes from '../mcp/http.js';
import opsHooks, { opsRoutes } from '../ops/plugin.js';
import { genReqId, loggerOptions } from '../ops/logging.js';
import chatRoutes from '../chat/routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine;
  }
}

export interface BuildAppOptions {
  engine: Engine;
  config: Config;
  /** The local admin token; without it no request is trusted with local paths or deletion. */
  adminToken?: string;
  /** Address the server will bind to; defaults to `config.host`. */
  boundHost?: string;
  logger?: boolean;
  /** Where the request log goes instead of stdout (tests read it); implies `logger`. */
  logStream?: DestinationStream;
  /** Time source for rate-limit windows and quotas (tests); default Date.now. */
  clock?: Clock;
}

// The largest legitimate body is an AddSourceBody (a few KB at most); 64 KiB leaves room.
const BODY_LIMIT = 64 * 1024;

/** Creates the Fastify app with all routes and the localhost safety checks. */
export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  // Behind a load balancer, request.ip (anonymous rate limits) comes from X-Forwarded-For. The
  // cast: Fastify's overloads cannot pick a server type from a union-typed trustProxy.
  const trustProxy = config.accounts?.trustProxy ?? false;
  const app = Fastify({
    logger: opts.logger || opts.logStream ? loggerOptions(config.logLevel, opts.logStream) : false,
    genReqId,
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxy as boolean,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('engine', opts.engine);
  installErrorHandling(app);
  // First, so that every request is timed and carries its id, rejected ones included.
  await app.register(opsHooks, { ...(config.ops ? { ops: config.ops } : {}) });

  await app.register(localhostSafety, {
    boundHost: opts.boundHost ?? config.host,
    allowedHosts: config.allowedHosts,
    // Our own public origin: the sign-in and device pages post their forms back to it.
    allowedOrigins: [...config.allowedOrigins, new URL(config.signin.publicUrl).origin],
  });
  await app.register(authPlugin, {
    accounts: config.accounts,
    isLocalAdmin: adminTokenCheck(opts.adminToken),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ipHashSecret: config.privacy?.ipHashSecret,
    sessionSecret: config.signin.sessionSecret,
  });
  await app.register(healthRoutes);
  await app.register(opsRoutes, {
    ...(config.ops ? { ops: config.ops } : {}),
    ...(config.accounts ? { accounts: config.accounts } : {}),
    isLocalAdmin: adminTokenCheck(opts.adminToken),
  });
  await app.register(libsRoutes, {
    prefix: '/api/v1',
    isAdmin: adminTokenCheck(opts.adminToken),
    ...(config.accounts ? { accounts: config.accounts } : {}),
  });
  await app.register(flagsRoutes, { prefix: '/api/v1' });
  await app.register(contextRoutes, { prefix: '/api/v1' });
  await app.register(jobsRoutes, { prefix: '/api/v1' });
  await app.register(refreshRoutes, {
    prefix: '/api/v1',
    isAdmin: adminTokenCheck(opts.adminToken),
  });
  const defaultPlan = config.accounts?.defaultPlan ?? 'free';
  await app.register(signinRoutes, { signin: config.signin, defaultPlan });
  await app.register(deviceRoutes, { signin: config.signin });
  if (config.billing) {
    await app.register(billingRoutes, {
      prefix: '/api/v1',
      signin: config.signin,
      billing: config.billing,
    });
  }
  await app.register(mcpRoutes);
  await app.register(accountRoutes, {
    prefix: '/api/v1',
    accounts: config.accounts,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await app.register(adminRoutes, {
    prefix: '/api/v1',
    accounts: config.accounts,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await app.register(adminPageRoutes);
  await app.register(chatRoutes, {
    prefix: '/api/v1',
    config: config.chat,
    accounts: config.accounts,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  return app;
}
