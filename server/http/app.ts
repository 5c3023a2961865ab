/**
 * Builds the HTTP app without listening: `twinmcp serve` listens, tests call `inject()`.
 * Routes are encapsulated plugins; the engine is the one shared service, decorated on the root.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import type { Engine } from '../engine-types.js';
import { adminTokenCheck } from './admin.js';
import { installErrorHandling } from './errors.js';
import localhostSafety from './localhost-safety.js';
import { contextRoutes } from './routes-context.js';
import { healthRoutes } from './routes-health.js';
import { jobsRoutes } from './routes-jobs.js';
import { libsRoutes } from './routes-libs.js';
import mcpRoutes from '../mcp/http.js';

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
}

// The largest legitimate body is an AddSourceBody (a few KB at most); 64 KiB leaves room.
const BODY_LIMIT = 64 * 1024;

/** Creates the Fastify app with all routes and the localhost safety checks. */
export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const app = Fastify({
    logger: opts.logger ? { level: config.logLevel } : false,
    bodyLimit: BODY_LIMIT,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('engine', opts.engine);
  installErrorHandling(app);

  await app.register(localhostSafety, {
    boundHost: opts.boundHost ?? config.host,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
  });
  await app.register(healthRoutes);
  await app.register(libsRoutes, { prefix: '/api/v1', isAdmin: adminTokenCheck(opts.adminToken) });
  await app.register(contextRoutes, { prefix: '/api/v1' });
  await app.register(jobsRoutes, { prefix: '/api/v1' });
  await app.register(mcpRoutes);
  return app;
}
